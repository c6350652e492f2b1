"""Sessions, messages, system prompt and context of the emulator over real
HTTP (PROTOCOL.md 5.2, 5.3 and sections 12, 13), with a plain aiohttp client."""

from __future__ import annotations

import asyncio
import json
import uuid
import zoneinfo
from datetime import datetime, timedelta, timezone
from typing import Any

import aiohttp
import attrs
import pytest

from recallrai.emulator import Emulator, _memories
from recallrai.emulator._context import score, words

from ._support import Api, Clock, Reply, own_emulator, parse_ts, poll
from ._support import query as encode_query

pytestmark = pytest.mark.anyio

SESSION_KEYS = {
    "session_id",
    "user_id",
    "status",
    "created_at",
    "processed_at",
    "auto_process_after_seconds",
    "metadata",
}
U = "/api/v1/users"


def query(**params: object) -> str:
    """``?`` and the query string, or nothing without parameters."""
    encoded = encode_query(**params)
    return f"?{encoded}" if encoded else ""


def spath(user: str, session: str | None = None, tail: str | None = None) -> str:
    path = f"{U}/{user}/sessions"
    if session is not None:
        path += f"/{session}"
    if tail is not None:
        path += f"/{tail}"
    return path


async def new_session(api: Api, user: str, **body: Any) -> dict[str, Any]:
    reply = await api.request(
        "POST", spath(user), json_body={"auto_process_after_seconds": 600, **body}
    )
    assert reply.status == 201, reply
    session: dict[str, Any] = reply.json()["session"]
    return session


async def add(api: Api, user: str, sid: str, content: str, role: str = "user") -> Reply:
    return await api.request(
        "POST", spath(user, sid, "add-message"), json_body={"message": content, "role": role}
    )


async def status_of(api: Api, user: str, sid: str) -> str:
    reply = await api.request("GET", spath(user, sid))
    assert reply.status == 200, reply
    status: str = reply.json()["session"]["status"]
    return status


def error_locs(reply: Reply) -> list[list[object]]:
    assert reply.status == 422, reply
    return [item["loc"] for item in reply.json()["detail"]]


@attrs.frozen
class FakeMemory:
    memory_id: str
    content: str
    session_id: str


@pytest.fixture
def fake_memories(monkeypatch: pytest.MonkeyPatch) -> list[FakeMemory]:
    """Replace the memories the context is assembled from (newest first) and
    make processing a no-op, so context rules are tested in isolation."""
    memories: list[FakeMemory] = []
    monkeypatch.setattr(_memories, "current_memories", lambda user: list(memories))
    monkeypatch.setattr(_memories, "process_session", lambda *args: None)
    return memories


# -- create -------------------------------------------------------------------------


async def test_create_session_defaults(api: Api) -> None:
    await api.create_user("u1")
    reply = await api.request("POST", spath("u1"), json_body={"auto_process_after_seconds": 600})
    assert reply.status == 201
    assert reply.content_type == "application/json"
    session = reply.json()["session"]
    assert set(session) == SESSION_KEYS
    assert uuid.UUID(session["session_id"]).version == 4
    assert session["user_id"] == "u1"
    assert session["status"] == "pending"
    assert session["processed_at"] is None
    assert session["auto_process_after_seconds"] == 600
    assert session["metadata"] == {}
    assert abs(parse_ts(session["created_at"]) - datetime.now(timezone.utc)) < timedelta(minutes=1)
    nulled = await new_session(api, "u1", metadata=None)
    assert nulled["metadata"] == {}
    assert nulled["session_id"] != session["session_id"]


async def test_create_session_keeps_metadata_and_backdates(api: Api) -> None:
    await api.create_user("u1")
    metadata = {"type": "chat", "n": [1, 2.5, None, True], "name": "José"}
    created = await new_session(
        api, "u1", metadata=metadata, custom_created_at_utc="2025-06-15T14:30:00.123456+00:00"
    )
    assert created["metadata"] == metadata
    assert parse_ts(created["created_at"]) == datetime(
        2025, 6, 15, 14, 30, 0, 123456, tzinfo=timezone.utc
    )
    zulu = await new_session(api, "u1", custom_created_at_utc="2024-01-02T03:04:05Z")
    assert parse_ts(zulu["created_at"]) == datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    fetched = (await api.request("GET", spath("u1", created["session_id"]))).json()["session"]
    assert fetched == created


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"auto_process_after_seconds": 599}, ["body", "auto_process_after_seconds"]),
        ({"auto_process_after_seconds": -1}, ["body", "auto_process_after_seconds"]),
        ({"auto_process_after_seconds": "600"}, ["body", "auto_process_after_seconds"]),
        ({"auto_process_after_seconds": 600.5}, ["body", "auto_process_after_seconds"]),
        ({"auto_process_after_seconds": True}, ["body", "auto_process_after_seconds"]),
        ({"metadata": [1]}, ["body", "metadata"]),
        ({"metadata": "x"}, ["body", "metadata"]),
        ({"custom_created_at_utc": "2025-06-15T14:30:00"}, ["body", "custom_created_at_utc"]),
        (
            {"custom_created_at_utc": "2025-06-15T14:30:00+02:00"},
            ["body", "custom_created_at_utc"],
        ),
        ({"custom_created_at_utc": "yesterday"}, ["body", "custom_created_at_utc"]),
        ({"custom_created_at_utc": 1718461800}, ["body", "custom_created_at_utc"]),
    ],
)
async def test_create_session_validation(api: Api, body: dict[str, Any], loc: list[str]) -> None:
    await api.create_user("u1")
    reply = await api.request(
        "POST", spath("u1"), json_body={"auto_process_after_seconds": 600, **body}
    )
    assert error_locs(reply) == [loc]
    listed = (await api.request("GET", spath("u1"))).json()
    assert listed["total"] == 0


@pytest.mark.parametrize("raw", [b"", b"[]", b"not json", b"null"])
async def test_create_session_needs_a_json_object(api: Api, raw: bytes) -> None:
    await api.create_user("u1")
    reply = await api.request("POST", spath("u1"), body=raw)
    assert reply.status == 422


async def test_create_session_for_missing_user(api: Api) -> None:
    reply = await api.request("POST", spath("ghost"), json_body={"auto_process_after_seconds": 600})
    assert reply.status == 404
    assert reply.json() == {"detail": "User ghost not found"}


# -- get / 404 wording ----------------------------------------------------------------


async def test_get_session_and_not_found_wording(api: Api) -> None:
    await api.create_user("u1")
    await api.create_user("u2")
    created = await new_session(api, "u1")
    sid = created["session_id"]
    reply = await api.request("GET", spath("u1", sid))
    assert reply.status == 200
    assert reply.json() == {"session": created}

    missing_user = await api.request("GET", spath("nobody", "no-such-session"))
    assert (missing_user.status, missing_user.json()) == (404, {"detail": "User nobody not found"})
    missing_session = await api.request("GET", spath("u1", "no-such-session"))
    assert missing_session.status == 404
    assert missing_session.json() == {"detail": "Session no-such-session not found"}
    # A session is only reachable through its own user.
    other_user = await api.request("GET", spath("u2", sid))
    assert other_user.json() == {"detail": f"Session {sid} not found"}


