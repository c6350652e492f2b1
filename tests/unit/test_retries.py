"""Retries: which failures are repeated, how often, and how long the SDK waits (PROTOCOL §12)."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import respx

from recallrai import AsyncRecallrAI
from recallrai import exceptions as exc

pytestmark = pytest.mark.anyio

BASE_DELAY = 0.5
MAX_DELAY = 8.0


class SleepRecorder:
    """Stands in for the pipeline's ``sleep``: records each delay, waits for nothing."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()


@pytest.fixture
def retrying_client(
    new_client: Callable[..., AsyncRecallrAI], sleeps: SleepRecorder
) -> Callable[..., AsyncRecallrAI]:
    def make(max_retries: int = 2, **overrides: Any) -> AsyncRecallrAI:
        client = new_client(max_retries=max_retries, **overrides)
        client._pipeline.sleep = sleeps
        return client

    return make


def _user(wire_user: Callable[..., dict[str, Any]], status: int = 200) -> httpx.Response:
    return httpx.Response(status, json={"user": wire_user()})


# --------------------------------------------------------------------------- what is retried


async def test_get_is_retried_on_503_then_succeeds(api, retrying_client, sleeps, wire_user):
    route = api.get("/api/v1/users/u1").mock(
        side_effect=[httpx.Response(503, json={"detail": "busy"}), _user(wire_user)]
    )
    async with retrying_client(max_retries=2) as client:
        user = await client.get_user("u1")
    assert user.user_id == "u1"
    assert route.call_count == 2
    assert len(sleeps.delays) == 1


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_get_is_retried_on_every_5xx(api, retrying_client, sleeps, wire_user, status):
    route = api.get("/api/v1/users/u1").mock(
        side_effect=[httpx.Response(status, text="<html>down</html>"), _user(wire_user)]
    )
    async with retrying_client() as client:
        await client.get_user("u1")
    assert route.call_count == 2


async def test_list_is_retried_on_502(api, retrying_client, wire_user):
    page = {"users": [wire_user()], "total": 1, "has_more": False}
    route = api.get("/api/v1/users").mock(
        side_effect=[httpx.Response(502, json={}), httpx.Response(200, json=page)]
    )
    async with retrying_client() as client:
        result = await client.list_users()
    assert [u.user_id for u in result.users] == ["u1"]
    assert route.call_count == 2


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
async def test_idempotent_put_and_delete_are_retried_on_503(
    api, retrying_client, wire_user, method
):
    final = _user(wire_user) if method == "PUT" else httpx.Response(204)
    route = api.route(method=method, path="/api/v1/users/u1").mock(
        side_effect=[httpx.Response(503, json={}), final]
    )
    async with retrying_client() as client:
        user = await client.get_user("u1", validate=False)
        if method == "PUT":
            await user.update(new_metadata={"a": 1})
        else:
            await user.delete()
    assert route.call_count == 2
    assert route.calls[0].request.content == route.calls[1].request.content


async def test_429_is_retried_for_post_create_user(api, retrying_client, sleeps, wire_user):
    route = api.post("/api/v1/users").mock(
        side_effect=[httpx.Response(429, json={"detail": "slow down"}), _user(wire_user, 201)]
    )
    async with retrying_client() as client:
        user = await client.create_user("u1", metadata={"k": "v"})
    assert user.user_id == "u1"
    assert route.call_count == 2
    assert len(sleeps.delays) == 1
    # The repeated request is the same request.
    assert route.calls[0].request.content == route.calls[1].request.content


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_5xx_is_not_retried_for_post(api, retrying_client, sleeps, status):
    route = api.post("/api/v1/users").mock(
        return_value=httpx.Response(status, json={"detail": "x"})
    )
    async with retrying_client(max_retries=3) as client:
        with pytest.raises(exc.InternalServerError):
            await client.create_user("u1")
    assert route.call_count == 1
    assert sleeps.delays == []


