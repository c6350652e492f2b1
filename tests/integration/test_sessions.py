"""Sessions, messages and context end to end over loopback HTTP: the SDK
(both styles, both transports) against the emulator."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import attrs
import pytest

from recallrai import (
    AsyncRecallrAI,
    AsyncSession,
    AsyncUser,
    Context,
    MessageRole,
    RecallrAI,
    RecallStrategy,
    SessionStatus,
)
from recallrai.emulator import Emulator, _memories
from recallrai.exceptions import (
    InvalidSessionStateError,
    SessionNotFoundError,
    StreamError,
    UserNotFoundError,
    ValidationError,
)

PROMPT_PATH = "/api/v1/system-prompt"


@attrs.frozen
class FakeMemory:
    memory_id: str
    content: str
    session_id: str


@pytest.fixture
def fake_memories(monkeypatch: pytest.MonkeyPatch) -> list[FakeMemory]:
    """The memories the emulator assembles contexts from (newest first);
    processing no longer creates any."""
    memories: list[FakeMemory] = []
    monkeypatch.setattr(_memories, "current_memories", lambda user: list(memories))
    monkeypatch.setattr(_memories, "process_session", lambda *args: None)
    return memories


def seed(memories: list[FakeMemory]) -> None:
    """Against the query word "alpha": three memories score 1.0, three 0.5,
    five 0.25 and two 0.1."""
    for fillers, count in ((0, 3), (1, 3), (3, 5), (9, 2)):
        for copy in range(count):
            words = " ".join(f"f{fillers}x{copy}w{i}" for i in range(fillers))
            memories.append(FakeMemory(f"m-{fillers}-{copy}", f"alpha {words}".strip(), "s-old"))


def memory_lines(context: Context) -> int:
    assert context.context is not None
    return sum(1 for line in context.context.splitlines() if line.startswith("- alpha"))


def prompt_requests(emu: Emulator) -> list[str]:
    return [r.query_string for r in emu.requests if r.raw_path == PROMPT_PATH]


async def apoll(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.005)


def poll(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.005)


def aiohttp_acquired(client: AsyncRecallrAI) -> int:
    session = client._pipeline.transport._session  # type: ignore[attr-defined]
    return len(session.connector._acquired)


# ============================================================================ async


@pytest.mark.anyio
async def test_async_session_lifecycle(
    async_client: AsyncRecallrAI, recallrai_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    emu = recallrai_emulator
    monkeypatch.setattr(emu, "processing_delay", 3600.0)  # stays "processing" until settle()
    user = await async_client.create_user("alice")
    session = await user.create_session(metadata={"channel": "chat"})
    assert session.status is SessionStatus.PENDING
    assert session.metadata == {"channel": "chat"}
    assert session.user_id == "alice"
    assert session.is_loaded and session.created_at.tzinfo == timezone.utc

    texts = ["I love sushi.", "Noted!", "My favourite city is Kyoto.", "Lovely.", "Bye"]
    for index, text in enumerate(texts):
        role = MessageRole.USER if index % 2 == 0 else "assistant"
        await session.add_message(role, text)

    page = await session.get_messages(limit=2)
    assert [m.content for m in page.messages] == texts[:2]
    assert (page.total, page.has_more(), page.next_offset()) == (5, True, 2)
    assert [m.role for m in page.messages] == [MessageRole.USER, MessageRole.ASSISTANT]
    assert [m.content async for m in session.get_messages(limit=2)] == texts
    assert [m.content async for m in session.get_messages(offset=3, limit=1)] == texts[3:]
    stamps = [m.timestamp async for m in session.get_messages()]
    assert stamps == sorted(stamps) and all(s.tzinfo == timezone.utc for s in stamps)

    backdated = datetime(2025, 6, 15, 14, 30, tzinfo=timezone.utc)
    other = await user.create_session(
        auto_process_after_seconds=1800,
        metadata={"channel": "voice"},
        custom_created_at_utc=backdated,
    )
    assert other.created_at == backdated
    await other.add_message("user", "other session")

    last = await user.get_last_n_messages(3)
    assert [(m.content, m.session_id) for m in last] == [
        ("Lovely.", session.session_id),
        ("Bye", session.session_id),
        ("other session", other.session_id),
    ]

    listed = await user.list_sessions()
    assert [s.session_id for s in listed.sessions] == [session.session_id, other.session_id]
    assert listed.sessions[0] == session
    voice = await user.list_sessions(metadata_filter={"channel": "voice"})
    assert [s.session_id for s in voice.sessions] == [other.session_id]

    await session.update(new_metadata={"channel": "chat", "v": 2})
    assert session.metadata == {"channel": "chat", "v": 2}
    await session.update()
    assert session.metadata == {"channel": "chat", "v": 2}

    await session.process()
    assert session.status is SessionStatus.PROCESSING
    with pytest.raises(InvalidSessionStateError) as caught:
        await session.add_message("user", "too late")
    assert "processing" in caught.value.message
    assert caught.value.http_status == 400
    await session.refresh()
    assert session.status is SessionStatus.PROCESSING
    by_status = await user.list_sessions(status_filter=[SessionStatus.PROCESSING])
    assert [s.session_id for s in by_status.sessions] == [session.session_id]
    pending = await user.list_sessions(status_filter=["pending"], metadata_filter={})
    assert [s.session_id for s in pending.sessions] == [other.session_id]

    emu.settle()
    await session.refresh()
    assert session.status is SessionStatus.PROCESSED
    with pytest.raises(InvalidSessionStateError, match="processed"):
        await session.process()
    fetched = await user.get_session(session.session_id)
    assert fetched == session

    await session.delete()
    with pytest.raises(SessionNotFoundError):
        await user.get_session(session.session_id)
    assert [m.content for m in await user.get_last_n_messages(100)] == ["other session"]

    await user.delete()
    with pytest.raises(UserNotFoundError):
        await other.refresh()


@pytest.mark.anyio
async def test_async_auto_processing(
    async_client: AsyncRecallrAI, recallrai_emulator: Emulator
) -> None:
    user = await async_client.create_user("idle")
    session = await user.create_session(auto_process_after_seconds=600)
    await session.add_message("user", "I live in Paris.")
    recallrai_emulator.advance_clock(599)
    await session.refresh()
    assert session.status is SessionStatus.PENDING
    recallrai_emulator.advance_clock(2)
    await session.refresh()
    assert session.status is SessionStatus.PROCESSED
    with pytest.raises(InvalidSessionStateError):
        await session.add_message("user", "late")
    # The real memory rules turned the user's message into a memory the context shows.
    fresh = await user.create_session()
    await fresh.add_message("user", "Where do I live?")
    context = await fresh.get_context(include_system_prompt=False, include_metadata_ids=True)
    assert context.context is not None and "- I live in Paris" in context.context
    assert context.metadata is not None and context.metadata.session_ids == [session.session_id]


@pytest.mark.anyio
async def test_async_insufficient_balance(
    async_client: AsyncRecallrAI, recallrai_emulator: Emulator
) -> None:
    """With the emulator's balance exhausted, processing ends in ``insufficient_balance``
    and extracts nothing; the status reads as the enum and filters lists."""
    user = await async_client.create_user("broke")
    recallrai_emulator.balance_exhausted = True
    session = await user.create_session()
    await session.add_message("user", "I live in Paris.")
    await session.process()
    recallrai_emulator.settle()
    await session.refresh()
    assert session.status is SessionStatus.INSUFFICIENT_BALANCE
    listed = await user.list_sessions(status_filter=["insufficient_balance"])
    assert [s.session_id for s in listed.items] == [session.session_id]
    assert (await user.list_memories()).total == 0
    with pytest.raises(InvalidSessionStateError):
        await session.process()

    recallrai_emulator.reset()
    assert recallrai_emulator.balance_exhausted is False


@pytest.mark.anyio
async def test_async_every_context_parameter_changes_the_result(
    async_client: AsyncRecallrAI, recallrai_emulator: Emulator, fake_memories: list[FakeMemory]
) -> None:
    user = await async_client.create_user("ctx")
    for text, created in (("alpha beta", 3), ("zeta", 2)):
        done = await user.create_session(
            custom_created_at_utc=datetime(2025, 1, created, tzinfo=timezone.utc)
        )
        await done.add_message("user", text)
        await done.process()
    recallrai_emulator.settle()
    session = await user.create_session()
    await session.add_message("user", "hello")
    await session.add_message("assistant", "alpha")
    seed(fake_memories)

    async def get(**params: Any) -> Context:
        base: dict[str, Any] = {
            "include_system_prompt": False,
            "memories_threshold": 0.8,
            "min_top_k": 5,
            "summaries_threshold": 0.8,
        }
        return await session.get_context(**{**base, **params})

    base = await get()
    assert memory_lines(base) == 5
    assert base.is_final and base.error_message is None
    assert base.metadata is not None
    assert base.metadata.recall_strategy_used is RecallStrategy.BALANCED
    assert base.metadata.memory_ids is None and base.metadata.session_ids is None
    assert "Recent messages:" not in (base.context or "")
    assert "Session summaries:" not in (base.context or "")

    assert memory_lines(await get(min_top_k=7)) == 7
    assert memory_lines(await get(memories_threshold=0.4)) == 6
    assert memory_lines(await get(memories_threshold=0.2)) == 11
    assert memory_lines(await get(memories_threshold=0.2, max_top_k=10)) == 10

    def section(context: Context, title: str) -> list[str]:
        assert context.context is not None
        for block in context.context.split("\n\n"):
            head, _, rest = block.partition("\n")
            if head == title:
                return rest.splitlines()
        return []

    assert section(await get(summaries_threshold=0.5), "Session summaries:") == [
        "- [2025-01-03 00:00:00 UTC] alpha beta"
    ]
    assert len(section(await get(last_n_summaries=2), "Session summaries:")) == 2
    assert len(section(await get(last_n_summaries=1), "Session summaries:")) == 1

    one = section(await get(last_n_messages=1), "Recent messages:")
    assert len(one) == 1 and one[0].endswith(" UTC] assistant: alpha")
    two = section(await get(last_n_messages=2), "Recent messages:")
    assert len(two) == 2 and two[0].endswith("] user: hello")
    tokyo = section(await get(last_n_messages=1, timezone="Asia/Tokyo"), "Recent messages:")
    assert tokyo[0].endswith(" JST] assistant: alpha") and tokyo != one

    with_ids = await get(include_metadata_ids=True, last_n_messages=1)
    assert with_ids.metadata is not None
    assert with_ids.metadata.memory_ids == [m.memory_id for m in fake_memories[:5]]
    assert with_ids.metadata.session_ids == ["s-old", session.session_id]

    for strategy, used in (
        (RecallStrategy.LOW_LATENCY, RecallStrategy.LOW_LATENCY),
        (RecallStrategy.AGENTIC, RecallStrategy.AGENTIC),
        ("auto", RecallStrategy.AGENTIC),
    ):
        result = await get(recall_strategy=strategy)
        assert result.metadata is not None and result.metadata.recall_strategy_used is used
        assert result.context == base.context

    prompted = await get(include_system_prompt=True)
    assert prompted.context == Emulator.system_prompt("balanced") + "\n\n\n" + (base.context or "")


@pytest.mark.anyio
async def test_async_system_prompt_is_fetched_once_and_prepended(
    async_client: AsyncRecallrAI, recallrai_emulator: Emulator, fake_memories: list[FakeMemory]
) -> None:
    emu = recallrai_emulator
    user = await async_client.create_user("prompted")
    session = await user.create_session()
    await session.add_message("user", "alpha")
    raw = await session.get_context(include_system_prompt=False)
    assert prompt_requests(emu) == []

    first = await session.get_context()
    assert first.context == emu.system_prompt("balanced") + "\n\n\n" + (raw.context or "")
    assert prompt_requests(emu) == ["recall_strategy=balanced"]
    second = await session.get_context()
    assert second == first
    streamed = [event async for event in session.get_context_stream()]
    assert streamed[-1].context == first.context
    assert prompt_requests(emu) == ["recall_strategy=balanced"]

    # auto without memories runs low_latency: its prompt is prepended.
    auto = await session.get_context(recall_strategy="auto")
    assert sorted(prompt_requests(emu)[1:]) == [
        "recall_strategy=agentic",
        "recall_strategy=low_latency",
    ]
    assert auto.context == emu.system_prompt("low_latency") + "\n\n\n" + (raw.context or "")
    # With memories the emulator reports agentic, whose prompt is used instead.
    fake_memories.append(FakeMemory("m1", "alpha", "s0"))
    agentic = await session.get_context(recall_strategy="auto")
    assert agentic.metadata is not None
    assert agentic.metadata.recall_strategy_used is RecallStrategy.AGENTIC
    assert agentic.context == emu.system_prompt("agentic") + "\n\n\nMemories:\n- alpha"
    assert len(prompt_requests(emu)) == 3


@pytest.mark.anyio
async def test_async_stream_arrives_incrementally(
    async_client: AsyncRecallrAI, recallrai_emulator: Emulator
) -> None:
    emu = recallrai_emulator
    user = await async_client.create_user("streamer")
    session = await user.create_session()
    await session.add_message("user", "hello there")
    expected = await session.get_context(include_system_prompt=False, last_n_messages=5)
    emu.hold_streams()
    stream = session.get_context_stream(include_system_prompt=False, last_n_messages=5)
    try:
        first = await asyncio.wait_for(stream.__anext__(), 10)
        assert first.is_final is False and first.status_update_message
        assert emu.streams_started == 1
        assert emu.streams_completed == 0
        emu.release_streams()
        rest = [event async for event in stream]
    finally:
        emu.release_streams()
        await stream.aclose()
    assert [event.is_final for event in rest] == [False, False, True]
    assert rest[-1] == expected
    await apoll(lambda: emu.streams_completed == 1)
    assert emu.streams_disconnected == 0


@pytest.mark.anyio
async def test_async_leaving_a_stream_early_frees_the_connection(
    async_client: AsyncRecallrAI, recallrai_emulator: Emulator, transport: str
) -> None:
    emu = recallrai_emulator
    user = await async_client.create_user("quitter")
    session = await user.create_session()
    emu.hold_streams()
    try:
        async for event in session.get_context_stream(include_system_prompt=False):
            assert event.is_final is False
            break
        await apoll(lambda: emu.streams_disconnected == 1)
        if transport == "aiohttp":
            assert aiohttp_acquired(async_client) == 0

        async with session.get_context_stream(include_system_prompt=False) as stream:
            assert (await stream.__anext__()).is_final is False
        await apoll(lambda: emu.streams_disconnected == 2)
        if transport == "aiohttp":
            assert aiohttp_acquired(async_client) == 0
    finally:
        emu.release_streams()
    assert emu.streams_completed == 0
    # The client is still perfectly usable.
    events = [event async for event in session.get_context_stream(include_system_prompt=False)]
    assert events[-1].is_final


@pytest.mark.anyio
async def test_async_cancelling_a_stream_frees_the_connection(
    async_client: AsyncRecallrAI, recallrai_emulator: Emulator, transport: str
) -> None:
    emu = recallrai_emulator
    user = await async_client.create_user("canceller")
    session = await user.create_session()
    emu.hold_streams()
    started = asyncio.Event()

    async def consume() -> None:
        async for _ in session.get_context_stream(include_system_prompt=False):
            started.set()

    task = asyncio.ensure_future(consume())
    try:
        await asyncio.wait_for(started.wait(), 10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await apoll(lambda: emu.streams_disconnected == 1)
        if transport == "aiohttp":
            assert aiohttp_acquired(async_client) == 0
    finally:
        emu.release_streams()


@pytest.mark.anyio
async def test_async_stream_errors(
    async_client: AsyncRecallrAI, recallrai_emulator: Emulator
) -> None:
    emu = recallrai_emulator
    user = await async_client.create_user("broken")
    session = await user.create_session()

    emu.fail_next_stream(error_message="retrieval exploded")
    seen: list[Context] = []
    with pytest.raises(StreamError) as caught:
        async for event in session.get_context_stream(include_system_prompt=False):
            seen.append(event)
    assert "retrieval exploded" in caught.value.message
    assert [event.is_final for event in seen] == [False, False, False]

    emu.truncate_next_stream()
    seen.clear()
    with pytest.raises(StreamError):
        async for event in session.get_context_stream():
            seen.append(event)
    assert len(seen) == 3

    missing = await user.get_session("no-such-session", validate=False)
    with pytest.raises(SessionNotFoundError):
        async for _ in missing.get_context_stream():
            pass
    ghost = await async_client.get_user("ghost", validate=False)
    with pytest.raises(UserNotFoundError):
        async for _ in (await ghost.get_session("s", validate=False)).get_context_stream():
            pass
    assert emu.streams_started == 2


SessionCall = Callable[[AsyncSession], Awaitable[object]]


async def _stream_first(session: AsyncSession) -> object:
    async for event in session.get_context_stream(include_system_prompt=False):
        return event
    return None


SESSION_CALLS: list[SessionCall] = [
    lambda s: s.refresh(),
    lambda s: s.update(new_metadata={"a": 1}),
    lambda s: s.delete(),
    lambda s: s.add_message("user", "hi"),
    lambda s: s.get_messages(),
    lambda s: s.process(),
    lambda s: s.get_context(),
    _stream_first,
]


@pytest.mark.anyio
@pytest.mark.parametrize("call", SESSION_CALLS)
async def test_async_session_vs_user_not_found(
    async_client: AsyncRecallrAI, call: SessionCall
) -> None:
    user = await async_client.create_user("owner")
    with pytest.raises(SessionNotFoundError) as missing_session:
        await call(await user.get_session("no-such-session", validate=False))
    assert missing_session.value.http_status == 404
    assert not isinstance(missing_session.value, UserNotFoundError)
    ghost = await async_client.get_user("ghost", validate=False)
    with pytest.raises(UserNotFoundError) as missing_user:
        await call(await ghost.get_session("no-such-session", validate=False))
    assert missing_user.value.message == "User ghost not found"


UserCall = Callable[[AsyncUser], Awaitable[object]]

USER_CALLS: list[UserCall] = [
    lambda u: u.create_session(),
    lambda u: u.list_sessions(),
    lambda u: u.get_last_n_messages(5),
    lambda u: u.get_session("s"),
]


@pytest.mark.anyio
@pytest.mark.parametrize("call", USER_CALLS)
async def test_async_user_level_not_found(async_client: AsyncRecallrAI, call: UserCall) -> None:
    ghost = await async_client.get_user("ghost", validate=False)
    with pytest.raises(UserNotFoundError):
        await call(ghost)


INVALID_CONTEXT_ARGS: list[dict[str, Any]] = [
    {"min_top_k": 4},
    {"min_top_k": 51},
    {"max_top_k": 9},
    {"max_top_k": 101},
    {"min_top_k": 30, "max_top_k": 20},
    {"memories_threshold": 0.19},
    {"memories_threshold": 0.81},
    {"summaries_threshold": 0.1},
    {"summaries_threshold": 0.9},
    {"last_n_messages": 0},
    {"last_n_messages": 101},
    {"last_n_summaries": 0},
    {"last_n_summaries": 21},
    {"timezone": "Mars/Olympus_Mons"},
    {"timezone": ""},
    {"recall_strategy": "fast"},
]


@pytest.mark.anyio
async def test_async_client_side_validation_sends_nothing(
    async_client: AsyncRecallrAI, recallrai_emulator: Emulator
) -> None:
    user = await async_client.create_user("validator")
    session = await user.create_session()
    sent = len(recallrai_emulator.requests)

    for args in INVALID_CONTEXT_ARGS:
        with pytest.raises(ValidationError):
            await session.get_context(**args)
        with pytest.raises(ValidationError):
            session.get_context_stream(**args)
    bad_calls: list[Callable[[], Awaitable[object]]] = [
        lambda: user.create_session(auto_process_after_seconds=599),
        lambda: user.create_session(custom_created_at_utc=datetime(2025, 1, 1)),
        lambda: user.create_session(
            custom_created_at_utc=datetime(2025, 1, 1, tzinfo=timezone(timedelta(hours=2)))
        ),
        lambda: session.add_message("user", ""),
        lambda: session.add_message("user", "   "),
        lambda: session.add_message("system", "hi"),
        lambda: user.get_last_n_messages(0),
        lambda: user.get_last_n_messages(101),
        lambda: session.get_messages(limit=0),
        lambda: session.get_messages(limit=501),
        lambda: session.get_messages(offset=-1),
        lambda: user.list_sessions(limit=101),
        lambda: user.list_sessions(status_filter=["done"]),
        lambda: user.get_session(""),
    ]
    for call in bad_calls:
        with pytest.raises(ValidationError):
            await call()
    assert len(recallrai_emulator.requests) == sent


@pytest.mark.anyio
@pytest.mark.parametrize("zone", ["America", "x" * 300])
async def test_async_timezone_directory_name_is_a_validation_error(
    async_client: AsyncRecallrAI, recallrai_emulator: Emulator, zone: str
) -> None:
    session = await (await async_client.get_user("u", validate=False)).get_session(
        "s", validate=False
    )
    with pytest.raises(ValidationError):
        await session.get_context(timezone=zone)
    assert recallrai_emulator.requests == []


# ============================================================================ sync


def test_sync_session_lifecycle(sync_client: RecallrAI, recallrai_emulator: Emulator) -> None:
    emu = recallrai_emulator
    user = sync_client.create_user("bob")
    session = user.create_session(metadata={"k": "v"})
    assert session.status is SessionStatus.PENDING
    for text in ("one", "two", "three"):
        session.add_message("user", text)
    page = session.get_messages(limit=2)
    assert [m.content for m in page.messages] == ["one", "two"]
    assert page.has_more() and page.total == 3
    assert [m.content for m in session.get_messages(limit=2)] == ["one", "two", "three"]
    assert [m.content for m in user.get_last_n_messages(2)] == ["two", "three"]

    context = session.get_context(last_n_messages=2)
    assert context.context is not None
    assert context.context.startswith(emu.system_prompt("balanced") + "\n\n\nRecent messages:\n")
    assert context.context.endswith("] user: three")

    session.update(new_metadata={"k": "w"})
    assert session.metadata == {"k": "w"}
    assert [s.session_id for s in user.list_sessions(metadata_filter={"k": "w"})] == [
        session.session_id
    ]
    session.process()
    assert session.status is SessionStatus.PROCESSING
    with pytest.raises(InvalidSessionStateError):
        session.add_message("assistant", "late")
    emu.settle()
    session.refresh()
    assert session.status is SessionStatus.PROCESSED
    assert [s.session_id for s in user.list_sessions(status_filter=["processed"])] == [
        session.session_id
    ]
    with pytest.raises(InvalidSessionStateError):
        session.process()
    session.delete()
    with pytest.raises(SessionNotFoundError):
        session.refresh()
    with pytest.raises(UserNotFoundError):
        sync_client.get_user("nobody", validate=False).get_session("x")


def test_sync_stream_incremental_and_break(
    sync_client: RecallrAI, recallrai_emulator: Emulator, transport: str
) -> None:
    emu = recallrai_emulator
    user = sync_client.create_user("carol")
    session = user.create_session()
    session.add_message("user", "hi")
    expected = session.get_context(last_n_messages=1)

    emu.hold_streams()
    try:
        events = session.get_context_stream(last_n_messages=1)
        first = next(events)
        assert first.is_final is False
        assert emu.streams_completed == 0
        emu.release_streams()
        rest = list(events)
        assert [event.is_final for event in rest] == [False, False, True]
        assert rest[-1] == expected
        poll(lambda: emu.streams_completed == 1)

        emu.hold_streams()
        for event in session.get_context_stream():
            assert event.is_final is False
            break
        poll(lambda: emu.streams_disconnected == 1)
        if transport == "aiohttp":
            assert aiohttp_acquired(sync_client._async) == 0
    finally:
        emu.release_streams()
    assert session.get_context(last_n_messages=1) == expected


def test_sync_stream_errors_and_validation(
    sync_client: RecallrAI, recallrai_emulator: Emulator
) -> None:
    emu = recallrai_emulator
    user = sync_client.create_user("dave")
    session = user.create_session()
    emu.fail_next_stream(error_message="kaput")
    seen: list[Context] = []
    with pytest.raises(StreamError, match="kaput"):
        for event in session.get_context_stream():
            seen.append(event)
    assert [event.is_final for event in seen] == [False, False, False]
    emu.truncate_next_stream()
    with pytest.raises(StreamError):
        list(session.get_context_stream())
    with pytest.raises(SessionNotFoundError):
        list(user.get_session("missing", validate=False).get_context_stream())

    sent = len(emu.requests)
    for args in INVALID_CONTEXT_ARGS:
        with pytest.raises(ValidationError):
            session.get_context(**args)
        with pytest.raises(ValidationError):
            list(session.get_context_stream(**args))
    with pytest.raises(ValidationError):
        user.create_session(auto_process_after_seconds=599)
    with pytest.raises(ValidationError):
        session.add_message("robot", "hi")
    with pytest.raises(ValidationError):
        session.add_message("user", "")
    with pytest.raises(ValidationError):
        user.get_last_n_messages(101)
    assert len(emu.requests) == sent


@pytest.mark.anyio
async def test_session_requests_match_the_protocol(
    async_client: AsyncRecallrAI, recallrai_emulator: Emulator
) -> None:
    """Method, path, query and body of every sessions/context call, byte for byte (§5.2, §5.3)."""
    from datetime import datetime, timezone

    user = await async_client.create_user("u1")
    session = await user.create_session()
    await user.create_session(
        1800, {"type": "chat"}, datetime(2025, 6, 15, 14, 30, tzinfo=timezone.utc)
    )
    await user.list_sessions(
        offset=1, limit=2, metadata_filter={"type": "chat"}, status_filter=["pending", "processing"]
    )
    await session.add_message("user", 'Hello! "quoted" é')
    await session.get_messages()
    await session.update()
    await session.update(new_metadata={"k": "v"})
    await session.get_context(include_system_prompt=False)
    await session.get_context(
        recall_strategy="low_latency",
        min_top_k=10,
        max_top_k=100,
        memories_threshold=0.25,
        summaries_threshold=0.8,
        last_n_messages=20,
        last_n_summaries=5,
        timezone="America/Los_Angeles",
        include_system_prompt=False,
        include_metadata_ids=True,
    )
    events = [e async for e in session.get_context_stream(include_system_prompt=False)]
    assert events[-1].is_final
    await user.get_last_n_messages(5)
    await session.process()
    await session.delete()

    sid = session.session_id
    base = f"/api/v1/users/u1/sessions/{sid}"
    context_query = (
        "recall_strategy=balanced&min_top_k=15&max_top_k=50&memories_threshold=0.6"
        "&summaries_threshold=0.5&include_system_prompt=false&include_metadata_ids=false"
    )
    expected = [
        (
            "POST",
            "/api/v1/users/u1/sessions",
            "",
            b'{"auto_process_after_seconds":600,"metadata":{}}',
        ),
        (
            "POST",
            "/api/v1/users/u1/sessions",
            "",
            b'{"auto_process_after_seconds":1800,"metadata":{"type":"chat"},'
            b'"custom_created_at_utc":"2025-06-15T14:30:00+00:00"}',
        ),
        (
            "GET",
            "/api/v1/users/u1/sessions",
            "offset=1&limit=2&metadata_filter=%7B%22type%22%3A+%22chat%22%7D"
            "&status_filter=pending&status_filter=processing",
            b"",
        ),
        (
            "POST",
            f"{base}/add-message",
            "",
            '{"message":"Hello! \\"quoted\\" é","role":"user"}'.encode(),
        ),
        ("GET", f"{base}/messages", "offset=0&limit=50", b""),
        ("PUT", base, "", b"{}"),
        ("PUT", base, "", b'{"new_metadata":{"k":"v"}}'),
        ("GET", f"{base}/context", context_query, b""),
        (
            "GET",
            f"{base}/context",
            "recall_strategy=low_latency&min_top_k=10&max_top_k=100&memories_threshold=0.25"
            "&summaries_threshold=0.8&include_system_prompt=false&include_metadata_ids=true"
            "&last_n_messages=20&last_n_summaries=5&timezone=America%2FLos_Angeles",
            b"",
        ),
        ("GET", f"{base}/context", context_query + "&stream=true", b""),
        ("GET", "/api/v1/users/u1/messages", "limit=5", b""),
        ("POST", f"{base}/process", "", b""),
        ("DELETE", base, "", b""),
    ]
    seen = [
        (r.method, r.raw_path, r.query_string, r.body)
        for r in recallrai_emulator.requests
        if r.raw_path.startswith("/api/v1/users/u1")
    ]
    assert seen == expected
    by_path = [r for r in recallrai_emulator.requests if r.raw_path.startswith("/api/v1/users/u1")]
    stream_request = by_path[9]
    assert stream_request.headers["Accept"] == "text/event-stream"
    assert by_path[8].headers["Accept"] == "application/json"
    process_request = by_path[11]
    assert process_request.headers["Content-Length"] == "0"
    assert process_request.headers["Content-Type"] == "application/json"
