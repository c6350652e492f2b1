"""Test helpers: a tiny raw-HTTP client for the emulator (plain aiohttp, not
the SDK, so these tests pin the wire behaviour on their own)."""

from __future__ import annotations

import asyncio
import json
import urllib.parse
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import datetime, timedelta, timezone
from typing import Any

import aiohttp
import attrs
import yarl

from recallrai.emulator import Emulator


def encode_id(value: str) -> str:
    """Percent-encode an ID as one path segment (dot-only IDs fully escaped)."""
    if value and set(value) == {"."}:
        return "%2E" * len(value)
    return urllib.parse.quote(value, safe="")


def parse_ts(value: str) -> datetime:
    """A wire timestamp, which must be in UTC."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    assert parsed.utcoffset() == timedelta(0), value
    return parsed


def query(**params: Any) -> str:
    """A query string; list values repeat the key, dicts become JSON text."""
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        values = value if isinstance(value, list) else [value]
        for item in values:
            if isinstance(item, bool):
                item = "true" if item else "false"
            elif isinstance(item, dict):
                item = json.dumps(item)
            pairs.append((key, str(item)))
    return urllib.parse.urlencode(pairs)


@attrs.frozen
class Reply:
    status: int
    content_type: str | None
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Api:
    """Sends requests with exact (already encoded) targets and auth headers."""

    def __init__(self, session: aiohttp.ClientSession, emulator: Emulator) -> None:
        self.session = session
        self.emulator = emulator

    def auth_headers(self, project_id: str | None = None) -> dict[str, str]:
        return {
            "X-Recallr-Api-Key": self.emulator.api_key,
            "X-Recallr-Project-Id": project_id or self.emulator.project_id,
            "Content-Type": "application/json",
            "Accept": "application/json",
        }

    async def request(
        self,
        method: str,
        target: str,
        *,
        json_body: object = None,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        project_id: str | None = None,
    ) -> Reply:
        """*target* is sent verbatim (path and query, already encoded)."""
        if json_body is not None:
            body = json.dumps(json_body, ensure_ascii=False, separators=(",", ":")).encode()
        sent_headers = self.auth_headers(project_id) if headers is None else dict(headers)
        url = yarl.URL(self.emulator.base_url + target, encoded=True)
        async with self.session.request(method, url, data=body, headers=sent_headers) as resp:
            data = await resp.read()
            return Reply(resp.status, resp.headers.get("Content-Type"), resp.headers, data)

    async def create_user(self, user_id: str, **fields: Any) -> dict[str, Any]:
        reply = await self.request(
            "POST", "/api/v1/users", json_body={"custom_user_id": user_id, **fields}
        )
        assert reply.status == 201, reply
        user: dict[str, Any] = reply.json()["user"]
        return user


class Clock:
    """A manual clock for an emulator of one's own."""

    def __init__(self) -> None:
        self.now = datetime(2025, 6, 15, 12, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def tick(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@asynccontextmanager
async def own_emulator(**options: Any) -> AsyncIterator[Api]:
    """A private emulator (for clocks and delays of its own) with a raw client."""
    async with Emulator(**options) as emu, aiohttp.ClientSession() as session:
        yield Api(session, emu)


async def poll(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait (boundedly) until *predicate* holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.005)
