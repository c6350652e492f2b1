"""recallrai.integrations.langchain: chat history and retriever against the emulator over real HTTP.

Every behaviour in both styles: a blocking ``Session`` with ``invoke``/``stream``, an
``AsyncSession`` with ``ainvoke``/``astream``. The chat model is LangChain's fake one,
subclassed to keep what it received, so nothing leaves loopback.
"""

from __future__ import annotations

import asyncio
import logging
import re
import subprocess
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from operator import itemgetter
from pathlib import Path
from typing import Any

import pytest
from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.documents import Document
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    ChatMessage,
    FunctionMessage,
    HumanMessage,
    RemoveMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.outputs import ChatResult
from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder
from langchain_core.runnables import Runnable, RunnableLambda, RunnablePassthrough
from langchain_core.runnables.history import RunnableWithMessageHistory
from pydantic import Field

from recallrai import (
    AsyncRecallrAI,
    AsyncSession,
    AsyncUser,
    Message,
    MessageRole,
    RecallrAI,
    Session,
    User,
)
from recallrai.emulator import Emulator
from recallrai.exceptions import InternalServerError, ValidationError
from recallrai.exceptions import TimeoutError as RecallrAITimeoutError
from recallrai.integrations import langchain as adapter
from recallrai.integrations.langchain import (
    RecallrAIChatMessageHistory,
    RecallrAIRetriever,
    UnsupportedMessageError,
    UnsupportedOperationError,
)

pytestmark = pytest.mark.filterwarnings("ignore:RunnableWithMessageHistory is deprecated")

DOCS_PAGE = Path(__file__).resolve().parents[2] / "docs" / "integrations" / "langchain.md"
LOGGER = "recallrai.integrations.langchain"
REPLY = "Kyoto is lovely in autumn, go then."

PROMPT = ChatPromptTemplate.from_messages(
    [
        ("system", "You are a travel assistant. What you remember:\n{memory}"),
        MessagesPlaceholder("history"),
        ("human", "{question}"),
    ]
)


class RecordingChatModel(GenericFakeChatModel):
    """LangChain's fake chat model, keeping the messages of every call (streamed ones too)."""

    received: list[list[BaseMessage]] = Field(default_factory=list)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        self.received.append(list(messages))
        return super()._generate(messages, stop=stop, run_manager=run_manager, **kwargs)


def fake_model(*replies: str) -> RecordingChatModel:
    return RecordingChatModel(messages=iter(replies or [REPLY] * 10))


def as_text(documents: list[Document]) -> str:
    return "\n\n".join(document.page_content for document in documents)


def build_chat(
    model: RecordingChatModel,
    history: Callable[[str], RecallrAIChatMessageHistory],
    retriever: RecallrAIRetriever | None = None,
) -> RunnableWithMessageHistory:
    """prompt | model, the memory slot fed by the retriever, wrapped with the history."""
    memory: Runnable[Any, Any] = (
        itemgetter("question") | retriever | as_text
        if retriever is not None
        else RunnableLambda(lambda _: "(nothing)")
    )
    chain = RunnablePassthrough.assign(memory=memory) | PROMPT | model
    return RunnableWithMessageHistory(
        chain, history, input_messages_key="question", history_messages_key="history"
    )


def config(session: Session | AsyncSession) -> Any:
    return {"configurable": {"session_id": session.session_id}}


def add_message_requests(emulator: Emulator) -> list[dict[str, Any]]:
    return [
        r.json()
        for r in emulator.requests
        if r.method == "POST" and r.raw_path.endswith("/add-message")
    ]


def session_path(session: Session | AsyncSession, tail: str = "") -> str:
    return f"/api/v1/users/{session.user_id}/sessions/{session.session_id}{tail}"


def stored_sync(session: Session) -> list[tuple[str, str]]:
    return [(m.role.value, m.content) for m in session.get_messages()]


async def stored_async(session: AsyncSession) -> list[tuple[str, str]]:
    return [(m.role.value, m.content) async for m in session.get_messages()]


def system_text(messages: Sequence[BaseMessage]) -> str:
    assert isinstance(messages[0], SystemMessage)
    assert isinstance(messages[0].content, str)
    return messages[0].content


def warnings_of(caplog: pytest.LogCaptureFixture, name: str = LOGGER) -> list[str]:
    return [
        r.getMessage() for r in caplog.records if r.name == name and r.levelno == logging.WARNING
    ]


@pytest.fixture(autouse=True)
def _no_langsmith(monkeypatch: pytest.MonkeyPatch) -> None:
    """LangChain tracing stays off even if the developer's environment turns it on."""
    for name in ("LANGSMITH_TRACING", "LANGCHAIN_TRACING_V2", "LANGCHAIN_TRACING"):
        monkeypatch.setenv(name, "false")


