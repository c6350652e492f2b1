"""Proxies and TLS over real loopback sockets, with both clients on both transports.

A small forward proxy (absolute-URI requests and CONNECT tunnels, recording what
passes) and a fake API answering every request with one user, over plain HTTP and
over TLS with a certificate from a throwaway CA made here by ``trustme``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import ssl
import threading
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import aiohttp
import httpx
import pytest
import trustme

from recallrai import AiohttpTransport, AsyncRecallrAI, HttpxTransport, RecallrAI
from recallrai import exceptions as exc

API_KEY = "rai_unit_test_secret_3f9a7c1e"  # the suite's scanned test key (tests/conftest.py)
USER = {
    "custom_user_id": "u1",
    "metadata": {},
    "created_at": "2025-01-01T00:00:00Z",
    "last_active_at": "2025-01-01T00:00:00Z",
}
LOOPBACK = {"127.0.0.1", "::1", "localhost"}

CLIENTS = [
    pytest.param(style, transport, id=f"{style}-{transport}")
    for style in ("async", "sync")
    for transport in ("aiohttp", "httpx")
]


class Passed(NamedTuple):
    """One request the proxy saw."""

    method: str
    target: str
    proxy_authorization: str | None


async def _next_head(reader: asyncio.StreamReader) -> bytes:
    """The next request's head; ``b""`` once the client closed the connection."""
    try:
        return await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return b""


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()


