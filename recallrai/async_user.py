"""Compatibility: the official package's ``recallrai.async_user`` path for :class:`recallrai.AsyncUser`."""

from __future__ import annotations

from recallrai._users import AsyncUser

__all__ = [
    "AsyncUser",
]
