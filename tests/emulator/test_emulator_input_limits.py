"""Absurd input never makes the emulator answer 500 or answer huge: oversized
integers are FastAPI-style 422s, JSON nesting and non-finite numbers are
refused, and echoed client values are cut (PROTOCOL.md §13)."""

from __future__ import annotations

import gzip
import io
import json
import sys
from typing import Any

import pytest
import yarl

from ._support import Api, Reply, encode_id
from .test_emulator_memories import answer, open_conflict, resolve

pytestmark = pytest.mark.anyio

ECHO = 1000
"""Characters of a client's value echoed verbatim (``recallrai.emulator._http.ECHO_LIMIT``)."""

TOO_LONG = "1" + "0" * 5000  # 10**5000: beyond pydantic's 4300 characters
LONGEST = "9" * 4300
MOST_NEGATIVE = "-" + "9" * 4299


def strict_json(reply: Reply) -> Any:
    """The body as standard JSON (no NaN/Infinity)."""

    def reject(name: str) -> None:
        raise AssertionError(f"{name} in a JSON answer")

    return json.loads(reply.body, parse_constant=reject)


def clipped(value: str) -> str:
    return value if len(value) <= ECHO else value[:ECHO] + "..."


async def user_and_session(api: Api) -> str:
    await api.create_user("u1")
    reply = await api.request("POST", "/api/v1/users/u1/sessions", json_body={})
    assert reply.status == 201, reply
    session_id: str = reply.json()["session"]["session_id"]
    return session_id


# (path, parameter, upper bound or None); {sid} is a session of user u1
INT_PARAMETERS = [
    ("/api/v1/users", "offset", None),
    ("/api/v1/users", "limit", 100),
    ("/api/v1/users/u1/memories", "offset", None),
    ("/api/v1/users/u1/memories", "limit", 200),
    ("/api/v1/users/u1/merge-conflicts", "offset", None),
    ("/api/v1/users/u1/merge-conflicts", "limit", 100),
    ("/api/v1/users/u1/sessions", "offset", None),
    ("/api/v1/users/u1/sessions", "limit", 100),
    ("/api/v1/users/u1/sessions/{sid}/messages", "offset", None),
    ("/api/v1/users/u1/sessions/{sid}/messages", "limit", 500),
    ("/api/v1/users/u1/messages", "limit", 100),
    ("/api/v1/users/u1/sessions/{sid}/context", "min_top_k", 50),
    ("/api/v1/users/u1/sessions/{sid}/context", "max_top_k", 100),
    ("/api/v1/users/u1/sessions/{sid}/context", "last_n_messages", 100),
    ("/api/v1/users/u1/sessions/{sid}/context", "last_n_summaries", 20),
]


async def target(api: Api, path: str) -> str:
    """*path* for a new user u1 with one session."""
    session_id = await user_and_session(api)
    return path.format(sid=session_id)


@pytest.mark.parametrize(("path", "name", "le"), INT_PARAMETERS)
async def test_integer_text_too_long_is_int_parsing_size(
    api: Api, path: str, name: str, le: int | None
) -> None:
    reply = await api.request("GET", f"{await target(api, path)}?{name}={TOO_LONG}")
    assert reply.status == 422, reply
    assert strict_json(reply) == {
        "detail": [
            {
                "type": "int_parsing_size",
                "loc": ["query", name],
                "msg": "Unable to parse input string as an integer, exceeded maximum size",
                "input": clipped(TOO_LONG),
            }
        ]
    }


@pytest.mark.parametrize(("path", "name", "le"), INT_PARAMETERS)
async def test_longest_integers_are_range_checked(
    api: Api, path: str, name: str, le: int | None
) -> None:
    path = await target(api, path)
    reply = await api.request("GET", f"{path}?{name}={LONGEST}")
    if le is None:
        assert reply.status == 200, reply
    else:
        assert reply.status == 422, reply
        assert strict_json(reply)["detail"] == [
            {
                "type": "less_than_equal",
                "loc": ["query", name],
                "msg": f"Input should be less than or equal to {le}",
                "input": clipped(LONGEST),
                "ctx": {"le": le},
            }
        ]
    reply = await api.request("GET", f"{path}?{name}={MOST_NEGATIVE}")
    assert reply.status == 422, reply
    [error] = strict_json(reply)["detail"]
    assert (error["type"], error["input"]) == ("greater_than_equal", clipped(MOST_NEGATIVE))


