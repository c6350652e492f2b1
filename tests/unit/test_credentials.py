"""Key and credential hygiene: malformed credentials, credentials in base_url, http:// warnings,
and the key kept out of the errors the HTTP libraries raise."""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from recallrai import AsyncRecallrAI, RecallrAI
from recallrai import exceptions as exc

from .conftest import API_KEY

pytestmark = pytest.mark.anyio

SECRET = "rai_S3CR3T_9d2b"


@pytest.fixture
def no_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("RECALLRAI_API_KEY", "RECALLRAI_PROJECT_ID", "RECALLRAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


# --------------------------------------------------------------------------- malformed credentials

BAD_CHARACTERS = [
    pytest.param(f"{SECRET}\n", id="trailing-newline"),
    pytest.param(f"{SECRET}\r\n", id="trailing-crlf"),
    pytest.param(f"{SECRET} ", id="trailing-space"),
    pytest.param(f"{SECRET}\tx", id="tab"),
    pytest.param("rai_S3CR3T 9d2b", id="inner-space"),
    pytest.param(f"{SECRET}\x00", id="nul"),
    pytest.param(f"{SECRET}\x7f", id="del"),
    pytest.param(f"{SECRET}\u00e9", id="non-ascii"),
    pytest.param(f"{SECRET}\u2028", id="line-separator"),
]


@pytest.mark.parametrize("key", BAD_CHARACTERS)
def test_key_with_whitespace_or_control_characters_is_rejected_unechoed(no_env, key):
    with pytest.raises(exc.ValidationError) as info:
        AsyncRecallrAI(key, "p")
    assert "S3CR3T" not in str(info.value) and "S3CR3T" not in repr(info.value)
    assert "API key" in str(info.value)


@pytest.mark.parametrize("project_id", BAD_CHARACTERS)
def test_project_id_with_whitespace_or_control_characters_is_rejected_unechoed(no_env, project_id):
    with pytest.raises(exc.ValidationError) as info:
        AsyncRecallrAI("rai_k", project_id)
    assert "S3CR3T" not in str(info.value) and "S3CR3T" not in repr(info.value)
    assert "project ID" in str(info.value)


def test_key_read_from_the_environment_with_a_newline_is_rejected(no_env):
    no_env.setenv("RECALLRAI_API_KEY", f"{SECRET}\n")
    no_env.setenv("RECALLRAI_PROJECT_ID", "p")
    with pytest.raises(exc.ValidationError) as info:
        AsyncRecallrAI()
    assert "S3CR3T" not in str(info.value)


def test_the_sync_client_rejects_them_too(no_env):
    with pytest.raises(exc.ValidationError):
        RecallrAI(f"{SECRET}\n", "p")


# --------------------------------------------------------------------------- base_url


@pytest.mark.parametrize(
    "base_url",
    [
        "https://alice:pa55word@api.example.com",
        "https://alice@api.example.com",
        "http://alice:pa55word@127.0.0.1:9/prefix",
        "ftp://alice:pa55word@api.example.com",
    ],
)
def test_credentials_in_base_url_are_refused_unechoed(no_env, base_url):
    with pytest.raises(exc.ValidationError) as info:
        AsyncRecallrAI("rai_k", "p", base_url=base_url)
    for text in (str(info.value), repr(info.value)):
        assert "pa55word" not in text and "alice" not in text


def test_credentials_in_the_environment_base_url_are_refused_unechoed(no_env):
    no_env.setenv("RECALLRAI_BASE_URL", "https://alice:pa55word@api.example.com")
    with pytest.raises(exc.ValidationError) as info:
        AsyncRecallrAI("rai_k", "p")
    assert "pa55word" not in str(info.value)


@pytest.mark.parametrize(
    "base_url", ["https://api.example.com\n", "https://api.example.com/ x", "http://host:99999"]
)
def test_malformed_base_url_is_refused(no_env, base_url):
    with pytest.raises(exc.ValidationError):
        AsyncRecallrAI("rai_k", "p", base_url=base_url)


# --------------------------------------------------------------------------- http:// warnings


@pytest.mark.parametrize(
    "base_url", ["http://api.example.com", "http://10.0.0.7:8080/prefix", "http://[2001:db8::1]"]
)
@pytest.mark.parametrize("client_class", [AsyncRecallrAI, RecallrAI])
def test_plain_http_to_another_host_warns_at_the_callers_line(no_env, base_url, client_class):
    with pytest.warns(exc.InsecureTransportWarning, match="unencrypted") as record:
        client = client_class("rai_k", "p", base_url=base_url)
    assert len(record) == 1
    assert record[0].filename == __file__  # the user's line, not the SDK's
    assert issubclass(exc.InsecureTransportWarning, UserWarning)
    if isinstance(client, RecallrAI):
        client.close()


@pytest.mark.parametrize(
    "base_url",
    [
        "http://127.0.0.1:9",
        "http://127.1.2.3",
        "http://[::1]:8000",
        "http://localhost:8000",
        "http://LOCALHOST",
        "http://emulator.localhost",
        "http://[::ffff:127.0.0.1]",
        "https://api.example.com",
    ],
)
def test_loopback_and_https_do_not_warn(no_env, base_url):
    with warnings.catch_warnings():
        warnings.simplefilter("error", exc.InsecureTransportWarning)
        AsyncRecallrAI("rai_k", "p", base_url=base_url)


# --------------------------------------------------------------------------- the key in library errors


@asynccontextmanager
async def _server(answer: bytes) -> AsyncIterator[tuple[str, list[bytes]]]:
    """A loopback server answering every request with ``answer``; yields its URL and the heads."""
    heads: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            heads.append(await reader.readuntil(b"\r\n\r\n"))
            writer.write(answer)
            await writer.drain()
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}", heads
    finally:
        server.close()
        await server.wait_closed()


def _chain(error: BaseException) -> list[BaseException]:
    found: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in found:
        found.append(current)
        current = current.__cause__ or current.__context__
    return found


@pytest.mark.parametrize(
    "answer",
    [b"HTTP/1.1 abc\r\n\r\n", b"HTTP/1.1 200 OK\r\nBad Header\r\n\r\n"],
    ids=["bad-status-line", "bad-header"],
)
@pytest.mark.parametrize("transport", ["aiohttp", "httpx"])
async def test_key_not_in_the_library_errors_kept_as_causes(transport, answer):
    """aiohttp keeps the request headers in ClientResponseError, whose repr shows them."""
    async with _server(answer) as (url, heads):
        client = AsyncRecallrAI(API_KEY, "p", base_url=url, transport=transport, max_retries=0)
        async with client:
            with pytest.raises(exc.ConnectionError) as info:
                await client.get_user("u1")
    assert f"X-Recallr-Api-Key: {API_KEY}".lower().encode() in heads[0].lower()  # still sent
    chain = _chain(info.value)
    assert len(chain) >= 3  # the SDK error, TransportFailure, the library's exception(s)
    for error in chain:
        for text in (str(error), repr(error), repr(error.args), repr(vars(error))):
            assert API_KEY not in text, type(error)
