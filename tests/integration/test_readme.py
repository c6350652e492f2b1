"""Every Python example of the README runs, in order, against the emulator.

The README is the landing page: a quickstart in both styles, run here, and a pytest example,
run by pytest itself in a subprocess (with the plugin's fixtures, as a user's suite would).
The guides' examples run in ``tests/docs``.
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from recallrai import RecallrAI
from recallrai.emulator import Emulator

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"


TEST_FUNCTION = re.compile(r"^(?:async )?def (test_\w+)", re.MULTILINE)


def python_blocks() -> list[str]:
    return re.findall(r"^```python\n(.*?)^```$", README.read_text(encoding="utf-8"), re.M | re.S)


def pytest_blocks() -> list[str]:
    """The blocks that define tests: pytest runs them."""
    return [block for block in python_blocks() if TEST_FUNCTION.search(block)]


def test_readme_has_examples() -> None:
    blocks = python_blocks()
    assert len(blocks) >= 3
    assert any("AsyncRecallrAI" in block for block in blocks)
    assert any("RecallrAI(" in block and "await" not in block for block in blocks)


def test_readme_python_blocks_all_run() -> None:
    """No Python block is left out by a marker: the landing page's code runs here, or is an
    adapter excerpt (``python integration``) checked against a tested docs example below."""
    fences = re.findall(r"^```(py\S*.*)$", README.read_text(encoding="utf-8"), re.M)
    assert fences and set(fences) == {"python", "python integration"}, fences


def _integration_blocks(text: str) -> list[str]:
    return re.findall(r"^```python integration\n(.*?)^```$", text, re.M | re.S)


def test_readme_adapter_snippets_are_excerpts_of_tested_examples() -> None:
    """Each adapter snippet of the README is, line for line (dedented), part of an example its
    docs page runs in the adapter's tests, so the landing page cannot drift from working code."""
    snippets = _integration_blocks(README.read_text(encoding="utf-8"))
    assert len(snippets) == 3
    docs = README.parent / "docs" / "integrations"
    tested = [
        block.splitlines()
        for page in ("openai.md", "agents.md", "langchain.md")
        for block in _integration_blocks((docs / page).read_text(encoding="utf-8"))
    ]
    for snippet in snippets:
        size = len(snippet.splitlines())
        found = any(
            textwrap.dedent("\n".join(lines[start : start + size]) + "\n") == snippet
            for lines in tested
            for start in range(len(lines) - size + 1)
        )
        assert found, f"not an excerpt of a tested docs example:\n{snippet}"


def test_readme_links_into_the_docs_resolve() -> None:
    links = re.findall(
        r"\]\(((?:docs/|benchmarks/|examples/|CHANGELOG)[^)#]*)", README.read_text("utf-8")
    )
    assert len(links) >= 15
    assert [link for link in links if not (ROOT / link).is_file()] == []


def test_readme_examples_run_in_order(
    recallrai_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RECALLRAI_BASE_URL", recallrai_emulator.base_url)
    monkeypatch.setenv("RECALLRAI_API_KEY", "rai_readme")
    monkeypatch.setenv("RECALLRAI_PROJECT_ID", "your_project_id")
    namespace: dict[str, Any] = {"__name__": "__readme__"}
    blocks = [block for block in python_blocks() if block not in pytest_blocks()]
    try:
        for number, block in enumerate(blocks, start=1):
            exec(compile(block, f"<README block {number}>", "exec"), namespace)
    finally:
        for value in list(namespace.values()):
            if isinstance(value, RecallrAI):
                value.close()
    paths = [r.raw_path for r in recallrai_emulator.requests]
    assert any(path.endswith("/context") for path in paths)
    assert any(path.endswith("/process") for path in paths)
    listings = [r for r in recallrai_emulator.requests if r.method == "GET"]
    assert any(r.raw_path == "/api/v1/users" for r in listings)  # the async example's listing


def test_readme_pytest_example_passes(tmp_path: Path) -> None:
    """The pytest example, as a test module of its own, passes with the installed plugin."""
    blocks = pytest_blocks()
    names = [name for block in blocks for name in TEST_FUNCTION.findall(block)]
    assert "test_signup" in names and "test_signup_async" in names
    (tmp_path / "test_readme_example.py").write_text("\n\n".join(blocks), encoding="utf-8")
    command = [sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider"]
    done = subprocess.run(
        [*command, "-W", "error::ResourceWarning", "test_readme_example.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    report = done.stdout + done.stderr
    assert done.returncode == 0, report
    for name in names:
        assert f"PASSED test_readme_example.py::{name}" in report, report