async def test_host_process_int_limit_is_respected(api: Api) -> None:
    set_limit = getattr(sys, "set_int_max_str_digits", None)
    if set_limit is None:
        pytest.skip("no integer string conversion limit in this Python")
    previous = sys.get_int_max_str_digits()
    set_limit(640)
    try:
        reply = await api.request("GET", "/api/v1/users?offset=" + "1" * 700)
    finally:
        set_limit(previous)
    assert reply.status == 422
    assert strict_json(reply)["detail"][0]["type"] == "int_parsing_size"


# -- integers and other numbers in bodies -----------------------------------------------


async def test_body_integer_beyond_the_parser_limit_is_422(api: Api) -> None:
    await api.create_user("u1")
    body = b'{"auto_process_after_seconds":' + TOO_LONG.encode() + b"}"
    reply = await api.request("POST", "/api/v1/users/u1/sessions", body=body)
    assert reply.status == 422
    [error] = strict_json(reply)["detail"]
    assert (error["type"], error["loc"]) == ("json_invalid", ["body"])
    assert len(error["ctx"]["error"]) < 300


async def test_huge_auto_process_delay_means_never(api: Api) -> None:
    await api.create_user("u1")
    body = b'{"auto_process_after_seconds":' + LONGEST.encode() + b"}"
    reply = await api.request("POST", "/api/v1/users/u1/sessions", body=body)
    assert reply.status == 201
    session = strict_json(reply)["session"]
    assert session["auto_process_after_seconds"] == int(LONGEST)
    api.emulator.advance_clock(10**9)
    reply = await api.request("GET", f"/api/v1/users/u1/sessions/{session['session_id']}")
    assert (reply.status, strict_json(reply)["session"]["status"]) == (200, "pending")


@pytest.mark.parametrize("number", ["1e400", "-1e400", "1" * 400 + ".0"])
@pytest.mark.parametrize(
    ("target", "template"),
    [
        ("/api/v1/users", '{"custom_user_id":"x","metadata":{"n":%s}}'),
        ("/api/v1/users/u1/sessions", '{"auto_process_after_seconds":%s}'),
    ],
)
async def test_non_finite_numbers_are_refused(
    api: Api, target: str, template: str, number: str
) -> None:
    await api.create_user("u1")
    reply = await api.request("POST", target, body=(template % number).encode())
    assert reply.status == 422
    [error] = strict_json(reply)["detail"]
    assert (error["type"], error["loc"]) == ("json_invalid", ["body"])
    listed = await api.request("GET", "/api/v1/users")
    assert strict_json(listed)["total"] == 1


# -- body size ---------------------------------------------------------------------------


@pytest.mark.parametrize("compressed", [False, True])
async def test_bodies_over_16_mib_are_413_and_the_server_carries_on(
    api: Api, compressed: bool
) -> None:
    size = 16 * 1024 * 1024 + 1
    headers = api.auth_headers()
    body = b" " * size
    if compressed:  # 64 MiB once inflated by the server, sent as 64 KiB
        body = gzip.compress(body * 4)
        headers["Content-Encoding"] = "gzip"
    url = yarl.URL(api.emulator.base_url + "/api/v1/users", encoded=True)
    async with api.session.post(url, data=io.BytesIO(body), headers=headers) as response:
        assert response.status == 413
    assert api.emulator.requests == []
    assert strict_json(await api.request("GET", "/api/v1/users"))["total"] == 0


# -- nesting --------------------------------------------------------------------------------


def deep_user(depth: int) -> bytes:
    """A create-user body nested *depth* levels deep (the body object is level 1,
    its metadata level 2, then arrays)."""
    arrays = "[" * (depth - 2) + "]" * (depth - 2)
    return ('{"custom_user_id":"deep","metadata":{"a":' + arrays + "}}").encode()


@pytest.mark.parametrize("depth", [99, 100])
async def test_nesting_up_to_the_limit_is_kept(api: Api, depth: int) -> None:
    reply = await api.request("POST", "/api/v1/users", body=deep_user(depth))
    assert reply.status == 201, reply
    reply = await api.request("GET", "/api/v1/users")
    assert strict_json(reply)["users"][0]["custom_user_id"] == "deep"


@pytest.mark.parametrize("depth", [101, 300, 900, 5000])
async def test_deeper_nesting_is_422_not_500(api: Api, depth: int) -> None:
    reply = await api.request("POST", "/api/v1/users", body=deep_user(depth))
    assert reply.status == 422, reply
    assert strict_json(reply) == {
        "detail": [
            {
                "type": "json_invalid",
                "loc": ["body"],
                "msg": "JSON decode error",
                "input": {},
                "ctx": {"error": "JSON nested too deeply"},
            }
        ]
    }
    assert strict_json(await api.request("GET", "/api/v1/users"))["total"] == 0


