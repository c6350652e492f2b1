"""Memories of the emulator (PROTOCOL.md §3.5, §3.6, §5.4): how a processed
session becomes memories, version chains, connected memories, the data of
merge conflicts, and the memories endpoints.

This is a deterministic test double, not an AI. The rules:

**Facts.** Processing a session (:func:`process_session`) reads its *user*
messages in order (assistant messages are ignored) and splits each into
sentences (after ``.``, ``!`` or ``?`` followed by white space, and at line
breaks). A sentence is a fact when it has one of two forms
(case-insensitive):

* ``My <thing> is <value>`` (e.g. "My favourite colour is blue"); its
  *subject* is ``my <thing>``;
* ``I <verb> <rest>`` (e.g. "I love sushi", "I live in Paris"; ``I'm`` counts
  as ``I am``); its subject is ``i <verb> <next word>`` when those two words
  are one of the exclusive predicates ``live in``, ``live at``, ``work at``,
  ``work for``, ``work as``, ``am from``, ``am called``, ``am named`` (you
  live in one place at a time), and otherwise the whole sentence, so "I love
  sushi" and "I love pizza" coexist.

Other sentences are ignored. A memory's content is the sentence, trimmed, with
its final ``.``/``!``/``?`` dropped. Subjects are compared lower-cased with
white space collapsed.

**Memories.** A new fact becomes a memory with a uuid4 ``memory_id``,
``created_at`` = the processing time, ``event_date_start`` =
``event_date_end`` = the message's timestamp, ``session_id`` = the session,
``version_number`` 1, and categories from this keyword table (every category
with a keyword among the sentence's words, in this order; ``general`` when
none matches): ``allergies`` (allergic, allergy, intolerant ...),
``food_preferences`` (food, eat, sushi, pizza, coffee, vegetarian ...),
``location`` (live, city, country, from, moved ...), ``work`` (work, job,
office, company, colleague ...). The project's defined categories are
exactly :data:`CATEGORIES` (the table's values plus ``general``); asking the
list endpoint for any other category is the invalid-categories 400.

**Contradictions.** Facts are applied one by one, each against the memories
as they stand. A fact whose subject equals the subject of a current
(non-expired) memory:

* with the same content (case-insensitive), or the same content as an
  open conflict already proposes for that memory, changes nothing;
* otherwise, when merge conflicts are enabled for the user (the user's
  ``merge_conflict_enabled`` when not null, else the emulator's
  ``merge_conflicts_default``), opens a ``PENDING`` merge conflict and leaves
  the memories alone: ``project_user_session_id`` = the session,
  ``proposed_memory_content`` = the fact, ``conflicting_memories`` = [the
  current memory with a ``reason``], and one clarifying question
  ``Which is correct for "<subject>"?`` (subject with ``I`` capitalised) with
  the options ``[<old content>, <new content>, "Both"]``. The memory reports
  ``merge_conflict_in_progress: true`` while any conflict that targets its
  chain is open (``PENDING``, ``IN_QUEUE`` or ``RESOLVING``);
* otherwise a new *version* replaces it: a new ``memory_id`` in the same
  chain with ``version_number`` + 1; the old version gets ``expired_at`` =
  now and ``expiration_reason`` = ``NEW_VERSION``.

Resolving conflicts (``_merge_conflicts``; the outcome applies when the
resolution finishes) expires with reason ``MERGE_CONFLICT`` and sets
``merge_conflict_id`` on the expired version.

**Reading.** Lists show current versions only, newest first (creation time,
then creation order). Filters combine with AND: ``categories`` keeps memories
having any of the given categories, ``session_id_filter`` memories produced
by any of the given sessions, ``session_metadata_filter`` memories whose
session (still existing) has every given top-level key with an equal value.
``previous_versions`` (when requested, else null) are
the chain's versions with a lower version number, newest first (``[]`` when
there are none); ``total_versions`` counts the chain's stored versions and
``has_previous_versions`` is ``total_versions > 1``. ``connected_memories``
(when requested, else null) are the other current memories produced by the
same session, newest first. Get-one accepts any version's ID and describes
that version (an expired one carries its ``expired_at``/``expiration_reason``).

**Deleting** (PROTOCOL.md §13, which overrides §5.4.3).
``delete_previous_versions=false`` removes only the addressed version and
relinks its chain: the remaining versions keep their order and are
renumbered 1..n (so the latest one's ``version_number`` equals
``total_versions``), and when the latest version was removed the previous one
is the latest again: current, with its ``expired_at``, ``expiration_reason``
and ``merge_conflict_id`` cleared. ``true`` removes the whole chain, whichever
version is addressed. Deleting a session (:func:`delete_session_data`)
removes the memory versions it produced, relinking their chains by the same
rule, and the conflicts raised in it. Conflicts keep snapshots of the
memories they name, so deleting memories never breaks a conflict.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

import attrs
from aiohttp import web

from recallrai.emulator._http import (
    ApiError,
    Query,
    RequestContext,
    Validator,
    clip_text,
    format_timestamp,
    json_response,
    no_content,
    page_response,
)
from recallrai.emulator._store import metadata_matches

if TYPE_CHECKING:
    from recallrai.emulator._routing import Router
    from recallrai.emulator._store import ProjectStore, UserRecord

__all__ = [
    "CATEGORIES",
    "EXPIRED_BY_MERGE_CONFLICT",
    "EXPIRED_BY_NEW_VERSION",
    "ConflictRecord",
    "Fact",
    "MemoryRecord",
    "Question",
    "QueuedResolution",
    "add_memory",
    "add_version",
    "categories_for",
    "chain_versions",
    "conflicts_enabled",
    "current_memories",
    "current_of_chain",
    "delete_session_data",
    "extract_facts",
    "memory_json",
    "process_session",
    "register",
]

MEMORIES_LIST_MAX_LIMIT = 200

EXPIRED_BY_NEW_VERSION = "NEW_VERSION"
EXPIRED_BY_MERGE_CONFLICT = "MERGE_CONFLICT"

CONFLICT_PENDING = "PENDING"
CONFLICT_IN_QUEUE = "IN_QUEUE"
CONFLICT_RESOLVING = "RESOLVING"
CONFLICT_RESOLVED = "RESOLVED"
CONFLICT_FAILED = "FAILED"
CONFLICT_STATUSES = (
    CONFLICT_PENDING,
    CONFLICT_IN_QUEUE,
    CONFLICT_RESOLVING,
    CONFLICT_RESOLVED,
    CONFLICT_FAILED,
)
CONFLICT_OPEN = frozenset({CONFLICT_PENDING, CONFLICT_IN_QUEUE, CONFLICT_RESOLVING})
"""Statuses of a conflict whose outcome is not applied yet."""
CONFLICT_IN_FLIGHT = frozenset({CONFLICT_IN_QUEUE, CONFLICT_RESOLVING})
"""Statuses of a conflict whose answers were accepted but not applied yet."""

BOTH_OPTION = "Both"

_CATEGORY_KEYWORDS: tuple[tuple[str, frozenset[str]], ...] = (
    (
        "allergies",
        frozenset({"allergic", "allergy", "allergies", "intolerant", "intolerance"}),
    ),
    (
        "food_preferences",
        frozenset(
            {
                "food",
                "foods",
                "eat",
                "eating",
                "sushi",
                "pizza",
                "pasta",
                "burger",
                "burgers",
                "coffee",
                "tea",
                "chocolate",
                "cook",
                "cooking",
                "cuisine",
                "dish",
                "vegetarian",
                "vegan",
                "breakfast",
                "lunch",
                "dinner",
                "restaurant",
                "fruit",
                "meat",
                "fish",
                "dessert",
            }
        ),
    ),
    (
        "location",
        frozenset(
            {"live", "lives", "living", "city", "town", "country", "hometown", "from", "moved"}
        ),
    ),
    (
        "work",
        frozenset(
            {
                "work",
                "works",
                "working",
                "job",
                "office",
                "company",
                "employer",
                "career",
                "colleague",
                "colleagues",
                "boss",
                "profession",
            }
        ),
    ),
)
GENERAL_CATEGORY = "general"
CATEGORIES: tuple[str, ...] = (
    *(name for name, _ in _CATEGORY_KEYWORDS),
    GENERAL_CATEGORY,
)
"""Every category defined in an emulated project."""

EXCLUSIVE_PREDICATES = frozenset(
    {"live in", "live at", "work at", "work for", "work as", "am from", "am called", "am named"}
)

_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+|[\r\n]+")
_MY_FACT = re.compile(r"my\s+(?P<thing>\S.*?)\s+is\s+\S.*", re.IGNORECASE | re.DOTALL)
_I_FACT = re.compile(
    r"(?:i\s+(?P<verb>[^\W\d_][\w'\u2019-]*)|(?P<im>i['\u2019]m))\s+(?P<rest>\S.*)",
    re.IGNORECASE | re.DOTALL,
)
_WORD = re.compile(r"[^\W\d_]+")
_SPACE = re.compile(r"\s+")


# --------------------------------------------------------------------------- records


class MessageLike(Protocol):
    """What :func:`process_session` reads from a message."""

    @property
    def role(self) -> str: ...

    @property
    def content(self) -> str: ...

    @property
    def timestamp(self) -> datetime: ...


class SessionLike(Protocol):
    """What :func:`process_session` reads from a session."""

    @property
    def session_id(self) -> str: ...

    @property
    def messages(self) -> Sequence[MessageLike]: ...


@attrs.frozen
class Fact:
    """A candidate memory found in a user message."""

    content: str
    subject: str
    timestamp: datetime

    @property
    def categories(self) -> list[str]:
        return categories_for(self.content)


@attrs.define(eq=False)
class MemoryRecord:
    """One stored version of a memory; versions of one memory share ``chain_id``."""

    memory_id: str
    chain_id: str
    version_number: int
    subject: str
    content: str
    categories: list[str]
    session_id: str
    event_date_start: datetime
    event_date_end: datetime
    created_at: datetime
    seq: int
    expired_at: datetime | None = None
    expiration_reason: str | None = None
    merge_conflict_id: str | None = None

    @property
    def is_current(self) -> bool:
        return self.expired_at is None


@attrs.frozen
class Question:
    """A clarifying question and its allowed answers."""

    question: str
    options: tuple[str, ...]


@attrs.frozen
class QueuedResolution:
    """Answers accepted for a conflict, applied when its resolution finishes at ``deadline``."""

    answers: list[dict[str, Any]]
    choice: str
    queued_at: datetime
    deadline: datetime

    @property
    def resolving_from(self) -> datetime:
        """When the conflict moves from ``IN_QUEUE`` to ``RESOLVING`` (half-way)."""
        return self.queued_at + (self.deadline - self.queued_at) / 2


@attrs.define(eq=False)
class ConflictRecord:
    """A merge conflict between a proposed fact and a memory chain.

    ``conflicting_memories`` and ``new_memories`` are wire snapshots taken
    when the conflict was opened / resolved. ``queued`` holds the accepted
    answers while the conflict is ``IN_QUEUE`` or ``RESOLVING``.
    """

    conflict_id: str
    session_id: str
    chain_id: str
    existing_content: str
    proposed: Fact
    conflicting_memories: list[dict[str, Any]]
    questions: list[Question]
    created_at: datetime
    seq: int
    status: str = CONFLICT_PENDING
    resolution_data: dict[str, Any] | None = None
    resolved_at: datetime | None = None
    new_memories: list[dict[str, Any]] | None = None
    queued: QueuedResolution | None = None


# --------------------------------------------------------------------------- rules


def _normalise(text: str) -> str:
    return _SPACE.sub(" ", text).strip().lower()


def categories_for(content: str) -> list[str]:
    """The categories of a memory's text (keyword table; ``general`` when none match)."""
    words = {word.lower() for word in _WORD.findall(content)}
    found = [name for name, keywords in _CATEGORY_KEYWORDS if words & keywords]
    return found or [GENERAL_CATEGORY]


