"""recallrai.integrations.openai: memory for OpenAI chat completions and the Responses API.

RecallrAI is the emulator over real loopback HTTP (default aiohttp transport); the OpenAI
API is mocked at the HTTP level with respx on a loopback base URL. openai 3.x sends its
requests with httpx2, which respx does not patch, so every OpenAI client here is given a
plain ``httpx`` client (openai accepts one) that respx does see. Both styles: an
``AsyncOpenAI`` with ``AsyncRecallrAI`` and an ``OpenAI`` with the blocking ``RecallrAI``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
import respx
from openai import AsyncOpenAI, AsyncStream, OpenAI, Stream
from openai.types.chat import ChatCompletion
from openai.types.responses import Response

from recallrai import AsyncRecallrAI, AsyncSession, AsyncUser, RecallrAI, Session, User
from recallrai.emulator import Emulator
from recallrai.exceptions import InternalServerError, ValidationError
from recallrai.integrations.openai import (
    AsyncMemoryOpenAI,
    MemoryOpenAI,
    RecallOptions,
    with_memory,
)

MODEL_URL = "http://127.0.0.1:9/v1"  # nothing listens there: respx answers, or the call fails
DOCS_PAGE = Path(__file__).resolve().parents[2] / "docs" / "integrations" / "openai.md"
LOGGER = "recallrai.integrations.openai"
MEMORY = "I live in Paris"  # what the seeded user's earlier session left in memory
PROMPT_MARK = "RecallrAI emulator"  # in the emulator's system prompt, at the head of a context
QUESTION = "Where do I live?"
REPLY = "You live in Paris, as far as I remember."


# --------------------------------------------------------------------------- the mocked model


def _sse(events: Sequence[tuple[str | None, dict[str, Any]]], done: bool) -> bytes:
    lines = []
    for name, data in events:
        head = f"event: {name}\n" if name else ""
        lines.append(f"{head}data: {json.dumps(data)}\n\n")
    if done:
        lines.append("data: [DONE]\n\n")
    return "".join(lines).encode()


def _pieces(text: str) -> list[str]:
    """The reply cut into stream deltas (words, keeping their spaces)."""
    return re.findall(r"\S+\s*", text)


def _completion(text: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "gpt-test",
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "logprobs": None,
                "message": {"role": "assistant", "content": text, "refusal": None},
            }
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }


def _chunks(text: str, finish: bool) -> list[dict[str, Any]]:
    def chunk(delta: dict[str, Any], reason: str | None = None) -> dict[str, Any]:
        return {
            "id": "chatcmpl-1",
            "object": "chat.completion.chunk",
            "created": 1700000000,
            "model": "gpt-test",
            "choices": [{"index": 0, "delta": delta, "finish_reason": reason, "logprobs": None}],
        }

    chunks = [chunk({"role": "assistant", "content": ""})]
    chunks += [chunk({"content": piece}) for piece in _pieces(text)]
    if finish:
        chunks.append(chunk({}, "stop"))
    return chunks


def _response(text: str, status: str = "completed") -> dict[str, Any]:
    output = (
        [
            {
                "type": "message",
                "id": "msg_1",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": text, "annotations": []}],
            }
        ]
        if text
        else []
    )
    return {
        "id": "resp_1",
        "object": "response",
        "created_at": 1700000000,
        "status": status,
        "model": "gpt-test",
        "output": output,
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "metadata": {},
        "temperature": 1.0,
        "top_p": 1.0,
    }


def _response_events(text: str, finish: bool) -> list[dict[str, Any]]:
    """A streamed Responses API answer: created, the output item, deltas, completed."""
    item = {"type": "message", "id": "msg_1", "status": "in_progress", "role": "assistant"}
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": _response("", "in_progress")},
        {"type": "response.in_progress", "response": _response("", "in_progress")},
        {"type": "response.output_item.added", "output_index": 0, "item": {**item, "content": []}},
        {
            "type": "response.content_part.added",
            "item_id": "msg_1",
            "output_index": 0,
            "content_index": 0,
            "part": {"type": "output_text", "text": "", "annotations": []},
        },
    ]
    part = {"item_id": "msg_1", "output_index": 0, "content_index": 0}
    events += [
        {"type": "response.output_text.delta", **part, "delta": piece, "logprobs": []}
        for piece in _pieces(text)
    ]
    if finish:
        events += [
            {"type": "response.output_text.done", **part, "text": text, "logprobs": []},
            {"type": "response.completed", "response": _response(text)},
        ]
    return [{**event, "sequence_number": number} for number, event in enumerate(events)]


class ModelAPI:
    """The mocked OpenAI API: what the model answers, and the requests it got."""

    def __init__(self, router: respx.Router) -> None:
        self.reply = REPLY
        self.finish = True  # False: streams end (cleanly) without their finish marker
        self.chat = router.post("/chat/completions").mock(side_effect=self._chat)
        self.responses = router.post("/responses").mock(side_effect=self._responses)

    def _chat(self, request: httpx.Request) -> httpx.Response:
        if json.loads(request.content).get("stream"):
            events = [(None, chunk) for chunk in _chunks(self.reply, self.finish)]
            return _stream_response(_sse(events, done=self.finish))
        return httpx.Response(200, json=_completion(self.reply))

    def _responses(self, request: httpx.Request) -> httpx.Response:
        if json.loads(request.content).get("stream"):
            events = _response_events(self.reply, self.finish)
            return _stream_response(_sse([(e["type"], e) for e in events], done=False))
        return httpx.Response(200, json=_response(self.reply))

    @staticmethod
    def bodies(route: respx.Route) -> list[dict[str, Any]]:
        return [json.loads(call.request.content) for call in route.calls]

    def chat_messages(self) -> list[dict[str, Any]]:
        """The messages of the last chat request."""
        messages: list[dict[str, Any]] = self.bodies(self.chat)[-1]["messages"]
        return messages


def _stream_response(body: bytes) -> httpx.Response:
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)


@pytest.fixture
def model_api() -> Iterator[ModelAPI]:
    with respx.mock(base_url=MODEL_URL, assert_all_called=False) as router:
        yield ModelAPI(router)


def legacy_http(style: str) -> dict[str, Any]:
    """OpenAI client arguments: the mocked URL, and a plain httpx client, which respx patches
    (openai 3.x sends with httpx2 by default, which respx does not see; it accepts an httpx one)."""
    http_client = httpx.Client() if style == "sync" else httpx.AsyncClient()
    return {
        "api_key": "sk-test",
        "base_url": MODEL_URL,
        "max_retries": 0,
        "http_client": http_client,
    }


@pytest.fixture
def sync_openai(model_api: ModelAPI) -> Iterator[OpenAI]:
    with OpenAI(**legacy_http("sync")) as client:
        yield client


@pytest.fixture
async def async_openai(model_api: ModelAPI) -> AsyncIterator[AsyncOpenAI]:
    async with AsyncOpenAI(**legacy_http("async")) as client:
        yield client


# --------------------------------------------------------------------------- RecallrAI side


async def aseeded_user(client: AsyncRecallrAI, emulator: Emulator, user_id: str) -> AsyncUser:
    """A user whose earlier, processed session left the memory ``MEMORY``."""
    user = await client.create_user(user_id)
    earlier = await user.create_session()
    await earlier.add_message("user", f"{MEMORY}.")
    await earlier.process()
    emulator.settle()
    return user


def seeded_user(client: RecallrAI, emulator: Emulator, user_id: str) -> User:
    """A user whose earlier, processed session left the memory ``MEMORY``."""
    user = client.create_user(user_id)
    earlier = user.create_session()
    earlier.add_message("user", f"{MEMORY}.")
    earlier.process()
    emulator.settle()
    return user


async def amessages(session: AsyncSession) -> list[tuple[str, str]]:
    return [(m.role.value, m.content) async for m in session.get_messages()]


def messages(session: Session) -> list[tuple[str, str]]:
    return [(m.role.value, m.content) for m in session.get_messages()]


def session_path(session: AsyncSession | Session, tail: str) -> str:
    return f"/api/v1/users/{session.user_id}/sessions/{session.session_id}/{tail}"


def adds(emulator: Emulator) -> int:
    """How many add-message requests the emulator received."""
    return sum(r.raw_path.endswith("/add-message") for r in emulator.requests)


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelno == logging.WARNING
    ]


SYSTEM = {"role": "system", "content": "You are a concise assistant."}


def assert_chat_context(sent: list[dict[str, Any]], question: str = QUESTION) -> None:
    """The user's system prompt first, then the context as a system message, then the chat."""
    assert sent[0] == SYSTEM
    assert sent[1]["role"] == "system"
    assert PROMPT_MARK in sent[1]["content"] and MEMORY in sent[1]["content"]
    assert sent[2:] == [{"role": "user", "content": question}]


