"""Compatibility: the official package's ``recallrai.exceptions.server`` path; the classes live in :mod:`recallrai.exceptions`."""

from recallrai.exceptions import (
    InternalServerError,
    RateLimitError,
    RecallrAIError,
    ServerError,
)

__all__ = ["InternalServerError", "RateLimitError", "RecallrAIError", "ServerError"]
