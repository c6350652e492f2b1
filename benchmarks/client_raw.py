"""The floor: the benchmark's requests sent with plain aiohttp, no SDK.

Same URLs, headers and bodies as the SDK sends, each response's status checked
and its JSON decoded; nothing more. Run by ``run.py``; prints one JSON line.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
from _common import (
    API_KEY,
    CREATE_METADATA,
    STREAM_CONTEXT_EVENTS,
    STREAM_CONTEXT_PARAMS,
    MemoryProbe,
    Meter,
    WrongAnswer,
    pages_for,
    parse_args,
    run_client,
    split,
)

MAX_PAGES = 100_000  # bound on any paging loop


class Raw:
    def __init__(self, base_url: str, project_id: str) -> None:
        self.base = base_url.rstrip("/")
        self.headers = {
            "X-Recallr-Api-Key": API_KEY,
            "X-Recallr-Project-Id": project_id,
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": "recallrai-bench-raw",
        }
        self.stream_headers = {**self.headers, "Accept": "text/event-stream"}
        del self.stream_headers["Content-Type"]
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=100),
            timeout=aiohttp.ClientTimeout(total=30),
        )

    async def get_user(self, user_id: str) -> dict[str, Any]:
        async with self.session.get(
            f"{self.base}/api/v1/users/{user_id}", headers=self.headers
        ) as response:
            body = await response.read()
            if response.status != 200:
                raise WrongAnswer(f"get_user answered {response.status}: {body[:200]!r}")
        return json.loads(body)["user"]  # type: ignore[no-any-return]

    async def create_user(self, user_id: str, metadata: dict[str, Any]) -> dict[str, Any]:
        data = json.dumps(
            {"custom_user_id": user_id, "metadata": metadata},
            separators=(",", ":"),
            ensure_ascii=False,
        ).encode()
        async with self.session.post(
            f"{self.base}/api/v1/users", data=data, headers=self.headers
        ) as response:
            body = await response.read()
            if response.status != 201:
                raise WrongAnswer(f"create_user answered {response.status}: {body[:200]!r}")
        return json.loads(body)["user"]  # type: ignore[no-any-return]

    async def list_page(self, offset: int, limit: int) -> dict[str, Any]:
        async with self.session.get(
            f"{self.base}/api/v1/users?offset={offset}&limit={limit}", headers=self.headers
        ) as response:
            body = await response.read()
            if response.status != 200:
                raise WrongAnswer(f"list_users answered {response.status}: {body[:200]!r}")
        return json.loads(body)  # type: ignore[no-any-return]

    async def create_session(self, user_id: str) -> str:
        async with self.session.post(
            f"{self.base}/api/v1/users/{user_id}/sessions",
            data=b'{"auto_process_after_seconds":600,"metadata":{}}',
            headers=self.headers,
        ) as response:
            body = await response.read()
            if response.status != 201:
                raise WrongAnswer(f"create_session answered {response.status}: {body[:200]!r}")
        return json.loads(body)["session"]["session_id"]  # type: ignore[no-any-return]

    async def stream_context(self, user_id: str, session_id: str) -> list[dict[str, Any]]:
        """One streamed context request, consumed to the end: every ``data:`` line decoded."""
        events: list[dict[str, Any]] = []
        async with self.session.get(
            f"{self.base}/api/v1/users/{user_id}/sessions/{session_id}/context",
            params=STREAM_CONTEXT_PARAMS,
            headers=self.stream_headers,
        ) as response:
            if response.status != 200:
                body = await response.read()
                raise WrongAnswer(f"stream_context answered {response.status}: {body[:200]!r}")
            async for line in response.content:  # one line at a time, as the events arrive
                if line.startswith(b"data:"):
                    events.append(json.loads(line[5:]))
        return events

    async def iterate_users(self, limit: int) -> Any:
        """Every user across pages, one page in memory at a time (the floor of a paginator)."""
        offset = 0
        for _ in range(MAX_PAGES):
            page = await self.list_page(offset, limit)
            users = page["users"]
            for user in users:
                yield user
            offset += len(users)
            if not (page["has_more"] and users):
                return


async def workload(args: Any) -> dict[str, Any]:
    raw = Raw(args.base_url, args.project_id)
    try:
        return await _workload(raw, args)
    finally:
        await raw.session.close()


async def _workload(raw: Raw, args: Any) -> dict[str, Any]:
    name, count = args.workload, args.count
    if name == "stream_context":
        uid, sid = args.user_id, args.session_id

        async def stream() -> None:
            events = await raw.stream_context(uid, sid)
            if len(events) != STREAM_CONTEXT_EVENTS or not events[-1].get("is_final"):
                raise WrongAnswer(f"unexpected event stream: {events!r}"[:300])
            events[-1]["context"]

        for _ in range(args.warmup):
            await stream()
        with Meter() as meter:
            for _ in range(count):
                await stream()
        return {"ops": count, "requests": count, **meter.figures()}

    if name == "seed":  # fill the emulator: user-000000 ... with a few requests in flight
        sem = asyncio.Semaphore(16)

        async def seed(i: int) -> None:
            async with sem:
                await raw.create_user(f"user-{i:06d}", {"i": i})

        await asyncio.gather(*(seed(i) for i in range(count)))
        # ... and one session of --user-id, for the streamed context workload.
        session_id = await raw.create_session(args.user_id)
        return {"ops": count, "requests": count + 1, "session_id": session_id}

    if name in ("get_seq", "get_conc"):
        in_flight = args.concurrency if name == "get_conc" else 1
        uid = args.user_id

        async def worker(n: int) -> None:
            for _ in range(n):
                await raw.get_user(uid)

        # Warm-up opens every connection the measured part will use.
        await asyncio.gather(*(worker(n) for n in split(max(args.warmup, in_flight), in_flight)))
        with Meter() as meter:
            await asyncio.gather(*(worker(n) for n in split(count, in_flight)))
        return {"ops": count, "requests": count, "in_flight": in_flight, **meter.figures()}

    if name == "create":
        prefix = args.id_prefix
        for i in range(args.warmup):
            await raw.create_user(f"{prefix}-warm-{i}", CREATE_METADATA)
        with Meter() as meter:
            for i in range(count):
                await raw.create_user(f"{prefix}-{i}", CREATE_METADATA)
        return {"ops": count, "requests": count, **meter.figures()}

    if name in ("list", "iterate"):
        await raw.list_page(0, args.page_size)  # warm-up: connection, code paths
        probe = MemoryProbe() if name == "iterate" else None
        seen = 0
        with Meter() as meter:
            async for user in raw.iterate_users(args.page_size):
                user["custom_user_id"]
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
    args = parse_args("raw aiohttp benchmark client (no SDK)")
    return asyncio.run(workload(args))


if __name__ == "__main__":
    run_client(main)
