"""Run the official 0.6.6 README's Python examples against an emulator, with either client.

    python readme_examples.py locate
    python readme_examples.py run --readme METADATA --base-url URL --out RESULT.json [--pass P]
    python readme_examples.py report OFFICIAL_RESULT.json OURS_RESULT.json

``locate`` (run by the OFFICIAL venv's Python) prints the path of the
official distribution's ``METADATA``, whose body is the README: it is read
from there at check time and never copied into this repository. ``run``
(run by the Python of the client to try: the official venv's, or ours)
extracts the README's ```python blocks in order (indented ones inside lists
too) and executes them cumulatively in one namespace, as a reader pasting
them into one script would: later blocks use ``client``, ``user``,
``session`` from earlier ones. The only change made to a block is the
documented default base URL ``https://api.recallrai.com`` replaced by the
emulator's. Each block runs with a time limit, with stdin empty and stdout
captured; a failing block does not stop the next ones (its failure may
cascade; that is reported too). Two passes (``PASSES``): ``as-written``,
every block in order; ``user-kept``, the same without the two sections that
rename and delete the user the later examples use, so that the session,
context, message and memory examples meet real objects. Any attempt to reach a non-loopback address
is refused (an audit hook), so an example that needs the internet fails
instead of leaving the machine. ``report`` prints a table of both runs and
exits with 1 when a block that passes with the official client fails with
ours (blocks failing with the official client are reported, not counted),
or when the runs cannot be compared. ``nox -s compat`` drives all three
against a fresh emulator per run, for both passes. Standard library only.
"""

from __future__ import annotations

import argparse
import builtins
import contextlib
import io
import ipaddress
import json
import os
import re
import signal
import sys
import threading
import time
import traceback
from typing import Any

OFFICIAL_VERSION = "0.6.6"
DOCUMENTED_BASE_URL = "https://api.recallrai.com"
BLOCK_TIMEOUT = 30.0
# Runs of the README: the blocks as written, and the same without the two sections that rename
# and then delete the user every later example works with (in the README's own order, blocks
# 8-24 meet only "user not found", and the session examples never get a session).
PASSES: dict[str, frozenset[str]] = {
    "as-written": frozenset(),
    "user-kept": frozenset({"Update a User", "Delete a User"}),
}
OUTPUT_LIMIT = 4000
FENCE = re.compile(r"^(?P<indent>[ \t]*)```(?P<lang>[A-Za-z0-9_+-]*)[ \t]*$")


# --------------------------------------------------------------------------- locate


def locate() -> int:
    import importlib.metadata as metadata

    dist = metadata.distribution("recallrai")
    if dist.version != OFFICIAL_VERSION:
        print(
            f"recallrai {dist.version} is installed here, not {OFFICIAL_VERSION}", file=sys.stderr
        )
        return 2
    for file in dist.files or ():
        if file.name == "METADATA" and file.parent.name.endswith(".dist-info"):
            print(os.path.abspath(str(dist.locate_file(file))))
            return 0
    print("the recallrai distribution has no METADATA file", file=sys.stderr)
    return 2


# --------------------------------------------------------------------------- blocks


def read_readme(path: str) -> str:
    """The README: the body of a METADATA file (after its headers), checked to be 0.6.6's."""
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    headers, _, body = text.partition("\n\n")
    fields = dict(
        line.split(": ", 1) for line in headers.splitlines() if ": " in line and line[0] != " "
    )
    if fields.get("Name", "").lower() != "recallrai" or fields.get("Version") != OFFICIAL_VERSION:
        raise SystemExit(f"{path} is not recallrai {OFFICIAL_VERSION}'s METADATA")
    return body


def extract_blocks(markdown: str) -> list[tuple[str, str]]:
    """(heading, code) of the ```python blocks, in order, each dedented by its fence's indent."""
    blocks: list[tuple[str, str]] = []
    lines = markdown.splitlines()
    heading = ""
    i = 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if opening is None and lines[i].startswith("#"):
            heading = lines[i].lstrip("#").strip()
        i += 1
        if opening is None:
            continue
        indent, lang = opening["indent"], opening["lang"].lower()
        body: list[str] = []
        while i < len(lines):
            closing = FENCE.match(lines[i])
            if (
                closing is not None
                and not closing["lang"]
                and len(closing["indent"]) <= len(indent)
            ):
                break
            line = lines[i]
            body.append(line[len(indent) :] if line.startswith(indent) else line.lstrip())
            i += 1
        i += 1  # the closing fence
        if lang in ("python", "py"):
            blocks.append((heading, "\n".join(body) + "\n"))
    return blocks


def first_line(block: str) -> str:
    return next((line.strip() for line in block.splitlines() if line.strip()), "")


# --------------------------------------------------------------------------- network guard


class NetworkRefused(ConnectionRefusedError):
    pass


