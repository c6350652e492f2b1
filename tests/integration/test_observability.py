"""Logging, event hooks, raw responses and error fields, against the emulator: both styles and
transports."""

from __future__ import annotations

import logging
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from recallrai import (
    APIResponse,
    AsyncRecallrAI,
    AsyncUser,
    RecallrAI,
    RequestEvent,
    ResponseEvent,
    User,
    UserPage,
    exceptions,
)
from recallrai.emulator import Emulator


def _client_args(emulator: Emulator, transport: str, **extra: Any) -> dict[str, Any]:
    return dict(
        api_key=emulator.api_key,
        project_id=emulator.project_id,
        base_url=emulator.base_url,
        transport=transport,
        **extra,
    )


@pytest.fixture
def closed_port() -> Iterator[str]:
    """A loopback URL nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    yield f"http://127.0.0.1:{port}"


def _scan(texts: list[str], key: str) -> None:
    assert texts, "nothing was recorded"
    for text in texts:
        assert key not in text, text


# --------------------------------------------------------------------------- logging


@pytest.mark.anyio
async def test_one_info_line_per_attempt_with_the_retry_decision(
    recallrai_emulator: Emulator, transport: str, caplog: pytest.LogCaptureFixture
) -> None:
    recallrai_emulator.inject_fault(503, times=1, method="GET")
    caplog.set_level(logging.INFO, logger="recallrai")
    args = _client_args(recallrai_emulator, transport, max_retries=1)
    async with AsyncRecallrAI(**args) as client:
        client._pipeline.sleep = _no_sleep
        await client.create_user("a/b")
        caplog.clear()
        await client.get_user("a/b")
    lines = [r.getMessage() for r in caplog.records if r.name == "recallrai"]
    assert len(lines) == 2, lines
    assert lines[0].startswith("GET /api/v1/users/a%2Fb -> 503 in ")
    assert re.search(r"\(attempt 1 of 2\); retrying in \d+\.\d\d s$", lines[0])
    assert lines[1].startswith("GET /api/v1/users/a%2Fb -> 200 in ")
    assert lines[1].endswith("ms (attempt 2 of 2)")
    assert all(r.levelno == logging.INFO for r in caplog.records)


async def _no_sleep(seconds: float) -> None:
    return None


def test_debug_adds_sizes_and_headers_and_never_the_key(
    recallrai_emulator: Emulator, transport: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="recallrai")
    with RecallrAI(**_client_args(recallrai_emulator, transport)) as client:
        client.create_user("dora", metadata={"k": "v"})
        with pytest.raises(exceptions.UserNotFoundError):
            client.get_user("nobody")
    messages = [r.getMessage() for r in caplog.records if r.name == "recallrai"]
    debug = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert any(m.startswith("POST /api/v1/users -> 201 in ") for m in messages)
    assert any(m.startswith("GET /api/v1/users/nobody -> 404 in ") for m in messages)
    create_debug = next(m for m in debug if m.startswith("POST /api/v1/users:"))
    assert "query 0 bytes, body " in create_debug and "content-type" in create_debug.lower()
    _scan([*messages, caplog.text], recallrai_emulator.api_key)


def test_failures_are_logged_with_their_reason(
    closed_port: str, transport: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="recallrai")
    with RecallrAI("rai_secret_key_1", "p", base_url=closed_port, transport=transport) as client:
        client._async._pipeline.sleep = _no_sleep
        with pytest.raises(exceptions.ConnectionError):
            client.get_user("u")
    lines = [r.getMessage() for r in caplog.records if r.name == "recallrai"]
    assert len(lines) == 3  # max_retries=2 by default: connect failures are retried
    assert all(" -> failed (cannot connect" in line for line in lines)
    assert "retrying in" in lines[0] and "retrying" not in lines[2]
    _scan(lines, "rai_secret_key_1")


def test_recallrai_log_environment_variable(recallrai_emulator: Emulator) -> None:
    script = (
        "import sys, recallrai\n"
        f"with recallrai.RecallrAI({recallrai_emulator.api_key!r}, "
        f"{recallrai_emulator.project_id!r}, base_url={recallrai_emulator.base_url!r}) as c:\n"
        "    c.create_user(sys.argv[1])\n"
    )
    shown = {}
    for level in ("info", "debug", ""):
        env = {**os.environ, "RECALLRAI_LOG": level}
        result = subprocess.run(
            [sys.executable, "-c", script, f"env_{level}"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        shown[level] = result.stderr
    assert "POST /api/v1/users -> 201 in" in shown["info"] and "body" not in shown["info"]
    assert "POST /api/v1/users: query 0 bytes, body" in shown["debug"]
    assert shown[""] == ""
    _scan(list(shown.values()), recallrai_emulator.api_key)


# --------------------------------------------------------------------------- hooks


@pytest.mark.anyio
async def test_async_and_plain_hooks_see_every_attempt(
    recallrai_emulator: Emulator, transport: str
) -> None:
    seen: list[Any] = []

    def on_request(event: RequestEvent) -> None:
        event.extensions["mark"] = event.attempt
        seen.append(event)

    async def on_response(event: ResponseEvent) -> None:
        seen.append(event)

    recallrai_emulator.inject_fault(502, times=1, method="GET")
    hooks = {"request": [on_request], "response": [on_response]}
    args = _client_args(recallrai_emulator, transport, max_retries=1, event_hooks=hooks)
    async with AsyncRecallrAI(**args) as client:
        client._pipeline.sleep = _no_sleep
        await client.create_user("hooked")
        del seen[:]
        await client.get_user("hooked")

    first_request, first_response, second_request, second_response = seen
    assert isinstance(first_request, RequestEvent) and isinstance(first_response, ResponseEvent)
    assert (first_request.method, first_request.path) == ("GET", "/api/v1/users/hooked")
    assert first_request.url == f"{recallrai_emulator.base_url}/api/v1/users/hooked"
    assert (first_request.attempt, first_request.max_attempts) == (1, 2)
    assert first_request.headers["X-Recallr-Api-Key"] == "<redacted>"
    assert first_request.headers["X-Recallr-Project-Id"] == recallrai_emulator.project_id
    assert first_response.request is first_request and first_request.extensions["mark"] == 1
    assert first_response.status_code == 502 and first_response.retry_in is not None
    assert second_request.attempt == 2
    assert second_response.status_code == 200 and second_response.retry_in is None
    assert second_response.headers["Content-Type"].startswith("application/json")
    assert timedelta(0) < second_response.elapsed < timedelta(seconds=10)


def test_hooks_in_the_blocking_client_and_on_failures(closed_port: str, transport: str) -> None:
    events: list[ResponseEvent] = []

    async def on_response(event: ResponseEvent) -> None:
        events.append(event)

    hooks = {"response": [on_response]}
    with (
        RecallrAI(
            "rai_k",
            "p",
            base_url=closed_port,
            transport=transport,
            max_retries=0,
            event_hooks=hooks,
        ) as client,
        pytest.raises(exceptions.ConnectionError),
    ):
        client.get_user("u")
    (event,) = events
    assert event.status_code is None and event.error and "cannot connect" in event.error
    assert event.error_type == "connection"
    assert event.headers == {}


def test_a_failing_hook_fails_the_call(recallrai_emulator: Emulator, transport: str) -> None:
    def broken(event: RequestEvent) -> None:
        raise RuntimeError("metrics backend down")

    args = _client_args(recallrai_emulator, transport, event_hooks={"request": [broken]})
    with RecallrAI(**args) as client, pytest.raises(RuntimeError, match="metrics backend down"):
        client.create_user("never")
    assert not any(r.raw_path.endswith("/users") for r in recallrai_emulator.requests)


@pytest.mark.parametrize(
    "hooks",
    [
        [lambda e: None],
        {"request": lambda e: None},
        {"request": ["not callable"]},
        {"requests": []},
    ],
)
def test_bad_event_hooks(hooks: Any) -> None:
    with pytest.raises(exceptions.ValidationError, match="event_hooks"):
        AsyncRecallrAI("rai_k", "p", event_hooks=hooks)


# --------------------------------------------------------------------------- raw responses


@pytest.mark.anyio
async def test_async_raw_responses(async_client: AsyncRecallrAI) -> None:
    created = await async_client.with_raw_response.create_user("raw_user", metadata={"a": 1})
    assert isinstance(created, APIResponse) and created.status_code == 201
    assert created.method == "POST" and created.url.endswith("/api/v1/users")
    assert created.headers["content-type"].startswith("application/json")
    assert created.elapsed > timedelta(0) and created.retries_taken == 0
    user = created.parse()
    assert isinstance(user, AsyncUser) and user.metadata == {"a": 1}

    fetched = await async_client.with_raw_response.get_user("raw_user")
    assert fetched.status_code == 200 and fetched.parse() == user
    page = (await async_client.with_raw_response.list_users(limit=1)).parse()
    assert isinstance(page, UserPage) and page.users[0].user_id == "raw_user"

    session = await user.create_session()
    await session.add_message("user", "I live in Lisbon.")
    raw_stream = await session.with_raw_response.get_context_stream()
    assert raw_stream.status_code == 200
    assert raw_stream.headers["content-type"].startswith("text/event-stream")
    async with raw_stream.parse() as stream:
        final = await stream.get_final_context()
    assert final.context

    deleted = await user.with_raw_response.delete()
    assert deleted.status_code == 204 and deleted.parse() is None
    with pytest.raises(exceptions.ValidationError, match="sent no request"):
        await async_client.with_raw_response.get_user("x", validate=False)
    with pytest.raises(AttributeError):
        async_client.with_raw_response.base_url  # noqa: B018 - not a method


def test_sync_raw_responses(sync_client: RecallrAI) -> None:
    created = sync_client.with_raw_response.create_user("raw_sync")
    assert created.status_code == 201 and isinstance(created.parse(), User)
    refreshed = created.parse().with_raw_response.refresh()
    assert refreshed.status_code == 200 and refreshed.parse() is None
    page = sync_client.with_raw_response.list_users().parse()
    assert [u.user_id for u in page] == ["raw_sync"] and isinstance(page.users[0], User)
    session = created.parse().create_session()
    session.add_message("user", "Hello")
    with session.with_raw_response.get_context_stream().parse() as stream:
        assert stream.get_final_context().context is not None


# --------------------------------------------------------------------------- error fields


@pytest.mark.anyio
async def test_errors_carry_method_path_and_headers(async_client: AsyncRecallrAI) -> None:
    with pytest.raises(exceptions.UserNotFoundError) as caught:
        await async_client.get_user("ghost/1")
    error = caught.value
    assert (error.method, error.path, error.http_status) == ("GET", "/api/v1/users/ghost%2F1", 404)
    assert error.headers is not None and error.headers["Content-Type"].startswith(
        "application/json"
    )
    with pytest.raises(exceptions.ValidationError) as before:
        await async_client.get_user("")
    assert (before.value.method, before.value.path, before.value.headers) == (None, None, None)


def test_failure_errors_carry_method_and_path(closed_port: str, transport: str) -> None:
    args = {"base_url": closed_port, "transport": transport, "max_retries": 0}
    with RecallrAI("rai_k", "p", **args) as c, pytest.raises(exceptions.ConnectionError) as caught:
        c.create_user("u")
    assert (caught.value.method, caught.value.path, caught.value.headers) == (
        "POST",
        "/api/v1/users",
        None,
    )


def test_sync_with_options_shares_the_pool(
    recallrai_emulator: Emulator, sync_client: RecallrAI
) -> None:
    tagged = sync_client.with_options(extra_headers={"X-Tag": "t1"}, timeout=5)
    assert isinstance(tagged, RecallrAI)
    user = tagged.create_user("opt_user")
    assert isinstance(user, User)
    user.refresh()
    assert recallrai_emulator.last_request.headers["X-Tag"] == "t1"
    tagged.close()  # the pool is the original client's: this does nothing
    sync_client.get_user("opt_user")
    assert "X-Tag" not in recallrai_emulator.last_request.headers


@pytest.mark.parametrize(
    ("body", "match"),
    [({"user": {"custom_user_id": 5}}, "Malformed user"), (b"<html>", "not JSON")],
)
def test_malformed_answers_carry_method_path_and_headers(
    recallrai_emulator: Emulator, sync_client: RecallrAI, body: Any, match: str
) -> None:
    recallrai_emulator.inject_fault(200, body=body, headers={"X-Served-By": "proxy-7"})
    with pytest.raises(exceptions.MalformedResponseError, match=match) as caught:
        sync_client.get_user("u 1")
    error = caught.value
    assert (error.method, error.path) == ("GET", "/api/v1/users/u%201")
    assert error.headers is not None and error.headers["x-served-by"] == "proxy-7"