def _subject(sentence: str) -> str | None:
    """The subject key of a fact sentence, or ``None`` when it is no fact."""
    my_fact = _MY_FACT.fullmatch(sentence)
    if my_fact is not None:
        return "my " + _normalise(my_fact.group("thing"))
    i_fact = _I_FACT.fullmatch(sentence)
    if i_fact is None:
        return None
    verb = "am" if i_fact.group("im") else i_fact.group("verb").lower()
    next_word = _normalise(i_fact.group("rest")).split(" ", 1)[0]
    predicate = f"{verb} {next_word}"
    if predicate in EXCLUSIVE_PREDICATES:
        return "i " + predicate
    return _normalise(sentence)


def extract_facts(text: str, timestamp: datetime) -> list[Fact]:
    """The facts stated in one user message, in order."""
    facts: list[Fact] = []
    for piece in _SENTENCE_BREAK.split(text):
        sentence = piece.strip().rstrip(".!?").strip()
        if not sentence:
            continue
        subject = _subject(sentence)
        if subject is not None:
            facts.append(Fact(content=sentence, subject=subject, timestamp=timestamp))
    return facts


def conflicts_enabled(project: ProjectStore, user: UserRecord) -> bool:
    """The user's override when set, else the project default."""
    if user.merge_conflict_enabled is not None:
        return user.merge_conflict_enabled
    return project.merge_conflicts_default


