"""Compatibility: the official package's ``recallrai.exceptions.users`` path; the classes live in :mod:`recallrai.exceptions`."""

from recallrai.exceptions import (
    InvalidCategoriesError,
    RecallrAIError,
    UserAlreadyExistsError,
    UserError,
    UserNotFoundError,
)

__all__ = [
    "InvalidCategoriesError",
    "RecallrAIError",
    "UserAlreadyExistsError",
    "UserError",
    "UserNotFoundError",
]
