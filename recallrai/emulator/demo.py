"""A tour of the SDK against an emulator started for the occasion: ``python -m recallrai.emulator.demo``.

It walks the users' guide in the blocking style, then the same flow with
``AsyncRecallrAI`` and ``await``, over real HTTP on loopback.
"""

from __future__ import annotations

import asyncio

from recallrai import AsyncRecallrAI, RecallrAI
from recallrai.emulator import Emulator
from recallrai.exceptions import UserAlreadyExistsError, UserNotFoundError, ValidationError


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


def main() -> None:
    with Emulator().run_in_thread() as emulator:
        print(f"Emulator listening on {emulator.base_url}")
        blocking_tour(emulator.base_url)
        asyncio.run(async_tour(emulator.base_url))
    print("Demo finished.")


if __name__ == "__main__":
    main()
