"""RecallrAI memory for the ``openai`` client: chat completions and the Responses API.

Needs ``pip install 'recallrai[openai]'``. Wrap your own client with a session (or with a
user, for sessions opened on demand); both styles, streaming or not::

    from openai import AsyncOpenAI, OpenAI
    from recallrai.integrations.openai import RecallOptions, with_memory

    client = with_memory(OpenAI(), session, recall=RecallOptions(recall_strategy="low_latency"))
    completion = client.chat.completions.create(model="gpt-4o-mini", messages=[...])

    aclient = with_memory(AsyncOpenAI(), async_user)           # sessions opened on demand
    response = await aclient.responses.create(model="gpt-4o-mini", input="Hi!")

Each ``chat.completions.create`` / ``responses.create`` call, in this order:

1. records the request's new user message: its last message (chat) or ``input`` item
   (Responses), when that is a user message, or ``input`` itself when it is a string. A
   request ending with anything else (a tool result, an assistant message) records no user
   message: the one before it was recorded by an earlier call. Content given as a list of
   parts records its text parts, joined by newlines; images, audio and files are left out,
   and a message without text is not recorded. It is recorded *before* the context is
   fetched because RecallrAI recalls what is relevant to the session's messages;
2. fetches the session's context with the :class:`RecallOptions` and gives it to the model:
   as a message of role ``context_role`` (``"system"`` by default) placed after the
   request's leading system/developer messages (chat), or appended to ``instructions``
   after a blank line (Responses; ``instructions`` are not carried over by
   ``previous_response_id``, so memory never piles up in the conversation). Your own
   messages and instructions are kept, and the caller's objects are never modified;
3. calls the OpenAI client and returns exactly what it returns (``ChatCompletion``,
   ``Stream[ChatCompletionChunk]``, ``Response``, ``Stream[ResponseStreamEvent]`` or their
   async twins: the very objects, not copies); model errors propagate unchanged;
4. records the assistant reply: the text of the first choice (chat) or ``output_text``
   (Responses), as the model returned it. Tool calls and other non-text output are not
   recorded (RecallrAI stores user and assistant text only); an empty reply records
   nothing. A stream yields its chunks or events unchanged and records the reply once,
   whole, when it has been read to its end *and* it finished (a chunk of the first choice
   with a ``finish_reason``; a ``response.completed`` or ``response.incomplete`` event). A
   stream left early, closed, cut or failed records no reply.

A user message recorded in step 1 stays recorded when the model call then fails.

Failure policy: with ``strict=False`` (the default) a :class:`~recallrai.exceptions.RecallrAIError`
in any RecallrAI step is logged as a warning on the ``recallrai.integrations.openai`` logger
and the step is skipped: the model is still called, without memory if the context could
not be fetched. With ``strict=True`` the error is raised; before the model call, the model
is then not called; after it (recording the reply), the model's answer is lost to the
caller. Wrong options raise :class:`~recallrai.exceptions.ValidationError` at once.

Sessions are turned into memories when they are processed: call ``client.memory.process()``
(or ``session.process()``) when the conversation ends, or rely on the session's
``auto_process_after_seconds`` (at least 600 seconds without a message). A wrapper built on a
user opens its session on the first call (with ``auto_process_after_seconds`` and
``session_metadata``) and a new one on the next call after ``client.memory.process()``, or
once the service has processed it by itself. A wrapper built on a session records into that
session only: once it is processed, recording fails (a warning, or an error in strict mode).

Only ``chat.completions.create`` and ``responses.create`` carry memory. Their ``parse``,
``stream``, ``with_raw_response`` and ``with_streaming_response`` raise
:class:`NotImplementedError` rather than silently skip memory (use ``client.unwrapped`` for
them); everything else is the OpenAI client's own. The blocking wrapper takes an ``OpenAI``
client with a blocking ``Session``/``User``, the async one an ``AsyncOpenAI`` client with an
``AsyncSession``/``AsyncUser``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, overload

import attrs

try:
    import openai
except ImportError as error:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError(
        "recallrai.integrations.openai needs the openai package: pip install 'recallrai[openai]'"
    ) from error

from .._context import ContextQuery
from .._models import MessageRole, RecallStrategy
from .._sessions import MIN_AUTO_PROCESS_SECONDS, AsyncSession
from .._users import AsyncUser
from .._validation import require_int, require_json_object
from ..exceptions import InvalidSessionStateError, RecallrAIError, ValidationError

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletion, ChatCompletionChunk
    from openai.types.responses import Response, ResponseStreamEvent

    from recallrai_sync import Session, User

__all__ = [
    "AsyncMemory",
    "AsyncMemoryOpenAI",
    "Memory",
    "MemoryOpenAI",
    "RecallOptions",
    "with_memory",
]

logger = logging.getLogger("recallrai.integrations.openai")

Kind = Literal["chat", "responses"]
ContextRole = Literal["system", "developer"]

# Methods of the two wrapped resources that would call the model without memory.
_REFUSED = frozenset({"parse", "stream", "with_raw_response", "with_streaming_response"})
_LEADING_ROLES = frozenset({"system", "developer"})
_TEXT_PARTS = frozenset({"text", "input_text"})


@attrs.frozen(kw_only=True)
class RecallOptions:
    """How the context is recalled: the arguments of ``session.get_context()``, checked at once."""

    recall_strategy: RecallStrategy | str = RecallStrategy.BALANCED
    min_top_k: int = 15
    max_top_k: int = 50
    memories_threshold: float = 0.6
    summaries_threshold: float = 0.5
    last_n_messages: int | None = None
    last_n_summaries: int | None = None
    timezone: str | None = None
    include_system_prompt: bool = True

    def __attrs_post_init__(self) -> None:
        ContextQuery.build(**self.as_kwargs(), include_metadata_ids=False)

    def as_kwargs(self) -> dict[str, Any]:
        """The options as keyword arguments of ``get_context()``."""
        return attrs.asdict(self)


# --------------------------------------------------------------------------- request rules


def _field(item: object, name: str) -> Any:
    """A member of a request item given as a mapping (TypedDict) or an object (pydantic)."""
    if isinstance(item, Mapping):
        return item.get(name)
    return getattr(item, name, None)


def _text_of(content: object) -> str | None:
    """The text of message content: a string, or the text parts of a list of parts."""
    if isinstance(content, str):
        text = content
    elif isinstance(content, (list, tuple)):
        texts = [_field(part, "text") for part in content if _field(part, "type") in _TEXT_PARTS]
        text = "\n".join(t for t in texts if isinstance(t, str) and t)
    else:
        return None
    return text if text.strip() else None


def _user_text(kind: Kind, request: Mapping[str, Any]) -> str | None:
    """The request's new user message (module docstring, step 1), or ``None``."""
    if kind == "responses":
        items = request.get("input")
        if isinstance(items, str):
            return _text_of(items)
        if not isinstance(items, (list, tuple)) or not items:
            return None
        last = items[-1]
        if _field(last, "type") not in (None, "message"):
            return None
    else:
        messages = request.get("messages")
        if not isinstance(messages, (list, tuple)) or not messages:
            return None
        last = messages[-1]
    if _field(last, "role") != "user":
        return None
    return _text_of(_field(last, "content"))


