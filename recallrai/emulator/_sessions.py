"""Sessions and messages (PROTOCOL.md §5.2, §12, §13): the handlers and the
session lifecycle.

Lifecycle. A session is created ``pending`` and accepts messages only then.
``process`` moves it to ``processing`` with a deadline of
``processing_delay`` seconds of emulator time; a pending session whose
``last_activity_at + auto_process_after_seconds`` has passed starts
processing by itself at that moment, with its deadline counted from then.
Nothing runs on a timer: before every request ``_background.advance`` calls
:func:`due_work`, which starts due auto-processing and hands back every
session whose deadline has passed, to be finished in deadline order. A
finished session is ``processed`` (``processed_at`` = when it finished) and
handed to ``_memories.process_session`` (which turns its user messages into
memories); should that raise, the session ends ``failed``.
``last_activity_at`` is the creation time or the time of the latest message.

Create-session defaults: a missing ``auto_process_after_seconds`` is 600,
an explicit ``null`` turns auto-processing off, integers below 600 are a
422; missing or null ``metadata`` is ``{}``, and
``custom_created_at_utc`` (ISO 8601 with a zero UTC offset, ``Z`` accepted)
only sets ``created_at``: the idle timer starts at the real creation.
Message timestamps are the emulator's time of arrival.

Checks run in FastAPI's order: body and query validation (422) first, then
the user (``User <id> not found``), then the session (``Session <id> not
found``), then the session's state (400 naming the status). The user's
``last_active_at`` is bumped by creating, updating, deleting, processing a
session and by adding a message. Adding a message answers ``{"detail":
"Message added successfully"}``, processing ``{"detail": "Session marked for
processing"}``.

Wire form: ``session_id``, ``user_id`` (the owner's ``custom_user_id``),
``status``, ``created_at``, ``processed_at`` (null until processed),
``auto_process_after_seconds`` (null: never) and ``metadata``.

Ordering: sessions newest first by creation (creation order breaks ties); a
session's messages oldest first; the last-N messages of a user are the N
most recent across sessions, returned oldest first.
"""

from __future__ import annotations

import functools
import logging
import uuid
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from aiohttp import web

from recallrai.emulator import _memories
from recallrai.emulator._http import (
    ApiError,
    RequestContext,
    Validator,
    clip_text,
    format_timestamp,
    json_response,
    no_content,
    object_field,
    page_response,
    parse_json_object_body,
)
from recallrai.emulator._sessions_store import (
    FAILED,
    INSUFFICIENT_BALANCE,
    PENDING,
    PROCESSED,
    PROCESSING,
    SESSION_STATUSES,
    MessageRecord,
    SessionRecord,
)
from recallrai.emulator._store import Due, metadata_matches

if TYPE_CHECKING:
    from recallrai.emulator._routing import Router
    from recallrai.emulator._store import ProjectStore, UserRecord

__all__ = ["due_work", "find_session", "message_json", "register", "session_json"]

logger = logging.getLogger("recallrai.emulator")

MIN_AUTO_PROCESS_SECONDS = 600
SESSIONS_LIST_MAX_LIMIT = 100
MESSAGES_LIST_MAX_LIMIT = 500
LAST_MESSAGES_MAX = 100
ROLES = ("user", "assistant")


def register(router: Router) -> None:
    """Add the sessions and messages routes to *router*."""
    sessions = "/api/v1/users/{user_id}/sessions"
    one = sessions + "/{session_id}"
    router.add("POST", sessions, create_session)
    router.add("GET", sessions, list_sessions)
    router.add("GET", one, get_session)
    router.add("PUT", one, update_session)
    router.add("DELETE", one, delete_session)
    router.add("POST", one + "/add-message", add_message)
    router.add("GET", one + "/messages", list_messages)
    router.add("POST", one + "/process", process_session)
    router.add("GET", "/api/v1/users/{user_id}/messages", last_messages)


# -- wire forms ---------------------------------------------------------------


def session_json(user: UserRecord, session: SessionRecord) -> dict[str, Any]:
    """The wire form of *user*'s *session* (bare; single-session answers wrap it)."""
    return {
        "session_id": session.session_id,
        "user_id": user.custom_user_id,
        "status": session.status,
        "created_at": format_timestamp(session.created_at),
        "processed_at": None
        if session.processed_at is None
        else format_timestamp(session.processed_at),
        "auto_process_after_seconds": session.auto_process_after_seconds,
        "metadata": session.metadata,
    }


def message_json(message: MessageRecord) -> dict[str, Any]:
    """The wire form of a session message."""
    return {
        "role": message.role,
        "content": message.content,
        "timestamp": format_timestamp(message.timestamp),
    }


