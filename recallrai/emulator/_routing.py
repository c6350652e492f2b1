"""A tiny router working on the raw request path.

aiohttp's own router matches on the decoded path, where ``a%2Fb`` has become
two segments. Here the raw path is split on ``/`` first and each segment is
percent-decoded exactly once, so an encoded ID always stays one segment
(``%2F``, ``%3F``, ``%2E%2E`` ...). Nothing is normalised: ``..`` is an
ordinary segment and ``//`` yields an empty segment, which matches no route.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Awaitable, Callable

import attrs
from aiohttp import web

from recallrai.emulator._http import RequestContext

__all__ = ["AsyncResponder", "Handler", "Route", "Router", "split_raw_path"]

AsyncResponder = Callable[[web.Request], Awaitable[web.StreamResponse]]
"""An answer still to be produced asynchronously (e.g. a Server-Sent-Events stream)."""

Handler = Callable[[RequestContext], "web.StreamResponse | AsyncResponder"]
"""Handlers are synchronous; the dispatcher runs them with the store lock held.

A handler returns its response, or an :data:`AsyncResponder` that the
dispatcher then awaits *after* releasing the lock (it must not touch the
store; it gets what it needs from the handler, and handles its own errors once
it has started the response).
"""


def split_raw_path(raw_path: str) -> list[str] | None:
    """Split the path part of a request target into decoded segments.

    Returns ``None`` when the path does not start with ``/`` or a segment is
    not valid UTF-8 once decoded (such paths match no route).
    """
    if not raw_path.startswith("/"):
        return None
    segments: list[str] = []
    for raw in raw_path[1:].split("/"):
        try:
            segments.append(urllib.parse.unquote(raw, encoding="utf-8", errors="strict"))
        except UnicodeDecodeError:
            return None
    return segments


@attrs.frozen
class _Param:
    name: str


@attrs.frozen
class Route:
    """``method`` plus a pattern such as ``/api/v1/users/{user_id}``."""

    method: str
    parts: tuple[str | _Param, ...]
    handler: Handler

    def match(self, segments: list[str]) -> dict[str, str] | None:
        if len(segments) != len(self.parts):
            return None
        params: dict[str, str] = {}
        for part, segment in zip(self.parts, segments, strict=True):
            if isinstance(part, _Param):
                if not segment:
                    return None
                params[part.name] = segment
            elif part != segment:
                return None
        return params


def _parse_pattern(pattern: str) -> tuple[str | _Param, ...]:
    if not pattern.startswith("/"):
        raise ValueError(f"route pattern must start with '/': {pattern!r}")
    parts: list[str | _Param] = []
    for piece in pattern[1:].split("/"):
        if piece.startswith("{") and piece.endswith("}"):
            parts.append(_Param(piece[1:-1]))
        else:
            parts.append(piece)
    return tuple(parts)


class Router:
    """Maps (method, decoded segments) to a handler and its path parameters."""

    def __init__(self) -> None:
        self._routes: list[Route] = []

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        self._routes.append(Route(method.upper(), _parse_pattern(pattern), handler))

    def resolve(self, method: str, raw_path: str) -> tuple[Handler, dict[str, str]] | None:
        """The handler and parameters for a request, or ``None`` (unknown
        route, or a method the path does not support: both are the plain
        404 of the gateway)."""
        segments = split_raw_path(raw_path)
        if segments is None:
            return None
        for route in self._routes:
            if route.method != method:
                continue
            params = route.match(segments)
            if params is not None:
                return route.handler, params
        return None
