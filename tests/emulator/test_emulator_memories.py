"""Memories and merge conflicts of the emulator over real HTTP (PROTOCOL.md
5.4, 5.5, 10.17-10.20 and sections 12, 13), plus the extraction rules themselves."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

import aiohttp
import pytest

from recallrai.emulator import Emulator
from recallrai.emulator._memories import CATEGORIES, categories_for, extract_facts

from ._support import Api, Clock, encode_id, own_emulator, parse_ts, query

pytestmark = pytest.mark.anyio

MEMORY_KEYS = {
    "memory_id",
    "categories",
    "content",
    "event_date_start",
    "event_date_end",
    "created_at",
    "version_number",
    "total_versions",
    "has_previous_versions",
    "previous_versions",
    "connected_memories",
    "merge_conflict_in_progress",
    "merge_conflict_id",
    "expired_at",
    "expiration_reason",
    "session_id",
}
VERSION_KEYS = {
    "memory_id",
    "version_number",
    "content",
    "event_date_start",
    "event_date_end",
    "created_at",
    "expired_at",
    "expiration_reason",
    "merge_conflict_id",
}
CONFLICT_KEYS = {
    "id",
    "project_user_session_id",
    "proposed_memory_content",
    "new_memories",
    "conflicting_memories",
    "clarifying_questions",
    "status",
    "resolution_data",
    "created_at",
    "resolved_at",
}
NEW_MEMORY_KEYS = {"memory_id", "content", "event_date_start", "event_date_end", "created_at"}

Message = str | tuple[str, str]


async def settle(api: Api, user_id: str, session_id: str) -> None:
    """Finish the session's processing at once."""
    api.emulator.settle()
    reply = await api.request("GET", f"/api/v1/users/{encode_id(user_id)}/sessions/{session_id}")
    assert reply.status == 200, reply
    assert reply.json()["session"]["status"] == "processed"


async def remember(
    api: Api, user_id: str, *messages: Message, metadata: dict[str, Any] | None = None
) -> str:
    """Create a session with *messages* (bare strings are user messages),
    process it and wait for the result; returns the session ID."""
    base = f"/api/v1/users/{encode_id(user_id)}/sessions"
    reply = await api.request(
        "POST", base, json_body={"auto_process_after_seconds": 600, "metadata": metadata or {}}
    )
    assert reply.status == 201, reply
    session_id: str = reply.json()["session"]["session_id"]
    for message in messages:
        role, text = ("user", message) if isinstance(message, str) else message
        sent = await api.request(
            "POST", f"{base}/{session_id}/add-message", json_body={"message": text, "role": role}
        )
        assert sent.status == 200, sent
    processed = await api.request("POST", f"{base}/{session_id}/process", body=b"")
    assert processed.status == 200, processed
    await settle(api, user_id, session_id)
    return session_id


async def list_memories(api: Api, user_id: str = "u1", **params: Any) -> dict[str, Any]:
    target = f"/api/v1/users/{encode_id(user_id)}/memories"
    if params:
        target += "?" + query(**params)
    reply = await api.request("GET", target)
    assert reply.status == 200, reply
    assert reply.content_type == "application/json"
    page: dict[str, Any] = reply.json()
    assert set(page) == {"items", "total", "has_more"}
    return page


async def contents(api: Api, user_id: str = "u1", **params: Any) -> list[str]:
    page = await list_memories(api, user_id, limit=200, **params)
    return [item["content"] for item in page["items"]]


async def get_memory(api: Api, memory_id: str, user_id: str = "u1", **params: Any) -> Any:
    target = f"/api/v1/users/{encode_id(user_id)}/memory/{encode_id(memory_id)}"
    if params:
        target += "?" + query(**params)
    reply = await api.request("GET", target)
    assert reply.status == 200, reply
    return reply.json()


async def by_content(api: Api, user_id: str = "u1") -> dict[str, dict[str, Any]]:
    page = await list_memories(api, user_id, limit=200)
    return {item["content"]: item for item in page["items"]}


async def conflicts(api: Api, user_id: str = "u1", **params: Any) -> dict[str, Any]:
    target = f"/api/v1/users/{encode_id(user_id)}/merge-conflicts"
    if params:
        target += "?" + query(**params)
    reply = await api.request("GET", target)
    assert reply.status == 200, reply
    page: dict[str, Any] = reply.json()
    assert set(page) == {"conflicts", "total", "has_more"}
    return page


async def resolve(
    api: Api, conflict_id: str, answers: Sequence[dict[str, Any]], user_id: str = "u1"
) -> tuple[int, Any]:
    reply = await api.request(
        "POST",
        f"/api/v1/users/{encode_id(user_id)}/merge-conflicts/{encode_id(conflict_id)}/resolve",
        json_body={"answers": {"question_answers": list(answers)}},
    )
    return reply.status, reply.json()


async def get_conflict(api: Api, conflict_id: str, user_id: str = "u1") -> dict[str, Any]:
    reply = await api.request(
        "GET", f"/api/v1/users/{encode_id(user_id)}/merge-conflicts/{encode_id(conflict_id)}"
    )
    assert reply.status == 200, reply
    conflict: dict[str, Any] = reply.json()
    return conflict


async def resolve_fully(
    api: Api, conflict_id: str, answers: Sequence[dict[str, Any]], user_id: str = "u1"
) -> dict[str, Any]:
    """Resolve (answered ``IN_QUEUE``), finish it with ``settle()`` and return the
    ``RESOLVED`` conflict."""
    status, queued = await resolve(api, conflict_id, answers, user_id)
    assert (status, queued["status"]) == (200, "IN_QUEUE"), queued
    api.emulator.settle()
    resolved = await get_conflict(api, conflict_id, user_id)
    assert resolved["status"] == "RESOLVED"
    return resolved


def answer(question: str, choice: str, message: str | None = None) -> dict[str, Any]:
    return {"question": question, "answer": choice, "message": message}


async def open_conflict(
    api: Api, old: str = "I live in Paris", new: str = "I live in Rome", user_id: str = "u1"
) -> dict[str, Any]:
    """A user with merge conflicts on, a memory *old* and a pending conflict proposing *new*."""
    await api.create_user(user_id, merge_conflict_enabled=True)
    await remember(api, user_id, old)
    await remember(api, user_id, new)
    page = await conflicts(api, user_id)
    assert page["total"] == 1
    conflict: dict[str, Any] = page["conflicts"][0]
    return conflict


# -- the extraction rules (pure functions) --------------------------------------------


