"""RecallrAI memory for the OpenAI Agents SDK (``pip install 'recallrai[agents]'``).

:class:`RecallrAISession` implements the Agents SDK's session protocol over one RecallrAI
session, so ``Runner.run(agent, text, session=memory)`` reads the conversation from RecallrAI
and records the new turn there; :meth:`RecallrAISession.instructions` makes dynamic agent
instructions that add the user's recalled context::

    memory = RecallrAISession(await user.create_session(auto_process_after_seconds=600))
    agent = Agent(name="Assistant", instructions=memory.instructions("Be brief."))
    result = await Runner.run(agent, "Where should I eat tonight?", session=memory)

Both client styles work: wrap an ``AsyncSession`` (``AsyncRecallrAI``) for ``Runner.run`` and
``Runner.run_streamed`` on the client's event loop, or a blocking ``Session`` (``RecallrAI``)
for ``Runner.run_sync`` or any event loop: its calls then run in a worker thread
(``asyncio.to_thread``), so they never block the agent's loop.

Rules, since RecallrAI stores only ``user`` and ``assistant`` text messages:

* recorded: user messages (``{"role": "user", ...}`` input items) as ``user``, and assistant
  messages (input items with that role, and the agent's output message items) as
  ``assistant``. The text is the string content, or the text parts of a content list
  (``input_text``, ``output_text``, ``refusal``) joined by newlines; other parts (images,
  files, audio) are dropped;
* skipped, never recorded: ``system`` and ``developer`` messages (they are instructions),
  tool calls and their outputs, reasoning, handoffs and every other item type, and messages
  left with no text. A tool-using turn is thus remembered as the question and the answer;
* read back by ``get_items`` as ``{"role": ..., "content": text}`` items, oldest first, the
  latest ``limit`` of them when a limit is given;
* ``pop_item`` and ``clear_session`` raise :class:`UnsupportedOperationError`: RecallrAI cannot
  remove a message. Start a new RecallrAI session instead (or delete this one, with the
  memories derived from it, via ``session.delete()``).

Failure policy (as in the OpenAI adapter): by default a RecallrAI error (RecallrAI unreachable,
timing out or answering 5xx after the client's retries, but also a refused key or a session
that no longer accepts messages) lets the agent run without memory: ``get_items`` returns no
history, ``add_items`` records nothing more of that batch, the instructions carry no recalled
context, and a warning goes to the ``recallrai.integrations.agents`` logger. ``strict=True``
raises the SDK's error instead. A ``ValidationError`` (invalid recall options) always raises:
it is a mistake in the code, not an outage.

Processing: this adapter never processes the session. Call ``session.process()`` when the
conversation ends, or create the session with ``auto_process_after_seconds``; either way a
processed session accepts no more messages (``InvalidSessionStateError``: a warning, or raised
when strict), so the next conversation needs a new session and a new ``RecallrAISession``.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import weakref
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeAlias, cast

try:
    from agents import Agent, RunContextWrapper
    from agents.items import TResponseInputItem
except ImportError as error:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError(
        "recallrai.integrations.agents needs the OpenAI Agents SDK: pip install 'recallrai[agents]'"
    ) from error

from .._models import Context, Message, MessageRole, RecallStrategy
from .._sessions import AsyncSession
from ..exceptions import RecallrAIError, ValidationError

if TYPE_CHECKING:
    from agents.memory import SessionSettings

    from recallrai_sync import Session

__all__ = ["RecallrAISession", "UnsupportedOperationError"]

logger = logging.getLogger(__name__)

InstructionsFunction: TypeAlias = Callable[[RunContextWrapper[Any], Agent[Any]], Awaitable[str]]
"""What :meth:`RecallrAISession.instructions` returns: an Agents SDK dynamic instructions callable."""

BaseInstructions: TypeAlias = (
    str | Callable[[RunContextWrapper[Any], Agent[Any]], str | Awaitable[str]] | None
)
"""The agent's own instructions: a string, a dynamic instructions callable, or none."""

_PAGE_SIZE = 500  # the largest page of messages the API serves
_TEXT_PARTS = {"input_text": "text", "output_text": "text", "text": "text", "refusal": "refusal"}


class UnsupportedOperationError(RecallrAIError, NotImplementedError):
    """An Agents SDK session operation the RecallrAI API cannot perform (removing messages).

    A ``NotImplementedError`` too, so code that probes optional operations catches it.
    """


