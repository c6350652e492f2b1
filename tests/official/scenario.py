"""The OFFICIAL ``recallrai`` 0.6.6 client (blocking ``RecallrAI`` and ``AsyncRecallrAI``)
against a running emulator: a development check that our emulator speaks the
protocol the official package expects.

    python tests/official/scenario.py http://127.0.0.1:PORT [--api-key KEY] [--project-id ID]

(or ``RECALLRAI_BASE_URL``, ``RECALLRAI_API_KEY``, ``RECALLRAI_PROJECT_ID``).
``nox -s official`` runs it for you. Not collected by pytest (no ``test_``
prefix): it must run with the Python of the official package's own virtual
environment, because that package has the same import name as ours; it
imports nothing from our package, only the official one and the standard
library.

It runs five flows with each client (users; sessions, context and memory
versions; merge-conflict resolution; deleting the latest version, then the
rest of its chain; deleting a whole chain at once), each a sequence of
steps that assert what they get. A failed step is printed with its reason and
ends its flow (the next flows still run); the exit status is 1 when any step
failed, 2 when the run could not start. The emulator's fact rules
(``recallrai.emulator._memories``): user sentences ``My <thing> is <value>``
are facts about ``my <thing>``, and a second value for the same thing makes a
new memory version, or a merge conflict when the user has conflicts enabled.
Loopback addresses only.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import inspect
import ipaddress
import json
import os
import sys
import time
import traceback
import urllib.parse
import urllib.request
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

EXPECTED_VERSION = "0.6.6"
POLL_TIMEOUT = 10.0  # seconds a processing session or a resolving conflict may take
POLL_INTERVAL = 0.05
CLIENT_TIMEOUT = 10

# Filled in by _import_official(): the official package and its pieces.
recallrai: Any = None
models: Any = None
errors: Any = None


class Failure(Exception):
    """A step's assertion failed."""


def check(condition: object, message: str) -> None:
    if not condition:
        raise Failure(message)


def equal(actual: object, expected: object, what: str) -> None:
    if actual != expected:
        raise Failure(f"{what}: expected {expected!r}, got {actual!r}")


async def call(value: Any) -> Any:
    """The result of a blocking call, or of an awaitable from the async client."""
    if inspect.isawaitable(value):
        return await value
    return value


async def collect(stream: Any) -> list[Any]:
    """Every event of a context stream (an iterator or an async iterator)."""
    if hasattr(stream, "__aiter__"):
        return [event async for event in stream]
    return list(stream)


async def raises(error: type[BaseException], action: Callable[[], Any], what: str) -> Any:
    """Run *action* (maybe async); it must raise *error*, which is returned."""
    try:
        await call(action())
    except error as exc:
        return exc
    except Exception as exc:
        raise Failure(
            f"{what}: expected {error.__name__}, got {type(exc).__name__}: {exc}"
        ) from exc
    raise Failure(f"{what}: expected {error.__name__}, nothing was raised")


async def poll(
    refresh: Callable[[], Any], status: Callable[[], Any], done: set[str], what: str
) -> list[str]:
    """Call *refresh* until ``status()`` is in *done* (bounded by POLL_TIMEOUT); the
    statuses seen, in order."""
    deadline = time.monotonic() + POLL_TIMEOUT
    seen: list[str] = []
    while True:
        await call(refresh())
        value = str(getattr(status(), "value", status()))
        if not seen or seen[-1] != value:
            seen.append(value)
        if value in done:
            return seen
        if time.monotonic() > deadline:
            raise Failure(f"{what}: not {'/'.join(sorted(done))} after {POLL_TIMEOUT}s: {seen}")
        await asyncio.sleep(POLL_INTERVAL)


# ----------------------------------------------------------------------------- reporting


class Report:
    def __init__(self) -> None:
        self.passed = 0
        self.failed: list[str] = []

    def flow(self, kind: str, name: str) -> Flow:
        return Flow(self, f"{kind} {name}")


