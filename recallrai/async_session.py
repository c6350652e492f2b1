"""Compatibility: the official package's ``recallrai.async_session`` path for :class:`recallrai.AsyncSession`.

The other names are the ones that module also offered, for code that imports them from here.
"""

from __future__ import annotations

from recallrai._sessions import (
    AsyncSession,
)
from recallrai.exceptions import (
    InvalidSessionStateError,
    RecallrAIError,
    SessionNotFoundError,
    UserNotFoundError,
)
from recallrai.models import (
    ContextResponse,
    MessageRole,
    RecallStrategy,
    SessionMessagesList,
    SessionModel,
    SessionStatus,
)

__all__ = [
    "AsyncSession",
    "ContextResponse",
    "InvalidSessionStateError",
    "MessageRole",
    "RecallStrategy",
    "RecallrAIError",
    "SessionMessagesList",
    "SessionModel",
    "SessionNotFoundError",
    "SessionStatus",
    "UserNotFoundError",
]
