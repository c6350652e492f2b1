"""Wire-level helpers shared by every resource handler.

Holds the error type handlers raise (:class:`ApiError`), the response
builders (JSON, 204, the gateway's plain-text 404), FastAPI-style 422
validation helpers for query strings and JSON bodies, and the per-request
context handed to handlers. Keeping these in one place makes every resource
area answer with the same shapes.
"""

from __future__ import annotations

import json
import math
import re
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import attrs
from aiohttp import web

if TYPE_CHECKING:
    from recallrai.emulator._store import ProjectStore

__all__ = [
    "ECHO_LIMIT",
    "ApiError",
    "Query",
    "RequestContext",
    "Validator",
    "clip_input",
    "clip_text",
    "format_timestamp",
    "json_response",
    "no_content",
    "object_field",
    "page_not_found",
    "page_response",
    "parse_json_object_body",
]

JSON_CONTENT_TYPE = "application/json"
PAGE_NOT_FOUND_TEXT = b"404 page not found"

_INT_RE = re.compile(r"[+-]?[0-9]+")
_MAX_INT_TEXT = 4300
"""Longest integer text parsed, as in pydantic (and CPython's default conversion limit)."""

MAX_JSON_DEPTH = 100
"""Deepest nesting of arrays and objects accepted in a JSON body or query value.

Deeper documents are answered 422 rather than stored: copying, comparing and
serialising them would exhaust Python's recursion limit on later requests.
"""

ECHO_LIMIT = 1000
"""Characters of a client's value echoed in an error (an ID in a 404 text, a 422
``input``); longer values are cut so that a huge input cannot make a huge answer."""

_ECHO_JSON_LIMIT = 8 * ECHO_LIMIT

Loc = tuple[str | int, ...]
T = TypeVar("T")


def clip_text(text: str) -> str:
    """*text* unchanged up to :data:`ECHO_LIMIT` characters, else its start and ``...``.

    The one place echoed client text is shortened, so IDs of normal length stay
    verbatim in messages such as ``User <id> not found``.
    """
    return text if len(text) <= ECHO_LIMIT else text[:ECHO_LIMIT] + "..."


def clip_input(value: object) -> object:
    """A 422 ``input`` of bounded size: strings go through :func:`clip_text`; an array
    or object whose compact JSON exceeds eight times :data:`ECHO_LIMIT` becomes that
    JSON text, clipped. Smaller values are echoed exactly, as FastAPI does."""
    if isinstance(value, str):
        return clip_text(value)
    if not isinstance(value, (dict, list)):
        return value
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    return value if len(text) <= _ECHO_JSON_LIMIT else clip_text(text)


class ApiError(Exception):
    """An error answered as ``{"detail": ...}`` with the given status."""

    def __init__(self, status: int, detail: object) -> None:
        super().__init__(status, detail)
        self.status = status
        self.detail = detail


def error_item(
    loc: Loc, msg: str, type_: str, input_: object, ctx: Mapping[str, object] | None = None
) -> dict[str, Any]:
    """One entry of a FastAPI-style 422 ``detail`` list (PROTOCOL.md §13).

    ``input`` is the offending value as received: a query parameter's raw
    text, a body member's JSON value, and for a missing field the object it
    is missing from (``None`` for query parameters and the body itself), as
    FastAPI reports them, cut by :func:`clip_input`. ``ctx`` carries the
    constraint (e.g. ``{"ge": 1}``) and is left out when there is none.
    """
    item: dict[str, Any] = {
        "type": type_,
        "loc": list(loc),
        "msg": msg,
        "input": clip_input(input_),
    }
    if ctx is not None:
        item["ctx"] = dict(ctx)
    return item


def expected_text(allowed: Sequence[str]) -> str:
    """FastAPI's way of listing allowed values: ``'a', 'b' or 'c'``."""
    quoted = [f"'{value}'" for value in allowed]
    if len(quoted) < 2:
        return "".join(quoted)
    return ", ".join(quoted[:-1]) + " or " + quoted[-1]


