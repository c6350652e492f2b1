"""ContextStream's batching: events that arrived together cross to the sync
facade in one step, and an error after them waits until they are delivered."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import respx

from recallrai import AsyncRecallrAI, Context
from recallrai._context import ContextStream
from recallrai.exceptions import MalformedResponseError, StreamError

STREAM_PATH = "/api/v1/users/u1/sessions/s1/context"


def sse(*events: dict[str, Any]) -> bytes:
    return b"".join(b"data: " + json.dumps(event).encode() + b"\n\n" for event in events)


def progress(message: str) -> dict[str, Any]:
    return {"is_final": False, "status_update_message": message}


FINAL = {"is_final": True, "context": "ctx", "status_update_message": None}


async def open_stream(client: AsyncRecallrAI) -> ContextStream:
    user = await client.get_user("u1", validate=False)
    session = await user.get_session("s1", validate=False)
    return session.get_context_stream(include_system_prompt=False)


def stream_route(api: respx.MockRouter, body: bytes) -> None:
    api.get(STREAM_PATH).mock(
        return_value=httpx.Response(
            200, content=body, headers={"Content-Type": "text/event-stream"}
        )
    )


@pytest.mark.anyio
async def test_buffered_events_come_in_one_batch(
    api: respx.MockRouter, new_client: Callable[..., AsyncRecallrAI]
) -> None:
    stream_route(api, b": comment\n\n" + sse(progress("a"), progress("b"), FINAL))
    async with new_client() as client:
        stream = await open_stream(client)
        batch, more = await stream._anext_batch()
        assert [event.status_update_message for event in batch[:2]] == ["a", "b"]
        assert batch[2].is_final and batch[2].context == "ctx"
        assert more is False
        with pytest.raises(StopAsyncIteration):
            await stream._anext_batch()


@pytest.mark.anyio
async def test_an_error_after_buffered_events_is_raised_after_them(
    api: respx.MockRouter, new_client: Callable[..., AsyncRecallrAI]
) -> None:
    failed = {"is_final": True, "error_message": "boom", "status_update_message": None}
    stream_route(api, sse(progress("a"), progress("b"), failed))
    async with new_client() as client:
        stream = await open_stream(client)
        batch, more = await stream._anext_batch()
        assert [event.status_update_message for event in batch] == ["a", "b"]
        assert more is True
        with pytest.raises(StreamError, match="boom"):
            await stream._anext_batch()
        with pytest.raises(StopAsyncIteration):
            await stream.__anext__()


@pytest.mark.anyio
async def test_a_truncated_stream_fails_after_its_events(
    api: respx.MockRouter, new_client: Callable[..., AsyncRecallrAI]
) -> None:
    stream_route(api, sse(progress("a")) + b'data: {"is_fin')
    async with new_client() as client:
        stream = await open_stream(client)
        seen: list[Context] = []
        with pytest.raises(MalformedResponseError):
            while True:
                batch, _ = await stream._anext_batch()
                seen.extend(batch)
        assert [event.status_update_message for event in seen] == ["a"]


# --------------------------------------------------------------------------- system prompt


PROMPTS = {"low_latency": "LOW", "balanced": "BAL", "agentic": "AGENT"}


def prompt_route(api: respx.MockRouter) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        strategy = request.url.params["recall_strategy"]
        return httpx.Response(200, json={"system_prompt": PROMPTS[strategy]})

    api.get("/api/v1/system-prompt").mock(side_effect=answer)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("requested", "metadata", "expected"),
    [
        # No metadata (the docs: only with include_metadata_ids): the requested strategy's prompt.
        ("balanced", None, "BAL"),
        ("low_latency", None, "LOW"),
        ("agentic", None, "AGENT"),
        ("auto", None, "LOW"),
        ("balanced", {}, "BAL"),
        # With metadata, the strategy that ran decides (§5.3.1).
        ("auto", {"recall_strategy_used": "agentic"}, "AGENT"),
        ("auto", {"recall_strategy_used": "low_latency"}, "LOW"),
        ("balanced", {"recall_strategy_used": "balanced"}, "BAL"),
        ("balanced", {"recall_strategy_used": "agentic"}, None),
    ],
)
@pytest.mark.parametrize("streamed", [False, True], ids=["get", "stream"])
async def test_prompt_falls_back_to_the_requested_strategy_without_metadata(
    api: respx.MockRouter,
    new_client: Callable[..., AsyncRecallrAI],
    requested: str,
    metadata: dict[str, Any] | None,
    expected: str | None,
    streamed: bool,
) -> None:
    prompt_route(api)
    final: dict[str, Any] = {"is_final": True, "context": "ctx"}
    if metadata is not None:
        final["metadata"] = metadata
    if streamed:
        stream_route(api, sse(progress("a"), final))
    else:
        api.get(STREAM_PATH).mock(return_value=httpx.Response(200, json=final))
    async with new_client() as client:
        user = await client.get_user("u1", validate=False)
        session = await user.get_session("s1", validate=False)
        if streamed:
            events = [e async for e in session.get_context_stream(recall_strategy=requested)]
            answer = events[-1]
        else:
            answer = await session.get_context(recall_strategy=requested)
    assert answer.context == ("ctx" if expected is None else f"{expected}\n\n\nctx")


@pytest.mark.anyio
async def test_no_prompt_when_not_asked_even_without_metadata(
    api: respx.MockRouter, new_client: Callable[..., AsyncRecallrAI]
) -> None:
    prompts = api.get("/api/v1/system-prompt").mock(
        return_value=httpx.Response(200, json={"system_prompt": "P"})
    )
    api.get(STREAM_PATH).mock(
        return_value=httpx.Response(200, json={"is_final": True, "context": "ctx"})
    )
    async with new_client() as client:
        user = await client.get_user("u1", validate=False)
        session = await user.get_session("s1", validate=False)
        answer = await session.get_context(include_system_prompt=False)
    assert answer.context == "ctx" and not prompts.called


class ChunkedBody:
    """A stream response that delivers ``chunks`` one read at a time."""

    status = 200

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks
        self.headers: dict[str, str] = {}

    async def read_chunk(self) -> bytes:
        return self.chunks.pop(0) if self.chunks else b""

    async def aclose(self) -> None:
        self.chunks = []

    def abort(self) -> None:
        self.chunks = []


def chunked_stream(chunks: list[bytes], max_line_bytes: int = 1 << 20) -> ContextStream:
    from recallrai._context import ContextQuery

    async def opened() -> tuple[ChunkedBody, dict[Any, str]]:
        return ChunkedBody(chunks), {}

    query = ContextQuery.build("balanced", 15, 50, 0.6, 0.5, None, None, None, False, False)
    return ContextStream(opened, query, "GET x", timeout=5.0, max_line_bytes=max_line_bytes)


def split_at(body: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({0, len(body), *(cut % (len(body) + 1) for cut in cuts)})
    return [body[a:b] for a, b in itertools.pairwise(points) if b > a]


def test_events_are_the_same_whatever_the_line_endings_and_chunks() -> None:
    """LF, CRLF and CR each end a line, wherever the body is cut into chunks (a CR cut
    from its LF only adds a blank line, which carries nothing)."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    messages = [f"step {n}" for n in range(3)]
    lines = [
        line
        for message in messages
        for line in (b": keep-alive", b"data: " + json.dumps(progress(message)).encode(), b"")
    ] + [b"data: " + json.dumps(FINAL).encode(), b""]

    @settings(max_examples=200, deadline=None)
    @given(
        endings=st.lists(
            st.sampled_from([b"\n", b"\r\n", b"\r"]), min_size=len(lines), max_size=len(lines)
        ),
        cuts=st.lists(st.integers(min_value=0, max_value=10_000), max_size=6),
    )
    def check(endings: list[bytes], cuts: list[int]) -> None:
        body = b"".join(line + end for line, end in zip(lines, endings, strict=True))

        async def read() -> list[Context]:
            return [event async for event in chunked_stream(split_at(body, cuts))]

        events = asyncio.run(read())
        assert [event.status_update_message for event in events[:-1]] == messages
        assert events[-1].is_final and events[-1].context == "ctx"

    check()


@pytest.mark.anyio
async def test_only_a_line_over_the_cap_fails_the_stream() -> None:
    from recallrai.exceptions import ResponseTooLargeError

    short_lines = sse(*(progress(f"{n:04}") for n in range(40)), FINAL)  # > 1 KiB, short lines
    events = [event async for event in chunked_stream([short_lines], max_line_bytes=1024)]
    assert len(events) == 41
    long_line = b"data: " + json.dumps(progress("x" * 2000)).encode() + b"\n\n"
    for chunks in ([long_line], [long_line[:700], long_line[700:]], [b": a\n" + long_line]):
        with pytest.raises(ResponseTooLargeError, match="a line is longer"):
            [event async for event in chunked_stream(list(chunks), max_line_bytes=1024)]
