# pyright: strict
"""Code as our users write it, every documented pattern in both styles, with precise types.

``nox -s typecheck`` checks this file with mypy ``--strict`` and pyright in strict mode (the comment above): a
field typed ``T | Something`` or a method typed ``Any`` where users expect a real type
shows up here as an error. ``test_user_code.py`` also runs it against the emulator.
Annotations are deliberate: they assert the types the checkers infer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from recallrai import (
    APIResponse,
    AsyncMergeConflict,
    AsyncRecallrAI,
    AsyncSession,
    AsyncUser,
    Context,
    Memory,
    MergeConflict,
    MergeConflictStatus,
    Message,
    MessageRole,
    RecallrAI,
    RecallStrategy,
    RequestEvent,
    ResponseEvent,
    Session,
    SessionStatus,
    User,
    UserPage,
)
from recallrai.exceptions import RecallrAIError, UserNotFoundError


def blocking(client: RecallrAI, user_id: str) -> list[str]:
    """The blocking client; returns what it saw, for the runtime test."""
    seen: list[str] = []
    user: User = client.create_user(user_id, metadata={"plan": "premium"})
    created: datetime = user.created_at
    last_active: datetime = user.last_active_at
    metadata: dict[str, Any] = user.metadata
    enabled: bool | None = user.merge_conflict_enabled
    seen.append(f"{user.user_id} {created.isoformat()} {last_active.year} {metadata} {enabled}")

    fetched: User = client.get_user(user_id)
    ref: User = client.get_user(user_id, validate=False)
    loaded: bool = ref.is_loaded
    ref.refresh(timeout=10)
    seen.append(f"{fetched == ref} {loaded} {ref.is_loaded}")
    user.update(new_metadata={"plan": "free"}, merge_conflict_enabled=True)

    page: UserPage[User] = client.list_users(limit=10, metadata_filter={"plan": "free"})
    total: int = page.total
    more: bool = bool(page.has_more())
    for listed in page:
        seen.append(listed.user_id)
    seen.append(f"{total} {more}")

    session: Session = user.create_session(auto_process_after_seconds=600)
    status: SessionStatus = session.status
    session_created: datetime = session.created_at
    processed_at: datetime | None = session.processed_at
    auto: int | None = session.auto_process_after_seconds
    seen.append(f"{status.value} {session_created.tzinfo} {processed_at} {auto}")
    session.add_message(MessageRole.USER, "I love sushi. My favourite city is Kyoto.")
    session.add_message("assistant", "Noted!", extra_headers={"X-Request-Source": "typing"})
    for message in session.get_messages(limit=50):
        typed: Message = message
        seen.append(f"{typed.role.value}: {typed.content}")

    context: Context = session.get_context(recall_strategy=RecallStrategy.BALANCED)
    seen.append(context.context or "")
    with session.get_context_stream(recall_strategy="low_latency") as stream:
        for event in stream:
            if event.is_final:
                seen.append(event.context or "")
    final: Context = session.get_context_stream().get_final_context()
    seen.append(final.context or "")

    memories = user.list_memories(limit=20)
    for memory in memories.items:
        item: Memory = memory
        seen.append(item.content)

    conflicts = user.list_merge_conflicts(status=MergeConflictStatus.PENDING)
    for conflict in conflicts:
        typed_conflict: MergeConflict = conflict
        seen.append(typed_conflict.status.value)

    fast: RecallrAI = client.with_options(timeout=5, max_retries=0)
    again: User = fast.get_user(user_id)
    raw: APIResponse[Any] = client.with_raw_response.get_user(user_id)
    code: int = raw.status_code
    headers: Mapping[str, str] = raw.headers
    elapsed: timedelta = raw.elapsed
    seen.append(f"{again.user_id} {code} {headers.get('content-type')} {elapsed.days}")

    try:
        client.get_user(f"{user_id}-missing")
    except UserNotFoundError as error:
        seen.append(f"{error.http_status} {error.method} {error.path}")
    except RecallrAIError:
        raise
    session.process()
    user.delete()
    return seen


async def asynchronous(client: AsyncRecallrAI, user_id: str) -> list[str]:
    """The async client; returns what it saw, for the runtime test."""
    seen: list[str] = []
    user: AsyncUser = await client.create_user(user_id)
    seen.append(user.created_at.isoformat())
    async for listed in client.list_users(limit=100):
        seen.append(listed.user_id)
    first: UserPage[AsyncUser] = await client.list_users(limit=1)
    seen.append(str(first.total))

    session: AsyncSession = await user.create_session(timeout=10)
    seen.append(session.status.value)
    await session.add_message(MessageRole.USER, "I live in Lisbon.")
    async with session.get_context_stream() as stream:
        async for event in stream:
            seen.append(str(event.is_final))
    final: Context = await session.get_context_stream().get_final_context()
    seen.append(final.context or "")
    conflicts = await user.list_merge_conflicts()
    for conflict in conflicts.conflicts:
        typed: AsyncMergeConflict = conflict
        seen.append(typed.conflict_id)

    raw = await client.with_raw_response.create_user(f"{user_id}-raw")
    raw_user: AsyncUser = raw.parse()
    seen.append(f"{raw.status_code} {raw_user.user_id}")
    await raw_user.delete()
    await user.delete()
    return seen


def hooks() -> dict[str, list[Any]]:
    """Event hooks, plain and async, as the README shows them."""

    def on_request(event: RequestEvent) -> None:
        event.extensions["started"] = event.attempt

    async def on_response(event: ResponseEvent) -> None:
        print(event.request.method, event.status_code, event.elapsed.total_seconds())

    return {"request": [on_request], "response": [on_response]}


def main(api_key: str, project_id: str, base_url: str) -> None:
    with RecallrAI(api_key, project_id, base_url=base_url, event_hooks=hooks()) as client:
        print(blocking(client, "typing_blocking"))

    async def run() -> None:
        async with AsyncRecallrAI(api_key, project_id, base_url=base_url) as client:
            print(await asynchronous(client, "typing_async"))

    asyncio.run(run())
