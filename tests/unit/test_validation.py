"""Client-side checks: a ValidationError before any request; configuration; secret hygiene."""

from __future__ import annotations

import json
import logging
import math
from collections import UserDict
from collections.abc import Awaitable, Callable
from types import MappingProxyType
from typing import Any

import httpx
import pytest
import respx

from recallrai import AsyncRecallrAI
from recallrai import exceptions as exc

pytestmark = pytest.mark.anyio

ENV_VARS = ("RECALLRAI_API_KEY", "RECALLRAI_PROJECT_ID", "RECALLRAI_BASE_URL")


@pytest.fixture
def no_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


async def _rejected(
    api, new_client, call: Callable[[AsyncRecallrAI], Awaitable[Any]]
) -> exc.ValidationError:
    """Run ``call``; it must raise ValidationError without sending anything."""
    route = api.route().mock(return_value=httpx.Response(500))
    async with new_client() as client:
        with pytest.raises(exc.ValidationError) as info:
            await call(client)
    assert route.call_count == 0
    assert info.value.http_status is None
    return info.value


# --------------------------------------------------------------------------- IDs


BAD_IDS = [
    pytest.param("", id="empty"),
    pytest.param("   ", id="blank"),
    pytest.param("\t\n", id="whitespace"),
    pytest.param(None, id="None"),
    pytest.param(5, id="int"),
    pytest.param(b"u1", id="bytes"),
    pytest.param(["u1"], id="list"),
]


@pytest.mark.parametrize("user_id", BAD_IDS)
async def test_create_user_rejects_bad_ids(api, new_client, user_id):
    error = await _rejected(api, new_client, lambda c: c.create_user(user_id))
    assert "user_id" in error.message


@pytest.mark.parametrize("user_id", BAD_IDS)
async def test_get_user_rejects_bad_ids(api, new_client, user_id):
    await _rejected(api, new_client, lambda c: c.get_user(user_id))


@pytest.mark.parametrize("user_id", BAD_IDS)
async def test_get_user_without_validation_rejects_bad_ids(api, new_client, user_id):
    await _rejected(api, new_client, lambda c: c.get_user(user_id, validate=False))


async def test_get_user_without_validation_sends_nothing(api, new_client):
    route = api.route().mock(return_value=httpx.Response(500))
    async with new_client() as client:
        user = await client.get_user("u1", validate=False)
    assert user.user_id == "u1"
    assert route.call_count == 0


@pytest.mark.parametrize("new_user_id", ["", "  ", 7, b"x"])
async def test_update_rejects_bad_new_user_id(api, new_client, new_user_id):
    async def call(client: AsyncRecallrAI) -> None:
        user = await client.get_user("u1", validate=False)
        await user.update(new_user_id=new_user_id)

    error = await _rejected(api, new_client, call)
    assert "new_user_id" in error.message


# --------------------------------------------------------------------------- metadata


BAD_METADATA = [
    pytest.param([("a", 1)], id="list"),
    pytest.param("{}", id="json-text"),
    pytest.param(42, id="int"),
    pytest.param({1: "a"}, id="int-key"),
    pytest.param({"outer": {2: "b"}}, id="nested-int-key"),
    pytest.param({"outer": [{"ok": 1}, {None: 1}]}, id="key-in-list"),
    pytest.param({("a",): 1}, id="tuple-key"),
    pytest.param({"x": math.nan}, id="nan"),
    pytest.param({"x": math.inf}, id="inf"),
    pytest.param({"x": [1.0, -math.inf]}, id="nested-inf"),
    pytest.param({"x": {1, 2}}, id="set"),
    pytest.param({"x": b"bytes"}, id="bytes"),
    pytest.param({"x": object()}, id="object"),
    pytest.param({"x": {"y": 1j}}, id="complex"),
]


@pytest.mark.parametrize("metadata", BAD_METADATA)
async def test_create_user_rejects_bad_metadata(api, new_client, metadata):
    error = await _rejected(api, new_client, lambda c: c.create_user("u1", metadata=metadata))
    assert "metadata" in error.message


