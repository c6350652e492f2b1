"""The wire ⇄ model converter: user records, strict primitives, UTC datetimes (PROTOCOL §1.6, §3.1)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
import respx
from hypothesis import given, settings
from hypothesis import strategies as st

from recallrai import AsyncRecallrAI, AsyncUser
from recallrai import exceptions as exc
from recallrai._converter import format_datetime, parse_datetime
from recallrai._users import user_from_wire
from recallrai.exceptions import NotLoadedError

UTC = timezone.utc

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=20,
)
metadata_objects = st.dictionaries(st.text(max_size=8), json_values, max_size=6)
offsets = st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
aware_datetimes = st.datetimes(
    min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1), timezones=offsets
)
naive_datetimes = st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1))


@st.composite
def timestamp_texts(draw: st.DrawFn) -> tuple[str, datetime]:
    """A wire timestamp text and the instant it denotes (naive texts mean UTC)."""
    if draw(st.booleans()):
        value = draw(aware_datetimes)
        instant = value
    else:
        value = draw(naive_datetimes)
        instant = value.replace(tzinfo=UTC)
    spec = draw(st.sampled_from(["auto", "seconds", "milliseconds", "microseconds"]))
    text = value.isoformat(timespec=spec)
    if spec == "seconds":
        instant = instant.replace(microsecond=0)
    elif spec == "milliseconds":
        instant = instant.replace(microsecond=instant.microsecond // 1000 * 1000)
    if text.endswith("+00:00") and draw(st.booleans()):
        text = text[: -len("+00:00")] + draw(st.sampled_from(["Z", "z"]))
    return text, instant


def _assert_utc(value: datetime) -> None:
    assert value.tzinfo is not None
    assert value.utcoffset() == timedelta(0)


@settings(max_examples=200, deadline=None)
@given(
    user_id=st.text(min_size=1, max_size=20),
    metadata=metadata_objects,
    flag=st.none() | st.booleans(),
    created=timestamp_texts(),
    active=timestamp_texts(),
    wrapped=st.booleans(),
    extra=st.dictionaries(st.sampled_from(["plan_id", "extra", "x"]), json_values, max_size=2),
)
def test_user_record_round_trip_from_wire_json(
    user_id, metadata, flag, created, active, wrapped, extra
):
    wire = {
        **extra,
        "custom_user_id": user_id,
        "metadata": metadata,
        "merge_conflict_enabled": flag,
        "created_at": created[0],
        "last_active_at": active[0],
    }
    data = json.loads(json.dumps({"user": wire} if wrapped else wire))
    record = user_from_wire(data)
    assert record.custom_user_id == user_id
    assert record.metadata == metadata
    assert record.merge_conflict_enabled is flag
    assert record.created_at == created[1]
    assert record.last_active_at == active[1]
    _assert_utc(record.created_at)
    _assert_utc(record.last_active_at)


@settings(max_examples=200, deadline=None)
@given(timestamp_texts())
def test_timestamps_come_out_utc_and_equal(case):
    text, instant = case
    parsed = parse_datetime(text)
    _assert_utc(parsed)
    assert parsed == instant
    # Same wall clock as the instant seen from UTC, not just the same instant.
    assert parsed.replace(tzinfo=None) == instant.astimezone(UTC).replace(tzinfo=None)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-06-15T14:30:00Z", datetime(2025, 6, 15, 14, 30, tzinfo=UTC)),
        ("2025-06-15T14:30:00+00:00", datetime(2025, 6, 15, 14, 30, tzinfo=UTC)),
        ("2025-06-15T16:30:00+02:00", datetime(2025, 6, 15, 14, 30, tzinfo=UTC)),
        ("2025-06-15T09:00:00-05:30", datetime(2025, 6, 15, 14, 30, tzinfo=UTC)),
        ("2025-06-15T14:30:00", datetime(2025, 6, 15, 14, 30, tzinfo=UTC)),
        ("2025-06-15T14:30:00.1Z", datetime(2025, 6, 15, 14, 30, 0, 100000, tzinfo=UTC)),
        ("2025-06-15T14:30:00.12Z", datetime(2025, 6, 15, 14, 30, 0, 120000, tzinfo=UTC)),
        ("2025-06-15T14:30:00.123Z", datetime(2025, 6, 15, 14, 30, 0, 123000, tzinfo=UTC)),
        ("2025-06-15T14:30:00.1234567Z", datetime(2025, 6, 15, 14, 30, 0, 123456, tzinfo=UTC)),
        (
            "2025-06-15T14:30:00.123456789+01:00",
            datetime(2025, 6, 15, 13, 30, 0, 123456, tzinfo=UTC),
        ),
        ("2025-01-01T00:30:00+01:00", datetime(2024, 12, 31, 23, 30, tzinfo=UTC)),
        (" 2025-06-15T14:30:00Z ", datetime(2025, 6, 15, 14, 30, tzinfo=UTC)),
    ],
)
def test_timestamp_examples(text, expected):
    parsed = parse_datetime(text)
    assert parsed == expected
    assert parsed.utcoffset() == timedelta(0)
    assert (parsed.year, parsed.month, parsed.day, parsed.hour) == (
        expected.year,
        expected.month,
        expected.day,
        expected.hour,
    )


@pytest.mark.parametrize(
    "value", ["garbage", "", "2025-02-30T00:00:00Z", "yesterday", 1735689600, None, True, [], {}]
)
def test_bad_timestamps_are_malformed(value):
    wire = {
        "custom_user_id": "u1",
        "metadata": {},
        "merge_conflict_enabled": None,
        "created_at": value,
        "last_active_at": "2025-01-01T00:00:00Z",
    }
    with pytest.raises(exc.MalformedResponseError) as info:
        user_from_wire(wire)
    assert "created_at" in info.value.message


def _valid_wire() -> dict[str, Any]:
    return {
        "custom_user_id": "u1",
        "metadata": {"k": [1, 2]},
        "merge_conflict_enabled": False,
        "created_at": "2025-01-01T00:00:00Z",
        "last_active_at": "2025-01-01T00:00:00Z",
    }


wrong_ids = (
    st.integers()
    | st.floats(allow_nan=False)
    | st.booleans()
    | st.none()
    | st.lists(st.text(), max_size=2)
)
wrong_flags = (
    st.integers()
    | st.text()
    | st.floats(allow_nan=False)
    | st.lists(st.booleans(), max_size=2)
    | st.just({})
)
wrong_metadata = (
    st.none() | st.integers() | st.text() | st.booleans() | st.lists(st.integers(), max_size=3)
)
wrong_times = (
    st.integers()
    | st.floats(allow_nan=False)
    | st.booleans()
    | st.none()
    | st.text(alphabet="abcxyz!? ", max_size=8)
)


@settings(max_examples=150, deadline=None)
@given(
    st.one_of(
        st.tuples(st.just("custom_user_id"), wrong_ids),
        st.tuples(st.just("merge_conflict_enabled"), wrong_flags),
        st.tuples(st.just("metadata"), wrong_metadata),
        st.tuples(st.sampled_from(["created_at", "last_active_at"]), wrong_times),
    )
)
def test_wrongly_typed_fields_are_never_coerced(case):
    field, value = case
    wire = _valid_wire()
    wire[field] = value
    with pytest.raises(exc.MalformedResponseError):
        user_from_wire(wire)


@pytest.mark.parametrize("data", [None, [], "user", 5, {"user": None}, {"user": []}])
def test_non_object_user_answers_are_malformed(data):
    with pytest.raises(exc.MalformedResponseError):
        user_from_wire(data)


def test_metadata_keys_must_be_strings_on_the_wire_too():
    # json.loads always gives string keys; a Python caller handing ints is still refused.
    wire = _valid_wire()
    wire["metadata"] = {1: "a"}
    with pytest.raises(exc.MalformedResponseError):
        user_from_wire(wire)


# --------------------------------------------------------------------------- formatting and to_dict


@settings(max_examples=100, deadline=None)
@given(aware_datetimes)
def test_format_datetime_is_utc_iso_and_round_trips(value):
    text = format_datetime(value)
    assert text.endswith("+00:00")
    assert parse_datetime(text) == value
    assert datetime.fromisoformat(text) == value


async def _loaded_user(
    client: AsyncRecallrAI, router: respx.MockRouter, wire: dict[str, Any]
) -> AsyncUser:
    """An AsyncUser as the client builds it from a get-user answer carrying ``wire``."""
    router.route().mock(return_value=httpx.Response(200, json={"user": wire}))
    return await client.get_user(wire["custom_user_id"])


@pytest.mark.anyio
async def test_to_dict_of_a_loaded_user(api, new_client):
    wire = {
        "custom_user_id": "alice",
        "metadata": {"name": "José", "tags": ["a", None]},
        "merge_conflict_enabled": True,
        "created_at": "2025-06-15T16:30:00+02:00",
        "last_active_at": "2025-06-15T14:30:00.250Z",
    }
    async with new_client() as client:
        user = await _loaded_user(client, api, wire)
    assert user.to_dict() == {
        "user_id": "alice",
        "metadata": {"name": "José", "tags": ["a", None]},
        "merge_conflict_enabled": True,
        "created_at": "2025-06-15T14:30:00+00:00",
        "last_active_at": "2025-06-15T14:30:00.250000+00:00",
    }
    json.dumps(user.to_dict())  # JSON-ready


@pytest.mark.anyio
async def test_to_dict_of_an_unloaded_user(api, new_client):
    async with new_client() as client:
        user = await client.get_user("bob", validate=False)
    assert user.to_dict() == {"user_id": "bob"}
    assert not user.is_loaded
    assert repr(user) == "AsyncUser(user_id='bob', <not loaded>)"
    for field in ("metadata", "merge_conflict_enabled", "created_at", "last_active_at"):
        with pytest.raises(NotLoadedError, match="'bob' was referenced with validate=False"):
            getattr(user, field)


@pytest.mark.anyio
@settings(max_examples=40, deadline=None)
@given(
    user_id=st.text(min_size=1, max_size=10).filter(lambda s: s.strip() != ""),
    metadata=metadata_objects,
    flag=st.none() | st.booleans(),
    created=timestamp_texts(),
    active=timestamp_texts(),
)
async def test_to_dict_round_trips_through_the_wire_form(user_id, metadata, flag, created, active):
    wire = {
        "custom_user_id": user_id,
        "metadata": metadata,
        "merge_conflict_enabled": flag,
        "created_at": created[0],
        "last_active_at": active[0],
    }
    with respx.mock(base_url="http://127.0.0.1:9", assert_all_called=False) as router:
        async with AsyncRecallrAI(
            "rai_k", "p", base_url="http://127.0.0.1:9", transport="httpx", max_retries=0
        ) as client:
            user = await _loaded_user(client, router, json.loads(json.dumps(wire)))
    as_dict = user.to_dict()
    assert as_dict["created_at"].endswith("+00:00")
    assert datetime.fromisoformat(as_dict["created_at"]) == created[1]
    assert datetime.fromisoformat(as_dict["last_active_at"]) == active[1]
    again = json.loads(json.dumps(as_dict))
    again["custom_user_id"] = again.pop("user_id")
    assert user_from_wire(again) == user_from_wire(wire)


@pytest.mark.anyio
async def test_user_from_client_carries_the_answer(api, new_client, wire_user):
    answer = wire_user(
        "alice",
        metadata={"n": 1.5},
        merge_conflict_enabled=False,
        created_at="2025-03-01T12:00:00+05:00",
    )
    api.post("/api/v1/users").mock(return_value=httpx.Response(201, json={"user": answer}))
    async with new_client() as client:
        user = await client.create_user("alice")
    assert user.to_dict() == {
        "user_id": "alice",
        "metadata": {"n": 1.5},
        "merge_conflict_enabled": False,
        "created_at": "2025-03-01T07:00:00+00:00",
        "last_active_at": "2025-01-02T03:04:05+00:00",
    }
    assert user.created_at == datetime(2025, 3, 1, 7, tzinfo=UTC)


@pytest.mark.anyio
async def test_client_adopts_the_server_user_id(api, new_client, wire_user):
    # PROTOCOL §3.1: the client adopts the returned custom_user_id for later requests.
    api.put("/api/v1/users/old").mock(
        return_value=httpx.Response(200, json={"user": wire_user("new")})
    )
    follow_up = api.get("/api/v1/users/new").mock(
        return_value=httpx.Response(200, json={"user": wire_user("new")})
    )
    async with new_client() as client:
        user = await client.get_user("old", validate=False)
        await user.update(new_user_id="new")
        assert user.user_id == "new"
        await user.refresh()
    assert follow_up.call_count == 1


@pytest.mark.anyio
async def test_users_compare_by_id_and_record_and_are_unhashable(api, new_client, wire_user):
    async with new_client() as client:
        a = await _loaded_user(client, api, wire_user("u1"))
        b = await _loaded_user(client, api, wire_user("u1"))
        c = await _loaded_user(client, api, wire_user("u1", metadata={"other": 1}))
    assert a == b
    assert a != c
    with pytest.raises(TypeError):
        hash(a)