def is_loopback(host: object) -> bool:
    if host is None or host == "" or host == b"":
        return True  # getaddrinfo(None, ...): the local host
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str):
        return False
    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def guard_network(event: str, args: tuple[Any, ...]) -> None:
    """Audit hook: refuse every connection or name lookup that is not loopback."""
    if event == "socket.getaddrinfo":
        host = args[0]
    elif event in ("socket.connect", "socket.sendto"):
        address = args[1] if event == "socket.connect" else args[-1]
        if not isinstance(address, tuple):
            return  # AF_UNIX and friends: local by nature
        host = address[0]
    elif event == "socket.gethostbyname":
        host = args[0]
    else:
        return
    if not is_loopback(host):
        raise NetworkRefused(f"README runner: only loopback addresses may be used, not {host!r}")


# --------------------------------------------------------------------------- run


class BlockTimeout(BaseException):
    """Raised in the main thread when a block runs out of time (not an Exception: not caught)."""


def run_blocks(
    blocks: list[tuple[str, str]], base_url: str, timeout: float, skip: frozenset[str] = frozenset()
) -> list[dict[str, Any]]:
    namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": builtins}
    results: list[dict[str, Any]] = []
    use_alarm = hasattr(signal, "SIGALRM") and threading.current_thread() is threading.main_thread()
    stuck = False
    for number, (heading, block) in enumerate(blocks, start=1):
        result: dict[str, Any] = {
            "block": number,
            "heading": heading,
            "first_line": first_line(block),
        }
        results.append(result)
        if heading in skip:
            result.update(status="skipped", error=f"not run in this pass: {heading}")
            continue
        if stuck:
            result.update(status="not run", error="an earlier block did not finish")
            continue
        source = block.replace(DOCUMENTED_BASE_URL, base_url)
        try:
            code = compile(source, f"<README block {number}>", "exec")
        except SyntaxError as exc:
            result.update(status="fail", error=f"{type(exc).__name__}: {exc}")
            continue
        output = io.StringIO()
        started = time.monotonic()
        outcome: dict[str, Any] = {}
        stdin = sys.stdin
        try:
            sys.stdin = io.StringIO("")
            with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
                if use_alarm:
                    execute_with_alarm(code, namespace, timeout, outcome)
                else:
                    stuck = execute_in_thread(code, namespace, timeout, outcome)
        finally:
            sys.stdin = stdin
        result.update(outcome)
        result["seconds"] = round(time.monotonic() - started, 3)
        text = output.getvalue()
        result["output"] = text[:OUTPUT_LIMIT] + ("\n[...]" if len(text) > OUTPUT_LIMIT else "")
        result["printed_errors"] = [
            line.strip() for line in text.splitlines() if line.strip().startswith("Error")
        ][:5]
    return results


def record_failure(outcome: dict[str, Any], exc: BaseException) -> None:
    frames = traceback.format_exception(type(exc), exc, exc.__traceback__)
    outcome.update(
        status="fail",
        error=f"{type(exc).__module__}.{type(exc).__qualname__}: {exc}"[:1000],
        traceback="".join(frames)[-3000:],
    )


def execute_with_alarm(
    code: Any, namespace: dict[str, Any], timeout: float, outcome: dict[str, Any]
) -> None:
    def expire(signum: int, frame: Any) -> None:
        raise BlockTimeout

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        exec(code, namespace)
        outcome["status"] = "pass"
    except BlockTimeout:
        outcome.update(status="timeout", error=f"did not finish within {timeout:g} s")
    except BaseException as exc:  # SystemExit and KeyboardInterrupt are results too
        record_failure(outcome, exc)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def execute_in_thread(
    code: Any, namespace: dict[str, Any], timeout: float, outcome: dict[str, Any]
) -> bool:
    """Where there is no SIGALRM. True when the block is still running after *timeout*."""

    def target() -> None:
        try:
            exec(code, namespace)
            outcome["status"] = "pass"
        except BaseException as exc:
            record_failure(outcome, exc)

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        outcome.update(status="timeout", error=f"did not finish within {timeout:g} s")
        return True
    return False


def run(args: argparse.Namespace) -> int:
    if not args.base_url.startswith(("http://127.0.0.1:", "http://localhost:", "http://[::1]:")):
        print(f"refusing a non-loopback base URL: {args.base_url}", file=sys.stderr)
        return 2
    blocks = extract_blocks(read_readme(args.readme))
    import importlib.metadata as metadata

    client = metadata.version("recallrai")
    sys.addaudithook(guard_network)
    skip = PASSES[args.run_pass]
    unknown = skip - {heading for heading, _ in blocks}
    if unknown:
        print(f"no README section is called {sorted(unknown)}", file=sys.stderr)
        return 2
    results = run_blocks(blocks, args.base_url.rstrip("/"), args.timeout, skip)
    with open(args.out, "w", encoding="utf-8") as handle:
        json.dump(
            {
                "client_version": client,
                "python": sys.version.split()[0],
                "pass": args.run_pass,
                "blocks": results,
            },
            handle,
            indent=1,
        )
    passed = sum(r.get("status") == "pass" for r in results)
    print(f"recallrai {client}: {passed} of {len(results)} README blocks passed -> {args.out}")
    sys.stdout.flush()
    sys.stderr.flush()
    # Clients left open by the examples may hold threads or connections: do not wait for them.
    os._exit(0)


