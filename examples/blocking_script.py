"""A blocking script: record a conversation, have it processed, print what was remembered.

What it shows: the blocking ``RecallrAI`` client in a plain script, no ``async`` anywhere.
It gets or creates the user, opens a session, adds the messages, asks for processing, waits
for it with a *bounded* poll (a deadline, not a ``while True``), and prints the memories
the session produced. Exit status: 0 when processed, 1 when processing failed or did not
finish in time, 2 on bad arguments.

Run it against the local emulator::

    python -m recallrai.emulator &          # serves http://127.0.0.1:8765, any rai_ key
    export RECALLRAI_API_KEY=rai_local RECALLRAI_PROJECT_ID=demo
    export RECALLRAI_BASE_URL=http://127.0.0.1:8765
    python examples/blocking_script.py --user-id alice "I live in Paris." "I love sushi."

Against the real service, set only ``RECALLRAI_API_KEY`` and ``RECALLRAI_PROJECT_ID`` (and
allow a longer ``--timeout``: processing there takes seconds to minutes).
Tested by ``tests/examples/test_blocking_script.py``.
"""

from __future__ import annotations

import argparse
import sys
import time

from recallrai import MessageRole, RecallrAI, Session, SessionStatus, User
from recallrai.exceptions import RecallrAIError, UserAlreadyExistsError

STILL_RUNNING = (SessionStatus.PENDING, SessionStatus.PROCESSING)


def get_or_create_user(client: RecallrAI, user_id: str) -> User:
    try:
        return client.create_user(user_id, metadata={"source": "blocking_script"})
    except UserAlreadyExistsError:
        return client.get_user(user_id)


def wait_until_processed(session: Session, timeout: float, interval: float = 0.2) -> bool:
    """Poll the session until processing ends or ``timeout`` seconds pass; True if processed."""
    deadline = time.monotonic() + timeout
    while True:
        session.refresh()
        if session.status not in STILL_RUNNING:
            return session.status == SessionStatus.PROCESSED
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        time.sleep(min(interval, remaining))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Record a conversation, process it and print the memories it produced."
    )
    parser.add_argument("--user-id", required=True, help="the user the messages come from")
    parser.add_argument(
        "--timeout",
        type=float,
        default=30.0,
        help="seconds to wait for processing (default: %(default)s)",
    )
    parser.add_argument("messages", nargs="+", metavar="MESSAGE", help="what the user says")
    args = parser.parse_args(argv)

    # Credentials and base URL from RECALLRAI_API_KEY, RECALLRAI_PROJECT_ID, RECALLRAI_BASE_URL.
    with RecallrAI() as client:
        user = get_or_create_user(client, args.user_id)
        session = user.create_session(metadata={"source": "blocking_script"})
        for text in args.messages:
            session.add_message(MessageRole.USER, text)
            session.add_message(MessageRole.ASSISTANT, "Noted.")
        session.process()
        print(f"Session {session.session_id}: {len(args.messages)} messages, processing...")

        if not wait_until_processed(session, args.timeout):
            print(
                f"error: session {session.session_id} is {session.status.value} "
                f"after {args.timeout:g} s",
                file=sys.stderr,
            )
            return 1
        memories = user.list_memories(session_id_filter=[session.session_id], limit=100)
        print(f"Memories of {user.user_id} from this session ({memories.total}):")
        for memory in memories:  # every page
            print(f"- {memory.content}  [{', '.join(memory.categories)}]")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except RecallrAIError as error:  # the key is never part of an SDK error message
        print(f"error: {error.message}", file=sys.stderr)
        sys.exit(1)
