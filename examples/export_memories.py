"""Bulk export: every user's memories to a JSON Lines file, in constant memory.

What it shows: ``async for`` over ``list_users()`` and over each user's ``list_memories()``
walks every page, fetching the next one only when the current one is used up, so the
export holds at most one page per worker in memory however large the project is. Each
memory is written as it arrives, as one JSON line: ``{"user_id": ..., **memory.to_dict()}``
(read a line back with ``Memory.from_dict(json.loads(line))``, which ignores ``user_id``).
Up to ``--concurrency`` users are exported at once; a tqdm progress bar counts users.

The file is written to ``OUTPUT.partial`` and renamed to ``OUTPUT`` only once complete, so
an interrupted export never looks finished. Users created or deleted while it runs may be
missed or listed twice (pages are taken by offset): export a quiet project.

Each line carries the memory's previous versions; connected memories (which repeat other
memories' content) only with ``--connected``.

Run it against the local emulator (``pip install tqdm``)::

    python -m recallrai.emulator &          # serves http://127.0.0.1:8765, any rai_ key
    export RECALLRAI_API_KEY=rai_local RECALLRAI_PROJECT_ID=demo
    export RECALLRAI_BASE_URL=http://127.0.0.1:8765
    python examples/blocking_script.py --user-id alice "I live in Paris. I love sushi."
    python examples/export_memories.py --output memories.jsonl

Tested by ``tests/examples/test_export_memories.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
from typing import TextIO

from tqdm import tqdm  # type: ignore[import-untyped]

from recallrai import AsyncRecallrAI, AsyncUser
from recallrai.exceptions import RecallrAIError

USERS_PAGE_SIZE = 100  # the largest page of users
MEMORIES_PAGE_SIZE = 200  # the largest page of memories


async def export_memories(
    client: AsyncRecallrAI,
    out: TextIO,
    *,
    concurrency: int = 4,
    page_size: int = MEMORIES_PAGE_SIZE,
    connected: bool = False,
    progress: bool = True,
) -> tuple[int, int]:
    """Write every memory of every user to ``out``, one JSON line each; (users, memories)."""
    first = await client.list_users(limit=USERS_PAGE_SIZE)  # its total sizes the progress bar
    # A small queue between the user lister and the workers: never more than a few users
    # listed ahead of the export.
    queue: asyncio.Queue[AsyncUser | None] = asyncio.Queue(maxsize=concurrency)
    users = memories = 0

    async def list_users() -> None:
        async for user in first:  # this page, then the following ones
            await queue.put(user)
        for _ in range(concurrency):
            await queue.put(None)  # one "no more users" per worker

    async def export_users(bar: tqdm) -> None:
        nonlocal users, memories
        while (user := await queue.get()) is not None:
            pager = user.list_memories(limit=page_size, include_connected_memories=connected)
            async for memory in pager:
                out.write(json.dumps({"user_id": user.user_id, **memory.to_dict()}) + "\n")
                memories += 1
            users += 1
            bar.set_postfix(memories=memories, refresh=False)
            bar.update()

    with tqdm(total=first.total, unit="user", disable=not progress) as bar:
        tasks = [
            asyncio.create_task(list_users()),
            *(asyncio.create_task(export_users(bar)) for _ in range(concurrency)),
        ]
        try:
            await asyncio.gather(*tasks)
        finally:  # on failure, stop the other tasks before the client closes
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    return users, memories


async def run(args: argparse.Namespace) -> tuple[int, int]:
    partial = f"{args.output}.partial"
    # Credentials and base URL from RECALLRAI_API_KEY, RECALLRAI_PROJECT_ID, RECALLRAI_BASE_URL.
    try:
        async with AsyncRecallrAI() as client:
            with open(partial, "w", encoding="utf-8", newline="\n") as out:
                counts = await export_memories(
                    client,
                    out,
                    concurrency=args.concurrency,
                    connected=args.connected,
                    progress=not args.quiet,
                )
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(partial)  # half an export is no export
        raise
    os.replace(partial, args.output)
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Export every user's memories to JSON Lines.")
    parser.add_argument("--output", "-o", required=True, help="the .jsonl file to write")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=4,
        choices=range(1, 33),
        metavar="N",
        help="users exported at once, 1-32 (default: %(default)s)",
    )
    parser.add_argument(
        "--connected", action="store_true", help="include each memory's connected memories"
    )
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    try:
        users, memories = asyncio.run(run(args))
    except RecallrAIError as error:
        print(f"error: {error.message} (nothing written to {args.output})", file=sys.stderr)
        return 1
    print(f"Exported {memories} memories of {users} users to {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
