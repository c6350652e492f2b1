"""The generated fast structure hooks of the models (``recallrai._converter._structure_fn``).

Each model's hook reads well-formed answers itself and hands anything unusual to
cattrs' own generated hook. These tests hold the fast hook to the cattrs one: the
same value, or the same error, for every input.
"""

from __future__ import annotations

import enum
import types
import typing
from datetime import datetime, timedelta, timezone
from typing import Any

import attrs
import cattrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recallrai import exceptions
from recallrai._converter import converter, structure
from recallrai._merge_conflicts import MergeConflictRecord
from recallrai._models import (
    ClarifyingQuestion,
    ConflictingMemory,
    ConnectedMemory,
    Context,
    ContextMetadata,
    DateRangeFilter,
    Memory,
    MemoryVersion,
    MergeConflictAnswer,
    Message,
    NewMemory,
    UserMessage,
)
from recallrai._sessions import SessionRecord
from recallrai._users import UserRecord


@attrs.define
class Sample:
    """Every kind of field the generator handles, keyword-only ones first."""

    count: int = attrs.field(kw_only=True)
    name: str
    when: datetime
    anything: Any
    data: dict[str, Any]
    maybe_anything: Any | None = None
    flag: bool | None = None
    tags: list[str] = attrs.Factory(list)
    ratio: float | None = None
    nested: UserMessage | None = None


MODELS = [
    UserRecord,
    SessionRecord,
    MergeConflictRecord,
    Message,
    UserMessage,
    DateRangeFilter,
    ContextMetadata,
    Context,
    MemoryVersion,
    ConnectedMemory,
    Memory,
    ConflictingMemory,
    NewMemory,
    ClarifyingQuestion,
    MergeConflictAnswer,
    Sample,
]

UTC_TEXTS = st.datetimes(
    min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(timezone.utc)
).map(datetime.isoformat)
OTHER_TIMESTAMPS = st.sampled_from(
    [
        "2026-01-02T03:04:05Z",
        "2026-01-02T03:04:05.1234567Z",
        "2026-01-02T03:04:05",
        "2026-01-02T05:04:05+02:00",
        "not a date",
        "",
    ]
)
JUNK = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=5)
    | st.just([])
)  # no NaN: it is not equal to itself, so equal results would not compare equal


def values_of(kind: Any, depth: int = 0, *, strict: bool = False) -> st.SearchStrategy[Any]:
    """Mostly well-formed values of ``kind``, sometimes anything else; ``strict``: only
    values the fast hook reads itself."""
    origin, arguments = typing.get_origin(kind), typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        return st.one_of(*(values_of(argument, depth, strict=strict) for argument in arguments))
    if kind is type(None):
        return st.none()
    if kind is str:
        good: st.SearchStrategy[Any] = st.text(max_size=8)
    elif kind is bool:
        good = st.booleans()
    elif kind is int:
        good = st.integers()
    elif kind is float:
        good = st.floats(allow_nan=False) | st.integers()
    elif kind is datetime:
        good = UTC_TEXTS if strict else UTC_TEXTS | OTHER_TIMESTAMPS
    elif kind is Any:
        good = JUNK
    elif origin is dict:
        good = st.dictionaries(st.text(max_size=4), JUNK, max_size=3)
        good = good if strict else good | st.just({1: "x"})
    elif origin is list:
        good = st.lists(values_of(arguments[0], depth + 1, strict=strict), max_size=2)
    elif isinstance(kind, type) and issubclass(kind, enum.Enum):
        good = st.sampled_from([member.value for member in kind]) | st.text(max_size=4)
    elif attrs.has(kind):
        good = wire_objects(kind, depth + 1, strict=strict) if depth < 2 or strict else st.none()
    else:  # pragma: no cover - a new field type: teach this test about it
        raise AssertionError(f"no values for {kind!r}")
    return good if strict else st.one_of(good, good, good, JUNK)


def wire_objects(
    cls: type[Any], depth: int = 0, *, strict: bool = False
) -> st.SearchStrategy[dict[str, Any]]:
    """Wire objects for ``cls``: each field usually present, sometimes left out;
    ``strict``: every field without a default present, and well-formed."""
    fields = attrs.fields(attrs.resolve_types(cls))
    required = {
        field.name: values_of(field.type, depth, strict=True)
        for field in fields
        if strict and field.default is attrs.NOTHING
    }
    return st.fixed_dictionaries(
        required,
        optional={
            field.name: values_of(field.type, depth, strict=strict)
            for field in fields
            if field.name not in required
        },
    ).map(dict)


def outcome(hook: Any, cls: type[Any], data: Any) -> tuple[str, Any]:
    try:
        return "value", hook(data, cls)
    except cattrs.BaseValidationError as error:
        return "error", (type(error), cattrs.transform_error(error))
    except Exception as error:
        return "error", (type(error), str(error))


