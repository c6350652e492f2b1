"""Merge conflicts: the wire record and the :class:`AsyncMergeConflict` resource (PROTOCOL.md §3.7, §5.5)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs

from ._converter import require_identity, structure, with_aliases
from ._encoding import api_path
from ._errors import ErrorContext
from ._models import (
    ClarifyingQuestion,
    ConflictingMemory,
    MergeConflictAnswer,
    MergeConflictStatus,
    NewMemory,
    _plain,
)
from ._pipeline import Pipeline
from ._raw import WithRawResponse
from .exceptions import MergeConflictAlreadyResolvedError, ValidationError

if TYPE_CHECKING:
    from ._users import AsyncUser

__all__ = ["AsyncMergeConflict", "MergeConflictRecord", "conflict_from_wire"]

_FINISHED = (MergeConflictStatus.RESOLVED, MergeConflictStatus.FAILED)


@attrs.define(kw_only=True)  # keyword-only, as the official model; not frozen: 3x cheaper
class MergeConflictRecord:
    """A merge conflict's fields as the server last reported them (nullable fields may be absent)."""

    id: str
    project_user_session_id: str
    status: MergeConflictStatus
    created_at: datetime
    conflicting_memories: list[ConflictingMemory]
    clarifying_questions: list[ClarifyingQuestion]
    proposed_memory_content: str | None = None
    new_memories: list[NewMemory] | None = None
    resolution_data: dict[str, Any] | None = None
    resolved_at: datetime | None = None
    custom_user_id: str | None = None


# The service's docs also key a conflict ``conflict_id`` and its new fact ``new_memory_content``.
_CONFLICT_ALIASES = {"id": "conflict_id", "proposed_memory_content": "new_memory_content"}


def conflict_from_wire(data: Any, expected_id: str | None = None) -> MergeConflictRecord:
    """Read a conflict from an answer, wrapped (``{"conflict": ...}``) or bare; it must be
    ``expected_id`` when given."""
    if isinstance(data, dict) and isinstance(data.get("conflict"), dict):
        data = data["conflict"]
    record = structure(with_aliases(data, _CONFLICT_ALIASES), MergeConflictRecord, "merge conflict")
    require_identity(record.id, expected_id, "merge conflict")
    if record.new_memories == []:  # an empty list means "none yet" (§3.7)
        record = attrs.evolve(record, new_memories=None)
    return record


def _answer_body(answers: Sequence[MergeConflictAnswer]) -> dict[str, Any]:
    if isinstance(answers, (str, bytes)) or not isinstance(answers, Sequence):
        raise ValidationError("answers must be a list of MergeConflictAnswer")
    entries = []
    for answer in answers:
        if not isinstance(answer, MergeConflictAnswer):
            raise ValidationError(f"answers must be MergeConflictAnswer values, got {answer!r}")
        if not isinstance(answer.question, str) or not isinstance(answer.answer, str):
            raise ValidationError("an answer's question and answer must be strings")
        if answer.message is not None and not isinstance(answer.message, str):
            raise ValidationError("an answer's message must be a string or None")
        entries.append(
            {"question": answer.question, "answer": answer.answer, "message": answer.message}
        )
    return {"answers": {"question_answers": entries}}


class AsyncMergeConflict:
    """A contradiction between a new fact and stored memories, waiting for the user's answers."""

    __slots__ = ("_pipeline", "_record", "_user")

    def __init__(self, pipeline: Pipeline, user: AsyncUser, record: MergeConflictRecord) -> None:
        self._pipeline = pipeline
        self._user = user
        self._record = record

    @property
    def with_raw_response(self) -> WithRawResponse[AsyncMergeConflict]:
        """This conflict's methods, each returning an ``APIResponse`` (status, headers, ``parse()``)."""
        return WithRawResponse(self)

    @property
    def conflict_id(self) -> str:
        """The conflict's ID (``id`` on the wire)."""
        return self._record.id

    @property
    def user_id(self) -> str:
        """The ID of the user the conflict belongs to."""
        return self._user.user_id

    @property
    def session_id(self) -> str:
        """The session in which the conflict arose (``project_user_session_id`` on the wire)."""
        return self._record.project_user_session_id

    @property
    def status(self) -> MergeConflictStatus:
        """Where the conflict is in its lifecycle, as of the last fetch."""
        return self._record.status

    @property
    def proposed_memory_content(self) -> str | None:
        """The new fact that caused the conflict."""
        return self._record.proposed_memory_content

    @property
    def conflicting_memories(self) -> list[ConflictingMemory]:
        """The stored memories the new fact contradicts."""
        return self._record.conflicting_memories

    @property
    def clarifying_questions(self) -> list[ClarifyingQuestion]:
        """The questions to answer in :meth:`resolve`, each with its options."""
        return self._record.clarifying_questions

    @property
    def new_memories(self) -> list[NewMemory] | None:
        """Memories the resolution created, once resolved."""
        return self._record.new_memories

    @property
    def resolution_data(self) -> dict[str, Any] | None:
        """Free-form details of the resolution."""
        return self._record.resolution_data

    @property
    def created_at(self) -> datetime:
        """When the conflict was raised (UTC)."""
        return self._record.created_at

    @property
    def resolved_at(self) -> datetime | None:
        """When the conflict was resolved (UTC), if it was."""
        return self._record.resolved_at

    def _path(self, *tail: str) -> str:
        return api_path("users", self._user.user_id, "merge-conflicts", self.conflict_id, *tail)

    async def refresh(
        self,
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> None:
        """Reload the conflict from the server."""
        call = self._pipeline.per_call(timeout, max_retries, extra_headers)
        data = await call.request(
            "GET", self._path(), context=ErrorContext("conflict", self._user.user_id)
        )
        self._record = conflict_from_wire(data, self.conflict_id)

    async def resolve(
        self,
        answers: Sequence[MergeConflictAnswer],
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> None:
        """Answer every clarifying question; the conflict then moves towards ``RESOLVED``.

        A conflict already known to be resolved or failed is refused without a request.
        """
        if self._record.status in _FINISHED:
            raise MergeConflictAlreadyResolvedError(
                f"Merge conflict {self.conflict_id} is already {self._record.status.value.lower()}"
            )
        body = _answer_body(answers)
        call = self._pipeline.per_call(timeout, max_retries, extra_headers)
        data = await call.request(
            "POST",
            self._path("resolve"),
            body=body,
            context=ErrorContext("conflict", self._user.user_id, "resolve"),
        )
        self._record = conflict_from_wire(data, self.conflict_id)

    def to_dict(self) -> dict[str, Any]:
        """The conflict as plain JSON-ready data."""
        data = {
            field.name: _plain(getattr(self._record, field.name))
            for field in attrs.fields(MergeConflictRecord)
        }
        data["conflict_id"] = data.pop("id")
        data["session_id"] = data.pop("project_user_session_id")
        del data["custom_user_id"]
        data["user_id"] = self.user_id
        return data

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(conflict_id={self.conflict_id!r}, user_id={self.user_id!r}, "
            f"status={self.status.value!r}, questions={len(self.clarifying_questions)})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AsyncMergeConflict):
            return NotImplemented
        return (self.user_id, self._record) == (other.user_id, other._record)

    __hash__ = None  # type: ignore[assignment]
