"""Status → exception mapping (PROTOCOL §2, §12) through real SDK calls, and error_from_response."""

from __future__ import annotations

import datetime
import email.utils
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
import respx

from recallrai import AsyncRecallrAI
from recallrai import exceptions as exc
from recallrai._errors import (
    ErrorContext,
    error_from_failure,
    error_from_response,
    parse_retry_after,
)

pytestmark = pytest.mark.anyio

Operation = Callable[[AsyncRecallrAI], Awaitable[Any]]


async def _create(client: AsyncRecallrAI) -> Any:
    return await client.create_user("u1", metadata={"k": "v"})


async def _get(client: AsyncRecallrAI) -> Any:
    return await client.get_user("u1")


async def _list(client: AsyncRecallrAI) -> Any:
    return await client.list_users()


async def _update(client: AsyncRecallrAI) -> Any:
    user = await client.get_user("u1", validate=False)
    return await user.update(new_metadata={"k": "v"})


async def _rename(client: AsyncRecallrAI) -> Any:
    user = await client.get_user("u1", validate=False)
    return await user.update(new_user_id="u2")


async def _delete(client: AsyncRecallrAI) -> Any:
    user = await client.get_user("u1", validate=False)
    return await user.delete()


ALL_OPS: dict[str, Operation] = {
    "create": _create,
    "get": _get,
    "list": _list,
    "update": _update,
    "rename": _rename,
    "delete": _delete,
}
USER_PATH_OPS = {name: ALL_OPS[name] for name in ("get", "update", "rename", "delete")}


async def _raised(
    api: respx.MockRouter,
    new_client: Callable[..., AsyncRecallrAI],
    op: Operation,
    response: httpx.Response,
) -> exc.RecallrAIError:
    """Run ``op`` against a server answering ``response``; return the SDK error it raised."""
    route = api.route().mock(return_value=response)
    async with new_client() as client:
        with pytest.raises(exc.RecallrAIError) as info:
            await op(client)
    assert route.call_count == 1
    return info.value


# --------------------------------------------------------------------------- 401


@pytest.mark.parametrize("op", ALL_OPS.values(), ids=ALL_OPS.keys())
@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(401, json={"detail": "Invalid API key"}),
        httpx.Response(401, text="Unauthorized"),
        httpx.Response(401),
    ],
    ids=["json", "text", "empty"],
)
async def test_401_is_authentication_error(api, new_client, op, response):
    error = await _raised(api, new_client, op, response)
    assert type(error) is exc.AuthenticationError
    assert error.http_status == 401


async def test_401_message_is_detail_when_given(api, new_client):
    error = await _raised(api, new_client, _get, httpx.Response(401, json={"detail": "Bad key"}))
    assert error.message == "Bad key"
    assert error.detail == "Bad key"


# --------------------------------------------------------------------------- 404


@pytest.mark.parametrize("op", USER_PATH_OPS.values(), ids=USER_PATH_OPS.keys())
@pytest.mark.parametrize(
    "body",
    [
        {"detail": "User u1 not found"},
        {"detail": "Session s1 not found"},
        {"detail": "nothing here"},
        {},
    ],
    ids=["user-detail", "session-detail", "free-text", "no-detail"],
)
async def test_404_on_user_paths_is_user_not_found_whatever_the_detail(api, new_client, op, body):
    error = await _raised(api, new_client, op, httpx.Response(404, json=body))
    assert type(error) is exc.UserNotFoundError
    assert isinstance(error, exc.UserError)
    assert error.http_status == 404
    if "detail" in body:
        assert error.message == body["detail"]


@pytest.mark.parametrize("op", ALL_OPS.values(), ids=ALL_OPS.keys())
async def test_gateway_404_text_is_connection_error(api, new_client, op):
    error = await _raised(api, new_client, op, httpx.Response(404, content=b"404 page not found"))
    assert type(error) is exc.ConnectionError
    assert isinstance(error, exc.NetworkError)
    assert error.http_status == 404


async def test_gateway_404_text_must_match_exactly(api, new_client):
    # PROTOCOL §10.7: only the exact text is the gateway's answer; anything else is not JSON.
    error = await _raised(
        api, new_client, _get, httpx.Response(404, content=b"404 page not found\n")
    )
    assert not isinstance(error, exc.NetworkError)
    assert isinstance(error, exc.MalformedResponseError)
    assert error.http_status == 404


# --------------------------------------------------------------------------- 409


@pytest.mark.parametrize("op", [_create, _rename], ids=["create", "rename"])
async def test_409_is_user_already_exists(api, new_client, op):
    error = await _raised(
        api, new_client, op, httpx.Response(409, json={"detail": "User u2 already exists"})
    )
    assert type(error) is exc.UserAlreadyExistsError
    assert error.message == "User u2 already exists"
    assert error.http_status == 409


# --------------------------------------------------------------------------- 422


