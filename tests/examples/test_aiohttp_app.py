"""examples/aiohttp_app.py: the client on the application (cleanup_ctx), against the emulator.

aiohttp's own test utilities serve the application on a loopback port of the test's event
loop; the application talks to the emulator over loopback HTTP.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest
from aiohttp.test_utils import TestClient, TestServer

from recallrai import AsyncRecallrAI, RecallrAI
from recallrai.emulator import Emulator

from .conftest import EXAMPLES, load_example

pytestmark = pytest.mark.anyio


@pytest.fixture
def example(example_env: dict[str, str]) -> Any:
    """The example's module, with RECALLRAI_* pointing at the emulator."""
    return load_example("aiohttp_app")


@pytest.fixture
async def http(example: Any) -> AsyncIterator[TestClient[Any, Any]]:
    async with TestClient(TestServer(example.create_app(), host="127.0.0.1")) as client:
        yield client


async def test_chat_records_both_sides_and_answers_with_recalled_memories(
    http: TestClient[Any, Any], recallrai_emulator: Emulator, inspector: RecallrAI
) -> None:
    created = await http.post("/users", json={"user_id": "alice", "metadata": {"plan": "pro"}})
    assert created.status == 201
    assert await created.json() == {"user_id": "alice", "metadata": {"plan": "pro"}}

    first = await (await http.post("/users/alice/chat", json={"message": "I love sushi."})).json()
    session_id = first["session_id"]
    assert first["reply"].startswith("You said: I love sushi.")
    second = await (
        await http.post(
            "/users/alice/chat",
            json={"message": "My favourite city is Kyoto.", "session_id": session_id},
        )
    ).json()
    assert second["session_id"] == session_id
    assert "user: I love sushi." in second["reply"]  # the recent messages came back

    assert (await http.post(f"/users/alice/sessions/{session_id}/end")).status == 202
    recallrai_emulator.settle()  # finish processing now

    later = await http.post("/users/alice/chat", json={"message": "What should I eat?"})
    assert later.status == 200
    answer = await later.json()
    assert answer["session_id"] != session_id
    assert "- I love sushi" in answer["reply"] and "- My favourite city is Kyoto" in answer["reply"]

    def stored() -> list[tuple[str, str]]:  # blocking: run it off the event loop
        session = inspector.get_user("alice").get_session(session_id)
        return [(m.role.value, m.content) for m in session.get_messages()]

    assert await anyio.to_thread.run_sync(stored) == [
        ("user", "I love sushi."),
        ("assistant", first["reply"]),
        ("user", "My favourite city is Kyoto."),
        ("assistant", second["reply"]),
    ]


async def test_errors_become_http_answers(
    http: TestClient[Any, Any], recallrai_emulator: Emulator
) -> None:
    assert (await http.post("/users", json={"user_id": "bob"})).status == 201
    again = await http.post("/users", json={"user_id": "bob"})
    assert again.status == 409
    assert "already exists" in (await again.json())["detail"]

    assert (await http.post("/users/nobody/chat", json={"message": "Hello."})).status == 404
    unknown = await http.post("/users/bob/chat", json={"message": "Hi", "session_id": "nope"})
    assert unknown.status == 404

    reply = await (await http.post("/users/bob/chat", json={"message": "Hi."})).json()
    assert (await http.post(f"/users/bob/sessions/{reply['session_id']}/end")).status == 202
    late = await http.post(
        "/users/bob/chat", json={"message": "Hi?", "session_id": reply["session_id"]}
    )
    assert late.status == 409  # no messages once processing started
    fresh = await http.post("/users/bob/chat", json={"message": "Hi.", "session_id": None})
    assert fresh.status == 200 and (await fresh.json())["session_id"] != reply["session_id"]

    bad_bodies: list[object] = [
        {"message": ""},
        {"message": 3},
        [],
        {"message": "x", "session_id": ""},
    ]
    for bad in bad_bodies:
        assert (await http.post("/users/bob/chat", json=bad)).status == 400
    assert (await http.post("/users/bob/chat", data=b"not json")).status == 400
    assert (await http.post("/users", json={"user_id": "eve", "metadata": []})).status == 400

    recallrai_emulator.inject_fault(status=500, method="POST")  # a POST is not retried
    failed = await http.post("/users/bob/chat", json={"message": "Hi."})
    assert failed.status == 502
    assert await failed.json() == {"detail": "the memory service is unavailable"}


async def test_the_client_lives_as_long_as_the_application(
    example: Any, recallrai_emulator: Emulator
) -> None:
    app = example.create_app()
    async with TestClient(TestServer(app, host="127.0.0.1")) as http:
        client = app[example.RECALLRAI]
        assert isinstance(client, AsyncRecallrAI)
        assert client.base_url == recallrai_emulator.base_url
        assert (await http.post("/users", json={"user_id": "carol"})).status == 201
        assert recallrai_emulator.open_connections >= 1  # the pool keeps its connection
    # The cleanup context closed the pool at shutdown: the emulator sees the connection go.
    with anyio.fail_after(5):
        while recallrai_emulator.open_connections:
            await anyio.sleep(0.01)


def test_as_a_server_until_interrupted(example_env: dict[str, str], inspector: RecallrAI) -> None:
    """``python examples/aiohttp_app.py --port N`` serves until SIGINT, then shuts down cleanly."""
    with socket.socket() as probe:  # a free port (released just before the server takes it)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-W", "error::ResourceWarning", str(EXAMPLES / "aiohttp_app.py")]
    with subprocess.Popen(
        [*command, "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=example_env,
    ) as server:
        try:
            body = json.dumps({"user_id": "frank"}).encode()
            deadline = time.monotonic() + 30
            while True:
                try:
                    with urllib.request.urlopen(
                        f"http://127.0.0.1:{port}/users", data=body, timeout=5
                    ) as answer:
                        assert answer.status == 201
                        break
                except urllib.error.URLError:  # not listening yet
                    assert server.poll() is None, server.communicate()
                    assert time.monotonic() < deadline, "the server did not start"
                    time.sleep(0.1)
        finally:
            server.send_signal(signal.SIGINT)
            try:
                stdout, stderr = server.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                raise
    assert server.returncode == 0, stderr
    assert f"Running on http://127.0.0.1:{port}" in stdout
    assert stderr == ""  # no ResourceWarning: the cleanup context closed the client
    assert inspector.get_user("frank").user_id == "frank"
