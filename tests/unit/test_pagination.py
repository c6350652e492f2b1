"""list_users: one page with ``await``, every user with ``async for`` (fetched lazily)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
import respx

from recallrai import AsyncUser, UserPage
from recallrai import exceptions as exc

pytestmark = pytest.mark.anyio


def _paged_server(
    api: respx.MockRouter,
    wire_user: Callable[..., dict[str, Any]],
    pages: list[tuple[list[str], bool]],
    total: int | None = None,
) -> respx.Route:
    """Answer ``GET /api/v1/users`` with ``pages[i]`` (ids, has_more) on the i-th request."""
    count = total if total is not None else sum(len(ids) for ids, _ in pages)
    return api.get("/api/v1/users").mock(
        side_effect=[
            httpx.Response(
                200,
                json={"users": [wire_user(uid) for uid in ids], "total": count, "has_more": more},
            )
            for ids, more in pages
        ]
    )


def _offsets(route: respx.Route) -> list[tuple[str, str]]:
    return [(c.request.url.params["offset"], c.request.url.params["limit"]) for c in route.calls]


async def test_async_for_yields_every_user_once_fetching_lazily(api, new_client, wire_user):
    route = _paged_server(api, wire_user, [(["a", "b"], True), (["c", "d"], True), (["e"], False)])
    seen: list[str] = []
    calls_when_seen: list[int] = []
    async with new_client() as client:
        async for user in client.list_users(limit=2):
            assert isinstance(user, AsyncUser)
            seen.append(user.user_id)
            calls_when_seen.append(route.call_count)
    assert seen == ["a", "b", "c", "d", "e"]
    # Page 2 is fetched only once page 1 is used up, page 3 only after page 2.
    assert calls_when_seen == [1, 1, 2, 2, 3]
    assert route.call_count == 3
    assert _offsets(route) == [("0", "2"), ("2", "2"), ("4", "2")]


async def test_next_page_is_not_fetched_before_it_is_needed(api, new_client, wire_user):
    route = _paged_server(api, wire_user, [(["a", "b"], True), (["c"], False)])
    async with new_client() as client:
        iterator = client.list_users(limit=2).__aiter__()
        try:
            assert route.call_count == 0  # nothing is sent before the first item is asked for
            assert (await iterator.__anext__()).user_id == "a"
            assert (await iterator.__anext__()).user_id == "b"
            assert route.call_count == 1
            assert (await iterator.__anext__()).user_id == "c"
            assert route.call_count == 2
            with pytest.raises(StopAsyncIteration):
                await iterator.__anext__()
            assert route.call_count == 2
        finally:
            await iterator.aclose()


async def test_iteration_starts_at_the_given_offset_and_keeps_the_filter(
    api, new_client, wire_user
):
    route = _paged_server(api, wire_user, [(["x", "y", "z"], True), (["w"], False)], total=14)
    async with new_client() as client:
        ids = [
            u.user_id async for u in client.list_users(offset=10, limit=3, metadata_filter={"k": 1})
        ]
    assert ids == ["x", "y", "z", "w"]
    assert _offsets(route) == [("10", "3"), ("13", "3")]
    assert {c.request.url.params["metadata_filter"] for c in route.calls} == {'{"k": 1}'}


async def test_empty_page_with_has_more_stops_iteration(api, new_client, wire_user):
    route = _paged_server(
        api, wire_user, [(["a", "b"], True), ([], True), (["never"], False)], total=9
    )
    async with new_client() as client:
        ids = [u.user_id async for u in client.list_users(limit=2)]
    assert ids == ["a", "b"]
    assert route.call_count == 2


async def test_empty_first_page_with_has_more_yields_nothing(api, new_client, wire_user):
    route = _paged_server(api, wire_user, [([], True), (["never"], False)], total=5)
    async with new_client() as client:
        ids = [u.user_id async for u in client.list_users()]
    assert ids == []
    assert route.call_count == 1


async def test_has_more_false_stops_even_if_total_is_larger(api, new_client, wire_user):
    route = _paged_server(api, wire_user, [(["a"], False), (["never"], False)], total=50)
    async with new_client() as client:
        ids = [u.user_id async for u in client.list_users(limit=1)]
    assert ids == ["a"]
    assert route.call_count == 1


async def test_error_on_a_later_page_propagates(api, new_client, wire_user):
    route = api.get("/api/v1/users").mock(
        side_effect=[
            httpx.Response(200, json={"users": [wire_user("a")], "total": 2, "has_more": True}),
            httpx.Response(500, json={"detail": "boom"}),
        ]
    )
    seen: list[str] = []
    async with new_client() as client:
        with pytest.raises(exc.InternalServerError):
            async for user in client.list_users(limit=1):
                seen.append(user.user_id)
    assert seen == ["a"]
    assert route.call_count == 2


async def test_await_returns_one_user_page(api, new_client, wire_user):
    route = _paged_server(api, wire_user, [(["a", "b", "c"], True)], total=7)
    async with new_client() as client:
        page = await client.list_users(offset=2, limit=3)
    assert isinstance(page, UserPage)
    assert [u.user_id for u in page.users] == ["a", "b", "c"]
    assert page.users == page.items
    assert all(isinstance(u, AsyncUser) for u in page.users)
    assert page.total == 7
    assert page.has_more() is True
    assert page.next_offset() == 5
    assert page.offset == 2
    assert page.limit == 3
    assert len(page) == 3
    assert route.call_count == 1


async def test_last_page_reports_no_more(api, new_client, wire_user):
    _paged_server(api, wire_user, [(["a"], False)], total=1)
    async with new_client() as client:
        page = await client.list_users()
    assert page.has_more() is False
    assert page.next_offset() == 1
    assert page.total == 1


async def test_iterating_an_awaited_page_continues_with_later_pages(api, new_client, wire_user):
    route = _paged_server(api, wire_user, [(["a", "b"], True), (["c"], False)])
    async with new_client() as client:
        page = await client.list_users(limit=2)
        assert route.call_count == 1
        ids = [u.user_id async for u in page]
    assert ids == ["a", "b", "c"]
    assert route.call_count == 2
    assert _offsets(route) == [("0", "2"), ("2", "2")]


async def test_page_users_carry_their_records(api, new_client, wire_user):
    api.get("/api/v1/users").mock(
        return_value=httpx.Response(
            200,
            json={
                "users": [
                    wire_user("a", metadata={"role": "admin"}, merge_conflict_enabled=True),
                    {"user": wire_user("b")},  # a wrapped item is accepted too
                ],
                "total": 2,
                "has_more": False,
            },
        )
    )
    async with new_client() as client:
        page = await client.list_users()
    first, second = page.users
    assert first.metadata == {"role": "admin"}
    assert first.merge_conflict_enabled is True
    assert second.user_id == "b"


async def test_users_from_a_page_are_usable(api, new_client, wire_user):
    _paged_server(api, wire_user, [(["a/b"], False)])
    delete = api.delete("/api/v1/users/a%2Fb").mock(return_value=httpx.Response(204))
    async with new_client() as client:
        page = await client.list_users()
        await page.users[0].delete()
    assert delete.call_count == 1


# --------------------------------------------------------------------------- the Page class itself

from recallrai import _pagination as pagination  # noqa: E402


class _Item:
    def __init__(self, n: int) -> None:
        self.n = n

    def to_dict(self) -> dict[str, int]:
        return {"n": self.n}


class _Source:
    def __init__(self, blocking: bool) -> None:
        self.blocking = blocking

    async def afetch(self, offset: int) -> Any:
        raise AssertionError("not fetched")

    def fetch(self, offset: int) -> Any:
        raise AssertionError("not fetched")


@pytest.mark.parametrize(
    ("cls", "key"),
    [
        (pagination.Page, "items"),
        (pagination.UserPage, "users"),
        (pagination.SessionPage, "sessions"),
        (pagination.MessagePage, "messages"),
        (pagination.MemoryPage, "items"),
        (pagination.MergeConflictPage, "conflicts"),
    ],
)
def test_to_dict_names_every_field(cls, key):
    page = cls(
        items=[_Item(1), {"plain": True}, 3],
        total=9,
        offset=4,
        limit=3,
        has_more=True,
        source=_Source(False),
    )
    assert page.to_dict() == {
        key: [{"n": 1}, {"plain": True}, 3],
        "total": 9,
        "has_more": True,
        "offset": 4,
        "limit": 3,
    }


def test_map_keeps_the_class_and_every_field():
    source = _Source(True)
    page = pagination.SessionPage(
        items=[1, 2], total=7, offset=2, limit=2, has_more=True, source=_Source(False)
    )
    mapped = page.map(lambda n: n * 10, source)
    assert type(mapped) is pagination.SessionPage
    assert (mapped.items, mapped.total, mapped.offset, mapped.limit) == ([10, 20], 7, 2, 2)
    assert mapped.has_more() is True and mapped._source is source
    assert mapped.next_offset() == 4 and len(mapped) == 2


def test_pages_refuse_the_other_kind_of_iteration():
    blocking = pagination.Page(
        items=[], total=0, offset=0, limit=1, has_more=False, source=_Source(True)
    )
    with pytest.raises(
        TypeError, match=r"^this page belongs to the sync client: iterate it with `for`$"
    ):
        blocking.__aiter__()
    awaiting = pagination.Page(
        items=[], total=0, offset=0, limit=1, has_more=False, source=_Source(False)
    )
    with pytest.raises(
        TypeError, match=r"^this page belongs to the async client: iterate it with `async for`$"
    ):
        next(iter(awaiting))


def test_has_more_reads_both_ways():
    for flag in (True, False):
        page = pagination.Page(
            items=[1], total=1, offset=0, limit=1, has_more=flag, source=_Source(False)
        )
        assert bool(page.has_more) is flag and page.has_more() is flag
        assert repr(page.has_more) == str(page.has_more) == repr(flag)


@pytest.mark.parametrize("data", [[1], "users", None])
def test_a_page_envelope_that_is_not_an_object_is_malformed(data):
    with pytest.raises(exc.MalformedResponseError) as info:
        pagination.page_fields(data, "users")
    assert info.value.message.startswith("Malformed users page in the server's answer: ")


def test_page_fields_of_an_envelope():
    assert pagination.page_fields({"users": [1], "total": 5, "has_more": True}, "users") == (
        [1],
        5,
        True,
    )
