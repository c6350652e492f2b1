"""Memories and merge conflicts end to end over loopback HTTP: the SDK in both
styles and both transports against the emulator's extraction rules
(``recallrai.emulator._memories``): messages -> processing -> memories ->
versions -> contradictions -> merge conflicts -> resolution."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone

import pytest

from recallrai import (
    AsyncRecallrAI,
    AsyncUser,
    ConnectedMemory,
    Memory,
    MemoryVersion,
    MergeConflictAnswer,
    MergeConflictStatus,
    MessageRole,
    RecallrAI,
    SessionStatus,
)
from recallrai.emulator import Emulator
from recallrai.exceptions import (
    InvalidCategoriesError,
    MemoryNotFoundError,
    MergeConflictAlreadyResolvedError,
    MergeConflictInvalidAnswerError,
    MergeConflictInvalidQuestionsError,
    MergeConflictMissingAnswersError,
    MergeConflictNotFoundError,
    UserNotFoundError,
    ValidationError,
)
from recallrai_sync import User

QUESTION = 'Which is correct for "I live in"?'


async def remember(
    user: AsyncUser,
    *messages: str,
    metadata: dict[str, object] | None = None,
    emulator: Emulator | None = None,
) -> str:
    """Add user messages to a new session and process it: at once with
    ``emulator.settle()``, else by waiting for the emulator's processing delay."""
    session = await user.create_session(metadata=metadata)
    for message in messages:
        await session.add_message(MessageRole.USER, message)
    await session.add_message("assistant", "I love everything you say.")  # never a memory
    await session.process()
    if emulator is not None:
        emulator.settle()
    for _ in range(500):
        await session.refresh()
        if session.status == SessionStatus.PROCESSED:
            return session.session_id
        await asyncio.sleep(0.01)
    raise AssertionError("the session was not processed in time")


def remember_sync(user: User, *messages: str, metadata: dict[str, object] | None = None) -> str:
    session = user.create_session(metadata=metadata)
    for message in messages:
        session.add_message("user", message)
    session.process()
    for _ in range(500):
        session.refresh()
        if session.status == SessionStatus.PROCESSED:
            return session.session_id
        time.sleep(0.01)
    raise AssertionError("the session was not processed in time")


# --------------------------------------------------------------------------- async


