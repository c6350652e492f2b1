"""Proxy, TLS and base-URL settings, resolved once per client from its options and the environment.

With ``trust_env=True`` (the default) a client reads, when it is constructed, the
variables httpx and requests users expect: ``HTTPS_PROXY`` / ``HTTP_PROXY`` /
``ALL_PROXY`` (lower-case spellings win; macOS and Windows system proxy settings
too, as :func:`urllib.request.getproxies` reports them), ``NO_PROXY``, and
``SSL_CERT_FILE`` / ``SSL_CERT_DIR``. ``.netrc`` is never read: RecallrAI
authenticates with its API key header, and proxy credentials belong in the
proxy URL. Both built-in transports apply the same result (:class:`NetworkSettings`),
so aiohttp and httpx behave alike.
"""

from __future__ import annotations

import functools
import ipaddress
import os
import sys
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import attrs

from .exceptions import InsecureTransportWarning, ValidationError

if TYPE_CHECKING:
    import ssl

__all__ = [
    "LIBRARY_DEFAULTS",
    "NetworkSettings",
    "check_base_url",
    "redact_url",
    "resolve_network",
    "warn_if_cleartext",
]


@attrs.frozen(slots=True, repr=False)
class NetworkSettings:
    """What a built-in transport applies to the session it creates.

    ``proxy`` is the proxy URL for the client's base URL (``None``: connect
    directly); ``ssl_context`` the TLS context (``None``: the HTTP library's own
    default, only for a transport used without a client).
    """

    proxy: str | None = None
    ssl_context: ssl.SSLContext | None = None

    def __repr__(self) -> str:
        proxy = None if self.proxy is None else redact_url(self.proxy)
        return f"NetworkSettings(proxy={proxy!r}, ssl_context={self.ssl_context!r})"


LIBRARY_DEFAULTS = NetworkSettings()


