"""One deadline for a block of awaits: what bounds an attempt, or the wait for a stream event.

Per-read timeouts do not bound a server that trickles a byte at a time; a deadline does.
Leaving the block late raises the built-in :class:`TimeoutError`.

Every request has one, so it must be cheap. ``asyncio.timeout()`` (or an HTTP library's
own total timeout) schedules and cancels a timer handle per block, which costs about a
tenth of a pooled request's client CPU. Here the deadlines of an event loop share one
timer instead: each block joins a queue of the blocks with the same timeout, which
therefore expire in the order they started, and the loop's single timer handle fires
at the earliest deadline, cancels the blocks that are due and sets itself for the next.
"""

from __future__ import annotations

import sys
from contextlib import AbstractContextManager

__all__ = ["deadline"]

if sys.version_info >= (3, 11):
    import asyncio
    import weakref
    from collections import OrderedDict
    from types import TracebackType

    class _Watch:
        """The deadlines of one event loop, under one timer handle."""

        __slots__ = ("__weakref__", "_handle", "_handle_when", "_loop", "_queues")

        def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
            self._loop = loop
            # Blocks by timeout, oldest first: same timeout, so also earliest deadline first.
            self._queues: dict[float, OrderedDict[_Deadline, None]] = {}
            self._handle: asyncio.TimerHandle | None = None
            self._handle_when = float("inf")

        def join(self, block: _Deadline) -> None:
            queue = self._queues.get(block.seconds)
            if queue is None:
                queue = self._queues[block.seconds] = OrderedDict()
            queue[block] = None
            if block.when < self._handle_when:
                self._set_timer(block.when)

        def leave(self, block: _Deadline) -> None:
            del self._queues[block.seconds][block]

        def _set_timer(self, when: float) -> None:
            if self._handle is not None:
                self._handle.cancel()
            self._handle = self._loop.call_at(when, self._expire)
            self._handle_when = when

        def _expire(self) -> None:
            self._handle, self._handle_when = None, float("inf")
            now = self._loop.time()
            earliest = float("inf")
            for seconds, queue in list(self._queues.items()):
                while queue:
                    block = next(iter(queue))
                    if block.when > now:
                        earliest = min(earliest, block.when)
                        break
                    del queue[block]
                    block.expire()
                if not queue:
                    del self._queues[seconds]
            if earliest < float("inf"):
                self._set_timer(earliest)

    _watches: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Watch] = (
        weakref.WeakKeyDictionary()
    )
    _last: tuple[asyncio.AbstractEventLoop | None, _Watch | None] = (None, None)

    def _watch_of(loop: asyncio.AbstractEventLoop) -> _Watch:
        global _last
        last_loop, watch = _last
        if last_loop is not loop or watch is None:
            watch = _watches.get(loop)
            if watch is None:
                watch = _watches[loop] = _Watch(loop)
            _last = (loop, watch)
        return watch

    class _Deadline(AbstractContextManager["_Deadline"]):
        """Cancel the current task if the block is still running ``seconds`` after it began;
        the block then raises :class:`TimeoutError` (as ``asyncio.timeout`` does)."""

        __slots__ = ("_cancelling", "_expired", "_task", "_watch", "seconds", "when")

        def __init__(self, seconds: float) -> None:
            self.seconds = seconds

        def __enter__(self) -> _Deadline:
            task = asyncio.current_task()
            if task is None:
                raise RuntimeError("deadline() must be used inside a task")
            loop = task.get_loop()
            self._task = task
            self._cancelling = task.cancelling()
            self._expired = False
            self.when = loop.time() + self.seconds
            self._watch = _watch_of(loop)
            self._watch.join(self)
            return self

        def expire(self) -> None:
            self._expired = True
            self._task.cancel()

        def __exit__(
            self,
            exc_type: type[BaseException] | None,
            exc: BaseException | None,
            tb: TracebackType | None,
        ) -> None:
            if not self._expired:
                self._watch.leave(self)
                return
            # Expired: this block cancelled its task. A cancellation of ours becomes a
            # TimeoutError; one also requested from elsewhere stays a cancellation.
            if self._task.uncancel() <= self._cancelling and exc_type is asyncio.CancelledError:
                raise TimeoutError from exc

    def deadline(seconds: float) -> AbstractContextManager[object]:
        """Cancel the block after ``seconds``; it then raises :class:`TimeoutError`."""
        return _Deadline(seconds)

else:  # pragma: no cover - Python 3.10, where tasks cannot tell whose cancellation it is

    def deadline(seconds: float) -> AbstractContextManager[object]:
        """Cancel the block after ``seconds``; it then raises :class:`TimeoutError`."""
        import anyio  # on first use: importing the client stays free of it

        return anyio.fail_after(seconds)
