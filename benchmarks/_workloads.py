"""The measured workloads, written once for every client: each client script only
says how to make its calls (:class:`SyncCalls` or :class:`AsyncCalls`).

Standard library only, like ``_common`` (the official package's venv imports it).
Every loop is bounded by ``--count`` (and ``MAX_PAGES`` for paging loops).
"""

from __future__ import annotations

import asyncio
import math
import statistics
import time
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
    settled_rss_kb,
    split,
    turns,
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
    users: Callable[[], Iterable[object]]  # every user, as the client hands it out (memory)
    # The events of one stream as they arrive: the call that starts it is the iterator's
    # creation and first step (time to the first event).
    stream_events: Callable[[], Iterable[Any]]


@dataclass(frozen=True)
class AsyncCalls:
    """An async client's calls, as the workloads drive them."""

    get_user: Callable[[], Awaitable[object]]
    create_user: Callable[[str], Awaitable[object]]
    stream_context: Callable[[], Awaitable[Sequence[Any]]]
    list_page: Callable[[], Awaitable[object]]
    user_ids: Callable[[], AsyncIterable[str]]
    users: Callable[[], AsyncIterable[object]]
    stream_events: Callable[[], AsyncIterable[Any]]


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


def _nearest_rank(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(len(ordered) * fraction) - 1)]


def _latencies(first: Sequence[float], whole: Sequence[float], meter: Meter) -> dict[str, Any]:
    """Time to the first event and to the end of each stream: median, p90, min (ms)."""
    return {
        "ops": len(first),
        "requests": len(first),
        **meter.figures(),
        "first_event_ms": statistics.median(first) * 1000,
        "first_event_p90_ms": _nearest_rank(first, 0.9) * 1000,
        "first_event_min_ms": min(first) * 1000,
        "stream_ms": statistics.median(whole) * 1000,
    }


def _held(held: Sequence[object], idle_kb: int, args: Any, meter: Meter) -> dict[str, Any]:
    """Figures of the memory workload, taken while ``held`` is still alive."""
    held_kb = settled_rss_kb()
    if len(held) != args.count:
        raise WrongAnswer(f"listed {len(held)} users, expected {args.count}")
    return {
        "ops": len(held),
        "requests": 1 + pages_for(len(held), args.page_size),
        **meter.figures(),
        "rss_imported_kb": args.rss_imported_kb,
        "rss_idle_kb": idle_kb,
        "rss_held_kb": held_kb,
        "held_users": len(held),
    }


def run_sync(calls: SyncCalls, args: Any) -> dict[str, Any]:
    """Run ``args.workload`` through a blocking client (from ``args.threads`` threads for get_conc)."""
    name, count = args.workload, args.count
    if name == "stream_context":
        for _ in range(args.warmup):
            _check_stream(calls.stream_context())
        meter = Meter()
        for size in turns(count, args.batches):
            with meter:
                for _ in range(size):
                    _check_stream(calls.stream_context())
        return {"ops": count, "requests": count, **meter.figures()}

    if name == "first_event":

        def stream() -> tuple[float, float]:
            t0 = time.perf_counter()
            events = iter(calls.stream_events())
            first = next(events)
            t1 = time.perf_counter()
            received = [first, *events]
            t2 = time.perf_counter()
            _check_stream(received)
            return t1 - t0, t2 - t0

        for _ in range(max(1, args.warmup)):
            stream()
        with Meter() as meter:
            timings = [stream() for _ in range(count)]
        return _latencies([t[0] for t in timings], [t[1] for t in timings], meter)

    if name == "memory":
        # The client was constructed by the script; used once here, then measured idle.
        calls.get_user()
        idle_kb = settled_rss_kb()
        with Meter() as meter:
            held = list(calls.users())
        return _held(held, idle_kb, args, meter)

    if name in ("get_seq", "get_conc"):
        threads = args.threads if name == "get_conc" else 1

        def worker(n: int) -> None:
            for _ in range(n):
                calls.get_user()

        meter = Meter()
        if threads == 1:
            worker(args.warmup)
            for size in turns(count, args.batches):
                with meter:
                    worker(size)
        else:
            with ThreadPoolExecutor(threads, thread_name_prefix="bench") as pool:
                list(pool.map(worker, split(max(args.warmup, threads), threads)))
                for size in turns(count, args.batches):
                    with meter:
                        list(pool.map(worker, split(size, threads)))
        return {"ops": count, "requests": count, "threads": threads, **meter.figures()}

    if name == "create":
        for i in range(args.warmup):
            calls.create_user(f"{args.id_prefix}-warm-{i}")
        meter, created = Meter(), 0
        for size in turns(count, args.batches):
            with meter:
                for i in range(created, created + size):
                    calls.create_user(f"{args.id_prefix}-{i}")
            created += size
        return {"ops": count, "requests": count, **meter.figures()}

    if name in ("list", "iterate"):
        calls.list_page()  # warm-up: connection, loop thread, lazy imports
        probe = MemoryProbe() if name == "iterate" else None
        meter, seen, listed = Meter(), 0, None
        for size in turns(count, args.batches):  # the last batch reads to the end
            goal = seen + size if seen + size < count else None
            with meter:
                listed = iter(calls.user_ids()) if listed is None else listed
                for _ in listed:
                    seen += 1
                    if probe is not None and seen % probe.SAMPLE_EVERY == 0:
                        probe.sample()
                    if seen == goal:
                        break  # the iterator stays open for the next batch
        return _listed(seen, args, meter, probe)

    raise SystemExit(f"unknown workload {name!r}")


