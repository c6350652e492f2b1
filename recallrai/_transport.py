"""The small interface between the request pipeline and an HTTP library.

Everything above this module speaks :class:`Transport`; only the two
implementations here know aiohttp or httpx. A transport sends bytes and returns
bytes: encoding, retries and error mapping live in the pipeline. Library
exceptions are turned into :class:`TransportFailure` so that nothing above
needs to know which library ran.
"""

from __future__ import annotations

import abc
import asyncio
import functools
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, NoReturn

import attrs

from . import exceptions
from ._network import LIBRARY_DEFAULTS, NetworkSettings

if TYPE_CHECKING:
    import aiohttp
    import httpx
    import yarl

__all__ = [
    "AiohttpTransport",
    "HttpxTransport",
    "RawResponse",
    "StreamResponse",
    "Transport",
    "TransportFailure",
    "read_capped",
    "too_large",
]


class TransportFailure(Exception):
    """The exchange failed below HTTP.

    ``sent`` is false when the request certainly never reached the server (so it
    is safe to retry whatever its method); ``timed_out`` tells a timeout from
    other failures.
    """

    def __init__(self, message: str, *, sent: bool, timed_out: bool = False) -> None:
        super().__init__(message)
        self.sent = sent
        self.timed_out = timed_out


@attrs.define(slots=True)  # not frozen: built for every answer, and a frozen __init__ costs 2x
class RawResponse:
    """A complete HTTP response: status, case-insensitive headers, body bytes."""

    status: int
    headers: Mapping[str, str]
    body: bytes


class StreamResponse(abc.ABC):
    """A response whose body is read incrementally; closing it frees its connection at once."""

    status: int
    headers: Mapping[str, str]

    @abc.abstractmethod
    async def read_chunk(self) -> bytes:
        """The next body bytes as soon as any arrive; ``b""`` at the end of the body."""

    @abc.abstractmethod
    async def aclose(self) -> None:
        """Drop the connection without reading the rest of the body. Idempotent."""

    @abc.abstractmethod
    def abort(self) -> None:
        """Best-effort :meth:`aclose` from synchronous code (a finalizer)."""


class Transport(abc.ABC):
    """Sends one HTTP request; owns the connection pool."""

    @abc.abstractmethod
    async def send(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes | None,
        timeout: float,
        *,
        max_bytes: int,
    ) -> RawResponse:
        """Send a request and read its whole response, failing once it passes ``max_bytes``
        (:func:`read_capped`)."""

    @abc.abstractmethod
    async def open_stream(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        timeout: float,
    ) -> StreamResponse:
        """Send a bodiless request and return once the status line and headers arrived."""

    @abc.abstractmethod
    async def aclose(self) -> None:
        """Close the connection pool. Idempotent."""

    def forget_pool(self) -> object:
        """Drop the connection pool without closing it, and return it; the next request opens a new one.

        For a forked child process, whose copy of the pool holds its parent's sockets
        and event loop: closing it, or letting it be freed, would close the parent's
        connections, so the caller keeps what is returned alive. This default, for
        transports without a pool of their own, drops nothing.
        """
        return None


def too_large(max_bytes: int, status: int | None) -> exceptions.ResponseTooLargeError:
    """The error for an answer that passed ``max_bytes``."""
    return exceptions.ResponseTooLargeError(
        f"The answer is larger than max_response_bytes ({max_bytes:,} bytes); the rest was not read",
        status,
    )


async def read_capped(
    read_chunk: Callable[[], Awaitable[bytes]],
    max_bytes: int,
    status: int | None,
    length: int | None = None,
) -> bytes:
    """A whole body from ``read_chunk`` (``b""`` at its end), failing as soon as it passes
    ``max_bytes``: at once when its declared ``length`` does, else when the bytes do."""
    if length is not None and length > max_bytes:
        raise too_large(max_bytes, status)
    chunks: list[bytes] = []
    size = 0
    while chunk := await read_chunk():
        size += len(chunk)
        if size > max_bytes:
            chunks.clear()  # the error's traceback keeps this frame: not the bytes too
            raise too_large(max_bytes, status)
        chunks.append(chunk)
    return b"".join(chunks)


# --------------------------------------------------------------------------- aiohttp


