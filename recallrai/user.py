"""Compatibility: the official package's ``recallrai.user`` path for :class:`recallrai_sync.User`.

The other names are the ones that module also offered, for code that imports them from here.
"""

from __future__ import annotations

from recallrai.exceptions import (
    InvalidCategoriesError,
    MergeConflictNotFoundError,
    RecallrAIError,
    SessionNotFoundError,
    UserAlreadyExistsError,
    UserNotFoundError,
)
from recallrai.models import (
    MergeConflictList,
    MergeConflictModel,
    MergeConflictStatus,
    SessionList,
    SessionModel,
    SessionStatus,
    UserMemoriesList,
    UserMemoryItem,
    UserMessagesList,
    UserModel,
)
from recallrai_sync import (
    MergeConflict,
    Session,
    User,
)

__all__ = [
    "InvalidCategoriesError",
    "MergeConflict",
    "MergeConflictList",
    "MergeConflictModel",
    "MergeConflictNotFoundError",
    "MergeConflictStatus",
    "RecallrAIError",
    "Session",
    "SessionList",
    "SessionModel",
    "SessionNotFoundError",
    "SessionStatus",
    "User",
    "UserAlreadyExistsError",
    "UserMemoriesList",
    "UserMemoryItem",
    "UserMessagesList",
    "UserModel",
    "UserNotFoundError",
]
