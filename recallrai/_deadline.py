"""One deadline for a block of awaits: what bounds an attempt, or the wait for a stream event.

Per-read timeouts do not bound a server that trickles a byte at a time; a deadline does.
Leaving the block late raises the built-in :class:`TimeoutError`.
"""

from __future__ import annotations

import sys
from contextlib import AbstractAsyncContextManager
from types import TracebackType

__all__ = ["deadline"]

if sys.version_info >= (3, 11):
    import asyncio

    def deadline(seconds: float) -> AbstractAsyncContextManager[object]:
        """Cancel the block after ``seconds``; it then raises :class:`TimeoutError`."""
        return asyncio.timeout(seconds)

else:  # pragma: no cover - Python 3.10, where asyncio has no timeout()

    class _Deadline(AbstractAsyncContextManager[object]):
        def __init__(self, seconds: float) -> None:
            import anyio  # on first use: importing the client stays free of it

            self._scope = anyio.fail_after(seconds)

        async def __aenter__(self) -> object:
            return self._scope.__enter__()

        async def __aexit__(
            self,
            exc_type: type[BaseException] | None,
            exc: BaseException | None,
            tb: TracebackType | None,
        ) -> bool | None:
            return self._scope.__exit__(exc_type, exc, tb)

    def deadline(seconds: float) -> AbstractAsyncContextManager[object]:
        """Cancel the block after ``seconds``; it then raises :class:`TimeoutError`."""
        return _Deadline(seconds)
