"""Every call ends, in bounded time and memory, with a typed error, whatever the server does:
endless bodies, huge declared lengths, bytes trickled into headers or bodies, event-stream lines
that never end and streams that only send keep-alives. Both styles, both transports."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Iterator
from pathlib import Path

import pytest

from recallrai import AsyncRecallrAI, RecallrAI
from recallrai.exceptions import RecallrAIError, ResponseTooLargeError
from recallrai.exceptions import TimeoutError as SDKTimeoutError

from .servers import HostileServer

TIMEOUT = 0.6
CAP = 256 * 1024
TRANSPORTS = ["aiohttp", "httpx"]

# behaviour -> the error a plain call (get_user) must end with
CALLS = {
    "endless": ResponseTooLargeError,
    "endless-close": ResponseTooLargeError,
    "huge-length": ResponseTooLargeError,
    "trickle-headers": SDKTimeoutError,
    "trickle-body": SDKTimeoutError,
}
# behaviour -> the error a context stream must end with
STREAMS = {
    "sse-no-newline": ResponseTooLargeError,
    "sse-comments": SDKTimeoutError,
    "sse-trickle-line": SDKTimeoutError,
    "trickle-headers": SDKTimeoutError,
}


def _options(server: HostileServer, behaviour: str, transport: str) -> dict[str, object]:
    return {
        "api_key": "rai_hostile",
        "project_id": "p",
        "base_url": f"{server.url}/{behaviour}",
        "timeout": TIMEOUT,
        "max_retries": 0,
        "transport": transport,
        "max_response_bytes": CAP,
    }


async def _guarded(call: Awaitable[object]) -> object:
    """``call``, failing the test (not hanging it) if the SDK's own bounds do not end it."""
    return await asyncio.wait_for(call, 10 * TIMEOUT)


async def _drain(events: AsyncIterator[object]) -> None:
    async for _ in events:
        pass


def _check(error: RecallrAIError, expected: type[RecallrAIError], started: float) -> None:
    elapsed = time.monotonic() - started
    assert isinstance(error, expected), repr(error)
    assert elapsed < 2 * TIMEOUT, f"took {elapsed:.2f} s"


@pytest.mark.anyio
@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize(("behaviour", "expected"), sorted(CALLS.items()))
async def test_async_call_ends_with_a_typed_error(
    server: HostileServer, transport: str, behaviour: str, expected: type[RecallrAIError]
) -> None:
    async with AsyncRecallrAI(**_options(server, behaviour, transport)) as client:  # type: ignore[arg-type]
        started = time.monotonic()
        with pytest.raises(RecallrAIError) as caught:
            await _guarded(client.get_user("u1"))
    _check(caught.value, expected, started)


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize(("behaviour", "expected"), sorted(CALLS.items()))
def test_sync_call_ends_with_a_typed_error(
    server: HostileServer, transport: str, behaviour: str, expected: type[RecallrAIError]
) -> None:
    with RecallrAI(**_options(server, behaviour, transport)) as client:  # type: ignore[arg-type]
        started = time.monotonic()
        with pytest.raises(RecallrAIError) as caught:
            client.get_user("u1")
    _check(caught.value, expected, started)


@pytest.mark.anyio
@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize(("behaviour", "expected"), sorted(STREAMS.items()))
async def test_async_stream_ends_with_a_typed_error(
    server: HostileServer, transport: str, behaviour: str, expected: type[RecallrAIError]
) -> None:
    async with AsyncRecallrAI(**_options(server, behaviour, transport)) as client:  # type: ignore[arg-type]
        user = await client.get_user("u1", validate=False)
        session = await user.get_session("s1", validate=False)
        started = time.monotonic()
        with pytest.raises(RecallrAIError) as caught:
            await _guarded(_drain(session.get_context_stream(include_system_prompt=False)))
    _check(caught.value, expected, started)


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize(("behaviour", "expected"), sorted(STREAMS.items()))
def test_sync_stream_ends_with_a_typed_error(
    server: HostileServer, transport: str, behaviour: str, expected: type[RecallrAIError]
) -> None:
    with RecallrAI(**_options(server, behaviour, transport)) as client:  # type: ignore[arg-type]
        session = client.get_user("u1", validate=False).get_session("s1", validate=False)
        started = time.monotonic()
        with pytest.raises(RecallrAIError) as caught:
            for _ in session.get_context_stream(include_system_prompt=False):
                pass
    _check(caught.value, expected, started)


@pytest.mark.anyio
@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_retries_stay_within_the_documented_worst_case(
    server: HostileServer, transport: str
) -> None:
    options = {**_options(server, "trickle-body", transport), "max_retries": 2}
    async with AsyncRecallrAI(**options) as client:  # type: ignore[arg-type]
        client._pipeline.sleep = _no_sleep  # the backoff is not what is measured here
        started = time.monotonic()
        with pytest.raises(SDKTimeoutError):
            await client.get_user("u1")
    assert time.monotonic() - started < 3 * TIMEOUT + 0.5  # (max_retries + 1) * timeout


async def _no_sleep(_: float) -> None:
    return None


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("style", ["async", "sync"])
@pytest.mark.parametrize("behaviour", ["endless", "endless-close", "huge-length", "sse-no-newline"])
def test_peak_memory_stays_bounded_with_the_default_cap(
    style: str, transport: str, behaviour: str
) -> None:
    """A fresh process makes one call to an oversized answer with the default cap; it ends
    with ResponseTooLargeError and the process's peak RSS stays under 200 MB."""
    probe = Path(__file__).with_name("rss_probe.py")
    done = subprocess.run(
        [sys.executable, str(probe), style, transport, behaviour],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["errors"] == ["ResponseTooLargeError"], report
    assert report["peak_rss_mb"] < 200, report


@pytest.fixture
def unaccepting_url() -> Iterator[str]:
    """A loopback port whose accept queue is full: a new connection's handshake never ends."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    fillers = []
    for _ in range(4):
        filler = socket.socket()
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            filler.connect(listener.getsockname())
        fillers.append(filler)
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        for sock in (*fillers, listener):
            sock.close()


@pytest.mark.anyio
@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_connection_that_never_opens_ends_in_time(
    unaccepting_url: str, transport: str
) -> None:
    """Connecting has no timer of its own (the client's aiohttp session has none): the attempt's
    deadline bounds it, for requests and for streams."""
    options = {
        "api_key": "rai_hostile",
        "project_id": "p",
        "base_url": unaccepting_url,
        "timeout": TIMEOUT,
        "max_retries": 0,
        "transport": transport,
    }
    async with AsyncRecallrAI(**options) as client:  # type: ignore[arg-type]
        user = await client.get_user("u", validate=False)
        session = await user.get_session("s", validate=False)
        for call in (
            client.get_user("u"),
            client.create_user("u"),
            _drain(session.get_context_stream(include_system_prompt=False)),
        ):
            started = time.monotonic()
            with pytest.raises(RecallrAIError) as info:
                await _guarded(call)
            _check(info.value, SDKTimeoutError, started)
