"""Every error the SDK raises.

The submodules (``recallrai.exceptions.users`` and so on) only re-export these
classes under the official package's module paths.

All of them derive from :class:`RecallrAIError`, so one ``except`` clause catches
anything the SDK can throw; the subclasses mirror the statuses and failures the
RecallrAI protocol tells apart. No raw aiohttp, httpx, asyncio or JSON exception
escapes the SDK: they are translated into one of these.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from typing import Any

__all__ = [
    "AuthenticationError",
    "ConnectionError",
    "InsecureTransportWarning",
    "InternalServerError",
    "InvalidCategoriesError",
    "InvalidSessionStateError",
    "MalformedResponseError",
    "MemoryNotFoundError",
    "MergeConflictAlreadyResolvedError",
    "MergeConflictError",
    "MergeConflictInvalidAnswerError",
    "MergeConflictInvalidQuestionsError",
    "MergeConflictMissingAnswersError",
    "MergeConflictNotFoundError",
    "NetworkError",
    "NotLoadedError",
    "RateLimitError",
    "RecallrAIError",
    "ResponseTooLargeError",
    "ServerError",
    "SessionError",
    "SessionNotFoundError",
    "StreamError",
    "TimeoutError",
    "UserAlreadyExistsError",
    "UserError",
    "UserNotFoundError",
    "ValidationError",
]


MAX_MESSAGE_LENGTH = 500
"""Longer messages are cut (the server's whole ``detail`` stays in ``.detail``)."""


class RecallrAIError(Exception):
    """Base class of every SDK error.

    ``message`` is a human-readable explanation, ``http_status`` the HTTP status
    that caused it (``None`` when no response was involved) and ``detail`` the
    server's ``detail`` member as it was sent (string, list or object).

    Errors of a request also carry its ``method`` and percent-encoded ``path``, and
    errors of an answer its ``headers`` (case-insensitive); each is ``None``
    where it does not apply (an error raised before anything was sent).
    """

    method: str | None = None
    path: str | None = None
    headers: Mapping[str, str] | None = None

    def __init__(
        self,
        message: str,
        http_status: int | None = None,
        *,
        detail: Any = None,
    ) -> None:
        if len(message) > MAX_MESSAGE_LENGTH:  # an echoed 1 MB ID must not make a 1 MB message
            message = f"{message[: MAX_MESSAGE_LENGTH - 30]}... ({len(message):,} characters)"
        super().__init__(message)
        self.message = message
        self.http_status = http_status
        self.detail = detail

    def __str__(self) -> str:
        if self.http_status is None:
            return self.message
        return f"{self.message}. HTTP Status: {self.http_status}."  # the official client's form

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, http_status={self.http_status!r})"


class InsecureTransportWarning(UserWarning):
    """A warning, not an error: the API key would travel where others can read it.

    Issued when the client is built with a plain ``http://`` base URL to a host
    other than loopback, or with ``verify=False``.
    """


class ValidationError(RecallrAIError, ValueError):
    """Input was rejected: client-side before sending, or by the server (422)."""


class AuthenticationError(RecallrAIError):
    """The API key or project ID was refused (401)."""

    def __init__(
        self,
        message: str = "Invalid API key or authentication failed.",
        http_status: int | None = 401,
        *,
        detail: Any = None,
    ) -> None:
        super().__init__(message, http_status, detail=detail)


class NotLoadedError(RecallrAIError):
    """A field of a reference made with ``validate=False`` was read before ``refresh()``.

    Such a reference knows only its ID; reading any other field raises this
    rather than returning a placeholder, so loaded objects keep their real types.
    """


class MalformedResponseError(RecallrAIError):
    """The server answered with a body the SDK cannot read (not the expected JSON)."""


class ResponseTooLargeError(MalformedResponseError):
    """An answer, or one line of an event stream, exceeded ``max_response_bytes``; the rest
    was not read."""


class NetworkError(RecallrAIError):
    """The request did not complete at the network level."""