NOW = datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I love sushi", [("I love sushi", "i love sushi")]),
        ("I love sushi!", [("I love sushi", "i love sushi")]),
        ("  i LIVE   in Paris.  ", [("i LIVE   in Paris", "i live in")]),
        ("I live at 5 Main Street", [("I live at 5 Main Street", "i live at")]),
        (
            "I work at Acme. I work for Globex",
            [("I work at Acme", "i work at"), ("I work for Globex", "i work for")],
        ),
        ("I'm from Berlin", [("I'm from Berlin", "i am from")]),
        ("I\u2019m called Bob", [("I\u2019m called Bob", "i am called")]),
        ("I am named Ann", [("I am named Ann", "i am named")]),
        ("I am allergic to nuts", [("I am allergic to nuts", "i am allergic to nuts")]),
        ("My favourite colour is blue.", [("My favourite colour is blue", "my favourite colour")]),
        ("MY  Dog's Name IS Rex", [("MY  Dog's Name IS Rex", "my dog's name")]),
        ("Hello! How are you? I like tea.", [("I like tea", "i like tea")]),
        (
            "Line one\nI like tea\r\nMy car is red",
            [("I like tea", "i like tea"), ("My car is red", "my car")],
        ),
        (
            "I like tea?! I like tea...",
            [("I like tea", "i like tea"), ("I like tea", "i like tea")],
        ),
        ("Do I like tea? I", []),
        ("I work", []),
        ("I 2 things", []),
        ("My is blue", []),
        ("Mystery is fun", []),
        ("Is my car red", []),
        ("", []),
    ],
)
def test_fact_extraction(text: str, expected: list[tuple[str, str]]) -> None:
    facts = extract_facts(text, NOW)
    assert [(f.content, f.subject) for f in facts] == expected
    assert all(f.timestamp == NOW for f in facts)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("I love sushi", ["food_preferences"]),
        ("I am allergic to peanuts", ["allergies"]),
        ("I am allergic to fish", ["allergies", "food_preferences"]),
        ("I live in Paris", ["location"]),
        ("I work at Acme", ["work"]),
        ("I moved to a new city for my job", ["location", "work"]),
        ("My favourite colour is blue", ["general"]),
        ("I love sushi-bars", ["food_preferences"]),
        ("I love sushis", ["general"]),
    ],
)
def test_categories(content: str, expected: list[str]) -> None:
    assert categories_for(content) == expected
    assert set(expected) <= set(CATEGORIES)


def test_defined_categories() -> None:
    assert CATEGORIES == ("allergies", "food_preferences", "location", "work", "general")


# -- processing -------------------------------------------------------------------------


async def test_processing_turns_user_facts_into_memories(api: Api) -> None:
    await api.create_user("u1")
    before = datetime.now(timezone.utc)
    session_id = await remember(
        api,
        "u1",
        "Hi there! I love sushi. My favourite colour is blue.",
        ("assistant", "I love pizza. My name is Bot."),
        "What's up? I live in Paris",
    )
    after = datetime.now(timezone.utc)
    messages = (
        await api.request("GET", f"/api/v1/users/u1/sessions/{session_id}/messages?limit=100")
    ).json()["messages"]
    stamps = [parse_ts(m["timestamp"]) for m in messages if m["role"] == "user"]

    page = await list_memories(api)
    assert page["total"] == 3
    assert page["has_more"] is False
    items = page["items"]
    # newest first: created together, so in reverse creation order
    assert [m["content"] for m in items] == [
        "I live in Paris",
        "My favourite colour is blue",
        "I love sushi",
    ]
    for item in items:
        assert set(item) == MEMORY_KEYS
        assert item["version_number"] == 1
        assert item["total_versions"] == 1
        assert item["has_previous_versions"] is False
        assert item["previous_versions"] == []
        assert item["merge_conflict_in_progress"] is False
        assert item["merge_conflict_id"] is None
        assert item["expired_at"] is None
        assert item["expiration_reason"] is None
        assert item["session_id"] == session_id
        assert before <= parse_ts(item["created_at"]) <= after
        assert item["event_date_start"] == item["event_date_end"]
    paris, colour, sushi = items
    assert parse_ts(sushi["event_date_start"]) == stamps[0]
    assert parse_ts(colour["event_date_start"]) == stamps[0]
    assert parse_ts(paris["event_date_start"]) == stamps[1]
    assert sushi["categories"] == ["food_preferences"]
    assert colour["categories"] == ["general"]
    assert paris["categories"] == ["location"]
    assert len({m["memory_id"] for m in items}) == 3
    # connected: the other current memories of the same session, newest first
    assert paris["connected_memories"] == [
        {"memory_id": colour["memory_id"], "content": colour["content"]},
        {"memory_id": sushi["memory_id"], "content": sushi["content"]},
    ]
    assert sushi["connected_memories"] == [
        {"memory_id": paris["memory_id"], "content": paris["content"]},
        {"memory_id": colour["memory_id"], "content": colour["content"]},
    ]
    assert await get_memory(api, sushi["memory_id"]) == sushi


async def test_non_exclusive_facts_coexist_and_duplicates_are_dropped(api: Api) -> None:
    await api.create_user("u1", merge_conflict_enabled=True)
    await remember(api, "u1", "I love sushi. I love pizza.")
    await remember(api, "u1", "i LOVE  sushi! I live in Paris. I live in paris")
    assert await contents(api) == ["I live in Paris", "I love pizza", "I love sushi"]
    assert (await conflicts(api))["total"] == 0


async def test_memories_of_different_sessions_are_not_connected(api: Api) -> None:
    await api.create_user("u1")
    first = await remember(api, "u1", "I love sushi")
    second = await remember(api, "u1", "I love tea. I like jazz")
    memories = await by_content(api)
    assert memories["I love sushi"]["session_id"] == first
    assert memories["I love sushi"]["connected_memories"] == []
    assert memories["I love tea"]["session_id"] == second
    assert memories["I love tea"]["connected_memories"] == [
        {"memory_id": memories["I like jazz"]["memory_id"], "content": "I like jazz"}
    ]
    # newest first across sessions
    assert await contents(api) == ["I like jazz", "I love tea", "I love sushi"]


async def test_session_without_facts_creates_nothing(api: Api) -> None:
    await api.create_user("u1")
    await remember(api, "u1", "hello", ("assistant", "I love sushi"))
    await remember(api, "u1")
    assert await list_memories(api) == {"items": [], "total": 0, "has_more": False}


# -- list memories: paging, flags, validation -------------------------------------------


async def test_pagination(api: Api) -> None:
    await api.create_user("u1")
    await remember(api, "u1", *[f"I like thing{i}" for i in range(5)])
    everything = await contents(api)
    assert everything == [f"I like thing{i}" for i in reversed(range(5))]
    page = await list_memories(api, offset=1, limit=2)
    assert [m["content"] for m in page["items"]] == everything[1:3]
    assert (page["total"], page["has_more"]) == (5, True)
    page = await list_memories(api, offset=3, limit=2)
    assert [m["content"] for m in page["items"]] == everything[3:]
    assert (page["total"], page["has_more"]) == (5, False)
    page = await list_memories(api, offset=9, limit=200)
    assert page == {"items": [], "total": 5, "has_more": False}
    default = await list_memories(api)
    assert len(default["items"]) == 5