# =========================================================================== async


@pytest.mark.anyio
async def test_async_chat_injects_context_and_records_both_messages(
    async_client: AsyncRecallrAI,
    recallrai_emulator: Emulator,
    async_openai: AsyncOpenAI,
    model_api: ModelAPI,
) -> None:
    user = await aseeded_user(async_client, recallrai_emulator, "alice")
    session = await user.create_session()
    client = with_memory(async_openai, session)
    request = [SYSTEM, {"role": "user", "content": QUESTION}]

    completion = await client.chat.completions.create(model="gpt-test", messages=request)

    assert type(completion) is ChatCompletion
    assert completion.model_dump(exclude_unset=True) == _completion(REPLY)
    assert_chat_context(model_api.chat_messages())
    assert request == [SYSTEM, {"role": "user", "content": QUESTION}]  # the caller's list
    assert await amessages(session) == [("user", QUESTION), ("assistant", REPLY)]
    assert client.memory.session is session


@pytest.mark.anyio
async def test_async_chat_stream_yields_chunks_unchanged_and_records_the_reply_once_whole(
    async_client: AsyncRecallrAI,
    recallrai_emulator: Emulator,
    async_openai: AsyncOpenAI,
    model_api: ModelAPI,
) -> None:
    user = await aseeded_user(async_client, recallrai_emulator, "alice")
    session = await user.create_session()
    client = with_memory(async_openai, session)
    plain = await async_openai.chat.completions.create(
        model="gpt-test", messages=[{"role": "user", "content": "x"}], stream=True
    )
    expected = [chunk.model_dump() async for chunk in plain]

    stream = await client.chat.completions.create(
        model="gpt-test", messages=[SYSTEM, {"role": "user", "content": QUESTION}], stream=True
    )
    assert type(stream) is AsyncStream
    assert_chat_context(model_api.chat_messages())
    first = await stream.__anext__()
    got = [first.model_dump()]
    assert await amessages(session) == [("user", QUESTION)]  # nothing before the end
    got += [chunk.model_dump() async for chunk in stream]

    assert got == expected
    assert await amessages(session) == [("user", QUESTION), ("assistant", REPLY)]
    assert adds(recallrai_emulator) == 3  # the seed's message, the question, the reply once


