"""The whole story against an emulator started for the occasion: ``python -m recallrai.emulator.demo``.

It walks the users' guide in the blocking style and again with ``AsyncRecallrAI``
and ``await``; then a conversation: session, messages, context (plain and
streamed), processing into memories, a new version of a memory, and a merge
conflict answered by the user. Everything goes over real HTTP on loopback.
"""

from __future__ import annotations

import asyncio
import time

from recallrai import (
    AsyncRecallrAI,
    AsyncSession,
    MergeConflict,
    MergeConflictAnswer,
    MergeConflictStatus,
    RecallrAI,
    RecallStrategy,
    Session,
    SessionStatus,
)
from recallrai.emulator import Emulator
from recallrai.exceptions import (
    InvalidSessionStateError,
    MergeConflictInvalidAnswerError,
    UserAlreadyExistsError,
    UserNotFoundError,
    ValidationError,
)


def blocking_tour(base_url: str) -> None:
    print("== blocking client (RecallrAI) ==")
    with RecallrAI(api_key="rai_demo_key", project_id="demo", base_url=base_url) as client:
        user = client.create_user("alice_123")
        user = client.create_user(
            user_id="bob_456",
            metadata={"name": "Bob Smith", "email": "bob@example.com", "plan": "premium"},
        )
        print(f"Created user: {user.user_id}  metadata: {user.metadata}")

        users = client.list_users(offset=0, limit=20)
        print(f"Total users: {users.total}; this page: {len(users.users)}")
        for listed in users.users:
            print(f"- {listed.user_id} (active: {listed.last_active_at})")

        user.refresh()
        temp_user = client.create_user("temp_guest_123")
        old_id = temp_user.user_id
        temp_user.update(new_user_id="registered_user_456")
        print(f"Migrated user from {old_id} to {temp_user.user_id}")

        try:
            client.get_user("nonexistent_user")
        except UserNotFoundError as error:
            print(f"User not found: {error.message}")
        try:
            client.create_user("alice_123")
        except UserAlreadyExistsError as error:
            print(f"User already exists: {error.message}")
        try:
            client.create_user("")
        except ValidationError as error:
            print(f"Invalid data: {error.message}")

        for i in range(45):
            client.create_user(f"bulk-{i:02d}")
        every = [listed.user_id for listed in client.list_users(limit=20)]
        print(f"Iterated {len(every)} users across pages of 20")


async def async_tour(base_url: str) -> None:
    print("== async client (AsyncRecallrAI) ==")
    async with AsyncRecallrAI(
        api_key="rai_demo_key", project_id="demo-async", base_url=base_url
    ) as client:
        user = await client.create_user("carol", metadata={"plan": "free"})
        await user.update(new_metadata={"plan": "pro"}, merge_conflict_enabled=True)
        print(
            f"Updated {user.user_id}: {user.metadata}, merge conflicts: {user.merge_conflict_enabled}"
        )
        await asyncio.gather(*(client.create_user(f"fan-{i:02d}") for i in range(30)))
        page = await client.list_users(limit=10)
        print(f"First page: {len(page.users)} of {page.total}, more: {page.has_more()}")
        count = 0
        async for _ in client.list_users(limit=10):
            count += 1
        print(f"Iterated {count} users with async for")
        await user.delete()
        try:
            await client.get_user("carol")
        except UserNotFoundError as error:
            print(f"Deleted: {error.message}")


