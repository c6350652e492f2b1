"""Client benchmarks of recallrai, side by side with raw aiohttp and the official 0.6.6 package.

    python benchmarks/run.py                 # full run, 5 repetitions (what `nox -s bench` does)
    python benchmarks/run.py --quick         # tiny counts, 1 repetition (the smoke test)
    python benchmarks/run.py --no-official   # skip the official package (no network needed)

Every server and every client runs in its own process: the servers (the
emulator, and ``fixed_server.py`` with canned answers) are started once; each
(server, workload, client, repetition) is one run of a ``client_*.py`` script
that measures its own CPU time (getrusage, user+sys, all its threads) around
the workload and prints one JSON line. This script collects those lines, takes
medians over the repetitions, divides every SDK figure by raw aiohttp's figure
for the same server and workload from the same run, and writes
``results/latest.md``, ``results/latest.json`` and ``results/latest.png``.

The official package has the same import name as ours, so it is installed
(once, then reused) into ``benchmarks/.venv-official/`` and only ever run by
that environment's Python. If that fails, its rows read "unavailable: <reason>".

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
import select
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import _report
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


WORKLOADS: tuple[Workload, ...] = (
    Workload("get_seq", "get_user, sequential", "request", 2_000, 20),
    Workload(
        "get_conc", "get_user, 64 in flight (async) / 8 threads (sync)", "request", 4_000, 128
    ),
    Workload("create", "create_user with metadata", "request", 1_000, 20),
    Workload("list", "list 10,000 users through the paginator", "user", 10_000, 250),
    Workload("iterate", "iterate 100,000 users (peak memory)", "user", 100_000, 1_000, ("fixed",)),
    # Each op: one streamed context request (3 progress events + the final one, PROTOCOL.md
    # §5.3.3), consumed to the end. The emulator's session is created by the seed step.
    Workload("stream_context", "streamed context request (SSE)", "request", 500, 5),
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
)


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

    def count(self, workload: Workload) -> int:
        return workload.quick_count if self.quick else workload.count


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
        if not line.startswith("http://"):
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
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if not lines:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return Outcome(False, error=f"exit {proc.returncode}: {tail}"[:500])
    payload = json.loads(lines[-1])
    if not payload.pop("ok", False) or proc.returncode != 0:
        return Outcome(
            False,
            error=str(payload.get("error") or f"exit {proc.returncode}"),
            unavailable=bool(payload.get("unavailable")),
        )
    return Outcome(True, payload)


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


def client_command(
    client: Client,
    workload: Workload,
    server: str,
    url: str,
    rep: int,
    settings: Settings,
    official: Path | None,
    session_id: str = "session-000000",
) -> list[str]:
    count = settings.count(workload)
    if server == "fixed":
        project = f"bench-users-{count}" if workload.key in ("list", "iterate") else "bench"
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
    if workload.key == "stream_context":
        command += ["--session-id", session_id]
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
        default="fixed,emulator",
        help="comma-separated: fixed, emulator (default: both)",
    )
    parser.add_argument(
        "--out-dir", type=Path, default=HERE / "results", help="where latest.* are written"
    )
    parser.add_argument(
        "--max-minutes", type=float, default=90.0, help="time budget; later runs are skipped"
    )
    parser.add_argument(
        "--no-pin",
        action="store_true",
        help="let the OS place servers and clients (default: servers on one CPU, clients on another)",
    )
    args = parser.parse_args(argv)
    servers = tuple(s.strip() for s in args.servers.split(",") if s.strip())
    if not servers or not set(servers) <= {"fixed", "emulator"}:
        parser.error("--servers takes fixed, emulator or both")
    reps = args.reps if args.reps is not None else (1 if args.quick else 7)
    if not 1 <= reps <= 50:
        parser.error("--reps must be between 1 and 50")
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
    )


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@contextlib.contextmanager
def servers_running(
    names: Sequence[str], log_dir: Path, cpus: frozenset[int] | None
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
    with tempfile.TemporaryDirectory(prefix="recallrai-bench-") as tmp:
        with servers_running(settings.servers, Path(tmp), server_cpus) as servers:
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
                for s in settings.servers
                if s in w.servers
                for c in CLIENTS
                if c.key not in unavailable
            )
            done = 0
            for rep in range(settings.reps):
                for server_name in settings.servers:
                    server = servers[server_name]
                    for workload in active:
                        if server_name not in workload.servers:
                            continue
                        # Each repetition starts with a different client, so a drift of the
                        # machine's speed within a repetition favours no client in particular.
                        start = rep % len(CLIENTS)
                        for client in CLIENTS[start:] + CLIENTS[:start]:
                            key = (server_name, workload.key, client.key)
                            if client.key in unavailable:
                                continue
                            done += 1
                            if time.monotonic() > settings.deadline:
                                errors.setdefault(key, "skipped: time budget exhausted")
                                continue
                            if not server.alive():
                                errors.setdefault(key, f"the {server_name} server died")
                                continue
                            command = client_command(
                                client,
                                workload,
                                server_name,
                                server.url,
                                rep,
                                settings,
                                official_py,
                                session_ids.get(server_name, "session-000000"),
                            )
                            t0 = time.monotonic()
                            outcome = run_json_process(
                                command, cwd=HERE, timeout=settings.job_timeout, cpus=client_cpus
                            )
                            log(
                                f"[{done}/{total}] rep {rep + 1} {server_name:8} {workload.key:8} "
                                f"{client.key:15} {'ok' if outcome.ok else 'FAILED: ' + outcome.error}"
                                f" ({time.monotonic() - t0:.1f} s)"
                            )
                            if outcome.ok:
                                samples.setdefault(key, []).append(derive(outcome.figures))
                                raw_samples.setdefault(key, []).append(outcome.figures)
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

    info["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    rows = build_rows(settings, active, samples, raw_samples, errors, unavailable)
    targets = evaluate_targets(
        settings, rows, imports, official_reason or unavailable.get("official-sync", "")
    )
    document = {
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started_at)),
        "duration_s": round(time.time() - started_at, 1),
        "settings": {
            "quick": settings.quick,
            "repetitions": settings.reps,
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
            {"key": w.key, "title": w.title, "unit": w.unit, "pending": w.pending}
            for w in WORKLOADS
        ],
        "rows": rows,
        "imports": imports,
        "targets": targets,
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
    failed = [r for r in rows if r["error"] and not r["official"]]
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
        if target.kind == "import":
            ours = imports.get("recallrai (this repo)", {})
            theirs = next((v for k, v in imports.items() if k.startswith("official")), None)
            if "import_ms" in ours:
                entry["measured"]["ours_ms"] = ours["import_ms"]
            if theirs and "import_ms" in theirs and "import_ms" in ours:
                entry["measured"]["official_ms"] = theirs["import_ms"]
                entry["measured"]["ratio"] = ours["import_ms"] / theirs["import_ms"]
                entry["verdict"] = "PASS" if ours["import_ms"] <= theirs["import_ms"] else "MISS"
            else:
                entry["note"] = "official package " + (
                    f"unavailable: {official_reason}" if official_reason else "not measured"
                )
            results.append(entry)
            continue
        for server in settings.servers:
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