@pytest.mark.anyio
async def test_async_stream_left_early_or_cut_records_no_reply(
    async_client: AsyncRecallrAI, async_openai: AsyncOpenAI, model_api: ModelAPI
) -> None:
    user = await async_client.create_user("bob")
    session = await user.create_session()
    client = with_memory(async_openai, session)

    stream = await client.chat.completions.create(
        model="gpt-test", messages=[{"role": "user", "content": "one"}], stream=True
    )
    async with stream:
        async for _ in stream:
            break
    events = await client.responses.create(model="gpt-test", input="two", stream=True)
    async with events:
        async for event in events:
            if event.type == "response.output_text.delta":
                break
    model_api.finish = False  # both streams end cleanly, without their finish marker
    for kind in ("chat", "responses"):
        if kind == "chat":
            cut: Any = await client.chat.completions.create(
                model="gpt-test", messages=[{"role": "user", "content": "three"}], stream=True
            )
        else:
            cut = await client.responses.create(model="gpt-test", input="four", stream=True)
        assert len([item async for item in cut]) > 1

    assert await amessages(session) == [
        ("user", "one"),
        ("user", "two"),
        ("user", "three"),
        ("user", "four"),
    ]


@pytest.mark.anyio
async def test_async_responses_put_context_into_instructions_and_record_both_messages(
    async_client: AsyncRecallrAI,
    recallrai_emulator: Emulator,
    async_openai: AsyncOpenAI,
    model_api: ModelAPI,
) -> None:
    user = await aseeded_user(async_client, recallrai_emulator, "alice")
    session = await user.create_session()
    client = with_memory(async_openai, session)

    response = await client.responses.create(
        model="gpt-test", instructions="Answer briefly.", input=QUESTION
    )

    assert type(response) is Response
    assert response.output_text == REPLY
    sent = model_api.bodies(model_api.responses)[-1]
    assert sent["input"] == QUESTION
    head, context = sent["instructions"].split("\n\n", 1)
    assert head == "Answer briefly."
    assert PROMPT_MARK in context and MEMORY in context
    assert await amessages(session) == [("user", QUESTION), ("assistant", REPLY)]


@pytest.mark.anyio
async def test_async_responses_stream_records_the_reply_once_whole(
    async_client: AsyncRecallrAI,
    recallrai_emulator: Emulator,
    async_openai: AsyncOpenAI,
    model_api: ModelAPI,
) -> None:
    user = await aseeded_user(async_client, recallrai_emulator, "alice")
    session = await user.create_session()
    client = with_memory(async_openai, session)
    question = [{"role": "user", "content": [{"type": "input_text", "text": QUESTION}]}]

    stream = await client.responses.create(model="gpt-test", input=question, stream=True)
    assert type(stream) is AsyncStream
    types, deltas = [], []
    async for event in stream:
        types.append(event.type)
        if event.type == "response.output_text.delta":
            deltas.append(event.delta)
            assert await amessages(session) == [("user", QUESTION)]

    assert types == [e["type"] for e in _response_events(REPLY, finish=True)]
    assert "".join(deltas) == REPLY
    sent = model_api.bodies(model_api.responses)[-1]
    assert sent["input"] == question and MEMORY in sent["instructions"]
    assert await amessages(session) == [("user", QUESTION), ("assistant", REPLY)]
    assert adds(recallrai_emulator) == 3


@pytest.mark.anyio
async def test_async_fail_open_calls_the_model_and_warns(
    async_client: AsyncRecallrAI,
    recallrai_emulator: Emulator,
    async_openai: AsyncOpenAI,
    model_api: ModelAPI,
    caplog: pytest.LogCaptureFixture,
) -> None:
    emu = recallrai_emulator
    user = await aseeded_user(async_client, emu, "alice")
    session = await user.create_session()
    client = with_memory(async_openai, session)
    caplog.set_level(logging.WARNING, LOGGER)

    emu.inject_fault(503, path_prefix=session_path(session, "context"))
    completion = await client.chat.completions.create(
        model="gpt-test", messages=[SYSTEM, {"role": "user", "content": "first"}]
    )
    assert completion.choices[0].message.content == REPLY
    assert model_api.chat_messages() == [SYSTEM, {"role": "user", "content": "first"}]
    (warning,) = warnings_of(caplog)
    assert "fetching the context" in warning and "InternalServerError" in warning

    emu.inject_fault(503, path_prefix=session_path(session, "add-message"), times=2)
    stream = await client.responses.create(model="gpt-test", input="second", stream=True)
    assert "".join([e.delta async for e in stream if e.type == "response.output_text.delta"])
    assert MEMORY in model_api.bodies(model_api.responses)[-1]["instructions"]
    assert [w.split(",")[0] for w in warnings_of(caplog)[1:]] == [
        "RecallrAI failed recording the user message",
        "RecallrAI failed recording the assistant reply",
    ]
    assert await amessages(session) == [("user", "first"), ("assistant", REPLY)]