def _text(content: object) -> str:
    """The text of a message's content: the string itself, or its text parts joined."""
    if isinstance(content, str):
        return content
    if not isinstance(content, Iterable):
        return ""
    texts: list[str] = []
    for part in content:
        if isinstance(part, Mapping):
            key = _TEXT_PARTS.get(str(part.get("type")))
            value = part.get(key) if key is not None else None
            if isinstance(value, str) and value:
                texts.append(value)
    return "\n".join(texts)


def _to_message(item: object) -> tuple[MessageRole, str] | None:
    """The RecallrAI message an Agents SDK item becomes, or ``None`` when it is not stored."""
    if not isinstance(item, Mapping) or item.get("type", "message") != "message":
        return None  # tool calls and outputs, reasoning, handoffs, ...: not conversation text
    role = item.get("role")
    if role not in ("user", "assistant"):
        return None  # system and developer messages are instructions, not conversation
    text = _text(item.get("content"))
    if not text.strip():
        return None  # e.g. an image-only message: RecallrAI stores text
    return MessageRole(role), text


def _to_item(message: Message) -> TResponseInputItem | None:
    """The input item a stored message reads back as (``None`` for a role unknown here)."""
    if message.role == MessageRole.USER:
        return {"role": "user", "content": message.content}
    if message.role == MessageRole.ASSISTANT:
        return {"role": "assistant", "content": message.content}
    return None


