"""The measured workloads, written once for every client: each client script only
says how to make its calls (:class:`SyncCalls` or :class:`AsyncCalls`).

Standard library only, like ``_common`` (the official package's venv imports it).
Every loop is bounded by ``--count`` (and ``MAX_PAGES`` for paging loops).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from _common import (
    STREAM_CONTEXT_EVENTS,
    MemoryProbe,
    Meter,
    WrongAnswer,
    pages_for,
    split,
)

MAX_PAGES = 100_000  # bound on any paging loop a client writes itself


@dataclass(frozen=True)
class SyncCalls:
    """A blocking client's calls, as the workloads drive them."""

    get_user: Callable[[], object]
    create_user: Callable[[str], object]  # the new user's ID
    stream_context: Callable[[], Sequence[Any]]  # the events of one stream, consumed to the end
    list_page: Callable[[], object]  # one page (the warm-up of the listing workloads)
    user_ids: Callable[[], Iterable[str]]  # every user's ID, across pages


@dataclass(frozen=True)
class AsyncCalls:
    """An async client's calls, as the workloads drive them."""

    get_user: Callable[[], Awaitable[object]]
    create_user: Callable[[str], Awaitable[object]]
    stream_context: Callable[[], Awaitable[Sequence[Any]]]
    list_page: Callable[[], Awaitable[object]]
    user_ids: Callable[[], AsyncIterable[str]]


def _field(event: Any, name: str) -> Any:
    return event[name] if isinstance(event, dict) else getattr(event, name)


def _check_stream(events: Sequence[Any]) -> None:
    if len(events) != STREAM_CONTEXT_EVENTS or not _field(events[-1], "is_final"):
        raise WrongAnswer(f"unexpected event stream: {events!r}"[:300])
    _field(events[-1], "context")  # touch the result like a caller would


def _listed(seen: int, args: Any, meter: Meter, probe: MemoryProbe | None) -> dict[str, Any]:
    if seen != args.count:
        raise WrongAnswer(f"listed {seen} users, expected {args.count}")
    return {
        "ops": seen,
        "requests": pages_for(seen, args.page_size),
        **meter.figures(),
        **(probe.figures() if probe is not None else {}),
    }


def run_sync(calls: SyncCalls, args: Any) -> dict[str, Any]:
    """Run ``args.workload`` through a blocking client (from ``args.threads`` threads for get_conc)."""
    name, count = args.workload, args.count
    if name == "stream_context":
        for _ in range(args.warmup):
            _check_stream(calls.stream_context())
        with Meter() as meter:
            for _ in range(count):
                _check_stream(calls.stream_context())
        return {"ops": count, "requests": count, **meter.figures()}

    if name in ("get_seq", "get_conc"):
        threads = args.threads if name == "get_conc" else 1

        def worker(n: int) -> None:
            for _ in range(n):
                calls.get_user()

        if threads == 1:
            worker(args.warmup)
            with Meter() as meter:
                worker(count)
        else:
            with ThreadPoolExecutor(threads, thread_name_prefix="bench") as pool:
                list(pool.map(worker, split(max(args.warmup, threads), threads)))
                with Meter() as meter:
                    list(pool.map(worker, split(count, threads)))
        return {"ops": count, "requests": count, "threads": threads, **meter.figures()}

    if name == "create":
        for i in range(args.warmup):
            calls.create_user(f"{args.id_prefix}-warm-{i}")
        with Meter() as meter:
            for i in range(count):
                calls.create_user(f"{args.id_prefix}-{i}")
        return {"ops": count, "requests": count, **meter.figures()}

    if name in ("list", "iterate"):
        calls.list_page()  # warm-up: connection, loop thread, lazy imports
        probe = MemoryProbe() if name == "iterate" else None
        seen = 0
        with Meter() as meter:
            for _ in calls.user_ids():
                seen += 1
                if probe is not None and seen % probe.SAMPLE_EVERY == 0:
                    probe.sample()
        return _listed(seen, args, meter, probe)

    raise SystemExit(f"unknown workload {name!r}")


async def run_async(calls: AsyncCalls, args: Any) -> dict[str, Any]:
    """Run ``args.workload`` through an async client (``args.concurrency`` in flight for get_conc)."""
    name, count = args.workload, args.count
    if name == "stream_context":
        for _ in range(args.warmup):
            _check_stream(await calls.stream_context())
        with Meter() as meter:
            for _ in range(count):
                _check_stream(await calls.stream_context())
        return {"ops": count, "requests": count, **meter.figures()}

    if name in ("get_seq", "get_conc"):
        in_flight = args.concurrency if name == "get_conc" else 1

        async def worker(n: int) -> None:
            for _ in range(n):
                await calls.get_user()

        # Warm-up opens every connection the measured part will use.
        await asyncio.gather(*(worker(n) for n in split(max(args.warmup, in_flight), in_flight)))
        with Meter() as meter:
            await asyncio.gather(*(worker(n) for n in split(count, in_flight)))
        return {"ops": count, "requests": count, "in_flight": in_flight, **meter.figures()}

    if name == "create":
        for i in range(args.warmup):
            await calls.create_user(f"{args.id_prefix}-warm-{i}")
        with Meter() as meter:
            for i in range(count):
                await calls.create_user(f"{args.id_prefix}-{i}")
        return {"ops": count, "requests": count, **meter.figures()}

    if name in ("list", "iterate"):
        await calls.list_page()  # warm-up: connection, lazy imports
        probe = MemoryProbe() if name == "iterate" else None
        seen = 0
        with Meter() as meter:
            async for _ in calls.user_ids():
                seen += 1
                if probe is not None and seen % probe.SAMPLE_EVERY == 0:
                    probe.sample()
        return _listed(seen, args, meter, probe)

    raise SystemExit(f"unknown workload {name!r}")
