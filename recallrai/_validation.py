"""Client-side checks of caller input: a typed ValidationError before any request is sent."""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from typing import Any, TypeVar

from .exceptions import ValidationError

__all__ = [
    "require_bool",
    "require_enum",
    "require_float",
    "require_headers",
    "require_id",
    "require_int",
    "require_json_object",
    "require_page",
    "require_retries",
    "require_text",
    "require_timeout",
]


def require_text(value: object, name: str) -> str:
    """Return ``value`` if it is valid Unicode text with some non-blank content."""
    if not isinstance(value, str):
        raise ValidationError(f"{name} must be a string, not {type(value).__name__}")
    if not value.strip():
        raise ValidationError(f"{name} must be a non-empty string")
    if not value.isascii():  # ASCII is valid Unicode: the common case skips the encoding
        _require_unicode(value, name)
    return value


require_id = require_text  # IDs are non-blank text; the path encoder escapes everything else


MAX_JSON_DEPTH = 64


def _json_copy(value: object, name: str, depth: int = 0) -> Any:
    """A plain-JSON deep copy of ``value`` (dicts, lists, str, int, float, bool, None), or raise.

    Refuses what JSON cannot carry faithfully: non-string keys, NaN/infinity, text that is
    not valid Unicode (lone surrogates), other types, and nesting deeper than MAX_JSON_DEPTH
    (which also catches self-referencing containers).
    """
    if depth > MAX_JSON_DEPTH:
        raise ValidationError(f"{name} is nested deeper than {MAX_JSON_DEPTH} levels")
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, str):
        _require_unicode(value, name)
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValidationError(f"{name} cannot hold {value!r}: JSON has no such number")
        return value
    if isinstance(value, Mapping):
        copy: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValidationError(f"{name} keys must be strings, got {key!r}")
            _require_unicode(key, name)
            copy[key] = _json_copy(item, name, depth + 1)
        return copy
    if isinstance(value, (list, tuple)):
        return [_json_copy(item, name, depth + 1) for item in value]
    raise ValidationError(f"{name} cannot hold a {type(value).__name__}: not JSON data")


def _require_unicode(text: str, name: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError(f"{name} holds text that is not valid Unicode") from None


def require_json_object(value: object, name: str) -> dict[str, Any]:
    """A plain deep copy of ``value`` if it is a JSON object with string keys, else raise."""
    if not isinstance(value, Mapping):
        raise ValidationError(f"{name} must be a dict (a JSON object), not {type(value).__name__}")
    copy: dict[str, Any] = _json_copy(value, name)
    return copy


INT64_MAX = 2**63 - 1  # the largest integer a server is sure to read


def _shown_number(value: float) -> str:
    """A number as error text, without printing thousands of digits."""
    if isinstance(value, int) and value.bit_length() > 64:
        return f"an integer of {value.bit_length()} bits"
    return str(value)


def require_int(value: object, name: str, low: int, high: int | None = None) -> int:
    """Return ``value`` if it is an int (not a bool) in ``[low, high]`` (``high`` defaults to
    the largest 64-bit integer)."""
    if type(value) is bool or not isinstance(value, int):
        raise ValidationError(f"{name} must be an integer, not {type(value).__name__}")
    if value < low or value > (INT64_MAX if high is None else high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ValidationError(f"{name} must be {bounds}, got {_shown_number(value)}")
    return value


def require_page(offset: object, limit: object, max_limit: int) -> tuple[int, int]:
    """Validate an offset (>= 0) and a page size (1..max_limit)."""
    return require_int(offset, "offset", 0), require_int(limit, "limit", 1, max_limit)


def require_bool(value: object, name: str) -> bool | None:
    """Return ``value`` if it is ``True``, ``False`` or ``None``."""
    if value is not None and not isinstance(value, bool):
        raise ValidationError(f"{name} must be True, False or None, not {type(value).__name__}")
    return value


E = TypeVar("E", bound=enum.Enum)


def require_enum(value: object, cls: type[E], name: str) -> E:
    """The member of ``cls`` given as a member or as its wire value.

    Only the real members count: the response enums also hold values the SDK
    does not know (pseudo-members, ``_models._OpenEnum``), but a caller may not
    send them, neither as a string nor as such a pseudo-member.
    """
    if type(value) is str or type(value) is cls:  # the common cases, without iterating
        member: E | None = cls._value2member_map_.get(value)  # type: ignore[assignment]
        if member is not None:  # a real member: pseudo-members are not in that map
            return member
    for member in cls:
        if value is member:
            return member
    if isinstance(value, str) and not isinstance(value, enum.Enum):
        for member in cls:
            if member.value == value:
                return member
    valid = ", ".join(repr(member.value) for member in cls)
    raise ValidationError(f"{name} must be one of {valid}, got {value!r}")


def require_float(value: object, name: str, low: float, high: float) -> float:
    """Return ``value`` if it is a real number (not a bool) in ``[low, high]``."""
    if type(value) is bool or not isinstance(value, (int, float)):
        raise ValidationError(f"{name} must be a number, not {type(value).__name__}")
    if not low <= value <= high:
        raise ValidationError(
            f"{name} must be between {low} and {high}, got {_shown_number(value)}"
        )
    return value


def require_timeout(value: object, name: str = "timeout") -> float:
    """A positive, finite number of seconds."""
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not 0 < value < float("inf")
    ):
        raise ValidationError(f"{name} must be a positive number of seconds, got {value!r}")
    return float(value)


def require_retries(value: object, name: str = "max_retries") -> int:
    """A retry count: an integer >= 0."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError(f"{name} must be an integer >= 0, got {value!r}")
    return value


_TOKEN_CHARS = frozenset(
    "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
)
_CREDENTIAL_HEADERS = frozenset({"x-recallr-api-key", "x-recallr-project-id"})


def require_headers(value: object, name: str) -> dict[str, str]:
    """Extra request headers: valid names and single-line values, never the client's credentials.

    The API key and project ID headers are refused so that no option can swap
    the credentials a client was built with; make another client for those.
    """
    if not isinstance(value, Mapping):
        raise ValidationError(f"{name} must be a mapping of header names to values")
    headers: dict[str, str] = {}
    for key, item in value.items():
        if not isinstance(key, str) or not key or not set(key) <= _TOKEN_CHARS:
            raise ValidationError(f"{name} has an invalid header name: {str(key)[:100]!r}")
        if key.lower() in _CREDENTIAL_HEADERS:
            raise ValidationError(
                f"{name} cannot set {key}: a client's credentials are fixed when it is built"
            )
        if not isinstance(item, str) or not (item.isascii() and item.isprintable()):
            raise ValidationError(
                f"{name}[{key!r}] must be a single-line ASCII string, not {type(item).__name__}"
                if not isinstance(item, str)
                else f"{name}[{key!r}] has control or non-ASCII characters"
            )
        headers[key] = item
    return headers
