"""The one request pipeline: headers, URL, body, timeout, retries and error mapping."""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from . import exceptions as exc
from ._deadline import deadline
from ._encoding import encode_body, encode_query
from ._errors import (
    NO_CONTEXT,
    ErrorContext,
    error_from_failure,
    error_from_response,
    parse_retry_after,
)
from ._transport import RawResponse, StreamResponse, Transport, TransportFailure, read_capped
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
    ) -> None:
        self.base_url = base_url
        self.timeout = timeout
        self.max_retries = max_retries
        self.max_response_bytes = max_response_bytes
        self.transport = transport
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

    def _url(self, path: str, params: Iterable[tuple[str, object]] | None) -> str:
        query = encode_query(params) if params is not None else ""
        return f"{self.base_url}{path}?{query}" if query else f"{self.base_url}{path}"

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return retry_after
        return min(MAX_DELAY, BASE_DELAY * 2.0**attempt) * (0.5 + random.random() / 2)

    async def _attempt(self, method: str, url: str, body: bytes | None, *, stream: bool) -> Any:
        """One try, bounded as a whole by the timeout (a slow trickle cannot stretch it)."""
        try:
            async with deadline(self.timeout):
                if stream:
                    return await self.transport.open_stream(
                        method, url, self._stream_headers, self.timeout
                    )
                return await self.transport.send(
                    method,
                    url,
                    self._headers,
                    body,
                    self.timeout,
                    max_bytes=self.max_response_bytes,
                )
        except TimeoutError:
            raise TransportFailure(
                f"no complete answer within {self.timeout:g} s", sent=True, timed_out=True
            ) from None

    async def _exchange(
        self, method: str, url: str, path: str, body: bytes | None, *, stream: bool
    ) -> Any:
        """Send (retrying as the class says) and return the last :class:`RawResponse` or stream."""
        idempotent = method in IDEMPOTENT_METHODS
        attempt = 0
        while True:
            try:
                response: Any = await self._attempt(method, url, body, stream=stream)
            except TransportFailure as failure:
                if attempt < self.max_retries and (not failure.sent or idempotent):
                    delay = self._backoff(attempt, None)
                    logger.info(
                        "%s %s failed (%s); retrying in %.2f s", method, path, failure, delay
                    )
                    attempt += 1
                    await self.sleep(delay)
                    continue
                raise error_from_failure(failure, f"{method} {path}") from None
            status = response.status
            if (status == 429 or (status >= 500 and idempotent)) and attempt < self.max_retries:
                retry_after = parse_retry_after(response.headers)
                if retry_after is None or retry_after <= MAX_RETRY_AFTER:
                    delay = self._backoff(attempt, retry_after)
                    logger.info(
                        "%s %s answered %d; retrying in %.2f s", method, path, status, delay
                    )
                    if stream:
                        await response.aclose()
                    attempt += 1
                    await self.sleep(delay)
                    continue
            return response

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Iterable[tuple[str, object]] | None = None,
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
            if status == 204:
                return None
            try:
                return json.loads(response.body)
            except (ValueError, RecursionError):
                raise exc.MalformedResponseError(
                    f"{method} {path} answered {status} with a body that is not JSON: {response.body[:200]!r}",
                    http_status=status,
                ) from None
        if 200 <= status < 300:
            raise exc.MalformedResponseError(
                f"{method} {path} answered {status}, expected {expect}", http_status=status
            )
        raise error_from_response(status, response.headers, response.body, context)

    async def open_stream(
        self,
        path: str,
        *,
        params: Iterable[tuple[str, object]],
        context: ErrorContext = NO_CONTEXT,
    ) -> StreamResponse:
        """Open a ``GET`` event stream; raise the mapped error if it does not answer 200."""
        url = self._url(path, params)
        stream: StreamResponse = await self._exchange("GET", url, path, None, stream=True)
        if stream.status == 200:
            return stream
        try:
            async with deadline(self.timeout):
                body = await read_capped(stream.read_chunk, self.max_response_bytes, stream.status)
        except (TransportFailure, TimeoutError):
            body = b""
        finally:
            await stream.aclose()
        raise error_from_response(stream.status, stream.headers, body, context)
