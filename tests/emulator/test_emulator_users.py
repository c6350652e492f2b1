"""Users API of the emulator over real HTTP (PROTOCOL.md 5.1 and section 12)."""

from __future__ import annotations

import json
import urllib.parse
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from recallrai.emulator import Emulator

from ._support import Api, encode_id, parse_ts

pytestmark = pytest.mark.anyio

USER_KEYS = {"custom_user_id", "metadata", "merge_conflict_enabled", "created_at", "last_active_at"}


def filter_query(value: object, *, spaced: bool = True) -> str:
    text = json.dumps(value) if spaced else json.dumps(value, separators=(",", ":"))
    return urllib.parse.urlencode({"metadata_filter": text})


# -- create ---------------------------------------------------------------


async def test_create_minimal_user(api: Api) -> None:
    reply = await api.request("POST", "/api/v1/users", json_body={"custom_user_id": "u1"})
    assert reply.status == 201
    assert reply.content_type == "application/json"
    user = reply.json()["user"]
    assert set(user) == USER_KEYS
    assert user["custom_user_id"] == "u1"
    assert user["metadata"] == {}
    assert user["merge_conflict_enabled"] is None
    assert parse_ts(user["created_at"]) == parse_ts(user["last_active_at"])
    assert abs(parse_ts(user["created_at"]) - datetime.now(timezone.utc)) < timedelta(minutes=1)


async def test_create_keeps_metadata_and_flag_exactly(api: Api) -> None:
    metadata = {"name": "José 😀", "n": [1, 2.5, None, True], "nested": {"a": {"b": []}}}
    created = await api.create_user("u1", metadata=metadata, merge_conflict_enabled=False)
    assert created["metadata"] == metadata
    assert created["merge_conflict_enabled"] is False
    await api.create_user("u2", merge_conflict_enabled=True, metadata=None)
    fetched = (await api.request("GET", "/api/v1/users/u1")).json()["user"]
    assert fetched == created
    other = (await api.request("GET", "/api/v1/users/u2")).json()["user"]
    assert other["merge_conflict_enabled"] is True
    assert other["metadata"] == {}


async def test_create_duplicate_is_409(api: Api) -> None:
    await api.create_user("dup")
    reply = await api.request("POST", "/api/v1/users", json_body={"custom_user_id": "dup"})
    assert reply.status == 409
    assert reply.json() == {"detail": "User dup already exists"}


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({}, ["body", "custom_user_id"]),
        ({"custom_user_id": None}, ["body", "custom_user_id"]),
        ({"custom_user_id": 123}, ["body", "custom_user_id"]),
        ({"custom_user_id": ""}, ["body", "custom_user_id"]),
        ({"custom_user_id": " \t "}, ["body", "custom_user_id"]),
        ({"custom_user_id": "u", "metadata": [1]}, ["body", "metadata"]),
        ({"custom_user_id": "u", "metadata": "x"}, ["body", "metadata"]),
        (
            {"custom_user_id": "u", "merge_conflict_enabled": "yes"},
            ["body", "merge_conflict_enabled"],
        ),
        ({"custom_user_id": "u", "merge_conflict_enabled": 1}, ["body", "merge_conflict_enabled"]),
    ],
)
async def test_create_invalid_fields_are_422(
    api: Api, body: dict[str, object], loc: list[str]
) -> None:
    reply = await api.request("POST", "/api/v1/users", json_body=body)
    assert reply.status == 422
    assert reply.content_type == "application/json"
    detail = reply.json()["detail"]
    assert [item["loc"] for item in detail] == [loc]
    assert all(isinstance(item["msg"], str) and isinstance(item["type"], str) for item in detail)
    listed = (await api.request("GET", "/api/v1/users")).json()
    assert listed["total"] == 0


@pytest.mark.parametrize(
    "raw_body", [b"", b"{", b"[1, 2]", b'"user"', b"null", b"\xff\xfe", b'{"custom_user_id": NaN}']
)
async def test_create_malformed_body_is_422(api: Api, raw_body: bytes) -> None:
    reply = await api.request("POST", "/api/v1/users", body=raw_body)
    assert reply.status == 422
    detail = reply.json()["detail"]
    assert isinstance(detail, list) and detail
    assert detail[0]["loc"][0] == "body"


# -- get ------------------------------------------------------------------


