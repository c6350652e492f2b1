"""Client benchmarks of recallrai, side by side with raw aiohttp and the official 0.6.6 package.

    python benchmarks/run.py                 # full run, 7 repetitions (what `nox -s bench` does)
    python benchmarks/run.py --quick         # tiny counts, 1 repetition (the smoke test)
    python benchmarks/run.py --no-official   # skip the official package (no network needed)

Every server and every client runs in its own process: the servers (the
emulator, and ``fixed_server.py`` with canned answers) are started once; each
(server, workload, client, repetition) is one run of a ``client_*.py`` script
that measures its own CPU time (getrusage, user+sys, all its threads) around
the workload and prints one JSON line. The client processes of a workload run
together and take turns (``run_in_turns``): each is started and warmed up, then
they measure one batch each in turn (``--batches``, default 20), so that the
machine's drift falls on all of them alike. This script collects those lines, takes
medians over the repetitions, divides every SDK figure by raw aiohttp's figure
for the same server and workload from the same run, and writes
``results/latest.md``, ``results/latest.json`` and ``results/latest.png``.

The official package has the same import name as ours, so it is installed
(once, then reused) into ``benchmarks/.venv-official/`` and only ever run by
that environment's Python. If that fails, its rows read "unavailable: <reason>".

Three more sections (issue 14, "New rows"):

* **TLS** (server ``tls``): ``fixed_server.py`` again, behind TLS on loopback, with a
  throwaway CA made for the run by ``trustme`` (its certificate in the run's temporary
  directory). Each client trusts it its own way: raw aiohttp gets an
  ``ssl.SSLContext`` loaded with it, ours ``verify=<CA path>``, the official 0.6.6
  (no TLS option) ``SSL_CERT_FILE``, which its httpx clients honour. get_user
  sequential and concurrent; CPU ratios are to raw aiohttp over TLS. The server counts
  accepted connections and completed handshakes (``fixed_server.py``); the harness
  reads the counters before and after each client process, so every run reports its
  own handshakes: one per pooled connection (at most the requests in flight, however
  many requests) shows the connections are reused. Without ``trustme`` these rows
  read "unavailable".
* **Memory** (workload ``memory``, fixed server): each client process measures its
  RSS after a full garbage collection at three points: once its package and client
  class are imported, once a client is constructed and has made one get_user (idle),
  and once ``--count`` users listed through it are held in a list. A baseline process
  of the same Python that imported only the harness's standard-library modules
  (``_common``, ``_workloads``) is measured too; the *idle client* figure is the
  client process's idle RSS minus that baseline, so it includes the package's
  imports, the lazy ones the first call loads, the client, its pool and loop thread
  and one open connection: what having a client of that style costs a process. The
  growth per 1,000 users held is (held - idle) / (users / 1,000).
* **Latency** (workload ``first_event``, fixed server): wall time from starting a
  streamed context request to receiving its first event, median (and p90) over the
  streams of a run, then median over repetitions.

Loopback only; every subprocess has a timeout and the whole run a time budget.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import importlib.metadata
import json
import os
import platform
import queue
import select
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import _report
from _common import TURN
from _official_venv import OFFICIAL_SPEC, OFFICIAL_VENV, OFFICIAL_VERSION, prepare_official
from _official_venv import shown as _shown

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PAGE_SIZE = 100
EMULATOR_LIST_PROJECT = "bench-list"  # seeded with the list workload's users before the runs
EMULATOR_CREATE_PROJECT = "bench-create"


# ----------------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class Workload:
    key: str
    title: str
    unit: str  # what one "op" is: a request, or a listed user
    count: int
    quick_count: int
    servers: tuple[str, ...] = ("fixed", "emulator")
    pending: str = ""  # non-empty: a hook, not run yet
    section: str = ""  # non-empty: reported in that section, not in the per-server tables
    # Its clients take turns measuring batches (``--batches``); latency and memory runs,
    # which are not CPU ratios, run one client process at a time.
    interleaved: bool = True


ALL_SERVERS = ("fixed", "emulator", "tls")
# The servers whose rows the targets are taken on (TLS rows have no target).
TARGET_SERVERS = ("fixed", "emulator")

WORKLOADS: tuple[Workload, ...] = (
    Workload("get_seq", "get_user, sequential", "request", 2_000, 20, ALL_SERVERS),
    Workload(
        "get_conc",
        "get_user, 64 in flight (async) / 8 threads (sync)",
        "request",
        4_000,
        128,
        ALL_SERVERS,
    ),
    Workload("create", "create_user with metadata", "request", 1_000, 20),
    Workload("list", "list 10,000 users through the paginator", "user", 10_000, 250),
    Workload("iterate", "iterate 100,000 users (peak memory)", "user", 100_000, 1_000, ("fixed",)),
    # Each op: one streamed context request (3 progress events + the final one, PROTOCOL.md
    # §5.3.3), consumed to the end. The emulator's session is created by the seed step.
    Workload("stream_context", "streamed context request (SSE)", "request", 500, 5),
    # Each op: one streamed context request, timed from its start to its first event.
    Workload(
        "first_event",
        "time to the first streamed context event",
        "request",
        500,
        10,
        ("fixed",),
        section="latency",
        interleaved=False,
    ),
    # RSS of an idle client, then of this many users held in a list.
    Workload(
        "memory",
        "idle client, then 10,000 users held in a list",
        "user",
        10_000,
        1_000,
        ("fixed",),
        section="memory",
        interleaved=False,
    ),
)

ASYNC_IN_FLIGHT = 64
SYNC_THREADS = 8


@dataclass(frozen=True)
class Client:
    key: str
    label: str
    script: str
    style: str  # "async" (in-flight concurrency) or "sync" (threads)
    official: bool = False
    extra: tuple[str, ...] = ()


CLIENTS: tuple[Client, ...] = (
    Client("raw", "raw aiohttp (floor)", "client_raw.py", "async"),
    Client("async", "recallrai AsyncRecallrAI", "client_async.py", "async"),
    Client("sync", "recallrai RecallrAI (sync facade)", "client_sync.py", "sync"),
    Client(
        "official-sync",
        f"official {OFFICIAL_VERSION} RecallrAI",
        "client_official.py",
        "sync",
        True,
        ("--mode", "sync"),
    ),
    Client(
        "official-async",
        f"official {OFFICIAL_VERSION} AsyncRecallrAI",
        "client_official.py",
        "async",
        True,
        ("--mode", "async"),
    ),
)


def row_label(client: Client, workload: str) -> str:
    if workload == "get_conc":
        if client.style == "sync":
            return f"{client.label}, {SYNC_THREADS} threads, one client"
        return f"{client.label}, {ASYNC_IN_FLIGHT} in flight"
    if client.style == "sync":
        return f"{client.label}, 1 thread"
    return client.label


@dataclass(frozen=True)
class Target:
    key: str
    title: str
    kind: str  # "cpu_ratio", "rss_growth_mb", "import"
    limit: float
    workload: str = ""
    client: str = ""


TARGETS: tuple[Target, ...] = (
    Target(
        "async_seq",
        "AsyncRecallrAI sequential get_user: client CPU/request vs raw sequential",
        "cpu_ratio",
        1.25,
        "get_seq",
        "async",
    ),
    Target(
        "async_conc",
        "AsyncRecallrAI 64 in flight: client CPU/request vs raw 64 in flight",
        "cpu_ratio",
        1.25,
        "get_conc",
        "async",
    ),
    Target(
        "sync_1",
        "RecallrAI 1 thread: client CPU/request vs raw sequential",
        "cpu_ratio",
        1.6,
        "get_seq",
        "sync",
    ),
    Target(
        "sync_8",
        "RecallrAI 8 threads, one client: client CPU/request vs raw 64 in flight",
        "cpu_ratio",
        2.5,
        "get_conc",
        "sync",
    ),
    Target(
        "iterate_async",
        "AsyncRecallrAI iterating 100,000 users: peak RSS growth",
        "rss_growth_mb",
        30.0,
        "iterate",
        "async",
    ),
    Target(
        "iterate_sync",
        "RecallrAI iterating 100,000 users: peak RSS growth",
        "rss_growth_mb",
        30.0,
        "iterate",
        "sync",
    ),
    Target("import", "`import recallrai` time vs the official package", "import", 1.0),
    # The next level (issue 14): stricter ratios, bulk reads and streams, a faster import.
    *(
        Target(
            f"next_{workload}_{client}",
            f"{title} (next level)",
            "cpu_ratio",
            limit,
            workload,
            client,
        )
        for workload, client, limit, title in (
            ("get_seq", "async", 1.1, "AsyncRecallrAI sequential get_user"),
            ("get_seq", "sync", 1.35, "RecallrAI 1 thread get_user"),
            ("get_conc", "async", 1.15, "AsyncRecallrAI 64 in flight"),
            ("get_conc", "sync", 1.6, "RecallrAI 8 threads, one client"),
            ("list", "async", 1.3, "AsyncRecallrAI listing, per user"),
            ("list", "sync", 1.4, "RecallrAI listing, per user"),
            ("iterate", "async", 1.3, "AsyncRecallrAI iterating 100,000 users, per user"),
            ("iterate", "sync", 1.5, "RecallrAI iterating 100,000 users, per user"),
            ("stream_context", "async", 1.15, "AsyncRecallrAI streamed context"),
            ("stream_context", "sync", 1.45, "RecallrAI streamed context"),
        )
    ),
    *(
        Target(
            f"next_iterate_{client}_rss",
            f"{name} iterating 100,000 users: peak RSS growth (next level)",
            "rss_growth_mb",
            5.0,
            "iterate",
            client,
        )
        for client, name in (("async", "AsyncRecallrAI"), ("sync", "RecallrAI"))
    ),
    Target(
        "import_next",
        "`import recallrai`: at most 60 ms and 0.4x the official package (next level)",
        "import_next",
        0.4,
    ),
)
IMPORT_NEXT_MS = 60.0


@dataclass
class Settings:
    quick: bool
    reps: int
    servers: tuple[str, ...]
    official: bool
    import_runs: int
    warmup: int
    job_timeout: float
    deadline: float
    out_dir: Path
    placement: Placement | None = None
    batches: int = 1

    def count(self, workload: Workload) -> int:
        return workload.quick_count if self.quick else workload.count

    def batches_of(self, workload: Workload) -> int:
        """How many turns each client of ``workload`` measures in (1: a standalone run)."""
        return self.batches if workload.interleaved else 1


# ----------------------------------------------------------------------------- processes


@dataclass(frozen=True)
class Placement:
    """Which CPUs the servers and the clients run on.

    With two or more usable CPUs, the servers get the first and every client
    process the second, so a client never competes with the server for a core
    and all of a client's threads (the sync facade's loop thread included)
    share one, as they would on a busy production host. Without it, a
    hand-off between two threads of the client process costs a cross-CPU
    wake-up, which on a virtual machine is an expensive inter-processor
    interrupt that varies from run to run.
    """

    servers: frozenset[int]
    clients: frozenset[int]

    @classmethod
    def split(cls) -> Placement | None:
        """Servers on the first usable CPU, clients on the second; None if that cannot be done."""
        try:
            usable = sorted(os.sched_getaffinity(0))
        except AttributeError:  # pragma: no cover - not Linux
            return None
        if len(usable) < 2:
            return None
        return cls(frozenset(usable[:1]), frozenset(usable[1:2]))

    def describe(self) -> str:
        return (
            f"servers pinned to CPU {','.join(map(str, sorted(self.servers)))}, "
            f"each client process to CPU {','.join(map(str, sorted(self.clients)))}"
        )


def _pinned(cpus: frozenset[int] | None) -> Callable[[], None] | None:
    """A ``preexec_fn`` that pins the child process to ``cpus``."""
    if cpus is None:
        return None
    return functools.partial(os.sched_setaffinity, 0, cpus)


def _child_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("RECALLRAI_")}


class Server:
    """A server subprocess that prints its base URL as the first stdout line."""

    def __init__(
        self, name: str, command: Sequence[str], log_dir: Path, cpus: frozenset[int] | None
    ) -> None:
        self.name = name
        self.command = list(command)
        self.cpus = cpus
        self.log_path = log_dir / f"server-{name}.log"
        self.url = ""
        self._proc: subprocess.Popen[str] | None = None

    def start(self, timeout: float = 60.0) -> str:
        with open(self.log_path, "w") as log:
            self._proc = subprocess.Popen(
                self.command,
                stdout=subprocess.PIPE,
                stderr=log,
                stdin=subprocess.DEVNULL,
                text=True,
                cwd=HERE,
                env=_child_env(),
                preexec_fn=_pinned(self.cpus),
            )
        assert self._proc.stdout is not None
        ready, _, _ = select.select([self._proc.stdout], [], [], timeout)
        line = self._proc.stdout.readline().strip() if ready else ""
        if not line.startswith(("http://", "https://")):
            self.stop()
            raise RuntimeError(
                f"{self.name} server did not print its URL within {timeout:g} s "
                f"(got {line!r}); log:\n{self.log_path.read_text()[-2000:]}"
            )
        self.url = line
        return line

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()


@dataclass
class Outcome:
    ok: bool
    figures: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    unavailable: bool = False


def run_json_process(
    command: Sequence[str], *, cwd: Path, timeout: float, cpus: frozenset[int] | None = None
) -> Outcome:
    """Run a client process (on ``cpus`` if given); its last stdout line is the JSON result."""
    try:
        proc = subprocess.run(
            list(command),
            capture_output=True,
            text=True,
            cwd=cwd,
            env=_child_env(),
            stdin=subprocess.DEVNULL,
            timeout=timeout,
            preexec_fn=_pinned(cpus),
        )
    except subprocess.TimeoutExpired:
        return Outcome(False, error=f"timed out after {timeout:g} s")
    except OSError as exc:
        return Outcome(False, error=f"cannot start: {exc}")
    return _outcome(proc.stdout.splitlines(), proc.returncode, proc.stderr)


def _outcome(stdout: Sequence[str], returncode: int, stderr: str) -> Outcome:
    """A finished client process's outcome: its last JSON line, or why there is none."""
    lines = [line for line in stdout if line.startswith("{")]
    if not lines:
        tail = (stderr.strip().splitlines() or ["no output"])[-1]
        return Outcome(False, error=f"exit {returncode}: {tail}"[:500])
    payload = json.loads(lines[-1])
    if not payload.pop("ok", False) or returncode != 0:
        return Outcome(
            False,
            error=str(payload.get("error") or f"exit {returncode}"),
            unavailable=bool(payload.get("unavailable")),
        )
    return Outcome(True, payload)


