"""The pytest plugin: cheap to register, with ready clients of the emulator, and easy to disable.

The fixtures are used here the way users use them (the suite runs with the installed plugin);
what happens before and after a test is observed in child pytest runs in a scratch directory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from recallrai import AsyncRecallrAI, RecallrAI
from recallrai.emulator import Emulator

# What registering the plugin must not import (it loads them when a fixture is used).
HEAVY = {"aiohttp", "recallrai.emulator", "recallrai._client", "recallrai_sync"}
# Not even anyio, which anyio's own plugin imports when it is autoloaded.
HEAVY_ALONE = HEAVY | {"anyio"}

RECORD_MODULES = '''
import json, sys
from pathlib import Path

def pytest_collection_finish(session):
    """What the plugins loaded before any test or fixture ran."""
    pluginmanager = session.config.pluginmanager
    Path(__file__).with_name("startup.json").write_text(json.dumps({
        "modules": sorted(sys.modules),
        "registered": pluginmanager.has_plugin("recallrai"),
    }))
'''


def _run_pytest(
    directory: Path, files: dict[str, str], *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """A child ``python -m pytest`` over *files* in *directory*, its own rootdir."""
    (directory / "pytest.ini").write_text("[pytest]\n")
    for name, source in files.items():
        (directory / name).write_text(textwrap.dedent(source))
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    child_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=directory,
        env=child_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _startup(directory: Path) -> dict[str, object]:
    loaded: dict[str, object] = json.loads((directory / "startup.json").read_text())
    return loaded


# --------------------------------------------------------------------------- the fixtures


def test_recallrai_client_is_a_blocking_client_of_the_emulator(
    recallrai_client: RecallrAI, recallrai_emulator: Emulator
) -> None:
    assert type(recallrai_client) is RecallrAI
    assert recallrai_client.base_url == recallrai_emulator.base_url
    assert recallrai_client.project_id == recallrai_emulator.project_id
    recallrai_client.create_user("plugin-sync", metadata={"via": "fixture"})
    assert recallrai_client.get_user("plugin-sync").metadata == {"via": "fixture"}
    assert [(r.method, r.raw_path) for r in recallrai_emulator.requests] == [
        ("POST", "/api/v1/users"),
        ("GET", "/api/v1/users/plugin-sync"),
    ]


@pytest.mark.anyio
async def test_async_recallrai_client_is_an_asyncio_client_of_the_emulator(
    async_recallrai_client: AsyncRecallrAI, recallrai_emulator: Emulator
) -> None:
    assert type(async_recallrai_client) is AsyncRecallrAI
    assert async_recallrai_client.base_url == recallrai_emulator.base_url
    assert async_recallrai_client.project_id == recallrai_emulator.project_id
    await async_recallrai_client.create_user("plugin-async")
    assert [u.user_id async for u in async_recallrai_client.list_users()] == ["plugin-async"]
    assert recallrai_emulator.requests[0].method == "POST"


def test_each_test_starts_from_an_empty_emulator(recallrai_client: RecallrAI) -> None:
    # The two tests above created users; the fixture resets the shared emulator first.
    assert list(recallrai_client.list_users()) == []


CLOSED_AFTER_THE_TEST = """
import pytest
from recallrai.exceptions import ConnectionError

kept = {}

def test_use_the_blocking_client(recallrai_client):
    recallrai_client.create_user("a")
    kept["sync"] = recallrai_client

def test_the_blocking_client_was_closed_after_that_test():
    with pytest.raises(ConnectionError, match="The client is closed"):
        kept["sync"].get_user("a")

@pytest.mark.anyio
async def test_use_the_async_client(async_recallrai_client):
    await async_recallrai_client.create_user("b")
    kept["async"] = async_recallrai_client

@pytest.mark.anyio
async def test_the_async_client_was_closed_after_that_test():
    with pytest.raises(ConnectionError, match="The client is closed"):
        await kept["async"].get_user("b")
"""


def test_both_clients_are_closed_after_the_test(tmp_path: Path) -> None:
    result = _run_pytest(
        tmp_path, {"test_closing.py": CLOSED_AFTER_THE_TEST}, "-W", "error::ResourceWarning"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 passed" in result.stdout


# --------------------------------------------------------------------------- registration


def test_registering_the_plugin_imports_nothing_heavy(tmp_path: Path) -> None:
    files = {
        "conftest.py": RECORD_MODULES,
        "test_plain.py": "def test_without_fixtures():\n    pass\n",
    }
    result = _run_pytest(tmp_path, files)
    assert result.returncode == 0, result.stdout + result.stderr
    startup = _startup(tmp_path)
    assert startup["registered"] is True  # through the pytest11 entry point
    modules = set(startup["modules"])  # type: ignore[call-overload]
    assert "recallrai.pytest_plugin" in modules
    assert not modules & HEAVY, sorted(modules & HEAVY)


def test_only_the_plugin_loads_nothing_heavy(tmp_path: Path) -> None:
    """Without the other installed plugins: nothing at all imports aiohttp or the emulator."""
    files = {"conftest.py": RECORD_MODULES, "test_plain.py": "def test_plain():\n    pass\n"}
    result = _run_pytest(
        tmp_path,
        files,
        "-p",
        "recallrai.pytest_plugin",
        env={"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    modules = set(_startup(tmp_path)["modules"])  # type: ignore[call-overload]
    assert "recallrai.pytest_plugin" in modules
    assert not modules & HEAVY_ALONE, sorted(modules & HEAVY_ALONE)


USES_THE_EMULATOR = """
import sys

def test_the_emulator_loads_on_first_use(recallrai_emulator):
    assert "recallrai.emulator" in sys.modules and "aiohttp" in sys.modules
    assert recallrai_emulator.running
"""


def test_the_emulator_loads_when_a_fixture_is_used(tmp_path: Path) -> None:
    result = _run_pytest(tmp_path, {"test_uses.py": USES_THE_EMULATOR})
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_plugin_is_disabled_with_p_no_recallrai(tmp_path: Path) -> None:
    files = {"conftest.py": RECORD_MODULES, "test_uses.py": USES_THE_EMULATOR}
    result = _run_pytest(tmp_path, files, "-p", "no:recallrai")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "fixture 'recallrai_emulator' not found" in result.stdout
    startup = _startup(tmp_path)
    assert startup["registered"] is False
    assert "recallrai.pytest_plugin" not in startup["modules"]  # type: ignore[operator]


def test_with_autoload_disabled_it_is_enabled_with_p(tmp_path: Path) -> None:
    files = {"test_uses.py": USES_THE_EMULATOR}
    env = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    result = _run_pytest(tmp_path, files, env=env)
    assert "fixture 'recallrai_emulator' not found" in result.stdout
    result = _run_pytest(tmp_path, files, "-p", "recallrai.pytest_plugin", env=env)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_former_module_path_still_provides_the_fixtures(tmp_path: Path) -> None:
    result = _run_pytest(
        tmp_path,
        {"test_uses.py": USES_THE_EMULATOR},
        "-p",
        "recallrai.emulator.pytest_plugin",
        env={"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