def _materialise(kind: Kind, request: dict[str, Any]) -> None:
    """Turn a one-shot iterable of messages (a generator) into a list, read twice below."""
    key = "input" if kind == "responses" else "messages"
    items = request.get(key)
    if isinstance(items, Iterable) and not isinstance(items, (str, bytes, list, tuple, Mapping)):
        request[key] = list(items)


def _inject(kind: Kind, request: dict[str, Any], context: str, role: ContextRole) -> None:
    """Give the context to the model (module docstring, step 2), in a copy of the caller's data."""
    if kind == "responses":
        instructions = request.get("instructions")
        if isinstance(instructions, str) and instructions.strip():
            request["instructions"] = f"{instructions}\n\n{context}"
        else:
            request["instructions"] = context
        return
    messages = list(request.get("messages") or ())
    position = 0
    while position < len(messages) and _field(messages[position], "role") in _LEADING_ROLES:
        position += 1
    messages.insert(position, {"role": role, "content": context})
    request["messages"] = messages


def _reply_text(kind: Kind, result: object) -> str | None:
    """The assistant text of a non-streamed result (module docstring, step 4)."""
    if kind == "responses":
        text = getattr(result, "output_text", None)
    else:
        choices = getattr(result, "choices", None) or ()
        first = next((c for c in choices if getattr(c, "index", 0) == 0), None)
        text = getattr(getattr(first, "message", None), "content", None)
    return text if isinstance(text, str) and text.strip() else None


