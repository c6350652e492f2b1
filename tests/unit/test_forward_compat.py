"""Forward-compatible models (issue 12, part 5).

A service newer than the SDK may send enum values and fields the SDK does not
know: an unknown enum value is kept as a pseudo-member (its raw value, equal to
its string, round-tripping through ``to_dict()``), unknown fields are ignored.
Caller input stays strict. Every model also has ``from_dict()`` (the inverse of
``to_dict()``) and ``to_json()``.
"""

from __future__ import annotations

import enum
import json
import pickle
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
import respx

from recallrai import AsyncRecallrAI
from recallrai._models import (
    ClarifyingQuestion,
    ConflictingMemory,
    ConnectedMemory,
    Context,
    ContextMetadata,
    DateRangeFilter,
    DateRangeFilterType,
    Memory,
    MemoryVersion,
    MergeConflictAnswer,
    MergeConflictStatus,
    Message,
    MessageRole,
    NewMemory,
    RecallStrategy,
    SessionStatus,
    UserMessage,
)
from recallrai._validation import require_enum
from recallrai.exceptions import (
    MalformedResponseError,
    MergeConflictAlreadyResolvedError,
    ValidationError,
)

pytestmark = pytest.mark.anyio

T0 = "2025-01-01T00:00:00Z"
T1 = "2025-02-03T04:05:06Z"
UTC0 = datetime(2025, 1, 1, tzinfo=timezone.utc)
UTC1 = datetime(2025, 2, 3, 4, 5, 6, tzinfo=timezone.utc)
EXTRA = {"brand_new_field": {"nested": [1, 2]}, "another_one": None}

SESSION = {"session_id": "s1", "status": "archived", "created_at": T0, "metadata": {}, **EXTRA}
CONFLICTING = {
    "memory_id": "m1",
    "content": "Lives in Rome",
    "reason": "A different city",
    "event_date_start": T0,
    "event_date_end": T0,
    "created_at": T0,
    **EXTRA,
}
CONFLICT = {
    "id": "c1",
    "project_user_session_id": "s2",
    "proposed_memory_content": "Lives in Lisbon",
    "conflicting_memories": [CONFLICTING],
    "clarifying_questions": [{"question": "Where?", "options": ["Rome"], **EXTRA}],
    "status": "AWAITING_REVIEW",
    "created_at": T0,
    **EXTRA,
}