@pytest.mark.anyio
async def test_async_strict_raises_the_recallrai_error(
    async_client: AsyncRecallrAI,
    recallrai_emulator: Emulator,
    async_openai: AsyncOpenAI,
    model_api: ModelAPI,
) -> None:
    emu = recallrai_emulator
    user = await async_client.create_user("carol")
    session = await user.create_session()
    client = with_memory(async_openai, session, strict=True)

    emu.inject_fault(503, path_prefix=session_path(session, "context"))
    with pytest.raises(InternalServerError):
        await client.chat.completions.create(
            model="gpt-test", messages=[{"role": "user", "content": "one"}]
        )
    emu.inject_fault(503, path_prefix=session_path(session, "add-message"))
    with pytest.raises(InternalServerError):
        await client.responses.create(model="gpt-test", input="two")
    assert model_api.chat.call_count == model_api.responses.call_count == 0

    stream = await client.chat.completions.create(
        model="gpt-test", messages=[{"role": "user", "content": "three"}], stream=True
    )
    emu.inject_fault(503, path_prefix=session_path(session, "add-message"))
    with pytest.raises(InternalServerError):
        async for _ in stream:
            pass
    assert await amessages(session) == [("user", "one"), ("user", "three")]


@pytest.mark.anyio
async def test_async_model_errors_propagate_and_the_user_message_stays(
    async_client: AsyncRecallrAI, async_openai: AsyncOpenAI, model_api: ModelAPI
) -> None:
    user = await async_client.create_user("dave")
    session = await user.create_session()
    client = with_memory(async_openai, session)
    model_api.chat.side_effect = None
    model_api.chat.return_value = httpx.Response(500, json={"error": {"message": "boom"}})

    with pytest.raises(openai.InternalServerError):
        await client.chat.completions.create(
            model="gpt-test", messages=[{"role": "user", "content": "hello"}]
        )
    assert await amessages(session) == [("user", "hello")]


@pytest.mark.anyio
async def test_async_user_wrapper_opens_its_session_on_demand(
    async_client: AsyncRecallrAI,
    recallrai_emulator: Emulator,
    async_openai: AsyncOpenAI,
    model_api: ModelAPI,
) -> None:
    user = await aseeded_user(async_client, recallrai_emulator, "erin")
    client = with_memory(
        async_openai, user, auto_process_after_seconds=900, session_metadata={"channel": "web"}
    )
    assert client.memory.session is None and client.memory.user is user
    before = (await user.list_sessions()).total

    await asyncio.gather(  # concurrent first calls share one new session
        client.chat.completions.create(
            model="gpt-test", messages=[{"role": "user", "content": "a"}]
        ),
        client.responses.create(model="gpt-test", input="b"),
    )
    first = client.memory.session
    assert first is not None and (await user.list_sessions()).total == before + 1
    assert first.metadata == {"channel": "web"} and first.auto_process_after_seconds == 900
    assert sorted(await amessages(first)) == sorted(
        [("user", "a"), ("user", "b"), ("assistant", REPLY), ("assistant", REPLY)]
    )
    assert all(MEMORY in b["instructions"] for b in model_api.bodies(model_api.responses))

    await client.memory.process()  # the conversation ends: the next call opens a new session
    assert client.memory.session is None
    await client.responses.create(model="gpt-test", input="c")
    second = client.memory.session
    assert second is not None and second.session_id != first.session_id
    assert await amessages(second) == [("user", "c"), ("assistant", REPLY)]

    recallrai_emulator.advance_clock(901)  # processed by the service while idle
    await client.responses.create(model="gpt-test", input="d")
    third = client.memory.session
    assert third is not None and third.session_id != second.session_id
    assert await amessages(third) == [("user", "d"), ("assistant", REPLY)]
    assert (await user.list_sessions()).total == before + 3


# =========================================================================== blocking


def test_sync_chat_injects_context_and_records_both_messages(
    sync_client: RecallrAI, recallrai_emulator: Emulator, sync_openai: OpenAI, model_api: ModelAPI
) -> None:
    session = seeded_user(sync_client, recallrai_emulator, "alice").create_session()
    client = with_memory(sync_openai, session)
    request = [SYSTEM, {"role": "user", "content": QUESTION}]

    completion = client.chat.completions.create(model="gpt-test", messages=request)

    assert type(completion) is ChatCompletion
    assert completion.model_dump(exclude_unset=True) == _completion(REPLY)
    assert_chat_context(model_api.chat_messages())
    assert request == [SYSTEM, {"role": "user", "content": QUESTION}]
    assert messages(session) == [("user", QUESTION), ("assistant", REPLY)]
    assert client.memory.session is session


