"""The workloads through our blocking facade ``RecallrAI``, from 1 or N threads sharing one client.

Prints one JSON line. CPU time covers every thread of the process, the
facade's background event-loop thread included. Over TLS (``--ca-file``) the CA
bundle is passed as the client's own ``verify=``.
"""

from __future__ import annotations

from typing import Any

from _common import API_KEY, CREATE_METADATA, parse_args, run_client
from _workloads import SyncCalls, run_sync

from recallrai_sync import RecallrAI


def main() -> dict[str, Any]:
    args = parse_args("RecallrAI (blocking facade) benchmark client")
    tls: dict[str, Any] = {"verify": args.ca_file} if args.ca_file else {}
    with RecallrAI(
        API_KEY, args.project_id, base_url=args.base_url, transport="aiohttp", **tls
    ) as client:
        session = client.get_user(args.user_id, validate=False).get_session(
            args.session_id, validate=False
        )
        calls = SyncCalls(
            get_user=lambda: client.get_user(args.user_id),
            create_user=lambda uid: client.create_user(uid, metadata=CREATE_METADATA),
            stream_context=lambda: list(session.get_context_stream(include_system_prompt=False)),
            list_page=lambda: client.list_users(0, args.page_size),
            user_ids=lambda: (user.user_id for user in client.list_users(limit=args.page_size)),
            users=lambda: client.list_users(limit=args.page_size),
            stream_events=lambda: session.get_context_stream(include_system_prompt=False),
        )
        return run_sync(calls, args)


if __name__ == "__main__":
    run_client(main)