async def test_get_missing_user_is_404_with_exact_detail(api: Api) -> None:
    reply = await api.request("GET", "/api/v1/users/nobody")
    assert reply.status == 404
    assert reply.content_type == "application/json"
    assert reply.json() == {"detail": "User nobody not found"}


# -- list -----------------------------------------------------------------


async def test_list_pages_newest_first(api: Api) -> None:
    ids = [f"user-{i:02d}" for i in range(25)]
    for user_id in ids:
        await api.create_user(user_id)
    newest_first = ids[::-1]

    pages = []
    for offset in (0, 10, 20):
        reply = await api.request("GET", f"/api/v1/users?offset={offset}&limit=10")
        assert reply.status == 200
        pages.append(reply.json())
    assert [[u["custom_user_id"] for u in p["users"]] for p in pages] == [
        newest_first[0:10],
        newest_first[10:20],
        newest_first[20:25],
    ]
    assert [p["total"] for p in pages] == [25, 25, 25]
    assert [p["has_more"] for p in pages] == [True, True, False]
    assert set(pages[0]["users"][0]) == USER_KEYS

    default = (await api.request("GET", "/api/v1/users")).json()
    assert [u["custom_user_id"] for u in default["users"]] == newest_first[:10]
    assert default["has_more"] is True

    everything = (await api.request("GET", "/api/v1/users?offset=0&limit=100")).json()
    assert [u["custom_user_id"] for u in everything["users"]] == newest_first
    assert everything["has_more"] is False

    past_end = (await api.request("GET", "/api/v1/users?offset=25&limit=10")).json()
    assert past_end == {"users": [], "total": 25, "has_more": False}

    exact = (await api.request("GET", "/api/v1/users?offset=15&limit=10")).json()
    assert len(exact["users"]) == 10 and exact["has_more"] is False


async def test_list_ties_in_creation_time_keep_insertion_order() -> None:
    frozen = datetime(2025, 1, 1, tzinfo=timezone.utc)
    import aiohttp

    async with Emulator(clock=lambda: frozen) as emu, aiohttp.ClientSession() as session:
        api = Api(session, emu)
        for user_id in ("first", "second", "third"):
            user = await api.create_user(user_id)
            assert user["created_at"] == "2025-01-01T00:00:00.000000+00:00"
        listed = (await api.request("GET", "/api/v1/users")).json()
        assert [u["custom_user_id"] for u in listed["users"]] == ["third", "second", "first"]


@pytest.mark.parametrize(
    "query",
    [
        "offset=-1",
        "offset=abc",
        "offset=",
        "limit=0",
        "limit=101",
        "limit=1.5",
        "limit=",
        "limit=ten",
    ],
)
async def test_list_bad_paging_is_422(api: Api, query: str) -> None:
    reply = await api.request("GET", f"/api/v1/users?{query}")
    assert reply.status == 422
    name = query.split("=")[0]
    assert [item["loc"] for item in reply.json()["detail"]] == [["query", name]]


async def test_list_paging_bounds_are_accepted(api: Api) -> None:
    await api.create_user("only")
    for query in ("limit=1", "limit=100", "offset=0", "offset=0&limit=5"):
        reply = await api.request("GET", f"/api/v1/users?{query}")
        assert reply.status == 200, query
        assert reply.json()["total"] == 1


async def test_list_repeated_parameter_uses_last_value(api: Api) -> None:
    for user_id in ("a", "b", "c"):
        await api.create_user(user_id)
    reply = await api.request("GET", "/api/v1/users?limit=1&offset=0&limit=2")
    assert [u["custom_user_id"] for u in reply.json()["users"]] == ["c", "b"]


async def test_list_reports_every_bad_parameter(api: Api) -> None:
    reply = await api.request("GET", "/api/v1/users?offset=-5&limit=1000&metadata_filter=%7B")
    assert reply.status == 422
    locs = [item["loc"] for item in reply.json()["detail"]]
    assert locs == [["query", "offset"], ["query", "limit"], ["query", "metadata_filter"]]


