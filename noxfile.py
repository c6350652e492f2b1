"""Developer tasks: ``nox -s tests``, ``lint``, ``typecheck``, ``generate``, ``build``, ``docs``,
``demo``, ``bench``, ``mutation``, ``official``, ``compat``.

Sessions install the project and its PEP 735 dependency groups (``[dependency-groups]`` in
pyproject.toml). ``tests`` runs on every supported Python (``tests-3.10`` ... ``tests-3.13``):
an interpreter that cannot be found is skipped locally and fails the run under ``CI=true``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import nox
import nox.command
import nox.project

nox.needs_version = ">=2024.10.9"  # nox.project.dependency_groups
nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["tests", "lint", "typecheck", "generate", "build"]

ROOT = Path(__file__).resolve().parent
PYPROJECT = nox.project.load_toml(ROOT / "pyproject.toml")
PACKAGES = ["recallrai", "recallrai_sync"]
EMULATOR_START_TIMEOUT = 30.0
# The Pythons the package supports (its classifiers list the same; a test keeps them equal).
SUPPORTED_PYTHONS = ("3.10", "3.11", "3.12", "3.13")


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() not in {"", "0", "false", "no", "off"}


CI = _truthy(os.environ.get("CI"))
# CI must test every supported Python: a missing one fails the run there, and is skipped here.
nox.options.error_on_missing_interpreters = CI
with contextlib.suppress(AttributeError):  # nox 2025.05 and later: never download a Python
    nox.options.download_python = "never"


def group(*names: str) -> tuple[str, ...]:
    """The requirements of these dependency groups (``include-group`` resolved)."""
    return nox.project.dependency_groups(PYPROJECT, *names)


# One ruff for linting and for formatting the generated facade: the pin of the lint group.
RUFF = group("lint")


# ------------------------------------------------------------------ finding the interpreters


def _python_version_of(executable: str) -> str | None:
    """``"3.X"`` as *executable* reports it, or None when it does not run (a pyenv shim
    for a version that is not active, a broken link)."""
    try:
        result = subprocess.run(
            [executable, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def _pyenv_root() -> Path | None:
    """pyenv's root directory: ``$PYENV_ROOT``, ``pyenv root``, else ``~/.pyenv`` if present."""
    if os.environ.get("PYENV_ROOT"):
        return Path(os.environ["PYENV_ROOT"])
    pyenv = shutil.which("pyenv")
    if pyenv is not None:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            result = subprocess.run(
                [pyenv, "root"], capture_output=True, text=True, timeout=30, check=False
            )
            if result.returncode == 0 and result.stdout.strip():
                return Path(result.stdout.strip())
    default = Path.home() / ".pyenv"
    return default if default.is_dir() else None


def _pyenv_candidates(version: str) -> list[str]:
    """pyenv's CPython builds of *version* (``3.X.Y`` directories only), newest patch first."""
    root = _pyenv_root()
    if root is None:
        return []
    found: list[tuple[tuple[int, ...], str]] = []
    for directory in (root / "versions").glob(f"{version}.*"):
        if not re.fullmatch(rf"{re.escape(version)}\.\d+", directory.name):
            continue  # 3.13.0t (free-threaded), 3.12-dev, ...
        executable = directory / "bin" / f"python{version}"
        if executable.is_file():
            patch = tuple(int(part) for part in directory.name.split("."))
            found.append((patch, str(executable)))
    return [executable for _, executable in sorted(found, reverse=True)]


def find_python(version: str) -> str | None:
    """An interpreter of *version* (``"3.12"``) that runs: this one, ``python3.12`` on PATH,
    else pyenv's newest ``3.12.*``. None when there is none."""
    if f"{sys.version_info[0]}.{sys.version_info[1]}" == version:
        return sys.executable
    candidates = [shutil.which(f"python{version}"), *_pyenv_candidates(version)]
    for candidate in candidates:
        if candidate is not None and _python_version_of(candidate) == version:
            return candidate
    return None