@pytest.mark.parametrize(
    ("method", "tail", "body"),
    [
        ("GET", None, None),
        ("PUT", None, {}),
        ("DELETE", None, None),
        ("POST", "add-message", {"message": "hi", "role": "user"}),
        ("GET", "messages", None),
        ("POST", "process", None),
        ("GET", "context", None),
    ],
)
async def test_every_session_path_checks_user_then_session(
    api: Api, method: str, tail: str | None, body: object
) -> None:
    await api.create_user("u1")
    reply = await api.request(method, spath("ghost", "s-1", tail), json_body=body)
    assert (reply.status, reply.json()) == (404, {"detail": "User ghost not found"})
    reply = await api.request(method, spath("u1", "s-1", tail), json_body=body)
    assert (reply.status, reply.json()) == (404, {"detail": "Session s-1 not found"})


async def test_session_ids_are_decoded_path_segments(api: Api) -> None:
    await api.create_user("a/b")
    created = await new_session(api, "a%2Fb")
    reply = await api.request("GET", spath("a%2Fb", created["session_id"]))
    assert reply.status == 200
    reply = await api.request("GET", spath("a%2Fb", "x%2Fy"))
    assert reply.json() == {"detail": "Session x/y not found"}


# -- list -------------------------------------------------------------------------------


async def test_list_sessions_newest_first_with_pages(api: Api) -> None:
    await api.create_user("u1")
    ids = [(await new_session(api, "u1", metadata={"i": i}))["session_id"] for i in range(5)]
    backdated = await new_session(api, "u1", custom_created_at_utc="2020-01-01T00:00:00+00:00")
    expected = [*reversed(ids), backdated["session_id"]]

    first = (await api.request("GET", spath("u1") + query(offset=0, limit=4))).json()
    assert set(first) == {"sessions", "total", "has_more"}
    assert [s["session_id"] for s in first["sessions"]] == expected[:4]
    assert (first["total"], first["has_more"]) == (6, True)
    assert all(set(s) == SESSION_KEYS for s in first["sessions"])
    second = (await api.request("GET", spath("u1") + query(offset=4, limit=4))).json()
    assert [s["session_id"] for s in second["sessions"]] == expected[4:]
    assert (second["total"], second["has_more"]) == (6, False)
    beyond = (await api.request("GET", spath("u1") + query(offset=10))).json()
    assert (beyond["sessions"], beyond["total"], beyond["has_more"]) == ([], 6, False)
    default = (await api.request("GET", spath("u1"))).json()
    assert len(default["sessions"]) == 6


async def test_list_sessions_filters(api: Api) -> None:
    await api.create_user("u1")
    chat = await new_session(api, "u1", metadata={"type": "chat", "n": 1})
    voice = await new_session(api, "u1", metadata={"type": "voice"})
    done = await new_session(api, "u1", metadata={"type": "chat", "n": 2})
    for sid in (voice["session_id"], done["session_id"]):
        assert (await api.request("POST", spath("u1", sid, "process"))).status == 200
    api.emulator.settle()

    async def ids(**params: object) -> list[str]:
        reply = await api.request("GET", spath("u1") + query(**params))
        assert reply.status == 200, reply
        body = reply.json()
        assert body["total"] == len(body["sessions"])
        return [s["session_id"] for s in body["sessions"]]

    assert await ids(metadata_filter={"type": "chat"}) == [done["session_id"], chat["session_id"]]
    assert await ids(metadata_filter={"type": "chat", "n": 1}) == [chat["session_id"]]
    assert await ids(metadata_filter={"n": True}) == []
    assert await ids(metadata_filter={}) == [
        done["session_id"],
        voice["session_id"],
        chat["session_id"],
    ]
    assert await ids(status_filter=["pending"]) == [chat["session_id"]]
    assert await ids(status_filter=["processed"]) == [done["session_id"], voice["session_id"]]
    assert await ids(status_filter=["pending", "processed"], metadata_filter={"type": "chat"}) == [
        done["session_id"],
        chat["session_id"],
    ]
    assert await ids(status_filter=["failed", "insufficient_balance", "processing"]) == []


@pytest.mark.parametrize(
    ("params", "loc"),
    [
        ({"limit": 0}, ["query", "limit"]),
        ({"limit": 101}, ["query", "limit"]),
        ({"offset": -1}, ["query", "offset"]),
        ({"offset": "x"}, ["query", "offset"]),
        ({"metadata_filter": "[1]"}, ["query", "metadata_filter"]),
        ({"status_filter": ["pending", "done"]}, ["query", "status_filter", 1]),
        ({"status_filter": ["PENDING"]}, ["query", "status_filter", 0]),
    ],
)
async def test_list_sessions_validation(
    api: Api, params: dict[str, Any], loc: list[object]
) -> None:
    await api.create_user("u1")
    reply = await api.request("GET", spath("u1") + query(**params))
    assert error_locs(reply) == [loc]


async def test_list_sessions_limit_bounds_accepted(api: Api) -> None:
    await api.create_user("u1")
    for limit in (1, 100):
        reply = await api.request("GET", spath("u1") + query(limit=limit))
        assert reply.status == 200
    reply = await api.request("GET", spath("ghost"))
    assert (reply.status, reply.json()) == (404, {"detail": "User ghost not found"})


# -- update / delete -------------------------------------------------------------------


async def test_update_session_metadata() -> None:
    clock = Clock()
    async with own_emulator(clock=clock) as api:
        await api.create_user("u1")
        created = await new_session(api, "u1", metadata={"a": 1, "b": 2})
        path = spath("u1", created["session_id"])
        clock.tick(60)

        for body in ({}, {"new_metadata": None}):
            reply = await api.request("PUT", path, json_body=body)
            assert (reply.status, reply.json()) == (200, {"session": created})
        user = (await api.request("GET", f"{U}/u1")).json()["user"]
        assert parse_ts(user["last_active_at"]) == clock.now - timedelta(seconds=60)

        reply = await api.request("PUT", path, json_body={"new_metadata": {"c": [3]}})
        assert reply.status == 200
        assert reply.json() == {"session": {**created, "metadata": {"c": [3]}}}
        assert (await api.request("GET", path)).json()["session"]["metadata"] == {"c": [3]}
        user = (await api.request("GET", f"{U}/u1")).json()["user"]
        assert parse_ts(user["last_active_at"]) == clock.now

        for bad in ({"new_metadata": [1]}, {"new_metadata": "x"}):
            assert error_locs(await api.request("PUT", path, json_body=bad)) == [
                ["body", "new_metadata"]
            ]
        assert (await api.request("PUT", path, body=b"[]")).status == 422


