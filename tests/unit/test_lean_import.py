"""``import recallrai`` is cheap: names load on first use, heavy libraries only when needed."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import recallrai

HEAVY = ["asyncio", "aiohttp", "httpx", "attrs", "cattrs", "anyio", "typing", "recallrai_sync"]


def _modules_after(code: str) -> set[str]:
    script = f"import sys, json\n{code}\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    return set(json.loads(result.stdout.splitlines()[-1]))


def test_import_recallrai_loads_nothing_heavy() -> None:
    loaded = _modules_after("import recallrai")
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))
    assert not {m for m in loaded if m.startswith("recallrai.")} - {"recallrai._version"}


def test_the_async_client_does_not_load_the_transports_or_the_facade() -> None:
    loaded = _modules_after("from recallrai import AsyncRecallrAI")
    assert "recallrai._client" in loaded
    assert not loaded & {"aiohttp", "httpx", "recallrai_sync", "recallrai.emulator", "anyio"}


@pytest.mark.parametrize("name", sorted(recallrai.__all__))
def test_every_public_name_resolves_and_is_listed(name: str) -> None:
    value = getattr(recallrai, name)
    assert value is getattr(recallrai, name)  # cached after the first lookup
    assert name in dir(recallrai)


def test_unknown_names_raise_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        recallrai.nope  # noqa: B018