@pytest.mark.parametrize("cls", MODELS, ids=lambda cls: cls.__name__)
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_the_fast_hook_gives_what_cattrs_gives(cls: type[Any], data: st.DataObject) -> None:
    wire = data.draw(wire_objects(cls) | JUNK)
    hook = converter.get_structure_hook(cls)
    assert hook.detailed is not hook
    assert outcome(hook, cls, wire) == outcome(hook.detailed, cls, wire)


def _spy_on_cattrs(monkeypatch: pytest.MonkeyPatch, cls: type[Any]) -> list[Any]:
    hook = converter.get_structure_hook(cls)
    handed_over: list[Any] = []

    def detailed(data: Any, kind: Any) -> Any:
        handed_over.append(data)
        return hook.detailed(data, kind)

    monkeypatch.setitem(hook.__globals__, "detailed", detailed)
    return handed_over


@pytest.mark.parametrize("cls", MODELS, ids=lambda cls: cls.__name__)
@settings(max_examples=50, deadline=None)
@given(data=st.data())
def test_well_formed_answers_are_read_by_the_fast_hook_alone(
    cls: type[Any], data: st.DataObject
) -> None:
    wire = data.draw(wire_objects(cls, strict=True))
    expected = converter.get_structure_hook(cls).detailed(wire, cls)
    with pytest.MonkeyPatch.context() as monkeypatch:
        handed_over = _spy_on_cattrs(monkeypatch, cls)
        assert converter.get_structure_hook(cls)(wire, cls) == expected
    assert handed_over == []


WIRE_USER = {
    "custom_user_id": "u1",
    "metadata": {"plan": "pro"},
    "created_at": "2026-01-02T03:04:05.123456+00:00",
    "last_active_at": "2026-01-02T03:04:06+00:00",
}


def test_a_well_formed_user_is_read_without_cattrs_hook(monkeypatch: pytest.MonkeyPatch) -> None:
    handed_over = _spy_on_cattrs(monkeypatch, UserRecord)
    record = structure(WIRE_USER, UserRecord, "user")
    also = structure({**WIRE_USER, "merge_conflict_enabled": True}, UserRecord, "user")
    assert handed_over == []
    assert record == UserRecord(
        user_id="u1",
        metadata={"plan": "pro"},
        created_at=datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=timezone.utc),
        last_active_at=datetime(2026, 1, 2, 3, 4, 6, tzinfo=timezone.utc),
        merge_conflict_enabled=None,
    )
    assert also.merge_conflict_enabled is True


def test_a_well_formed_session_without_metadata_gets_a_fresh_dict_each(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    handed_over = _spy_on_cattrs(monkeypatch, SessionRecord)
    wire = {"session_id": "s1", "status": "pending", "created_at": "2026-01-02T03:04:05+00:00"}
    first, second = structure(wire, SessionRecord, "session"), structure(wire, SessionRecord, "s")
    assert handed_over == []
    assert first.metadata == {} and first.metadata is not second.metadata


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("custom_user_id", 7),
        ("metadata", ["not", "an", "object"]),
        ("metadata", {1: "non-string key"}),
        ("created_at", "2026-01-02T05:04:05+02:00"),  # another offset: converted by cattrs' hook
        ("last_active_at", 1700000000),
        ("merge_conflict_enabled", "yes"),
    ],
)
def test_anything_unusual_is_handed_to_cattrs(
    monkeypatch: pytest.MonkeyPatch, field: str, value: Any
) -> None:
    handed_over = _spy_on_cattrs(monkeypatch, UserRecord)
    wire = {**WIRE_USER, field: value}
    try:
        record = structure(wire, UserRecord, "user")
    except exceptions.MalformedResponseError as error:
        assert field in str(error)  # cattrs' detailed message names the field
    else:
        assert record.created_at == datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
        assert record.created_at.tzinfo is timezone.utc
    assert handed_over == [wire]


def test_a_missing_field_is_reported_by_name() -> None:
    wire = {key: value for key, value in WIRE_USER.items() if key != "created_at"}
    with pytest.raises(exceptions.MalformedResponseError, match="created_at"):
        structure(wire, UserRecord, "user")


def test_keyword_only_fields_are_passed_by_name() -> None:
    hook = converter.get_structure_hook(Sample)
    sample = hook(
        {
            "count": 3,
            "name": "n",
            "when": "2026-01-02T03:04:05+00:00",
            "anything": [1],
            "data": {},
            "ratio": 2,
        },
        Sample,
    )
    assert (sample.count, sample.name, sample.anything, sample.ratio) == (3, "n", [1], 2.0)
    assert sample.when == datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc) - timedelta(0)