def test_sync_chat_stream_yields_chunks_unchanged_and_records_the_reply_once_whole(
    sync_client: RecallrAI, recallrai_emulator: Emulator, sync_openai: OpenAI, model_api: ModelAPI
) -> None:
    session = seeded_user(sync_client, recallrai_emulator, "alice").create_session()
    client = with_memory(sync_openai, session)
    plain = sync_openai.chat.completions.create(
        model="gpt-test", messages=[{"role": "user", "content": "x"}], stream=True
    )
    expected = [chunk.model_dump() for chunk in plain]

    stream = client.chat.completions.create(
        model="gpt-test", messages=[SYSTEM, {"role": "user", "content": QUESTION}], stream=True
    )
    assert type(stream) is Stream
    assert_chat_context(model_api.chat_messages())
    got = [next(stream).model_dump()]
    assert messages(session) == [("user", QUESTION)]
    got += [chunk.model_dump() for chunk in stream]

    assert got == expected
    assert messages(session) == [("user", QUESTION), ("assistant", REPLY)]
    assert adds(recallrai_emulator) == 3


def test_sync_stream_left_early_or_cut_records_no_reply(
    sync_client: RecallrAI, sync_openai: OpenAI, model_api: ModelAPI
) -> None:
    session = sync_client.create_user("bob").create_session()
    client = with_memory(sync_openai, session)

    with client.chat.completions.create(
        model="gpt-test", messages=[{"role": "user", "content": "one"}], stream=True
    ) as stream:
        next(iter(stream))
    with client.responses.create(model="gpt-test", input="two", stream=True) as events:
        for event in events:
            if event.type == "response.output_text.delta":
                break
    model_api.finish = False
    cut_chat = client.chat.completions.create(
        model="gpt-test", messages=[{"role": "user", "content": "three"}], stream=True
    )
    assert len(list(cut_chat)) > 1
    assert len(list(client.responses.create(model="gpt-test", input="four", stream=True))) > 1

    assert messages(session) == [
        ("user", "one"),
        ("user", "two"),
        ("user", "three"),
        ("user", "four"),
    ]


def test_sync_responses_put_context_into_instructions_and_record_both_messages(
    sync_client: RecallrAI, recallrai_emulator: Emulator, sync_openai: OpenAI, model_api: ModelAPI
) -> None:
    session = seeded_user(sync_client, recallrai_emulator, "alice").create_session()
    client = with_memory(sync_openai, session)

    response = client.responses.create(
        model="gpt-test", instructions="Answer briefly.", input=QUESTION
    )

    assert type(response) is Response
    assert response.output_text == REPLY
    sent = model_api.bodies(model_api.responses)[-1]
    head, context = sent["instructions"].split("\n\n", 1)
    assert head == "Answer briefly." and PROMPT_MARK in context and MEMORY in context
    assert messages(session) == [("user", QUESTION), ("assistant", REPLY)]


def test_sync_responses_stream_records_the_reply_once_whole(
    sync_client: RecallrAI, recallrai_emulator: Emulator, sync_openai: OpenAI, model_api: ModelAPI
) -> None:
    session = seeded_user(sync_client, recallrai_emulator, "alice").create_session()
    client = with_memory(sync_openai, session)
    question = [{"role": "user", "content": [{"type": "input_text", "text": QUESTION}]}]

    stream = client.responses.create(model="gpt-test", input=question, stream=True)
    assert type(stream) is Stream
    types, deltas = [], []
    for event in stream:
        types.append(event.type)
        if event.type == "response.output_text.delta":
            deltas.append(event.delta)
            assert messages(session) == [("user", QUESTION)]

    assert types == [e["type"] for e in _response_events(REPLY, finish=True)]
    assert "".join(deltas) == REPLY
    assert MEMORY in model_api.bodies(model_api.responses)[-1]["instructions"]
    assert messages(session) == [("user", QUESTION), ("assistant", REPLY)]
    assert adds(recallrai_emulator) == 3


def test_sync_fail_open_calls_the_model_and_warns(
    sync_client: RecallrAI,
    recallrai_emulator: Emulator,
    sync_openai: OpenAI,
    model_api: ModelAPI,
    caplog: pytest.LogCaptureFixture,
) -> None:
    emu = recallrai_emulator
    session = seeded_user(sync_client, emu, "alice").create_session()
    client = with_memory(sync_openai, session)
    caplog.set_level(logging.WARNING, LOGGER)

    emu.inject_fault(503, path_prefix=session_path(session, "context"))
    completion = client.chat.completions.create(
        model="gpt-test", messages=[SYSTEM, {"role": "user", "content": "first"}]
    )
    assert completion.choices[0].message.content == REPLY
    assert model_api.chat_messages() == [SYSTEM, {"role": "user", "content": "first"}]
    (warning,) = warnings_of(caplog)
    assert "fetching the context" in warning and "InternalServerError" in warning

    emu.inject_fault(503, path_prefix=session_path(session, "add-message"), times=2)
    stream = client.chat.completions.create(
        model="gpt-test", messages=[{"role": "user", "content": "second"}], stream=True
    )
    assert "".join(c.choices[0].delta.content or "" for c in stream) == REPLY
    assert MEMORY in model_api.chat_messages()[0]["content"]
    assert [w.split(",")[0] for w in warnings_of(caplog)[1:]] == [
        "RecallrAI failed recording the user message",
        "RecallrAI failed recording the assistant reply",
    ]
    assert messages(session) == [("user", "first"), ("assistant", REPLY)]


