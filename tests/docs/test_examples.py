"""Every Python example of the documentation site (``docs/``) runs against the emulator.

Per page, the ``python`` blocks run in order in one namespace (a page reads as one session),
with ``RECALLRAI_API_KEY``, ``RECALLRAI_PROJECT_ID`` and ``RECALLRAI_BASE_URL`` pointing at a
freshly emptied emulator and the working directory in a temporary folder. A page that defines
test functions (``def test_...``, the testing guide) is also run by pytest itself, in a
subprocess, as a test module: its tests must all pass, with the plugin's fixtures. See
``_markdown.py`` for the ``no-run`` and ``integration`` blocks.
"""

from __future__ import annotations

import asyncio
import inspect
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from recallrai import AsyncRecallrAI, RecallrAI
from recallrai.emulator import Emulator

from ._markdown import INTEGRATION, PYTHON_INFOS, blocks, runnable

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PAGES = sorted(path for path in DOCS.rglob("*.md") if "_hooks" not in path.parts)
PAGES_WITH_EXAMPLES = [page for page in PAGES if runnable(page)]
# The adapters' examples are run by their own tests, which read these pages.
INTEGRATION_PAGES = {
    DOCS / "integrations" / "openai.md": "tests/integrations/test_openai.py",
    DOCS / "integrations" / "agents.md": "tests/integrations/test_agents.py",
    DOCS / "integrations" / "langchain.md": "tests/integrations/test_langchain.py",
}


def _name(page: Path) -> str:
    return page.relative_to(DOCS).as_posix()


def test_the_pages_are_found() -> None:
    assert DOCS / "getting-started.md" in PAGES_WITH_EXAMPLES
    assert len(PAGES_WITH_EXAMPLES) >= 14, [_name(page) for page in PAGES_WITH_EXAMPLES]


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_python_blocks_follow_the_convention(page: Path) -> None:
    """A Python block runs, or says why not: a misspelt marker would silently skip it."""
    for block in blocks(page):
        if block.is_python:
            assert block.info in PYTHON_INFOS, f"{_name(page)}:{block.line}: ```{block.info}"
            if block.info == INTEGRATION:
                assert page in INTEGRATION_PAGES, f"{_name(page)}:{block.line}: no test runs it"


@pytest.mark.parametrize("page", list(INTEGRATION_PAGES), ids=_name)
def test_integration_pages_have_their_examples(page: Path) -> None:
    assert sum(block.info == INTEGRATION for block in blocks(page)) >= 2
    test = (ROOT / INTEGRATION_PAGES[page]).read_text(encoding="utf-8")
    assert f'"{_name(page)}"' in test or f"'{_name(page)}'" in test or page.name in test


@pytest.mark.parametrize("page", PAGES_WITH_EXAMPLES, ids=_name)
def test_page_examples_run(
    page: Path,
    recallrai_emulator: Emulator,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("RECALLRAI_BASE_URL", recallrai_emulator.base_url)
    monkeypatch.setenv("RECALLRAI_API_KEY", "rai_docs_examples")
    monkeypatch.setenv("RECALLRAI_PROJECT_ID", "docs-project")
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {"__name__": "__docs__"}
    try:
        for block in runnable(page):
            exec(compile(block.source(), str(page), "exec"), namespace)
    finally:
        for value in namespace.values():
            if isinstance(value, RecallrAI):
                value.close()
            elif isinstance(value, AsyncRecallrAI):
                asyncio.run(value.close())
    tests = [
        name
        for name, value in namespace.items()
        if name.startswith("test_")
        and inspect.isfunction(value)
        and value.__code__.co_filename == str(page)
    ]
    if tests:  # the testing guide: its tests use the plugin's own emulator
        _run_as_pytest_module(page, tests, tmp_path)
    else:
        assert recallrai_emulator.requests, "the page's examples sent nothing to the emulator"


def _run_as_pytest_module(page: Path, tests: list[str], folder: Path) -> None:
    """The page's code as a test module (its lines where the page has them), run by pytest."""
    lines = [""] * page.read_text(encoding="utf-8").count("\n")
    for block in runnable(page):
        for offset, line in enumerate(block.code.splitlines()):
            lines[block.line - 1 + offset] = line
    module = folder / f"test_docs_{page.stem.replace('-', '_')}.py"
    module.write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-W",
            "error::ResourceWarning",
            "-rA",
            module.name,
        ],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    report = done.stdout + done.stderr
    assert done.returncode == 0, report
    for name in tests:
        assert f"PASSED {module.name}::{name}" in report, report
