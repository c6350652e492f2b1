"""System prompt and context (PROTOCOL.md §5.3, §3.8, §12): the handlers, the
deterministic context assembly and the Server-Sent-Events stream.

System prompt. ``GET /api/v1/system-prompt?recall_strategy=<s>`` answers
``{"system_prompt": system_prompt(s)}``, a fixed text naming the strategy;
the parameter is required and must be one of ``low_latency``, ``balanced``,
``agentic``, ``auto`` (422 otherwise).

Context assembly rule (deterministic; an emulator, not a retriever):

* ``words(text)`` is the set of lower-cased alphanumeric runs of *text*; the
  *query* is ``words`` of every message of the requested session (both
  roles); ``score(text) = |words(text) & query| / |words(text)|`` (0 when
  *text* has no words).
* **Memories**: every current memory of the user
  (``_memories.current_memories``, newest first) is scored by its content and
  ranked by score, highest first (ties keep the newest-first order). With
  ``k`` = the number scoring ``>= memories_threshold``, the best
  ``min(max(k, min_top_k), max_top_k)`` are taken (all of them when the user
  has fewer). So a higher threshold shrinks the selection (down to
  ``min_top_k``), ``min_top_k`` tops it up with lower-scoring memories and
  ``max_top_k`` caps it.
* **Recent messages** (only with ``last_n_messages=n``): the session's ``n``
  most recent messages, oldest first.
* **Session summaries**: the user's *other* ``processed`` sessions; a
  session's summary is its user messages joined by ``" / "`` (cut to
  :data:`SUMMARY_MAX_CHARS` characters, ``...`` marking a cut), scored on
  the full joined text. A session is summarised when its score is ``>=
  summaries_threshold`` or, with ``last_n_summaries=n``, it is one of the
  ``n`` most recently created of them. Newest first.
* **Text**: the non-empty sections, separated by a blank line::

      Memories:
      - <memory content>

      Recent messages:
      [<timestamp>] <role>: <content>

      Session summaries:
      - [<session created_at>] <summary>

  or ``No relevant context found.`` when all are empty. Timestamps are
  rendered ``YYYY-MM-DD HH:MM:SS <zone abbreviation>`` in ``timezone`` (an
  IANA name; UTC by default). With ``include_system_prompt=true`` (the
  default when the parameter is absent, as on the service, §13) the text is
  prefixed by ``system_prompt(<strategy used>) + "\\n\\n\\n"``.
* **Metadata**: ``recall_strategy_used`` is the requested strategy, except
  that ``auto`` runs ``low_latency`` for a user without memories and
  ``agentic`` otherwise. With ``include_metadata_ids=true``: ``memory_ids``
  = the selected memories in rank order; ``session_ids`` = the sessions of
  those memories, then the summarised sessions, then this session when
  recent messages were included, each once; otherwise both are null. The
  other metadata fields are null. While ``Emulator.omit_context_metadata``
  is set, an answer without ``include_metadata_ids=true`` has no
  ``metadata`` key at all (the service's Node.js guide, §13).

Parameters (422 when out of range): ``min_top_k`` 5-50 (default 15),
``max_top_k`` 10-100 (default 50) and not below ``min_top_k``, both
thresholds 0.2-0.8 (defaults 0.6 and 0.5), ``last_n_messages`` 1-100,
``last_n_summaries`` 1-20, ``timezone`` a valid IANA name, booleans
``true``/``false`` (any case), ``recall_strategy`` as above (default
``balanced``).

Streaming (``stream=true``). Errors found before the stream starts (422,
404) are ordinary JSON answers. Otherwise the context is assembled at once
(under the store lock) and sent as ``text/event-stream``: three progress
events ``{"is_final": false, "status_update_message": ...}`` ``stream_event_delay``
seconds apart, then the final event (the non-streamed answer), each as
``event: <name>`` + ``data: <json>`` + a blank line, and the response ends.
The stream waits at the emulator's stream gate (``Emulator.hold_streams``)
right after its first event, outside the store lock. A queued outcome
(``Emulator.fail_next_stream`` / ``truncate_next_stream``) replaces the final
event by ``{"is_final": true, "error_message": ...}`` or by nothing.
"""