class Validator:
    """Collects validation errors so one 422 can report all of them.

    Missing fields, ranges and enumerations are worded only here
    (:meth:`missing`, :meth:`within`, :meth:`enum`), so every endpoint
    reports them alike.
    """

    def __init__(self) -> None:
        self.errors: list[dict[str, Any]] = []

    def add(
        self,
        loc: Loc,
        msg: str,
        type_: str,
        input_: object,
        ctx: Mapping[str, object] | None = None,
    ) -> None:
        self.errors.append(error_item(loc, msg, type_, input_, ctx))

    def raise_if_errors(self) -> None:
        if self.errors:
            raise ApiError(422, list(self.errors))

    def fail(
        self,
        loc: Loc,
        msg: str,
        type_: str,
        input_: object,
        ctx: Mapping[str, object] | None = None,
    ) -> NoReturn:
        self.add(loc, msg, type_, input_, ctx)
        raise ApiError(422, list(self.errors))

    def missing(self, loc: Loc, enclosing: object = None) -> None:
        """A required field is absent from *enclosing* (``None`` for query parameters)."""
        self.add(loc, "Field required", "missing", enclosing)

    def within(
        self,
        loc: Loc,
        value: float,
        input_: object,
        *,
        ge: float | None = None,
        le: float | None = None,
    ) -> bool:
        """Check ``ge <= value <= le`` (either bound optional); False after adding an error."""
        if ge is not None and value < ge:
            self.add(
                loc,
                f"Input should be greater than or equal to {ge}",
                "greater_than_equal",
                input_,
                {"ge": ge},
            )
            return False
        if le is not None and value > le:
            self.add(
                loc,
                f"Input should be less than or equal to {le}",
                "less_than_equal",
                input_,
                {"le": le},
            )
            return False
        return True

    def enum(self, loc: Loc, input_: object, allowed: Sequence[str]) -> None:
        """*input_* is not one of *allowed*."""
        expected = expected_text(allowed)
        self.add(loc, f"Input should be {expected}", "enum", input_, {"expected": expected})


class Query:
    """A parsed raw query string (``parse_qsl`` semantics, ``+`` is a space).

    Scalar parameters given more than once take their last value, as FastAPI
    does; list parameters use :meth:`get_all`.
    """

    def __init__(self, raw: str) -> None:
        self.pairs: list[tuple[str, str]] = urllib.parse.parse_qsl(raw, keep_blank_values=True)

    def get(self, name: str) -> str | None:
        value: str | None = None
        for key, item in self.pairs:
            if key == name:
                value = item
        return value

    def get_all(self, name: str) -> list[str]:
        return [item for key, item in self.pairs if key == name]

    def int_param(
        self,
        validator: Validator,
        name: str,
        default: int,
        *,
        ge: int | None = None,
        le: int | None = None,
    ) -> int:
        """An integer parameter within ``[ge, le]``; errors go to *validator*.

        Text longer than pydantic's 4300 characters is ``int_parsing_size``
        (as is any text the interpreter's own conversion limit refuses), so
        no query string can turn into a 500.
        """
        raw = self.get(name)
        if raw is None:
            return default
        loc: Loc = ("query", name)
        if not _INT_RE.fullmatch(raw):
            validator.add(
                loc,
                "Input should be a valid integer, unable to parse string as an integer",
                "int_parsing",
                raw,
            )
            return default
        try:
            if len(raw) > _MAX_INT_TEXT:
                raise ValueError("integer text too long")
            value = int(raw)
        except ValueError:  # also sys.set_int_max_str_digits() set lower by the host process
            validator.add(
                loc,
                "Unable to parse input string as an integer, exceeded maximum size",
                "int_parsing_size",
                raw,
            )
            return default
        validator.within(loc, value, raw, ge=ge, le=le)
        return value

    def json_object_param(self, validator: Validator, name: str) -> dict[str, Any] | None:
        """A parameter holding the JSON text of an object (a dict filter)."""
        raw = self.get(name)
        if raw is None:
            return None
        loc: Loc = ("query", name)
        try:
            value = _strict_json_loads(raw)
        except ValueError as exc:
            validator.add(loc, "Invalid JSON", "json_invalid", raw, {"error": str(exc)})
            return None
        if not isinstance(value, dict):
            validator.add(loc, "Input should be a valid dictionary", "dict_type", raw)
            return None
        return value


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # e.g. 1e400, which would be answered as Infinity
        raise ValueError(f"Number out of range: {clip_text(text)}")
    return value


