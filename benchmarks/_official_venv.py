"""The official ``recallrai`` 0.6.6 package from PyPI, in a virtual environment of its own.

It has the same import name as ours, so it never shares an environment with
our package: it lives in ``benchmarks/.venv-official/`` (git-ignored), created
once and then reused, and is only ever run by that environment's Python
(with ``-E -s``, so nothing from the caller's environment leaks in). Used by
``benchmarks/run.py`` and by ``nox -s official`` (``tests/official/``).
Standard library only.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

__all__ = [
    "OFFICIAL_SPEC",
    "OFFICIAL_VENV",
    "OFFICIAL_VERSION",
    "official_python",
    "prepare_official",
]

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OFFICIAL_VENV = HERE / ".venv-official"
OFFICIAL_VERSION = "0.6.6"
OFFICIAL_SPEC = f"recallrai=={OFFICIAL_VERSION}"


def shown(path: Path) -> str:
    """A path relative to the repository when it lies inside it."""
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def official_python() -> Path:
    return OFFICIAL_VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def prepare_official(log: Callable[[str], object]) -> tuple[Path | None, str]:
    """The official package's venv Python, or ``(None, reason)``. Created once, then reused."""
    python = official_python()
    probe = [
        "-E",
        "-s",
        "-c",
        "import importlib.metadata as m; print(m.version('recallrai'))",
    ]

    def installed_version() -> str:
        if not python.exists():
            return ""
        with tempfile.TemporaryDirectory() as cwd:
            out = subprocess.run(
                [str(python), *probe], capture_output=True, text=True, timeout=60, cwd=cwd
            )
        return out.stdout.strip() if out.returncode == 0 else ""

    try:
        if installed_version() == OFFICIAL_VERSION:
            return python, ""
        log(f"creating {shown(OFFICIAL_VENV)} with {OFFICIAL_SPEC} ...")
        subprocess.run(
            [sys.executable, "-m", "venv", "--clear", str(OFFICIAL_VENV)],
            check=True,
            capture_output=True,
            text=True,
            timeout=300,
        )
        pip = subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--quiet",
                OFFICIAL_SPEC,
            ],
            capture_output=True,
            text=True,
            timeout=900,
        )
        if pip.returncode != 0:
            errors = [ln for ln in pip.stderr.splitlines() if "ERROR" in ln] or ["pip failed"]
            return None, f"pip install {OFFICIAL_SPEC} failed: {errors[-1].strip()}"[:300]
        version = installed_version()
        if version != OFFICIAL_VERSION:
            return None, f"installed version is {version or 'unknown'}, not {OFFICIAL_VERSION}"
        return python, ""
    except subprocess.TimeoutExpired as exc:
        return None, f"timed out: {' '.join(map(str, exc.cmd))[:120]}"
    except (OSError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", "") or str(exc)
        return None, f"cannot create the venv: {str(detail).strip()[-200:]}"
