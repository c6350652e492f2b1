"""Value models and enumerations of the wire protocol (PROTOCOL.md §3, §4).

Values are frozen, slotted attrs classes; the converter in ``_converter`` maps
wire JSON onto them. Enumerations are ``str`` enums, so ``SessionStatus.PENDING
== "pending"`` and callers may pass plain strings wherever an enum is expected.

Forward compatibility: a value the service sends that this SDK does
not know yet (a new role, status, strategy...) does not fail the answer. It is
kept as a *pseudo-member* of its enum (see :class:`_OpenEnum`) that carries the
raw value, compares equal to that string and round-trips through ``to_dict()``.
Unknown fields of an answer are ignored. Caller input stays strict:
``require_enum`` only accepts real members (``_validation``).
"""

from __future__ import annotations

import enum
import json
import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, TypeVar

import attrs

from ._converter import converter, format_datetime, structure_input

__all__ = [
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
]


_MAX_UNKNOWN_PER_ENUM = 256
"""Distinct unknown values cached per enum; past that each lookup makes a fresh pseudo-member
(still equal to its value), so a hostile server cannot grow the cache without bound."""

_unknown_members: dict[tuple[type[enum.Enum], str], Any] = {}
_unknown_counts: dict[type[enum.Enum], int] = {}
_unknown_lock = threading.Lock()


class _OpenEnum(str, enum.Enum):
    """A ``str`` enum that also holds values the SDK does not know yet.

    ``SessionStatus("archived")`` is not an error but a pseudo-member: an instance
    of ``SessionStatus`` whose ``value`` is ``"archived"`` and ``name`` is
    ``"ARCHIVED"``, equal to the string ``"archived"``, and the same object every
    time that value is looked up. It is not among the enum's members (iteration,
    ``len``, ``__members__`` only list the real ones). Non-string values still
    raise ``ValueError``.
    """

    @classmethod
    def _missing_(cls, value: object) -> Any:
        if type(value) is not str:
            return None
        key = (cls, value)
        member = _unknown_members.get(key)
        if member is not None:
            return member
        with _unknown_lock:
            member = _unknown_members.get(key)
            if member is not None:
                return member
            member = str.__new__(cls, value)
            member._name_ = value.upper()
            member._value_ = value
            count = _unknown_counts.get(cls, 0)
            if count < _MAX_UNKNOWN_PER_ENUM:
                _unknown_counts[cls] = count + 1
                _unknown_members[key] = member
            return member

    @property
    def is_known(self) -> bool:
        """Whether this is one of the enum's real members (not a value sent by a newer service)."""
        return type(self).__members__.get(self._name_) is self


class SessionStatus(_OpenEnum):
    """Lifecycle of a session: open, being processed into memories, done or failed."""

    PENDING = "pending"
    PROCESSING = "processing"
    PROCESSED = "processed"
    FAILED = "failed"
    INSUFFICIENT_BALANCE = "insufficient_balance"


class MessageRole(_OpenEnum):
    """Who said a message."""

    USER = "user"
    ASSISTANT = "assistant"


class RecallStrategy(_OpenEnum):
    """How the service recalls memories for a context request."""

    LOW_LATENCY = "low_latency"
    BALANCED = "balanced"
    AGENTIC = "agentic"
    AUTO = "auto"


class DateRangeFilterType(_OpenEnum):
    """Which date a context's date-range filter applied to."""

    EVENT_DATE = "event_date"
    CREATED_AT = "created_at"


class MergeConflictStatus(_OpenEnum):
    """Lifecycle of a merge conflict (upper case on the wire)."""

    PENDING = "PENDING"
    IN_QUEUE = "IN_QUEUE"
    RESOLVING = "RESOLVING"
    RESOLVED = "RESOLVED"
    FAILED = "FAILED"


def _structure_enum(value: Any, cls: type[enum.Enum]) -> enum.Enum:
    # Any string is accepted: an unknown one becomes a pseudo-member (``_OpenEnum``).
    if not isinstance(value, str):
        raise TypeError(f"expected a {cls.__name__} value, got {type(value).__name__}")
    return cls(value)


# Registered per class: the strict ``str`` hook would otherwise win for these ``str`` subclasses.
for _enum in (SessionStatus, MessageRole, RecallStrategy, DateRangeFilterType, MergeConflictStatus):
    converter.register_structure_hook(_enum, _structure_enum)


V = TypeVar("V", bound="_Value")