class _AiohttpStream(StreamResponse):
    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response
        self.status = response.status
        self.headers = response.headers

    async def read_chunk(self) -> bytes:
        try:
            return await self._response.content.readany()
        except asyncio.TimeoutError as exc:
            raise TransportFailure(
                "timed out reading the response", sent=True, timed_out=True
            ) from exc
        except Exception as exc:
            import aiohttp  # only once something failed: the hot path skips the import

            if isinstance(exc, aiohttp.ClientError):
                raise TransportFailure(f"response interrupted: {exc}", sent=True) from exc
            raise

    async def aclose(self) -> None:
        self._response.close()

    def abort(self) -> None:
        self._response.close()


_OTHER_LOOP = (
    "This client is bound to the event loop it first sent a request on, and is now "
    "used from another one. Create one client per event loop (for example inside the "
    "coroutine passed to asyncio.run()), and close it before that loop ends."
)


def _check_loop(bound: asyncio.AbstractEventLoop | None) -> asyncio.AbstractEventLoop:
    """The running loop; a typed error if the connection pool belongs to another one."""
    loop = asyncio.get_running_loop()
    if bound is not None and bound is not loop:
        raise exceptions.ConnectionError(_OTHER_LOOP)
    return loop


def _loop_is_gone(bound: asyncio.AbstractEventLoop | None) -> bool:
    """For closing: whether the pool's loop has been closed (not just left).

    Closing from a loop while the pool's own loop is still open is refused like
    any other use from the wrong loop.
    """
    if bound is not None and bound.is_closed():
        return True
    _check_loop(bound)
    return False


def _raise_failure(error: Exception, timeout: float) -> NoReturn:
    """Raise what the pipeline is told of an exception of aiohttp, or ``error`` itself if it
    is not one (an SDK error, such as an answer over the size cap). Imports aiohttp only on
    failure, not on every request."""
    import aiohttp

    # aiohttp >= 3.10 tells a connect timeout apart; before, it is a plain timeout.
    connect_timeout = getattr(aiohttp, "ConnectionTimeoutError", ())
    if isinstance(error, exceptions.RecallrAIError):
        raise error
    if isinstance(error, aiohttp.ClientConnectorError):
        raise TransportFailure(f"cannot connect: {error}", sent=False) from error
    if isinstance(error, connect_timeout):
        raise TransportFailure(
            f"cannot connect within {timeout:g} s", sent=False, timed_out=True
        ) from error
    if isinstance(error, asyncio.TimeoutError):
        raise TransportFailure(
            f"no answer within {timeout:g} s", sent=True, timed_out=True
        ) from error
    if isinstance(error, (aiohttp.ClientError, ValueError)):
        raise TransportFailure(f"request failed: {error}", sent=True) from error
    raise error


def _encoded_url(url: str) -> yarl.URL:
    """``url`` for aiohttp, as it is: the pipeline already percent-encoded every segment."""
    return _parsed_url(url) if len(url) <= MAX_CACHED_URL else _parse_url(url)


MAX_CACHED_URL = 2048  # the cache stays small whatever the IDs


def _parse_url(url: str) -> yarl.URL:
    import yarl

    return yarl.URL(url, encoded=True)  # encoded: yarl must not encode it again


_parsed_url = functools.lru_cache(maxsize=256)(_parse_url)  # a repeated URL is parsed once


DEFAULT_MAX_CONNECTIONS = 100


def _check_own_pool(pool: object, kind: type[Any], max_connections: int) -> None:
    """Refuse, before any request, a caller's session the SDK cannot use as it is."""
    name = f"{kind.__module__.partition('.')[0]}.{kind.__name__}"
    if not isinstance(pool, kind):
        raise exceptions.ValidationError(f"expected an {name}, got {type(pool).__name__}")
    if max_connections != DEFAULT_MAX_CONNECTIONS:
        raise exceptions.ValidationError(
            f"max_connections applies to the pool the SDK creates; set limits on your {name}"
        )


