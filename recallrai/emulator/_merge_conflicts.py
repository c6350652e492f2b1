"""Merge-conflict endpoints of the emulator and the resolution lifecycle
(PROTOCOL.md §3.7, §5.5, §12, §13).

Conflicts are opened by session processing (rules in ``_memories``); this
module lists, shows and resolves them. Conflicts are answered bare (no
``{"conflict": ...}`` wrapper), keyed ``id`` with ``proposed_memory_content``
(the §3 spellings).

**Listing.** ``sort_by`` is ``created_at`` (default) or ``resolved_at``,
``sort_order`` ``desc`` (default) or ``asc``; ties follow creation order in
the same direction. Sorting by ``resolved_at`` puts conflicts that are not
resolved yet last in both orders. ``status`` takes one upper-case status.
Bad values, ``limit`` outside 1-100 and negative offsets are 422.

**Resolving** (``POST .../merge-conflicts/{id}/resolve``) runs in the
background, as on the service (§13): accepted answers are answered 200 with
the conflict ``IN_QUEUE`` (``resolved_at`` and ``new_memories`` still null).
Over ``processing_delay`` seconds of emulator time (the sessions' setting)
it is ``IN_QUEUE`` for the first half, ``RESOLVING`` for the second, then
``RESOLVED``: only then does the chosen option apply, with ``resolved_at``
(and the new memories' times) = the moment it finished. Like session
processing this happens lazily, through ``_background.advance`` before each
request; ``Emulator.settle`` finishes every resolution in flight at once.
While a resolution is in flight the conflict is still open: its memory keeps
``merge_conflict_in_progress: true``. Should applying fail, the conflict
ends ``FAILED``. Checks, in this order:

1. the body must be ``{"answers": {"question_answers": [{"question": str,
   "answer": str, "message": str | null}, ...]}}`` (``message`` may be
   absent; unknown keys are ignored), else 422;
2. user, then conflict exist, else 404 ``User <id> not found`` /
   ``Merge conflict <id> not found``;
3. 400 with exactly these details (lists in Python repr):
   ``Merge conflict <id> is already resolved or being resolved`` (status
   ``IN_QUEUE`` or ``RESOLVING``); ``Merge conflict <id> is already
   resolved`` (``RESOLVED`` or ``FAILED``);
   ``Invalid questions provided. The following questions do not match the
   original questions: [...]`` (answered questions the conflict does not
   ask, in the caller's order); ``Missing answers for the following
   questions: [...]`` (unanswered questions, in the conflict's order);
   ``Invalid answer '<answer>' for question '<question>'. Valid options are:
   [...]`` (the first answer that is not among its question's options).

A question answered more than once counts with its last answer. The chosen
option applies:

* the new content: the chain's current version expires (reason
  ``MERGE_CONFLICT``, ``merge_conflict_id`` = the conflict) and the proposed
  fact becomes its next version, produced by the conflict's session;
* the existing content: memories stay unchanged;
* ``Both``: the proposed fact becomes a separate new memory (its subject is
  its whole sentence, so it never contradicts the original).

When the chain has no current version any more (deleted meanwhile), choosing
the new content also creates a separate memory. ``new_memories`` lists the
created memories (``[]`` when none), ``resolution_data`` is
``{"answers": [<the answers as sent>], "applied": "new_version" |
"kept_existing" | "kept_both", "memory_id": <the conflicting memory's ID>}``.
"""

from __future__ import annotations

import functools
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from aiohttp import web

from recallrai.emulator._http import (
    ApiError,
    RequestContext,
    Validator,
    clip_text,
    format_timestamp,
    json_response,
    page_response,
    parse_json_object_body,
)
from recallrai.emulator._memories import (
    BOTH_OPTION,
    CONFLICT_FAILED,
    CONFLICT_IN_FLIGHT,
    CONFLICT_IN_QUEUE,
    CONFLICT_PENDING,
    CONFLICT_RESOLVED,
    CONFLICT_RESOLVING,
    CONFLICT_STATUSES,
    EXPIRED_BY_MERGE_CONFLICT,
    ConflictRecord,
    MemoryRecord,
    QueuedResolution,
    add_memory,
    add_version,
    current_of_chain,
    new_memory_json,
)
from recallrai.emulator._store import Due

if TYPE_CHECKING:
    from recallrai.emulator._routing import Router
    from recallrai.emulator._store import ProjectStore, UserRecord

__all__ = ["conflict_json", "due_work", "register"]

logger = logging.getLogger("recallrai.emulator")

CONFLICTS_LIST_MAX_LIMIT = 100
SORT_FIELDS = ("created_at", "resolved_at")
SORT_ORDERS = ("asc", "desc")


