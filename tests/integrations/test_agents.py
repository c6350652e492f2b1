"""recallrai.integrations.agents: the OpenAI Agents SDK with RecallrAI memory, offline.

RecallrAI is the emulator over real loopback HTTP. The model is ``OpenAIChatCompletionsModel``
on an ``AsyncOpenAI`` client whose base URL is a dead loopback port; its requests are answered
by a respx router. The ``openai`` package installed here (3.x) sends them with ``httpx2``,
which respx does not patch, so the client gets a small ``httpx2`` transport that hands each
request to the router (:class:`RespxTransport`): the router's routes answer (JSON, or a
streamed SSE reply) and record what was sent. The Agents SDK's tracing is disabled for the
whole test process, so nothing tries to export traces.

Both styles: ``await Runner.run`` / ``Runner.run_streamed`` with ``AsyncRecallrAI``, and
``Runner.run_sync`` (or ``asyncio.run`` around ``run_streamed``) with the blocking
``RecallrAI`` from plain sync tests.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

try:  # openai >= 3 sends with httpx2; earlier versions with httpx
    import httpx2
except ImportError:  # pragma: no cover - depends on the installed openai
    httpx2 = httpx  # type: ignore[misc,unused-ignore]
from agents import (
    Agent,
    OpenAIChatCompletionsModel,
    RunContextWrapper,
    Runner,
    function_tool,
    set_tracing_disabled,
)
from agents.items import TResponseInputItem
from agents.memory import Session as AgentsSession
from agents.models import _openai_shared
from openai import AsyncOpenAI
from openai.types.responses import ResponseTextDeltaEvent

from recallrai import AsyncRecallrAI, AsyncSession, RecallrAI, Session
from recallrai.emulator import Emulator
from recallrai.exceptions import (
    ConnectionError,  # noqa: A004 - the SDK's, as its users import it
    InternalServerError,
    InvalidSessionStateError,
    RecallrAIError,
    ValidationError,
)
from recallrai.integrations import agents as adapter
from recallrai.integrations.agents import RecallrAISession, UnsupportedOperationError

MODEL_BASE_URL = "http://127.0.0.1:9/v1"  # nothing listens there: only the router answers
DOCS_PAGE = Path(__file__).resolve().parents[2] / "docs" / "integrations" / "agents.md"
LOGGER = "recallrai.integrations.agents"
MEMORY = "I love sushi."
QUESTION = "Where should I eat tonight?"


@pytest.fixture(scope="module", autouse=True)
def _no_trace_export() -> None:
    """No trace may leave the process (tracing stays off for the rest of the test run)."""
    set_tracing_disabled(True)


# ============================================================================ the mocked model


class RespxTransport(httpx2.AsyncBaseTransport):
    """Hands the OpenAI client's ``httpx2`` requests to a respx router (which speaks ``httpx``)."""

    def __init__(self, router: respx.MockRouter) -> None:
        self.router = router

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        mirrored = httpx.Request(
            request.method,
            str(request.url),
            headers=request.headers.multi_items(),
            content=await request.aread(),
        )
        response = await self.router.async_handler(mirrored)
        if response.is_stream_consumed:
            body: bytes | AsyncIterator[bytes] = response.content
        else:
            body = response.aiter_raw()  # a streamed reply stays streamed, chunk by chunk
        return httpx2.Response(
            response.status_code, headers=response.headers.multi_items(), content=body
        )


