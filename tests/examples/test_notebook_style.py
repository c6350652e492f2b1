"""examples/notebook_style.py: both clients inside a running event loop, against the emulator.

In process, the notebook's cells run inside this test's own running loop, as in a Jupyter
kernel; as a script, inside the loop of ``asyncio.run()``.
"""

from __future__ import annotations

import asyncio
import re
import threading
from typing import Any

import pytest

from recallrai import RecallrAI

from .conftest import load_example, run_example

TIME = r"\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\]"  # the emulator's rendering of a timestamp


def check(stdout: str, user: str, sessions: int) -> None:
    """The notebook's output, cell by cell."""
    expected = [
        re.escape(f"In [1]: {user} {{'from': 'notebook'}}"),
        re.escape("In [2]: Recent messages:"),
        TIME + re.escape(" user: I love sushi."),
        TIME + re.escape(" assistant: Noted!"),
        re.escape("In [3]: [('user', 'I love sushi.'), ('assistant', 'Noted!')]"),
        re.escape(f"In [4]: {sessions} session(s)"),
        re.escape("In [5]: closed"),
    ]
    lines = stdout.splitlines()
    assert len(lines) == len(expected), stdout
    for line, pattern in zip(lines, expected, strict=True):
        assert re.fullmatch(pattern, line), line


def loop_threads() -> set[threading.Thread]:
    """The running event-loop threads of blocking clients."""
    return {t for t in threading.enumerate() if t.name == "recallrai-event-loop"}


@pytest.mark.anyio
async def test_cells_run_inside_a_running_loop(
    example_env: dict[str, str], inspector: RecallrAI, capsys: pytest.CaptureFixture[str]
) -> None:
    example: Any = load_example("notebook_style")
    asyncio.get_running_loop()  # the "kernel" loop the cells run in
    before = loop_threads()
    await example.notebook("kernel_user")
    check(capsys.readouterr().out, "kernel_user", 1)
    await example.notebook("kernel_user")  # run the notebook again: the user exists now
    check(capsys.readouterr().out, "kernel_user", 2)
    # The blocking client was closed: its event-loop thread is gone.
    assert loop_threads() == before
    assert inspector.get_user("kernel_user").metadata == {"from": "notebook"}


def test_as_a_script(example_env: dict[str, str]) -> None:
    result = run_example("notebook_style", env=example_env)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    check(result.stdout, "notebook_user", 1)
