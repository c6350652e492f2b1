"""The official ``recallrai`` 0.6.6 README's memory, last-N-messages and merge-conflict
idioms, run unchanged on ours in both styles and on both transports against the emulator
(whose extraction rules turn "I live in ..." / "My ... is ..." into memories, versions and,
with merge conflicts on, conflicts). See ``test_migration.py`` for the rest of the README.

The data and wording are our own; only the shapes of the calls follow the official README.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

import recallrai.exceptions.merge_conflicts as conflict_errors
import recallrai.exceptions.users as user_errors
from recallrai import AsyncRecallrAI, RecallrAI
from recallrai.async_merge_conflict import AsyncMergeConflict
from recallrai.async_session import AsyncSession
from recallrai.async_user import AsyncUser
from recallrai.emulator import Emulator
from recallrai.exceptions import (
    InvalidCategoriesError,
    MergeConflictAlreadyResolvedError,
    MergeConflictInvalidAnswerError,
    MergeConflictInvalidQuestionsError,
    MergeConflictMissingAnswersError,
    MergeConflictNotFoundError,
    UserNotFoundError,
    ValidationError,
)
from recallrai.merge_conflict import MergeConflict
from recallrai.models import (
    MemoryRelationship,
    MemoryVersionInfo,
    MergeConflictAnswer,
    MergeConflictStatus,
    MessageRole,
    SessionStatus,
    UserMemoryItem,
)
from recallrai.session import Session
from recallrai.user import User

WHERE = 'Which is correct for "I live in"?'
BIKE = 'Which is correct for "my bike"?'


def assert_utc(moment: object) -> None:
    assert isinstance(moment, datetime)
    assert moment.utcoffset() == timedelta(0)


def told_sync(user: User, emulator: Emulator, text: str, metadata: dict[str, str]) -> Session:
    """A processed session in which the user said *text*."""
    session = user.create_session(auto_process_after_seconds=600, metadata=metadata)
    session.add_message(role=MessageRole.USER, content=text)
    session.add_message(role=MessageRole.ASSISTANT, content="Noted, thanks.")
    session.process()
    emulator.settle()
    session.refresh()
    assert session.status == SessionStatus.PROCESSED
    return session


async def told(
    user: AsyncUser, emulator: Emulator, text: str, metadata: dict[str, str]
) -> AsyncSession:
    session = await user.create_session(auto_process_after_seconds=600, metadata=metadata)
    await session.add_message(role=MessageRole.USER, content=text)
    await session.add_message(role=MessageRole.ASSISTANT, content="Noted, thanks.")
    await session.process()
    emulator.settle()
    await session.refresh()
    assert session.status == SessionStatus.PROCESSED
    return session


def describe(mem: UserMemoryItem) -> dict[str, object]:
    """Every field the README prints for a memory, read the README's way."""
    out: dict[str, object] = {
        "content": mem.content,
        "categories": mem.categories,
        "version": f"{mem.version_number} of {mem.total_versions}",
        "has_previous_versions": mem.has_previous_versions,
        "merge_conflict_in_progress": mem.merge_conflict_in_progress,
    }
    assert isinstance(mem.memory_id, str) and mem.memory_id
    assert isinstance(mem.session_id, str) and mem.session_id
    assert_utc(mem.created_at)
    if mem.previous_versions:
        out["previous"] = [
            (v.version_number, v.content, v.expiration_reason) for v in mem.previous_versions
        ]
        for version in mem.previous_versions:
            assert isinstance(version, MemoryVersionInfo)
            assert_utc(version.created_at)
            assert_utc(version.expired_at)
    if mem.connected_memories:
        out["connected"] = [connected.content for connected in mem.connected_memories]
        for connected in mem.connected_memories:
            assert isinstance(connected, MemoryRelationship) and connected.memory_id
    return out