async def test_delete_session_removes_it_and_its_data(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[str, str]] = []
    monkeypatch.setattr(
        _memories, "delete_session_data", lambda user, sid: calls.append((user.custom_user_id, sid))
    )
    await api.create_user("u1")
    gone = await new_session(api, "u1")
    kept = await new_session(api, "u1")
    await add(api, "u1", gone["session_id"], "bye")
    await add(api, "u1", kept["session_id"], "stay")

    reply = await api.request("DELETE", spath("u1", gone["session_id"]))
    assert reply.status == 204
    assert reply.body == b""
    assert calls == [("u1", gone["session_id"])]
    reply = await api.request("GET", spath("u1", gone["session_id"]))
    assert reply.json() == {"detail": f"Session {gone['session_id']} not found"}
    listed = (await api.request("GET", spath("u1"))).json()
    assert [s["session_id"] for s in listed["sessions"]] == [kept["session_id"]]
    last = (await api.request("GET", f"{U}/u1/messages?limit=10")).json()["messages"]
    assert [m["content"] for m in last] == ["stay"]
    reply = await api.request("DELETE", spath("u1", gone["session_id"]))
    assert reply.status == 404


async def test_delete_session_without_memories_hook(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delattr(_memories, "delete_session_data")
    await api.create_user("u1")
    created = await new_session(api, "u1")
    assert (await api.request("DELETE", spath("u1", created["session_id"]))).status == 204


async def test_sessions_follow_user_rename_and_die_with_user(api: Api) -> None:
    await api.create_user("old")
    created = await new_session(api, "old")
    await add(api, "old", created["session_id"], "hello")
    reply = await api.request("PUT", f"{U}/old", json_body={"new_custom_user_id": "new"})
    assert reply.status == 200
    moved = await api.request("GET", spath("new", created["session_id"]))
    assert (moved.status, moved.json()["session"]["user_id"]) == (200, "new")
    reply = await api.request("GET", spath("old", created["session_id"]))
    assert reply.json() == {"detail": "User old not found"}

    assert (await api.request("DELETE", f"{U}/new")).status == 204
    await api.create_user("new")
    assert (await api.request("GET", spath("new"))).json()["total"] == 0
    assert (await api.request("GET", f"{U}/new/messages?limit=5")).json() == {"messages": []}


async def test_auto_process_setting_absent_given_or_disabled() -> None:
    async with own_emulator() as api:
        emu = api.emulator
        await api.create_user("u1")
        reply = await api.request("POST", spath("u1"), json_body={})
        assert reply.json()["session"]["auto_process_after_seconds"] == 600
        default = reply.json()["session"]["session_id"]
        later = await new_session(api, "u1", auto_process_after_seconds=1800)
        assert later["auto_process_after_seconds"] == 1800
        never = await new_session(api, "u1", auto_process_after_seconds=None)
        assert never["auto_process_after_seconds"] is None
        fetched = (await api.request("GET", spath("u1", never["session_id"]))).json()["session"]
        assert fetched == never

        emu.advance_clock(10**9)  # long past any auto-processing
        assert await status_of(api, "u1", default) == "processed"
        assert await status_of(api, "u1", later["session_id"]) == "processed"
        assert await status_of(api, "u1", never["session_id"]) == "pending"
        # a disabled session is still processed on request
        assert (
            await api.request("POST", spath("u1", never["session_id"], "process"))
        ).status == 200
        emu.settle()
        assert await status_of(api, "u1", never["session_id"]) == "processed"


async def test_session_reports_owner_and_processed_at(fake_memories: list[FakeMemory]) -> None:
    clock = Clock()
    async with own_emulator(clock=clock, processing_delay=5) as api:
        await api.create_user("u1")
        created = await new_session(api, "u1")
        sid = created["session_id"]
        clock.tick(30)
        await api.request("POST", spath("u1", sid, "process"))
        session = (await api.request("GET", spath("u1", sid))).json()["session"]
        assert (session["status"], session["processed_at"]) == ("processing", None)
        clock.tick(5)
        done_at = clock.now
        clock.tick(60)  # processed_at is when processing finished, not when it was seen
        session = (await api.request("GET", spath("u1", sid))).json()["session"]
        assert session["status"] == "processed"
        assert parse_ts(session["processed_at"]) == done_at
        assert session == {
            **created,
            "status": "processed",
            "processed_at": session["processed_at"],
        }
        listed = (await api.request("GET", spath("u1"))).json()["sessions"]
        assert listed == [session]
        updated = await api.request("PUT", spath("u1", sid), json_body={"new_metadata": {"a": 1}})
        assert updated.json()["session"] == {**session, "metadata": {"a": 1}}

        # sessions that end otherwise have no processed_at
        api.emulator.balance_exhausted = True
        broke = (await new_session(api, "u1"))["session_id"]
        await api.request("POST", spath("u1", broke, "process"))
        api.emulator.settle()
        session = (await api.request("GET", spath("u1", broke))).json()["session"]
        assert (session["status"], session["processed_at"]) == ("insufficient_balance", None)


# -- messages -------------------------------------------------------------------------------


async def test_add_and_list_messages_oldest_first() -> None:
    clock = Clock()
    async with own_emulator(clock=clock) as api:
        await api.create_user("u1")
        sid = (await new_session(api, "u1"))["session_id"]
        texts = ['Hello! "quoted" é', "Hi there", "line\nbreak", "😀", "same time"]
        for index, text in enumerate(texts):
            if index < 4:
                clock.tick(1)
            reply = await add(api, "u1", sid, text, "user" if index % 2 == 0 else "assistant")
            assert reply.status == 200
            assert reply.json() == {"detail": "Message added successfully"}
        user = (await api.request("GET", f"{U}/u1")).json()["user"]
        assert parse_ts(user["last_active_at"]) == clock.now

        page = (await api.request("GET", spath("u1", sid, "messages"))).json()
        assert set(page) == {"messages", "total", "has_more"}
        assert [m["content"] for m in page["messages"]] == texts
        assert [m["role"] for m in page["messages"]] == [
            "user",
            "assistant",
            "user",
            "assistant",
            "user",
        ]
        assert all(set(m) == {"role", "content", "timestamp"} for m in page["messages"])
        assert parse_ts(page["messages"][0]["timestamp"]) == datetime(
            2025, 6, 15, 12, 0, 1, tzinfo=timezone.utc
        )
        assert (page["total"], page["has_more"]) == (5, False)

        middle = await api.request("GET", spath("u1", sid, "messages") + query(offset=1, limit=2))
        body = middle.json()
        assert [m["content"] for m in body["messages"]] == texts[1:3]
        assert (body["total"], body["has_more"]) == (5, True)
        tail = (
            await api.request("GET", spath("u1", sid, "messages") + query(offset=3, limit=2))
        ).json()
        assert ([m["content"] for m in tail["messages"]], tail["has_more"]) == (texts[3:], False)


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"role": "user"}, ["body", "message"]),
        ({"message": None, "role": "user"}, ["body", "message"]),
        ({"message": "", "role": "user"}, ["body", "message"]),
        ({"message": "  \n", "role": "user"}, ["body", "message"]),
        ({"message": 5, "role": "user"}, ["body", "message"]),
        ({"message": "hi"}, ["body", "role"]),
        ({"message": "hi", "role": "system"}, ["body", "role"]),
        ({"message": "hi", "role": "USER"}, ["body", "role"]),
    ],
)
async def test_add_message_validation(api: Api, body: dict[str, Any], loc: list[str]) -> None:
    await api.create_user("u1")
    sid = (await new_session(api, "u1"))["session_id"]
    reply = await api.request("POST", spath("u1", sid, "add-message"), json_body=body)
    assert error_locs(reply) == [loc]
    assert (await api.request("GET", spath("u1", sid, "messages"))).json()["total"] == 0


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 501}, {"offset": -1}, {"limit": "ten"}])
async def test_list_messages_validation(api: Api, params: dict[str, Any]) -> None:
    await api.create_user("u1")
    sid = (await new_session(api, "u1"))["session_id"]
    reply = await api.request("GET", spath("u1", sid, "messages") + query(**params))
    assert error_locs(reply) == [["query", next(iter(params))]]