async def test_list_metadata_filter(api: Api) -> None:
    await api.create_user("admin-1", metadata={"role": "admin", "team": "a", "flag": True})
    await api.create_user("admin-2", metadata={"role": "admin", "team": "b", "flag": 1})
    await api.create_user("plain", metadata={"role": "user", "nested": {"x": [1, 2]}})
    await api.create_user("none")
    await api.create_user("josé", metadata={"name": "José 😀", "text": "a+b", "spaced": "a b"})

    async def ids(filter_value: object, *, spaced: bool = True) -> list[str]:
        reply = await api.request(
            "GET", "/api/v1/users?" + filter_query(filter_value, spaced=spaced)
        )
        assert reply.status == 200
        body = reply.json()
        assert body["total"] == len(body["users"])
        return [u["custom_user_id"] for u in body["users"]]

    assert await ids({"role": "admin"}) == ["admin-2", "admin-1"]
    assert await ids({"role": "admin"}, spaced=False) == ["admin-2", "admin-1"]
    assert await ids({"role": "admin", "team": "b"}) == ["admin-2"]
    assert await ids({"flag": True}) == ["admin-1"]
    assert await ids({"flag": 1}) == ["admin-2"]
    assert await ids({"nested": {"x": [1, 2]}}) == ["plain"]
    assert await ids({"nested": {"x": [1]}}) == []
    assert await ids({"missing": None}) == []
    assert await ids({"name": "José 😀"}) == ["josé"]  # sent with \u escapes
    assert await ids({"text": "a+b"}) == ["josé"]
    assert await ids({"spaced": "a b"}) == ["josé"]
    assert len(await ids({})) == 5

    # '+' in the raw query is a space
    raw = "metadata_filter=%7B%22spaced%22%3A+%22a+b%22%7D"
    reply = await api.request("GET", f"/api/v1/users?{raw}")
    assert [u["custom_user_id"] for u in reply.json()["users"]] == ["josé"]

    paged = (
        await api.request(
            "GET", "/api/v1/users?offset=1&limit=1&" + filter_query({"role": "admin"})
        )
    ).json()
    assert [u["custom_user_id"] for u in paged["users"]] == ["admin-1"]
    assert paged["total"] == 2 and paged["has_more"] is False


async def test_list_partial_user_id_search(api: Api) -> None:
    await api.create_user("Alice-Admin", metadata={"role": "admin"})
    await api.create_user("bob", metadata={"role": "admin"})
    await api.create_user("alicia", metadata={"role": "user"})
    await api.create_user("MALICE")
    await api.create_user("zoë ÆON")

    async def page(**params: str) -> dict[str, Any]:
        reply = await api.request("GET", "/api/v1/users?" + urllib.parse.urlencode(params))
        assert reply.status == 200, reply
        body: dict[str, Any] = reply.json()
        return body

    async def ids(**params: str) -> list[str]:
        return [u["custom_user_id"] for u in (await page(**params))["users"]]

    # a case-insensitive substring of the ID, newest first
    assert await ids(partial_user_id="ALI") == ["MALICE", "alicia", "Alice-Admin"]
    assert await ids(partial_user_id="alice") == ["MALICE", "Alice-Admin"]
    assert await ids(partial_user_id="-adm") == ["Alice-Admin"]
    assert await ids(partial_user_id="æon") == ["zoë ÆON"]
    assert await ids(partial_user_id="nobody") == []
    assert len(await ids(partial_user_id="")) == 5
    # combined with the metadata filter (AND)
    admins = json.dumps({"role": "admin"})
    assert await ids(partial_user_id="ali", metadata_filter=admins) == ["Alice-Admin"]
    assert await ids(partial_user_id="o", metadata_filter=admins) == ["bob"]
    # total and has_more count the matches, so offset paging works over a search
    first = await page(partial_user_id="ali", offset="0", limit="2")
    assert (first["total"], first["has_more"]) == (3, True)
    rest = await page(partial_user_id="ali", offset="2", limit="2")
    assert (rest["total"], rest["has_more"]) == (3, False)
    assert [u["custom_user_id"] for u in rest["users"]] == ["Alice-Admin"]


@pytest.mark.parametrize("value", ["not json", "[1, 2]", '"text"', "", "null", "NaN"])
async def test_list_bad_metadata_filter_is_422(api: Api, value: str) -> None:
    query = urllib.parse.urlencode({"metadata_filter": value})
    reply = await api.request("GET", f"/api/v1/users?{query}")
    assert reply.status == 422
    assert [item["loc"] for item in reply.json()["detail"]] == [["query", "metadata_filter"]]


# -- update ---------------------------------------------------------------


