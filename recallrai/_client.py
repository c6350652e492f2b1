"""The asyncio client, :class:`AsyncRecallrAI`: configuration, lifecycle and the Users API."""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Union

from ._context import SystemPromptCache
from ._encoding import api_path
from ._errors import ErrorContext
from ._hooks import EventHooks, check_event_hooks
from ._network import check_base_url, resolve_network, warn_if_cleartext
from ._pagination import MAX_PAGE_SIZE, AsyncPager, UserPage, page_fields, paginate
from ._pipeline import DEFAULT_MAX_RESPONSE_BYTES, Pipeline
from ._raw import WithRawResponse
from ._transport import AiohttpTransport, HttpxTransport, Transport
from ._users import AsyncUser, listed_users, user_from_wire
from ._validation import (
    require_bool,
    require_id,
    require_int,
    require_json_object,
    require_page,
    require_retries,
    require_text,
    require_timeout,
)
from .exceptions import ValidationError

if TYPE_CHECKING:
    import ssl

__all__ = ["DEFAULT_BASE_URL", "AsyncRecallrAI"]

DEFAULT_BASE_URL = "https://api.recallrai.com"
DEFAULT_TIMEOUT = 30  # seconds
DEFAULT_MAX_RETRIES = 2

TransportOption = Literal["aiohttp", "httpx"] | Transport
# What verify= takes; a runtime alias (the generated facade imports it), ssl only named.
VerifyOption = Union[bool, str, "os.PathLike[str]", "ssl.SSLContext"]


def _make_transport(transport: TransportOption | None) -> Transport:
    if transport is None or transport == "aiohttp":
        return AiohttpTransport()
    if transport == "httpx":
        return HttpxTransport()
    if isinstance(transport, Transport):
        return transport
    raise ValidationError(f"transport must be 'aiohttp', 'httpx' or a Transport, not {transport!r}")


def _configure_network(
    transport: Transport, base_url: str, *, proxy: object, verify: object, trust_env: object
) -> None:
    """Give a built-in transport that creates its own session the client's proxy and TLS settings."""
    if isinstance(transport, (AiohttpTransport, HttpxTransport)) and transport._owns_session:
        transport._network = resolve_network(
            base_url, proxy=proxy, verify=verify, trust_env=trust_env
        )
    elif proxy is not None or verify is not True or trust_env is not True:
        raise ValidationError(
            "proxy=, verify= and trust_env= configure the session the SDK creates; "
            "with your own session or transport, configure that instead"
        )


def _credential(value: object, param: str, label: str) -> str:
    """``value``, or from ``RECALLRAI_<PARAM>`` when None; never echoed in errors."""
    env = f"RECALLRAI_{param.upper()}"
    value = value if value is not None else os.environ.get(env)
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"No {label}: pass {param}=... or set {env}")
    if param == "api_key" and not value.startswith("rai_"):
        raise ValidationError("The API key is malformed: RecallrAI keys start with 'rai_'")
    if not (value.isascii() and value.isprintable()) or " " in value:
        raise ValidationError(
            f"The {label} contains whitespace, control or non-ASCII characters (a trailing "
            "newline read from a file?); it is not shown here"
        )
    return value


