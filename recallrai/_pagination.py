"""The one paginator, shared by the async core and the sync facade.

A list call returns a page; iterating the page (``async for`` in the core,
``for`` in the facade) yields every item of this and all following pages,
fetching the next page only when the current one is used up. How a next page
is fetched is the page's *source*: the core gives pages an async source, the
facade re-wraps them with a blocking one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator
from typing import Any, ClassVar, Generic, Protocol, TypeVar

import attrs

from ._converter import structure

__all__ = [
    "AsyncPager",
    "AsyncSource",
    "CallableBool",
    "MemoryPage",
    "MergeConflictPage",
    "MessagePage",
    "Page",
    "PageSource",
    "SessionPage",
    "UserPage",
    "page_fields",
    "paginate",
]

# Largest page each list accepts (PROTOCOL.md §12, §13).
MAX_PAGE_SIZE = 100  # users, sessions and merge conflicts
MAX_MESSAGE_PAGE_SIZE = 500  # a session's messages
MAX_MEMORY_PAGE_SIZE = 200  # memories

T = TypeVar("T")
U = TypeVar("U")
PageT = TypeVar("PageT", bound="Page[Any]")


class PageSource(Protocol[T]):
    """Fetches the page that starts at ``offset``, with the same filters and page size.

    ``blocking`` sources (the sync facade's) implement :meth:`fetch`, the others :meth:`afetch`.
    """

    blocking: bool

    async def afetch(self, offset: int) -> Page[T]: ...

    def fetch(self, offset: int) -> Page[T]: ...


class CallableBool(int):
    """A truth value that may also be called: both ``if page.has_more:`` (the official
    client's spelling) and ``if page.has_more():`` (the guides') read it.

    It compares, hashes and prints as ``True``/``False``; ``bool(flag)`` or ``flag()``
    gives the plain ``bool``.
    """

    __slots__ = ()

    def __new__(cls, value: object) -> CallableBool:
        return super().__new__(cls, bool(value))

    def __call__(self) -> bool:
        return self != 0

    def __repr__(self) -> str:
        return repr(self != 0)

    __str__ = __repr__


_MORE, _NO_MORE = CallableBool(True), CallableBool(False)


@attrs.frozen(eq=False)
class Page(Generic[T]):
    """One page of a list, and the way to every item after it."""

    items: list[T]
    total: int
    offset: int
    limit: int
    _has_more: bool = attrs.field(alias="has_more", repr=False)
    _source: PageSource[T] = attrs.field(alias="source", repr=False)
    _items_key: ClassVar[str] = "items"  # the envelope's name for the items

    @property
    def has_more(self) -> CallableBool:
        """Whether the server has items after this page: ``page.has_more`` or ``page.has_more()``."""
        return _MORE if self._has_more else _NO_MORE

    def next_offset(self) -> int:
        """The offset of the next page."""
        return self.offset + len(self.items)

    def map(self, convert: Callable[[T], U], source: PageSource[U]) -> Page[U]:
        """The same page (same class) with converted items and another source."""
        page_class: Any = type(self)
        return page_class(  # type: ignore[no-any-return]
            items=[convert(item) for item in self.items],
            total=self.total,
            offset=self.offset,
            limit=self.limit,
            has_more=self._has_more,
            source=source,
        )

    def _more(self) -> bool:
        # An empty page ends iteration even if the server claims more: no endless loop.
        return self._has_more and bool(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def to_dict(self) -> dict[str, Any]:
        """The page as plain JSON-ready data: its items (as their ``to_dict()``), ``total``,
        ``has_more`` (a ``bool``), ``offset`` and ``limit``."""
        return {
            self._items_key: [
                item.to_dict() if hasattr(item, "to_dict") else item for item in self.items
            ],
            "total": self.total,
            "has_more": self._has_more,
            "offset": self.offset,
            "limit": self.limit,
        }

    def __aiter__(self) -> AsyncIterator[T]:
        """Every item of this page and of all following pages."""
        if self._source.blocking:
            raise TypeError("this page belongs to the sync client: iterate it with `for`")
        return _walk(self, None)

    def __iter__(self) -> Iterator[T]:
        """Every item of this page and of all following pages (sync facade pages)."""
        if not self._source.blocking:
            raise TypeError("this page belongs to the async client: iterate it with `async for`")
        page: Page[T] = self
        while True:
            yield from page.items
            if not page._more():
                return
            page = page._source.fetch(page.next_offset())


@attrs.frozen(eq=False)
class UserPage(Page[T]):
    """A page of users."""

    _items_key: ClassVar[str] = "users"

    @property
    def users(self) -> list[T]:
        """The users on this page."""
        return self.items


@attrs.frozen(eq=False)
class SessionPage(Page[T]):
    """A page of sessions."""

    _items_key: ClassVar[str] = "sessions"

    @property
    def sessions(self) -> list[T]:
        """The sessions on this page."""
        return self.items


@attrs.frozen(eq=False)
class MessagePage(Page[T]):
    """A page of a session's messages."""

    _items_key: ClassVar[str] = "messages"

    @property
    def messages(self) -> list[T]:
        """The messages on this page."""
        return self.items


@attrs.frozen(eq=False)
class MemoryPage(Page[T]):
    """A page of memories (``items``, as on the wire)."""


@attrs.frozen(eq=False)
class MergeConflictPage(Page[T]):
    """A page of merge conflicts."""

    _items_key: ClassVar[str] = "conflicts"

    @property
    def conflicts(self) -> list[T]:
        """The merge conflicts on this page."""
        return self.items


@attrs.frozen(slots=True)
class AsyncSource(Generic[T]):
    """Page source of the async core: awaits ``load(offset)``."""

    load: Callable[[int], Awaitable[Page[T]]]
    blocking = False

    async def afetch(self, offset: int) -> Page[T]:
        return await self.load(offset)

    def fetch(self, offset: int) -> Page[T]:
        raise NotImplementedError


class AsyncPager(Generic[PageT, T]):
    """What an async list call returns: ``await`` it for the first page, or ``async for`` over all items."""

    __slots__ = ("_first",)

    def __init__(self, first: Callable[[], Awaitable[PageT]]) -> None:
        self._first = first

    def __await__(self) -> Generator[Any, None, PageT]:
        return self._first().__await__()

    def __aiter__(self) -> AsyncIterator[T]:
        return _walk(None, self._first)


async def _walk(
    page: Page[T] | None, first: Callable[[], Awaitable[Page[T]]] | None
) -> AsyncIterator[T]:
    """Every item from ``page`` (or the page ``first()`` loads) on: one generator, one level."""
    if page is None:
        assert first is not None
        page = await first()
    while True:
        for item in page.items:
            yield item
        if not page._more():
            return
        page = await page._source.afetch(page.next_offset())


def paginate(
    page_class: type[Page[Any]],
    offset: int,
    limit: int,
    fetch: Callable[[int], Awaitable[tuple[list[T], int, bool]]],
) -> AsyncPager[Any, T]:
    """An offset-paginated list: ``fetch(offset)`` returns one page's items, ``total``, ``has_more``."""

    async def load(start: int) -> Page[T]:
        items, total, has_more = await fetch(start)
        return page_class(
            items=items, total=total, offset=start, limit=limit, has_more=has_more, source=source
        )

    source = AsyncSource(load)
    return AsyncPager(lambda: load(offset))


def page_fields(data: Any, key: str) -> tuple[list[Any], int, bool]:
    """The items, ``total`` and ``has_more`` of a page envelope; malformed ones raise."""
    envelope = structure(data, dict[str, Any], f"{key} page")
    items = structure(envelope.get(key), list[Any], f"{key} page's {key!r}")
    total = structure(envelope.get("total"), int, f"{key} page's 'total'")
    has_more = structure(envelope.get("has_more"), bool, f"{key} page's 'has_more'")
    return items, total, has_more
