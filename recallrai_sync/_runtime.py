"""What the generated blocking classes run on: one event-loop thread per client.

Each :class:`LoopThread` starts, on its first call, a daemon thread running an
asyncio loop with an anyio :class:`~anyio.from_thread.BlockingPortal`. Blocking
calls hand their coroutine to that loop and wait for the result, so they work
from plain scripts, from many threads at once, and from code that already runs
an event loop (the caller's loop is merely blocked, never re-entered).

Closing (``close()``, garbage collection of the client, interpreter exit)
cancels the calls in flight, closes the async client and stops the thread:
every caller still waiting, and every later call, gets
``ConnectionError("The client is closed")``.

Forking (gunicorn ``--preload``, Celery prefork, ``multiprocessing`` with
"fork") copies a client but not its thread. The child leaves its copies of the
parent's loop and connection pool alone: closing them, or letting them be
freed, would close sockets the parent still uses. Its first call starts a new
thread and a new pool, as a new client would.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import contextvars
import functools
import os
import socket
import sys
import threading
import weakref
from asyncio import Task
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Generator, Iterator
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, cast

from recallrai import exceptions
from recallrai._context import ContextStream as AsyncContextStream
from recallrai._models import Context
from recallrai._pagination import Page, PageSource
from recallrai._raw import APIResponse
from recallrai._raw import WithRawResponse as AsyncWithRawResponse

__all__ = ["ContextStream", "LoopThread", "WithRawResponse", "iterate", "register", "wrap"]

T = TypeVar("T")

if TYPE_CHECKING:
    from anyio.from_thread import BlockingPortal

Ready = concurrent.futures.Future[tuple["BlockingPortal", asyncio.AbstractEventLoop, socket.socket]]


class _Closable(Protocol):
    def aclose(self) -> Awaitable[None]: ...


_EAGER: dict[str, Any] = {"eager_start": True} if sys.version_info >= (3, 12) else {}
"""Where asyncio can, a call's first step runs as it is handed over, not one loop turn later."""


def _new_task(coroutine: Coroutine[Any, Any, None], loop: asyncio.AbstractEventLoop) -> Task[None]:
    return asyncio.Task(coroutine, loop=loop, **_EAGER)


_RETURNED = BaseException("returned")
"""The outcome of a call that returned a value."""


def _closed() -> exceptions.ConnectionError:
    return exceptions.ConnectionError("The client is closed")


# ----------------------------------------------------------------------------- fork

_forks = 0
"""How many forks this process is away from the one that imported this module."""
_start_lock = threading.Lock()
"""Guards starting and closing loop threads (rare, so one lock for all clients)."""
_started: weakref.WeakSet[LoopThread] = weakref.WeakSet()
"""Every loop thread started in this process or an ancestor, for the fork hook."""
_inherited: list[object] = []
"""What forked children keep of their ancestors' loops, pools and streams."""


def _leave_alone(thing: object) -> None:
    """Keep something a forked child copied from its parent alive and untouched until exit.

    Freeing it would run finalizers that close its sockets, which the parent
    still uses (closing the child's copy of a socket is harmless, but asyncio
    also unregisters it from the parent's epoll instance, and TLS sends a
    close_notify). Even interpreter shutdown would free a plain module-level
    list, so the list gets a reference that is never released.
    """
    if not _inherited:
        with contextlib.suppress(ImportError, AttributeError):  # no ctypes, or not CPython
            import ctypes

            ctypes.pythonapi.Py_IncRef(ctypes.py_object(_inherited))
    _inherited.append(thing)


def _after_fork_in_child() -> None:
    """Forget every loop thread and connection pool copied from the parent."""
    global _forks, _start_lock
    _forks += 1
    _start_lock = threading.Lock()  # its holder may be a thread the child does not have
    _forget_waiters()
    for loop_thread in list(_started):
        loop_thread._leave_parent()


if hasattr(os, "register_at_fork"):  # POSIX; elsewhere there is no fork
    os.register_at_fork(after_in_child=_after_fork_in_child)