def register(router: Router) -> None:
    """Add the merge-conflict routes to *router*."""
    router.add("GET", "/api/v1/users/{user_id}/merge-conflicts", list_conflicts)
    router.add("GET", "/api/v1/users/{user_id}/merge-conflicts/{conflict_id}", get_conflict)
    router.add(
        "POST", "/api/v1/users/{user_id}/merge-conflicts/{conflict_id}/resolve", resolve_conflict
    )


def conflict_json(conflict: ConflictRecord) -> dict[str, Any]:
    """The wire form of a merge conflict (§3.7), bare."""
    return {
        "id": conflict.conflict_id,
        "project_user_session_id": conflict.session_id,
        "proposed_memory_content": conflict.proposed.content,
        "new_memories": None if conflict.new_memories is None else list(conflict.new_memories),
        "conflicting_memories": list(conflict.conflicting_memories),
        "clarifying_questions": [
            {"question": q.question, "options": list(q.options)} for q in conflict.questions
        ],
        "status": conflict.status,
        "resolution_data": conflict.resolution_data,
        "created_at": format_timestamp(conflict.created_at),
        "resolved_at": None
        if conflict.resolved_at is None
        else format_timestamp(conflict.resolved_at),
    }


def _get_conflict_record(user: UserRecord, conflict_id: str) -> ConflictRecord:
    try:
        return user.merge_conflicts[conflict_id]
    except KeyError:
        raise ApiError(404, f"Merge conflict {clip_text(conflict_id)} not found") from None


def _choice(
    validator: Validator, name: str, value: str | None, allowed: tuple[str, ...], default: str
) -> str:
    if value is None:
        return default
    if value not in allowed:
        validator.enum(("query", name), value, allowed)
        return default
    return value


def list_conflicts(ctx: RequestContext) -> web.Response:
    validator = Validator()
    offset = ctx.query.int_param(validator, "offset", 0, ge=0)
    limit = ctx.query.int_param(validator, "limit", 10, ge=1, le=CONFLICTS_LIST_MAX_LIMIT)
    sort_by = _choice(validator, "sort_by", ctx.query.get("sort_by"), SORT_FIELDS, "created_at")
    sort_order = _choice(validator, "sort_order", ctx.query.get("sort_order"), SORT_ORDERS, "desc")
    raw_status = ctx.query.get("status")
    status = None
    if raw_status is not None:
        status = _choice(validator, "status", raw_status, CONFLICT_STATUSES, CONFLICT_PENDING)
    validator.raise_if_errors()
    user = ctx.project.get_user(ctx.params["user_id"])

    matches = [c for c in user.merge_conflicts.values() if status is None or c.status == status]
    descending = sort_order == "desc"
    if sort_by == "created_at":
        matches.sort(key=lambda c: (c.created_at, c.seq), reverse=descending)
    else:
        resolved = [c for c in matches if c.resolved_at is not None]
        open_ = [c for c in matches if c.resolved_at is None]
        resolved.sort(key=lambda c: (c.resolved_at, c.seq), reverse=descending)
        open_.sort(key=lambda c: (c.created_at, c.seq), reverse=descending)
        matches = resolved + open_
    return page_response("conflicts", matches, offset, limit, conflict_json)


def get_conflict(ctx: RequestContext) -> web.Response:
    user = ctx.project.get_user(ctx.params["user_id"])
    conflict = _get_conflict_record(user, ctx.params["conflict_id"])
    return json_response(200, conflict_json(conflict))