class TurnTaker:
    """A client process measuring in turns (``--batches``): it says ``turn`` when it waits.

    Its stdout is read by a thread of its own into a queue, so that every wait for a
    line has a timeout; its stderr goes to a file, read only if it fails.
    """

    def __init__(self, command: Sequence[str], cpus: frozenset[int] | None) -> None:
        self._stderr = tempfile.TemporaryFile("w+")  # noqa: SIM115 - closed by kill()
        self._proc = subprocess.Popen(
            list(command),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            bufsize=1,
            cwd=HERE,
            env=_child_env(),
            preexec_fn=_pinned(cpus),
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self._proc.stdout is not None
        with contextlib.suppress(OSError, ValueError):  # closed by kill()
            for line in self._proc.stdout:
                self._lines.put(line.strip())
        self._lines.put(None)

    def wait_turn(self, timeout: float) -> Outcome | None:
        """``None`` once the process waits for its next turn, else its final outcome."""
        stdout: list[str] = []
        until = time.monotonic() + timeout
        while True:
            try:
                line = self._lines.get(timeout=max(0.0, until - time.monotonic()))
            except queue.Empty:
                self.kill()
                return Outcome(False, error=f"timed out after {timeout:g} s")
            if line == TURN:
                return None
            if line is None:  # its stdout ended: it finished, or died
                return self._finish(stdout, timeout)
            stdout.append(line)

    def take_turn(self, timeout: float) -> Outcome | None:
        """Let it measure one batch; as :meth:`wait_turn`."""
        assert self._proc.stdin is not None
        with contextlib.suppress(OSError):  # it died: its outcome says why
            self._proc.stdin.write("go\n")
            self._proc.stdin.flush()
        return self.wait_turn(timeout)

    def _finish(self, stdout: list[str], timeout: float) -> Outcome:
        try:
            returncode = self._proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return Outcome(False, error=f"did not exit within {timeout:g} s")
        self._stderr.seek(0)
        outcome = _outcome(stdout, returncode, self._stderr.read())
        self.kill()
        return outcome

    def kill(self) -> None:
        """Stop it (if it still runs) and release its pipes and files."""
        if self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        for stream in (self._proc.stdin, self._proc.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        self._stderr.close()


def run_in_turns(
    commands: dict[str, list[str]],
    batches: int,
    settings: Settings,
    cpus: frozenset[int] | None,
    tls_server: Server | None = None,
    tls: TLSFiles | None = None,
) -> dict[str, Outcome]:
    """Run the client processes of one workload together, measuring in turns.

    Each process is started and warmed up alone (in the order given), then they
    measure one batch each in turn, the order reversed every round, until each
    has measured ``batches``; each then prints its JSON line, figures summed over
    its batches. Against the TLS server, its counters are read after every turn,
    so each process's differences are still its own: only one runs at a time.
    """
    outcomes: dict[str, Outcome] = {}
    waiting: dict[str, TurnTaker] = {}
    timeout = settings.job_timeout
    counted = tls_server is not None and tls is not None
    totals: dict[str, dict[str, int]] = {key: dict.fromkeys(TLS_COUNTERS, 0) for key in commands}
    last: dict[str, Any] = {}

    def count(key: str) -> None:
        """Add the server's counters since the last reading to ``key``'s."""
        nonlocal last
        assert tls_server is not None and tls is not None
        now = read_tls_counters(tls_server.url, tls.ca)
        for name in TLS_COUNTERS:
            totals[key][name] += now[name] - last[name]
        last = now

    def settle(key: str, outcome: Outcome | None) -> None:
        """After ``key``'s warm-up or turn: count it; keep it waiting, or take its outcome."""
        if counted:
            try:
                count(key)
            except (OSError, ValueError, KeyError) as exc:
                outcome = Outcome(False, error=f"cannot read the TLS server's counters: {exc}")
        if outcome is None:
            return
        if key in waiting:
            waiting.pop(key).kill()
        if outcome.ok and counted:
            outcome.figures.update({f"tls_{name}": totals[key][name] for name in TLS_COUNTERS})
            outcome.figures["tls_version"] = last["version"]
        outcomes[key] = outcome

    try:
        if counted:
            assert tls_server is not None and tls is not None
            try:
                last = read_tls_counters(tls_server.url, tls.ca)
            except (OSError, ValueError, KeyError) as exc:
                why = f"cannot read the TLS server's counters: {exc}"
                return {key: Outcome(False, error=why) for key in commands}
        for key, command in commands.items():
            taker = waiting[key] = TurnTaker(command, cpus)
            settle(key, taker.wait_turn(timeout))
        for turn in range(batches):
            keys = list(waiting)
            for key in keys if turn % 2 == 0 else keys[::-1]:
                settle(key, waiting[key].take_turn(timeout))
        for key in list(waiting):  # more turns than it asked for: nothing left to measure
            settle(key, Outcome(False, error=f"still waiting after {batches} turns"))
    finally:
        for taker in waiting.values():
            taker.kill()
    return outcomes


# ----------------------------------------------------------------------------- measuring

IMPORT_SNIPPET = (
    "import time; t0 = time.perf_counter(); import recallrai; t1 = time.perf_counter(); "
    "from recallrai import RecallrAI, AsyncRecallrAI; t2 = time.perf_counter(); "
    "import json; print(json.dumps({'ok': True, 'import_s': t1 - t0, 'import_clients_s': t2 - t0, "
    "'file': recallrai.__file__, 'version': getattr(recallrai, '__version__', '?')}))"
)


def measure_imports(
    pythons: dict[str, tuple[list[str], bool]],
    runs: int,
    timeout: float,
    cpus: frozenset[int] | None = None,
) -> dict[str, dict[str, Any]]:
    """`import recallrai` in fresh processes, interleaved, after one unmeasured run each."""
    samples: dict[str, list[dict[str, Any]]] = {name: [] for name in pythons}
    errors: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as cwd:  # an empty cwd: nothing local shadows the package
        for index in range(runs + 1):
            for name, (command, _) in pythons.items():
                if name in errors:
                    continue
                out = run_json_process(
                    [*command, "-c", IMPORT_SNIPPET], cwd=Path(cwd), timeout=timeout, cpus=cpus
                )
                if not out.ok:
                    errors[name] = out.error
                elif index > 0:
                    samples[name].append(out.figures)
    result: dict[str, dict[str, Any]] = {}
    for name, rows in samples.items():
        if name in errors or not rows:
            result[name] = {"error": errors.get(name, "no samples")}
            continue
        result[name] = {
            "runs": len(rows),
            "import_ms": statistics.median(r["import_s"] for r in rows) * 1000,
            "import_clients_ms": statistics.median(r["import_clients_s"] for r in rows) * 1000,
            "samples_ms": [round(r["import_s"] * 1000, 2) for r in rows],
            "version": rows[0]["version"],
            "file": rows[0]["file"],
        }
    return result


# The memory workload's baseline: a process of the same Python that imported only the
# harness's own modules (standard library), as every client script does before its package.
BASELINE_SNIPPET = (
    "import json, _common, _workloads; "
    "print(json.dumps({'ok': True, 'rss_kb': _common.settled_rss_kb()}))"
)


def measure_baselines(
    pythons: dict[str, list[str]],
    runs: int,
    timeout: float,
    cpus: frozenset[int] | None = None,
) -> dict[str, dict[str, Any]]:
    """RSS of a bare harness process (``BASELINE_SNIPPET``) per Python: median of ``runs``."""
    result: dict[str, dict[str, Any]] = {}
    for name, command in pythons.items():
        values: list[int] = []
        for _ in range(max(1, runs)):
            out = run_json_process(
                [*command, "-c", BASELINE_SNIPPET], cwd=HERE, timeout=timeout, cpus=cpus
            )
            if not out.ok:
                result[name] = {"error": out.error}
                break
            values.append(int(out.figures["rss_kb"]))
        else:
            result[name] = {"rss_kb": statistics.median(values), "samples_kb": values}
    return result


def run_client_process(
    command: Sequence[str],
    settings: Settings,
    cpus: frozenset[int] | None,
    tls_server: Server | None = None,
    tls: TLSFiles | None = None,
) -> Outcome:
    """One client process; against the TLS server, its counters are read before and after.

    The differences (``tls_connections``, ``tls_handshakes``, ``tls_resumed``,
    ``tls_requests``) are this client process's: the runs never overlap, and the
    server leaves the connections that read the counters out of them.
    """
    if tls_server is None or tls is None:
        return run_json_process(command, cwd=HERE, timeout=settings.job_timeout, cpus=cpus)
    try:
        before = read_tls_counters(tls_server.url, tls.ca)
    except (OSError, ValueError, KeyError) as exc:
        return Outcome(False, error=f"cannot read the TLS server's counters: {exc}")
    outcome = run_json_process(command, cwd=HERE, timeout=settings.job_timeout, cpus=cpus)
    if outcome.ok:
        try:
            after = read_tls_counters(tls_server.url, tls.ca)
        except (OSError, ValueError, KeyError) as exc:
            return Outcome(False, error=f"cannot read the TLS server's counters: {exc}")
        for name in TLS_COUNTERS:
            outcome.figures[f"tls_{name}"] = after[name] - before[name]
        outcome.figures["tls_version"] = after["version"]
    return outcome


def client_command(
    client: Client,
    workload: Workload,
    server: str,
    url: str,
    rep: int,
    settings: Settings,
    official: Path | None,
    session_id: str = "session-000000",
    ca_file: Path | None = None,
) -> list[str]:
    count = settings.count(workload)
    if server in ("fixed", "tls"):
        listing = workload.key in ("list", "iterate", "memory")
        project = f"bench-users-{count}" if listing else "bench"
    else:
        project = EMULATOR_CREATE_PROJECT if workload.key == "create" else EMULATOR_LIST_PROJECT
    if client.official:
        assert official is not None
        python = [str(official), "-E", "-s"]  # its own venv; nothing from ours leaks in
    else:
        python = [sys.executable]
    command = [
        *python,
        str(HERE / client.script),
        *client.extra,
        "--workload",
        workload.key,
        "--base-url",
        url,
        "--count",
        str(count),
        "--project-id",
        project,
        "--page-size",
        str(PAGE_SIZE),
        "--warmup",
        str(settings.warmup),
        "--id-prefix",
        f"{client.key}-{server}-r{rep}",
    ]
    if settings.batches_of(workload) > 1:
        command += ["--batches", str(settings.batches_of(workload))]
    if workload.key in ("stream_context", "first_event"):
        command += ["--session-id", session_id]
    if ca_file is not None:
        command += ["--ca-file", str(ca_file)]
    if workload.key == "get_conc":
        if client.style == "sync":
            command += ["--threads", str(SYNC_THREADS)]
        else:
            command += ["--concurrency", str(ASYNC_IN_FLIGHT)]
    return command


def derive(figures: dict[str, Any]) -> dict[str, float]:
    """Per-op figures of one sample."""
    ops, requests, wall = figures["ops"], figures["requests"], figures["wall_s"]
    derived = {
        "cpu_us_per_op": figures["cpu_s"] / ops * 1e6,
        "cpu_us_per_request": figures["cpu_s"] / requests * 1e6,
        "wall_s": wall,
        "requests_per_s": requests / wall if wall > 0 else 0.0,
        "ops_per_s": ops / wall if wall > 0 else 0.0,
        "peak_rss_mb": figures["maxrss_kb"] * 1024 / 1e6,
    }
    if "rss_growth_kb" in figures:
        derived["rss_growth_mb"] = figures["rss_growth_kb"] * 1024 / 1e6
    for name in ("first_event_ms", "first_event_p90_ms", "first_event_min_ms", "stream_ms"):
        if name in figures:
            derived[name] = figures[name]
    for name in (*(f"tls_{c}" for c in TLS_COUNTERS), "max_connections_needed"):
        if name in figures:
            derived[name] = figures[name]
    if "rss_idle_kb" in figures:
        kb = 1024 / 1e6  # KiB -> MB
        baseline = figures.get("rss_baseline_kb")
        derived["rss_imported_mb"] = figures["rss_imported_kb"] * kb
        derived["rss_idle_mb"] = figures["rss_idle_kb"] * kb
        derived["client_mb"] = (figures["rss_idle_kb"] - figures["rss_imported_kb"]) * kb
        if baseline:
            derived["rss_baseline_mb"] = baseline * kb
            derived["import_mb"] = (figures["rss_imported_kb"] - baseline) * kb
            derived["idle_client_mb"] = (figures["rss_idle_kb"] - baseline) * kb
        # kB (1,000 bytes) per 1,000 users held
        held_kb = (figures["rss_held_kb"] - figures["rss_idle_kb"]) * 1024 / 1000
        derived["kb_per_1000_users"] = held_kb / (figures["held_users"] / 1000)
    return derived


def summarise(samples: list[dict[str, float]]) -> dict[str, float]:
    keys = samples[0].keys()
    return {key: statistics.median(s[key] for s in samples) for key in keys}


# ----------------------------------------------------------------------------- environment


def machine_info() -> dict[str, Any]:
    cpu = platform.processor() or "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory_gb = None
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_gb = round(int(line.split()[1]) * 1024 / 1e9, 1)
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        usable = os.cpu_count() or 0

    def version(dist: str) -> str:
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            return "not installed"

    commit = ""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=10,
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=10,
        )
        commit = head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    return {
        "cpu_model": cpu,
        "cpu_count": os.cpu_count(),
        "usable_cpus": usable,
        "memory_gb": memory_gb,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "os": platform.platform(),
        "recallrai": version("recallrai"),
        "aiohttp": version("aiohttp"),
        "git_commit": commit,
        "load_average_start": [round(x, 2) for x in os.getloadavg()],
    }


# ----------------------------------------------------------------------------- the run


def parse_args(argv: Sequence[str] | None) -> Settings:
    parser = argparse.ArgumentParser(
        prog="python benchmarks/run.py", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--quick", action="store_true", help="tiny counts, 1 repetition")
    parser.add_argument("--reps", type=int, help="repetitions (median taken); default 7, quick 1")
    parser.add_argument(
        "--no-official", action="store_true", help="skip the official package (no network)"
    )
    parser.add_argument(
        "--servers",
        default=",".join(ALL_SERVERS),
        help="comma-separated: fixed, emulator, tls (the fixed server over TLS); default: all",
    )
    parser.add_argument(
        "--out-dir", type=Path, default=HERE / "results", help="where latest.* are written"
    )
    parser.add_argument(
        "--max-minutes", type=float, default=90.0, help="time budget; later runs are skipped"
    )
    parser.add_argument(
        "--batches",
        type=int,
        help="turns each client measures in, the clients of a workload taking turns "
        "(default 20, quick 2; 1: one client process after another)",
    )
    parser.add_argument(
        "--no-pin",
        action="store_true",
        help="let the OS place servers and clients (default: servers on one CPU, clients on another)",
    )
    args = parser.parse_args(argv)
    servers = tuple(s.strip() for s in args.servers.split(",") if s.strip())
    if not servers or not set(servers) <= set(ALL_SERVERS):
        parser.error("--servers takes fixed, emulator and/or tls")
    reps = args.reps if args.reps is not None else (1 if args.quick else 7)
    if not 1 <= reps <= 50:
        parser.error("--reps must be between 1 and 50")
    batches = args.batches if args.batches is not None else (2 if args.quick else 20)
    if not 1 <= batches <= 1000:
        parser.error("--batches must be between 1 and 1000")
    return Settings(
        quick=args.quick,
        reps=reps,
        servers=servers,
        official=not args.no_official,
        import_runs=2 if args.quick else 9,
        warmup=5 if args.quick else 50,
        job_timeout=120.0 if args.quick else 600.0,
        deadline=time.monotonic() + args.max_minutes * 60,
        out_dir=args.out_dir,
        placement=None if args.no_pin else Placement.split(),
        batches=batches,
    )


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class TLSFiles:
    """The run's throwaway CA and the TLS server's certificate, as PEM files."""

    ca: Path  # the CA certificate: what the clients trust
    chain: Path  # the server's certificate chain (for 127.0.0.1 and localhost)
    key: Path  # its private key


# How each client trusts the throwaway CA (reported with the TLS rows).
TLS_TRUST = {
    "raw": "aiohttp.TCPConnector(ssl=ssl.create_default_context(cafile=CA))",
    "async": "AsyncRecallrAI(..., verify=CA path)",
    "sync": "RecallrAI(..., verify=CA path)",
    "official-sync": "SSL_CERT_FILE=CA path (0.6.6 has no TLS option; its httpx reads it)",
    "official-async": "SSL_CERT_FILE=CA path (0.6.6 has no TLS option; its httpx reads it)",
}
TLS_COUNTERS = ("connections", "handshakes", "resumed", "requests")


def make_tls_files(directory: Path) -> tuple[TLSFiles | None, str]:
    """A throwaway CA and a server certificate signed by it, or ``(None, reason)``."""
    try:
        import trustme
    except ImportError:
        return None, "trustme is not installed (pip install trustme; `nox -s bench` installs it)"
    ca = trustme.CA(organization_name="recallrai benchmark throwaway CA")
    server = ca.issue_cert("127.0.0.1", "localhost")
    files = TLSFiles(directory / "ca.pem", directory / "server-chain.pem", directory / "server.key")
    ca.cert_pem.write_to_path(str(files.ca))
    server.private_key_pem.write_to_path(str(files.key))
    files.chain.write_bytes(b"".join(blob.bytes() for blob in server.cert_chain_pems))
    return files, ""


def read_tls_counters(url: str, ca: Path) -> dict[str, Any]:
    """The TLS server's counters (its own stats connections not counted), over HTTPS,
    and ``version``: the TLS version its last handshake negotiated."""
    context = ssl.create_default_context(cafile=str(ca))
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context)
    )
    with opener.open(f"{url}/_bench/tls-stats", timeout=30) as response:
        counters = json.loads(response.read())
    return {**{name: int(counters[name]) for name in TLS_COUNTERS}, "version": counters["version"]}


