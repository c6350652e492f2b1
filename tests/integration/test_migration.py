"""Code written for the official ``recallrai`` 0.6.6 client, in the idioms its README
documents, runs unchanged on ours: imports from the official module paths, the official
argument spellings, attribute reads on results, ``while page.has_more:`` loops, the
try/except chains and the async variant "identical with ``await``". Both styles, both
transports, against the emulator. Users, sessions, messages, context, streaming and the
exception classes are here; memories, last-N messages and merge conflicts are in
``test_migration_memories.py``.

The data and wording are our own; only the shapes of the calls follow the official README.
"""

from __future__ import annotations

import gc
import json
import re
import socket
from datetime import datetime, timedelta, timezone

import pytest

import recallrai.exceptions.auth as auth_errors
import recallrai.exceptions.base as base_errors
import recallrai.exceptions.merge_conflicts as conflict_errors
import recallrai.exceptions.network as network_errors
import recallrai.exceptions.server as server_errors
import recallrai.exceptions.sessions as session_errors
import recallrai.exceptions.users as user_errors
import recallrai.exceptions.validation as validation_errors
from recallrai import AsyncRecallrAI, RecallrAI
from recallrai import exceptions as errors
from recallrai.async_client import AsyncRecallrAI as AsyncClientFromModule
from recallrai.async_session import AsyncSession
from recallrai.async_user import AsyncUser
from recallrai.client import RecallrAI as ClientFromModule
from recallrai.emulator import Emulator
from recallrai.exceptions import (
    InvalidSessionStateError,
    RecallrAIError,
    SessionNotFoundError,
    StreamError,
    UserAlreadyExistsError,
    UserNotFoundError,
    ValidationError,
)
from recallrai.models import MessageRole, RecallStrategy, SessionStatus
from recallrai.session import Session
from recallrai.user import User

LA_STAMP = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d P[SD]T")


def assert_utc(moment: object) -> None:
    assert isinstance(moment, datetime)
    assert moment.utcoffset() == timedelta(0)


