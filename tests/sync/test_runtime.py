"""The blocking facade's loop thread: threads, running event loops, closing and exit."""

from __future__ import annotations

import asyncio
import gc
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from recallrai import RecallrAI, exceptions
from recallrai.emulator import Emulator


def loop_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "recallrai-event-loop"]


def make_client(emulator: Emulator, **options: object) -> RecallrAI:
    return RecallrAI(emulator.api_key, emulator.project_id, base_url=emulator.base_url, **options)  # type: ignore[arg-type]


def test_close_stops_the_loop_thread_and_later_calls_fail_cleanly(
    recallrai_emulator: Emulator,
) -> None:
    before = len(loop_threads())
    client = make_client(recallrai_emulator)
    assert len(loop_threads()) == before  # the thread starts on the first call
    client.create_user("x")
    assert len(loop_threads()) == before + 1
    client.close()
    client.close()  # idempotent
    assert len(loop_threads()) == before
    with pytest.raises(exceptions.ConnectionError, match="closed"):
        client.get_user("x")


def test_context_manager_closes(recallrai_emulator: Emulator) -> None:
    before = len(loop_threads())
    with make_client(recallrai_emulator) as client:
        client.create_user("y")
    assert len(loop_threads()) == before


def test_garbage_collected_client_releases_its_thread(recallrai_emulator: Emulator) -> None:
    before = len(loop_threads())
    client = make_client(recallrai_emulator)
    client.create_user("z")
    del client
    gc.collect()
    assert len(loop_threads()) == before


def test_many_threads_share_one_client(recallrai_emulator: Emulator) -> None:
    with make_client(recallrai_emulator) as client:
        with ThreadPoolExecutor(max_workers=8) as pool:
            created = list(pool.map(lambda i: client.create_user(f"t{i}").user_id, range(64)))
        assert sorted(created) == sorted(f"t{i}" for i in range(64))
        with ThreadPoolExecutor(max_workers=8) as pool:
            fetched = list(pool.map(lambda i: client.get_user(f"t{i}").user_id, range(64)))
        assert fetched == [f"t{i}" for i in range(64)]
        assert client.list_users().total == 64


def test_works_inside_a_running_event_loop(recallrai_emulator: Emulator) -> None:
    """Like a notebook cell or an async web handler calling blocking code: no deadlock."""

    async def handler() -> str:
        with make_client(recallrai_emulator) as client:
            user = client.create_user("from-a-loop")
            await asyncio.sleep(0)
            return client.get_user(user.user_id).user_id

    assert asyncio.run(handler()) == "from-a-loop"