# -- echoed values ------------------------------------------------------------------------


@pytest.mark.parametrize("length", [1, 999, ECHO])
@pytest.mark.parametrize(
    ("template", "detail"),
    [
        ("/api/v1/users/{id}", "User {id} not found"),
        ("/api/v1/users/u1/memory/{id}", "Memory {id} not found"),
        ("/api/v1/users/u1/sessions/{id}", "Session {id} not found"),
        ("/api/v1/users/u1/merge-conflicts/{id}", "Merge conflict {id} not found"),
    ],
)
async def test_not_found_names_ids_of_normal_length_exactly(
    api: Api, template: str, detail: str, length: int
) -> None:
    await api.create_user("u1")
    missing = "é" * length
    reply = await api.request("GET", template.format(id=encode_id(missing)))
    assert reply.status == 404
    assert strict_json(reply) == {"detail": detail.format(id=missing)}


@pytest.mark.parametrize(
    ("template", "detail"),
    [
        ("/api/v1/users/{id}", "User {id} not found"),
        ("/api/v1/users/u1/memory/{id}", "Memory {id} not found"),
        ("/api/v1/users/u1/sessions/{id}", "Session {id} not found"),
        ("/api/v1/users/u1/merge-conflicts/{id}", "Merge conflict {id} not found"),
    ],
)
async def test_not_found_cuts_long_ids(api: Api, template: str, detail: str) -> None:
    await api.create_user("u1")
    missing = "x" * 7000
    reply = await api.request("GET", template.format(id=missing))
    assert reply.status == 404
    assert strict_json(reply) == {"detail": detail.format(id="x" * ECHO + "...")}


async def test_conflict_on_a_huge_user_id_answers_briefly(api: Api) -> None:
    huge = "y" * 1_000_000
    reply = await api.request("POST", "/api/v1/users", json_body={"custom_user_id": huge})
    assert reply.status == 201
    reply = await api.request("POST", "/api/v1/users", json_body={"custom_user_id": huge})
    assert reply.status == 409
    assert strict_json(reply) == {"detail": f"User {'y' * ECHO}... already exists"}
    await api.create_user("u2")
    reply = await api.request("PUT", "/api/v1/users/u2", json_body={"new_custom_user_id": huge})
    assert reply.status == 409
    assert strict_json(reply) == {"detail": f"User {'y' * ECHO}... already exists"}


async def test_validation_errors_cut_their_input(api: Api) -> None:
    huge_text = "z" * 100_000
    huge_list = list(range(100_000))
    reply = await api.request(
        "POST",
        "/api/v1/users",
        json_body={
            "custom_user_id": "u",
            "merge_conflict_enabled": huge_text,
            "metadata": huge_list,
        },
    )
    assert reply.status == 422
    errors = {tuple(error["loc"]): error for error in strict_json(reply)["detail"]}
    assert errors[("body", "merge_conflict_enabled")]["input"] == huge_text[:ECHO] + "..."
    echoed_list = errors[("body", "metadata")]["input"]
    assert echoed_list == json.dumps(huge_list, separators=(",", ":"))[:ECHO] + "..."
    assert len(reply.body) < 4 * ECHO

    # small inputs are echoed as they are
    reply = await api.request(
        "POST", "/api/v1/users", json_body={"custom_user_id": "u", "metadata": [1, 2]}
    )
    assert strict_json(reply)["detail"][0]["input"] == [1, 2]

    reply = await api.request(
        "GET", "/api/v1/users/u1/sessions/s/context?memories_threshold=" + "1" * 5000
    )
    assert reply.status == 422
    assert strict_json(reply)["detail"][0]["input"] == "1" * ECHO + "..."
    reply = await api.request("GET", "/api/v1/users?metadata_filter=" + "%7B" * 2000)
    assert reply.status == 422
    assert strict_json(reply)["detail"][0]["input"] == "{" * ECHO + "..."


async def test_merge_conflict_errors_cut_echoed_answers(api: Api) -> None:
    conflict = await open_conflict(api)
    question = conflict["clarifying_questions"][0]["question"]
    status, body = await resolve(api, conflict["id"], [answer(question, "q" * 100_000)])
    assert status == 400
    assert body["detail"].startswith(f"Invalid answer '{'q' * ECHO}...' for question '")
    assert len(body["detail"]) < 3 * ECHO
    status, body = await resolve(api, conflict["id"], [answer("w" * 100_000, "Both")])
    assert status == 400
    assert len(body["detail"]) < 2 * ECHO