# --------------------------------------------------------------------------- report


def shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def cell(result: dict[str, Any]) -> str:
    status = str(result.get("status", "?"))
    return status + ("*" if status == "pass" and result.get("printed_errors") else "")


def report(official_path: str, ours_path: str) -> int:
    with open(official_path, encoding="utf-8") as handle:
        official = json.load(handle)
    with open(ours_path, encoding="utf-8") as handle:
        ours = json.load(handle)
    theirs_blocks, our_blocks = official["blocks"], ours["blocks"]
    problems: list[str] = []
    if [b["first_line"] for b in theirs_blocks] != [b["first_line"] for b in our_blocks] or [
        b.get("status") == "skipped" for b in theirs_blocks
    ] != [b.get("status") == "skipped" for b in our_blocks]:
        problems.append("the two runs did not execute the same blocks")
    if not any(b.get("status") == "pass" for b in theirs_blocks):
        problems.append(
            "no block passed with the official client: the runner or emulator is broken"
        )
    print(
        f"README of recallrai {OFFICIAL_VERSION}, pass {official.get('pass')!r}:"
        f" {len(theirs_blocks)} python blocks;"
        f" official client {official.get('client_version')}, ours {ours.get('client_version')}"
    )
    print(f"\n{'#':>3}  {'README section':<32}  {'first line':<48}  {'official':<9}  {'ours':<9}")
    print(f"{'-' * 3}  {'-' * 32}  {'-' * 48}  {'-' * 9}  {'-' * 9}")
    regressions = []
    for theirs, mine in zip(theirs_blocks, our_blocks, strict=False):
        flag = ""
        if theirs.get("status") == "pass" and mine.get("status") != "pass":
            regressions.append((theirs, mine))
            flag = "  <-- REGRESSION"
        elif theirs.get("status") == "skipped":
            flag = ""
        elif theirs.get("status") != "pass":
            flag = "  (fails with the official client: not counted)"
        print(
            f"{theirs['block']:>3}  {shorten(theirs.get('heading', ''), 32):<32}"
            f"  {shorten(theirs['first_line'], 48):<48}"
            f"  {cell(theirs):<9}  {cell(mine):<9}{flag}"
        )
    print("\n* passed, but printed an 'Error...' line (an exception the example caught)")
    failing_official = [b for b in theirs_blocks if b.get("status") not in ("pass", "skipped")]
    if failing_official:
        print("\nBlocks failing with the OFFICIAL client (excused):")
        for block in failing_official:
            print(f"  #{block['block']}: {block.get('error')}")
    if regressions:
        print(f"\n{len(regressions)} block(s) pass with the official client but FAIL with ours:")
        for _, mine in regressions:
            print(f"\n  #{mine['block']} ({mine.get('heading')}) {mine['first_line']}")
            print(f"    ours: {mine.get('status')}: {mine.get('error')}")
            tail = [ln for ln in (mine.get("traceback") or "").splitlines() if ln.strip()][-6:]
            print("".join(f"      | {ln}\n" for ln in tail), end="")
    caught = [
        (t, m)
        for t, m in zip(theirs_blocks, our_blocks, strict=False)
        if t.get("status") == "pass"
        and m.get("status") == "pass"
        and t.get("printed_errors") != m.get("printed_errors")
    ]
    if caught:
        print("\nBlocks passing with both whose printed 'Error' lines differ (information):")
        for theirs, mine in caught:
            print(f"  #{theirs['block']}: official {theirs['printed_errors'] or '-'}")
            print(f"  {' ' * len(str(theirs['block']))}   ours     {mine['printed_errors'] or '-'}")
    for problem in problems:
        print(f"\nPROBLEM: {problem}")
    if regressions or problems:
        return 1
    print("\nevery block that passes with the official client passes with ours")
    return 0


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("locate", help="print the official METADATA path (official venv)")
    runner = commands.add_parser("run", help="run the README blocks with this Python's client")
    runner.add_argument("--readme", required=True, help="the official METADATA file")
    runner.add_argument("--base-url", required=True, help="the emulator (loopback only)")
    runner.add_argument("--out", required=True, help="where to write the results (JSON)")
    runner.add_argument("--timeout", type=float, default=BLOCK_TIMEOUT, help="seconds per block")
    runner.add_argument(
        "--pass",
        dest="run_pass",
        choices=sorted(PASSES),
        default="as-written",
        help="which blocks to run (default: %(default)s)",
    )
    reporter = commands.add_parser("report", help="compare two runs; 1 on a regression")
    reporter.add_argument("official")
    reporter.add_argument("ours")
    args = parser.parse_args(argv)
    if args.command == "locate":
        return locate()
    if args.command == "run":
        return run(args)
    return report(args.official, args.ours)


if __name__ == "__main__":
    sys.exit(main())