def test_sync_strict_raises_the_recallrai_error(
    sync_client: RecallrAI, recallrai_emulator: Emulator, sync_openai: OpenAI, model_api: ModelAPI
) -> None:
    emu = recallrai_emulator
    session = sync_client.create_user("carol").create_session()
    client = with_memory(sync_openai, session, strict=True)

    emu.inject_fault(503, path_prefix=session_path(session, "context"))
    with pytest.raises(InternalServerError):
        client.chat.completions.create(
            model="gpt-test", messages=[{"role": "user", "content": "one"}]
        )
    emu.inject_fault(503, path_prefix=session_path(session, "add-message"))
    with pytest.raises(InternalServerError):
        client.responses.create(model="gpt-test", input="two")
    assert model_api.chat.call_count == model_api.responses.call_count == 0

    stream = client.responses.create(model="gpt-test", input="three", stream=True)
    emu.inject_fault(503, path_prefix=session_path(session, "add-message"))
    with pytest.raises(InternalServerError):
        list(stream)
    assert messages(session) == [("user", "one"), ("user", "three")]


def test_sync_model_errors_propagate_and_the_user_message_stays(
    sync_client: RecallrAI, sync_openai: OpenAI, model_api: ModelAPI
) -> None:
    session = sync_client.create_user("dave").create_session()
    client = with_memory(sync_openai, session)
    model_api.responses.side_effect = None
    model_api.responses.return_value = httpx.Response(500, json={"error": {"message": "boom"}})

    with pytest.raises(openai.InternalServerError):
        client.responses.create(model="gpt-test", input="hello")
    assert messages(session) == [("user", "hello")]


def test_sync_user_wrapper_opens_its_session_on_demand(
    sync_client: RecallrAI, recallrai_emulator: Emulator, sync_openai: OpenAI, model_api: ModelAPI
) -> None:
    user = seeded_user(sync_client, recallrai_emulator, "erin")
    client = with_memory(sync_openai, user, session_metadata={"channel": "cli"})
    assert client.memory.session is None and client.memory.user is user
    before = user.list_sessions().total

    client.chat.completions.create(model="gpt-test", messages=[{"role": "user", "content": "a"}])
    client.chat.completions.create(
        model="gpt-test",
        messages=[
            {"role": "user", "content": "a"},
            {"role": "assistant", "content": REPLY},
            {"role": "user", "content": "b"},
        ],
    )
    first = client.memory.session
    assert first is not None and user.list_sessions().total == before + 1
    assert first.metadata == {"channel": "cli"} and first.auto_process_after_seconds == 600
    assert messages(first) == [
        ("user", "a"),
        ("assistant", REPLY),
        ("user", "b"),
        ("assistant", REPLY),
    ]
    assert all(MEMORY in b["messages"][0]["content"] for b in model_api.bodies(model_api.chat))

    client.memory.process()
    client.responses.create(model="gpt-test", input="c")
    second = client.memory.session
    assert second is not None and second.session_id != first.session_id
    assert messages(second) == [("user", "c"), ("assistant", REPLY)]

    recallrai_emulator.advance_clock(601)
    client.responses.create(model="gpt-test", input="d")
    third = client.memory.session
    assert third is not None and third.session_id != second.session_id
    assert messages(third) == [("user", "d"), ("assistant", REPLY)]


# =========================================================================== rules


@pytest.mark.parametrize(
    ("kind", "request_", "recorded"),
    [
        pytest.param(
            "chat",
            {
                "messages": [
                    {"role": "developer", "content": "Be brief."},
                    {
                        "role": "user",
                        "content": [
                            {"type": "text", "text": "Look at this."},
                            {"type": "image_url", "image_url": {"url": "https://x/y.png"}},
                            {"type": "text", "text": "What is it?"},
                        ],
                    },
                ]
            },
            [("user", "Look at this.\nWhat is it?"), ("assistant", REPLY)],
            id="chat-text-parts",
        ),
        pytest.param(
            "chat",
            {
                "messages": [
                    {"role": "user", "content": "Weather in Paris?"},
                    {
                        "role": "assistant",
                        "content": None,
                        "tool_calls": [
                            {
                                "id": "call_1",
                                "type": "function",
                                "function": {"name": "weather", "arguments": "{}"},
                            }
                        ],
                    },
                    {"role": "tool", "tool_call_id": "call_1", "content": "Sunny"},
                ]
            },
            [("assistant", REPLY)],
            id="chat-ending-with-a-tool-result",
        ),
        pytest.param(
            "chat",
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [{"type": "image_url", "image_url": {"url": "https://x"}}],
                    }
                ]
            },
            [("assistant", REPLY)],
            id="chat-without-text",
        ),
        pytest.param(
            "responses",
            {
                "input": [
                    {"role": "user", "content": "Weather in Paris?"},
                    {"type": "function_call_output", "call_id": "call_1", "output": "Sunny"},
                ]
            },
            [("assistant", REPLY)],
            id="responses-ending-with-a-tool-result",
        ),
        pytest.param(
            "responses",
            {
                "input": [
                    {"type": "message", "role": "assistant", "content": "Hi"},
                    {
                        "type": "message",
                        "role": "user",
                        "content": [
                            {"type": "input_text", "text": "Read this"},
                            {"type": "input_file", "file_id": "file_1"},
                        ],
                    },
                ]
            },
            [("user", "Read this"), ("assistant", REPLY)],
            id="responses-message-items",
        ),
    ],
)
def test_which_messages_are_recorded(
    sync_client: RecallrAI,
    sync_openai: OpenAI,
    model_api: ModelAPI,
    kind: str,
    request_: dict[str, Any],
    recorded: list[tuple[str, str]],
) -> None:
    session = sync_client.create_user("rules").create_session()
    client = with_memory(sync_openai, session, context_role="developer")
    if kind == "chat":
        client.chat.completions.create(model="gpt-test", **request_)
        sent = model_api.chat_messages()
        leading = 1 if request_["messages"][0]["role"] == "developer" else 0
        assert sent[leading]["role"] == "developer" and PROMPT_MARK in sent[leading]["content"]
        assert sent[:leading] + sent[leading + 1 :] == request_["messages"]
    else:
        client.responses.create(model="gpt-test", **request_)
        body = model_api.bodies(model_api.responses)[-1]
        assert body["input"] == request_["input"] and PROMPT_MARK in body["instructions"]
    assert messages(session) == recorded


