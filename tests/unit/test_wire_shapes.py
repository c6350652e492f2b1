"""Every object read in the shapes the service's documentation shows (PROTOCOL.md §13) and in
the full shapes of §3: nullable fields may be absent, alternative spellings are read, extra
fields are kept where the SDK knows them, and the fields the official client requires stay
required."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import httpx
import pytest
import respx

from recallrai import AsyncRecallrAI, RecallrAI, SessionStatus
from recallrai.exceptions import MalformedResponseError

from .conftest import API_KEY, BASE_URL, PROJECT_ID

pytestmark = pytest.mark.anyio

T0 = "2025-01-01T00:00:00Z"
T1 = "2025-02-03T04:05:06Z"
UTC_T1 = datetime(2025, 2, 3, 4, 5, 6, tzinfo=timezone.utc)

# ----------------------------------------------------------------------------- shapes

USER_FULL = {
    "custom_user_id": "u1",
    "metadata": {"plan": "pro"},
    "merge_conflict_enabled": True,
    "created_at": T0,
    "last_active_at": T1,
}
# The docs' examples omit the nullable override; a stale page keys the ID ``user_id``.
USER_DOC = {k: v for k, v in USER_FULL.items() if k != "merge_conflict_enabled"}
USER_STALE = {"user_id": "u1", **{k: v for k, v in USER_DOC.items() if k != "custom_user_id"}}

SESSION_FULL = {"session_id": "s1", "status": "pending", "created_at": T0, "metadata": {}}
# The docs add the owner, processing time and auto-processing delay (status completed,
# since the official client requires it).
SESSION_DOC = {
    **SESSION_FULL,
    "status": "processed",
    "user_id": "u1",
    "processed_at": T1,
    "auto_process_after_seconds": 900,
}

VERSION_FULL = {
    "memory_id": "m0",
    "version_number": 1,
    "content": "Lives in Paris",
    "event_date_start": T0,
    "event_date_end": T0,
    "created_at": T0,
    "expired_at": T1,
    "expiration_reason": "MERGE_CONFLICT",
    "merge_conflict_id": "c1",
}
VERSION_DOC = {k: v for k, v in VERSION_FULL.items() if k != "merge_conflict_id"}
MEMORY_FULL = {
    "memory_id": "m1",
    "categories": ["location"],
    "content": "Lives in Rome",
    "event_date_start": T1,
    "event_date_end": T1,
    "created_at": T1,
    "version_number": 2,
    "total_versions": 2,
    "has_previous_versions": True,
    "previous_versions": [VERSION_FULL],
    "connected_memories": [{"memory_id": "m9", "content": "Works in Rome"}],
    "merge_conflict_in_progress": False,
    "merge_conflict_id": None,
    "expired_at": None,
    "expiration_reason": None,
    "session_id": "s1",
}
MEMORY_NULLABLE = (
    "previous_versions",
    "connected_memories",
    "merge_conflict_id",
    "expired_at",
    "expiration_reason",
)
MEMORY_DOC = {
    **{k: v for k, v in MEMORY_FULL.items() if k not in MEMORY_NULLABLE},
    "previous_versions": [VERSION_DOC],
}

CONFLICTING = {
    "memory_id": "m1",
    "content": "Lives in Rome",
    "reason": "A different city",
    "event_date_start": T0,
    "event_date_end": T0,
    "created_at": T0,
}
NEW_MEMORY = {k: v for k, v in CONFLICTING.items() if k != "reason"}
QUESTION = {"question": "Where do you live?", "options": ["Rome", "Lisbon"]}
CONFLICT_FULL = {
    "id": "c1",
    "project_user_session_id": "s2",
    "proposed_memory_content": "Lives in Lisbon",
    "new_memories": [NEW_MEMORY],
    "conflicting_memories": [CONFLICTING],
    "clarifying_questions": [QUESTION],
    "status": "RESOLVED",
    "resolution_data": {"chosen": "Lisbon"},
    "created_at": T0,
    "resolved_at": T1,
}
CONFLICT_REQUIRED = (
    "project_user_session_id",
    "conflicting_memories",
    "clarifying_questions",
    "status",
    "created_at",
)
# A listed conflict in the docs: keyed ``id``, new content as ``new_memory_content``, with the
# owner's ID; the nullable resolution fields are left out.
CONFLICT_LIST_DOC = {
    "id": "c1",
    "custom_user_id": "u1",
    "project_user_session_id": "s2",
    "new_memory_content": "Lives in Lisbon",
    "conflicting_memories": [CONFLICTING],
    "clarifying_questions": [QUESTION],
    "status": "PENDING",
    "created_at": T0,
}
# A fetched or resolved conflict in the docs: keyed ``conflict_id``.
CONFLICT_GET_DOC = {
    "conflict_id": "c1",
    **{k: v for k, v in CONFLICT_LIST_DOC.items() if k not in ("id", "new_memory_content")},
    "proposed_memory_content": "Lives in Lisbon",
    "status": "IN_QUEUE",
}


def page(key: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    return {key: items, "total": len(items), "has_more": False}


async def _user(client: AsyncRecallrAI) -> Any:
    return await client.get_user("u1", validate=False)


# ----------------------------------------------------------------------------- users


@pytest.mark.parametrize("shape", [USER_FULL, USER_DOC, USER_STALE], ids=["full", "doc", "stale"])
async def test_user_shapes(
    api: respx.MockRouter, new_client: Callable[..., AsyncRecallrAI], shape: dict[str, Any]
) -> None:
    api.get("/api/v1/users/u1").mock(return_value=httpx.Response(200, json={"user": shape}))
    api.get("/api/v1/users").mock(return_value=httpx.Response(200, json=page("users", [shape])))
    async with new_client() as client:
        fetched = await client.get_user("u1")
        listed = (await client.list_users()).users[0]
    for user in (fetched, listed):
        assert user.user_id == "u1"
        assert user.metadata == {"plan": "pro"}
        assert user.last_active_at == UTC_T1
        assert user.merge_conflict_enabled is shape.get("merge_conflict_enabled")


async def test_user_prefers_custom_user_id_when_both_spellings_come(
    api: respx.MockRouter, new_client: Callable[..., AsyncRecallrAI]
) -> None:
    both = {**USER_FULL, "user_id": "other"}
    api.get("/api/v1/users/u1").mock(return_value=httpx.Response(200, json={"user": both}))
    async with new_client() as client:
        assert (await client.get_user("u1")).user_id == "u1"


# ----------------------------------------------------------------------------- sessions


async def test_session_full_shape_has_no_extra_fields(
    api: respx.MockRouter, new_client: Callable[..., AsyncRecallrAI]
) -> None:
    api.get("/api/v1/users/u1/sessions/s1").mock(
        return_value=httpx.Response(200, json={"session": SESSION_FULL})
    )
    async with new_client() as client:
        session = await (await _user(client)).get_session("s1")
    assert session.status is SessionStatus.PENDING
    assert session.processed_at is None and session.auto_process_after_seconds is None


async def test_session_doc_shape_exposes_the_extra_fields(
    api: respx.MockRouter, new_client: Callable[..., AsyncRecallrAI]
) -> None:
    api.get("/api/v1/users/u1/sessions/s1").mock(return_value=httpx.Response(200, json=SESSION_DOC))
    api.get("/api/v1/users/u1/sessions").mock(
        return_value=httpx.Response(200, json=page("sessions", [SESSION_DOC]))
    )
    async with new_client() as client:
        user = await _user(client)
        fetched = await user.get_session("s1")
        listed = (await user.list_sessions()).sessions[0]
    for session in (fetched, listed):
        assert session.status is SessionStatus.PROCESSED
        assert session.processed_at == UTC_T1
        assert session.auto_process_after_seconds == 900
        assert session.to_dict()["processed_at"] == "2025-02-03T04:05:06+00:00"
        assert session.to_dict()["auto_process_after_seconds"] == 900


@pytest.mark.parametrize(
    ("field", "value"),
    [("processed_at", None), ("auto_process_after_seconds", None), ("user_id", None)],
)
async def test_session_nullable_fields_accept_null(
    api: respx.MockRouter, new_client: Callable[..., AsyncRecallrAI], field: str, value: Any
) -> None:
    api.get("/api/v1/users/u1/sessions/s1").mock(
        return_value=httpx.Response(200, json={**SESSION_DOC, field: value})
    )
    async with new_client() as client:
        session = await (await _user(client)).get_session("s1")
    assert getattr(session, field) == ("u1" if field == "user_id" else None)


@pytest.mark.parametrize(
    ("field", "value"),
    [("status", None), ("processed_at", "yesterday"), ("auto_process_after_seconds", "600")],
)
async def test_session_fields_stay_precisely_typed(
    api: respx.MockRouter, new_client: Callable[..., AsyncRecallrAI], field: str, value: Any
) -> None:
    api.get("/api/v1/users/u1/sessions/s1").mock(
        return_value=httpx.Response(200, json={**SESSION_DOC, field: value})
    )
    async with new_client() as client:
        with pytest.raises(MalformedResponseError, match=field):
            await (await _user(client)).get_session("s1")


async def test_session_status_stays_required(
    api: respx.MockRouter, new_client: Callable[..., AsyncRecallrAI]
) -> None:
    shape = {k: v for k, v in SESSION_DOC.items() if k != "status"}
    api.get("/api/v1/users/u1/sessions/s1").mock(return_value=httpx.Response(200, json=shape))
    async with new_client() as client:
        with pytest.raises(MalformedResponseError, match="status"):
            await (await _user(client)).get_session("s1")


# ----------------------------------------------------------------------------- memories


async def test_memory_full_shape(
    api: respx.MockRouter, new_client: Callable[..., AsyncRecallrAI]
) -> None:
    api.get("/api/v1/users/u1/memory/m1").mock(return_value=httpx.Response(200, json=MEMORY_FULL))
    async with new_client() as client:
        memory = await (await _user(client)).get_memory("m1")
    assert memory.previous_versions is not None
    assert memory.previous_versions[0].merge_conflict_id == "c1"
    assert memory.connected_memories is not None
    assert memory.connected_memories[0].memory_id == "m9"


async def test_memory_doc_shape_reads_absent_nullables_as_none(
    api: respx.MockRouter, new_client: Callable[..., AsyncRecallrAI]
) -> None:
    bare = {k: v for k, v in MEMORY_DOC.items() if k != "previous_versions"}
    api.get("/api/v1/users/u1/memory/m1").mock(return_value=httpx.Response(200, json=MEMORY_DOC))
    api.get("/api/v1/users/u1/memories").mock(
        return_value=httpx.Response(200, json=page("items", [bare]))
    )
    async with new_client() as client:
        user = await _user(client)
        fetched = await user.get_memory("m1")
        listed = (await user.list_memories()).items[0]
    assert fetched.previous_versions is not None
    assert fetched.previous_versions[0].memory_id == "m0"
    assert fetched.previous_versions[0].merge_conflict_id is None
    for memory in (fetched, listed):
        assert memory.merge_conflict_id is None
        assert memory.expired_at is None and memory.expiration_reason is None
        assert memory.connected_memories is None
    assert listed.previous_versions is None


@pytest.mark.parametrize("field", ["memory_id", "expired_at", "expiration_reason"])
async def test_version_fields_the_official_client_requires_stay_required(
    api: respx.MockRouter, new_client: Callable[..., AsyncRecallrAI], field: str
) -> None:
    version = {k: v for k, v in VERSION_DOC.items() if k != field}
    shape = {**MEMORY_DOC, "previous_versions": [version]}
    api.get("/api/v1/users/u1/memory/m1").mock(return_value=httpx.Response(200, json=shape))
    async with new_client() as client:
        with pytest.raises(MalformedResponseError, match=field):
            await (await _user(client)).get_memory("m1")


# ----------------------------------------------------------------------------- conflicts


async def test_conflict_full_shape(
    api: respx.MockRouter, new_client: Callable[..., AsyncRecallrAI]
) -> None:
    api.get("/api/v1/users/u1/merge-conflicts/c1").mock(
        return_value=httpx.Response(200, json=CONFLICT_FULL)
    )
    async with new_client() as client:
        conflict = await (await _user(client)).get_merge_conflict("c1")
    assert conflict.conflict_id == "c1" and conflict.session_id == "s2"
    assert conflict.proposed_memory_content == "Lives in Lisbon"
    assert conflict.new_memories is not None and conflict.new_memories[0].memory_id == "m1"
    assert conflict.resolution_data == {"chosen": "Lisbon"} and conflict.resolved_at == UTC_T1


async def test_conflict_doc_shapes_read_both_spellings(
    api: respx.MockRouter, new_client: Callable[..., AsyncRecallrAI]
) -> None:
    api.get("/api/v1/users/u1/merge-conflicts").mock(
        return_value=httpx.Response(200, json=page("conflicts", [CONFLICT_LIST_DOC]))
    )
    api.get("/api/v1/users/u1/merge-conflicts/c1").mock(
        return_value=httpx.Response(200, json=CONFLICT_GET_DOC)
    )
    resolve = api.post("/api/v1/users/u1/merge-conflicts/c1/resolve").mock(
        return_value=httpx.Response(200, json=CONFLICT_GET_DOC)
    )
    async with new_client() as client:
        user = await _user(client)
        listed = (await user.list_merge_conflicts()).conflicts[0]
        fetched = await user.get_merge_conflict("c1")
        await listed.resolve([])
    assert resolve.called  # the ID read from ``id`` built the path
    for conflict in (listed, fetched):
        assert conflict.conflict_id == "c1"
        assert conflict.proposed_memory_content == "Lives in Lisbon"
        assert conflict.new_memories is None and conflict.resolution_data is None
        assert conflict.resolved_at is None
        assert conflict.to_dict()["user_id"] == "u1"
    assert listed.status.value == "IN_QUEUE"  # updated from the resolve answer


async def test_conflict_prefers_the_usual_spellings_when_both_come(
    api: respx.MockRouter, new_client: Callable[..., AsyncRecallrAI]
) -> None:
    both = {**CONFLICT_FULL, "conflict_id": "other", "new_memory_content": "other"}
    api.get("/api/v1/users/u1/merge-conflicts/c1").mock(return_value=httpx.Response(200, json=both))
    async with new_client() as client:
        conflict = await (await _user(client)).get_merge_conflict("c1")
    assert (conflict.conflict_id, conflict.proposed_memory_content) == ("c1", "Lives in Lisbon")


@pytest.mark.parametrize("field", CONFLICT_REQUIRED)
async def test_conflict_required_fields_stay_required(
    api: respx.MockRouter, new_client: Callable[..., AsyncRecallrAI], field: str
) -> None:
    shape = {k: v for k, v in CONFLICT_LIST_DOC.items() if k != field}
    api.get("/api/v1/users/u1/merge-conflicts/c1").mock(
        return_value=httpx.Response(200, json=shape)
    )
    async with new_client() as client:
        with pytest.raises(MalformedResponseError, match=field):
            await (await _user(client)).get_merge_conflict("c1")


async def test_conflict_without_any_id_is_malformed(
    api: respx.MockRouter, new_client: Callable[..., AsyncRecallrAI]
) -> None:
    shape = {k: v for k, v in CONFLICT_LIST_DOC.items() if k != "id"}
    api.get("/api/v1/users/u1/merge-conflicts/c1").mock(
        return_value=httpx.Response(200, json=shape)
    )
    async with new_client() as client:
        with pytest.raises(MalformedResponseError, match="id"):
            await (await _user(client)).get_merge_conflict("c1")


async def test_listed_conflicting_memories_keep_their_required_fields(
    api: respx.MockRouter, new_client: Callable[..., AsyncRecallrAI]
) -> None:
    # One docs example shows only ``content`` and ``reason``; the official client needs all six.
    thin = {"content": "Lives in Rome", "reason": "A different city"}
    shape = {**CONFLICT_LIST_DOC, "conflicting_memories": [thin]}
    api.get("/api/v1/users/u1/merge-conflicts").mock(
        return_value=httpx.Response(200, json=page("conflicts", [shape]))
    )
    async with new_client() as client:
        with pytest.raises(MalformedResponseError, match="memory_id"):
            await (await _user(client)).list_merge_conflicts()


# ----------------------------------------------------------------------------- sync facade


def test_sync_facade_reads_the_doc_shapes(api: respx.MockRouter) -> None:
    api.get("/api/v1/users").mock(return_value=httpx.Response(200, json=page("users", [USER_DOC])))
    api.get("/api/v1/users/u1/sessions/s1").mock(return_value=httpx.Response(200, json=SESSION_DOC))
    api.get("/api/v1/users/u1/merge-conflicts").mock(
        return_value=httpx.Response(200, json=page("conflicts", [CONFLICT_LIST_DOC]))
    )
    with RecallrAI(
        API_KEY, PROJECT_ID, base_url=BASE_URL, transport="httpx", max_retries=0
    ) as client:
        user = client.list_users().users[0]
        assert user.merge_conflict_enabled is None
        session = user.get_session("s1")
        assert session.processed_at == UTC_T1 and session.auto_process_after_seconds == 900
        conflict = user.list_merge_conflicts().conflicts[0]
        assert conflict.proposed_memory_content == "Lives in Lisbon"


@pytest.mark.parametrize(
    ("items", "match"),
    [
        ([SESSION_FULL, {**SESSION_FULL, "created_at": 5}], r"Malformed session .*created_at"),
        ([SESSION_FULL, "not an object"], "Malformed session"),
    ],
)
async def test_a_malformed_page_item_is_named_precisely(
    api: respx.MockRouter, new_client: Callable[..., AsyncRecallrAI], items: list[Any], match: str
) -> None:
    """Pages are read fast in one pass; a bad item still gets the per-item error message.

    (Listed users are read lazily: tests/unit/test_errors.py.)"""
    api.get("/api/v1/users/u1/sessions").mock(
        return_value=httpx.Response(200, json=page("sessions", items))
    )
    async with new_client() as client:
        user = await client.get_user("u1", validate=False)
        with pytest.raises(MalformedResponseError, match=match):
            await user.list_sessions()


async def test_a_page_mixing_both_id_spellings_reads_each_item(
    api: respx.MockRouter, new_client: Callable[..., AsyncRecallrAI]
) -> None:
    doc_style = {key: value for key, value in USER_DOC.items() if key != "custom_user_id"}
    doc_style["user_id"] = "u2"
    api.get("/api/v1/users").mock(
        return_value=httpx.Response(200, json=page("users", [USER_FULL, doc_style]))
    )
    async with new_client() as client:
        users = (await client.list_users()).users
    assert [user.user_id for user in users] == ["u1", "u2"]