@pytest.mark.parametrize("metadata", BAD_METADATA)
async def test_update_rejects_bad_metadata(api, new_client, metadata):
    async def call(client: AsyncRecallrAI) -> None:
        user = await client.get_user("u1", validate=False)
        await user.update(new_metadata=metadata)

    error = await _rejected(api, new_client, call)
    assert "new_metadata" in error.message


@pytest.mark.parametrize("metadata_filter", BAD_METADATA)
async def test_list_users_rejects_bad_metadata_filter(api, new_client, metadata_filter):
    error = await _rejected(
        api, new_client, lambda c: c.list_users(metadata_filter=metadata_filter)
    )
    assert "metadata_filter" in error.message


async def test_list_users_validates_before_awaiting(api, new_client):
    # The checks run when list_users() is called, not when its result is awaited or iterated.
    route = api.route().mock(return_value=httpx.Response(500))
    async with new_client() as client:
        with pytest.raises(exc.ValidationError):
            client.list_users(limit=0)
    assert route.call_count == 0


# --------------------------------------------------------------------------- flags and paging


@pytest.mark.parametrize("flag", ["yes", "false", 1, 0, "", []])
async def test_create_user_rejects_non_bool_merge_flag(api, new_client, flag):
    error = await _rejected(
        api, new_client, lambda c: c.create_user("u1", merge_conflict_enabled=flag)
    )
    assert "merge_conflict_enabled" in error.message


@pytest.mark.parametrize("flag", ["yes", 1])
async def test_update_rejects_non_bool_merge_flag(api, new_client, flag):
    async def call(client: AsyncRecallrAI) -> None:
        user = await client.get_user("u1", validate=False)
        await user.update(merge_conflict_enabled=flag)

    await _rejected(api, new_client, call)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"offset": -1}, "offset"),
        ({"offset": 1.0}, "offset"),
        ({"offset": "0"}, "offset"),
        ({"offset": True}, "offset"),
        ({"offset": None}, "offset"),
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": -5}, "limit"),
        ({"limit": True}, "limit"),
        ({"limit": False}, "limit"),
        ({"limit": 10.0}, "limit"),
        ({"limit": "10"}, "limit"),
    ],
)
async def test_list_users_rejects_bad_paging(api, new_client, kwargs, name):
    error = await _rejected(api, new_client, lambda c: c.list_users(**kwargs))
    assert name in error.message


@pytest.mark.parametrize("search", ["", "   ", 7, b"ali", ["ali"], "\ud800"])
async def test_list_users_rejects_a_bad_partial_user_id(api, new_client, search):
    error = await _rejected(api, new_client, lambda c: c.list_users(partial_user_id=search))
    assert "partial_user_id" in error.message


async def test_partial_user_id_is_keyword_only(api, new_client):
    async with new_client() as client:
        with pytest.raises(TypeError):
            client.list_users(0, 10, None, "ali")  # type: ignore[misc]


@pytest.mark.parametrize(
    ("kwargs", "query"),
    [
        ({}, "offset=0&limit=10"),
        ({"partial_user_id": "Al i"}, "offset=0&limit=10&partial_user_id=Al+i"),
        (
            {"metadata_filter": {"a": 1}, "partial_user_id": "al"},
            "offset=0&limit=10&metadata_filter=%7B%22a%22%3A+1%7D&partial_user_id=al",
        ),
    ],
)
async def test_partial_user_id_is_sent_only_when_given_after_the_filter(
    api, new_client, kwargs, query
):
    route = api.get("/api/v1/users").mock(
        return_value=httpx.Response(200, json={"users": [], "total": 0, "has_more": False})
    )
    async with new_client() as client:
        await client.list_users(**kwargs)
    assert route.calls.last.request.url.query.decode() == query