class ModelAPI:
    """The mocked Chat Completions API: replies in order, every request body kept.

    A reply is a text, or a ``(tool_name, arguments)`` pair for a tool call. Streamed
    requests get SSE chunks of the text; with ``hold`` set, the stream stops before its
    final chunk until the event is set.
    """

    def __init__(self) -> None:
        self.router = respx.MockRouter(base_url=MODEL_BASE_URL, assert_all_called=False)
        self.route = self.router.post("/chat/completions").mock(side_effect=self._answer)
        self.replies: list[str | tuple[str, dict[str, Any]]] = []
        self.hold: asyncio.Event | None = None

    def client(self) -> AsyncOpenAI:
        transport = RespxTransport(self.router)
        return AsyncOpenAI(
            base_url=MODEL_BASE_URL,
            api_key="sk-test",
            max_retries=0,
            http_client=httpx2.AsyncClient(transport=transport),
        )

    def agent(self, client: AsyncOpenAI, instructions: Any, **options: Any) -> Agent[Any]:
        model = OpenAIChatCompletionsModel(model="gpt-4o", openai_client=client)
        return Agent(name="Assistant", instructions=instructions, model=model, **options)

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(call.request.content) for call in self.route.calls]

    def system(self, index: int = -1) -> str:
        """The system message of a request."""
        first = self.bodies[index]["messages"][0]
        assert first["role"] == "system", first
        return str(first["content"])

    def conversation(self, index: int = -1) -> list[tuple[str, str]]:
        """The (role, text) user and assistant messages of a request."""
        return [
            (m["role"], m["content"])
            for m in self.bodies[index]["messages"]
            if m["role"] in ("user", "assistant") and isinstance(m.get("content"), str)
        ]

    def _answer(self, request: httpx.Request) -> httpx.Response:
        reply = self.replies.pop(0) if self.replies else "OK"
        if json.loads(request.content).get("stream"):
            assert isinstance(reply, str)
            headers = {"content-type": "text/event-stream"}
            return httpx.Response(200, headers=headers, content=self._stream(reply))
        if isinstance(reply, str):
            message: dict[str, Any] = {"role": "assistant", "content": reply}
            finish = "stop"
        else:
            name, arguments = reply
            function = {"name": name, "arguments": json.dumps(arguments)}
            call = {"id": "call_1", "type": "function", "function": function}
            message = {"role": "assistant", "content": None, "tool_calls": [call]}
            finish = "tool_calls"
        return httpx.Response(200, json=completion(message, finish))

    async def _stream(self, text: str) -> AsyncIterator[bytes]:
        words = re.findall(r"\S+\s*", text)
        chunks = [chunk({"role": "assistant", "content": ""})]
        chunks += [chunk({"content": word}) for word in words]
        chunks += [chunk({}, "stop"), b"data: [DONE]\n\n"]
        for index, data in enumerate(chunks):
            if index == len(chunks) - 2 and self.hold is not None:
                await self.hold.wait()
            yield data


