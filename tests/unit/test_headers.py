"""What goes on the wire for each Users operation: method, path, query, headers, body (PROTOCOL §1, §5.1)."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import respx

import recallrai
from recallrai import AsyncRecallrAI

pytestmark = pytest.mark.anyio

# Headers the HTTP library adds by itself; everything else must be exactly the SDK's.
LIBRARY_HEADERS = {"host", "accept-encoding", "connection", "content-length"}


def _expected_headers(api_key: str, project_id: str) -> dict[str, str]:
    return {
        "x-recallr-api-key": api_key,
        "x-recallr-project-id": project_id,
        "content-type": "application/json",
        "accept": "application/json",
        "user-agent": f"recallrai-python/{recallrai.__version__}",
    }


def _user_answer(user_id: str = "u1", status: int = 200) -> httpx.Response:
    return httpx.Response(
        status,
        json={
            "user": {
                "custom_user_id": user_id,
                "metadata": {},
                "merge_conflict_enabled": None,
                "created_at": "2025-01-01T00:00:00Z",
                "last_active_at": "2025-01-01T00:00:00Z",
            }
        },
    )


EMPTY_PAGE = httpx.Response(200, json={"users": [], "total": 0, "has_more": False})


async def _referenced(client: AsyncRecallrAI, user_id: str = "u1") -> recallrai.AsyncUser:
    return await client.get_user(user_id, validate=False)


async def _update(client: AsyncRecallrAI, **kwargs: Any) -> None:
    user = await _referenced(client)
    await user.update(**kwargs)


async def _delete(client: AsyncRecallrAI) -> None:
    user = await _referenced(client)
    await user.delete()


async def _refresh(client: AsyncRecallrAI) -> None:
    user = await _referenced(client)
    await user.refresh()


# (operation, answer, method, raw path+query, body or None)
CASES: list[Any] = [
    pytest.param(
        lambda c: c.create_user("u1"),
        _user_answer(status=201),
        "POST",
        b"/api/v1/users",
        b'{"custom_user_id":"u1"}',
        id="create-bare",
    ),
    pytest.param(
        lambda c: c.create_user("u1", metadata={}),
        _user_answer(status=201),
        "POST",
        b"/api/v1/users",
        b'{"custom_user_id":"u1","metadata":{}}',
        id="create-empty-metadata",
    ),
    pytest.param(
        lambda c: c.create_user("u1", metadata={"name": "Bob"}, merge_conflict_enabled=True),
        _user_answer(status=201),
        "POST",
        b"/api/v1/users",
        b'{"custom_user_id":"u1","metadata":{"name":"Bob"},"merge_conflict_enabled":true}',
        id="create-metadata-flag",
    ),
    pytest.param(
        lambda c: c.create_user("u1", merge_conflict_enabled=False),
        _user_answer(status=201),
        "POST",
        b"/api/v1/users",
        b'{"custom_user_id":"u1","merge_conflict_enabled":false}',
        id="create-flag-false",
    ),
    pytest.param(
        lambda c: c.create_user(
            "u 1/x",
            metadata={"name": "José", "n": [1, 2.5, None, True]},
            merge_conflict_enabled=False,
        ),
        _user_answer("u 1/x", status=201),
        "POST",
        b"/api/v1/users",
        '{"custom_user_id":"u 1/x","metadata":{"name":"José","n":[1,2.5,null,true]},'
        '"merge_conflict_enabled":false}'.encode(),
        id="create-protocol-example",
    ),
    pytest.param(
        lambda c: c.get_user("u1"), _user_answer(), "GET", b"/api/v1/users/u1", None, id="get"
    ),
    pytest.param(_refresh, _user_answer(), "GET", b"/api/v1/users/u1", None, id="refresh"),
    pytest.param(
        lambda c: c.list_users(),
        EMPTY_PAGE,
        "GET",
        b"/api/v1/users?offset=0&limit=10",
        None,
        id="list-default",
    ),
    pytest.param(
        lambda c: c.list_users(offset=5, limit=3, metadata_filter={"role": "admin"}),
        EMPTY_PAGE,
        "GET",
        b"/api/v1/users?offset=5&limit=3&metadata_filter=%7B%22role%22%3A+%22admin%22%7D",
        None,
        id="list-filter",
    ),
    pytest.param(
        lambda c: c.list_users(metadata_filter={}),
        EMPTY_PAGE,
        "GET",
        b"/api/v1/users?offset=0&limit=10&metadata_filter=%7B%7D",
        None,
        id="list-empty-filter",
    ),
    pytest.param(
        lambda c: c.list_users(
            metadata_filter={"name": "José 😀", "nested": {"a": None, "b": 1.5}}
        ),
        EMPTY_PAGE,
        "GET",
        b"/api/v1/users?offset=0&limit=10&metadata_filter=%7B%22name%22%3A+%22Jos%5Cu00e9+%5Cud83d%5Cude00"
        b"%22%2C+%22nested%22%3A+%7B%22a%22%3A+null%2C+%22b%22%3A+1.5%7D%7D",
        None,
        id="list-unicode-filter",
    ),
    pytest.param(
        lambda c: _update(c), _user_answer(), "PUT", b"/api/v1/users/u1", b"{}", id="update-nothing"
    ),
    pytest.param(
        lambda c: _update(
            c, new_metadata={"k": "v"}, new_user_id="u2", merge_conflict_enabled=False
        ),
        _user_answer("u2"),
        "PUT",
        b"/api/v1/users/u1",
        b'{"new_metadata":{"k":"v"},"new_custom_user_id":"u2","merge_conflict_enabled":false}',
        id="update-all",
    ),
    pytest.param(
        lambda c: _update(c, new_metadata={}),
        _user_answer(),
        "PUT",
        b"/api/v1/users/u1",
        b'{"new_metadata":{}}',
        id="update-empty-metadata",
    ),
    pytest.param(
        lambda c: _update(c, merge_conflict_enabled=True),
        _user_answer(),
        "PUT",
        b"/api/v1/users/u1",
        b'{"merge_conflict_enabled":true}',
        id="update-flag",
    ),
    pytest.param(
        lambda c: _update(c, new_metadata={"deep": {"x": None}}),
        _user_answer(),
        "PUT",
        b"/api/v1/users/u1",
        b'{"new_metadata":{"deep":{"x":null}}}',
        id="update-nested-null",
    ),
    pytest.param(_delete, httpx.Response(204), "DELETE", b"/api/v1/users/u1", None, id="delete"),
]


@pytest.mark.parametrize(("operation", "answer", "method", "target", "body"), CASES)
async def test_users_request_on_the_wire(
    api, new_client, api_key, project_id, operation, answer, method, target, body
):
    route = api.route().mock(return_value=answer)
    async with new_client() as client:
        await operation(client)
    assert route.call_count == 1
    request = route.calls.last.request
    assert request.method == method
    assert request.url.raw_path == target
    assert request.url.scheme == "http"
    assert request.url.host == "127.0.0.1"
    assert request.url.port == 9

    headers = {name.lower(): value for name, value in request.headers.items()}
    expected = _expected_headers(api_key, project_id)
    assert {k: headers.get(k) for k in expected} == expected
    assert set(headers) - LIBRARY_HEADERS == set(expected)
    assert "authorization" not in headers

    if body is None:
        assert request.content == b""
        assert headers.get("content-length") in (None, "0")
    else:
        assert request.content == body
        assert headers["content-length"] == str(len(body))
        json.loads(body)  # the expectation itself is valid JSON


@pytest.mark.parametrize(
    ("user_id", "segment"),
    [
        ("a/b", b"a%2Fb"),
        ("..", b"%2E%2E"),
        ("a b", b"a%20b"),
        ("é", b"%C3%A9"),
        ("x?y#z", b"x%3Fy%23z"),
    ],
)
@pytest.mark.parametrize("action", ["get", "update", "delete"])
async def test_user_ids_are_one_encoded_segment(api, new_client, user_id, segment, action):
    answer = {
        "get": _user_answer(user_id),
        "update": _user_answer(user_id),
        "delete": httpx.Response(204),
    }
    route = api.route().mock(return_value=answer[action])
    async with new_client() as client:
        user = await client.get_user(user_id, validate=(action == "get"))
        if action == "update":
            await user.update(new_metadata={"a": 1})
        elif action == "delete":
            await user.delete()
    assert route.call_count == 1
    assert route.calls.last.request.url.raw_path == b"/api/v1/users/" + segment


async def test_renamed_user_is_addressed_by_its_new_id(api, new_client):
    route = api.route().mock(side_effect=[_user_answer("new/id"), httpx.Response(204)])
    async with new_client() as client:
        user = await _referenced(client, "old")
        await user.update(new_user_id="new/id")
        await user.delete()
    paths = [call.request.url.raw_path for call in route.calls]
    methods = [call.request.method for call in route.calls]
    assert paths == [b"/api/v1/users/old", b"/api/v1/users/new%2Fid"]
    assert methods == ["PUT", "DELETE"]


@pytest.mark.parametrize(
    ("base", "prefix"),
    [
        ("http://127.0.0.1:9/", b""),
        ("http://127.0.0.1:9///", b""),
        ("http://127.0.0.1:9/prefix", b"/prefix"),
        ("http://127.0.0.1:9/prefix/", b"/prefix"),
    ],
)
async def test_base_url_is_stripped_and_prefixed(new_client, base, prefix):
    with respx.mock(assert_all_called=False) as router:
        route = router.route(host="127.0.0.1").mock(return_value=_user_answer())
        async with new_client(base_url=base) as client:
            await client.get_user("u1")
    assert route.calls.last.request.url.raw_path == prefix + b"/api/v1/users/u1"


async def test_headers_are_the_same_on_every_request(api, new_client):
    route = api.route().mock(
        side_effect=[_user_answer(status=201), _user_answer(), EMPTY_PAGE, httpx.Response(204)]
    )
    async with new_client() as client:
        user = await client.create_user("u1")
        await user.refresh()
        await client.list_users()
        await user.delete()
    sdk_headers = [
        {k.lower(): v for k, v in call.request.headers.items() if k.lower() not in LIBRARY_HEADERS}
        for call in route.calls
    ]
    assert len(sdk_headers) == 4
    assert all(h == sdk_headers[0] for h in sdk_headers)
    assert sdk_headers[0]["content-type"] == "application/json"


def test_user_agent_names_the_sdk_and_its_version():
    from recallrai._pipeline import USER_AGENT
    from recallrai._version import __version__

    assert __version__ == recallrai.__version__
    assert re.fullmatch(r"\d+\.\d+\.\d+\S*", __version__)
    assert f"recallrai-python/{__version__}" == USER_AGENT


# --------------------------------------------------------------------------- the aiohttp transport


@asynccontextmanager
async def _recording_server(
    answer: Callable[[str], tuple[int, bytes]],
) -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    """A loopback aiohttp server recording each request's method, raw target, headers and body."""
    from aiohttp import web

    seen: list[dict[str, Any]] = []

    async def handle(request: web.BaseRequest) -> web.Response:
        seen.append(
            {
                "method": request.method,
                "target": request.raw_path,
                "headers": {k.lower(): v for k, v in request.headers.items()},
                "body": await request.read(),
            }
        )
        status, body = answer(request.method)
        if status == 204:
            return web.Response(status=204)
        return web.Response(status=status, body=body, content_type="application/json")

    runner = web.ServerRunner(web.Server(handle))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        yield f"http://127.0.0.1:{port}", seen
    finally:
        await runner.cleanup()


