"""Compatibility: the official package's ``recallrai.session`` path for :class:`recallrai_sync.Session`.

The other names are the ones that module also offered, for code that imports them from here.
"""

from __future__ import annotations

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
)
from recallrai_sync import (
    Session,
)

__all__ = [
    "ContextResponse",
    "InvalidSessionStateError",
    "MessageRole",
    "RecallStrategy",
    "RecallrAIError",
    "Session",
    "SessionMessagesList",
    "SessionModel",
    "SessionNotFoundError",
    "UserNotFoundError",
]