@pytest.mark.parametrize("op", ALL_OPS.values(), ids=ALL_OPS.keys())
async def test_422_string_detail_is_validation_error(api, new_client, op):
    error = await _raised(
        api, new_client, op, httpx.Response(422, json={"detail": "limit must be at most 100"})
    )
    assert type(error) is exc.ValidationError
    assert isinstance(error, ValueError)
    assert error.http_status == 422
    assert error.message == "limit must be at most 100"


async def test_422_fastapi_list_detail_joins_the_messages(api, new_client):
    detail = [
        {"loc": ["body", "custom_user_id"], "msg": "field required", "type": "missing"},
        {"loc": ["body", "metadata"], "msg": "value is not a valid dict", "type": "dict_type"},
    ]
    error = await _raised(api, new_client, _create, httpx.Response(422, json={"detail": detail}))
    assert type(error) is exc.ValidationError
    assert error.detail == detail
    first = error.message.find("field required")
    second = error.message.find("value is not a valid dict")
    assert 0 <= first < second
    assert "dict_type" not in error.message


async def test_422_without_json_body_is_still_validation_error(api, new_client):
    error = await _raised(api, new_client, _get, httpx.Response(422, text="Unprocessable"))
    assert type(error) is exc.ValidationError
    assert error.http_status == 422


# --------------------------------------------------------------------------- 429


@pytest.mark.parametrize("op", ALL_OPS.values(), ids=ALL_OPS.keys())
async def test_429_is_rate_limit_error_with_retry_after(api, new_client, op):
    error = await _raised(
        api,
        new_client,
        op,
        httpx.Response(429, headers={"Retry-After": "7"}, json={"detail": "Too many requests"}),
    )
    assert type(error) is exc.RateLimitError
    assert isinstance(error, exc.ServerError)
    assert error.http_status == 429
    assert error.retry_after == 7.0


async def test_429_without_retry_after_has_none(api, new_client):
    error = await _raised(api, new_client, _get, httpx.Response(429, text="slow down"))
    assert type(error) is exc.RateLimitError
    assert error.retry_after is None


# --------------------------------------------------------------------------- 5xx


@pytest.mark.parametrize("status", [500, 502, 503, 504])
@pytest.mark.parametrize("op", ALL_OPS.values(), ids=ALL_OPS.keys())
async def test_5xx_with_json_is_internal_server_error(api, new_client, op, status):
    error = await _raised(api, new_client, op, httpx.Response(status, json={"detail": "boom"}))
    assert type(error) is exc.InternalServerError
    assert isinstance(error, exc.ServerError)
    assert error.http_status == status
    assert error.message == "boom"


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_5xx_with_html_is_internal_server_error(api, new_client, status):
    html = "<html><body><h1>502 Bad Gateway</h1></body></html>"
    error = await _raised(api, new_client, _get, httpx.Response(status, html=html))
    assert type(error) is exc.InternalServerError
    assert error.http_status == status


# --------------------------------------------------------------------------- other 4xx


@pytest.mark.parametrize("status", [400, 403, 405, 418])
@pytest.mark.parametrize("op", ALL_OPS.values(), ids=ALL_OPS.keys())
async def test_other_4xx_with_json_is_base_error_with_detail(api, new_client, op, status):
    error = await _raised(
        api, new_client, op, httpx.Response(status, json={"detail": f"refused {status}"})
    )
    assert type(error) is exc.RecallrAIError
    assert error.http_status == status
    assert error.message == f"refused {status}"
    assert error.detail == f"refused {status}"


async def test_409_on_list_is_not_user_already_exists(api, new_client):
    error = await _raised(api, new_client, _list, httpx.Response(409, json={"detail": "conflict"}))
    assert type(error) is exc.RecallrAIError
    assert error.message == "conflict"


@pytest.mark.parametrize(
    ("op", "status"),
    [(_create, 404), (_get, 409), (_delete, 409)],
    ids=["create-404", "get-409", "delete-409"],
)
async def test_statuses_outside_their_endpoint_are_base_errors(api, new_client, op, status):
    error = await _raised(api, new_client, op, httpx.Response(status, json={"detail": "odd"}))
    assert type(error) is exc.RecallrAIError
    assert error.message == "odd"


async def test_4xx_with_non_object_json_is_malformed(api, new_client):
    error = await _raised(api, new_client, _get, httpx.Response(400, json=["not", "an", "object"]))
    assert isinstance(error, exc.MalformedResponseError)
    assert error.http_status == 400


async def test_error_str_carries_message_and_status(api, new_client):
    error = await _raised(api, new_client, _get, httpx.Response(403, json={"detail": "Forbidden"}))
    assert "Forbidden" in str(error)
    assert "403" in str(error)


# --------------------------------------------------------------------------- malformed success


JSON_SUCCESS_OPS = {name: op for name, op in ALL_OPS.items() if name != "delete"}


