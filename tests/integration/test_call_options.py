"""Per-call options (``timeout=``, ``max_retries=``, ``extra_headers=``) and ``with_options``
against the emulator: every method that sends a request, both styles, both transports."""

from __future__ import annotations

import contextlib
import inspect
import itertools
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import attrs
import pytest

from recallrai import (
    AsyncMergeConflict,
    AsyncRecallrAI,
    AsyncSession,
    AsyncUser,
    MergeConflictAnswer,
    RecallrAI,
)
from recallrai._context import ContextStream as AsyncContextStream
from recallrai._pagination import Page
from recallrai.emulator import Emulator, RecordedRequest
from recallrai.exceptions import InternalServerError, UserNotFoundError, ValidationError
from recallrai.exceptions import TimeoutError as RecallrTimeoutError
from recallrai_sync import MergeConflict, Session, User
from recallrai_sync._runtime import ContextStream as SyncContextStream

PROMPT_PATH = "/api/v1/system-prompt"  # fetched once per client, on the client's own options
OPTIONS = ("timeout", "max_retries", "extra_headers")
TRACE = "X-Trace"


# --------------------------------------------------------------------------- helpers


async def first(result: Any) -> Any:
    """What a call returns, in either style: awaited if awaitable (a pager: its first page)."""
    return await result if inspect.isawaitable(result) else result


async def done(result: Any) -> Any:
    """A call run to its end, in either style: a stream's final context, every item of a list."""
    if isinstance(result, AsyncContextStream):
        return await result.get_final_context()
    if isinstance(result, SyncContextStream):
        return result.get_final_context()
    result = await first(result)
    if isinstance(result, Page):
        return list(result) if result._source.blocking else [item async for item in result]
    return result


def sent_since(emu: Emulator, before: int) -> list[RecordedRequest]:
    """The API requests received since ``before`` (the client's system-prompt fetches left out)."""
    return [r for r in emu.requests[before:] if r.raw_path != PROMPT_PATH]


def traces(requests: list[RecordedRequest]) -> list[str | None]:
    return [r.headers.get(TRACE) for r in requests]


def fail_next(emu: Emulator, status: int = 503, delay: float = 0.0) -> None:
    """The next API request (not a system-prompt fetch) gets ``status``, retryable at once."""
    emu.inject_fault(status, headers={"Retry-After": "0"}, path_prefix="/api/v1/users", delay=delay)


def answer(conflict: Any) -> list[MergeConflictAnswer]:
    question = conflict.clarifying_questions[0]
    return [MergeConflictAnswer(question.question, question.options[0])]


@attrs.define
class World:
    """alice (2 memories, 2 pending conflicts, 3 sessions) and bob, seen through one style."""

    style: str
    client: Any  # AsyncRecallrAI or RecallrAI
    user: Any
    session: Any  # pending, with two messages
    conflicts: list[Any]
    memory_ids: list[str]
    emu: Emulator
    fresh: Iterator[int] = attrs.Factory(itertools.count)

    async def objects(self, client: Any) -> tuple[Any, Any]:
        """alice and her pending session, obtained through ``client``."""
        user = await first(client.get_user("alice"))
        return user, await first(user.get_session(self.session.session_id))


async def _seed(client: AsyncRecallrAI, emu: Emulator) -> tuple[str, list[str], list[str]]:
    await client.create_user("bob")
    user = await client.create_user("alice", merge_conflict_enabled=True)
    for text in ("I live in Paris. My car is red", "I live in Rome. My car is blue"):
        processed = await user.create_session()
        await processed.add_message("user", text)
        await processed.process()
        emu.settle()
    session = await user.create_session()
    await session.add_message("user", "I like tea")
    await session.add_message("assistant", "Noted")
    memories = await user.list_memories()
    conflicts = await user.list_merge_conflicts()
    assert (memories.total, conflicts.total) == (2, 2)
    return (
        session.session_id,
        [m.memory_id for m in memories.items],
        [c.conflict_id for c in conflicts.conflicts],
    )