def connections_needed(client: Client, workload: str) -> int:
    """The most connections a client needs at once: its requests in flight."""
    if workload != "get_conc":
        return 1
    return SYNC_THREADS if client.style == "sync" else ASYNC_IN_FLIGHT


@contextlib.contextmanager
def servers_running(
    names: Sequence[str],
    log_dir: Path,
    cpus: frozenset[int] | None,
    tls: TLSFiles | None = None,
) -> Iterator[dict[str, Server]]:
    commands = {
        "fixed": [
            sys.executable,
            str(HERE / "fixed_server.py"),
            "--host",
            "127.0.0.1",
            "--port",
            "0",
        ],
        "tls": [
            sys.executable,
            str(HERE / "fixed_server.py"),
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--tls-cert",
            str(tls.chain if tls else ""),
            "--tls-key",
            str(tls.key if tls else ""),
        ],
        "emulator": [
            sys.executable,
            "-m",
            "recallrai.emulator",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
        ],
    }
    started: dict[str, Server] = {}
    try:
        for name in names:
            server = Server(name, commands[name], log_dir, cpus)
            log(f"starting the {name} server ...")
            server.start()
            started[name] = server
        yield started
    finally:
        for server in started.values():
            server.stop()


def main(argv: Sequence[str] | None = None) -> int:
    settings = parse_args(argv)
    settings.out_dir.mkdir(parents=True, exist_ok=True)
    started_at = time.time()
    info = machine_info()

    official_py: Path | None = None
    official_reason = "skipped (--no-official)"
    if settings.official:
        official_py, official_reason = prepare_official(log)
        if official_py is not None:
            official_reason = ""
        else:
            log(f"official package unavailable: {official_reason}")

    unavailable: dict[str, str] = {}
    for client in CLIENTS:
        if client.official and official_py is None:
            unavailable[client.key] = official_reason

    active = [w for w in WORKLOADS if not w.pending]
    samples: dict[tuple[str, str, str], list[dict[str, float]]] = {}
    raw_samples: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    errors: dict[tuple[str, str, str], str] = {}

    session_ids: dict[str, str] = {}  # server -> the session the stream workload reads
    placement = settings.placement
    server_cpus = placement.servers if placement else None
    client_cpus = placement.clients if placement else None
    server_unavailable: dict[str, str] = {}  # server -> why it cannot run at all
    tls_unavailable: dict[str, str] = {}  # client -> why it cannot run over TLS
    with tempfile.TemporaryDirectory(prefix="recallrai-bench-") as tmp:
        tls_files: TLSFiles | None = None
        if "tls" in settings.servers:
            tls_files, reason = make_tls_files(Path(tmp))
            if tls_files is None:
                server_unavailable["tls"] = reason
                log(f"TLS rows unavailable: {reason}")
        running = tuple(s for s in settings.servers if s not in server_unavailable)

        baselines: dict[str, dict[str, Any]] = {}
        if any(w.key == "memory" and set(w.servers) & set(running) for w in active):
            log("measuring the baseline RSS (the harness's modules only) ...")
            baseline_pythons = {"ours": [sys.executable]}
            if official_py is not None:
                baseline_pythons["official"] = [str(official_py), "-E", "-s"]
            baselines = measure_baselines(
                baseline_pythons, settings.import_runs, timeout=120.0, cpus=client_cpus
            )

        with servers_running(running, Path(tmp), server_cpus, tls_files) as servers:
            if "emulator" in servers:
                count = settings.count(next(w for w in WORKLOADS if w.key == "list"))
                log(f"seeding the emulator with {count} users ...")
                seeded = run_json_process(
                    [
                        sys.executable,
                        str(HERE / "client_raw.py"),
                        "--workload",
                        "seed",
                        "--base-url",
                        servers["emulator"].url,
                        "--count",
                        str(count),
                        "--project-id",
                        EMULATOR_LIST_PROJECT,
                    ],
                    cwd=HERE,
                    timeout=settings.job_timeout,
                    cpus=client_cpus,
                )
                if not seeded.ok:
                    raise SystemExit(f"seeding the emulator failed: {seeded.error}")
                session_ids["emulator"] = str(seeded.figures["session_id"])

            total = settings.reps * sum(
                1
                for w in active
                for s in running
                if s in w.servers
                for c in CLIENTS
                if c.key not in unavailable
            )
            done = 0
            for rep in range(settings.reps):
                for server_name in running:
                    server = servers[server_name]
                    for workload in active:
                        if server_name not in workload.servers:
                            continue
                        # Each repetition starts with a different client, so a drift of the
                        # machine's speed within a repetition favours no client in particular.
                        start = rep % len(CLIENTS)
                        commands: dict[str, list[str]] = {}
                        for client in CLIENTS[start:] + CLIENTS[:start]:
                            key = (server_name, workload.key, client.key)
                            if client.key in unavailable:
                                continue
                            if server_name == "tls" and client.key in tls_unavailable:
                                continue
                            if time.monotonic() > settings.deadline:
                                done += 1
                                errors.setdefault(key, "skipped: time budget exhausted")
                                continue
                            if not server.alive():
                                done += 1
                                errors.setdefault(key, f"the {server_name} server died")
                                continue
                            commands[client.key] = client_command(
                                client,
                                workload,
                                server_name,
                                server.url,
                                rep,
                                settings,
                                official_py,
                                session_ids.get(server_name, "session-000000"),
                                tls_files.ca if server_name == "tls" and tls_files else None,
                            )
                        t0 = time.monotonic()
                        tls_server = server if server_name == "tls" else None
                        batches = settings.batches_of(workload)
                        if batches > 1:
                            outcomes = run_in_turns(
                                commands, batches, settings, client_cpus, tls_server, tls_files
                            )
                        else:
                            outcomes = {
                                key: run_client_process(
                                    command, settings, client_cpus, tls_server, tls_files
                                )
                                for key, command in commands.items()
                            }
                        for client in CLIENTS:
                            if client.key not in outcomes:
                                continue
                            outcome = outcomes[client.key]
                            key = (server_name, workload.key, client.key)
                            done += 1
                            if outcome.ok and server_name == "tls":
                                outcome.figures["max_connections_needed"] = connections_needed(
                                    client, workload.key
                                )
                            if outcome.ok and workload.key == "memory":
                                baseline = baselines.get("official" if client.official else "ours")
                                if baseline and "rss_kb" in baseline:
                                    outcome.figures["rss_baseline_kb"] = baseline["rss_kb"]
                            log(
                                f"[{done}/{total}] rep {rep + 1} {server_name:8} {workload.key:11} "
                                f"{client.key:15} {'ok' if outcome.ok else 'FAILED: ' + outcome.error}"
                                f" ({time.monotonic() - t0:.1f} s)"
                            )
                            if outcome.ok:
                                samples.setdefault(key, []).append(derive(outcome.figures))
                                raw_samples.setdefault(key, []).append(outcome.figures)
                            elif outcome.unavailable and server_name == "tls":
                                tls_unavailable[client.key] = outcome.error
                            elif outcome.unavailable:
                                unavailable[client.key] = outcome.error
                            else:
                                errors.setdefault(key, outcome.error)

        log("measuring import times ...")
        pythons: dict[str, tuple[list[str], bool]] = {
            "recallrai (this repo)": ([sys.executable], False)
        }
        if official_py is not None and "official-sync" not in unavailable:
            pythons[f"official recallrai {OFFICIAL_VERSION}"] = (
                [str(official_py), "-E", "-s"],
                True,
            )
        imports = measure_imports(pythons, settings.import_runs, timeout=120.0, cpus=client_cpus)

    # Whatever could not run over TLS, and why (the rows say "unavailable: <reason>").
    for workload in active:
        for client in CLIENTS:
            key = ("tls", workload.key, client.key)
            if "tls" not in workload.servers or "tls" not in settings.servers:
                continue
            why = server_unavailable.get("tls") or tls_unavailable.get(client.key)
            if why:
                errors[key] = f"unavailable: {why}"

    info["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    rows = build_rows(settings, active, samples, raw_samples, errors, unavailable)
    targets = evaluate_targets(
        settings, rows, imports, official_reason or unavailable.get("official-sync", "")
    )
    tls_reason = server_unavailable.get("tls", "" if "tls" in settings.servers else "not asked for")
    document = {
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started_at)),
        "duration_s": round(time.time() - started_at, 1),
        "settings": {
            "quick": settings.quick,
            "repetitions": settings.reps,
            "batches": settings.batches,
            "servers": list(settings.servers),
            "official": settings.official,
            "page_size": PAGE_SIZE,
            "async_in_flight": ASYNC_IN_FLIGHT,
            "sync_threads": SYNC_THREADS,
            "warmup_requests": settings.warmup,
            "counts": {w.key: settings.count(w) for w in WORKLOADS},
            "placement": placement.describe() if placement else "unpinned",
        },
        "machine": info,
        "official": {
            "spec": OFFICIAL_SPEC,
            "venv": _shown(OFFICIAL_VENV),
            "available": official_py is not None and "official-sync" not in unavailable,
            "reason": official_reason or unavailable.get("official-sync", ""),
        },
        "workloads": [
            {
                "key": w.key,
                "title": w.title,
                "unit": w.unit,
                "pending": w.pending,
                "section": w.section,
            }
            for w in WORKLOADS
        ],
        "rows": rows,
        "imports": imports,
        "targets": targets,
        "tls": tls_section(rows, tls_reason),
        "memory": memory_section(settings, rows, baselines),
        "latency": latency_section(settings, rows),
    }
    json_path = settings.out_dir / "latest.json"
    md_path = settings.out_dir / "latest.md"
    png_path = settings.out_dir / "latest.png"
    json_path.write_text(json.dumps(document, indent=2, sort_keys=False) + "\n")
    chart_note = _report.write_chart(document, png_path)
    markdown = _report.markdown(document, chart_note)
    md_path.write_text(markdown)
    print(markdown)
    log(f"wrote {md_path}, {json_path}" + ("" if chart_note else f", {png_path}"))
    failed = [
        r
        for r in rows
        if r["error"] and not r["official"] and not r["error"].startswith("unavailable:")
    ]
    return 1 if failed else 0


