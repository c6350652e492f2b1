"""Every Python example of the README runs, in order, against the emulator."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from recallrai.emulator import Emulator

README = Path(__file__).resolve().parents[2] / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)


def test_readme_has_examples() -> None:
    assert len(python_blocks()) >= 10


def test_readme_examples_run_in_order(
    recallrai_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RECALLRAI_BASE_URL", recallrai_emulator.base_url)
    monkeypatch.setenv("RECALLRAI_API_KEY", "rai_readme")
    monkeypatch.setenv("RECALLRAI_PROJECT_ID", "your_project_id")
    namespace: dict[str, Any] = {"__name__": "__readme__"}
    clients = []
    try:
        for number, block in enumerate(python_blocks(), start=1):
            exec(compile(block, f"<README block {number}>", "exec"), namespace)
            if "client" in namespace and namespace["client"] not in clients:
                clients.append(namespace["client"])
    finally:
        for client in clients:
            client.close()
    assert any(r.raw_path.endswith("/context") for r in recallrai_emulator.requests)