class _Accumulator:
    """Collects a streamed reply and tells whether the stream delivered it whole."""

    def __init__(self, kind: Kind) -> None:
        self._kind = kind
        self._parts: list[str] = []
        self._final: str | None = None
        self._finished = False

    def feed(self, item: object) -> None:
        if self._kind == "responses":
            if getattr(item, "type", None) in ("response.completed", "response.incomplete"):
                self._final = _reply_text("responses", getattr(item, "response", None))
                self._finished = True
            return
        for choice in getattr(item, "choices", None) or ():
            if getattr(choice, "index", 0) != 0:
                continue
            content = getattr(getattr(choice, "delta", None), "content", None)
            if isinstance(content, str):
                self._parts.append(content)
            if getattr(choice, "finish_reason", None) is not None:
                self._finished = True

    def reply(self) -> str | None:
        """The whole reply once the stream finished, else ``None``."""
        if not self._finished:
            return None
        if self._kind == "responses":
            return self._final
        text = "".join(self._parts)
        return text if text.strip() else None


def _observe(stream: openai.Stream[Any], kind: Kind, record: Callable[[str], None]) -> None:
    """Make ``stream`` record its reply once read whole; it stays the same object."""
    inner: Iterator[Any] | None = getattr(stream, "_iterator", None)
    if inner is None:  # pragma: no cover - an openai release that reorganised Stream
        logger.warning("this openai Stream cannot be observed: its reply will not be recorded")
        return
    accumulator = _Accumulator(kind)

    def observed() -> Iterator[Any]:
        for item in inner:
            accumulator.feed(item)
            yield item
        reply = accumulator.reply()
        if reply is not None:
            record(reply)

    stream._iterator = observed()


def _aobserve(
    stream: openai.AsyncStream[Any], kind: Kind, record: Callable[[str], Awaitable[None]]
) -> None:
    """Make ``stream`` record its reply once read whole; it stays the same object."""
    inner: AsyncIterator[Any] | None = getattr(stream, "_iterator", None)
    if inner is None:  # pragma: no cover - an openai release that reorganised AsyncStream
        logger.warning("this openai AsyncStream cannot be observed: its reply will not be recorded")
        return
    accumulator = _Accumulator(kind)

    async def observed() -> AsyncIterator[Any]:
        async for item in inner:
            accumulator.feed(item)
            yield item
        reply = accumulator.reply()
        if reply is not None:
            await record(reply)

    stream._iterator = observed()


# --------------------------------------------------------------------------- memory


_CONSEQUENCES = {
    "opening a session": "the model is called without memory",
    "recording the user message": "it is not in the session",
    "fetching the context": "the model is called without memory",
    "recording the assistant reply": "the reply is not in the session",
}


