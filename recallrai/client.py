"""Compatibility: the official package's ``recallrai.client`` path for :class:`recallrai_sync.RecallrAI`."""

from __future__ import annotations

from recallrai_sync import RecallrAI

__all__ = [
    "RecallrAI",
]
