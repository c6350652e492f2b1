"""Compatibility: every name of the official package's ``recallrai.models``, as aliases of this
SDK's classes (nothing in the SDK imports this package).

``UNAVAILABLE`` is :data:`recallrai.NOT_LOADED`, the value of a field not fetched yet.
"""

from __future__ import annotations

from recallrai._sentinel import NOT_LOADED as UNAVAILABLE
from recallrai.models.merge_conflict import (
    MergeConflictAnswer,
    MergeConflictConflictingMemory,
    MergeConflictList,
    MergeConflictModel,
    MergeConflictNewMemory,
    MergeConflictQuestion,
    MergeConflictStatus,
)
from recallrai.models.session import (
    ContextMetadata,
    ContextResponse,
    DateRangeFilterType,
    Message,
    MessageRole,
    QueryDateRangeFilter,
    RecallStrategy,
    SessionList,
    SessionMessagesList,
    SessionModel,
    SessionStatus,
)
from recallrai.models.user import (
    MemoryRelationship,
    MemoryVersionInfo,
    UserList,
    UserMemoriesList,
    UserMemoryItem,
    UserMessage,
    UserMessagesList,
    UserModel,
)

__all__ = [
    "UNAVAILABLE",
    "ContextMetadata",
    "ContextResponse",
    "DateRangeFilterType",
    "MemoryRelationship",
    "MemoryVersionInfo",
    "MergeConflictAnswer",
    "MergeConflictConflictingMemory",
    "MergeConflictList",
    "MergeConflictModel",
    "MergeConflictNewMemory",
    "MergeConflictQuestion",
    "MergeConflictStatus",
    "Message",
    "MessageRole",
    "QueryDateRangeFilter",
    "RecallStrategy",
    "SessionList",
    "SessionMessagesList",
    "SessionModel",
    "SessionStatus",
    "UserList",
    "UserMemoriesList",
    "UserMemoryItem",
    "UserMessage",
    "UserMessagesList",
    "UserModel",
]
