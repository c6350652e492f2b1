"""The emulator's pytest fixtures, under their former module path.

The plugin is :mod:`recallrai.pytest_plugin`, registered as ``recallrai`` when the
package is installed. This module, which imports the emulator eagerly, only keeps
``-p recallrai.emulator.pytest_plugin`` working.
"""

from __future__ import annotations

from recallrai.pytest_plugin import (
    async_recallrai_client,
    recallrai_client,
    recallrai_emulator,
    recallrai_emulator_server,
)

__all__ = [
    "async_recallrai_client",
    "recallrai_client",
    "recallrai_emulator",
    "recallrai_emulator_server",
]