async def test_connect_error_is_retried_for_post(api, retrying_client, sleeps, wire_user):
    route = api.post("/api/v1/users").mock(
        side_effect=[httpx.ConnectError("Connection refused"), _user(wire_user, 201)]
    )
    async with retrying_client() as client:
        user = await client.create_user("u1")
    assert user.user_id == "u1"
    assert route.call_count == 2
    assert len(sleeps.delays) == 1


async def test_connect_timeout_is_retried_for_post(api, retrying_client, wire_user):
    # The request never reached the server, so repeating a POST is safe.
    route = api.post("/api/v1/users").mock(
        side_effect=[httpx.ConnectTimeout("timed out"), _user(wire_user, 201)]
    )
    async with retrying_client() as client:
        await client.create_user("u1")
    assert route.call_count == 2


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ReadTimeout("timed out"),
        httpx.RemoteProtocolError("disconnected"),
        httpx.ReadError("reset"),
    ],
    ids=lambda e: type(e).__name__,
)
async def test_read_failures_are_retried_for_get(api, retrying_client, wire_user, failure):
    route = api.get("/api/v1/users/u1").mock(side_effect=[failure, _user(wire_user)])
    async with retrying_client() as client:
        await client.get_user("u1")
    assert route.call_count == 2


@pytest.mark.parametrize(
    ("failure", "expected"),
    [
        (httpx.ReadTimeout("timed out"), exc.TimeoutError),
        (httpx.RemoteProtocolError("disconnected"), exc.ConnectionError),
    ],
    ids=["ReadTimeout", "RemoteProtocolError"],
)
async def test_read_failures_are_not_retried_for_post(
    api, retrying_client, sleeps, failure, expected
):
    route = api.post("/api/v1/users").mock(side_effect=failure)
    async with retrying_client(max_retries=3) as client:
        with pytest.raises(expected):
            await client.create_user("u1")
    assert route.call_count == 1
    assert sleeps.delays == []


@pytest.mark.parametrize("status", [400, 401, 404, 409, 422])
async def test_client_errors_are_never_retried(api, retrying_client, sleeps, status):
    route = api.get("/api/v1/users/u1").mock(
        return_value=httpx.Response(status, json={"detail": "no"})
    )
    async with retrying_client(max_retries=3) as client:
        with pytest.raises(exc.RecallrAIError):
            await client.get_user("u1")
    assert route.call_count == 1
    assert sleeps.delays == []


# --------------------------------------------------------------------------- how many times


@pytest.mark.parametrize(
    "side_effect",
    [httpx.Response(503, json={}), httpx.Response(429, json={}), httpx.ConnectError("refused")],
    ids=["503", "429", "connect"],
)
async def test_max_retries_zero_disables_retries(api, retrying_client, sleeps, side_effect):
    route = api.get("/api/v1/users/u1").mock(side_effect=[side_effect])
    async with retrying_client(max_retries=0) as client:
        with pytest.raises(exc.RecallrAIError):
            await client.get_user("u1")
    assert route.call_count == 1
    assert sleeps.delays == []


async def test_retries_stop_after_max_retries_with_the_last_error(api, retrying_client, sleeps):
    route = api.get("/api/v1/users/u1").mock(
        side_effect=[
            httpx.Response(503, json={"detail": "first"}),
            httpx.Response(502, json={"detail": "second"}),
            httpx.Response(500, json={"detail": "third"}),
            httpx.Response(200, json={}),  # must never be requested
        ]
    )
    async with retrying_client(max_retries=2) as client:
        with pytest.raises(exc.InternalServerError) as info:
            await client.get_user("u1")
    assert route.call_count == 3
    assert len(sleeps.delays) == 2
    assert info.value.message == "third"
    assert info.value.http_status == 500


