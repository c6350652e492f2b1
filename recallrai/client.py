"""Compatibility: the official package's ``recallrai.client`` path for :class:`recallrai_sync.RecallrAI`.

The other names are the ones that module also offered, for code that imports them from here.
"""

from __future__ import annotations

from recallrai.exceptions import (
    RecallrAIError,
    UserAlreadyExistsError,
    UserNotFoundError,
)
from recallrai.models import (
    UserList,
    UserModel,
)
from recallrai_sync import (
    RecallrAI,
    User,
)

__all__ = [
    "RecallrAI",
    "RecallrAIError",
    "User",
    "UserAlreadyExistsError",
    "UserList",
    "UserModel",
    "UserNotFoundError",
]
