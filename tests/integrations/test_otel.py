"""recallrai.integrations.otel: one CLIENT span per attempt, against the emulator over real HTTP.

Both client styles and both transports. Spans go to an in-memory exporter through a
TracerProvider passed to ``otel_event_hooks`` (the global provider is never set).
"""

from __future__ import annotations

import asyncio
import gc
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import anyio
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from recallrai import AsyncRecallrAI, RecallrAI, RequestEvent, ResponseEvent
from recallrai.emulator import Emulator
from recallrai.exceptions import (
    ConnectionError,  # noqa: A004 - the SDK's, as its users import it
    InternalServerError,
    NetworkError,
    ResponseTooLargeError,
    UserNotFoundError,
)
from recallrai.integrations.otel import otel_event_hooks

STYLES = ["async", "sync"]
TRANSPORTS = ["aiohttp", "httpx"]


@pytest.fixture
def exporter(recallrai_emulator: Emulator) -> Iterator[InMemorySpanExporter]:
    """The spans of one test; afterwards, none of them may show the API key anywhere."""
    exporter = InMemorySpanExporter()
    yield exporter
    for span in exporter.get_finished_spans():
        assert recallrai_emulator.api_key not in span.to_json(), span.to_json()


@pytest.fixture
def provider(exporter: InMemorySpanExporter) -> Iterator[TracerProvider]:
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider
    provider.shutdown()


class Traced:
    """Runs operations on a fresh client (async or blocking) traced into the exporter."""

    def __init__(
        self, style: str, transport: str, emulator: Emulator, provider: TracerProvider
    ) -> None:
        self.style = style
        self.transport = transport
        self.emulator = emulator
        self.hooks = otel_event_hooks(tracer_provider=provider)  # one set for every client

    def options(self, options: dict[str, Any]) -> dict[str, Any]:
        return {
            "api_key": self.emulator.api_key,
            "project_id": self.emulator.project_id,
            "base_url": self.emulator.base_url,
            "transport": self.transport,
            "max_retries": 0,
            "event_hooks": self.hooks,
            **options,
        }

    async def run(self, operation: Callable[[Any], Any], **options: Any) -> Any:
        """``operation(client)``: awaited on an ``AsyncRecallrAI``; on a ``RecallrAI``,
        called in a worker thread (it blocks)."""
        if self.style == "async":
            async with AsyncRecallrAI(**self.options(options)) as client:
                return await operation(client)

        def blocking() -> Any:
            with RecallrAI(**self.options(options)) as client:
                return operation(client)

        return await anyio.to_thread.run_sync(blocking)


@pytest.fixture(params=[(s, t) for s in STYLES for t in TRANSPORTS], ids=lambda p: "-".join(p))
def traced(
    request: pytest.FixtureRequest, recallrai_emulator: Emulator, provider: TracerProvider
) -> Traced:
    style, transport = request.param
    return Traced(style, transport, recallrai_emulator, provider)


