"""What every benchmark client process shares: arguments, measuring, reporting.

Standard library only: this module is also imported by ``client_official.py``,
which runs in the official package's own virtual environment, where neither
our SDK nor aiohttp is installed.

A client process runs ONE workload once and prints ONE JSON line on stdout:
``{"ok": true, "ops": ..., "requests": ..., "cpu_s": ..., "wall_s": ..., ...}``
or ``{"ok": false, "error": "..."}`` (plus ``"unavailable": true`` when the
client could not even be imported or constructed). CPU time is
``getrusage(RUSAGE_SELF)`` user+sys of this process only (all its threads,
so the sync facade's event-loop thread is included), taken around the
measured loop and nothing else.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from typing import Any

API_KEY = "rai_benchmark_key"
DEFAULT_PROJECT = "bench"

# Workload names understood by every client script. "seed" (raw client only) fills
# the emulator before a run (users, plus one session of --user-id whose ID it reports).
WORKLOADS = (
    "get_seq",
    "get_conc",
    "create",
    "list",
    "iterate",
    "seed",
    "stream_context",
    "first_event",  # time to the first event of a streamed context request
    "memory",  # RSS of an idle client, then of --count users held in a list
)

# The same metadata object for every client's create_user (non-ASCII on purpose).
CREATE_METADATA: dict[str, Any] = {
    "plan": "pro",
    "name": "José",
    "tags": ["alpha", "beta"],
    "score": 1.5,
    "active": True,
}

# The query of every streamed context request (what the SDKs send with their defaults and
# include_system_prompt=False), PROTOCOL.md §5.3.3; the raw client sends exactly this.
STREAM_CONTEXT_PARAMS: dict[str, str] = {
    "recall_strategy": "balanced",
    "min_top_k": "15",
    "max_top_k": "50",
    "memories_threshold": "0.6",
    "summaries_threshold": "0.5",
    "include_system_prompt": "false",
    "stream": "true",
    "include_metadata_ids": "false",
}
# Events in each stream: the servers send 3 progress events, then the final one.
STREAM_CONTEXT_EVENTS = 4


def parse_args(
    description: str, extra: Callable[[argparse.ArgumentParser], None] | None = None
) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--workload", required=True, choices=WORKLOADS)
    parser.add_argument("--base-url", required=True, help="server base URL (loopback only)")
    parser.add_argument("--project-id", default=DEFAULT_PROJECT)
    parser.add_argument("--count", type=int, required=True, help="requests, or users to list")
    parser.add_argument("--concurrency", type=int, default=1, help="requests in flight (async)")
    parser.add_argument("--threads", type=int, default=1, help="threads sharing one client (sync)")
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=50, help="unmeasured requests first")
    parser.add_argument("--user-id", default="user-000000", help="the user get_user fetches")
    parser.add_argument(
        "--session-id", default="session-000000", help="the session whose context is streamed"
    )
    parser.add_argument("--id-prefix", default="bench", help="prefix of created user IDs")
    parser.add_argument(
        "--ca-file", help="PEM CA bundle to trust (an https:// base URL with a throwaway CA)"
    )
    parser.add_argument(
        "--batches",
        type=int,
        default=1,
        help="measure in this many batches, each started by a 'go' line on stdin (see turns())",
    )
    if extra is not None:
        extra(parser)
    args = parser.parse_args()
    require_loopback(args.base_url)
    if min(args.count, args.concurrency, args.threads, args.page_size, args.batches) < 1:
        parser.error("--count, --concurrency, --threads, --page-size and --batches must be >= 1")
    # The memory workload's "after import" mark: every client script has imported its
    # package and client class at its top, before parsing its arguments (the official
    # script imports its package later, and takes the mark again then).
    args.rss_imported_kb = settled_rss_kb() if args.workload == "memory" else None
    return args


def require_loopback(base_url: str) -> None:
    """Benchmarks only ever talk to this machine."""
    from urllib.parse import urlsplit

    host = urlsplit(base_url).hostname or ""
    if not (host == "localhost" or host.startswith("127.") or host == "::1"):
        raise SystemExit(f"refusing non-loopback base URL {base_url!r}")


def split(count: int, workers: int) -> list[int]:
    """``count`` requests spread over ``workers`` as evenly as possible."""
    base, extra = divmod(count, workers)
    return [base + (1 if i < extra else 0) for i in range(workers) if base or i < extra]


def pages_for(users: int, page_size: int) -> int:
    """Requests a paginator makes for ``users`` users (the last page says has_more=false)."""
    return max(1, -(-users // page_size))


def current_rss_kb() -> int:
    """Resident set size now, in KiB (Linux /proc; elsewhere the high-water mark)."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            pages = int(statm.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") // 1024
    except (OSError, ValueError, IndexError):
        return maxrss_kb()