def completion(message: dict[str, Any], finish: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-4o",
        "choices": [{"index": 0, "finish_reason": finish, "message": message}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }


def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
    data = {
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "gpt-4o",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(data)}\n\n".encode()


@pytest.fixture
def model() -> ModelAPI:
    return ModelAPI()


class Loops:
    """Default event loops for ``Runner.run_sync``, a fresh one per run, all closed afterwards.

    ``run_sync`` runs on the thread's default loop, keeps it open and shuts its async
    generators down after each run; a second run on that loop then starts new ones (the
    OpenAI client's), which asyncio reports as a ResourceWarning, an error in this suite.
    """

    def __init__(self) -> None:
        self.loops: list[asyncio.AbstractEventLoop] = []

    def fresh(self) -> asyncio.AbstractEventLoop:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self.loops.append(loop)
        return loop

    def run_sync(self, agent: Agent[Any], text: str, memory: RecallrAISession) -> Any:
        self.fresh()
        return Runner.run_sync(agent, text, session=memory)

    def close(self, client: AsyncOpenAI) -> None:
        self.fresh().run_until_complete(client.close())


@pytest.fixture
def loops() -> Iterator[Loops]:
    loops = Loops()
    try:
        yield loops
    finally:
        asyncio.set_event_loop(None)
        for loop in loops.loops:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()


# ============================================================================ RecallrAI side


async def async_remembering(client: AsyncRecallrAI, emu: Emulator) -> AsyncSession:
    """A new session of a user whose earlier session left the memory "I love sushi"."""
    user = await client.create_user("alice")
    earlier = await user.create_session()
    await earlier.add_message("user", MEMORY)
    await earlier.process()
    emu.settle()
    return await user.create_session()


def sync_remembering(client: RecallrAI, emu: Emulator) -> Session:
    user = client.create_user("alice")
    earlier = user.create_session()
    earlier.add_message("user", MEMORY)
    earlier.process()
    emu.settle()
    return user.create_session()


def added(emu: Emulator, session_id: str) -> list[tuple[str, str]]:
    """Every (role, text) message the emulator was asked to add to the session, in order."""
    suffix = f"/sessions/{session_id}/add-message"
    return [
        (r.json()["role"], r.json()["message"])
        for r in emu.requests
        if r.method == "POST" and r.raw_path.endswith(suffix)
    ]


async def async_stored(session: AsyncSession) -> list[tuple[str, str]]:
    return [(m.role.value, m.content) async for m in session.get_messages()]


def sync_stored(session: Session) -> list[tuple[str, str]]:
    return [(m.role.value, m.content) for m in session.get_messages()]


def fault_paths(session_id: str) -> dict[str, str]:
    """The paths of the three calls a run makes: read the history, record, recall."""
    base = f"/api/v1/users/alice/sessions/{session_id}"
    return {
        "history": f"{base}/messages",
        "record": f"{base}/add-message",
        "recall": f"{base}/context",
    }


# One run: the history is read once, the context recalled once, a message recorded twice.
CALLS_PER_RUN = {"history": 1, "record": 2, "recall": 1}


def fail_every_call(emu: Emulator, session_id: str) -> None:
    for call, path in fault_paths(session_id).items():
        emu.inject_fault(503, path_prefix=path, times=CALLS_PER_RUN[call])


# ============================================================================ async style


@pytest.mark.anyio
async def test_async_context_injected_and_turns_recorded(
    async_client: AsyncRecallrAI, recallrai_emulator: Emulator, model: ModelAPI
) -> None:
    session = await async_remembering(async_client, recallrai_emulator)
    memory = RecallrAISession(session)
    assert isinstance(memory, AgentsSession) and memory.session_id == session.session_id
    model.replies = ["Try the sushi bar on Main Street.", "Tomorrow: ramen."]
    async with model.client() as client:
        agent = model.agent(client, memory.instructions("Be brief.", recall_strategy="low_latency"))
        result = await Runner.run(agent, QUESTION, session=memory)
        assert result.final_output == "Try the sushi bar on Main Street."
        system = model.system()
        assert system.startswith("Be brief.\n\n") and "- I love sushi" in system
        assert model.conversation() == [("user", QUESTION)]
        first = [("user", QUESTION), ("assistant", "Try the sushi bar on Main Street.")]
        assert await async_stored(session) == first

        result = await Runner.run(agent, "And tomorrow?", session=memory)  # history from RecallrAI
    assert model.conversation() == [*first, ("user", "And tomorrow?")]
    assert await async_stored(session) == [
        *first,
        ("user", "And tomorrow?"),
        ("assistant", "Tomorrow: ramen."),
    ]
    contexts = [r for r in recallrai_emulator.requests if r.raw_path.endswith("/context")]
    assert len(contexts) == 2 and all(
        "recall_strategy=low_latency" in r.query_string for r in contexts
    )


@pytest.mark.anyio
async def test_async_streamed_reply_recorded_once_whole(
    async_client: AsyncRecallrAI, recallrai_emulator: Emulator, model: ModelAPI
) -> None:
    session = await async_remembering(async_client, recallrai_emulator)
    memory = RecallrAISession(session)
    reply = "Try the sushi bar on Main Street, it opens at six."
    model.replies, model.hold = [reply], asyncio.Event()
    deltas: list[str] = []
    async with model.client() as client:
        agent = model.agent(client, memory.instructions("Be brief."))
        result = Runner.run_streamed(agent, QUESTION, session=memory)
        async for event in result.stream_events():
            if event.type == "raw_response_event" and isinstance(
                event.data, ResponseTextDeltaEvent
            ):
                if not deltas:  # mid-stream: the question is recorded, no partial reply
                    assert added(recallrai_emulator, session.session_id) == [("user", QUESTION)]
                    model.hold.set()
                deltas.append(event.data.delta)
    assert "".join(deltas) == reply and len(deltas) > 3
    assert "- I love sushi" in model.system()
    assert added(recallrai_emulator, session.session_id) == [
        ("user", QUESTION),
        ("assistant", reply),
    ]
    assert await async_stored(session) == [("user", QUESTION), ("assistant", reply)]


@pytest.mark.anyio
async def test_async_fail_open_runs_without_memory(
    async_client: AsyncRecallrAI,
    recallrai_emulator: Emulator,
    model: ModelAPI,
    caplog: pytest.LogCaptureFixture,
) -> None:
    session = await async_remembering(async_client, recallrai_emulator)
    memory = RecallrAISession(session)
    fail_every_call(recallrai_emulator, session.session_id)
    caplog.set_level(logging.WARNING, logger=LOGGER)
    async with model.client() as client:
        agent = model.agent(client, memory.instructions("Be brief."))
        result = await Runner.run(agent, QUESTION, session=memory)
    assert result.final_output == "OK"
    assert model.system() == "Be brief." and model.conversation() == [("user", QUESTION)]
    assert recallrai_emulator.pending_faults == 0  # each call failed, none was retried
    assert await async_stored(session) == []
    warnings = [r.getMessage() for r in caplog.records if r.name == LOGGER]
    assert len(warnings) == 4 and all("InternalServerError" in w for w in warnings), warnings
    assert any("without the conversation's history" in w for w in warnings)
    assert any("without recalled context" in w for w in warnings)
    assert any("1 of 1 message(s) not recorded" in w for w in warnings)


@pytest.mark.anyio
@pytest.mark.parametrize("failing", ["history", "record", "recall"])
async def test_async_strict_raises(
    async_client: AsyncRecallrAI, recallrai_emulator: Emulator, model: ModelAPI, failing: str
) -> None:
    session = await async_remembering(async_client, recallrai_emulator)
    memory = RecallrAISession(session, strict=True)
    assert memory.strict
    path = fault_paths(session.session_id)[failing]
    recallrai_emulator.inject_fault(503, path_prefix=path)
    async with model.client() as client:
        agent = model.agent(client, memory.instructions("Be brief."))
        with pytest.raises(InternalServerError):
            await Runner.run(agent, QUESTION, session=memory)
    assert model.route.call_count == 0  # the model is never asked without its memory


@pytest.mark.anyio
async def test_async_unreachable_recallrai(
    model: ModelAPI, caplog: pytest.LogCaptureFixture
) -> None:
    """A RecallrAI that cannot be reached at all: fail-open runs the agent, strict raises."""
    async with AsyncRecallrAI("rai_x", "p", base_url="http://127.0.0.1:9", max_retries=0) as dead:
        user = await dead.get_user("alice", validate=False)
        session = await user.get_session("s-1", validate=False)
        caplog.set_level(logging.WARNING, logger=LOGGER)
        async with model.client() as client:
            memory = RecallrAISession(session)
            agent = model.agent(client, memory.instructions("Be brief."))
            assert (await Runner.run(agent, QUESTION, session=memory)).final_output == "OK"
            assert model.system() == "Be brief."
            assert len([r for r in caplog.records if r.name == LOGGER]) == 4
            strict = RecallrAISession(session, strict=True)
            with pytest.raises(ConnectionError):
                await Runner.run(
                    model.agent(client, strict.instructions()), QUESTION, session=strict
                )


@pytest.mark.anyio
async def test_async_pop_and_clear_raise(
    async_client: AsyncRecallrAI, recallrai_emulator: Emulator
) -> None:
    session = await async_remembering(async_client, recallrai_emulator)
    await session.add_message("user", "Hello")
    memory = RecallrAISession(session)
    for operation in (memory.pop_item, memory.clear_session):
        with pytest.raises(UnsupportedOperationError, match="cannot remove") as caught:
            await operation()
        assert isinstance(caught.value, NotImplementedError)
        assert isinstance(caught.value, RecallrAIError)
        assert "new RecallrAI session" in str(caught.value)
    assert await memory.get_items() == [{"role": "user", "content": "Hello"}]


@pytest.mark.anyio
async def test_async_tool_items_skipped_and_context_fetched_once_per_run(
    async_client: AsyncRecallrAI, recallrai_emulator: Emulator, model: ModelAPI
) -> None:
    session = await async_remembering(async_client, recallrai_emulator)
    memory = RecallrAISession(session)

    @function_tool
    def opening_hours(place: str) -> str:
        """When a place opens."""
        return f"{place} opens at six"

    async def base(run_context: RunContextWrapper[Any], agent: Agent[Any]) -> str:
        return f"You are {agent.name}."

    model.replies = [("opening_hours", {"place": "Sushi Zen"}), "Sushi Zen, from six."]
    async with model.client() as client:
        agent = model.agent(client, memory.instructions(base), tools=[opening_hours])
        result = await Runner.run(agent, QUESTION, session=memory)
    assert result.final_output == "Sushi Zen, from six."
    assert model.route.call_count == 2
    system = model.system(0)
    assert system == model.system(1)
    assert system.startswith("You are Assistant.\n\n") and "I love sushi" in system
    contexts = [r for r in recallrai_emulator.requests if r.raw_path.endswith("/context")]
    assert len(contexts) == 1  # once per run, reused after the tool call
    assert await async_stored(session) == [
        ("user", QUESTION),
        ("assistant", "Sushi Zen, from six."),
    ]


MIXED_ITEMS: list[Any] = [
    {"role": "system", "content": "You are terse."},
    {"role": "developer", "content": "Never mention prices."},
    {"role": "user", "content": "plain text"},
    {
        "type": "message",
        "role": "user",
        "content": [
            {"type": "input_text", "text": "look at"},
            {"type": "input_image", "image_url": "https://example.invalid/a.png", "detail": "auto"},
            {"type": "input_text", "text": "this"},
        ],
    },
    {
        "role": "user",
        "content": [{"type": "input_image", "image_url": "https://example.invalid/b.png"}],
    },
    {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
    {"type": "function_call_output", "call_id": "c1", "output": "42"},
    {"type": "reasoning", "id": "rs_1", "summary": []},
    {
        "type": "message",
        "id": "msg_1",
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "output_text", "text": "It is 42.", "annotations": []}],
    },
    {
        "type": "message",
        "id": "msg_2",
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "refusal", "refusal": "I cannot help with that."}],
    },
    {"role": "assistant", "content": "   "},
]
MIXED_STORED = [
    ("user", "plain text"),
    ("user", "look at\nthis"),
    ("assistant", "It is 42."),
    ("assistant", "I cannot help with that."),
]


