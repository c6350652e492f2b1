"""Connection handling of the emulator against misbehaving clients (raw sockets
over loopback): header, body and idle timeouts, the connection cap, and which
addresses it listens on."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

import pytest

from recallrai.emulator import Emulator

from ._support import own_emulator, poll

REQUEST = (
    b"GET /api/v1/users HTTP/1.1\r\n"
    b"Host: 127.0.0.1\r\n"
    b"X-Recallr-Api-Key: rai_test\r\n"
    b"X-Recallr-Project-Id: p\r\n"
    b"\r\n"
)
PARTIAL_HEAD = b"GET /api/v1/users HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
WAIT = 5.0
"""Upper bound for anything that should happen "soon" (the tests never hang)."""

Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


@asynccontextmanager
async def raw_connections(emu: Emulator, count: int) -> AsyncIterator[list[Connection]]:
    """*count* plain TCP connections to *emu*, all closed on exit."""
    opened: list[Connection] = []
    try:
        for _ in range(count):
            opened.append(await asyncio.open_connection(emu.host, emu.port))
        yield opened
    finally:
        for _, writer in opened:
            writer.close()
        for _, writer in opened:
            with contextlib.suppress(OSError):  # reset by the server
                await writer.wait_closed()


async def read_until_closed(reader: asyncio.StreamReader, timeout: float = WAIT) -> bytes:
    """All the server sends until it closes the connection (TimeoutError if it does not)."""
    received = bytearray()

    async def drain() -> None:
        with contextlib.suppress(ConnectionResetError):
            while chunk := await reader.read(65536):
                received.extend(chunk)

    await asyncio.wait_for(drain(), timeout)
    return bytes(received)


async def read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 response with a Content-Length body."""
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), WAIT)
    status_line, *lines = head.decode("latin-1").split("\r\n")[:-2]
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    body = await asyncio.wait_for(reader.readexactly(int(headers["content-length"])), WAIT)
    return int(status_line.split()[1]), headers, body