def _answer_for(method: str) -> tuple[int, bytes]:
    user = _user_answer("a/b").content
    page = EMPTY_PAGE.content
    return {"POST": (201, user), "GET": (200, user), "PUT": (200, user), "DELETE": (204, b"")}.get(
        method, (200, page)
    )


async def _exercise(client: AsyncRecallrAI) -> None:
    user = await client.create_user("a/b", metadata={"name": "José"})
    await client.get_user("a/b")
    await client.get_user("..", validate=False)
    await user.update()
    await user.delete()


async def test_aiohttp_transport_sends_the_same_bytes(api_key, project_id):
    async with (
        _recording_server(_answer_for) as (base, seen),
        AsyncRecallrAI(api_key, project_id, base_url=base, max_retries=0) as client,
    ):
        await _exercise(client)
    assert [(r["method"], r["target"]) for r in seen] == [
        ("POST", "/api/v1/users"),
        ("GET", "/api/v1/users/a%2Fb"),
        ("PUT", "/api/v1/users/a%2Fb"),
        ("DELETE", "/api/v1/users/a%2Fb"),
    ]
    assert seen[0]["body"] == '{"custom_user_id":"a/b","metadata":{"name":"José"}}'.encode()
    assert seen[2]["body"] == b"{}"
    assert seen[1]["body"] == seen[3]["body"] == b""
    expected = _expected_headers(api_key, project_id)
    for record in seen:
        assert {k: record["headers"].get(k) for k in expected} == expected
        assert "authorization" not in record["headers"]


