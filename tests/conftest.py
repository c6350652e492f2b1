"""Shared pytest configuration for the whole test suite."""

from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    """Run ``@pytest.mark.anyio`` tests on asyncio only (the SDK is asyncio-based)."""
    return "asyncio"