async def test_default_limit_is_20(api: Api) -> None:
    await api.create_user("u1")
    await remember(api, "u1", *[f"I like thing{i}" for i in range(21)])
    page = await list_memories(api)
    assert (len(page["items"]), page["total"], page["has_more"]) == (20, 21, True)


async def test_flags_switch_versions_and_connections_off(api: Api) -> None:
    await api.create_user("u1")
    await remember(api, "u1", "I love sushi. I love tea")
    for flag in ("false", "0", "no", "off", "FALSE", "n", "f"):
        target = (
            f"/api/v1/users/u1/memories?include_previous_versions={flag}"
            f"&include_connected_memories={flag}"
        )
        items = (await api.request("GET", target)).json()["items"]
        assert [(m["previous_versions"], m["connected_memories"]) for m in items] == [
            (None, None),
            (None, None),
        ]
    page = await list_memories(
        api, include_previous_versions=True, include_connected_memories=False
    )
    assert [(m["previous_versions"], m["connected_memories"]) for m in page["items"]] == [
        ([], None),
        ([], None),
    ]
    memory_id = page["items"][0]["memory_id"]
    single = await get_memory(
        api, memory_id, include_previous_versions=False, include_connected_memories=True
    )
    assert single["previous_versions"] is None
    assert single["connected_memories"] == [
        {"memory_id": page["items"][1]["memory_id"], "content": "I love sushi"}
    ]


@pytest.mark.parametrize(
    ("params", "loc"),
    [
        ("limit=0", ["query", "limit"]),
        ("limit=201", ["query", "limit"]),
        ("limit=x", ["query", "limit"]),
        ("offset=-1", ["query", "offset"]),
        ("include_previous_versions=maybe", ["query", "include_previous_versions"]),
        ("include_connected_memories=", ["query", "include_connected_memories"]),
        ("session_metadata_filter=%7Bbad", ["query", "session_metadata_filter"]),
        ("session_metadata_filter=%5B1%5D", ["query", "session_metadata_filter"]),
    ],
)
async def test_list_validation_is_422(api: Api, params: str, loc: list[str]) -> None:
    await api.create_user("u1")
    reply = await api.request("GET", f"/api/v1/users/u1/memories?{params}")
    assert reply.status == 422
    assert [error["loc"] for error in reply.json()["detail"]] == [loc]


async def test_limit_bounds_are_inclusive(api: Api) -> None:
    await api.create_user("u1")
    for limit in (1, 200):
        await list_memories(api, limit=limit)


async def test_list_memories_of_missing_user(api: Api) -> None:
    reply = await api.request("GET", "/api/v1/users/nobody/memories")
    assert reply.status == 404
    assert reply.json() == {"detail": "User nobody not found"}
    # the user is checked before the categories
    reply = await api.request("GET", "/api/v1/users/nobody/memories?categories=nope")
    assert reply.status == 404


# -- filters ----------------------------------------------------------------------------


async def test_invalid_categories(api: Api) -> None:
    await api.create_user("u1")
    reply = await api.request(
        "GET",
        "/api/v1/users/u1/memories?"
        + query(categories=["food_preferences", "hobbies", "Work", "hobbies", "x y"]),
    )
    assert reply.status == 400
    assert reply.json() == {
        "detail": {
            "message": "Invalid categories",
            "invalid_categories": ["hobbies", "Work", "x y"],
        }
    }


async def test_filters_combine_with_and(api: Api) -> None:
    await api.create_user("u1")
    chat = await remember(
        api, "u1", "I love sushi. I live in Paris", metadata={"env": "prod", "n": 1}
    )
    test = await remember(
        api, "u1", "I love tea. I work at Acme", metadata={"env": "test", "n": 1.0}
    )
    other = await remember(api, "u1", "I am allergic to fish")

    assert await contents(api, categories=["food_preferences"]) == [
        "I am allergic to fish",
        "I love tea",
        "I love sushi",
    ]
    assert await contents(api, categories=["work", "location"]) == [
        "I work at Acme",
        "I live in Paris",
    ]
    assert await contents(api, categories=["general"]) == []
    assert await contents(api, session_id_filter=[chat]) == ["I live in Paris", "I love sushi"]
    assert await contents(api, session_id_filter=[other, chat]) == [
        "I am allergic to fish",
        "I live in Paris",
        "I love sushi",
    ]
    assert await contents(api, session_id_filter=["unknown"]) == []
    assert await contents(api, session_metadata_filter={"env": "test"}) == [
        "I work at Acme",
        "I love tea",
    ]
    assert await contents(api, session_metadata_filter={"n": 1}) == [
        "I work at Acme",
        "I love tea",
        "I live in Paris",
        "I love sushi",
    ]
    assert await contents(api, session_metadata_filter={"n": True}) == []
    assert await contents(api, session_metadata_filter={}) == await contents(api)
    assert await contents(
        api,
        categories=["food_preferences"],
        session_id_filter=[chat, test],
        session_metadata_filter={"env": "prod"},
    ) == ["I love sushi"]
    page = await list_memories(api, categories=["food_preferences"], offset=1, limit=1)
    assert [m["content"] for m in page["items"]] == ["I love tea"]
    assert (page["total"], page["has_more"]) == (3, True)


# -- versions (merge conflicts off) -------------------------------------------------------


async def test_contradiction_without_conflicts_makes_a_new_version(api: Api) -> None:
    await api.create_user("u1")
    first = await remember(api, "u1", "I live in Paris. I love sushi")
    old = (await by_content(api))["I live in Paris"]
    second = await remember(api, "u1", "I live in Rome")
    third = await remember(api, "u1", "I live in Oslo")

    assert await contents(api) == ["I live in Oslo", "I love sushi"]
    assert (await conflicts(api))["total"] == 0
    current = (await by_content(api))["I live in Oslo"]
    assert current["version_number"] == 3
    assert current["total_versions"] == 3
    assert current["has_previous_versions"] is True
    assert current["session_id"] == third
    assert current["categories"] == ["location"]
    assert current["expired_at"] is None
    assert current["memory_id"] != old["memory_id"]
    previous = current["previous_versions"]
    assert [v["content"] for v in previous] == ["I live in Rome", "I live in Paris"]
    assert [v["version_number"] for v in previous] == [2, 1]
    for version in previous:
        assert set(version) == VERSION_KEYS
        assert version["expiration_reason"] == "NEW_VERSION"
        assert version["merge_conflict_id"] is None
    assert previous[1]["memory_id"] == old["memory_id"]
    assert previous[1]["created_at"] == old["created_at"]
    assert previous[1]["event_date_start"] == old["event_date_start"]
    assert parse_ts(previous[1]["expired_at"]) == parse_ts(previous[0]["created_at"])
    assert parse_ts(previous[0]["expired_at"]) == parse_ts(current["created_at"])

    # an old version's ID describes that version
    expired = await get_memory(api, old["memory_id"])
    assert expired["content"] == "I live in Paris"
    assert expired["version_number"] == 1
    assert expired["total_versions"] == 3
    assert expired["previous_versions"] == []
    assert expired["expired_at"] == previous[1]["expired_at"]
    assert expired["expiration_reason"] == "NEW_VERSION"
    assert expired["session_id"] == first
    assert expired["merge_conflict_in_progress"] is False
    # connections are between current memories of one session
    assert expired["connected_memories"] == [
        {
            "memory_id": (await by_content(api))["I love sushi"]["memory_id"],
            "content": "I love sushi",
        }
    ]
    middle = await get_memory(api, previous[0]["memory_id"])
    assert middle["session_id"] == second
    assert [v["version_number"] for v in middle["previous_versions"]] == [1]


