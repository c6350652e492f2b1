"""The workloads through our blocking facade ``RecallrAI``, from 1 or N threads sharing one client.

Prints one JSON line. CPU time covers every thread of the process, the
facade's background event-loop thread included.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from _common import (
    API_KEY,
    CREATE_METADATA,
    STREAM_CONTEXT_EVENTS,
    MemoryProbe,
    Meter,
    WrongAnswer,
    pages_for,
    parse_args,
    run_client,
    split,
)

from recallrai_sync import RecallrAI


def _workload(client: RecallrAI, args: Any) -> dict[str, Any]:
    name, count, threads = args.workload, args.count, args.threads
    if name == "stream_context":
        session = client.get_user(args.user_id, validate=False).get_session(
            args.session_id, validate=False
        )

        def stream() -> None:
            events = 0
            final = None
            for event in session.get_context_stream(include_system_prompt=False):
                events += 1
                final = event
            if events != STREAM_CONTEXT_EVENTS or final is None or not final.is_final:
                raise WrongAnswer(f"unexpected event stream: {events} events, last {final!r}")
            final.context  # noqa: B018 - touch the result like a caller would

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
        client.list_users(0, args.page_size)  # warm-up: loop thread, connection, lazy imports
        probe = MemoryProbe() if name == "iterate" else None
        seen = 0
        with Meter() as meter:
            for user in client.list_users(limit=args.page_size):
                user.user_id  # noqa: B018 - touch every item like a caller would
                seen += 1
                if probe is not None and seen % probe.SAMPLE_EVERY == 0:
                    probe.sample()
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
    args = parse_args("RecallrAI (blocking facade) benchmark client")
    with RecallrAI(API_KEY, args.project_id, base_url=args.base_url, transport="aiohttp") as client:
        return _workload(client, args)


if __name__ == "__main__":
    run_client(main)