class _Policy:
    """The failure policy shared by both styles."""

    def __init__(self, strict: bool) -> None:
        self.strict = strict

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Run one RecallrAI step: its RecallrAIError is raised (strict) or logged and skipped."""
        try:
            yield
        except RecallrAIError as error:
            if self.strict:
                raise
            logger.warning(
                "RecallrAI failed %s, %s: %s: %s",
                name,
                _CONSEQUENCES[name],
                type(error).__name__,
                error,
            )


def _session_options(
    auto_process_after_seconds: int, session_metadata: Mapping[str, Any] | None
) -> dict[str, Any]:
    return {
        "auto_process_after_seconds": require_int(
            auto_process_after_seconds, "auto_process_after_seconds", MIN_AUTO_PROCESS_SECONDS
        ),
        "metadata": None
        if session_metadata is None
        else require_json_object(session_metadata, "session_metadata"),
    }


def _require_role(context_role: object) -> ContextRole:
    if context_role == "system":
        return "system"
    if context_role == "developer":
        return "developer"
    raise ValidationError(f"context_role must be 'system' or 'developer', not {context_role!r}")


class Memory:
    """The RecallrAI side of a blocking :class:`MemoryOpenAI`: its session (or user) and rules."""

    def __init__(
        self,
        target: Session | User,
        *,
        recall: RecallOptions | None = None,
        strict: bool = False,
        context_role: ContextRole = "system",
        auto_process_after_seconds: int = 600,
        session_metadata: Mapping[str, Any] | None = None,
    ) -> None:
        from recallrai_sync import Session, User

        self._user: User | None = None
        self._session: Session | None = None
        if isinstance(target, Session):
            self._session = target
        elif isinstance(target, User):
            self._user = target
        else:
            raise TypeError(
                "an OpenAI client needs a blocking recallrai Session or User (from RecallrAI), "
                f"not {type(target).__name__}"
            )
        self.recall = recall or RecallOptions()
        self._policy = _Policy(strict)
        self._role = _require_role(context_role)
        self._session_options = _session_options(auto_process_after_seconds, session_metadata)
        self._lock = threading.Lock()

    @property
    def strict(self) -> bool:
        """Whether RecallrAI errors are raised (``True``) or logged and skipped."""
        return self._policy.strict

    @property
    def session(self) -> Session | None:
        """The session messages go to; ``None`` until a user-based wrapper's first call."""
        return self._session

    @property
    def user(self) -> User | None:
        """The user sessions are opened for, when the wrapper was built on a user."""
        return self._user

    def process(self) -> None:
        """Process the current session now; a user-based wrapper opens a new one on its next call."""
        with self._lock:
            session = self._session
            if self._user is not None:
                self._session = None
        if session is not None:
            session.process()

    def _current(self) -> Session:
        with self._lock:
            if self._session is None:
                assert self._user is not None
                self._session = self._user.create_session(**self._session_options)
            return self._session

    def _replace(self, stale: Session) -> Session:
        """A new session for the user, instead of ``stale`` that no longer takes messages."""
        with self._lock:
            if self._session is stale:
                self._session = None
        return self._current()

    def _add_user(self, session: Session, text: str) -> Session:
        try:
            session.add_message(MessageRole.USER, text)
        except InvalidSessionStateError:
            if self._user is None:
                raise
            session = self._replace(session)
            session.add_message(MessageRole.USER, text)
        return session

    def _before(self, kind: Kind, request: dict[str, Any]) -> Session | None:
        """Steps 1 and 2: record the user message and put the context into ``request``."""
        text = _user_text(kind, request)
        session: Session | None = None
        with self._policy.step("opening a session"):
            session = self._current()
        if session is None:
            return None
        if text is not None:
            with self._policy.step("recording the user message"):
                session = self._add_user(session, text)
        with self._policy.step("fetching the context"):
            context = session.get_context(**self.recall.as_kwargs()).context
            if context and context.strip():
                _inject(kind, request, context, self._role)
        return session

    def _record(self, session: Session, text: str) -> None:
        with self._policy.step("recording the assistant reply"):
            session.add_message(MessageRole.ASSISTANT, text)

    def _call(self, kind: Kind, method: Callable[..., Any], request: dict[str, Any]) -> Any:
        request = dict(request)
        _materialise(kind, request)
        session = self._before(kind, request)
        result = method(**request)
        if session is None:
            return result
        if isinstance(result, openai.Stream):
            _observe(result, kind, lambda text: self._record(session, text))
        else:
            reply = _reply_text(kind, result)
            if reply is not None:
                self._record(session, reply)
        return result