def test_messages_given_as_a_generator_are_read_once(
    sync_client: RecallrAI, sync_openai: OpenAI, model_api: ModelAPI
) -> None:
    session = sync_client.create_user("gen").create_session()
    client = with_memory(sync_openai, session)
    client.chat.completions.create(
        model="gpt-test", messages=(m for m in [SYSTEM, {"role": "user", "content": "hi"}])
    )
    client.responses.create(
        model="gpt-test", input=(m for m in [{"role": "user", "content": "yo"}])
    )
    sent = model_api.chat_messages()
    assert [m["role"] for m in sent] == ["system", "system", "user"] and sent[2]["content"] == "hi"
    assert model_api.bodies(model_api.responses)[-1]["input"] == [{"role": "user", "content": "yo"}]
    assert messages(session) == [
        ("user", "hi"),
        ("assistant", REPLY),
        ("user", "yo"),
        ("assistant", REPLY),
    ]


def test_tool_calls_and_empty_replies_record_no_assistant_message(
    sync_client: RecallrAI, sync_openai: OpenAI, model_api: ModelAPI
) -> None:
    session = sync_client.create_user("tools").create_session()
    client = with_memory(sync_openai, session)
    model_api.reply = ""
    client.responses.create(model="gpt-test", input="Call the tool.")
    client.chat.completions.create(
        model="gpt-test", messages=[{"role": "user", "content": "Again."}], stream=True
    ).close()
    assert (
        len(
            list(
                client.chat.completions.create(
                    model="gpt-test",
                    messages=[{"role": "user", "content": "Stream it."}],
                    stream=True,
                )
            )
        )
        == 2
    )
    assert messages(session) == [
        ("user", "Call the tool."),
        ("user", "Again."),
        ("user", "Stream it."),
    ]


def test_recall_options_reach_the_context_request(
    sync_client: RecallrAI, recallrai_emulator: Emulator, sync_openai: OpenAI, model_api: ModelAPI
) -> None:
    session = sync_client.create_user("opts").create_session()
    options = RecallOptions(
        recall_strategy="low_latency",
        min_top_k=5,
        max_top_k=10,
        memories_threshold=0.3,
        summaries_threshold=0.4,
        last_n_messages=3,
        last_n_summaries=2,
        timezone="Europe/Paris",
        include_system_prompt=False,
    )
    client = with_memory(sync_openai, session, recall=options)
    client.responses.create(model="gpt-test", input="hello")
    (query,) = [
        r.query_string for r in recallrai_emulator.requests if r.raw_path.endswith("/context")
    ]
    for part in (
        "recall_strategy=low_latency",
        "min_top_k=5",
        "max_top_k=10",
        "memories_threshold=0.3",
        "summaries_threshold=0.4",
        "last_n_messages=3",
        "last_n_summaries=2",
        "timezone=Europe%2FParis",
    ):
        assert part in query.split("&"), (part, query)
    instructions = model_api.bodies(model_api.responses)[-1]["instructions"]
    assert PROMPT_MARK not in instructions and "user: hello" in instructions

    with pytest.raises(ValidationError, match="min_top_k"):
        RecallOptions(min_top_k=60)
    with pytest.raises(ValidationError, match="auto_process_after_seconds"):
        with_memory(sync_openai, session, auto_process_after_seconds=10)
    with pytest.raises(ValidationError, match="context_role"):
        with_memory(sync_openai, session, context_role="user")  # type: ignore[call-overload]


@pytest.mark.anyio
async def test_the_wrapper_is_the_openai_client_except_where_memory_goes(
    async_client: AsyncRecallrAI, async_openai: AsyncOpenAI, model_api: ModelAPI
) -> None:
    session = await (await async_client.create_user("proxy")).create_session()
    client = with_memory(async_openai, session)
    assert isinstance(client, AsyncMemoryOpenAI)
    assert client.unwrapped is async_openai
    assert client.models is async_openai.models and client.base_url == async_openai.base_url
    assert client.chat.completions.retrieve == async_openai.chat.completions.retrieve
    for resource, name in [
        (client.chat.completions, "parse"),
        (client.chat.completions, "stream"),
        (client.responses, "with_raw_response"),
        (client.responses, "with_streaming_response"),
    ]:
        with pytest.raises(NotImplementedError, match=f"{name} has no RecallrAI memory"):
            getattr(resource, name)

    timed = client.with_options(timeout=5)
    assert isinstance(timed, AsyncMemoryOpenAI) and timed.memory is client.memory
    assert timed.unwrapped.timeout == 5
    await timed.responses.create(model="gpt-test", input="hi")
    assert await amessages(session) == [("user", "hi"), ("assistant", REPLY)]