# ----------------------------------------------------------------------------- waiting


if hasattr(os, "eventfd"):  # Linux

    class _Waiter:
        """Where a calling thread sleeps until its call ends: one eventfd per thread.

        The loop thread wakes it in a system call, during which it does not hold
        the GIL, so the caller can run at once. Releasing a ``threading.Lock``
        instead wakes the caller only to make it wait for the GIL that the loop
        thread still holds: two more context switches per call.
        """

        __slots__ = ("_fd",)

        def __init__(self) -> None:
            self._fd = os.eventfd(0, os.EFD_CLOEXEC)

        def wake(self) -> None:
            os.eventfd_write(self._fd, 1)

        def wait(self, call: _Call) -> None:
            while call.outcome is None:  # a wake-up may be stale: left by a call given up
                os.eventfd_read(self._fd)

        def __del__(self, _close: Callable[[int], None] = os.close) -> None:
            _close(self._fd)

    _waiters = threading.local()

    def _waiter() -> _Waiter:
        """The calling thread's waiter."""
        waiter: _Waiter | None = getattr(_waiters, "waiter", None)
        if waiter is None:
            waiter = _waiters.waiter = _Waiter()
        return waiter

    def _forget_waiters() -> None:
        """In a forked child: the parent's threads may be waiting on these very eventfds."""
        global _waiters
        _waiters = threading.local()

else:  # pragma: no cover - elsewhere, a lock per call

    class _Waiter:  # type: ignore[no-redef]
        """Where a calling thread sleeps until its call ends: a lock of its own."""

        __slots__ = ("_lock",)

        def __init__(self) -> None:
            self._lock = threading.Lock()
            self._lock.acquire()

        def wake(self) -> None:
            self._lock.release()

        def wait(self, call: _Call) -> None:
            self._lock.acquire()

    def _waiter() -> _Waiter:
        return _Waiter()

    def _forget_waiters() -> None:
        pass


# ----------------------------------------------------------------------------- the loop


class _Call:
    """One blocking call: run on the loop thread, waited for by its caller."""

    __slots__ = ("abandoned", "args", "context", "func", "outcome", "task", "value", "waiter")

    def __init__(
        self, func: Callable[..., Awaitable[Any]], args: tuple[Any, ...], waiter: _Waiter
    ) -> None:
        self.func = func
        self.args = args
        self.context = contextvars.copy_context()  # the caller's: its tracing span, for one
        self.waiter = waiter
        self.task: asyncio.Task[None] | None = None
        self.outcome: BaseException | None = None  # or _RETURNED, once ``value`` is set
        self.value: Any = None
        self.abandoned = False  # its caller stopped waiting

    def start(self, runner: _Runner) -> None:
        """On the loop: run the call as a task, unless the client is closing or the
        caller stopped waiting."""
        if runner.closed or self.abandoned:
            self.finish(_closed())
        else:
            self.task = self.context.run(_new_task, self._run(), runner.loop)

    async def _run(self) -> None:
        # The caller is woken here, as the call ends: not one loop iteration later, as a
        # done callback of the task would.
        try:
            self.value = await self.func(*self.args)
        except BaseException as error:
            # Only closing cancels a call whose caller still waits.
            self.finish(_closed() if isinstance(error, asyncio.CancelledError) else error)
            if not isinstance(error, Exception):
                raise
        else:
            self.finish(_RETURNED)

    def finish(self, outcome: BaseException) -> None:
        """Hand the outcome (``_RETURNED``, or an error) to the waiting caller."""
        self.outcome = outcome
        self.waiter.wake()

    def cancel(self) -> None:
        """On the loop: stop the work of a caller that stopped waiting."""
        if self.task is not None:
            self.task.cancel()


