"""After its final event, a context stream reads the end of its body, so its connection serves
the next request; a body that does not end soon after the final event costs the connection,
never the final event or the caller's time. Both styles, both transports, real HTTP."""

from __future__ import annotations

import asyncio
import time

import pytest

from recallrai import AsyncRecallrAI, RecallrAI
from recallrai._context import TAIL_SECONDS

from .rss_probe import options
from .servers import HostileServer

TRANSPORTS = ["aiohttp", "httpx"]
STREAMS = 3


async def _async_streams(server: HostileServer, behaviour: str, transport: str) -> list[float]:
    """Stream ``STREAMS`` contexts one after another; the seconds each took."""
    took = []
    async with AsyncRecallrAI(**options(server.url, behaviour, transport)) as client:  # type: ignore[arg-type]
        user = await client.get_user("u", validate=False)
        session = await user.get_session("s", validate=False)
        for _ in range(STREAMS):
            started = time.monotonic()
            events = [e async for e in session.get_context_stream(include_system_prompt=False)]
            took.append(time.monotonic() - started)
            assert events[-1].is_final and events[-1].context == "the context"
    return took


def _sync_streams(server: HostileServer, behaviour: str, transport: str) -> list[float]:
    took = []
    with RecallrAI(**options(server.url, behaviour, transport)) as client:  # type: ignore[arg-type]
        session = client.get_user("u", validate=False).get_session("s", validate=False)
        for _ in range(STREAMS):
            started = time.monotonic()
            events = list(session.get_context_stream(include_system_prompt=False))
            took.append(time.monotonic() - started)
            assert events[-1].is_final and events[-1].context == "the context"
    return took


def _streams(server: HostileServer, behaviour: str, transport: str, style: str) -> list[float]:
    if style == "async":
        return asyncio.run(_async_streams(server, behaviour, transport))
    return _sync_streams(server, behaviour, transport)


@pytest.mark.parametrize("style", ["async", "sync"])
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_stream_whose_end_follows_its_final_event_keeps_its_connection(
    server: HostileServer, transport: str, style: str
) -> None:
    before = server.connections["sse-late-end"]
    _streams(server, "sse-late-end", transport, style)
    assert (
        server.connections["sse-late-end"] - before == 1
    )  # one per stream if the end were not read


@pytest.mark.parametrize("style", ["async", "sync"])
@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("behaviour", ["sse-no-end", "sse-long-tail"])
def test_a_stream_that_goes_on_after_its_final_event_ends_in_time(
    server: HostileServer, transport: str, style: str, behaviour: str
) -> None:
    before = server.connections[behaviour]
    took = _streams(server, behaviour, transport, style)
    assert max(took) < TAIL_SECONDS + 1.0, took
    assert server.connections[behaviour] - before == STREAMS  # each stream's connection was dropped
