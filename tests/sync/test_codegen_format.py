"""The generated facade is formatted like the rest of the code, and CI's ruff proves it."""

from __future__ import annotations

import subprocess

from recallrai_sync import _codegen


def test_generated_facade_passes_ruff_format_check() -> None:
    result = subprocess.run(
        [*_codegen._ruff_command(), "format", "--check", "--diff", _codegen.FORMAT_AS],
        capture_output=True,
        text=True,
        cwd=_codegen.ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_generated_facade_is_not_excluded_from_ruff_format() -> None:
    pyproject = (_codegen.ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert "_generated.py" not in pyproject


def test_generation_is_deterministic_and_already_formatted() -> None:
    text = _codegen.generate()
    assert text == _codegen.generate()
    assert _codegen.ruff_format(text) == text
    assert max(len(line) for line in text.splitlines() if '"""' not in line) <= 100