class Flow:
    """A sequence of steps; ``step(name)`` closes the previous step as passed."""

    def __init__(self, report: Report, label: str) -> None:
        self.report = report
        self.label = label
        self.current: str | None = None

    def step(self, name: str) -> None:
        self._pass_current()
        self.current = name

    def _pass_current(self) -> None:
        if self.current is not None:
            self.report.passed += 1
            print(f"PASS  {self.label}: {self.current}", flush=True)
        self.current = None

    async def run(self, body: Callable[[Flow], Awaitable[None]]) -> None:
        try:
            await body(self)
        except Exception as exc:
            name = self.current or "(setup)"
            reason = str(exc) if isinstance(exc, Failure) else f"{type(exc).__name__}: {exc}"
            self.report.failed.append(f"{self.label}: {name}")
            print(f"FAIL  {self.label}: {name}: {reason}", flush=True)
            if not isinstance(exc, Failure):
                traceback.print_exc(file=sys.stdout)
            print(f"      (rest of '{self.label}' not run)", flush=True)
            return
        self._pass_current()


# ----------------------------------------------------------------------------- helpers


async def processed_session(user: Any, messages: list[tuple[str, str]]) -> Any:
    """A new session with *messages* ((role, text) pairs), processed."""
    session = await call(user.create_session())
    for role, text in messages:
        await call(session.add_message(models.MessageRole(role), text))
    await call(session.process())
    await poll(session.refresh, lambda: session.status, {"processed"}, "session status")
    return session


async def memories_by_content(user: Any) -> dict[str, Any]:
    page = await call(user.list_memories(limit=200))
    equal(page.has_more, False, "list_memories has_more")
    return {item.content: item for item in page.items}


def system_prompt(args: argparse.Namespace, strategy: str) -> str:
    """The server's system prompt, fetched directly (to check the client prepends it)."""
    query = urllib.parse.urlencode({"recall_strategy": strategy})
    request = urllib.request.Request(
        f"{args.base_url}/api/v1/system-prompt?{query}",
        headers={"X-Recallr-Api-Key": args.api_key, "X-Recallr-Project-Id": args.project_id},
    )
    with urllib.request.urlopen(request, timeout=CLIENT_TIMEOUT) as response:
        return str(json.load(response)["system_prompt"])


# ----------------------------------------------------------------------------- flows


async def users_flow(flow: Flow, client: Any, ids: Ids) -> None:
    flow.step("create_user")
    user = await call(client.create_user(ids.user("users"), metadata={"run": ids.tag, "n": 1}))
    equal(user.user_id, ids.user("users"), "user_id")
    equal(user.metadata, {"run": ids.tag, "n": 1}, "metadata")
    check(user.created_at is not None and user.last_active_at is not None, "timestamps set")

    flow.step("get_user")
    fetched = await call(client.get_user(ids.user("users")))
    equal(fetched.user_id, user.user_id, "user_id")
    equal(fetched.metadata, user.metadata, "metadata")

    flow.step("list_users (metadata_filter)")
    page = await call(client.list_users(limit=100, metadata_filter={"run": ids.tag, "n": 1}))
    listed = [u.user_id for u in page.users]
    check(user.user_id in listed, f"{user.user_id} not in {listed}")
    check(page.total >= 1, f"total {page.total}")

    flow.step("update (metadata and rename)")
    renamed = ids.user("users-renamed")
    await call(user.update(new_metadata={"run": ids.tag, "n": 2}, new_user_id=renamed))
    equal(user.user_id, renamed, "user_id after rename")
    equal(user.metadata, {"run": ids.tag, "n": 2}, "metadata after update")
    fetched = await call(client.get_user(renamed))
    equal(fetched.metadata, {"run": ids.tag, "n": 2}, "renamed user's metadata")
    await raises(
        errors.UserNotFoundError, lambda: client.get_user(ids.user("users")), "get old user_id"
    )

    flow.step("refresh")
    await call(user.refresh())
    equal(user.user_id, renamed, "user_id after refresh")

    flow.step("delete")
    await call(user.delete())
    await raises(errors.UserNotFoundError, lambda: client.get_user(renamed), "get deleted user")


