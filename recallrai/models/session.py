"""Compatibility: the official package's ``recallrai.models.session`` names, as aliases of this SDK's classes."""

from __future__ import annotations

from recallrai._models import Context as ContextResponse
from recallrai._models import (
    ContextMetadata,
    DateRangeFilterType,
    Message,
    MessageRole,
    RecallStrategy,
    SessionStatus,
)
from recallrai._models import DateRangeFilter as QueryDateRangeFilter
from recallrai._pagination import MessagePage as SessionMessagesList
from recallrai._pagination import SessionPage as SessionList
from recallrai._sessions import SessionRecord as SessionModel

__all__ = [
    "ContextMetadata",
    "ContextResponse",
    "DateRangeFilterType",
    "Message",
    "MessageRole",
    "QueryDateRangeFilter",
    "RecallStrategy",
    "SessionList",
    "SessionMessagesList",
    "SessionModel",
    "SessionStatus",
]
