"""Compatibility: the official package's ``recallrai.async_merge_conflict`` path for :class:`recallrai.AsyncMergeConflict`.

The other names are the ones that module also offered, for code that imports them from here.
"""

from __future__ import annotations

from recallrai._merge_conflicts import (
    AsyncMergeConflict,
)
from recallrai.exceptions import (
    MergeConflictAlreadyResolvedError,
    MergeConflictInvalidAnswerError,
    MergeConflictInvalidQuestionsError,
    MergeConflictMissingAnswersError,
    MergeConflictNotFoundError,
    RecallrAIError,
    UserNotFoundError,
)
from recallrai.models import (
    MergeConflictAnswer,
    MergeConflictModel,
    MergeConflictStatus,
)

__all__ = [
    "AsyncMergeConflict",
    "MergeConflictAlreadyResolvedError",
    "MergeConflictAnswer",
    "MergeConflictInvalidAnswerError",
    "MergeConflictInvalidQuestionsError",
    "MergeConflictMissingAnswersError",
    "MergeConflictModel",
    "MergeConflictNotFoundError",
    "MergeConflictStatus",
    "RecallrAIError",
    "UserNotFoundError",
]
