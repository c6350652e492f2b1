"""Loading and running the scripts of ``examples/`` against the emulator.

``examples/`` is not a package (each file stands alone, as users copy them), so a test
loads an example by path with :func:`load_example`, or runs it as a script with
:func:`run_example` (a subprocess with ResourceWarnings as errors, bounded in time).
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from recallrai import RecallrAI
from recallrai.emulator import Emulator

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SCRIPT_TIMEOUT = 60.0
# The credentials the examples read from the environment (any rai_ key works on the emulator).
API_KEY = "rai_examples_key"
PROJECT_ID = "examples-project"


def load_example(name: str) -> ModuleType:
    """Import ``examples/<name>.py`` as module ``recallrai_example_<name>`` (kept in sys.modules,
    so that pydantic and dataclasses find its namespace)."""
    module_name = f"recallrai_example_{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]
        raise
    return module


def run_example(
    name: str, *args: str, env: dict[str, str], timeout: float = SCRIPT_TIMEOUT
) -> subprocess.CompletedProcess[str]:
    """Run ``python -W error::ResourceWarning examples/<name>.py ARGS`` to its end.

    The script gets a process group of its own: if it is still running after ``timeout``
    seconds, it is killed with every process it forked, and the test fails.
    """
    command = [sys.executable, "-W", "error::ResourceWarning", str(EXAMPLES / f"{name}.py")]
    with subprocess.Popen(
        [*command, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    ) as process:
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            stdout, stderr = process.communicate()
            pytest.fail(f"{name}.py hung; stdout: {stdout}; stderr: {stderr}")
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


@pytest.fixture
def example_env(recallrai_emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The RECALLRAI_* variables pointing at the emulator, set in this process too; the whole
    environment, for subprocesses."""
    variables = {
        "RECALLRAI_API_KEY": API_KEY,
        "RECALLRAI_PROJECT_ID": PROJECT_ID,
        "RECALLRAI_BASE_URL": recallrai_emulator.base_url,
    }
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("RECALLRAI_LOG", raising=False)
    return dict(os.environ)


@pytest.fixture
def inspector(example_env: dict[str, str]) -> Iterator[RecallrAI]:
    """A blocking client on the examples' project, for checking what they stored."""
    with RecallrAI(max_retries=0) as client:
        yield client
