"""The floor: the benchmark's requests sent with plain aiohttp, no SDK.

Same URLs, headers and bodies as the SDK sends, each response's status checked
and its JSON decoded; nothing more. Over TLS (``--ca-file``) its connector gets an
:class:`ssl.SSLContext` trusting that CA (``ssl.create_default_context(cafile=...)``).
Run by ``run.py``; prints one JSON line.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from _common import (
    API_KEY,
    CREATE_METADATA,
    STREAM_CONTEXT_PARAMS,
    WrongAnswer,
    parse_args,
    run_client,
)
from _workloads import MAX_PAGES, AsyncCalls, run_async


class Raw:
    def __init__(self, base_url: str, project_id: str, ca_file: str | None = None) -> None:
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
            connector=aiohttp.TCPConnector(
                limit=100, ssl=ssl.create_default_context(cafile=ca_file) if ca_file else True
            ),
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

    async def stream_events(self, user_id: str, session_id: str) -> AsyncIterator[dict[str, Any]]:
        """The same request, each event handed out as it arrives (time to the first event)."""
        async with self.session.get(
            f"{self.base}/api/v1/users/{user_id}/sessions/{session_id}/context",
            params=STREAM_CONTEXT_PARAMS,
            headers=self.stream_headers,
        ) as response:
            if response.status != 200:
                body = await response.read()
                raise WrongAnswer(f"stream_context answered {response.status}: {body[:200]!r}")
            async for line in response.content:
                if line.startswith(b"data:"):
                    yield json.loads(line[5:])

    async def user_ids(self, limit: int) -> AsyncIterator[str]:
        """Every user's ID across pages, one page in memory at a time (the floor of a paginator)."""
        offset = 0
        for _ in range(MAX_PAGES):
            page = await self.list_page(offset, limit)
            users = page["users"]
            for user in users:
                yield user["custom_user_id"]
            offset += len(users)
            if not (page["has_more"] and users):
                return

    async def users(self, limit: int) -> AsyncIterator[dict[str, Any]]:
        """Every user (its decoded JSON object: the floor of a user object) across pages."""
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
    raw = Raw(args.base_url, args.project_id, args.ca_file)
    try:
        return await _workload(raw, args)
    finally:
        await raw.session.close()


async def _workload(raw: Raw, args: Any) -> dict[str, Any]:
    if args.workload == "seed":  # fill the emulator: user-000000 ... with a few requests in flight
        sem = asyncio.Semaphore(16)

        async def seed(i: int) -> None:
            async with sem:
                await raw.create_user(f"user-{i:06d}", {"i": i})

        await asyncio.gather(*(seed(i) for i in range(args.count)))
        # ... and one session of --user-id, for the streamed context workload.
        session_id = await raw.create_session(args.user_id)
        return {"ops": args.count, "requests": args.count + 1, "session_id": session_id}

    calls = AsyncCalls(
        get_user=lambda: raw.get_user(args.user_id),
        create_user=lambda uid: raw.create_user(uid, CREATE_METADATA),
        stream_context=lambda: raw.stream_context(args.user_id, args.session_id),
        list_page=lambda: raw.list_page(0, args.page_size),
        user_ids=lambda: raw.user_ids(args.page_size),
        users=lambda: raw.users(args.page_size),
        stream_events=lambda: raw.stream_events(args.user_id, args.session_id),
    )
    return await run_async(calls, args)


def main() -> dict[str, Any]:
    args = parse_args("raw aiohttp benchmark client (no SDK)")
    return asyncio.run(workload(args))


if __name__ == "__main__":
    run_client(main)