@pytest.mark.parametrize("op", JSON_SUCCESS_OPS.values(), ids=JSON_SUCCESS_OPS.keys())
@pytest.mark.parametrize(
    "content",
    [b"<html>ok</html>", b"", b"{not json", b"\xff\xfe"],
    ids=["html", "empty", "broken", "binary"],
)
async def test_non_json_success_body_is_malformed_response(api, new_client, op, content):
    status = 201 if op is _create else 200
    error = await _raised(api, new_client, op, httpx.Response(status, content=content))
    assert type(error) is exc.MalformedResponseError
    assert isinstance(error, exc.RecallrAIError)
    assert error.http_status == status


@pytest.mark.parametrize(
    ("op", "status"),
    [(_create, 200), (_get, 201), (_get, 204), (_delete, 200), (_update, 201), (_list, 204)],
    ids=["create-200", "get-201", "get-204", "delete-200", "update-201", "list-204"],
)
async def test_success_with_the_wrong_status_is_an_error(api, new_client, wire_user, op, status):
    response = (
        httpx.Response(status)
        if status == 204
        else httpx.Response(
            status, json={"user": wire_user(), "users": [], "total": 0, "has_more": False}
        )
    )
    error = await _raised(api, new_client, op, response)
    assert isinstance(error, exc.RecallrAIError)
    assert error.http_status == status


async def test_delete_204_ignores_the_body(api, new_client):
    route = api.route().mock(return_value=httpx.Response(204, content=b"garbage"))
    async with new_client() as client:
        user = await client.get_user("u1", validate=False)
        assert await user.delete() is None
    assert route.call_count == 1


@pytest.mark.parametrize("wrapped", [True, False], ids=["wrapped", "bare"])
async def test_user_answer_wrapped_or_bare_is_accepted(api, new_client, wire_user, wrapped):
    record = wire_user("u1", metadata={"a": 1}, merge_conflict_enabled=True)
    api.route().mock(return_value=httpx.Response(200, json={"user": record} if wrapped else record))
    async with new_client() as client:
        user = await client.get_user("u1")
    assert user.user_id == "u1"
    assert user.metadata == {"a": 1}
    assert user.merge_conflict_enabled is True


BAD_FIELDS = [
    pytest.param({"merge_conflict_enabled": "false"}, "merge_conflict_enabled", id="flag-string"),
    pytest.param({"merge_conflict_enabled": 0}, "merge_conflict_enabled", id="flag-int"),
    pytest.param({"metadata": None}, "metadata", id="metadata-null"),
    pytest.param({"metadata": ["a"]}, "metadata", id="metadata-list"),
    pytest.param(
        {"created_at": "garbage"},
        "created_at",
        id="ts-garbage",
    ),
    pytest.param({"last_active_at": 1735689600}, "last_active_at", id="ts-number"),
    pytest.param({"created_at": None}, "created_at", id="ts-null"),
    pytest.param({"created_at": "2025-13-45T00:00:00Z"}, "created_at", id="ts-out-of-range"),
    pytest.param({"custom_user_id": 5}, "custom_user_id", id="id-number"),
    pytest.param({"custom_user_id": None}, "custom_user_id", id="id-null"),
]


@pytest.mark.parametrize("op", [_create, _get, _rename], ids=["create", "get", "update"])
@pytest.mark.parametrize(("bad", "field"), BAD_FIELDS)
async def test_malformed_user_json_names_the_field(api, new_client, wire_user, op, bad, field):
    status = 201 if op is _create else 200
    error = await _raised(
        api, new_client, op, httpx.Response(status, json={"user": wire_user(**bad)})
    )
    assert type(error) is exc.MalformedResponseError
    assert field in error.message


@pytest.mark.parametrize(
    "field",
    ["metadata", "created_at", "last_active_at", "custom_user_id"],
)
async def test_user_json_missing_a_field_is_malformed_naming_it(api, new_client, wire_user, field):
    record = wire_user()
    del record[field]
    error = await _raised(api, new_client, _get, httpx.Response(200, json={"user": record}))
    assert type(error) is exc.MalformedResponseError
    assert field in error.message


@pytest.mark.parametrize(
    ("envelope", "field"),
    [
        ({"users": [], "has_more": False}, "total"),
        ({"users": [], "total": 0}, "has_more"),
        ({"total": 0, "has_more": False}, "users"),
        ({"users": [], "total": "0", "has_more": False}, "total"),
        ({"users": [], "total": 0, "has_more": "no"}, "has_more"),
        ({"users": [], "total": True, "has_more": False}, "total"),
    ],
)
async def test_malformed_users_page_is_malformed_response(api, new_client, envelope, field):
    error = await _raised(api, new_client, _list, httpx.Response(200, json=envelope))
    assert type(error) is exc.MalformedResponseError
    assert field in error.message


