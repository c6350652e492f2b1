"""A blocking client survives fork: the child never hangs, gets a loop and pool of its own
when it uses the client, and never touches the parent's, which goes on working.

Each case runs ``_fork_script.py`` in a subprocess of its own (forking pytest itself
would copy its threads and state), against the emulator over loopback, with
ResourceWarnings as errors: the script's stderr, which its children share, must stay
empty. Every wait is bounded, so a hang fails the test instead of hanging the suite.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from recallrai.emulator import Emulator

SCRIPT = Path(__file__).with_name("_fork_script.py")
SCRIPT_DEADLINE = 60.0  # seconds for the whole script; its children have 20 each


def run_script(emulator: Emulator, tmp_path: Path, *args: str) -> dict[str, Any]:
    """Run the script with context streams held, release them when it asks; its report."""
    report_path = tmp_path / "report.json"
    emulator.hold_streams()
    command = [sys.executable, "-W", "error::ResourceWarning", str(SCRIPT), emulator.base_url]
    process = subprocess.Popen(
        [*command, *args, str(report_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group: a hung child is killed with it
    )
    stdout: list[str] = []

    def read_stdout() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            stdout.append(line)
            if line.strip() == "release-streams":
                emulator.release_streams()

    reader = threading.Thread(target=read_stdout)
    reader.start()
    try:
        assert process.stderr is not None
        stderr = process.stderr.read()
        process.wait(SCRIPT_DEADLINE)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        pytest.fail(f"the script hung; stdout: {''.join(stdout)}")
    finally:
        emulator.release_streams()
        reader.join()
        process.stdout.close()  # type: ignore[union-attr]
        process.stderr.close()  # type: ignore[union-attr]
    assert process.returncode == 0, stderr
    assert stderr == "", stderr  # no ResourceWarning, no "Exception ignored", in parent or child
    report: dict[str, Any] = json.loads(report_path.read_text(encoding="utf-8"))
    return report


def check_parent(report: dict[str, Any]) -> None:
    """The parent's calls, before, during and after the child, and its stream all went on."""
    assert report["parent_busy"]["errors"] == []
    assert report["parent_busy"]["calls"] >= 3
    assert report["parent_stream"] == [False, False, False, True]
    assert report["parent_after"] == "after-fork"
    assert report["parent_threads_after_close"] == 0


def check_child_exit(report: dict[str, Any]) -> None:
    assert report["child_exit_code"] == 0, "the child hung or failed"
    assert report["child_exit_seconds"] < 5, "the child took long to exit"


FORKS = ["os.fork", "multiprocessing"]
TRANSPORTS = ["aiohttp", "httpx"]


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("how", FORKS)
def test_child_that_ignores_the_client_exits_at_once(
    recallrai_emulator: Emulator, tmp_path: Path, how: str, transport: str
) -> None:
    report = run_script(recallrai_emulator, tmp_path, transport, how, "idle")
    check_child_exit(report)
    assert report["child"]["threads_at_start"] == 0  # the parent's thread did not fork along
    check_parent(report)


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("how", FORKS)
def test_child_that_drops_the_client_exits_at_once(
    recallrai_emulator: Emulator, tmp_path: Path, how: str, transport: str
) -> None:
    """Collecting the inherited client and stream must not close the parent's sockets."""
    report = run_script(recallrai_emulator, tmp_path, transport, how, "drop")
    check_child_exit(report)
    check_parent(report)


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("how", FORKS)
def test_child_uses_the_client_with_a_loop_and_pool_of_its_own(
    recallrai_emulator: Emulator, tmp_path: Path, how: str, transport: str
) -> None:
    report = run_script(recallrai_emulator, tmp_path, transport, how, "use")
    check_child_exit(report)
    child = report["child"]
    assert child["threads_at_start"] == 0
    assert child["got_parent_user"] == "before-fork"
    assert child["created"] == f"child-{child['pid']}"
    assert child["listed"] == 2
    assert child["context"] is True
    assert child["own_stream_first"] is False
    assert child["threads_after_use"] == 1
    # The stream its parent started is the parent's connection: a clean error, untouched.
    assert child["parent_stream_error"].startswith("ConnectionError: ")
    assert "forked" in child["parent_stream_error"]
    check_parent(report)
