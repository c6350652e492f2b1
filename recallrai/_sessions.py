"""Sessions: the wire record and the :class:`AsyncSession` resource (PROTOCOL.md §3.2, §5.2, §5.3)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import attrs

from ._context import ContextStream, SystemPromptCache, context_query, parse_context
from ._converter import format_datetime, require_identity, structure
from ._encoding import api_path
from ._errors import ErrorContext
from ._models import Context, Message, MessageRole, RecallStrategy, SessionStatus
from ._pagination import MAX_MESSAGE_PAGE_SIZE, AsyncPager, MessagePage, page_fields, paginate
from ._pipeline import Pipeline
from ._raw import WithRawResponse
from ._transport import StreamResponse
from ._validation import require_enum, require_json_object, require_page, require_text
from .exceptions import NotLoadedError, ValidationError

if TYPE_CHECKING:
    from ._users import AsyncUser

__all__ = ["AsyncSession", "SessionRecord", "session_from_wire"]

MIN_AUTO_PROCESS_SECONDS = 600


@attrs.define(kw_only=True)  # keyword-only, as the official model; not frozen: 3x cheaper
class SessionRecord:
    """A session's fields as the server last reported them (nullable fields may be absent)."""

    session_id: str
    status: SessionStatus
    created_at: datetime
    metadata: dict[str, Any] = attrs.Factory(dict)  # absent reads as {}, as the official client
    user_id: str | None = None
    processed_at: datetime | None = None
    auto_process_after_seconds: int | None = None


def session_from_wire(data: Any, expected_id: str | None = None) -> SessionRecord:
    """Read a session from an answer, wrapped (``{"session": ...}``) or bare; it must be
    ``expected_id`` when given."""
    if isinstance(data, dict) and isinstance(data.get("session"), dict):
        data = data["session"]
    record = structure(data, SessionRecord, "session")
    require_identity(record.session_id, expected_id, "session")
    return record


def require_created_at(value: object) -> str:
    """ISO 8601 text of an aware datetime whose UTC offset is zero (§1.6, §7)."""
    if not isinstance(value, datetime):
        raise ValidationError(
            f"custom_created_at_utc must be a datetime, not {type(value).__name__}"
        )
    offset = value.utcoffset()
    if offset is None or offset != timedelta(0):
        raise ValidationError("custom_created_at_utc must be timezone-aware and in UTC")
    return format_datetime(value)