def attrs(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


def by_start(exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    return sorted(exporter.get_finished_spans(), key=lambda span: span.start_time or 0)


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


# --------------------------------------------------------------------------- outcomes


@pytest.mark.anyio
async def test_a_successful_call_makes_one_client_span(
    traced: Traced, exporter: InMemorySpanExporter, recallrai_emulator: Emulator
) -> None:
    await traced.run(lambda client: client.create_user("alice", metadata={"k": "v"}))

    (span,) = exporter.get_finished_spans()
    sent = recallrai_emulator.last_request
    assert span.name == "POST"
    assert span.kind is SpanKind.CLIENT
    assert span.status.status_code is StatusCode.UNSET
    assert attrs(span) == {
        "http.request.method": "POST",
        "url.full": recallrai_emulator.base_url + sent.raw_path,
        "server.address": "127.0.0.1",
        "server.port": recallrai_emulator.port,
        "http.response.status_code": 201,
        "recallrai.attempt": 1,
        "recallrai.max_attempts": 1,
    }
    assert not span.events
    assert span.parent is None
    assert span.instrumentation_scope is not None
    assert span.instrumentation_scope.name == "recallrai.integrations.otel"
    assert span.start_time is not None and span.end_time is not None
    assert span.start_time < span.end_time


@pytest.mark.anyio
async def test_the_query_string_is_part_of_url_full(
    traced: Traced, exporter: InMemorySpanExporter, recallrai_emulator: Emulator
) -> None:
    await traced.run(lambda client: client.list_users(offset=0, limit=5))

    (span,) = exporter.get_finished_spans()
    sent = recallrai_emulator.last_request
    assert sent.query_string
    assert attrs(span)["url.full"] == (
        f"{recallrai_emulator.base_url}{sent.raw_path}?{sent.query_string}"
    )
    assert span.name == "GET"


@pytest.mark.anyio
async def test_a_retried_call_makes_one_span_per_attempt(
    traced: Traced, exporter: InMemorySpanExporter, recallrai_emulator: Emulator
) -> None:
    await traced.run(lambda client: client.create_user("bob"))
    exporter.clear()
    recallrai_emulator.inject_fault(503, times=1, method="GET", delay=0.2)

    user = await traced.run(lambda client: client.get_user("bob"), max_retries=1)

    assert user.user_id == "bob"
    first, second = by_start(exporter)
    assert first.name == second.name == "GET"
    assert attrs(first)["http.response.status_code"] == 503
    assert attrs(first)["error.type"] == "503"
    assert first.status.status_code is StatusCode.ERROR
    assert first.status.description is None  # the status code says it all
    assert "http.request.resend_count" not in attrs(first)
    assert attrs(first)["recallrai.attempt"] == 1
    assert attrs(first)["recallrai.max_attempts"] == 2
    (retry,) = first.events
    assert retry.name == "recallrai.retry"
    delay = (retry.attributes or {})["recallrai.retry.delay"]
    assert isinstance(delay, float) and 0 < delay <= 8

    assert attrs(second)["http.response.status_code"] == 200
    assert attrs(second)["http.request.resend_count"] == 1
    assert attrs(second)["recallrai.attempt"] == 2
    assert "error.type" not in attrs(second)
    assert second.status.status_code is StatusCode.UNSET
    assert not second.events
    assert attrs(first)["url.full"] == attrs(second)["url.full"]

    # Timing: each span covers its own attempt; the backoff lies between them.
    assert first.start_time and first.end_time and second.start_time and second.end_time
    assert first.end_time - first.start_time >= 0.19e9  # the emulator's delay
    assert second.start_time - first.end_time >= (delay - 0.02) * 1e9
    assert second.end_time - second.start_time < first.end_time - first.start_time


@pytest.mark.anyio
async def test_a_404_is_an_error_for_a_client_span(
    traced: Traced, exporter: InMemorySpanExporter
) -> None:
    with pytest.raises(UserNotFoundError):
        await traced.run(lambda client: client.get_user("ghost"))

    (span,) = exporter.get_finished_spans()
    assert attrs(span)["http.response.status_code"] == 404
    assert attrs(span)["error.type"] == "404"
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description is None
    assert not span.events


@pytest.mark.anyio
async def test_a_5xx_that_is_not_retried_is_an_error_without_a_retry_event(
    traced: Traced, exporter: InMemorySpanExporter, recallrai_emulator: Emulator
) -> None:
    recallrai_emulator.inject_fault(500, times=1)
    with pytest.raises(InternalServerError):
        await traced.run(lambda client: client.create_user("carol"))

    (span,) = exporter.get_finished_spans()
    assert attrs(span)["error.type"] == "500"
    assert span.status.status_code is StatusCode.ERROR
    assert not span.events  # a POST answered 500 is not retried


@pytest.mark.anyio
async def test_a_connection_failure_has_an_error_type_and_no_status_code(
    traced: Traced, exporter: InMemorySpanExporter
) -> None:
    port = closed_port()
    with pytest.raises(ConnectionError):
        await traced.run(
            lambda client: client.get_user("alice"), base_url=f"http://127.0.0.1:{port}"
        )

    (span,) = exporter.get_finished_spans()
    assert "http.response.status_code" not in attrs(span)
    assert attrs(span)["error.type"] == "connection"
    assert attrs(span)["server.address"] == "127.0.0.1"
    assert attrs(span)["server.port"] == port
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description and "cannot connect" in span.status.description


@pytest.mark.anyio
async def test_a_retried_connection_failure_records_the_retry(
    traced: Traced, exporter: InMemorySpanExporter
) -> None:
    port = closed_port()
    with pytest.raises(ConnectionError):
        await traced.run(
            lambda client: client.create_user("alice"),  # never sent: retried whatever the method
            base_url=f"http://127.0.0.1:{port}",
            max_retries=1,
        )

    first, second = by_start(exporter)
    assert attrs(first)["error.type"] == attrs(second)["error.type"] == "connection"
    assert [event.name for event in first.events] == ["recallrai.retry"]
    assert not second.events
    assert attrs(second)["http.request.resend_count"] == 1


@pytest.mark.anyio
async def test_a_timeout_has_error_type_timeout(
    traced: Traced, exporter: InMemorySpanExporter, recallrai_emulator: Emulator
) -> None:
    recallrai_emulator.inject_fault(200, times=1, delay=1.0)
    with pytest.raises(NetworkError):
        await traced.run(lambda client: client.get_user("alice"), timeout=0.2)

    (span,) = exporter.get_finished_spans()
    assert "http.response.status_code" not in attrs(span)
    assert attrs(span)["error.type"] == "timeout"
    assert span.status.status_code is StatusCode.ERROR


@pytest.mark.anyio
async def test_a_dropped_connection_has_error_type_interrupted(
    traced: Traced, exporter: InMemorySpanExporter, recallrai_emulator: Emulator
) -> None:
    recallrai_emulator.inject_disconnect(times=1)
    with pytest.raises(NetworkError):
        await traced.run(lambda client: client.create_user("dora"))  # a POST: not retried

    (span,) = exporter.get_finished_spans()
    assert "http.response.status_code" not in attrs(span)
    assert attrs(span)["error.type"] == "interrupted"
    assert span.status.status_code is StatusCode.ERROR


# --------------------------------------------------------------------------- attempts without an outcome


def assert_aborted(span: ReadableSpan) -> None:
    assert attrs(span)["error.type"] == "aborted"
    assert "http.response.status_code" not in attrs(span)
    assert span.status.status_code is StatusCode.ERROR


def async_client(
    emulator: Emulator, transport: str, provider: TracerProvider, **options: Any
) -> AsyncRecallrAI:
    return AsyncRecallrAI(
        emulator.api_key,
        emulator.project_id,
        base_url=emulator.base_url,
        transport=transport,  # type: ignore[arg-type]
        max_retries=0,
        event_hooks=otel_event_hooks(tracer_provider=provider),
        **options,
    )


@pytest.mark.anyio
@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_cancelled_attempt_ends_at_the_latest_with_the_tasks_next_request(
    transport: str,
    provider: TracerProvider,
    exporter: InMemorySpanExporter,
    recallrai_emulator: Emulator,
) -> None:
    recallrai_emulator.inject_fault(200, times=1, delay=1.0)
    async with async_client(recallrai_emulator, transport, provider) as client:
        with anyio.move_on_after(0.2) as scope:
            await client.get_user("alice")
        assert scope.cancelled_caught
        with pytest.raises(UserNotFoundError):  # the client goes on working, and tracing
            await client.get_user("alice")

    cancelled, found = by_start(exporter)
    assert_aborted(cancelled)
    assert attrs(found)["error.type"] == "404"
    assert cancelled.end_time is not None and found.start_time is not None
    assert cancelled.end_time <= found.start_time


@pytest.mark.anyio
@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_cancelled_attempt_ends_at_the_latest_with_its_task(
    transport: str,
    provider: TracerProvider,
    exporter: InMemorySpanExporter,
    recallrai_emulator: Emulator,
) -> None:
    recallrai_emulator.inject_fault(200, times=1, delay=1.0)
    async with async_client(recallrai_emulator, transport, provider) as client:
        task = asyncio.ensure_future(client.get_user("alice"))
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.sleep(0)  # the task's done callbacks

        (span,) = exporter.get_finished_spans()  # no gc.collect(), no further request
        assert_aborted(span)


@pytest.mark.anyio
async def test_an_answer_over_the_size_cap_ends_its_span_as_such(
    traced: Traced, exporter: InMemorySpanExporter, recallrai_emulator: Emulator
) -> None:
    recallrai_emulator.inject_fault(200, body={"detail": "x" * 4096}, times=1)
    with pytest.raises(ResponseTooLargeError) as caught:  # its traceback keeps the attempt
        await traced.run(lambda client: client.get_user("alice"), max_response_bytes=1024)
    with pytest.raises(UserNotFoundError):
        await traced.run(lambda client: client.get_user("alice"))
    del caught

    too_large, found = by_start(exporter)
    assert attrs(too_large)["error.type"] == "response_too_large"
    assert too_large.status.status_code is StatusCode.ERROR
    assert too_large.end_time is not None and found.start_time is not None
    assert too_large.end_time <= found.start_time
    assert attrs(found)["error.type"] == "404"


@pytest.mark.anyio
async def test_a_task_started_during_an_attempt_does_not_abort_it(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    (start,), (end,) = otel_event_hooks(provider).values()
    outer = request_event("http://127.0.0.1:9/outer")
    start(outer)

    async def child() -> None:  # inherits the context, with the outer attempt in flight
        inner = request_event("http://127.0.0.1:9/inner")
        start(inner)
        end(response_event(inner, 200))

    await asyncio.ensure_future(child())
    end(response_event(outer, 200))

    spans = exporter.get_finished_spans()
    assert [attrs(span)["url.full"].rsplit("/", 1)[1] for span in spans] == ["inner", "outer"]
    assert all("error.type" not in attrs(span) for span in spans)


def test_a_dropped_attempt_ends_when_the_sdk_lets_it_go(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    (start,) = otel_event_hooks(provider)["request"]
    event = request_event("http://127.0.0.1:9/x")
    start(event)
    assert not exporter.get_finished_spans()
    del event
    gc.collect()
    (span,) = exporter.get_finished_spans()
    assert_aborted(span)


# --------------------------------------------------------------------------- context


@pytest.mark.anyio
@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_async_spans_are_children_of_the_current_span(
    transport: str,
    provider: TracerProvider,
    exporter: InMemorySpanExporter,
    recallrai_emulator: Emulator,
) -> None:
    tracer = provider.get_tracer("test")
    async with async_client(recallrai_emulator, transport, provider) as client:
        with tracer.start_as_current_span("handler") as parent:
            await client.create_user("erin")
        assert trace.get_current_span() is trace.INVALID_SPAN  # nothing left attached

    request, handler = exporter.get_finished_spans()
    assert handler.name == "handler"
    assert request.parent is not None
    assert request.parent.span_id == parent.get_span_context().span_id
    assert request.context is not None
    assert request.context.trace_id == parent.get_span_context().trace_id


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_blocking_spans_are_children_of_the_callers_current_span(
    transport: str,
    provider: TracerProvider,
    exporter: InMemorySpanExporter,
    recallrai_emulator: Emulator,
) -> None:
    tracer = provider.get_tracer("test")
    with RecallrAI(
        recallrai_emulator.api_key,
        recallrai_emulator.project_id,
        base_url=recallrai_emulator.base_url,
        transport=transport,  # type: ignore[arg-type]
        max_retries=0,
        event_hooks=otel_event_hooks(tracer_provider=provider),
    ) as client:
        with tracer.start_as_current_span("job") as parent:
            client.create_user("frank")
        client.get_user("frank")  # no current span here: a root span

    created, job, fetched = exporter.get_finished_spans()
    assert job.name == "job"
    assert created.parent is not None
    assert created.parent.span_id == parent.get_span_context().span_id
    assert fetched.parent is None


# --------------------------------------------------------------------------- the hooks


def test_each_call_returns_new_lists_to_combine_with_ones_own_hooks(
    provider: TracerProvider, exporter: InMemorySpanExporter, recallrai_emulator: Emulator
) -> None:
    first, second = otel_event_hooks(provider), otel_event_hooks(provider)
    assert set(first) == {"request", "response"}
    assert first["request"] is not second["request"]
    seen: list[int | None] = []

    async def mine(event: ResponseEvent) -> None:
        seen.append(event.status_code)

    first["response"].append(mine)
    with RecallrAI(
        recallrai_emulator.api_key,
        recallrai_emulator.project_id,
        base_url=recallrai_emulator.base_url,
        max_retries=0,
        event_hooks=first,
    ) as client:
        client.create_user("gina")
    assert seen == [201]
    assert len(exporter.get_finished_spans()) == 1


def test_two_sets_of_hooks_on_one_client_each_make_their_own_span(
    provider: TracerProvider, exporter: InMemorySpanExporter, recallrai_emulator: Emulator
) -> None:
    other_exporter = InMemorySpanExporter()
    other = TracerProvider(shutdown_on_exit=False)
    other.add_span_processor(SimpleSpanProcessor(other_exporter))
    mine, theirs = otel_event_hooks(provider), otel_event_hooks(other)
    hooks = {"request": mine["request"] + theirs["request"]}
    hooks["response"] = mine["response"] + theirs["response"]
    try:
        with RecallrAI(
            recallrai_emulator.api_key,
            recallrai_emulator.project_id,
            base_url=recallrai_emulator.base_url,
            max_retries=0,
            event_hooks=hooks,
        ) as client:
            client.create_user("hank")
    finally:
        other.shutdown()
    (one,) = exporter.get_finished_spans()
    (two,) = other_exporter.get_finished_spans()
    assert one.context is not None and two.context is not None
    assert one.context.span_id != two.context.span_id
    assert attrs(one) == attrs(two)


def request_event(url: str, method: str = "GET", attempt: int = 1) -> RequestEvent:
    return RequestEvent(
        method=method,
        url=url,
        path="/",
        headers={"X-Recallr-Api-Key": "<redacted>"},
        attempt=attempt,
        max_attempts=3,
        body_size=0,
    )


def response_event(
    request: RequestEvent,
    status: int | None,
    error: str | None = None,
    error_type: str | None = None,
) -> Any:
    return ResponseEvent(
        request=request,
        status_code=status,
        headers={},
        elapsed=timedelta(milliseconds=5),
        error=error,
        error_type=error_type,
    )


def test_urls_ports_and_methods_follow_the_conventions(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    hooks = otel_event_hooks(provider)
    (start,), (end,) = hooks["request"], hooks["response"]
    cases = [
        request_event("https://api.example.com/api/v1/users"),
        request_event("http://[::1]:8080/x", method="PURGE", attempt=3),
        request_event("https://user:secret@api.example.com/x"),  # the SDK refuses these
    ]
    for event in cases:
        start(event)
        end(response_event(event, 200))

    plain, odd, credentials = exporter.get_finished_spans()
    assert attrs(plain)["server.address"] == "api.example.com"
    assert attrs(plain)["server.port"] == 443
    assert odd.name == "HTTP"
    assert attrs(odd)["http.request.method"] == "_OTHER"
    assert attrs(odd)["http.request.method_original"] == "PURGE"
    assert attrs(odd)["server.address"] == "::1"
    assert attrs(odd)["server.port"] == 8080
    assert attrs(odd)["http.request.resend_count"] == 2
    assert attrs(credentials)["url.full"] == "https://REDACTED:REDACTED@api.example.com/x"
    assert "secret" not in credentials.to_json()


@pytest.mark.parametrize(
    ("status", "error", "error_type"),
    [
        (100, None, None),
        (204, None, None),
        (304, None, None),
        (400, None, "400"),
        (429, None, "429"),
        (503, None, "503"),
        (99, None, "99"),  # a code the client cannot interpret
        (None, "no answer within 5 s", "timeout"),
        (None, "cannot connect: [Errno 111] Connection refused", "connection"),
        (None, "request failed: Server disconnected", "interrupted"),
        (None, "answer over max_response_bytes", "response_too_large"),
        (None, "a failure without a type", "_OTHER"),
    ],
)
def test_status_rules(
    provider: TracerProvider,
    exporter: InMemorySpanExporter,
    status: int | None,
    error: str | None,
    error_type: str | None,
) -> None:
    (start,), (end,) = otel_event_hooks(provider).values()
    event = request_event("http://127.0.0.1:9/x")
    start(event)
    kind = None if error is None or error_type == "_OTHER" else error_type
    end(response_event(event, status, error, kind))

    (span,) = exporter.get_finished_spans()
    assert attrs(span).get("error.type") == error_type
    assert attrs(span).get("http.response.status_code") == status
    expected = StatusCode.UNSET if error_type is None else StatusCode.ERROR
    assert span.status.status_code is expected
    assert span.status.description == error  # the SDK's text for failures only


def test_a_response_hook_without_our_request_hook_is_ignored(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    (end,) = otel_event_hooks(provider)["response"]
    end(response_event(request_event("http://127.0.0.1:9/x"), 200))
    assert not exporter.get_finished_spans()


def test_a_sampled_out_attempt_costs_nothing_to_end() -> None:
    from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=ALWAYS_OFF, shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    (start,), (end,) = otel_event_hooks(provider).values()
    event = request_event("http://127.0.0.1:9/x")
    start(event)
    assert not event.extensions
    end(response_event(event, 200))
    provider.shutdown()
    assert not exporter.get_finished_spans()


# --------------------------------------------------------------------------- packaging


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )


def test_import_recallrai_never_imports_opentelemetry() -> None:
    done = run_python(
        "import sys, recallrai, recallrai_sync, recallrai.integrations\n"
        "loaded = [m for m in sys.modules if m.startswith('opentelemetry')]\n"
        "assert not loaded, loaded\n"
    )
    assert done.returncode == 0, done.stderr


def test_without_opentelemetry_the_error_names_the_extra() -> None:
    done = run_python(
        "import sys\n"
        "sys.modules['opentelemetry'] = None  # as if it were not installed\n"
        "try:\n"
        "    import recallrai.integrations.otel\n"
        "except ImportError as error:\n"
        "    print(error)\n"
        "else:\n"
        "    raise SystemExit('imported')\n"
    )
    assert done.returncode == 0, done.stderr
    assert "pip install 'recallrai[otel]'" in done.stdout
