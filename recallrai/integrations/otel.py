"""OpenTelemetry tracing of every request, built only on the client's event hooks.

Needs ``pip install 'recallrai[otel]'`` (the OpenTelemetry API only). Spans go to the
tracer provider you pass, else to the global one that your OpenTelemetry SDK set up::

    from recallrai import AsyncRecallrAI, RecallrAI
    from recallrai.integrations.otel import otel_event_hooks

    async with AsyncRecallrAI(event_hooks=otel_event_hooks()) as client:
        await client.get_user("alice_123")

    with RecallrAI(event_hooks=otel_event_hooks(tracer_provider=provider)) as client:
        client.get_user("alice_123")

Each call returns new lists, so your own hooks (plain or async) can join them::

    hooks = otel_event_hooks()
    hooks["response"].append(my_response_hook)
    client = RecallrAI(event_hooks=hooks)

What is recorded, following OpenTelemetry's stable HTTP client semantic conventions:

* one span of kind CLIENT per attempt, retries included, named after the method
  (``"GET"``: the path holds IDs, so it is no low-cardinality route), a child of the
  span current where the call was made (the blocking client's calls too). It starts
  just before the attempt is sent and ends when its answer is in (for a context
  stream: its headers) or it fails. The request carries no ``traceparent`` header:
  hooks see the request, they do not change it;
* ``http.request.method``, ``url.full``, ``server.address``, ``server.port``, and
  from the second attempt on ``http.request.resend_count`` (attempt - 1), all known
  when the span starts; ``http.response.status_code`` when an answer came;
  ``recallrai.attempt`` (from 1) and ``recallrai.max_attempts``;
* status ERROR, with ``error.type``, for an answer of 400 or more (``error.type`` is the
  code, e.g. ``"404"``; no description) and for a failure, whose ``error.type`` is
  the event's ``error_type`` (``timeout``, ``connection``, ``interrupted``,
  ``response_too_large``: see :class:`recallrai.ResponseEvent`) and whose status
  description is the SDK's error text. Other answers leave the status unset;
* a span event ``recallrai.retry`` with ``recallrai.retry.delay`` (seconds) when the
  SDK will retry after this attempt;
* an attempt that ends without an outcome for the hooks (its call was cancelled)
  is ended as ERROR with ``error.type`` ``aborted``, at the
  first of: the SDK dropping the attempt (usually at once), the asyncio task that made
  it finishing (for the blocking client, each call is a task), or that task's next
  request. Its end time is when this is noticed.

Neither the API key nor any header is recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import weakref
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any
from urllib.parse import SplitResult, urlsplit

try:
    from opentelemetry import trace
except ImportError as error:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError(
        "recallrai.integrations.otel needs the OpenTelemetry API: pip install 'recallrai[otel]'"
    ) from error

from .._hooks import RequestEvent, ResponseEvent
from .._version import __version__

__all__ = ["otel_event_hooks"]

# The first semantic conventions release with the HTTP attributes used here marked stable.
_SCHEMA_URL = "https://opentelemetry.io/schemas/1.23.0"

_KNOWN_METHODS = frozenset(
    {"CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "TRACE"}
)
_DEFAULT_PORTS = {"http": 80, "https": 443}
_ABORTED = "aborted"
_instances = itertools.count()


def otel_event_hooks(
    tracer_provider: trace.TracerProvider | None = None,
) -> dict[str, list[Callable[[Any], object]]]:
    """Event hooks that trace each attempt as an OpenTelemetry CLIENT span.

    Pass the result as ``event_hooks=`` to :class:`~recallrai.AsyncRecallrAI` or
    :class:`~recallrai.RecallrAI`; append your own hooks to its lists to combine them.
    ``tracer_provider`` defaults to the global one (looked up as spans start, so it
    may be set up after this call).
    """
    tracer = trace.get_tracer(__name__, __version__, tracer_provider, schema_url=_SCHEMA_URL)
    # Where this set of hooks keeps an attempt's span: two sets on one client (two
    # providers) must not see each other's. The context variable holds the attempt in
    # flight in the current task, which no other attempt can overlap.
    key = f"recallrai.integrations.otel:{next(_instances)}"
    in_flight: ContextVar[_Attempt | None] = ContextVar(key, default=None)

    def start_span(event: RequestEvent) -> None:
        task = _current_task()
        stale = in_flight.get()
        if stale is not None:
            in_flight.set(None)
            if stale.task is task:  # this task's previous attempt never reported: dropped
                stale.abort()  # (a task started meanwhile inherits the variable: not its own)
        method = event.method if event.method in _KNOWN_METHODS else "_OTHER"
        parts = urlsplit(event.url)
        attributes: dict[str, str | int] = {
            "http.request.method": method,
            "url.full": _full_url(parts, event.url),
            "server.address": parts.hostname or "",
            "recallrai.attempt": event.attempt,
            "recallrai.max_attempts": event.max_attempts,
        }
        port = _port(parts)
        if port is not None:
            attributes["server.port"] = port
        if method == "_OTHER":
            attributes["http.request.method_original"] = event.method
        if event.attempt > 1:
            attributes["http.request.resend_count"] = event.attempt - 1
        span = tracer.start_span(
            "HTTP" if method == "_OTHER" else method,
            kind=trace.SpanKind.CLIENT,
            attributes=attributes,
        )
        if not span.is_recording():  # sampled out: nothing to end or fill in
            return
        attempt = _Attempt(span, event, task)
        event.extensions[key] = attempt
        in_flight.set(attempt)

    def end_span(event: ResponseEvent) -> None:
        attempt = event.request.extensions.pop(key, None)
        if attempt is None:  # sampled out, or the request hook was not ours
            return
        if in_flight.get() is attempt:
            in_flight.set(None)
        span = attempt.take()
        if span is None:  # already ended as aborted
            return
        status = event.status_code
        if status is not None:
            span.set_attribute("http.response.status_code", status)
        if event.error is not None:
            span.set_attribute("error.type", event.error_type or "_OTHER")
            span.set_status(trace.Status(trace.StatusCode.ERROR, event.error))
        elif status is not None and not 100 <= status < 400:
            span.set_attribute("error.type", str(status))
            span.set_status(trace.Status(trace.StatusCode.ERROR))
        if event.retry_in is not None:
            span.add_event("recallrai.retry", {"recallrai.retry.delay": event.retry_in})
        span.end()

    return {"request": [start_span], "response": [end_span]}


class _Attempt:
    """The span of one attempt between its two hooks, ended exactly once.

    If the response hook never comes (the call was cancelled, or failed inside the
    attempt without an answer being reported), the span ends as aborted at the first
    of: the SDK dropping the attempt's event, the task that made it finishing, or
    that task starting its next attempt.
    """

    __slots__ = ("_finalizer", "span", "task")

    def __init__(
        self, span: trace.Span, event: RequestEvent, task: asyncio.Task[Any] | None
    ) -> None:
        self.span = span
        # The finalizer holds the span, not the event: it cannot keep the event alive.
        # Calling it, or its detach(), works once: whichever comes first ends the span.
        self._finalizer = weakref.finalize(event, _abort, span)
        self._finalizer.atexit = False
        self.task = task  # until the span ends
        if task is not None:
            task.add_done_callback(self._task_done)

    def _task_done(self, _task: object) -> None:
        self._finalizer()

    def _forget_task(self) -> None:
        if self.task is not None:
            self.task.remove_done_callback(self._task_done)
            self.task = None

    def abort(self) -> None:
        """End the span as aborted, unless it has ended already."""
        self._forget_task()
        self._finalizer()

    def take(self) -> trace.Span | None:
        """The span for the response hook to fill in and end; None if it has ended already."""
        self._forget_task()
        return self.span if self._finalizer.detach() is not None else None


def _current_task() -> asyncio.Task[Any] | None:
    try:
        return asyncio.current_task()
    except RuntimeError:  # no event loop: only when called outside the client
        return None


def _full_url(parts: SplitResult, url: str) -> str:
    """``url``, with any credentials in it replaced (the SDK refuses them in base_url)."""
    if parts.username is None and parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=f"REDACTED:REDACTED@{host}").geturl()


def _port(parts: SplitResult) -> int | None:
    try:
        port = parts.port
    except ValueError:  # not a valid port: leave the attribute out
        return None
    return port if port is not None else _DEFAULT_PORTS.get(parts.scheme)


def _abort(span: trace.Span) -> None:
    """End the span of an attempt that was dropped without an outcome (a finalizer: never raises)."""
    with contextlib.suppress(Exception):
        span.set_attribute("error.type", _ABORTED)
        span.set_status(
            trace.Status(trace.StatusCode.ERROR, "the attempt ended without an outcome")
        )
        span.end()