async def test_a_malformed_user_in_a_page_raises_when_its_fields_are_read(
    api, new_client, wire_user
):
    page = {"users": [wire_user("a"), wire_user("b", metadata=None)], "total": 2, "has_more": False}
    api.get("/api/v1/users").mock(return_value=httpx.Response(200, json=page))
    async with new_client() as client:
        good, bad = (await client.list_users()).users
    assert good.metadata == wire_user("a")["metadata"]
    assert (bad.user_id, bad.is_loaded) == ("b", True)
    for read in (lambda: bad.metadata, lambda: bad.created_at, bad.to_dict):
        with pytest.raises(exc.MalformedResponseError) as info:
            read()  # every time: a failed read is not remembered as a record
        assert "metadata" in info.value.message
    assert repr(bad) == "AsyncUser(user_id='b', <malformed>)"
    assert good != bad


@pytest.mark.parametrize(
    "item",
    [1, None, {}, {"custom_user_id": 5}, {"custom_user_id": None}, {"user": "x"}],
    ids=repr,
)
async def test_a_page_item_without_a_plain_id_is_refused_at_once(api, new_client, item):
    page = {"users": [item], "total": 1, "has_more": False}
    error = await _raised(api, new_client, _list, httpx.Response(200, json=page))
    assert type(error) is exc.MalformedResponseError
    assert error.message.startswith("Malformed user in the server's answer")


async def test_a_listed_user_equals_the_same_user_fetched(api, new_client, wire_user):
    record = wire_user("a", metadata={"k": [1, 2]}, merge_conflict_enabled=False)
    api.get("/api/v1/users").mock(
        return_value=httpx.Response(200, json={"users": [record], "total": 1, "has_more": False})
    )
    api.get("/api/v1/users/a").mock(return_value=httpx.Response(200, json={"user": record}))
    async with new_client() as client:
        (listed,) = (await client.list_users()).users
        fetched = await client.get_user("a")
        assert listed == fetched
        assert repr(listed) == repr(fetched)
        assert listed.to_dict() == fetched.to_dict()


@pytest.mark.parametrize("status", [200, 500])
async def test_deeply_nested_json_is_an_sdk_error(api, new_client, status):
    deep = b"[" * 100_000 + b"]" * 100_000
    error = await _raised(api, new_client, _get, httpx.Response(status, content=deep))
    assert isinstance(error, exc.RecallrAIError)


# --------------------------------------------------------------------------- network failures


def _assert_ours(error: BaseException) -> None:
    assert type(error).__module__ == "recallrai.exceptions"
    assert not isinstance(error, httpx.HTTPError)
    # The httpx exception must not be chained in a way that shows up as the cause.
    assert error.__cause__ is None
    assert error.__suppress_context__ or error.__context__ is None


@pytest.mark.parametrize(
    ("side_effect", "expected"),
    [
        (httpx.ConnectError("Connection refused"), exc.ConnectionError),
        (httpx.ReadTimeout("timed out"), exc.TimeoutError),
        (httpx.WriteTimeout("timed out"), exc.TimeoutError),
        (httpx.PoolTimeout("timed out"), exc.TimeoutError),
        (httpx.RemoteProtocolError("Server disconnected"), exc.ConnectionError),
        (httpx.ReadError("reset by peer"), exc.ConnectionError),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, Exception) else None,
)
@pytest.mark.parametrize("op", ALL_OPS.values(), ids=ALL_OPS.keys())
async def test_network_failures_map_to_sdk_errors(api, new_client, op, side_effect, expected):
    route = api.route().mock(side_effect=side_effect)
    async with new_client() as client:
        with pytest.raises(exc.NetworkError) as info:
            await op(client)
    assert route.call_count == 1
    assert type(info.value) is expected
    _assert_ours(info.value)


@pytest.mark.parametrize("op", [_create, _get], ids=["create", "get"])
async def test_connect_timeout_is_timeout_error(api, new_client, op):
    route = api.route().mock(side_effect=httpx.ConnectTimeout("timed out"))
    async with new_client() as client:
        with pytest.raises(exc.NetworkError) as info:
            await op(client)
    assert route.call_count == 1
    assert type(info.value) is exc.TimeoutError


async def test_network_error_has_no_http_status(api, new_client):
    api.route().mock(side_effect=httpx.ReadTimeout("timed out"))
    async with new_client() as client:
        with pytest.raises(exc.RecallrAIError) as info:
            await client.get_user("u1")
    assert isinstance(info.value, exc.NetworkError)
    assert info.value.http_status is None


async def test_malformed_json_does_not_chain_the_json_error(api, new_client):
    error = await _raised(api, new_client, _get, httpx.Response(200, content=b"{oops"))
    _assert_ours(error)


# --------------------------------------------------------------------------- error_from_response


def _json(payload: Any) -> bytes:
    return json.dumps(payload).encode()