# what the memories story below must read, newest first
ALL_MEMORIES = [
    {
        "content": "I work at Initech",
        "categories": ["work"],
        "version": "1 of 1",
        "has_previous_versions": False,
        "merge_conflict_in_progress": False,
        "connected": ["I live in Bergen"],
    },
    {
        "content": "I live in Bergen",
        "categories": ["location"],
        "version": "2 of 2",
        "has_previous_versions": True,
        "merge_conflict_in_progress": False,
        "previous": [(1, "I live in Oslo", "NEW_VERSION")],
        "connected": ["I work at Initech"],
    },
    {
        "content": "I am allergic to shellfish",
        "categories": ["allergies"],
        "version": "1 of 1",
        "has_previous_versions": False,
        "merge_conflict_in_progress": False,
        "connected": ["I love pizza"],
    },
    {
        "content": "I love pizza",
        "categories": ["food_preferences"],
        "version": "1 of 1",
        "has_previous_versions": False,
        "merge_conflict_in_progress": False,
        "connected": ["I am allergic to shellfish"],
    },
]


# --------------------------------------------------------------------------- memories


def test_sync_memories_and_last_messages(
    sync_client: RecallrAI, recallrai_emulator: Emulator
) -> None:
    user = sync_client.create_user("kit")
    home = told_sync(
        user,
        recallrai_emulator,
        "I love pizza. I am allergic to shellfish. I live in Oslo.",
        {"environment": "production"},
    )
    away = told_sync(
        user, recallrai_emulator, "I live in Bergen. I work at Initech.", {"environment": "staging"}
    )

    memories = user.list_memories(0, 20)  # offset and limit, positionally
    assert [describe(mem) for mem in memories.items] == ALL_MEMORIES
    assert memories.total == 4 and not memories.has_more
    assert [mem.session_id for mem in memories.items] == [away.session_id] * 2 + [
        home.session_id
    ] * 2
    bergen = memories.items[1]
    assert bergen.previous_versions is not None
    (oslo,) = bergen.previous_versions
    assert oslo.expired_at == bergen.created_at and oslo.created_at <= oslo.expired_at

    filtered = user.list_memories(
        categories=["food_preferences", "allergies"],
        session_id_filter=[home.session_id, away.session_id],
        session_metadata_filter={"environment": "production"},
        offset=0,
        limit=20,
        include_previous_versions=True,
        include_connected_memories=True,
    )
    assert [describe(mem) for mem in filtered.items] == ALL_MEMORIES[2:]
    assert filtered.total == 2 and not filtered.has_more
    staging = user.list_memories(session_metadata_filter={"environment": "staging"})
    assert [mem.content for mem in staging.items] == ["I work at Initech", "I live in Bergen"]
    bare = user.list_memories(include_previous_versions=False, include_connected_memories=False)
    assert [(m.previous_versions, m.connected_memories) for m in bare.items] == [(None, None)] * 4
    assert [m.has_previous_versions for m in bare.items] == [False, True, False, False]

    offset, seen, rounds = 0, [], 0
    page = user.list_memories(offset=offset, limit=3)
    seen += [mem.content for mem in page.items]
    while page.has_more:
        rounds += 1
        assert rounds < 5, "the while memories.has_more loop does not end"
        offset += 3
        page = user.list_memories(offset=offset, limit=3)
        seen += [mem.content for mem in page.items]
    assert rounds == 1 and seen == [m["content"] for m in ALL_MEMORIES]

    try:
        user.list_memories(categories=["food_preferences", "hobbies", "pets"])
        raise AssertionError("no InvalidCategoriesError")
    except UserNotFoundError:
        raise AssertionError("invalid categories reported as a missing user") from None
    except InvalidCategoriesError as e:
        assert e.invalid_categories == ["hobbies", "pets"]
        assert e.http_status == 400
    with pytest.raises(user_errors.InvalidCategoriesError):
        user.list_memories(categories=["gardening"])

    # last N messages across sessions, oldest first
    later = user.create_session(metadata={"environment": "production"})
    later.add_message(role=MessageRole.USER, content="Do you remember my allergy?")
    later.add_message(role=MessageRole.ASSISTANT, content="Yes: shellfish.")
    messages = sync_client.get_user("kit").get_last_n_messages(n=5)
    lines = [f"{msg.role.upper()}: {msg.content}" for msg in messages.messages]
    assert lines == [
        "ASSISTANT: Noted, thanks.",
        "USER: I live in Bergen. I work at Initech.",
        "ASSISTANT: Noted, thanks.",
        "USER: Do you remember my allergy?",
        "ASSISTANT: Yes: shellfish.",
    ]
    assert [msg.session_id for msg in messages.messages] == [
        home.session_id,
        away.session_id,
        away.session_id,
        later.session_id,
        later.session_id,
    ]
    stamps = [msg.timestamp for msg in messages.messages]
    for stamp in stamps:
        assert_utc(stamp)
    assert stamps == sorted(stamps)
    assert len(user.get_last_n_messages(2).messages) == 2

    sync_client.get_user("kit").delete()
    with pytest.raises(UserNotFoundError):
        user.list_memories(0, 20)
    with pytest.raises(UserNotFoundError):
        user.get_last_n_messages(n=5)