def _expose_pythons(versions: tuple[str, ...], directory: Path) -> None:
    """Put a ``pythonX.Y`` link to each interpreter found in *directory*, first on PATH, so
    nox's own lookup (by name on PATH) finds what :func:`find_python` found.

    The session venvs made through a link depend on it: a link is replaced by a newer find,
    and removed only when what it points to is gone.
    """
    if os.name == "nt":
        return  # nox finds them through the py launcher there
    directory.mkdir(parents=True, exist_ok=True)
    for version in versions:
        link = directory / f"python{version}"
        found = find_python(version)
        if found is None:
            if link.is_symlink() and not link.exists():
                link.unlink()  # dangling
            continue
        staged = directory / f".python{version}.{os.getpid()}"
        with contextlib.suppress(FileNotFoundError):
            staged.unlink()
        staged.symlink_to(os.path.realpath(found))  # the interpreter itself, not a venv's
        os.replace(staged, link)  # atomic: a nox run started meanwhile sees one or the other
    os.environ["PATH"] = os.pathsep.join([str(directory), os.environ.get("PATH", "")])


_expose_pythons(SUPPORTED_PYTHONS, ROOT / ".nox" / "_pythons")


# ------------------------------------------------------------------ sessions


@nox.session(python=SUPPORTED_PYTHONS)
def tests(session: nox.Session) -> None:
    """The whole test suite (unit, emulator, integration), ResourceWarnings as errors."""
    session.install("-e", ".", *group("test"))
    session.run("python", "-W", "error::ResourceWarning", "-m", "pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check."""
    session.install(*RUFF)
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


USER_CODE = "tests/typing/user_code.py"


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict over the SDK, its facade and the examples; mypy and pyright --strict over
    user-style code."""
    session.install("-e", ".", *group("typecheck"))
    session.run("mypy", "--strict", *(arg for pkg in PACKAGES for arg in ("-p", pkg)))
    session.run("mypy", "--strict", USER_CODE, "examples")
    session.run("pyright", "--pythonpath", f"{session.bin}/python", USER_CODE)


@nox.session
def generate(session: nox.Session) -> None:
    """Regenerate the sync facade; with ``-- --check`` fail instead if it is stale."""
    session.install("-e", ".", *RUFF)  # the generator formats its output with ruff
    session.run("python", "-m", "recallrai_sync._codegen", *session.posargs)


VERSION_FILE = ROOT / "recallrai" / "_version.py"
CHECK_DIST = ROOT / "tests" / "release" / "check_dist.py"
# Run by the clean venv's Python, outside the source tree: both packages (and the emulator)
# import from the installed wheel, at the version built.
IMPORT_CHECK = """
import importlib.metadata, pathlib, sys
import recallrai, recallrai.emulator, recallrai_sync
from recallrai import AsyncRecallrAI, RecallrAI
expected = sys.argv[1]
for module in (recallrai, recallrai_sync):
    assert pathlib.Path(sys.prefix) in pathlib.Path(module.__file__).parents, module.__file__
assert recallrai.__version__ == expected, (recallrai.__version__, expected)
assert importlib.metadata.version("recallrai") == expected
plugins = importlib.metadata.entry_points(group="pytest11")
assert [p.value for p in plugins if p.name == "recallrai"] == ["recallrai.pytest_plugin"]
print("installed wheel OK:", recallrai.__version__, AsyncRecallrAI.__name__, RecallrAI.__name__)
"""


def _source_version() -> str:
    """The version, as recallrai/_version.py (its one source) writes it."""
    match = re.search(r'^__version__ = "([^"]+)"$', VERSION_FILE.read_text(), re.MULTILINE)
    if match is None:
        raise RuntimeError(f"no __version__ in {VERSION_FILE}")
    return match.group(1)


@nox.session
def build(session: nox.Session) -> None:
    """Build the sdist and, from it, the wheel; check their metadata (twine) and contents;
    install the wheel into a clean venv and import both packages from it."""
    session.install(*group("release"))
    version = _source_version()
    tmp = Path(session.create_tmp()).resolve()
    dist = tmp / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    session.run("python", "-m", "build", "--outdir", str(dist), str(ROOT))
    wheels, sdists = sorted(dist.glob("*.whl")), sorted(dist.glob("*.tar.gz"))
    if len(wheels) != 1 or len(sdists) != 1:
        session.error(f"expected one wheel and one sdist in {dist}, got {wheels + sdists}")
    wheel, sdist = str(wheels[0]), str(sdists[0])
    session.run("twine", "check", "--strict", wheel, sdist)
    pythons = [arg for version_ in SUPPORTED_PYTHONS for arg in ("--python", version_)]
    session.run(
        "python",
        str(CHECK_DIST),
        "--version",
        version,
        *pythons,
        "--source",
        str(ROOT),
        wheel,
        sdist,
    )
    venv = tmp / "clean-venv"
    session.run("python", "-m", "venv", "--clear", str(venv))
    venv_python = str(venv / ("Scripts" if os.name == "nt" else "bin") / "python")
    session.run(venv_python, "-m", "pip", "install", "--quiet", wheel, external=True)
    with session.chdir(tmp):
        session.run(venv_python, "-I", "-c", IMPORT_CHECK, version, external=True)


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation site (mkdocs.yml, docs/) into site/; any warning (a broken link
    or anchor, a page left out of the navigation, an API reference problem) fails the build."""
    session.install("-e", ".", *group("docs"))
    site = str(ROOT / "site")
    quiet = {"NO_MKDOCS_2_WARNING": "1"}  # Material's notice about its successor, every build
    session.run("mkdocs", "build", "--strict", "--site-dir", site, *session.posargs, env=quiet)


@nox.session
def demo(session: nox.Session) -> None:
    """The whole story (users, sessions, context, memories, conflicts) against a fresh emulator."""
    session.install("-e", ".")
    session.run("python", "-m", "recallrai.emulator.demo")


@nox.session
def bench(session: nox.Session) -> None:
    """Client benchmarks vs raw aiohttp and the official package; ``-- --quick`` for a tiny run."""
    session.install("-e", ".", *group("bench"))
    session.run("python", "benchmarks/run.py", *session.posargs)


MUTANTS = ROOT / "mutants"  # mutmut's working copy


@nox.session
def mutation(session: nox.Session) -> None:
    """Mutation testing of the core modules (mutmut, ``[tool.mutmut]`` in pyproject.toml), then
    each module's score (tests/mutation/score.py): killed or timed-out mutants over all mutants
    less the reviewed equivalent ones (tests/mutation/equivalent-mutants.toml); under 90 % fails.
    Slow (about 1,400 mutants, two hours or more on one core), so not run by CI: run it before a
    release and record the scores in CHANGELOG.md.

    The mutants face tests/unit, tests/integration, tests/sync and tests/hostile, the suites
    that drive the core modules in mutmut's own process. Left out: tests/docs, tests/examples,
    tests/release and tests/integration/test_readme.py (they need files mutants/ does not hold:
    the docs, the examples, the README, a built distribution), tests/emulator (the emulator's
    own behaviour), tests/integrations (the LLM-framework adapters, over the same pipeline as
    tests/integration) and tests/benchmarks (timings, not behaviour).
    ``-- NAME...`` re-runs only the mutants matching those mutmut names, on the mutants/ of the
    last run. One worker per CPU this process may use: ``taskset -c 1 nox -s mutation``.
    """
    session.install("-e", ".", *group("mutation"))
    if not session.posargs:
        shutil.rmtree(MUTANTS, ignore_errors=True)  # else mutmut keeps copies of older sources
    workers = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    session.run("mutmut", "run", "--max-children", str(workers or 1), *session.posargs)
    session.run("python", "tests/mutation/score.py")


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