@pytest.mark.parametrize(("limit", "accepted"), [(1, True), (500, True), (0, False), (501, False)])
async def test_session_message_pages_hold_1_to_500(api, new_client, limit, accepted):
    async def call(client: AsyncRecallrAI) -> None:
        user = await client.get_user("u1", validate=False)
        session = await user.get_session("s1", validate=False)
        await session.get_messages(limit=limit)

    if not accepted:
        error = await _rejected(api, new_client, call)
        assert "between 1 and 500" in error.message
        return
    route = api.get("/api/v1/users/u1/sessions/s1/messages").mock(
        return_value=httpx.Response(200, json={"messages": [], "total": 0, "has_more": False})
    )
    async with new_client() as client:
        await call(client)
    assert route.calls.last.request.url.params["limit"] == str(limit)


@pytest.mark.parametrize(("offset", "limit"), [(0, 1), (0, 100), (10**6, 50)])
async def test_list_users_accepts_paging_bounds(api, new_client, offset, limit):
    route = api.get("/api/v1/users").mock(
        return_value=httpx.Response(200, json={"users": [], "total": 0, "has_more": False})
    )
    async with new_client() as client:
        page = await client.list_users(offset=offset, limit=limit)
    assert route.call_count == 1
    assert page.users == []
    assert route.calls.last.request.url.params["limit"] == str(limit)


@pytest.mark.parametrize("flag", [True, False, None])
async def test_merge_flag_accepts_bools_and_none(api, new_client, wire_user, flag):
    route = api.post("/api/v1/users").mock(
        return_value=httpx.Response(201, json={"user": wire_user()})
    )
    async with new_client() as client:
        await client.create_user("u1", merge_conflict_enabled=flag)
    assert route.call_count == 1


async def test_id_with_lone_surrogate_is_a_validation_error(api, new_client):
    await _rejected(api, new_client, lambda c: c.get_user("u\ud800"))


async def test_metadata_with_lone_surrogate_is_sent_or_rejected_cleanly(api, new_client, wire_user):
    route = api.post("/api/v1/users").mock(
        return_value=httpx.Response(201, json={"user": wire_user()})
    )
    async with new_client() as client:
        try:
            await client.create_user("u1", metadata={"k": "\udc80"})
        except exc.ValidationError:
            assert route.call_count == 0
            return
    # Accepted: the body must then be valid JSON carrying the value (as a \\u escape).
    body = route.calls.last.request.content
    assert json.loads(body.decode("utf-8"))["metadata"] == {"k": "\udc80"}


@pytest.mark.parametrize(
    "nested", [MappingProxyType({"b": 1}), UserDict({"b": 1})], ids=["proxy", "userdict"]
)
@pytest.mark.parametrize("where", ["metadata", "metadata_filter"])
async def test_nested_non_dict_mapping_is_sent_or_rejected_cleanly(
    api, new_client, wire_user, nested, where
):
    create = api.post("/api/v1/users").mock(
        return_value=httpx.Response(201, json={"user": wire_user(metadata={"a": {"b": 1}})})
    )
    listing = api.get("/api/v1/users").mock(
        return_value=httpx.Response(200, json={"users": [], "total": 0, "has_more": False})
    )
    route = create if where == "metadata" else listing
    async with new_client() as client:
        try:
            if where == "metadata":
                await client.create_user("u1", metadata={"a": nested})
            else:
                await client.list_users(metadata_filter={"a": nested})
        except exc.ValidationError:
            assert route.call_count == 0
            return
    # Accepted: it must then be sent as the plain JSON object it stands for.
    request = route.calls.last.request
    if where == "metadata":
        assert request.content == b'{"custom_user_id":"u1","metadata":{"a":{"b":1}}}'
    else:
        assert request.url.params["metadata_filter"] == '{"a": {"b": 1}}'


def _nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"leaf": 1}
    for _ in range(depth):
        value = {"n": value}
    return value