async def test_same_session_contradiction_versions_in_order(api: Api) -> None:
    await api.create_user("u1", merge_conflict_enabled=False)
    await remember(api, "u1", "My car is red. My car is blue")
    (item,) = (await list_memories(api))["items"]
    assert item["content"] == "My car is blue"
    assert item["version_number"] == 2
    assert item["connected_memories"] == []


# -- get / delete one memory ---------------------------------------------------------------


async def test_get_memory_errors(api: Api) -> None:
    reply = await api.request("GET", "/api/v1/users/nobody/memory/m1")
    assert (reply.status, reply.json()) == (404, {"detail": "User nobody not found"})
    await api.create_user("u1")
    reply = await api.request("GET", "/api/v1/users/u1/memory/m1")
    assert (reply.status, reply.json()) == (404, {"detail": "Memory m1 not found"})
    reply = await api.request("GET", "/api/v1/users/u1/memory/m1?include_previous_versions=2")
    assert reply.status == 422
    # a memory of another user is not found
    await api.create_user("u2")
    await remember(api, "u2", "I love sushi")
    (theirs,) = (await list_memories(api, "u2"))["items"]
    reply = await api.request("GET", f"/api/v1/users/u1/memory/{theirs['memory_id']}")
    assert reply.status == 404
    # and one of another project neither
    reply = await api.request(
        "GET", f"/api/v1/users/u2/memory/{theirs['memory_id']}", project_id="other"
    )
    assert (reply.status, reply.json()) == (404, {"detail": "User u2 not found"})


async def test_delete_memory_errors(api: Api) -> None:
    reply = await api.request("DELETE", "/api/v1/users/nobody/memory/m1")
    assert (reply.status, reply.json()) == (404, {"detail": "User nobody not found"})
    await api.create_user("u1")
    reply = await api.request("DELETE", "/api/v1/users/u1/memory/m1?delete_previous_versions=false")
    assert (reply.status, reply.json()) == (404, {"detail": "Memory m1 not found"})
    reply = await api.request("DELETE", "/api/v1/users/u1/memory/m1?delete_previous_versions=x")
    assert reply.status == 422
    # other methods on these paths are unknown routes
    reply = await api.request("POST", "/api/v1/users/u1/memory/m1")
    assert (reply.status, reply.body) == (404, b"404 page not found")
    reply = await api.request("DELETE", "/api/v1/users/u1/memories")
    assert (reply.status, reply.body) == (404, b"404 page not found")


async def _three_versions(api: Api) -> list[str]:
    """IDs of versions 1, 2, 3 of one memory (plus an unrelated memory)."""
    await api.create_user("u1")
    await remember(api, "u1", "I live in Paris. I love tea")
    await remember(api, "u1", "I live in Rome")
    await remember(api, "u1", "I live in Oslo")
    current = (await by_content(api))["I live in Oslo"]
    older = [v["memory_id"] for v in reversed(current["previous_versions"])]
    return [*older, current["memory_id"]]


async def test_deleting_the_latest_version_reinstates_the_previous(api: Api) -> None:
    v1, v2, v3 = await _three_versions(api)
    reply = await api.request(
        "DELETE", f"/api/v1/users/u1/memory/{v3}?delete_previous_versions=false"
    )
    assert (reply.status, reply.body) == (204, b"")
    assert await contents(api) == ["I live in Rome", "I love tea"]
    reply = await api.request("GET", f"/api/v1/users/u1/memory/{v3}")
    assert reply.status == 404
    latest = (await by_content(api))["I live in Rome"]
    assert latest["memory_id"] == v2
    assert (latest["expired_at"], latest["expiration_reason"]) == (None, None)
    assert latest["merge_conflict_id"] is None
    assert (latest["version_number"], latest["total_versions"]) == (2, 2)
    assert latest["has_previous_versions"] is True
    assert [v["memory_id"] for v in latest["previous_versions"]] == [v1]
    # and again: the first version is all that is left
    assert (await api.request("DELETE", f"/api/v1/users/u1/memory/{v2}")).status == 204
    (first,) = [m for m in (await list_memories(api))["items"] if m["memory_id"] == v1]
    assert (first["version_number"], first["total_versions"]) == (1, 1)
    assert (first["has_previous_versions"], first["previous_versions"]) == (False, [])
    assert first["expired_at"] is None


async def test_deleting_a_middle_version_relinks_the_chain(api: Api) -> None:
    v1, v2, v3 = await _three_versions(api)
    reply = await api.request("DELETE", f"/api/v1/users/u1/memory/{v2}")  # flag defaults to false
    assert reply.status == 204
    current = (await by_content(api))["I live in Oslo"]
    assert current["memory_id"] == v3
    # renumbered: the latest's version_number equals total_versions
    assert (current["version_number"], current["total_versions"]) == (2, 2)
    (older,) = current["previous_versions"]
    assert (older["memory_id"], older["version_number"]) == (v1, 1)
    assert older["expiration_reason"] == "NEW_VERSION"
    assert (await api.request("GET", f"/api/v1/users/u1/memory/{v2}")).status == 404
    assert (await get_memory(api, v1))["total_versions"] == 2


async def test_deleting_the_first_version_renumbers_the_rest(api: Api) -> None:
    v1, v2, v3 = await _three_versions(api)
    assert (await api.request("DELETE", f"/api/v1/users/u1/memory/{v1}")).status == 204
    current = (await by_content(api))["I live in Oslo"]
    assert (current["memory_id"], current["version_number"], current["total_versions"]) == (
        v3,
        2,
        2,
    )
    assert [(v["memory_id"], v["version_number"]) for v in current["previous_versions"]] == [
        (v2, 1)
    ]