async def test_update_replaces_metadata_and_flag() -> None:
    now = [datetime(2025, 1, 1, tzinfo=timezone.utc)]
    import aiohttp

    async with Emulator(clock=lambda: now[0]) as emu, aiohttp.ClientSession() as session:
        api = Api(session, emu)
        created = await api.create_user("u1", metadata={"old": 1, "keep": "no"})
        now[0] += timedelta(hours=1)

        reply = await api.request(
            "PUT",
            "/api/v1/users/u1",
            json_body={"new_metadata": {"new": "ü"}, "merge_conflict_enabled": False},
        )
        assert reply.status == 200
        updated = reply.json()["user"]
        assert updated["metadata"] == {"new": "ü"}
        assert updated["merge_conflict_enabled"] is False
        assert updated["created_at"] == created["created_at"]
        assert updated["last_active_at"] == "2025-01-01T01:00:00.000000+00:00"

        now[0] += timedelta(hours=1)
        noop = await api.request("PUT", "/api/v1/users/u1", json_body={})
        assert noop.status == 200
        assert noop.json()["user"] == updated

        nulls = await api.request(
            "PUT",
            "/api/v1/users/u1",
            json_body={
                "new_metadata": None,
                "new_custom_user_id": None,
                "merge_conflict_enabled": None,
            },
        )
        assert nulls.json()["user"] == updated

        fetched = (await api.request("GET", "/api/v1/users/u1")).json()["user"]
        assert fetched == updated


async def test_update_rename_moves_user(api: Api) -> None:
    created = await api.create_user("old", metadata={"k": "v"})
    reply = await api.request("PUT", "/api/v1/users/old", json_body={"new_custom_user_id": "new"})
    assert reply.status == 200
    renamed = reply.json()["user"]
    assert renamed["custom_user_id"] == "new"
    assert renamed["metadata"] == {"k": "v"}
    assert renamed["created_at"] == created["created_at"]
    assert parse_ts(renamed["last_active_at"]) >= parse_ts(created["last_active_at"])

    missing = await api.request("GET", "/api/v1/users/old")
    assert missing.status == 404
    assert missing.json() == {"detail": "User old not found"}
    assert (await api.request("GET", "/api/v1/users/new")).json()["user"] == renamed
    listed = (await api.request("GET", "/api/v1/users")).json()
    assert [u["custom_user_id"] for u in listed["users"]] == ["new"]

    again = await api.request("PUT", "/api/v1/users/new", json_body={"new_custom_user_id": "new"})
    assert again.status == 200
    assert again.json()["user"]["custom_user_id"] == "new"


async def test_update_rename_to_taken_id_is_409_and_changes_nothing(api: Api) -> None:
    await api.create_user("a", metadata={"who": "a"})
    await api.create_user("b", metadata={"who": "b"})
    reply = await api.request(
        "PUT",
        "/api/v1/users/a",
        json_body={"new_metadata": {"changed": True}, "new_custom_user_id": "b"},
    )
    assert reply.status == 409
    assert reply.json() == {"detail": "User b already exists"}
    assert (await api.request("GET", "/api/v1/users/a")).json()["user"]["metadata"] == {"who": "a"}
    assert (await api.request("GET", "/api/v1/users/b")).json()["user"]["metadata"] == {"who": "b"}


async def test_update_missing_user_is_404(api: Api) -> None:
    reply = await api.request("PUT", "/api/v1/users/ghost", json_body={"new_metadata": {}})
    assert reply.status == 404
    assert reply.json() == {"detail": "User ghost not found"}


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ({"new_metadata": [1]}, "new_metadata"),
        ({"new_metadata": "x"}, "new_metadata"),
        ({"new_custom_user_id": 5}, "new_custom_user_id"),
        ({"new_custom_user_id": ""}, "new_custom_user_id"),
        ({"new_custom_user_id": "  "}, "new_custom_user_id"),
        ({"merge_conflict_enabled": "true"}, "merge_conflict_enabled"),
    ],
)
async def test_update_invalid_fields_are_422(api: Api, body: dict[str, object], key: str) -> None:
    before = await api.create_user("u1", metadata={"a": 1})
    reply = await api.request("PUT", "/api/v1/users/u1", json_body=body)
    assert reply.status == 422
    assert [item["loc"] for item in reply.json()["detail"]] == [["body", key]]
    assert (await api.request("GET", "/api/v1/users/u1")).json()["user"] == before