def settled_rss_kb() -> int:
    """RSS after a full garbage collection: what the objects still alive occupy, in KiB."""
    gc.collect()
    return current_rss_kb()


def maxrss_kb() -> int:
    """Peak resident set size of this process so far, in KiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak  # macOS reports bytes


class Meter:
    """CPU (this process, all threads) and wall time around a block, summed over every use."""

    cpu_s = user_s = sys_s = wall_s = 0.0

    def __enter__(self) -> Meter:
        self._r0 = resource.getrusage(resource.RUSAGE_SELF)
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, *exc_info: object) -> None:
        t1 = time.perf_counter()
        r1 = resource.getrusage(resource.RUSAGE_SELF)
        self.wall_s += t1 - self._t0
        self.user_s += r1.ru_utime - self._r0.ru_utime
        self.sys_s += r1.ru_stime - self._r0.ru_stime
        self.cpu_s = self.user_s + self.sys_s

    def figures(self) -> dict[str, float]:
        return {
            "cpu_s": self.cpu_s,
            "user_s": self.user_s,
            "sys_s": self.sys_s,
            "wall_s": self.wall_s,
        }


class MemoryProbe:
    """Peak RSS growth over a block: sampled RSS, cross-checked with the kernel's high-water mark.

    ``sample()`` is meant to be called every few hundred items; the kernel's
    ``ru_maxrss`` catches any peak between samples whenever it rises during the block.
    """

    SAMPLE_EVERY = 500

    def __init__(self) -> None:
        gc.collect()
        self.rss_before_kb = current_rss_kb()
        self._hwm_before_kb = maxrss_kb()
        self.peak_kb = self.rss_before_kb
        self.samples = 0

    def sample(self) -> None:
        rss = current_rss_kb()
        self.samples += 1
        if rss > self.peak_kb:
            self.peak_kb = rss

    def figures(self) -> dict[str, int]:
        self.sample()
        hwm_after = maxrss_kb()
        peak = max(self.peak_kb, hwm_after) if hwm_after > self._hwm_before_kb else self.peak_kb
        return {
            "rss_before_kb": self.rss_before_kb,
            "peak_rss_kb": peak,
            "rss_growth_kb": max(0, peak - self.rss_before_kb),
            "rss_samples": self.samples,
        }


TURN = "turn"  # a client's line: "my warm-up (or last batch) is done; I wait for a 'go'"


def turns(count: int, batches: int) -> Iterator[int]:
    """The sizes of the measured batches of ``count`` ops; with ``batches`` > 1, each waits its turn.

    Interleaved measuring (the harness's ``--batches``): every client process of one
    workload is started and warmed up, then the harness lets them measure one batch at a
    time, in turn, by writing ``go`` to the stdin of one and reading its ``turn`` line
    back. A drift of the machine's speed over seconds (other tenants of a virtual
    machine, frequency changes) then falls on every client alike, not on whichever ran
    during it. With one batch the client measures at once, as a standalone run.
    """
    for size in split(count, batches):
        if batches > 1:
            sys.stdout.write(TURN + "\n")
            sys.stdout.flush()
            if sys.stdin.readline().strip() != "go":
                raise SystemExit("the harness stopped the run")
        yield size


def emit(payload: dict[str, Any]) -> None:
    payload.setdefault("maxrss_kb", maxrss_kb())
    payload.setdefault("pid", os.getpid())
    sys.stdout.write(json.dumps(payload, sort_keys=True) + "\n")
    sys.stdout.flush()


def run_client(main: Callable[[], dict[str, Any]]) -> None:
    """Run ``main`` (which returns the figures) and report; any failure becomes an error line."""
    try:
        figures = main()
    except Unavailable as exc:
        emit({"ok": False, "unavailable": True, "error": str(exc)})
        sys.exit(3)
    except BaseException as exc:
        traceback.print_exc(file=sys.stderr)
        emit({"ok": False, "error": f"{type(exc).__name__}: {exc}"[:500]})
        sys.exit(1)
    emit({"ok": True, **figures})


class Unavailable(Exception):
    """The client cannot run at all here (import or constructor failed)."""


class WrongAnswer(Exception):
    """A response the benchmark did not expect (wrong status or shape)."""
