"""Compatibility: the official package's ``recallrai.merge_conflict`` path for :class:`recallrai_sync.MergeConflict`.

The other names are the ones that module also offered, for code that imports them from here.
"""

from __future__ import annotations

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
from recallrai_sync import (
    MergeConflict,
)

__all__ = [
    "MergeConflict",
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