async def conversation_tour(base_url: str) -> None:
    print("== a conversation: session, messages, context ==")
    async with AsyncRecallrAI(
        api_key="rai_demo_key", project_id="demo-chat", base_url=base_url
    ) as client:
        user = await client.create_user("frank")
        earlier = await user.create_session(metadata={"topic": "intro"})
        await earlier.add_message("user", "I love sushi. I live in Paris.")
        await earlier.process()
        await _wait_processed_async(earlier)

        session = await user.create_session()
        await session.add_message("user", "Any dinner ideas? Something like sushi maybe.")
        await session.add_message("assistant", "Let me think about what you like.")
        context = await session.get_context(last_n_messages=5, include_metadata_ids=True)
        assert context.context is not None and context.metadata is not None
        print(f"Context ({context.metadata.recall_strategy_used.value}):")
        print(context.context.split("\n\n\n", 1)[-1])  # without the system prompt
        async for event in session.get_context_stream(recall_strategy=RecallStrategy.LOW_LATENCY):
            print("stream:", "final" if event.is_final else event.status_update_message)
        print("last messages:", [m.content for m in await user.get_last_n_messages(3)])


async def _wait_processed_async(session: AsyncSession) -> None:
    for _ in range(100):
        await session.refresh()
        if session.status in (SessionStatus.PROCESSED, SessionStatus.FAILED):
            return
        await asyncio.sleep(0.05)
    raise RuntimeError("session was not processed")


def _wait_processed(session: Session) -> None:
    for _ in range(100):
        session.refresh()
        if session.status in (SessionStatus.PROCESSED, SessionStatus.FAILED):
            return
        time.sleep(0.05)
    raise RuntimeError("session was not processed")


def _wait_resolved(conflict: MergeConflict) -> None:
    """The service applies a resolution in the background: poll until it is done."""
    for _ in range(100):
        conflict.refresh()
        if conflict.status in (MergeConflictStatus.RESOLVED, MergeConflictStatus.FAILED):
            return
        time.sleep(0.05)
    raise RuntimeError("the merge conflict was not resolved")


def _tell(user_session: Session, text: str) -> None:
    user_session.add_message("user", text)
    user_session.process()
    _wait_processed(user_session)


def memory_tour(base_url: str) -> None:
    print("== memories and merge conflicts ==")
    with RecallrAI(api_key="rai_demo_key", project_id="demo-memory", base_url=base_url) as client:
        gina = client.create_user("gina", merge_conflict_enabled=False)
        first = gina.create_session()
        _tell(first, "I work at Acme. My favourite drink is coffee.")
        try:
            first.add_message("user", "One more thing")
        except InvalidSessionStateError as error:
            print(f"Late message refused: {error.message}")
        for memory in gina.list_memories():
            print(f"memory: {memory.content} {memory.categories}")
        _tell(gina.create_session(), "I work at Globex.")
        job = next(m for m in gina.list_memories(categories=["work"]) if "Globex" in m.content)
        history = [(v.content, v.expiration_reason) for v in job.previous_versions or []]
        print(f"new version {job.version_number} of the job memory; history: {history}")

        gina.update(merge_conflict_enabled=True)
        _tell(gina.create_session(), "My favourite drink is tea.")
        conflict = gina.list_merge_conflicts().conflicts[0]
        question = conflict.clarifying_questions[0]
        print(f"conflict: {question.question} {question.options}")
        try:
            conflict.resolve([MergeConflictAnswer(question.question, "lemonade")])
        except MergeConflictInvalidAnswerError as error:
            print(f"refused answer {error.answer!r}; valid options: {error.valid_options}")
        conflict.resolve([MergeConflictAnswer(question.question, question.options[1])])
        print(f"conflict {conflict.status.value} after resolve()")
        _wait_resolved(conflict)
        print(f"conflict {conflict.status.value}; now remembered:")
        for memory in gina.list_memories(categories=["food_preferences"]):
            print(f"  {memory.content} (version {memory.version_number})")


def main() -> None:
    with Emulator().run_in_thread() as emulator:
        print(f"Emulator listening on {emulator.base_url}")
        blocking_tour(emulator.base_url)
        asyncio.run(async_tour(emulator.base_url))
        asyncio.run(conversation_tour(emulator.base_url))
        memory_tour(emulator.base_url)
    print("Demo finished.")


if __name__ == "__main__":
    main()
