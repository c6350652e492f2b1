"""The workloads through our ``AsyncRecallrAI`` (aiohttp transport). Prints one JSON line.

Over TLS (``--ca-file``) the CA bundle is passed as the client's own ``verify=``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from _common import API_KEY, CREATE_METADATA, parse_args, run_client
from _workloads import AsyncCalls, run_async

from recallrai import AsyncRecallrAI, AsyncUser, Context


async def workload(args: Any) -> dict[str, Any]:
    tls: dict[str, Any] = {"verify": args.ca_file} if args.ca_file else {}
    async with AsyncRecallrAI(
        API_KEY, args.project_id, base_url=args.base_url, transport="aiohttp", **tls
    ) as client:
        user = await client.get_user(args.user_id, validate=False)
        session = await user.get_session(args.session_id, validate=False)

        async def stream_context() -> list[Context]:
            return [e async for e in session.get_context_stream(include_system_prompt=False)]

        async def user_ids() -> AsyncIterator[str]:
            async for listed in client.list_users(limit=args.page_size):
                yield listed.user_id

        def users() -> AsyncIterator[AsyncUser]:
            return aiter(client.list_users(limit=args.page_size))

        calls = AsyncCalls(
            get_user=lambda: client.get_user(args.user_id),
            create_user=lambda uid: client.create_user(uid, metadata=CREATE_METADATA),
            stream_context=stream_context,
            list_page=lambda: client.list_users(0, args.page_size),
            user_ids=user_ids,
            users=users,
            stream_events=lambda: session.get_context_stream(include_system_prompt=False),
        )
        return await run_async(calls, args)


def main() -> dict[str, Any]:
    return asyncio.run(workload(parse_args("AsyncRecallrAI benchmark client")))


if __name__ == "__main__":
    run_client(main)
