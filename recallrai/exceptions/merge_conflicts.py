"""Compatibility: the official package's ``recallrai.exceptions.merge_conflicts`` path; the classes live in :mod:`recallrai.exceptions`."""

from recallrai.exceptions import (
    MergeConflictAlreadyResolvedError,
    MergeConflictError,
    MergeConflictInvalidAnswerError,
    MergeConflictInvalidQuestionsError,
    MergeConflictMissingAnswersError,
    MergeConflictNotFoundError,
)

__all__ = [
    "MergeConflictAlreadyResolvedError",
    "MergeConflictError",
    "MergeConflictInvalidAnswerError",
    "MergeConflictInvalidQuestionsError",
    "MergeConflictMissingAnswersError",
    "MergeConflictNotFoundError",
]