class AsyncSession:
    """A conversation of a user: messages go in, memories and context come out.

    A reference from ``get_session(..., validate=False)`` knows only its ID until
    ``refresh()``: reading another field raises
    :class:`~recallrai.exceptions.NotLoadedError` (``is_loaded`` tells).
    """

    __slots__ = ("_pipeline", "_prompts", "_record", "_session_id", "_user")

    def __init__(
        self,
        pipeline: Pipeline,
        prompts: SystemPromptCache,
        user: AsyncUser,
        session_id: str,
        record: SessionRecord | None = None,
    ) -> None:
        self._pipeline = pipeline
        self._prompts = prompts
        self._user = user
        self._session_id = session_id
        self._record = record

    @property
    def session_id(self) -> str:
        """The server-assigned session ID."""
        return self._session_id

    @property
    def user_id(self) -> str:
        """The ID of the user the session belongs to (follows a rename of that user object)."""
        return self._user.user_id

    @property
    def with_raw_response(self) -> WithRawResponse[AsyncSession]:
        """This session's methods, each returning an ``APIResponse`` (status, headers, ``parse()``)."""
        return WithRawResponse(self)

    @property
    def is_loaded(self) -> bool:
        """Whether the fields are known: ``False`` for a ``validate=False`` reference until ``refresh()``."""
        return self._record is not None

    def _loaded(self) -> SessionRecord:
        if self._record is None:
            raise NotLoadedError(
                f"Session {self._session_id!r} was referenced with validate=False: "
                "call refresh() before reading its fields"
            )
        return self._record

    @property
    def status(self) -> SessionStatus:
        """Where the session is in its lifecycle, as of the last fetch."""
        return self._loaded().status

    @property
    def created_at(self) -> datetime:
        """When the session was created (UTC)."""
        return self._loaded().created_at

    @property
    def metadata(self) -> dict[str, Any]:
        """Free-form session metadata."""
        return self._loaded().metadata

    @property
    def processed_at(self) -> datetime | None:
        """When the session was processed into memories (UTC), if it was and the server said."""
        return self._loaded().processed_at

    @property
    def auto_process_after_seconds(self) -> int | None:
        """Idle seconds after which the service processes the session; ``None`` if off or unsaid."""
        return self._loaded().auto_process_after_seconds

    def _path(self, *tail: str) -> str:
        return api_path("users", self._user.user_id, "sessions", self._session_id, *tail)

    def _context(self, bad_request: Any = None) -> ErrorContext:
        return ErrorContext("session", self._user.user_id, bad_request)

    def _adopt(self, record: SessionRecord) -> None:
        self._record = record
        self._session_id = record.session_id

    async def refresh(
        self,
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> None:
        """Reload the session's fields (status included) from the server."""
        call = self._pipeline.per_call(timeout, max_retries, extra_headers)
        data = await call.request("GET", self._path(), context=self._context())
        self._adopt(session_from_wire(data, self._session_id))

    async def update(
        self,
        new_metadata: Mapping[str, Any] | None = None,
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> None:
        """Replace the session's metadata (``None`` leaves it as it is)."""
        body = {
            "new_metadata": None
            if new_metadata is None
            else require_json_object(new_metadata, "new_metadata")
        }
        call = self._pipeline.per_call(timeout, max_retries, extra_headers)
        data = await call.request("PUT", self._path(), body=body, context=self._context())
        self._adopt(session_from_wire(data, self._session_id))

    async def delete(
        self,
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> None:
        """Delete the session with its messages and every memory and conflict derived from it."""
        call = self._pipeline.per_call(timeout, max_retries, extra_headers)
        await call.request("DELETE", self._path(), expect=204, context=self._context())

    async def add_message(
        self,
        role: MessageRole | str,
        content: str,
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> None:
        """Add a message; only a ``pending`` session accepts messages."""
        body = {
            "message": require_text(content, "content"),
            "role": require_enum(role, MessageRole, "role"),
        }
        call = self._pipeline.per_call(timeout, max_retries, extra_headers)
        await call.request(
            "POST",
            self._path("add-message"),
            body=body,
            context=self._context("session_state"),
        )

    async def process(
        self,
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> None:
        """Ask the service to turn the session into memories now (it then stops taking messages)."""
        call = self._pipeline.per_call(timeout, max_retries, extra_headers)
        await call.request("POST", self._path("process"), context=self._context("session_state"))
        if self._record is not None:
            self._record = attrs.evolve(self._record, status=SessionStatus.PROCESSING)

    def get_messages(
        self,
        offset: int = 0,
        limit: int = 50,
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> AsyncPager[MessagePage[Message], Message]:
        """The session's messages, oldest first.

        ``await`` the result for one page, or ``async for`` over it for every
        message across all pages (``limit``, 1-500, is then the page size).
        """
        offset, limit = require_page(offset, limit, MAX_MESSAGE_PAGE_SIZE)
        path, context = self._path("messages"), self._context()
        call = self._pipeline.per_call(timeout, max_retries, extra_headers)

        async def fetch(start: int) -> tuple[list[Message], int, bool]:
            data = await call.request(
                "GET", path, params=(("offset", start), ("limit", limit)), context=context
            )
            items, total, has_more = page_fields(data, "messages")
            return structure(items, list[Message], "messages"), total, has_more

        return paginate(MessagePage, offset, limit, fetch)

    async def get_context(
        self,
        recall_strategy: RecallStrategy | str = RecallStrategy.BALANCED,
        min_top_k: int = 15,
        max_top_k: int = 50,
        memories_threshold: float = 0.6,
        summaries_threshold: float = 0.5,
        last_n_messages: int | None = None,
        last_n_summaries: int | None = None,
        timezone: str | None = None,
        include_system_prompt: bool = True,
        include_metadata_ids: bool = False,
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> Context:
        """The context to give the assistant before it answers.

        ``min_top_k``/``max_top_k`` (5-50 / 10-100) bound the memories recalled,
        the thresholds (0.2-0.8) are similarity cut-offs, ``last_n_messages``
        (1-100) and ``last_n_summaries`` (1-20) add recent conversation,
        ``timezone`` (IANA name) renders dates, ``include_system_prompt`` prepends
        the service's system prompt, ``include_metadata_ids`` reports the
        contributing memory and session IDs. ``timeout``, ``max_retries`` and
        ``extra_headers`` apply to this call (not to the client's cached system-prompt fetch).
        """
        query = context_query(
            recall_strategy,
            min_top_k,
            max_top_k,
            memories_threshold,
            summaries_threshold,
            last_n_messages,
            last_n_summaries,
            timezone,
            include_system_prompt,
            include_metadata_ids,
        )
        call = self._pipeline.per_call(timeout, max_retries, extra_headers)
        prompts = (
            await self._prompts.for_request(query.recall_strategy)
            if query.include_system_prompt
            else {}
        )
        data = await call.request(
            "GET",
            self._path("context"),
            params=query.encoded(stream=False),
            context=self._context(),
        )
        return query.with_prompt(parse_context(data), prompts)

    def get_context_stream(
        self,
        recall_strategy: RecallStrategy | str = RecallStrategy.BALANCED,
        min_top_k: int = 15,
        max_top_k: int = 50,
        memories_threshold: float = 0.6,
        summaries_threshold: float = 0.5,
        last_n_messages: int | None = None,
        last_n_summaries: int | None = None,
        timezone: str | None = None,
        include_system_prompt: bool = True,
        include_metadata_ids: bool = False,
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> ContextStream:
        """Like :meth:`get_context`, streamed: progress events, then the final context.

        Iterate it with ``async for``; each event arrives as soon as the server
        sends it. Breaking out of the loop drops the connection at once.
        ``timeout`` also bounds the wait for each event.
        """
        query = context_query(
            recall_strategy,
            min_top_k,
            max_top_k,
            memories_threshold,
            summaries_threshold,
            last_n_messages,
            last_n_summaries,
            timezone,
            include_system_prompt,
            include_metadata_ids,
        )
        path, context = self._path("context"), self._context()
        call = self._pipeline.per_call(timeout, max_retries, extra_headers)

        async def open_stream() -> tuple[StreamResponse, dict[RecallStrategy, str]]:
            prompts = (
                await self._prompts.for_request(query.recall_strategy)
                if query.include_system_prompt
                else {}
            )
            response = await call.open_stream(
                path, params=query.encoded(stream=True), context=context
            )
            return response, prompts

        return ContextStream(
            open_stream,
            query,
            f"GET {path} (stream)",
            timeout=call.timeout,
            max_line_bytes=call.max_response_bytes,
        )

    def to_dict(self) -> dict[str, Any]:
        """The session as plain JSON-ready data."""
        record = self._record
        if record is None:
            return {"session_id": self._session_id, "user_id": self.user_id}
        return {
            "session_id": record.session_id,
            "user_id": self.user_id,
            "status": record.status.value,
            "created_at": format_datetime(record.created_at),
            "metadata": record.metadata,
            "processed_at": None
            if record.processed_at is None
            else format_datetime(record.processed_at),
            "auto_process_after_seconds": record.auto_process_after_seconds,
        }

    def __repr__(self) -> str:
        head = f"{type(self).__name__}(session_id={self._session_id!r}, user_id={self.user_id!r}"
        record = self._record
        if record is None:
            return f"{head}, <not loaded>)"
        return f"{head}, status={record.status.value!r}, metadata={record.metadata!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AsyncSession):
            return NotImplemented
        return (self.user_id, self._session_id, self._record) == (
            other.user_id,
            other._session_id,
            other._record,
        )

    __hash__ = None  # type: ignore[assignment]
