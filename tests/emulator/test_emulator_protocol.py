"""Transport-level behaviour of the emulator: unknown routes, auth, content
types, request recording."""

from __future__ import annotations

import pytest

from ._support import Api

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("method", "target"),
    [
        ("GET", "/"),
        ("GET", "/api/v1"),
        ("GET", "/api/v1/userz"),
        ("GET", "/api/v2/users"),
        ("GET", "/api/v1/users/"),
        ("GET", "/api/v1//users"),
        ("GET", "/api/v1/users/a/b"),
        ("GET", "/api/v1/users/../users"),
        ("GET", "/API/v1/users"),
        ("GET", "/api/v1/users/%FF"),
        ("PATCH", "/api/v1/users/u1"),
        ("POST", "/api/v1/users/u1"),
        ("DELETE", "/api/v1/users"),
        ("PUT", "/api/v1/users"),
        ("HEAD", "/api/v1/users/u1"),
    ],
)
async def test_unknown_route_is_plain_text_404(api: Api, method: str, target: str) -> None:
    await api.create_user("u1")
    reply = await api.request(method, target)
    assert reply.status == 404
    assert reply.content_type == "text/plain"
    if method != "HEAD":
        assert reply.body == b"404 page not found"
    assert api.emulator.last_request.raw_path == target.partition("?")[0]


async def test_unknown_route_wins_over_missing_auth(api: Api) -> None:
    reply = await api.request("GET", "/nope", headers={})
    assert reply.status == 404
    assert reply.body == b"404 page not found"


@pytest.mark.parametrize(
    ("headers", "detail"),
    [
        ({"X-Recallr-Project-Id": "p"}, "Invalid API key"),
        ({"X-Recallr-Api-Key": "", "X-Recallr-Project-Id": "p"}, "Invalid API key"),
        ({"X-Recallr-Api-Key": "sk_123", "X-Recallr-Project-Id": "p"}, "Invalid API key"),
        ({"X-Recallr-Api-Key": "RAI_123", "X-Recallr-Project-Id": "p"}, "Invalid API key"),
        ({"X-Recallr-Api-Key": "rai_123"}, "Missing project ID"),
        ({"X-Recallr-Api-Key": "rai_123", "X-Recallr-Project-Id": ""}, "Missing project ID"),
        ({}, "Invalid API key"),
    ],
)
@pytest.mark.parametrize(
    ("method", "target"),
    [("GET", "/api/v1/users"), ("POST", "/api/v1/users"), ("DELETE", "/api/v1/users/u1")],
)
async def test_bad_credentials_are_401(
    api: Api, headers: dict[str, str], detail: str, method: str, target: str
) -> None:
    await api.create_user("u1")
    reply = await api.request(method, target, headers=headers, json_body={"custom_user_id": "x"})
    assert reply.status == 401
    assert reply.content_type == "application/json"
    assert reply.json() == {"detail": detail}
    # nothing happened
    listed = (await api.request("GET", "/api/v1/users")).json()
    assert [u["custom_user_id"] for u in listed["users"]] == ["u1"]


async def test_any_rai_key_is_accepted_by_default(api: Api) -> None:
    headers = {"X-Recallr-Api-Key": "rai_someone_else", "X-Recallr-Project-Id": "p"}
    reply = await api.request("GET", "/api/v1/users", headers=headers)
    assert reply.status == 200


async def test_headers_are_case_insensitive(api: Api) -> None:
    headers = {"x-recallr-api-key": "rai_k", "X-RECALLR-PROJECT-ID": api.emulator.project_id}
    reply = await api.request(
        "POST", "/api/v1/users", headers=headers, json_body={"custom_user_id": "u"}
    )
    assert reply.status == 201
    assert (await api.request("GET", "/api/v1/users/u")).status == 200


async def test_no_content_response_has_no_body(api: Api) -> None:
    await api.create_user("u1")
    reply = await api.request("DELETE", "/api/v1/users/u1")
    assert reply.status == 204
    assert reply.body == b""
    assert reply.headers.get("Content-Length") in (None, "0")


async def test_json_responses_are_utf8_json(api: Api) -> None:
    reply = await api.request("POST", "/api/v1/users", json_body={"custom_user_id": "zoë"})
    assert reply.headers["Content-Type"] == "application/json"
    assert "zoë".encode() in reply.body


