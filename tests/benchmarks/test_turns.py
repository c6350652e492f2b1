"""The benchmark harness's turn-taking: client processes of one workload measure in turns.

Fake clients (small scripts using the harness's own ``turns()``) log each batch they
measure to a shared file, so the order of the turns is what the log shows.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import run  # noqa: E402  (benchmarks/run.py, not a package)

FAKE_CLIENT = """
import sys, time
sys.path.insert(0, {benchmarks!r})
from _common import emit, turns
name, log, count, batches, behaviour = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
measured = 0
for index, size in enumerate(turns(count, batches)):
    if behaviour == "die" and index == 1:
        sys.exit(7)
    if behaviour == "hang" and index == 1:
        time.sleep(60)
    with open(log, "a") as out:
        out.write(f"{{name}} {{size}}\\n")
    measured += size
emit({{"ok": True, "ops": measured, "cpu_s": 0.001}})
"""


def settings(timeout: float = 30.0) -> Any:
    return run.Settings(
        quick=True,
        reps=1,
        servers=("fixed",),
        official=False,
        import_runs=1,
        warmup=0,
        job_timeout=timeout,
        deadline=time.monotonic() + 600,
        out_dir=Path("."),
    )


@pytest.fixture
def fake(tmp_path: Path) -> Any:
    script = tmp_path / "fake_client.py"
    script.write_text(FAKE_CLIENT.format(benchmarks=str(BENCHMARKS)))
    log = tmp_path / "turns.log"

    def command(name: str, count: int, batches: int, behaviour: str = "well") -> list[str]:
        return [sys.executable, str(script), name, str(log), str(count), str(batches), behaviour]

    command.log = log  # type: ignore[attr-defined]
    return command


def test_clients_measure_their_batches_in_turns_the_order_reversed_every_round(fake: Any) -> None:
    commands = {name: fake(name, 5, 3) for name in ("a", "b", "c")}
    outcomes = run.run_in_turns(commands, 3, settings(), None)
    assert {name: (o.ok, o.figures.get("ops")) for name, o in outcomes.items()} == {
        "a": (True, 5),
        "b": (True, 5),
        "c": (True, 5),
    }
    # 5 ops in 3 batches: 2, 2, 1; the second round goes c, b, a.
    assert fake.log.read_text().split("\n")[:-1] == [
        "a 2",
        "b 2",
        "c 2",
        "c 2",
        "b 2",
        "a 2",
        "a 1",
        "b 1",
        "c 1",
    ]


def test_a_client_that_dies_fails_alone(fake: Any) -> None:
    commands = {"a": fake("a", 4, 2, "die"), "b": fake("b", 4, 2)}
    outcomes = run.run_in_turns(commands, 2, settings(), None)
    assert not outcomes["a"].ok and "exit 7" in outcomes["a"].error
    assert outcomes["b"].ok and outcomes["b"].figures["ops"] == 4


def test_a_client_that_hangs_is_stopped_after_the_timeout(fake: Any) -> None:
    commands = {"a": fake("a", 4, 2, "hang"), "b": fake("b", 4, 2)}
    started = time.monotonic()
    outcomes = run.run_in_turns(commands, 2, settings(timeout=2.0), None)
    assert time.monotonic() - started < 30
    assert not outcomes["a"].ok and "timed out" in outcomes["a"].error
    assert outcomes["b"].ok and outcomes["b"].figures["ops"] == 4