from __future__ import annotations

import asyncio
import json
import re
import zoneinfo
from collections.abc import Iterable
from datetime import datetime, timezone, tzinfo
from typing import TYPE_CHECKING, Any, Protocol, cast

import attrs
from aiohttp import web

from recallrai.emulator import _memories
from recallrai.emulator._http import Query, RequestContext, Validator, json_response
from recallrai.emulator._sessions import find_session
from recallrai.emulator._sessions_store import (
    PROCESSED,
    SessionControl,
    SessionRecord,
    StreamMode,
)

if TYPE_CHECKING:
    from recallrai.emulator._routing import AsyncResponder, Router
    from recallrai.emulator._store import UserRecord

__all__ = ["RECALL_STRATEGIES", "ContextParams", "assemble_context", "register", "system_prompt"]

RECALL_STRATEGIES = ("low_latency", "balanced", "agentic", "auto")
SUMMARY_MAX_CHARS = 200
NO_CONTEXT_TEXT = "No relevant context found."
PROMPT_SEPARATOR = "\n\n\n"
PROGRESS_MESSAGES = (
    "Searching the user's memories",
    "Ranking memories and session summaries",
    "Assembling the context",
)
SSE_CONTENT_TYPE = "text/event-stream"

_WORD_RE = re.compile(r"[^\W_]+")
_FLOAT_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def register(router: Router) -> None:
    """Add the system-prompt and context routes to *router*."""
    router.add("GET", "/api/v1/system-prompt", get_system_prompt)
    router.add("GET", "/api/v1/users/{user_id}/sessions/{session_id}/context", get_context)


def system_prompt(strategy: str) -> str:
    """The emulator's system prompt for a recall strategy (a fixed text naming it)."""
    return (
        f"You are an assistant with long-term memory (RecallrAI emulator, "
        f"recall strategy: {strategy}). The context below holds what you remember "
        f"about the user: memories, recent messages and summaries of earlier sessions. "
        f"Use it when it is relevant and never invent memories."
    )


# -- query parameters ----------------------------------------------------------------


def _strategy_param(
    query: Query, validator: Validator, name: str, default: str | None
) -> str | None:
    raw = query.get(name)
    if raw is None:
        if default is None:
            validator.missing(("query", name))
        return default
    if raw not in RECALL_STRATEGIES:
        validator.enum(("query", name), raw, RECALL_STRATEGIES)
        return default
    return raw


def _float_param(
    query: Query, validator: Validator, name: str, default: float, low: float, high: float
) -> float:
    raw = query.get(name)
    if raw is None:
        return default
    if not _FLOAT_RE.fullmatch(raw):
        validator.add(("query", name), "Input should be a valid number", "float_parsing", raw)
        return default
    value = float(raw)
    validator.within(("query", name), value, raw, ge=low, le=high)
    return value


def _bool_param(query: Query, validator: Validator, name: str, default: bool) -> bool:
    raw = query.get(name)
    if raw is None:
        return default
    lowered = raw.lower()
    if lowered not in ("true", "false"):
        validator.add(("query", name), "Input should be a valid boolean", "bool_parsing", raw)
        return default
    return lowered == "true"


def _optional_int_param(
    query: Query, validator: Validator, name: str, low: int, high: int
) -> int | None:
    if query.get(name) is None:
        return None
    return query.int_param(validator, name, 0, ge=low, le=high)


def _timezone_param(query: Query, validator: Validator) -> tzinfo:
    raw = query.get("timezone")
    if raw is None:
        return timezone.utc
    try:
        return zoneinfo.ZoneInfo(raw)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        # OSError: names that are directories ("America") or absurdly long.
        validator.add(
            ("query", "timezone"), "Input should be a valid IANA time zone", "timezone", raw
        )
        return timezone.utc


