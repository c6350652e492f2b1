"""``close()`` while other threads are inside blocking calls, streams and pages of the
same client: every one of them, and every later call, gets
``ConnectionError("The client is closed")`` at once; never a CancelledError, a
RuntimeError or a hang. Both transports; every wait is bounded."""

from __future__ import annotations

import asyncio
import gc
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from recallrai import RecallrAI, exceptions
from recallrai.emulator import Emulator
from recallrai_sync._runtime import LoopThread

THREADS = 16
WAIT = 10.0  # seconds: the longest any bounded wait here takes before failing
CLOSED = r"^The client is closed$"


@pytest.fixture(params=["aiohttp", "httpx"])
def transport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


class HangingServer:
    """Loopback HTTP server that reads requests and never answers: calls stay in flight."""

    def __init__(self) -> None:
        self.requests = 0
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=asyncio.run, args=(self._main(),))

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _main(self) -> None:
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        writers: list[asyncio.StreamWriter] = []

        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writers.append(writer)
            if await reader.read(1):  # a request has started to arrive
                self.requests += 1
            await reader.read()  # until the client goes away

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        await self._stop.wait()
        server.close()
        for writer in writers:
            writer.close()
        await server.wait_closed()

    def __enter__(self) -> HangingServer:
        self._thread.start()
        assert self._ready.wait(WAIT)
        return self

    def __exit__(self, *exc_info: object) -> None:
        assert self._loop is not None and self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(WAIT)


def make_client(base_url: str, transport: str) -> RecallrAI:
    return RecallrAI(
        "rai_close",
        "close",
        base_url=base_url,
        transport=transport,  # type: ignore[arg-type]
        max_retries=0,
        timeout=60,
    )


def loop_threads() -> int:
    return sum(t.name == "recallrai-event-loop" for t in threading.enumerate())


def wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.005)


class Callers:
    """Threads that each run ``work(i)`` and keep what it returned or raised."""

    def __init__(self, count: int, work: Callable[[int], Any]) -> None:
        self.outcomes: list[Any] = [None] * count

        def run(i: int) -> None:
            try:
                self.outcomes[i] = work(i)
            except BaseException as error:
                self.outcomes[i] = error

        # Daemons: a caller that hangs fails its test, and must not hang the interpreter's exit.
        self.threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(count)]
        for thread in self.threads:
            thread.start()

    def join(self) -> list[Any]:
        deadline = time.monotonic() + WAIT
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        hung = sum(thread.is_alive() for thread in self.threads)
        assert not hung, f"{hung} callers still blocked after close()"
        return self.outcomes


def is_closed_error(outcome: object) -> bool:
    return isinstance(outcome, exceptions.ConnectionError) and str(outcome) == (
        "The client is closed"
    )


def close_and_time(client: RecallrAI) -> float:
    start = time.monotonic()
    client.close()
    return time.monotonic() - start


def test_close_fails_every_call_in_flight(transport: str) -> None:
    with HangingServer() as server:
        client = make_client(server.base_url, transport)

        def work(i: int) -> Any:
            return client.get_user(f"u{i}") if i % 2 else client.create_user(f"u{i}")

        callers = Callers(THREADS, work)
        wait_until(lambda: server.requests == THREADS)
        assert close_and_time(client) < WAIT / 2
        outcomes = callers.join()
        assert all(is_closed_error(o) for o in outcomes), outcomes
        with pytest.raises(exceptions.ConnectionError, match=CLOSED):
            client.get_user("later")
        assert loop_threads() == 0


