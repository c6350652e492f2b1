"""The committed facade is exactly what the generator makes from the current async core."""

from __future__ import annotations

import inspect

import recallrai
import recallrai_sync
from recallrai_sync import _codegen


def test_generated_facade_is_current() -> None:
    committed = _codegen.OUTPUT.read_text(encoding="utf-8")
    assert committed == _codegen.generate(), (
        "recallrai_sync/_generated.py is stale: run `python -m recallrai_sync._codegen`"
    )


def test_check_mode_reports_staleness(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    stale = tmp_path / "_generated.py"
    stale.write_text("# stale\n", encoding="utf-8")
    monkeypatch.setattr(_codegen, "OUTPUT", stale)
    assert _codegen.main(["--check"]) == 1
    assert _codegen.main([]) == 0
    assert _codegen.main(["--check"]) == 0


def test_every_public_async_method_has_a_sync_twin() -> None:
    for async_cls, sync_name in _codegen.MIRRORS.items():
        sync_cls = getattr(recallrai_sync, sync_name)
        for name, member in vars(async_cls).items():
            if name.startswith("_"):
                continue
            assert hasattr(sync_cls, name), f"{sync_name}.{name} is missing"
            twin = getattr(sync_cls, name)
            if inspect.isfunction(member):
                assert not inspect.iscoroutinefunction(twin)
                async_params = list(inspect.signature(member).parameters)
                assert list(inspect.signature(twin).parameters) == async_params
                assert inspect.getdoc(twin), f"{sync_name}.{name} lost its docstring"


def test_sync_client_is_importable_from_the_core_package() -> None:
    assert recallrai.RecallrAI is recallrai_sync.RecallrAI