@pytest.fixture(params=["async", "sync"])
async def world(
    request: pytest.FixtureRequest,
    async_client: AsyncRecallrAI,
    sync_client: RecallrAI,
    recallrai_emulator: Emulator,
) -> World:
    session_id, memory_ids, conflict_ids = await _seed(async_client, recallrai_emulator)
    client: Any = async_client if request.param == "async" else sync_client
    user = await first(client.get_user("alice"))
    return World(
        style=request.param,
        client=client,
        user=user,
        session=await first(user.get_session(session_id)),
        conflicts=[await first(user.get_merge_conflict(c)) for c in conflict_ids],
        memory_ids=memory_ids,
        emu=recallrai_emulator,
    )


@contextlib.asynccontextmanager
async def built_client(world: World, transport: str, **settings: Any) -> AsyncIterator[Any]:
    """A new client of the world's style on the emulator, with ``settings``."""
    emu = world.emu
    args = (emu.api_key, emu.project_id, emu.base_url)
    if world.style == "async":
        async with AsyncRecallrAI(*args, transport=transport, **settings) as client:  # type: ignore[arg-type]
            yield client
    else:
        with RecallrAI(*args, transport=transport, **settings) as sync:  # type: ignore[arg-type]
            yield sync


# --------------------------------------------------------------------------- every method

Call = Callable[[World, Any, dict[str, Any]], Any]


@attrs.frozen
class Case:
    name: str  # "<Class>.<method>", the async class without its "Async"
    call: Call  # (world, prepared target, options) -> the call's result, in either style
    prepare: Callable[[World], Awaitable[Any]] | None = None  # a target used up by the call
    pages: bool = False  # the call fetches several pages

    def __str__(self) -> str:
        return self.name


async def _fresh_user(w: World) -> Any:
    return await first(w.client.create_user(f"temp-{next(w.fresh)}"))


async def _fresh_session(w: World) -> Any:
    session = await first(w.user.create_session())
    await first(session.add_message("user", "I like coffee"))
    return session


async def _pending_conflict(w: World) -> Any:
    return w.conflicts.pop()


async def _memory_id(w: World) -> str:
    return w.memory_ids.pop()


CASES = [
    Case("Client.create_user", lambda w, t, o: w.client.create_user(f"new-{next(w.fresh)}", **o)),
    Case("Client.get_user", lambda w, t, o: w.client.get_user("alice", **o)),
    Case("Client.list_users", lambda w, t, o: w.client.list_users(limit=1, **o), pages=True),
    Case("User.refresh", lambda w, t, o: w.user.refresh(**o)),
    Case("User.update", lambda w, t, o: w.user.update(new_metadata={"n": 1}, **o)),
    Case("User.delete", lambda w, t, o: t.delete(**o), _fresh_user),
    Case("User.create_session", lambda w, t, o: w.user.create_session(**o)),
    Case("User.get_session", lambda w, t, o: w.user.get_session(w.session.session_id, **o)),
    Case("User.list_sessions", lambda w, t, o: w.user.list_sessions(limit=1, **o), pages=True),
    Case("User.get_last_n_messages", lambda w, t, o: w.user.get_last_n_messages(3, **o)),
    Case("User.list_memories", lambda w, t, o: w.user.list_memories(limit=1, **o), pages=True),
    Case("User.get_memory", lambda w, t, o: w.user.get_memory(w.memory_ids[0], **o)),
    Case("User.delete_memory", lambda w, t, o: w.user.delete_memory(t, **o), _memory_id),
    Case(
        "User.list_merge_conflicts",
        lambda w, t, o: w.user.list_merge_conflicts(limit=1, **o),
        pages=True,
    ),
    Case(
        "User.get_merge_conflict",
        lambda w, t, o: w.user.get_merge_conflict(w.conflicts[0].conflict_id, **o),
    ),
    Case("Session.refresh", lambda w, t, o: w.session.refresh(**o)),
    Case("Session.update", lambda w, t, o: w.session.update(new_metadata={"n": 1}, **o)),
    Case("Session.delete", lambda w, t, o: t.delete(**o), _fresh_session),
    Case("Session.add_message", lambda w, t, o: w.session.add_message("user", "Hi", **o)),
    Case("Session.process", lambda w, t, o: t.process(**o), _fresh_session),
    Case("Session.get_messages", lambda w, t, o: w.session.get_messages(limit=1, **o), pages=True),
    Case("Session.get_context", lambda w, t, o: w.session.get_context(**o)),
    Case("Session.get_context_stream", lambda w, t, o: w.session.get_context_stream(**o)),
    Case("MergeConflict.refresh", lambda w, t, o: w.conflicts[0].refresh(**o)),
    Case("MergeConflict.resolve", lambda w, t, o: t.resolve(answer(t), **o), _pending_conflict),
]

