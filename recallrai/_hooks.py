"""What the pipeline tells observers about each attempt: event hooks and the ``recallrai`` log.

Hooks are the one extension point (metrics, tracing: see ``recallrai.integrations.otel``).
A request hook runs just before an attempt is sent, a response hook once it has
an answer or has failed; both run for every attempt, retries included, and may be
plain functions or coroutine functions. Headers they see have the API key redacted.
"""

from __future__ import annotations

import inspect
import logging
import os
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any

import attrs

from .exceptions import ValidationError

__all__ = [
    "EventHooks",
    "RequestEvent",
    "ResponseEvent",
    "check_event_hooks",
    "configure_logging_from_env",
    "redact_headers",
]

logger = logging.getLogger("recallrai")

API_KEY_HEADER = "X-Recallr-Api-Key"
REDACTED = "<redacted>"


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """A copy of ``headers`` with the API key replaced (matched by name, any case)."""
    return {
        name: REDACTED if name.lower() == "x-recallr-api-key" else value
        for name, value in headers.items()
    }


@attrs.define(eq=False)
class RequestEvent:
    """One attempt about to be sent.

    ``url`` is the full URL with its percent-encoded path and query, ``attempt``
    counts from 1 (2 is the first retry), ``max_attempts`` is ``max_retries + 1``.
    ``extensions`` is free for hooks to keep state between the request and the
    response hook of one attempt (a span, a start time).
    """

    method: str
    url: str
    path: str
    headers: Mapping[str, str]
    attempt: int
    max_attempts: int
    body_size: int
    extensions: dict[str, Any] = attrs.field(factory=dict)


@attrs.define(eq=False)
class ResponseEvent:
    """How one attempt ended: an HTTP status, or a failure (``status_code`` None).

    A failure has ``error`` (its text) and ``error_type``: ``"connection"`` (not
    connected: refused, unreachable, TLS), ``"timeout"``, ``"interrupted"`` (failed
    once sent: connection dropped, answer cut short) or ``"response_too_large"``.
    ``retry_in`` is the wait before the next attempt when the pipeline will
    retry, else ``None``. For a context stream the attempt ends when the
    stream's headers arrive.
    """

    request: RequestEvent
    status_code: int | None
    headers: Mapping[str, str]
    elapsed: timedelta
    error: str | None = None
    error_type: str | None = None
    retry_in: float | None = None


Hook = Callable[[Any], Awaitable[object] | object]
EventHooks = Mapping[str, Sequence[Hook]]
"""``{"request": [...], "response": [...]}`` (either key may be left out)."""


def check_event_hooks(value: object) -> tuple[tuple[Hook, ...], tuple[Hook, ...]] | None:
    """``(request hooks, response hooks)`` from ``event_hooks=``, or None when there are none."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ValidationError(
            'event_hooks must be a mapping such as {"request": [...], "response": [...]}'
        )
    unknown = set(value) - {"request", "response"}
    if unknown:
        raise ValidationError(
            f"event_hooks keys are 'request' and 'response', not {sorted(map(str, unknown))}"
        )
    found: list[tuple[Hook, ...]] = []
    for kind in ("request", "response"):
        hooks = value.get(kind, ())
        if callable(hooks) or isinstance(hooks, (str, bytes)) or not isinstance(hooks, Sequence):
            raise ValidationError(f"event_hooks[{kind!r}] must be a list of callables")
        if not all(callable(hook) for hook in hooks):
            raise ValidationError(f"event_hooks[{kind!r}] must hold only callables")
        found.append(tuple(hooks))
    return (found[0], found[1]) if found[0] or found[1] else None


async def run_hooks(hooks: Sequence[Hook], event: object) -> None:
    """Call each hook with ``event``, awaiting those that return an awaitable."""
    for hook in hooks:
        result = hook(event)
        if inspect.isawaitable(result):
            await result


def log_attempt(event: ResponseEvent) -> None:
    """The INFO line of one attempt (and its DEBUG details): never the API key."""
    request = event.request
    outcome = str(event.status_code) if event.status_code is not None else f"failed ({event.error})"
    decision = "" if event.retry_in is None else f"; retrying in {event.retry_in:.2f} s"
    logger.info(
        "%s %s -> %s in %.1f ms (attempt %d of %d)%s",
        request.method,
        request.path,
        outcome,
        event.elapsed.total_seconds() * 1000,
        request.attempt,
        request.max_attempts,
        decision,
    )
    if logger.isEnabledFor(logging.DEBUG):
        query = request.url.partition("?")[2]
        logger.debug(
            "%s %s: query %d bytes, body %d bytes, response headers %s",
            request.method,
            request.path,
            len(query),
            request.body_size,
            redact_headers(event.headers),
        )


_LEVELS = {"info": logging.INFO, "debug": logging.DEBUG}
_configured = False


def configure_logging_from_env() -> None:
    """``RECALLRAI_LOG=info|debug``: send the ``recallrai`` log to stderr at that level, once."""
    global _configured
    level = _LEVELS.get(os.environ.get("RECALLRAI_LOG", "").strip().lower())
    if level is None or _configured:
        return
    _configured = True
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("[%(asctime)s %(name)s %(levelname)s] %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(level)
