"""Observers' helpers (recallrai._hooks): hook checks, redaction, the log lines, RECALLRAI_LOG."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from recallrai import _hooks
from recallrai.exceptions import ValidationError


def test_redaction_matches_the_key_header_in_any_case_only():
    headers = {"X-Recallr-Api-Key": "k", "x-recallr-api-key": "k", "X-Other": "v"}
    assert _hooks.redact_headers(headers) == {
        "X-Recallr-Api-Key": "<redacted>",
        "x-recallr-api-key": "<redacted>",
        "X-Other": "v",
    }


def hook(event: object) -> None:
    pass


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ({}, None),
        ({"request": [], "response": ()}, None),
        ({"request": [hook]}, ((hook,), ())),
        ({"response": (hook, hook)}, ((), (hook, hook))),
    ],
)
def test_hooks_are_split_by_kind(value, expected):
    assert _hooks.check_event_hooks(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ([hook], 'event_hooks must be a mapping such as {"request": [...], "response": [...]}'),
        (
            {"requests": [], 1: []},
            "event_hooks keys are 'request' and 'response', not ['1', 'requests']",
        ),
        ({"request": hook}, "event_hooks['request'] must be a list of callables"),
        ({"response": "hook"}, "event_hooks['response'] must be a list of callables"),
        ({"response": b"hook"}, "event_hooks['response'] must be a list of callables"),
        ({"request": {hook}}, "event_hooks['request'] must be a list of callables"),
        ({"request": [hook, 1]}, "event_hooks['request'] must hold only callables"),
    ],
)
def test_bad_hooks_are_refused(value, message):
    with pytest.raises(ValidationError) as info:
        _hooks.check_event_hooks(value)
    assert info.value.message == message


def _event(**changes: object) -> _hooks.ResponseEvent:
    request = _hooks.RequestEvent(
        method="GET",
        url="http://127.0.0.1:9/api/v1/x?a=1&b=22",
        path="/api/v1/x",
        headers={},
        attempt=2,
        max_attempts=3,
        body_size=17,
    )
    fields: dict[str, object] = {
        "request": request,
        "status_code": 200,
        "headers": {"X-Recallr-Api-Key": "k", "X-A": "1"},
        "elapsed": timedelta(milliseconds=12.34),
    }
    fields.update(changes)
    return _hooks.ResponseEvent(**fields)  # type: ignore[arg-type]


def test_log_lines_of_an_attempt(caplog):
    with caplog.at_level(logging.DEBUG, logger="recallrai"):
        _hooks.log_attempt(_event())
        _hooks.log_attempt(_event(status_code=None, error="refused", retry_in=1.234))
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (logging.INFO, "GET /api/v1/x -> 200 in 12.3 ms (attempt 2 of 3)"),
        (
            logging.DEBUG,
            "GET /api/v1/x: query 8 bytes, body 17 bytes, response headers "
            "{'X-Recallr-Api-Key': '<redacted>', 'X-A': '1'}",
        ),
        (
            logging.INFO,
            "GET /api/v1/x -> failed (refused) in 12.3 ms (attempt 2 of 3); retrying in 1.23 s",
        ),
        (
            logging.DEBUG,
            "GET /api/v1/x: query 8 bytes, body 17 bytes, response headers "
            "{'X-Recallr-Api-Key': '<redacted>', 'X-A': '1'}",
        ),
    ]


def test_no_debug_line_at_info(caplog):
    with caplog.at_level(logging.INFO, logger="recallrai"):
        _hooks.log_attempt(_event())
    assert [r.levelno for r in caplog.records] == [logging.INFO]


@pytest.fixture
def fresh_logging(monkeypatch):
    """The ``recallrai`` logger as if RECALLRAI_LOG had never been read; restored after."""
    logger = logging.getLogger("recallrai")
    handlers, level = list(logger.handlers), logger.level
    monkeypatch.setattr(_hooks, "_configured", False)
    yield monkeypatch
    for handler in logger.handlers[:]:
        if handler not in handlers:
            logger.removeHandler(handler)
    logger.setLevel(level)


@pytest.mark.parametrize(("value", "level"), [("debug", logging.DEBUG), (" INFO ", logging.INFO)])
def test_recallrai_log_sends_the_log_to_stderr_once(fresh_logging, capsys, value, level):
    fresh_logging.setenv("RECALLRAI_LOG", value)
    logger = logging.getLogger("recallrai")
    before = list(logger.handlers)
    _hooks.configure_logging_from_env()
    _hooks.configure_logging_from_env()
    added = [handler for handler in logger.handlers if handler not in before]
    assert len(added) == 1 and isinstance(added[0], logging.StreamHandler)
    assert logger.level == level
    logger.info("hello %s", "there")
    err = capsys.readouterr().err
    assert err.startswith("[") and err.endswith(" recallrai INFO] hello there\n")


@pytest.mark.parametrize("value", [None, "", "verbose", "warning"])
def test_other_recallrai_log_values_change_nothing(fresh_logging, value):
    if value is None:
        fresh_logging.delenv("RECALLRAI_LOG", raising=False)
    else:
        fresh_logging.setenv("RECALLRAI_LOG", value)
    logger = logging.getLogger("recallrai")
    before, level = list(logger.handlers), logger.level
    _hooks.configure_logging_from_env()
    assert (logger.handlers, logger.level, _hooks._configured) == (before, level, False)


def test_a_callable_sequence_is_not_taken_for_a_list_of_hooks():
    class CallableList(list):
        def __call__(self, event: object) -> None:
            pass

    with pytest.raises(ValidationError, match="must be a list of callables"):
        _hooks.check_event_hooks({"request": CallableList([hook])})
