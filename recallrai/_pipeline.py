"""The one request pipeline: headers, URL, body, timeout, retries and error mapping."""

from __future__ import annotations

import asyncio
import copy
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import timedelta
from typing import Any

from . import exceptions as exc
from ._deadline import deadline
from ._encoding import decode_json, encode_body, encode_query
from ._errors import (
    NO_CONTEXT,
    ErrorContext,
    error_from_failure,
    error_from_response,
    parse_retry_after,
)
from ._hooks import RequestEvent, ResponseEvent, log_attempt, redact_headers, run_hooks
from ._raw import Exchange, capture, last_answer
from ._transport import RawResponse, StreamResponse, Transport, TransportFailure, read_capped
from ._validation import require_headers, require_retries, require_timeout
from ._version import __version__

__all__ = ["Pipeline"]

logger = logging.getLogger("recallrai")

USER_AGENT = f"recallrai-python/{__version__}"
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
BASE_DELAY = 0.5
MAX_DELAY = 8.0
MAX_RETRY_AFTER = 60.0
DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024
"""Cap of an answer and of one event-stream line: far above the largest legitimate answer
(a 200-memory page with every version is a few MB), far below what hurts a process."""


class Pipeline:
    """Sends API requests for one client and turns responses into JSON data or SDK errors.

    Retries: a request that never reached the server (connect failure) and a 429
    are retried for every method; 5xx answers, timeouts and dropped connections
    only for methods that are safe to repeat. Waits grow exponentially with
    jitter and follow ``Retry-After`` when the server sends it.

    Bounds: ``timeout`` limits each attempt as a whole (connecting, sending,
    the status line, headers and the whole body; for a stream, up to its
    headers), and an answer over ``max_response_bytes`` fails without being
    read further. A call therefore ends within about
    ``(max_retries + 1) * timeout`` plus the backoff waits.

    Options: :meth:`derive` makes a pipeline with another timeout, retry count or
    extra headers over the same transport (``with_options`` and per-call options).
    Observers: every attempt is logged on the ``recallrai`` logger and passed to
    the event hooks; the last attempt of a call is recorded for raw responses.
    """

    def __init__(
        self,
        *,
        api_key: str,
        project_id: str,
        base_url: str,
        timeout: float,
        max_retries: int,
        transport: Transport,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        event_hooks: tuple[tuple[Any, ...], tuple[Any, ...]] | None = None,
    ) -> None:
        self.base_url = base_url
        self.timeout = timeout
        self.max_retries = max_retries
        self.max_response_bytes = max_response_bytes
        self.transport = transport
        self.event_hooks = event_hooks
        self._headers = {
            "X-Recallr-Api-Key": api_key,
            "X-Recallr-Project-Id": project_id,
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        }
        self._stream_headers = {**self._headers, "Accept": "text/event-stream"}
        self.sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

    def __repr__(self) -> str:
        return f"Pipeline(base_url={self.base_url!r})"

    def derive(
        self,
        timeout: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> Pipeline:
        """This pipeline with the given options changed, over the same transport (pool)."""
        derived = copy.copy(self)
        if timeout is not None:
            derived.timeout = require_timeout(timeout)
        if max_retries is not None:
            derived.max_retries = require_retries(max_retries)
        if extra_headers is not None:
            extra = require_headers(extra_headers, "extra_headers")
            derived._headers = _merged(self._headers, extra)
            derived._stream_headers = _merged(self._stream_headers, extra)
        return derived

    def per_call(
        self,
        timeout: float | None,
        max_retries: int | None,
        extra_headers: Mapping[str, str] | None,
    ) -> Pipeline:
        """The pipeline for one call: this one unless the call passed options."""
        if timeout is None and max_retries is None and extra_headers is None:
            return self
        return self.derive(timeout, max_retries, extra_headers)

    def _url(self, path: str, params: Iterable[tuple[str, object]] | str | None) -> str:
        """The URL of ``path`` with ``params`` (pairs, or a query already form-encoded)."""
        query = (
            params if isinstance(params, str) else "" if params is None else encode_query(params)
        )
        return f"{self.base_url}{path}?{query}" if query else f"{self.base_url}{path}"

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return retry_after
        return min(MAX_DELAY, BASE_DELAY * 2.0**attempt) * (0.5 + random.random() / 2)

    def _retry_delay(self, attempt: int, idempotent: bool, outcome: Any) -> float | None:
        """How long to wait before retrying after ``outcome`` (a failure or a response), or None."""
        if attempt >= self.max_retries:
            return None
        if isinstance(outcome, TransportFailure):
            return self._backoff(attempt, None) if not outcome.sent or idempotent else None
        status = outcome.status
        if status == 429 or (status >= 500 and idempotent):
            retry_after = parse_retry_after(outcome.headers)
            if retry_after is None or retry_after <= MAX_RETRY_AFTER:
                return self._backoff(attempt, retry_after)
        return None

    async def _exchange(
        self, method: str, url: str, path: str, body: bytes | None, *, stream: bool
    ) -> Any:
        """Send (retrying as the class says) and return the last :class:`RawResponse` or stream."""
        idempotent = method in IDEMPOTENT_METHODS
        attempt = 0
        while True:
            observed = self.event_hooks is not None or logger.isEnabledFor(logging.INFO)
            event = (
                self._request_event(method, url, path, body, attempt, stream) if observed else None
            )
            if event is not None and self.event_hooks is not None:
                await run_hooks(self.event_hooks[0], event)
            started = time.perf_counter()
            try:  # one try, bounded as a whole (a trickle cannot stretch it); a stream up to its headers
                with deadline(self.timeout):
                    outcome: Any = await (
                        self.transport.open_stream(method, url, self._stream_headers, self.timeout)
                        if stream
                        else self.transport.send(
                            method,
                            url,
                            self._headers,
                            body,
                            self.timeout,
                            max_bytes=self.max_response_bytes,
                        )
                    )
            except TimeoutError:
                outcome = TransportFailure(
                    f"no complete answer within {self.timeout:g} s", sent=True, timed_out=True
                )
            except TransportFailure as failure:
                outcome = failure
            except exc.RecallrAIError as too_large:  # an answer over the size cap: never retried
                if event is not None:
                    await self._observe(event, too_large, started, None)
                raise _located(too_large, method, path) from None
            delay = self._retry_delay(attempt, idempotent, outcome)
            if event is not None:
                await self._observe(event, outcome, started, delay)
            if delay is None:
                if isinstance(outcome, TransportFailure):
                    error = _located(error_from_failure(outcome, f"{method} {path}"), method, path)
                    error.__context__ = outcome  # kept for debugging, not shown as a cause
                    raise error from None
                recording = capture.get()
                if recording is not None:
                    elapsed = timedelta(seconds=time.perf_counter() - started)
                    recording.append(
                        Exchange(method, url, outcome.status, outcome.headers, elapsed, attempt + 1)
                    )
                return outcome
            if stream and not isinstance(outcome, TransportFailure):
                await outcome.aclose()
            attempt += 1
            await self.sleep(delay)

    def _request_event(
        self, method: str, url: str, path: str, body: bytes | None, attempt: int, stream: bool
    ) -> RequestEvent:
        return RequestEvent(
            method=method,
            url=url,
            path=path,
            headers=redact_headers(self._stream_headers if stream else self._headers),
            attempt=attempt + 1,
            max_attempts=self.max_retries + 1,
            body_size=len(body) if body else 0,
        )

    async def _observe(
        self, event: RequestEvent, outcome: Any, started: float, delay: float | None
    ) -> None:
        """Log one finished attempt and pass it to the response hooks."""
        failed = isinstance(outcome, Exception)
        finished = ResponseEvent(
            request=event,
            status_code=None if failed else outcome.status,
            headers={} if failed else outcome.headers,
            elapsed=timedelta(seconds=time.perf_counter() - started),
            error=str(outcome) if failed else None,
            error_type=_failure_type(outcome) if failed else None,
            retry_in=delay,
        )
        if logger.isEnabledFor(logging.INFO):
            log_attempt(finished)
        if self.event_hooks is not None:
            await run_hooks(self.event_hooks[1], finished)

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Iterable[tuple[str, object]] | str | None = None,
        body: Mapping[str, Any] | None = None,
        expect: int = 200,
        context: ErrorContext = NO_CONTEXT,
    ) -> Any:
        """Send one request; return the decoded JSON body (``None`` for 204) or raise."""
        url = self._url(path, params)
        data = encode_body(body) if body is not None else (b"" if method == "POST" else None)
        response: RawResponse = await self._exchange(method, url, path, data, stream=False)
        status = response.status
        if status == expect:
            last_answer.set((method, path, response.headers))
            if status == 204:
                return None
            try:
                return decode_json(response.body)
            except (ValueError, RecursionError):
                error: exc.RecallrAIError = exc.MalformedResponseError(
                    f"{method} {path} answered {status} with a body that is not JSON: {response.body[:200]!r}",
                    http_status=status,
                )
        elif 200 <= status < 300:
            error = exc.MalformedResponseError(
                f"{method} {path} answered {status}, expected {expect}", http_status=status
            )
        else:
            error = error_from_response(status, response.headers, response.body, context)
        raise _located(error, method, path, response.headers)

    async def open_stream(
        self,
        path: str,
        *,
        params: Iterable[tuple[str, object]] | str,
        context: ErrorContext = NO_CONTEXT,
    ) -> StreamResponse:
        """Open a ``GET`` event stream; raise the mapped error if it does not answer 200."""
        url = self._url(path, params)
        stream: StreamResponse = await self._exchange("GET", url, path, None, stream=True)
        if stream.status == 200:
            last_answer.set(("GET", path, stream.headers))
            return stream
        try:
            with deadline(self.timeout):
                body = await read_capped(stream.read_chunk, self.max_response_bytes, stream.status)
        except (TransportFailure, TimeoutError):
            body = b""
        except exc.ResponseTooLargeError as too_large:
            raise _located(too_large, "GET", path, stream.headers) from None
        finally:
            await stream.aclose()
        error = error_from_response(stream.status, stream.headers, body, context)
        raise _located(error, "GET", path, stream.headers)


def _failure_type(failure: Exception) -> str:
    """The class of a failed attempt, for observers: see :attr:`ResponseEvent.error_type`."""
    if isinstance(failure, TransportFailure):
        return "timeout" if failure.timed_out else "interrupted" if failure.sent else "connection"
    if isinstance(failure, exc.ResponseTooLargeError):
        return "response_too_large"
    return type(failure).__name__


def _merged(headers: Mapping[str, str], extra: Mapping[str, str]) -> dict[str, str]:
    """``headers`` with ``extra`` added; an extra header replaces one of the same name in any case."""
    replaced = {name.lower() for name in extra}
    return {
        **{name: value for name, value in headers.items() if name.lower() not in replaced},
        **extra,
    }


def _located(
    error: exc.RecallrAIError, method: str, path: str, headers: Mapping[str, str] | None = None
) -> exc.RecallrAIError:
    """``error`` told which request it comes from and, if there was one, the answer's headers."""
    error.method, error.path, error.headers = method, path, headers
    return error
