"""NOT_LOADED, the value of a field not fetched yet (recallrai._sentinel)."""

from __future__ import annotations

from recallrai._sentinel import NOT_LOADED, NotLoaded


def test_not_loaded_is_false_and_prints_its_name():
    assert bool(NOT_LOADED) is False
    assert not NOT_LOADED
    assert repr(NOT_LOADED) == "NOT_LOADED"
    assert NOT_LOADED is NotLoaded.NOT_LOADED
