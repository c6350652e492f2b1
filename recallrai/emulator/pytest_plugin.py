"""pytest plugin providing RecallrAI emulator fixtures.

Enable it with ``-p recallrai.emulator.pytest_plugin`` (or through the
``pytest11`` entry point once the package is installed).

Fixtures:

``recallrai_emulator_server``
    session-scoped :class:`~recallrai.emulator.Emulator` running in a
    background thread; its data is *not* reset between tests.
``recallrai_emulator``
    the same server, reset (data, recorded requests, faults) before each test.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from recallrai.emulator._emulator import Emulator

__all__ = ["recallrai_emulator", "recallrai_emulator_server"]


@pytest.fixture(scope="session")
def recallrai_emulator_server() -> Iterator[Emulator]:
    """One emulator for the whole test session, on its own thread and loop."""
    with Emulator().run_in_thread() as emulator:
        yield emulator


@pytest.fixture
def recallrai_emulator(recallrai_emulator_server: Emulator) -> Iterator[Emulator]:
    """The shared emulator with empty data, no recorded requests and no faults."""
    recallrai_emulator_server.reset()
    yield recallrai_emulator_server