class _Value:
    """Mixin: ``to_dict()``/``to_json()`` as plain JSON-ready data with the SDK's field
    names, and ``from_dict()``, their inverse."""

    __slots__ = ()

    def to_dict(self) -> dict[str, Any]:
        """This value as plain data (datetimes as ISO 8601 text, enums as their values)."""
        return {
            field.name: _plain(getattr(self, field.name))
            for field in attrs.fields(type(self))  # type: ignore[arg-type]
        }

    def to_json(self) -> str:
        """``to_dict()`` as compact JSON text (UTF-8 characters kept as they are)."""
        return json.dumps(self.to_dict(), separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_dict(cls: type[V], data: Mapping[str, Any]) -> V:
        """The value ``to_dict()`` produced ``data`` from: ``X.from_dict(x.to_dict()) == x``.

        Read with the same rules as the service's answers (unknown keys ignored,
        unknown enum values kept, datetimes in ISO 8601). As ``data`` comes from
        the caller, a dict that does not describe a ``cls`` raises
        :class:`~recallrai.exceptions.ValidationError` (not ``MalformedResponseError``).
        """
        return structure_input(data, cls, cls.__name__)


def _plain(value: Any) -> Any:
    if isinstance(value, _Value):
        return value.to_dict()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


@attrs.frozen
class Message(_Value):
    """A message of a session."""

    role: MessageRole
    content: str
    timestamp: datetime


@attrs.frozen
class UserMessage(_Value):
    """A message of a user, with the session it belongs to (``get_last_n_messages``)."""

    role: MessageRole
    content: str
    timestamp: datetime
    session_id: str


class UserMessageList(list[UserMessage]):
    """What ``get_last_n_messages`` returns: a plain list of messages, which is also its own
    ``.messages`` (the official client's spelling)."""

    __slots__ = ()

    def __init__(self, messages: Iterable[UserMessage] = ()) -> None:
        super().__init__(messages)

    @property
    def messages(self) -> list[UserMessage]:
        """These messages (the list itself)."""
        return self


@attrs.frozen
class DateRangeFilter(_Value):
    """A date range the service applied while recalling memories."""

    filter_type: DateRangeFilterType
    start_date: datetime
    end_date: datetime


@attrs.frozen
class ContextMetadata(_Value):
    """How a context was assembled; ID lists only when ``include_metadata_ids=True``."""

    recall_strategy_used: RecallStrategy
    memory_ids: list[str] | None = None
    session_ids: list[str] | None = None
    agent_reasoning: str | None = None
    vector_search_queries: list[str] | None = None
    keywords: list[str] | None = None
    session_summaries_search_queries: list[str] | None = None
    date_range_filters: list[DateRangeFilter] | None = None


@attrs.frozen
class Context(_Value):
    """A context answer, or one event of a context stream."""

    context: str | None = None
    is_final: bool = False
    status_update_message: str | None = None
    error_message: str | None = None
    metadata: ContextMetadata | None = None


def _structure_context_metadata(data: Any, _: type[Any]) -> ContextMetadata | None:
    # null, absent and {} all mean "no metadata" (PROTOCOL.md §3.8); an empty filter list is null.
    if not data:
        return None
    metadata = _structure_metadata_fields(data, ContextMetadata)
    if metadata.date_range_filters == []:
        metadata = attrs.evolve(metadata, date_range_filters=None)
    return metadata


_structure_metadata_fields: Callable[[Any, Any], ContextMetadata] = converter.get_structure_hook(
    ContextMetadata
)
converter.register_structure_hook(ContextMetadata | None, _structure_context_metadata)


# --------------------------------------------------------------------------- memories


@attrs.frozen(kw_only=True)
class MemoryVersion(_Value):
    """An earlier, expired version of a memory."""

    memory_id: str
    version_number: int
    content: str
    event_date_start: datetime
    event_date_end: datetime
    created_at: datetime
    expired_at: datetime
    expiration_reason: str
    merge_conflict_id: str | None = None


@attrs.frozen(kw_only=True)
class ConnectedMemory(_Value):
    """A memory related to another one (for instance from the same session)."""

    memory_id: str
    content: str


@attrs.frozen(kw_only=True)
class Memory(_Value):
    """A fact the service remembers about a user, at its latest version."""

    memory_id: str
    categories: list[str]
    content: str
    event_date_start: datetime
    event_date_end: datetime
    created_at: datetime
    version_number: int
    total_versions: int
    has_previous_versions: bool
    session_id: str
    merge_conflict_in_progress: bool
    previous_versions: list[MemoryVersion] | None = None
    connected_memories: list[ConnectedMemory] | None = None
    merge_conflict_id: str | None = None
    expired_at: datetime | None = None
    expiration_reason: str | None = None


# --------------------------------------------------------------------------- merge conflicts


@attrs.frozen(kw_only=True)
class ConflictingMemory(_Value):
    """An existing memory that a new fact contradicts, and why."""

    memory_id: str
    content: str
    reason: str
    event_date_start: datetime
    event_date_end: datetime
    created_at: datetime


@attrs.frozen(kw_only=True)
class NewMemory(_Value):
    """A memory created by resolving a conflict."""

    memory_id: str
    content: str
    event_date_start: datetime
    event_date_end: datetime
    created_at: datetime


@attrs.frozen
class ClarifyingQuestion(_Value):
    """A question the user must answer to resolve a conflict, with its allowed answers."""

    question: str
    options: list[str]


@attrs.frozen
class MergeConflictAnswer(_Value):
    """An answer to a clarifying question: one of its ``options``, with an optional note."""

    question: str
    answer: str
    message: str | None = None