@attrs.frozen
class ContextParams:
    """The validated parameters of a context request."""

    recall_strategy: str = "balanced"
    min_top_k: int = 15
    max_top_k: int = 50
    memories_threshold: float = 0.6
    summaries_threshold: float = 0.5
    include_system_prompt: bool = True
    include_metadata_ids: bool = False
    stream: bool = False
    last_n_messages: int | None = None
    last_n_summaries: int | None = None
    zone: tzinfo = timezone.utc

    @classmethod
    def from_query(cls, query: Query) -> ContextParams:
        """Parse and range-check every parameter (one 422 listing all problems)."""
        validator = Validator()
        strategy = _strategy_param(query, validator, "recall_strategy", "balanced")
        min_top_k = query.int_param(validator, "min_top_k", 15, ge=5, le=50)
        max_top_k = query.int_param(validator, "max_top_k", 50, ge=10, le=100)
        params = cls(
            recall_strategy=strategy or "balanced",
            min_top_k=min_top_k,
            max_top_k=max_top_k,
            memories_threshold=_float_param(query, validator, "memories_threshold", 0.6, 0.2, 0.8),
            summaries_threshold=_float_param(
                query, validator, "summaries_threshold", 0.5, 0.2, 0.8
            ),
            include_system_prompt=_bool_param(query, validator, "include_system_prompt", True),
            include_metadata_ids=_bool_param(query, validator, "include_metadata_ids", False),
            stream=_bool_param(query, validator, "stream", False),
            last_n_messages=_optional_int_param(query, validator, "last_n_messages", 1, 100),
            last_n_summaries=_optional_int_param(query, validator, "last_n_summaries", 1, 20),
            zone=_timezone_param(query, validator),
        )
        if not validator.errors and min_top_k > max_top_k:
            validator.add(
                ("query", "min_top_k"),
                f"min_top_k ({min_top_k}) must not exceed max_top_k ({max_top_k})",
                "value_error",
                query.get("min_top_k"),
            )
        validator.raise_if_errors()
        return params


# -- assembly -----------------------------------------------------------------------------


class _MemoryLike(Protocol):
    @property
    def memory_id(self) -> str: ...

    @property
    def content(self) -> str: ...

    @property
    def session_id(self) -> str: ...


def words(text: str) -> frozenset[str]:
    """The lower-cased alphanumeric words of *text*, as a set."""
    return frozenset(_WORD_RE.findall(text.lower()))


def score(text: str, query: frozenset[str]) -> float:
    """Share of the words of *text* that occur in *query* (0 for a text without words)."""
    text_words = words(text)
    return len(text_words & query) / len(text_words) if text_words else 0.0


def render_time(value: datetime, zone: tzinfo) -> str:
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %Z")


def _summary_source(session: SessionRecord) -> str:
    return " / ".join(m.content for m in session.messages if m.role == "user")


def _summary(text: str) -> str:
    if len(text) <= SUMMARY_MAX_CHARS:
        return text or "(no user messages)"
    return text[: SUMMARY_MAX_CHARS - 3] + "..."


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


