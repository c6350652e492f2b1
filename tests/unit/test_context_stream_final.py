"""The async context stream as a context manager, and ``get_final_context()``."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

import pytest

from recallrai import AsyncRecallrAI, AsyncSession
from recallrai.emulator import Emulator
from recallrai.exceptions import StreamError

pytestmark = pytest.mark.anyio


async def apoll(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


@pytest.fixture(params=["aiohttp", "httpx"])
async def session(
    request: pytest.FixtureRequest, recallrai_emulator: Emulator
) -> AsyncIterator[AsyncSession]:
    emu = recallrai_emulator
    async with AsyncRecallrAI(
        emu.api_key, emu.project_id, base_url=emu.base_url, transport=request.param, max_retries=0
    ) as client:
        session = await (await client.create_user("streamer")).create_session()
        await session.add_message("user", "hi")
        yield session


async def test_async_with_iterates_and_keeps_the_final_context(
    session: AsyncSession, recallrai_emulator: Emulator
) -> None:
    expected = await session.get_context(last_n_messages=1)
    async with session.get_context_stream(last_n_messages=1) as stream:
        events = [event async for event in stream]
    assert [event.is_final for event in events] == [False, False, False, True]
    assert events[-1] == expected
    assert await stream.get_final_context() == expected
    assert recallrai_emulator.streams_disconnected == 0


async def test_leaving_async_with_early_drops_the_connection(
    session: AsyncSession, recallrai_emulator: Emulator
) -> None:
    emu = recallrai_emulator
    emu.hold_streams()
    try:
        async with session.get_context_stream(include_system_prompt=False) as stream:
            async for event in stream:
                assert event.is_final is False
                break
        await apoll(lambda: emu.streams_disconnected == 1)
    finally:
        emu.release_streams()
    with pytest.raises(StreamError, match="closed before its final event"):
        await stream.get_final_context()


async def test_get_final_context(session: AsyncSession, recallrai_emulator: Emulator) -> None:
    expected = await session.get_context(last_n_messages=1)
    assert await session.get_context_stream(last_n_messages=1).get_final_context() == expected
    stream = session.get_context_stream(last_n_messages=1)
    assert (await stream.__anext__()).is_final is False
    assert await stream.get_final_context() == expected

    recallrai_emulator.fail_next_stream(error_message="retrieval exploded")
    with pytest.raises(StreamError, match="retrieval exploded") as caught:
        await session.get_context_stream().get_final_context()
    assert caught.value.detail == "retrieval exploded"
    recallrai_emulator.truncate_next_stream()
    with pytest.raises(StreamError, match="ended before its final event"):
        await session.get_context_stream().get_final_context()
