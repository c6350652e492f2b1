"""Turning caller values into URL paths, query strings and JSON bodies (PROTOCOL.md §1.3-1.5, §12)."""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import quote, quote_plus

__all__ = ["api_path", "decode_json", "encode_body", "encode_query"]

API_PREFIX = "/api/v1"


_URL_SAFE = re.compile(r"[A-Za-z0-9_~-][A-Za-z0-9._~-]*")
_QUERY_SAFE = re.compile(r"[A-Za-z0-9._~-]*")  # what form-encoding leaves as it is


_SEGMENTS: dict[str, str] = {}  # encoded short segments, up to MAX_SEGMENTS of them
MAX_SEGMENTS = 4096
MAX_CACHED_SEGMENT = 256


def _segment(value: str) -> str:
    encoded = _SEGMENTS.get(value)
    if encoded is None:
        encoded = _encode_segment(value)
        if len(value) <= MAX_CACHED_SEGMENT and len(_SEGMENTS) < MAX_SEGMENTS:
            _SEGMENTS[value] = encoded
    return encoded


def _encode_segment(value: str) -> str:
    if _URL_SAFE.fullmatch(value):
        return value  # nothing to escape: the common case (dot-only IDs never match)
    encoded = quote(value, safe="")
    if not encoded.strip("."):
        # "." and ".." would be dropped or climbed by URL normalisers: encode the dots too.
        return "%2E" * len(encoded)
    return encoded


def api_path(*segments: str) -> str:
    """``/api/v1/`` followed by the segments, each percent-encoded on its own."""
    return f"{API_PREFIX}/{'/'.join(map(_segment, segments))}"


_SCALARS = (str, int, float, enum.Enum)


def _scalar(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, float):
        return repr(value)
    return str(value)


_FORMS: dict[str, str] = {}  # form-encoded short texts (names, common values), bounded too


def _form(text: str) -> str:
    """``text`` form-encoded (as ``urlencode`` does), skipping the work when nothing needs it."""
    encoded = _FORMS.get(text)
    if encoded is None:
        encoded = text if _QUERY_SAFE.fullmatch(text) else quote_plus(text, safe="")
        if len(text) <= MAX_CACHED_SEGMENT and len(_FORMS) < MAX_SEGMENTS:
            _FORMS[text] = encoded
    return encoded


def encode_query(params: Iterable[tuple[str, object]]) -> str:
    """Form-encode parameters in order: ``None`` dropped, lists repeated, dicts as JSON text."""
    pairs: list[str] = []
    for key, value in params:
        if value is None:
            continue
        name = _form(key)
        if isinstance(value, (list, tuple)):
            pairs.extend(f"{name}={_form(_scalar(item))}" for item in value)
        elif isinstance(value, _SCALARS) or not isinstance(value, Mapping):  # ABC check last
            pairs.append(f"{name}={_form(_scalar(value))}")
        else:
            pairs.append(f"{name}={_form(json.dumps(value))}")
    return "&".join(pairs)


def encode_body(body: Mapping[str, Any]) -> bytes:
    """Compact UTF-8 JSON with top-level ``None`` values dropped."""
    return json.dumps(
        {key: value for key, value in body.items() if value is not None},
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    ).encode()


_scan_value: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]
"""``json``'s own scanner, as ``json.loads`` uses it, without its layers of checks."""


def decode_json(data: bytes) -> Any:
    """An answer's JSON, as ``json.loads(data)`` reads it.

    The service sends UTF-8 (RFC 8259) with nothing around the value, which is read here
    by ``json``'s scanner directly: cheaper than ``json``'s own detection of the encoding
    and its whitespace checks. Anything else (a byte-order mark, UTF-16, lone surrogates,
    whitespace around the value, invalid JSON) goes to ``json.loads(data)`` itself, for
    its result or its error.
    """
    try:
        text = data.decode()
        value, end = _scan_value(text, 0)
    except (ValueError, StopIteration):  # StopIteration: no value starts at 0
        return json.loads(data)
    return value if end == len(text) else json.loads(data)
