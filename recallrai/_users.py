"""Users: the wire record and the :class:`AsyncUser` resource (PROTOCOL.md §3.1, §5.1)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

import attrs

from ._context import SystemPromptCache
from ._converter import (
    format_datetime,
    require_identity,
    structure,
    structure_each,
    with_aliases,
)
from ._encoding import api_path
from ._errors import ErrorContext
from ._merge_conflicts import AsyncMergeConflict, conflict_from_wire
from ._models import Memory, MergeConflictStatus, SessionStatus, UserMessage, UserMessageList
from ._pagination import (
    MAX_MEMORY_PAGE_SIZE,
    MAX_PAGE_SIZE,
    AsyncPager,
    MemoryPage,
    MergeConflictPage,
    SessionPage,
    page_fields,
    paginate,
)
from ._pipeline import Pipeline
from ._raw import WithRawResponse
from ._sessions import (
    MIN_AUTO_PROCESS_SECONDS,
    AsyncSession,
    SessionRecord,
    require_created_at,
    session_from_wire,
)
from ._validation import (
    require_bool,
    require_enum,
    require_id,
    require_int,
    require_json_object,
    require_page,
)
from .exceptions import MalformedResponseError, NotLoadedError, ValidationError

__all__ = ["AsyncUser", "UserRecord", "listed_users", "user_from_wire"]


def _id_list(values: Sequence[str] | None, name: str) -> list[str]:
    """A list filter of non-empty strings (a bare string is refused, not split into letters)."""
    if values is None:
        return []
    if isinstance(values, str) or not isinstance(values, Sequence):
        raise ValidationError(f"{name} must be a list of strings")
    return [require_id(value, name) for value in values]


@attrs.define  # also ``models.UserModel``; neither frozen nor keyword-only: both slow down reading users
class UserRecord:
    """A user's fields as the server last reported them (nullable fields may be absent)."""

    custom_user_id: str = attrs.field(alias="user_id")  # ``UserRecord(user_id=...)``
    metadata: dict[str, Any]
    created_at: datetime
    last_active_at: datetime
    merge_conflict_enabled: bool | None = None

    @property
    def user_id(self) -> str:
        """The user's ID (``custom_user_id`` on the wire)."""
        return self.custom_user_id


_USER_ALIASES = {"custom_user_id": "user_id"}


def user_from_wire(data: Any, expected_id: str | None = None) -> UserRecord:
    """Read a user from an answer, wrapped (``{"user": ...}``) or bare; it must be
    ``expected_id`` when given."""
    if isinstance(data, dict) and isinstance(data.get("user"), dict):
        data = data["user"]
    record = structure(with_aliases(data, _USER_ALIASES), UserRecord, "user")
    require_identity(record.custom_user_id, expected_id, "user")
    return record


def listed_users(
    pipeline: Pipeline, prompts: SystemPromptCache, items: list[Any]
) -> list[AsyncUser]:
    """The users of a page. Each keeps its answer and reads it when a field is first used,
    so that a page costs little more than its JSON; an item without a plain ID is read
    (or refused) at once."""
    users = []
    for item in items:
        if type(item) is dict and type(user_id := item.get("custom_user_id")) is str:
            users.append(AsyncUser(pipeline, prompts, user_id, None, item))
        else:  # another spelling, a wrapped item, or a malformed one
            record = user_from_wire(item)
            users.append(AsyncUser(pipeline, prompts, record.custom_user_id, record))
    return users