@pytest.fixture
async def async_user(async_client: AsyncRecallrAI) -> AsyncUser:
    return await async_client.create_user("lc-async")


@pytest.fixture
def sync_user(sync_client: RecallrAI) -> User:
    return sync_client.create_user("lc-sync")


def remember_sync(user: User, emulator: Emulator) -> Session:
    """An earlier, processed session that left memories; returns the user's new session."""
    earlier = user.create_session()
    earlier.add_message("user", "I love sushi. My favourite city is Kyoto.")
    earlier.process()
    emulator.settle()
    return user.create_session()


async def remember_async(user: AsyncUser, emulator: Emulator) -> AsyncSession:
    earlier = await user.create_session()
    await earlier.add_message("user", "I love sushi. My favourite city is Kyoto.")
    await earlier.process()
    emulator.settle()
    return await user.create_session()


# ============================================================= chain: both messages recorded


@pytest.mark.anyio
async def test_async_chain_records_both_messages(
    async_user: AsyncUser, recallrai_emulator: Emulator
) -> None:
    session = await async_user.create_session()
    model = fake_model("Kyoto, then.", "Try Nishiki market.")
    chat = build_chat(model, lambda _: RecallrAIChatMessageHistory(session))

    first = await chat.ainvoke({"question": "Where should I go?"}, config(session))
    second = await chat.ainvoke({"question": "What should I eat?"}, config(session))

    assert (first.content, second.content) == ("Kyoto, then.", "Try Nishiki market.")
    assert await stored_async(session) == [
        ("user", "Where should I go?"),
        ("assistant", "Kyoto, then."),
        ("user", "What should I eat?"),
        ("assistant", "Try Nishiki market."),
    ]
    # the second call saw the first turn as history, read back from RecallrAI
    assert [(type(m).__name__, m.content) for m in model.received[1][1:]] == [
        ("HumanMessage", "Where should I go?"),
        ("AIMessage", "Kyoto, then."),
        ("HumanMessage", "What should I eat?"),
    ]
    assert len(add_message_requests(recallrai_emulator)) == 4


def test_sync_chain_records_both_messages(sync_user: User, recallrai_emulator: Emulator) -> None:
    session = sync_user.create_session()
    model = fake_model("Kyoto, then.", "Try Nishiki market.")
    chat = build_chat(model, lambda _: RecallrAIChatMessageHistory(session))

    first = chat.invoke({"question": "Where should I go?"}, config(session))
    second = chat.invoke({"question": "What should I eat?"}, config(session))

    assert (first.content, second.content) == ("Kyoto, then.", "Try Nishiki market.")
    assert stored_sync(session) == [
        ("user", "Where should I go?"),
        ("assistant", "Kyoto, then."),
        ("user", "What should I eat?"),
        ("assistant", "Try Nishiki market."),
    ]
    assert [(type(m).__name__, m.content) for m in model.received[1][1:]] == [
        ("HumanMessage", "Where should I go?"),
        ("AIMessage", "Kyoto, then."),
        ("HumanMessage", "What should I eat?"),
    ]
    assert len(add_message_requests(recallrai_emulator)) == 4


# ============================================== retriever: recalled context reaches the model


def check_recalled_documents(
    documents: list[Document], session: Session | AsyncSession, earlier_id: str
) -> None:
    assert len(documents) == 1
    (document,) = documents
    memories = document.page_content.split("\n\n\nMemories:\n", 1)[1].splitlines()
    assert sorted(memories) == ["- I love sushi", "- My favourite city is Kyoto"]
    assert document.metadata["source"] == "recallrai"
    assert document.metadata["user_id"] == session.user_id
    assert document.metadata["session_id"] == session.session_id
    assert document.metadata["recall_strategy_used"] == "low_latency"
    assert len(document.metadata["memory_ids"]) == 2
    assert document.metadata["session_ids"] == [earlier_id]
    assert "agent_reasoning" not in document.metadata  # unset fields are left out


@pytest.mark.anyio
async def test_async_retriever_context_reaches_the_model(
    async_user: AsyncUser, recallrai_emulator: Emulator
) -> None:
    session = await remember_async(async_user, recallrai_emulator)
    (earlier_id,) = [
        s.session_id async for s in async_user.list_sessions() if s.session_id != session.session_id
    ]
    retriever = RecallrAIRetriever(
        session=session, recall_strategy="low_latency", include_metadata_ids=True
    )
    documents = await retriever.ainvoke("ignored")
    check_recalled_documents(documents, session, earlier_id)

    model = fake_model()
    chat = build_chat(model, lambda _: RecallrAIChatMessageHistory(session), retriever)
    await chat.ainvoke({"question": "Where should I travel?"}, config(session))

    assert documents[0].page_content in system_text(model.received[0])
    queries = [
        r.query_string for r in recallrai_emulator.requests if r.raw_path.endswith("/context")
    ]
    assert len(queries) == 2 and all("recall_strategy=low_latency" in q for q in queries)
    assert "include_metadata_ids=true" in queries[-1]