@pytest.mark.parametrize("raw_body", [b"", b"{]", b"[]"])
async def test_update_malformed_body_is_422(api: Api, raw_body: bytes) -> None:
    await api.create_user("u1")
    reply = await api.request("PUT", "/api/v1/users/u1", body=raw_body)
    assert reply.status == 422
    assert reply.json()["detail"][0]["loc"][0] == "body"


# -- delete ---------------------------------------------------------------


async def test_delete_user(api: Api) -> None:
    await api.create_user("doomed")
    await api.create_user("kept")
    reply = await api.request("DELETE", "/api/v1/users/doomed")
    assert reply.status == 204
    assert reply.body == b""
    assert (await api.request("GET", "/api/v1/users/doomed")).status == 404
    again = await api.request("DELETE", "/api/v1/users/doomed")
    assert again.status == 404
    assert again.json() == {"detail": "User doomed not found"}
    listed = (await api.request("GET", "/api/v1/users")).json()
    assert [u["custom_user_id"] for u in listed["users"]] == ["kept"]
    # the ID is free again
    assert (await api.create_user("doomed"))["custom_user_id"] == "doomed"


# -- IDs in paths -----------------------------------------------------------

ODD_IDS = ["a/b", "..", ".", "x?y#z", "ü ser", "%20", "a b", "a+b", "é", "semi;colon", "100%"]


@pytest.mark.parametrize("user_id", ODD_IDS)
async def test_encoded_ids_reach_their_own_user(api: Api, user_id: str) -> None:
    await api.create_user(user_id, metadata={"id": user_id})
    await api.create_user("decoy")
    path = "/api/v1/users/" + encode_id(user_id)

    reply = await api.request("GET", path)
    assert api.emulator.last_request.raw_path == path  # nothing normalised on the way
    assert reply.status == 200
    assert reply.json()["user"]["custom_user_id"] == user_id
    assert reply.json()["user"]["metadata"] == {"id": user_id}

    reply = await api.request("PUT", path, json_body={"new_metadata": {"updated": True}})
    assert reply.status == 200
    assert reply.json()["user"]["custom_user_id"] == user_id

    reply = await api.request("DELETE", path)
    assert reply.status == 204
    assert (await api.request("GET", path)).json() == {"detail": f"User {user_id} not found"}
    assert (await api.request("GET", "/api/v1/users/decoy")).status == 200


async def test_percent_sequences_are_decoded_exactly_once(api: Api) -> None:
    await api.create_user("%20")
    blank = await api.request("GET", "/api/v1/users/%20")  # user " ", not "%20"
    assert blank.status == 404
    assert blank.json() == {"detail": "User   not found"}
    assert (await api.request("GET", "/api/v1/users/%2520")).json()["user"][
        "custom_user_id"
    ] == "%20"


async def test_literal_dot_segments_are_not_normalised(api: Api) -> None:
    await api.create_user("..")
    reply = await api.request("GET", "/api/v1/users/..")
    assert api.emulator.last_request.raw_path == "/api/v1/users/.."
    assert reply.status == 200
    assert reply.json()["user"]["custom_user_id"] == ".."


async def test_unencoded_slash_is_two_segments(api: Api) -> None:
    await api.create_user("a/b")
    reply = await api.request("GET", "/api/v1/users/a/b")
    assert reply.status == 404
    assert reply.body == b"404 page not found"


# -- project scoping ----------------------------------------------------------


async def test_data_is_scoped_per_project(api: Api) -> None:
    await api.create_user("shared", metadata={"p": 1})
    reply = await api.request(
        "POST",
        "/api/v1/users",
        json_body={"custom_user_id": "shared", "metadata": {"p": 2}},
        project_id="other-project",
    )
    assert reply.status == 201
    mine = (await api.request("GET", "/api/v1/users/shared")).json()["user"]
    theirs = (await api.request("GET", "/api/v1/users/shared", project_id="other-project")).json()
    assert mine["metadata"] == {"p": 1}
    assert theirs["user"]["metadata"] == {"p": 2}
    await api.create_user("only-mine")
    listed = (await api.request("GET", "/api/v1/users", project_id="other-project")).json()
    assert [u["custom_user_id"] for u in listed["users"]] == ["shared"]
