"""recallrai: the async-first Python SDK of the RecallrAI memory API.

``AsyncRecallrAI`` is the asyncio client; ``RecallrAI`` (from :mod:`recallrai_sync`)
is its blocking twin, importable from here too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import exceptions
from ._client import DEFAULT_BASE_URL, AsyncRecallrAI
from ._context import ContextStream
from ._hooks import EventHooks, RequestEvent, ResponseEvent, configure_logging_from_env
from ._merge_conflicts import AsyncMergeConflict
from ._models import (
    ClarifyingQuestion,
    ConflictingMemory,
    ConnectedMemory,
    Context,
    ContextMetadata,
    DateRangeFilter,
    DateRangeFilterType,
    Memory,
    MemoryVersion,
    MergeConflictAnswer,
    MergeConflictStatus,
    Message,
    MessageRole,
    NewMemory,
    RecallStrategy,
    SessionStatus,
    UserMessage,
    UserMessageList,
)
from ._pagination import (
    AsyncPager,
    MemoryPage,
    MergeConflictPage,
    MessagePage,
    Page,
    SessionPage,
    UserPage,
)
from ._raw import APIResponse, WithRawResponse
from ._sentinel import NOT_LOADED, NotLoaded
from ._sessions import AsyncSession
from ._transport import AiohttpTransport, HttpxTransport, Transport
from ._users import AsyncUser
from ._version import __version__

if TYPE_CHECKING:
    from recallrai_sync import MergeConflict, RecallrAI, Session, User

__all__ = [
    "DEFAULT_BASE_URL",
    "NOT_LOADED",
    "APIResponse",
    "AiohttpTransport",
    "AsyncMergeConflict",
    "AsyncPager",
    "AsyncRecallrAI",
    "AsyncSession",
    "AsyncUser",
    "ClarifyingQuestion",
    "ConflictingMemory",
    "ConnectedMemory",
    "Context",
    "ContextMetadata",
    "ContextStream",
    "DateRangeFilter",
    "DateRangeFilterType",
    "EventHooks",
    "HttpxTransport",
    "Memory",
    "MemoryPage",
    "MemoryVersion",
    "MergeConflict",
    "MergeConflictAnswer",
    "MergeConflictPage",
    "MergeConflictStatus",
    "Message",
    "MessagePage",
    "MessageRole",
    "NewMemory",
    "NotLoaded",
    "Page",
    "RecallStrategy",
    "RecallrAI",
    "RequestEvent",
    "ResponseEvent",
    "Session",
    "SessionPage",
    "SessionStatus",
    "Transport",
    "User",
    "UserMessage",
    "UserMessageList",
    "UserPage",
    "WithRawResponse",
    "__version__",
    "exceptions",
]

configure_logging_from_env()  # RECALLRAI_LOG=info|debug

_SYNC_NAMES = {"MergeConflict", "RecallrAI", "Session", "User"}
# The official package's submodules, which its ``import recallrai`` loads: here, on first use.
_COMPAT_MODULES = {
    "async_client",
    "async_merge_conflict",
    "async_session",
    "async_user",
    "client",
    "merge_conflict",
    "models",
    "session",
    "user",
}


def __getattr__(name: str) -> Any:
    # The blocking facade imports this package, so it is loaded on first use, not here.
    if name in _SYNC_NAMES:
        import recallrai_sync

        return getattr(recallrai_sync, name)
    if name in _COMPAT_MODULES:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