def display_subject(subject: str) -> str:
    """A subject key for people: the pronoun ``i`` capitalised."""
    return "I" + subject[1:] if subject.startswith("i ") else subject


# --------------------------------------------------------------------------- queries


def _newest_first(memories: Iterable[MemoryRecord]) -> list[MemoryRecord]:
    return sorted(memories, key=lambda m: (m.created_at, m.seq), reverse=True)


def current_memories(user: UserRecord) -> list[MemoryRecord]:
    """The user's current (non-expired) memories, newest first."""
    return _newest_first(m for m in user.memories.values() if m.is_current)


def chain_versions(user: UserRecord, chain_id: str) -> list[MemoryRecord]:
    """The stored versions of one memory chain, oldest first."""
    versions = [m for m in user.memories.values() if m.chain_id == chain_id]
    versions.sort(key=lambda m: m.version_number)
    return versions


def current_of_chain(user: UserRecord, chain_id: str) -> MemoryRecord | None:
    """The chain's current version (``None`` when it was deleted)."""
    for memory in user.memories.values():
        if memory.chain_id == chain_id and memory.is_current:
            return memory
    return None


def _current_for_subject(user: UserRecord, subject: str) -> MemoryRecord | None:
    matches = [m for m in current_memories(user) if m.subject == subject]
    return matches[0] if matches else None