@pytest.mark.parametrize(
    ("resource", "other"),
    [
        ("session", exc.SessionNotFoundError),
        ("conflict", exc.MergeConflictNotFoundError),
        ("memory", exc.MemoryNotFoundError),
    ],
)
@pytest.mark.parametrize(
    ("detail", "is_user"),
    [
        ("User alice_123 not found", True),
        ("Oops: User alice_123 not found in project", True),
        ("Session s1 not found", False),
        ("Merge conflict c1 not found", False),
        ("Memory m1 not found", False),
        ("User with ID alice_123 not found", False),
        ("User alice_1234 not found", False),
        ("User bob not found", False),
        ("user alice_123 not found", False),
    ],
)
def test_404_disambiguation_by_user_substring(resource, other, detail, is_user):
    context = ErrorContext(resource, "alice_123")
    error = error_from_response(404, {}, _json({"detail": detail}), context)
    assert type(error) is (exc.UserNotFoundError if is_user else other)
    assert error.message == detail
    assert error.http_status == 404


def test_404_on_user_resource_ignores_the_detail():
    error = error_from_response(
        404, {}, _json({"detail": "Session s1 not found"}), ErrorContext("user", "u1")
    )
    assert type(error) is exc.UserNotFoundError


def test_memory_not_found_is_a_base_error_not_a_user_error():
    error = error_from_response(
        404, {}, _json({"detail": "Memory m1 not found"}), ErrorContext("memory", "u1")
    )
    assert isinstance(error, exc.MemoryNotFoundError)
    assert isinstance(error, exc.RecallrAIError)
    assert not isinstance(error, exc.UserError)


def test_404_without_context_is_base_error():
    error = error_from_response(404, {}, _json({"detail": "User u1 not found"}))
    assert type(error) is exc.RecallrAIError
    assert error.message == "User u1 not found"


def test_gateway_404_on_any_context():
    for resource in ("user", "session", "conflict", "memory", None):
        error = error_from_response(404, {}, b"404 page not found", ErrorContext(resource, "u1"))
        assert type(error) is exc.ConnectionError
        assert error.http_status == 404


def test_400_session_state():
    text = "Session s1 is processing and cannot accept messages"
    error = error_from_response(
        400, {}, _json({"detail": text}), ErrorContext("session", "u1", "session_state")
    )
    assert type(error) is exc.InvalidSessionStateError
    assert isinstance(error, exc.SessionError)
    assert error.message == text


def test_400_invalid_categories():
    detail = {"message": "Invalid categories provided", "invalid_categories": ["food", "travel"]}
    error = error_from_response(
        400, {}, _json({"detail": detail}), ErrorContext("user", "u1", "categories")
    )
    assert type(error) is exc.InvalidCategoriesError
    assert isinstance(error, exc.UserError)
    assert error.message == "Invalid categories provided"
    assert error.invalid_categories == ["food", "travel"]
    assert error.detail == detail
    assert error.http_status == 400


@pytest.mark.parametrize(
    "detail",
    [
        "Invalid categories",
        {"message": "bad"},
        {"message": "bad", "invalid_categories": "food"},
        None,
    ],
)
def test_400_invalid_categories_with_odd_detail_does_not_crash(detail):
    body = _json({"detail": detail}) if detail is not None else _json({})
    error = error_from_response(400, {}, body, ErrorContext("user", "u1", "categories"))
    assert type(error) is exc.InvalidCategoriesError
    assert error.invalid_categories == []


def test_400_without_bad_request_context_is_base_error():
    error = error_from_response(
        400, {}, _json({"detail": "already resolved"}), ErrorContext("conflict", "u1")
    )
    assert type(error) is exc.RecallrAIError


RESOLVE = ErrorContext("conflict", "u1", "resolve")


def test_resolve_already_resolved():
    text = "Merge conflict c1 is already resolved"
    error = error_from_response(400, {}, _json({"detail": text}), RESOLVE)
    assert type(error) is exc.MergeConflictAlreadyResolvedError
    assert isinstance(error, exc.MergeConflictError)
    assert error.message == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Invalid questions provided. The following questions do not match the original "
            "questions: ['Which city?', 'Is it current?']",
            ["Which city?", "Is it current?"],
        ),
        (
            "Invalid questions provided. The following questions do not match the original "
            """questions: ["What's your job?"]""",
            ["What's your job?"],
        ),
        (
            "Invalid questions provided. The following questions do not match the original questions: []",
            [],
        ),
    ],
)
def test_resolve_invalid_questions(text, expected):
    error = error_from_response(400, {}, _json({"detail": text}), RESOLVE)
    assert type(error) is exc.MergeConflictInvalidQuestionsError
    assert error.invalid_questions == expected
    assert error.message == text


def test_resolve_missing_answers():
    text = "Missing answers for the following questions: ['Which city?', 'Since when?']"
    error = error_from_response(400, {}, _json({"detail": text}), RESOLVE)
    assert type(error) is exc.MergeConflictMissingAnswersError
    assert error.missing_questions == ["Which city?", "Since when?"]
    assert error.message == text


