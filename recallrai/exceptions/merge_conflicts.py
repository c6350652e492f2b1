"""Compatibility: the official package's ``recallrai.exceptions.merge_conflicts`` path; the classes live in :mod:`recallrai.exceptions`."""

from recallrai.exceptions import (
    MergeConflictAlreadyResolvedError,
    MergeConflictError,
    MergeConflictInvalidAnswerError,
    MergeConflictInvalidQuestionsError,
    MergeConflictMissingAnswersError,
    MergeConflictNotFoundError,
    RecallrAIError,
)

__all__ = [
    "MergeConflictAlreadyResolvedError",
    "MergeConflictError",
    "MergeConflictInvalidAnswerError",
    "MergeConflictInvalidQuestionsError",
    "MergeConflictMissingAnswersError",
    "MergeConflictNotFoundError",
    "RecallrAIError",
]
