"""Compatibility: the official package's ``recallrai.exceptions.auth`` path; the classes live in :mod:`recallrai.exceptions`."""

from recallrai.exceptions import (
    AuthenticationError,
    RecallrAIError,
)

__all__ = ["AuthenticationError", "RecallrAIError"]
