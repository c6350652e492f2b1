"""Compatibility: the official package's ``recallrai.session`` path for :class:`recallrai_sync.Session`."""

from __future__ import annotations

from recallrai_sync import Session

__all__ = [
    "Session",
]
