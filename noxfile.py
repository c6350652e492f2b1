"""Developer tasks: ``nox -s tests``, ``lint``, ``typecheck``, ``generate``, ``demo``, ``bench``,
``official``, ``compat``."""

from __future__ import annotations

import contextlib
import importlib.util
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import nox
import nox.command

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["tests", "lint", "typecheck", "generate"]

PACKAGES = ["recallrai", "recallrai_sync"]
# One ruff for linting and for formatting the generated facade (the dev extra pins the same).
RUFF = "ruff==0.17.6"
ROOT = Path(__file__).resolve().parent
EMULATOR_START_TIMEOUT = 30.0


@nox.session
def tests(session: nox.Session) -> None:
    """The whole test suite (unit, emulator, integration), ResourceWarnings as errors."""
    session.install("-e", ".[dev]")
    session.run("python", "-W", "error::ResourceWarning", "-m", "pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check."""
    session.install(RUFF)
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


# Users run pyright too; the [nodejs] extra brings node from PyPI (no npm download).
PYRIGHT = "pyright[nodejs]==1.1.414"
USER_CODE = "tests/typing/user_code.py"


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict over the SDK and its facade; mypy and pyright --strict over user-style code."""
    session.install("-e", ".[dev]", PYRIGHT)
    session.run("mypy", "--strict", *(arg for pkg in PACKAGES for arg in ("-p", pkg)))
    session.run("mypy", "--strict", USER_CODE)
    session.run("pyright", "--pythonpath", f"{session.bin}/python", USER_CODE)


@nox.session
def generate(session: nox.Session) -> None:
    """Regenerate the sync facade; with ``-- --check`` fail instead if it is stale."""
    session.install("-e", ".", RUFF)  # the generator formats its output with ruff
    session.run("python", "-m", "recallrai_sync._codegen", *session.posargs)


@nox.session
def demo(session: nox.Session) -> None:
    """The whole story (users, sessions, context, memories, conflicts) against a fresh emulator."""
    session.install("-e", ".")
    session.run("python", "-m", "recallrai.emulator.demo")


@nox.session
def bench(session: nox.Session) -> None:
    """Client benchmarks vs raw aiohttp and the official package; ``-- --quick`` for a tiny run."""
    session.install("-e", ".", "matplotlib")
    session.run("python", "benchmarks/run.py", *session.posargs)


@nox.session
def official(session: nox.Session) -> None:
    """The OFFICIAL recallrai 0.6.6 client (its own venv) against our emulator: tests/official."""
    official_python = _official_python(session)
    session.install("-e", ".")
    with _emulator(session) as base_url:
        session.run(
            str(official_python),
            "-E",  # its own environment only: nothing from ours leaks in
            "-s",
            str(ROOT / "tests" / "official" / "scenario.py"),
            base_url,
            *session.posargs,
            external=True,
        )


@nox.session
def compat(session: nox.Session) -> None:
    """Ours as a drop-in for the official 0.6.6: public surfaces compared (tests/compat/allowed.py
    excuses), and the official README's examples run with both clients against fresh emulators."""
    official_python = str(_official_python(session))
    session.install("-e", ".")
    ours_python = str(Path(session.bin) / "python")
    here = ROOT / "tests" / "compat"
    out = Path(session.create_tmp()).resolve()  # also the working directory: no recallrai in it
    official_surface, ours_surface = out / "surface-official.json", out / "surface-ours.json"
    failed: list[str] = []
    with session.chdir(out):
        # -E -s: the official venv's own environment only; ours is the editable install here.
        session.run(
            official_python,
            "-E",
            "-s",
            str(here / "surface.py"),
            "-o",
            str(official_surface),
            external=True,
        )
        session.run(
            ours_python,
            "-s",
            str(here / "surface.py"),
            "--probe",
            str(official_surface),
            "-o",
            str(ours_surface),
        )
        session.run("python", str(here / "compare.py"), "--self-test", str(official_surface))
        try:
            session.run(
                "python", str(here / "compare.py"), str(official_surface), str(ours_surface)
            )
        except nox.command.CommandFailed:
            failed.append("the public surface (above)")
        runner = str(here / "readme_examples.py")
        readme = str(
            session.run(official_python, "-E", "-s", runner, "locate", external=True, silent=True)
        ).strip()
        for run_pass in ("as-written", "user-kept"):  # see PASSES in readme_examples.py
            results = {}
            for label, python, isolation in (
                ("official", official_python, ["-E", "-s"]),
                ("ours", ours_python, ["-s"]),
            ):
                results[label] = str(out / f"readme-{run_pass}-{label}.json")
                with _emulator(session) as base_url:  # a fresh one: every run starts from nothing
                    session.run(
                        python,
                        *isolation,
                        runner,
                        "run",
                        "--readme",
                        readme,
                        "--pass",
                        run_pass,
                        "--base-url",
                        base_url,
                        "--out",
                        results[label],
                        external=True,
                    )
            try:
                session.run("python", runner, "report", results["official"], results["ours"])
            except nox.command.CommandFailed:
                failed.append(f"the README examples, pass {run_pass} (above)")
    if failed:
        session.error("not a drop-in replacement for recallrai 0.6.6: " + " and ".join(failed))


def _official_python(session: nox.Session) -> Path:
    """The official package's venv Python (``benchmarks/.venv-official``), created on first use."""
    official_python, reason = _load_official_venv().prepare_official(session.log)
    if official_python is None:
        session.error(f"the official package is unavailable: {reason}")
    return Path(official_python)


@contextlib.contextmanager
def _emulator(session: nox.Session) -> Iterator[str]:
    """A fresh emulator on a free loopback port, run by the session's Python; yields its URL."""
    emulator = subprocess.Popen(
        [
            str(Path(session.bin) / "python"),
            "-m",
            "recallrai.emulator",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        base_url = _first_line(emulator, EMULATOR_START_TIMEOUT)
        if not base_url.startswith("http://127.0.0.1:"):
            session.error(f"the emulator did not print its base URL (got {base_url!r})")
        session.log(f"emulator at {base_url} (pid {emulator.pid})")
        yield base_url
    finally:
        emulator.terminate()
        try:
            emulator.wait(timeout=10)
        except subprocess.TimeoutExpired:
            emulator.kill()
            emulator.wait()
        if emulator.stdout is not None:
            emulator.stdout.close()


def _load_official_venv() -> ModuleType:
    """``benchmarks/_official_venv.py`` (not a package), which owns the official venv."""
    path = ROOT / "benchmarks" / "_official_venv.py"
    spec = importlib.util.spec_from_file_location("_official_venv", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _first_line(process: subprocess.Popen[str], timeout: float) -> str:
    """The first stdout line of *process* ("" when it exits or *timeout* passes first)."""
    lines: list[str] = []
    assert process.stdout is not None
    reader = threading.Thread(target=lambda: lines.append(process.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return lines[0].strip() if lines else ""
