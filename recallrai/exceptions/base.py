"""Compatibility: the official package's ``recallrai.exceptions.base`` path; the classes live in :mod:`recallrai.exceptions`."""

from recallrai.exceptions import (
    RecallrAIError,
)

__all__ = ["RecallrAIError"]