def test_sync_retriever_context_reaches_the_model(
    sync_user: User, recallrai_emulator: Emulator
) -> None:
    session = remember_sync(sync_user, recallrai_emulator)
    earlier_id = next(
        s.session_id for s in sync_user.list_sessions() if s.session_id != session.session_id
    )
    retriever = RecallrAIRetriever(
        session=session, recall_strategy="low_latency", include_metadata_ids=True
    )
    documents = retriever.invoke("ignored")
    check_recalled_documents(documents, session, earlier_id)

    model = fake_model()
    chat = build_chat(model, lambda _: RecallrAIChatMessageHistory(session), retriever)
    chat.invoke({"question": "Where should I travel?"}, config(session))

    assert documents[0].page_content in system_text(model.received[0])
    queries = [
        r.query_string for r in recallrai_emulator.requests if r.raw_path.endswith("/context")
    ]
    assert len(queries) == 2 and all("recall_strategy=low_latency" in q for q in queries)


@pytest.mark.anyio
async def test_async_retriever_query_added_only_when_configured(async_user: AsyncUser) -> None:
    session = await async_user.create_session()
    options: dict[str, Any] = {"last_n_messages": 5, "include_system_prompt": False}
    ignoring = RecallrAIRetriever(session=session, **options)
    assert [d.page_content for d in await ignoring.ainvoke("I love ramen.")] == [
        "No relevant context found."
    ]
    assert await stored_async(session) == []

    adding = RecallrAIRetriever(session=session, add_query_to_session=True, **options)
    (document,) = await adding.ainvoke("I love ramen.")
    assert "user: I love ramen." in document.page_content
    await adding.ainvoke("   ")  # a blank query is not a message
    assert await stored_async(session) == [("user", "I love ramen.")]


def test_sync_retriever_query_added_only_when_configured(sync_user: User) -> None:
    session = sync_user.create_session()
    options: dict[str, Any] = {"last_n_messages": 5, "include_system_prompt": False}
    ignoring = RecallrAIRetriever(session=session, **options)
    assert [d.page_content for d in ignoring.invoke("I love ramen.")] == [
        "No relevant context found."
    ]
    assert stored_sync(session) == []

    adding = RecallrAIRetriever(session=session, add_query_to_session=True, **options)
    (document,) = adding.invoke("I love ramen.")
    assert "user: I love ramen." in document.page_content
    adding.invoke("   ")
    assert stored_sync(session) == [("user", "I love ramen.")]


# ============================================================ streaming: recorded once, whole


@pytest.mark.anyio
async def test_async_stream_records_the_reply_once_whole(
    async_user: AsyncUser, recallrai_emulator: Emulator
) -> None:
    session = await async_user.create_session()
    model = fake_model()
    retriever = RecallrAIRetriever(session=session)
    chat = build_chat(model, lambda _: RecallrAIChatMessageHistory(session), retriever)

    chunks = [c async for c in chat.astream({"question": "Where to?"}, config(session))]

    assert len(chunks) > 3 and all(isinstance(c, AIMessageChunk) for c in chunks)
    assert "".join(str(c.content) for c in chunks) == REPLY
    assert await stored_async(session) == [("user", "Where to?"), ("assistant", REPLY)]
    assert add_message_requests(recallrai_emulator) == [
        {"message": "Where to?", "role": "user"},
        {"message": REPLY, "role": "assistant"},
    ]
    assert len(model.received) == 1


def test_sync_stream_records_the_reply_once_whole(
    sync_user: User, recallrai_emulator: Emulator
) -> None:
    session = sync_user.create_session()
    model = fake_model()
    retriever = RecallrAIRetriever(session=session)
    chat = build_chat(model, lambda _: RecallrAIChatMessageHistory(session), retriever)

    chunks = list(chat.stream({"question": "Where to?"}, config(session)))

    assert len(chunks) > 3 and all(isinstance(c, AIMessageChunk) for c in chunks)
    assert "".join(str(c.content) for c in chunks) == REPLY
    assert stored_sync(session) == [("user", "Where to?"), ("assistant", REPLY)]
    assert add_message_requests(recallrai_emulator) == [
        {"message": "Where to?", "role": "user"},
        {"message": REPLY, "role": "assistant"},
    ]
    assert len(model.received) == 1


# ================================================================================= role rules

IMAGE = {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}
TOOL_CALL = {"name": "weather", "args": {"city": "Kyoto"}, "id": "call_1"}

