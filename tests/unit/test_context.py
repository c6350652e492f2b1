"""ContextStream's batching: events that arrived together cross to the sync
facade in one step, and an error after them waits until they are delivered."""

from __future__ import annotations

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
