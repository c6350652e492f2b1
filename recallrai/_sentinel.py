"""The marker for fields of a resource that was referenced but not fetched yet."""

from __future__ import annotations

import enum
from typing import Literal

__all__ = ["NOT_LOADED", "NotLoaded"]


class NotLoaded(enum.Enum):
    """Type of :data:`NOT_LOADED`: a field not known until ``refresh()`` (``get_user(validate=False)``)."""

    NOT_LOADED = "NOT_LOADED"

    def __bool__(self) -> Literal[False]:
        return False

    def __repr__(self) -> str:
        return "NOT_LOADED"


NOT_LOADED = NotLoaded.NOT_LOADED
