"""Shared pytest configuration for the whole test suite."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from recallrai._transport import TransportFailure
from recallrai.exceptions import RecallrAIError

# The API keys the suite sends (tests/unit/conftest.py, the emulator's default): nothing the SDK
# raises or logs may contain them.
TEST_SECRETS = ("rai_unit_test_secret_3f9a7c1e", "rai_emulator_key")

_PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


@pytest.fixture
def anyio_backend() -> str:
    """Run ``@pytest.mark.anyio`` tests on asyncio only (the SDK is asyncio-based)."""
    return "asyncio"


@pytest.fixture(autouse=True)
def _fresh_request_caches() -> None:
    """Each test encodes its paths and parses its URLs anew: a value cached by an earlier
    test (or, under ``nox -s mutation``, by the unmutated run) must not hide what it checks."""
    from recallrai import _encoding, _transport

    _encoding._SEGMENTS.clear()
    _encoding._FORMS.clear()
    _transport._parsed_url.cache_clear()


@pytest.fixture(scope="session", autouse=True)
def _no_proxy_from_the_developer() -> Iterator[None]:
    """The developer's proxy variables do not reach the suite; proxy tests set their own."""
    with pytest.MonkeyPatch.context() as patch:
        for name in _PROXY_VARIABLES:
            patch.delenv(name, raising=False)
            patch.delenv(name.lower(), raising=False)
        yield


def _leak(error: BaseException) -> str | None:
    """The first exception in ``error``'s chain whose text or attributes show a test secret."""
    pending, seen = [error], set()
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        try:
            text = "\n".join(
                (str(current), repr(current), repr(current.args), repr(vars(current)))
                if hasattr(current, "__dict__")
                else (str(current), repr(current), repr(current.args))
            )
        except Exception as failure:  # a broken __repr__ is not this check's business
            text = repr(failure)
        if any(secret in text for secret in TEST_SECRETS):
            return f"{type(current).__module__}.{type(current).__qualname__}"
        pending.extend(e for e in (current.__cause__, current.__context__) if e is not None)
        pending.extend(getattr(current, "exceptions", ()))  # exception groups
    return None


class _SecretScanner(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.leaks: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            where = _leak(record.exc_info[1])
            if where is not None:
                self.leaks.append(f"log record {record.name}: exception {where}")
        if any(secret in text for secret in TEST_SECRETS):
            self.leaks.append(f"log record {record.name}: {record.levelname} message")


@pytest.fixture(autouse=True)
def _secrets_stay_secret(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fail the test if an SDK error (with its whole cause chain) or a log record shows a test key.

    Every :class:`RecallrAIError` and :class:`TransportFailure` created during the test is
    recorded as it is built, including the ones ``pytest.raises`` or the SDK itself catch,
    and checked at teardown, once its causes are attached. The SDK's logger runs at DEBUG
    meanwhile, so records a production app would only see with verbose logging count too.
    """
    created: list[BaseException] = []
    for cls in (RecallrAIError, TransportFailure):
        original = cls.__init__

        def recording(self: BaseException, *args: object, __init=original, **kw: object) -> None:
            __init(self, *args, **kw)
            created.append(self)

        monkeypatch.setattr(cls, "__init__", recording)
    scanner = _SecretScanner()
    root, sdk = logging.getLogger(), logging.getLogger("recallrai")
    level = sdk.level
    sdk.setLevel(logging.DEBUG)
    root.addHandler(scanner)
    try:
        yield
    finally:
        root.removeHandler(scanner)
        sdk.setLevel(level)
    leaks = scanner.leaks + [
        f"{type(error).__qualname__} (via {where})"
        for error in created
        if (where := _leak(error)) is not None
    ]
    if leaks:
        pytest.fail("a test API key leaked into: " + "; ".join(leaks), pytrace=False)