def assemble_context(
    user: UserRecord, session: SessionRecord, params: ContextParams
) -> dict[str, Any]:
    """The final context answer (§3.8) for *session*, by the rule in the module docstring."""
    query = words(" ".join(message.content for message in session.messages))
    memories = cast("list[_MemoryLike]", list(_memories.current_memories(user)))

    ranked = sorted(
        ((score(memory.content, query), index, memory) for index, memory in enumerate(memories)),
        key=lambda item: (-item[0], item[1]),
    )
    above = sum(1 for value, _, _ in ranked if value >= params.memories_threshold)
    count = min(max(above, params.min_top_k), params.max_top_k)
    chosen = [memory for _, _, memory in ranked[:count]]

    recent = session.messages[-params.last_n_messages :] if params.last_n_messages else []

    others = sorted(
        (s for s in user.sessions.values() if s is not session and s.status == PROCESSED),
        key=lambda s: (s.created_at, s.seq),
        reverse=True,
    )
    latest = {s.session_id for s in others[: params.last_n_summaries or 0]}
    summarised = [
        s
        for s in others
        if s.session_id in latest or score(_summary_source(s), query) >= params.summaries_threshold
    ]

    sections: list[str] = []
    if chosen:
        sections.append("Memories:\n" + "\n".join(f"- {memory.content}" for memory in chosen))
    if recent:
        sections.append(
            "Recent messages:\n"
            + "\n".join(
                f"[{render_time(m.timestamp, params.zone)}] {m.role}: {m.content}" for m in recent
            )
        )
    if summarised:
        sections.append(
            "Session summaries:\n"
            + "\n".join(
                f"- [{render_time(s.created_at, params.zone)}] {_summary(_summary_source(s))}"
                for s in summarised
            )
        )
    text = "\n\n".join(sections) or NO_CONTEXT_TEXT

    strategy = params.recall_strategy
    if strategy == "auto":
        strategy = "agentic" if memories else "low_latency"
    if params.include_system_prompt:
        text = system_prompt(strategy) + PROMPT_SEPARATOR + text

    memory_ids: list[str] | None = None
    session_ids: list[str] | None = None
    if params.include_metadata_ids:
        memory_ids = [memory.memory_id for memory in chosen]
        session_ids = _unique(
            [memory.session_id for memory in chosen]
            + [s.session_id for s in summarised]
            + ([session.session_id] if recent else [])
        )
    return {
        "context": text,
        "is_final": True,
        "status_update_message": None,
        "error_message": None,
        "metadata": {
            "recall_strategy_used": strategy,
            "memory_ids": memory_ids,
            "session_ids": session_ids,
            "agent_reasoning": None,
            "vector_search_queries": None,
            "keywords": None,
            "session_summaries_search_queries": None,
            "date_range_filters": None,
        },
    }


# -- handlers ---------------------------------------------------------------------------


def get_system_prompt(ctx: RequestContext) -> web.Response:
    validator = Validator()
    strategy = _strategy_param(ctx.query, validator, "recall_strategy", None)
    validator.raise_if_errors()
    assert strategy is not None
    return json_response(200, {"system_prompt": system_prompt(strategy)})


def get_context(ctx: RequestContext) -> web.Response | AsyncResponder:
    params = ContextParams.from_query(ctx.query)
    user, session = find_session(ctx)
    control = ctx.project.session_control
    answer = assemble_context(user, session, params)
    if control.omit_context_metadata and not params.include_metadata_ids:
        del answer["metadata"]
    if not params.stream:
        return json_response(200, answer)
    return _stream(control, answer, *control.next_stream_outcome())


def _event(name: str, payload: dict[str, Any]) -> bytes:
    data = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return f"event: {name}\ndata: {data}\n\n".encode()


def _stream(
    control: SessionControl, answer: dict[str, Any], mode: StreamMode, error_message: str | None
) -> AsyncResponder:
    """The responder sending *answer* as an event stream (runs without the store lock)."""
    progress = [
        _event("status", {"is_final": False, "status_update_message": message})
        for message in PROGRESS_MESSAGES
    ]
    if mode == "fail":
        final: bytes | None = _event(
            "error",
            {
                "is_final": True,
                "context": None,
                "status_update_message": None,
                "error_message": error_message,
                "metadata": None,
            },
        )
    elif mode == "truncate":
        final = None
    else:
        final = _event("context", answer)
    delay = control.stream_event_delay

    async def respond(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            status=200, headers={"Content-Type": SSE_CONTENT_TYPE, "Cache-Control": "no-cache"}
        )
        control.count("started")
        try:
            await response.prepare(request)
            await response.write(progress[0])
            await control.gate.wait()
            for event in progress[1:]:
                await asyncio.sleep(delay)
                await response.write(event)
            await asyncio.sleep(delay)
            if final is not None:
                await response.write(final)
            await response.write_eof()
        except ConnectionError:  # the client went away (aiohttp raises ConnectionResetError)
            control.count("disconnected")
            return response
        except asyncio.CancelledError:  # the client went away and aiohttp cancelled us
            control.count("disconnected")
            raise
        control.count("completed")
        return response

    return respond