class AsyncMemory:
    """The RecallrAI side of an :class:`AsyncMemoryOpenAI`: its session (or user) and rules."""

    def __init__(
        self,
        target: AsyncSession | AsyncUser,
        *,
        recall: RecallOptions | None = None,
        strict: bool = False,
        context_role: ContextRole = "system",
        auto_process_after_seconds: int = 600,
        session_metadata: Mapping[str, Any] | None = None,
    ) -> None:
        self._user: AsyncUser | None = None
        self._session: AsyncSession | None = None
        if isinstance(target, AsyncSession):
            self._session = target
        elif isinstance(target, AsyncUser):
            self._user = target
        else:
            raise TypeError(
                "an AsyncOpenAI client needs a recallrai AsyncSession or AsyncUser (from "
                f"AsyncRecallrAI), not {type(target).__name__}: a blocking one would block the loop"
            )
        self.recall = recall or RecallOptions()
        self._policy = _Policy(strict)
        self._role = _require_role(context_role)
        self._session_options = _session_options(auto_process_after_seconds, session_metadata)
        self._lock = asyncio.Lock()  # concurrent first calls open one session, not one each

    @property
    def strict(self) -> bool:
        """Whether RecallrAI errors are raised (``True``) or logged and skipped."""
        return self._policy.strict

    @property
    def session(self) -> AsyncSession | None:
        """The session messages go to; ``None`` until a user-based wrapper's first call."""
        return self._session

    @property
    def user(self) -> AsyncUser | None:
        """The user sessions are opened for, when the wrapper was built on a user."""
        return self._user

    async def process(self) -> None:
        """Process the current session now; a user-based wrapper opens a new one on its next call."""
        session = self._session
        if self._user is not None:
            self._session = None
        if session is not None:
            await session.process()

    async def _current(self) -> AsyncSession:
        if self._session is None:
            async with self._lock:
                if self._session is None:
                    assert self._user is not None
                    self._session = await self._user.create_session(**self._session_options)
        return self._session

    async def _replace(self, stale: AsyncSession) -> AsyncSession:
        """A new session for the user, instead of ``stale`` that no longer takes messages."""
        if self._session is stale:
            self._session = None
        return await self._current()

    async def _add_user(self, session: AsyncSession, text: str) -> AsyncSession:
        try:
            await session.add_message(MessageRole.USER, text)
        except InvalidSessionStateError:
            if self._user is None:
                raise
            session = await self._replace(session)
            await session.add_message(MessageRole.USER, text)
        return session

    async def _before(self, kind: Kind, request: dict[str, Any]) -> AsyncSession | None:
        """Steps 1 and 2: record the user message and put the context into ``request``."""
        text = _user_text(kind, request)
        session: AsyncSession | None = None
        with self._policy.step("opening a session"):
            session = await self._current()
        if session is None:
            return None
        if text is not None:
            with self._policy.step("recording the user message"):
                session = await self._add_user(session, text)
        with self._policy.step("fetching the context"):
            context = (await session.get_context(**self.recall.as_kwargs())).context
            if context and context.strip():
                _inject(kind, request, context, self._role)
        return session

    async def _record(self, session: AsyncSession, text: str) -> None:
        with self._policy.step("recording the assistant reply"):
            await session.add_message(MessageRole.ASSISTANT, text)

    async def _call(
        self, kind: Kind, method: Callable[..., Awaitable[Any]], request: dict[str, Any]
    ) -> Any:
        request = dict(request)
        _materialise(kind, request)
        session = await self._before(kind, request)
        result = await method(**request)
        if session is None:
            return result
        if isinstance(result, openai.AsyncStream):
            _aobserve(result, kind, lambda text: self._record(session, text))
        else:
            reply = _reply_text(kind, result)
            if reply is not None:
                await self._record(session, reply)
        return result


# --------------------------------------------------------------------------- the wrappers


class _Resource:
    """Delegates to an OpenAI resource, refusing its helpers that would skip memory."""

    _path = ""

    def __init__(self, resource: Any) -> None:
        self._resource = resource

    def __getattr__(self, name: str) -> Any:
        resource = self.__dict__.get("_resource")
        if resource is None:  # not initialised yet (copy, pickle): no delegation
            raise AttributeError(name)
        if name in _REFUSED:
            raise NotImplementedError(
                f"{self._path}.{name} has no RecallrAI memory: use {self._path}.create(...), "
                f"or client.unwrapped.{self._path}.{name} to call it without memory"
            )
        return getattr(resource, name)


class _ChatCompletions(_Resource):
    _path = "chat.completions"

    def __init__(self, resource: Any, memory: Memory) -> None:
        super().__init__(resource)
        self._memory = memory

    @overload
    def create(
        self, *, stream: Literal[True], **kwargs: Any
    ) -> openai.Stream[ChatCompletionChunk]: ...
    @overload
    def create(self, *, stream: Literal[False] | None = ..., **kwargs: Any) -> ChatCompletion: ...
    @overload
    def create(
        self, *, stream: bool, **kwargs: Any
    ) -> ChatCompletion | openai.Stream[ChatCompletionChunk]: ...
    def create(self, **kwargs: Any) -> ChatCompletion | openai.Stream[ChatCompletionChunk]:
        """``client.chat.completions.create(...)`` with the session's memory (same arguments)."""
        result: ChatCompletion | openai.Stream[ChatCompletionChunk]
        result = self._memory._call("chat", self._resource.create, kwargs)
        return result