@pytest.mark.parametrize("addressed", [0, 1, 2])
async def test_delete_previous_versions_deletes_the_whole_chain(api: Api, addressed: int) -> None:
    versions = await _three_versions(api)
    reply = await api.request(
        "DELETE",
        f"/api/v1/users/u1/memory/{versions[addressed]}?delete_previous_versions=true",
    )
    assert reply.status == 204
    assert await contents(api) == ["I love tea"]
    for gone in versions:
        assert (await api.request("GET", f"/api/v1/users/u1/memory/{gone}")).status == 404


# -- merge conflicts -----------------------------------------------------------------------


async def test_contradiction_opens_a_conflict(api: Api) -> None:
    await api.create_user("u1", merge_conflict_enabled=True)
    await remember(api, "u1", "I live in Paris")
    old = (await list_memories(api))["items"][0]
    before = datetime.now(timezone.utc)
    session_id = await remember(api, "u1", "I love tea. I live in Rome.")
    after = datetime.now(timezone.utc)

    # the memories are unchanged apart from the flag
    memories = await by_content(api)
    assert set(memories) == {"I live in Paris", "I love tea"}
    paris = memories["I live in Paris"]
    assert paris["merge_conflict_in_progress"] is True
    assert {**paris, "merge_conflict_in_progress": False} == old
    assert memories["I love tea"]["merge_conflict_in_progress"] is False

    page = await conflicts(api)
    assert (page["total"], page["has_more"]) == (1, False)
    conflict = page["conflicts"][0]
    assert set(conflict) == CONFLICT_KEYS
    assert conflict["project_user_session_id"] == session_id
    assert conflict["proposed_memory_content"] == "I live in Rome"
    assert conflict["new_memories"] is None
    assert conflict["status"] == "PENDING"
    assert conflict["resolution_data"] is None
    assert conflict["resolved_at"] is None
    assert before <= parse_ts(conflict["created_at"]) <= after
    (conflicting,) = conflict["conflicting_memories"]
    assert set(conflicting) == NEW_MEMORY_KEYS | {"reason"}
    assert conflicting["memory_id"] == old["memory_id"]
    assert conflicting["content"] == "I live in Paris"
    for key in ("event_date_start", "event_date_end", "created_at"):
        assert conflicting[key] == old[key]
    assert "I live in Rome" in conflicting["reason"]
    assert conflict["clarifying_questions"] == [
        {
            "question": 'Which is correct for "I live in"?',
            "options": ["I live in Paris", "I live in Rome", "Both"],
        }
    ]
    reply = await api.request("GET", f"/api/v1/users/u1/merge-conflicts/{conflict['id']}")
    assert reply.status == 200
    assert reply.json() == conflict  # bare, not wrapped

    # the same proposal again opens no second conflict; a different one does
    await remember(api, "u1", "I live in Rome")
    assert (await conflicts(api))["total"] == 1
    await remember(api, "u1", "I live in Oslo")
    assert (await conflicts(api))["total"] == 2


async def test_conflict_setting_follows_user_then_project(api: Api) -> None:
    await api.create_user("inherit")
    await api.create_user("off", merge_conflict_enabled=False)
    await api.create_user("on", merge_conflict_enabled=True)
    for user_id in ("inherit", "off", "on"):
        await remember(api, user_id, "My car is red")
        await remember(api, user_id, "My car is blue")
    # the shared emulator's project default is off
    assert (await conflicts(api, "inherit"))["total"] == 0
    assert (await conflicts(api, "off"))["total"] == 0
    assert (await conflicts(api, "on"))["total"] == 1
    assert await contents(api, "inherit") == ["My car is blue"]
    assert await contents(api, "on") == ["My car is red"]
    # the override can change later
    reply = await api.request(
        "PUT", "/api/v1/users/on", json_body={"merge_conflict_enabled": False}
    )
    assert reply.status == 200
    await remember(api, "on", "My car is green")
    assert await contents(api, "on") == ["My car is green"]


async def test_project_default_on_survives_reset() -> None:
    async with Emulator(merge_conflicts_default=True) as emu, aiohttp.ClientSession() as session:
        assert emu.merge_conflicts_default is True
        api = Api(session, emu)
        for _ in range(2):
            await api.create_user("inherit")
            await api.create_user("off", merge_conflict_enabled=False)
            for user_id in ("inherit", "off"):
                await remember(api, user_id, "My car is red")
                await remember(api, user_id, "My car is blue")
            assert (await conflicts(api, "inherit"))["total"] == 1
            assert (await conflicts(api, "off"))["total"] == 0
            emu.reset()
            assert emu.merge_conflicts_default is True
    assert Emulator().merge_conflicts_default is False


async def test_conflict_404s(api: Api) -> None:
    for method, tail, body in (
        ("GET", "", None),
        ("POST", "/resolve", {"answers": {"question_answers": []}}),
    ):
        reply = await api.request(
            method, f"/api/v1/users/nobody/merge-conflicts/c1{tail}", json_body=body
        )
        assert (reply.status, reply.json()) == (404, {"detail": "User nobody not found"})
    reply = await api.request("GET", "/api/v1/users/nobody/merge-conflicts")
    assert (reply.status, reply.json()) == (404, {"detail": "User nobody not found"})
    await api.create_user("u1")
    for method, tail, body in (
        ("GET", "", None),
        ("POST", "/resolve", {"answers": {"question_answers": []}}),
    ):
        reply = await api.request(
            method, f"/api/v1/users/u1/merge-conflicts/c1{tail}", json_body=body
        )
        assert (reply.status, reply.json()) == (404, {"detail": "Merge conflict c1 not found"})
    assert await conflicts(api) == {"conflicts": [], "total": 0, "has_more": False}


async def test_resolve_errors_in_order(api: Api) -> None:
    conflict = await open_conflict(api)
    cid = conflict["id"]
    question = conflict["clarifying_questions"][0]["question"]

    status, body = await resolve(
        api,
        cid,
        [answer("Who?", "x"), answer(question, "nope"), answer("It's?", "y"), answer("Who?", "z")],
    )
    assert status == 400
    assert body == {
        "detail": "Invalid questions provided. The following questions do not match the "
        "original questions: ['Who?', \"It's?\"]"
    }
    status, body = await resolve(api, cid, [])
    assert status == 400
    assert body == {
        "detail": "Missing answers for the following questions: ['Which is correct for \"I live in\"?']"
    }
    status, body = await resolve(api, cid, [answer(question, "I live in rome")])
    assert status == 400
    assert body == {
        "detail": "Invalid answer 'I live in rome' for question 'Which is correct for \"I live in\"?'. "
        "Valid options are: ['I live in Paris', 'I live in Rome', 'Both']"
    }
    # nothing was changed by the refused attempts
    reply = await api.request("GET", f"/api/v1/users/u1/merge-conflicts/{cid}")
    assert reply.json() == conflict

    status, body = await resolve(api, cid, [answer(question, "Both")])
    assert (status, body["status"]) == (200, "IN_QUEUE")
    # while in flight, any second resolve is refused (before the answers are checked)
    status, body = await resolve(api, cid, [answer("Who?", "x")])
    assert (status, body) == (
        400,
        {"detail": f"Merge conflict {cid} is already resolved or being resolved"},
    )
    api.emulator.settle()
    status, body = await resolve(api, cid, [answer("Who?", "x")])
    assert (status, body) == (400, {"detail": f"Merge conflict {cid} is already resolved"})


