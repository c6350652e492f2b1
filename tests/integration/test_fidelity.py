"""What the service's own documentation adds (PROTOCOL.md §13), end to end against the
emulator in both styles and on both transports: user search, 500-message pages, the
session's processing fields, the system prompt without context metadata, and memory
deletion that reinstates the previous version."""

from __future__ import annotations

import pytest

from recallrai import AsyncRecallrAI, AsyncUser, Memory, RecallrAI, SessionStatus
from recallrai.emulator import Emulator
from recallrai_sync import User

from .test_memories import remember, remember_sync

SEP = "\n\n\n"
USER_IDS = ["Alice", "xALIx", "malice-2", "bob", "Alicia"]


# --------------------------------------------------------------------------- user search


@pytest.mark.anyio
async def test_async_partial_user_id_search(
    async_client: AsyncRecallrAI, recallrai_emulator: Emulator
) -> None:
    for n, user_id in enumerate(USER_IDS):
        await async_client.create_user(user_id, metadata={"team": "a" if n % 2 else "b"})
    page = await async_client.list_users(partial_user_id="ALI")
    assert sorted(u.user_id for u in page.users) == ["Alice", "Alicia", "malice-2", "xALIx"]
    assert page.total == 4 and not page.has_more()
    both = await async_client.list_users(metadata_filter={"team": "b"}, partial_user_id="ali")
    assert sorted(u.user_id for u in both.users) == ["Alice", "Alicia", "malice-2"]
    # auto-paging keeps the search on every page
    found = [u.user_id async for u in async_client.list_users(limit=1, partial_user_id="lic")]
    assert sorted(found) == ["Alice", "Alicia", "malice-2"]
    searches = [r for r in recallrai_emulator.requests if "partial_user_id=lic" in r.query_string]
    assert len(searches) == 3
    assert (await async_client.list_users(partial_user_id="zzz")).users == []


def test_sync_partial_user_id_search(sync_client: RecallrAI) -> None:
    for n, user_id in enumerate(USER_IDS):
        sync_client.create_user(user_id, metadata={"team": "a" if n % 2 else "b"})
    page = sync_client.list_users(partial_user_id="ALI")
    assert sorted(u.user_id for u in page.users) == ["Alice", "Alicia", "malice-2", "xALIx"]
    both = sync_client.list_users(metadata_filter={"team": "a"}, partial_user_id="ali")
    assert [u.user_id for u in both.users] == ["xALIx"]
    found = [u.user_id for u in sync_client.list_users(limit=2, partial_user_id="li")]
    assert sorted(found) == ["Alice", "Alicia", "malice-2", "xALIx"]


# --------------------------------------------------------------------------- message pages


@pytest.mark.anyio
async def test_async_message_pages_hold_up_to_500(async_client: AsyncRecallrAI) -> None:
    user = await async_client.create_user("talker")
    session = await user.create_session()
    for n in range(130):
        await session.add_message("user", f"message {n}")
    page = await session.get_messages(limit=500)
    assert len(page.messages) == page.total == 130 and not page.has_more()
    assert [m.content for m in page.messages][:2] == ["message 0", "message 1"]
    assert len([m async for m in session.get_messages(limit=500)]) == 130


def test_sync_message_pages_hold_up_to_500(sync_client: RecallrAI) -> None:
    session = sync_client.create_user("talker").create_session()
    for n in range(120):
        session.add_message("assistant" if n % 2 else "user", f"message {n}")
    page = session.get_messages(offset=10, limit=500)
    assert len(page.messages) == 110 and page.total == 120 and not page.has_more()
    assert page.messages[-1].content == "message 119"


# --------------------------------------------------------------------------- session fields


@pytest.mark.anyio
async def test_async_session_reports_processing_fields(
    async_client: AsyncRecallrAI, recallrai_emulator: Emulator
) -> None:
    user = await async_client.create_user("u1")
    session = await user.create_session(auto_process_after_seconds=900)
    assert session.auto_process_after_seconds == 900
    assert session.processed_at is None
    await session.add_message("user", "I live in Paris.")
    await session.process()
    recallrai_emulator.settle()
    await session.refresh()
    assert session.status is SessionStatus.PROCESSED
    assert session.processed_at is not None and session.processed_at >= session.created_at
    listed = (await user.list_sessions()).sessions[0]
    assert listed.processed_at == session.processed_at
    assert listed.to_dict()["auto_process_after_seconds"] == 900


