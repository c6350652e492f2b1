"""Compatibility: the official package's ``recallrai.user`` path for :class:`recallrai_sync.User`."""

from __future__ import annotations

from recallrai_sync import User

__all__ = [
    "User",
]
