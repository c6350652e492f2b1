"""Compatibility: the official package's ``recallrai.async_merge_conflict`` path for :class:`recallrai.AsyncMergeConflict`."""

from __future__ import annotations

from recallrai._merge_conflicts import AsyncMergeConflict

__all__ = [
    "AsyncMergeConflict",
]
