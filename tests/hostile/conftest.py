"""The hostile server every test module here shares (one per module)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .servers import HostileServer


@pytest.fixture(scope="module")
def server() -> Iterator[HostileServer]:
    with HostileServer() as running:
        yield running