def _conflict_in_progress(user: UserRecord, memory: MemoryRecord) -> bool:
    return memory.is_current and any(
        c.status in CONFLICT_OPEN and c.chain_id == memory.chain_id
        for c in user.merge_conflicts.values()
    )


def get_memory_record(user: UserRecord, memory_id: str) -> MemoryRecord:
    try:
        return user.memories[memory_id]
    except KeyError:
        raise ApiError(404, f"Memory {clip_text(memory_id)} not found") from None


# --------------------------------------------------------------------------- changes


def add_memory(
    project: ProjectStore,
    user: UserRecord,
    fact: Fact,
    session_id: str,
    now: datetime,
    *,
    subject: str | None = None,
) -> MemoryRecord:
    """Store *fact* as the first version of a new memory."""
    memory_id = str(uuid.uuid4())
    memory = MemoryRecord(
        memory_id=memory_id,
        chain_id=memory_id,
        version_number=1,
        subject=fact.subject if subject is None else subject,
        content=fact.content,
        categories=fact.categories,
        session_id=session_id,
        event_date_start=fact.timestamp,
        event_date_end=fact.timestamp,
        created_at=now,
        seq=project.next_seq(),
    )
    user.memories[memory_id] = memory
    return memory


def add_version(
    project: ProjectStore,
    user: UserRecord,
    old: MemoryRecord,
    fact: Fact,
    session_id: str,
    now: datetime,
    *,
    reason: str = EXPIRED_BY_NEW_VERSION,
    conflict_id: str | None = None,
) -> MemoryRecord:
    """Expire the current version *old* and store *fact* as the next version."""
    old.expired_at = now
    old.expiration_reason = reason
    old.merge_conflict_id = conflict_id
    top = max(m.version_number for m in chain_versions(user, old.chain_id))
    memory = MemoryRecord(
        memory_id=str(uuid.uuid4()),
        chain_id=old.chain_id,
        version_number=top + 1,
        subject=old.subject,
        content=fact.content,
        categories=fact.categories,
        session_id=session_id,
        event_date_start=fact.timestamp,
        event_date_end=fact.timestamp,
        created_at=now,
        seq=project.next_seq(),
    )
    user.memories[memory.memory_id] = memory
    return memory


def _open_conflict(
    project: ProjectStore,
    user: UserRecord,
    existing: MemoryRecord,
    fact: Fact,
    session_id: str,
    now: datetime,
) -> ConflictRecord:
    subject = display_subject(existing.subject)
    reason = f'The new fact "{fact.content}" contradicts this memory about "{subject}"'
    conflict = ConflictRecord(
        conflict_id=str(uuid.uuid4()),
        session_id=session_id,
        chain_id=existing.chain_id,
        existing_content=existing.content,
        proposed=fact,
        conflicting_memories=[{**new_memory_json(existing), "reason": reason}],
        questions=[
            Question(
                question=f'Which is correct for "{subject}"?',
                options=(existing.content, fact.content, BOTH_OPTION),
            )
        ],
        created_at=now,
        seq=project.next_seq(),
    )
    user.merge_conflicts[conflict.conflict_id] = conflict
    return conflict


