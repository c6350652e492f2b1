"""The Users API end to end over loopback HTTP: both styles, both transports."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import timezone

import pytest

from recallrai import AsyncRecallrAI, RecallrAI, exceptions
from recallrai.emulator import Emulator
from recallrai.exceptions import (
    UserAlreadyExistsError,
    UserNotFoundError,
    ValidationError,
)

ODD_IDS = ["a/b", "..", ".", "x?y#z", "ü ser", "%20", "a+b&c=d", "tab\there"]


# --------------------------------------------------------------------------- async


@pytest.mark.anyio
async def test_async_user_lifecycle(async_client: AsyncRecallrAI) -> None:
    user = await async_client.create_user("alice_123", metadata={"plan": "premium", "n": [1, 2.5]})
    assert user.user_id == "alice_123"
    assert user.metadata == {"plan": "premium", "n": [1, 2.5]}
    assert user.merge_conflict_enabled is None
    assert user.is_loaded and user.created_at.tzinfo == timezone.utc

    fetched = await async_client.get_user("alice_123")
    assert fetched == user

    await fetched.update(new_metadata={"plan": "free"}, merge_conflict_enabled=True)
    assert fetched.metadata == {"plan": "free"}
    assert fetched.merge_conflict_enabled is True

    await user.refresh()
    assert user.metadata == {"plan": "free"}

    await user.update(new_user_id="alice_456")
    assert user.user_id == "alice_456"
    with pytest.raises(UserNotFoundError):
        await async_client.get_user("alice_123")
    assert (await async_client.get_user("alice_456")).metadata == {"plan": "free"}

    await user.delete()
    with pytest.raises(UserNotFoundError) as caught:
        await user.refresh()
    assert caught.value.http_status == 404
    assert caught.value.message == "User alice_456 not found"


@pytest.mark.anyio
async def test_async_conflicts_and_validation(async_client: AsyncRecallrAI) -> None:
    await async_client.create_user("bob")
    with pytest.raises(UserAlreadyExistsError):
        await async_client.create_user("bob")
    other = await async_client.create_user("carol")
    with pytest.raises(UserAlreadyExistsError):
        await other.update(new_user_id="bob")
    assert other.user_id == "carol"  # a refused rename leaves the object as it was
    with pytest.raises(ValidationError):
        await async_client.create_user("  ")


@pytest.mark.anyio
async def test_get_user_without_validation_sends_nothing(
    async_client: AsyncRecallrAI, recallrai_emulator: Emulator
) -> None:
    await async_client.create_user("dave", metadata={"k": "v"})
    before = len(recallrai_emulator.requests)
    ref = await async_client.get_user("dave", validate=False)
    assert len(recallrai_emulator.requests) == before
    assert ref.user_id == "dave"
    assert not ref.is_loaded
    with pytest.raises(exceptions.NotLoadedError):
        ref.created_at  # noqa: B018 - reading it is the test
    await ref.refresh()
    assert ref.is_loaded and ref.metadata == {"k": "v"}

    ghost = await async_client.get_user("ghost", validate=False)
    with pytest.raises(UserNotFoundError):
        await ghost.refresh()


@pytest.mark.anyio
@pytest.mark.parametrize("odd_id", ODD_IDS)
async def test_odd_ids_reach_their_own_user(
    async_client: AsyncRecallrAI, recallrai_emulator: Emulator, odd_id: str
) -> None:
    await async_client.create_user("a")  # a neighbour that a mis-encoded path could hit
    user = await async_client.create_user(odd_id, metadata={"id": odd_id})
    fetched = await async_client.get_user(odd_id)
    assert fetched.user_id == odd_id and fetched.metadata == {"id": odd_id}
    path = recallrai_emulator.requests[-1].raw_path
    assert path.count("/") == 4 and "?" not in path and "#" not in path
    await user.delete()
    assert (await async_client.get_user("a")).user_id == "a"
    with pytest.raises(UserNotFoundError):
        await async_client.get_user(odd_id)


@pytest.mark.anyio
async def test_async_pagination_pages_and_iteration(async_client: AsyncRecallrAI) -> None:
    for i in range(25):
        await async_client.create_user(f"user-{i:02d}", metadata={"even": i % 2 == 0})
    page = await async_client.list_users(offset=0, limit=10)
    assert page.total == 25 and len(page.users) == 10 and page.has_more()
    assert [u.user_id for u in page.users][:2] == ["user-24", "user-23"]  # newest first
    last = await async_client.list_users(offset=20, limit=10)
    assert len(last.users) == 5 and not last.has_more() and last.next_offset() == 25

    ids = [u.user_id async for u in async_client.list_users(limit=7)]
    assert sorted(ids) == [f"user-{i:02d}" for i in range(25)]

    evens = await async_client.list_users(limit=100, metadata_filter={"even": True})
    assert evens.total == 13 and all(u.metadata == {"even": True} for u in evens.users)


@pytest.mark.anyio
async def test_async_iteration_over_1000_users_yields_each_once(
    async_client: AsyncRecallrAI, recallrai_emulator: Emulator
) -> None:
    for start in range(0, 1000, 50):
        await asyncio.gather(
            *(async_client.create_user(f"bulk-{i:04d}") for i in range(start, start + 50))
        )
    before = len(recallrai_emulator.requests)
    seen = [u.user_id async for u in async_client.list_users(limit=100)]
    assert len(seen) == 1000 and len(set(seen)) == 1000
    assert len(recallrai_emulator.requests) - before == 10  # one request per page, no more


@pytest.mark.anyio
async def test_unknown_route_is_a_connection_error(recallrai_emulator: Emulator) -> None:
    async with AsyncRecallrAI(
        recallrai_emulator.api_key,
        recallrai_emulator.project_id,
        base_url=recallrai_emulator.base_url + "/wrong-prefix",
    ) as client:
        with pytest.raises(exceptions.ConnectionError) as caught:
            await client.get_user("x")
    assert caught.value.http_status == 404
    assert "base_url" in caught.value.message


# --------------------------------------------------------------------------- wire format


@pytest.mark.anyio
async def test_requests_match_the_protocol(
    async_client: AsyncRecallrAI, recallrai_emulator: Emulator
) -> None:
    user = await async_client.create_user(
        "u 1/x", metadata={"name": "José", "n": [1, 2.5, None, True]}, merge_conflict_enabled=False
    )
    await async_client.create_user("u2")
    await async_client.list_users(offset=5, limit=3, metadata_filter={"role": "admin"})
    await user.update()
    await user.update(new_metadata={"k": "v"}, new_user_id="u3", merge_conflict_enabled=False)
    await user.delete()
    seen = [(r.method, r.raw_path, r.query_string, r.body) for r in recallrai_emulator.requests]
    assert seen == [
        (
            "POST",
            "/api/v1/users",
            "",
            '{"custom_user_id":"u 1/x","metadata":{"name":"José","n":[1,2.5,null,true]},"merge_conflict_enabled":false}'.encode(),
        ),
        ("POST", "/api/v1/users", "", b'{"custom_user_id":"u2"}'),
        (
            "GET",
            "/api/v1/users",
            "offset=5&limit=3&metadata_filter=%7B%22role%22%3A+%22admin%22%7D",
            b"",
        ),
        ("PUT", "/api/v1/users/u%201%2Fx", "", b"{}"),
        (
            "PUT",
            "/api/v1/users/u%201%2Fx",
            "",
            b'{"new_metadata":{"k":"v"},"new_custom_user_id":"u3","merge_conflict_enabled":false}',
        ),
        ("DELETE", "/api/v1/users/u3", "", b""),
    ]
    for recorded in recallrai_emulator.requests:
        headers = {k.lower(): v for k, v in recorded.headers.items()}
        assert headers["x-recallr-api-key"] == recallrai_emulator.api_key
        assert headers["x-recallr-project-id"] == recallrai_emulator.project_id
        assert headers["content-type"] == "application/json"
        assert headers["accept"] == "application/json"
        assert headers["user-agent"].startswith("recallrai-python/")
        if recorded.body:
            assert headers["content-length"] == str(len(recorded.body))
            json.loads(recorded.body)


@pytest.mark.anyio
async def test_projects_are_isolated(recallrai_emulator: Emulator) -> None:
    def client(project: str) -> AsyncRecallrAI:
        return AsyncRecallrAI(
            recallrai_emulator.api_key, project, base_url=recallrai_emulator.base_url
        )

    async with client("p1") as one, client("p2") as two:
        await one.create_user("shared-name", metadata={"p": 1})
        await two.create_user("shared-name", metadata={"p": 2})
        assert (await one.get_user("shared-name")).metadata == {"p": 1}
        assert (await two.list_users()).total == 1


# --------------------------------------------------------------------------- sync


def test_sync_user_lifecycle(sync_client: RecallrAI) -> None:
    user = sync_client.create_user("alice_123", metadata={"name": "Alice"})
    assert user.metadata == {"name": "Alice"}
    same = sync_client.get_user("alice_123")
    assert same == user
    same.update(new_user_id="alice_999", merge_conflict_enabled=False)
    assert same.user_id == "alice_999" and same.merge_conflict_enabled is False
    with pytest.raises(UserNotFoundError):
        user.refresh()  # still points at the old ID
    with pytest.raises(UserAlreadyExistsError):
        sync_client.create_user("alice_999")
    same.delete()
    with pytest.raises(UserNotFoundError):
        sync_client.get_user("alice_999")


def test_sync_pagination_over_1000_users(
    sync_client: RecallrAI, recallrai_emulator: Emulator
) -> None:
    for i in range(1000):
        sync_client.create_user(f"bulk-{i:04d}")
    page = sync_client.list_users(offset=0, limit=20)
    assert page.total == 1000 and len(page.users) == 20 and page.has_more()
    assert page.next_offset() == 20
    before = len(recallrai_emulator.requests)
    seen = [u.user_id for u in sync_client.list_users(limit=100)]
    assert len(seen) == 1000 and len(set(seen)) == 1000
    assert len(recallrai_emulator.requests) - before == 10


def test_sync_page_iteration_walks_every_page(sync_client: RecallrAI) -> None:
    sync_client.create_user("one")
    sync_client.create_user("two")
    page = sync_client.list_users(limit=1)
    assert [u.user_id for u in page] == ["two", "one"]


@pytest.mark.anyio
async def test_async_page_refuses_plain_for(async_client: AsyncRecallrAI) -> None:
    await async_client.create_user("only")
    page = await async_client.list_users()
    with pytest.raises(TypeError, match="async for"):
        for _ in page:
            pass
    assert [u.user_id for u in page.users] == ["only"]


def test_sync_page_refuses_async_for(sync_client: RecallrAI) -> None:
    sync_client.create_user("only")
    page = sync_client.list_users()

    async def consume() -> None:
        async for _ in page:
            pass

    with pytest.raises(TypeError, match="`for`"):
        asyncio.run(consume())


def test_a_client_used_from_a_second_event_loop_fails_clearly(
    recallrai_emulator: Emulator, transport: str
) -> None:
    """The pool belongs to the loop of the first request: another loop gets a typed
    error (not aiohttp's or httpx's), and the first loop can still use and close it."""
    emu = recallrai_emulator
    client = AsyncRecallrAI(
        emu.api_key,
        emu.project_id,
        base_url=emu.base_url,
        transport=transport,  # type: ignore[arg-type]
        max_retries=0,
    )
    first = asyncio.new_event_loop()
    try:
        first.run_until_complete(client.create_user("looped"))
        sent = len(emu.requests)
        with pytest.raises(exceptions.ConnectionError, match="another one"):
            asyncio.run(client.get_user("looped"))
        with pytest.raises(exceptions.ConnectionError, match="another one"):
            asyncio.run(client.close())  # its loop is still open: close it there
        assert len(emu.requests) == sent
        user = first.run_until_complete(client.get_user("looped"))
        assert user.user_id == "looped"
        first.run_until_complete(client.close())
    finally:
        first.close()


DEAD_LOOP_SCRIPT = """
import asyncio, sys
from recallrai import AsyncRecallrAI, exceptions
key, project, url, transport = sys.argv[1:]
client = AsyncRecallrAI(key, project, base_url=url, transport=transport, max_retries=0)
asyncio.run(client.create_user("orphan"))  # a pooled connection stays on the dead loop
asyncio.run(client.close())
try:
    asyncio.run(client.get_user("orphan"))
except exceptions.ConnectionError as error:
    print("closed:", error)
"""


def test_closing_a_client_whose_loop_has_ended(
    recallrai_emulator: Emulator, transport: str
) -> None:
    """``close()`` from a new loop, once the client's own loop is closed, succeeds and
    leaves the client closed for good. Run in a subprocess: the connection left open
    on the dead loop is the caller's leak, which the HTTP library reports as a
    ResourceWarning at exit."""
    emu = recallrai_emulator
    args = [emu.api_key, emu.project_id, emu.base_url, transport]
    done = subprocess.run(
        [sys.executable, "-c", DEAD_LOOP_SCRIPT, *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "closed: The client is closed"