async def test_moderately_nested_metadata_is_sent(api, new_client, wire_user):
    route = api.post("/api/v1/users").mock(
        return_value=httpx.Response(201, json={"user": wire_user()})
    )
    async with new_client() as client:
        await client.create_user("u1", metadata=_nested(20))
    assert json.loads(route.calls.last.request.content)["metadata"] == _nested(20)


@pytest.mark.parametrize("depth", [500, 5000])
async def test_absurdly_nested_metadata_is_a_validation_error(api, new_client, depth):
    await _rejected(api, new_client, lambda c: c.create_user("u1", metadata=_nested(depth)))


async def test_tuples_in_metadata_go_out_as_arrays(api, new_client, wire_user):
    route = api.post("/api/v1/users").mock(
        return_value=httpx.Response(201, json={"user": wire_user()})
    )
    async with new_client() as client:
        await client.create_user("u1", metadata={"inner": {"tags": ("a", "b")}})
    assert route.calls.last.request.content == (
        b'{"custom_user_id":"u1","metadata":{"inner":{"tags":["a","b"]}}}'
    )


async def test_circular_metadata_is_a_validation_error(api, new_client):
    metadata: dict[str, Any] = {}
    metadata["self"] = metadata
    await _rejected(api, new_client, lambda c: c.create_user("u1", metadata=metadata))


# --------------------------------------------------------------------------- construction


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"project_id": "p"}, id="no-key"),
        pytest.param({"api_key": "rai_k"}, id="no-project"),
        pytest.param({"api_key": "", "project_id": "p"}, id="empty-key"),
        pytest.param({"api_key": "rai_k", "project_id": ""}, id="empty-project"),
        pytest.param({"api_key": "rai_k", "project_id": "   "}, id="blank-project"),
        pytest.param({}, id="nothing"),
    ],
)
def test_construction_needs_key_and_project(no_env, kwargs):
    with pytest.raises(exc.ValidationError):
        AsyncRecallrAI(**kwargs)


@pytest.mark.parametrize(
    "key",
    ["sk_live_S3CR3T", "RAI_S3CR3T", "raiS3CR3T", " rai_S3CR3T", "x_rai_S3CR3T", "rai-S3CR3T"],
)
def test_key_without_rai_prefix_is_rejected_without_echoing_it(no_env, key):
    with pytest.raises(exc.ValidationError) as info:
        AsyncRecallrAI(key, "p")
    assert "S3CR3T" not in str(info.value)
    assert "S3CR3T" not in repr(info.value)
    assert "rai_" in str(info.value)


@pytest.mark.parametrize("timeout", [0, -1, 0.0, math.nan, "5", True, None])
def test_bad_timeout_is_rejected(no_env, timeout):
    with pytest.raises(exc.ValidationError) as info:
        AsyncRecallrAI("rai_k", "p", timeout=timeout)
    assert "timeout" in str(info.value)


@pytest.mark.parametrize("max_retries", [-1, 1.5, "2", True, None])
def test_bad_max_retries_is_rejected(no_env, max_retries):
    with pytest.raises(exc.ValidationError) as info:
        AsyncRecallrAI("rai_k", "p", max_retries=max_retries)
    assert "max_retries" in str(info.value)


@pytest.mark.parametrize("base_url", ["ftp://host", "127.0.0.1:9", "api.recallrai.com"])
def test_bad_base_url_is_rejected(no_env, base_url):
    with pytest.raises(exc.ValidationError):
        AsyncRecallrAI("rai_k", "p", base_url=base_url)


@pytest.mark.parametrize("transport", ["requests", 5, object()])
def test_bad_transport_is_rejected(no_env, transport):
    with pytest.raises(exc.ValidationError):
        AsyncRecallrAI("rai_k", "p", transport=transport)


async def test_good_construction_values_are_accepted(no_env):
    async with AsyncRecallrAI(
        "rai_k", "p", timeout=0.5, max_retries=0, transport="httpx"
    ) as client:
        assert client.project_id == "p"
    async with AsyncRecallrAI("rai_k", "p", timeout=3, max_retries=10) as client:
        assert client.base_url == "https://api.recallrai.com"


