"""A local RecallrAI-compatible HTTP server for tests and offline work.

:class:`Emulator` serves the RecallrAI HTTP API from an in-memory store
(scoped per project ID) on a loopback port, records every request it
receives (:class:`RecordedRequest`) and can inject faults for retry tests.

For pytest, the plugin module ``recallrai.pytest_plugin`` provides
the ``recallrai_emulator`` fixture (a shared server, reset before each test).
From the command line: ``python -m recallrai.emulator --port 8765``.
"""

from __future__ import annotations

from recallrai.emulator._emulator import DEFAULT_API_KEY, DEFAULT_PROJECT_ID, Emulator
from recallrai.emulator._state import RecordedRequest

__all__ = ["DEFAULT_API_KEY", "DEFAULT_PROJECT_ID", "Emulator", "RecordedRequest"]
