"""The workloads through the official ``recallrai`` 0.6.6 package from PyPI, sync or async.

Runs ONLY with the Python of the separate virtual environment that ``run.py``
creates (``benchmarks/.venv-official/``): the official package has the same
import name as ours. Standard library plus that package; prints one JSON line.
If the package cannot be imported or its client constructed, the line says
``"unavailable": true`` with the reason.

The official list call returns one page (``.users``, ``.has_more``) and has no
paginator, so "iterating every user" is the plain offset loop a caller writes.

TLS: 0.6.6 has no option for it; its httpx clients are built with httpx's defaults
(``trust_env=True``), so httpx trusts the bundle named by ``SSL_CERT_FILE``. With
``--ca-file`` this script sets that variable before constructing the client, as a
caller of 0.6.6 would in its environment, and checks that httpx honours it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import AsyncIterator, Iterator
from typing import Any

from _common import (
    API_KEY,
    CREATE_METADATA,
    Unavailable,
    parse_args,
    run_client,
    settled_rss_kb,
)
from _workloads import MAX_PAGES, AsyncCalls, SyncCalls, run_async, run_sync

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


def _trust(ca_file: str) -> None:
    """Trust ``ca_file`` the only way 0.6.6 allows: ``SSL_CERT_FILE``, read by httpx.

    Unavailable (with the reason) if this httpx does not take the CA from there.
    """
    os.environ["SSL_CERT_FILE"] = ca_file
    try:
        import httpx

        # What httpx.Client(...) and AsyncClient(...) build with their defaults.
        trusted = httpx.create_ssl_context().get_ca_certs()
    except Exception as exc:
        raise Unavailable(
            f"httpx cannot load SSL_CERT_FILE={ca_file}: {type(exc).__name__}: {exc}"
        ) from None
    if len(trusted) != 1:  # the bundle holds exactly the throwaway CA
        raise Unavailable(
            "0.6.6 has no TLS option and its httpx does not trust SSL_CERT_FILE "
            f"({len(trusted)} CAs loaded instead of the throwaway one)"
        )


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


def _sync_workload(client: Any, args: Any) -> dict[str, Any]:
    session: Any = None

    def get_session() -> Any:
        nonlocal session
        if session is None:
            # 0.6.6 fetches the user and the session (one request each) to get a Session;
            # include_system_prompt=False skips its GET /api/v1/system-prompt.
            session = client.get_user(args.user_id).get_session(args.session_id)
        return session

    def stream_context() -> list[Any]:
        nonlocal session
        if session is None:
            session = get_session()
        return list(session.get_context_stream(include_system_prompt=False))

    def stream_events() -> Iterator[Any]:
        return iter(get_session().get_context_stream(include_system_prompt=False))

    def users() -> Iterator[Any]:
        # 0.6.6 has no paginator: the plain offset loop a caller writes.
        offset = 0
        for _ in range(MAX_PAGES):
            page = client.list_users(offset=offset, limit=args.page_size)
            yield from page.users
            offset += len(page.users)
            if not (page.has_more and page.users):
                return

    def user_ids() -> Iterator[str]:
        # 0.6.6 has no paginator: the plain offset loop a caller writes.
        offset = 0
        for _ in range(MAX_PAGES):
            page = client.list_users(offset=offset, limit=args.page_size)
            for user in page.users:
                yield user.user_id
            offset += len(page.users)
            if not (page.has_more and page.users):
                return

    calls = SyncCalls(
        get_user=lambda: client.get_user(args.user_id),
        create_user=lambda uid: client.create_user(uid, metadata=CREATE_METADATA),
        stream_context=stream_context,
        list_page=lambda: client.list_users(offset=0, limit=args.page_size),
        user_ids=user_ids,
        users=users,
        stream_events=stream_events,
    )
    return run_sync(calls, args)


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
    session: Any = None

    async def get_session() -> Any:
        nonlocal session
        if session is None:
            user = await client.get_user(args.user_id)
            session = await user.get_session(args.session_id)
        return session

    async def stream_context() -> list[Any]:
        nonlocal session
        if session is None:
            session = await get_session()
        return [e async for e in session.get_context_stream(include_system_prompt=False)]

    async def stream_events() -> AsyncIterator[Any]:
        async for event in (await get_session()).get_context_stream(include_system_prompt=False):
            yield event

    async def users() -> AsyncIterator[Any]:
        offset = 0
        for _ in range(MAX_PAGES):
            page = await client.list_users(offset=offset, limit=args.page_size)
            for user in page.users:
                yield user
            offset += len(page.users)
            if not (page.has_more and page.users):
                return

    async def user_ids() -> AsyncIterator[str]:
        offset = 0
        for _ in range(MAX_PAGES):
            page = await client.list_users(offset=offset, limit=args.page_size)
            for user in page.users:
                yield user.user_id
            offset += len(page.users)
            if not (page.has_more and page.users):
                return

    calls = AsyncCalls(
        get_user=lambda: client.get_user(args.user_id),
        create_user=lambda uid: client.create_user(uid, metadata=CREATE_METADATA),
        stream_context=stream_context,
        list_page=lambda: client.list_users(offset=0, limit=args.page_size),
        user_ids=user_ids,
        users=users,
        stream_events=stream_events,
    )
    return await run_async(calls, args)


def main() -> dict[str, Any]:
    args = parse_args("official recallrai 0.6.6 benchmark client", _extra)
    recallrai = _import_official()
    if args.rss_imported_kb is not None:  # memory: the mark after importing the package
        args.rss_imported_kb = settled_rss_kb()
    if args.ca_file:
        _trust(args.ca_file)
    if args.mode == "sync":
        return _sync(recallrai, args)
    return asyncio.run(_async(recallrai, args))


if __name__ == "__main__":
    run_client(main)