class _Runner:
    """A loop thread started by one process, and the calls waiting on it."""

    __slots__ = (
        "calls",
        "closed",
        "forks",
        "loop",
        "on_close",
        "pending",
        "portal",
        "streams",
        "thread",
        "wake",
    )

    def __init__(self, on_close: Callable[[], Awaitable[None]]) -> None:
        self.on_close = on_close
        self.forks = _forks
        self.closed = False
        self.calls: set[_Call] = set()
        self.pending: collections.deque[_Call] = collections.deque()
        self.streams: weakref.WeakSet[_Closable] = weakref.WeakSet()
        ready: Ready = concurrent.futures.Future()
        self.thread = threading.Thread(
            target=self._run, args=(ready,), name="recallrai-event-loop", daemon=True
        )
        self.thread.start()
        self.portal, self.loop, self.wake = ready.result()

    def _run(self, ready: Ready) -> None:
        import anyio  # with the first call's thread: importing the facade stays free of it
        from anyio.from_thread import BlockingPortal

        async def main() -> None:
            loop = asyncio.get_running_loop()
            # Callers hand calls over through ``pending`` and wake the loop with a byte on
            # this socket pair: cheaper than call_soon_threadsafe, whose handle, and whose
            # drain of the loop's own wake-up socket (it ends in an exception), cost more
            # than the hand-off itself.
            receiver, sender = socket.socketpair()
            receiver.setblocking(False)
            sender.setblocking(False)
            loop.add_reader(receiver.fileno(), self._start_pending, receiver)
            try:
                async with BlockingPortal() as portal:
                    ready.set_result((portal, loop, sender))
                    await portal.sleep_until_stopped()
            finally:
                loop.remove_reader(receiver.fileno())
                receiver.close()
                sender.close()

        try:
            anyio.run(main, backend="asyncio")
        except BaseException as error:  # pragma: no cover - only if the loop cannot start
            if not ready.done():
                ready.set_exception(error)
        finally:
            # The loop is closed now. A call handed over while it was shutting down was
            # never started; its caller would wait forever.
            self.closed = True
            for call in self.calls.copy():
                if call.outcome is None:
                    call.finish(_closed())

    def _start_pending(self, receiver: socket.socket) -> None:
        """On the loop, woken by callers: start the calls they handed over."""
        with contextlib.suppress(BlockingIOError):
            receiver.recv(4096)
        pending = self.pending
        while pending:
            pending.popleft().start(self)

    def call(self, func: Callable[..., Awaitable[T]], args: tuple[Any, ...]) -> T:
        """Run ``func(*args)`` on the loop and wait for its result (see :meth:`LoopThread.call`)."""
        call = _Call(func, args, _waiter())
        self.calls.add(call)
        try:
            if self.closed:
                raise _closed()
            self.pending.append(call)
            try:
                self.wake.send(b"\0")
            except BlockingIOError:  # full of wake-ups the loop has yet to read: it will
                pass
            except OSError:  # closed with the loop
                raise _closed() from None
            try:
                call.waiter.wait(call)
            except BaseException:  # e.g. KeyboardInterrupt while waiting: stop the work too
                with contextlib.suppress(RuntimeError):
                    call.abandoned = True  # if not started yet, it never will be
                    self.loop.call_soon_threadsafe(call.cancel)
                raise
        finally:
            self.calls.discard(call)
        if call.outcome is _RETURNED:
            return call.value  # type: ignore[no-any-return]
        raise cast(BaseException, call.outcome)

    def close(self) -> None:
        """Cancel the calls in flight, close the async client and stop the thread.

        Only the process that started the thread closes it: in a forked child,
        the parent's loop is left alone.
        """
        if self.forks != _forks:
            _leave_alone(self)
            return
        self.closed = True
        if threading.current_thread() is self.thread:  # from the loop, which cannot wait for itself
            threading.Thread(target=self.close, name="recallrai-close").start()
            return
        try:
            self.portal.call(self._shut_down)
        finally:
            self.thread.join()

    async def _shut_down(self) -> None:
        """On the loop: cancel the calls in flight, close the streams still open (their
        connections cannot be released once the loop is gone), close the async client,
        stop the loop."""
        try:
            tasks = [call.task for call in self.calls.copy() if call.task is not None]
            for task in tasks:
                task.cancel()
            if tasks:
                await asyncio.wait(tasks)
            for stream in list(self.streams):
                with contextlib.suppress(Exception):
                    await stream.aclose()
            await self.on_close()
        finally:
            await self.portal.stop()