async def test_message_pages_hold_up_to_500(api: Api) -> None:
    await api.create_user("u1")
    sid = (await new_session(api, "u1"))["session_id"]
    for index in range(120):
        assert (await add(api, "u1", sid, f"m{index}")).status == 200
    for limit in (120, 500):
        page = (await api.request("GET", spath("u1", sid, "messages") + query(limit=limit))).json()
        assert [m["content"] for m in page["messages"]] == [f"m{i}" for i in range(120)]
        assert (page["total"], page["has_more"]) == (120, False)
    page = (await api.request("GET", spath("u1", sid, "messages") + query(limit=101))).json()
    assert (len(page["messages"]), page["has_more"]) == (101, True)
    reply = await api.request("GET", spath("u1", sid, "messages") + query(limit=501))
    assert reply.json()["detail"] == [
        {
            "type": "less_than_equal",
            "loc": ["query", "limit"],
            "msg": "Input should be less than or equal to 500",
            "input": "501",
            "ctx": {"le": 500},
        }
    ]


async def test_last_n_messages_across_sessions() -> None:
    clock = Clock()
    async with own_emulator(clock=clock) as api:
        await api.create_user("u1")
        await api.create_user("u2")
        first = (await new_session(api, "u1"))["session_id"]
        second = (await new_session(api, "u1"))["session_id"]
        plan = [(first, "a"), (second, "b"), (first, "c"), (second, "d"), (first, "e")]
        for sid, text in plan:
            clock.tick(1)
            await add(api, "u1", sid, text)
        await add(api, "u1", second, "f", "assistant")  # same timestamp as "e": order of arrival
        other = (await new_session(api, "u2"))["session_id"]
        await add(api, "u2", other, "not mine")

        reply = await api.request("GET", f"{U}/u1/messages?limit=3")
        assert reply.status == 200
        messages = reply.json()["messages"]
        assert [(m["content"], m["session_id"]) for m in messages] == [
            ("d", second),
            ("e", first),
            ("f", second),
        ]
        assert all(set(m) == {"role", "content", "timestamp", "session_id"} for m in messages)
        assert messages[2]["role"] == "assistant"
        everything = (await api.request("GET", f"{U}/u1/messages?limit=100")).json()["messages"]
        assert [m["content"] for m in everything] == ["a", "b", "c", "d", "e", "f"]
        one = (await api.request("GET", f"{U}/u1/messages?limit=1")).json()["messages"]
        assert [m["content"] for m in one] == ["f"]

        for bad in ("limit=0", "limit=101", "limit=x", ""):
            reply = await api.request("GET", f"{U}/u1/messages" + (f"?{bad}" if bad else ""))
            assert error_locs(reply) == [["query", "limit"]]
        reply = await api.request("GET", f"{U}/ghost/messages?limit=5")
        assert (reply.status, reply.json()) == (404, {"detail": "User ghost not found"})


# -- lifecycle ---------------------------------------------------------------------------------


async def test_process_lifecycle_and_refusals(monkeypatch: pytest.MonkeyPatch) -> None:
    processed: list[tuple[str, str, datetime, str]] = []

    def spy(project: object, user: Any, session: Any, now: datetime) -> None:
        processed.append((user.custom_user_id, session.session_id, now, session.status))

    monkeypatch.setattr(_memories, "process_session", spy)
    clock = Clock()
    async with own_emulator(clock=clock, processing_delay=5) as api:
        await api.create_user("u1")
        sid = (await new_session(api, "u1"))["session_id"]
        await add(api, "u1", sid, "I love sushi.")
        clock.tick(30)

        # The body is never parsed: garbage is as good as nothing.
        reply = await api.request("POST", spath("u1", sid, "process"), body=b"\x00 not json")
        assert (reply.status, reply.json()) == (200, {"detail": "Session marked for processing"})
        user = (await api.request("GET", f"{U}/u1")).json()["user"]
        assert parse_ts(user["last_active_at"]) == clock.now
        assert await status_of(api, "u1", sid) == "processing"

        reply = await add(api, "u1", sid, "too late")
        assert reply.status == 400
        assert reply.json() == {"detail": "Cannot add message to session with status processing"}
        reply = await api.request("POST", spath("u1", sid, "process"))
        assert reply.status == 400
        assert reply.json() == {"detail": "Cannot process session with status processing"}

        clock.tick(4.9)
        assert await status_of(api, "u1", sid) == "processing"
        assert processed == []
        clock.tick(0.1)
        assert await status_of(api, "u1", sid) == "processed"
        assert processed == [("u1", sid, clock.now, "processed")]

        reply = await add(api, "u1", sid, "still too late")
        assert reply.json() == {"detail": "Cannot add message to session with status processed"}
        reply = await api.request("POST", spath("u1", sid, "process"))
        assert reply.json() == {"detail": "Cannot process session with status processed"}
        messages = (await api.request("GET", spath("u1", sid, "messages"))).json()
        assert [m["content"] for m in messages["messages"]] == ["I love sushi."]
        assert len(processed) == 1


async def test_settle_finishes_processing_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    order: list[str] = []
    monkeypatch.setattr(
        _memories,
        "process_session",
        lambda project, user, session, now: order.append(session.session_id),
    )
    async with own_emulator(processing_delay=3600) as api:
        await api.create_user("u1")
        first = (await new_session(api, "u1"))["session_id"]
        second = (await new_session(api, "u1"))["session_id"]
        pending = (await new_session(api, "u1"))["session_id"]
        await api.request("POST", spath("u1", second, "process"))
        await api.request("POST", spath("u1", first, "process"))
        assert await status_of(api, "u1", first) == "processing"
        api.emulator.settle()
        assert order == [second, first]  # in deadline order
        assert [await status_of(api, "u1", s) for s in (first, second, pending)] == [
            "processed",
            "processed",
            "pending",
        ]


