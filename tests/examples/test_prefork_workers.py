"""examples/prefork_workers.py: a blocking client made and used before fork, used by forked
workers, against the emulator.

The script runs in a subprocess of its own (forking pytest itself would copy its threads
and state), with ResourceWarnings as errors; its stderr, which its workers share, must stay
empty: no warning, no "Exception ignored", no traceback in parent or workers.
"""

from __future__ import annotations

import multiprocessing
import re

import pytest

from recallrai import RecallrAI, SessionStatus

from .conftest import run_example

pytestmark = pytest.mark.skipif(
    "fork" not in multiprocessing.get_all_start_methods(), reason="needs fork"
)

LINE = re.compile(r"worker (\d+): (\w+): '(.*)' -> session (\S+)")


def test_forked_workers_use_the_parents_client(
    example_env: dict[str, str], inspector: RecallrAI
) -> None:
    jobs = [f"user{i % 3}=I love food number {i}." for i in range(8)]
    result = run_example("prefork_workers", "--workers", "2", *jobs, env=example_env)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    parent = re.fullmatch(r"parent (\d+): users ready", lines[0])
    assert parent is not None, result.stdout  # printed once: no child repeated it
    assert sum(line.startswith("parent ") for line in lines) == 1

    done = [LINE.fullmatch(line) for line in lines[1:9]]
    assert all(done), lines
    pids = {int(match.group(1)) for match in done if match}
    assert int(parent.group(1)) not in pids  # the jobs ran in the forked workers
    assert 1 <= len(pids) <= 2
    for job, match in zip(jobs, done, strict=True):
        assert match is not None
        user_id, text = job.split("=")
        assert (match.group(2), match.group(3)) == (user_id, text)
        session = inspector.get_user(user_id).get_session(match.group(4))
        assert session.metadata == {"worker_pid": int(match.group(1))}
        assert session.status == SessionStatus.PROCESSED
        assert [m.content for m in session.get_messages()] == [text]

    # After the workers, the parent's client listed every user's memories.
    assert lines[9:] == [
        "user0: I love food number 0; I love food number 3; I love food number 6",
        "user1: I love food number 1; I love food number 4; I love food number 7",
        "user2: I love food number 2; I love food number 5",
    ]


def test_bad_job_is_refused(example_env: dict[str, str]) -> None:
    result = run_example("prefork_workers", "no-equals-sign", env=example_env)
    assert result.returncode == 2
    assert "expected USER_ID=MESSAGE" in result.stderr
