"""The request pipeline (recallrai._pipeline) over a scripted transport: what it sends, how it
retries, what observers see, and how a stream that does not answer 200 becomes an error."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import attrs
import pytest

from recallrai import exceptions as exc
from recallrai._errors import ErrorContext
from recallrai._pipeline import Pipeline
from recallrai._raw import capture, last_answer
from recallrai._transport import RawResponse, StreamResponse, TransportFailure
from recallrai._version import __version__

pytestmark = pytest.mark.anyio

BASE = "http://127.0.0.1:9"
KEY = "rai_unit_test_secret_3f9a7c1e"


@attrs.define
class Sent:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None
    timeout: float
    max_bytes: int | None


class FakeStream(StreamResponse):
    def __init__(
        self,
        status: int,
        chunks: tuple[bytes, ...] = (),
        headers: Mapping[str, str] | None = None,
        *,
        fail: BaseException | None = None,
        hang: bool = False,
    ) -> None:
        self.status = status
        self.headers = dict(headers or {"X-Answer": str(status)})
        self.chunks = list(chunks)
        self.fail = fail
        self.hang = hang
        self.closed = 0

    async def read_chunk(self) -> bytes:
        if self.fail is not None:
            raise self.fail
        if self.hang:
            await asyncio.Event().wait()
        return self.chunks.pop(0) if self.chunks else b""

    async def aclose(self) -> None:
        self.closed += 1

    def abort(self) -> None:
        self.closed += 1


class FakeTransport:
    """Answers each request with the next scripted outcome (raised when it is an exception)."""

    def __init__(self, *outcomes: Any) -> None:
        self.outcomes = list(outcomes)
        self.sent: list[Sent] = []

    def _next(self) -> Any:
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    async def send(self, method, url, headers, body, timeout, *, max_bytes):
        self.sent.append(Sent(method, url, dict(headers), body, timeout, max_bytes))
        if self.outcomes and self.outcomes[0] == "hang":
            await asyncio.Event().wait()
        return self._next()

    async def open_stream(self, method, url, headers, timeout):
        self.sent.append(Sent(method, url, dict(headers), None, timeout, None))
        if self.outcomes and self.outcomes[0] == "hang":
            await asyncio.Event().wait()
        return self._next()

    async def aclose(self) -> None:
        pass


def ok(body: Any = None, status: int = 200, **headers: str) -> RawResponse:
    return RawResponse(status, headers or {"X-Answer": "yes"}, json.dumps(body).encode())


def pipeline(transport: FakeTransport, **options: Any) -> tuple[Pipeline, list[float]]:
    settings: dict[str, Any] = {
        "api_key": KEY,
        "project_id": "proj",
        "base_url": BASE,
        "timeout": 5.0,
        "max_retries": 0,
        "transport": transport,
    }
    settings.update(options)
    made = Pipeline(**settings)
    waits: list[float] = []

    async def sleep(delay: float) -> None:
        waits.append(delay)

    made.sleep = sleep
    return made, waits


def lowered(headers: Mapping[str, str]) -> dict[str, str]:
    folded = {name.lower(): value for name, value in headers.items()}
    assert len(folded) == len(headers), f"a header is sent twice: {headers}"
    return folded


EXPECTED_HEADERS = {
    "x-recallr-api-key": KEY,
    "x-recallr-project-id": "proj",
    "content-type": "application/json",
    "accept": "application/json",
    "user-agent": f"recallrai-python/{__version__}",
}


# --------------------------------------------------------------------------- what is sent


async def test_request_sends_url_headers_body_timeout_and_cap():
    transport = FakeTransport(ok({"a": 1}))
    pipe, _ = pipeline(transport, timeout=2.5, max_response_bytes=1234)
    result = await pipe.request(
        "POST", "/api/v1/users", params=[("x", 1), ("y", None)], body={"k": "v", "n": None}
    )
    assert result == {"a": 1}
    [sent] = transport.sent
    assert (sent.method, sent.url) == ("POST", f"{BASE}/api/v1/users?x=1")
    assert lowered(sent.headers) == EXPECTED_HEADERS
    assert (sent.body, sent.timeout, sent.max_bytes) == (b'{"k":"v"}', 2.5, 1234)


@pytest.mark.parametrize(
    ("method", "body"), [("POST", b""), ("PUT", None), ("GET", None), ("DELETE", None)]
)
async def test_a_request_without_a_body(method, body):
    transport = FakeTransport(ok({}))
    pipe, _ = pipeline(transport)
    await pipe.request(method, "/api/v1/x", params=[("only", None)])
    assert transport.sent[0].body == body
    assert transport.sent[0].url == f"{BASE}/api/v1/x"  # an empty query adds no "?"


async def test_stream_sends_query_and_event_stream_accept():
    stream = FakeStream(200)
    transport = FakeTransport(stream)
    pipe, _ = pipeline(transport, timeout=3.0)
    opened = await pipe.open_stream("/api/v1/c", params=[("stream", True), ("k", 5)])
    assert opened is stream and stream.closed == 0
    [sent] = transport.sent
    assert (sent.method, sent.url, sent.timeout) == ("GET", f"{BASE}/api/v1/c?stream=true&k=5", 3.0)
    assert lowered(sent.headers) == {**EXPECTED_HEADERS, "accept": "text/event-stream"}
    assert last_answer.get() == ("GET", "/api/v1/c", stream.headers)


def test_repr_names_the_base_url_only():
    pipe, _ = pipeline(FakeTransport())
    assert repr(pipe) == f"Pipeline(base_url='{BASE}')"


# --------------------------------------------------------------------------- answers


async def test_expected_status_returns_json_and_records_the_answer():
    answer = ok([1, 2], 201, **{"X-Id": "7"})
    pipe, _ = pipeline(FakeTransport(answer))
    assert await pipe.request("POST", "/api/v1/u", body={}, expect=201) == [1, 2]
    assert last_answer.get() == ("POST", "/api/v1/u", {"X-Id": "7"})


async def test_204_returns_none_whatever_the_body():
    pipe, _ = pipeline(FakeTransport(RawResponse(204, {}, b"junk")))
    assert await pipe.request("DELETE", "/api/v1/u", expect=204) is None


async def test_another_success_status_is_malformed():
    answer = ok({}, 201)
    pipe, _ = pipeline(FakeTransport(answer))
    with pytest.raises(exc.MalformedResponseError) as info:
        await pipe.request("GET", "/api/v1/u")
    error = info.value
    assert error.message == "GET /api/v1/u answered 201, expected 200"
    assert (error.http_status, error.method, error.path, error.headers) == (
        201,
        "GET",
        "/api/v1/u",
        answer.headers,
    )


@pytest.mark.parametrize("body", [b"not json", b"[" * 100_000])
async def test_a_body_that_is_not_json_is_malformed(body):
    pipe, _ = pipeline(FakeTransport(RawResponse(200, {"H": "1"}, body)))
    with pytest.raises(exc.MalformedResponseError) as info:
        await pipe.request("GET", "/api/v1/u")
    error = info.value
    assert error.message.startswith("GET /api/v1/u answered 200 with a body that is not JSON: ")
    assert error.message.endswith(repr(body[:200]))
    assert (error.http_status, error.path, error.headers) == (200, "/api/v1/u", {"H": "1"})
    assert error.__cause__ is None


@pytest.mark.parametrize("status", [199, 300, 302, 404])
async def test_other_statuses_map_through_the_error_table(status):
    answer = RawResponse(status, {"H": "2"}, b'{"detail": "no"}')
    pipe, _ = pipeline(FakeTransport(answer))
    with pytest.raises(exc.RecallrAIError) as info:
        await pipe.request("GET", "/api/v1/users/u1", context=ErrorContext("user", "u1"))
    error = info.value
    assert type(error) is (exc.UserNotFoundError if status == 404 else exc.RecallrAIError)
    assert (error.message, error.http_status, error.method, error.headers) == (
        "no",
        status,
        "GET",
        {"H": "2"},
    )


# --------------------------------------------------------------------------- streams not 200


async def test_a_stream_that_does_not_answer_200_raises_the_mapped_error():
    stream = FakeStream(404, (b'{"detail": "Session ', b's1 not found"}'), {"H": "3"})
    pipe, _ = pipeline(FakeTransport(stream))
    with pytest.raises(exc.SessionNotFoundError) as info:
        await pipe.open_stream("/api/v1/s", params=[], context=ErrorContext("session", "u1"))
    error = info.value
    assert (error.message, error.http_status) == ("Session s1 not found", 404)
    assert (error.method, error.path, error.headers) == ("GET", "/api/v1/s", {"H": "3"})
    assert stream.closed == 1
    assert last_answer.get() is None


async def test_a_stream_error_body_over_the_cap_is_not_read():
    stream = FakeStream(422, (b'{"detail": "' + b"x" * 50 + b'"}', b"never read"))
    pipe, _ = pipeline(FakeTransport(stream), max_response_bytes=40)
    with pytest.raises(exc.ResponseTooLargeError) as info:
        await pipe.open_stream("/api/v1/s", params=[])
    assert info.value.http_status == 422
    assert stream.chunks == [b"never read"] and stream.closed == 1


async def test_a_stream_error_body_over_the_cap_names_the_request():
    stream = FakeStream(422, (b"x" * 50,))
    pipe, _ = pipeline(FakeTransport(stream), max_response_bytes=40)
    with pytest.raises(exc.ResponseTooLargeError) as info:
        await pipe.open_stream("/api/v1/s", params=[])
    assert (info.value.method, info.value.path) == ("GET", "/api/v1/s")
    assert info.value.headers == stream.headers and info.value.__suppress_context__


async def test_a_stream_refused_with_429_keeps_its_retry_after():
    stream = FakeStream(429, (b'{"detail": "slow"}',), {"Retry-After": "7"})
    pipe, _ = pipeline(FakeTransport(stream))
    with pytest.raises(exc.RateLimitError) as info:
        await pipe.open_stream("/api/v1/s", params=[])
    assert (info.value.message, info.value.retry_after) == ("slow", 7.0)


@pytest.mark.parametrize(
    "options",
    [{"fail": TransportFailure("cut", sent=True)}, {"hang": True}],
    ids=["cut", "silent"],
)
async def test_a_stream_error_body_that_does_not_arrive_is_left_out(options):
    stream = FakeStream(401, **options)
    pipe, _ = pipeline(FakeTransport(stream), timeout=0.05)
    with pytest.raises(exc.AuthenticationError) as info:
        await pipe.open_stream("/api/v1/s", params=[])
    assert info.value.message == "Authentication failed: check the API key and project ID"
    assert stream.closed == 1


async def test_a_stream_error_without_its_body_is_malformed_with_an_empty_body():
    stream = FakeStream(418, fail=TransportFailure("cut", sent=True))
    pipe, _ = pipeline(FakeTransport(stream))
    with pytest.raises(exc.MalformedResponseError) as info:
        await pipe.open_stream("/api/v1/s", params=[])
    assert info.value.message == "HTTP 418 with a body that is not a JSON object: b''"
    assert (info.value.http_status, info.value.path, stream.closed) == (418, "/api/v1/s", 1)


async def test_a_retried_stream_is_closed_before_the_next_attempt():
    first, second = FakeStream(503), FakeStream(200)
    transport = FakeTransport(first, second)
    pipe, waits = pipeline(transport, max_retries=1)
    assert await pipe.open_stream("/api/v1/s", params=[]) is second
    assert (first.closed, second.closed, len(waits)) == (1, 0, 1)


# --------------------------------------------------------------------------- retries


def failure(sent: bool, timed_out: bool = False) -> TransportFailure:
    return TransportFailure("boom", sent=sent, timed_out=timed_out)


@pytest.mark.parametrize(
    ("method", "outcome", "retried"),
    [
        ("POST", failure(sent=False), True),
        ("POST", failure(sent=True), False),
        ("GET", failure(sent=True), True),
        ("PUT", failure(sent=True, timed_out=True), True),
        ("POST", RawResponse(429, {}, b""), True),
        ("POST", RawResponse(500, {}, b""), False),
        ("PATCH", RawResponse(503, {}, b""), False),
        ("DELETE", RawResponse(500, {}, b""), True),
        ("HEAD", RawResponse(502, {}, b""), True),
        ("OPTIONS", RawResponse(599, {}, b""), True),
        ("GET", RawResponse(499, {}, b""), False),
        ("GET", RawResponse(400, {}, b""), False),
    ],
)
async def test_what_is_retried(method, outcome, retried):
    transport = FakeTransport(outcome, ok({}))
    pipe, waits = pipeline(transport, max_retries=1)
    try:
        await pipe.request(method, "/api/v1/x")
    except exc.RecallrAIError:
        assert not retried
    else:
        assert retried
    assert len(transport.sent) == (2 if retried else 1)
    assert len(waits) == (1 if retried else 0)


async def test_retries_stop_at_max_retries():
    transport = FakeTransport(*[RawResponse(503, {}, b"")] * 4)
    pipe, waits = pipeline(transport, max_retries=3)
    with pytest.raises(exc.InternalServerError):
        await pipe.request("GET", "/api/v1/x")
    assert (len(transport.sent), len(waits)) == (4, 3)


@pytest.mark.parametrize(("value", "waited"), [("60", 60.0), ("59.5", 59.5), ("0", 0.0)])
async def test_retry_after_up_to_60_seconds_is_followed(value, waited):
    transport = FakeTransport(RawResponse(429, {"Retry-After": value}, b""), ok({}))
    pipe, waits = pipeline(transport, max_retries=1)
    await pipe.request("POST", "/api/v1/x")
    assert waits == [waited]


@pytest.mark.parametrize("value", ["60.5", "61", "3600"])
async def test_retry_after_over_60_seconds_is_not_waited_for(value):
    transport = FakeTransport(RawResponse(429, {"Retry-After": value}, b""), ok({}))
    pipe, waits = pipeline(transport, max_retries=1)
    with pytest.raises(exc.RateLimitError) as info:
        await pipe.request("POST", "/api/v1/x")
    assert info.value.retry_after == float(value)
    assert waits == [] and len(transport.sent) == 1


@pytest.mark.parametrize(
    ("attempts", "random", "expected"),
    [
        (1, 0.0, [0.25]),
        (1, 1.0, [0.5]),
        (3, 0.5, [0.375, 0.75, 1.5]),
        (7, 1.0, [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]),
        (6, 0.0, [0.25, 0.5, 1.0, 2.0, 4.0, 4.0]),
    ],
)
async def test_backoff_doubles_up_to_8_seconds_with_jitter(monkeypatch, attempts, random, expected):
    monkeypatch.setattr("recallrai._pipeline.random.random", lambda: random)
    transport = FakeTransport(*[failure(sent=False)] * attempts, ok({}))
    pipe, waits = pipeline(transport, max_retries=attempts)
    await pipe.request("POST", "/api/v1/x")
    assert waits == expected


async def test_the_last_failure_becomes_a_located_network_error():
    cause = failure(sent=True, timed_out=True)
    pipe, _ = pipeline(FakeTransport(cause))
    with pytest.raises(exc.TimeoutError) as info:
        await pipe.request("GET", "/api/v1/x")
    error = info.value
    assert error.message == "GET /api/v1/x: boom"
    assert (error.http_status, error.method, error.path, error.headers) == (
        None,
        "GET",
        "/api/v1/x",
        None,
    )
    assert error.__context__ is cause and error.__cause__ is None
    assert error.__suppress_context__


async def test_opening_a_stream_is_bounded_by_the_timeout_up_to_its_headers():
    transport = FakeTransport("hang")
    pipe, _ = pipeline(transport, timeout=0.05)
    with pytest.raises(exc.TimeoutError) as info:
        await pipe.open_stream("/api/v1/s", params=[])
    assert info.value.message == "GET /api/v1/s: no complete answer within 0.05 s"


async def test_an_answer_too_large_is_never_retried():
    too_large = exc.ResponseTooLargeError("too big", 200)
    transport = FakeTransport(too_large, ok({}))
    pipe, waits = pipeline(transport, max_retries=3)
    with pytest.raises(exc.ResponseTooLargeError) as info:
        await pipe.request("GET", "/api/v1/x")
    assert info.value is too_large
    assert (info.value.method, info.value.path, info.value.headers) == ("GET", "/api/v1/x", None)
    assert info.value.__suppress_context__
    assert (len(transport.sent), waits) == (1, [])


async def test_raw_capture_records_the_last_attempt():
    answer = ok({}, **{"X-Last": "1"})
    transport = FakeTransport(failure(sent=False), failure(sent=False), answer)
    pipe, _ = pipeline(transport, max_retries=2)
    recording: list[Any] = []
    token = capture.set(recording)
    try:
        await pipe.request("GET", "/api/v1/x", params=[("q", 1)])
    finally:
        capture.reset(token)
    [exchange] = recording
    assert (exchange.method, exchange.url, exchange.status_code, exchange.headers) == (
        "GET",
        f"{BASE}/api/v1/x?q=1",
        200,
        {"X-Last": "1"},
    )
    assert exchange.attempts == 3
    assert timedelta(0) <= exchange.elapsed < timedelta(seconds=5)


# --------------------------------------------------------------------------- options


async def test_derive_changes_only_what_it_is_given():
    transport = FakeTransport(ok({}), ok({}))
    pipe, _ = pipeline(transport, timeout=5.0, max_retries=2)
    derived = pipe.derive(timeout=1, max_retries=0)
    assert (derived.timeout, derived.max_retries, derived.transport) == (1.0, 0, transport)
    assert type(derived.timeout) is float
    assert (pipe.timeout, pipe.max_retries) == (5.0, 2)
    same = pipe.derive()
    assert (same.timeout, same.max_retries) == (5.0, 2)
    await derived.request("GET", "/x")
    assert transport.sent[0].timeout == 1.0


async def test_extra_headers_replace_headers_of_any_case_in_both_kinds_of_request():
    transport = FakeTransport(ok({}), FakeStream(200), ok({}))
    pipe, _ = pipeline(transport)
    derived = pipe.derive(extra_headers={"accept": "text/plain", "X-Extra": "1"})
    await derived.request("GET", "/x")
    await derived.open_stream("/x", params=[])
    await pipe.request("GET", "/x")
    plain, streamed, original = (lowered(sent.headers) for sent in transport.sent)
    assert plain == {**EXPECTED_HEADERS, "accept": "text/plain", "x-extra": "1"}
    assert streamed == {**EXPECTED_HEADERS, "accept": "text/plain", "x-extra": "1"}
    assert original == EXPECTED_HEADERS


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"timeout": 0}, "timeout must be a positive number of seconds, got 0"),
        ({"max_retries": -1}, "max_retries must be an integer >= 0, got -1"),
        ({"extra_headers": {"a b": "1"}}, "extra_headers has an invalid header name: 'a b'"),
    ],
)
def test_derive_checks_its_options(options, message):
    pipe, _ = pipeline(FakeTransport())
    with pytest.raises(exc.ValidationError) as info:
        pipe.derive(**options)
    assert info.value.message == message


def test_per_call_is_the_pipeline_itself_without_options():
    pipe, _ = pipeline(FakeTransport(), max_retries=2)
    assert pipe.per_call(None, None, None) is pipe
    for options in [(3.0, None, None), (None, 0, None), (None, None, {"X-A": "1"})]:
        derived = pipe.per_call(*options)
        assert derived is not pipe
    assert pipe.per_call(None, 0, None).max_retries == 0
    assert pipe.per_call(2.0, None, None).timeout == 2.0
    assert lowered(pipe.per_call(None, None, {"X-A": "1"})._headers)["x-a"] == "1"


# --------------------------------------------------------------------------- observers


class Recorder:
    def __init__(self) -> None:
        self.requests: list[Any] = []
        self.responses: list[Any] = []

    def hooks(self) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        return ((self.requests.append,), (self.responses.append,))


async def test_hooks_see_every_attempt(caplog):
    caplog.set_level(logging.WARNING, logger="recallrai")  # hooks alone make attempts observed
    recorder = Recorder()
    answer = ok({}, **{"X-A": "1"})
    transport = FakeTransport(failure(sent=False), RawResponse(503, {"X-B": "2"}, b""), answer)
    pipe, waits = pipeline(transport, max_retries=2, event_hooks=recorder.hooks())
    await pipe.request("PUT", "/api/v1/x", params=[("q", "1")], body={"k": "v"})
    assert [event.attempt for event in recorder.requests] == [1, 2, 3]
    first = recorder.requests[0]
    assert (first.method, first.url, first.path) == ("PUT", f"{BASE}/api/v1/x?q=1", "/api/v1/x")
    assert (first.max_attempts, first.body_size) == (3, len(b'{"k":"v"}'))
    assert lowered(first.headers) == {**EXPECTED_HEADERS, "x-recallr-api-key": "<redacted>"}
    failed, busy, done = recorder.responses
    assert [event.request for event in recorder.responses] == recorder.requests
    assert (failed.status_code, failed.headers, failed.error, failed.error_type) == (
        None,
        {},
        "boom",
        "connection",
    )
    assert (busy.status_code, busy.headers, busy.error, busy.error_type) == (
        503,
        {"X-B": "2"},
        None,
        None,
    )
    assert [failed.retry_in, busy.retry_in] == waits and done.retry_in is None
    assert (done.status_code, done.headers) == (200, {"X-A": "1"})
    for event in recorder.responses:
        assert timedelta(0) <= event.elapsed < timedelta(seconds=5)


async def test_stream_hooks_see_the_stream_headers_and_no_body():
    recorder = Recorder()
    pipe, _ = pipeline(FakeTransport(FakeStream(200)), event_hooks=recorder.hooks())
    await pipe.open_stream("/api/v1/s", params=[])
    [event] = recorder.requests
    assert lowered(event.headers)["accept"] == "text/event-stream"
    assert (event.body_size, event.max_attempts) == (0, 1)


@pytest.mark.parametrize(
    ("outcome", "error_type"),
    [
        (failure(sent=False), "connection"),
        (failure(sent=True), "interrupted"),
        (failure(sent=True, timed_out=True), "timeout"),
        (failure(sent=False, timed_out=True), "timeout"),
        (exc.ResponseTooLargeError("big", 200), "response_too_large"),
        (exc.MalformedResponseError("odd", 200), "MalformedResponseError"),
    ],
)
async def test_failed_attempts_are_classified(outcome, error_type):
    recorder = Recorder()
    pipe, _ = pipeline(FakeTransport(outcome), event_hooks=recorder.hooks())
    with pytest.raises(exc.RecallrAIError):
        await pipe.request("POST", "/api/v1/x")
    [event] = recorder.responses
    assert (event.status_code, event.error_type, event.error) == (None, error_type, str(outcome))
    assert event.retry_in is None


async def test_async_hooks_are_awaited():
    seen: list[str] = []

    async def on_request(event: Any) -> None:
        seen.append("request")

    async def on_response(event: Any) -> None:
        seen.append("response")

    pipe, _ = pipeline(FakeTransport(ok({})), event_hooks=((on_request,), (on_response,)))
    await pipe.request("GET", "/x")
    assert seen == ["request", "response"]


async def test_every_attempt_is_logged_without_hooks(caplog):
    transport = FakeTransport(RawResponse(503, {}, b""), ok({}))
    pipe, waits = pipeline(transport, max_retries=1)
    with caplog.at_level(logging.INFO, logger="recallrai"):
        await pipe.request("GET", "/api/v1/x")
    lines = [record.getMessage() for record in caplog.records if record.name == "recallrai"]
    assert len(lines) == 2
    assert lines[0].startswith("GET /api/v1/x -> 503 in ")
    assert lines[0].endswith(f" ms (attempt 1 of 2); retrying in {waits[0]:.2f} s")
    assert lines[1].endswith(" ms (attempt 2 of 2)")


async def test_nothing_is_logged_below_info(caplog):
    pipe, _ = pipeline(FakeTransport(ok({})))
    with caplog.at_level(logging.WARNING, logger="recallrai"):
        await pipe.request("GET", "/x")
    assert [r for r in caplog.records if r.name == "recallrai"] == []


async def test_the_expected_status_is_the_only_success():
    pipe, _ = pipeline(FakeTransport(ok({}, 200)))
    with pytest.raises(exc.MalformedResponseError) as info:
        await pipe.request("POST", "/api/v1/u", body={}, expect=201)
    assert info.value.message == "POST /api/v1/u answered 200, expected 201"


async def test_the_wait_between_attempts_is_asyncio_sleep_by_default():
    transport = FakeTransport(RawResponse(429, {"Retry-After": "0"}, b""), ok({"done": True}))
    made = Pipeline(
        api_key=KEY,
        project_id="proj",
        base_url=BASE,
        timeout=5.0,
        max_retries=1,
        transport=transport,  # type: ignore[arg-type]
    )
    assert made.sleep is asyncio.sleep
    assert await made.request("POST", "/api/v1/x") == {"done": True}


async def test_a_post_that_times_out_is_not_sent_again():
    transport = FakeTransport("hang", ok({}))
    pipe, waits = pipeline(transport, timeout=0.05, max_retries=2)
    with pytest.raises(exc.TimeoutError, match=r"no complete answer within 0\.05 s"):
        await pipe.request("POST", "/api/v1/x", body={})
    assert (len(transport.sent), waits) == (1, [])