# --------------------------------------------------------------------------- environment


async def test_environment_supplies_key_project_and_base_url(no_env, wire_user):
    no_env.setenv("RECALLRAI_API_KEY", "rai_from_env")
    no_env.setenv("RECALLRAI_PROJECT_ID", "proj-env")
    no_env.setenv("RECALLRAI_BASE_URL", "http://127.0.0.2:8/")
    with respx.mock(assert_all_called=False) as router:
        route = router.get("http://127.0.0.2:8/api/v1/users/u1").mock(
            return_value=httpx.Response(200, json={"user": wire_user()})
        )
        async with AsyncRecallrAI(transport="httpx", max_retries=0) as client:
            assert client.base_url == "http://127.0.0.2:8"
            assert client.project_id == "proj-env"
            await client.get_user("u1")
    assert route.call_count == 1
    headers = route.calls.last.request.headers
    assert headers["X-Recallr-Api-Key"] == "rai_from_env"
    assert headers["X-Recallr-Project-Id"] == "proj-env"


async def test_arguments_override_the_environment(no_env, wire_user):
    no_env.setenv("RECALLRAI_API_KEY", "rai_from_env")
    no_env.setenv("RECALLRAI_PROJECT_ID", "proj-env")
    no_env.setenv("RECALLRAI_BASE_URL", "http://127.0.0.2:8")
    with respx.mock(assert_all_called=False) as router:
        route = router.get("http://127.0.0.3:7/api/v1/users/u1").mock(
            return_value=httpx.Response(200, json={"user": wire_user()})
        )
        async with AsyncRecallrAI(
            "rai_from_arg",
            "proj-arg",
            base_url="http://127.0.0.3:7",
            transport="httpx",
            max_retries=0,
        ) as client:
            await client.get_user("u1")
    headers = route.calls.last.request.headers
    assert headers["X-Recallr-Api-Key"] == "rai_from_arg"
    assert headers["X-Recallr-Project-Id"] == "proj-arg"


def test_default_base_url_without_environment(no_env):
    client = AsyncRecallrAI("rai_k", "p")
    assert client.base_url == "https://api.recallrai.com"


def test_malformed_key_from_environment_is_rejected(no_env):
    no_env.setenv("RECALLRAI_API_KEY", "sk_from_env")
    no_env.setenv("RECALLRAI_PROJECT_ID", "p")
    with pytest.raises(exc.ValidationError) as info:
        AsyncRecallrAI()
    assert "sk_from_env" not in str(info.value)


# --------------------------------------------------------------------------- the key stays secret


async def test_key_not_in_repr_of_client(new_client, api_key):
    async with new_client() as client:
        assert api_key not in repr(client)
        assert api_key not in str(client)
        assert api_key not in repr(client._pipeline)
        user = await client.get_user("u1", validate=False)
        assert api_key not in repr(user)


@pytest.mark.parametrize(
    "side_effect",
    [
        httpx.Response(401, json={"detail": "Invalid API key"}),
        httpx.Response(503, json={"detail": "down"}),
        httpx.Response(429, headers={"Retry-After": "0"}, json={}),
        httpx.Response(200, text="<html>"),
        httpx.ConnectError("Connection refused"),
        httpx.ReadTimeout("timed out"),
    ],
    ids=["401", "503", "429", "malformed", "connect", "timeout"],
)
async def test_key_not_in_errors_or_logs(api, new_client, api_key, caplog, side_effect):
    route = api.route().mock(side_effect=side_effect)
    caplog.set_level(logging.DEBUG)
    async with new_client(max_retries=1) as client:

        async def no_wait(_: float) -> None:
            return None

        client._pipeline.sleep = no_wait
        with pytest.raises(exc.RecallrAIError) as info:
            await client.get_user("u1")
    assert route.call_count >= 1
    error = info.value
    for text in (str(error), repr(error), error.message, repr(error.args), repr(error.detail)):
        assert api_key not in text
    assert caplog.records, "the failing request should have been logged"
    for record in caplog.records:
        assert api_key not in record.getMessage()
        assert api_key not in repr(record.args)


