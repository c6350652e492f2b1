"""Fault injection and the lifecycle of the emulator (async, thread, CLI,
pytest fixtures)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import aiohttp
import pytest

from recallrai.emulator import Emulator

from ._support import Api


def urllib_call(
    emu: Emulator, method: str, path: str, body: object = None, *, api_key: str | None = None
) -> tuple[int, bytes]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        emu.base_url + path,
        data=data,
        method=method,
        headers={
            "X-Recallr-Api-Key": api_key or emu.api_key,
            "X-Recallr-Project-Id": emu.project_id,
            "Content-Type": "application/json",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.read()


def connection_refused(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/api/v1/users", timeout=2):
            return False
    except urllib.error.HTTPError as exc:
        exc.close()
        return False
    except urllib.error.URLError as exc:
        return isinstance(exc.reason, ConnectionRefusedError)


# -- fault injection ------------------------------------------------------------


@pytest.mark.anyio
async def test_injected_fault_then_normal_answer(api: Api) -> None:
    await api.create_user("u1")
    api.emulator.inject_fault(503, body=b'{"detail":"busy"}', headers={"Retry-After": "0"}, times=2)
    for _ in range(2):
        reply = await api.request("GET", "/api/v1/users/u1")
        assert reply.status == 503
        assert reply.body == b'{"detail":"busy"}'
        assert reply.headers["Retry-After"] == "0"
        assert reply.content_type == "application/json"
    assert api.emulator.pending_faults == 0
    reply = await api.request("GET", "/api/v1/users/u1")
    assert reply.status == 200
    assert [r.raw_path for r in api.emulator.requests[-3:]] == ["/api/v1/users/u1"] * 3


@pytest.mark.anyio
async def test_fault_matching_by_method_and_path_prefix(api: Api) -> None:
    api.emulator.inject_fault(429, method="POST", path_prefix="/api/v1/users")
    api.emulator.inject_fault(500, method="get", path_prefix="/api/v1/users/x")

    assert (await api.request("GET", "/api/v1/users")).status == 200
    assert (await api.request("GET", "/api/v1/users/y")).status == 404
    assert api.emulator.pending_faults == 2

    limited = await api.request("POST", "/api/v1/users", json_body={"custom_user_id": "x"})
    assert limited.status == 429
    assert limited.json() == {"detail": "Too Many Requests"}
    assert (await api.request("GET", "/api/v1/users/x")).status == 500
    assert api.emulator.pending_faults == 0
    # the faulted POST did not create the user
    assert (await api.request("GET", "/api/v1/users/x")).status == 404


@pytest.mark.anyio
async def test_fault_with_text_body_and_custom_content_type(api: Api) -> None:
    api.emulator.inject_fault(502, body="<html>bad gateway</html>", content_type="text/html")
    reply = await api.request("GET", "/api/v1/users", headers={})
    assert reply.status == 502
    assert reply.content_type == "text/html"
    assert reply.body == b"<html>bad gateway</html>"


@pytest.mark.anyio
async def test_fault_with_mapping_body_and_delay(api: Api) -> None:
    api.emulator.inject_fault(500, body={"detail": "boom"}, delay=0.2)
    started = time.monotonic()
    reply = await api.request("GET", "/api/v1/users")
    assert time.monotonic() - started >= 0.2
    assert reply.status == 500
    assert reply.json() == {"detail": "boom"}


@pytest.mark.anyio
async def test_injected_disconnect_drops_the_connection(api: Api) -> None:
    api.emulator.inject_disconnect(times=1, method="POST")
    with pytest.raises(aiohttp.ClientError):
        await api.request("POST", "/api/v1/users", json_body={"custom_user_id": "u1"})
    assert api.emulator.requests[-1].method == "POST"
    assert api.emulator.pending_faults == 0
    # the server keeps working and the dropped request changed nothing
    reply = await api.request("GET", "/api/v1/users")
    assert reply.json()["total"] == 0
    assert (
        await api.request("POST", "/api/v1/users", json_body={"custom_user_id": "u1"})
    ).status == 201


def test_fault_times_must_be_positive(recallrai_emulator: Emulator) -> None:
    with pytest.raises(ValueError):
        recallrai_emulator.inject_fault(503, times=0)


# -- constructor options ----------------------------------------------------------


def test_cli_rejects_bad_arguments() -> None:
    bad_key = subprocess.run(
        [sys.executable, "-m", "recallrai.emulator", "--port", "0", "--api-key", "sk_x"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert bad_key.returncode == 2
    assert bad_key.stdout == ""
    assert "rai_" in bad_key.stderr and "Traceback" not in bad_key.stderr


@pytest.mark.anyio
async def test_request_log_can_be_disabled() -> None:
    async with Emulator(record_requests=False) as emu, aiohttp.ClientSession() as session:
        api = Api(session, emu)
        await api.create_user("u1")
        assert emu.requests == []


def test_api_keys_restrict_accepted_keys() -> None:
    with Emulator(api_keys=["rai_one", "rai_two"]).run_in_thread() as emu:
        assert emu.api_key == "rai_one"
        assert urllib_call(emu, "GET", "/api/v1/users")[0] == 200
        assert urllib_call(emu, "GET", "/api/v1/users", api_key="rai_two")[0] == 200
        status, body = urllib_call(emu, "GET", "/api/v1/users", api_key="rai_three")
        assert (status, json.loads(body)) == (401, {"detail": "Invalid API key"})


def test_constructor_validation() -> None:
    with pytest.raises(ValueError):
        Emulator(api_key="not_rai")
    with pytest.raises(ValueError):
        Emulator(api_keys=["rai_a"], api_key="rai_b")
    with pytest.raises(ValueError):
        Emulator(api_keys=[])
    emu = Emulator(project_id="proj-x")
    assert emu.api_key == "rai_emulator_key"
    assert emu.project_id == "proj-x"
    assert not emu.running
    with pytest.raises(RuntimeError):
        _ = emu.base_url


# -- lifecycles -------------------------------------------------------------------


@pytest.mark.anyio
async def test_async_context_manager() -> None:
    async with Emulator() as emu, aiohttp.ClientSession() as session:
        assert emu.running
        assert emu.base_url == f"http://127.0.0.1:{emu.port}"
        assert emu.port > 0
        api = Api(session, emu)
        await api.create_user("u1")
        assert (await api.request("GET", "/api/v1/users/u1")).status == 200
        url = emu.base_url
    assert not emu.running
    with pytest.raises(aiohttp.ClientConnectionError):
        async with aiohttp.ClientSession() as session, session.get(url + "/api/v1/users"):
            pass
    await emu.stop()  # idempotent


def test_thread_mode_serves_and_stops_cleanly() -> None:
    threads_before = set(threading.enumerate())
    with Emulator().run_in_thread() as emu:
        url = emu.base_url
        status, body = urllib_call(emu, "POST", "/api/v1/users", {"custom_user_id": "u1"})
        assert status == 201
        assert json.loads(body)["user"]["custom_user_id"] == "u1"
        assert urllib_call(emu, "GET", "/api/v1/users/u1")[0] == 200
        assert [r.method for r in emu.requests] == ["POST", "GET"]
    assert not emu.running
    assert set(threading.enumerate()) == threads_before
    assert connection_refused(url)
    emu.stop_thread()  # idempotent


def test_start_and_stop_thread_explicitly() -> None:
    emu = Emulator()
    emu.start_in_thread()
    try:
        with pytest.raises(RuntimeError):
            emu.start_in_thread()
        assert urllib_call(emu, "GET", "/api/v1/users")[0] == 200
    finally:
        emu.stop_thread()
    assert not emu.running


def test_thread_start_failure_is_raised(recallrai_emulator: Emulator) -> None:
    taken_port = recallrai_emulator.port
    with pytest.raises(OSError):
        Emulator(port=taken_port).start_in_thread()


# -- pytest fixtures --------------------------------------------------------------


def test_fixture_is_the_shared_server(
    recallrai_emulator: Emulator, recallrai_emulator_server: Emulator
) -> None:
    assert recallrai_emulator is recallrai_emulator_server
    assert recallrai_emulator.running


def test_fixture_leaves_state_behind_for_next_test(recallrai_emulator: Emulator) -> None:
    assert (
        urllib_call(recallrai_emulator, "POST", "/api/v1/users", {"custom_user_id": "left"})[0]
        == 201
    )
    recallrai_emulator.inject_fault(500, times=5)
    assert recallrai_emulator.requests


def test_fixture_was_reset_before_this_test(recallrai_emulator: Emulator) -> None:
    # runs right after the previous test, which left data, requests and a fault
    assert recallrai_emulator.requests == []
    assert recallrai_emulator.pending_faults == 0
    status, body = urllib_call(recallrai_emulator, "GET", "/api/v1/users/left")
    assert (status, json.loads(body)) == (404, {"detail": "User left not found"})


# -- command line -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("signum", "api_key"), [(signal.SIGTERM, None), (signal.SIGINT, "rai_cli_only")]
)
def test_cli_prints_url_first_and_stops_cleanly(signum: int, api_key: str | None) -> None:
    extra = [] if api_key is None else ["--api-key", api_key]
    proc = subprocess.Popen(
        [sys.executable, "-m", "recallrai.emulator", "--host", "127.0.0.1", "--port", "0", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first_line = proc.stdout.readline()
        assert first_line.startswith("http://127.0.0.1:")
        url = first_line.rstrip("\n")
        port = int(url.rsplit(":", 1)[1])
        assert port > 0 and first_line == url + "\n"

        def create(key: str) -> int:
            request = urllib.request.Request(
                url + "/api/v1/users",
                data=b'{"custom_user_id":"cli"}',
                method="POST",
                headers={"X-Recallr-Api-Key": key, "X-Recallr-Project-Id": "p"},
            )
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    return int(response.status)
            except urllib.error.HTTPError as exc:
                with exc:
                    return exc.code

        if api_key is None:
            assert create("rai_anything") == 201
            assert create("rai_anything") == 409
        else:
            assert create("rai_someone_else") == 401
            assert create(api_key) == 201

        proc.send_signal(signum)
        stdout, stderr = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0
    assert stdout == ""
    assert "Traceback" not in stderr
    assert stderr == ""
    assert connection_refused(url)
