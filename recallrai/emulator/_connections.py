"""Connection limits in front of aiohttp's request handler.

aiohttp.web has a keep-alive timeout but no deadline for a request head: a
client that connects and sends nothing, or trickles a header byte at a time,
keeps its socket for as long as it likes, and nothing caps how many sockets
are open. :class:`ConnectionGuard` is the protocol factory given to
``loop.create_server``; it wraps each aiohttp ``RequestHandler`` and

* refuses connections beyond ``max_connections`` (a short 503, then close);
* closes a connection whose request head is not complete within
  ``header_timeout`` of its arrival, or of the first byte of a later request
  on a kept-alive connection (bytes that arrived in the same read as the
  previous request cannot be told from it; those fall under ``idle_timeout``).

Reading the body is bounded by ``body_timeout`` (applied by the application,
see ``recallrai.emulator._app``), and an idle kept-alive connection is closed
after ``idle_timeout`` by aiohttp itself (its ``keepalive_timeout``).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import attrs

__all__ = ["ConnectionGuard", "ConnectionLimits"]

_REFUSAL_BODY = b'{"detail":"Too many open connections"}'
_REFUSAL = (
    b"HTTP/1.1 503 Service Unavailable\r\n"
    b"Content-Type: application/json\r\n"
    b"Content-Length: %d\r\n"
    b"Connection: close\r\n"
    b"\r\n"
    b"%s"
) % (len(_REFUSAL_BODY), _REFUSAL_BODY)


def _positive(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{attribute.name} must be a positive number of seconds")


def _at_least_one(_: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{attribute.name} must be an integer >= 1")


@attrs.frozen
class ConnectionLimits:
    """How much a client may hold of the server (seconds and counts)."""

    max_connections: int = attrs.field(default=256, validator=_at_least_one)
    """Connections open at once; further ones get a 503 and are closed."""
    header_timeout: float = attrs.field(default=5.0, validator=_positive)
    """Seconds from a connection's arrival (or a later request's first byte) to a
    complete request head; then the connection is dropped."""
    body_timeout: float = attrs.field(default=30.0, validator=_positive)
    """Seconds from a complete head to a complete body; then 408 and close."""
    idle_timeout: float = attrs.field(default=60.0, validator=_positive)
    """Seconds a kept-alive connection may wait for its next request."""


class _Connection(asyncio.Protocol):
    """One accepted connection: forwards everything to aiohttp's handler and
    keeps the header deadline."""

    def __init__(self, guard: ConnectionGuard, make_handler: Callable[[], asyncio.Protocol]):
        self._guard = guard
        self._make_handler = make_handler
        self._inner: asyncio.Protocol | None = None
        self.transport: asyncio.Transport | None = None
        self._deadline: asyncio.TimerHandle | None = None
        self._in_request = False
        self._body_read = False
        self._early_bytes = False
        """Bytes received after this request's body: the start of the next request."""

    # -- asyncio.Protocol -------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        if not self._guard.admit(transport, self):
            transport.write(_REFUSAL)
            transport.close()
            return
        self.transport = transport
        self._arm()
        self._inner = self._make_handler()
        self._inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if self._inner is None:
            return
        if not self._in_request:
            if self._deadline is None:
                self._arm()
        elif self._body_read:
            self._early_bytes = True
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return None if self._inner is None else self._inner.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self._inner is None:
            return
        self._guard.release(self)
        inner, self._inner = self._inner, None
        self.transport = None
        inner.connection_lost(exc)

    def pause_writing(self) -> None:
        if self._inner is not None:
            self._inner.pause_writing()

    def resume_writing(self) -> None:
        if self._inner is not None:
            self._inner.resume_writing()

    # -- the header deadline ----------------------------------------------------

    def request_started(self) -> None:
        self._in_request = True
        self._body_read = self._early_bytes = False
        self._disarm()

    def body_read(self) -> None:
        self._body_read = True

    def request_finished(self) -> None:
        self._in_request = False
        if self._early_bytes and self._inner is not None:
            self._arm()  # part of the next head arrived during this request

    def _arm(self) -> None:
        self._disarm()
        loop = asyncio.get_running_loop()
        self._deadline = loop.call_later(self._guard.limits.header_timeout, self._expire)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self) -> None:
        self._deadline = None
        if not self._in_request:
            # abort, not close: close would wait for unsent data a non-reading client never takes
            self.abort()

    def abort(self) -> None:
        """Drop the connection at once."""
        if self.transport is not None:
            self.transport.abort()


class ConnectionGuard:
    """Applies :class:`ConnectionLimits` to the connections of one server (see
    the module docstring).

    :meth:`protocol_factory` is what ``loop.create_server`` gets; the
    application reports each request's progress through :meth:`serving`, so
    the header deadline runs only while a connection waits for a request head.
    """

    def __init__(self, limits: ConnectionLimits) -> None:
        self.limits = limits
        self._open: dict[asyncio.BaseTransport, _Connection] = {}

    def protocol_factory(
        self, make_handler: Callable[[], asyncio.Protocol]
    ) -> Callable[[], asyncio.Protocol]:
        """A factory wrapping *make_handler* (aiohttp's ``web.Server`` of an
        ``AppRunner``), which is only called for admitted connections."""
        return lambda: _Connection(self, make_handler)

    @property
    def open_connections(self) -> int:
        """Admitted connections that are still open."""
        return len(self._open)

    def admit(self, transport: asyncio.BaseTransport, connection: _Connection) -> bool:
        """Register a new connection unless the cap is reached."""
        if len(self._open) >= self.limits.max_connections:
            return False
        self._open[transport] = connection
        return True

    def release(self, connection: _Connection) -> None:
        """Forget a connection that has closed."""
        if connection.transport is not None:
            self._open.pop(connection.transport, None)

    @contextmanager
    def serving(self, transport: asyncio.BaseTransport | None) -> Iterator[Callable[[], None]]:
        """While a request on *transport* (its head complete) is being handled;
        yields the function to call once its body has been read."""
        connection = None if transport is None else self._open.get(transport)
        if connection is None:
            yield _nothing
            return
        connection.request_started()
        try:
            yield connection.body_read
        finally:
            connection.request_finished()

    def abort_all(self) -> None:
        """Drop every connection still open (the last step of shutting down)."""
        for connection in list(self._open.values()):
            connection.abort()


def _nothing() -> None:
    pass