# -- lifecycle ------------------------------------------------------------------


def _start_processing(project: ProjectStore, session: SessionRecord, at: datetime) -> None:
    session.status = PROCESSING
    delay = timedelta(seconds=project.session_control.processing_delay)
    session.processing_deadline = at + delay


def _finish(project: ProjectStore, user: UserRecord, session: SessionRecord, at: datetime) -> None:
    session.processing_deadline = None
    if project.session_control.balance_exhausted:
        session.status = INSUFFICIENT_BALANCE
        return
    session.status = PROCESSED
    try:
        _memories.process_session(project, user, session, at)
    except Exception:
        logger.exception("processing session %s failed", session.session_id)
        session.status = FAILED
        return
    session.processed_at = at


def due_work(project: ProjectStore, now: datetime, *, finish_all: bool = False) -> list[Due]:
    """Bring the sessions of *project* up to *now* and list the processing due to finish.

    Pending sessions idle for their ``auto_process_after_seconds`` start
    processing (as of the moment they became due); processing sessions whose
    deadline has passed (every processing session with *finish_all*) are
    returned for ``_background.advance`` to finish. Call with the store lock held.
    """
    due: list[Due] = []
    for user in project.users.values():
        for session in user.sessions.values():
            if session.status == PENDING:
                start = session.auto_process_due()
                if start is not None and start <= now:
                    _start_processing(project, session, start)
            if session.status == PROCESSING:
                deadline = session.processing_deadline or now
                if finish_all or deadline <= now:
                    finish = functools.partial(_finish, project, user, session)
                    due.append(Due(at=deadline, seq=session.seq, finish=finish))
    return due


def find_session(ctx: RequestContext) -> tuple[UserRecord, SessionRecord]:
    """The user and session named by the path (404 for either, user first)."""
    user = ctx.project.get_user(ctx.params["user_id"])
    session_id = ctx.params["session_id"]
    session = user.sessions.get(session_id)
    if session is None:
        raise ApiError(404, f"Session {clip_text(session_id)} not found")
    return user, session


# -- body fields ------------------------------------------------------------------


def _auto_process_field(validator: Validator, body: dict[str, Any]) -> int | None:
    """Seconds of inactivity before auto-processing: 600 when absent, ``None`` (never)
    for an explicit null."""
    key = "auto_process_after_seconds"
    if key not in body:
        return MIN_AUTO_PROCESS_SECONDS
    value = body[key]
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        validator.add(("body", key), "Input should be a valid integer", "int_type", value)
        return MIN_AUTO_PROCESS_SECONDS
    validator.within(("body", key), value, value, ge=MIN_AUTO_PROCESS_SECONDS)
    return value


def parse_utc_timestamp(text: str) -> datetime | None:
    """An ISO 8601 timestamp with a zero UTC offset (``Z`` or ``+00:00``), else ``None``."""
    if text[-1:] in ("Z", "z"):
        text = text[:-1] + "+00:00"
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    if value.utcoffset() != timedelta(0):
        return None
    return value.astimezone(timezone.utc)


def _created_at_field(validator: Validator, body: dict[str, Any]) -> datetime | None:
    key = "custom_created_at_utc"
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        validator.add(("body", key), "Input should be a valid string", "string_type", value)
        return None
    parsed = parse_utc_timestamp(value)
    if parsed is None:
        validator.add(
            ("body", key),
            "Input should be an ISO 8601 timestamp with a zero UTC offset",
            "datetime_parsing",
            value,
        )
    return parsed


# -- handlers ------------------------------------------------------------------------


def create_session(ctx: RequestContext) -> web.Response:
    body = parse_json_object_body(ctx.body)
    validator = Validator()
    auto_process = _auto_process_field(validator, body)
    metadata = object_field(validator, body, "metadata")
    created_at = _created_at_field(validator, body)
    validator.raise_if_errors()
    user = ctx.project.get_user(ctx.params["user_id"])
    now = ctx.project.clock()
    session = SessionRecord(
        session_id=str(uuid.uuid4()),
        status=PENDING,
        created_at=created_at or now,
        metadata=metadata or {},
        auto_process_after_seconds=auto_process,
        last_activity_at=now,
        seq=ctx.project.next_seq(),
    )
    user.sessions[session.session_id] = session
    user.last_active_at = now
    return json_response(201, {"session": session_json(user, session)})


def get_session(ctx: RequestContext) -> web.Response:
    user, session = find_session(ctx)
    return json_response(200, {"session": session_json(user, session)})


