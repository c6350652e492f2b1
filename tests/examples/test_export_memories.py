"""examples/export_memories.py: every user's memories to JSON Lines, against the emulator.

The JSONL must hold exactly what the service holds (every user, every page, every field),
and the export must stream: its peak memory (tracemalloc) with ten times more memories
stays about the same.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from recallrai import AsyncRecallrAI, Memory, RecallrAI
from recallrai.emulator import Emulator

from .conftest import load_example, run_example


@pytest.fixture
def example() -> Any:
    return load_example("export_memories")


@pytest.fixture
def emulator_process() -> Iterator[str]:
    """An emulator in a process of its own (so that tracemalloc sees only the export); its URL."""
    with subprocess.Popen(
        [sys.executable, "-m", "recallrai.emulator", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    ) as process:
        try:
            assert process.stdout is not None
            base_url = process.stdout.readline().strip()
            assert base_url.startswith("http://127.0.0.1:"), base_url
            yield base_url
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()  # leaving the block closes its stdout and reaps it


async def add_memories(client: AsyncRecallrAI, user_id: str, count: int) -> None:
    """Create ``user_id`` with ``count`` memories, 50 facts per session."""
    user = await client.create_user(user_id)
    for start in range(0, count, 50):
        session = await user.create_session()
        facts = (f"I collect item {n}." for n in range(start, min(count, start + 50)))
        await session.add_message("user", " ".join(facts))
        await session.process()
    with anyio.fail_after(30):  # processing takes the emulator 0.05 s per session
        while (await user.list_memories(limit=1)).total < count:
            await anyio.sleep(0.05)


def read_jsonl(text: str) -> dict[tuple[str, str], dict[str, Any]]:
    lines = [json.loads(line) for line in text.splitlines()]
    records = {(line["user_id"], line["memory_id"]): line for line in lines}
    assert len(records) == len(lines), "a memory was written twice"
    return records


def held_by_the_service(inspector: RecallrAI, connected: bool = False) -> dict[Any, Any]:
    """Every memory of every user, as the export's lines should have it."""
    return {
        (user.user_id, memory.memory_id): {"user_id": user.user_id, **memory.to_dict()}
        for user in inspector.list_users(limit=100)
        for memory in user.list_memories(limit=200, include_connected_memories=connected)
    }


def test_the_script_exports_what_the_service_holds(
    example_env: dict[str, str], recallrai_emulator: Emulator, inspector: RecallrAI, tmp_path: Path
) -> None:
    # Users over three pages of 100, memories over several pages of 200, a user without
    # memories, an ID that must be escaped, a memory with a previous version.
    dana = inspector.create_user("dana/b?c")
    for text in ("I live in Paris. I love sushi.", "I live in Lisbon."):
        session = dana.create_session()
        session.add_message("user", text)
        session.process()
        recallrai_emulator.settle()
    inspector.create_user("no_memories")
    for n in range(230):
        inspector.create_user(f"user_{n:03}")
    big = inspector.get_user("user_007")
    for chunk in range(5):
        session = big.create_session()
        session.add_message("user", " ".join(f"I collect item {chunk}-{i}." for i in range(100)))
        session.process()
    recallrai_emulator.settle()

    output = tmp_path / "memories.jsonl"
    result = run_example("export_memories", "--output", str(output), env=example_env)
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines()[-1] == f"Exported 502 memories of 232 users to {output}"
    assert "232/232" in result.stderr  # the progress bar reached the end
    assert not output.with_name("memories.jsonl.partial").exists()

    records = read_jsonl(output.read_text(encoding="utf-8"))
    assert records == held_by_the_service(inspector)
    assert len(records) == 502
    lisbon = next(r for r in records.values() if r["content"] == "I live in Lisbon")
    assert lisbon["user_id"] == "dana/b?c"
    assert [v["content"] for v in lisbon["previous_versions"]] == ["I live in Paris"]
    assert lisbon["connected_memories"] is None  # not asked for
    for record in records.values():  # each line reads back as a Memory
        assert Memory.from_dict(record).to_dict() == {
            k: v for k, v in record.items() if k != "user_id"
        }


def test_connected_memories_on_request_and_failure_leaves_no_file(
    example_env: dict[str, str], recallrai_emulator: Emulator, inspector: RecallrAI, tmp_path: Path
) -> None:
    session = inspector.create_user("erin").create_session()
    session.add_message("user", "I love tea. I love jazz.")
    session.process()
    recallrai_emulator.settle()
    output = tmp_path / "out.jsonl"
    result = run_example("export_memories", "-q", "--connected", "-o", str(output), env=example_env)
    assert result.returncode == 0, result.stderr
    assert result.stderr == f"Exported 2 memories of 1 users to {output}\n"  # no progress bar
    records = read_jsonl(output.read_text(encoding="utf-8"))
    assert records == held_by_the_service(inspector, connected=True)
    assert {r["connected_memories"][0]["content"] for r in records.values()} == {
        "I love tea",
        "I love jazz",
    }

    recallrai_emulator.inject_fault(status=401, path_prefix="/api/v1/users/erin/memories")
    failed = tmp_path / "failed.jsonl"
    result = run_example("export_memories", "-q", "-o", str(failed), env=example_env)
    assert result.returncode == 1
    assert result.stderr.startswith("error: ") and "nothing written" in result.stderr
    assert list(tmp_path.iterdir()) == [output]  # neither the file nor its .partial


@pytest.mark.anyio
async def test_memory_stays_bounded_as_the_export_grows(
    example: Any, emulator_process: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # pytest keeps every log record of a test: the SDK's per-request records would grow with
    # the export (the suite runs the SDK's logger at DEBUG to scan them for secrets).
    caplog.set_level(logging.WARNING, logger="recallrai")

    async def peak_of_export(client: AsyncRecallrAI) -> tuple[int, int]:
        path = tmp_path / "export.jsonl"
        with path.open("w", encoding="utf-8") as out:
            tracemalloc.start()
            try:
                counts = await example.export_memories(
                    client, out, concurrency=2, page_size=50, progress=False
                )
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
        assert path.read_text(encoding="utf-8").count("\n") == counts[1]
        return counts[1], peak

    async with AsyncRecallrAI("rai_export", "export", base_url=emulator_process) as client:
        await add_memories(client, "first", 200)
        small_count, small_peak = await peak_of_export(client)
        await add_memories(client, "second", 1800)  # one user with many
        large_count, large_peak = await peak_of_export(client)
    assert (small_count, large_count) == (200, 2000)
    # Holding one user's memories, or all of them, would show here: about 10 times more.
    assert large_peak < 2 * small_peak, (small_peak, large_peak)
