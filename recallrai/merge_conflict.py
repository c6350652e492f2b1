"""Compatibility: the official package's ``recallrai.merge_conflict`` path for :class:`recallrai_sync.MergeConflict`."""

from __future__ import annotations

from recallrai_sync import MergeConflict

__all__ = [
    "MergeConflict",
]