async def sessions_flow(flow: Flow, client: Any, ids: Ids, args: argparse.Namespace) -> None:
    flow.step("create_user (merge conflicts off)")
    user = await call(client.create_user(ids.user("sessions"), merge_conflict_enabled=False))
    equal(user.merge_conflict_enabled, False, "merge_conflict_enabled")

    flow.step("create_session")
    session = await call(user.create_session(metadata={"topic": "colours"}))
    equal(str(session.status.value), "pending", "new session status")
    equal(session.metadata, {"topic": "colours"}, "session metadata")

    flow.step("add_message (user and assistant)")
    await call(session.add_message(models.MessageRole.USER, "My favourite colour is blue."))
    await call(session.add_message(models.MessageRole.ASSISTANT, "Blue is a fine colour."))

    flow.step("get_messages")
    messages = await call(session.get_messages())
    equal(
        [(m.role.value, m.content) for m in messages.messages],
        [("user", "My favourite colour is blue."), ("assistant", "Blue is a fine colour.")],
        "messages",
    )
    equal((messages.total, messages.has_more), (2, False), "(total, has_more)")

    flow.step("get_session / list_sessions")
    same = await call(user.get_session(session.session_id))
    equal(same.session_id, session.session_id, "session_id")
    listed = await call(user.list_sessions(status_filter=[models.SessionStatus.PENDING]))
    equal([s.session_id for s in listed.sessions], [session.session_id], "pending sessions")

    flow.step("process, then poll refresh() until processed")
    await call(session.process())
    await poll(session.refresh, lambda: session.status, {"processed"}, "session status")
    await raises(errors.InvalidSessionStateError, session.process, "process a processed session")

    flow.step("get_context (default include_system_prompt=True)")
    prompt = system_prompt(args, "balanced")
    context = await call(session.get_context())
    equal(context.is_final, True, "is_final")
    check(context.context is not None, "context is None")
    check(
        context.context.startswith(prompt + "\n\n\n"),
        f"context does not start with the system prompt: {context.context[:120]!r}",
    )
    equal(context.context.count(prompt), 1, "system prompt occurrences")
    check("My favourite colour is blue" in context.context, f"memory not in {context.context!r}")
    equal(str(context.metadata.recall_strategy_used.value), "balanced", "recall_strategy_used")

    flow.step("get_context_stream")
    events = await collect(session.get_context_stream())
    check(len(events) >= 2, f"{len(events)} events")
    check(not any(e.is_final for e in events[:-1]), "an early event is final")
    check(all(e.status_update_message for e in events[:-1]), "progress event without a message")
    final = events[-1]
    equal(final.is_final, True, "last event is_final")
    equal(final.error_message, None, "error_message")
    equal(final.context, context.context, "streamed context (vs get_context)")

    flow.step("list_memories / get_memory (one version)")
    blue = (await memories_by_content(user)).get("My favourite colour is blue")
    check(blue is not None, "no memory 'My favourite colour is blue'")
    equal((blue.version_number, blue.total_versions), (1, 1), "(version, total_versions)")
    equal(blue.has_previous_versions, False, "has_previous_versions")
    equal(blue.previous_versions, [], "previous_versions")
    equal(blue.session_id, session.session_id, "memory session_id")
    one = await call(user.get_memory(blue.memory_id))
    equal(one.content, blue.content, "get_memory content")

    flow.step("a contradicting session makes version 2")
    second = await processed_session(user, [("user", "My favourite colour is green.")])
    memories = await memories_by_content(user)
    check("My favourite colour is blue" not in memories, "version 1 is still listed")
    green = memories.get("My favourite colour is green")
    check(green is not None, f"no memory 'My favourite colour is green' in {list(memories)}")
    equal((green.version_number, green.total_versions), (2, 2), "(version, total_versions)")
    equal(green.has_previous_versions, True, "has_previous_versions")
    equal(green.session_id, second.session_id, "version 2 session_id")
    equal(green.expired_at, None, "current version expired_at")

    flow.step("previous versions (list_memories and get_memory)")
    for item in (green, await call(user.get_memory(green.memory_id))):
        versions = item.previous_versions or []
        equal(
            [(v.memory_id, v.content) for v in versions],
            [(blue.memory_id, blue.content)],
            "previous_versions",
        )
        check(versions[0].expired_at is not None, "previous version has no expired_at")
        check(versions[0].expiration_reason, "previous version has no expiration_reason")
    old = await call(user.get_memory(blue.memory_id, include_previous_versions=False))
    equal((old.content, old.version_number), (blue.content, 1), "old version by ID")
    check(old.expired_at is not None, "old version by ID has no expired_at")

    flow.step("last-N user messages; delete user")
    last = await call(user.get_last_n_messages(2))
    equal(
        [m.content for m in last.messages],
        ["Blue is a fine colour.", "My favourite colour is green."],
        "last 2 messages",
    )
    await call(user.delete())