async def elapsed_until_closed(reader: asyncio.StreamReader) -> float:
    """Seconds until the server closes the connection, which must send nothing."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await read_until_closed(reader) == b""
    return loop.time() - started


# -- header timeout ---------------------------------------------------------------


@pytest.mark.anyio
async def test_silent_connections_are_closed_and_others_are_served_meanwhile() -> None:
    async with own_emulator(header_timeout=0.5) as api:
        emu = api.emulator
        loop = asyncio.get_running_loop()
        started = loop.time()
        async with raw_connections(emu, 50) as silent:
            await poll(lambda: emu.open_connections == 50)
            reply = await api.request("GET", "/api/v1/users")
            assert reply.status == 200
            for reader, _ in silent:
                assert await read_until_closed(reader) == b""
            assert 0.4 <= loop.time() - started < WAIT
        await poll(lambda: emu.open_connections == 1)  # the client's kept-alive one
        assert (await api.request("GET", "/api/v1/users")).status == 200


@pytest.mark.anyio
async def test_a_trickled_request_head_is_cut_off() -> None:
    async with (
        own_emulator(header_timeout=0.5) as api,
        raw_connections(api.emulator, 1) as [(reader, writer)],
    ):

        async def trickle() -> None:
            for byte in PARTIAL_HEAD + b"a" * 1000:  # 20 s at this pace
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(0.02)

        trickler = asyncio.create_task(trickle())
        try:
            assert 0.4 <= await elapsed_until_closed(reader) < WAIT
        finally:
            trickler.cancel()
            with contextlib.suppress(asyncio.CancelledError, OSError):
                await trickler
        assert (await api.request("GET", "/api/v1/users")).status == 200


@pytest.mark.anyio
async def test_kept_alive_connection_waits_idle_but_must_finish_each_head() -> None:
    async with (
        own_emulator(header_timeout=0.3, idle_timeout=2.0) as api,
        raw_connections(api.emulator, 1) as [(reader, writer)],
    ):
        writer.write(REQUEST)
        assert (await read_response(reader))[0] == 200
        await asyncio.sleep(0.6)  # idle for twice the header timeout: still open
        writer.write(REQUEST)
        assert (await read_response(reader))[0] == 200
        writer.write(PARTIAL_HEAD)  # the next head starts and never ends
        assert await elapsed_until_closed(reader) < 1.5  # the header timeout, not the idle one


@pytest.mark.anyio
async def test_a_head_pipelined_during_a_request_is_cut_off() -> None:
    async with (
        own_emulator(header_timeout=0.3, idle_timeout=30) as api,
        raw_connections(api.emulator, 1) as [(reader, writer)],
    ):
        api.emulator.inject_fault(503, delay=0.3)
        writer.write(REQUEST)
        await asyncio.sleep(0.1)  # the request is being handled
        writer.write(PARTIAL_HEAD)
        assert (await read_response(reader))[0] == 503
        assert await elapsed_until_closed(reader) < WAIT


@pytest.mark.anyio
async def test_a_head_pipelined_in_the_same_packet_is_cut_off_when_idle() -> None:
    # Bytes that arrive with a request cannot be told from its own, so here the
    # idle timeout is what ends the connection.
    async with (
        own_emulator(header_timeout=30, idle_timeout=0.5) as api,
        raw_connections(api.emulator, 1) as [(reader, writer)],
    ):
        writer.write(REQUEST + PARTIAL_HEAD)
        assert (await read_response(reader))[0] == 200
        assert await elapsed_until_closed(reader) < WAIT


# -- body and idle timeouts -----------------------------------------------------


@pytest.mark.anyio
async def test_a_body_that_does_not_arrive_is_answered_408() -> None:
    async with (
        own_emulator(body_timeout=0.3) as api,
        raw_connections(api.emulator, 1) as [(reader, writer)],
    ):
        loop = asyncio.get_running_loop()
        started = loop.time()
        writer.write(
            b"POST /api/v1/users HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"X-Recallr-Api-Key: rai_test\r\nX-Recallr-Project-Id: p\r\n"
            b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
            b'{"custom_'
        )
        status, headers, body = await read_response(reader)
        assert 0.25 <= loop.time() - started < WAIT
        assert status == 408
        assert headers["connection"] == "close"
        assert body == b'{"detail":"Request body not received in time"}'
        assert api.emulator.requests == []
        assert (await api.request("GET", "/api/v1/users")).status == 200


@pytest.mark.anyio
async def test_idle_kept_alive_connection_is_closed_after_the_idle_timeout() -> None:
    async with (
        own_emulator(header_timeout=30, idle_timeout=0.5) as api,
        raw_connections(api.emulator, 1) as [(reader, writer)],
    ):
        writer.write(REQUEST)
        assert (await read_response(reader))[0] == 200
        assert 0.4 <= await elapsed_until_closed(reader) < WAIT


@pytest.mark.anyio
async def test_client_leaving_mid_body_frees_its_connection() -> None:
    async with own_emulator() as api:
        emu = api.emulator
        async with raw_connections(emu, 1) as [(_, writer)]:
            writer.write(
                b"POST /api/v1/users HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n{"
            )
            await writer.drain()
            await poll(lambda: emu.open_connections == 1)
        await poll(lambda: emu.open_connections == 0)
        assert (await api.request("GET", "/api/v1/users")).status == 200


# -- the connection cap -------------------------------------------------------------


@pytest.mark.anyio
async def test_connections_beyond_the_cap_get_503_and_are_closed() -> None:
    async with own_emulator(max_connections=3, header_timeout=30) as api:
        emu = api.emulator
        async with raw_connections(emu, 3) as held:
            await poll(lambda: emu.open_connections == 3)
            for _ in range(5):
                async with raw_connections(emu, 1) as [(reader, _)]:
                    refusal = await read_until_closed(reader)
                assert refusal.startswith(b"HTTP/1.1 503 Service Unavailable\r\n")
                assert refusal.endswith(b'\r\n\r\n{"detail":"Too many open connections"}')
            assert emu.open_connections == 3
            # the held connections still work
            reader, writer = held[0]
            writer.write(REQUEST)
            assert (await read_response(reader))[0] == 200
        await poll(lambda: emu.open_connections == 0)
        assert (await api.request("GET", "/api/v1/users")).status == 200


@pytest.mark.parametrize(
    "options",
    [
        {"max_connections": 0},
        {"max_connections": 1.5},
        {"max_connections": True},
        {"header_timeout": 0},
        {"body_timeout": -1},
        {"idle_timeout": float("inf")},
        {"header_timeout": float("nan")},
    ],
)
def test_limits_are_validated(options: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        Emulator(**options)  # type: ignore[arg-type]


# -- listening addresses --------------------------------------------------------------


def ipv6_loopback_available() -> bool:
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


def refused(host: str, port: int) -> bool:
    """Whether nothing listens on *host*:*port* (a loopback address)."""
    try:
        with socket.create_connection((host, port), timeout=WAIT):
            return False
    except ConnectionRefusedError:
        return True


def assert_ipv4_loopback_only(port: int) -> None:
    if sys.platform.startswith("linux"):  # all of 127/8 is loopback there
        assert refused("127.0.0.2", port), "listening on more than 127.0.0.1"
    if ipv6_loopback_available():
        assert refused("::1", port), "listening on IPv6 too"


def test_default_listens_on_ipv4_loopback_only() -> None:
    with Emulator().run_in_thread() as emu:
        assert emu.host == "127.0.0.1"
        assert emu.addresses == [("127.0.0.1", emu.port)]
        assert_ipv4_loopback_only(emu.port)


@contextmanager
def cli(*args: str) -> Iterator[str]:
    """``python -m recallrai.emulator --port 0 *args``; yields its base URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "recallrai.emulator", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        yield proc.stdout.readline().rstrip("\n")
    finally:
        proc.terminate()
        try:
            proc.communicate(timeout=15)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()


def test_cli_default_host_is_ipv4_loopback_only_and_limits_apply() -> None:
    with cli("--header-timeout", "0.3") as url:
        assert url.startswith("http://127.0.0.1:")
        port = int(url.rsplit(":", 1)[1])
        assert_ipv4_loopback_only(port)
        with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as silent:
            assert silent.recv(1) == b""  # closed by the header timeout, not by recv's timeout


def test_cli_ipv6_loopback_listens_there_only() -> None:
    if not ipv6_loopback_available():
        pytest.skip("no IPv6 loopback here")
    with cli("--host", "::1") as url:
        assert url.startswith("http://[::1]:")
        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection(("::1", port), timeout=WAIT) as conn:
            conn.sendall(REQUEST)
            assert conn.recv(12) == b"HTTP/1.1 200"
        assert refused("127.0.0.1", port), "listening on IPv4 too"


def test_cli_rejects_bad_limits() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "recallrai.emulator", "--port", "0", "--max-connections", "0"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert "max_connections" in result.stderr and "Traceback" not in result.stderr
