"""Background work of the emulated service: session processing
(``_sessions``) and merge-conflict resolution (``_merge_conflicts``).

Nothing runs on a timer. Before every request, and in :func:`settle`,
:func:`advance` brings a project up to the emulator's current time: each
area moves its records along (auto-processing starts, a queued resolution
becomes ``RESOLVING``) and hands back the work that is due; that work is
then finished in the order it fell due, so a resolution and a session
processing that touch the same memory apply in the order they would on the
service.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from recallrai.emulator import _merge_conflicts, _sessions

if TYPE_CHECKING:
    from recallrai.emulator._store import ProjectStore, Store

__all__ = ["advance", "settle"]


def advance(project: ProjectStore, *, finish_all: bool = False) -> None:
    """Finish the work of *project* that is due (all of it with *finish_all*).

    Work finished early by *finish_all* completes at the current time, not at
    its later deadline. Call with the store lock held.
    """
    now = project.clock()
    due = [
        *_sessions.due_work(project, now, finish_all=finish_all),
        *_merge_conflicts.due_work(project, now, finish_all=finish_all),
    ]
    due.sort(key=lambda item: (item.at, item.seq))
    for item in due:
        item.finish(min(item.at, now))


def settle(store: Store) -> None:
    """Finish every due and every running piece of work now, in every project."""
    with store.lock:
        for project in store.projects():
            advance(project, finish_all=True)
