"""Local servers that misbehave the way production upstreams do, for the bounds tests.

One asyncio server on loopback, run in a background thread; the first path segment picks the
behaviour (``base_url=f"{server.url}/endless"``). Most behaviours run until the client leaves;
one that finishes its answer serves the next request of the connection (keep-alive), and
``connections`` counts the connections each behaviour was asked for on.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator

Behaviour = Callable[[asyncio.StreamWriter], Awaitable[None]]

MIB = 1024 * 1024
TICK = 0.05  # seconds between trickled bytes


async def _endless_chunked(writer: asyncio.StreamWriter) -> None:
    writer.write(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b"%x\r\n%s\r\n" % (MIB, b" " * MIB)
    while True:
        writer.write(chunk)
        await writer.drain()


async def _endless_close_delimited(writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n")
    while True:
        writer.write(b" " * MIB)
        await writer.drain()


async def _huge_length(writer: asyncio.StreamWriter) -> None:
    writer.write(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 10000000000\r\n\r\n"
    )
    while True:
        writer.write(b" " * MIB)
        await writer.drain()


async def _trickle_headers(writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
    while True:
        await writer.drain()
        await asyncio.sleep(TICK)
        writer.write(b"a")


async def _trickle_body(writer: asyncio.StreamWriter) -> None:
    writer.write(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
    )
    while True:
        await writer.drain()
        await asyncio.sleep(TICK)
        writer.write(b" ")


async def _sse_no_newline(writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n")
    writer.write(b"data: ")
    while True:
        writer.write(b"x" * (64 * 1024))
        await writer.drain()


async def _sse_comments_only(writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n")
    while True:
        writer.write(b": keep-alive\n\n")
        await writer.drain()
        await asyncio.sleep(TICK)


async def _sse_trickle_line(writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n")
    writer.write(b'data: {"is_final": false, "status_update_message": "')
    while True:
        await writer.drain()
        await asyncio.sleep(TICK)
        writer.write(b"a")


FINAL_EVENT = (
    b'data: {"is_final": true, "context": "the context", "status_update_message": null}\n\n'
)
SSE_CHUNKED = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
)


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


async def _sse_late_end(writer: asyncio.StreamWriter) -> None:
    """A whole event stream, whose end (the last chunk) comes a little after its final event."""
    writer.write(SSE_CHUNKED + _chunk(b'data: {"is_final": false}\n\n') + _chunk(FINAL_EVENT))
    await writer.drain()
    await asyncio.sleep(TICK)
    writer.write(b"0\r\n\r\n")
    await writer.drain()


async def _sse_no_end(writer: asyncio.StreamWriter) -> None:
    """An event stream that goes on after its final event: keep-alive comments, forever."""
    writer.write(SSE_CHUNKED + _chunk(FINAL_EVENT))
    while True:
        await writer.drain()
        await asyncio.sleep(TICK)
        writer.write(_chunk(b": keep-alive\n\n"))


async def _sse_long_tail(writer: asyncio.StreamWriter) -> None:
    """An event stream followed, after its final event, by more bytes than are worth reading."""
    writer.write(SSE_CHUNKED + _chunk(FINAL_EVENT))
    while True:
        writer.write(_chunk(b": " + b"x" * (64 * 1024) + b"\n\n"))
        await writer.drain()


BEHAVIOURS: dict[str, Behaviour] = {
    "endless": _endless_chunked,
    "endless-close": _endless_close_delimited,
    "huge-length": _huge_length,
    "trickle-headers": _trickle_headers,
    "trickle-body": _trickle_body,
    "sse-no-newline": _sse_no_newline,
    "sse-comments": _sse_comments_only,
    "sse-trickle-line": _sse_trickle_line,
    "sse-late-end": _sse_late_end,
    "sse-no-end": _sse_no_end,
    "sse-long-tail": _sse_long_tail,
}


class HostileServer:
    """The behaviours above on ``127.0.0.1``, in a daemon thread; ``with`` it to run it."""

    def __init__(self) -> None:
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()
        self.connections: Counter[str] = Counter()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            behaviour = head.split(b" ", 2)[1].decode().split("/")[1]
            self.connections[behaviour] += 1
            while True:  # a behaviour that finishes its answer serves the next request
                await BEHAVIOURS[behaviour](writer)
                head = await reader.readuntil(b"\r\n\r\n")
                behaviour = head.split(b" ", 2)[1].decode().split("/")[1]
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            self._handlers.discard(task)
            writer.close()

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"

    async def _stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._handlers):
            task.cancel()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._server.wait_closed(), 2)
        await asyncio.sleep(0)

    def __enter__(self) -> HostileServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(5)
        return self

    def __exit__(self, *exc_info: object) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()


@contextlib.contextmanager
def hostile_server() -> Iterator[HostileServer]:
    with HostileServer() as server:
        yield server