@pytest.mark.anyio
async def test_async_memories_and_last_messages(
    async_client: AsyncRecallrAI, recallrai_emulator: Emulator
) -> None:
    user = await async_client.create_user("kit")
    home = await told(
        user,
        recallrai_emulator,
        "I love pizza. I am allergic to shellfish. I live in Oslo.",
        {"environment": "production"},
    )
    away = await told(
        user, recallrai_emulator, "I live in Bergen. I work at Initech.", {"environment": "staging"}
    )
    memories = await user.list_memories(0, 20)
    assert [describe(mem) for mem in memories.items] == ALL_MEMORIES
    assert memories.total == 4 and not memories.has_more
    filtered = await user.list_memories(
        categories=["food_preferences", "allergies"],
        session_id_filter=[home.session_id, away.session_id],
        session_metadata_filter={"environment": "production"},
        offset=0,
        limit=20,
        include_previous_versions=True,
        include_connected_memories=True,
    )
    assert [describe(mem) for mem in filtered.items] == ALL_MEMORIES[2:]
    first = await user.list_memories(0, 1)
    assert first.has_more and first.total == 4
    with pytest.raises(InvalidCategoriesError) as caught:
        await user.list_memories(categories=["hobbies"])
    assert caught.value.invalid_categories == ["hobbies"]

    messages = await user.get_last_n_messages(n=3)
    assert [f"{msg.role.upper()}: {msg.content}" for msg in messages.messages] == [
        "ASSISTANT: Noted, thanks.",
        "USER: I live in Bergen. I work at Initech.",
        "ASSISTANT: Noted, thanks.",
    ]
    assert [msg.session_id for msg in messages.messages] == [
        home.session_id,
        away.session_id,
        away.session_id,
    ]
    assert_utc(messages.messages[0].timestamp)


# --------------------------------------------------------------------------- merge conflicts


def attempt_sync(conflict: MergeConflict, answers: list[MergeConflictAnswer]) -> str:
    """resolve() inside the README's full except chain; what was caught, as text."""
    try:
        conflict.resolve(answers)
        return f"resolved: {conflict.status.value}"
    except UserNotFoundError as e:
        return f"user: {e}"
    except MergeConflictNotFoundError as e:
        return f"not found: {e.http_status}"
    except MergeConflictAlreadyResolvedError as e:
        return f"already resolved: {e.http_status}"
    except MergeConflictInvalidQuestionsError as e:
        return f"invalid questions: {e.invalid_questions}"
    except MergeConflictMissingAnswersError as e:
        return f"missing answers: {e.missing_questions}"
    except MergeConflictInvalidAnswerError as e:
        return f"invalid answer: {e.question} {e.valid_options}"
    except ValidationError as e:
        return f"validation: {e}"


async def attempt(conflict: AsyncMergeConflict, answers: list[MergeConflictAnswer]) -> str:
    try:
        await conflict.resolve(answers)
        return f"resolved: {conflict.status.value}"
    except MergeConflictAlreadyResolvedError as e:
        return f"already resolved: {e.http_status}"
    except MergeConflictInvalidQuestionsError as e:
        return f"invalid questions: {e.invalid_questions}"
    except MergeConflictMissingAnswersError as e:
        return f"missing answers: {e.missing_questions}"
    except MergeConflictInvalidAnswerError as e:
        return f"invalid answer: {e.question} {e.valid_options}"


def pick(conflict: MergeConflict | AsyncMergeConflict, choice: int) -> list[MergeConflictAnswer]:
    """The README's loop: one answer per clarifying question, from its options."""
    answers = []
    for ques in conflict.clarifying_questions:
        answers.append(
            MergeConflictAnswer(
                question=ques.question,
                answer=ques.options[choice],
                message="chosen in the migration test",
            )
        )
    return answers


def test_merge_conflict_statuses() -> None:
    for name in ("PENDING", "IN_QUEUE", "RESOLVING", "RESOLVED", "FAILED"):
        assert MergeConflictStatus[name].value == name
        assert MergeConflictStatus(name) == name


