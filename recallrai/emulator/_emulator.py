"""The :class:`Emulator` object: lifecycle (in the caller's event loop or in a
background thread), connection details, request log, reset and fault
injection.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta
from http import HTTPStatus
from types import TracebackType

from aiohttp import web

from recallrai.emulator import _background, _context
from recallrai.emulator._app import build_app
from recallrai.emulator._connections import ConnectionGuard, ConnectionLimits
from recallrai.emulator._state import Fault, RecordedRequest, ServerState
from recallrai.emulator._store import Clock, utc_now

__all__ = ["DEFAULT_API_KEY", "DEFAULT_PROJECT_ID", "Emulator"]

DEFAULT_API_KEY = "rai_emulator_key"
DEFAULT_PROJECT_ID = "emulator-project"

_SHUTDOWN_TIMEOUT = 2.0
_THREAD_START_TIMEOUT = 30.0


class Emulator:
    """A local RecallrAI-compatible HTTP server with an in-memory store.

    Async use (inside a running event loop)::

        async with Emulator() as emu:
            ...  # talk to emu.base_url

    Synchronous use (own event loop in a daemon thread)::

        with Emulator().run_in_thread() as emu:
            ...

    Every request must carry ``X-Recallr-Api-Key`` (a ``rai_`` key; restricted
    to *api_keys* when given) and a non-empty ``X-Recallr-Project-Id``; data
    is kept separately per project ID. :attr:`api_key` and
    :attr:`project_id` are valid credentials to use.

    *clock* returns the current time (timezone-aware) for timestamps;
    *record_requests* turns the :attr:`requests` log off for long-running use.
    *merge_conflicts_default* is the project setting for users whose
    ``merge_conflict_enabled`` is null: ``True`` makes a contradicting fact
    open a merge conflict, ``False`` (the default) makes it a new memory
    version (rules in ``recallrai.emulator._memories``). It survives
    :meth:`reset`.

    Sessions and context (rules in ``recallrai.emulator._sessions`` and
    ``recallrai.emulator._context``): a processed session stays
    ``processing`` for *processing_delay* seconds of emulator time (see
    :meth:`now`, :meth:`advance_clock`, :meth:`settle`); a context stream
    waits *stream_event_delay* seconds between its events. Both survive
    :meth:`reset`. A resolved merge conflict (``recallrai.emulator._merge_conflicts``)
    is answered ``IN_QUEUE``, is ``RESOLVING`` for the second half of
    *processing_delay* and ``RESOLVED`` after it, as on the service; its
    effect on the memories applies only then (:meth:`settle` finishes it at
    once).

    Connection limits, so that one misbehaving client cannot wedge the server
    (``recallrai.emulator._connections``): at most *max_connections* are open
    at once (more get a 503 and are closed); a request head must be complete
    within *header_timeout* seconds of the connection (or of a later request's
    first byte) and its body within *body_timeout* seconds more (else 408),
    or the connection is closed; a kept-alive connection idle for
    *idle_timeout* seconds is closed. Bodies are limited to 16 MiB (413).

    Test controls cleared by :meth:`reset`: :attr:`balance_exhausted` (the
    account is out of credit) and :attr:`omit_context_metadata` (context
    answers carry ``metadata`` only with ``include_metadata_ids=true``, as the
    service's Node.js guide describes), besides the stream controls.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        api_key: str | None = None,
        project_id: str = DEFAULT_PROJECT_ID,
        api_keys: Iterable[str] | None = None,
        clock: Clock = utc_now,
        record_requests: bool = True,
        merge_conflicts_default: bool = False,
        processing_delay: float = 0.05,
        stream_event_delay: float = 0.01,
        max_connections: int = 256,
        header_timeout: float = 5.0,
        body_timeout: float = 30.0,
        idle_timeout: float = 60.0,
    ) -> None:
        self._limits = ConnectionLimits(
            max_connections=max_connections,
            header_timeout=header_timeout,
            body_timeout=body_timeout,
            idle_timeout=idle_timeout,
        )
        if not processing_delay >= 0 or not stream_event_delay >= 0:
            raise ValueError("processing_delay and stream_event_delay must be >= 0")
        keys = None if api_keys is None else tuple(api_keys)
        if keys is not None:
            if not keys:
                raise ValueError("api_keys must not be empty")
            if api_key is None:
                api_key = keys[0]
            elif api_key not in keys:
                raise ValueError("api_key must be one of api_keys")
        self.api_key: str = DEFAULT_API_KEY if api_key is None else api_key
        if not self.api_key.startswith("rai_"):
            raise ValueError("API keys must start with 'rai_'")
        self.project_id: str = project_id
        self.host = host
        self._requested_port = port
        self._port: int | None = None
        self._state = ServerState(
            api_keys=keys,
            clock=clock,
            record_requests=record_requests,
            merge_conflicts_default=merge_conflicts_default,
        )
        self._state.store.session_control.processing_delay = processing_delay
        self._state.store.session_control.stream_event_delay = stream_event_delay
        self._runner: web.AppRunner | None = None
        self._listener: asyncio.Server | None = None
        self._guard: ConnectionGuard | None = None
        self._thread: threading.Thread | None = None
        self._thread_loop: asyncio.AbstractEventLoop | None = None
        self._thread_stop: asyncio.Event | None = None

    # -- connection details ------------------------------------------------

    @property
    def port(self) -> int:
        """The port actually listened on (only while running)."""
        if self._port is None:
            raise RuntimeError("the emulator is not running")
        return self._port

    @property
    def base_url(self) -> str:
        """``http://host:port`` without a trailing slash (only while running)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def addresses(self) -> list[tuple[str, int]]:
        """``(address, port)`` of every listening socket (only while running):
        exactly what *host* resolved to, e.g. ``[("127.0.0.1", port)]``."""
        if self._listener is None:
            raise RuntimeError("the emulator is not running")
        return [
            (str(name[0]), int(name[1]))
            for name in (sock.getsockname() for sock in self._listener.sockets)
        ]

    @property
    def open_connections(self) -> int:
        """Client connections currently open (0 when not running)."""
        return 0 if self._guard is None else self._guard.open_connections

    @property
    def running(self) -> bool:
        return self._runner is not None

    @property
    def merge_conflicts_default(self) -> bool:
        """The project-wide merge-conflict setting given to the constructor."""
        return self._state.store.merge_conflicts_default

    # -- request log, reset, faults ------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request received so far, in arrival order."""
        return self._state.requests()

    @property
    def last_request(self) -> RecordedRequest:
        """The most recent request (``LookupError`` when there is none)."""
        requests = self._state.requests()
        if not requests:
            raise LookupError("the emulator has received no request")
        return requests[-1]

    def reset(self) -> None:
        """Forget all data, recorded requests and pending faults; also rewind
        :meth:`advance_clock`, open the stream gate, zero the stream counters,
        drop queued stream outcomes and clear :attr:`balance_exhausted` and
        :attr:`omit_context_metadata`."""
        self._state.reset()

    # -- time, session processing and context streams --------------------------

    def now(self) -> datetime:
        """The emulator's current time (its clock plus :meth:`advance_clock` offsets)."""
        return self._state.store.now()

    @property
    def processing_delay(self) -> float:
        """Seconds of emulator time a processed session stays ``processing`` and a
        resolved merge conflict takes to become ``RESOLVED`` (settable; applies to
        sessions processed and conflicts resolved afterwards)."""
        return self._state.store.session_control.processing_delay

    @processing_delay.setter
    def processing_delay(self, seconds: float) -> None:
        if not seconds >= 0:
            raise ValueError("processing_delay must be >= 0")
        self._state.store.session_control.processing_delay = seconds

    @property
    def balance_exhausted(self) -> bool:
        """While true, sessions that finish processing become ``insufficient_balance``
        and no memories are extracted from them, as when the account has run out of
        credit (settable; cleared by :meth:`reset`)."""
        return self._state.store.session_control.balance_exhausted

    @balance_exhausted.setter
    def balance_exhausted(self, exhausted: bool) -> None:
        self._state.store.session_control.balance_exhausted = bool(exhausted)

    @property
    def omit_context_metadata(self) -> bool:
        """While true, context answers (plain, and a stream's final event) have no
        ``metadata`` key at all unless the request says ``include_metadata_ids=true``,
        as the service's Node.js guide describes it (PROTOCOL.md §13); by default the
        emulator always sends ``metadata`` (§12). Settable; cleared by :meth:`reset`."""
        return self._state.store.session_control.omit_context_metadata

    @omit_context_metadata.setter
    def omit_context_metadata(self, omit: bool) -> None:
        self._state.store.session_control.omit_context_metadata = bool(omit)

    def advance_clock(self, seconds: float) -> None:
        """Move the emulator's time forward by *seconds* (>= 0), e.g. to make
        idle sessions auto-process; the effect shows on the next request."""
        if not seconds >= 0:
            raise ValueError("the clock only moves forward")
        with self._state.lock:
            self._state.store.clock_offset += timedelta(seconds=seconds)

    def settle(self) -> None:
        """Finish every due and every running session processing, and every
        merge-conflict resolution in flight, at once."""
        _background.settle(self._state.store)

    @staticmethod
    def system_prompt(recall_strategy: str) -> str:
        """The system prompt the emulator serves for *recall_strategy*."""
        return _context.system_prompt(str(recall_strategy))

    def hold_streams(self) -> None:
        """Make context streams stop after their first event until
        :meth:`release_streams` (waiting without blocking the server)."""
        self._state.store.session_control.gate.hold()

    def release_streams(self) -> None:
        """Let held context streams (and later ones) run to their end."""
        self._state.store.session_control.gate.release()

    def fail_next_stream(self, error_message: str = "Context retrieval failed") -> None:
        """End the next context stream with ``{"is_final": true, "error_message": ...}``."""
        self._state.store.session_control.queue_outcome("fail", error_message)

    def truncate_next_stream(self) -> None:
        """End the next context stream after its progress events, without a final event."""
        self._state.store.session_control.queue_outcome("truncate")

    @property
    def streams_started(self) -> int:
        """Context streams whose response has started (since the last :meth:`reset`)."""
        return self._state.store.session_control.streams_started

    @property
    def streams_completed(self) -> int:
        """Context streams that sent everything and ended normally."""
        return self._state.store.session_control.streams_completed

    @property
    def streams_disconnected(self) -> int:
        """Context streams cut short because the client went away."""
        return self._state.store.session_control.streams_disconnected

    def inject_fault(
        self,
        status: int = 503,
        body: bytes | str | Mapping[str, object] | None = None,
        headers: Mapping[str, str] | None = None,
        *,
        times: int = 1,
        method: str | None = None,
        path_prefix: str | None = None,
        content_type: str | None = "application/json",
        delay: float = 0.0,
    ) -> None:
        """Answer the next *times* matching requests with a canned response.

        A request matches when its method equals *method* (any when ``None``)
        and its raw path starts with *path_prefix* (any when ``None``).
        *body* defaults to ``{"detail": "<reason phrase>"}``; a mapping is sent
        as JSON. Faulted requests are still recorded; auth is not checked.
        *delay* (seconds) is waited before answering.
        """
        if body is None:
            try:
                reason = HTTPStatus(status).phrase
            except ValueError:
                reason = "Injected fault"
            payload = json.dumps({"detail": reason}).encode()
        elif isinstance(body, bytes):
            payload = body
        elif isinstance(body, str):
            payload = body.encode("utf-8")
        else:
            payload = json.dumps(dict(body), ensure_ascii=False).encode("utf-8")
        self._state.add_fault(
            Fault(
                remaining=times,
                status=status,
                body=payload,
                headers=dict(headers or {}),
                content_type=content_type,
                disconnect=False,
                delay=delay,
                method=method,
                path_prefix=path_prefix,
            )
        )

    def inject_disconnect(
        self,
        *,
        times: int = 1,
        method: str | None = None,
        path_prefix: str | None = None,
        delay: float = 0.0,
    ) -> None:
        """Drop the connection of the next *times* matching requests without
        sending any response (after *delay* seconds). Matching as for
        :meth:`inject_fault`."""
        self._state.add_fault(
            Fault(
                remaining=times,
                status=0,
                body=b"",
                headers={},
                content_type=None,
                disconnect=True,
                delay=delay,
                method=method,
                path_prefix=path_prefix,
            )
        )

    @property
    def pending_faults(self) -> int:
        """Faulted answers still queued (summed over all injected faults)."""
        return self._state.pending_faults()

    # -- async lifecycle -----------------------------------------------------

    async def start(self) -> None:
        """Start listening (in the running event loop)."""
        if self._runner is not None:
            raise RuntimeError("the emulator is already running")
        guard = ConnectionGuard(self._limits)
        runner = web.AppRunner(
            build_app(self._state, guard),
            access_log=None,
            handle_signals=False,
            shutdown_timeout=_SHUTDOWN_TIMEOUT,
            handler_cancellation=True,  # a client that goes away cancels its stream at once
            keepalive_timeout=self._limits.idle_timeout,
        )
        await runner.setup()
        server = runner.server
        assert server is not None
        try:
            # Our own listener instead of web.TCPSite: every connection goes through the
            # guard, which aiohttp has no hook for.
            listener = await asyncio.get_running_loop().create_server(
                guard.protocol_factory(server), self.host, self._requested_port
            )
        except BaseException:
            await runner.cleanup()
            raise
        self._listener, self._guard, self._runner = listener, guard, runner
        self._port = self.addresses[0][1]

    async def stop(self) -> None:
        """Stop listening and close every connection. Idempotent."""
        runner, self._runner = self._runner, None
        listener, self._listener = self._listener, None
        guard = self._guard
        self._port = None
        if runner is None or listener is None or guard is None:
            return
        listener.close()  # no new connections
        self.release_streams()  # held streams would otherwise stall the graceful shutdown
        await runner.cleanup()  # finishes in-flight requests and closes aiohttp's connections
        guard.abort_all()  # anything aiohttp left open
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(listener.wait_closed(), _SHUTDOWN_TIMEOUT)
        self._guard = None

    async def __aenter__(self) -> Emulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- thread lifecycle ----------------------------------------------------

    def start_in_thread(self) -> None:
        """Run the emulator on its own event loop in a daemon thread; returns
        once the socket is listening."""
        if self._thread is not None or self._runner is not None:
            raise RuntimeError("the emulator is already running")
        started = threading.Event()
        failure: list[BaseException] = []
        thread = threading.Thread(
            target=self._thread_main,
            args=(started, failure),
            name="recallrai-emulator",
            daemon=True,
        )
        self._thread = thread
        thread.start()
        if not started.wait(_THREAD_START_TIMEOUT):
            raise RuntimeError("the emulator thread did not start in time")
        if failure:
            thread.join()
            self._thread = None
            raise failure[0]

    def stop_thread(self) -> None:
        """Stop a server started with :meth:`start_in_thread` and join its
        thread. Idempotent."""
        thread, loop, stop = self._thread, self._thread_loop, self._thread_stop
        if thread is None:
            return
        if loop is not None and stop is not None:
            # RuntimeError: the loop has already closed (the thread is ending).
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(stop.set)
        thread.join()
        self._thread = None

    @contextmanager
    def run_in_thread(self) -> Iterator[Emulator]:
        """Context manager form of :meth:`start_in_thread` / :meth:`stop_thread`."""
        self.start_in_thread()
        try:
            yield self
        finally:
            self.stop_thread()

    def _thread_main(self, started: threading.Event, failure: list[BaseException]) -> None:
        async def main() -> None:
            self._thread_loop = asyncio.get_running_loop()
            self._thread_stop = asyncio.Event()
            try:
                await self.start()
            except BaseException as exc:
                failure.append(exc)
                started.set()
                return
            started.set()
            try:
                await self._thread_stop.wait()
            finally:
                await self.stop()

        try:
            asyncio.run(main())
        finally:
            self._thread_loop = None
            self._thread_stop = None