class AiohttpTransport(Transport):
    """The default transport: one lazily created :class:`aiohttp.ClientSession` per client.

    The client hands it its proxy and TLS settings (``proxy=``, ``verify=``,
    ``trust_env=``). Pass ``session=`` to use your own session instead: the SDK
    never closes it (closing the client only lets go of it) and applies none of
    its proxy, TLS, environment or connection-limit settings to it, which are
    the session's own. Timeouts and redirects (never followed) are set per
    request, so they still apply. The session must not raise for HTTP statuses
    (``raise_for_status``), and is used on the event loop it belongs to, so only
    with :class:`~recallrai.AsyncRecallrAI`.
    """

    def __init__(
        self,
        *,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        if session is not None:
            import aiohttp

            _check_own_pool(session, aiohttp.ClientSession, max_connections)
            if session.raise_for_status:
                raise exceptions.ValidationError(
                    "the aiohttp session raises for HTTP statuses (raise_for_status); the "
                    "SDK maps statuses to its own errors, so pass a session without it"
                )
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = session
        self._owns_session = session is None
        self._network: NetworkSettings = LIBRARY_DEFAULTS  # the client sets its own
        self._loop: asyncio.AbstractEventLoop | None = None
        self._args: dict[float | None, dict[str, Any]] = {}  # by timeout (None: own session)
        self._closed = False

    def _client_session(self) -> aiohttp.ClientSession:
        if self._closed:
            raise exceptions.ConnectionError("The client is closed")
        self._loop = _check_loop(self._loop)
        if self._session is None:
            import aiohttp

            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=self._max_connections, ssl=self._network.ssl_context or True
                ),
                timeout=aiohttp.ClientTimeout(total=None),
                trust_env=False,  # the client resolved the environment: see _network
                raise_for_status=False,
            )
        elif self._session.closed:
            raise exceptions.ConnectionError("The aiohttp session given to the client is closed")
        return self._session

    def _request_args(self, timeout: float) -> dict[str, Any]:
        """A request's keyword arguments other than its URL, headers and body."""
        key = None if self._owns_session else timeout  # only a caller's session needs it
        args = self._args.get(key)
        if args is None:
            args = {"allow_redirects": False}
            if len(self._args) < 64:  # per-call timeouts may be many distinct values
                self._args[key] = args
            if self._network.proxy is not None:
                args["proxy"] = self._network.proxy
            if key is not None:
                import aiohttp

                # A caller's session may have timeouts of its own: here only the connect phase
                # is bounded (by the same time as the whole attempt). Our own session has no
                # timeouts at all: the pipeline's deadline bounds each attempt as a whole,
                # connecting included, and a stream's wait for each event.
                args["timeout"] = aiohttp.ClientTimeout(
                    total=None, connect=timeout, sock_connect=timeout, sock_read=None
                )
        return args

    async def send(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes | None,
        timeout: float,
        *,
        max_bytes: int,
    ) -> RawResponse:
        session = self._client_session()
        try:
            async with session.request(
                method,
                _encoded_url(url),
                headers=headers,
                data=body,
                **self._request_args(timeout),
            ) as response:
                length = response.content_length
                if (
                    length is not None
                    and length <= max_bytes
                    and not response.headers.get("Content-Encoding")
                ):
                    data = await response.read()  # exactly ``length`` bytes: within the cap
                else:  # chunked, close-delimited or compressed: count what arrives
                    content = response.content
                    data = await read_capped(content.readany, max_bytes, response.status, length)
                return RawResponse(response.status, response.headers, data)
        except Exception as error:
            _raise_failure(error, timeout)

    async def open_stream(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        timeout: float,
    ) -> StreamResponse:
        session = self._client_session()
        try:
            response = await session.request(
                method, _encoded_url(url), headers=headers, **self._request_args(timeout)
            )
        except Exception as error:
            _raise_failure(error, timeout)
        return _AiohttpStream(response)

    async def aclose(self) -> None:
        gone = _loop_is_gone(self._loop)
        self._closed = True
        session, self._session = self._session, None
        if session is None or not self._owns_session:  # never close a caller's session
            return
        if gone:
            # aiohttp cannot close connections of a closed loop: let them go (the caller
            # leaked them when that loop ended); the session itself is marked closed.
            session.detach()
        else:
            await session.close()

    def forget_pool(self) -> object:
        pool, self._session, self._loop = self._session, None, None
        self._owns_session = True  # the next pool is made here, so this transport closes it
        self._args = {}
        return pool


# --------------------------------------------------------------------------- httpx