class LoopThread:
    """The background event loop of one sync client and of every object it returns.

    Its thread starts on the first call, not before; a forked child starts its own.
    """

    __slots__ = ("__weakref__", "_closed", "_finalizer", "_on_close", "_on_fork", "_runner")

    def __init__(
        self,
        on_close: Callable[[], Awaitable[None]],
        on_fork: Callable[[], object] | None = None,
    ) -> None:
        """``on_close`` closes the async client, on the loop. ``on_fork`` makes it forget
        its connection pool without closing it, in a forked child, and returns what it
        dropped."""
        self._on_close = on_close
        self._on_fork = on_fork
        self._runner: _Runner | None = None
        self._finalizer: weakref.finalize[[], LoopThread] | None = None
        self._closed = False

    def call(self, func: Callable[..., Awaitable[T]], *args: Any) -> T:
        """Run ``func(*args)`` on the loop and wait for its result.

        The hot path of every blocking call: the call is queued and the loop
        woken by one byte on a socket pair; the task releases the caller's lock
        as its coroutine ends. No event-loop handle, no done callback, and
        none of the portal's two blocking round trips per call.
        """
        runner = self._runner
        if runner is None:
            runner = self._start()
        return runner.call(func, args)

    def _start(self) -> _Runner:
        with _start_lock:
            if self._closed:
                raise _closed()
            if self._runner is None:  # not started by another thread meanwhile
                _started.add(self)  # first: a fork from now on must find what follows
                runner = _Runner(self._on_close)
                self._finalizer = weakref.finalize(self, runner.close)
                self._runner = runner
            return self._runner

    def keep_open(self, stream: _Closable) -> None:
        """Note an open stream (an async iterator with ``aclose``) so that closing the client closes it."""
        if self._runner is not None:
            self._runner.streams.add(stream)

    def _leave_parent(self) -> None:
        """In a forked child: drop the parent's loop thread and pool without touching them."""
        if self._finalizer is not None:
            self._finalizer.detach()  # it would close the parent's loop at exit
            self._finalizer = None
        _leave_alone((self._runner, self._on_fork() if self._on_fork is not None else None))
        self._runner = None

    def close(self) -> None:
        """Close the async client and stop the thread; calls in flight get the closed error.

        Idempotent.
        """
        with _start_lock:
            self._closed = True
            finalizer = self._finalizer
        if finalizer is not None:
            finalizer()


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


def _same(item: T) -> T:
    return item


def wrap(loop: LoopThread, value: Any) -> Any:
    """The sync twin of an async core value (pages and lists included); other values as they are."""
    make_sync = _SYNC_CLASSES.get(type(value))
    if make_sync is not None:
        return make_sync(loop, value)
    if isinstance(value, Page):
        # A page's items are of one class: look its twin up once, not per item.
        make = _SYNC_CLASSES.get(type(value.items[0])) if value.items else None
        convert = functools.partial(make, loop) if make is not None else _same
        return value.map(convert, _BlockingSource(loop, value._source))
    if isinstance(value, list):
        return [wrap(loop, item) for item in value]
    return value


async def _await(awaitable: Awaitable[T]) -> T:
    return await awaitable


def resolve(loop: LoopThread, awaitable: Awaitable[Any]) -> Any:
    """Await ``awaitable`` on the loop and wrap its result."""
    return wrap(loop, loop.call(_await, awaitable))