async def test_resolution_runs_in_the_background() -> None:
    clock = Clock()
    async with own_emulator(clock=clock, processing_delay=10) as api:
        conflict = await open_conflict(api)
        cid = conflict["id"]
        question = conflict["clarifying_questions"][0]["question"]
        paris = (await list_memories(api))["items"][0]
        clock.tick(100)
        queued_at = clock.now

        status, queued = await resolve(api, cid, [answer(question, "I live in Rome")])
        assert status == 200
        assert set(queued) == CONFLICT_KEYS
        assert queued["id"] == cid  # the section 3 spellings
        assert queued["proposed_memory_content"] == "I live in Rome"
        assert queued["status"] == "IN_QUEUE"
        assert (queued["resolved_at"], queued["new_memories"], queued["resolution_data"]) == (
            None,
            None,
            None,
        )
        assert {**queued, "status": "PENDING"} == conflict

        async def listed(status: str) -> list[str]:
            return [c["id"] for c in (await conflicts(api, status=status))["conflicts"]]

        async def unchanged() -> None:
            """The memory is untouched and still flagged while the resolution is in flight."""
            (memory,) = (await list_memories(api))["items"]
            assert memory == paris
            assert memory["merge_conflict_in_progress"] is True

        async def refused_in_flight() -> None:
            reply = await resolve(api, cid, [answer(question, "Both")])
            detail = f"Merge conflict {cid} is already resolved or being resolved"
            assert reply == (400, {"detail": detail})

        # first half of processing_delay: IN_QUEUE
        clock.tick(4.9)
        assert await get_conflict(api, cid) == queued
        assert await listed("IN_QUEUE") == [cid]
        assert await listed("PENDING") == []
        await unchanged()
        await refused_in_flight()
        # second half: RESOLVING
        clock.tick(0.1)
        resolving = await get_conflict(api, cid)
        assert resolving == {**queued, "status": "RESOLVING"}
        assert (await listed("RESOLVING"), await listed("IN_QUEUE")) == ([cid], [])
        await unchanged()
        await refused_in_flight()
        # after processing_delay: RESOLVED, and only now the memories change
        clock.tick(4.9)
        await unchanged()
        clock.tick(0.1)
        clock.tick(60)  # the resolution time is when it finished, not when it was seen
        resolved = await get_conflict(api, cid)
        assert resolved["status"] == "RESOLVED"
        assert parse_ts(resolved["resolved_at"]) == queued_at + timedelta(seconds=10)
        assert resolved["resolution_data"]["applied"] == "new_version"
        (rome,) = (await list_memories(api))["items"]
        assert (rome["content"], rome["version_number"]) == ("I live in Rome", 2)
        assert rome["merge_conflict_in_progress"] is False
        assert rome["created_at"] == resolved["resolved_at"]
        assert resolved["new_memories"] == [{key: rome[key] for key in NEW_MEMORY_KEYS}]
        assert await listed("RESOLVED") == [cid]
        reply = await resolve(api, cid, [answer(question, "Both")])
        assert reply == (400, {"detail": f"Merge conflict {cid} is already resolved"})


async def test_settle_finishes_resolutions_at_once() -> None:
    clock = Clock()
    async with own_emulator(clock=clock, processing_delay=3600) as api:
        await api.create_user("u1", merge_conflict_enabled=True)
        await remember(api, "u1", "I live in Paris. My car is red")
        await remember(api, "u1", "I live in Rome. My car is blue")
        found = (await conflicts(api))["conflicts"]
        for conflict in found:
            choice = conflict["clarifying_questions"][0]["options"][1]
            question = conflict["clarifying_questions"][0]["question"]
            assert (await resolve(api, conflict["id"], [answer(question, choice)]))[0] == 200
        clock.tick(1)
        api.emulator.settle()
        for conflict in found:
            resolved = await get_conflict(api, conflict["id"])
            assert resolved["status"] == "RESOLVED"
            assert parse_ts(resolved["resolved_at"]) == clock.now
        assert await contents(api) == ["My car is blue", "I live in Rome"]


async def test_a_session_and_a_resolution_apply_in_the_order_they_finish() -> None:
    clock = Clock()
    async with own_emulator(clock=clock, processing_delay=10) as api:
        conflict = await open_conflict(api)
        question = conflict["clarifying_questions"][0]["question"]
        await api.request("PUT", "/api/v1/users/u1", json_body={"merge_conflict_enabled": False})
        assert (await resolve(api, conflict["id"], [answer(question, "I live in Rome")]))[0] == 200
        # a session stating a third place finishes processing after the resolution
        clock.tick(1)
        sid = (await api.request("POST", "/api/v1/users/u1/sessions", json_body={})).json()[
            "session"
        ]["session_id"]
        base = f"/api/v1/users/u1/sessions/{sid}"
        message = {"message": "I live in Oslo", "role": "user"}
        assert (await api.request("POST", f"{base}/add-message", json_body=message)).status == 200
        assert (await api.request("POST", f"{base}/process")).status == 200
        clock.tick(20)  # both are due by the next request
        (current,) = (await list_memories(api))["items"]
        assert [current["content"], *(v["content"] for v in current["previous_versions"])] == [
            "I live in Oslo",
            "I live in Rome",
            "I live in Paris",
        ]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"answers": None},
        {"answers": []},
        {"answers": {}},
        {"answers": {"question_answers": {}}},
        {"answers": {"question_answers": ["q"]}},
        {"answers": {"question_answers": [{"question": "q"}]}},
        {"answers": {"question_answers": [{"answer": "a"}]}},
        {"answers": {"question_answers": [{"question": 1, "answer": "a"}]}},
        {"answers": {"question_answers": [{"question": "q", "answer": "a", "message": 5}]}},
        [],
    ],
)
async def test_malformed_resolve_body_is_422(api: Api, body: object) -> None:
    conflict = await open_conflict(api)
    reply = await api.request(
        "POST", f"/api/v1/users/u1/merge-conflicts/{conflict['id']}/resolve", json_body=body
    )
    assert reply.status == 422
    assert isinstance(reply.json()["detail"], list)
    for raw in (b"", b"{", b"\xff"):
        reply = await api.request(
            "POST", f"/api/v1/users/u1/merge-conflicts/{conflict['id']}/resolve", body=raw
        )
        assert reply.status == 422


