"""Fixtures of the unit tests: a respx router standing in for the API and a client factory.

Every unit test talks to the SDK through its httpx transport with respx
intercepting the requests, so nothing leaves the process.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import respx

from recallrai import AsyncRecallrAI

BASE_URL = "http://127.0.0.1:9"
API_KEY = "rai_unit_test_secret_3f9a7c1e"
PROJECT_ID = "0f8e2d4c-project"


def _wire_user(user_id: str = "u1", **overrides: Any) -> dict[str, Any]:
    user: dict[str, Any] = {
        "custom_user_id": user_id,
        "metadata": {},
        "merge_conflict_enabled": None,
        "created_at": "2025-01-01T00:00:00Z",
        "last_active_at": "2025-01-02T03:04:05Z",
    }
    user.update(overrides)
    return user


@pytest.fixture
def wire_user() -> Callable[..., dict[str, Any]]:
    """Factory of a bare wire user record: ``wire_user("u1", metadata={...})``."""
    return _wire_user


@pytest.fixture
def api_key() -> str:
    return API_KEY


@pytest.fixture
def project_id() -> str:
    return PROJECT_ID


@pytest.fixture
def base_url() -> str:
    return BASE_URL


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    """A respx router for the test API; unmatched requests fail the test."""
    with respx.mock(base_url=BASE_URL, assert_all_called=False, assert_all_mocked=True) as router:
        yield router


@pytest.fixture
def new_client() -> Callable[..., AsyncRecallrAI]:
    """Factory of clients on the httpx transport, without retries unless asked for."""

    def make(**overrides: Any) -> AsyncRecallrAI:
        options: dict[str, Any] = {
            "api_key": API_KEY,
            "project_id": PROJECT_ID,
            "base_url": BASE_URL,
            "transport": "httpx",
            "max_retries": 0,
        }
        options.update(overrides)
        return AsyncRecallrAI(**options)

    return make
