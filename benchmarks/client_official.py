"""The workloads through the official ``recallrai`` 0.6.6 package from PyPI, sync or async.

Runs ONLY with the Python of the separate virtual environment that ``run.py``
creates (``benchmarks/.venv-official/``): the official package has the same
import name as ours. Standard library plus that package; prints one JSON line.
If the package cannot be imported or its client constructed, the line says
``"unavailable": true`` with the reason.

The official list call returns one page (``.users``, ``.has_more``) and has no
paginator, so "iterating every user" is the plain offset loop a caller writes.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from _common import (
    API_KEY,
    CREATE_METADATA,
    STREAM_CONTEXT_EVENTS,
    MemoryProbe,
    Meter,
    Unavailable,
    WrongAnswer,
    pages_for,
    parse_args,
    run_client,
    split,
)

MAX_PAGES = 100_000  # bound on any paging loop
EXPECTED_VERSION = "0.6.6"


def _extra(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--mode", choices=("sync", "async"), required=True)


def _import_official() -> Any:
    try:
        import recallrai
        from recallrai import AsyncRecallrAI, RecallrAI  # noqa: F401 - the API under test
    except Exception as exc:
        raise Unavailable(f"import failed: {type(exc).__name__}: {exc}") from None
    where = getattr(recallrai, "__file__", "") or ""
    if not where.startswith(sys.prefix):
        raise Unavailable(f"imported recallrai from {where}, not from this venv ({sys.prefix})")
    version = getattr(recallrai, "__version__", "?")
    if version != EXPECTED_VERSION:
        raise Unavailable(f"recallrai {version} installed, expected {EXPECTED_VERSION}")
    return recallrai


# ----------------------------------------------------------------------------- sync


def _sync(recallrai: Any, args: Any) -> dict[str, Any]:
    try:
        client = recallrai.RecallrAI(
            api_key=API_KEY, project_id=args.project_id, base_url=args.base_url
        )
    except Exception as exc:
        raise Unavailable(f"RecallrAI(...) failed: {type(exc).__name__}: {exc}") from None
    try:
        return _sync_workload(client, args)
    finally:
        http = getattr(getattr(client, "_http", None), "client", None)
        if http is not None:  # 0.6.6 has no public close() on the blocking client
            http.close()


def _check_stream(events: int, final: Any) -> None:
    if events != STREAM_CONTEXT_EVENTS or final is None or not final.is_final:
        raise WrongAnswer(f"unexpected event stream: {events} events, last {final!r}"[:300])
    final.context  # noqa: B018 - touch the result like a caller would


def _sync_workload(client: Any, args: Any) -> dict[str, Any]:
    name, count, threads = args.workload, args.count, args.threads
    if name == "stream_context":
        # 0.6.6 fetches the user and the session (one request each) to get a Session;
        # include_system_prompt=False skips its GET /api/v1/system-prompt.
        session = client.get_user(args.user_id).get_session(args.session_id)

        def stream() -> None:
            events = 0
            final = None
            for event in session.get_context_stream(include_system_prompt=False):
                events += 1
                final = event
            _check_stream(events, final)

        for _ in range(args.warmup):
            stream()
        with Meter() as meter:
            for _ in range(count):
                stream()
        return {"ops": count, "requests": count, **meter.figures()}

    if name in ("get_seq", "get_conc"):
        uid = args.user_id

        def worker(n: int) -> None:
            for _ in range(n):
                client.get_user(uid)

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
        prefix = args.id_prefix
        for i in range(args.warmup):
            client.create_user(f"{prefix}-warm-{i}", metadata=CREATE_METADATA)
        with Meter() as meter:
            for i in range(count):
                client.create_user(f"{prefix}-{i}", metadata=CREATE_METADATA)
        return {"ops": count, "requests": count, **meter.figures()}

    if name in ("list", "iterate"):
        client.list_users(offset=0, limit=args.page_size)  # warm-up
        probe = MemoryProbe() if name == "iterate" else None
        seen = offset = 0
        with Meter() as meter:
            for _ in range(MAX_PAGES):
                page = client.list_users(offset=offset, limit=args.page_size)
                for user in page.users:
                    user.user_id  # noqa: B018 - touch every item like a caller would
                    seen += 1
                    if probe is not None and seen % probe.SAMPLE_EVERY == 0:
                        probe.sample()
                offset += len(page.users)
                if not (page.has_more and page.users):
                    break
        if seen != count:
            raise WrongAnswer(f"listed {seen} users, expected {count}")
        memory = probe.figures() if probe is not None else {}
        return {
            "ops": seen,
            "requests": pages_for(seen, args.page_size),
            **meter.figures(),
            **memory,
        }

    raise SystemExit(f"unknown workload {name!r}")


# ----------------------------------------------------------------------------- async


async def _async(recallrai: Any, args: Any) -> dict[str, Any]:
    try:
        client = recallrai.AsyncRecallrAI(
            api_key=API_KEY, project_id=args.project_id, base_url=args.base_url
        )
    except Exception as exc:
        raise Unavailable(f"AsyncRecallrAI(...) failed: {type(exc).__name__}: {exc}") from None
    try:
        return await _async_workload(client, args)
    finally:
        await client.close()


async def _async_workload(client: Any, args: Any) -> dict[str, Any]:
    name, count = args.workload, args.count
    if name == "stream_context":
        user = await client.get_user(args.user_id)
        session = await user.get_session(args.session_id)

        async def stream() -> None:
            events = 0
            final = None
            async for event in session.get_context_stream(include_system_prompt=False):
                events += 1
                final = event
            _check_stream(events, final)

        for _ in range(args.warmup):
            await stream()
        with Meter() as meter:
            for _ in range(count):
                await stream()
        return {"ops": count, "requests": count, **meter.figures()}

    if name in ("get_seq", "get_conc"):
        in_flight = args.concurrency if name == "get_conc" else 1
        uid = args.user_id

        async def worker(n: int) -> None:
            for _ in range(n):
                await client.get_user(uid)

        await asyncio.gather(*(worker(n) for n in split(max(args.warmup, in_flight), in_flight)))
        with Meter() as meter:
            await asyncio.gather(*(worker(n) for n in split(count, in_flight)))
        return {"ops": count, "requests": count, "in_flight": in_flight, **meter.figures()}

    if name == "create":
        prefix = args.id_prefix
        for i in range(args.warmup):
            await client.create_user(f"{prefix}-warm-{i}", metadata=CREATE_METADATA)
        with Meter() as meter:
            for i in range(count):
                await client.create_user(f"{prefix}-{i}", metadata=CREATE_METADATA)
        return {"ops": count, "requests": count, **meter.figures()}

    if name in ("list", "iterate"):
        await client.list_users(offset=0, limit=args.page_size)  # warm-up
        probe = MemoryProbe() if name == "iterate" else None
        seen = offset = 0
        with Meter() as meter:
            for _ in range(MAX_PAGES):
                page = await client.list_users(offset=offset, limit=args.page_size)
                for user in page.users:
                    user.user_id  # noqa: B018 - touch every item like a caller would
                    seen += 1
                    if probe is not None and seen % probe.SAMPLE_EVERY == 0:
                        probe.sample()
                offset += len(page.users)
                if not (page.has_more and page.users):
                    break
        if seen != count:
            raise WrongAnswer(f"listed {seen} users, expected {count}")
        memory = probe.figures() if probe is not None else {}
        return {
            "ops": seen,
            "requests": pages_for(seen, args.page_size),
            **meter.figures(),
            **memory,
        }

    raise SystemExit(f"unknown workload {name!r}")


def main() -> dict[str, Any]:
    args = parse_args("official recallrai 0.6.6 benchmark client", _extra)
    recallrai = _import_official()
    if args.mode == "sync":
        return _sync(recallrai, args)
    return asyncio.run(_async(recallrai, args))


if __name__ == "__main__":
    run_client(main)
