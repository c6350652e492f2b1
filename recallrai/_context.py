"""Context requests: parameters, the system-prompt cache, and the streamed-context iterator.

PROTOCOL.md §5.3. The caller's ``include_system_prompt`` is handled here: the
prompt is fetched once per strategy and client (cached for an hour, one fetch
for concurrent first calls), the server is always asked with
``include_system_prompt=false``, and the prompt is prepended to the final
context.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections import deque
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, ParamSpec, cast

import attrs

from . import exceptions as exc
from ._converter import structure
from ._deadline import deadline
from ._encoding import api_path, decode_json, encode_query
from ._errors import error_from_failure
from ._models import Context, RecallStrategy
from ._pipeline import Pipeline
from ._raw import locate_malformed
from ._transport import StreamResponse, TransportFailure
from ._validation import require_bool, require_enum, require_float, require_int, require_text

P = ParamSpec("P")

__all__ = ["ContextQuery", "ContextStream", "SystemPromptCache", "context_query"]

PROMPT_TTL = 3600.0
PROMPT_SEPARATOR = "\n\n\n"

# After the final event, the rest of a stream's body (normally only its end) is read for up to
# this long and this many bytes, so that its connection goes back to the pool; past either,
# the connection is dropped.
TAIL_SECONDS = 0.25
TAIL_BYTES = 64 * 1024

# The prompts a requested strategy needs (§5.3.1).
_PROMPTS_NEEDED = {
    RecallStrategy.LOW_LATENCY: (RecallStrategy.LOW_LATENCY,),
    RecallStrategy.BALANCED: (RecallStrategy.BALANCED,),
    RecallStrategy.AGENTIC: (RecallStrategy.AGENTIC,),
    RecallStrategy.AUTO: (RecallStrategy.LOW_LATENCY, RecallStrategy.AGENTIC),
}


class SystemPromptCache:
    """System prompts per strategy for one client, each kept for an hour; failures are not kept."""

    def __init__(self, pipeline: Pipeline) -> None:
        self._pipeline = pipeline
        self._entries: dict[RecallStrategy, tuple[float, str]] = {}
        self._inflight: dict[RecallStrategy, asyncio.Future[str]] = {}

    def forget_inflight(self) -> None:
        """Drop fetches running on another event loop (a forked child's copy of its parent's)."""
        self._inflight = {}

    async def get(self, strategy: RecallStrategy) -> str:
        """The prompt for ``strategy``; concurrent first calls share one request."""
        entry = self._entries.get(strategy)
        if entry is not None and time.monotonic() - entry[0] < PROMPT_TTL:
            return entry[1]
        future = self._inflight.get(strategy)
        if future is None:
            future = asyncio.ensure_future(self._fetch(strategy))
            self._inflight[strategy] = future
            future.add_done_callback(lambda _: self._inflight.pop(strategy, None))
        return await asyncio.shield(future)

    async def _fetch(self, strategy: RecallStrategy) -> str:
        data = await self._pipeline.request(
            "GET", api_path("system-prompt"), params=(("recall_strategy", strategy),)
        )
        prompt = structure(
            data.get("system_prompt") if isinstance(data, dict) else None,
            str,
            "system prompt",
        )
        self._entries[strategy] = (time.monotonic(), prompt)
        return prompt

    async def for_request(self, requested: RecallStrategy) -> dict[RecallStrategy, str]:
        """Every prompt a context request with ``requested`` may prepend, fetched concurrently."""
        needed = _PROMPTS_NEEDED[requested]
        prompts = await asyncio.gather(*(self.get(strategy) for strategy in needed))
        return dict(zip(needed, prompts, strict=True))


def _require_timezone(value: object) -> str:
    name = require_text(value, "timezone")
    import zoneinfo  # on first use: a tz database lookup, not an import-time cost

    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        if zoneinfo.available_timezones():  # without a tz database, leave the check to the server
            raise exc.ValidationError(f"timezone must be an IANA name, got {name!r}") from None
    return name


@attrs.frozen(cache_hash=True)
class ContextQuery:
    """The validated parameters of a context request.

    Assistants ask for context with the same parameters turn after turn, so a
    repeated query is checked and form-encoded once (:func:`context_query`,
    :meth:`encoded`).
    """

    recall_strategy: RecallStrategy
    min_top_k: int
    max_top_k: int
    memories_threshold: float
    summaries_threshold: float
    last_n_messages: int | None
    last_n_summaries: int | None
    timezone: str | None
    include_system_prompt: bool
    include_metadata_ids: bool

    @classmethod
    def build(
        cls,
        recall_strategy: RecallStrategy | str,
        min_top_k: int,
        max_top_k: int,
        memories_threshold: float,
        summaries_threshold: float,
        last_n_messages: int | None,
        last_n_summaries: int | None,
        timezone: str | None,
        include_system_prompt: bool,
        include_metadata_ids: bool,
    ) -> ContextQuery:
        """Check every documented range (§5.3.2) before anything is sent."""
        min_k = require_int(min_top_k, "min_top_k", 5, 50)
        max_k = require_int(max_top_k, "max_top_k", 10, 100)
        if min_k > max_k:
            raise exc.ValidationError(f"min_top_k ({min_k}) must not exceed max_top_k ({max_k})")
        return cls(
            recall_strategy=require_enum(recall_strategy, RecallStrategy, "recall_strategy"),
            min_top_k=min_k,
            max_top_k=max_k,
            memories_threshold=require_float(memories_threshold, "memories_threshold", 0.2, 0.8),
            summaries_threshold=require_float(summaries_threshold, "summaries_threshold", 0.2, 0.8),
            last_n_messages=None
            if last_n_messages is None
            else require_int(last_n_messages, "last_n_messages", 1, 100),
            last_n_summaries=None
            if last_n_summaries is None
            else require_int(last_n_summaries, "last_n_summaries", 1, 20),
            timezone=None if timezone is None else _require_timezone(timezone),
            include_system_prompt=bool(
                require_bool(include_system_prompt, "include_system_prompt")
            ),
            include_metadata_ids=bool(require_bool(include_metadata_ids, "include_metadata_ids")),
        )

    def encoded(self, *, stream: bool) -> str:
        """:meth:`params`, form-encoded."""
        return _encoded_query(self, stream)

    def params(self, *, stream: bool) -> list[tuple[str, object]]:
        """Query parameters in the protocol's order; the server never adds the prompt itself."""
        params: list[tuple[str, object]] = [
            ("recall_strategy", self.recall_strategy),
            ("min_top_k", self.min_top_k),
            ("max_top_k", self.max_top_k),
            ("memories_threshold", self.memories_threshold),
            ("summaries_threshold", self.summaries_threshold),
            ("include_system_prompt", False),
            ("include_metadata_ids", self.include_metadata_ids),
        ]
        if stream:
            params.append(("stream", True))
        params += [
            ("last_n_messages", self.last_n_messages),
            ("last_n_summaries", self.last_n_summaries),
            ("timezone", self.timezone),
        ]
        return params

    def with_prompt(self, context: Context, prompts: dict[RecallStrategy, str]) -> Context:
        """``context`` with the system prompt prepended, as §5.3.1 selects it.

        An answer that does not say which strategy ran (no ``metadata``) gets the
        prompt of the requested one (``low_latency`` for ``auto``), rather than
        none (§13).
        """
        if not prompts or context.context is None:
            return context
        used = None if context.metadata is None else context.metadata.recall_strategy_used
        if used is RecallStrategy.AGENTIC:
            prompt = prompts.get(RecallStrategy.AGENTIC)
        elif self.recall_strategy is RecallStrategy.AUTO:
            prompt = prompts.get(RecallStrategy.LOW_LATENCY)
        else:
            prompt = prompts.get(self.recall_strategy)
        if prompt is None:
            return context
        return attrs.evolve(context, context=prompt + PROMPT_SEPARATOR + context.context)