# --------------------------------------------------------------------------- extremes


@pytest.mark.parametrize(
    "huge", [10**5000, -(10**5000), 2**63, 2**200], ids=["1e5000", "-1e5000", "2^63", "2^200"]
)
async def test_out_of_range_integers_are_validation_errors_with_short_messages(
    api, new_client, huge
):
    error = await _rejected(api, new_client, lambda c: c.list_users(offset=huge))
    assert "offset" in error.message and len(error.message) < 200


async def test_out_of_range_floats_are_validation_errors(api, new_client):
    async def call(client: AsyncRecallrAI) -> None:
        user = await client.get_user("u1", validate=False)
        session = await user.get_session("s1", validate=False)
        await session.get_context(memories_threshold=10**5000)

    error = await _rejected(api, new_client, call)
    assert "memories_threshold" in error.message and len(error.message) < 200


async def test_a_huge_id_is_not_echoed_whole(api, new_client):
    huge_id = "x" * 1_000_000
    error = await _rejected(api, new_client, lambda c: c.create_user(huge_id, metadata=[huge_id]))
    assert len(error.message) < 200


async def test_a_huge_server_detail_is_cut_in_the_message_kept_in_detail(api, new_client):
    huge_id = "x" * 1_000_000
    route = api.get("/api/v1/users/u1").mock(
        return_value=httpx.Response(404, json={"detail": f"User {huge_id} not found"})
    )
    async with new_client() as client:
        with pytest.raises(exc.UserNotFoundError) as caught:
            await client.get_user("u1")
    assert route.called
    assert len(caught.value.message) <= exc.MAX_MESSAGE_LENGTH
    assert len(str(caught.value)) < exc.MAX_MESSAGE_LENGTH + 50
    assert caught.value.detail == f"User {huge_id} not found"


# --------------------------------------------------------------------------- the rules, one by one
# The checks themselves (recallrai._validation), called directly: exact bounds, types and texts.

from recallrai import _validation as rules  # noqa: E402


def _nested_lists(depth: int) -> dict[str, Any]:
    """``{"a": [[...]]}`` whose innermost list sits ``depth`` levels below the object."""
    value: Any = []
    for _ in range(depth - 1):
        value = [value]
    return {"a": value}


def _nested_dicts(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth):
        value = {"k": value}
    return value


@pytest.mark.parametrize("build", [_nested_lists, _nested_dicts], ids=["lists", "dicts"])
def test_json_nesting_is_allowed_down_to_exactly_64_levels(build):
    deepest = build(rules.MAX_JSON_DEPTH)
    assert rules.require_json_object(deepest, "metadata") == deepest
    with pytest.raises(exc.ValidationError) as info:
        rules.require_json_object(build(rules.MAX_JSON_DEPTH + 1), "metadata")
    assert info.value.message == "metadata is nested deeper than 64 levels"


def test_json_copy_is_a_deep_plain_copy():
    inner = [1, 2.5, "x", None, True]
    value = MappingProxyType({"a": {"b": inner}, "t": (1, 2)})
    copy = rules.require_json_object(value, "metadata")
    assert copy == {"a": {"b": [1, 2.5, "x", None, True]}, "t": [1, 2]}
    assert type(copy) is dict and type(copy["a"]) is dict and type(copy["t"]) is list
    assert copy["a"]["b"] is not inner


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"a": math.nan}, "metadata cannot hold nan: JSON has no such number"),
        ({"a": [math.inf]}, "metadata cannot hold inf: JSON has no such number"),
        ({1: "a"}, "metadata keys must be strings, got 1"),
        ({"a": {2}}, "metadata cannot hold a set: not JSON data"),
        ({"a": "\ud800"}, "metadata holds text that is not valid Unicode"),
        ({"\ud800": 1}, "metadata holds text that is not valid Unicode"),
        ([1], "metadata must be a dict (a JSON object), not list"),
    ],
)
def test_json_object_refusals_say_what_is_wrong(value, message):
    with pytest.raises(exc.ValidationError) as info:
        rules.require_json_object(value, "metadata")
    assert info.value.message == message
    assert info.value.http_status is None


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (5, "user_id must be a string, not int"),
        (" \t", "user_id must be a non-empty string"),
        ("", "user_id must be a non-empty string"),
        ("a\udc00", "user_id holds text that is not valid Unicode"),
    ],
)
def test_text_refusals(value, message):
    with pytest.raises(exc.ValidationError) as info:
        rules.require_text(value, "user_id")
    assert info.value.message == message