@pytest.mark.anyio
async def test_async_item_mapping_and_limits(
    async_client: AsyncRecallrAI, recallrai_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = await async_client.create_user("alice")
    session = await user.create_session()
    memory = RecallrAISession(session)
    items: list[TResponseInputItem] = MIXED_ITEMS
    await memory.add_items(items)
    await memory.add_items([])
    assert await async_stored(session) == MIXED_STORED
    expected = [{"role": role, "content": text} for role, text in MIXED_STORED]
    assert await memory.get_items() == expected

    monkeypatch.setattr(adapter, "_PAGE_SIZE", 2)  # several pages per read
    assert await memory.get_items() == expected
    assert await memory.get_items(limit=3) == expected[1:]
    assert await memory.get_items(limit=1) == expected[3:]
    assert await memory.get_items(limit=10) == expected
    assert await memory.get_items(limit=0) == []
    try:  # session settings came with later openai-agents releases
        from agents.memory import SessionSettings
    except ImportError:  # pragma: no cover - depends on the installed openai-agents
        return
    limited = RecallrAISession(session, session_settings=SessionSettings(limit=2))
    assert await limited.get_items() == expected[2:]
    assert await limited.get_items(limit=3) == expected[1:]


@pytest.mark.anyio
async def test_async_processed_session_and_invalid_options(
    async_client: AsyncRecallrAI,
    recallrai_emulator: Emulator,
    model: ModelAPI,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A processed session refuses messages: logged by default, raised when strict. Invalid
    recall options raise under both policies."""
    session = await async_remembering(async_client, recallrai_emulator)
    await session.process()
    caplog.set_level(logging.WARNING, logger=LOGGER)
    memory = RecallrAISession(session)
    async with model.client() as client:
        result = await Runner.run(
            model.agent(client, memory.instructions()), QUESTION, session=memory
        )
        assert result.final_output == "OK" and "I love sushi" in model.system()
        warnings = [r.getMessage() for r in caplog.records if r.name == LOGGER]
        assert len(warnings) == 2 and all("InvalidSessionStateError" in w for w in warnings)
        assert await async_stored(session) == []

        strict = RecallrAISession(session, strict=True)
        with pytest.raises(InvalidSessionStateError):
            await Runner.run(model.agent(client, strict.instructions()), QUESTION, session=strict)
        assert model.route.call_count == 1  # not called again

        fresh = RecallrAISession(await (await async_client.get_user("alice")).create_session())
        agent = model.agent(client, fresh.instructions("Be brief.", min_top_k=1))
        with pytest.raises(ValidationError):
            await Runner.run(agent, QUESTION, session=fresh)
    assert model.route.call_count == 1


# ============================================================================ blocking style


def test_sync_context_injected_and_turns_recorded(
    sync_client: RecallrAI,
    recallrai_emulator: Emulator,
    model: ModelAPI,
    loops: Loops,
) -> None:
    session = sync_remembering(sync_client, recallrai_emulator)
    memory = RecallrAISession(session)
    model.replies = ["Try the sushi bar on Main Street.", "Tomorrow: ramen."]
    client = model.client()
    agent = model.agent(client, memory.instructions("Be brief.", recall_strategy="low_latency"))
    result = loops.run_sync(agent, QUESTION, memory)
    assert result.final_output == "Try the sushi bar on Main Street."
    system = model.system()
    assert system.startswith("Be brief.\n\n") and "- I love sushi" in system
    assert model.conversation() == [("user", QUESTION)]
    first = [("user", QUESTION), ("assistant", "Try the sushi bar on Main Street.")]
    assert sync_stored(session) == first

    loops.run_sync(agent, "And tomorrow?", memory)
    loops.close(client)
    assert model.conversation() == [*first, ("user", "And tomorrow?")]
    assert sync_stored(session) == [
        *first,
        ("user", "And tomorrow?"),
        ("assistant", "Tomorrow: ramen."),
    ]


def test_sync_streamed_reply_recorded_once_whole(
    sync_client: RecallrAI, recallrai_emulator: Emulator, model: ModelAPI
) -> None:
    """The blocking client under ``asyncio.run``: its calls go to a worker thread."""
    session = sync_remembering(sync_client, recallrai_emulator)
    memory = RecallrAISession(session)
    reply = "Try the sushi bar on Main Street, it opens at six."
    deltas: list[str] = []

    async def converse() -> None:
        model.replies, model.hold = [reply], asyncio.Event()
        async with model.client() as client:
            agent = model.agent(client, memory.instructions("Be brief."))
            result = Runner.run_streamed(agent, QUESTION, session=memory)
            async for event in result.stream_events():
                if event.type == "raw_response_event" and isinstance(
                    event.data, ResponseTextDeltaEvent
                ):
                    if not deltas:
                        assert added(recallrai_emulator, session.session_id) == [("user", QUESTION)]
                        model.hold.set()
                    deltas.append(event.data.delta)

    asyncio.run(converse())
    assert "".join(deltas) == reply and len(deltas) > 3
    assert "- I love sushi" in model.system()
    assert added(recallrai_emulator, session.session_id) == [
        ("user", QUESTION),
        ("assistant", reply),
    ]
    assert sync_stored(session) == [("user", QUESTION), ("assistant", reply)]


def test_sync_fail_open_runs_without_memory(
    sync_client: RecallrAI,
    recallrai_emulator: Emulator,
    model: ModelAPI,
    loops: Loops,
    caplog: pytest.LogCaptureFixture,
) -> None:
    session = sync_remembering(sync_client, recallrai_emulator)
    memory = RecallrAISession(session)
    fail_every_call(recallrai_emulator, session.session_id)
    caplog.set_level(logging.WARNING, logger=LOGGER)
    client = model.client()
    result = loops.run_sync(model.agent(client, memory.instructions("Be brief.")), QUESTION, memory)
    loops.close(client)
    assert result.final_output == "OK"
    assert model.system() == "Be brief." and model.conversation() == [("user", QUESTION)]
    assert recallrai_emulator.pending_faults == 0
    assert sync_stored(session) == []
    warnings = [r.getMessage() for r in caplog.records if r.name == LOGGER]
    assert len(warnings) == 4 and all("InternalServerError" in w for w in warnings), warnings


@pytest.mark.parametrize("failing", ["history", "record", "recall"])
def test_sync_strict_raises(
    sync_client: RecallrAI,
    recallrai_emulator: Emulator,
    model: ModelAPI,
    loops: Loops,
    failing: str,
) -> None:
    session = sync_remembering(sync_client, recallrai_emulator)
    memory = RecallrAISession(session, strict=True)
    recallrai_emulator.inject_fault(503, path_prefix=fault_paths(session.session_id)[failing])
    client = model.client()
    with pytest.raises(InternalServerError):
        loops.run_sync(model.agent(client, memory.instructions("Be brief.")), QUESTION, memory)
    loops.close(client)
    assert model.route.call_count == 0


def test_sync_unreachable_recallrai(
    model: ModelAPI, loops: Loops, caplog: pytest.LogCaptureFixture
) -> None:
    with RecallrAI("rai_x", "p", base_url="http://127.0.0.1:9", max_retries=0) as dead:
        session = dead.get_user("alice", validate=False).get_session("s-1", validate=False)
        caplog.set_level(logging.WARNING, logger=LOGGER)
        client = model.client()
        memory = RecallrAISession(session)
        agent = model.agent(client, memory.instructions("Be brief."))
        assert loops.run_sync(agent, QUESTION, memory).final_output == "OK"
        assert model.system() == "Be brief."
        assert len([r for r in caplog.records if r.name == LOGGER]) == 4
        strict = RecallrAISession(session, strict=True)
        with pytest.raises(ConnectionError):
            loops.run_sync(model.agent(client, strict.instructions()), QUESTION, strict)
        loops.close(client)


def test_sync_pop_and_clear_raise(
    sync_client: RecallrAI, recallrai_emulator: Emulator, loops: Loops
) -> None:
    session = sync_remembering(sync_client, recallrai_emulator)
    session.add_message("user", "Hello")
    memory = RecallrAISession(session)
    for operation in (memory.pop_item, memory.clear_session):
        with pytest.raises(UnsupportedOperationError, match="cannot remove"):
            loops.fresh().run_until_complete(operation())
    assert loops.fresh().run_until_complete(memory.get_items()) == [
        {"role": "user", "content": "Hello"}
    ]


def test_sync_tool_items_skipped(
    sync_client: RecallrAI,
    recallrai_emulator: Emulator,
    model: ModelAPI,
    loops: Loops,
) -> None:
    session = sync_remembering(sync_client, recallrai_emulator)
    memory = RecallrAISession(session)

    @function_tool
    def opening_hours(place: str) -> str:
        """When a place opens."""
        return f"{place} opens at six"

    model.replies = [("opening_hours", {"place": "Sushi Zen"}), "Sushi Zen, from six."]
    client = model.client()
    agent = model.agent(client, memory.instructions("Be brief."), tools=[opening_hours])
    assert loops.run_sync(agent, QUESTION, memory).final_output == "Sushi Zen, from six."
    loops.close(client)
    assert model.route.call_count == 2 and model.system(0) == model.system(1)
    assert sync_stored(session) == [("user", QUESTION), ("assistant", "Sushi Zen, from six.")]


def test_sync_item_mapping_and_limits(sync_client: RecallrAI, loops: Loops) -> None:
    session = sync_client.create_user("alice").create_session()
    memory = RecallrAISession(session)
    loops.fresh().run_until_complete(memory.add_items(MIXED_ITEMS))
    assert sync_stored(session) == MIXED_STORED
    expected = [{"role": role, "content": text} for role, text in MIXED_STORED]
    assert loops.fresh().run_until_complete(memory.get_items()) == expected
    assert loops.fresh().run_until_complete(memory.get_items(limit=2)) == expected[2:]


def test_sync_processed_session_and_invalid_options(
    sync_client: RecallrAI,
    recallrai_emulator: Emulator,
    model: ModelAPI,
    loops: Loops,
    caplog: pytest.LogCaptureFixture,
) -> None:
    session = sync_remembering(sync_client, recallrai_emulator)
    session.process()
    caplog.set_level(logging.WARNING, logger=LOGGER)
    client = model.client()
    memory = RecallrAISession(session)
    result = loops.run_sync(model.agent(client, memory.instructions()), QUESTION, memory)
    assert result.final_output == "OK" and "I love sushi" in model.system()
    warnings = [r.getMessage() for r in caplog.records if r.name == LOGGER]
    assert len(warnings) == 2 and all("InvalidSessionStateError" in w for w in warnings)
    assert sync_stored(session) == []

    strict = RecallrAISession(session, strict=True)
    with pytest.raises(InvalidSessionStateError):
        loops.run_sync(model.agent(client, strict.instructions()), QUESTION, strict)
    fresh = RecallrAISession(sync_client.get_user("alice").create_session())
    with pytest.raises(ValidationError):
        loops.run_sync(model.agent(client, fresh.instructions(min_top_k=1)), QUESTION, fresh)
    loops.close(client)
    assert model.route.call_count == 1


# ========================================================================= packaging and docs


def test_import_recallrai_does_not_import_the_agents_sdk() -> None:
    code = (
        "import sys, recallrai, recallrai.integrations\n"
        "assert 'agents' not in sys.modules and 'openai' not in sys.modules, sorted(sys.modules)\n"
        "sys.modules['agents'] = None  # as if openai-agents were not installed\n"
        "try:\n"
        "    import recallrai.integrations.agents\n"
        "except ImportError as error:\n"
        "    print(error)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "pip install 'recallrai[agents]'" in out.stdout, out


def readme_blocks() -> list[str]:
    """The ``python integration`` blocks of the OpenAI Agents SDK docs page."""
    text = DOCS_PAGE.read_text(encoding="utf-8")
    return re.findall(r"^```python integration\n(.*?)^```$", text, flags=re.M | re.S)


def test_readme_examples(
    recallrai_emulator: Emulator,
    model: ModelAPI,
    loops: Loops,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The section's examples run in order, each in a fresh namespace, against the emulator
    (settled between blocks, so processed sessions have their memories) and the mocked model,
    which the Agents SDK gets as its default client (Chat Completions API)."""
    blocks = readme_blocks()
    assert len(blocks) >= 3
    monkeypatch.setenv("RECALLRAI_API_KEY", recallrai_emulator.api_key)
    monkeypatch.setenv("RECALLRAI_PROJECT_ID", recallrai_emulator.project_id)
    monkeypatch.setenv("RECALLRAI_BASE_URL", recallrai_emulator.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    client = model.client()
    monkeypatch.setattr(_openai_shared, "_default_openai_client", client)
    monkeypatch.setattr(_openai_shared, "_use_responses_by_default", False)
    model.replies = ["Sushi, then.", "Onigiri.", "Sushi again?", "Matcha ice cream."]
    for index, block in enumerate(blocks):
        loops.fresh()  # for a block's Runner.run_sync
        exec(
            compile(block, f"docs/integrations/agents.md block {index + 1}", "exec"),
            {"__name__": "__main__"},
        )
        recallrai_emulator.settle()
    loops.close(client)

    out = capsys.readouterr().out
    assert "Sushi, then." in out and "Onigiri." in out and "Sushi again?" in out
    assert "Matcha ice cream." in out
    assert model.conversation(1)[:2] == [
        ("user", model.conversation(0)[0][1]),
        ("assistant", "Sushi, then."),
    ]
    assert "I love sushi" in model.system(2)  # a later session recalls the first one's memory
    assert "I love sushi" in model.system(3)
    messages = [
        (r.json()["role"], r.json()["message"])
        for r in recallrai_emulator.requests
        if r.raw_path.endswith("/add-message")
    ]
    assert [role for role, _ in messages] == ["user", "assistant"] * 4
    assert ("assistant", "Matcha ice cream.") in messages


def test_readme_section_has_no_placeholder() -> None:
    assert "(agents adapter section)" not in DOCS_PAGE.read_text(encoding="utf-8")
