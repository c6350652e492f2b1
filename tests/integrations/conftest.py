"""Clients of both styles bound to the emulator, without retries (failure tests stay fast)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from recallrai import AsyncRecallrAI, RecallrAI
from recallrai.emulator import Emulator


def _settings(emulator: Emulator) -> dict[str, object]:
    return {
        "api_key": emulator.api_key,
        "project_id": emulator.project_id,
        "base_url": emulator.base_url,
        "max_retries": 0,
    }


@pytest.fixture
async def async_client(recallrai_emulator: Emulator) -> AsyncIterator[AsyncRecallrAI]:
    async with AsyncRecallrAI(**_settings(recallrai_emulator)) as client:  # type: ignore[arg-type]
        yield client


@pytest.fixture
def sync_client(recallrai_emulator: Emulator) -> Iterator[RecallrAI]:
    with RecallrAI(**_settings(recallrai_emulator)) as client:  # type: ignore[arg-type]
        yield client