async def merge_conflict_flow(flow: Flow, client: Any, ids: Ids) -> None:
    status = models.MergeConflictStatus
    flow.step("create_user (merge_conflict_enabled=True)")
    user = await call(client.create_user(ids.user("conflicts"), merge_conflict_enabled=True))
    equal(user.merge_conflict_enabled, True, "merge_conflict_enabled")

    flow.step("two sessions with contradicting facts open a conflict")
    first = await processed_session(user, [("user", "My favourite city is Paris.")])
    await processed_session(user, [("user", "My favourite city is Berlin.")])
    memories = await memories_by_content(user)
    equal(list(memories), ["My favourite city is Paris"], "memories while the conflict is open")
    paris = memories["My favourite city is Paris"]
    equal(paris.merge_conflict_in_progress, True, "merge_conflict_in_progress")
    equal(paris.session_id, first.session_id, "memory session_id")

    flow.step("list_merge_conflicts")
    page = await call(user.list_merge_conflicts())
    equal((page.total, page.has_more, len(page.conflicts)), (1, False, 1), "(total, more, n)")
    listed = page.conflicts[0]
    equal(listed.status, status.PENDING, "status")
    pending = await call(user.list_merge_conflicts(status=status.PENDING))
    equal([c.conflict_id for c in pending.conflicts], [listed.conflict_id], "PENDING filter")

    flow.step("get_merge_conflict")
    conflict = await call(user.get_merge_conflict(listed.conflict_id))
    equal(conflict.status, status.PENDING, "status")
    equal(conflict.proposed_memory_content, "My favourite city is Berlin", "proposed content")
    equal(
        [(m.memory_id, m.content) for m in conflict.conflicting_memories],
        [(paris.memory_id, paris.content)],
        "conflicting memories",
    )
    check(
        all(m.reason for m in conflict.conflicting_memories), "a conflicting memory has no reason"
    )
    check(conflict.clarifying_questions, "no clarifying questions")
    equal(conflict.resolved_at, None, "resolved_at")

    flow.step("resolve (answer from the questions' options)")
    answers = []
    for question in conflict.clarifying_questions:
        wanted = [o for o in question.options if o == conflict.proposed_memory_content]
        check(wanted, f"proposed content not among the options {question.options}")
        answers.append(
            models.MergeConflictAnswer(
                question=question.question, answer=wanted[0], message="I moved to Berlin."
            )
        )
    await call(conflict.resolve(answers))
    first_status = conflict.status
    check(
        first_status in (status.IN_QUEUE, status.RESOLVING, status.RESOLVED),
        f"status after resolve: {first_status}",
    )
    print(f"      resolve answered status {first_status.value}", flush=True)

    flow.step("a second resolve while it is queued or resolved is refused")
    exc = await raises(
        errors.MergeConflictAlreadyResolvedError,
        lambda: listed.resolve(answers),  # listed still says PENDING: the server must refuse
        "second resolve",
    )
    equal(exc.http_status, 400, "http_status")

    flow.step("poll refresh() until RESOLVED")
    seen = await poll(conflict.refresh, lambda: conflict.status, {"RESOLVED"}, "conflict status")
    print(f"      refresh() saw {' -> '.join(seen)}", flush=True)
    check(conflict.resolved_at is not None, "resolved_at not set")
    again = await call(user.get_merge_conflict(conflict.conflict_id))
    equal(again.status, status.RESOLVED, "status")
    equal([m.content for m in again.new_memories or []], [answers[0].answer], "new_memories")
    resolved = await call(user.list_merge_conflicts(status=status.RESOLVED))
    equal([c.conflict_id for c in resolved.conflicts], [conflict.conflict_id], "RESOLVED filter")

    flow.step("the chosen answer became the memory's next version")
    memories = await memories_by_content(user)
    berlin = memories.get("My favourite city is Berlin")
    check(berlin is not None, f"no memory 'My favourite city is Berlin' in {list(memories)}")
    check("My favourite city is Paris" not in memories, "the old version is still listed")
    equal((berlin.version_number, berlin.total_versions), (2, 2), "(version, total_versions)")
    equal(berlin.merge_conflict_in_progress, False, "merge_conflict_in_progress")
    versions = berlin.previous_versions or []
    equal([v.memory_id for v in versions], [paris.memory_id], "previous version IDs")
    equal(versions[0].expiration_reason, "MERGE_CONFLICT", "expiration_reason")
    equal(versions[0].merge_conflict_id, conflict.conflict_id, "previous merge_conflict_id")

    flow.step("resolve after RESOLVED: already-resolved error (server and client side)")
    exc = await raises(
        errors.MergeConflictAlreadyResolvedError, lambda: listed.resolve(answers), "from server"
    )
    equal(exc.http_status, 400, "http_status")
    await raises(
        errors.MergeConflictAlreadyResolvedError, lambda: conflict.resolve(answers), "local check"
    )
    await call(user.delete())