def test_resolve_invalid_answer():
    text = (
        "Invalid answer 'Paris' for question 'Which city?'. Valid options are: ['Berlin', 'Rome']"
    )
    error = error_from_response(400, {}, _json({"detail": text}), RESOLVE)
    assert type(error) is exc.MergeConflictInvalidAnswerError
    assert error.answer == "Paris"
    assert error.question == "Which city?"
    assert error.valid_options == ["Berlin", "Rome"]
    assert error.message == text


def test_resolve_invalid_answer_with_quotes_inside():
    text = (
        "Invalid answer 'It's over' for question 'Is it Bob's?'. "
        """Valid options are: ["Yes, it's Bob's", 'No']"""
    )
    error = error_from_response(400, {}, _json({"detail": text}), RESOLVE)
    assert type(error) is exc.MergeConflictInvalidAnswerError
    assert error.answer == "It's over"
    assert error.question == "Is it Bob's?"
    assert error.valid_options == ["Yes, it's Bob's", "No"]


@pytest.mark.parametrize(
    ("text", "cls", "fields"),
    [
        (
            "Invalid questions provided. The following questions do not match: Which city?",
            exc.MergeConflictInvalidQuestionsError,
            {"invalid_questions": []},
        ),
        (
            "Invalid questions provided: [1, 2]",
            exc.MergeConflictInvalidQuestionsError,
            {"invalid_questions": []},
        ),
        (
            "Missing answers for the following questions: ['unterminated",
            exc.MergeConflictMissingAnswersError,
            {"missing_questions": []},
        ),
        (
            "Missing answers for the following questions: [__import__('os')]",
            exc.MergeConflictMissingAnswersError,
            {"missing_questions": []},
        ),
        (
            "Invalid answer for question",
            exc.MergeConflictInvalidAnswerError,
            {"answer": None, "question": None, "valid_options": []},
        ),
        (
            "Invalid answer 'x' for question 'y'. Valid options are: none",
            exc.MergeConflictInvalidAnswerError,
            {"answer": "x", "question": "y", "valid_options": []},
        ),
    ],
)
def test_resolve_unparsable_texts_leave_fields_empty(text, cls, fields):
    error = error_from_response(400, {}, _json({"detail": text}), RESOLVE)
    assert type(error) is cls
    assert error.message == text
    for name, value in fields.items():
        assert getattr(error, name) == value


@pytest.mark.parametrize(
    "text", ["Something else went wrong", "ALREADY RESOLVED", "Invalid answer given", ""]
)
def test_resolve_other_texts_are_base_error(text):
    error = error_from_response(400, {}, _json({"detail": text}), RESOLVE)
    assert type(error) is exc.RecallrAIError
    assert error.http_status == 400


def test_resolve_order_already_resolved_wins():
    text = (
        "Merge conflict c1 is already resolved; Missing answers for the following questions: ['a']"
    )
    error = error_from_response(400, {}, _json({"detail": text}), RESOLVE)
    assert type(error) is exc.MergeConflictAlreadyResolvedError


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "3"}, 3.0),
        ({"Retry-After": "1.5"}, 1.5),
        ({"Retry-After": "-4"}, None),  # not delta-seconds: ignored
        ({"Retry-After": "1e3"}, None),
        ({"Retry-After": "inf"}, None),
        ({}, None),
        ({"Retry-After": "soon"}, None),
        ({"Retry-After": "nan"}, None),
    ],
)
def test_429_retry_after_values(headers, expected):
    error = error_from_response(429, headers, b"")
    assert isinstance(error, exc.RateLimitError)
    assert error.retry_after == expected


def test_429_retry_after_http_date():
    date = email.utils.formatdate(time.time() + 40, usegmt=True)
    error = error_from_response(429, {"Retry-After": date}, b"")
    assert isinstance(error, exc.RateLimitError)
    assert error.retry_after is not None
    assert 37 <= error.retry_after <= 41


@pytest.mark.parametrize("status", [404, 418, 500, 503])
def test_str_states_the_status_once(status):
    error = error_from_response(status, {}, b"{}", ErrorContext("user", "u1"))
    assert str(error).count(str(status)) == 1


# --------------------------------------------------------------------------- identity


def _session(session_id: str) -> dict[str, object]:
    return {"session_id": session_id, "status": "pending", "created_at": "2025-01-01T00:00:00Z"}


def _conflict(conflict_id: str) -> dict[str, object]:
    return {
        "id": conflict_id,
        "project_user_session_id": "s1",
        "conflicting_memories": [],
        "clarifying_questions": [],
        "status": "PENDING",
        "created_at": "2025-01-01T00:00:00Z",
    }