def list_sessions(ctx: RequestContext) -> web.Response:
    validator = Validator()
    offset = ctx.query.int_param(validator, "offset", 0, ge=0)
    limit = ctx.query.int_param(validator, "limit", 10, ge=1, le=SESSIONS_LIST_MAX_LIMIT)
    metadata_filter = ctx.query.json_object_param(validator, "metadata_filter")
    statuses = ctx.query.get_all("status_filter")
    for index, status in enumerate(statuses):
        if status not in SESSION_STATUSES:
            validator.enum(("query", "status_filter", index), status, SESSION_STATUSES)
    validator.raise_if_errors()
    user = ctx.project.get_user(ctx.params["user_id"])
    matches = [
        session
        for session in user.sessions.values()
        if (not statuses or session.status in statuses)
        and (metadata_filter is None or metadata_matches(session.metadata, metadata_filter))
    ]
    matches.sort(key=lambda session: (session.created_at, session.seq), reverse=True)
    return page_response("sessions", matches, offset, limit, functools.partial(session_json, user))


def update_session(ctx: RequestContext) -> web.Response:
    body = parse_json_object_body(ctx.body)
    validator = Validator()
    new_metadata = object_field(validator, body, "new_metadata")
    validator.raise_if_errors()
    user, session = find_session(ctx)
    if new_metadata is not None:
        session.metadata = new_metadata
        user.last_active_at = ctx.project.clock()
    return json_response(200, {"session": session_json(user, session)})


def delete_session(ctx: RequestContext) -> web.Response:
    user, session = find_session(ctx)
    del user.sessions[session.session_id]
    delete_data = getattr(_memories, "delete_session_data", None)
    if delete_data is not None:
        delete_data(user, session.session_id)
    user.last_active_at = ctx.project.clock()
    return no_content()


def _refuse_unless_pending(session: SessionRecord, action: str) -> None:
    if session.status != PENDING:
        raise ApiError(400, f"Cannot {action} session with status {session.status}")


def add_message(ctx: RequestContext) -> web.Response:
    body = parse_json_object_body(ctx.body)
    validator = Validator()
    content = body.get("message")
    if content is None:
        validator.missing(("body", "message"), body)
    elif not isinstance(content, str):
        validator.add(("body", "message"), "Input should be a valid string", "string_type", content)
    elif not content.strip():
        validator.add(("body", "message"), "Message must not be empty", "value_error", content)
    role = body.get("role")
    if role is None:
        validator.missing(("body", "role"), body)
    elif role not in ROLES:
        validator.enum(("body", "role"), role, ROLES)
    validator.raise_if_errors()
    assert isinstance(content, str) and isinstance(role, str)
    user, session = find_session(ctx)
    _refuse_unless_pending(session, "add message to")
    now = ctx.project.clock()
    session.messages.append(
        MessageRecord(role=role, content=content, timestamp=now, seq=ctx.project.next_seq())
    )
    session.last_activity_at = now
    user.last_active_at = now
    return json_response(200, {"detail": "Message added successfully"})


def list_messages(ctx: RequestContext) -> web.Response:
    validator = Validator()
    offset = ctx.query.int_param(validator, "offset", 0, ge=0)
    limit = ctx.query.int_param(validator, "limit", 50, ge=1, le=MESSAGES_LIST_MAX_LIMIT)
    validator.raise_if_errors()
    _, session = find_session(ctx)
    return page_response("messages", session.messages, offset, limit, message_json)


def process_session(ctx: RequestContext) -> web.Response:
    # The body is empty (Content-Length: 0) and is never parsed.
    user, session = find_session(ctx)
    _refuse_unless_pending(session, "process")
    now = ctx.project.clock()
    _start_processing(ctx.project, session, now)
    user.last_active_at = now
    return json_response(200, {"detail": "Session marked for processing"})


def last_messages(ctx: RequestContext) -> web.Response:
    validator = Validator()
    if ctx.query.get("limit") is None:
        validator.missing(("query", "limit"))
    limit = ctx.query.int_param(validator, "limit", 0, ge=1, le=LAST_MESSAGES_MAX)
    validator.raise_if_errors()
    user = ctx.project.get_user(ctx.params["user_id"])
    tagged = [
        (message, session.session_id)
        for session in user.sessions.values()
        for message in session.messages
    ]
    tagged.sort(key=lambda item: (item[0].timestamp, item[0].seq))
    recent = tagged[-limit:]
    return json_response(
        200,
        {
            "messages": [
                {**message_json(message), "session_id": session_id}
                for message, session_id in recent
            ]
        },
    )