async def test_processing_failure_marks_session_failed(
    api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(_memories, "process_session", broken)
    await api.create_user("u1")
    sid = (await new_session(api, "u1"))["session_id"]
    await api.request("POST", spath("u1", sid, "process"))
    api.emulator.settle()
    assert await status_of(api, "u1", sid) == "failed"
    assert "processing session" in caplog.text
    listed = (await api.request("GET", spath("u1") + query(status_filter="failed"))).json()
    assert [s["session_id"] for s in listed["sessions"]] == [sid]


async def test_auto_processing_after_idle_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[datetime] = []
    monkeypatch.setattr(
        _memories, "process_session", lambda project, user, session, now: calls.append(now)
    )
    clock = Clock()
    start = clock.now
    async with own_emulator(clock=clock, processing_delay=10) as api:
        emu = api.emulator
        await api.create_user("u1")
        short = (await new_session(api, "u1"))["session_id"]
        long = (await new_session(api, "u1", auto_process_after_seconds=1800))["session_id"]

        emu.advance_clock(599)
        assert emu.now() == start + timedelta(seconds=599)
        reply = await add(api, "u1", short, "still here")  # activity restarts the wait
        assert reply.status == 200
        emu.advance_clock(599)
        assert await status_of(api, "u1", short) == "pending"
        emu.advance_clock(1)
        assert await status_of(api, "u1", short) == "processing"
        assert await status_of(api, "u1", long) == "pending"
        emu.advance_clock(10)
        assert await status_of(api, "u1", short) == "processed"
        assert calls == [start + timedelta(seconds=599 + 600 + 10)]
        assert await status_of(api, "u1", long) == "pending"

        emu.advance_clock(600)  # 1809 s since creation: due at 1800, done at 1810
        assert await status_of(api, "u1", long) == "processing"
        emu.advance_clock(1)
        assert await status_of(api, "u1", long) == "processed"
        # Auto-processing is not user activity.
        user = (await api.request("GET", f"{U}/u1")).json()["user"]
        assert parse_ts(user["last_active_at"]) == start + timedelta(seconds=599)

        with pytest.raises(ValueError):
            emu.advance_clock(-1)
        emu.reset()
        assert emu.now() == clock.now


async def test_auto_processing_long_overdue_goes_straight_through(
    api: Api, fake_memories: list[FakeMemory]
) -> None:
    await api.create_user("u1")
    sid = (await new_session(api, "u1"))["session_id"]
    api.emulator.advance_clock(3600)
    assert await status_of(api, "u1", sid) == "processed"
    reply = await add(api, "u1", sid, "late")
    assert reply.json() == {"detail": "Cannot add message to session with status processed"}


async def test_real_processing_feeds_memories_into_context(api: Api) -> None:
    await api.create_user("u1")
    old = (await new_session(api, "u1"))["session_id"]
    await add(api, "u1", old, "I love sushi.")
    await api.request("POST", spath("u1", old, "process"))
    api.emulator.settle()
    new = (await new_session(api, "u1"))["session_id"]
    await add(api, "u1", new, "Where should we eat sushi tonight?")
    reply = await api.request("GET", spath("u1", new, "context") + query(include_metadata_ids=True))
    body = reply.json()
    assert "- I love sushi" in body["context"]
    assert body["metadata"]["session_ids"][0] == old


# -- system prompt -------------------------------------------------------------------------------


async def test_system_prompt(api: Api) -> None:
    prompts = {}
    for strategy in ("low_latency", "balanced", "agentic", "auto"):
        reply = await api.request("GET", "/api/v1/system-prompt" + query(recall_strategy=strategy))
        assert reply.status == 200
        assert reply.content_type == "application/json"
        prompts[strategy] = reply.json()["system_prompt"]
        assert strategy in prompts[strategy]
        assert prompts[strategy] == Emulator.system_prompt(strategy)
    assert len(set(prompts.values())) == 4
    again = await api.request("GET", "/api/v1/system-prompt?recall_strategy=balanced")
    assert again.json() == {"system_prompt": prompts["balanced"]}

    for target in ("", "?recall_strategy=fast", "?recall_strategy=", "?recall_strategy=BALANCED"):
        reply = await api.request("GET", "/api/v1/system-prompt" + target)
        assert error_locs(reply) == [["query", "recall_strategy"]]
    unauthenticated = await api.request(
        "GET", "/api/v1/system-prompt?recall_strategy=balanced", headers={}
    )
    assert unauthenticated.status == 401


# -- context: parameters -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "loc"),
    [
        ({"recall_strategy": "fast"}, "recall_strategy"),
        ({"min_top_k": 4}, "min_top_k"),
        ({"min_top_k": 51}, "min_top_k"),
        ({"min_top_k": "5.0"}, "min_top_k"),
        ({"max_top_k": 9}, "max_top_k"),
        ({"max_top_k": 101}, "max_top_k"),
        ({"min_top_k": 20, "max_top_k": 10}, "min_top_k"),
        ({"memories_threshold": 0.19}, "memories_threshold"),
        ({"memories_threshold": 0.81}, "memories_threshold"),
        ({"memories_threshold": "nan"}, "memories_threshold"),
        ({"memories_threshold": "high"}, "memories_threshold"),
        ({"summaries_threshold": 0.1}, "summaries_threshold"),
        ({"summaries_threshold": "inf"}, "summaries_threshold"),
        ({"include_system_prompt": "yes"}, "include_system_prompt"),
        ({"include_metadata_ids": "1"}, "include_metadata_ids"),
        ({"stream": "maybe"}, "stream"),
        ({"last_n_messages": 0}, "last_n_messages"),
        ({"last_n_messages": 101}, "last_n_messages"),
        ({"last_n_summaries": 0}, "last_n_summaries"),
        ({"last_n_summaries": 21}, "last_n_summaries"),
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"timezone": "America"}, "timezone"),
        ({"timezone": "../../etc/passwd"}, "timezone"),
        ({"timezone": ""}, "timezone"),
    ],
)
async def test_context_validation(api: Api, params: dict[str, Any], loc: str) -> None:
    await api.create_user("u1")
    sid = (await new_session(api, "u1"))["session_id"]
    variants = [params] if "stream" in params else [params, {**params, "stream": True}]
    for variant in variants:
        reply = await api.request("GET", spath("u1", sid, "context") + query(**variant))
        assert reply.content_type == "application/json"
        assert error_locs(reply) == [["query", loc]]
    assert api.emulator.streams_started == 0


async def test_context_accepts_the_bounds(api: Api) -> None:
    await api.create_user("u1")
    sid = (await new_session(api, "u1"))["session_id"]
    for params in (
        {"min_top_k": 5, "max_top_k": 10, "memories_threshold": 0.2, "summaries_threshold": 0.8},
        {"min_top_k": 50, "max_top_k": 100, "memories_threshold": 0.8, "summaries_threshold": 0.2},
        {"last_n_messages": 1, "last_n_summaries": 1, "include_system_prompt": "False"},
        {"last_n_messages": 100, "last_n_summaries": 20, "timezone": "America/New_York"},
        {"min_top_k": 10, "max_top_k": 10, "memories_threshold": "2.5e-1", "stream": "false"},
    ):
        reply = await api.request("GET", spath("u1", sid, "context") + query(**params))
        assert reply.status == 200, (params, reply)