def test_the_client_and_the_session_must_be_of_one_style(
    sync_client: RecallrAI, sync_openai: OpenAI
) -> None:
    session = sync_client.create_user("styles").create_session()
    async_session = session._async  # the async twin behind the blocking session
    with pytest.raises(TypeError, match="blocking recallrai Session or User"):
        with_memory(sync_openai, async_session)  # type: ignore[call-overload]
    aclient = AsyncOpenAI(**legacy_http("async"))
    try:
        with pytest.raises(TypeError, match="AsyncSession or AsyncUser"):
            with_memory(aclient, session)  # type: ignore[call-overload]
    finally:
        asyncio.run(aclient.close())
    with pytest.raises(TypeError, match=r"openai\.OpenAI or AsyncOpenAI"):
        with_memory(object(), session)  # type: ignore[call-overload]
    assert isinstance(with_memory(sync_openai, session), MemoryOpenAI)


# =========================================================================== packaging


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )


def test_import_recallrai_never_imports_openai() -> None:
    done = run_python(
        "import sys, recallrai, recallrai_sync, recallrai.integrations\n"
        "loaded = [m for m in sys.modules if m == 'openai' or m.startswith('openai.')]\n"
        "assert not loaded, loaded\n"
    )
    assert done.returncode == 0, done.stderr


def test_without_openai_the_error_names_the_extra() -> None:
    done = run_python(
        "import sys\n"
        "sys.modules['openai'] = None  # as if it were not installed\n"
        "try:\n"
        "    import recallrai.integrations.openai\n"
        "except ImportError as error:\n"
        "    print(error)\n"
        "else:\n"
        "    raise SystemExit('imported')\n"
    )
    assert done.returncode == 0, done.stderr
    assert "pip install 'recallrai[openai]'" in done.stdout


# ======================================================================== docs page


def readme_blocks() -> list[str]:
    """The ``python integration`` examples of the OpenAI docs page."""
    text = DOCS_PAGE.read_text(encoding="utf-8")
    return re.findall(r"```python integration\n(.*?)```", text, re.DOTALL)


def test_readme_openai_examples_run(
    recallrai_emulator: Emulator,
    model_api: ModelAPI,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The section's examples run in order (the service processes sessions in between); every
    model request carries the context, every turn is recorded, the later ones recall the first."""
    blocks = readme_blocks()
    assert len(blocks) >= 2
    emu = recallrai_emulator
    monkeypatch.setenv("RECALLRAI_API_KEY", emu.api_key)
    monkeypatch.setenv("RECALLRAI_PROJECT_ID", emu.project_id)
    monkeypatch.setenv("RECALLRAI_BASE_URL", emu.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-readme")
    monkeypatch.setenv("OPENAI_BASE_URL", MODEL_URL)

    class MockedOpenAI(OpenAI):
        """OpenAI on a plain httpx client, which respx mocks (openai 3.x uses httpx2)."""

        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**{"http_client": legacy_http("sync")["http_client"], **kwargs})

    class MockedAsyncOpenAI(AsyncOpenAI):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**{"http_client": legacy_http("async")["http_client"], **kwargs})

    monkeypatch.setattr(openai, "OpenAI", MockedOpenAI)
    monkeypatch.setattr(openai, "AsyncOpenAI", MockedAsyncOpenAI)
    namespace: dict[str, Any] = {"__name__": "__readme__"}
    contexts: list[list[str]] = []
    for number, block in enumerate(blocks, start=1):
        routes = [(route, len(route.calls)) for route in (model_api.chat, model_api.responses)]
        exec(compile(block, f"<docs/integrations/openai.md block {number}>", "exec"), namespace)
        emu.settle()
        contexts.append(
            [_context_of(body) for route, sent in routes for body in model_api.bodies(route)[sent:]]
        )

    assert all(contexts) and all(PROMPT_MARK in c for block in contexts for c in block)
    assert all("love hiking" in c for block in contexts[1:] for c in block)
    assert any(b.get("stream") for b in model_api.bodies(model_api.chat))
    assert any(b.get("stream") for b in model_api.bodies(model_api.responses))
    with RecallrAI(emu.api_key, emu.project_id, base_url=emu.base_url) as admin:
        sessions = admin.get_user("olivia").list_sessions(limit=100).sessions
        recorded = [messages(s) for s in sessions]
    assert len(recorded) == len(blocks)
    for conversation in recorded:
        assert [role for role, _ in conversation] == ["user", "assistant"] * 2, conversation
        assert all(text == REPLY for role, text in conversation if role == "assistant")
    assert REPLY in capsys.readouterr().out


def _context_of(body: dict[str, Any]) -> str:
    """The context a model request carries: Responses instructions, or the chat's second
    system message (after the example's own)."""
    if "instructions" in body:
        instructions: str = body["instructions"]
        return instructions
    content: str = body["messages"][1]["content"]
    return content