async def test_resolve_with_the_new_content(api: Api) -> None:
    conflict = await open_conflict(api)
    old_id = conflict["conflicting_memories"][0]["memory_id"]
    question = conflict["clarifying_questions"][0]["question"]
    before = datetime.now(timezone.utc)
    resolved = await resolve_fully(
        api, conflict["id"], [answer(question, "I live in Rome", "moved in May")]
    )
    after = datetime.now(timezone.utc)
    assert set(resolved) == CONFLICT_KEYS
    assert before <= parse_ts(resolved["resolved_at"]) <= after
    assert resolved["resolution_data"] == {
        "answers": [answer(question, "I live in Rome", "moved in May")],
        "applied": "new_version",
        "memory_id": old_id,
    }
    for key in ("id", "project_user_session_id", "proposed_memory_content", "created_at"):
        assert resolved[key] == conflict[key]
    assert resolved["conflicting_memories"] == conflict["conflicting_memories"]
    assert resolved["clarifying_questions"] == conflict["clarifying_questions"]

    (current,) = (await list_memories(api))["items"]
    assert current["content"] == "I live in Rome"
    assert (current["version_number"], current["total_versions"]) == (2, 2)
    assert current["session_id"] == conflict["project_user_session_id"]
    assert current["merge_conflict_in_progress"] is False
    assert current["created_at"] == resolved["resolved_at"]
    (version,) = current["previous_versions"]
    assert version["memory_id"] == old_id
    assert version["expiration_reason"] == "MERGE_CONFLICT"
    assert version["merge_conflict_id"] == conflict["id"]
    assert version["expired_at"] == resolved["resolved_at"]
    expired = await get_memory(api, old_id)
    assert expired["merge_conflict_id"] == conflict["id"]
    assert expired["expiration_reason"] == "MERGE_CONFLICT"
    assert resolved["new_memories"] == [{key: current[key] for key in NEW_MEMORY_KEYS}]

    # deleting the new version reinstates the old one, no longer expired by the conflict
    assert (
        await api.request("DELETE", f"/api/v1/users/u1/memory/{current['memory_id']}")
    ).status == 204
    (reinstated,) = (await list_memories(api))["items"]
    assert reinstated["memory_id"] == old_id
    assert (reinstated["expired_at"], reinstated["expiration_reason"]) == (None, None)
    assert reinstated["merge_conflict_id"] is None
    assert (reinstated["version_number"], reinstated["total_versions"]) == (1, 1)


async def test_resolve_keeping_the_existing_memory(api: Api) -> None:
    conflict = await open_conflict(api)
    before = await list_memories(api)
    question = conflict["clarifying_questions"][0]["question"]
    resolved = await resolve_fully(api, conflict["id"], [answer(question, "I live in Paris")])
    assert resolved["new_memories"] == []
    assert resolved["resolution_data"]["applied"] == "kept_existing"
    after = await list_memories(api)
    assert after["items"][0]["merge_conflict_in_progress"] is False
    assert after["items"][0] == {**before["items"][0], "merge_conflict_in_progress": False}


async def test_resolve_keeping_both(api: Api) -> None:
    conflict = await open_conflict(api)
    question = conflict["clarifying_questions"][0]["question"]
    # a question answered twice counts with its last answer
    resolved = await resolve_fully(
        api, conflict["id"], [answer(question, "I live in Paris"), answer(question, "Both")]
    )
    assert resolved["resolution_data"]["applied"] == "kept_both"
    memories = await by_content(api)
    assert set(memories) == {"I live in Rome", "I live in Paris"}
    rome = memories["I live in Rome"]
    assert (rome["version_number"], rome["total_versions"]) == (1, 1)
    assert rome["session_id"] == conflict["project_user_session_id"]
    assert resolved["new_memories"] == [{key: rome[key] for key in NEW_MEMORY_KEYS}]
    assert memories["I live in Paris"]["total_versions"] == 1
    # a later contradiction conflicts with the original memory only
    await remember(api, "u1", "I live in Oslo")
    newest = (await conflicts(api, status="PENDING"))["conflicts"]
    assert [c["conflicting_memories"][0]["content"] for c in newest] == ["I live in Paris"]


async def test_resolve_after_the_memory_was_deleted(api: Api) -> None:
    conflict = await open_conflict(api)
    question = conflict["clarifying_questions"][0]["question"]
    old_id = conflict["conflicting_memories"][0]["memory_id"]
    assert (await api.request("DELETE", f"/api/v1/users/u1/memory/{old_id}")).status == 204
    reply = await api.request("GET", f"/api/v1/users/u1/merge-conflicts/{conflict['id']}")
    assert reply.json() == conflict  # snapshots survive
    resolved = await resolve_fully(api, conflict["id"], [answer(question, "I live in Rome")])
    (memory,) = (await list_memories(api))["items"]
    assert memory["content"] == "I live in Rome"
    assert memory["total_versions"] == 1
    assert resolved["new_memories"][0]["memory_id"] == memory["memory_id"]


async def test_resolve_after_the_memory_changed(api: Api) -> None:
    conflict = await open_conflict(api)
    question = conflict["clarifying_questions"][0]["question"]
    # the user switches conflicts off and a new version appears meanwhile
    await api.request("PUT", "/api/v1/users/u1", json_body={"merge_conflict_enabled": False})
    await remember(api, "u1", "I live in Oslo")
    (oslo,) = (await list_memories(api))["items"]
    assert oslo["merge_conflict_in_progress"] is True  # still open on the chain
    paris = await get_memory(api, conflict["conflicting_memories"][0]["memory_id"])
    assert paris["merge_conflict_in_progress"] is False  # only current versions carry it
    await resolve_fully(api, conflict["id"], [answer(question, "I live in Rome")])
    (current,) = (await list_memories(api))["items"]
    assert current["content"] == "I live in Rome"
    assert current["version_number"] == 3
    assert [v["content"] for v in current["previous_versions"]] == [
        "I live in Oslo",
        "I live in Paris",
    ]
    assert current["previous_versions"][0]["expiration_reason"] == "MERGE_CONFLICT"
    assert current["previous_versions"][1]["expiration_reason"] == "NEW_VERSION"


async def _three_conflicts(api: Api) -> list[dict[str, Any]]:
    """Three pending conflicts, returned oldest first."""
    await api.create_user("u1", merge_conflict_enabled=True)
    await remember(api, "u1", "I live in Paris. I work at Acme. My car is red")
    await remember(api, "u1", "I live in Rome. I work at Globex. My car is blue")
    page = await conflicts(api, sort_order="asc")
    assert page["total"] == 3
    found: list[dict[str, Any]] = page["conflicts"]
    assert [c["proposed_memory_content"] for c in found] == [
        "I live in Rome",
        "I work at Globex",
        "My car is blue",
    ]
    return found


