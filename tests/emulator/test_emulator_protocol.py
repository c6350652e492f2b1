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