async def test_last_network_error_is_raised_after_retries(api, retrying_client, sleeps):
    route = api.post("/api/v1/users").mock(side_effect=httpx.ConnectError("refused"))
    async with retrying_client(max_retries=3) as client:
        with pytest.raises(exc.ConnectionError):
            await client.create_user("u1")
    assert route.call_count == 4
    assert len(sleeps.delays) == 3


async def test_rate_limit_is_raised_after_retries(api, retrying_client, sleeps):
    route = api.post("/api/v1/users").mock(
        return_value=httpx.Response(429, headers={"Retry-After": "1"}, json={"detail": "slow"})
    )
    async with retrying_client(max_retries=2) as client:
        with pytest.raises(exc.RateLimitError) as info:
            await client.create_user("u1")
    assert route.call_count == 3
    assert sleeps.delays == [1.0, 1.0]
    assert info.value.retry_after == 1.0


# --------------------------------------------------------------------------- how long


async def test_retry_after_seconds_is_honoured(api, retrying_client, sleeps, wire_user):
    api.get("/api/v1/users/u1").mock(
        side_effect=[httpx.Response(429, headers={"Retry-After": "2"}, json={}), _user(wire_user)]
    )
    async with retrying_client() as client:
        await client.get_user("u1")
    assert sleeps.delays == [2.0]


async def test_retry_after_on_503_is_honoured(api, retrying_client, sleeps, wire_user):
    api.get("/api/v1/users/u1").mock(
        side_effect=[httpx.Response(503, headers={"Retry-After": "5"}, json={}), _user(wire_user)]
    )
    async with retrying_client() as client:
        await client.get_user("u1")
    assert sleeps.delays == [5.0]


async def test_retry_after_http_date_is_honoured(api, retrying_client, sleeps, wire_user):
    date = email.utils.formatdate(time.time() + 30, usegmt=True)
    api.get("/api/v1/users/u1").mock(
        side_effect=[httpx.Response(429, headers={"Retry-After": date}, json={}), _user(wire_user)]
    )
    async with retrying_client() as client:
        await client.get_user("u1")
    assert len(sleeps.delays) == 1
    # HTTP dates have 1 s resolution; allow for the clock moving during the test.
    assert 27.0 <= sleeps.delays[0] <= 31.0


async def test_retry_after_http_date_in_the_past_waits_nothing(
    api, retrying_client, sleeps, wire_user
):
    date = email.utils.formatdate(time.time() - 300, usegmt=True)
    api.get("/api/v1/users/u1").mock(
        side_effect=[httpx.Response(429, headers={"Retry-After": date}, json={}), _user(wire_user)]
    )
    async with retrying_client() as client:
        await client.get_user("u1")
    assert sleeps.delays == [0.0]


@pytest.mark.parametrize("retry_after", ["120", "61", "86400"])
async def test_retry_after_above_60_seconds_is_not_waited_for(
    api, retrying_client, sleeps, retry_after
):
    route = api.post("/api/v1/users").mock(
        return_value=httpx.Response(429, headers={"Retry-After": retry_after}, json={})
    )
    async with retrying_client(max_retries=3) as client:
        with pytest.raises(exc.RateLimitError) as info:
            await client.create_user("u1")
    assert route.call_count == 1
    assert sleeps.delays == []
    assert info.value.retry_after == float(retry_after)


async def test_retry_after_date_above_60_seconds_is_not_waited_for(api, retrying_client, sleeps):
    date = email.utils.formatdate(time.time() + 600, usegmt=True)
    route = api.get("/api/v1/users/u1").mock(
        return_value=httpx.Response(429, headers={"Retry-After": date}, json={})
    )
    async with retrying_client(max_retries=3) as client:
        with pytest.raises(exc.RateLimitError) as info:
            await client.get_user("u1")
    assert route.call_count == 1
    assert sleeps.delays == []
    assert info.value.retry_after is not None
    assert 590 <= info.value.retry_after <= 601


