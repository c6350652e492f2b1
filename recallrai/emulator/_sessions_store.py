"""Session data of the emulator and the controls tests use to steer sessions
and context streams.

Pure data: this module imports nothing else from the emulator, so
``_store`` can hold a :class:`SessionControl` and ``UserRecord.sessions``
without import cycles. The lifecycle rules live in ``_sessions``, the
context endpoints in ``_context``.

:class:`SessionRecord` objects hang off their ``UserRecord`` (``sessions``
by ID), so renaming or deleting a user carries or removes them.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from datetime import datetime, timedelta
from typing import Any, Literal

import attrs

__all__ = [
    "FAILED",
    "INSUFFICIENT_BALANCE",
    "PENDING",
    "PROCESSED",
    "PROCESSING",
    "SESSION_STATUSES",
    "MessageRecord",
    "SessionControl",
    "SessionRecord",
    "StreamGate",
    "StreamMode",
]

PENDING = "pending"
PROCESSING = "processing"
PROCESSED = "processed"
FAILED = "failed"
INSUFFICIENT_BALANCE = "insufficient_balance"
SESSION_STATUSES = (PENDING, PROCESSING, PROCESSED, FAILED, INSUFFICIENT_BALANCE)
"""Every wire value of the session status (PROTOCOL.md §4), in that order."""


@attrs.define(eq=False)
class MessageRecord:
    """One message of a session."""

    role: str
    content: str
    timestamp: datetime
    seq: int
    """Project-wide insertion order; breaks timestamp ties."""


@attrs.define(eq=False)
class SessionRecord:
    """One session with its messages.

    ``last_activity_at`` is when the session was created or last received a
    message; the session auto-processes ``auto_process_after_seconds`` after
    it (never when that is ``None``). ``processing_deadline`` is set while
    ``processing``: the emulator time at which it becomes ``processed``;
    ``processed_at`` is when it did.
    """

    session_id: str
    status: str
    created_at: datetime
    metadata: dict[str, Any]
    auto_process_after_seconds: int | None
    last_activity_at: datetime
    seq: int
    """Project-wide creation order; breaks ``created_at`` ties."""
    messages: list[MessageRecord] = attrs.field(factory=list)
    processing_deadline: datetime | None = None
    processed_at: datetime | None = None

    def auto_process_due(self) -> datetime | None:
        """When an idle pending session starts processing by itself (``None``: never,
        because auto-processing is off or the delay is absurdly large)."""
        if self.auto_process_after_seconds is None:
            return None
        try:
            return self.last_activity_at + timedelta(seconds=self.auto_process_after_seconds)
        except OverflowError:
            return None


StreamMode = Literal["normal", "fail", "truncate"]


class StreamGate:
    """A thread-safe gate that context streams wait at, asynchronously.

    :meth:`hold` and :meth:`release` may be called from any thread; waiters
    (:meth:`wait`) run on the emulator's event loop and never block it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held = False
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()

    @property
    def held(self) -> bool:
        with self._lock:
            return self._held

    def hold(self) -> None:
        with self._lock:
            self._held = True

    def release(self) -> None:
        """Open the gate and wake every waiting stream."""
        with self._lock:
            self._held = False
            waiters = list(self._waiters)
            self._waiters.clear()
        for loop, event in waiters:
            # RuntimeError: that loop is already closed; nobody is waiting any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(event.set)

    async def wait(self) -> None:
        """Return at once when the gate is open, else when it is released."""
        event = asyncio.Event()
        entry = (asyncio.get_running_loop(), event)
        with self._lock:
            if not self._held:
                return
            self._waiters.add(entry)
        try:
            await event.wait()
        finally:
            with self._lock:
                self._waiters.discard(entry)


class SessionControl:
    """Emulator-wide settings and test controls for sessions and context streams.

    Settings (``processing_delay``, ``stream_event_delay``) survive
    :meth:`reset`; the stream gate, the stream counters, the one-shot stream
    outcomes, ``balance_exhausted`` and ``omit_context_metadata`` do not.
    """

    def __init__(self, *, processing_delay: float = 0.05, stream_event_delay: float = 0.01) -> None:
        self.processing_delay = processing_delay
        """Seconds (of emulator time) a session stays ``processing`` and a resolved merge
        conflict takes to become ``RESOLVED``."""
        self.stream_event_delay = stream_event_delay
        """Seconds (real time) between the events of a context stream."""
        self.balance_exhausted = False
        """While true, processing ends in ``insufficient_balance`` and extracts nothing."""
        self.omit_context_metadata = False
        """While true, context answers carry no ``metadata`` unless ``include_metadata_ids=true``."""
        self.gate = StreamGate()
        self._lock = threading.Lock()
        self._outcomes: list[tuple[StreamMode, str | None]] = []
        self.streams_started = 0
        self.streams_completed = 0
        self.streams_disconnected = 0

    def next_stream_outcome(self) -> tuple[StreamMode, str | None]:
        """How the next stream ends (consumes one queued outcome): mode and error text."""
        with self._lock:
            return self._outcomes.pop(0) if self._outcomes else ("normal", None)

    def queue_outcome(self, mode: StreamMode, error_message: str | None = None) -> None:
        with self._lock:
            self._outcomes.append((mode, error_message))

    def count(self, what: Literal["started", "completed", "disconnected"]) -> None:
        with self._lock:
            if what == "started":
                self.streams_started += 1
            elif what == "completed":
                self.streams_completed += 1
            else:
                self.streams_disconnected += 1

    def reset(self) -> None:
        """Open the gate, zero the counters and forget queued stream outcomes."""
        self.gate.release()
        self.balance_exhausted = False
        self.omit_context_metadata = False
        with self._lock:
            self._outcomes.clear()
            self.streams_started = 0
            self.streams_completed = 0
            self.streams_disconnected = 0
