"""Compatibility: the official package's ``recallrai.async_client`` path for :class:`recallrai.AsyncRecallrAI`.

The other names are the ones that module also offered, for code that imports them from here.
"""

from __future__ import annotations

from recallrai._client import (
    AsyncRecallrAI,
)
from recallrai._users import (
    AsyncUser,
)
from recallrai.exceptions import (
    RecallrAIError,
    UserAlreadyExistsError,
    UserNotFoundError,
)
from recallrai.models import (
    UserList,
    UserModel,
)

__all__ = [
    "AsyncRecallrAI",
    "AsyncUser",
    "RecallrAIError",
    "UserAlreadyExistsError",
    "UserList",
    "UserModel",
    "UserNotFoundError",
]