class _AsyncChatCompletions(_Resource):
    _path = "chat.completions"

    def __init__(self, resource: Any, memory: AsyncMemory) -> None:
        super().__init__(resource)
        self._memory = memory

    @overload
    async def create(
        self, *, stream: Literal[True], **kwargs: Any
    ) -> openai.AsyncStream[ChatCompletionChunk]: ...
    @overload
    async def create(
        self, *, stream: Literal[False] | None = ..., **kwargs: Any
    ) -> ChatCompletion: ...
    @overload
    async def create(
        self, *, stream: bool, **kwargs: Any
    ) -> ChatCompletion | openai.AsyncStream[ChatCompletionChunk]: ...
    async def create(
        self, **kwargs: Any
    ) -> ChatCompletion | openai.AsyncStream[ChatCompletionChunk]:
        """``await client.chat.completions.create(...)`` with the session's memory."""
        result: ChatCompletion | openai.AsyncStream[ChatCompletionChunk]
        result = await self._memory._call("chat", self._resource.create, kwargs)
        return result


class _Chat:
    """``client.chat`` with memory in ``completions.create``."""

    def __init__(self, chat: Any, memory: Memory) -> None:
        self._chat = chat
        self.completions = _ChatCompletions(chat.completions, memory)

    def __getattr__(self, name: str) -> Any:
        chat = self.__dict__.get("_chat")
        if chat is None:
            raise AttributeError(name)
        return getattr(chat, name)


class _AsyncChat:
    """``client.chat`` with memory in ``completions.create``."""

    def __init__(self, chat: Any, memory: AsyncMemory) -> None:
        self._chat = chat
        self.completions = _AsyncChatCompletions(chat.completions, memory)

    def __getattr__(self, name: str) -> Any:
        chat = self.__dict__.get("_chat")
        if chat is None:
            raise AttributeError(name)
        return getattr(chat, name)


class _Responses(_Resource):
    _path = "responses"

    def __init__(self, resource: Any, memory: Memory) -> None:
        super().__init__(resource)
        self._memory = memory

    @overload
    def create(
        self, *, stream: Literal[True], **kwargs: Any
    ) -> openai.Stream[ResponseStreamEvent]: ...
    @overload
    def create(self, *, stream: Literal[False] | None = ..., **kwargs: Any) -> Response: ...
    @overload
    def create(
        self, *, stream: bool, **kwargs: Any
    ) -> Response | openai.Stream[ResponseStreamEvent]: ...
    def create(self, **kwargs: Any) -> Response | openai.Stream[ResponseStreamEvent]:
        """``client.responses.create(...)`` with the session's memory (same arguments)."""
        result: Response | openai.Stream[ResponseStreamEvent]
        result = self._memory._call("responses", self._resource.create, kwargs)
        return result


class _AsyncResponses(_Resource):
    _path = "responses"

    def __init__(self, resource: Any, memory: AsyncMemory) -> None:
        super().__init__(resource)
        self._memory = memory

    @overload
    async def create(
        self, *, stream: Literal[True], **kwargs: Any
    ) -> openai.AsyncStream[ResponseStreamEvent]: ...
    @overload
    async def create(self, *, stream: Literal[False] | None = ..., **kwargs: Any) -> Response: ...
    @overload
    async def create(
        self, *, stream: bool, **kwargs: Any
    ) -> Response | openai.AsyncStream[ResponseStreamEvent]: ...
    async def create(self, **kwargs: Any) -> Response | openai.AsyncStream[ResponseStreamEvent]:
        """``await client.responses.create(...)`` with the session's memory."""
        result: Response | openai.AsyncStream[ResponseStreamEvent]
        result = await self._memory._call("responses", self._resource.create, kwargs)
        return result


class MemoryOpenAI:
    """An ``OpenAI`` client whose ``chat.completions.create`` and ``responses.create`` have memory.

    Every other attribute is the wrapped client's. Closing it closes the OpenAI client, not
    the RecallrAI one.
    """

    def __init__(self, client: openai.OpenAI, memory: Memory) -> None:
        if not isinstance(client, openai.OpenAI):
            raise TypeError(
                f"MemoryOpenAI wraps an openai.OpenAI client, not {type(client).__name__}"
            )
        self._client = client
        self.memory = memory
        self.chat = _Chat(client.chat, memory)
        self.responses = _Responses(client.responses, memory)

    @property
    def unwrapped(self) -> openai.OpenAI:
        """The OpenAI client itself, for calls without memory."""
        return self._client

    def with_options(self, **kwargs: Any) -> MemoryOpenAI:
        """``client.with_options(...)`` that keeps the memory (same session, same rules)."""
        return MemoryOpenAI(self._client.with_options(**kwargs), self.memory)

    copy = with_options

    def close(self) -> None:
        """Close the OpenAI client."""
        self._client.close()

    def __enter__(self) -> MemoryOpenAI:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __getattr__(self, name: str) -> Any:
        client = self.__dict__.get("_client")
        if client is None:
            raise AttributeError(name)
        return getattr(client, name)

    def __repr__(self) -> str:
        return f"MemoryOpenAI({self._client!r}, session={self.memory.session!r})"