ASYNC_CLASSES = {
    "Client": AsyncRecallrAI,
    "User": AsyncUser,
    "Session": AsyncSession,
    "MergeConflict": AsyncMergeConflict,
}
SYNC_CLASSES = {
    "Client": RecallrAI,
    "User": User,
    "Session": Session,
    "MergeConflict": MergeConflict,
}
NO_REQUEST = {"close", "with_options", "to_dict"}


def test_every_method_that_sends_a_request_takes_the_options_and_is_tested() -> None:
    tested = {case.name for case in CASES}
    found = set()
    for label, async_class in ASYNC_CLASSES.items():
        for name, member in vars(async_class).items():
            if name.startswith("_") or not inspect.isfunction(member) or name in NO_REQUEST:
                continue
            found.add(f"{label}.{name}")
            for cls in (async_class, SYNC_CLASSES[label]):
                params = list(inspect.signature(getattr(cls, name)).parameters.values())[-3:]
                assert [(p.name, p.kind, p.default) for p in params] == [
                    (option, inspect.Parameter.KEYWORD_ONLY, None) for option in OPTIONS
                ], f"{cls.__name__}.{name}"
        assert isinstance(getattr(async_class, "with_raw_response", None), property), label
    assert found == tested


@pytest.mark.anyio
@pytest.mark.parametrize("case", CASES, ids=str)
async def test_extra_headers_reach_every_request_of_the_call_only(world: World, case: Case) -> None:
    for trace in (f"{case.name}-{world.style}", None):
        target = None if case.prepare is None else await case.prepare(world)
        options = {} if trace is None else {"extra_headers": {TRACE: trace}}
        before = len(world.emu.requests)
        await done(case.call(world, target, options))
        sent = sent_since(world.emu, before)
        assert len(sent) >= (2 if case.pages else 1)
        assert traces(sent) == [trace] * len(sent)


BAD_OPTIONS: list[dict[str, Any]] = [
    {"timeout": 0},
    {"timeout": -1},
    {"max_retries": -1},
    {"max_retries": True},
    {"extra_headers": {"Bad Name": "x"}},
    {"extra_headers": {"X": "a\nb"}},
    {"extra_headers": {"x-recallr-api-key": "rai_other"}},
    {"extra_headers": {"X-Recallr-Project-Id": "other"}},
]
NOTHING_SENT_CASES = [
    *CASES,
    Case(
        "RecallrAI.get_user(validate=False)",
        lambda w, t, o: w.client.get_user("someone", validate=False, **o),
    ),
    Case(
        "User.get_session(validate=False)",
        lambda w, t, o: w.user.get_session(w.session.session_id, validate=False, **o),
    ),
]


@pytest.mark.anyio
@pytest.mark.parametrize("case", NOTHING_SENT_CASES, ids=str)
async def test_bad_options_are_refused_before_anything_is_sent(world: World, case: Case) -> None:
    target = None if case.prepare is None else await case.prepare(world)
    before = len(world.emu.requests)
    for bad in BAD_OPTIONS:
        with pytest.raises(ValidationError):
            await done(case.call(world, target, bad))
    assert world.emu.requests[before:] == []


@pytest.mark.anyio
async def test_bad_options_refused_by_with_options_and_at_once_by_lists_and_streams(
    world: World,
) -> None:
    lazy = [case for case in CASES if case.pages or case.name.endswith("_stream")]
    before = len(world.emu.requests)
    for bad in BAD_OPTIONS:
        with pytest.raises(ValidationError):
            world.client.with_options(**bad)
        for case in lazy:  # at the call, not when the first page or event is asked for
            with pytest.raises(ValidationError):
                case.call(world, None, bad)
    assert world.emu.requests[before:] == []


# --------------------------------------------------------------------------- retries