async def test_context_default_answer_shape(api: Api, fake_memories: list[FakeMemory]) -> None:
    await api.create_user("u1")
    sid = (await new_session(api, "u1"))["session_id"]
    reply = await api.request("GET", spath("u1", sid, "context"))
    assert reply.status == 200
    # include_system_prompt defaults to true on the service (§13)
    assert reply.json() == {
        "context": Emulator.system_prompt("balanced") + "\n\n\nNo relevant context found.",
        "is_final": True,
        "status_update_message": None,
        "error_message": None,
        "metadata": {
            "recall_strategy_used": "balanced",
            "memory_ids": None,
            "session_ids": None,
            "agent_reasoning": None,
            "vector_search_queries": None,
            "keywords": None,
            "session_summaries_search_queries": None,
            "date_range_filters": None,
        },
    }
    full = await api.request(
        "GET",
        spath("u1", sid, "context")
        + "?recall_strategy=balanced&min_top_k=15&max_top_k=50&memories_threshold=0.6"
        "&summaries_threshold=0.5&include_system_prompt=true&include_metadata_ids=false",
    )
    assert full.json() == reply.json()
    reply = await api.request("GET", spath("u1", sid, "context?include_system_prompt=false"))
    assert reply.json()["context"] == "No relevant context found."


async def test_context_metadata_can_be_omitted(api: Api, fake_memories: list[FakeMemory]) -> None:
    emu = api.emulator
    await api.create_user("u1")
    sid = (await new_session(api, "u1"))["session_id"]
    target = spath("u1", sid, "context")
    assert emu.omit_context_metadata is False
    emu.omit_context_metadata = True
    assert emu.omit_context_metadata is True

    plain = (await api.request("GET", target)).json()
    assert "metadata" not in plain
    assert plain["context"].endswith("No relevant context found.")
    for flags in ("?stream=true", "?stream=true&include_metadata_ids=false"):
        events = parse_sse((await api.request("GET", target + flags)).body)
        assert events[-1] == ("context", plain)
    # with include_metadata_ids=true the metadata is there, streamed or not
    for flags in ("?include_metadata_ids=true", "?include_metadata_ids=true&stream=true"):
        reply = await api.request("GET", target + flags)
        final = parse_sse(reply.body)[-1][1] if "stream" in flags else reply.json()
        assert final["metadata"]["recall_strategy_used"] == "balanced"
        assert final["metadata"]["memory_ids"] == []

    emu.reset()
    assert emu.omit_context_metadata is False
    await api.create_user("u1")
    sid = (await new_session(api, "u1"))["session_id"]
    reply = await api.request("GET", spath("u1", sid, "context"))
    assert reply.json()["metadata"]["recall_strategy_used"] == "balanced"


def seed_ranked_memories(memories: list[FakeMemory], session_id: str) -> list[str]:
    """Memories against the query word "alpha", newest first: three score 1.0,
    three 0.5, five 0.25, two 0.1 and two 0. Returns the IDs in rank order."""
    plan = [(0, 3), (1, 3), (3, 5), (9, 2)]
    for fillers, count in plan:
        for copy in range(count):
            words = " ".join(f"f{fillers}x{copy}w{i}" for i in range(fillers))
            memories.append(FakeMemory(f"m-{fillers}-{copy}", f"alpha {words}".strip(), session_id))
    memories.append(FakeMemory("m-none-0", "unrelated words", session_id))
    memories.append(FakeMemory("m-none-1", "nothing here", session_id))
    return [m.memory_id for m in memories]


async def context_of(api: Api, user: str, sid: str, **params: object) -> dict[str, Any]:
    params = {"include_metadata_ids": True, "include_system_prompt": False, **params}
    reply = await api.request("GET", spath(user, sid, "context") + query(**params))
    assert reply.status == 200, reply
    body: dict[str, Any] = reply.json()
    return body


async def test_context_memory_selection_rule(api: Api, fake_memories: list[FakeMemory]) -> None:
    await api.create_user("u1")
    sid = (await new_session(api, "u1"))["session_id"]
    await add(api, "u1", sid, "Tell me about ALPHA!")
    ranked = seed_ranked_memories(fake_memories, "s-old")

    async def selected(**params: object) -> list[str]:
        ids: list[str] = (await context_of(api, "u1", sid, **params))["metadata"]["memory_ids"]
        return ids

    # threshold 0.8: 3 memories qualify, min_top_k=5 tops up with the next best two.
    assert await selected(memories_threshold=0.8, min_top_k=5) == ranked[:5]
    # threshold 0.4: 6 qualify (above min_top_k); 0.2: 11 qualify.
    assert await selected(memories_threshold=0.4, min_top_k=5) == ranked[:6]
    assert await selected(memories_threshold=0.2, min_top_k=5) == ranked[:11]
    # max_top_k caps; min_top_k raises the floor even with zero-score memories.
    assert await selected(memories_threshold=0.2, min_top_k=5, max_top_k=10) == ranked[:10]
    assert await selected(memories_threshold=0.8, min_top_k=14) == ranked[:14]
    assert await selected(memories_threshold=0.8, min_top_k=50) == ranked
    # Default: threshold 0.6 -> 3 qualify, min_top_k 15 takes everything available.
    assert await selected() == ranked

    body = await context_of(api, "u1", sid, memories_threshold=0.8, min_top_k=5)
    contents = [m.content for m in fake_memories[:5]]
    assert body["context"] == "Memories:\n" + "\n".join(f"- {c}" for c in contents)
    assert body["metadata"]["session_ids"] == ["s-old"]


async def test_context_ties_keep_newest_first(api: Api, fake_memories: list[FakeMemory]) -> None:
    await api.create_user("u1")
    sid = (await new_session(api, "u1"))["session_id"]
    await add(api, "u1", sid, "beta gamma")
    fake_memories.extend(
        [
            FakeMemory("newest", "delta", "s1"),
            FakeMemory("middle", "beta", "s2"),
            FakeMemory("oldest", "gamma", "s1"),
        ]
    )
    body = await context_of(api, "u1", sid, min_top_k=5)
    assert body["metadata"]["memory_ids"] == ["middle", "oldest", "newest"]
    assert body["metadata"]["session_ids"] == ["s2", "s1"]