def test_text_is_returned_unchanged():
    assert rules.require_text(" a ", "user_id") == " a "


@pytest.mark.parametrize("value", [0.2, 0.8, 0.5, 0.2000000001])
def test_threshold_bounds_are_inclusive(value):
    assert rules.require_float(value, "memories_threshold", 0.2, 0.8) == value


def test_float_accepts_ints():
    assert rules.require_float(1, "weight", 0, 2) == 1


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (0.19999999, "memories_threshold must be between 0.2 and 0.8, got 0.19999999"),
        (0.80000001, "memories_threshold must be between 0.2 and 0.8, got 0.80000001"),
        (math.nan, "memories_threshold must be between 0.2 and 0.8, got nan"),
        (True, "memories_threshold must be a number, not bool"),
        ("0.5", "memories_threshold must be a number, not str"),
        (None, "memories_threshold must be a number, not NoneType"),
    ],
)
def test_float_refusals(value, message):
    with pytest.raises(exc.ValidationError) as info:
        rules.require_float(value, "memories_threshold", 0.2, 0.8)
    assert info.value.message == message


async def test_context_thresholds_accept_both_bounds(api, new_client):
    route = api.get("/api/v1/users/u1/sessions/s1/context").mock(
        return_value=httpx.Response(200, json={"context": "c"})
    )
    async with new_client() as client:
        user = await client.get_user("u1", validate=False)
        session = await user.get_session("s1", validate=False)
        await session.get_context(
            memories_threshold=0.2, summaries_threshold=0.8, include_system_prompt=False
        )
    query = route.calls.last.request.url.params
    assert (query["memories_threshold"], query["summaries_threshold"]) == ("0.2", "0.8")


@pytest.mark.parametrize(
    ("value", "low", "high", "message"),
    [
        (True, 0, None, "limit must be an integer, not bool"),
        (1.0, 0, None, "limit must be an integer, not float"),
        (-1, 0, None, "limit must be at least 0, got -1"),
        (2**63, 0, None, "limit must be at least 0, got 9223372036854775808"),
        (2**64 - 1, 0, None, "limit must be at least 0, got 18446744073709551615"),
        (2**64, 0, None, "limit must be at least 0, got an integer of 65 bits"),
        (0, 1, 100, "limit must be between 1 and 100, got 0"),
        (101, 1, 100, "limit must be between 1 and 100, got 101"),
    ],
)
def test_int_refusals(value, low, high, message):
    with pytest.raises(exc.ValidationError) as info:
        rules.require_int(value, "limit", low, high)
    assert info.value.message == message


@pytest.mark.parametrize(
    ("value", "low", "high"), [(0, 0, None), (2**63 - 1, 0, None), (1, 1, 100), (100, 1, 100)]
)
def test_int_bounds_are_inclusive(value, low, high):
    assert rules.require_int(value, "limit", low, high) == value


def test_page_checks_offset_then_limit():
    assert rules.require_page(0, 100, 100) == (0, 100)
    with pytest.raises(exc.ValidationError, match=r"^offset must be at least 0, got -1$"):
        rules.require_page(-1, 0, 100)
    with pytest.raises(exc.ValidationError, match=r"^limit must be between 1 and 100, got 101$"):
        rules.require_page(0, 101, 100)