def test_close_fails_streams_being_iterated(recallrai_emulator: Emulator, transport: str) -> None:
    client = make_client(recallrai_emulator.base_url, transport)
    session = client.create_user("streamer").create_session()
    session.add_message("user", "hello")
    recallrai_emulator.hold_streams()  # each stream stops after its first event
    received: list[int] = []

    def work(i: int) -> Any:
        for event in session.get_context_stream(include_system_prompt=False):
            assert event.is_final is False
            received.append(i)
        return "finished"  # not expected: the streams are held

    try:
        callers = Callers(THREADS // 2, work)
        wait_until(lambda: len(received) == THREADS // 2)
        assert close_and_time(client) < WAIT / 2
        outcomes = callers.join()
    finally:
        recallrai_emulator.release_streams()
    assert all(is_closed_error(o) for o in outcomes), outcomes
    wait_until(lambda: recallrai_emulator.streams_disconnected == THREADS // 2)
    with pytest.raises(exceptions.ConnectionError, match=CLOSED):
        next(iter(session.get_context_stream()))


def test_close_closes_streams_left_open(recallrai_emulator: Emulator, transport: str) -> None:
    """Streams nobody is reading when close() comes are closed with the pool: no
    connection is left for the garbage collector to complain about."""
    client = make_client(recallrai_emulator.base_url, transport)
    session = client.create_user("idle").create_session()
    recallrai_emulator.hold_streams()
    try:
        streams = [session.get_context_stream(include_system_prompt=False) for _ in range(3)]
        for stream in streams:
            assert next(stream).is_final is False
        client.close()
        wait_until(lambda: recallrai_emulator.streams_disconnected == 3)
        for stream in streams:
            with pytest.raises(exceptions.ConnectionError, match=CLOSED):
                next(stream)
        del streams, stream
        gc.collect()  # an unclosed connection would warn here (an error in this suite)
    finally:
        recallrai_emulator.release_streams()


def test_close_fails_pages_being_iterated(recallrai_emulator: Emulator, transport: str) -> None:
    client = make_client(recallrai_emulator.base_url, transport)
    for i in range(3):
        client.create_user(f"u{i}")
    first = client.list_users(limit=1)
    # Every next page takes a minute: the callers wait for page two when close() comes.
    recallrai_emulator.inject_fault(503, delay=60, times=THREADS, method="GET")
    seen: list[int] = []

    def work(i: int) -> Any:
        for _ in first:
            seen.append(i)
        return "finished"  # not expected: page two is late

    callers = Callers(THREADS, work)
    wait_until(lambda: len(recallrai_emulator.requests) >= 4 + THREADS and len(seen) == THREADS)
    assert close_and_time(client) < WAIT / 2
    outcomes = callers.join()
    assert all(is_closed_error(o) for o in outcomes), outcomes


def test_calls_racing_close_succeed_or_get_the_closed_error(
    recallrai_emulator: Emulator, transport: str
) -> None:
    """Many threads calling in a loop while close() comes at some point: each call
    either completes or raises the closed error, and every thread ends."""
    for attempt in range(5):
        client = make_client(recallrai_emulator.base_url, transport)
        client.create_user(f"racer-{attempt}")
        done = [0] * THREADS

        def work(i: int) -> Any:
            while True:
                try:
                    client.get_user(f"racer-{attempt}")  # noqa: B023 - joined before the next attempt
                except exceptions.ConnectionError as error:
                    return error
                done[i] += 1  # noqa: B023

        callers = Callers(THREADS, work)
        wait_until(lambda: sum(done) >= 20 * (attempt + 1))  # noqa: B023
        client.close()
        outcomes = callers.join()
        assert all(is_closed_error(o) for o in outcomes), outcomes
    assert loop_threads() == 0


def test_close_racing_the_first_call(recallrai_emulator: Emulator, transport: str) -> None:
    """The loop thread starts on the first call: close() may come before, during or after."""
    for _ in range(10):
        client = make_client(recallrai_emulator.base_url, transport)
        start = threading.Barrier(THREADS + 1)

        def call(i: int) -> Any:
            start.wait()  # noqa: B023
            try:
                return client.list_users().total  # noqa: B023
            except exceptions.ConnectionError as error:
                return error

        callers = Callers(THREADS, call)
        start.wait()
        client.close()
        outcomes = callers.join()
        assert all(o == 0 or is_closed_error(o) for o in outcomes), outcomes
    assert loop_threads() == 0


def test_construction_starts_no_thread(recallrai_emulator: Emulator) -> None:
    before = loop_threads()
    client = make_client(recallrai_emulator.base_url, "aiohttp")
    assert loop_threads() == before
    client.close()  # closing an unused client needs no thread either
    assert loop_threads() == before
    with pytest.raises(exceptions.ConnectionError, match=CLOSED):
        client.list_users()
    assert loop_threads() == before


def test_close_from_a_call_on_the_loop_thread() -> None:
    """A callback on the loop closing its own client cannot wait for the loop: the
    loop stops right after, and the call itself still returns."""
    closed: list[bool] = []

    async def on_close() -> None:
        closed.append(True)

    loop = LoopThread(on_close)

    async def close_from_inside() -> str:
        loop.close()
        return "returned"

    assert loop.call(close_from_inside) == "returned"
    wait_until(lambda: closed == [True] and loop_threads() == 0)

    async def later() -> None:
        return None

    with pytest.raises(exceptions.ConnectionError, match=CLOSED):
        loop.call(later)


def test_a_call_cancelled_by_close_raises_the_closed_error() -> None:
    """A call whose coroutine is cancelled by close() raises the closed error; the
    loop's own CancelledError never reaches the caller."""

    async def nothing() -> None:
        return None

    loop = LoopThread(nothing)
    started = threading.Event()

    async def forever() -> None:
        started.set()
        await asyncio.Event().wait()

    callers = Callers(1, lambda _: loop.call(forever))
    assert started.wait(WAIT)
    loop.close()
    [outcome] = callers.join()
    assert is_closed_error(outcome), repr(outcome)


def test_a_call_the_loop_never_started_gets_the_closed_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A hand-off that lands just as the loop ends is never run: once the loop is
    gone, its caller is told the client is closed instead of waiting forever."""

    async def nothing() -> None:
        return None

    loop = LoopThread(nothing)
    loop.call(nothing)
    runner = loop._runner
    assert runner is not None
    # Lose the next hand-off's wake-up, as a loop shutting down would.

    class LostWakeUp:
        def send(self, data: bytes) -> int:
            return len(data)

    monkeypatch.setattr(runner, "wake", LostWakeUp())
    callers = Callers(1, lambda _: loop.call(nothing))
    wait_until(lambda: len(runner.calls) == 1)
    monkeypatch.undo()
    loop.close()
    [outcome] = callers.join()
    assert is_closed_error(outcome), repr(outcome)