def iterate(loop: LoopThread, iterator: AsyncIterator[Any]) -> Generator[Any, None, None]:
    """Drive an async iterator from the loop thread.

    Iterators with an ``_anext_batch`` method (``ContextStream``) hand over
    every item they already hold, and say whether more may follow, in one
    blocking step; others take one step per item. Leaving the ``for`` loop
    early (``break``, an exception, ``close()``) closes the async iterator on
    the loop, which releases its connection at once; so does closing the client.
    A forked child cannot go on with an iterator its parent started: its
    connection is the parent's.
    """
    anext_batch: Callable[[], Awaitable[tuple[list[Any], bool]]] = getattr(
        iterator, "_anext_batch", None
    ) or _one_item(iterator)
    aclose = getattr(iterator, "aclose", None)
    started_in = _forks
    exhausted = False
    try:
        while not exhausted:
            if _forks != started_in:
                raise exceptions.ConnectionError(
                    "This stream was started before the process forked; start a new one"
                )
            try:
                items, more = loop.call(anext_batch)
            except StopAsyncIteration:
                exhausted = True
                return
            exhausted = not more
            if not exhausted and aclose is not None:
                loop.keep_open(cast(_Closable, iterator))
            for item in items:
                yield wrap(loop, item)
    finally:
        if _forks != started_in:
            _leave_alone(iterator)
        elif not exhausted and aclose is not None:
            # A closed client took its pool (and the stream's connection) with it.
            with contextlib.suppress(exceptions.ConnectionError):
                loop.call(aclose)


def _one_item(iterator: AsyncIterator[Any]) -> Callable[[], Awaitable[tuple[list[Any], bool]]]:
    async def anext_batch() -> tuple[list[Any], bool]:
        return [await iterator.__anext__()], True

    return anext_batch


class ContextStream:
    """The events of a streamed context request, as they arrive: an iterator and a context manager.

    The request is sent when the first event is asked for. The final event is
    the last one yielded; a final event carrying ``error_message`` raises
    :class:`~recallrai.exceptions.StreamError`, as does a stream that ends
    without a final event. Leaving the ``for`` loop early, ``close()`` or
    leaving a ``with`` block drops the connection at once::

        with session.get_context_stream() as stream:
            for event in stream:
                ...  # progress events, then the final context

    To wait only for the final context, ``stream.get_final_context()``.
    """

    __slots__ = ("_async", "_events")

    def __init__(self, loop: LoopThread, stream: AsyncContextStream) -> None:
        self._async = stream
        self._events: Generator[Context, None, None] = iterate(loop, stream)

    def __iter__(self) -> Iterator[Context]:
        # The generator itself: a ``for`` loop pays nothing for this wrapper.
        return self._events

    def __next__(self) -> Context:
        return next(self._events)

    def get_final_context(self) -> Context:
        """Consume the rest of the stream and return its final context.

        It raises exactly what iterating would (``StreamError`` for a final
        event carrying an error or a stream that ends without one, timeouts,
        transport errors). Called after the stream was iterated to its end, it
        returns the final context again; after the stream was closed early, it
        raises ``StreamError``.
        """
        for _ in self._events:
            pass
        return self._async._final_context()

    def close(self) -> None:
        """Stop the stream and release its connection. Idempotent."""
        self._events.close()

    def __enter__(self) -> ContextStream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


register(AsyncContextStream, ContextStream)


class WithRawResponse(Generic[T]):
    """The methods of a blocking object, each returning an :class:`~recallrai.APIResponse`.

    ``parse()`` gives what the method itself returns (a ``User``, a page...).
    """

    __slots__ = ("_loop", "_view")

    def __init__(self, loop: LoopThread, view: AsyncWithRawResponse[Any]) -> None:
        self._loop = loop
        self._view = view

    def __getattr__(self, name: str) -> Callable[..., APIResponse[Any]]:
        method = getattr(self._view, name)

        def call(*args: Any, **kwargs: Any) -> APIResponse[Any]:
            response: APIResponse[Any] = self._loop.call(functools.partial(method, *args, **kwargs))
            return response._replace_parsed(wrap(self._loop, response.parse()))

        return call


register(AsyncWithRawResponse, WithRawResponse)