RETRIED = [
    pytest.param(lambda w, o: w.client.get_user("alice", **o), False, id="get_user"),
    pytest.param(lambda w, o: w.user.get_memory(w.memory_ids[0], **o), False, id="get_memory"),
    pytest.param(lambda w, o: w.user.list_memories(limit=1, **o), True, id="list_memories-page2"),
    pytest.param(lambda w, o: w.session.get_messages(limit=1, **o), True, id="get_messages-page2"),
    pytest.param(lambda w, o: w.session.get_context_stream(**o), False, id="get_context_stream"),
]


@pytest.mark.anyio
@pytest.mark.parametrize(("call", "paged"), RETRIED)
async def test_per_call_max_retries(
    world: World, call: Callable[[World, dict[str, Any]], Any], paged: bool
) -> None:
    """The client retries nothing (max_retries=0); one call asks for a retry."""
    emu = world.emu

    async def run(options: dict[str, Any]) -> Any:
        if paged:  # the fault hits the second page, fetched by the same pager
            page = await first(call(world, options))
            fail_next(emu)
            return await done(page)
        fail_next(emu)
        return await done(call(world, options))

    before = len(emu.requests)
    await run({"max_retries": 1})
    sent = sent_since(emu, before)
    assert len(sent) == (3 if paged else 2)
    assert [(r.raw_path, r.query_string) for r in sent[-2:]] == [
        (sent[-1].raw_path, sent[-1].query_string)
    ] * 2
    assert emu.pending_faults == 0

    before = len(emu.requests)
    with pytest.raises(InternalServerError):
        await run({})
    assert len(sent_since(emu, before)) == (2 if paged else 1)


# --------------------------------------------------------------------------- timeouts


@pytest.mark.anyio
@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda w, o: w.client.get_user("alice", **o), id="get_user"),
        pytest.param(lambda w, o: w.user.update(new_metadata={"n": 1}, **o), id="update"),
        pytest.param(lambda w, o: w.user.list_sessions(**o), id="list_sessions"),
        pytest.param(lambda w, o: w.session.get_context_stream(**o), id="stream-open"),
    ],
)
async def test_a_short_per_call_timeout_ends_the_call(
    world: World, call: Callable[[World, dict[str, Any]], Any]
) -> None:
    fail_next(world.emu, 200, delay=1.0)
    started = time.monotonic()
    with pytest.raises(RecallrTimeoutError):
        await done(call(world, {"timeout": 0.2}))
    assert time.monotonic() - started < 0.9


@contextlib.contextmanager
def streams_held(emu: Emulator, release_after: float | None = None) -> Iterator[None]:
    """Context streams stop after their first event, until ``release_after`` seconds or the end."""
    emu.hold_streams()
    timer = None if release_after is None else threading.Timer(release_after, emu.release_streams)
    if timer is not None:
        timer.start()
    try:
        yield
    finally:
        if timer is not None:
            timer.cancel()
        emu.release_streams()


@pytest.mark.anyio
async def test_a_short_per_call_timeout_bounds_each_stream_event(world: World) -> None:
    with streams_held(world.emu):
        started = time.monotonic()
        with pytest.raises(RecallrTimeoutError, match=r"no event within 0\.2 s"):
            await done(world.session.get_context_stream(timeout=0.2))
        assert time.monotonic() - started < 3


@pytest.mark.anyio
async def test_a_longer_per_call_timeout_outlasts_the_clients(world: World, transport: str) -> None:
    # The client's own timeout is long enough for its setup requests on a loaded machine.
    async with built_client(world, transport, timeout=1.0, max_retries=0) as client:
        user, session = await world.objects(client)
        world.emu.inject_fault(404, delay=2.0, path_prefix="/api/v1/users")
        with pytest.raises(UserNotFoundError):  # the late answer, not a timeout
            await first(user.refresh(timeout=5))
        world.emu.inject_fault(404, delay=2.0, path_prefix="/api/v1/users")
        with pytest.raises(RecallrTimeoutError):
            await first(user.refresh())

        with streams_held(world.emu, release_after=2.0):
            assert (await done(session.get_context_stream(timeout=5))).context
        with streams_held(world.emu), pytest.raises(RecallrTimeoutError):
            await done(session.get_context_stream())


# --------------------------------------------------------------------------- not sticky