def _checked_once(build: Callable[P, ContextQuery]) -> Callable[P, ContextQuery]:
    """``build`` with its queries cached: the same arguments, of the same types (``True``
    is not ``1``), give the same query, checked once."""
    cached = cast("Callable[P, ContextQuery]", functools.lru_cache(maxsize=64, typed=True)(build))

    @functools.wraps(build)
    def checked(*args: P.args, **kwargs: P.kwargs) -> ContextQuery:
        try:
            return cached(*args, **kwargs)
        except TypeError:  # an unhashable argument: let the checks say what is wrong with it
            return build(*args, **kwargs)

    return checked


context_query = _checked_once(ContextQuery.build)
"""The query of a context request, checked (or refused) before anything is sent."""
_encoded_query = functools.lru_cache(maxsize=128)(
    lambda query, stream: encode_query(query.params(stream=stream))
)


async def _read_rest(response: StreamResponse, seconds: float) -> None:
    """Read (and ignore) the rest of a body, within ``seconds`` and ``TAIL_BYTES``."""
    received = 0
    with deadline(seconds):
        while received <= TAIL_BYTES and (chunk := await response.read_chunk()):
            received += len(chunk)


def parse_context(data: Any) -> Context:
    """A context answer or stream event from its JSON."""
    return structure(data, Context, "context")