@pytest.mark.anyio
async def test_async_memories_story(async_client: AsyncRecallrAI) -> None:
    user = await async_client.create_user("alice")
    before = datetime.now(timezone.utc)
    first = await remember(
        user,
        "Hi! I love sushi. My favourite colour is blue. I live in Paris.",
        metadata={"env": "prod"},
    )
    second = await remember(
        user, "I am allergic to peanuts. I work at Acme", metadata={"env": "test"}
    )

    page = await user.list_memories()
    assert page.total == 5 and not page.has_more()
    assert [m.content for m in page.items] == [
        "I work at Acme",
        "I am allergic to peanuts",
        "I live in Paris",
        "My favourite colour is blue",
        "I love sushi",
    ]
    sushi = page.items[-1]
    assert isinstance(sushi, Memory)
    assert sushi.categories == ["food_preferences"]
    assert sushi.session_id == first
    assert sushi.version_number == 1 and sushi.total_versions == 1
    assert not sushi.has_previous_versions and sushi.previous_versions == []
    assert not sushi.merge_conflict_in_progress
    assert sushi.expired_at is None and sushi.expiration_reason is None
    assert sushi.created_at >= before and sushi.created_at.tzinfo == timezone.utc
    assert sushi.event_date_start == sushi.event_date_end <= sushi.created_at
    assert sushi.connected_memories is not None
    assert {c.content for c in sushi.connected_memories} == {
        "I live in Paris",
        "My favourite colour is blue",
    }
    assert all(isinstance(c, ConnectedMemory) for c in sushi.connected_memories)

    # filters (AND-combined) and flags
    assert [
        m.content for m in (await user.list_memories(categories=["allergies", "work"])).items
    ] == [
        "I work at Acme",
        "I am allergic to peanuts",
    ]
    assert (await user.list_memories(session_id_filter=[second])).total == 2
    filtered = await user.list_memories(
        categories=["food_preferences", "location"], session_metadata_filter={"env": "prod"}
    )
    assert [m.content for m in filtered.items] == ["I live in Paris", "I love sushi"]
    bare = await user.list_memories(
        include_previous_versions=False, include_connected_memories=False
    )
    assert all(m.previous_versions is None and m.connected_memories is None for m in bare.items)
    with pytest.raises(InvalidCategoriesError) as caught:
        await user.list_memories(categories=["food_preferences", "hobbies", "pets"])
    assert caught.value.invalid_categories == ["hobbies", "pets"]
    assert caught.value.http_status == 400

    # pagination: one page, then every memory with async for
    page = await user.list_memories(offset=1, limit=2)
    assert [m.content for m in page.items] == ["I am allergic to peanuts", "I live in Paris"]
    assert page.total == 5 and page.has_more()
    assert [m.content async for m in user.list_memories(limit=2)] == [
        m.content for m in (await user.list_memories(limit=200)).items
    ]

    # a contradiction with merge conflicts off: a new version
    third = await remember(user, "I live in Rome")
    rome = (await user.list_memories(session_id_filter=[third])).items[0]
    assert rome.content == "I live in Rome"
    assert rome.version_number == 2 and rome.total_versions == 2 and rome.has_previous_versions
    assert rome.previous_versions is not None
    (old,) = rome.previous_versions
    assert isinstance(old, MemoryVersion)
    assert old.content == "I live in Paris" and old.version_number == 1
    assert old.expiration_reason == "NEW_VERSION" and old.merge_conflict_id is None
    assert old.expired_at == rome.created_at
    expired = await user.get_memory(old.memory_id)
    assert expired.expired_at == old.expired_at and expired.content == "I live in Paris"
    assert await user.get_memory(rome.memory_id) == rome

    # deleting
    await user.delete_memory(rome.memory_id, delete_previous_versions=True)
    for gone in (rome.memory_id, old.memory_id):
        with pytest.raises(MemoryNotFoundError) as missing:
            await user.get_memory(gone)
        assert missing.value.message == f"Memory {gone} not found"
        assert missing.value.http_status == 404
    await user.delete_memory(sushi.memory_id)
    assert (await user.list_memories()).total == 3
    with pytest.raises(MemoryNotFoundError):
        await user.delete_memory(sushi.memory_id)

    # a missing user is told apart from a missing memory
    ghost = await async_client.get_user("ghost", validate=False)
    calls: list[Callable[[], Awaitable[object]]] = [
        lambda: ghost.get_memory("m1"),
        lambda: ghost.delete_memory("m1"),
        lambda: ghost.list_memories(),
        lambda: ghost.list_merge_conflicts(),
        lambda: ghost.get_merge_conflict("c1"),
    ]
    for call in calls:
        with pytest.raises(UserNotFoundError) as not_found:
            await call()
        assert not_found.value.message == "User ghost not found"
    with pytest.raises(ValidationError):
        await user.list_memories(limit=201)