def redact_url(url: str) -> str:
    """``url`` with any ``user:password@`` replaced by ``***@``, fit to be shown."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    end = min((i for i in map(rest.find, "/?#") if i >= 0), default=len(rest))
    netloc = rest[:end]
    if "@" in netloc:
        netloc = "***@" + netloc.rpartition("@")[2]
    return f"{scheme}{sep}{netloc}{rest[end:]}"


def _is_token(value: str) -> bool:
    return value.isascii() and value.isprintable() and " " not in value


def check_base_url(base_url: object) -> str:
    """The base URL without trailing slashes, or a ValidationError.

    Credentials in the URL (``https://user:pw@host``) are refused rather than
    redacted: RecallrAI authenticates with its API key header, so they could
    only leak (into logs, reprs and error messages), never help.
    """
    if not isinstance(base_url, str):
        raise ValidationError(f"base_url must be a string, got {type(base_url).__name__}")
    if not _is_token(base_url):
        raise ValidationError("base_url contains whitespace, control or non-ASCII characters")
    parts = urlsplit(base_url)
    if "@" in parts.netloc:
        raise ValidationError(
            "base_url must not contain credentials (user:password@); RecallrAI "
            "authenticates with the API key, so the URL is not accepted (nor shown)"
        )
    try:
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        valid = False
    else:
        valid = base_url.startswith(("http://", "https://")) and bool(parts.hostname)
    if not valid:
        raise ValidationError(f"base_url must be an http(s) URL, got {base_url!r}")
    return base_url.rstrip("/")


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def _stacklevel() -> int:
    """The ``stacklevel`` of the first caller outside the SDK, so that warnings point at user code."""
    frame, level = sys._getframe(1), 1
    while frame.f_back is not None and frame.f_globals.get("__name__", "").partition(".")[0] in {
        "recallrai",
        "recallrai_sync",
    }:
        frame, level = frame.f_back, level + 1
    return level


def warn_if_cleartext(base_url: str) -> None:
    """Warn when the API key would travel unencrypted: ``http://`` to a host other than loopback."""
    parts = urlsplit(base_url)
    if parts.scheme == "http" and not _is_loopback(parts.hostname or ""):
        warnings.warn(
            InsecureTransportWarning(
                f"base_url {base_url} is plain http:// to a non-loopback host: the API key "
                "is sent unencrypted. Use https://."
            ),
            stacklevel=_stacklevel(),
        )


# --------------------------------------------------------------------------- proxies


def _check_proxy(proxy: object, source: str) -> str:
    if not isinstance(proxy, str):
        raise ValidationError(
            f"{source} must be a URL string such as 'http://proxy:3128', got {type(proxy).__name__}"
        )
    parts = urlsplit(proxy)
    try:
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        valid = False
    else:
        valid = parts.scheme in {"http", "https"} and bool(parts.hostname) and _is_token(proxy)
    if not valid:
        raise ValidationError(
            f"{source} must be an http:// or https:// proxy URL, got {redact_url(proxy)!r}"
        )
    return proxy


def _bypassed(host: str, port: int, no_proxy: str) -> bool:
    """Whether ``NO_PROXY`` exempts the host, as curl reads it.

    Entries are separated by commas or spaces: ``*`` (everything), a domain
    (``example.com`` and ``.example.com`` both cover its subdomains), an IP
    address or CIDR range, any of them optionally with ``:port``.
    """
    try:
        address: ipaddress.IPv4Address | ipaddress.IPv6Address | None = ipaddress.ip_address(host)
    except ValueError:
        address = None
    for entry in no_proxy.replace(",", " ").lower().split():
        if entry == "*":
            return True
        name, colon, entry_port = entry.rpartition(":")
        if colon and entry_port.isdigit() and (":" not in name or name.endswith("]")):
            if int(entry_port) != port:
                continue
            entry = name
        entry = entry.strip("[]")
        if address is not None:
            try:
                if address in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:
                pass
            continue
        entry = entry.lstrip("*.")
        if entry and (host == entry or host.endswith("." + entry)):
            return True
    return False


def _env_proxy(base_url: str) -> str | None:
    """The proxy the environment names for ``base_url``, unless ``NO_PROXY`` exempts its host."""
    import urllib.request

    proxies = urllib.request.getproxies()
    parts = urlsplit(base_url)
    proxy = proxies.get(parts.scheme) or proxies.get("all")
    if not proxy:
        return None
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    no_proxy = proxies.get("no")
    # Without NO_PROXY, urllib consults the system settings (macOS, Windows); elsewhere: never.
    if (
        _bypassed(host, port, no_proxy)
        if no_proxy is not None
        else urllib.request.proxy_bypass(host)
    ):
        return None
    if "://" not in proxy:
        proxy = f"http://{proxy}"
    return _check_proxy(proxy, f"the environment's {parts.scheme} proxy")


# --------------------------------------------------------------------------- TLS


@functools.lru_cache(maxsize=16)
def _load_context(cafile: str | None, capath: str | None, stamp: object) -> ssl.SSLContext:
    """A verifying context trusting exactly these CAs; cached (``stamp`` changes with the file)."""
    import ssl

    try:
        return ssl.create_default_context(cafile=cafile, capath=capath)
    except (OSError, ssl.SSLError) as error:
        raise ValidationError(
            f"cannot load CA certificates from {cafile or capath}: {error}"
        ) from None


@functools.lru_cache(maxsize=1)
def _system_context() -> ssl.SSLContext:
    """The platform's trust store without SSL_CERT_FILE/SSL_CERT_DIR.

    OpenSSL's default paths would read those variables themselves; loading the
    compiled-in paths explicitly keeps ``trust_env=False`` free of them. Windows
    (its certificate store) and builds whose default paths do not exist fall
    back to :func:`ssl.create_default_context`.
    """
    import ssl

    paths = ssl.get_default_verify_paths()
    cafile = paths.openssl_cafile if os.path.isfile(paths.openssl_cafile) else None
    capath = paths.openssl_capath if os.path.isdir(paths.openssl_capath) else None
    if sys.platform == "win32" or not (cafile or capath):
        return ssl.create_default_context()
    return ssl.create_default_context(cafile=cafile, capath=capath)


@functools.lru_cache(maxsize=1)
def _unverified_context() -> ssl.SSLContext:
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _ca_context(cafile: str | None, capath: str | None) -> ssl.SSLContext:
    stamp = None
    if cafile is not None:
        info = os.stat(cafile)
        stamp = (info.st_mtime_ns, info.st_size)
    return _load_context(cafile, capath, stamp)


def _env_ca_path(name: str, exists: Callable[[str], bool]) -> str | None:
    value = os.environ.get(name)
    if not value:
        return None
    if not exists(value):
        kind = "file" if name.endswith("FILE") else "directory"
        raise ValidationError(
            f"{name}={value!r} is not a {kind}; fix it, or pass trust_env=False to "
            "ignore the environment"
        )
    return value


def _ssl_context(verify: object, trust_env: bool) -> ssl.SSLContext:
    if verify is False:
        warnings.warn(
            InsecureTransportWarning(
                "verify=False: TLS certificates are not checked, so anyone on the path "
                "can read the API key. Pass a CA bundle path or an ssl.SSLContext instead."
            ),
            stacklevel=_stacklevel(),
        )
        return _unverified_context()
    if verify is True:
        if trust_env:
            cafile = _env_ca_path("SSL_CERT_FILE", os.path.isfile)
            capath = _env_ca_path("SSL_CERT_DIR", os.path.isdir)
            if cafile or capath:
                return _ca_context(cafile, capath)
        return _system_context()
    if isinstance(verify, (str, os.PathLike)):
        path = os.fspath(verify)
        if isinstance(path, str) and os.path.isfile(path):
            return _ca_context(path, None)
        if isinstance(path, str) and os.path.isdir(path):
            return _ca_context(None, path)
        raise ValidationError(f"verify={path!r} is not a CA bundle file or directory")
    import ssl

    if isinstance(verify, ssl.SSLContext):
        return verify
    raise ValidationError(
        "verify must be True, False, a CA bundle path or an ssl.SSLContext, "
        f"got {type(verify).__name__}"
    )


def resolve_network(
    base_url: str, *, proxy: object, verify: object, trust_env: object
) -> NetworkSettings:
    """Validate the client's ``proxy``, ``verify`` and ``trust_env`` and resolve them for ``base_url``.

    An explicit ``proxy`` is used for every request (``NO_PROXY`` does not
    apply to it); otherwise the environment's proxy for the base URL's scheme,
    unless ``NO_PROXY`` exempts its host. ``verify=True`` trusts SSL_CERT_FILE
    and/or SSL_CERT_DIR when set, else the system store; a path trusts only
    that bundle; an :class:`ssl.SSLContext` is used as is.
    """
    if not isinstance(trust_env, bool):
        raise ValidationError(f"trust_env must be True or False, got {type(trust_env).__name__}")
    context = _ssl_context(verify, trust_env)
    if proxy is not None:
        chosen: str | None = _check_proxy(proxy, "proxy")
    else:
        chosen = _env_proxy(base_url) if trust_env else None
    return NetworkSettings(chosen, context)
