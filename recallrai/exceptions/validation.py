"""Compatibility: the official package's ``recallrai.exceptions.validation`` path; the classes live in :mod:`recallrai.exceptions`."""

from recallrai.exceptions import (
    RecallrAIError,
    ValidationError,
)

__all__ = ["RecallrAIError", "ValidationError"]