@pytest.mark.parametrize("value", [True, False, None])
def test_bool_accepts_bools_and_none(value):
    assert rules.require_bool(value, "flag") is value


def test_bool_refusal():
    with pytest.raises(exc.ValidationError) as info:
        rules.require_bool(1, "flag")
    assert info.value.message == "flag must be True, False or None, not int"


def test_enum_refusal_lists_the_values():
    from recallrai import RecallStrategy

    with pytest.raises(exc.ValidationError) as info:
        rules.require_enum("nope", RecallStrategy, "recall_strategy")
    valid = ", ".join(repr(member.value) for member in RecallStrategy)
    assert info.value.message == f"recall_strategy must be one of {valid}, got 'nope'"


@pytest.mark.parametrize("value", [0.001, 1, 2.5, 1e300])
def test_timeout_accepts_positive_finite_numbers(value):
    result = rules.require_timeout(value)
    assert result == value and type(result) is float


@pytest.mark.parametrize("value", [0, -1, math.inf, math.nan, True, "1", None])
def test_timeout_refusals(value):
    with pytest.raises(exc.ValidationError) as info:
        rules.require_timeout(value)
    assert info.value.message == f"timeout must be a positive number of seconds, got {value!r}"


@pytest.mark.parametrize("value", [0, 1, 10])
def test_retries_accept_counts(value):
    assert rules.require_retries(value) == value


@pytest.mark.parametrize("value", [-1, True, 1.0, "1", None])
def test_retries_refusals(value):
    with pytest.raises(exc.ValidationError) as info:
        rules.require_retries(value)
    assert info.value.message == f"max_retries must be an integer >= 0, got {value!r}"


def test_headers_are_copied_when_valid():
    token = "!#$%&'*+-.^_`|~09azAZ"
    headers = MappingProxyType({token: "v a l u e", "X-Other": ""})
    assert rules.require_headers(headers, "extra_headers") == {
        token: "v a l u e",
        "X-Other": "",
    }


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ([("a", "b")], "extra_headers must be a mapping of header names to values"),
        ({"": "v"}, "extra_headers has an invalid header name: ''"),
        ({1: "v"}, "extra_headers has an invalid header name: '1'"),
        ({"a b": "v"}, "extra_headers has an invalid header name: 'a b'"),
        ({"a:b": "v"}, "extra_headers has an invalid header name: 'a:b'"),
        ({"x" * 150 + " ": "v"}, f"extra_headers has an invalid header name: '{'x' * 100}'"),
        (
            {"x-recallr-api-key": "k"},
            "extra_headers cannot set x-recallr-api-key: a client's credentials are fixed when it is built",
        ),
        (
            {"X-Recallr-Project-Id": "p"},
            "extra_headers cannot set X-Recallr-Project-Id: a client's credentials are fixed when it is built",
        ),
        ({"X-A": 1}, "extra_headers['X-A'] must be a single-line ASCII string, not int"),
        ({"X-A": "a\nb"}, "extra_headers['X-A'] has control or non-ASCII characters"),
        ({"X-A": "é"}, "extra_headers['X-A'] has control or non-ASCII characters"),
    ],
)
def test_header_refusals(headers, message):
    with pytest.raises(exc.ValidationError) as info:
        rules.require_headers(headers, "extra_headers")
    assert info.value.message == message


def test_a_header_name_may_use_every_token_character():
    every = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    assert rules.require_headers({every: "v"}, "extra_headers") == {every: "v"}


def test_enum_members_of_another_enum_are_refused_even_with_a_matching_value():
    import enum

    from recallrai import RecallStrategy

    class Lookalike(str, enum.Enum):
        BALANCED = "balanced"

    assert rules.require_enum("balanced", RecallStrategy, "s") is RecallStrategy.BALANCED
    with pytest.raises(exc.ValidationError, match=r"^s must be one of "):
        rules.require_enum(Lookalike.BALANCED, RecallStrategy, "s")
