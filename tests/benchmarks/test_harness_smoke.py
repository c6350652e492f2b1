"""Smoke test of the benchmark harness: it runs end to end on a tiny workload.

No timing is asserted here (benchmarks never run inside the test suite): this
only checks that ``benchmarks/run.py --quick --no-official`` starts its
servers, runs every client process, and writes the Markdown table and the
JSON file. ``--no-official`` keeps it off the network.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUN = ROOT / "benchmarks" / "run.py"


def test_quick_run_writes_table_and_json(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(RUN), "--quick", "--no-official", "--out-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        timeout=600,
    )
    assert proc.returncode == 0, f"stdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-3000:]}"

    document = json.loads((tmp_path / "latest.json").read_text())
    assert document["settings"]["quick"] is True
    assert document["machine"]["python"]
    rows = document["rows"]
    ours = [row for row in rows if not row["official"]]
    assert {row["client"] for row in ours} == {"raw", "async", "sync"}
    assert {row["server"] for row in ours} == {"fixed", "emulator"}
    assert {row["workload"] for row in ours} >= {
        "get_seq",
        "get_conc",
        "create",
        "list",
        "iterate",
        "stream_context",
    }
    for row in ours:
        assert not row["error"], row
        assert row["median"]["cpu_us_per_op"] > 0
        if row["client"] != "raw":
            assert "cpu_us_per_op" in row["ratio_to_raw"]
    assert not [row for row in rows if row["official"]]  # --no-official: no such rows
    assert {target["key"] for target in document["targets"]} >= {"async_seq", "sync_8", "import"}

    table = (tmp_path / "latest.md").read_text()
    assert "## Targets" in table
    assert "raw aiohttp" in table
    assert "RecallrAI" in table
