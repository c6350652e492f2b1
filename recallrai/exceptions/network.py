"""Compatibility: the official package's ``recallrai.exceptions.network`` path; the classes live in :mod:`recallrai.exceptions`."""

from recallrai.exceptions import (
    ConnectionError,  # noqa: A004 - the protocol's name for it
    NetworkError,
    RecallrAIError,
    TimeoutError,  # noqa: A004 - the protocol's name for it
)

__all__ = ["ConnectionError", "NetworkError", "RecallrAIError", "TimeoutError"]