def _nesting_exceeds(value: object, limit: int) -> bool:
    """Whether arrays/objects in *value* nest deeper than *limit* (iteratively)."""
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def _strict_json_loads(text: str | bytes) -> Any:
    """``json.loads`` that rejects NaN/Infinity (also as overflowing numbers such as
    ``1e400``) and nesting deeper than :data:`MAX_JSON_DEPTH`."""
    try:
        value = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except RecursionError as exc:
        raise ValueError("JSON nested too deeply") from exc
    if _nesting_exceeds(value, MAX_JSON_DEPTH):
        raise ValueError("JSON nested too deeply")
    return value


def parse_json_object_body(body: bytes) -> dict[str, Any]:
    """Decode a POST/PUT body that must be a JSON object, else 422.

    An empty body counts as a missing body; it is never fed to the parser.
    """
    validator = Validator()
    if not body:
        validator.fail(("body",), "Field required", "missing", None)
    try:
        value = _strict_json_loads(body.decode("utf-8"))
    except UnicodeDecodeError as exc:
        validator.fail(
            ("body",), "Body is not valid UTF-8", "json_invalid", {}, {"error": exc.reason}
        )
    except json.JSONDecodeError as exc:
        validator.fail(
            ("body", exc.pos), "JSON decode error", "json_invalid", {}, {"error": exc.msg}
        )
    except ValueError as exc:
        validator.fail(("body",), "JSON decode error", "json_invalid", {}, {"error": str(exc)})
    if not isinstance(value, dict):
        validator.fail(
            ("body",),
            "Input should be a valid dictionary or object to extract fields from",
            "model_attributes_type",
            value,
        )
    return value


@attrs.frozen
class RequestContext:
    """What a handler gets: decoded path parameters, query, raw body and the
    data of the caller's project."""

    method: str
    params: Mapping[str, str]
    query: Query
    body: bytes
    project: ProjectStore


def json_response(status: int, payload: object) -> web.Response:
    """A JSON response (compact, raw UTF-8), ``Content-Type: application/json``."""
    data = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return web.Response(status=status, body=data, content_type=JSON_CONTENT_TYPE)


def object_field(validator: Validator, body: dict[str, Any], key: str) -> dict[str, Any] | None:
    """Body member ``key`` if it is a JSON object; ``None`` when absent or null (422 when not)."""
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, dict):
        validator.add(("body", key), "Input should be a valid dictionary", "dict_type", value)
        return None
    return value


def page_response(
    key: str, matches: Sequence[T], offset: int, limit: int, render: Callable[[T], object]
) -> web.Response:
    """200 with one page of ``matches``: ``{key: [...], "total": n, "has_more": bool}`` (§3.9)."""
    page = matches[offset : offset + limit]
    return json_response(
        200,
        {
            key: [render(item) for item in page],
            "total": len(matches),
            "has_more": offset + len(page) < len(matches),
        },
    )


def no_content() -> web.Response:
    """204 without a body."""
    return web.Response(status=204)


def page_not_found() -> web.Response:
    """The API gateway's answer for unknown routes: plain text, no newline."""
    return web.Response(status=404, body=PAGE_NOT_FOUND_TEXT, content_type="text/plain")


def format_timestamp(value: datetime) -> str:
    """UTC ISO 8601 with microseconds and an explicit ``+00:00`` offset."""
    return value.astimezone(timezone.utc).isoformat(timespec="microseconds")
