"""The shared-timer deadline: what ``asyncio.timeout`` does, with one timer per event loop."""

from __future__ import annotations

import asyncio
import sys

import pytest

from recallrai._deadline import deadline

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif(
        sys.version_info < (3, 11),
        reason="Python 3.10 uses anyio.fail_after, tested by its project",
    ),
]


def _deadline_timers(loop: asyncio.AbstractEventLoop) -> int:
    """The live timer handles of the loop that belong to deadlines."""
    return sum(
        not handle.cancelled() and getattr(handle._callback, "__name__", "") == "_expire"
        for handle in loop._scheduled  # type: ignore[attr-defined]
    )


async def test_a_block_that_outlives_its_deadline_raises_timeout_error() -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(TimeoutError), deadline(0.05):
        await asyncio.sleep(5)
    assert 0.04 < loop.time() - started < 1
    assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]


async def test_a_block_that_ends_in_time_returns_and_is_forgotten() -> None:
    with deadline(0.5):
        await asyncio.sleep(0)
    await asyncio.sleep(0.6)  # the deadline passed after the block: nothing is cancelled
    assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]


async def test_blocks_in_flight_share_one_timer_and_expire_in_order() -> None:
    loop = asyncio.get_running_loop()
    ended: list[tuple[int, str]] = []
    gate = asyncio.Event()

    async def block(n: int, seconds: float, wait: float) -> None:
        try:
            with deadline(seconds):
                gate.set()
                await asyncio.sleep(wait)
            ended.append((n, "done"))
        except TimeoutError:
            ended.append((n, "timeout"))

    tasks = [asyncio.create_task(block(n, 0.1, 0.3 if n % 2 else 0.01)) for n in range(20)]
    await gate.wait()
    await asyncio.sleep(0)
    assert _deadline_timers(loop) == 1  # 20 blocks in flight, one timer
    await asyncio.gather(*tasks)
    assert sorted(n for n, how in ended if how == "timeout") == list(range(1, 20, 2))
    assert sorted(n for n, how in ended if how == "done") == list(range(0, 20, 2))


async def test_different_timeouts_each_expire_on_time() -> None:
    loop = asyncio.get_running_loop()

    async def timed(seconds: float) -> float:
        started = loop.time()
        with pytest.raises(TimeoutError), deadline(seconds):
            await asyncio.sleep(5)
        return loop.time() - started

    long, short = await asyncio.gather(timed(0.3), timed(0.05))
    assert 0.04 < short < 0.2
    assert 0.25 < long < 1


async def test_a_cancellation_from_elsewhere_stays_a_cancellation() -> None:
    async def block() -> None:
        with deadline(5):
            await asyncio.sleep(5)

    task = asyncio.create_task(block())
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_a_cancellation_racing_the_deadline_is_not_swallowed() -> None:
    async def block() -> None:
        with deadline(0.05):
            await asyncio.sleep(5)

    task = asyncio.create_task(block())
    await asyncio.sleep(0.045)
    loop = asyncio.get_running_loop()
    loop.call_later(0.005, task.cancel)  # about when the deadline fires
    with pytest.raises((asyncio.CancelledError, TimeoutError)):
        await task
    assert task.cancelled() or isinstance(task.exception(), TimeoutError)


async def test_finished_blocks_leave_nothing_behind() -> None:
    from recallrai import _deadline

    for _ in range(1000):
        with deadline(30):
            await asyncio.sleep(0)
    watch = _deadline._watch_of(asyncio.get_running_loop())  # type: ignore[attr-defined]
    assert sum(len(queue) for queue in watch._queues.values()) == 0


def test_each_event_loop_has_its_own_watch() -> None:
    async def expire() -> bool:
        try:
            with deadline(0.02):
                await asyncio.sleep(1)
        except TimeoutError:
            return True
        return False

    assert asyncio.run(expire())
    assert asyncio.run(expire())  # a new loop: a new timer, not the closed loop's


async def test_outside_a_task_is_refused() -> None:
    def outside() -> None:
        with deadline(1):
            pass

    loop = asyncio.get_running_loop()
    future: asyncio.Future[None] = loop.create_future()

    def call() -> None:
        try:
            outside()
        except RuntimeError as error:
            future.set_exception(error)
        else:
            future.set_result(None)

    loop.call_soon(call)
    with pytest.raises(RuntimeError, match="inside a task"):
        await future