async def run_async(calls: AsyncCalls, args: Any) -> dict[str, Any]:
    """Run ``args.workload`` through an async client (``args.concurrency`` in flight for get_conc)."""
    name, count = args.workload, args.count
    if name == "stream_context":
        for _ in range(args.warmup):
            _check_stream(await calls.stream_context())
        meter = Meter()
        for size in turns(count, args.batches):
            with meter:
                for _ in range(size):
                    _check_stream(await calls.stream_context())
        return {"ops": count, "requests": count, **meter.figures()}

    if name == "first_event":

        async def stream() -> tuple[float, float]:
            t0 = time.perf_counter()
            events = aiter(calls.stream_events())
            first = await anext(events)
            t1 = time.perf_counter()
            received = [first, *[event async for event in events]]
            t2 = time.perf_counter()
            _check_stream(received)
            return t1 - t0, t2 - t0

        for _ in range(max(1, args.warmup)):
            await stream()
        with Meter() as meter:
            timings = [await stream() for _ in range(count)]
        return _latencies([t[0] for t in timings], [t[1] for t in timings], meter)

    if name == "memory":
        await calls.get_user()
        idle_kb = settled_rss_kb()
        with Meter() as meter:
            held = [user async for user in calls.users()]
        return _held(held, idle_kb, args, meter)

    if name in ("get_seq", "get_conc"):
        in_flight = args.concurrency if name == "get_conc" else 1

        async def worker(n: int) -> None:
            for _ in range(n):
                await calls.get_user()

        # Warm-up opens every connection the measured part will use.
        await asyncio.gather(*(worker(n) for n in split(max(args.warmup, in_flight), in_flight)))
        meter = Meter()
        for size in turns(count, args.batches):
            with meter:
                await asyncio.gather(*(worker(n) for n in split(size, in_flight)))
        return {"ops": count, "requests": count, "in_flight": in_flight, **meter.figures()}

    if name == "create":
        for i in range(args.warmup):
            await calls.create_user(f"{args.id_prefix}-warm-{i}")
        meter, created = Meter(), 0
        for size in turns(count, args.batches):
            with meter:
                for i in range(created, created + size):
                    await calls.create_user(f"{args.id_prefix}-{i}")
            created += size
        return {"ops": count, "requests": count, **meter.figures()}

    if name in ("list", "iterate"):
        await calls.list_page()  # warm-up: connection, lazy imports
        probe = MemoryProbe() if name == "iterate" else None
        meter, seen, listed = Meter(), 0, None
        for size in turns(count, args.batches):  # the last batch reads to the end
            goal = seen + size if seen + size < count else None
            with meter:
                listed = aiter(calls.user_ids()) if listed is None else listed
                async for _ in listed:
                    seen += 1
                    if probe is not None and seen % probe.SAMPLE_EVERY == 0:
                        probe.sample()
                    if seen == goal:
                        break  # the iterator stays open for the next batch
        return _listed(seen, args, meter, probe)

    raise SystemExit(f"unknown workload {name!r}")
