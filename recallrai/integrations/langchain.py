"""LangChain adapter: a chat message history and a retriever backed by a RecallrAI session.

Needs ``pip install 'recallrai[langchain]'`` (``langchain-core`` only)::

    from recallrai.integrations.langchain import RecallrAIChatMessageHistory, RecallrAIRetriever

    history = RecallrAIChatMessageHistory(session)        # a Session or an AsyncSession
    history = RecallrAIChatMessageHistory(user=user)      # a session created at the first write
    retriever = RecallrAIRetriever(session=session, include_metadata_ids=True)

Rules, also in the README's LangChain section:

* **Client styles.** Built on a blocking ``Session``/``User``, every method works: the
  sync ones natively, the async ones in a worker thread (``asyncio.to_thread``), so
  they never block the event loop. Built on an ``AsyncSession``/``AsyncUser``, only
  the async methods work (``aget_messages``, ``aadd_messages``, ``ainvoke``,
  ``astream``...); a sync one raises :class:`UnsupportedOperationError`, because an
  async client belongs to its event loop and cannot be waited on from sync code.
* **Roles.** RecallrAI stores ``user`` and ``assistant`` messages only.
  ``HumanMessage`` (and a ``ChatMessage`` with role ``user`` or ``human``) is stored
  as ``user``; ``AIMessage``, streamed chunks included (and a ``ChatMessage`` with
  role ``assistant`` or ``ai``), as ``assistant``. Any other message (system, tool,
  function, other ``ChatMessage`` roles, ``RemoveMessage``) and any message without
  text (an ``AIMessage`` that only calls tools, an image alone) is refused with
  :class:`UnsupportedMessageError` before anything of the batch is sent, or, with
  ``unsupported="skip"``, left out (logged at DEBUG). Only an ``AIMessage``'s text is
  stored, not its tool calls. Read back, ``user`` becomes a ``HumanMessage``,
  ``assistant`` an ``AIMessage``, and a role the SDK does not know yet a
  ``ChatMessage`` with that role.
* **Content.** A string is stored as it is; a list of parts as its text parts (plain
  strings and ``{"type": "text"}`` blocks) concatenated with no separator, as
  LangChain's ``message.text`` does; images and other blocks are dropped.
* **Clearing.** RecallrAI cannot delete messages from a session: ``clear()`` and
  ``aclear()`` raise :class:`UnsupportedOperationError`. Start a new session instead
  (or delete the session, with the memories derived from it, by ``session.delete()``).
* **Failures.** The history is strict by default: a RecallrAI error raises, since a
  turn that is not recorded is lost for good. ``strict=False`` logs a warning instead
  (reads then return no messages, writes are dropped). The retriever fails open by
  default (a warning and no documents: the model answers without memory);
  ``strict=True`` raises. Either way a ``ValidationError`` (bad arguments, or a message
  the service refuses) always raises, and so do this module's own errors.
  ``RunnableWithMessageHistory`` records a turn in an end-of-run listener, and LangChain
  logs and swallows exceptions from listeners: there a failed write shows as LangChain's
  warning (plus this module's), not as an exception of ``invoke``.
* **The retriever's query.** RecallrAI recalls from the session's conversation, not
  from a free query: the query is ignored by default. With
  ``add_query_to_session=True`` it is first added to the session as a user message
  (only then does the current question steer the recall); do not also record it
  through a history, or it is stored twice.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Mapping, Sequence
from typing import Any, Literal

try:
    from langchain_core.callbacks import (
        AsyncCallbackManagerForRetrieverRun,
        CallbackManagerForRetrieverRun,
    )
    from langchain_core.chat_history import BaseChatMessageHistory
    from langchain_core.documents import Document
    from langchain_core.messages import AIMessage, BaseMessage, ChatMessage, HumanMessage
    from langchain_core.retrievers import BaseRetriever
except ImportError as error:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError(
        "recallrai.integrations.langchain needs langchain-core: pip install 'recallrai[langchain]'"
    ) from error

from recallrai_sync import Session, User

from .._models import Context, Message, MessageRole, RecallStrategy
from .._sessions import AsyncSession
from .._users import AsyncUser
from ..exceptions import RecallrAIError, ValidationError

__all__ = [
    "RecallrAIChatMessageHistory",
    "RecallrAIRetriever",
    "UnsupportedMessageError",
    "UnsupportedOperationError",
]

logger = logging.getLogger(__name__)

MESSAGE_PAGE_SIZE = 500  # the largest page the API serves: fewest requests to read a history

_USER_ROLES = frozenset({"user", "human"})
_ASSISTANT_ROLES = frozenset({"assistant", "ai"})


class UnsupportedMessageError(ValueError):
    """A message RecallrAI cannot store: a role other than user/assistant, or no text."""


class UnsupportedOperationError(NotImplementedError):
    """An operation RecallrAI (or this object's client style) cannot perform.

    Raised rather than pretending: ``clear()`` (messages cannot be deleted), or a sync
    method on a history or retriever built on the async client.
    """


# ----------------------------------------------------------------------------- roles


def _text_of(content: str | list[str | dict[Any, Any]]) -> str:
    """The text of a message's content: text parts concatenated, other parts dropped."""
    if isinstance(content, str):
        return content
    parts: list[str] = []
    for part in content:
        if isinstance(part, str):
            parts.append(part)
        elif isinstance(part, dict) and part.get("type") == "text":
            text = part.get("text")
            if isinstance(text, str):
                parts.append(text)
    return "".join(parts)


def _role_of(message: BaseMessage) -> MessageRole | None:
    """The RecallrAI role of a LangChain message, ``None`` when RecallrAI has no such role."""
    if isinstance(message, HumanMessage):
        return MessageRole.USER
    if isinstance(message, AIMessage):
        return MessageRole.ASSISTANT
    if isinstance(message, ChatMessage):
        role = message.role.strip().lower()
        if role in _USER_ROLES:
            return MessageRole.USER
        if role in _ASSISTANT_ROLES:
            return MessageRole.ASSISTANT
    return None


def _describe(message: BaseMessage) -> str:
    if isinstance(message, ChatMessage):
        return f"a ChatMessage with role {message.role!r}"
    return f"a {type(message).__name__} (type {message.type!r})"


def _to_recallrai(
    messages: Sequence[BaseMessage], unsupported: Literal["raise", "skip"]
) -> list[tuple[MessageRole, str]]:
    """Each message as (role, text), all checked before any is sent; see the module rules."""
    records: list[tuple[MessageRole, str]] = []
    for message in messages:
        role = _role_of(message)
        if role is None:
            problem = f"RecallrAI stores only user and assistant messages, not {_describe(message)}"
        else:
            text = _text_of(message.content)
            if text.strip():
                records.append((role, text))
                continue
            problem = f"{_describe(message)} has no text for RecallrAI to store"
        if unsupported == "skip":
            logger.debug("Not recorded in RecallrAI: %s", problem)
            continue
        raise UnsupportedMessageError(
            f"{problem}. Keep system prompts in the prompt template, or pass "
            "unsupported='skip' to leave such messages out of the history."
        )
    return records


def _to_langchain(message: Message) -> BaseMessage:
    if message.role == MessageRole.USER:
        return HumanMessage(content=message.content)
    if message.role == MessageRole.ASSISTANT:
        return AIMessage(content=message.content)
    return ChatMessage(role=message.role.value, content=message.content)


def _sync_only_error(owner: str, operation: str) -> UnsupportedOperationError:
    return UnsupportedOperationError(
        f"{owner}.{operation} is synchronous, but this {owner} is built on the async client "
        "(AsyncSession/AsyncUser): use the async API (aget_messages, aadd_messages, "
        "ainvoke, astream...), or build it on a blocking recallrai Session or User."
    )


def _call_options(timeout: float | None, max_retries: int | None) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if timeout is not None:
        options["timeout"] = timeout
    if max_retries is not None:
        options["max_retries"] = max_retries
    return options


# --------------------------------------------------------------------------- history


class RecallrAIChatMessageHistory(BaseChatMessageHistory):
    """A LangChain chat history stored in a RecallrAI session (user and assistant turns).

    Give it a ``session`` (blocking ``Session`` or ``AsyncSession``), or a ``user``
    (``User`` or ``AsyncUser``) with the ``session_id`` of one of their sessions (a
    reference, no request), or a ``user`` alone: a session is then created at the first
    write with ``auto_process_after_seconds`` and ``session_metadata``, and read through
    :attr:`session`. Every request takes ``timeout`` and ``max_retries`` when given.
    """

    def __init__(
        self,
        session: Session | AsyncSession | None = None,
        *,
        user: User | AsyncUser | None = None,
        session_id: str | None = None,
        auto_process_after_seconds: int = 600,
        session_metadata: Mapping[str, Any] | None = None,
        unsupported: Literal["raise", "skip"] = "raise",
        strict: bool = True,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> None:
        super().__init__()
        if (session is None) == (user is None):
            raise TypeError("RecallrAIChatMessageHistory needs either a session or a user")
        if session is not None and not isinstance(session, (Session, AsyncSession)):
            raise TypeError(
                f"session must be a recallrai Session or AsyncSession, not {type(session).__name__}"
            )
        if user is not None and not isinstance(user, (User, AsyncUser)):
            raise TypeError(
                f"user must be a recallrai User or AsyncUser, not {type(user).__name__}"
            )
        if session_id is not None and user is None:
            raise TypeError("session_id goes with user=; a session is already one")
        if unsupported not in ("raise", "skip"):
            raise ValueError(f"unsupported must be 'raise' or 'skip', not {unsupported!r}")
        self._session = session
        self._user = user
        self._session_id = session_id
        self._create_options: dict[str, Any] = {
            "auto_process_after_seconds": auto_process_after_seconds,
            "metadata": session_metadata,
        }
        self._unsupported: Literal["raise", "skip"] = unsupported
        self._strict = strict
        self._options = _call_options(timeout, max_retries)
        self._is_async = isinstance(session, AsyncSession) or isinstance(user, AsyncUser)
        self._thread_lock = threading.Lock()
        self._async_lock = asyncio.Lock()

    @property
    def session(self) -> Session | AsyncSession | None:
        """The session messages go to; ``None`` while a ``user=`` history has not written yet."""
        return self._session

    @property
    def is_async(self) -> bool:
        """Whether this history is built on the async client (only async methods work)."""
        return self._is_async

    @property
    def strict(self) -> bool:
        """Whether a RecallrAI error raises (default) rather than being logged."""
        return self._strict

    # ------------------------------------------------------------------ sync API

    @property
    def messages(self) -> list[BaseMessage]:  # type: ignore[override]
        """The session's messages, oldest first (every page); ``[]`` before the first write."""
        self._require_sync("messages")
        try:
            session = self._sync_session(create=False)
            if session is None:
                return []
            pages = session.get_messages(limit=MESSAGE_PAGE_SIZE, **self._options)
            return [_to_langchain(message) for message in pages]
        except RecallrAIError as error:
            return self._read_failed(error)

    def add_messages(self, messages: Sequence[BaseMessage]) -> None:
        """Record the messages in order, one request each (checked against the role rule first)."""
        self._require_sync("add_messages")
        records = _to_recallrai(messages, self._unsupported)
        if not records:
            return
        done = 0
        try:
            session = self._sync_session(create=True)
            assert session is not None
            for role, text in records:
                session.add_message(role, text, **self._options)
                done += 1
        except RecallrAIError as error:
            self._write_failed(error, done, len(records))

    def clear(self) -> None:
        """Always raises: RecallrAI cannot delete a session's messages."""
        raise UnsupportedOperationError(
            "RecallrAI cannot delete messages from a session, so this history cannot be "
            "cleared. Start a new session for a fresh conversation (user.create_session(), "
            "or a new RecallrAIChatMessageHistory(user=...)), or delete the session with "
            "session.delete(), which also deletes the memories derived from it."
        )

    # ----------------------------------------------------------------- async API

    async def aget_messages(self) -> list[BaseMessage]:
        """The session's messages, oldest first; natively async on the async client."""
        if not self._is_async:
            return await asyncio.to_thread(lambda: self.messages)
        try:
            session = await self._async_session(create=False)
            if session is None:
                return []
            return [
                _to_langchain(message)
                async for message in session.get_messages(limit=MESSAGE_PAGE_SIZE, **self._options)
            ]
        except RecallrAIError as error:
            return self._read_failed(error)

    async def aadd_messages(self, messages: Sequence[BaseMessage]) -> None:
        """Record the messages in order, one request each (checked against the role rule first)."""
        if not self._is_async:
            await asyncio.to_thread(self.add_messages, messages)
            return
        records = _to_recallrai(messages, self._unsupported)
        if not records:
            return
        done = 0
        try:
            session = await self._async_session(create=True)
            assert session is not None
            for role, text in records:
                await session.add_message(role, text, **self._options)
                done += 1
        except RecallrAIError as error:
            self._write_failed(error, done, len(records))

    async def aclear(self) -> None:
        """Always raises, as :meth:`clear` does."""
        self.clear()

    # ------------------------------------------------------------------- helpers

    def _require_sync(self, operation: str) -> None:
        if self._is_async:
            raise _sync_only_error(type(self).__name__, operation)

    def _sync_session(self, *, create: bool) -> Session | None:
        if self._session is None:
            with self._thread_lock:
                self._resolve_sync(create)
        assert self._session is None or isinstance(self._session, Session)
        return self._session

    def _resolve_sync(self, create: bool) -> None:
        user = self._user
        if self._session is not None or not isinstance(user, User):
            return
        if self._session_id is not None:
            self._session = user.get_session(self._session_id, validate=False)
        elif create:
            self._session = user.create_session(**self._create_options, **self._options)

    async def _async_session(self, *, create: bool) -> AsyncSession | None:
        if self._session is None:
            async with self._async_lock:
                user = self._user
                if self._session is None and isinstance(user, AsyncUser):
                    if self._session_id is not None:
                        self._session = await user.get_session(self._session_id, validate=False)
                    elif create:
                        self._session = await user.create_session(
                            **self._create_options, **self._options
                        )
        assert self._session is None or isinstance(self._session, AsyncSession)
        return self._session

    def _where(self) -> str:
        if self._session is not None:
            return f"session {self._session.session_id!r} of user {self._session.user_id!r}"
        assert self._user is not None
        return f"a new session of user {self._user.user_id!r}"

    def _read_failed(self, error: RecallrAIError) -> list[BaseMessage]:
        if self._strict or isinstance(error, ValidationError):
            raise error
        logger.warning(
            "RecallrAI history unavailable, continuing without it (%s): %s", self._where(), error
        )
        return []

    def _write_failed(self, error: RecallrAIError, done: int, total: int) -> None:
        logger.warning(
            "RecallrAI recorded %d of %d messages in %s: %s", done, total, self._where(), error
        )
        if self._strict or isinstance(error, ValidationError):
            raise error

    def __repr__(self) -> str:
        if self._session is not None:
            target = f"session_id={self._session.session_id!r}"
        else:
            assert self._user is not None
            target = f"user_id={self._user.user_id!r}, session_id={self._session_id!r}"
        style = "async" if self._is_async else "sync"
        return f"{type(self).__name__}({target}, {style}, strict={self._strict})"

    def __str__(self) -> str:
        """The messages as a transcript (LangChain's format); the ``repr`` on the async client."""
        if self._is_async:
            return repr(self)
        return super().__str__()


# ------------------------------------------------------------------------- retriever


class RecallrAIRetriever(BaseRetriever):
    """Recalled context of a RecallrAI session as LangChain documents.

    Returns one ``Document`` whose text is the session's context (``[]`` when the
    context is empty) and whose metadata holds ``source`` (``"recallrai"``),
    ``user_id``, ``session_id`` and what the context reports (``recall_strategy_used``,
    and with ``include_metadata_ids=True`` ``memory_ids`` and ``session_ids``; unset
    fields are left out). The recall fields are ``get_context``'s arguments, with its
    defaults. The query is ignored unless ``add_query_to_session`` (see the module rules).
    Fails open (a warning, no documents) unless ``strict``.
    """

    session: Session | AsyncSession
    recall_strategy: RecallStrategy | str = RecallStrategy.BALANCED
    min_top_k: int = 15
    max_top_k: int = 50
    memories_threshold: float = 0.6
    summaries_threshold: float = 0.5
    last_n_messages: int | None = None
    last_n_summaries: int | None = None
    timezone: str | None = None
    include_system_prompt: bool = True
    include_metadata_ids: bool = False
    add_query_to_session: bool = False
    strict: bool = False
    timeout: float | None = None
    max_retries: int | None = None

    def _recall_arguments(self) -> dict[str, Any]:
        return {
            "recall_strategy": self.recall_strategy,
            "min_top_k": self.min_top_k,
            "max_top_k": self.max_top_k,
            "memories_threshold": self.memories_threshold,
            "summaries_threshold": self.summaries_threshold,
            "last_n_messages": self.last_n_messages,
            "last_n_summaries": self.last_n_summaries,
            "timezone": self.timezone,
            "include_system_prompt": self.include_system_prompt,
            "include_metadata_ids": self.include_metadata_ids,
            **_call_options(self.timeout, self.max_retries),
        }

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        session = self.session
        if not isinstance(session, Session):
            raise _sync_only_error(type(self).__name__, "invoke")
        return self._recall_sync(session, query)

    async def _aget_relevant_documents(
        self, query: str, *, run_manager: AsyncCallbackManagerForRetrieverRun
    ) -> list[Document]:
        session = self.session
        if isinstance(session, Session):
            return await asyncio.to_thread(self._recall_sync, session, query)
        try:
            if self.add_query_to_session and query.strip():
                await session.add_message(
                    MessageRole.USER, query, **_call_options(self.timeout, self.max_retries)
                )
            context = await session.get_context(**self._recall_arguments())
        except RecallrAIError as error:
            return self._failed(error)
        return self._documents(context)

    def _recall_sync(self, session: Session, query: str) -> list[Document]:
        try:
            if self.add_query_to_session and query.strip():
                session.add_message(
                    MessageRole.USER, query, **_call_options(self.timeout, self.max_retries)
                )
            context = session.get_context(**self._recall_arguments())
        except RecallrAIError as error:
            return self._failed(error)
        return self._documents(context)

    def _failed(self, error: RecallrAIError) -> list[Document]:
        if self.strict or isinstance(error, ValidationError):
            raise error
        logger.warning(
            "RecallrAI context unavailable, continuing without memory (session %r of user %r): %s",
            self.session.session_id,
            self.session.user_id,
            error,
        )
        return []

    def _documents(self, context: Context) -> list[Document]:
        text = context.context
        if text is None or not text.strip():
            return []
        metadata: dict[str, Any] = {
            "source": "recallrai",
            "user_id": self.session.user_id,
            "session_id": self.session.session_id,
        }
        if context.metadata is not None:
            reported = context.metadata.to_dict()
            metadata.update({key: value for key, value in reported.items() if value is not None})
        return [Document(page_content=text, metadata=metadata)]
