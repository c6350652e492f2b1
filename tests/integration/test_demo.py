"""The demo (``nox -s demo``) tells the whole story against its own emulator, without leaks."""

from __future__ import annotations

import subprocess
import sys


def test_demo_runs_the_whole_story() -> None:
    result = subprocess.run(
        [sys.executable, "-W", "error::ResourceWarning", "-m", "recallrai.emulator.demo"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.splitlines()[0].startswith("Emulator listening on http://127.0.0.1:")
    for expected in (
        "Migrated user from temp_guest_123 to registered_user_456",
        "Iterated 48 users across pages of 20",
        "Iterated 31 users with async for",
        "- I love sushi",
        "stream: final",
        "Late message refused: Cannot add message to session with status processed",
        "new version 2 of the job memory; history: [('I work at Acme', 'NEW_VERSION')]",
        "refused answer 'lemonade'",
        "My favourite drink is tea (version 2)",
        "Demo finished.",
    ):
        assert expected in out
    assert "Traceback" not in result.stderr