class ContextStream:
    """The events of a streamed context request, as they arrive (an async iterator).

    The request is sent on the first ``__anext__``. The final event is the last
    one yielded; a final event carrying ``error_message`` raises
    :class:`~recallrai.exceptions.StreamError`, as does a stream that ends without
    a final event. Leaving the loop early, ``aclose()``, leaving an ``async with``
    block or cancelling the task drops the connection at once::

        async with session.get_context_stream() as stream:
            async for event in stream:
                ...  # progress events, then the final context

    To wait only for the final context, ``await stream.get_final_context()``.

    Each event must arrive within ``timeout`` seconds (comment lines, such as
    keep-alives, do not count as events), and no line may exceed
    ``max_line_bytes``; either failure raises a typed error. Lines are split in
    time linear in the bytes received.

    The final event is handed out at once; the end of the body, which normally
    follows it, is read on the next step (or ``aclose()``) so that the connection
    serves the next request. A body that goes on after the final event is left
    after 0.25 s or 64 KiB, its connection dropped.
    """

    def __init__(
        self,
        open_stream: Callable[[], Awaitable[tuple[StreamResponse, dict[RecallStrategy, str]]]],
        query: ContextQuery,
        what: str,
        *,
        timeout: float,
        max_line_bytes: int,
    ) -> None:
        self._open_stream = open_stream
        self._query = query
        self._what = what
        self._timeout = timeout
        self._max_line_bytes = max_line_bytes
        self._response: StreamResponse | None = None
        self._prompts: dict[RecallStrategy, str] = {}
        self._pending = bytearray()  # the bytes of a line whose end has not arrived yet
        self._lines: deque[bytes] = deque()
        self._finished = False
        self._complete = False  # the final event was received
        self._deferred: BaseException | None = None
        self._final: Context | None = None

    def __aiter__(self) -> ContextStream:
        return self

    async def __anext__(self) -> Context:
        if self._deferred is not None:
            error, self._deferred = self._deferred, None
            raise error
        if self._finished:
            await self.aclose()  # after the final event: the rest of the body, then the pool
            raise StopAsyncIteration
        try:
            if self._response is None:
                await self._open()
            # An event already received needs no read, so no timer (most events of a chunk).
            event = self._buffered_event()
            try:
                if event is None:
                    with deadline(self._timeout):
                        event = await self._next_event()
            except TimeoutError:
                raise exc.TimeoutError(
                    f"{self._what}: no event within {self._timeout:g} s"
                ) from None
        except BaseException:
            await self.aclose()
            raise
        if event is None:
            await self.aclose()
            raise exc.StreamError(f"{self._what}: the stream ended before its final event")
        if event.is_final:
            # The connection is released on the next call or ``aclose()``, once the end of
            # the body has been read: the final event is handed out without waiting for it.
            self._finished = self._complete = True
            if event.error_message is not None:
                await self.aclose()
                raise exc.StreamError(
                    f"{self._what}: {event.error_message}", detail=event.error_message
                )
            self._final = self._query.with_prompt(event, self._prompts)
            return self._final
        return event

    async def _open(self) -> None:
        """Send the request (``with_raw_response`` opens a stream before it is iterated)."""
        if self._response is None and not self._finished:
            try:
                self._response, self._prompts = await self._open_stream()
            except BaseException:
                await self.aclose()
                raise

    async def get_final_context(self) -> Context:
        """Consume the rest of the stream and return its final context.

        It raises exactly what iterating would (``StreamError`` for a final
        event carrying an error or a stream that ends without one, timeouts,
        transport errors). Called after the stream was iterated to its end, it
        returns the final context again; after the stream was closed early, it
        raises ``StreamError``.
        """
        async for _ in self:
            pass
        return self._final_context()

    def _final_context(self) -> Context:
        """The final context of a finished stream (the sync facade's ``get_final_context``)."""
        if self._final is None:
            raise exc.StreamError(f"{self._what}: the stream was closed before its final event")
        return self._final

    async def _anext_batch(self) -> tuple[list[Context], bool]:
        """The next event and every later one already received; and whether more may follow.

        The sync facade calls this so that events which arrived in one chunk
        cross to the caller's thread in one hand-off rather than one each, and
        a finished stream needs no further call. An error met after the first
        event is kept for the next call, so the events before it are delivered
        first, as with ``async for``.
        """
        events = [await self.__anext__()]
        while not self._finished and self._has_buffered_event():
            try:
                events.append(await self.__anext__())
            except BaseException as error:
                self._deferred = error
                break
        if self._finished and self._deferred is None:
            await self.aclose()  # release the connection before the events cross to the caller
            return events, False
        return events, True

    def _has_buffered_event(self) -> bool:
        """Whether a ``data:`` line is already buffered, so the next event needs no read."""
        return any(line.startswith(b"data:") and line[5:].strip() for line in self._lines)

    def _buffered_event(self) -> Context | None:
        """The next event among the lines already received, if there is one."""
        while self._lines:
            line = self._lines.popleft()
            if not line.startswith(b"data:"):
                continue  # event:, id:, retry:, comments and blank lines carry nothing for us
            payload = line[5:].strip()
            if not payload:
                continue
            try:
                data = decode_json(payload)
            except (ValueError, RecursionError):
                raise locate_malformed(
                    exc.MalformedResponseError(
                        f"{self._what}: an event is not JSON: {payload[:200]!r}"
                    )
                ) from None
            return parse_context(data)
        return None

    async def _next_event(self) -> Context | None:
        """The next ``data:`` payload as a context event, ``None`` at the end of the body."""
        assert self._response is not None
        while True:
            event = self._buffered_event()
            if event is not None:
                return event
            try:
                chunk = await self._response.read_chunk()
            except TransportFailure as failure:
                raise error_from_failure(failure, self._what) from None
            if not chunk:
                if self._pending:
                    self._lines.append(bytes(self._pending))
                    self._pending.clear()
                    continue
                return None
            if b"\n" not in chunk and b"\r" not in chunk:  # the middle of a long line
                self._pending += chunk
                self._check_line(len(self._pending))
                continue
            data = bytes(self._pending) + chunk if self._pending else chunk
            # LF, CRLF and CR all end a line (as for ``bytes.splitlines``); a CR split from its
            # LF only adds a blank line.
            lines = data.splitlines()
            self._pending = bytearray() if data.endswith((b"\n", b"\r")) else bytearray(lines.pop())
            if len(data) > self._max_line_bytes:  # else no line can be too long
                self._check_line(max(len(self._pending), *map(len, lines)))
            self._lines.extend(lines)

    def _check_line(self, size: int) -> None:
        if size > self._max_line_bytes:
            self._pending.clear()
            self._lines.clear()
            raise exc.ResponseTooLargeError(
                f"{self._what}: a line is longer than max_response_bytes"
                f" ({self._max_line_bytes:,} bytes)",
                200,
            )

    async def aclose(self) -> None:
        """Stop the stream and release its connection. Idempotent.

        After the final event, the rest of the body (normally only its end) is read
        first, for up to 0.25 s and 64 KiB, so that the connection can serve the
        next request; before it, or past those bounds, the connection is dropped.
        """
        self._finished = True
        response, self._response = self._response, None
        if response is None:
            return
        try:
            if self._complete:
                with contextlib.suppress(TimeoutError, TransportFailure):
                    await _read_rest(response, min(self._timeout, TAIL_SECONDS))
        finally:
            await response.aclose()

    async def __aenter__(self) -> ContextStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __del__(self) -> None:
        response = getattr(self, "_response", None)
        if response is not None:
            response.abort()