def _already_proposed(user: UserRecord, chain_id: str, content: str) -> bool:
    wanted = _normalise(content)
    return any(
        c.status in CONFLICT_OPEN
        and c.chain_id == chain_id
        and _normalise(c.proposed.content) == wanted
        for c in user.merge_conflicts.values()
    )


def process_session(
    project: ProjectStore, user: UserRecord, session: SessionLike, now: datetime
) -> None:
    """Turn the user messages of a processed *session* into memories (rules above)."""
    with_conflicts = conflicts_enabled(project, user)
    for message in session.messages:
        if message.role != "user":
            continue
        for fact in extract_facts(message.content, message.timestamp):
            existing = _current_for_subject(user, fact.subject)
            if existing is None:
                add_memory(project, user, fact, session.session_id, now)
            elif _normalise(existing.content) == _normalise(fact.content) or _already_proposed(
                user, existing.chain_id, fact.content
            ):
                continue
            elif with_conflicts:
                _open_conflict(project, user, existing, fact, session.session_id, now)
            else:
                add_version(project, user, existing, fact, session.session_id, now)


def _remove_versions(user: UserRecord, doomed: Iterable[MemoryRecord]) -> None:
    """Delete memory versions and relink what is left of each chain they belonged to.

    The remaining versions keep their order and are renumbered 1..n; when the
    latest version went, the one before it becomes current again (its expiry
    and ``merge_conflict_id`` are cleared).
    """
    chains: set[str] = set()
    for version in doomed:
        del user.memories[version.memory_id]
        chains.add(version.chain_id)
    for chain_id in chains:
        versions = chain_versions(user, chain_id)
        for number, version in enumerate(versions, start=1):
            version.version_number = number
        if versions and not versions[-1].is_current:
            latest = versions[-1]
            latest.expired_at = None
            latest.expiration_reason = None
            latest.merge_conflict_id = None


def delete_session_data(user: UserRecord, session_id: str) -> None:
    """Forget the memory versions produced by a session and the conflicts raised in it."""
    _remove_versions(user, [m for m in user.memories.values() if m.session_id == session_id])
    for conflict_id in [
        c.conflict_id for c in user.merge_conflicts.values() if c.session_id == session_id
    ]:
        del user.merge_conflicts[conflict_id]


def _delete_memory(user: UserRecord, memory: MemoryRecord, *, whole_chain: bool) -> None:
    doomed = chain_versions(user, memory.chain_id) if whole_chain else [memory]
    _remove_versions(user, doomed)


# --------------------------------------------------------------------------- wire forms


def new_memory_json(memory: MemoryRecord) -> dict[str, Any]:
    """The five fields a conflict shows for a memory (``new_memories`` items)."""
    return {
        "memory_id": memory.memory_id,
        "content": memory.content,
        "event_date_start": format_timestamp(memory.event_date_start),
        "event_date_end": format_timestamp(memory.event_date_end),
        "created_at": format_timestamp(memory.created_at),
    }


def _version_json(memory: MemoryRecord) -> dict[str, Any]:
    assert memory.expired_at is not None  # older versions are always expired
    return {
        "memory_id": memory.memory_id,
        "version_number": memory.version_number,
        "content": memory.content,
        "event_date_start": format_timestamp(memory.event_date_start),
        "event_date_end": format_timestamp(memory.event_date_end),
        "created_at": format_timestamp(memory.created_at),
        "expired_at": format_timestamp(memory.expired_at),
        "expiration_reason": memory.expiration_reason,
        "merge_conflict_id": memory.merge_conflict_id,
    }


