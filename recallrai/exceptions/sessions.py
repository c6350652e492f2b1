"""Compatibility: the official package's ``recallrai.exceptions.sessions`` path; the classes live in :mod:`recallrai.exceptions`."""

from recallrai.exceptions import (
    InvalidSessionStateError,
    RecallrAIError,
    SessionError,
    SessionNotFoundError,
)

__all__ = ["InvalidSessionStateError", "RecallrAIError", "SessionError", "SessionNotFoundError"]
