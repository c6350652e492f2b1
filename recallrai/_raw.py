"""Raw responses: ``obj.with_raw_response.method(...)`` gives the HTTP answer with the result.

The pipeline records the last attempt of each request into :data:`capture` while
a raw call runs (a context variable, so concurrent calls do not mix); the view
then returns an :class:`APIResponse` around what the method returned.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from datetime import timedelta
from typing import Any, Generic, TypeVar

import attrs

from .exceptions import MalformedResponseError, ValidationError

__all__ = [
    "APIResponse",
    "Exchange",
    "WithRawResponse",
    "capture",
    "last_answer",
    "locate_malformed",
]

T = TypeVar("T")
Target = TypeVar("Target")


@attrs.frozen(slots=True)
class Exchange:
    """The last attempt of one request, as recorded for a raw call."""

    method: str
    url: str
    status_code: int
    headers: Mapping[str, str]
    elapsed: timedelta
    attempts: int


capture: ContextVar[list[Exchange] | None] = ContextVar("recallrai_raw_capture", default=None)

last_answer: ContextVar[tuple[str, str, Mapping[str, str]] | None] = ContextVar(
    "recallrai_last_answer", default=None
)
"""``(method, path, headers)`` of the last answer this task's pipeline returned: what a body
that fails to parse afterwards is located with (see :func:`locate_malformed`)."""


def locate_malformed(error: MalformedResponseError) -> MalformedResponseError:
    """``error`` (a body that did not parse) told the request and headers of the answer."""
    answer = last_answer.get()
    if answer is not None and error.method is None:
        error.method, error.path, error.headers = answer
    return error


class APIResponse(Generic[T]):
    """The HTTP answer of a call made through ``with_raw_response``, and its result.

    ``status_code``, ``headers`` (case-insensitive) and ``elapsed`` (time from
    sending the last attempt to its complete answer; for a stream, to its
    headers) describe the last request the call sent; ``retries_taken`` counts
    the attempts before it. ``parse()`` returns what the method itself returns.
    """

    __slots__ = ("_exchange", "_parsed")

    def __init__(self, exchange: Exchange, parsed: T) -> None:
        self._exchange = exchange
        self._parsed = parsed

    @property
    def status_code(self) -> int:
        return self._exchange.status_code

    @property
    def headers(self) -> Mapping[str, str]:
        return self._exchange.headers

    @property
    def elapsed(self) -> timedelta:
        return self._exchange.elapsed

    @property
    def method(self) -> str:
        return self._exchange.method

    @property
    def url(self) -> str:
        return self._exchange.url

    @property
    def retries_taken(self) -> int:
        return self._exchange.attempts - 1

    def parse(self) -> T:
        """The method's own result (a user, a page, a context, ``None``...)."""
        return self._parsed

    def _replace_parsed(self, parsed: Any) -> APIResponse[Any]:
        return APIResponse(self._exchange, parsed)

    def __repr__(self) -> str:
        return f"<APIResponse {self.method} {self.status_code} in {self.elapsed.total_seconds():.3f} s>"


class WithRawResponse(Generic[Target]):
    """The methods of an object, each returning an :class:`APIResponse` instead of its result.

    A method that returns a pager gives its first page; a context stream is opened
    (its headers are in) and ``parse()`` returns it for iteration.
    """

    __slots__ = ("_target",)

    def __init__(self, target: Target) -> None:
        self._target = target

    def __getattr__(self, name: str) -> Callable[..., Awaitable[APIResponse[Any]]]:
        method = getattr(self._target, name) if not name.startswith("_") else None
        if not inspect.ismethod(method):
            raise AttributeError(f"{type(self._target).__name__} has no method {name!r}")

        async def call(*args: Any, **kwargs: Any) -> APIResponse[Any]:
            recording: list[Exchange] = []
            token = capture.set(recording)
            try:
                result = method(*args, **kwargs)
                opener = getattr(result, "_open", None)
                if opener is not None:  # a context stream: open it to have its answer
                    await opener()
                elif inspect.isawaitable(result):  # a coroutine, or a pager (its first page)
                    result = await result
            finally:
                capture.reset(token)
            if not recording:
                raise ValidationError(f"{name}() sent no request, so it has no raw response")
            return APIResponse(recording[-1], result)

        return call

    def __repr__(self) -> str:
        return f"<WithRawResponse of {self._target!r}>"