def test_sync_session_reports_processing_fields(
    sync_client: RecallrAI, recallrai_emulator: Emulator
) -> None:
    user = sync_client.create_user("u1")
    session = user.create_session()
    assert session.auto_process_after_seconds == 600 and session.processed_at is None
    session.add_message("user", "I love tea.")
    session.process()
    recallrai_emulator.settle()
    session.refresh()
    assert session.processed_at is not None


# --------------------------------------------------------------------------- system prompt


@pytest.mark.anyio
async def test_async_prompt_is_kept_when_the_answer_has_no_metadata(
    async_client: AsyncRecallrAI, recallrai_emulator: Emulator
) -> None:
    recallrai_emulator.omit_context_metadata = True
    session = await (await async_client.create_user("u1")).create_session()
    answer = await session.get_context()
    assert answer.metadata is None
    assert answer.context is not None
    assert answer.context.startswith(recallrai_emulator.system_prompt("balanced") + SEP)
    auto = await session.get_context(recall_strategy="auto")
    assert auto.context is not None
    assert auto.context.startswith(recallrai_emulator.system_prompt("low_latency") + SEP)
    events = [e async for e in session.get_context_stream(recall_strategy="agentic")]
    assert events[-1].metadata is None and events[-1].context is not None
    assert events[-1].context.startswith(recallrai_emulator.system_prompt("agentic") + SEP)
    with_ids = await session.get_context(include_metadata_ids=True)
    assert with_ids.metadata is not None


def test_sync_prompt_is_kept_when_the_answer_has_no_metadata(
    sync_client: RecallrAI, recallrai_emulator: Emulator
) -> None:
    recallrai_emulator.omit_context_metadata = True
    session = sync_client.create_user("u1").create_session()
    prompt = recallrai_emulator.system_prompt("low_latency") + SEP
    answer = session.get_context(recall_strategy="low_latency")
    assert answer.metadata is None and (answer.context or "").startswith(prompt)
    final = list(session.get_context_stream(recall_strategy="low_latency"))[-1]
    assert final.metadata is None and (final.context or "").startswith(prompt)


# --------------------------------------------------------------------------- memory deletion


CHAIN = ("I live in Paris.", "I live in Rome.", "I live in Lisbon.")


@pytest.mark.anyio
async def test_async_deleting_versions_relinks_the_chain(
    async_client: AsyncRecallrAI, recallrai_emulator: Emulator
) -> None:
    user = await async_client.create_user("mover")
    for fact in CHAIN:
        await remember(user, fact, emulator=recallrai_emulator)
    latest = await only_memory(user)
    assert (latest.content, latest.version_number, latest.total_versions) == (
        "I live in Lisbon",
        3,
        3,
    )
    assert latest.previous_versions is not None
    rome, paris = latest.previous_versions  # newest first

    await user.delete_memory(rome.memory_id)  # a middle version: the chain closes over it
    latest = await only_memory(user)
    assert latest.content == "I live in Lisbon" and latest.total_versions == 2
    assert [v.memory_id for v in latest.previous_versions or []] == [paris.memory_id]

    await user.delete_memory(latest.memory_id)  # the latest: the previous one is back
    latest = await only_memory(user)
    assert latest.memory_id == paris.memory_id and latest.content == "I live in Paris"
    assert (latest.version_number, latest.total_versions) == (1, 1)
    assert not latest.has_previous_versions
    assert latest.expired_at is None and latest.expiration_reason is None

    await remember(user, "I live in Oslo.", emulator=recallrai_emulator)
    assert (await only_memory(user)).total_versions == 2
    await user.delete_memory(paris.memory_id, delete_previous_versions=True)  # the whole chain
    assert (await user.list_memories()).total == 0


def test_sync_deleting_the_latest_version_reinstates_the_previous(sync_client: RecallrAI) -> None:
    user = sync_client.create_user("mover")
    for fact in CHAIN[:2]:
        remember_sync(user, fact)
    latest = only_memory_sync(user)
    assert latest.content == "I live in Rome" and latest.total_versions == 2
    user.delete_memory(latest.memory_id)
    reinstated = only_memory_sync(user)
    assert reinstated.content == "I live in Paris" and reinstated.total_versions == 1
    assert reinstated.expired_at is None
    user.delete_memory(reinstated.memory_id, delete_previous_versions=True)
    assert user.list_memories().total == 0


async def only_memory(user: AsyncUser) -> Memory:
    page = await user.list_memories()
    assert page.total == 1, [m.content for m in page.items]
    return page.items[0]


def only_memory_sync(user: User) -> Memory:
    page = user.list_memories()
    assert page.total == 1, [m.content for m in page.items]
    return page.items[0]
