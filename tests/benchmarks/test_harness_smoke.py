"""Smoke test of the benchmark harness: it runs end to end on a tiny workload.

No timing is asserted here (benchmarks never run inside the test suite): this
only checks that ``benchmarks/run.py --quick --no-official`` starts its
servers, runs every client process, and writes the Markdown table and the
JSON file, with figures that make sense (handshakes no more than connections,
latencies above zero). ``--no-official`` keeps it off the network.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUN = ROOT / "benchmarks" / "run.py"


OURS = {"raw", "async", "sync"}


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str]:
    """One quick run for every test here: its latest.json (parsed) and latest.md."""
    tmp_path = tmp_path_factory.mktemp("bench")
    proc = subprocess.run(
        [sys.executable, str(RUN), "--quick", "--no-official", "--out-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        timeout=600,
    )
    assert proc.returncode == 0, f"stdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-3000:]}"
    return json.loads((tmp_path / "latest.json").read_text()), (tmp_path / "latest.md").read_text()


def test_quick_run_writes_table_and_json(quick_run: tuple[dict[str, Any], str]) -> None:
    document, table = quick_run
    assert document["settings"]["quick"] is True
    assert document["settings"]["batches"] == 2  # the clients took turns
    assert document["machine"]["python"]
    rows = document["rows"]
    ours = [row for row in rows if not row["official"]]
    assert {row["client"] for row in ours} == OURS
    assert {row["server"] for row in ours} == {"fixed", "emulator", "tls"}
    assert {row["workload"] for row in ours} >= {
        "get_seq",
        "get_conc",
        "create",
        "list",
        "iterate",
        "stream_context",
        "first_event",
        "memory",
    }
    for row in ours:
        assert not row["error"], row
        assert row["median"]["cpu_us_per_op"] > 0
        if row["client"] != "raw":
            assert "cpu_us_per_op" in row["ratio_to_raw"]
    assert not [row for row in rows if row["official"]]  # --no-official: no such rows
    assert {target["key"] for target in document["targets"]} >= {
        "async_seq",
        "sync_8",
        "import",
        "next_list_async",
        "next_stream_context_sync",
        "next_iterate_sync_rss",
        "import_next",
    }

    assert "## Targets" in table
    assert "raw aiohttp" in table
    assert "RecallrAI" in table


def test_tls_rows_count_one_handshake_per_pooled_connection(
    quick_run: tuple[dict[str, Any], str],
) -> None:
    document, table = quick_run
    tls = document["tls"]
    assert tls["available"] is True, tls["reason"]
    rows = tls["rows"]
    assert {(r["workload"], r["client"]) for r in rows} == {
        (w, c) for w in ("get_seq", "get_conc") for c in OURS
    }
    for row in rows:
        assert not row["error"], row
        assert row["trusts_the_ca_by"]
        assert row["cpu_us_per_op"] > 0
        if row["client"] != "raw":
            assert row["cpu_ratio_to_raw"] > 0
            assert row["cpu_ratio_to_plain_http"] > 0
        # Server-side counts: a handshake per connection that completed one, never more;
        # one per request in flight at most (the pool reuses them); many requests each.
        assert 1 <= row["handshakes"] <= row["connections"], row
        assert row["handshakes"] <= row["max_connections_needed"], row
        assert 0 <= row["resumed"] <= row["handshakes"], row
        assert row["server_requests"] >= row["count"] > row["handshakes"] or (
            row["workload"] == "get_seq" and row["handshakes"] == 1
        ), row
        assert row["tls_version"].startswith("TLS"), row
    sequential = [r for r in rows if r["workload"] == "get_seq"]
    assert all(r["handshakes"] == 1 for r in sequential), sequential
    assert "over TLS" in table
    assert "TLS handshakes" in table


def test_memory_rows(quick_run: tuple[dict[str, Any], str]) -> None:
    document, table = quick_run
    memory = document["memory"]
    assert memory["users_held"] > 0
    assert {r["client"] for r in memory["rows"]} == OURS
    assert memory["baseline_rss_mb"]["ours"] > 0
    for row in memory["rows"]:
        assert not row["error"], row
        # The idle client's process holds more than a bare harness process, and than
        # it did once its package was imported; the users held take room, not gigabytes.
        assert row["rss_idle_mb"] >= row["rss_imported_mb"] > row["rss_baseline_mb"] > 0, row
        assert row["idle_client_mb"] > 0, row
        assert 0 < row["kb_per_1000_users"] < 50_000, row
        if row["client"] != "raw":
            assert row["idle_client_ratio_to_raw"] > 0
    assert "## Memory" in table


def test_latency_rows(quick_run: tuple[dict[str, Any], str]) -> None:
    document, table = quick_run
    latency = document["latency"]
    assert latency["streams"] > 0
    assert {r["client"] for r in latency["rows"]} == OURS
    for row in latency["rows"]:
        assert not row["error"], row
        assert 0 < row["first_event_min_ms"] <= row["first_event_ms"], row
        assert row["first_event_ms"] <= row["first_event_p90_ms"], row
        assert row["first_event_ms"] <= row["stream_ms"], row
        if row["client"] != "raw":
            assert row["first_event_ratio_to_raw"] > 0
    assert "time to the first streamed context event" in table
