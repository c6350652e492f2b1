"""recallrai_sync: the blocking facade of :mod:`recallrai`.

Every class here is generated from its async twin (see ``_codegen.py``) and runs
the async core on one background event-loop thread per client.
"""

from __future__ import annotations

from ._generated import *  # noqa: F403 - the generated module's __all__ is this package's API
from ._generated import __all__ as __all__