SUPPORTED: list[tuple[BaseMessage, tuple[str, str]]] = [
    (HumanMessage("I play the cello."), ("user", "I play the cello.")),
    (AIMessage("Lovely."), ("assistant", "Lovely.")),
    (AIMessageChunk(content="A streamed reply."), ("assistant", "A streamed reply.")),
    (ChatMessage(role="User", content="From a chat message."), ("user", "From a chat message.")),
    (ChatMessage(role="human", content="Human too."), ("user", "Human too.")),
    (ChatMessage(role="assistant", content="Assistant."), ("assistant", "Assistant.")),
    (ChatMessage(role="ai", content="AI too."), ("assistant", "AI too.")),
    (
        HumanMessage(content=[{"type": "text", "text": "Look at "}, IMAGE, "this photo."]),
        ("user", "Look at this photo."),
    ),
    (
        AIMessage(content="Checking the weather.", tool_calls=[TOOL_CALL]),
        ("assistant", "Checking the weather."),
    ),
]

REFUSED: list[BaseMessage] = [
    SystemMessage("Be brief."),
    ToolMessage("Sunny", tool_call_id="call_1"),
    FunctionMessage(name="weather", content="Sunny"),
    ChatMessage(role="critic", content="Meh."),
    AIMessage(content="", tool_calls=[TOOL_CALL]),
    HumanMessage(content=[IMAGE]),
    HumanMessage("   "),
    RemoveMessage(id="m1"),
]


def check_read_back(messages: list[BaseMessage]) -> None:
    assert [(type(m), m.content) for m in messages] == [
        (HumanMessage if role == "user" else AIMessage, text) for _, (role, text) in SUPPORTED
    ]


@pytest.mark.anyio
async def test_async_role_rules(async_user: AsyncUser, recallrai_emulator: Emulator) -> None:
    session = await async_user.create_session()
    history = RecallrAIChatMessageHistory(session)
    await history.aadd_messages([message for message, _ in SUPPORTED])
    assert await stored_async(session) == [stored for _, stored in SUPPORTED]
    check_read_back(await history.aget_messages())

    sent = len(add_message_requests(recallrai_emulator))
    for refused in REFUSED:
        with pytest.raises(UnsupportedMessageError, match="RecallrAI"):
            await history.aadd_messages([HumanMessage("Before it."), refused])
    assert len(add_message_requests(recallrai_emulator)) == sent  # nothing of a refused batch

    skipping = RecallrAIChatMessageHistory(session, unsupported="skip")
    await skipping.aadd_messages([*REFUSED, HumanMessage("Kept."), *REFUSED])
    await skipping.aadd_messages(REFUSED)  # nothing left: no request
    assert (await stored_async(session))[len(SUPPORTED) :] == [("user", "Kept.")]
    assert len(add_message_requests(recallrai_emulator)) == sent + 1


def test_sync_role_rules(sync_user: User, recallrai_emulator: Emulator) -> None:
    session = sync_user.create_session()
    history = RecallrAIChatMessageHistory(session)
    history.add_messages([message for message, _ in SUPPORTED])
    assert stored_sync(session) == [stored for _, stored in SUPPORTED]
    check_read_back(history.messages)

    sent = len(add_message_requests(recallrai_emulator))
    for refused in REFUSED:
        with pytest.raises(UnsupportedMessageError, match="RecallrAI"):
            history.add_messages([HumanMessage("Before it."), refused])
        with pytest.raises(UnsupportedMessageError):
            history.add_message(refused)
    assert len(add_message_requests(recallrai_emulator)) == sent

    skipping = RecallrAIChatMessageHistory(session, unsupported="skip")
    skipping.add_messages([*REFUSED, HumanMessage("Kept."), *REFUSED])
    skipping.add_messages(REFUSED)
    assert stored_sync(session)[len(SUPPORTED) :] == [("user", "Kept.")]
    assert len(add_message_requests(recallrai_emulator)) == sent + 1


def test_unknown_role_reads_back_as_chat_message() -> None:
    stamp = datetime(2026, 1, 1, tzinfo=timezone.utc)
    message = adapter._to_langchain(Message(MessageRole("system"), "Be kind.", stamp))
    assert isinstance(message, ChatMessage)
    assert (message.role, message.content) == ("system", "Be kind.")


@pytest.mark.anyio
async def test_async_system_prompt_in_history_is_refused_in_a_chain(
    async_user: AsyncUser,
) -> None:
    """A chain whose input carries a system message: refused at recording time (the rule)."""
    session = await async_user.create_session()
    history = RecallrAIChatMessageHistory(session)
    with pytest.raises(UnsupportedMessageError):
        await history.aadd_messages([SystemMessage("You are terse."), HumanMessage("Hi")])
    assert await stored_async(session) == []


def test_unsupported_argument_checks(sync_user: User) -> None:
    session = sync_user.create_session()
    with pytest.raises(TypeError):
        RecallrAIChatMessageHistory()
    with pytest.raises(TypeError):
        RecallrAIChatMessageHistory(session, user=sync_user)
    with pytest.raises(TypeError):
        RecallrAIChatMessageHistory(session, session_id="x")
    with pytest.raises(TypeError):
        RecallrAIChatMessageHistory("not a session")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unsupported"):
        RecallrAIChatMessageHistory(session, unsupported="drop")  # type: ignore[arg-type]


