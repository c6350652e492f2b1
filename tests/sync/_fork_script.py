"""A process that uses a blocking client, forks, and reports what parent and child saw.

Run by ``test_fork.py`` in a subprocess of its own, so that forking never touches
pytest's process: ``python _fork_script.py BASE_URL TRANSPORT HOW CHILD REPORT``,
where HOW is ``os.fork`` or ``multiprocessing`` and CHILD says what the child does
with the client it inherits:

``idle``
    nothing; it just exits.
``use``
    calls it (users, a session, context, a stream of its own left early) and tries
    to go on with the stream its parent started, which must fail cleanly.
``drop``
    deletes the client and the parent's stream, collects garbage, then exits.

The parent keeps calling from another thread while the child lives, starts a
context stream before forking (the test holds it after its first event, and
releases it when this script prints ``release-streams``), and finishes that
stream and calls again after the child exited: the child must not have touched
the parent's connections. The report (JSON) goes to the file REPORT.
"""

from __future__ import annotations

import gc
import json
import multiprocessing
import os
import sys
import threading
import time
import warnings
from typing import Any

from recallrai import RecallrAI, exceptions

API_KEY = "rai_fork_test"
PROJECT = "fork-test"
CHILD_DEADLINE = 20.0  # seconds; a child still alive then hangs, and is killed

# Python 3.12+ warns about forking a process that has threads: that is the point here.
warnings.filterwarnings("ignore", r"This process .* is multi-threaded", DeprecationWarning)


def loop_threads() -> int:
    return sum(t.name == "recallrai-event-loop" for t in threading.enumerate())


def child_main(held: dict[str, Any], action: str, report_path: str) -> None:
    """What the forked child does with ``held`` (the client and the parent's stream)."""
    report: dict[str, Any] = {"pid": os.getpid(), "threads_at_start": loop_threads()}
    if action == "use":
        client: RecallrAI = held["client"]
        report["got_parent_user"] = client.get_user("before-fork").user_id
        report["created"] = client.create_user(f"child-{os.getpid()}").user_id
        report["listed"] = client.list_users(limit=100).total
        session = client.get_user("before-fork").create_session()
        session.add_message("user", "hello from the child")
        report["context"] = session.get_context(include_system_prompt=False).is_final
        for event in session.get_context_stream(include_system_prompt=False):
            report["own_stream_first"] = event.is_final  # streams are held: leave early
            break
        report["threads_after_use"] = loop_threads()
        try:
            next(held["stream"])
        except exceptions.RecallrAIError as error:
            report["parent_stream_error"] = f"{type(error).__name__}: {error}"
        except BaseException as error:
            report["parent_stream_error"] = f"UNEXPECTED {type(error).__name__}: {error}"
    elif action == "drop":
        held.clear()  # the only references: the client and its stream are collected now
        gc.collect()
    report["done_at"] = time.monotonic()
    with open(report_path, "w", encoding="utf-8") as file:
        json.dump(report, file)


def fork_with_os(run_child: Any) -> tuple[int | None, float]:
    """Fork with ``os.fork``; the child leaves through ``sys.exit`` (atexit handlers run)."""
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            run_child()
        except BaseException:
            import traceback

            traceback.print_exc()
            code = 1
        sys.exit(code)
    deadline = time.monotonic() + CHILD_DEADLINE
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status), time.monotonic()
        time.sleep(0.01)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    return None, time.monotonic()


def fork_with_multiprocessing(run_child: Any) -> tuple[int | None, float]:
    """Fork with multiprocessing's "fork" start method (the child ends in ``os._exit``)."""
    process = multiprocessing.get_context("fork").Process(target=run_child)
    process.start()
    process.join(CHILD_DEADLINE)
    if process.is_alive():
        process.kill()
        process.join()
        return None, time.monotonic()
    return process.exitcode, time.monotonic()


def main(base_url: str, transport: str, how: str, action: str, report_path: str) -> None:
    # Everything that refers to the client lives in `held` alone, so that a child
    # clearing it really drops the client (this frame lives on in the child).
    held: dict[str, Any] = {
        "client": RecallrAI(API_KEY, PROJECT, base_url=base_url, transport=transport, timeout=15)  # type: ignore[arg-type]
    }
    session = held["client"].create_user("before-fork").create_session()
    session.add_message("user", "hello from the parent")
    held["stream"] = session.get_context_stream(include_system_prompt=False)
    del session
    first = next(held["stream"])  # the test holds streams after their first event

    stop = threading.Event()
    busy: dict[str, Any] = {"calls": 0, "errors": []}

    def keep_calling() -> None:
        while not stop.is_set():
            try:
                held["client"].get_user("before-fork")
                busy["calls"] += 1
            except Exception as error:
                busy["errors"].append(f"{type(error).__name__}: {error}")

    caller = threading.Thread(target=keep_calling)
    caller.start()
    while busy["calls"] < 3:  # calls are in flight in another thread when the process forks
        time.sleep(0.001)

    child_path = report_path + ".child"
    fork = fork_with_os if how == "os.fork" else fork_with_multiprocessing
    exit_code, reaped_at = fork(lambda: child_main(held, action, child_path))
    stop.set()
    caller.join()

    print("release-streams", flush=True)
    rest = list(held["stream"])
    after = held["client"].create_user("after-fork").user_id
    held["client"].close()

    child: dict[str, Any] = {}
    if os.path.exists(child_path):
        with open(child_path, encoding="utf-8") as file:
            child = json.load(file)
    report = {
        "child": child,
        "child_exit_code": exit_code,
        "child_exit_seconds": reaped_at - child["done_at"] if "done_at" in child else None,
        "parent_busy": busy,
        "parent_stream": [first.is_final, *(event.is_final for event in rest)],
        "parent_after": after,
        "parent_threads_after_close": loop_threads(),
    }
    with open(report_path, "w", encoding="utf-8") as file:
        json.dump(report, file)


if __name__ == "__main__":
    main(*sys.argv[1:6])
