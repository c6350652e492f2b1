"""What the generated blocking classes run on: one event-loop thread per client.

Each :class:`LoopThread` owns a daemon thread running an asyncio loop with an
anyio :class:`~anyio.from_thread.BlockingPortal`. Blocking calls hand their
coroutine to the portal and wait for the result, so they work from plain
scripts, from many threads at once, and from code that already runs an event
loop (the caller's loop is merely blocked, never re-entered). The thread is a
daemon and a finalizer closes the async client and stops the loop when the
sync client is closed, garbage-collected, or the interpreter exits.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, TypeVar

import anyio
from anyio.from_thread import BlockingPortal

from recallrai import exceptions
from recallrai._pagination import Page, PageSource

__all__ = ["LoopThread", "iterate", "register", "wrap"]

T = TypeVar("T")


Ready = concurrent.futures.Future[tuple[BlockingPortal, asyncio.AbstractEventLoop]]


def _run_loop(ready: Ready) -> None:
    async def main() -> None:
        async with BlockingPortal() as portal:
            ready.set_result((portal, asyncio.get_running_loop()))
            await portal.sleep_until_stopped()

    try:
        anyio.run(main, backend="asyncio")
    except BaseException as error:  # pragma: no cover - only if the loop cannot start
        if not ready.done():
            ready.set_exception(error)


def _shutdown(
    portal: BlockingPortal,
    thread: threading.Thread,
    on_close: Callable[[], Awaitable[None]],
) -> None:
    if threading.current_thread() is thread:  # pragma: no cover - closing from a callback
        return
    try:
        portal.call(on_close)
    finally:
        portal.call(portal.stop)
        thread.join()


class LoopThread:
    """A background event loop shared by one sync client and every object it returns."""

    __slots__ = ("__weakref__", "_finalizer", "_loop", "_portal")

    def __init__(self, on_close: Callable[[], Awaitable[None]]) -> None:
        ready: Ready = concurrent.futures.Future()
        thread = threading.Thread(
            target=_run_loop, args=(ready,), name="recallrai-event-loop", daemon=True
        )
        thread.start()
        self._portal, self._loop = ready.result()
        self._finalizer = weakref.finalize(self, _shutdown, self._portal, thread, on_close)

    def call(self, func: Callable[..., Awaitable[T]], *args: Any) -> T:
        """Run ``func(*args)`` on the loop and wait for its result.

        The hot path of every blocking call: one hand-off to the loop thread
        (``call_soon_threadsafe``) and one lock released by the task's done
        callback, instead of the portal's two blocking round trips per call. The
        portal still owns the loop's lifetime.
        """
        if not self._finalizer.alive:
            raise exceptions.ConnectionError("The client is closed")
        done = threading.Lock()
        done.acquire()
        outcome: list[Any] = []

        def start() -> None:
            try:
                task = asyncio.ensure_future(func(*args))
            except BaseException as error:  # func failed before returning an awaitable
                outcome.append(error)
                done.release()
                return
            outcome.append(task)
            task.add_done_callback(lambda _: done.release())

        try:
            self._loop.call_soon_threadsafe(start)
        except RuntimeError:  # the loop stopped: the client was closed meanwhile
            raise exceptions.ConnectionError("The client is closed") from None
        try:
            done.acquire()
        except BaseException:  # e.g. KeyboardInterrupt while waiting: stop the work too
            if outcome and isinstance(outcome[0], asyncio.Future):
                self._loop.call_soon_threadsafe(outcome[0].cancel)
            raise
        result = outcome[0]
        if isinstance(result, BaseException):
            raise result
        return result.result()  # type: ignore[no-any-return]

    def close(self) -> None:
        """Close the async client and stop the thread. Idempotent."""
        self._finalizer()


# ----------------------------------------------------------------------------- wrapping

_SYNC_CLASSES: dict[type[Any], Callable[[LoopThread, Any], Any]] = {}


def register(async_class: type[Any], make_sync: Callable[[LoopThread, Any], Any]) -> None:
    """Declare how an async object is wrapped into its generated sync twin."""
    _SYNC_CLASSES[async_class] = make_sync


class _BlockingSource(PageSource[Any]):
    """Page source of the sync facade: fetches through the loop thread and wraps the items."""

    __slots__ = ("_inner", "_loop")

    def __init__(self, loop: LoopThread, inner: PageSource[Any]) -> None:
        self._loop = loop
        self._inner = inner

    blocking = True

    async def afetch(self, offset: int) -> Page[Any]:
        raise NotImplementedError

    def fetch(self, offset: int) -> Page[Any]:
        page: Page[Any] = self._loop.call(self._inner.afetch, offset)
        wrapped: Page[Any] = wrap(self._loop, page)
        return wrapped


def wrap(loop: LoopThread, value: Any) -> Any:
    """The sync twin of an async core value (pages and lists included); other values as they are."""
    make_sync = _SYNC_CLASSES.get(type(value))
    if make_sync is not None:
        return make_sync(loop, value)
    if isinstance(value, Page):
        return value.map(lambda item: wrap(loop, item), _BlockingSource(loop, value._source))
    if isinstance(value, list):
        return [wrap(loop, item) for item in value]
    return value


async def _await(awaitable: Awaitable[T]) -> T:
    return await awaitable


def resolve(loop: LoopThread, awaitable: Awaitable[Any]) -> Any:
    """Await ``awaitable`` on the loop and wrap its result."""
    return wrap(loop, loop.call(_await, awaitable))


def iterate(loop: LoopThread, iterator: AsyncIterator[Any]) -> Iterator[Any]:
    """Drive an async iterator from the loop thread.

    Iterators with an ``_anext_batch`` method (``ContextStream``) hand over
    every item they already hold, and say whether more may follow, in one
    blocking step; others take one step per item. Leaving the ``for`` loop
    early (``break``, an exception, ``close()``) closes the async iterator on
    the loop, which releases its connection at once.
    """
    anext_batch: Callable[[], Awaitable[tuple[list[Any], bool]]] = getattr(
        iterator, "_anext_batch", None
    ) or _one_item(iterator)
    exhausted = False
    try:
        while not exhausted:
            try:
                items, more = loop.call(anext_batch)
            except StopAsyncIteration:
                exhausted = True
                return
            exhausted = not more
            for item in items:
                yield wrap(loop, item)
    finally:
        aclose = getattr(iterator, "aclose", None)
        if not exhausted and aclose is not None:
            # A closed client took its pool (and the stream's connection) with it.
            with contextlib.suppress(exceptions.ConnectionError):
                loop.call(aclose)


def _one_item(iterator: AsyncIterator[Any]) -> Callable[[], Awaitable[tuple[list[Any], bool]]]:
    async def anext_batch() -> tuple[list[Any], bool]:
        return [await iterator.__anext__()], True

    return anext_batch