# ============================================================================ clear() raises


@pytest.mark.anyio
async def test_async_clear_raises(async_user: AsyncUser) -> None:
    session = await async_user.create_session()
    history = RecallrAIChatMessageHistory(session)
    await history.aadd_messages([HumanMessage("Keep me.")])
    with pytest.raises(UnsupportedOperationError, match="cannot delete messages"):
        await history.aclear()
    with pytest.raises(NotImplementedError, match="new session"):
        await history.aclear()
    assert await stored_async(session) == [("user", "Keep me.")]


def test_sync_clear_raises(sync_user: User) -> None:
    session = sync_user.create_session()
    history = RecallrAIChatMessageHistory(session)
    history.add_user_message("Keep me.")
    with pytest.raises(UnsupportedOperationError, match="cannot delete messages"):
        history.clear()
    assert stored_sync(session) == [("user", "Keep me.")]


# ================================================================== client styles and access


@pytest.mark.anyio
async def test_sync_methods_on_the_async_client_raise(
    async_user: AsyncUser, recallrai_emulator: Emulator
) -> None:
    session = await async_user.create_session()
    history = RecallrAIChatMessageHistory(session)
    retriever = RecallrAIRetriever(session=session)
    before = len(recallrai_emulator.requests)
    assert history.is_async
    with pytest.raises(UnsupportedOperationError, match="aget_messages"):
        history.messages  # noqa: B018
    with pytest.raises(UnsupportedOperationError, match="blocking recallrai Session"):
        history.add_messages([HumanMessage("Hi")])
    with pytest.raises(UnsupportedOperationError):
        history.add_user_message("Hi")
    with pytest.raises(UnsupportedOperationError, match=r"RecallrAIRetriever\.invoke"):
        retriever.invoke("Hi")
    chat = build_chat(fake_model(), lambda _: history)
    with pytest.raises(UnsupportedOperationError):
        chat.invoke({"question": "Hi"}, config(session))
    user_history = RecallrAIChatMessageHistory(user=async_user)
    with pytest.raises(UnsupportedOperationError):
        user_history.messages  # noqa: B018
    assert str(history) == repr(history) and session.session_id in str(history)
    assert len(recallrai_emulator.requests) == before  # nothing was sent


@pytest.mark.anyio
async def test_async_methods_on_the_blocking_client_run_in_a_thread(
    sync_user: User, recallrai_emulator: Emulator
) -> None:
    session = remember_sync(sync_user, recallrai_emulator)
    history = RecallrAIChatMessageHistory(session)
    assert not history.is_async
    await history.aadd_messages([HumanMessage("Where to?"), AIMessage("Kyoto.")])
    assert [m.content for m in await history.aget_messages()] == ["Where to?", "Kyoto."]
    retriever = RecallrAIRetriever(session=session)
    (document,) = await retriever.ainvoke("")
    assert "I love sushi" in document.page_content

    model = fake_model()
    chat = build_chat(model, lambda _: history, retriever)
    chunks = [c async for c in chat.astream({"question": "And then?"}, config(session))]
    assert "".join(str(c.content) for c in chunks) == REPLY
    assert "I love sushi" in system_text(model.received[0])
    assert stored_sync(session)[-2:] == [("user", "And then?"), ("assistant", REPLY)]
    with pytest.raises(UnsupportedOperationError):
        await history.aclear()
    assert str(history).startswith("Human: Where to?")


# ================================================================= a user, session on demand


@pytest.mark.anyio
async def test_async_user_history_creates_its_session_on_first_write(
    async_user: AsyncUser, recallrai_emulator: Emulator
) -> None:
    history = RecallrAIChatMessageHistory(
        user=async_user, session_metadata={"channel": "langchain"}
    )
    before = len(recallrai_emulator.requests)
    assert history.session is None and await history.aget_messages() == []
    assert len(recallrai_emulator.requests) == before  # reading created nothing
    await asyncio.gather(
        history.aadd_messages([HumanMessage("One.")]),
        history.aadd_messages([HumanMessage("Two.")]),
    )
    sessions = [s async for s in async_user.list_sessions()]
    assert len(sessions) == 1 and sessions[0].metadata == {"channel": "langchain"}
    assert history.session is not None and history.session.session_id == sessions[0].session_id
    assert sessions[0].auto_process_after_seconds == 600
    assert sorted(m.content for m in await history.aget_messages()) == ["One.", "Two."]

    existing = RecallrAIChatMessageHistory(user=async_user, session_id=sessions[0].session_id)
    assert [m.content for m in await existing.aget_messages()] == [
        m.content for m in await history.aget_messages()
    ]
    await existing.aadd_messages([AIMessage("Three.")])
    assert len([s async for s in async_user.list_sessions()]) == 1

    chat = build_chat(
        fake_model(), lambda sid: RecallrAIChatMessageHistory(user=async_user, session_id=sid)
    )
    await chat.ainvoke({"question": "Four?"}, config(sessions[0]))
    assert (await stored_async(sessions[0]))[-2:] == [("user", "Four?"), ("assistant", REPLY)]


