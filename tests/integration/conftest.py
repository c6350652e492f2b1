"""Clients of both styles and both transports, talking to the emulator over loopback HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from recallrai import AsyncRecallrAI, RecallrAI
from recallrai.emulator import Emulator

TRANSPORTS = ["aiohttp", "httpx"]


@pytest.fixture(params=TRANSPORTS)
def transport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def async_client(
    recallrai_emulator: Emulator, transport: str
) -> AsyncIterator[AsyncRecallrAI]:
    async with AsyncRecallrAI(
        recallrai_emulator.api_key,
        recallrai_emulator.project_id,
        base_url=recallrai_emulator.base_url,
        transport=transport,  # type: ignore[arg-type]
        max_retries=0,
    ) as client:
        yield client


@pytest.fixture
def sync_client(recallrai_emulator: Emulator, transport: str) -> Iterator[RecallrAI]:
    with RecallrAI(
        recallrai_emulator.api_key,
        recallrai_emulator.project_id,
        base_url=recallrai_emulator.base_url,
        transport=transport,  # type: ignore[arg-type]
        max_retries=0,
    ) as client:
        yield client