class _Secret(str):
    """The API key as handed to the transports: a str whose repr hides it.

    HTTP libraries keep request headers in their exceptions (aiohttp's
    ``ClientResponseError`` shows them in its repr), which the SDK's errors carry as
    causes; this keeps the key out of every such repr and traceback.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return "'<redacted>'"


class AsyncRecallrAI:
    """Asynchronous client of the RecallrAI API.

    Omitted settings come from ``RECALLRAI_API_KEY``, ``RECALLRAI_PROJECT_ID`` and
    ``RECALLRAI_BASE_URL``. One connection pool is opened lazily on the first
    request and reused; close it with ``await client.close()`` or ``async with``.

    Proxies and CA certificates come from the environment as in httpx and requests
    (``HTTPS_PROXY``, ``HTTP_PROXY``, ``ALL_PROXY``, ``NO_PROXY``, ``SSL_CERT_FILE``,
    ``SSL_CERT_DIR``; never ``.netrc``), read here, once. ``proxy=`` names a proxy
    for every request; ``verify=`` takes ``False`` (no checks: warns), a CA bundle
    path or an :class:`ssl.SSLContext`; ``trust_env=False`` ignores the environment.
    A plain ``http://`` base URL to a host other than loopback warns
    (:class:`~recallrai.exceptions.InsecureTransportWarning`).

    Every method also takes ``timeout=``, ``max_retries=`` and ``extra_headers=``
    for that one call; :meth:`with_options` changes them for everything obtained
    through the client it returns. ``event_hooks={"request": [...], "response":
    [...]}`` sees every attempt (:class:`~recallrai.RequestEvent`,
    :class:`~recallrai.ResponseEvent`); the ``recallrai`` logger writes one INFO
    line per attempt (``RECALLRAI_LOG=info|debug``).

    ``timeout`` bounds each attempt as a whole (connect, headers and body) and the
    wait for each event of a stream; a call ends within about ``(max_retries + 1) *
    timeout`` plus backoff. An answer, or a stream line, over ``max_response_bytes``
    fails with ``ResponseTooLargeError`` without being read further.
    """

    def __init__(
        self,
        api_key: str | None = None,
        project_id: str | None = None,
        base_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        *,
        max_retries: int = DEFAULT_MAX_RETRIES,
        transport: TransportOption | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        proxy: str | None = None,
        verify: VerifyOption = True,
        trust_env: bool = True,
        event_hooks: EventHooks | None = None,
    ) -> None:
        api_key = _credential(api_key, "api_key", "API key")
        project_id = _credential(project_id, "project_id", "project ID")
        base_url = check_base_url(
            base_url or os.environ.get("RECALLRAI_BASE_URL") or DEFAULT_BASE_URL
        )
        timeout = require_timeout(timeout)
        require_retries(max_retries)
        require_int(max_response_bytes, "max_response_bytes", 1024)
        transport_ = _make_transport(transport)
        _configure_network(transport_, base_url, proxy=proxy, verify=verify, trust_env=trust_env)
        warn_if_cleartext(base_url)
        self._pipeline = Pipeline(
            api_key=_Secret(api_key),
            project_id=project_id,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            transport=transport_,
            max_response_bytes=max_response_bytes,
            event_hooks=check_event_hooks(event_hooks),
        )
        self._owns_pool = True
        self._project_id = project_id
        self._prompts = SystemPromptCache(self._pipeline)

    @property
    def base_url(self) -> str:
        """The API's base URL, without a trailing slash."""
        return self._pipeline.base_url

    @property
    def project_id(self) -> str:
        """The project all requests are scoped to."""
        return self._project_id

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r}, project_id={self._project_id!r})"

    def _forget_pool(self) -> object:
        """In a forked child: drop the parent's pool and in-flight prompt fetches, unclosed.

        Returns what the caller must keep alive (freeing it would close the parent's
        connections); the next request opens a fresh pool.
        """
        self._prompts.forget_inflight()
        return self._pipeline.transport.forget_pool()

    def with_options(
        self,
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> AsyncRecallrAI:
        """This client with other defaults, over the same connection pool.

        Users, sessions, conflicts, pages and streams obtained through it keep
        these options. ``extra_headers`` are added to every request (they cannot
        replace the API key or project ID). The pool stays this client's: closing
        the derived client does nothing, closing this one closes both.
        """
        derived = copy.copy(self)
        derived._pipeline = self._pipeline.derive(timeout, max_retries, extra_headers)
        derived._owns_pool = False
        return derived

    @property
    def with_raw_response(self) -> WithRawResponse[AsyncRecallrAI]:
        """This client's methods, each returning an ``APIResponse`` (status, headers, ``parse()``)."""
        return WithRawResponse(self)

    async def close(self) -> None:
        """Close the connection pool. Idempotent; does nothing on a client from ``with_options``."""
        if self._owns_pool:
            await self._pipeline.transport.aclose()

    async def __aenter__(self) -> AsyncRecallrAI:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # ------------------------------------------------------------------ users

    async def create_user(
        self,
        user_id: str,
        metadata: Mapping[str, Any] | None = None,
        merge_conflict_enabled: bool | None = None,
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> AsyncUser:
        """Create a user; ``merge_conflict_enabled=None`` inherits the project setting."""
        body = {
            "custom_user_id": require_id(user_id, "user_id"),
            "metadata": None if metadata is None else require_json_object(metadata, "metadata"),
            "merge_conflict_enabled": require_bool(
                merge_conflict_enabled, "merge_conflict_enabled"
            ),
        }
        call = self._pipeline.per_call(timeout, max_retries, extra_headers)
        data = await call.request(
            "POST",
            api_path("users"),
            body=body,
            expect=201,
            context=ErrorContext(user_id=user_id, user_exists_on_409=True),
        )
        record = user_from_wire(data, user_id)
        return AsyncUser(self._pipeline, self._prompts, record.custom_user_id, record)

    async def get_user(
        self,
        user_id: str,
        *,
        validate: bool = True,
        timeout: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> AsyncUser:
        """Fetch a user; with ``validate=False`` return a reference without a request."""
        user = AsyncUser(self._pipeline, self._prompts, require_id(user_id, "user_id"))
        self._pipeline.per_call(timeout, max_retries, extra_headers)  # bad options raise here too
        if validate:
            await user.refresh(
                timeout=timeout, max_retries=max_retries, extra_headers=extra_headers
            )
        return user

    def list_users(
        self,
        offset: int = 0,
        limit: int = 10,
        metadata_filter: Mapping[str, Any] | None = None,
        *,
        partial_user_id: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> AsyncPager[UserPage[AsyncUser], AsyncUser]:
        """List users, newest first.

        ``partial_user_id`` keeps the users whose ID contains it, ignoring case;
        it combines with ``metadata_filter`` (both must match).

        ``await`` the result for one page, or ``async for`` over it for every
        user across all pages (``limit`` is then the page size).
        """
        offset, limit = require_page(offset, limit, MAX_PAGE_SIZE)
        filter_ = (
            None
            if metadata_filter is None
            else require_json_object(metadata_filter, "metadata_filter")
        )
        search = (
            None if partial_user_id is None else require_text(partial_user_id, "partial_user_id")
        )
        pipeline, prompts = self._pipeline, self._prompts
        call = pipeline.per_call(timeout, max_retries, extra_headers)

        async def fetch(start: int) -> tuple[list[AsyncUser], int, bool]:
            data = await call.request(
                "GET",
                api_path("users"),
                params=(
                    ("offset", start),
                    ("limit", limit),
                    ("metadata_filter", filter_),
                    ("partial_user_id", search),
                ),
            )
            users, total, has_more = page_fields(data, "users")
            return listed_users(pipeline, prompts, users), total, has_more

        return paginate(UserPage, offset, limit, fetch)
