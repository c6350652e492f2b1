"""Developer tasks: ``nox -s tests``, ``lint``, ``typecheck``, ``generate``, ``demo``, ``bench``."""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["tests", "lint", "typecheck", "generate"]

PACKAGES = ["recallrai", "recallrai_sync"]


@nox.session
def tests(session: nox.Session) -> None:
    """The whole test suite (unit, emulator, integration), ResourceWarnings as errors."""
    session.install("-e", ".[dev]")
    session.run("python", "-W", "error::ResourceWarning", "-m", "pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check."""
    session.install("ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict over the SDK and its facade."""
    session.install("-e", ".[dev]")
    session.run("mypy", "--strict", *(arg for pkg in PACKAGES for arg in ("-p", pkg)))


@nox.session
def generate(session: nox.Session) -> None:
    """Regenerate the sync facade; with ``-- --check`` fail instead if it is stale."""
    session.install("-e", ".")
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
