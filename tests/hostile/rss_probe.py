"""Run by ``test_bounds.py`` in a fresh process per call (``rss_probe.py sync httpx endless``):
one oversized behaviour with the default ``max_response_bytes``; prints the error seen and the
process's peak RSS."""

from __future__ import annotations

import asyncio
import json
import resource
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from recallrai import AsyncRecallrAI, RecallrAI
from recallrai.exceptions import RecallrAIError
from tests.hostile.servers import HostileServer

CALLS = ["endless", "endless-close", "huge-length"]
STREAMS = ["sse-no-newline"]


def options(url: str, behaviour: str, transport: str) -> dict[str, object]:
    return {
        "api_key": "rai_probe",
        "project_id": "p",
        "base_url": f"{url}/{behaviour}",
        "timeout": 5,
        "max_retries": 0,
        "transport": transport,
    }


async def run_async(url: str, transport: str, seen: list[str]) -> None:
    for behaviour in CALLS + STREAMS:
        async with AsyncRecallrAI(**options(url, behaviour, transport)) as client:  # type: ignore[arg-type]
            try:
                if behaviour in STREAMS:
                    user = await client.get_user("u", validate=False)
                    session = await user.get_session("s", validate=False)
                    async for _ in session.get_context_stream(include_system_prompt=False):
                        pass
                else:
                    await client.get_user("u")
            except RecallrAIError as error:
                seen.append(type(error).__name__)


def run_sync(url: str, transport: str, seen: list[str]) -> None:
    for behaviour in CALLS + STREAMS:
        with RecallrAI(**options(url, behaviour, transport)) as client:  # type: ignore[arg-type]
            try:
                if behaviour in STREAMS:
                    session = client.get_user("u", validate=False).get_session("s", validate=False)
                    for _ in session.get_context_stream(include_system_prompt=False):
                        pass
                else:
                    client.get_user("u")
            except RecallrAIError as error:
                seen.append(type(error).__name__)


def main(style: str, transport: str, behaviour: str) -> None:
    global CALLS, STREAMS
    CALLS = [name for name in CALLS if name == behaviour]
    STREAMS = [name for name in STREAMS if name == behaviour]
    seen: list[str] = []
    with HostileServer() as server:
        if style == "async":
            asyncio.run(run_async(server.url, transport, seen))
        else:
            run_sync(server.url, transport, seen)
    print(json.dumps({"errors": seen, "peak_rss_mb": peak_rss_kb() / 1024}))


def peak_rss_kb() -> int:
    """This process's peak RSS. On Linux ``ru_maxrss`` also counts the parent's RSS at the
    fork that started us, so read the kernel's high-water mark of our own memory instead."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


if __name__ == "__main__":
    main(*sys.argv[1:4])
