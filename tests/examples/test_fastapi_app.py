"""examples/fastapi_app.py: the lifespan's client, served through Depends, against the emulator.

FastAPI's TestClient runs the app's lifespan (so the client is created, used and closed
on the TestClient's event loop, as under a real server) and the app talks to the emulator
over loopback HTTP.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient

from recallrai import AsyncRecallrAI, RecallrAI
from recallrai.emulator import Emulator

from .conftest import load_example


@pytest.fixture
def example(example_env: dict[str, str]) -> Any:
    """The example's module, with RECALLRAI_* pointing at the emulator."""
    return load_example("fastapi_app")


def test_chat_records_both_sides_and_answers_with_recalled_memories(
    example: Any, recallrai_emulator: Emulator, inspector: RecallrAI
) -> None:
    with TestClient(example.app) as http:
        created = http.post("/users", json={"user_id": "alice", "metadata": {"plan": "pro"}})
        assert created.status_code == 201
        assert created.json() == {"user_id": "alice", "metadata": {"plan": "pro"}}

        first = http.post("/users/alice/chat", json={"message": "I love sushi."})
        assert first.status_code == 200, first.text
        session_id = first.json()["session_id"]
        assert first.json()["reply"].startswith("You said: I love sushi.")
        second = http.post(
            "/users/alice/chat",
            json={"message": "My favourite city is Kyoto.", "session_id": session_id},
        )
        assert second.json()["session_id"] == session_id
        assert "user: I love sushi." in second.json()["reply"]  # the recent messages came back

        ended = http.post(f"/users/alice/sessions/{session_id}/end")
        assert ended.status_code == 202
        recallrai_emulator.settle()  # finish processing now

        later = http.post("/users/alice/chat", json={"message": "What should I eat tonight?"})
        assert later.status_code == 200
        assert later.json()["session_id"] != session_id
        reply = later.json()["reply"]
        assert "- I love sushi" in reply and "- My favourite city is Kyoto" in reply

    # What the service holds: both sides of every turn, in order, in the right sessions.
    user = inspector.get_user("alice")
    assert user.metadata == {"plan": "pro"}
    messages = [
        (m.role.value, m.content) for m in user.get_session(session_id).get_messages(limit=50)
    ]
    assert messages == [
        ("user", "I love sushi."),
        ("assistant", first.json()["reply"]),
        ("user", "My favourite city is Kyoto."),
        ("assistant", second.json()["reply"]),
    ]
    later_session = user.get_session(later.json()["session_id"])
    assert later_session.metadata == {"channel": "api"}
    assert [m.content for m in later_session.get_messages()] == [
        "What should I eat tonight?",
        reply,
    ]


def test_sdk_errors_become_http_answers(example: Any, recallrai_emulator: Emulator) -> None:
    with TestClient(example.app) as http:
        assert http.post("/users", json={"user_id": "bob"}).status_code == 201
        again = http.post("/users", json={"user_id": "bob"})
        assert again.status_code == 409
        assert "already exists" in again.json()["detail"]

        missing = http.post("/users/nobody/chat", json={"message": "Hello."})
        assert missing.status_code == 404
        bad_session = http.post(
            "/users/bob/chat", json={"message": "Hello.", "session_id": "no-such-session"}
        )
        assert bad_session.status_code == 404

        session_id = http.post("/users/bob/chat", json={"message": "Hi."}).json()["session_id"]
        assert http.post(f"/users/bob/sessions/{session_id}/end").status_code == 202
        closed = http.post("/users/bob/chat", json={"message": "Hi?", "session_id": session_id})
        assert closed.status_code == 409  # no messages once processing started

        assert http.post("/users/bob/chat", json={"message": ""}).status_code == 422  # pydantic

        recallrai_emulator.inject_fault(status=500, method="POST")  # not retried
        failed = http.post("/users/bob/chat", json={"message": "Hi."})
        assert failed.status_code == 502
        assert failed.json() == {"detail": "the memory service is unavailable"}


def test_the_client_lives_for_the_lifespan_and_comes_from_depends(
    example: Any, recallrai_emulator: Emulator
) -> None:
    with TestClient(example.app) as http:
        client = example.app.state.recallrai
        assert isinstance(client, AsyncRecallrAI)
        assert client.base_url == recallrai_emulator.base_url
        http.post("/users", json={"user_id": "carol"})
        http.post("/users/carol/chat", json={"message": "Hi."})
        assert recallrai_emulator.open_connections >= 1  # the pool keeps its connection
    # Shutdown closed the pool: the emulator sees the connection go.
    _wait_for(lambda: recallrai_emulator.open_connections == 0)

    # Depends() is the seam: an override reaches the endpoints.
    class FakeClient:
        async def create_user(self, user_id: str, metadata: Any = None) -> Any:
            return SimpleNamespace(user_id=user_id, metadata={"fake": True})

    sent = len(recallrai_emulator.requests)
    example.app.dependency_overrides[example.get_recallrai] = FakeClient
    try:
        with TestClient(example.app) as http:
            answer = http.post("/users", json={"user_id": "dave"})
            assert answer.json() == {"user_id": "dave", "metadata": {"fake": True}}
    finally:
        example.app.dependency_overrides.clear()
    assert len(recallrai_emulator.requests) == sent  # the real client sent nothing


def _wait_for(condition: Any, timeout: float = 5.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)
