"""pytest plugin: fixtures backed by the RecallrAI emulator.

Installing ``recallrai`` registers this module under the plugin name ``recallrai``
(``pytest11`` entry point). Registering it costs almost nothing: the emulator,
aiohttp and the clients are imported only when a test uses one of the fixtures.
Disable it with ``-p no:recallrai``; with ``PYTEST_DISABLE_PLUGIN_AUTOLOAD=1``
enable it with ``-p recallrai.pytest_plugin``.

Fixtures:

``recallrai_emulator_server``
    session-scoped :class:`~recallrai.emulator.Emulator` running in a
    background thread; its data is *not* reset between tests.
``recallrai_emulator``
    the same server, reset (data, recorded requests, faults) before each test.
``recallrai_client``
    a blocking :class:`~recallrai.RecallrAI` bound to ``recallrai_emulator``,
    closed after the test.
``async_recallrai_client``
    an :class:`~recallrai.AsyncRecallrAI` bound to ``recallrai_emulator``, closed
    after the test. An async fixture: it needs an async test plugin, such as
    anyio's (``@pytest.mark.anyio`` on the test) or pytest-asyncio.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from recallrai import AsyncRecallrAI, RecallrAI
    from recallrai.emulator import Emulator

__all__ = [
    "async_recallrai_client",
    "recallrai_client",
    "recallrai_emulator",
    "recallrai_emulator_server",
]


@pytest.fixture(scope="session")
def recallrai_emulator_server() -> Iterator[Emulator]:
    """One emulator for the whole test session, on its own thread and loop."""
    from recallrai.emulator import Emulator

    with Emulator().run_in_thread() as emulator:
        yield emulator


@pytest.fixture
def recallrai_emulator(recallrai_emulator_server: Emulator) -> Iterator[Emulator]:
    """The shared emulator with empty data, no recorded requests and no faults."""
    recallrai_emulator_server.reset()
    yield recallrai_emulator_server


@pytest.fixture
def recallrai_client(recallrai_emulator: Emulator) -> Iterator[RecallrAI]:
    """A blocking client of the (freshly reset) emulator, closed after the test."""
    from recallrai import RecallrAI

    with RecallrAI(
        recallrai_emulator.api_key,
        recallrai_emulator.project_id,
        base_url=recallrai_emulator.base_url,
    ) as client:
        yield client


@pytest.fixture
async def async_recallrai_client(recallrai_emulator: Emulator) -> AsyncIterator[AsyncRecallrAI]:
    """An asyncio client of the (freshly reset) emulator, closed after the test."""
    from recallrai import AsyncRecallrAI

    async with AsyncRecallrAI(
        recallrai_emulator.api_key,
        recallrai_emulator.project_id,
        base_url=recallrai_emulator.base_url,
    ) as client:
        yield client