async def test_context_recent_messages_and_timezone(
    api: Api, fake_memories: list[FakeMemory]
) -> None:
    await api.create_user("u1")
    sid = (await new_session(api, "u1"))["session_id"]
    for index in range(4):
        await add(api, "u1", sid, f"message {index}", "user" if index % 2 == 0 else "assistant")
    stored = (await api.request("GET", spath("u1", sid, "messages"))).json()["messages"]

    def line(message: dict[str, Any], zone: str) -> str:
        local = parse_ts(message["timestamp"]).astimezone(zoneinfo.ZoneInfo(zone))
        stamp = local.strftime("%Y-%m-%d %H:%M:%S %Z")
        return f"[{stamp}] {message['role']}: {message['content']}"

    body = await context_of(api, "u1", sid, last_n_messages=2)
    assert body["context"] == "Recent messages:\n" + "\n".join(line(m, "UTC") for m in stored[2:])
    assert body["metadata"]["session_ids"] == [sid]
    assert body["metadata"]["memory_ids"] == []
    everything = await context_of(api, "u1", sid, last_n_messages=100)
    assert everything["context"].count("\n[") == 4
    tokyo = await context_of(api, "u1", sid, last_n_messages=1, timezone="Asia/Tokyo")
    assert tokyo["context"] == "Recent messages:\n" + line(stored[3], "Asia/Tokyo")
    assert " JST] " in tokyo["context"]
    without = await context_of(api, "u1", sid)
    assert without["context"] == "No relevant context found."
    assert without["metadata"]["session_ids"] == []


async def test_context_session_summaries(api: Api, fake_memories: list[FakeMemory]) -> None:
    await api.create_user("u1")

    async def processed_session(*texts: str, created: str) -> str:
        sid: str = (await new_session(api, "u1", custom_created_at_utc=created))["session_id"]
        for text in texts:
            await add(api, "u1", sid, text)
        await add(api, "u1", sid, "assistant words are not summarised", "assistant")
        await api.request("POST", spath("u1", sid, "process"))
        return sid

    relevant = await processed_session("alpha beta", created="2025-01-03T00:00:00+00:00")
    unrelated = await processed_session("zeta", "eta", created="2025-01-02T00:00:00+00:00")
    oldest = await processed_session("x" * 300, created="2025-01-01T00:00:00+00:00")
    pending = (await new_session(api, "u1"))["session_id"]
    await add(api, "u1", pending, "alpha beta")  # pending sessions are never summarised
    api.emulator.settle()
    current = (await new_session(api, "u1"))["session_id"]
    await add(api, "u1", current, "alpha")

    def summary(created: str, text: str) -> str:
        return f"- [{created} UTC] {text}"

    # "alpha beta" scores 0.5 against {"alpha"}: in at 0.5, out at 0.6.
    body = await context_of(api, "u1", current, summaries_threshold=0.5)
    assert body["context"] == "Session summaries:\n" + summary("2025-01-03 00:00:00", "alpha beta")
    assert body["metadata"]["session_ids"] == [relevant]
    body = await context_of(api, "u1", current, summaries_threshold=0.6)
    assert body["context"] == "No relevant context found."
    body = await context_of(api, "u1", current, summaries_threshold=0.6, last_n_summaries=2)
    assert body["context"] == "Session summaries:\n" + "\n".join(
        [summary("2025-01-03 00:00:00", "alpha beta"), summary("2025-01-02 00:00:00", "zeta / eta")]
    )
    assert body["metadata"]["session_ids"] == [relevant, unrelated]
    body = await context_of(api, "u1", current, last_n_summaries=20, timezone="Europe/Paris")
    lines = body["context"].splitlines()
    assert lines[0] == "Session summaries:"
    assert lines[1:3] == [
        "- [2025-01-03 01:00:00 CET] alpha beta",
        "- [2025-01-02 01:00:00 CET] zeta / eta",
    ]
    assert lines[3] == "- [2025-01-01 01:00:00 CET] " + "x" * 197 + "..."
    assert body["metadata"]["session_ids"] == [relevant, unrelated, oldest]
    assert pending not in body["metadata"]["session_ids"]


async def test_context_sections_together_and_system_prompt(
    api: Api, fake_memories: list[FakeMemory]
) -> None:
    await api.create_user("u1")
    old = (await new_session(api, "u1", custom_created_at_utc="2025-01-01T00:00:00Z"))["session_id"]
    await add(api, "u1", old, "alpha")
    await api.request("POST", spath("u1", old, "process"))
    api.emulator.settle()
    sid = (await new_session(api, "u1"))["session_id"]
    await add(api, "u1", sid, "alpha")
    fake_memories.append(FakeMemory("m1", "alpha", old))

    plain = await context_of(api, "u1", sid, last_n_messages=1, last_n_summaries=1)
    sections = plain["context"].split("\n\n")
    assert [s.split("\n", 1)[0] for s in sections] == [
        "Memories:",
        "Recent messages:",
        "Session summaries:",
    ]
    assert plain["metadata"]["session_ids"] == [old, sid]

    for strategy, used in (
        ("low_latency", "low_latency"),
        ("balanced", "balanced"),
        ("agentic", "agentic"),
        ("auto", "agentic"),
    ):
        body = await context_of(
            api,
            "u1",
            sid,
            recall_strategy=strategy,
            last_n_messages=1,
            last_n_summaries=1,
            include_system_prompt=True,
        )
        assert body["metadata"]["recall_strategy_used"] == used
        assert body["context"] == Emulator.system_prompt(used) + "\n\n\n" + plain["context"]

    fake_memories.clear()
    body = await context_of(api, "u1", sid, recall_strategy="auto")
    assert body["metadata"]["recall_strategy_used"] == "low_latency"


# -- context: streaming -----------------------------------------------------------------------------


def parse_sse(body: bytes) -> list[tuple[str | None, dict[str, Any]]]:
    text = body.decode()
    assert text.endswith("\n\n")
    events: list[tuple[str | None, dict[str, Any]]] = []
    for block in text[:-2].split("\n\n"):
        lines = block.split("\n")
        names = [line[len("event: ") :] for line in lines if line.startswith("event: ")]
        data = [line[len("data: ") :] for line in lines if line.startswith("data: ")]
        assert len(data) == 1, block
        assert len(names) + len(data) == len(lines), block
        events.append((names[0] if names else None, json.loads(data[0])))
    return events


async def test_stream_framing_and_final_event(api: Api, fake_memories: list[FakeMemory]) -> None:
    emu = api.emulator
    await api.create_user("u1")
    sid = (await new_session(api, "u1"))["session_id"]
    await add(api, "u1", sid, "alpha")
    fake_memories.append(FakeMemory("m1", "alpha", "s0"))
    params = {"include_metadata_ids": True, "last_n_messages": 3, "recall_strategy": "auto"}
    plain = await api.request("GET", spath("u1", sid, "context") + query(**params))

    reply = await api.request("GET", spath("u1", sid, "context") + query(**params, stream=True))
    assert reply.status == 200
    assert reply.content_type == "text/event-stream"
    events = parse_sse(reply.body)
    assert len(events) == 4
    for name, data in events[:-1]:
        assert name == "status"
        assert data["is_final"] is False
        assert isinstance(data["status_update_message"], str) and data["status_update_message"]
    assert events[-1] == ("context", plain.json())
    await poll(lambda: emu.streams_completed == 1)
    assert (emu.streams_started, emu.streams_disconnected) == (1, 0)


async def test_stream_errors_before_start_are_json(api: Api) -> None:
    await api.create_user("u1")
    reply = await api.request("GET", spath("u1", "nope", "context?stream=true"))
    assert (reply.status, reply.content_type) == (404, "application/json")
    assert reply.json() == {"detail": "Session nope not found"}
    reply = await api.request("GET", spath("ghost", "nope", "context?stream=true"))
    assert reply.json() == {"detail": "User ghost not found"}
    assert api.emulator.streams_started == 0