def test_sync_user_history_creates_its_session_on_first_write(
    sync_user: User, recallrai_emulator: Emulator
) -> None:
    history = RecallrAIChatMessageHistory(
        user=sync_user, session_metadata={"channel": "langchain"}, auto_process_after_seconds=900
    )
    before = len(recallrai_emulator.requests)
    assert history.session is None and history.messages == []
    assert len(recallrai_emulator.requests) == before
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda text: history.add_user_message(text), ["One.", "Two."]))
    sessions = list(sync_user.list_sessions())
    assert len(sessions) == 1 and sessions[0].metadata == {"channel": "langchain"}
    assert sessions[0].auto_process_after_seconds == 900
    assert history.session is not None and history.session.session_id == sessions[0].session_id
    assert sorted(m.content for m in history.messages) == ["One.", "Two."]

    existing = RecallrAIChatMessageHistory(user=sync_user, session_id=sessions[0].session_id)
    assert [m.content for m in existing.messages] == [m.content for m in history.messages]
    existing.add_ai_message("Three.")
    assert len(list(sync_user.list_sessions())) == 1

    chat = build_chat(
        fake_model(), lambda sid: RecallrAIChatMessageHistory(user=sync_user, session_id=sid)
    )
    chat.invoke({"question": "Four?"}, config(sessions[0]))
    assert stored_sync(sessions[0])[-2:] == [("user", "Four?"), ("assistant", REPLY)]


# ============================================================ failure policies: the history