async def drink_chain(user: Any) -> tuple[Any, Any, Any]:
    """A memory chain of three versions (and the unrelated memory "I love sushi")."""
    await processed_session(
        user,
        [
            ("user", "My favourite drink is tea."),
            ("user", "My favourite drink is coffee."),
            ("user", "My favourite drink is water. I love sushi."),
        ],
    )
    memories = await memories_by_content(user)
    equal(sorted(memories), ["I love sushi", "My favourite drink is water"], "current memories")
    v3 = memories["My favourite drink is water"]
    equal((v3.version_number, v3.total_versions), (3, 3), "(version, total_versions)")
    previous = v3.previous_versions or []
    equal(
        [(v.version_number, v.content) for v in previous],
        [(2, "My favourite drink is coffee"), (1, "My favourite drink is tea")],
        "previous_versions",
    )
    v2, v1 = previous
    return v3, v2, v1


async def memory_deletion_flow(flow: Flow, client: Any, ids: Ids) -> None:
    flow.step("create a memory chain of 3 versions (and one other memory)")
    user = await call(client.create_user(ids.user("deletion"), merge_conflict_enabled=False))
    v3, v2, v1 = await drink_chain(user)

    flow.step("delete the latest version (delete_previous_versions=False)")
    await call(user.delete_memory(v3.memory_id, delete_previous_versions=False))
    await raises(errors.RecallrAIError, lambda: user.get_memory(v3.memory_id), "get deleted v3")

    flow.step("list_memories returns the previous version as the latest")
    memories = await memories_by_content(user)
    check("My favourite drink is water" not in memories, "the deleted version is still listed")
    latest = memories.get("My favourite drink is coffee")
    check(latest is not None, f"version 2 is not listed as the latest: {sorted(memories)}")
    equal(latest.memory_id, v2.memory_id, "latest memory_id")
    equal((latest.version_number, latest.total_versions), (2, 2), "(version, total_versions)")
    equal(latest.expired_at, None, "latest expired_at")
    equal(latest.expiration_reason, None, "latest expiration_reason")
    equal([v.memory_id for v in latest.previous_versions or []], [v1.memory_id], "previous")
    one = await call(user.get_memory(v2.memory_id))
    equal((one.memory_id, one.expired_at), (v2.memory_id, None), "get_memory(v2)")

    flow.step("delete with delete_previous_versions=True removes the chain")
    await call(user.delete_memory(v2.memory_id, delete_previous_versions=True))
    memories = await memories_by_content(user)
    equal(sorted(memories), ["I love sushi"], "memories left")
    for version in (v1, v2):
        await raises(
            errors.RecallrAIError,
            lambda version=version: user.get_memory(version.memory_id),
            f"get deleted version {version.version_number}",
        )
    await call(user.delete())


async def chain_deletion_flow(flow: Flow, client: Any, ids: Ids) -> None:
    flow.step("create a memory chain of 3 versions (and one other memory)")
    user = await call(client.create_user(ids.user("chain"), merge_conflict_enabled=False))
    v3, v2, v1 = await drink_chain(user)

    flow.step("delete the latest version with delete_previous_versions=True")
    await call(user.delete_memory(v3.memory_id, delete_previous_versions=True))
    memories = await memories_by_content(user)
    equal(sorted(memories), ["I love sushi"], "memories left")
    for version in (v1, v2, v3):
        await raises(
            errors.RecallrAIError,
            lambda version=version: user.get_memory(version.memory_id),
            f"get deleted version {version.version_number}",
        )
    await call(user.delete())