async def test_list_conflicts_sorting_filtering_paging(api: Api) -> None:
    rome, globex, car = await _three_conflicts(api)
    ids = [c["id"] for c in (rome, globex, car)]

    async def listed(**params: Any) -> list[str]:
        return [c["id"] for c in (await conflicts(api, **params))["conflicts"]]

    assert await listed() == ids[::-1]
    assert await listed(sort_by="created_at", sort_order="desc") == ids[::-1]
    assert await listed(sort_by="created_at", sort_order="asc") == ids

    for conflict, choice in ((car, "Both"), (rome, "I live in Paris")):
        question = conflict["clarifying_questions"][0]["question"]
        await resolve_fully(api, conflict["id"], [answer(question, choice)])
        api.emulator.advance_clock(1)  # distinct resolution times
    # resolved ones by resolution time, unresolved ones last
    assert await listed(sort_by="resolved_at", sort_order="asc") == [
        car["id"],
        rome["id"],
        globex["id"],
    ]
    assert await listed(sort_by="resolved_at", sort_order="desc") == [
        rome["id"],
        car["id"],
        globex["id"],
    ]
    assert await listed(status="RESOLVED") == [car["id"], rome["id"]]
    assert await listed(status="RESOLVED", sort_order="asc") == [rome["id"], car["id"]]
    assert await listed(status="PENDING") == [globex["id"]]
    assert await listed(status="FAILED") == []
    assert await listed(status="IN_QUEUE") == []

    page = await conflicts(api, offset=1, limit=1, sort_order="asc")
    assert [c["id"] for c in page["conflicts"]] == [globex["id"]]
    assert (page["total"], page["has_more"]) == (3, True)
    page = await conflicts(api, offset=2, limit=100)
    assert (len(page["conflicts"]), page["has_more"]) == (1, False)
    page = await conflicts(api, status="RESOLVED", offset=0, limit=1)
    assert (page["total"], page["has_more"]) == (2, True)


@pytest.mark.parametrize(
    ("params", "loc"),
    [
        ("limit=0", ["query", "limit"]),
        ("limit=101", ["query", "limit"]),
        ("offset=-1", ["query", "offset"]),
        ("sort_by=updated_at", ["query", "sort_by"]),
        ("sort_order=up", ["query", "sort_order"]),
        ("sort_order=DESC", ["query", "sort_order"]),
        ("status=pending", ["query", "status"]),
        ("status=", ["query", "status"]),
    ],
)
async def test_list_conflicts_validation_is_422(api: Api, params: str, loc: list[str]) -> None:
    await api.create_user("u1")
    reply = await api.request("GET", f"/api/v1/users/u1/merge-conflicts?{params}")
    assert reply.status == 422
    assert [error["loc"] for error in reply.json()["detail"]] == [loc]


# -- cascades --------------------------------------------------------------------------------


async def test_deleting_a_session_removes_its_memories_and_conflicts(api: Api) -> None:
    await api.create_user("u1", merge_conflict_enabled=True)
    first = await remember(api, "u1", "I live in Paris. I love tea")
    second = await remember(api, "u1", "I live in Rome. I love jazz")
    third = await remember(api, "u1", "I love cats")
    assert (await conflicts(api))["total"] == 1
    reply = await api.request("DELETE", f"/api/v1/users/u1/sessions/{second}")
    assert reply.status == 204
    assert (await conflicts(api))["total"] == 0
    assert await contents(api) == ["I love cats", "I love tea", "I live in Paris"]
    assert (await by_content(api))["I live in Paris"]["merge_conflict_in_progress"] is False
    reply = await api.request("DELETE", f"/api/v1/users/u1/sessions/{first}")
    assert reply.status == 204
    assert await contents(api) == ["I love cats"]
    assert (await list_memories(api))["items"][0]["session_id"] == third


async def test_deleting_the_session_of_a_new_version(api: Api) -> None:
    await api.create_user("u1")
    await remember(api, "u1", "I live in Paris")
    second = await remember(api, "u1", "I live in Rome")
    await remember(api, "u1", "I live in Oslo")
    current = (await list_memories(api))["items"][0]
    first_id = current["previous_versions"][1]["memory_id"]
    assert (await api.request("DELETE", f"/api/v1/users/u1/sessions/{second}")).status == 204
    # the chain is relinked by the rule for deleting one version
    current = (await list_memories(api))["items"][0]
    assert (current["content"], current["version_number"], current["total_versions"]) == (
        "I live in Oslo",
        2,
        2,
    )
    assert [v["memory_id"] for v in current["previous_versions"]] == [first_id]


async def test_deleting_the_session_of_the_latest_version_reinstates(api: Api) -> None:
    await api.create_user("u1")
    await remember(api, "u1", "I live in Paris")
    second = await remember(api, "u1", "I live in Rome")
    old_id = (await list_memories(api))["items"][0]["previous_versions"][0]["memory_id"]
    assert (await api.request("DELETE", f"/api/v1/users/u1/sessions/{second}")).status == 204
    (paris,) = (await list_memories(api))["items"]
    assert (paris["memory_id"], paris["content"], paris["expired_at"]) == (
        old_id,
        "I live in Paris",
        None,
    )
    assert (paris["version_number"], paris["total_versions"]) == (1, 1)


async def test_rename_keeps_and_delete_drops_memories(api: Api) -> None:
    await api.create_user("u1", merge_conflict_enabled=True)
    await remember(api, "u1", "I live in Paris")
    await remember(api, "u1", "I live in Rome")
    reply = await api.request("PUT", "/api/v1/users/u1", json_body={"new_custom_user_id": "u2"})
    assert reply.status == 200
    assert await contents(api, "u2") == ["I live in Paris"]
    assert (await conflicts(api, "u2"))["total"] == 1
    assert (await api.request("GET", "/api/v1/users/u1/memories")).status == 404
    assert (await api.request("DELETE", "/api/v1/users/u2")).status == 204
    await api.create_user("u2")
    assert await contents(api, "u2") == []
    assert (await conflicts(api, "u2"))["total"] == 0


async def test_projects_are_separate(api: Api) -> None:
    await api.create_user("u1")
    await remember(api, "u1", "I love tea")
    reply = await api.request(
        "POST", "/api/v1/users", json_body={"custom_user_id": "u1"}, project_id="other"
    )
    assert reply.status == 201
    reply = await api.request("GET", "/api/v1/users/u1/memories", project_id="other")
    assert reply.json() == {"items": [], "total": 0, "has_more": False}


async def test_odd_ids_reach_their_resources(api: Api) -> None:
    user_id = "a/b ?é"
    await api.create_user(user_id)
    await remember(api, user_id, "I love tea")
    (memory,) = (await list_memories(api, user_id))["items"]
    fetched = await get_memory(api, memory["memory_id"], user_id)
    assert fetched["content"] == "I love tea"
    reply = await api.request("GET", f"/api/v1/users/{encode_id(user_id)}/merge-conflicts")
    assert reply.status == 200