@pytest.mark.anyio
async def test_async_history_is_strict_by_default(
    async_user: AsyncUser, recallrai_emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    session = await async_user.create_session()
    history = RecallrAIChatMessageHistory(session)
    assert history.strict
    recallrai_emulator.inject_fault(503, method="POST", path_prefix=session_path(session))
    with pytest.raises(InternalServerError):
        await history.aadd_messages([HumanMessage("Lost?"), AIMessage("No: raised.")])
    assert "recorded 0 of 2 messages" in warnings_of(caplog)[-1]
    recallrai_emulator.inject_fault(503, method="GET", path_prefix=session_path(session))
    with pytest.raises(InternalServerError):
        await history.aget_messages()

    chat = build_chat(fake_model(), lambda _: history)
    recallrai_emulator.inject_fault(503, method="GET", path_prefix=session_path(session))
    with pytest.raises(InternalServerError):  # reading the history: the chain fails
        await chat.ainvoke({"question": "Hi"}, config(session))
    # writing it: LangChain runs the write in a listener, whose errors it logs and swallows
    recallrai_emulator.inject_fault(503, method="POST", path_prefix=session_path(session))
    caplog.clear()
    answer = await chat.ainvoke({"question": "Hi"}, config(session))
    assert answer.content == REPLY
    assert any("on_chain_end callback" in r.getMessage() for r in caplog.records)
    assert "recorded 0 of 2 messages" in warnings_of(caplog)[-1]
    assert await stored_async(session) == []


def test_sync_history_is_strict_by_default(
    sync_user: User, recallrai_emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    session = sync_user.create_session()
    history = RecallrAIChatMessageHistory(session)
    recallrai_emulator.inject_fault(503, method="POST", path_prefix=session_path(session))
    with pytest.raises(InternalServerError):
        history.add_messages([HumanMessage("Lost?"), AIMessage("No: raised.")])
    assert "recorded 0 of 2 messages" in warnings_of(caplog)[-1]
    recallrai_emulator.inject_fault(503, method="GET", path_prefix=session_path(session))
    with pytest.raises(InternalServerError):
        history.messages  # noqa: B018

    chat = build_chat(fake_model(), lambda _: history)
    recallrai_emulator.inject_fault(503, method="GET", path_prefix=session_path(session))
    with pytest.raises(InternalServerError):
        chat.invoke({"question": "Hi"}, config(session))
    recallrai_emulator.inject_fault(503, method="POST", path_prefix=session_path(session))
    caplog.clear()
    assert chat.invoke({"question": "Hi"}, config(session)).content == REPLY
    assert any("on_chain_end callback" in r.getMessage() for r in caplog.records)
    assert stored_sync(session) == []


@pytest.mark.anyio
async def test_async_history_fail_open(
    async_user: AsyncUser, recallrai_emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    session = await async_user.create_session()
    await session.add_message("user", "Earlier.")
    history = RecallrAIChatMessageHistory(session, strict=False)
    model = fake_model()
    chat = build_chat(model, lambda _: history)

    recallrai_emulator.inject_fault(503, method="GET", path_prefix=session_path(session))
    await chat.ainvoke({"question": "First?"}, config(session))
    assert [m.content for m in model.received[0][1:]] == ["First?"]  # no history, no failure
    assert "continuing without it" in warnings_of(caplog)[0]
    assert await stored_async(session) == [
        ("user", "Earlier."),
        ("user", "First?"),
        ("assistant", REPLY),
    ]

    caplog.clear()
    recallrai_emulator.inject_fault(503, method="POST", path_prefix=session_path(session))
    assert (await chat.ainvoke({"question": "Second?"}, config(session))).content == REPLY
    (warning,) = warnings_of(caplog)
    assert warning.startswith(
        f"RecallrAI recorded 0 of 2 messages in session {session.session_id!r} "
        f"of user {session.user_id!r}: Service Unavailable"
    )
    assert not any("on_chain_end callback" in r.getMessage() for r in caplog.records)
    assert len(await stored_async(session)) == 3


def test_sync_history_fail_open(
    sync_user: User, recallrai_emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    session = sync_user.create_session()
    session.add_message("user", "Earlier.")
    history = RecallrAIChatMessageHistory(session, strict=False)
    model = fake_model()
    chat = build_chat(model, lambda _: history)

    recallrai_emulator.inject_fault(503, method="GET", path_prefix=session_path(session))
    chat.invoke({"question": "First?"}, config(session))
    assert [m.content for m in model.received[0][1:]] == ["First?"]
    assert "continuing without it" in warnings_of(caplog)[0]
    assert stored_sync(session) == [("user", "Earlier."), ("user", "First?"), ("assistant", REPLY)]

    caplog.clear()
    recallrai_emulator.inject_fault(503, method="POST", path_prefix=session_path(session))
    assert chat.invoke({"question": "Second?"}, config(session)).content == REPLY
    assert len(warnings_of(caplog)) == 1 and "recorded 0 of 2" in warnings_of(caplog)[0]
    assert not any("on_chain_end callback" in r.getMessage() for r in caplog.records)
    assert len(stored_sync(session)) == 3


# ========================================================== failure policies: the retriever


@pytest.mark.anyio
async def test_async_retriever_fails_open_by_default_and_strict_raises(
    async_user: AsyncUser, recallrai_emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    session = await remember_async(async_user, recallrai_emulator)
    model = fake_model()
    retriever = RecallrAIRetriever(session=session)
    chat = build_chat(model, lambda _: RecallrAIChatMessageHistory(session), retriever)
    context_path = session_path(session, "/context")

    recallrai_emulator.inject_fault(503, path_prefix=context_path)
    assert (await chat.ainvoke({"question": "Hi"}, config(session))).content == REPLY
    assert system_text(model.received[0]).endswith("What you remember:\n")  # no memory
    assert "continuing without memory" in warnings_of(caplog)[0]
    assert await stored_async(session) == [("user", "Hi"), ("assistant", REPLY)]
    recallrai_emulator.inject_fault(500, path_prefix=context_path)
    assert await retriever.ainvoke("") == []

    strict = RecallrAIRetriever(session=session, strict=True)
    recallrai_emulator.inject_fault(503, path_prefix=context_path)
    with pytest.raises(InternalServerError):
        await strict.ainvoke("")
    strict_chat = build_chat(model, lambda _: RecallrAIChatMessageHistory(session), strict)
    recallrai_emulator.inject_fault(503, path_prefix=context_path)
    with pytest.raises(InternalServerError):
        await strict_chat.ainvoke({"question": "Hi"}, config(session))
    with pytest.raises(ValidationError):  # bad arguments raise in fail-open mode too
        await RecallrAIRetriever(session=session, min_top_k=1).ainvoke("")
    assert "I love sushi" in (await retriever.ainvoke(""))[0].page_content  # recovered


def test_sync_retriever_fails_open_by_default_and_strict_raises(
    sync_user: User, recallrai_emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    session = remember_sync(sync_user, recallrai_emulator)
    model = fake_model()
    retriever = RecallrAIRetriever(session=session)
    chat = build_chat(model, lambda _: RecallrAIChatMessageHistory(session), retriever)
    context_path = session_path(session, "/context")

    recallrai_emulator.inject_fault(503, path_prefix=context_path)
    assert chat.invoke({"question": "Hi"}, config(session)).content == REPLY
    assert system_text(model.received[0]).endswith("What you remember:\n")
    assert "continuing without memory" in warnings_of(caplog)[0]
    assert stored_sync(session) == [("user", "Hi"), ("assistant", REPLY)]

    strict = RecallrAIRetriever(session=session, strict=True)
    recallrai_emulator.inject_fault(503, path_prefix=context_path)
    with pytest.raises(InternalServerError):
        strict.invoke("")
    strict_chat = build_chat(model, lambda _: RecallrAIChatMessageHistory(session), strict)
    recallrai_emulator.inject_fault(503, path_prefix=context_path)
    with pytest.raises(InternalServerError):
        strict_chat.invoke({"question": "Hi"}, config(session))
    with pytest.raises(ValidationError):
        RecallrAIRetriever(session=session, min_top_k=1).invoke("")
    assert "I love sushi" in retriever.invoke("")[0].page_content


@pytest.mark.anyio
async def test_async_timeout_and_retries_are_passed_on(
    async_user: AsyncUser, recallrai_emulator: Emulator
) -> None:
    session = await async_user.create_session()
    history = RecallrAIChatMessageHistory(session, max_retries=2)
    recallrai_emulator.inject_fault(503, method="GET", path_prefix=session_path(session))
    assert await history.aget_messages() == []  # retried past the fault (the client has 0)
    retriever = RecallrAIRetriever(session=session, strict=True, timeout=0.2)
    recallrai_emulator.inject_fault(503, delay=1.0, path_prefix=session_path(session))
    with pytest.raises(RecallrAITimeoutError):
        await retriever.ainvoke("")


def test_sync_timeout_and_retries_are_passed_on(
    sync_user: User, recallrai_emulator: Emulator
) -> None:
    session = sync_user.create_session()
    history = RecallrAIChatMessageHistory(session, max_retries=2)
    recallrai_emulator.inject_fault(503, method="GET", path_prefix=session_path(session))
    assert history.messages == []
    retriever = RecallrAIRetriever(session=session, strict=True, timeout=0.2)
    recallrai_emulator.inject_fault(503, delay=1.0, path_prefix=session_path(session))
    with pytest.raises(RecallrAITimeoutError):
        retriever.invoke("")


# ============================================================================ packaging


def test_import_recallrai_does_not_import_langchain() -> None:
    code = (
        "import sys, recallrai, recallrai.integrations\n"
        "recallrai.RecallrAI\n"
        "assert 'langchain_core' not in sys.modules, 'langchain_core imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_missing_langchain_core_names_the_extra() -> None:
    code = (
        "import sys\n"
        "sys.modules['langchain_core'] = None\n"
        "try:\n"
        "    import recallrai.integrations.langchain\n"
        "except ImportError as error:\n"
        "    print(error)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    )
    assert "pip install 'recallrai[langchain]'" in result.stdout


# =============================================================================== docs page


def readme_blocks() -> list[str]:
    """The ``python integration`` examples of the LangChain docs page."""
    text = DOCS_PAGE.read_text(encoding="utf-8")
    return re.findall(r"```python integration\n(.*?)```", text, re.DOTALL)


def test_readme_langchain_examples_run(
    recallrai_emulator: Emulator,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    blocks = readme_blocks()
    assert len(blocks) >= 2
    monkeypatch.setenv("RECALLRAI_API_KEY", recallrai_emulator.api_key)
    monkeypatch.setenv("RECALLRAI_PROJECT_ID", recallrai_emulator.project_id)
    monkeypatch.setenv("RECALLRAI_BASE_URL", recallrai_emulator.base_url)
    namespace: dict[str, Any] = {"__name__": "__readme_langchain__"}
    for number, block in enumerate(blocks, start=1):
        exec(compile(block, f"<docs/integrations/langchain.md block {number}>", "exec"), namespace)

    recallrai_emulator.settle()
    with RecallrAI(
        recallrai_emulator.api_key,
        recallrai_emulator.project_id,
        base_url=recallrai_emulator.base_url,
    ) as client:
        sessions = list(client.get_user("lc_traveller").list_sessions())
        assert len(sessions) == 2
        conversations = [stored_sync(session) for session in reversed(sessions)]  # oldest first
    replies = ["Kyoto, then.", "Try the sushi at Nishiki market."]
    assert conversations == [
        [
            ("user", "I love sushi. Where should I go?"),
            ("assistant", replies[0]),
            ("user", "What should I eat there?"),
            ("assistant", replies[1]),
        ],
        [
            ("user", "Back from Japan! Where next?"),
            ("assistant", replies[0]),
            ("user", "And what should I eat?"),
            ("assistant", replies[1]),
        ],
    ]
    out = capsys.readouterr().out
    assert out.startswith(f"{replies[0]}\n{replies[1]}\n")  # invoke, then the stream
    assert f"\n{replies[0]}\n{replies[1]}\n" in out  # the same with ainvoke and astream
    assert "'recall_strategy_used': 'balanced'" in out and "'memory_ids': [" in out
    contexts = [r for r in recallrai_emulator.requests if r.raw_path.endswith("/context")]
    assert len(contexts) == 5