class _Servers:
    """The fake API (plain and TLS) and the forward proxy, on one background event loop."""

    def __init__(self, tls: ssl.SSLContext) -> None:
        self.passed: list[Passed] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self.plain, self.tls, self.proxy = self._run(self._start(tls))

    def _run(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(10)

    async def _start(self, tls: ssl.SSLContext) -> tuple[str, str, str]:
        self._servers = [
            await asyncio.start_server(self._tracked(self._api), "127.0.0.1", 0),
            await asyncio.start_server(self._tracked(self._api), "127.0.0.1", 0, ssl=tls),
            await asyncio.start_server(self._tracked(self._proxy), "127.0.0.1", 0),
        ]
        plain, secure, proxy = (s.sockets[0].getsockname()[1] for s in self._servers)
        return (
            f"http://127.0.0.1:{plain}",
            f"https://127.0.0.1:{secure}",
            f"http://127.0.0.1:{proxy}",
        )

    def _tracked(self, handler: Any) -> Any:
        async def run(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            assert task is not None
            self._tasks.add(task)
            try:
                await handler(reader, writer)
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
                pass  # a client that went away, or a refused handshake
            finally:
                writer.close()
                self._tasks.discard(task)

        return run

    async def _api(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Keep-alive, so that clients pool the connection and close it (TLS too) on close()."""
        body = json.dumps({"user": USER}).encode()
        while head := await _next_head(reader):
            closing = b"\r\nconnection: close" in head.lower()
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n%s"
                b"Content-Length: %d\r\n\r\n%s"
                % (b"Connection: close\r\n" if closing else b"", len(body), body)
            )
            await writer.drain()
            if closing:
                return

    async def _proxy(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        line, *fields = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        method, target, version = line.split(" ")
        headers = {k.strip().lower(): v.strip() for k, _, v in (f.partition(":") for f in fields)}
        self.passed.append(Passed(method, target, headers.get("proxy-authorization")))
        if method == "CONNECT":
            host, _, port = target.rpartition(":")
        else:  # an absolute-URI request: forward it in origin form, one request per connection
            url = urlsplit(target)
            host, port = url.hostname or "", str(url.port or 80)
            kept = [f for f in fields if f and not f.lower().startswith(("proxy-", "connection:"))]
            query = f"?{url.query}" if url.query else ""
            head = [f"{method} {url.path or '/'}{query} {version}", *kept, "Connection: close"]
        host = host.strip("[]")
        if host not in LOOPBACK:
            writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            return
        upstream_reader, upstream = await asyncio.open_connection(host, int(port))
        try:
            if method == "CONNECT":
                writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            else:
                upstream.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
            to_server = asyncio.ensure_future(_pipe(reader, upstream))
            try:
                await _pipe(upstream_reader, writer)  # until the API closes (Connection: close)
            finally:
                to_server.cancel()
                await asyncio.gather(to_server, return_exceptions=True)
        finally:
            upstream.close()

    async def _stop(self) -> None:
        for server in self._servers:
            server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for server in self._servers:
            await server.wait_closed()

    def close(self) -> None:
        self._run(self._stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def ca_file(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


@pytest.fixture(scope="module")
def servers(ca: trustme.CA) -> Iterator[_Servers]:
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(tls)
    running = _Servers(tls)
    try:
        yield running
    finally:
        running.close()


@pytest.fixture
def net(servers: _Servers, monkeypatch: pytest.MonkeyPatch) -> _Servers:
    """The servers with an empty proxy log, and no proxy or CA variables set."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    servers.passed.clear()
    return servers


def _fetch(style: str, transport: str, base_url: str, **options: Any) -> str:
    """``get_user("u1")`` with a client of ``style`` on ``transport``; the user's ID."""
    settings: dict[str, Any] = {
        "base_url": base_url,
        "transport": transport,
        "max_retries": 0,
        "timeout": 10,
        **options,
    }
    if style == "sync":
        with RecallrAI(API_KEY, "p", **settings) as client:
            return client.get_user("u1").user_id

    async def run() -> str:
        async with AsyncRecallrAI(API_KEY, "p", **settings) as client:
            return (await client.get_user("u1")).user_id

    return asyncio.run(run())


def _port(url: str) -> int:
    port = urlsplit(url).port
    assert port is not None
    return port


# --------------------------------------------------------------------------- proxies


@pytest.mark.parametrize(("style", "transport"), CLIENTS)
def test_the_environments_http_proxy_is_used(net, monkeypatch, style, transport):
    monkeypatch.setenv("HTTP_PROXY", net.proxy)
    assert _fetch(style, transport, net.plain) == "u1"
    assert net.passed == [Passed("GET", f"{net.plain}/api/v1/users/u1", None)]


@pytest.mark.parametrize(("style", "transport"), CLIENTS)
def test_the_environments_https_proxy_tunnels_tls(net, monkeypatch, ca_file, style, transport):
    monkeypatch.setenv("https_proxy", net.proxy)
    assert _fetch(style, transport, net.tls, verify=ca_file) == "u1"
    assert net.passed == [Passed("CONNECT", f"127.0.0.1:{_port(net.tls)}", None)]


@pytest.mark.parametrize(("style", "transport"), CLIENTS)
def test_all_proxy_is_used_too(net, monkeypatch, style, transport):
    monkeypatch.setenv("ALL_PROXY", net.proxy)
    assert _fetch(style, transport, net.plain) == "u1"
    assert [p.method for p in net.passed] == ["GET"]


@pytest.mark.parametrize(("style", "transport"), CLIENTS)
def test_no_proxy_bypasses_the_proxy(net, monkeypatch, ca_file, style, transport):
    monkeypatch.setenv("HTTP_PROXY", net.proxy)
    monkeypatch.setenv("HTTPS_PROXY", net.proxy)
    monkeypatch.setenv("NO_PROXY", "example.com, 127.0.0.0/8")
    assert _fetch(style, transport, net.plain) == "u1"
    assert _fetch(style, transport, net.tls, verify=ca_file) == "u1"
    assert net.passed == []


@pytest.mark.parametrize(("style", "transport"), CLIENTS)
def test_explicit_proxy_with_credentials(net, monkeypatch, ca_file, style, transport):
    monkeypatch.setenv("NO_PROXY", "*")  # does not apply to an explicit proxy
    proxy = net.proxy.replace("http://", "http://alice:pa55word@")
    assert _fetch(style, transport, net.plain, proxy=proxy) == "u1"
    assert _fetch(style, transport, net.tls, proxy=proxy, verify=ca_file) == "u1"
    auth = "Basic " + base64.b64encode(b"alice:pa55word").decode()
    assert net.passed == [
        Passed("GET", f"{net.plain}/api/v1/users/u1", auth),
        Passed("CONNECT", f"127.0.0.1:{_port(net.tls)}", auth),
    ]


@pytest.mark.parametrize(("style", "transport"), CLIENTS)
def test_trust_env_false_ignores_the_proxy_variables(net, monkeypatch, style, transport):
    monkeypatch.setenv("HTTP_PROXY", net.proxy)
    assert _fetch(style, transport, net.plain, trust_env=False) == "u1"
    assert net.passed == []


# --------------------------------------------------------------------------- TLS


@pytest.mark.parametrize(("style", "transport"), CLIENTS)
@pytest.mark.parametrize("form", ["str", "path", "context"])
def test_verify_with_the_ca(net, ca, ca_file, style, transport, form):
    if form == "context":
        verify: Any = ssl.create_default_context()
        ca.configure_trust(verify)
    else:
        verify = str(ca_file) if form == "str" else ca_file
    assert _fetch(style, transport, net.tls, verify=verify) == "u1"


@pytest.mark.parametrize(("style", "transport"), CLIENTS)
def test_verify_false_connects_and_warns(net, style, transport):
    with pytest.warns(exc.InsecureTransportWarning):
        assert _fetch(style, transport, net.tls, verify=False) == "u1"


@pytest.mark.parametrize(("style", "transport"), CLIENTS)
def test_ssl_cert_file_is_honoured(net, monkeypatch, ca_file, style, transport):
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    assert _fetch(style, transport, net.tls) == "u1"


@pytest.mark.parametrize(("style", "transport"), CLIENTS)
def test_an_untrusted_certificate_is_a_connection_error(net, style, transport):
    with pytest.raises(exc.ConnectionError, match=r"(?i)certificate") as info:
        _fetch(style, transport, net.tls)
    assert not isinstance(info.value, ssl.SSLError)
    assert info.value.__cause__ is None and info.value.__suppress_context__


@pytest.mark.parametrize(("style", "transport"), CLIENTS)
def test_trust_env_false_ignores_ssl_cert_file(net, monkeypatch, ca_file, style, transport):
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    with pytest.raises(exc.ConnectionError):
        _fetch(style, transport, net.tls, trust_env=False)


# --------------------------------------------------------------------------- the caller's own session


@pytest.mark.anyio
async def test_a_callers_aiohttp_session_is_used_as_is_and_left_open(net, monkeypatch, ca):
    monkeypatch.setenv("HTTPS_PROXY", net.proxy)  # the SDK applies no environment to it
    context = ssl.create_default_context()
    ca.configure_trust(context)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context)) as session:
        client = AsyncRecallrAI(
            API_KEY, "p", base_url=net.tls, transport=AiohttpTransport(session=session)
        )
        assert (await client.get_user("u1")).user_id == "u1"
        await client.close()
        await client.close()
        assert not session.closed
        with pytest.raises(exc.ConnectionError, match="closed"):
            await client.get_user("u1")
    assert net.passed == []


@pytest.mark.anyio
async def test_a_callers_httpx_client_is_used_as_is_and_left_open(net, monkeypatch, ca):
    monkeypatch.setenv("HTTPS_PROXY", net.proxy)
    context = ssl.create_default_context()
    ca.configure_trust(context)
    async with httpx.AsyncClient(verify=context, trust_env=False) as own:
        client = AsyncRecallrAI(
            API_KEY, "p", base_url=net.tls, transport=HttpxTransport(client=own)
        )
        assert (await client.get_user("u1")).user_id == "u1"
        await client.close()
        assert not own.is_closed
        assert (await own.get(f"{net.tls}/anything")).status_code == 200
    assert net.passed == []


@pytest.mark.anyio
@pytest.mark.parametrize("transport", ["aiohttp", "httpx"])
async def test_a_closed_callers_session_is_a_connection_error(net, transport):
    if transport == "aiohttp":
        session = aiohttp.ClientSession()
        own: Any = AiohttpTransport(session=session)
        await session.close()
    else:
        pool = httpx.AsyncClient()
        own = HttpxTransport(client=pool)
        await pool.aclose()
    async with AsyncRecallrAI(API_KEY, "p", base_url=net.plain, transport=own) as client:
        with pytest.raises(exc.ConnectionError, match="is closed"):
            await client.get_user("u1")


def test_the_servers_refuse_anything_but_loopback(net):
    with contextlib.closing(
        __import__("socket").create_connection(("127.0.0.1", _port(net.proxy)))
    ) as sock:
        sock.sendall(b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n")
        assert sock.recv(100).startswith(b"HTTP/1.1 403")
