"""Compatibility: the official package's ``recallrai.async_user`` path for :class:`recallrai.AsyncUser`.

The other names are the ones that module also offered, for code that imports them from here.
"""

from __future__ import annotations

from recallrai._merge_conflicts import (
    AsyncMergeConflict,
)
from recallrai._sessions import (
    AsyncSession,
)
from recallrai._users import (
    AsyncUser,
)
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

__all__ = [
    "AsyncMergeConflict",
    "AsyncSession",
    "AsyncUser",
    "InvalidCategoriesError",
    "MergeConflictList",
    "MergeConflictModel",
    "MergeConflictNotFoundError",
    "MergeConflictStatus",
    "RecallrAIError",
    "SessionList",
    "SessionModel",
    "SessionNotFoundError",
    "SessionStatus",
    "UserAlreadyExistsError",
    "UserMemoriesList",
    "UserMemoryItem",
    "UserMessagesList",
    "UserModel",
    "UserNotFoundError",
]