class AsyncMemoryOpenAI:
    """An ``AsyncOpenAI`` client whose ``chat.completions.create`` and ``responses.create`` have memory.

    Every other attribute is the wrapped client's. Closing it closes the OpenAI client, not
    the RecallrAI one.
    """

    def __init__(self, client: openai.AsyncOpenAI, memory: AsyncMemory) -> None:
        if not isinstance(client, openai.AsyncOpenAI):
            raise TypeError(
                f"AsyncMemoryOpenAI wraps an openai.AsyncOpenAI client, not {type(client).__name__}"
            )
        self._client = client
        self.memory = memory
        self.chat = _AsyncChat(client.chat, memory)
        self.responses = _AsyncResponses(client.responses, memory)

    @property
    def unwrapped(self) -> openai.AsyncOpenAI:
        """The AsyncOpenAI client itself, for calls without memory."""
        return self._client

    def with_options(self, **kwargs: Any) -> AsyncMemoryOpenAI:
        """``client.with_options(...)`` that keeps the memory (same session, same rules)."""
        return AsyncMemoryOpenAI(self._client.with_options(**kwargs), self.memory)

    copy = with_options

    async def close(self) -> None:
        """Close the AsyncOpenAI client."""
        await self._client.close()

    async def __aenter__(self) -> AsyncMemoryOpenAI:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    def __getattr__(self, name: str) -> Any:
        client = self.__dict__.get("_client")
        if client is None:
            raise AttributeError(name)
        return getattr(client, name)

    def __repr__(self) -> str:
        return f"AsyncMemoryOpenAI({self._client!r}, session={self.memory.session!r})"


@overload
def with_memory(
    client: openai.AsyncOpenAI,
    target: AsyncSession | AsyncUser,
    *,
    recall: RecallOptions | None = None,
    strict: bool = False,
    context_role: ContextRole = "system",
    auto_process_after_seconds: int = 600,
    session_metadata: Mapping[str, Any] | None = None,
) -> AsyncMemoryOpenAI: ...
@overload
def with_memory(
    client: openai.OpenAI,
    target: Session | User,
    *,
    recall: RecallOptions | None = None,
    strict: bool = False,
    context_role: ContextRole = "system",
    auto_process_after_seconds: int = 600,
    session_metadata: Mapping[str, Any] | None = None,
) -> MemoryOpenAI: ...
def with_memory(
    client: openai.OpenAI | openai.AsyncOpenAI,
    target: Session | User | AsyncSession | AsyncUser,
    *,
    recall: RecallOptions | None = None,
    strict: bool = False,
    context_role: ContextRole = "system",
    auto_process_after_seconds: int = 600,
    session_metadata: Mapping[str, Any] | None = None,
) -> MemoryOpenAI | AsyncMemoryOpenAI:
    """Wrap an OpenAI client so that its chats remember, through ``target``.

    ``target`` is the session to record into, or a user to open sessions for on demand
    (with ``auto_process_after_seconds`` and ``session_metadata``). ``recall`` sets how the
    context is recalled, ``strict`` whether RecallrAI errors are raised (else logged and
    skipped), ``context_role`` the role of the injected chat message.
    """
    options: dict[str, Any] = {
        "recall": recall,
        "strict": strict,
        "context_role": context_role,
        "auto_process_after_seconds": auto_process_after_seconds,
        "session_metadata": session_metadata,
    }
    if isinstance(client, openai.AsyncOpenAI):
        return AsyncMemoryOpenAI(client, AsyncMemory(target, **options))  # type: ignore[arg-type]
    if isinstance(client, openai.OpenAI):
        return MemoryOpenAI(client, Memory(target, **options))  # type: ignore[arg-type]
    raise TypeError(
        f"with_memory wraps an openai.OpenAI or AsyncOpenAI client, not {type(client).__name__}"
    )