def test_sync_merge_conflicts(
    sync_client: RecallrAI,
    recallrai_emulator: Emulator,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    emu = recallrai_emulator
    user = sync_client.create_user("mo", merge_conflict_enabled=True)
    told_sync(user, emu, "I live in Oslo. My bike is green.", {"env": "a"})
    told_sync(user, emu, "I live in Bergen. My bike is yellow.", {"env": "b"})
    oslo = user.list_memories(categories=["location"]).items[0]
    assert oslo.content == "I live in Oslo" and oslo.merge_conflict_in_progress

    conflicts = user.list_merge_conflicts(
        offset=0,
        limit=10,
        status=MergeConflictStatus.PENDING,
        sort_by="created_at",
        sort_order="desc",
    )
    print(f"Total conflicts: {conflicts.total}")
    print(f"Has more: {conflicts.has_more}")
    assert capsys.readouterr().out == "Total conflicts: 2\nHas more: False\n"
    rows = [
        (
            conf.status,
            conf.proposed_memory_content,
            len(conf.conflicting_memories),
            len(conf.clarifying_questions),
        )
        for conf in conflicts.conflicts
    ]
    assert rows == [
        (MergeConflictStatus.PENDING, "My bike is yellow", 1, 1),
        (MergeConflictStatus.PENDING, "I live in Bergen", 1, 1),
    ]
    for conf in conflicts.conflicts:
        assert isinstance(conf, MergeConflict) and conf.conflict_id
        assert_utc(conf.created_at)
    ascending = user.list_merge_conflicts(sort_by="created_at", sort_order="asc")
    assert [c.conflict_id for c in ascending.conflicts] == [
        c.conflict_id for c in reversed(conflicts.conflicts)
    ]
    one = user.list_merge_conflicts(offset=0, limit=1)
    assert one.has_more and one.total == 2 and len(one.conflicts) == 1

    where_id = conflicts.conflicts[1].conflict_id
    conflict = user.get_merge_conflict(where_id)
    assert conflict.conflict_id == where_id
    assert conflict.status.value == "PENDING"
    assert conflict.proposed_memory_content == "I live in Bergen"
    assert [(mem.content, bool(mem.reason)) for mem in conflict.conflicting_memories] == [
        ("I live in Oslo", True)
    ]
    assert [(q.question, q.options) for q in conflict.clarifying_questions] == [
        (WHERE, ["I live in Oslo", "I live in Bergen", "Both"])
    ]
    assert conflict.resolved_at is None and conflict.resolution_data is None
    with pytest.raises(MergeConflictNotFoundError) as missing:
        user.get_merge_conflict("no-such-conflict")
    assert missing.value.http_status == 404
    with pytest.raises(conflict_errors.MergeConflictNotFoundError):
        user.get_merge_conflict("no-such-conflict")

    # each refusal lands in its own except clause of the README's chain
    assert (
        attempt_sync(conflict, [MergeConflictAnswer(question="Do you cycle?", answer="Yes")])
        == "invalid questions: ['Do you cycle?']"
    )
    assert attempt_sync(conflict, []) == f"missing answers: {[WHERE]}"
    assert attempt_sync(conflict, [MergeConflictAnswer(question=WHERE, answer="Tromso")]) == (
        f"invalid answer: {WHERE} ['I live in Oslo', 'I live in Bergen', 'Both']"
    )
    assert conflict.status == MergeConflictStatus.PENDING

    stale = user.get_merge_conflict(where_id)
    monkeypatch.setattr(emu, "processing_delay", 3600)  # in flight until settle()
    assert conflict.resolve(pick(conflict, 1)) is None
    assert conflict.status == MergeConflictStatus.IN_QUEUE
    assert conflict.resolved_at is None
    queued = user.list_merge_conflicts(status=MergeConflictStatus.IN_QUEUE)
    assert [c.conflict_id for c in queued.conflicts] == [where_id]
    emu.settle()
    assert conflict.refresh() is None
    assert conflict.status == MergeConflictStatus.RESOLVED
    assert_utc(conflict.resolved_at)
    assert conflict.resolution_data
    assert conflict.resolution_data["answers"] == [
        {"question": WHERE, "answer": "I live in Bergen", "message": "chosen in the migration test"}
    ]
    assert attempt_sync(stale, pick(stale, 2)) == "already resolved: 400"
    stale.refresh()
    assert (
        stale.status == MergeConflictStatus.RESOLVED and stale.resolved_at == conflict.resolved_at
    )

    (bergen,) = user.list_memories(categories=["location"]).items
    assert bergen.content == "I live in Bergen" and not bergen.merge_conflict_in_progress
    assert bergen.version_number == 2 and bergen.previous_versions is not None
    assert bergen.previous_versions[0].expiration_reason == "MERGE_CONFLICT"

    emu.advance_clock(1)  # distinct resolution times
    bike = user.get_merge_conflict(conflicts.conflicts[0].conflict_id)
    assert [q.question for q in bike.clarifying_questions] == [BIKE]
    assert attempt_sync(bike, pick(bike, 2)) == "resolved: IN_QUEUE"
    emu.settle()
    bike.refresh()
    assert bike.status == MergeConflictStatus.RESOLVED
    resolved = user.list_merge_conflicts(
        offset=0,
        limit=10,
        status=MergeConflictStatus.RESOLVED,
        sort_by="resolved_at",
        sort_order="asc",
    )
    assert [c.conflict_id for c in resolved.conflicts] == [where_id, bike.conflict_id]
    assert user.list_merge_conflicts(status=MergeConflictStatus.PENDING).total == 0
    bikes = user.list_memories(categories=["general"])
    assert sorted(m.content for m in bikes.items) == ["My bike is green", "My bike is yellow"]


@pytest.mark.anyio
async def test_async_merge_conflicts(
    async_client: AsyncRecallrAI, recallrai_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    emu = recallrai_emulator
    user = await async_client.create_user("mo", merge_conflict_enabled=True)
    await told(user, emu, "I live in Oslo. My bike is green.", {"env": "a"})
    await told(user, emu, "I live in Bergen. My bike is yellow.", {"env": "b"})

    conflicts = await user.list_merge_conflicts(
        offset=0,
        limit=10,
        status=MergeConflictStatus.PENDING,
        sort_by="created_at",
        sort_order="desc",
    )
    assert conflicts.total == 2 and not conflicts.has_more
    assert [c.proposed_memory_content for c in conflicts.conflicts] == [
        "My bike is yellow",
        "I live in Bergen",
    ]
    assert all(isinstance(c, AsyncMergeConflict) for c in conflicts.conflicts)
    conflict = await user.get_merge_conflict(conflicts.conflicts[1].conflict_id)
    assert conflict.status.value == "PENDING"
    assert [mem.content for mem in conflict.conflicting_memories] == ["I live in Oslo"]
    assert all(mem.reason for mem in conflict.conflicting_memories)
    assert [(q.question, q.options[2]) for q in conflict.clarifying_questions] == [(WHERE, "Both")]
    with pytest.raises(MergeConflictNotFoundError):
        await user.get_merge_conflict("no-such-conflict")

    assert await attempt(conflict, [MergeConflictAnswer(question="Cycle?", answer="No")]) == (
        "invalid questions: ['Cycle?']"
    )
    assert await attempt(conflict, []) == f"missing answers: {[WHERE]}"
    assert (await attempt(conflict, [MergeConflictAnswer(question=WHERE, answer="x")])).startswith(
        f"invalid answer: {WHERE} "
    )

    stale = await user.get_merge_conflict(conflict.conflict_id)
    monkeypatch.setattr(emu, "processing_delay", 3600)
    await conflict.resolve(pick(conflict, 0))
    assert conflict.status == MergeConflictStatus.IN_QUEUE
    emu.settle()
    await conflict.refresh()
    assert conflict.status == MergeConflictStatus.RESOLVED
    assert_utc(conflict.resolved_at)
    assert conflict.resolution_data
    assert await attempt(stale, pick(stale, 1)) == "already resolved: 400"
    # keeping the old memory leaves it as it was
    (oslo,) = (await user.list_memories(categories=["location"])).items
    assert oslo.content == "I live in Oslo" and oslo.version_number == 1
    assert not oslo.merge_conflict_in_progress

    done = await user.list_merge_conflicts(
        status=MergeConflictStatus.RESOLVED, sort_by="resolved_at", sort_order="desc"
    )
    assert [c.conflict_id for c in done.conflicts] == [conflict.conflict_id]
