"""Compatibility: the official package's ``recallrai.async_session`` path for :class:`recallrai.AsyncSession`."""

from __future__ import annotations

from recallrai._sessions import AsyncSession

__all__ = [
    "AsyncSession",
]