class ConnectionError(NetworkError):  # noqa: A001 - the protocol's name for it
    """The server could not be reached, dropped the connection, or the route does not exist."""


class TimeoutError(NetworkError):  # noqa: A001 - the protocol's name for it
    """The server did not answer within the configured timeout."""


class ServerError(RecallrAIError):
    """The service failed or refused to serve the request for now."""


class InternalServerError(ServerError):
    """The service failed (any 5xx)."""


class RateLimitError(ServerError):
    """Too many requests (429). ``retry_after`` is the server's hint in seconds, if any."""

    def __init__(
        self,
        message: str,
        http_status: int | None = 429,
        *,
        detail: Any = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, http_status=http_status, detail=detail)
        self.retry_after = retry_after


class StreamError(RecallrAIError):
    """A context stream ended without its final event, or its final event carried an error."""


class UserError(RecallrAIError):
    """Base class of user-related errors."""


class UserNotFoundError(UserError):
    """The user does not exist (404)."""


class UserAlreadyExistsError(UserError):
    """A user with that ID already exists (409), on create or on rename."""


class InvalidCategoriesError(UserError):
    """Memory categories not defined in the project were asked for (400)."""

    def __init__(
        self,
        message: str,
        http_status: int | None = 400,
        invalid_categories: list[str] | None = None,
        *,
        detail: Any = None,
    ) -> None:
        super().__init__(message, http_status=http_status, detail=detail)
        self.invalid_categories: list[str] = list(invalid_categories or [])


class MemoryNotFoundError(RecallrAIError):
    """The memory does not exist (404)."""


class SessionError(RecallrAIError):
    """Base class of session-related errors."""


class SessionNotFoundError(SessionError):
    """The session does not exist (404)."""


class InvalidSessionStateError(SessionError):
    """The session's status does not allow the operation (400), e.g. a message after processing."""


class MergeConflictError(RecallrAIError):
    """Base class of merge-conflict errors."""


class MergeConflictNotFoundError(MergeConflictError):
    """The merge conflict does not exist (404)."""


class MergeConflictAlreadyResolvedError(MergeConflictError):
    """The merge conflict was already resolved (or failed) and takes no more answers."""


def _parse_list(text: str, marker: str) -> list[str]:
    """The Python-repr list of strings after the last ``marker``; empty when it does not parse."""
    _, found, tail = text.rpartition(marker)
    if not found:
        return []
    tail = tail.strip().removesuffix(".").strip()
    try:
        value = ast.literal_eval(tail)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return []
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value
    return []


class MergeConflictInvalidQuestionsError(MergeConflictError):
    """Answers named questions that the conflict does not ask."""

    def __init__(self, message: str, http_status: int | None = 400, *, detail: Any = None) -> None:
        super().__init__(message, http_status=http_status, detail=detail)
        self.invalid_questions: list[str] = _parse_list(message, "original questions:")


class MergeConflictMissingAnswersError(MergeConflictError):
    """Some of the conflict's questions were left unanswered."""

    def __init__(self, message: str, http_status: int | None = 400, *, detail: Any = None) -> None:
        super().__init__(message, http_status=http_status, detail=detail)
        self.missing_questions: list[str] = _parse_list(message, "following questions:")


_INVALID_ANSWER = re.compile(
    r"Invalid answer '(?P<answer>.*)' for question '(?P<question>.*)'\. Valid options are:",
    re.DOTALL,
)


class MergeConflictInvalidAnswerError(MergeConflictError):
    """An answer is not one of its question's options."""

    def __init__(self, message: str, http_status: int | None = 400, *, detail: Any = None) -> None:
        super().__init__(message, http_status=http_status, detail=detail)
        match = _INVALID_ANSWER.search(message)
        self.answer: str | None = match.group("answer") if match else None
        self.question: str | None = match.group("question") if match else None
        self.valid_options: list[str] = _parse_list(message, "Valid options are:")