async def test_stream_gate_holds_after_first_event(api: Api) -> None:
    emu = api.emulator
    await api.create_user("u1")
    sid = (await new_session(api, "u1"))["session_id"]
    url = emu.base_url + spath("u1", sid, "context") + "?stream=true"
    emu.hold_streams()
    try:
        async with api.session.get(url, headers=api.auth_headers()) as resp:
            assert resp.status == 200
            first = await asyncio.wait_for(resp.content.readuntil(b"\n\n"), 5)
            assert parse_sse(first)[0][1]["is_final"] is False
            assert (emu.streams_started, emu.streams_completed) == (1, 0)
            # The held stream does not hold the store: other requests are served.
            assert (await api.request("GET", f"{U}/u1")).status == 200
            await asyncio.sleep(0.05)
            assert emu.streams_completed == 0
            emu.release_streams()
            rest = await asyncio.wait_for(resp.content.read(), 5)
        events = parse_sse(rest)
        assert [data["is_final"] for _, data in events] == [False, False, True]
        await poll(lambda: emu.streams_completed == 1)
    finally:
        emu.release_streams()


async def test_stream_client_disconnect_is_counted(api: Api) -> None:
    emu = api.emulator
    await api.create_user("u1")
    sid = (await new_session(api, "u1"))["session_id"]
    url = emu.base_url + spath("u1", sid, "context") + "?stream=true"
    emu.hold_streams()
    try:
        async with api.session.get(url, headers=api.auth_headers()) as resp:
            await asyncio.wait_for(resp.content.readuntil(b"\n\n"), 5)
            resp.close()  # drop the connection while the server waits at the gate
        await poll(lambda: emu.streams_disconnected == 1)
        assert emu.streams_completed == 0
    finally:
        emu.release_streams()
    await asyncio.sleep(0.05)
    assert (emu.streams_started, emu.streams_completed, emu.streams_disconnected) == (1, 0, 1)


async def test_stream_failure_and_truncation(api: Api) -> None:
    emu = api.emulator
    await api.create_user("u1")
    sid = (await new_session(api, "u1"))["session_id"]
    target = spath("u1", sid, "context") + "?stream=true"

    emu.fail_next_stream(error_message="retrieval exploded")
    events = parse_sse((await api.request("GET", target)).body)
    assert [data["is_final"] for _, data in events] == [False, False, False, True]
    assert events[-1][1] == {
        "is_final": True,
        "context": None,
        "status_update_message": None,
        "error_message": "retrieval exploded",
        "metadata": None,
    }

    emu.truncate_next_stream()
    reply = await api.request("GET", target)
    assert reply.status == 200
    events = parse_sse(reply.body)
    assert [data["is_final"] for _, data in events] == [False, False, False]

    emu.fail_next_stream()
    events = parse_sse((await api.request("GET", target)).body)
    assert events[-1][1]["error_message"] == "Context retrieval failed"

    events = parse_sse((await api.request("GET", target)).body)  # outcomes are one-shot
    assert events[-1][1]["is_final"] is True and events[-1][1]["error_message"] is None
    await poll(lambda: emu.streams_completed == 4)
    # fail/truncate do not affect the non-streamed answer.
    emu.fail_next_stream()
    reply = await api.request("GET", spath("u1", sid, "context"))
    assert reply.json()["error_message"] is None


async def test_reset_clears_stream_controls(api: Api) -> None:
    emu = api.emulator
    await api.create_user("u1")
    sid = (await new_session(api, "u1"))["session_id"]
    await api.request("GET", spath("u1", sid, "context?stream=true"))
    await poll(lambda: emu.streams_completed == 1)
    emu.hold_streams()
    emu.truncate_next_stream()
    emu.advance_clock(10_000)
    emu.reset()
    assert (emu.streams_started, emu.streams_completed, emu.streams_disconnected) == (0, 0, 0)
    assert abs(emu.now() - datetime.now(timezone.utc)) < timedelta(minutes=1)
    await api.create_user("u1")
    sid = (await new_session(api, "u1"))["session_id"]
    reply = await asyncio.wait_for(api.request("GET", spath("u1", sid, "context?stream=true")), 5)
    assert parse_sse(reply.body)[-1][1]["is_final"] is True


async def test_stream_delay_option() -> None:
    async with own_emulator(stream_event_delay=0) as api:
        await api.create_user("u1")
        sid = (await new_session(api, "u1"))["session_id"]
        reply = await api.request("GET", spath("u1", sid, "context?stream=true"))
        assert len(parse_sse(reply.body)) == 4
    with pytest.raises(ValueError):
        Emulator(stream_event_delay=-1)
    with pytest.raises(ValueError):
        Emulator(processing_delay=float("nan"))


async def test_last_active_at_not_bumped_by_reads() -> None:
    clock = Clock()
    async with own_emulator(clock=clock) as api:
        await api.create_user("u1")
        sid = (await new_session(api, "u1"))["session_id"]
        created_at = clock.now
        clock.tick(5)
        for target in (
            spath("u1", sid),
            spath("u1"),
            spath("u1", sid, "messages"),
            spath("u1", sid, "context"),
            f"{U}/u1/messages?limit=3",
        ):
            assert (await api.request("GET", target)).status == 200
        user = (await api.request("GET", f"{U}/u1")).json()["user"]
        assert parse_ts(user["last_active_at"]) == created_at
        clock.tick(5)
        assert (await api.request("DELETE", spath("u1", sid))).status == 204
        user = (await api.request("GET", f"{U}/u1")).json()["user"]
        assert parse_ts(user["last_active_at"]) == clock.now


async def test_word_rule_examples() -> None:
    assert words("Hello, WORLD! snake_case 42x é") == {
        "hello",
        "world",
        "snake",
        "case",
        "42x",
        "é",
    }
    assert score("alpha beta", words("alpha")) == 0.5
    assert score("!!!", words("alpha")) == 0.0


async def test_stop_releases_held_streams() -> None:
    emu = Emulator()
    await emu.start()
    try:
        async with aiohttp.ClientSession() as session:
            api = Api(session, emu)
            await api.create_user("u1")
            sid = (await new_session(api, "u1"))["session_id"]
            url = emu.base_url + spath("u1", sid, "context") + "?stream=true"
            emu.hold_streams()
            async with session.get(url, headers=api.auth_headers()) as resp:
                first = await asyncio.wait_for(resp.content.readuntil(b"\n\n"), 5)
                loop = asyncio.get_running_loop()
                started = loop.time()
                await emu.stop()
                assert loop.time() - started < 1.0  # not aiohttp's graceful-shutdown timeout
                rest = await resp.content.read()
        assert [data["is_final"] for _, data in parse_sse(first + rest)] == [False] * 3 + [True]
        assert emu.streams_completed == 1
    finally:
        await emu.stop()
