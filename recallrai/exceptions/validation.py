"""Compatibility: the official package's ``recallrai.exceptions.validation`` path; the classes live in :mod:`recallrai.exceptions`."""

from recallrai.exceptions import (
    ValidationError,
)

__all__ = ["ValidationError"]