class _HttpxStream(StreamResponse):
    def __init__(self, response: httpx.Response) -> None:
        self._response = response
        self._chunks = response.aiter_bytes()
        self.status = response.status_code
        self.headers = response.headers

    async def read_chunk(self) -> bytes:
        try:
            return await anext(self._chunks, b"")
        except Exception as exc:
            import httpx  # only once something failed: the hot path skips the import

            if isinstance(exc, httpx.TimeoutException):
                raise TransportFailure(
                    "timed out reading the response", sent=True, timed_out=True
                ) from exc
            if isinstance(exc, httpx.HTTPError):
                raise TransportFailure(f"response interrupted: {exc}", sent=True) from exc
            raise

    async def aclose(self) -> None:
        await self._response.aclose()

    def abort(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop here: the pool reclaims the connection when it closes
            return
        task = loop.create_task(self._response.aclose())
        _closing.add(task)
        task.add_done_callback(_closing.discard)


_closing: set[asyncio.Task[None]] = set()  # aborted httpx streams being closed


class HttpxTransport(Transport):
    """Optional transport on :mod:`httpx` (``pip install recallrai[httpx]``); mockable with respx.

    The client hands it its proxy and TLS settings, as to :class:`AiohttpTransport`.
    Pass ``client=`` to use your own :class:`httpx.AsyncClient` instead: the SDK
    never closes it (closing the RecallrAI client only lets go of it) and applies
    none of its proxy, TLS, environment or connection-limit settings to it.
    Timeouts are set per request, so they still apply; the client must not
    follow redirects (that would send the API key on to wherever they point).
    """

    def __init__(
        self,
        *,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        import importlib.util

        if importlib.util.find_spec("httpx") is None:  # pragma: no cover - depends on the env
            raise exceptions.ValidationError(
                "transport='httpx' needs httpx: pip install 'recallrai[httpx]'"
            )
        if client is not None:
            import httpx

            _check_own_pool(client, httpx.AsyncClient, max_connections)
            if client.follow_redirects:
                raise exceptions.ValidationError(
                    "the httpx client follows redirects, which would send the API key on "
                    "to wherever they point; pass a client with follow_redirects=False"
                )
        self._max_connections = max_connections
        self._client: httpx.AsyncClient | None = client
        self._owns_session = client is None
        self._network: NetworkSettings = LIBRARY_DEFAULTS  # the client sets its own
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False

    def _async_client(self) -> httpx.AsyncClient:
        if self._closed:
            raise exceptions.ConnectionError("The client is closed")
        self._loop = _check_loop(self._loop)
        if self._client is None:
            import httpx

            self._client = httpx.AsyncClient(
                limits=httpx.Limits(max_connections=self._max_connections),
                follow_redirects=False,
                trust_env=False,  # the client resolved the environment: see _network
                verify=self._network.ssl_context or True,
                proxy=self._network.proxy,
            )
        elif self._client.is_closed:
            raise exceptions.ConnectionError("The httpx client given to the client is closed")
        return self._client

    async def _send(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes | None,
        timeout: float,
        stream: bool,
    ) -> httpx.Response:
        import httpx

        client = self._async_client()
        try:
            request = client.build_request(
                method, url, headers=headers, content=body, timeout=httpx.Timeout(timeout)
            )
            return await client.send(request, stream=stream)
        except httpx.ConnectError as exc:
            raise TransportFailure(f"cannot connect: {exc}", sent=False) from exc
        except httpx.TimeoutException as exc:
            sent = not isinstance(exc, (httpx.ConnectTimeout, httpx.PoolTimeout))
            raise TransportFailure(
                f"no answer within {timeout:g} s", sent=sent, timed_out=True
            ) from exc
        except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
            raise TransportFailure(f"request failed: {exc}", sent=True) from exc

    async def send(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes | None,
        timeout: float,
        *,
        max_bytes: int,
    ) -> RawResponse:
        response = await self._send(method, url, headers, body, timeout, stream=True)
        stream = _HttpxStream(response)
        try:
            length = response.headers.get("Content-Length")
            declared = int(length) if length and length.isdigit() else None
            data = await read_capped(stream.read_chunk, max_bytes, stream.status, declared)
        finally:
            await stream.aclose()
        return RawResponse(stream.status, response.headers, data)

    async def open_stream(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        timeout: float,
    ) -> StreamResponse:
        response = await self._send(method, url, headers, None, timeout, stream=True)
        return _HttpxStream(response)

    async def aclose(self) -> None:
        gone = _loop_is_gone(self._loop)
        self._closed = True
        client, self._client = self._client, None
        if not self._owns_session:  # never close a caller's client
            return
        if client is not None and not gone:  # httpx cannot close a closed loop's pool either
            await client.aclose()

    def forget_pool(self) -> object:
        pool, self._client, self._loop = self._client, None, None
        self._owns_session = True  # the next pool is made here, so this transport closes it
        return pool