def _parse_answers(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``question_answers`` entries of a resolve body, or 422."""
    validator = Validator()
    answers = body.get("answers")
    if answers is None:
        validator.missing(("body", "answers"), body)
    elif not isinstance(answers, dict):
        validator.add(
            ("body", "answers"), "Input should be a valid dictionary", "dict_type", answers
        )
    validator.raise_if_errors()
    assert isinstance(answers, dict)
    entries = answers.get("question_answers")
    loc: tuple[str | int, ...] = ("body", "answers", "question_answers")
    if entries is None:
        validator.missing(loc, answers)
    elif not isinstance(entries, list):
        validator.add(loc, "Input should be a valid list", "list_type", entries)
    validator.raise_if_errors()
    assert isinstance(entries, list)
    parsed: list[dict[str, Any]] = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            validator.add((*loc, index), "Input should be a valid dictionary", "dict_type", entry)
            continue
        for key in ("question", "answer"):
            value = entry.get(key)
            if value is None:
                validator.missing((*loc, index, key), entry)
            elif not isinstance(value, str):
                validator.add(
                    (*loc, index, key), "Input should be a valid string", "string_type", value
                )
        message = entry.get("message")
        if message is not None and not isinstance(message, str):
            validator.add(
                (*loc, index, "message"), "Input should be a valid string", "string_type", message
            )
        parsed.append(
            {"question": entry.get("question"), "answer": entry.get("answer"), "message": message}
        )
    validator.raise_if_errors()
    return parsed


def _check_answers(conflict: ConflictRecord, answers: list[dict[str, Any]]) -> dict[str, str]:
    """The chosen option per question, or the 400 of the first failed check."""
    if conflict.status in CONFLICT_IN_FLIGHT:
        raise ApiError(
            400, f"Merge conflict {conflict.conflict_id} is already resolved or being resolved"
        )
    if conflict.status != CONFLICT_PENDING:
        raise ApiError(400, f"Merge conflict {conflict.conflict_id} is already resolved")
    options = {q.question: list(q.options) for q in conflict.questions}
    unknown = list(dict.fromkeys(a["question"] for a in answers if a["question"] not in options))
    if unknown:
        raise ApiError(
            400,
            "Invalid questions provided. The following questions do not match the "
            f"original questions: {clip_text(repr(unknown))}",
        )
    chosen = {a["question"]: a["answer"] for a in answers}
    missing = [q.question for q in conflict.questions if q.question not in chosen]
    if missing:
        raise ApiError(
            400, f"Missing answers for the following questions: {clip_text(repr(missing))}"
        )
    for answer in answers:
        valid = options[answer["question"]]
        if answer["answer"] not in valid:
            raise ApiError(
                400,
                f"Invalid answer '{clip_text(answer['answer'])}' for question "
                f"'{clip_text(answer['question'])}'. "
                f"Valid options are: {clip_text(repr(valid))}",
            )
    return chosen


def _apply(
    project: ProjectStore, user: UserRecord, conflict: ConflictRecord, choice: str, now: datetime
) -> tuple[str, list[MemoryRecord]]:
    """Carry out the chosen option; returns the ``applied`` word and new memories."""
    fact = conflict.proposed
    if choice == BOTH_OPTION:
        subject = " ".join(fact.content.lower().split())
        memory = add_memory(project, user, fact, conflict.session_id, now, subject=subject)
        return "kept_both", [memory]
    if choice == fact.content:
        current = current_of_chain(user, conflict.chain_id)
        if current is None:
            return "new_version", [add_memory(project, user, fact, conflict.session_id, now)]
        memory = add_version(
            project,
            user,
            current,
            fact,
            conflict.session_id,
            now,
            reason=EXPIRED_BY_MERGE_CONFLICT,
            conflict_id=conflict.conflict_id,
        )
        return "new_version", [memory]
    return "kept_existing", []


def _finish(
    project: ProjectStore, user: UserRecord, conflict: ConflictRecord, at: datetime
) -> None:
    """Apply a queued resolution: the conflict is ``RESOLVED`` as of *at*."""
    queued = conflict.queued
    assert queued is not None
    conflict.queued = None
    try:
        applied, created = _apply(project, user, conflict, queued.choice, at)
    except Exception:
        logger.exception("resolving merge conflict %s failed", conflict.conflict_id)
        conflict.status = CONFLICT_FAILED
        return
    conflict.status = CONFLICT_RESOLVED
    conflict.resolved_at = at
    conflict.new_memories = [new_memory_json(m) for m in created]
    conflict.resolution_data = {
        "answers": queued.answers,
        "applied": applied,
        "memory_id": conflict.conflicting_memories[0]["memory_id"],
    }


def due_work(project: ProjectStore, now: datetime, *, finish_all: bool = False) -> list[Due]:
    """Bring the resolutions in flight up to *now* and list those due to finish.

    A queued conflict past the half-way point becomes ``RESOLVING``; those
    whose deadline has passed (all of them with *finish_all*) are returned for
    ``_background.advance`` to finish. Call with the store lock held.
    """
    due: list[Due] = []
    for user in project.users.values():
        for conflict in user.merge_conflicts.values():
            queued = conflict.queued
            if queued is None:
                continue
            if finish_all or queued.deadline <= now:
                finish = functools.partial(_finish, project, user, conflict)
                due.append(Due(at=queued.deadline, seq=conflict.seq, finish=finish))
            elif queued.resolving_from <= now:
                conflict.status = CONFLICT_RESOLVING
    return due


def resolve_conflict(ctx: RequestContext) -> web.Response:
    answers = _parse_answers(parse_json_object_body(ctx.body))
    user = ctx.project.get_user(ctx.params["user_id"])
    conflict = _get_conflict_record(user, ctx.params["conflict_id"])
    chosen = _check_answers(conflict, answers)
    now = ctx.project.clock()
    delay = timedelta(seconds=ctx.project.session_control.processing_delay)
    conflict.queued = QueuedResolution(
        answers=answers,
        choice=chosen[conflict.questions[0].question],
        queued_at=now,
        deadline=now + delay,
    )
    conflict.status = CONFLICT_IN_QUEUE
    return json_response(200, conflict_json(conflict))