def test_unclosed_client_does_not_hang_interpreter_exit(recallrai_emulator: Emulator) -> None:
    script = (
        "from recallrai import RecallrAI\n"
        f"c = RecallrAI('rai_k', 'p', base_url={recallrai_emulator.base_url!r})\n"
        "c.create_user('exit-test')\n"
        "print('done')\n"
    )
    result = subprocess.run(
        [sys.executable, "-W", "error::ResourceWarning", "-c", script],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0 and result.stdout.strip() == "done", result.stderr
    assert result.stderr == ""


def test_iterate_drives_a_plain_async_iterator_and_closes_it_early() -> None:
    """Without ``_anext_batch``, ``iterate`` takes one item per step on the loop thread,
    and leaving the ``for`` early closes the async generator there."""
    from recallrai_sync._runtime import LoopThread, iterate

    async def nothing() -> None:
        return None

    loop = LoopThread(nothing)
    seen_on: set[str] = set()
    closed: list[bool] = []

    async def numbers():  # type: ignore[no-untyped-def]
        try:
            for n in range(5):
                seen_on.add(threading.current_thread().name)
                yield n
        finally:
            closed.append(True)

    try:
        assert list(iterate(loop, numbers())) == [0, 1, 2, 3, 4]
        assert closed == [True]
        for n in iterate(loop, numbers()):
            if n == 1:
                break
        assert closed == [True, True]
        assert seen_on == {"recallrai-event-loop"}
    finally:
        loop.close()


async def _nothing() -> None:
    return None


def test_a_call_runs_in_a_copy_of_the_callers_context() -> None:
    """Context variables set by the calling thread (a tracing span, for one) are seen by
    the coroutine on the loop thread; what the coroutine sets stays there."""
    import contextvars

    from recallrai_sync._runtime import LoopThread

    variable: contextvars.ContextVar[str] = contextvars.ContextVar("variable", default="unset")

    async def read_then_set() -> tuple[str, str]:
        seen = variable.get()
        variable.set("set on the loop")
        return seen, threading.current_thread().name

    loop = LoopThread(_nothing)
    try:
        results = {}

        def caller(name: str) -> None:
            variable.set(name)
            results[name] = loop.call(read_then_set)

        threads = [threading.Thread(target=caller, args=(f"caller {n}",)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert results == {f"caller {n}": (f"caller {n}", "recallrai-event-loop") for n in range(4)}
        assert loop.call(read_then_set)[0] == "unset"
    finally:
        loop.close()


def test_a_calls_value_and_error_reach_its_caller_unchanged() -> None:
    from recallrai_sync._runtime import LoopThread

    error = exceptions.ValidationError("no")
    value = object()

    async def give(thing: object) -> object:
        await asyncio.sleep(0)  # suspends once: the value crosses a real task step
        if isinstance(thing, BaseException):
            raise thing
        return thing

    loop = LoopThread(_nothing)
    try:
        assert loop.call(give, value) is value
        assert loop.call(give, None) is None
        with pytest.raises(exceptions.ValidationError) as raised:
            loop.call(give, error)
        assert raised.value is error
    finally:
        loop.close()


def test_calls_handed_over_while_the_loop_is_busy_all_run() -> None:
    """Callers that hand calls over while the loop thread is blocked all get their results
    once it is free (one wake-up may start many calls), even when a wake-up byte cannot
    be written because the socket is full of them."""
    import time

    from recallrai_sync._runtime import LoopThread

    async def block(seconds: float) -> str:
        time.sleep(seconds)  # blocks the loop thread itself
        return "blocked"

    async def echo(n: int) -> int:
        await asyncio.sleep(0)
        return n

    loop = LoopThread(_nothing)
    try:
        loop.call(echo, 0)  # started
        runner = loop._runner
        assert runner is not None
        real_wake = runner.wake

        class FullSocket:
            """Writes the wake-up byte, then reports the socket full, as a real full one would
            after the loop was already woken."""

            def send(self, data: bytes) -> int:
                real_wake.send(data)
                raise BlockingIOError

        with ThreadPoolExecutor(max_workers=33) as pool:
            blocked = pool.submit(loop.call, block, 0.3)
            time.sleep(0.05)
            runner.wake = FullSocket()  # type: ignore[assignment]
            echoed = [pool.submit(loop.call, echo, n) for n in range(32)]
            assert [future.result(timeout=10) for future in echoed] == list(range(32))
            assert blocked.result(timeout=10) == "blocked"
        runner.wake = real_wake
    finally:
        loop.close()


def test_a_caller_interrupted_before_its_call_started_stops_the_call(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """KeyboardInterrupt while waiting stops the work too, even if the loop had not yet
    started it (its cancellation may run before the wake-up that would start it)."""
    import time

    from recallrai_sync import _runtime

    ran: list[int] = []

    async def block(seconds: float) -> None:
        time.sleep(seconds)  # blocks the loop thread itself

    async def record(n: int) -> int:
        ran.append(n)
        return n

    class InterruptedWaiter:
        """The caller's wait for the outcome is interrupted."""

        def wait(self, call: object) -> None:
            raise KeyboardInterrupt

        def wake(self) -> None:
            pass

    loop = _runtime.LoopThread(_nothing)
    try:
        loop.call(record, 0)
        with ThreadPoolExecutor(max_workers=1) as pool:
            blocked = pool.submit(loop.call, block, 0.3)
            time.sleep(0.05)
            with monkeypatch.context() as patch:
                patch.setattr(_runtime, "_waiter", InterruptedWaiter)
                with pytest.raises(KeyboardInterrupt):
                    loop.call(record, 1)
            blocked.result(timeout=10)
        assert loop.call(record, 2) == 2  # the loop has handled everything before this
        assert ran == [0, 2]
    finally:
        loop.close()


needs_eventfd = pytest.mark.skipif(
    not hasattr(__import__("os"), "eventfd"), reason="callers wait on a lock without eventfd"
)


@needs_eventfd
def test_a_stale_wake_up_does_not_end_the_next_wait_early() -> None:
    """A call given up (KeyboardInterrupt) still wakes its thread when it ends; the
    thread's next call must go on waiting for its own outcome."""
    import time
    from types import SimpleNamespace

    from recallrai_sync import _runtime

    waiter = _runtime._Waiter()
    waiter.wake()  # the end of a call its caller gave up
    call = SimpleNamespace(outcome=None)

    def finish() -> None:
        time.sleep(0.2)
        call.outcome = "finished"
        waiter.wake()

    finisher = threading.Thread(target=finish)
    finisher.start()
    waiter.wait(call)  # type: ignore[arg-type]
    outcome = call.outcome  # what the caller would read now
    finisher.join()
    assert outcome == "finished"


@needs_eventfd
def test_a_forked_child_waits_on_an_eventfd_of_its_own() -> None:
    """The thread that forks is copied with its waiter: a child must not wake, or be
    woken through, the eventfd its parent's thread waits on."""
    script = """
import os
from recallrai_sync import _runtime

parent = _runtime._waiter()
pid = os.fork()
if pid == 0:
    _runtime._waiter().wake()
    os._exit(0)
os.waitpid(pid, 0)
os.set_blocking(parent._fd, False)
try:
    os.eventfd_read(parent._fd)
    print("the child woke the parent's thread")
except BlockingIOError:
    print("separate")
"""
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (result.stdout.strip(), result.stderr) == ("separate", "")
