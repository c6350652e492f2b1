"""examples/blocking_script.py, run as a script against the emulator."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from recallrai import RecallrAI, SessionStatus
from recallrai.emulator import Emulator

from .conftest import run_example


def test_records_processes_and_prints_the_memories(
    example_env: dict[str, str], inspector: RecallrAI
) -> None:
    result = run_example(
        "blocking_script",
        "--user-id",
        "alice",
        "I live in Paris. I love sushi.",
        "Nice weather today.",
        "My favourite colour is blue!",
        env=example_env,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    match = re.fullmatch(r"Session (\S+): 3 messages, processing\.\.\.", lines[0])
    assert match is not None, lines[0]
    assert lines[1] == "Memories of alice from this session (3):"
    assert sorted(lines[2:]) == [
        "- I live in Paris  [location]",
        "- I love sushi  [food_preferences]",
        "- My favourite colour is blue  [general]",
    ]

    user = inspector.get_user("alice")
    assert user.metadata == {"source": "blocking_script"}
    session = user.get_session(match.group(1))
    assert session.status == SessionStatus.PROCESSED
    assert [(m.role.value, m.content) for m in session.get_messages()] == [
        ("user", "I live in Paris. I love sushi."),
        ("assistant", "Noted."),
        ("user", "Nice weather today."),
        ("assistant", "Noted."),
        ("user", "My favourite colour is blue!"),
        ("assistant", "Noted."),
    ]


def test_an_existing_user_gets_a_new_session_and_only_its_memories_are_printed(
    example_env: dict[str, str], inspector: RecallrAI
) -> None:
    inspector.create_user("bob", metadata={"kept": True})
    first = run_example("blocking_script", "--user-id", "bob", "I love tea.", env=example_env)
    assert first.returncode == 0, first.stderr
    second = run_example("blocking_script", "--user-id", "bob", "I love jazz.", env=example_env)
    assert second.returncode == 0, second.stderr
    assert second.stdout.splitlines()[1:] == [
        "Memories of bob from this session (1):",
        "- I love jazz  [general]",
    ]
    user = inspector.get_user("bob")
    assert user.metadata == {"kept": True}  # not replaced
    assert len(user.list_sessions().sessions) == 2
    assert user.list_memories().total == 2


@pytest.fixture
def slow_processing(recallrai_emulator: Emulator) -> Iterator[None]:
    before = recallrai_emulator.processing_delay
    recallrai_emulator.processing_delay = 3600.0
    try:
        yield
    finally:
        recallrai_emulator.processing_delay = before  # it survives reset(): put it back


def test_the_wait_is_bounded(example_env: dict[str, str], slow_processing: None) -> None:
    result = run_example(
        "blocking_script", "--user-id", "carol", "--timeout", "0.5", "I love tea.", env=example_env
    )
    assert result.returncode == 1
    assert re.fullmatch(r"error: session \S+ is processing after 0\.5 s\n", result.stderr)


def test_an_sdk_error_is_one_line_and_status_1(
    example_env: dict[str, str], recallrai_emulator: Emulator
) -> None:
    recallrai_emulator.inject_fault(status=401, body={"detail": "Invalid API key"})
    result = run_example("blocking_script", "--user-id", "dave", "Hello.", env=example_env)
    assert result.returncode == 1
    assert result.stderr == "error: Invalid API key\n"  # no traceback, no key
