"""recallrai: the async-first Python SDK of the RecallrAI memory API.

``AsyncRecallrAI`` is the asyncio client; ``RecallrAI`` (from :mod:`recallrai_sync`)
is its blocking twin, importable from here too.

Names are loaded on first use (PEP 562): ``import recallrai`` costs almost nothing,
and ``from recallrai import AsyncRecallrAI`` loads only what the client needs.
"""

from __future__ import annotations

import importlib
import os

from ._version import __version__

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (about 10 ms)
if TYPE_CHECKING:
    from typing import Any

    from recallrai_sync import MergeConflict, RecallrAI, Session, User

    from . import exceptions
    from ._client import DEFAULT_BASE_URL, AsyncRecallrAI
    from ._context import ContextStream
    from ._hooks import EventHooks, RequestEvent, ResponseEvent
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

# Where each public name lives; loaded by __getattr__ on first use, then cached here.
_HOMES = {
    "DEFAULT_BASE_URL": "_client",
    "AsyncRecallrAI": "_client",
    "ContextStream": "_context",
    "EventHooks": "_hooks",
    "RequestEvent": "_hooks",
    "ResponseEvent": "_hooks",
    "AsyncMergeConflict": "_merge_conflicts",
    **dict.fromkeys(
        [
            "ClarifyingQuestion",
            "ConflictingMemory",
            "ConnectedMemory",
            "Context",
            "ContextMetadata",
            "DateRangeFilter",
            "DateRangeFilterType",
            "Memory",
            "MemoryVersion",
            "MergeConflictAnswer",
            "MergeConflictStatus",
            "Message",
            "MessageRole",
            "NewMemory",
            "RecallStrategy",
            "SessionStatus",
            "UserMessage",
            "UserMessageList",
        ],
        "_models",
    ),
    **dict.fromkeys(
        [
            "AsyncPager",
            "MemoryPage",
            "MergeConflictPage",
            "MessagePage",
            "Page",
            "SessionPage",
            "UserPage",
        ],
        "_pagination",
    ),
    "APIResponse": "_raw",
    "WithRawResponse": "_raw",
    "NOT_LOADED": "_sentinel",
    "NotLoaded": "_sentinel",
    "AsyncSession": "_sessions",
    "AiohttpTransport": "_transport",
    "HttpxTransport": "_transport",
    "Transport": "_transport",
    "AsyncUser": "_users",
}
# The blocking facade imports this package, so it is loaded on first use too.
_SYNC_NAMES = {"MergeConflict", "RecallrAI", "Session", "User"}
# The official package's submodules, which its ``import recallrai`` loads: here, on first use.
_SUBMODULES = {
    "exceptions",
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
    home = _HOMES.get(name)
    if home is not None:
        value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    elif name in _SYNC_NAMES:
        value = getattr(importlib.import_module("recallrai_sync"), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f"{__name__}.{name}")
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__, *_SUBMODULES})


if os.environ.get("RECALLRAI_LOG"):  # RECALLRAI_LOG=info|debug: log without code
    from ._hooks import configure_logging_from_env

    configure_logging_from_env()
