"""Proxy and TLS options: validation before any request, and how the environment is resolved.

Real connections through a proxy and to a TLS server are in
``tests/integration/test_network_config.py``.
"""

from __future__ import annotations

import ssl
from pathlib import Path

import aiohttp
import httpx
import pytest

from recallrai import AiohttpTransport, AsyncRecallrAI, HttpxTransport, RecallrAI
from recallrai import exceptions as exc
from recallrai._network import _bypassed, redact_url

pytestmark = pytest.mark.anyio

PROXY_VARIABLES = ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"]


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No proxy or CA variables; tests set the ones they need."""
    for name in [*PROXY_VARIABLES, "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUEST_METHOD"]:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    for name in ("RECALLRAI_API_KEY", "RECALLRAI_PROJECT_ID", "RECALLRAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def _settings(client: AsyncRecallrAI | RecallrAI):
    transport = (client._async if isinstance(client, RecallrAI) else client)._pipeline.transport
    return transport._network


def _proxy_for(base_url: str, **options: object) -> str | None:
    return _settings(AsyncRecallrAI("rai_k", "p", base_url=base_url, **options)).proxy


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"proxy": 3128}, "proxy"),
        ({"proxy": b"http://proxy:3128"}, "proxy"),
        ({"proxy": "proxy:3128"}, "proxy"),
        ({"proxy": "socks5://proxy:1080"}, "proxy"),
        ({"proxy": "http://"}, "proxy"),
        ({"proxy": "http://proxy:port"}, "proxy"),
        ({"proxy": "http://proxy:3128\n"}, "proxy"),
        ({"verify": "yes-please"}, "verify"),
        ({"verify": 1}, "verify"),
        ({"verify": None}, "verify"),
        ({"verify": Path("/nonexistent/ca.pem")}, "verify"),
        ({"trust_env": 1}, "trust_env"),
        ({"trust_env": None}, "trust_env"),
    ],
)
@pytest.mark.parametrize("client_class", [AsyncRecallrAI, RecallrAI])
def test_bad_network_options_are_refused_up_front(env, client_class, options, named):
    with pytest.raises(exc.ValidationError, match=named):
        client_class("rai_k", "p", **options)


def test_proxy_credentials_are_not_echoed(env):
    with pytest.raises(exc.ValidationError) as info:
        AsyncRecallrAI("rai_k", "p", proxy="socks5://alice:pa55word@proxy:1080")
    assert "pa55word" not in str(info.value)
    assert "***@proxy:1080" in str(info.value)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://alice:pw@proxy:3128/x?y#z", "http://***@proxy:3128/x?y#z"),
        ("http://alice@proxy", "http://***@proxy"),
        ("alice:pw@proxy:3128", "***@proxy:3128"),
        ("http://proxy:3128/a@b", "http://proxy:3128/a@b"),
        ("http://proxy", "http://proxy"),
    ],
)
def test_redact_url(url, shown):
    assert redact_url(url) == shown


def test_proxy_credentials_are_not_in_the_settings_repr(env):
    client = AsyncRecallrAI("rai_k", "p", proxy="http://alice:pa55word@proxy:3128")
    assert "pa55word" not in repr(_settings(client))
    assert _settings(client).proxy == "http://alice:pa55word@proxy:3128"  # still used


@pytest.mark.parametrize("transport", ["aiohttp", "httpx"])
def test_environment_ca_variables_must_name_something(env, tmp_path, transport):
    env.setenv("SSL_CERT_FILE", str(tmp_path / "missing.pem"))
    with pytest.raises(exc.ValidationError, match="SSL_CERT_FILE"):
        AsyncRecallrAI("rai_k", "p", transport=transport)
    AsyncRecallrAI("rai_k", "p", transport=transport, trust_env=False)  # ignored then
    env.delenv("SSL_CERT_FILE")
    env.setenv("SSL_CERT_DIR", str(tmp_path / "missing"))
    with pytest.raises(exc.ValidationError, match="SSL_CERT_DIR"):
        AsyncRecallrAI("rai_k", "p", transport=transport)


def test_a_ca_bundle_that_is_not_pem_is_refused(env, tmp_path):
    bundle = tmp_path / "ca.pem"
    bundle.write_text("not a certificate")
    with pytest.raises(exc.ValidationError, match="CA certificates"):
        AsyncRecallrAI("rai_k", "p", verify=bundle)


@pytest.mark.parametrize("client_class", [AsyncRecallrAI, RecallrAI])
def test_verify_false_warns_at_the_callers_line(env, client_class):
    with pytest.warns(exc.InsecureTransportWarning, match="verify=False") as record:
        client = client_class("rai_k", "p", verify=False)
    assert record[0].filename == __file__
    context = _settings(client).ssl_context
    assert context.verify_mode == ssl.CERT_NONE and not context.check_hostname
    if isinstance(client, RecallrAI):
        client.close()


def test_one_ssl_context_per_ca_source(env, tmp_path):
    context = ssl.create_default_context()
    first = AsyncRecallrAI("rai_k", "p", verify=context)
    assert _settings(first).ssl_context is context  # used as given
    a, b = AsyncRecallrAI("rai_k", "p"), AsyncRecallrAI("rai_k", "p", transport="httpx")
    assert _settings(a).ssl_context is _settings(b).ssl_context  # built once, not per client


# --------------------------------------------------------------------------- the caller's own session


async def test_network_options_cannot_be_applied_to_a_callers_session(env):
    async with aiohttp.ClientSession() as session, httpx.AsyncClient() as client:
        for transport in (AiohttpTransport(session=session), HttpxTransport(client=client)):
            for option in ({"proxy": "http://proxy:3128"}, {"verify": False}, {"trust_env": False}):
                with pytest.raises(exc.ValidationError, match="your own session"):
                    AsyncRecallrAI("rai_k", "p", transport=transport, **option)


async def test_a_callers_session_is_checked_up_front(env):
    with pytest.raises(exc.ValidationError, match=r"aiohttp\.ClientSession"):
        AiohttpTransport(session=object())  # type: ignore[arg-type]
    with pytest.raises(exc.ValidationError, match=r"httpx\.AsyncClient"):
        HttpxTransport(client="client")  # type: ignore[arg-type]
    async with aiohttp.ClientSession(raise_for_status=True) as session:
        with pytest.raises(exc.ValidationError, match="raise_for_status"):
            AiohttpTransport(session=session)
    async with aiohttp.ClientSession() as session:
        with pytest.raises(exc.ValidationError, match="max_connections"):
            AiohttpTransport(session=session, max_connections=5)
    async with httpx.AsyncClient(follow_redirects=True) as client:
        with pytest.raises(exc.ValidationError, match="redirects"):
            HttpxTransport(client=client)


# --------------------------------------------------------------------------- the environment's proxy


def test_no_proxy_variables_no_proxy(env):
    assert _proxy_for("https://api.example.com") is None


@pytest.mark.filterwarnings("ignore::recallrai.exceptions.InsecureTransportWarning")
def test_the_proxy_for_the_base_urls_scheme(env):
    env.setenv("HTTP_PROXY", "http://plain-proxy:3128")
    env.setenv("HTTPS_PROXY", "http://tls-proxy:3128")
    assert _proxy_for("https://api.example.com") == "http://tls-proxy:3128"
    assert _proxy_for("http://api.example.com") == "http://plain-proxy:3128"


def test_all_proxy_is_the_fallback_and_lower_case_wins(env):
    env.setenv("ALL_PROXY", "http://all-proxy:3128")
    assert _proxy_for("https://api.example.com") == "http://all-proxy:3128"
    env.setenv("HTTPS_PROXY", "http://upper:3128")
    env.setenv("https_proxy", "http://lower:3128")
    assert _proxy_for("https://api.example.com") == "http://lower:3128"


def test_a_proxy_variable_without_scheme_means_http(env):
    env.setenv("HTTPS_PROXY", "corp-proxy:8080")
    assert _proxy_for("https://api.example.com") == "http://corp-proxy:8080"


def test_an_unusable_proxy_variable_is_refused_and_named(env):
    env.setenv("HTTPS_PROXY", "socks5://proxy:1080")
    with pytest.raises(exc.ValidationError, match="environment's https proxy"):
        AsyncRecallrAI("rai_k", "p")
    assert _proxy_for("https://api.example.com", trust_env=False) is None


def test_explicit_proxy_beats_the_environment_and_no_proxy(env):
    env.setenv("HTTPS_PROXY", "http://env-proxy:3128")
    env.setenv("NO_PROXY", "*")
    assert _proxy_for("https://api.example.com", proxy="http://mine:1") == "http://mine:1"


def test_trust_env_false_ignores_proxy_variables(env):
    env.setenv("HTTPS_PROXY", "http://env-proxy:3128")
    assert _proxy_for("https://api.example.com", trust_env=False) is None


@pytest.mark.parametrize(
    ("no_proxy", "host", "port", "bypassed"),
    [
        ("*", "api.example.com", 443, True),
        ("other.org, *", "api.example.com", 443, True),
        ("example.com", "api.example.com", 443, True),
        ("example.com", "example.com", 443, True),
        (".example.com", "api.example.com", 443, True),
        ("*.example.com", "api.example.com", 443, True),
        ("EXAMPLE.com", "api.example.com", 443, True),
        ("example.com", "notexample.com", 443, False),
        ("api.example.com", "example.com", 443, False),
        ("example.com:443", "api.example.com", 443, True),
        ("example.com:8443", "api.example.com", 443, False),
        ("other.org example.com", "api.example.com", 443, True),
        ("127.0.0.1", "127.0.0.1", 80, True),
        ("127.0.0.0/8", "127.9.9.9", 80, True),
        ("10.0.0.0/8", "127.0.0.1", 80, False),
        ("::1", "::1", 80, True),
        ("[::1]", "::1", 80, True),
        ("[::1]:8000", "::1", 8000, True),
        ("fd00::/8", "fd12::5", 80, True),
        ("localhost", "127.0.0.1", 80, False),
        ("", "api.example.com", 443, False),
    ],
)
def test_no_proxy_matching(no_proxy, host, port, bypassed):
    assert _bypassed(host, port, no_proxy) is bypassed


@pytest.mark.filterwarnings("ignore::recallrai.exceptions.InsecureTransportWarning")
def test_no_proxy_exempts_the_base_url(env):
    env.setenv("HTTP_PROXY", "http://proxy:3128")
    env.setenv("NO_PROXY", "localhost,127.0.0.1")
    assert _proxy_for("http://127.0.0.1:8000") is None
    assert _proxy_for("http://10.1.2.3:8000") == "http://proxy:3128"
