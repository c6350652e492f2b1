"""The workloads through our ``AsyncRecallrAI`` (aiohttp transport). Prints one JSON line."""

from __future__ import annotations

import asyncio
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

from recallrai import AsyncRecallrAI


async def workload(args: Any) -> dict[str, Any]:
    async with AsyncRecallrAI(
        API_KEY, args.project_id, base_url=args.base_url, transport="aiohttp"
    ) as client:
        return await _workload(client, args)


async def _workload(client: AsyncRecallrAI, args: Any) -> dict[str, Any]:
    name, count = args.workload, args.count
    if name == "stream_context":
        user = await client.get_user(args.user_id, validate=False)
        session = await user.get_session(args.session_id, validate=False)

        async def stream() -> None:
            events = 0
            final = None
            async for event in session.get_context_stream(include_system_prompt=False):
                events += 1
                final = event
            if events != STREAM_CONTEXT_EVENTS or final is None or not final.is_final:
                raise WrongAnswer(f"unexpected event stream: {events} events, last {final!r}")
            final.context  # noqa: B018 - touch the result like a caller would

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
        await client.list_users(0, args.page_size)  # warm-up: connection, lazy imports
        probe = MemoryProbe() if name == "iterate" else None
        seen = 0
        with Meter() as meter:
            async for user in client.list_users(limit=args.page_size):
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
    args = parse_args("AsyncRecallrAI benchmark client")
    return asyncio.run(workload(args))


if __name__ == "__main__":
    run_client(main)
