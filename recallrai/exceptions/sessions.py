"""Compatibility: the official package's ``recallrai.exceptions.sessions`` path; the classes live in :mod:`recallrai.exceptions`."""

from recallrai.exceptions import (
    InvalidSessionStateError,
    SessionError,
    SessionNotFoundError,
)

__all__ = ["InvalidSessionStateError", "SessionError", "SessionNotFoundError"]
