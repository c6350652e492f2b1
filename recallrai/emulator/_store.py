"""In-memory data of the emulator, scoped per project ID.

:class:`Store` maps project IDs to :class:`ProjectStore` objects. Each user
record owns everything that belongs to the user (later: sessions, messages,
memories, merge conflicts) as attributes of the record itself, so renaming a
user moves all of it with one re-keying and deleting a user cascades by
construction.

Store methods are synchronous and are called with ``Store.lock`` held (the
request dispatcher takes it), so tests may reset or inspect the data from
another thread.
"""

from __future__ import annotations

import copy
import itertools
import threading
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import attrs

from recallrai.emulator._http import ApiError, clip_text
from recallrai.emulator._sessions_store import SessionControl

if TYPE_CHECKING:
    from recallrai.emulator._memories import ConflictRecord, MemoryRecord
    from recallrai.emulator._sessions_store import SessionRecord

__all__ = ["Clock", "Due", "ProjectStore", "Store", "UserRecord", "json_equal", "utc_now"]

Clock = Callable[[], datetime]


@attrs.frozen
class Due:
    """Background work of the emulated service that completes at ``at``.

    ``seq`` (the project-wide creation order of the thing worked on) breaks
    ties; ``finish`` carries the work out, given the time it completes.
    """

    at: datetime
    seq: int
    finish: Callable[[datetime], None]


def utc_now() -> datetime:
    """The default clock: the current time, timezone-aware UTC."""
    return datetime.now(timezone.utc)


def json_equal(left: object, right: object) -> bool:
    """Equality of JSON values: numbers compare by value, but booleans are
    never equal to numbers (unlike Python's ``True == 1``)."""
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left is right
    if isinstance(left, (int, float)) and isinstance(right, (int, float)):
        return left == right
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(
            json_equal(value, right[key]) for key, value in left.items()
        )
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(
            json_equal(a, b) for a, b in zip(left, right, strict=True)
        )
    return type(left) is type(right) and left == right


def metadata_matches(metadata: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
    """True when every top-level key of *wanted* is present with an equal value."""
    return all(
        key in metadata and json_equal(metadata[key], value) for key, value in wanted.items()
    )


@attrs.define(eq=False)
class UserRecord:
    """One user. Child resources will hang off this record."""

    custom_user_id: str
    metadata: dict[str, Any]
    merge_conflict_enabled: bool | None
    created_at: datetime
    last_active_at: datetime
    seq: int
    """Insertion order inside the project; breaks creation-time ties."""
    memories: dict[str, MemoryRecord] = attrs.field(factory=dict)
    """Every stored memory version by ``memory_id`` (see ``_memories``)."""
    merge_conflicts: dict[str, ConflictRecord] = attrs.field(factory=dict)
    """Merge conflicts by ID (see ``_memories``)."""
    sessions: dict[str, SessionRecord] = attrs.field(factory=dict)
    """Sessions (with their messages) by ID (see ``_sessions``)."""


@attrs.define(eq=False)
class ProjectStore:
    """All data of one project."""

    clock: Clock
    users: dict[str, UserRecord] = attrs.field(factory=dict)
    merge_conflicts_default: bool = False
    """Whether users whose ``merge_conflict_enabled`` is null get merge conflicts."""
    session_control: SessionControl = attrs.field(factory=SessionControl)
    """Emulator-wide session settings and stream controls (shared by all projects)."""
    _seq: itertools.count[int] = attrs.field(factory=itertools.count, init=False)

    def next_seq(self) -> int:
        return next(self._seq)

    # -- users -----------------------------------------------------------

    def create_user(
        self,
        user_id: str,
        metadata: Mapping[str, Any],
        merge_conflict_enabled: bool | None,
    ) -> UserRecord:
        if user_id in self.users:
            raise ApiError(409, f"User {clip_text(user_id)} already exists")
        now = self.clock()
        record = UserRecord(
            custom_user_id=user_id,
            metadata=copy.deepcopy(dict(metadata)),
            merge_conflict_enabled=merge_conflict_enabled,
            created_at=now,
            last_active_at=now,
            seq=self.next_seq(),
        )
        self.users[user_id] = record
        return record

    def get_user(self, user_id: str) -> UserRecord:
        try:
            return self.users[user_id]
        except KeyError:
            raise ApiError(404, f"User {clip_text(user_id)} not found") from None

    def list_users(
        self, metadata_filter: Mapping[str, Any] | None, partial_user_id: str | None = None
    ) -> list[UserRecord]:
        """Every user matching the metadata filter and containing *partial_user_id*
        (case-insensitively) in its ID, newest first."""
        needle = None if partial_user_id is None else partial_user_id.casefold()
        matches = [
            user
            for user in self.users.values()
            if (metadata_filter is None or metadata_matches(user.metadata, metadata_filter))
            and (needle is None or needle in user.custom_user_id.casefold())
        ]
        matches.sort(key=lambda user: (user.created_at, user.seq), reverse=True)
        return matches

    def update_user(
        self,
        user_id: str,
        *,
        new_metadata: Mapping[str, Any] | None = None,
        new_user_id: str | None = None,
        merge_conflict_enabled: bool | None = None,
    ) -> UserRecord:
        """Apply the given changes; ``None`` means "leave unchanged"."""
        record = self.get_user(user_id)
        if new_user_id is not None and new_user_id != user_id and new_user_id in self.users:
            raise ApiError(409, f"User {clip_text(new_user_id)} already exists")
        changed = False
        if new_metadata is not None:
            record.metadata = copy.deepcopy(dict(new_metadata))
            changed = True
        if merge_conflict_enabled is not None:
            record.merge_conflict_enabled = merge_conflict_enabled
            changed = True
        if new_user_id is not None:
            if new_user_id != user_id:
                del self.users[user_id]
                record.custom_user_id = new_user_id
                self.users[new_user_id] = record
            changed = True
        if changed:
            record.last_active_at = self.clock()
        return record

    def delete_user(self, user_id: str) -> None:
        self.get_user(user_id)
        del self.users[user_id]


class Store:
    """Every project's data, created on first use, plus the lock guarding it."""

    def __init__(self, clock: Clock = utc_now, *, merge_conflicts_default: bool = False) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        """The base clock; the emulator's time is :meth:`now` (base + ``clock_offset``)."""
        self.clock_offset = timedelta(0)
        self.merge_conflicts_default = merge_conflicts_default
        self.session_control = SessionControl()
        self._projects: dict[str, ProjectStore] = {}

    def now(self) -> datetime:
        """The emulator's current time: the base clock moved forward by ``clock_offset``."""
        return self.clock() + self.clock_offset

    def projects(self) -> list[ProjectStore]:
        """Every project created so far."""
        with self.lock:
            return list(self._projects.values())

    def project(self, project_id: str) -> ProjectStore:
        with self.lock:
            project = self._projects.get(project_id)
            if project is None:
                project = ProjectStore(
                    clock=self.now,
                    merge_conflicts_default=self.merge_conflicts_default,
                    session_control=self.session_control,
                )
                self._projects[project_id] = project
            return project

    def reset(self) -> None:
        """Forget every project, rewind ``clock_offset`` and reset the session controls."""
        with self.lock:
            self._projects.clear()
            self.clock_offset = timedelta(0)
            self.session_control.reset()