async def test_an_answer_about_another_object_is_malformed(api, new_client, wire_user):
    api.get("/api/v1/users/u").mock(
        return_value=httpx.Response(200, json={"user": wire_user("EVIL")})
    )
    api.post("/api/v1/users").mock(
        return_value=httpx.Response(201, json={"user": wire_user("EVIL")})
    )
    api.put("/api/v1/users/u").mock(return_value=httpx.Response(200, json={"user": wire_user("u")}))
    api.get("/api/v1/users/u/sessions/s1").mock(
        return_value=httpx.Response(200, json={"session": _session("EVIL")})
    )
    api.get("/api/v1/users/u/merge-conflicts/c1").mock(
        return_value=httpx.Response(200, json=_conflict("EVIL"))
    )
    memory = {
        "memory_id": "EVIL",
        "categories": [],
        "content": "c",
        "event_date_start": "2025-01-01T00:00:00Z",
        "event_date_end": "2025-01-01T00:00:00Z",
        "created_at": "2025-01-01T00:00:00Z",
        "version_number": 1,
        "total_versions": 1,
        "has_previous_versions": False,
        "merge_conflict_in_progress": False,
        "session_id": "s1",
    }
    api.get("/api/v1/users/u/memory/m1").mock(return_value=httpx.Response(200, json=memory))
    async with new_client() as client:
        user = await client.get_user("u", validate=False)
        calls = [
            lambda: client.get_user("u"),
            lambda: client.create_user("u"),
            lambda: user.update(new_user_id="renamed"),  # answered with the old ID
            lambda: user.get_session("s1"),
            lambda: user.get_merge_conflict("c1"),
            lambda: user.get_memory("m1"),
        ]
        for call in calls:
            with pytest.raises(exc.MalformedResponseError, match="where"):
                await call()
    assert user.user_id == "u"  # nothing was adopted from the wrong answer


# --------------------------------------------------------------------------- every field, exactly

_RESOLVE_TEXTS = [
    ("Merge conflict c1 is already resolved", exc.MergeConflictAlreadyResolvedError),
    (
        "Invalid questions provided: original questions: ['q']",
        exc.MergeConflictInvalidQuestionsError,
    ),
    ("Missing answers for the following questions: ['q']", exc.MergeConflictMissingAnswersError),
    (
        "Invalid answer 'x' for question 'q'. Valid options are: ['y']",
        exc.MergeConflictInvalidAnswerError,
    ),
    ("Something else", exc.RecallrAIError),
]


@pytest.mark.parametrize(("text", "cls"), _RESOLVE_TEXTS)
def test_resolve_errors_keep_the_status_and_the_detail(text, cls):
    detail = {"message": text, "code": 7}
    error = error_from_response(400, {}, _json({"detail": detail}), RESOLVE)
    assert type(error) is cls
    assert (error.message, error.http_status, error.detail) == (text, 400, detail)


@pytest.mark.parametrize(
    ("status", "cls", "message"),
    [
        (401, exc.AuthenticationError, "Authentication failed: check the API key and project ID"),
        (429, exc.RateLimitError, "Rate limit exceeded"),
        (500, exc.InternalServerError, "The server failed"),
        (503, exc.InternalServerError, "The server failed"),
        (422, exc.ValidationError, "The server refused the request"),
        (418, exc.RecallrAIError, "The server refused the request"),
    ],
)
@pytest.mark.parametrize("body", [b"", b"{}", b'{"detail": ""}', b'{"detail": []}'])
def test_default_messages_when_the_server_gives_none(status, cls, message, body):
    if status == 418 and body == b"":
        return  # not a JSON object: MalformedResponseError (tested elsewhere)
    error = error_from_response(status, {}, body)
    assert type(error) is cls
    assert (error.message, error.http_status) == (message, status)


@pytest.mark.parametrize(
    ("detail", "message"),
    [
        ([{"msg": "a"}, {"loc": "x"}, "text", {"msg": 5}], "a; 5"),
        ({"message": "from a dict"}, "from a dict"),
        ({"message": 5}, "The server refused the request"),
        (7, "The server refused the request"),
    ],
)
def test_detail_shapes_give_the_message(detail, message):
    error = error_from_response(418, {}, _json({"detail": detail}))
    assert (error.message, error.detail) == (message, detail)


def test_not_found_keeps_the_detail_and_status():
    detail = "Session s1 not found"
    error = error_from_response(404, {}, _json({"detail": detail}), ErrorContext("session", "u1"))
    assert type(error) is exc.SessionNotFoundError
    assert (error.http_status, error.detail) == (404, detail)
    user_missing = "User u1 not found"
    error = error_from_response(
        404, {}, _json({"detail": user_missing}), ErrorContext("session", "u1")
    )
    assert type(error) is exc.UserNotFoundError
    assert (error.message, error.http_status, error.detail) == (user_missing, 404, user_missing)


def test_gateway_404_is_a_connection_error_with_its_status():
    error = error_from_response(404, {}, b"404 page not found", ErrorContext("user", "u1"))
    assert type(error) is exc.ConnectionError
    assert error.http_status == 404
    assert error.message == "The API endpoint does not exist (404 page not found): check base_url"