async def test_aiohttp_transport_keeps_dot_segments_encoded(api_key, project_id):
    async with (
        _recording_server(_answer_for) as (base, seen),
        AsyncRecallrAI(api_key, project_id, base_url=base, max_retries=0) as client,
    ):
        for user_id in ("..", "."):
            await (await client.get_user(user_id, validate=False)).delete()
    assert [r["target"] for r in seen] == ["/api/v1/users/%2E%2E", "/api/v1/users/%2E"]


async def test_both_transports_send_identical_requests(api_key, project_id):
    async with _recording_server(_answer_for) as (base, seen):
        for transport in ("aiohttp", "httpx"):
            async with AsyncRecallrAI(
                api_key, project_id, base_url=base, max_retries=0, transport=transport
            ) as client:
                await _exercise(client)
    half = len(seen) // 2
    assert half == 4
    for via_aiohttp, via_httpx in zip(seen[:half], seen[half:], strict=True):
        assert via_aiohttp["method"] == via_httpx["method"]
        assert via_aiohttp["target"] == via_httpx["target"]
        assert via_aiohttp["body"] == via_httpx["body"]
        sdk = set(_expected_headers(api_key, project_id))
        assert {k: via_aiohttp["headers"][k] for k in sdk} == {
            k: via_httpx["headers"][k] for k in sdk
        }