@pytest.mark.anyio
async def test_async_merge_conflict_story(
    async_client: AsyncRecallrAI, recallrai_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = await async_client.create_user("bob", merge_conflict_enabled=True)
    await remember(user, "I live in Paris. My car is red", emulator=recallrai_emulator)
    paris = (await user.list_memories(categories=["location"])).items[0]
    session_id = await remember(
        user, "I live in Rome. My car is blue. I like tea", emulator=recallrai_emulator
    )

    # memories are unchanged, the contradicted one is flagged
    assert [m.content for m in (await user.list_memories()).items] == [
        "I like tea",
        "My car is red",
        "I live in Paris",
    ]
    assert (await user.get_memory(paris.memory_id)).merge_conflict_in_progress

    page = await user.list_merge_conflicts(sort_order="asc")
    assert page.total == 2 and not page.has_more()
    conflict, car = page.conflicts
    assert conflict.status == MergeConflictStatus.PENDING
    assert conflict.session_id == session_id
    assert conflict.user_id == "bob"
    assert conflict.proposed_memory_content == "I live in Rome"
    assert conflict.new_memories is None and conflict.resolved_at is None
    assert conflict.resolution_data is None
    (conflicting,) = conflict.conflicting_memories
    assert conflicting.memory_id == paris.memory_id and conflicting.content == "I live in Paris"
    assert conflicting.reason
    (question,) = conflict.clarifying_questions
    assert question.question == QUESTION
    assert question.options == ["I live in Paris", "I live in Rome", "Both"]
    assert await user.get_merge_conflict(conflict.conflict_id) == conflict
    assert [c.conflict_id async for c in user.list_merge_conflicts(limit=1)] == [
        car.conflict_id,
        conflict.conflict_id,
    ]
    pending = await user.list_merge_conflicts(status=MergeConflictStatus.PENDING)
    assert pending.total == 2

    # every refusal of the server, as its own exception class with parsed fields
    with pytest.raises(MergeConflictInvalidQuestionsError) as bad_questions:
        await conflict.resolve(
            [
                MergeConflictAnswer(QUESTION, "I live in Rome"),
                MergeConflictAnswer("Where do you work?", "Acme"),
                MergeConflictAnswer("What's your name?", "Bob"),
            ]
        )
    assert bad_questions.value.invalid_questions == ["Where do you work?", "What's your name?"]
    assert bad_questions.value.http_status == 400
    with pytest.raises(MergeConflictMissingAnswersError) as missing:
        await conflict.resolve([])
    assert missing.value.missing_questions == [QUESTION]
    with pytest.raises(MergeConflictInvalidAnswerError) as bad_answer:
        await conflict.resolve([MergeConflictAnswer(QUESTION, "Lisbon", "I moved")])
    assert bad_answer.value.question == QUESTION
    assert bad_answer.value.answer == "Lisbon"
    assert bad_answer.value.valid_options == ["I live in Paris", "I live in Rome", "Both"]
    assert conflict.status == MergeConflictStatus.PENDING

    stale = await user.get_merge_conflict(conflict.conflict_id)
    # the resolution stays in flight until settle(), however slow the machine
    monkeypatch.setattr(recallrai_emulator, "processing_delay", 3600)
    await conflict.resolve([MergeConflictAnswer(QUESTION, "I live in Rome", "moved in May")])
    # the service queues the resolution; nothing is applied yet
    assert conflict.status == MergeConflictStatus.IN_QUEUE
    assert conflict.resolved_at is None and conflict.new_memories is None
    assert (await user.get_memory(paris.memory_id)).merge_conflict_in_progress
    queued = await user.list_merge_conflicts(status=MergeConflictStatus.IN_QUEUE)
    assert [c.conflict_id for c in queued.conflicts] == [conflict.conflict_id]
    # while it is in flight, another resolve is refused by the server
    with pytest.raises(MergeConflictAlreadyResolvedError) as in_flight:
        await stale.resolve([MergeConflictAnswer(QUESTION, "Both")])
    assert in_flight.value.http_status == 400
    assert in_flight.value.message == (
        f"Merge conflict {conflict.conflict_id} is already resolved or being resolved"
    )
    recallrai_emulator.settle()
    await conflict.refresh()
    assert conflict.status == MergeConflictStatus.RESOLVED
    assert conflict.resolved_at is not None
    assert conflict.resolution_data is not None
    assert conflict.resolution_data["applied"] == "new_version"
    assert conflict.resolution_data["answers"] == [
        {"question": QUESTION, "answer": "I live in Rome", "message": "moved in May"}
    ]
    assert conflict.new_memories is not None
    (created,) = conflict.new_memories
    assert created.content == "I live in Rome"

    # the memory has a new version, expired by the conflict
    rome = await user.get_memory(created.memory_id)
    assert rome.content == "I live in Rome" and rome.version_number == 2
    assert rome.session_id == session_id and not rome.merge_conflict_in_progress
    assert rome.previous_versions is not None
    (version,) = rome.previous_versions
    assert version.memory_id == paris.memory_id
    assert version.expiration_reason == "MERGE_CONFLICT"
    assert version.merge_conflict_id == conflict.conflict_id
    assert version.expired_at == conflict.resolved_at

    # already resolved: refused by the server for a stale object ...
    with pytest.raises(MergeConflictAlreadyResolvedError) as by_server:
        await stale.resolve([MergeConflictAnswer(QUESTION, "Both")])
    assert by_server.value.http_status == 400
    assert by_server.value.message == f"Merge conflict {conflict.conflict_id} is already resolved"
    # ... and client-side, without a request, for an object that knows it
    sent = len(recallrai_emulator.requests)
    with pytest.raises(MergeConflictAlreadyResolvedError):
        await conflict.resolve([MergeConflictAnswer(QUESTION, "Both")])
    assert len(recallrai_emulator.requests) == sent
    await stale.refresh()
    assert stale == conflict

    # keeping both creates a separate memory; keeping the old one changes nothing
    recallrai_emulator.advance_clock(1)  # distinct resolution times
    await car.resolve([MergeConflictAnswer('Which is correct for "my car"?', "Both")])
    assert car.status == MergeConflictStatus.IN_QUEUE
    recallrai_emulator.settle()
    await car.refresh()
    assert car.new_memories is not None and car.new_memories[0].content == "My car is blue"
    assert (await user.list_memories(categories=["general"])).total == 2
    resolved = await user.list_merge_conflicts(status="RESOLVED", sort_by="resolved_at")
    assert [c.conflict_id for c in resolved.conflicts] == [car.conflict_id, conflict.conflict_id]

    with pytest.raises(MergeConflictNotFoundError) as not_found:
        await user.get_merge_conflict("no-such-conflict")
    assert not_found.value.message == "Merge conflict no-such-conflict not found"


@pytest.mark.anyio
async def test_async_deleting_a_session_forgets_its_memories(
    async_client: AsyncRecallrAI, recallrai_emulator: Emulator
) -> None:
    user = await async_client.create_user("carol", merge_conflict_enabled=True)
    await remember(user, "I live in Paris", emulator=recallrai_emulator)
    second = await remember(user, "I live in Rome. I like tea", emulator=recallrai_emulator)
    assert (await user.list_merge_conflicts()).total == 1
    await (await user.get_session(second)).delete()
    assert (await user.list_merge_conflicts()).total == 0
    assert [m.content for m in (await user.list_memories()).items] == ["I live in Paris"]


@pytest.mark.anyio
async def test_project_default_from_the_emulator_option() -> None:
    async with (
        Emulator(merge_conflicts_default=True) as emu,
        AsyncRecallrAI(emu.api_key, emu.project_id, base_url=emu.base_url, max_retries=0) as client,
    ):
        user = await client.create_user("dan")
        assert user.merge_conflict_enabled is None
        await remember(user, "My car is red", emulator=emu)
        await remember(user, "My car is blue", emulator=emu)
        (conflict,) = (await user.list_merge_conflicts()).conflicts
        await conflict.resolve(
            [MergeConflictAnswer('Which is correct for "my car"?', "My car is red")]
        )
        emu.settle()
        await conflict.refresh()
        assert conflict.status == MergeConflictStatus.RESOLVED
        assert conflict.new_memories is None  # an empty list reads as None
        assert [m.content for m in (await user.list_memories()).items] == ["My car is red"]


# --------------------------------------------------------------------------- sync


def test_sync_memories_and_conflicts(
    sync_client: RecallrAI, recallrai_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = sync_client.create_user("erin", merge_conflict_enabled=False)
    remember_sync(user, *(f"I like thing{i}." for i in range(5)), "I live in Paris")
    page = user.list_memories(limit=2)
    assert page.total == 6 and page.has_more() and len(page.items) == 2
    assert [m.content for m in user.list_memories(limit=4)] == [
        "I live in Paris",
        *(f"I like thing{i}" for i in reversed(range(5))),
    ]
    remember_sync(user, "I live in Rome")
    rome = user.list_memories(categories=["location"]).items[0]
    assert rome.content == "I live in Rome" and rome.version_number == 2
    assert rome.previous_versions is not None
    assert rome.previous_versions[0].expiration_reason == "NEW_VERSION"
    with pytest.raises(InvalidCategoriesError) as caught:
        user.list_memories(categories=["nope"])
    assert caught.value.invalid_categories == ["nope"]

    user.delete_memory(rome.memory_id)
    with pytest.raises(MemoryNotFoundError):
        user.get_memory(rome.memory_id)
    # deleting the latest version makes the previous one the latest again
    (old,) = user.list_memories(categories=["location"]).items
    assert old.memory_id == rome.previous_versions[0].memory_id
    assert old.content == "I live in Paris" and old.expired_at is None
    assert (old.version_number, old.total_versions) == (1, 1)

    # conflicts on
    user.update(merge_conflict_enabled=True)
    remember_sync(user, "I like thing1. My dog is Rex")
    remember_sync(user, "My dog is Max")
    conflicts = list(user.list_merge_conflicts(limit=1))
    assert len(conflicts) == 1
    conflict = conflicts[0]
    question = 'Which is correct for "my dog"?'
    assert conflict.clarifying_questions[0].question == question
    with pytest.raises(MergeConflictInvalidQuestionsError) as bad:
        conflict.resolve([MergeConflictAnswer("Cat?", "Tom")])
    assert bad.value.invalid_questions == ["Cat?"]
    with pytest.raises(MergeConflictMissingAnswersError) as missing:
        conflict.resolve([])
    assert missing.value.missing_questions == [question]
    with pytest.raises(MergeConflictInvalidAnswerError) as wrong:
        conflict.resolve([MergeConflictAnswer(question, "My dog is Bo")])
    assert wrong.value.valid_options == ["My dog is Rex", "My dog is Max", "Both"]
    assert wrong.value.question == question

    stale = user.get_merge_conflict(conflict.conflict_id)
    # the resolution stays in flight until settle(), however slow the machine
    monkeypatch.setattr(recallrai_emulator, "processing_delay", 3600)
    conflict.resolve([MergeConflictAnswer(question, "My dog is Max")])
    assert conflict.status == MergeConflictStatus.IN_QUEUE
    with pytest.raises(MergeConflictAlreadyResolvedError) as in_flight:
        stale.resolve([MergeConflictAnswer(question, "Both")])
    assert "being resolved" in in_flight.value.message
    recallrai_emulator.settle()
    conflict.refresh()
    assert conflict.status == MergeConflictStatus.RESOLVED
    dog = user.get_memory(conflict.new_memories[0].memory_id)  # type: ignore[index]
    assert dog.content == "My dog is Max"
    assert dog.previous_versions is not None
    assert dog.previous_versions[0].expiration_reason == "MERGE_CONFLICT"
    assert dog.previous_versions[0].merge_conflict_id == conflict.conflict_id

    with pytest.raises(MergeConflictAlreadyResolvedError):
        stale.resolve([MergeConflictAnswer(question, "Both")])
    sent = len(recallrai_emulator.requests)
    with pytest.raises(MergeConflictAlreadyResolvedError):
        conflict.resolve([MergeConflictAnswer(question, "Both")])
    assert len(recallrai_emulator.requests) == sent

    with pytest.raises(MergeConflictNotFoundError):
        user.get_merge_conflict("nope")
    ghost = sync_client.get_user("ghost", validate=False)
    with pytest.raises(UserNotFoundError):
        ghost.get_merge_conflict("nope")
    with pytest.raises(UserNotFoundError):
        ghost.get_memory("m1")
    with pytest.raises(UserNotFoundError):
        ghost.list_memories()
    with pytest.raises(UserNotFoundError):
        ghost.delete_memory("m1")


@pytest.mark.anyio
async def test_async_invalid_answer_with_a_bracket_keeps_the_options(
    async_client: AsyncRecallrAI, recallrai_emulator: Emulator
) -> None:
    user = await async_client.create_user("frank", merge_conflict_enabled=True)
    await remember(user, "I live in Paris", emulator=recallrai_emulator)
    await remember(user, "I live in Rome", emulator=recallrai_emulator)
    (conflict,) = (await user.list_merge_conflicts()).conflicts
    with pytest.raises(MergeConflictInvalidAnswerError) as caught:
        await conflict.resolve([MergeConflictAnswer(QUESTION, "[draft] Lisbon")])
    assert caught.value.answer == "[draft] Lisbon"
    assert caught.value.question == QUESTION
    assert caught.value.valid_options == ["I live in Paris", "I live in Rome", "Both"]


@pytest.mark.anyio
async def test_memory_and_conflict_requests_match_the_protocol(
    async_client: AsyncRecallrAI, recallrai_emulator: Emulator
) -> None:
    user = await async_client.create_user("u1", merge_conflict_enabled=True)
    await remember(user, "I live in Paris", emulator=recallrai_emulator)
    await remember(user, "I live in Rome", emulator=recallrai_emulator)
    (conflict,) = (await user.list_merge_conflicts()).conflicts
    memory_id = conflict.conflicting_memories[0].memory_id
    start = len(recallrai_emulator.requests)

    await user.list_memories()
    await user.list_memories(
        categories=["food_preferences", "allergies"],
        session_id_filter=["s-1", "s-2"],
        session_metadata_filter={"environment": "production"},
        offset=2,
        limit=200,
        include_previous_versions=False,
        include_connected_memories=False,
    )
    await user.get_memory(memory_id, include_previous_versions=False)
    await user.list_merge_conflicts(
        offset=1, limit=5, status="PENDING", sort_by="resolved_at", sort_order="asc"
    )
    await conflict.resolve([MergeConflictAnswer(QUESTION, "Both")])
    await user.delete_memory(memory_id, delete_previous_versions=True)

    seen = [(r.method, r.raw_path, r.query) for r in recallrai_emulator.requests[start:]]
    metadata_filter = seen[1][2].pop()
    assert metadata_filter[0] == "session_metadata_filter"
    assert json.loads(metadata_filter[1]) == {"environment": "production"}
    cid = conflict.conflict_id
    assert seen == [
        (
            "GET",
            "/api/v1/users/u1/memories",
            [
                ("offset", "0"),
                ("limit", "20"),
                ("include_previous_versions", "true"),
                ("include_connected_memories", "true"),
            ],
        ),
        (
            "GET",
            "/api/v1/users/u1/memories",
            [
                ("offset", "2"),
                ("limit", "200"),
                ("include_previous_versions", "false"),
                ("include_connected_memories", "false"),
                ("categories", "food_preferences"),
                ("categories", "allergies"),
                ("session_id_filter", "s-1"),
                ("session_id_filter", "s-2"),
            ],
        ),
        (
            "GET",
            f"/api/v1/users/u1/memory/{memory_id}",
            [("include_previous_versions", "false"), ("include_connected_memories", "true")],
        ),
        (
            "GET",
            "/api/v1/users/u1/merge-conflicts",
            [
                ("offset", "1"),
                ("limit", "5"),
                ("sort_by", "resolved_at"),
                ("sort_order", "asc"),
                ("status", "PENDING"),
            ],
        ),
        ("POST", f"/api/v1/users/u1/merge-conflicts/{cid}/resolve", []),
        (
            "DELETE",
            f"/api/v1/users/u1/memory/{memory_id}",
            [("delete_previous_versions", "true")],
        ),
    ]
    assert recallrai_emulator.requests[start + 4].body == (
        b'{"answers":{"question_answers":[{"question":"Which is correct for \\"I live in\\"?",'
        b'"answer":"Both","message":null}]}}'
    )