def test_non_object_body_is_malformed_and_quotes_its_start():
    error = error_from_response(418, {}, b"[1, 2]" + b"x" * 300)
    assert type(error) is exc.MalformedResponseError
    assert error.http_status == 418
    assert (
        error.message
        == f"HTTP 418 with a body that is not a JSON object: {(b'[1, 2]' + b'x' * 194)!r}"
    )


def test_conflict_and_state_errors_keep_the_detail():
    detail = "taken"
    taken = error_from_response(
        409, {}, _json({"detail": detail}), ErrorContext("user", "u1", user_exists_on_409=True)
    )
    assert type(taken) is exc.UserAlreadyExistsError
    assert (taken.http_status, taken.detail) == (409, detail)
    state = error_from_response(
        400, {}, _json({"detail": detail}), ErrorContext("session", "u1", "session_state")
    )
    assert type(state) is exc.InvalidSessionStateError
    assert (state.message, state.http_status, state.detail) == (detail, 400, detail)


def test_invalid_categories_keep_status_detail_and_categories_as_text():
    detail = {"message": "bad categories", "invalid_categories": ["a", 2]}
    error = error_from_response(
        400, {}, _json({"detail": detail}), ErrorContext("user", "u1", "categories")
    )
    assert type(error) is exc.InvalidCategoriesError
    assert (error.message, error.http_status, error.detail) == ("bad categories", 400, detail)
    assert error.invalid_categories == ["a", "2"]


def test_retry_after_http_date_keeps_its_zone():
    # 30 s from now, written in a +02:00 zone: a parser that took it for UTC would see a
    # date two hours in the past and wait nothing.
    zone = datetime.timezone(datetime.timedelta(hours=2))
    when = datetime.datetime.fromtimestamp(time.time() + 30, zone)
    header = email.utils.format_datetime(when)
    assert header.endswith("+0200")
    wait = parse_retry_after({"Retry-After": header})
    assert wait is not None and 25 <= wait <= 31


def test_retry_after_http_date_without_zone_is_gmt(monkeypatch):
    # "-0000" means no zone given (RFC 2822); HTTP dates are GMT, whatever the local zone is.
    monkeypatch.setenv("TZ", "Asia/Kathmandu")
    time.tzset()
    try:
        future = time.gmtime(time.time() + 30)
        header = time.strftime("%a, %d %b %Y %H:%M:%S -0000", future)
        wait = parse_retry_after({"Retry-After": header})
    finally:
        monkeypatch.undo()
        time.tzset()
    assert wait is not None and 25 <= wait <= 31


@pytest.mark.parametrize(
    ("value", "expected"),
    [(" 7 ", 7.0), ("0", 0.0), ("", None), ("   ", None), ("1.", None), (".5", None)],
)
def test_retry_after_delta_seconds(value, expected):
    assert parse_retry_after({"Retry-After": value}) == expected


def test_failure_below_http_maps_to_network_errors():
    from recallrai._transport import TransportFailure

    timed_out = error_from_failure(TransportFailure("slow", sent=True, timed_out=True), "GET /x")
    assert type(timed_out) is exc.TimeoutError
    assert (timed_out.message, timed_out.http_status) == ("GET /x: slow", None)
    refused = error_from_failure(TransportFailure("refused", sent=False), "POST /y")
    assert type(refused) is exc.ConnectionError
    assert refused.message == "POST /y: refused"


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (401, exc.AuthenticationError),
        (422, exc.ValidationError),
        (429, exc.RateLimitError),
        (502, exc.InternalServerError),
    ],
)
def test_status_errors_keep_the_server_detail(status, cls):
    detail = {"message": "said so", "extra": [1]}
    error = error_from_response(status, {}, _json({"detail": detail}))
    assert type(error) is cls
    assert (error.message, error.http_status, error.detail) == ("said so", status, detail)


async def test_a_refresh_while_a_listed_user_is_first_read_wins(
    api, new_client, wire_user, monkeypatch
):
    """Another thread's update() lands while this one reads the listed answer: the updated
    record stays, and the rename does not make the listed answer look like another user."""
    from recallrai import _users

    api.get("/api/v1/users").mock(
        return_value=httpx.Response(
            200, json={"users": [wire_user("a")], "total": 1, "has_more": False}
        )
    )
    renamed = _users.user_from_wire(wire_user("b", metadata={"v": 2}))
    read = _users.user_from_wire

    def read_while_updated(data, expected_id=None):
        listed._adopt(renamed)  # what update(new_user_id="b") does on the loop thread
        return read(data, expected_id)

    async with new_client() as client:
        (listed,) = (await client.list_users()).users
        monkeypatch.setattr(_users, "user_from_wire", read_while_updated)
        assert listed.metadata == {"v": 2}
    assert (listed.user_id, listed.to_dict()["user_id"]) == ("b", "b")