def page(key: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    return {key: items, "total": len(items), "has_more": False, **EXTRA}


async def _user(client: AsyncRecallrAI) -> Any:
    return await client.get_user("u1", validate=False)


# ----------------------------------------------------------------------------- pseudo-members


@pytest.mark.parametrize(
    "cls", [SessionStatus, MessageRole, RecallStrategy, DateRangeFilterType, MergeConflictStatus]
)
def test_unknown_values_are_pseudo_members(cls: Any) -> None:
    unknown = cls("from_the_future")
    assert isinstance(unknown, cls)
    assert issubclass(type(unknown), str)
    assert unknown == "from_the_future" and unknown.value == "from_the_future"
    assert unknown.name == "FROM_THE_FUTURE"
    assert unknown is cls("from_the_future")  # cached per value
    assert unknown not in list(cls) and not unknown.is_known
    assert all(member.is_known for member in cls)
    assert pickle.loads(pickle.dumps(unknown)) is unknown
    with pytest.raises(ValueError):
        cls(1)
    with pytest.raises(ValueError):
        cls(None)


# ----------------------------------------------------------------------------- responses


async def test_messages_with_an_unknown_role_and_extra_fields(
    api: respx.MockRouter, new_client: Callable[..., AsyncRecallrAI]
) -> None:
    message = {"role": "tool", "content": "hi", "timestamp": T0, **EXTRA}
    api.get("/api/v1/users/u1/sessions/s1/messages").mock(
        return_value=httpx.Response(200, json=page("messages", [message]))
    )
    async with new_client() as client:
        session = await (await _user(client)).get_session("s1", validate=False)
        listed = (await session.get_messages()).messages[0]
    assert listed.role == "tool" and listed.role.value == "tool"
    assert isinstance(listed.role, MessageRole)
    assert listed.to_dict() == {
        "role": "tool",
        "content": "hi",
        "timestamp": "2025-01-01T00:00:00+00:00",
    }
    assert Message.from_dict(listed.to_dict()) == listed


async def test_last_n_messages_with_an_unknown_role(
    api: respx.MockRouter, new_client: Callable[..., AsyncRecallrAI]
) -> None:
    message = {"role": "system", "content": "hi", "timestamp": T0, "session_id": "s1", **EXTRA}
    api.get("/api/v1/users/u1/messages").mock(
        return_value=httpx.Response(200, json={"messages": [message], **EXTRA})
    )
    async with new_client() as client:
        result = await (await _user(client)).get_last_n_messages(1)
    assert result[0].role == "system" and result[0].to_dict()["role"] == "system"
    assert UserMessage.from_dict(result[0].to_dict()) == result[0]


async def test_sessions_with_an_unknown_status(
    api: respx.MockRouter, new_client: Callable[..., AsyncRecallrAI]
) -> None:
    api.get("/api/v1/users/u1/sessions/s1").mock(
        return_value=httpx.Response(200, json={"session": SESSION, **EXTRA})
    )
    api.get("/api/v1/users/u1/sessions").mock(
        return_value=httpx.Response(200, json=page("sessions", [SESSION]))
    )
    async with new_client() as client:
        user = await _user(client)
        fetched = await user.get_session("s1")
        listed = (await user.list_sessions()).sessions[0]
    for session in (fetched, listed):
        assert session.status == "archived" and isinstance(session.status, SessionStatus)
        assert session.to_dict()["status"] == "archived"


async def test_a_non_string_enum_value_is_still_malformed(
    api: respx.MockRouter, new_client: Callable[..., AsyncRecallrAI]
) -> None:
    api.get("/api/v1/users/u1/sessions/s1").mock(
        return_value=httpx.Response(200, json={"session": {**SESSION, "status": 3}})
    )
    async with new_client() as client:
        with pytest.raises(MalformedResponseError):
            await (await _user(client)).get_session("s1")


async def test_merge_conflicts_with_an_unknown_status(
    api: respx.MockRouter, new_client: Callable[..., AsyncRecallrAI]
) -> None:
    api.get("/api/v1/users/u1/merge-conflicts").mock(
        return_value=httpx.Response(200, json=page("conflicts", [CONFLICT]))
    )
    api.get("/api/v1/users/u1/merge-conflicts/c1").mock(
        return_value=httpx.Response(200, json=CONFLICT)
    )
    resolved = {**CONFLICT, "status": "RESOLVED"}
    resolve = api.post("/api/v1/users/u1/merge-conflicts/c1/resolve").mock(
        return_value=httpx.Response(200, json=resolved)
    )
    async with new_client() as client:
        user = await _user(client)
        listed = (await user.list_merge_conflicts()).conflicts[0]
        conflict = await user.get_merge_conflict("c1")
        for each in (listed, conflict):
            assert each.status == "AWAITING_REVIEW"
            assert isinstance(each.status, MergeConflictStatus)
            assert each.to_dict()["status"] == "AWAITING_REVIEW"
            assert each.conflicting_memories[0].content == "Lives in Rome"
        # An unknown status is not a finished one: resolve() still sends its request.
        await conflict.resolve([MergeConflictAnswer("Where?", "Rome")])
        assert resolve.call_count == 1
        assert conflict.status is MergeConflictStatus.RESOLVED
        with pytest.raises(MergeConflictAlreadyResolvedError):
            await conflict.resolve([MergeConflictAnswer("Where?", "Rome")])
    assert resolve.call_count == 1


CONTEXT = {
    "context": "ctx",
    "is_final": True,
    "metadata": {
        "recall_strategy_used": "hybrid_v2",
        "date_range_filters": [
            {"filter_type": "updated_at", "start_date": T0, "end_date": T1, **EXTRA}
        ],
        **EXTRA,
    },
    **EXTRA,
}


def _prompts(api: respx.MockRouter) -> None:
    def prompt(request: httpx.Request) -> httpx.Response:
        strategy = request.url.params["recall_strategy"]
        return httpx.Response(200, json={"system_prompt": f"P-{strategy}"})

    api.get("/api/v1/system-prompt").mock(side_effect=prompt)


@pytest.mark.parametrize("requested", ["balanced", "low_latency", "auto"])
async def test_context_with_unknown_strategy_and_filter_type(
    api: respx.MockRouter, new_client: Callable[..., AsyncRecallrAI], requested: str
) -> None:
    api.get("/api/v1/users/u1/sessions/s1/context").mock(
        return_value=httpx.Response(200, json=CONTEXT)
    )
    _prompts(api)
    async with new_client() as client:
        session = await (await _user(client)).get_session("s1", validate=False)
        context = await session.get_context(recall_strategy=requested)
    assert context.metadata is not None
    assert context.metadata.recall_strategy_used == "hybrid_v2"
    assert context.metadata.date_range_filters is not None
    assert context.metadata.date_range_filters[0].filter_type == "updated_at"
    assert context.metadata.date_range_filters[0].start_date == UTC0
    # An unknown strategy is treated like a non-agentic one: the requested strategy's prompt.
    expected = "low_latency" if requested == "auto" else requested
    assert context.context == f"P-{expected}\n\n\nctx"
    plain = context.to_dict()
    assert plain["metadata"]["recall_strategy_used"] == "hybrid_v2"
    assert plain["metadata"]["date_range_filters"][0]["filter_type"] == "updated_at"
    assert Context.from_dict(plain) == context
    assert Context.from_dict(json.loads(context.to_json())) == context


async def test_context_stream_with_unknown_values(
    api: respx.MockRouter, new_client: Callable[..., AsyncRecallrAI]
) -> None:
    body = b"data: " + json.dumps(CONTEXT).encode() + b"\n\n"
    api.get("/api/v1/users/u1/sessions/s1/context").mock(
        return_value=httpx.Response(
            200, content=body, headers={"Content-Type": "text/event-stream"}
        )
    )
    async with new_client() as client:
        session = await (await _user(client)).get_session("s1", validate=False)
        events = [event async for event in session.get_context_stream(include_system_prompt=False)]
    assert events[-1].metadata is not None
    assert events[-1].metadata.recall_strategy_used == "hybrid_v2"


# ----------------------------------------------------------------------------- caller input


@pytest.mark.parametrize(
    ("cls", "value"),
    [
        (MessageRole, "tool"),
        (RecallStrategy, "hybrid_v2"),
        (SessionStatus, "archived"),
        (MergeConflictStatus, "AWAITING_REVIEW"),
        (DateRangeFilterType, "updated_at"),
    ],
)
def test_require_enum_rejects_unknown_values(cls: Any, value: str) -> None:
    with pytest.raises(ValidationError, match="must be one of"):
        require_enum(value, cls, "x")
    pseudo = cls(value)  # as read from an answer: still not something a caller may send
    with pytest.raises(ValidationError, match="must be one of"):
        require_enum(pseudo, cls, "x")
    member = next(iter(cls))
    assert require_enum(member, cls, "x") is member
    assert require_enum(member.value, cls, "x") is member


async def test_calls_reject_unknown_caller_values(
    api: respx.MockRouter, new_client: Callable[..., AsyncRecallrAI]
) -> None:
    async with new_client() as client:
        session = await (await _user(client)).get_session("s1", validate=False)
        with pytest.raises(ValidationError):
            await session.add_message("tool", "hi")
        with pytest.raises(ValidationError):
            await session.get_context(recall_strategy="hybrid_v2")
        with pytest.raises(ValidationError):
            await session.add_message(MessageRole("tool"), "hi")
    assert not api.calls


# ----------------------------------------------------------------------------- round trips

VERSION = MemoryVersion(
    memory_id="m0",
    version_number=1,
    content="Lives in Paris",
    event_date_start=UTC0,
    event_date_end=UTC1,
    created_at=UTC0,
    expired_at=UTC1,
    expiration_reason="MERGE_CONFLICT",
    merge_conflict_id="c1",
)
VERSION_2 = MemoryVersion(
    memory_id="m0",
    version_number=2,
    content="x",
    event_date_start=UTC0,
    event_date_end=UTC0,
    created_at=UTC0,
    expired_at=UTC0,
    expiration_reason="r",
)
MODELS: list[Any] = [
    Message(MessageRole.USER, "héllo ✓", UTC0),
    Message(MessageRole("tool"), "", UTC1),
    UserMessage(MessageRole.ASSISTANT, "hi", UTC1, "s1"),
    DateRangeFilter(DateRangeFilterType.EVENT_DATE, UTC0, UTC1),
    DateRangeFilter(DateRangeFilterType("updated_at"), UTC0, UTC1),
    ContextMetadata(RecallStrategy.AGENTIC),
    ContextMetadata(
        RecallStrategy("hybrid_v2"),
        memory_ids=["m1"],
        session_ids=["s1", "s2"],
        agent_reasoning="because",
        vector_search_queries=["q"],
        keywords=["k"],
        session_summaries_search_queries=[],
        date_range_filters=[DateRangeFilter(DateRangeFilterType.CREATED_AT, UTC0, UTC1)],
    ),
    Context(),
    Context("ctx", True, "done", None, ContextMetadata(RecallStrategy.BALANCED, keywords=["a"])),
    Context(None, False, None, "boom", None),
    VERSION,
    VERSION_2,
    ConnectedMemory(memory_id="m9", content="Works in Rome"),
    Memory(
        memory_id="m1",
        categories=["location", "home"],
        content="Lives in Rome",
        event_date_start=UTC0,
        event_date_end=UTC1,
        created_at=UTC1,
        version_number=2,
        total_versions=2,
        has_previous_versions=True,
        session_id="s1",
        merge_conflict_in_progress=False,
        previous_versions=[VERSION, VERSION_2],
        connected_memories=[ConnectedMemory(memory_id="m9", content="c")],
        merge_conflict_id="c1",
        expired_at=UTC1,
        expiration_reason="gone",
    ),
    Memory(
        memory_id="m2",
        categories=[],
        content="c",
        event_date_start=UTC0,
        event_date_end=UTC0,
        created_at=UTC0,
        version_number=1,
        total_versions=1,
        has_previous_versions=False,
        session_id="s1",
        merge_conflict_in_progress=True,
    ),
    ConflictingMemory(
        memory_id="m1",
        content="c",
        reason="r",
        event_date_start=UTC0,
        event_date_end=UTC1,
        created_at=UTC0,
    ),
    NewMemory(
        memory_id="m3", content="c", event_date_start=UTC0, event_date_end=UTC1, created_at=UTC1
    ),
    ClarifyingQuestion("Where?", ["Rome", "Lisbon"]),
    ClarifyingQuestion("Nothing?", []),
    MergeConflictAnswer("Where?", "Rome"),
    MergeConflictAnswer("Where?", "Rome", "I moved"),
]


def test_every_value_class_is_covered() -> None:
    from recallrai import _models

    value_classes = {
        cls
        for cls in vars(_models).values()
        if isinstance(cls, type) and issubclass(cls, _models._Value) and cls is not _models._Value
    }
    assert value_classes == {type(model) for model in MODELS}


@pytest.mark.parametrize("model", MODELS, ids=lambda model: type(model).__name__)
def test_round_trips(model: Any) -> None:
    cls = type(model)
    plain = model.to_dict()
    assert cls.from_dict(plain) == model
    assert cls.from_dict(plain).to_dict() == plain
    text = model.to_json()
    assert json.loads(text) == plain
    assert text == json.dumps(plain, separators=(",", ":"), ensure_ascii=False)  # compact
    assert cls.from_dict(json.loads(text)) == model
    # Unknown keys are ignored on the way back too.
    assert cls.from_dict({**plain, **EXTRA}) == model


def test_to_json_keeps_non_ascii_text() -> None:
    text = Message(MessageRole.USER, "héllo ✓", UTC0).to_json()
    assert text == '{"role":"user","content":"héllo ✓","timestamp":"2025-01-01T00:00:00+00:00"}'


def test_from_dict_normalises_datetimes_to_utc() -> None:
    plus_two = timezone(timedelta(hours=2))
    local = Message(MessageRole.USER, "x", datetime(2025, 1, 1, 2, tzinfo=plus_two))
    back = Message.from_dict(local.to_dict())
    assert back == local and back.timestamp.tzinfo is timezone.utc


@pytest.mark.parametrize(
    ("cls", "data"),
    [
        (Message, {"role": "user", "content": "x"}),  # a required field missing
        (Message, {"role": 1, "content": "x", "timestamp": T0}),  # not a string enum value
        (Message, {"role": "user", "content": 5, "timestamp": T0}),
        (Message, {"role": "user", "content": "x", "timestamp": "yesterday"}),
        (ClarifyingQuestion, {"question": "q", "options": ["Rome", 3]}),
        (MergeConflictAnswer, []),
        (Memory, None),
    ],
)
def test_from_dict_rejects_bad_input_with_a_validation_error(cls: Any, data: Any) -> None:
    with pytest.raises(ValidationError, match=f"Invalid {cls.__name__}") as caught:
        cls.from_dict(data)
    assert not isinstance(caught.value, MalformedResponseError)


def test_require_enum_takes_members_and_values_but_not_another_enums_member() -> None:
    assert require_enum("balanced", RecallStrategy, "x") is RecallStrategy.BALANCED
    assert require_enum(RecallStrategy.BALANCED, RecallStrategy, "x") is RecallStrategy.BALANCED
    assert require_enum(SessionStatus.PENDING, SessionStatus, "x") is SessionStatus.PENDING

    class Other(str, enum.Enum):  # equal (and hashing equal) to "balanced", but not ours
        BALANCED = "balanced"

    with pytest.raises(ValidationError):
        require_enum(Other.BALANCED, RecallStrategy, "x")
