"""Compatibility: every name of the official package's ``recallrai.models``, as aliases of this
SDK's classes (nothing in the SDK imports this package).

``UNAVAILABLE`` is :data:`recallrai.NOT_LOADED`, the value of a field not fetched yet.
"""

from __future__ import annotations

from recallrai._sentinel import NOT_LOADED as UNAVAILABLE
from recallrai.models import merge_conflict, session, user
from recallrai.models.merge_conflict import *  # noqa: F403 - re-exported as this package's names
from recallrai.models.session import *  # noqa: F403
from recallrai.models.user import *  # noqa: F403

__all__ = ["UNAVAILABLE", *user.__all__, *session.__all__, *merge_conflict.__all__]