# ----------------------------------------------------------------------------- main


class Ids:
    """User IDs unique to this run (so a long-running emulator can be reused)."""

    def __init__(self, kind: str) -> None:
        self.tag = uuid.uuid4().hex[:10]
        self.kind = kind

    def user(self, name: str) -> str:
        return f"official-{self.tag}-{self.kind}-{name}"


async def run_flows(report: Report, kind: str, client: Any, args: argparse.Namespace) -> None:
    ids = Ids(kind)
    await report.flow(kind, "users").run(lambda f: users_flow(f, client, ids))
    await report.flow(kind, "sessions+context+memories").run(
        lambda f: sessions_flow(f, client, ids, args)
    )
    await report.flow(kind, "merge-conflict resolve").run(
        lambda f: merge_conflict_flow(f, client, ids)
    )
    await report.flow(kind, "memory deletion").run(lambda f: memory_deletion_flow(f, client, ids))
    await report.flow(kind, "memory chain deletion").run(
        lambda f: chain_deletion_flow(f, client, ids)
    )


async def main_async(args: argparse.Namespace) -> Report:
    report = Report()
    options = {
        "api_key": args.api_key,
        "project_id": args.project_id,
        "base_url": args.base_url,
        "timeout": CLIENT_TIMEOUT,
    }
    blocking = recallrai.RecallrAI(**options)
    try:
        await run_flows(report, "sync", blocking, args)
    finally:
        blocking._http.client.close()  # 0.6.6 has no public close() on the blocking client
    async with recallrai.AsyncRecallrAI(**options) as client:
        await run_flows(report, "async", client, args)
    return report


def _import_official() -> str | None:
    """Import the official package into the globals; a reason when that is not possible."""
    global recallrai, models, errors
    # Through importlib: the name is the official package's here, not our first-party one.
    try:
        package = importlib.import_module("recallrai")
    except ImportError as exc:
        return f"cannot import the official package: {exc}"
    where = os.path.realpath(getattr(package, "__file__", "") or "")
    if not where.startswith(os.path.realpath(sys.prefix)):
        return f"imported recallrai from {where}, not from this environment ({sys.prefix})"
    version = getattr(package, "__version__", "?")
    if version != EXPECTED_VERSION:
        return f"recallrai {version} installed, expected the official {EXPECTED_VERSION}"
    models_module = importlib.import_module("recallrai.models")
    exceptions_module = importlib.import_module("recallrai.exceptions")
    recallrai, models, errors = package, models_module, exceptions_module
    return None


def _loopback(base_url: str) -> bool:
    host = urllib.parse.urlsplit(base_url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "base_url",
        nargs="?",
        default=os.environ.get("RECALLRAI_BASE_URL"),
        help="the emulator's base URL (default: $RECALLRAI_BASE_URL)",
    )
    parser.add_argument(
        "--api-key",
        default=os.environ.get("RECALLRAI_API_KEY", "rai_official_scenario"),
        help="default: $RECALLRAI_API_KEY or %(default)s",
    )
    parser.add_argument(
        "--project-id",
        default=os.environ.get("RECALLRAI_PROJECT_ID", "official-scenario"),
        help="default: $RECALLRAI_PROJECT_ID or %(default)s",
    )
    args = parser.parse_args(argv)
    if not args.base_url:
        parser.error("a base URL is required (argument or RECALLRAI_BASE_URL)")
    args.base_url = args.base_url.rstrip("/")
    if not _loopback(args.base_url):
        parser.error(f"{args.base_url}: only a loopback emulator is allowed")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    problem = _import_official()
    if problem is not None:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    print(f"official recallrai {recallrai.__version__} against {args.base_url}", flush=True)
    started = time.monotonic()
    report = asyncio.run(main_async(args))
    print(f"\n{time.monotonic() - started:.1f}s")
    for name in report.failed:
        print(f"failed: {name}")
    print(f"scenario: {report.passed} passed, {len(report.failed)} failed")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
