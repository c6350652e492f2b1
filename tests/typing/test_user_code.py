"""The typing test's user code also runs, against the emulator, so it cannot drift from the API."""

from __future__ import annotations

import pytest
import user_code  # this directory is on sys.path (no __init__: "typing" is taken)

from recallrai import AsyncRecallrAI, RecallrAI
from recallrai.emulator import Emulator


def test_blocking_user_code_runs(recallrai_emulator: Emulator) -> None:
    emu = recallrai_emulator
    with RecallrAI(
        emu.api_key, emu.project_id, base_url=emu.base_url, event_hooks=user_code.hooks()
    ) as client:
        seen = user_code.blocking(client, "typed_user")
    assert seen[0].startswith("typed_user ") and "404 GET /api/v1/users/typed_user-missing" in seen


@pytest.mark.anyio
async def test_async_user_code_runs(recallrai_emulator: Emulator) -> None:
    emu = recallrai_emulator
    async with AsyncRecallrAI(emu.api_key, emu.project_id, base_url=emu.base_url) as client:
        seen = await user_code.asynchronous(client, "typed_async")
    assert "201 typed_async-raw" in seen