def memory_json(
    user: UserRecord, memory: MemoryRecord, *, previous: bool, connected: bool
) -> dict[str, Any]:
    """The wire form of a memory item (§3.5)."""
    chain = chain_versions(user, memory.chain_id)
    previous_versions = None
    if previous:
        previous_versions = [
            _version_json(v) for v in reversed(chain) if v.version_number < memory.version_number
        ]
    connected_memories = None
    if connected:
        connected_memories = [
            {"memory_id": m.memory_id, "content": m.content}
            for m in current_memories(user)
            if m.session_id == memory.session_id and m.memory_id != memory.memory_id
        ]
    return {
        "memory_id": memory.memory_id,
        "categories": list(memory.categories),
        "content": memory.content,
        "event_date_start": format_timestamp(memory.event_date_start),
        "event_date_end": format_timestamp(memory.event_date_end),
        "created_at": format_timestamp(memory.created_at),
        "version_number": memory.version_number,
        "total_versions": len(chain),
        "has_previous_versions": len(chain) > 1,
        "previous_versions": previous_versions,
        "connected_memories": connected_memories,
        "merge_conflict_in_progress": _conflict_in_progress(user, memory),
        "merge_conflict_id": memory.merge_conflict_id,
        "expired_at": None if memory.expired_at is None else format_timestamp(memory.expired_at),
        "expiration_reason": memory.expiration_reason,
        "session_id": memory.session_id,
    }


# --------------------------------------------------------------------------- handlers

_TRUE = frozenset({"1", "on", "t", "true", "y", "yes"})
_FALSE = frozenset({"0", "off", "f", "false", "n", "no"})


def bool_param(query: Query, validator: Validator, name: str, default: bool) -> bool:
    """A boolean query parameter, read the way FastAPI reads one."""
    raw = query.get(name)
    if raw is None:
        return default
    lowered = raw.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    validator.add(
        ("query", name),
        "Input should be a valid boolean, unable to interpret input",
        "bool_parsing",
        raw,
    )
    return default


def register(router: Router) -> None:
    """Add the memories routes to *router*."""
    router.add("GET", "/api/v1/users/{user_id}/memories", list_memories)
    router.add("GET", "/api/v1/users/{user_id}/memory/{memory_id}", get_memory)
    router.add("DELETE", "/api/v1/users/{user_id}/memory/{memory_id}", delete_memory)


def _session_metadata(user: UserRecord, session_id: str) -> dict[str, Any] | None:
    session = user.sessions.get(session_id)
    return None if session is None else session.metadata


def list_memories(ctx: RequestContext) -> web.Response:
    validator = Validator()
    offset = ctx.query.int_param(validator, "offset", 0, ge=0)
    limit = ctx.query.int_param(validator, "limit", 20, ge=1, le=MEMORIES_LIST_MAX_LIMIT)
    previous = bool_param(ctx.query, validator, "include_previous_versions", True)
    connected = bool_param(ctx.query, validator, "include_connected_memories", True)
    categories = ctx.query.get_all("categories")
    session_ids = ctx.query.get_all("session_id_filter")
    metadata_filter = ctx.query.json_object_param(validator, "session_metadata_filter")
    validator.raise_if_errors()
    user = ctx.project.get_user(ctx.params["user_id"])
    invalid = [name for name in dict.fromkeys(categories) if name not in CATEGORIES]
    if invalid:
        raise ApiError(400, {"message": "Invalid categories", "invalid_categories": invalid})

    matches = current_memories(user)
    if categories:
        wanted = set(categories)
        matches = [m for m in matches if wanted.intersection(m.categories)]
    if session_ids:
        matches = [m for m in matches if m.session_id in session_ids]
    if metadata_filter is not None:
        matches = [
            m
            for m in matches
            if (metadata := _session_metadata(user, m.session_id)) is not None
            and metadata_matches(metadata, metadata_filter)
        ]
    return page_response(
        "items",
        matches,
        offset,
        limit,
        lambda m: memory_json(user, m, previous=previous, connected=connected),
    )


def get_memory(ctx: RequestContext) -> web.Response:
    validator = Validator()
    previous = bool_param(ctx.query, validator, "include_previous_versions", True)
    connected = bool_param(ctx.query, validator, "include_connected_memories", True)
    validator.raise_if_errors()
    user = ctx.project.get_user(ctx.params["user_id"])
    memory = get_memory_record(user, ctx.params["memory_id"])
    return json_response(200, memory_json(user, memory, previous=previous, connected=connected))


def delete_memory(ctx: RequestContext) -> web.Response:
    validator = Validator()
    whole_chain = bool_param(ctx.query, validator, "delete_previous_versions", False)
    validator.raise_if_errors()
    user = ctx.project.get_user(ctx.params["user_id"])
    memory = get_memory_record(user, ctx.params["memory_id"])
    _delete_memory(user, memory, whole_chain=whole_chain)
    return no_content()