def build_rows(
    settings: Settings,
    active: Sequence[Workload],
    samples: dict[tuple[str, str, str], list[dict[str, float]]],
    raw_samples: dict[tuple[str, str, str], list[dict[str, Any]]],
    errors: dict[tuple[str, str, str], str],
    unavailable: dict[str, str],
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for server in settings.servers:
        for workload in active:
            if server not in workload.servers:
                continue
            raw_key = (server, workload.key, "raw")
            raw_median = summarise(samples[raw_key]) if samples.get(raw_key) else None
            for client in CLIENTS:
                if client.official and not settings.official:
                    continue  # --no-official: not asked for, so no rows
                key = (server, workload.key, client.key)
                median = summarise(samples[key]) if samples.get(key) else None
                error = errors.get(key, "")
                if client.key in unavailable:
                    error = f"unavailable: {unavailable[client.key]}"
                ratios: dict[str, float] = {}
                paired: list[float] = []  # per repetition: this client / raw, run back to back
                if client.key != "raw":
                    for mine, floor in zip(
                        samples.get(key, []), samples.get(raw_key, []), strict=False
                    ):
                        paired.append(mine["cpu_us_per_op"] / floor["cpu_us_per_op"])
                if median is not None and raw_median is not None and client.key != "raw":
                    for figure in (
                        "cpu_us_per_op",
                        "wall_s",
                        "requests_per_s",
                        "peak_rss_mb",
                        "rss_growth_mb",
                        "first_event_ms",
                        "idle_client_mb",
                        "kb_per_1000_users",
                    ):
                        if figure in median and raw_median.get(figure):
                            ratios[figure] = median[figure] / raw_median[figure]
                rows.append(
                    {
                        "server": server,
                        "workload": workload.key,
                        "client": client.key,
                        "label": row_label(client, workload.key),
                        "official": client.official,
                        "unit": workload.unit,
                        "count": settings.count(workload),
                        "repetitions": len(samples.get(key, [])),
                        "median": median,
                        "ratio_to_raw": ratios,
                        "cpu_ratio_per_repetition": [round(r, 3) for r in paired],
                        "cpu_ratio_paired_median": statistics.median(paired) if paired else None,
                        "error": error,
                        "samples": raw_samples.get(key, []),
                    }
                )
    return rows


def _find(rows: list[dict[str, Any]], server: str, workload: str, client: str) -> dict[str, Any]:
    for row in rows:
        if (row["server"], row["workload"], row["client"]) == (server, workload, client):
            return row
    return {}


def _figures(row: dict[str, Any], names: Sequence[str]) -> dict[str, Any]:
    """The row's medians of ``names`` (None when not measured)."""
    median = row["median"] or {}
    return {name: median.get(name) for name in names}


def _head(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "workload": row["workload"],
        "client": row["client"],
        "label": row["label"],
        "official": row["official"],
        "repetitions": row["repetitions"],
        "error": row["error"],
    }


def tls_section(rows: list[dict[str, Any]], reason: str) -> dict[str, Any]:
    """The TLS rows, with each run's handshakes and the CPU ratios (to raw aiohttp over TLS,
    and to the same client over plain HTTP to the same fixed server)."""
    entries: list[dict[str, Any]] = []
    for row in rows:
        if row["server"] != "tls":
            continue
        median = row["median"] or {}
        plain = (_find(rows, "fixed", row["workload"], row["client"]).get("median")) or {}
        entry = _head(row)
        entry.update(
            {
                "trusts_the_ca_by": TLS_TRUST.get(row["client"], ""),
                "count": row["count"],
                "cpu_us_per_op": median.get("cpu_us_per_op"),
                "cpu_ratio_to_raw": row["ratio_to_raw"].get("cpu_us_per_op"),
                "cpu_ratio_to_raw_paired": row["cpu_ratio_paired_median"],
                "cpu_ratio_to_plain_http": (
                    median["cpu_us_per_op"] / plain["cpu_us_per_op"]
                    if median.get("cpu_us_per_op") and plain.get("cpu_us_per_op")
                    else None
                ),
                "requests_per_s": median.get("requests_per_s"),
                "handshakes": median.get("tls_handshakes"),
                "connections": median.get("tls_connections"),
                "resumed": median.get("tls_resumed"),
                "server_requests": median.get("tls_requests"),
                "max_connections_needed": median.get("max_connections_needed"),
                "handshakes_per_repetition": [
                    s["tls_handshakes"] for s in row["samples"] if "tls_handshakes" in s
                ],
                "tls_version": next(
                    (s["tls_version"] for s in row["samples"] if s.get("tls_version")), ""
                ),
            }
        )
        entries.append(entry)
    return {
        "available": bool(entries) and not reason,
        "reason": reason,
        "ca": "a throwaway CA made for the run by trustme; server certificate for 127.0.0.1",
        "handshakes_counted": (
            "on the server: asyncio hands a connection to the HTTP protocol once its TLS "
            "handshake is complete; the fixed server counts those calls (and the accepted "
            "connections), the harness reads the counters before and after each client "
            "process; 'resumed' counts abbreviated handshakes"
        ),
        "rows": entries,
    }


MEMORY_FIGURES = (
    "rss_baseline_mb",
    "rss_imported_mb",
    "rss_idle_mb",
    "import_mb",
    "client_mb",
    "idle_client_mb",
    "kb_per_1000_users",
)


def memory_section(
    settings: Settings, rows: list[dict[str, Any]], baselines: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    entries: list[dict[str, Any]] = []
    for row in rows:
        if row["workload"] != "memory":
            continue
        entry = _head(row)
        entry.update(_figures(row, MEMORY_FIGURES))
        entry["idle_client_ratio_to_raw"] = row["ratio_to_raw"].get("idle_client_mb")
        entry["kb_per_1000_users_ratio_to_raw"] = row["ratio_to_raw"].get("kb_per_1000_users")
        entries.append(entry)
    workload = next(w for w in WORKLOADS if w.key == "memory")
    return {
        "users_held": settings.count(workload),
        "baseline_rss_mb": {
            name: (b["rss_kb"] * 1024 / 1e6 if "rss_kb" in b else b.get("error"))
            for name, b in baselines.items()
        },
        "method": (
            "RSS after a full garbage collection. baseline: a process of the same Python that "
            "imported only the harness's standard-library modules; imported: the client "
            "process once its package and client class are imported; idle: once a client is "
            "constructed and has made one get_user. idle_client_mb = idle - baseline (imports, "
            "lazy imports, client, pool, loop thread, one connection); client_mb = idle - "
            "imported; kb_per_1000_users = (RSS holding the listed users - idle) per 1,000 "
            "users, in kB"
        ),
        "rows": entries,
    }


LATENCY_FIGURES = ("first_event_ms", "first_event_p90_ms", "first_event_min_ms", "stream_ms")


def latency_section(settings: Settings, rows: list[dict[str, Any]]) -> dict[str, Any]:
    entries: list[dict[str, Any]] = []
    for row in rows:
        if row["workload"] != "first_event":
            continue
        entry = _head(row)
        entry.update(_figures(row, LATENCY_FIGURES))
        entry["first_event_ratio_to_raw"] = row["ratio_to_raw"].get("first_event_ms")
        entries.append(entry)
    workload = next(w for w in WORKLOADS if w.key == "first_event")
    return {
        "streams": settings.count(workload),
        "method": (
            "wall time from starting a streamed context request (creating its iterator) to "
            "receiving its first event; median and p90 over the streams of a run, then the "
            "median over repetitions; stream_ms: to the last event"
        ),
        "rows": entries,
    }


def evaluate_targets(
    settings: Settings,
    rows: list[dict[str, Any]],
    imports: dict[str, dict[str, Any]],
    official_reason: str,
) -> list[dict[str, Any]]:
    def find(server: str, workload: str, client: str) -> dict[str, Any] | None:
        for row in rows:
            if (row["server"], row["workload"], row["client"]) == (server, workload, client):
                return row
        return None

    results: list[dict[str, Any]] = []
    for target in TARGETS:
        entry: dict[str, Any] = {
            "key": target.key,
            "title": target.title,
            "kind": target.kind,
            "limit": target.limit,
            "workload": target.workload,
            "client": target.client,
            "measured": {},
            "verdict": "n/a",
            "note": "",
        }
        if target.kind in ("import", "import_next"):
            ours = imports.get("recallrai (this repo)", {})
            theirs = next((v for k, v in imports.items() if k.startswith("official")), None)
            if "import_ms" in ours:
                entry["measured"]["ours_ms"] = ours["import_ms"]
            if theirs and "import_ms" in theirs and "import_ms" in ours:
                entry["measured"]["official_ms"] = theirs["import_ms"]
                ratio = entry["measured"]["ratio"] = ours["import_ms"] / theirs["import_ms"]
                ok = (
                    ratio <= target.limit
                    if target.kind == "import"
                    else ratio <= target.limit and ours["import_ms"] <= IMPORT_NEXT_MS
                )
                entry["verdict"] = "PASS" if ok else "MISS"
            else:
                entry["note"] = "official package " + (
                    f"unavailable: {official_reason}" if official_reason else "not measured"
                )
            results.append(entry)
            continue
        for server in settings.servers:
            if server not in TARGET_SERVERS:
                continue
            row = find(server, target.workload, target.client)
            if row is None or row["median"] is None:
                continue
            if target.kind == "cpu_ratio" and row["cpu_ratio_paired_median"] is not None:
                # The median over repetitions of (this client / raw in the same repetition):
                # pairing cancels the machine's drift between repetitions.
                per_rep = row["cpu_ratio_per_repetition"]
                entry["measured"][server] = row["cpu_ratio_paired_median"]
                entry.setdefault("spread", {})[server] = [min(per_rep), max(per_rep)]
            elif target.kind == "rss_growth_mb" and "rss_growth_mb" in row["median"]:
                entry["measured"][server] = row["median"]["rss_growth_mb"]
        # The verdict is taken on the fixed server (pure client cost) when it ran.
        primary = "fixed" if "fixed" in entry["measured"] else next(iter(entry["measured"]), None)
        if primary is not None:
            value = entry["measured"][primary]
            ok = value <= target.limit if target.kind == "cpu_ratio" else value < target.limit
            entry["verdict"] = "PASS" if ok else "MISS"
            entry["verdict_server"] = primary
        else:
            entry["note"] = "not measured"
        results.append(entry)
    return results


if __name__ == "__main__":
    sys.exit(main())