class RecallrAISession:
    """An Agents SDK session (``Runner.run(..., session=...)``) backed by a RecallrAI session.

    *session* is an ``AsyncSession`` (use it on the event loop of its ``AsyncRecallrAI``) or a
    blocking ``Session`` (called from a worker thread, so any loop works, ``Runner.run_sync``
    included). ``strict=True`` raises RecallrAI's errors instead of running the agent
    without memory. *session_settings* (Agents SDK versions that have them) sets the
    default number of items read back. The module docstring lists what is recorded.
    """

    session_id: str
    """The RecallrAI session's ID (the protocol's conversation ID)."""
    session_settings: SessionSettings | None

    def __init__(
        self,
        session: AsyncSession | Session,
        *,
        strict: bool = False,
        session_settings: SessionSettings | None = None,
    ) -> None:
        self._session = session
        self._strict = strict
        self.session_id = session.session_id
        self.session_settings = session_settings

    @property
    def recallrai_session(self) -> AsyncSession | Session:
        """The RecallrAI session this one records into (to ``process()`` it, for instance)."""
        return self._session

    @property
    def strict(self) -> bool:
        """Whether a RecallrAI error raises (``True``) or the agent runs without memory."""
        return self._strict

    def __repr__(self) -> str:
        return f"RecallrAISession(session_id={self.session_id!r}, strict={self._strict})"

    # ------------------------------------------------------------------ the session protocol

    async def get_items(self, limit: int | None = None) -> list[TResponseInputItem]:
        """The conversation so far as input items, oldest first (the latest *limit* if given).

        Without *limit*, ``session_settings.limit`` applies when set; otherwise every message.
        """
        if limit is None and self.session_settings is not None:
            limit = self.session_settings.limit
        if limit is not None and limit <= 0:
            return []
        try:
            messages = await self._latest_messages(limit)
        except RecallrAIError as error:
            self._fail_open(error, "the agent runs without the conversation's history")
            return []
        return [item for message in messages if (item := _to_item(message)) is not None]

    async def add_items(self, items: list[TResponseInputItem]) -> None:
        """Record the user and assistant messages among *items*, in order; skip the rest."""
        messages = [message for item in items if (message := _to_message(item)) is not None]
        if len(messages) < len(items):
            logger.debug(
                "%d of %d item(s) not recorded in RecallrAI (not user or assistant text)",
                len(items) - len(messages),
                len(items),
            )
        for done, (role, text) in enumerate(messages):
            try:
                await self._add_message(role, text)
            except RecallrAIError as error:
                self._fail_open(
                    error, f"{len(messages) - done} of {len(messages)} message(s) not recorded"
                )
                return

    async def pop_item(self) -> TResponseInputItem | None:
        """Not supported: RecallrAI cannot remove a message (raises, never pretends)."""
        raise UnsupportedOperationError(
            "pop_item() is not supported: RecallrAI cannot remove a message from a session. "
            "To drop a turn, continue in a new RecallrAI session (user.create_session()) "
            "wrapped in a new RecallrAISession."
        )

    async def clear_session(self) -> None:
        """Not supported: RecallrAI cannot remove a session's messages (raises, never pretends)."""
        raise UnsupportedOperationError(
            "clear_session() is not supported: RecallrAI cannot remove a session's messages. "
            "Start over in a new RecallrAI session (user.create_session()) wrapped in a new "
            "RecallrAISession, or delete this one with session.delete() (its memories go too)."
        )

    # ------------------------------------------------------------------ recalled context

    def instructions(
        self,
        base: BaseInstructions = None,
        *,
        recall_strategy: RecallStrategy | str = RecallStrategy.BALANCED,
        min_top_k: int = 15,
        max_top_k: int = 50,
        memories_threshold: float = 0.6,
        summaries_threshold: float = 0.5,
        last_n_messages: int | None = None,
        last_n_summaries: int | None = None,
        timezone: str | None = None,
        include_system_prompt: bool = True,
    ) -> InstructionsFunction:
        """Dynamic instructions for ``Agent(instructions=...)``: *base*, then the recalled context.

        *base* is the agent's own instructions (a string, or a callable taking
        ``(run_context, agent)`` that returns a string or an awaitable of one). The other
        arguments are those of ``session.get_context()``. The context is fetched once per run,
        at its first model call, and reused for the run's later model calls (after tool
        calls). Under the default policy a RecallrAI error leaves *base* alone.
        """
        options: dict[str, Any] = {
            "recall_strategy": recall_strategy,
            "min_top_k": min_top_k,
            "max_top_k": max_top_k,
            "memories_threshold": memories_threshold,
            "summaries_threshold": summaries_threshold,
            "last_n_messages": last_n_messages,
            "last_n_summaries": last_n_summaries,
            "timezone": timezone,
            "include_system_prompt": include_system_prompt,
        }
        # Per run: the Agents SDK builds one RunContextWrapper for each run.
        recalled: weakref.WeakKeyDictionary[RunContextWrapper[Any], str | None] = (
            weakref.WeakKeyDictionary()
        )

        async def recall_instructions(
            run_context: RunContextWrapper[Any], agent: Agent[Any]
        ) -> str:
            own: str | Awaitable[str] | None = base(run_context, agent) if callable(base) else base
            if inspect.isawaitable(own):
                own = await own
            try:
                context = recalled[run_context]
            except KeyError:
                context = await self._recall(options)
                with contextlib.suppress(TypeError):
                    recalled[run_context] = context
            except TypeError:  # a run context that cannot be a weak key: fetch every time
                context = await self._recall(options)
            return "\n\n".join(part for part in (own, context) if part)

        return recall_instructions

    async def _recall(self, options: dict[str, Any]) -> str | None:
        """The recalled context text, or ``None`` (none given, or a RecallrAI error logged)."""
        try:
            context = await self._get_context(options)
        except RecallrAIError as error:
            self._fail_open(error, "the agent runs without recalled context")
            return None
        return context.context or None

    # ------------------------------------------------------------------ RecallrAI calls

    def _fail_open(self, error: RecallrAIError, consequence: str) -> None:
        """Log *error* and carry on when the policy allows it; re-raise it otherwise."""
        if self._strict or isinstance(error, ValidationError):
            raise error
        logger.warning(
            "RecallrAI failed for session %s (%s: %s); %s",
            self.session_id,
            type(error).__name__,
            error,
            consequence,
        )

    async def _add_message(self, role: MessageRole, text: str) -> None:
        if isinstance(self._session, AsyncSession):
            await self._session.add_message(role, text)
        else:
            await asyncio.to_thread(self._session.add_message, role, text)

    async def _page(self, offset: int, limit: int) -> tuple[list[Message], int]:
        """One page of messages and the session's message count."""
        if isinstance(self._session, AsyncSession):
            page = await self._session.get_messages(offset, limit)
        else:
            page = await asyncio.to_thread(self._session.get_messages, offset, limit)
        return list(page.messages), page.total

    async def _get_context(self, options: dict[str, Any]) -> Context:
        if isinstance(self._session, AsyncSession):
            return await self._session.get_context(**options)
        return cast(Context, await asyncio.to_thread(self._session.get_context, **options))

    async def _latest_messages(self, limit: int | None) -> list[Message]:
        """Every message, or the latest *limit*, oldest first, in as few pages as possible."""
        size = _PAGE_SIZE if limit is None else min(limit, _PAGE_SIZE)
        messages, total = await self._page(0, size)
        start = 0 if limit is None or total <= limit else total - limit
        if start > 0:  # the first page was not the end: read from the first one wanted
            messages, total = await self._page(start, size)
        while start + len(messages) < total and messages:
            more, total = await self._page(start + len(messages), size)
            if not more:
                break
            messages.extend(more)
        return messages if limit is None else messages[-limit:]
