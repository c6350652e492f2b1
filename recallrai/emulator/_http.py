"""Wire-level helpers shared by every resource handler.

Holds the error type handlers raise (:class:`ApiError`), the response
builders (JSON, 204, the gateway's plain-text 404), FastAPI-style 422
validation helpers for query strings and JSON bodies, and the per-request
context handed to handlers. Keeping these in one place makes every resource
area answer with the same shapes.
"""

from __future__ import annotations

import json
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
    "ApiError",
    "Query",
    "RequestContext",
    "Validator",
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

Loc = tuple[str | int, ...]
T = TypeVar("T")


class ApiError(Exception):
    """An error answered as ``{"detail": ...}`` with the given status."""

    def __init__(self, status: int, detail: object) -> None:
        super().__init__(status, detail)
        self.status = status
        self.detail = detail


def error_item(loc: Loc, msg: str, type_: str) -> dict[str, Any]:
    """One entry of a FastAPI-style 422 ``detail`` list."""
    return {"loc": list(loc), "msg": msg, "type": type_}


class Validator:
    """Collects validation errors so one 422 can report all of them."""

    def __init__(self) -> None:
        self.errors: list[dict[str, Any]] = []

    def add(self, loc: Loc, msg: str, type_: str) -> None:
        self.errors.append(error_item(loc, msg, type_))

    def raise_if_errors(self) -> None:
        if self.errors:
            raise ApiError(422, list(self.errors))

    def fail(self, loc: Loc, msg: str, type_: str) -> NoReturn:
        self.add(loc, msg, type_)
        raise ApiError(422, list(self.errors))


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
        """An integer parameter within ``[ge, le]``; errors go to *validator*."""
        raw = self.get(name)
        if raw is None:
            return default
        loc: Loc = ("query", name)
        if not _INT_RE.fullmatch(raw):
            validator.add(
                loc,
                "Input should be a valid integer, unable to parse string as an integer",
                "int_parsing",
            )
            return default
        value = int(raw)
        if ge is not None and value < ge:
            validator.add(
                loc, f"Input should be greater than or equal to {ge}", "greater_than_equal"
            )
        elif le is not None and value > le:
            validator.add(loc, f"Input should be less than or equal to {le}", "less_than_equal")
        return value

    def json_object_param(self, validator: Validator, name: str) -> dict[str, Any] | None:
        """A parameter holding the JSON text of an object (a dict filter)."""
        raw = self.get(name)
        if raw is None:
            return None
        loc: Loc = ("query", name)
        try:
            value = _strict_json_loads(raw)
        except ValueError:
            validator.add(loc, "Invalid JSON", "json_invalid")
            return None
        if not isinstance(value, dict):
            validator.add(loc, "Input should be a valid dictionary", "dict_type")
            return None
        return value


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not valid JSON")


def _strict_json_loads(text: str | bytes) -> Any:
    """``json.loads`` that rejects NaN/Infinity and absurd nesting."""
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except RecursionError as exc:
        raise ValueError("JSON nested too deeply") from exc


def parse_json_object_body(body: bytes) -> dict[str, Any]:
    """Decode a POST/PUT body that must be a JSON object, else 422.

    An empty body counts as a missing body; it is never fed to the parser.
    """
    validator = Validator()
    if not body:
        validator.fail(("body",), "Field required", "missing")
    try:
        value = _strict_json_loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        validator.fail(("body",), "Body is not valid UTF-8", "json_invalid")
    except json.JSONDecodeError as exc:
        validator.fail(("body", exc.pos), "JSON decode error", "json_invalid")
    except ValueError:
        validator.fail(("body",), "JSON decode error", "json_invalid")
    if not isinstance(value, dict):
        validator.fail(
            ("body",),
            "Input should be a valid dictionary or object to extract fields from",
            "model_attributes_type",
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
        validator.add(("body", key), "Input should be a valid dictionary", "dict_type")
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