async def test_requests_are_recorded_exactly(api: Api) -> None:
    body = '{"custom_user_id":"é x","metadata":{}}'.encode()
    await api.request("POST", "/api/v1/users", body=body)
    await api.request("GET", "/api/v1/users/%C3%A9%20x")
    await api.request("GET", "/api/v1/users?offset=0&limit=5&metadata_filter=%7B%22a%22%3A+1%7D")
    await api.request("GET", "/missing?x=1", headers={})

    recorded = api.emulator.requests
    assert [(r.method, r.raw_path, r.query_string) for r in recorded] == [
        ("POST", "/api/v1/users", ""),
        ("GET", "/api/v1/users/%C3%A9%20x", ""),
        ("GET", "/api/v1/users", "offset=0&limit=5&metadata_filter=%7B%22a%22%3A+1%7D"),
        ("GET", "/missing", "x=1"),
    ]
    first = recorded[0]
    assert first.body == body
    assert first.json() == {"custom_user_id": "é x", "metadata": {}}
    assert first.headers["x-recallr-api-key"] == api.emulator.api_key
    assert first.headers["X-Recallr-Project-Id"] == api.emulator.project_id
    assert recorded[1].body == b""
    assert recorded[2].query == [("offset", "0"), ("limit", "5"), ("metadata_filter", '{"a": 1}')]
    assert "X-Recallr-Api-Key" not in recorded[3].headers
    assert api.emulator.last_request == recorded[3]


async def test_reset_clears_data_requests_and_faults(api: Api) -> None:
    await api.create_user("u1")
    api.emulator.inject_fault(500, times=3)
    assert api.emulator.pending_faults == 3
    api.emulator.reset()
    assert api.emulator.requests == []
    assert api.emulator.pending_faults == 0
    reply = await api.request("GET", "/api/v1/users/u1")
    assert reply.status == 404
    assert reply.json() == {"detail": "User u1 not found"}


# -- 422 bodies (PROTOCOL.md section 13: FastAPI items with input and ctx) -------------------

STRATEGIES = "'low_latency', 'balanced', 'agentic' or 'auto'"


def item(
    type_: str, loc: list[object], msg: str, input_: object, ctx: dict[str, object] | None = None
) -> dict[str, object]:
    expected: dict[str, object] = {"type": type_, "loc": loc, "msg": msg, "input": input_}
    if ctx is not None:
        expected["ctx"] = ctx
    return expected


def ge(loc: list[object], input_: object, bound: object) -> dict[str, object]:
    msg = f"Input should be greater than or equal to {bound}"
    return item("greater_than_equal", loc, msg, input_, {"ge": bound})


def le(loc: list[object], input_: object, bound: object) -> dict[str, object]:
    msg = f"Input should be less than or equal to {bound}"
    return item("less_than_equal", loc, msg, input_, {"le": bound})


SESSION = "/api/v1/users/u1/sessions/SID"
NOT_AN_INT = "Input should be a valid integer, unable to parse string as an integer"


