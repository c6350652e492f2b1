"""Compatibility: the official package's ``recallrai.async_client`` path for :class:`recallrai.AsyncRecallrAI`."""

from __future__ import annotations

from recallrai._client import AsyncRecallrAI

__all__ = [
    "AsyncRecallrAI",
]