class AsyncUser:
    """A RecallrAI user, bound to the client that fetched it.

    A reference from ``get_user(..., validate=False)`` knows only its ID until
    ``refresh()``: reading another field raises
    :class:`~recallrai.exceptions.NotLoadedError` (``is_loaded`` tells).
    A listed user reads its other fields from the page's answer when one is first
    used; a malformed one raises :class:`~recallrai.exceptions.MalformedResponseError` then.
    """

    __slots__ = ("_pipeline", "_prompts", "_record", "_user_id", "_wire")

    def __init__(
        self,
        pipeline: Pipeline,
        prompts: SystemPromptCache,
        user_id: str,
        record: UserRecord | None = None,
        wire: dict[str, Any] | None = None,
    ) -> None:
        self._pipeline = pipeline
        self._prompts = prompts
        self._user_id = user_id
        self._record = record
        self._wire = wire  # a listed user's answer, until its fields are first read

    @property
    def user_id(self) -> str:
        """The caller-chosen ID (``custom_user_id`` on the wire)."""
        return self._user_id

    @property
    def with_raw_response(self) -> WithRawResponse[AsyncUser]:
        """This user's methods, each returning an ``APIResponse`` (status, headers, ``parse()``)."""
        return WithRawResponse(self)

    @property
    def is_loaded(self) -> bool:
        """Whether the fields are known: ``False`` for a ``validate=False`` reference until ``refresh()``."""
        return self._record is not None or self._wire is not None

    def _known(self) -> UserRecord | None:
        """The fields, read from a listed answer on first use; None for a reference."""
        wire = self._wire
        if wire is not None:  # another thread may read it too: the same record results
            record = user_from_wire(wire)  # its ID is the one this user was listed with
            if self._wire is wire:  # not replaced meanwhile by refresh() or update()
                self._record = record
                self._wire = None
        return self._record

    def _loaded(self) -> UserRecord:
        record = self._known()
        if record is None:
            raise NotLoadedError(
                f"User {self._user_id!r} was referenced with validate=False: "
                "call refresh() before reading its fields"
            )
        return record

    @property
    def metadata(self) -> dict[str, Any]:
        """Free-form metadata."""
        return self._loaded().metadata

    @property
    def merge_conflict_enabled(self) -> bool | None:
        """Per-user override: ``True``/``False``, or ``None`` to inherit the project setting."""
        return self._loaded().merge_conflict_enabled

    @property
    def created_at(self) -> datetime:
        """When the user was created (UTC)."""
        return self._loaded().created_at

    @property
    def last_active_at(self) -> datetime:
        """When the user was last active (UTC)."""
        return self._loaded().last_active_at

    def _adopt(self, record: UserRecord) -> None:
        self._wire = None
        self._record = record
        self._user_id = record.custom_user_id

    def _context(self) -> ErrorContext:
        return ErrorContext("user", self._user_id)

    async def refresh(
        self,
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> None:
        """Reload every field from the server."""
        call = self._pipeline.per_call(timeout, max_retries, extra_headers)
        data = await call.request("GET", api_path("users", self._user_id), context=self._context())
        self._adopt(user_from_wire(data, self._user_id))

    async def update(
        self,
        new_metadata: Mapping[str, Any] | None = None,
        new_user_id: str | None = None,
        merge_conflict_enabled: bool | None = None,
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> None:
        """Replace metadata, rename, or set the merge-conflict override; this object follows the change.

        Arguments left as ``None`` are not changed.
        """
        renamed = None if new_user_id is None else require_id(new_user_id, "new_user_id")
        body = {
            "new_metadata": None
            if new_metadata is None
            else require_json_object(new_metadata, "new_metadata"),
            "new_custom_user_id": renamed,
            "merge_conflict_enabled": require_bool(
                merge_conflict_enabled, "merge_conflict_enabled"
            ),
        }
        context = ErrorContext("user", self._user_id, user_exists_on_409=True)
        call = self._pipeline.per_call(timeout, max_retries, extra_headers)
        data = await call.request(
            "PUT", api_path("users", self._user_id), body=body, context=context
        )
        self._adopt(user_from_wire(data, renamed or self._user_id))

    async def delete(
        self,
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> None:
        """Delete the user with all their sessions, memories and merge conflicts."""
        call = self._pipeline.per_call(timeout, max_retries, extra_headers)
        await call.request(
            "DELETE", api_path("users", self._user_id), expect=204, context=self._context()
        )

    # ------------------------------------------------------------------ sessions

    async def create_session(
        self,
        auto_process_after_seconds: int = 600,
        metadata: Mapping[str, Any] | None = None,
        custom_created_at_utc: datetime | None = None,
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> AsyncSession:
        """Open a session; the service processes it by itself after that many idle seconds (>= 600).

        ``custom_created_at_utc`` (an aware UTC datetime) backdates the session, for imports.
        """
        body = {
            "auto_process_after_seconds": require_int(
                auto_process_after_seconds, "auto_process_after_seconds", MIN_AUTO_PROCESS_SECONDS
            ),
            "metadata": {} if metadata is None else require_json_object(metadata, "metadata"),
            "custom_created_at_utc": None
            if custom_created_at_utc is None
            else require_created_at(custom_created_at_utc),
        }
        call = self._pipeline.per_call(timeout, max_retries, extra_headers)
        data = await call.request(
            "POST",
            api_path("users", self._user_id, "sessions"),
            body=body,
            expect=201,
            context=self._context(),
        )
        record = session_from_wire(data)
        return AsyncSession(self._pipeline, self._prompts, self, record.session_id, record)

    async def get_session(
        self,
        session_id: str,
        *,
        validate: bool = True,
        timeout: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> AsyncSession:
        """Fetch a session; with ``validate=False`` return a reference without a request."""
        session = AsyncSession(
            self._pipeline, self._prompts, self, require_id(session_id, "session_id")
        )
        if validate:
            await session.refresh(
                timeout=timeout, max_retries=max_retries, extra_headers=extra_headers
            )
        else:  # nothing is sent, but bad options still raise
            self._pipeline.per_call(timeout, max_retries, extra_headers)
        return session

    def list_sessions(
        self,
        offset: int = 0,
        limit: int = 10,
        metadata_filter: Mapping[str, Any] | None = None,
        status_filter: Sequence[SessionStatus | str] | None = None,
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> AsyncPager[SessionPage[AsyncSession], AsyncSession]:
        """The user's sessions, newest first, optionally filtered by metadata and status.

        ``await`` the result for one page, or ``async for`` over it for every
        session across all pages (``limit`` is then the page size).
        """
        offset, limit = require_page(offset, limit, MAX_PAGE_SIZE)
        filter_ = (
            None
            if metadata_filter is None
            else require_json_object(metadata_filter, "metadata_filter")
        )
        if isinstance(status_filter, str):
            raise ValidationError("status_filter must be a list of statuses, not a string")
        statuses = [
            require_enum(status, SessionStatus, "status_filter") for status in (status_filter or ())
        ]
        path, context = api_path("users", self._user_id, "sessions"), self._context()
        call = self._pipeline.per_call(timeout, max_retries, extra_headers)

        async def fetch(start: int) -> tuple[list[AsyncSession], int, bool]:
            params = (
                ("offset", start),
                ("limit", limit),
                ("metadata_filter", filter_),
                ("status_filter", statuses),
            )
            data = await call.request("GET", path, params=params, context=context)
            items, total, has_more = page_fields(data, "sessions")
            records = structure_each(items, SessionRecord, session_from_wire)
            sessions = [
                AsyncSession(self._pipeline, self._prompts, self, r.session_id, r) for r in records
            ]
            return sessions, total, has_more

        return paginate(SessionPage, offset, limit, fetch)

    async def get_last_n_messages(
        self,
        n: int,
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> UserMessageList:
        """The user's ``n`` (1-100) most recent messages across all sessions, oldest first.

        The result is a list, and also has ``.messages`` (the same list).
        """
        limit = require_int(n, "n", 1, 100)
        call = self._pipeline.per_call(timeout, max_retries, extra_headers)
        data = await call.request(
            "GET",
            api_path("users", self._user_id, "messages"),
            params=(("limit", limit),),
            context=self._context(),
        )
        messages = data.get("messages") if isinstance(data, dict) else None
        return UserMessageList(structure(messages, list[UserMessage], "messages"))

    # ------------------------------------------------------------------ memories

    def list_memories(
        self,
        offset: int = 0,
        limit: int = 20,
        categories: Sequence[str] | None = None,
        session_id_filter: Sequence[str] | None = None,
        session_metadata_filter: Mapping[str, Any] | None = None,
        include_previous_versions: bool = True,
        include_connected_memories: bool = True,
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> AsyncPager[MemoryPage[Memory], Memory]:
        """The user's memories, newest first; filters combine with AND.

        ``await`` the result for one page, or ``async for`` over it for every
        memory across all pages (``limit``, 1-200, is then the page size).
        """
        offset, limit = require_page(offset, limit, MAX_MEMORY_PAGE_SIZE)
        category_list = _id_list(categories, "categories")
        session_ids = _id_list(session_id_filter, "session_id_filter")
        filter_ = (
            None
            if session_metadata_filter is None
            else require_json_object(session_metadata_filter, "session_metadata_filter")
        )
        previous = bool(require_bool(include_previous_versions, "include_previous_versions"))
        connected = bool(require_bool(include_connected_memories, "include_connected_memories"))
        path = api_path("users", self._user_id, "memories")
        context = ErrorContext("user", self._user_id, "categories")
        call = self._pipeline.per_call(timeout, max_retries, extra_headers)

        async def fetch(start: int) -> tuple[list[Memory], int, bool]:
            params = (
                ("offset", start),
                ("limit", limit),
                ("include_previous_versions", previous),
                ("include_connected_memories", connected),
                ("categories", category_list),
                ("session_id_filter", session_ids),
                ("session_metadata_filter", filter_),
            )
            data = await call.request("GET", path, params=params, context=context)
            items, total, has_more = page_fields(data, "items")
            return structure(items, list[Memory], "memories"), total, has_more

        return paginate(MemoryPage, offset, limit, fetch)

    async def get_memory(
        self,
        memory_id: str,
        include_previous_versions: bool = True,
        include_connected_memories: bool = True,
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> Memory:
        """One memory, with its version history and connected memories unless switched off."""
        params = (
            (
                "include_previous_versions",
                bool(require_bool(include_previous_versions, "include_previous_versions")),
            ),
            (
                "include_connected_memories",
                bool(require_bool(include_connected_memories, "include_connected_memories")),
            ),
        )
        path = api_path("users", self._user_id, "memory", require_id(memory_id, "memory_id"))
        call = self._pipeline.per_call(timeout, max_retries, extra_headers)
        data = await call.request(
            "GET",
            path,
            params=params,
            context=ErrorContext("memory", self._user_id),
        )
        memory = structure(data, Memory, "memory")
        require_identity(memory.memory_id, memory_id, "memory")
        return memory

    async def delete_memory(
        self,
        memory_id: str,
        delete_previous_versions: bool = False,
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> None:
        """Delete one version of a memory, or with ``delete_previous_versions`` it and all before it."""
        flag = bool(require_bool(delete_previous_versions, "delete_previous_versions"))
        path = api_path("users", self._user_id, "memory", require_id(memory_id, "memory_id"))
        call = self._pipeline.per_call(timeout, max_retries, extra_headers)
        await call.request(
            "DELETE",
            path,
            params=(("delete_previous_versions", flag),),
            expect=204,
            context=ErrorContext("memory", self._user_id),
        )

    # ------------------------------------------------------------------ merge conflicts

    def list_merge_conflicts(
        self,
        offset: int = 0,
        limit: int = 10,
        status: MergeConflictStatus | str | None = None,
        sort_by: Literal["created_at", "resolved_at"] = "created_at",
        sort_order: Literal["asc", "desc"] = "desc",
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> AsyncPager[MergeConflictPage[AsyncMergeConflict], AsyncMergeConflict]:
        """The user's merge conflicts, optionally of one status, sorted as asked.

        ``await`` the result for one page, or ``async for`` over it for every
        conflict across all pages (``limit`` is then the page size).
        """
        offset, limit = require_page(offset, limit, MAX_PAGE_SIZE)
        wanted = None if status is None else require_enum(status, MergeConflictStatus, "status")
        if sort_by not in ("created_at", "resolved_at"):
            raise ValidationError(f"sort_by must be 'created_at' or 'resolved_at', got {sort_by!r}")
        if sort_order not in ("asc", "desc"):
            raise ValidationError(f"sort_order must be 'asc' or 'desc', got {sort_order!r}")
        path, context = api_path("users", self._user_id, "merge-conflicts"), self._context()
        call = self._pipeline.per_call(timeout, max_retries, extra_headers)

        async def fetch(start: int) -> tuple[list[AsyncMergeConflict], int, bool]:
            params = (
                ("offset", start),
                ("limit", limit),
                ("sort_by", sort_by),
                ("sort_order", sort_order),
                ("status", wanted),
            )
            data = await call.request("GET", path, params=params, context=context)
            items, total, has_more = page_fields(data, "conflicts")
            records = [conflict_from_wire(item) for item in items]
            return [AsyncMergeConflict(self._pipeline, self, r) for r in records], total, has_more

        return paginate(MergeConflictPage, offset, limit, fetch)

    async def get_merge_conflict(
        self,
        conflict_id: str,
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> AsyncMergeConflict:
        """One merge conflict."""
        path = api_path(
            "users", self._user_id, "merge-conflicts", require_id(conflict_id, "conflict_id")
        )
        call = self._pipeline.per_call(timeout, max_retries, extra_headers)
        data = await call.request(
            "GET",
            path,
            context=ErrorContext("conflict", self._user_id),
        )
        return AsyncMergeConflict(self._pipeline, self, conflict_from_wire(data, conflict_id))

    def to_dict(self) -> dict[str, Any]:
        """The user as plain JSON-ready data (datetimes as ISO 8601 text)."""
        record = self._known()
        if record is None:
            return {"user_id": self._user_id}
        return {
            "user_id": record.custom_user_id,
            "metadata": record.metadata,
            "merge_conflict_enabled": record.merge_conflict_enabled,
            "created_at": format_datetime(record.created_at),
            "last_active_at": format_datetime(record.last_active_at),
        }

    def __repr__(self) -> str:
        try:
            record = self._known()
        except MalformedResponseError:
            return f"{type(self).__name__}(user_id={self._user_id!r}, <malformed>)"
        if record is None:
            return f"{type(self).__name__}(user_id={self._user_id!r}, <not loaded>)"
        return (
            f"{type(self).__name__}(user_id={self._user_id!r}, metadata={record.metadata!r}, "
            f"merge_conflict_enabled={record.merge_conflict_enabled!r}, "
            f"created_at={record.created_at!r}, last_active_at={record.last_active_at!r})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AsyncUser):
            return NotImplemented
        return self._user_id == other._user_id and self._known() == other._known()

    __hash__ = None  # type: ignore[assignment]