def closed_port_url() -> str:
    """The URL of a loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def finish_processing_sync(session: Session, emulator: Emulator) -> None:
    session.process()
    emulator.settle()
    session.refresh()
    assert session.status == SessionStatus.PROCESSED


async def finish_processing(session: AsyncSession, emulator: Emulator) -> None:
    await session.process()
    emulator.settle()
    await session.refresh()
    assert session.status == SessionStatus.PROCESSED


# --------------------------------------------------------------------------- construction


def test_sync_client_from_the_official_arguments(recallrai_emulator: Emulator) -> None:
    emu = recallrai_emulator
    by_keyword = RecallrAI(
        api_key=emu.api_key,
        project_id=emu.project_id,
        base_url=emu.base_url,
        timeout=60,
    )
    by_position = ClientFromModule(emu.api_key, emu.project_id, emu.base_url, 60)
    assert ClientFromModule is RecallrAI
    made = by_keyword.create_user(user_id="built-by-keyword")
    assert made.user_id == "built-by-keyword"
    assert by_position.get_user("built-by-keyword").user_id == "built-by-keyword"
    assert by_keyword.base_url == by_position.base_url == emu.base_url
    # the official client is never closed: dropping it must not warn or leak
    del by_keyword, by_position, made
    gc.collect()


@pytest.mark.anyio
async def test_async_client_from_the_official_arguments(recallrai_emulator: Emulator) -> None:
    emu = recallrai_emulator
    assert AsyncClientFromModule is AsyncRecallrAI
    async with AsyncRecallrAI(
        api_key=emu.api_key, project_id=emu.project_id, base_url=emu.base_url, timeout=60
    ) as client:
        made = await client.create_user(user_id="async-keyword")
        assert isinstance(made, AsyncUser) and made.user_id == "async-keyword"
    positional = AsyncClientFromModule(emu.api_key, emu.project_id, emu.base_url, 60)
    assert (await positional.get_user("async-keyword")).user_id == "async-keyword"
    await positional.close()


# --------------------------------------------------------------------------- users


def test_sync_user_lifecycle(sync_client: RecallrAI) -> None:
    client = sync_client
    user = client.create_user(user_id="ada", metadata={"name": "Ada Byron"})
    assert isinstance(user, User)
    assert user.user_id == "ada"
    assert user.metadata == {"name": "Ada Byron"}
    assert user.merge_conflict_enabled is None  # inherits the project setting
    assert_utc(user.created_at)
    assert_utc(user.last_active_at)

    caught: RecallrAIError | None = None
    try:
        client.create_user(user_id="ada", metadata={"name": "someone else"})
    except UserAlreadyExistsError as e:
        caught = e
    assert isinstance(caught, user_errors.UserAlreadyExistsError)
    assert caught.http_status == 409 and "ada" in str(caught)

    fetched = client.get_user("ada")
    assert fetched.metadata == {"name": "Ada Byron"}
    assert fetched.created_at == user.created_at
    assert fetched.last_active_at >= user.created_at
    try:
        client.get_user("nobody-here")
        raise AssertionError("no UserNotFoundError")
    except UserNotFoundError as e:
        assert e.http_status == 404 and "nobody-here" in e.message

    # update() mutates the instance and returns nothing
    assert (
        fetched.update(
            new_metadata={"name": "Ada Byron", "role": "admin"},
            new_user_id="countess",
            merge_conflict_enabled=True,
        )
        is None
    )
    assert fetched.user_id == "countess"
    assert fetched.metadata == {"name": "Ada Byron", "role": "admin"}
    assert fetched.merge_conflict_enabled is True
    assert_utc(fetched.last_active_at)
    with pytest.raises(user_errors.UserNotFoundError):
        client.get_user("ada")
    assert client.get_user("countess").merge_conflict_enabled is True

    client.create_user("babbage")
    outcome = ""
    try:
        fetched.update(new_user_id="babbage")
    except UserNotFoundError:
        outcome = "not found"
    except UserAlreadyExistsError as e:
        outcome = f"taken {e.http_status}"
    assert outcome == "taken 409"
    assert fetched.user_id == "countess"

    # refresh() reloads what another handle changed
    other = client.get_user("countess")
    other.update(new_metadata={"role": "owner"}, merge_conflict_enabled=False)
    assert fetched.metadata == {"name": "Ada Byron", "role": "admin"}
    assert fetched.refresh() is None
    assert fetched.metadata == {"role": "owner"}
    assert fetched.merge_conflict_enabled is False
    assert fetched.created_at == user.created_at

    assert client.get_user("countess").delete() is None
    with pytest.raises(UserNotFoundError):
        client.get_user("countess")
    with pytest.raises(UserNotFoundError):
        fetched.delete()
    with pytest.raises(UserNotFoundError):
        fetched.refresh()

    # the README's get-or-create idiom, and specific-before-general handling
    def get_or_create(user_id: str) -> User:
        try:
            return client.get_user(user_id)
        except UserNotFoundError:
            return client.create_user(user_id)

    assert get_or_create("lin").user_id == get_or_create("lin").user_id == "lin"
    assert client.list_users(metadata_filter={}).total == 2  # babbage and lin
    handled = ""
    try:
        client.get_user("ghost")
    except UserNotFoundError:
        handled = "specific"
    except RecallrAIError:
        handled = "general"
    assert handled == "specific"
    with pytest.raises(RecallrAIError):
        client.get_user("ghost")


@pytest.mark.anyio
async def test_async_user_lifecycle(async_client: AsyncRecallrAI) -> None:
    client = async_client
    user = await client.create_user(user_id="ada", metadata={"name": "Ada Byron"})
    assert isinstance(user, AsyncUser)
    assert (user.user_id, user.metadata) == ("ada", {"name": "Ada Byron"})
    assert user.merge_conflict_enabled is None
    assert_utc(user.created_at)
    assert_utc(user.last_active_at)
    with pytest.raises(UserAlreadyExistsError) as taken:
        await client.create_user(user_id="ada")
    assert taken.value.http_status == 409

    fetched = await client.get_user("ada")
    assert fetched.metadata == {"name": "Ada Byron"}
    try:
        await client.get_user("nobody-here")
        raise AssertionError("no UserNotFoundError")
    except user_errors.UserNotFoundError as e:
        assert e.http_status == 404

    assert (
        await fetched.update(
            new_metadata={"role": "admin"}, new_user_id="countess", merge_conflict_enabled=True
        )
        is None
    )
    assert (fetched.user_id, fetched.metadata) == ("countess", {"role": "admin"})
    assert fetched.merge_conflict_enabled is True
    await client.create_user("babbage")
    with pytest.raises(UserAlreadyExistsError):
        await fetched.update(new_user_id="babbage")

    other = await client.get_user("countess")
    await other.update(new_metadata={"role": "owner"})
    await fetched.refresh()
    assert fetched.metadata == {"role": "owner"} and fetched.created_at == user.created_at

    await (await client.get_user("countess")).delete()
    with pytest.raises(UserNotFoundError):
        await client.get_user("countess")
    with pytest.raises(UserNotFoundError):
        await fetched.delete()

    async def get_or_create(user_id: str) -> AsyncUser:
        try:
            return await client.get_user(user_id)
        except UserNotFoundError:
            return await client.create_user(user_id)

    assert (await get_or_create("lin")).user_id == (await get_or_create("lin")).user_id
    assert (await client.list_users()).total == 2


def test_sync_list_users_and_has_more(
    sync_client: RecallrAI, capsys: pytest.CaptureFixture[str]
) -> None:
    client = sync_client
    for n in range(5):
        client.create_user(f"member-{n}", metadata={"role": "admin" if n % 2 else "viewer"})

    user_list = client.list_users(offset=0, limit=10, metadata_filter={"role": "admin"})
    print(f"Total users: {user_list.total}")
    print(f"Has more users: {user_list.has_more}")
    assert capsys.readouterr().out == "Total users: 2\nHas more users: False\n"
    assert sorted(u.user_id for u in user_list.users) == ["member-1", "member-3"]
    for u in user_list.users:
        assert isinstance(u, User)
        assert u.metadata == {"role": "admin"}
        assert u.merge_conflict_enabled is None
        assert_utc(u.created_at)
        assert u.last_active_at >= u.created_at

    # the official loop: has_more read as an attribute, offsets counted by hand
    offset, limit = 0, 2
    page = client.list_users(offset=offset, limit=limit)
    print(page.has_more)
    seen = [u.user_id for u in page.users]
    rounds = 0
    while page.has_more:
        rounds += 1
        assert rounds < 10, "the while page.has_more loop does not end"
        offset += limit
        page = client.list_users(offset=offset, limit=limit)
        seen += [u.user_id for u in page.users]
    print(page.has_more)
    assert capsys.readouterr().out == "True\nFalse\n"
    assert rounds == 2
    assert sorted(seen) == [f"member-{n}" for n in range(5)]
    assert page.total == 5 and len(page.users) == 1
    assert page.has_more == False  # noqa: E712 - compared the way a bool is
    assert not page.has_more


@pytest.mark.anyio
async def test_async_list_users_and_has_more(
    async_client: AsyncRecallrAI, capsys: pytest.CaptureFixture[str]
) -> None:
    for n in range(5):
        await async_client.create_user(f"member-{n}", metadata={"role": "admin" if n < 3 else "x"})
    admins = await async_client.list_users(offset=0, limit=10, metadata_filter={"role": "admin"})
    assert admins.total == 3 and sorted(u.user_id for u in admins.users) == [
        "member-0",
        "member-1",
        "member-2",
    ]
    offset, seen, rounds = 0, [], 0
    page = await async_client.list_users(offset=offset, limit=2)
    seen += [u.user_id for u in page.users]
    print(f"Has more users: {page.has_more}")
    while page.has_more:
        rounds += 1
        assert rounds < 10, "the while page.has_more loop does not end"
        offset += 2
        page = await async_client.list_users(offset=offset, limit=2)
        seen += [u.user_id for u in page.users]
    print(f"Has more users: {page.has_more}")
    assert capsys.readouterr().out == "Has more users: True\nHas more users: False\n"
    assert rounds == 2 and sorted(seen) == [f"member-{n}" for n in range(5)]
    assert all(isinstance(u, AsyncUser) for u in page.users)


# --------------------------------------------------------------------------- sessions


def test_sync_sessions_and_messages(
    sync_client: RecallrAI, recallrai_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = sync_client.create_user("grace")
    session: Session = user.create_session(
        auto_process_after_seconds=600, metadata={"type": "chat"}
    )
    assert isinstance(session, Session)
    assert session.status == SessionStatus.PENDING
    assert session.metadata == {"type": "chat"}
    assert_utc(session.created_at)
    long_ago = datetime(2023, 11, 5, 8, 15, tzinfo=timezone.utc)
    imported = user.create_session(
        auto_process_after_seconds=1800,
        metadata={"type": "import"},
        custom_created_at_utc=long_ago,
    )
    assert imported.created_at == long_ago
    # a naive or non-UTC datetime is refused, as by the official client
    with pytest.raises(ValueError):
        user.create_session(custom_created_at_utc=datetime(2023, 11, 5, 8, 15))
    with pytest.raises(ValueError):
        user.create_session(
            custom_created_at_utc=datetime(2023, 11, 5, 8, 15, tzinfo=timezone(timedelta(hours=2)))
        )
    assert user.list_sessions().total == 2

    same = user.get_session(session_id=session.session_id)
    print("Session status:", same.status)
    assert same.status == SessionStatus.PENDING and same.metadata == {"type": "chat"}
    try:
        user.get_session(session_id="no-such-session")
        raise AssertionError("no SessionNotFoundError")
    except UserNotFoundError:
        raise AssertionError("a missing session reported as a missing user") from None
    except SessionNotFoundError as e:
        assert e.http_status == 404
    with pytest.raises(session_errors.SessionNotFoundError):
        user.get_session("no-such-session")

    assert same.update(new_metadata={"type": "support_chat"}) is None
    assert same.metadata == {"type": "support_chat"}
    assert session.metadata == {"type": "chat"}
    assert session.refresh() is None
    assert session.metadata == {"type": "support_chat"}
    assert session.status == SessionStatus.PENDING

    session.add_message(role=MessageRole.USER, content="Hi, my parcel never arrived.")
    session.add_message(role=MessageRole.ASSISTANT, content="Sorry! What is the tracking code?")
    session.add_message(role=MessageRole.USER, content="It is ZX-4417.")
    messages = session.get_messages(offset=0, limit=50)
    assert [f"{m.role.value.upper()}: {m.content}" for m in messages.messages] == [
        "USER: Hi, my parcel never arrived.",
        "ASSISTANT: Sorry! What is the tracking code?",
        "USER: It is ZX-4417.",
    ]
    assert messages.total == 3 and not messages.has_more
    for msg in messages.messages:
        assert_utc(msg.timestamp)
    middle = session.get_messages(offset=1, limit=1)
    assert [m.content for m in middle.messages] == ["Sorry! What is the tracking code?"]
    assert middle.total == 3 and middle.has_more
    assert middle.messages[0].role == MessageRole.ASSISTANT

    session_list = user.list_sessions(
        offset=0,
        limit=10,
        metadata_filter={"type": "support_chat"},
        status_filter=[SessionStatus.PENDING, SessionStatus.PROCESSING],
    )
    assert session_list.total == 1 and not session_list.has_more
    assert [(s.session_id, s.status, s.metadata) for s in session_list.sessions] == [
        (session.session_id, SessionStatus.PENDING, {"type": "support_chat"})
    ]
    assert all(isinstance(s, Session) for s in session_list.sessions)
    first = user.list_sessions(offset=0, limit=1)
    assert first.total == 2 and first.has_more and len(first.sessions) == 1

    # processing: PENDING -> PROCESSING -> PROCESSED; a processing session takes no more
    monkeypatch.setattr(recallrai_emulator, "processing_delay", 3600)
    assert session.process() is None
    session.refresh()
    assert session.status == SessionStatus.PROCESSING
    with pytest.raises(InvalidSessionStateError) as late:
        session.add_message(role=MessageRole.USER, content="Any news?")
    assert isinstance(late.value, session_errors.SessionError) and late.value.http_status == 400
    with pytest.raises(InvalidSessionStateError):
        session.process()
    pending = user.list_sessions(status_filter=[SessionStatus.PENDING])
    assert [s.session_id for s in pending.sessions] == [imported.session_id]
    busy = user.list_sessions(status_filter=[SessionStatus.PROCESSING])
    assert [s.status for s in busy.sessions] == [SessionStatus.PROCESSING]
    recallrai_emulator.settle()
    session.refresh()
    assert session.status == SessionStatus.PROCESSED
    done = user.list_sessions(status_filter=[SessionStatus.PROCESSED])
    assert [s.session_id for s in done.sessions] == [session.session_id]

    assert imported.delete() is None
    with pytest.raises(SessionNotFoundError):
        user.get_session(session_id=imported.session_id)
    with pytest.raises(SessionNotFoundError):
        imported.delete()
    for gone in (
        lambda: imported.add_message(role=MessageRole.USER, content="Hello?"),
        lambda: imported.process(),
        lambda: imported.update(new_metadata={"type": "x"}),
        lambda: imported.refresh(),
        lambda: imported.get_messages(offset=0, limit=50),
        lambda: imported.get_context(),
    ):
        with pytest.raises(SessionNotFoundError):
            gone()
    assert user.list_sessions().total == 1

    # session calls for a user deleted meanwhile report the user
    sync_client.get_user("grace").delete()
    with pytest.raises(UserNotFoundError):
        user.get_session(session_id=session.session_id)
    with pytest.raises(UserNotFoundError):
        user.create_session(auto_process_after_seconds=600)
    with pytest.raises(UserNotFoundError):
        user.list_sessions()


@pytest.mark.anyio
async def test_async_sessions_and_messages(
    async_client: AsyncRecallrAI, recallrai_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = await async_client.create_user("grace")
    session = await user.create_session(auto_process_after_seconds=600, metadata={"type": "chat"})
    assert isinstance(session, AsyncSession)
    assert session.status == SessionStatus.PENDING and session.metadata == {"type": "chat"}
    long_ago = datetime(2022, 2, 2, 22, 0, tzinfo=timezone.utc)
    imported = await user.create_session(
        auto_process_after_seconds=900, metadata={"type": "import"}, custom_created_at_utc=long_ago
    )
    assert imported.created_at == long_ago

    same = await user.get_session(session_id=session.session_id)
    assert same.status == SessionStatus.PENDING
    with pytest.raises(SessionNotFoundError):
        await user.get_session(session_id="no-such-session")
    await same.update(new_metadata={"type": "support_chat"})
    assert same.metadata == {"type": "support_chat"}
    await session.refresh()
    assert session.metadata == {"type": "support_chat"}

    await session.add_message(role=MessageRole.USER, content="Is the shop open on Sunday?")
    await session.add_message(role=MessageRole.ASSISTANT, content="Yes, from ten to four.")
    messages = await session.get_messages(offset=0, limit=50)
    assert [f"{m.role.value.upper()}: {m.content}" for m in messages.messages] == [
        "USER: Is the shop open on Sunday?",
        "ASSISTANT: Yes, from ten to four.",
    ]
    assert messages.total == 2 and not messages.has_more
    assert (await session.get_messages(offset=0, limit=1)).has_more

    session_list = await user.list_sessions(
        offset=0,
        limit=10,
        metadata_filter={"type": "support_chat"},
        status_filter=[SessionStatus.PENDING, SessionStatus.PROCESSING],
    )
    assert [(s.session_id, s.status) for s in session_list.sessions] == [
        (session.session_id, SessionStatus.PENDING)
    ]
    assert session_list.total == 1 and not session_list.has_more

    monkeypatch.setattr(recallrai_emulator, "processing_delay", 3600)
    await session.process()
    await session.refresh()
    assert session.status == SessionStatus.PROCESSING
    with pytest.raises(InvalidSessionStateError):
        await session.add_message(role=MessageRole.USER, content="And Monday?")
    pending = await user.list_sessions(status_filter=[SessionStatus.PENDING])
    assert [s.session_id for s in pending.sessions] == [imported.session_id]
    recallrai_emulator.settle()
    await session.refresh()
    assert session.status == SessionStatus.PROCESSED

    await imported.delete()
    with pytest.raises(SessionNotFoundError):
        await user.get_session(session_id=imported.session_id)
    assert (await user.list_sessions()).total == 1


# --------------------------------------------------------------------------- context


def test_sync_context_and_stream(sync_client: RecallrAI, recallrai_emulator: Emulator) -> None:
    user = sync_client.create_user("hedy")
    earlier = user.create_session(metadata={"type": "chat"})
    earlier.add_message(role=MessageRole.USER, content="I love pizza. I live in Oslo.")
    finish_processing_sync(earlier, recallrai_emulator)
    memory_ids = {m.memory_id for m in user.list_memories().items}
    assert len(memory_ids) == 2

    session = user.create_session(auto_process_after_seconds=1800)
    session.add_message(role=MessageRole.USER, content="Where is good pizza in Oslo tonight?")
    session.add_message(role=MessageRole.ASSISTANT, content="Let me think about that.")

    context = session.get_context()
    assert isinstance(context.context, str)
    assert "- I love pizza" in context.context and "- I live in Oslo" in context.context
    assert "balanced" in context.context  # the default strategy's system prompt
    for strategy in (RecallStrategy.LOW_LATENCY, RecallStrategy.AGENTIC):
        assert strategy.value in session.get_context(recall_strategy=strategy).context

    tuned = session.get_context(
        recall_strategy=RecallStrategy.BALANCED,
        min_top_k=10,
        max_top_k=100,
        memories_threshold=0.6,
        summaries_threshold=0.5,
        last_n_messages=20,
        last_n_summaries=5,
        timezone="America/Los_Angeles",
    )
    assert "Recent messages:" in tuned.context and "Session summaries:" in tuned.context
    assert "Where is good pizza in Oslo tonight?" in tuned.context
    assert LA_STAMP.search(tuned.context)
    bare = session.get_context(include_system_prompt=False)
    assert bare.context.startswith("Memories:")

    detailed = session.get_context(include_metadata_ids=True)
    assert detailed.metadata
    assert set(detailed.metadata.memory_ids) == memory_ids
    assert earlier.session_id in detailed.metadata.session_ids
    assert detailed.metadata.vector_search_queries is None
    assert detailed.metadata.keywords is None
    assert detailed.metadata.session_summaries_search_queries is None
    assert detailed.metadata.date_range_filters is None
    assert detailed.metadata.agent_reasoning is None

    # the README's loop over a stream
    statuses: list[str] = []
    finals: list[str | None] = []
    failures: list[str] = []
    for event in session.get_context_stream(
        recall_strategy=RecallStrategy.BALANCED, timezone="America/Los_Angeles"
    ):
        if event.status_update_message:
            statuses.append(event.status_update_message)
        if event.metadata:
            assert event.is_final
        if event.is_final:
            if event.error_message:
                failures.append(event.error_message)
            else:
                finals.append(event.context)
    assert statuses and all(isinstance(s, str) for s in statuses)
    assert failures == []
    expected = session.get_context(
        recall_strategy=RecallStrategy.BALANCED, timezone="America/Los_Angeles"
    )
    assert finals == [expected.context]

    # the README's LLM example: the context glued to a prompt, the history as chat messages
    system_prompt = "You are a helpful assistant" + context.context
    assert (
        system_prompt.startswith("You are a helpful assistant")
        and "- I love pizza" in system_prompt
    )
    history = session.get_messages(offset=0, limit=50)
    previous = [{"role": message.role, "content": message.content} for message in history.messages]
    assert json.loads(json.dumps(previous)) == [
        {"role": "user", "content": "Where is good pizza in Oslo tonight?"},
        {"role": "assistant", "content": "Let me think about that."},
    ]


@pytest.mark.anyio
async def test_async_context_and_stream(
    async_client: AsyncRecallrAI, recallrai_emulator: Emulator
) -> None:
    user = await async_client.create_user("hedy")
    earlier = await user.create_session(metadata={"type": "chat"})
    await earlier.add_message(role=MessageRole.USER, content="I love ramen. I live in Kyoto.")
    await finish_processing(earlier, recallrai_emulator)
    memory_ids = {m.memory_id for m in (await user.list_memories()).items}

    session = await user.create_session()
    await session.add_message(role=MessageRole.USER, content="Any ramen near Kyoto station?")
    context = await session.get_context()
    assert "- I love ramen" in context.context
    low = await session.get_context(recall_strategy=RecallStrategy.LOW_LATENCY)
    assert "low_latency" in low.context
    tuned = await session.get_context(
        recall_strategy=RecallStrategy.BALANCED,
        min_top_k=10,
        max_top_k=100,
        memories_threshold=0.6,
        summaries_threshold=0.5,
        last_n_messages=20,
        last_n_summaries=5,
        timezone="America/Los_Angeles",
    )
    assert "Recent messages:" in tuned.context and LA_STAMP.search(tuned.context)
    detailed = await session.get_context(include_metadata_ids=True)
    assert detailed.metadata and set(detailed.metadata.memory_ids) == memory_ids
    assert earlier.session_id in detailed.metadata.session_ids
    assert detailed.metadata.keywords is None and detailed.metadata.agent_reasoning is None

    statuses: list[str] = []
    finals: list[str | None] = []
    async for event in session.get_context_stream(
        recall_strategy=RecallStrategy.BALANCED, timezone="America/Los_Angeles"
    ):
        if event.status_update_message:
            statuses.append(event.status_update_message)
        if event.is_final:
            assert not event.error_message
            finals.append(event.context)
    assert statuses
    assert finals == [
        (
            await session.get_context(
                recall_strategy=RecallStrategy.BALANCED, timezone="America/Los_Angeles"
            )
        ).context
    ]


# A deliberate difference (PROTOCOL.md §12, README "Migrating"): a final event carrying
# ``error_message`` raises StreamError (a RecallrAIError, carrying the text) after the events
# before it, where the official client yields it; the README's ``except RecallrAIError`` sees it.


def test_sync_stream_final_error_raises_after_the_progress_events(
    sync_client: RecallrAI, recallrai_emulator: Emulator
) -> None:
    session = sync_client.create_user("stream-err").create_session()
    session.add_message(role=MessageRole.USER, content="Hello")
    recallrai_emulator.fail_next_stream("the recall backend is down")
    progress: list[str] = []
    with pytest.raises(RecallrAIError) as caught:
        for event in session.get_context_stream(recall_strategy=RecallStrategy.BALANCED):
            assert not event.is_final
            progress.append(event.status_update_message or "")
    assert isinstance(caught.value, StreamError)
    assert caught.value.detail == "the recall backend is down"
    assert progress and all(progress)


@pytest.mark.anyio
async def test_async_stream_final_error_raises_after_the_progress_events(
    async_client: AsyncRecallrAI, recallrai_emulator: Emulator
) -> None:
    session = await (await async_client.create_user("stream-err")).create_session()
    await session.add_message(role=MessageRole.USER, content="Hello")
    recallrai_emulator.fail_next_stream("the recall backend is down")
    progress: list[str] = []
    with pytest.raises(RecallrAIError) as caught:
        async for event in session.get_context_stream(recall_strategy=RecallStrategy.BALANCED):
            assert not event.is_final
            progress.append(event.status_update_message or "")
    assert isinstance(caught.value, StreamError)
    assert caught.value.detail == "the recall backend is down"
    assert progress and all(progress)


# --------------------------------------------------------------------------- exceptions

README_EXCEPTIONS = [
    "RecallrAIError",
    "AuthenticationError",
    "TimeoutError",
    "ConnectionError",
    "InternalServerError",
    "RateLimitError",
    "SessionNotFoundError",
    "InvalidSessionStateError",
    "UserNotFoundError",
    "UserAlreadyExistsError",
    "InvalidCategoriesError",
    "ValidationError",
    "MergeConflictError",
    "MergeConflictNotFoundError",
    "MergeConflictAlreadyResolvedError",
    "MergeConflictInvalidQuestionsError",
    "MergeConflictMissingAnswersError",
    "MergeConflictInvalidAnswerError",
]

# (child, parent) for every edge of the README's hierarchy, from the submodule paths
HIERARCHY = [
    (base_errors.RecallrAIError, Exception),
    (auth_errors.AuthenticationError, base_errors.RecallrAIError),
    (network_errors.NetworkError, base_errors.RecallrAIError),
    (server_errors.ServerError, base_errors.RecallrAIError),
    (user_errors.UserError, base_errors.RecallrAIError),
    (session_errors.SessionError, base_errors.RecallrAIError),
    (conflict_errors.MergeConflictError, base_errors.RecallrAIError),
    (validation_errors.ValidationError, base_errors.RecallrAIError),
    (network_errors.TimeoutError, network_errors.NetworkError),
    (network_errors.ConnectionError, network_errors.NetworkError),
    (server_errors.InternalServerError, server_errors.ServerError),
    (server_errors.RateLimitError, server_errors.ServerError),
    (user_errors.UserNotFoundError, user_errors.UserError),
    (user_errors.UserAlreadyExistsError, user_errors.UserError),
    (user_errors.InvalidCategoriesError, user_errors.UserError),
    (session_errors.InvalidSessionStateError, session_errors.SessionError),
    (session_errors.SessionNotFoundError, session_errors.SessionError),
    (conflict_errors.MergeConflictNotFoundError, conflict_errors.MergeConflictError),
    (conflict_errors.MergeConflictAlreadyResolvedError, conflict_errors.MergeConflictError),
    (conflict_errors.MergeConflictInvalidQuestionsError, conflict_errors.MergeConflictError),
    (conflict_errors.MergeConflictMissingAnswersError, conflict_errors.MergeConflictError),
    (conflict_errors.MergeConflictInvalidAnswerError, conflict_errors.MergeConflictError),
]


def test_exception_names_and_hierarchy() -> None:
    for name in README_EXCEPTIONS:
        cls = getattr(errors, name)
        assert issubclass(cls, base_errors.RecallrAIError), name
        assert name in errors.__all__
    for child, parent in HIERARCHY:
        assert issubclass(child, parent), (child, parent)
        # the submodule path and the package path name the same class
        assert getattr(errors, child.__name__) is child
    # the official positional signature: (message, http_status)
    raised = user_errors.UserNotFoundError("User x not found", 404)
    assert (raised.message, raised.http_status) == ("User x not found", 404)
    assert "User x not found" in str(raised)
    assert user_errors.InvalidCategoriesError("bad", 400, ["pets"]).invalid_categories == ["pets"]


def test_sync_errors_over_the_wire(
    sync_client: RecallrAI, recallrai_emulator: Emulator, transport: str
) -> None:
    emu = recallrai_emulator
    user = sync_client.create_user("wire")

    emu.inject_fault(401, {"detail": "Invalid API key"})
    with pytest.raises(errors.AuthenticationError) as denied:
        sync_client.get_user("wire")
    assert denied.value.http_status == 401

    emu.inject_fault(500, {"detail": "database unavailable"})
    try:
        user.refresh()
        raise AssertionError("no InternalServerError")
    except errors.InternalServerError as e:
        assert isinstance(e, server_errors.ServerError) and e.http_status == 500

    emu.inject_fault(429, {"detail": "Slow down"}, {"Retry-After": "7"})
    with pytest.raises(errors.RateLimitError) as limited:
        sync_client.list_users()
    assert isinstance(limited.value, server_errors.ServerError)
    assert limited.value.http_status == 429 and limited.value.retry_after == 7

    with (
        RecallrAI(
            emu.api_key, emu.project_id, closed_port_url(), 60, max_retries=0, transport=transport
        ) as unreachable,
        pytest.raises(errors.ConnectionError) as dropped,
    ):
        unreachable.get_user("wire")
    assert isinstance(dropped.value, network_errors.NetworkError)

    with pytest.raises(ValidationError) as invalid:
        user.create_session().get_context(min_top_k=1)
    assert isinstance(invalid.value, ValueError)

    emu.inject_fault(200, {"detail": "late"}, delay=0.6)
    with (
        RecallrAI(
            emu.api_key, emu.project_id, emu.base_url, 0.15, max_retries=0, transport=transport
        ) as impatient,
        pytest.raises(errors.TimeoutError) as slow,
    ):
        impatient.get_user("wire")
    assert isinstance(slow.value, network_errors.NetworkError)
    # every one of them is a RecallrAIError
    for caught in (denied, limited, dropped, invalid, slow):
        assert isinstance(caught.value, RecallrAIError)


@pytest.mark.anyio
async def test_async_errors_over_the_wire(
    async_client: AsyncRecallrAI, recallrai_emulator: Emulator, transport: str
) -> None:
    emu = recallrai_emulator
    user = await async_client.create_user("wire")
    emu.inject_fault(401)
    with pytest.raises(auth_errors.AuthenticationError):
        await async_client.get_user("wire")
    emu.inject_fault(502)
    with pytest.raises(server_errors.InternalServerError):
        await user.refresh()
    emu.inject_fault(429, headers={"Retry-After": "3"})
    with pytest.raises(server_errors.RateLimitError) as limited:
        await user.list_sessions()
    assert limited.value.retry_after == 3
    async with AsyncRecallrAI(
        emu.api_key, emu.project_id, closed_port_url(), 60, max_retries=0, transport=transport
    ) as unreachable:
        with pytest.raises(network_errors.ConnectionError):
            await unreachable.list_users()
    with pytest.raises(validation_errors.ValidationError):
        await user.list_memories(limit=201)
