"""Fixtures for the emulator tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from recallrai.emulator import Emulator

from ._support import Api


@pytest.fixture
async def api(recallrai_emulator: Emulator, anyio_backend: str) -> AsyncIterator[Api]:
    """A raw client for the shared (freshly reset) emulator."""
    async with aiohttp.ClientSession() as session:
        yield Api(session, recallrai_emulator)
