"""Prefork workers: one blocking ``RecallrAI`` created before the fork, used by every worker.

Servers and task queues that *prefork* import the application once in a parent process
and fork the workers from it: gunicorn with ``--preload`` (or ``preload_app = True`` in its
config module), Celery's default prefork pool, ``multiprocessing`` with the ``fork`` start
method. The rule:

    A blocking ``RecallrAI`` created, and even used, before the fork is safe to use in the
    children. A child's first call starts an event-loop thread and a connection pool of its
    own; the child never touches the parent's, which goes on working.

So create the client once at module level, next to the app, and use it everywhere; no
``post_fork`` hook or ``worker_process_init`` signal is needed::

    # app.py -- gunicorn --preload --workers 4 app:application
    client = RecallrAI()          # from RECALLRAI_API_KEY, RECALLRAI_PROJECT_ID

    # tasks.py -- celery -A tasks worker --pool prefork
    client = RecallrAI()

    @celery_app.task
    def record(user_id, text): ...  # uses client

An ``AsyncRecallrAI`` is different: it belongs to the event loop of its first request. In
async workers (uvicorn, aiohttp) create it in each worker's lifespan, after the fork (see
``fastapi_app.py`` and ``aiohttp_app.py``).

This script plays both parts with ``multiprocessing``'s fork start method (POSIX only):
the parent creates the client and uses it, forks a pool of workers that each record
conversations with that same client, then waits for processing and prints the memories,
still with the same client.

Run it against the local emulator::

    python -m recallrai.emulator &          # serves http://127.0.0.1:8765, any rai_ key
    export RECALLRAI_API_KEY=rai_local RECALLRAI_PROJECT_ID=demo
    export RECALLRAI_BASE_URL=http://127.0.0.1:8765
    python examples/prefork_workers.py --workers 2 \\
        "alice=I love sushi." "bob=I live in Lisbon." "alice=I work at Acme."

Tested by ``tests/examples/test_prefork_workers.py``.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import sys
import time

from recallrai import MessageRole, RecallrAI, Session, SessionStatus
from recallrai.exceptions import RecallrAIError, UserAlreadyExistsError

SAMPLE = [
    "alice=I love sushi.",
    "bob=I live in Lisbon.",
    "carol=My favourite colour is green.",
    "alice=I work at Acme.",
    "bob=I love jazz.",
    "carol=I am allergic to peanuts.",
]

# The process-wide client. The parent sets it before forking (as an app module imported by
# `gunicorn --preload` would at import); forked workers inherit it and just use it.
client: RecallrAI | None = None


def record_conversation(job: tuple[str, str]) -> tuple[int, str]:
    """A worker's job: record what a user said and hand it over for processing."""
    assert client is not None, "set in the parent before the fork"
    user_id, text = job
    user = client.get_user(user_id, validate=False)
    session = user.create_session(metadata={"worker_pid": os.getpid()})
    session.add_message(MessageRole.USER, text)
    session.process()
    return os.getpid(), session.session_id


def wait_until_processed(session: Session) -> None:
    """Poll (bounded) until the session is no longer pending or processing."""
    deadline = time.monotonic() + 30
    while True:
        session.refresh()
        if session.status not in (SessionStatus.PENDING, SessionStatus.PROCESSING):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"session {session.session_id} was not processed in time")
        time.sleep(0.1)


def parse_job(text: str) -> tuple[str, str]:
    user_id, sep, message = text.partition("=")
    if not sep or not user_id or not message:
        raise argparse.ArgumentTypeError(f"expected USER_ID=MESSAGE, got {text!r}")
    return user_id, message


def main(argv: list[str] | None = None) -> int:
    global client
    parser = argparse.ArgumentParser(
        description="Record conversations from forked workers sharing one blocking client."
    )
    parser.add_argument("--workers", type=int, default=2, help="processes (default: 2)")
    parser.add_argument(
        "jobs",
        nargs="*",
        type=parse_job,
        metavar="USER_ID=MESSAGE",
        help="conversations to record (default: a small sample)",
    )
    args = parser.parse_args(argv)
    jobs: list[tuple[str, str]] = args.jobs or [parse_job(job) for job in SAMPLE]
    if "fork" not in multiprocessing.get_all_start_methods():
        print("error: this platform cannot fork", file=sys.stderr)
        return 2

    # Credentials and base URL from RECALLRAI_API_KEY, RECALLRAI_PROJECT_ID, RECALLRAI_BASE_URL.
    client = RecallrAI()
    with client:
        # Used before the fork: its loop thread and connection pool are running now.
        for user_id in sorted({user_id for user_id, _ in jobs}):
            with contextlib.suppress(UserAlreadyExistsError):
                client.create_user(user_id)
        print(f"parent {os.getpid()}: users ready")
        sys.stdout.flush()  # so that no forked child inherits (and repeats) buffered output

        with multiprocessing.get_context("fork").Pool(args.workers) as pool:
            done = pool.map(record_conversation, jobs, chunksize=1)
            pool.close()
            pool.join()

        # The parent's client is untouched by its children: it goes on working.
        for (user_id, text), (pid, session_id) in zip(jobs, done, strict=True):
            user = client.get_user(user_id, validate=False)
            wait_until_processed(user.get_session(session_id, validate=False))
            print(f"worker {pid}: {user_id}: {text!r} -> session {session_id}")
        for user_id in sorted({user_id for user_id, _ in jobs}):
            contents = sorted(m.content for m in client.get_user(user_id).list_memories())
            print(f"{user_id}: {'; '.join(contents)}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except RecallrAIError as error:
        print(f"error: {error.message}", file=sys.stderr)
        sys.exit(1)