@pytest.mark.parametrize(
    ("method", "target", "body", "expected"),
    [
        # query parameters: the raw text as received, ctx for limits
        ("GET", "/api/v1/users?limit=0", None, [ge(["query", "limit"], "0", 1)]),
        ("GET", "/api/v1/users?limit=101", None, [le(["query", "limit"], "101", 100)]),
        ("GET", "/api/v1/users?offset=-1", None, [ge(["query", "offset"], "-1", 0)]),
        (
            "GET",
            "/api/v1/users?limit=ten",
            None,
            [item("int_parsing", ["query", "limit"], NOT_AN_INT, "ten")],
        ),
        (
            "GET",
            "/api/v1/users?metadata_filter=%5B1%5D",
            None,
            [
                item(
                    "dict_type",
                    ["query", "metadata_filter"],
                    "Input should be a valid dictionary",
                    "[1]",
                )
            ],
        ),
        ("GET", "/api/v1/users/u1/sessions?limit=101", None, [le(["query", "limit"], "101", 100)]),
        ("GET", SESSION + "/messages?limit=501", None, [le(["query", "limit"], "501", 500)]),
        ("GET", "/api/v1/users/u1/memories?limit=201", None, [le(["query", "limit"], "201", 200)]),
        (
            "GET",
            "/api/v1/users/u1/merge-conflicts?limit=101",
            None,
            [le(["query", "limit"], "101", 100)],
        ),
        (
            "GET",
            "/api/v1/users/u1/merge-conflicts?sort_order=up",
            None,
            [
                item(
                    "enum",
                    ["query", "sort_order"],
                    "Input should be 'asc' or 'desc'",
                    "up",
                    {"expected": "'asc' or 'desc'"},
                )
            ],
        ),
        (
            "GET",
            SESSION + "/context?memories_threshold=0.1&max_top_k=101",
            None,
            [
                le(["query", "max_top_k"], "101", 100),
                ge(["query", "memories_threshold"], "0.1", 0.2),
            ],
        ),
        (
            "GET",
            "/api/v1/system-prompt?recall_strategy=fast",
            None,
            [
                item(
                    "enum",
                    ["query", "recall_strategy"],
                    f"Input should be {STRATEGIES}",
                    "fast",
                    {"expected": STRATEGIES},
                )
            ],
        ),
        (
            "GET",
            "/api/v1/users/u1/messages",
            None,
            [item("missing", ["query", "limit"], "Field required", None)],
        ),
        # body fields: the JSON value; a missing field reports the object it is missing from
        (
            "POST",
            "/api/v1/users",
            {"metadata": {}},
            [item("missing", ["body", "custom_user_id"], "Field required", {"metadata": {}})],
        ),
        (
            "POST",
            "/api/v1/users",
            {"custom_user_id": 5},
            [item("string_type", ["body", "custom_user_id"], "Input should be a valid string", 5)],
        ),
        (
            "POST",
            "/api/v1/users/u1/sessions",
            {"auto_process_after_seconds": 599},
            [ge(["body", "auto_process_after_seconds"], 599, 600)],
        ),
        (
            "POST",
            "/api/v1/users/u1/sessions",
            {"auto_process_after_seconds": 600.5},
            [
                item(
                    "int_type",
                    ["body", "auto_process_after_seconds"],
                    "Input should be a valid integer",
                    600.5,
                )
            ],
        ),
        (
            "POST",
            SESSION + "/add-message",
            {"message": "hi", "role": "system"},
            [
                item(
                    "enum",
                    ["body", "role"],
                    "Input should be 'user' or 'assistant'",
                    "system",
                    {"expected": "'user' or 'assistant'"},
                )
            ],
        ),
        (
            "POST",
            "/api/v1/users/u1/merge-conflicts/c1/resolve",
            {"answers": {"question_answers": [{"answer": "a"}]}},
            [
                item(
                    "missing",
                    ["body", "answers", "question_answers", 0, "question"],
                    "Field required",
                    {"answer": "a"},
                )
            ],
        ),
        ("POST", "/api/v1/users", b"", [item("missing", ["body"], "Field required", None)]),
        (
            "POST",
            "/api/v1/users",
            b"[1]",
            [
                item(
                    "model_attributes_type",
                    ["body"],
                    "Input should be a valid dictionary or object to extract fields from",
                    [1],
                )
            ],
        ),
    ],
)
async def test_422_items_carry_input_and_ctx(
    api: Api, method: str, target: str, body: object, expected: list[dict[str, object]]
) -> None:
    await api.create_user("u1")
    created = await api.request("POST", "/api/v1/users/u1/sessions", json_body={})
    target = target.replace("SID", created.json()["session"]["session_id"])
    if isinstance(body, bytes):
        reply = await api.request(method, target, body=body)
    else:
        reply = await api.request(method, target, json_body=body)
    assert reply.status == 422
    assert reply.json() == {"detail": expected}


async def test_422_for_broken_json_names_the_parser_error(api: Api) -> None:
    reply = await api.request("POST", "/api/v1/users", body=b'{"custom_user_id": }')
    (error,) = reply.json()["detail"]
    assert error["type"] == "json_invalid"
    assert error["loc"] == ["body", 19]
    assert error["input"] == {}
    assert error["ctx"] == {"error": "Expecting value"}
