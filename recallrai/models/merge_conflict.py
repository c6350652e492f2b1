"""Compatibility: the official package's ``recallrai.models.merge_conflict`` names, as aliases of this SDK's classes."""

from __future__ import annotations

from recallrai._merge_conflicts import MergeConflictRecord as MergeConflictModel
from recallrai._models import ClarifyingQuestion as MergeConflictQuestion
from recallrai._models import ConflictingMemory as MergeConflictConflictingMemory
from recallrai._models import MergeConflictAnswer, MergeConflictStatus
from recallrai._models import NewMemory as MergeConflictNewMemory
from recallrai._pagination import MergeConflictPage as MergeConflictList

__all__ = [
    "MergeConflictAnswer",
    "MergeConflictConflictingMemory",
    "MergeConflictList",
    "MergeConflictModel",
    "MergeConflictNewMemory",
    "MergeConflictQuestion",
    "MergeConflictStatus",
]
