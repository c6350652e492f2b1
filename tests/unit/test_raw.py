"""with_raw_response (recallrai._raw): what the view exposes and what it refuses."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from recallrai._raw import APIResponse, Exchange, WithRawResponse

pytestmark = pytest.mark.anyio


class _Target:
    def method(self) -> int:
        return 1

    def _private(self) -> int:
        return 2

    attribute = 3


@pytest.mark.parametrize("name", ["_private", "attribute"])
def test_only_public_methods_are_offered(name):
    view = WithRawResponse(_Target())
    with pytest.raises(AttributeError) as info:
        getattr(view, name)
    assert str(info.value) == f"_Target has no method {name!r}"


async def test_a_method_that_sends_nothing_has_no_raw_response():
    view = WithRawResponse(_Target())
    with pytest.raises(
        ValueError, match=r"^method\(\) sent no request, so it has no raw response$"
    ):
        await view.method()


def test_api_response_fields():
    exchange = Exchange("GET", "http://127.0.0.1:9/x", 201, {"A": "1"}, timedelta(seconds=1.5), 3)
    response = APIResponse(exchange, "parsed")
    assert (response.method, response.url, response.status_code) == (
        "GET",
        "http://127.0.0.1:9/x",
        201,
    )
    assert (response.headers, response.elapsed, response.retries_taken) == (
        {"A": "1"},
        timedelta(seconds=1.5),
        2,
    )
    assert response.parse() == "parsed"
    assert repr(response) == "<APIResponse GET 201 in 1.500 s>"


async def test_raw_get_user_records_the_answer(api, new_client, wire_user):
    api.get("/api/v1/users/u1").mock(
        return_value=httpx.Response(200, json={"user": wire_user()}, headers={"X-Req": "9"})
    )
    async with new_client() as client:
        response = await client.with_raw_response.get_user("u1")
    assert (response.status_code, response.headers["x-req"], response.retries_taken) == (
        200,
        "9",
        0,
    )
    assert response.parse().user_id == "u1"