async def test_unparsable_retry_after_falls_back_to_backoff(
    api, retrying_client, sleeps, wire_user
):
    api.get("/api/v1/users/u1").mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "soon"}, json={}),
            _user(wire_user),
        ]
    )
    async with retrying_client() as client:
        await client.get_user("u1")
    assert len(sleeps.delays) == 1
    assert BASE_DELAY * 0.5 <= sleeps.delays[0] <= BASE_DELAY


def _ceiling(attempt: int) -> float:
    return min(MAX_DELAY, BASE_DELAY * 2**attempt)


async def _delays_of_failing_get(
    api: respx.MockRouter, make: Callable[..., AsyncRecallrAI], retries: int
) -> None:
    route = api.get("/api/v1/users/u1").mock(return_value=httpx.Response(503, json={}))
    async with make(max_retries=retries) as client:
        with pytest.raises(exc.InternalServerError):
            await client.get_user("u1")
    assert route.call_count == retries + 1


async def test_backoff_grows_exponentially_within_jitter_bounds(api, retrying_client, sleeps):
    retries = 7
    await _delays_of_failing_get(api, retrying_client, retries)
    assert len(sleeps.delays) == retries
    for attempt, delay in enumerate(sleeps.delays):
        ceiling = _ceiling(attempt)
        assert 0.5 * ceiling <= delay <= ceiling, (attempt, delay)
    # The cap: the last attempts wait at most 8 s although 0.5 * 2**6 = 32.
    assert max(sleeps.delays) <= MAX_DELAY


@pytest.mark.parametrize(("draw", "factor"), [(0.0, 0.5), (0.999999, 0.9999995)])
async def test_backoff_jitter_factor_extremes(
    api, retrying_client, sleeps, monkeypatch, draw, factor
):
    import recallrai._pipeline as pipeline_module

    monkeypatch.setattr(pipeline_module.random, "random", lambda: draw)
    await _delays_of_failing_get(api, retrying_client, 6)
    expected = [_ceiling(attempt) * factor for attempt in range(6)]
    assert sleeps.delays == pytest.approx(expected)
    assert sleeps.delays[:5] == pytest.approx([0.5 * 2**n * factor for n in range(5)])
    assert sleeps.delays[5] == pytest.approx(MAX_DELAY * factor)


async def test_backoff_has_jitter(api, retrying_client, sleeps):
    # With a real random source, the first delays of several failing requests are not all equal.
    route = api.get("/api/v1/users/u1").mock(return_value=httpx.Response(503, json={}))
    async with retrying_client(max_retries=1) as client:
        for _ in range(6):
            with pytest.raises(exc.InternalServerError):
                await client.get_user("u1")
    assert route.call_count == 12
    assert len(sleeps.delays) == 6
    assert all(0.5 * BASE_DELAY <= d <= BASE_DELAY for d in sleeps.delays)
    assert len(set(sleeps.delays)) > 1


async def test_default_client_retries(api, wire_user):
    # The default configuration retries (max_retries defaults to a positive number).
    route = api.get("/api/v1/users/u1").mock(
        side_effect=[httpx.Response(503, json={}), _user(wire_user)]
    )
    client = AsyncRecallrAI(
        api_key="rai_default_retry_key",
        project_id="p",
        base_url="http://127.0.0.1:9",
        transport="httpx",
    )
    recorder = SleepRecorder()
    client._pipeline.sleep = recorder
    async with client:
        await client.get_user("u1")
    assert route.call_count == 2
    assert len(recorder.delays) == 1


@pytest.mark.parametrize("transport", ["httpx", "aiohttp"])
async def test_closed_client_fails_fast_without_retrying(api, retrying_client, sleeps, transport):
    route = api.route().mock(return_value=httpx.Response(200, json={}))
    client = retrying_client(max_retries=3, transport=transport)
    async with client:
        pass
    await client.close()  # closing twice is fine
    with pytest.raises(exc.ConnectionError):
        await client.get_user("u1")
    assert route.call_count == 0
    assert sleeps.delays == []
