"""Merge-conflict endpoints of the emulator (PROTOCOL.md §3.7, §5.5, §12).

Conflicts are opened by session processing (rules in ``_memories``); this
module lists, shows and resolves them. Conflicts are answered bare (no
``{"conflict": ...}`` wrapper).

**Listing.** ``sort_by`` is ``created_at`` (default) or ``resolved_at``,
``sort_order`` ``desc`` (default) or ``asc``; ties follow creation order in
the same direction. Sorting by ``resolved_at`` puts conflicts that are not
resolved yet last in both orders. ``status`` takes one upper-case status.
Bad values, ``limit`` outside 1-100 and negative offsets are 422.

**Resolving** (``POST .../merge-conflicts/{id}/resolve``) happens at once:
the answer is ``RESOLVED`` with ``resolved_at`` set. Checks, in this order:

1. the body must be ``{"answers": {"question_answers": [{"question": str,
   "answer": str, "message": str | null}, ...]}}`` (``message`` may be
   absent; unknown keys are ignored), else 422;
2. user, then conflict exist, else 404 ``User <id> not found`` /
   ``Merge conflict <id> not found``;
3. 400 with exactly these details (lists in Python repr):
   ``Merge conflict <id> is already resolved`` (status not ``PENDING``);
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

from datetime import datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web

from recallrai.emulator._http import (
    ApiError,
    RequestContext,
    Validator,
    format_timestamp,
    json_response,
    page_response,
    parse_json_object_body,
)
from recallrai.emulator._memories import (
    BOTH_OPTION,
    CONFLICT_PENDING,
    CONFLICT_RESOLVED,
    CONFLICT_STATUSES,
    EXPIRED_BY_MERGE_CONFLICT,
    ConflictRecord,
    MemoryRecord,
    add_memory,
    add_version,
    current_of_chain,
    new_memory_json,
)

if TYPE_CHECKING:
    from recallrai.emulator._routing import Router
    from recallrai.emulator._store import ProjectStore, UserRecord

__all__ = ["conflict_json", "register"]

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
        raise ApiError(404, f"Merge conflict {conflict_id} not found") from None


def _choice(
    validator: Validator, name: str, value: str | None, allowed: tuple[str, ...], default: str
) -> str:
    if value is None:
        return default
    if value not in allowed:
        expected = " or ".join(f"'{item}'" for item in allowed)
        validator.add(("query", name), f"Input should be {expected}", "enum")
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
    if not isinstance(answers, dict):
        kind = "missing" if answers is None else "dict_type"
        msg = "Field required" if answers is None else "Input should be a valid dictionary"
        validator.fail(("body", "answers"), msg, kind)
    entries = answers.get("question_answers")
    loc: tuple[str | int, ...] = ("body", "answers", "question_answers")
    if not isinstance(entries, list):
        kind = "missing" if entries is None else "list_type"
        msg = "Field required" if entries is None else "Input should be a valid list"
        validator.fail(loc, msg, kind)
    parsed: list[dict[str, Any]] = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            validator.add((*loc, index), "Input should be a valid dictionary", "dict_type")
            continue
        for key in ("question", "answer"):
            value = entry.get(key)
            if value is None:
                validator.add((*loc, index, key), "Field required", "missing")
            elif not isinstance(value, str):
                validator.add((*loc, index, key), "Input should be a valid string", "string_type")
        message = entry.get("message")
        if message is not None and not isinstance(message, str):
            validator.add((*loc, index, "message"), "Input should be a valid string", "string_type")
        parsed.append(
            {"question": entry.get("question"), "answer": entry.get("answer"), "message": message}
        )
    validator.raise_if_errors()
    return parsed


def _check_answers(conflict: ConflictRecord, answers: list[dict[str, Any]]) -> dict[str, str]:
    """The chosen option per question, or the 400 of the first failed check."""
    if conflict.status != CONFLICT_PENDING:
        raise ApiError(400, f"Merge conflict {conflict.conflict_id} is already resolved")
    options = {q.question: list(q.options) for q in conflict.questions}
    unknown = list(dict.fromkeys(a["question"] for a in answers if a["question"] not in options))
    if unknown:
        raise ApiError(
            400,
            "Invalid questions provided. The following questions do not match the "
            f"original questions: {unknown!r}",
        )
    chosen = {a["question"]: a["answer"] for a in answers}
    missing = [q.question for q in conflict.questions if q.question not in chosen]
    if missing:
        raise ApiError(400, f"Missing answers for the following questions: {missing!r}")
    for answer in answers:
        valid = options[answer["question"]]
        if answer["answer"] not in valid:
            raise ApiError(
                400,
                f"Invalid answer '{answer['answer']}' for question '{answer['question']}'. "
                f"Valid options are: {valid!r}",
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


def resolve_conflict(ctx: RequestContext) -> web.Response:
    answers = _parse_answers(parse_json_object_body(ctx.body))
    user = ctx.project.get_user(ctx.params["user_id"])
    conflict = _get_conflict_record(user, ctx.params["conflict_id"])
    chosen = _check_answers(conflict, answers)
    now = ctx.project.clock()
    choice = chosen[conflict.questions[0].question]
    applied, created = _apply(ctx.project, user, conflict, choice, now)
    conflict.status = CONFLICT_RESOLVED
    conflict.resolved_at = now
    conflict.new_memories = [new_memory_json(m) for m in created]
    conflict.resolution_data = {
        "answers": answers,
        "applied": applied,
        "memory_id": conflict.conflicting_memories[0]["memory_id"],
    }
    return json_response(200, conflict_json(conflict))
