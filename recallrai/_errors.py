"""The one mapping from an HTTP error response to an SDK exception (PROTOCOL.md §2, §12)."""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from datetime import timezone
from typing import Any, Literal

import attrs

from . import exceptions as exc
from ._encoding import decode_json
from ._transport import TransportFailure

__all__ = ["ErrorContext", "error_from_failure", "error_from_response", "parse_retry_after"]

GATEWAY_NOT_FOUND = b"404 page not found"
_DELTA_SECONDS = re.compile(r"[0-9]+(\.[0-9]+)?")

Resource = Literal["user", "session", "conflict", "memory"]
BadRequest = Literal["session_state", "categories", "resolve"]


@attrs.define(slots=True, eq=False)  # not frozen: made for every call; a frozen __init__ costs 3x
class ErrorContext:
    """What an endpoint addresses, so that shared statuses (400, 404, 409) map to the right class.

    ``resource`` is the most specific resource named by the path (it picks the
    404 class), ``user_id`` the user ID the path was built from (the server's
    user-missing detail names it), ``bad_request`` the meaning of a 400 and
    ``user_exists_on_409`` whether a 409 means the user ID is taken.
    """

    resource: Resource | None = None
    user_id: str | None = None
    bad_request: BadRequest | None = None
    user_exists_on_409: bool = False


NO_CONTEXT = ErrorContext()

_NOT_FOUND: dict[Resource, type[exc.RecallrAIError]] = {
    "user": exc.UserNotFoundError,
    "session": exc.SessionNotFoundError,
    "conflict": exc.MergeConflictNotFoundError,
    "memory": exc.MemoryNotFoundError,
}


def error_from_failure(failure: TransportFailure, what: str) -> exc.NetworkError:
    """The error for an exchange that failed below HTTP."""
    error_type = exc.TimeoutError if failure.timed_out else exc.ConnectionError
    return error_type(f"{what}: {failure}")


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date), if usable."""
    value = headers.get("Retry-After")
    if not value:
        return None
    value = value.strip()
    if _DELTA_SECONDS.fullmatch(value):
        return float(value)
    try:
        import email.utils  # only for an HTTP-date Retry-After

        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # HTTP dates are GMT
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, when.timestamp() - time.time())


def _detail_text(detail: Any, default: str) -> str:
    if isinstance(detail, str) and detail:
        return detail
    if isinstance(detail, list):
        messages = [
            str(item.get("msg")) for item in detail if isinstance(item, dict) and "msg" in item
        ]
        if messages:
            return "; ".join(messages)
    if isinstance(detail, dict) and isinstance(detail.get("message"), str):
        return str(detail["message"])
    return default


def _resolve_error(text: str, status: int, detail: Any) -> exc.RecallrAIError:
    if "already resolved" in text:
        return exc.MergeConflictAlreadyResolvedError(text, http_status=status, detail=detail)
    if "Invalid questions provided" in text:
        return exc.MergeConflictInvalidQuestionsError(text, http_status=status, detail=detail)
    if "Missing answers for the following questions" in text:
        return exc.MergeConflictMissingAnswersError(text, http_status=status, detail=detail)
    if "Invalid answer" in text and "for question" in text:
        return exc.MergeConflictInvalidAnswerError(text, http_status=status, detail=detail)
    return exc.RecallrAIError(text, http_status=status, detail=detail)


def error_from_response(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    context: ErrorContext = NO_CONTEXT,
) -> exc.RecallrAIError:
    """Build the exception for a non-success response."""
    if status == 404 and body == GATEWAY_NOT_FOUND:
        return exc.ConnectionError(
            "The API endpoint does not exist (404 page not found): check base_url",
            http_status=404,
        )
    try:
        payload: Any = decode_json(body) if body else None
    except (ValueError, RecursionError):
        payload = None
        is_json = False
    else:
        is_json = True
    detail = payload.get("detail") if isinstance(payload, dict) else None
    text = _detail_text(detail, "The server refused the request")

    if status == 401:
        return exc.AuthenticationError(
            _detail_text(detail, "Authentication failed: check the API key and project ID"),
            http_status=status,
            detail=detail,
        )
    if status == 422:
        return exc.ValidationError(text, http_status=status, detail=detail)
    if status == 429:
        return exc.RateLimitError(
            _detail_text(detail, "Rate limit exceeded"),
            http_status=status,
            detail=detail,
            retry_after=parse_retry_after(headers),
        )
    if status >= 500:
        return exc.InternalServerError(
            _detail_text(detail, "The server failed"),
            http_status=status,
            detail=detail,
        )
    if not is_json or not isinstance(payload, dict):
        return exc.MalformedResponseError(
            f"HTTP {status} with a body that is not a JSON object: {body[:200]!r}",
            http_status=status,
        )
    if status == 404 and context.resource is not None:
        if context.resource != "user" and f"User {context.user_id} not found" in text:
            return exc.UserNotFoundError(text, http_status=status, detail=detail)
        return _NOT_FOUND[context.resource](text, http_status=status, detail=detail)
    if status == 409 and context.user_exists_on_409:
        return exc.UserAlreadyExistsError(text, http_status=status, detail=detail)
    if status == 400 and context.bad_request == "session_state":
        return exc.InvalidSessionStateError(text, http_status=status, detail=detail)
    if status == 400 and context.bad_request == "categories":
        invalid = detail.get("invalid_categories") if isinstance(detail, dict) else None
        return exc.InvalidCategoriesError(
            text,
            http_status=status,
            detail=detail,
            invalid_categories=[str(c) for c in invalid] if isinstance(invalid, list) else [],
        )
    if status == 400 and context.bad_request == "resolve":
        return _resolve_error(text, status, detail)
    return exc.RecallrAIError(text, http_status=status, detail=detail)