OBTAINED: list[Call] = [
    lambda w, t, o: w.client.create_user("carol", **o),
    lambda w, t, o: w.client.get_user("alice", **o),
    lambda w, t, o: w.client.list_users(**o),
    lambda w, t, o: w.user.create_session(**o),
    lambda w, t, o: w.user.get_session(w.session.session_id, **o),
    lambda w, t, o: w.user.list_sessions(**o),
    lambda w, t, o: w.user.get_merge_conflict(w.conflicts[0].conflict_id, **o),
    lambda w, t, o: w.user.list_merge_conflicts(**o),
]


@pytest.mark.anyio
async def test_per_call_options_do_not_stick_to_what_the_call_returns(world: World) -> None:
    options = {"extra_headers": {TRACE: "once"}, "max_retries": 3, "timeout": 5}
    for call in OBTAINED:
        obtained = await first(call(world, None, options))
        if isinstance(obtained, Page):
            obtained = obtained.items[0]
        before = len(world.emu.requests)
        await first(obtained.refresh())
        assert traces(sent_since(world.emu, before)) == [None]
        fail_next(world.emu)
        with pytest.raises(InternalServerError):  # the client's max_retries=0
            await first(obtained.refresh())


# --------------------------------------------------------------------------- with_options


@pytest.mark.anyio
async def test_with_options_follow_everything_obtained_through_the_derived_client(
    world: World,
) -> None:
    emu, client = world.emu, world.client
    derived = client.with_options(extra_headers={TRACE: "derived"}, max_retries=1, timeout=5)
    assert type(derived) is type(client)
    before = len(emu.requests)
    user, session = await world.objects(derived)
    await first(user.refresh())
    await done(user.list_sessions(limit=1))  # every page
    listed = await first(derived.list_users(limit=1))
    assert len(await done(listed)) == 2  # the pager's later pages
    await first(listed.items[0].refresh())  # page items
    conflict = (await first(user.list_merge_conflicts())).items[0]
    await first(conflict.refresh())
    await first(session.add_message("user", "I like jazz"))
    assert (await done(session.get_context_stream())).context
    assert (await done(session.get_messages(limit=1)))[-1].content == "I like jazz"
    sent = sent_since(emu, before)
    assert len(sent) >= 14 and traces(sent) == ["derived"] * len(sent)

    # its retries: the derived objects retry, the original client's do not
    fail_next(emu)
    await first(user.refresh())
    fail_next(emu)
    assert (await done(session.get_context_stream())).context
    fail_next(emu)
    with pytest.raises(InternalServerError):
        await first(world.user.refresh())
    before = len(emu.requests)
    await first(world.user.refresh())
    assert traces(sent_since(emu, before)) == [None]

    # its timeout: the derived objects' requests and stream events are bounded by it
    short = client.with_options(timeout=0.2)
    quick_user, quick_session = await world.objects(short)
    fail_next(emu, delay=1.0)
    with pytest.raises(RecallrTimeoutError):
        await first(quick_user.refresh())
    with streams_held(emu), pytest.raises(RecallrTimeoutError, match=r"within 0\.2 s"):
        await done(quick_session.get_context_stream())

    # closing a derived client leaves the pool to the original: everything still works
    for closed in (derived, short):
        await first(closed.close())
    await first(user.refresh())
    await first(world.user.refresh())
    if world.style == "async":
        async with client.with_options(extra_headers={TRACE: "block"}) as scoped:
            await scoped.get_user("alice")
    else:
        with client.with_options(extra_headers={TRACE: "block"}) as scoped:
            scoped.get_user("alice")
    assert emu.last_request.headers[TRACE] == "block"
    await first(client.get_user("alice"))
    assert TRACE not in emu.last_request.headers


# --------------------------------------------------------------------------- raw responses


@pytest.mark.anyio
async def test_raw_responses_of_users_sessions_and_conflicts_take_the_options(
    world: World,
) -> None:
    for target in (world.user, world.session, world.conflicts[0]):
        raw = await first(target.with_raw_response.refresh(extra_headers={TRACE: "raw"}))
        assert raw.status_code == 200 and raw.parse() is None
        assert world.emu.last_request.headers[TRACE] == "raw"
    fail_next(world.emu)
    raw = await first(world.user.with_raw_response.get_last_n_messages(2, max_retries=1))
    assert raw.retries_taken == 1 and len(raw.parse()) == 2
    page = (await first(world.session.with_raw_response.get_messages(limit=1))).parse()
    assert [m.content for m in page.messages] == ["I like tea"]
