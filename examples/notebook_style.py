"""Notebook-style use: both clients inside an event loop that is already running.

A Jupyter (IPython) kernel runs every cell inside one event loop that never stops. Two
things follow, and both work with this SDK:

* top-level ``await`` with ``AsyncRecallrAI``: create the client in one cell and keep using
  it in the next ones; it belongs to the kernel's loop, which they all share;
* the blocking ``RecallrAI`` too, although a loop is running (where ``asyncio.run()`` would
  fail): it runs its calls on an event-loop thread of its own, so nothing like
  ``nest_asyncio`` is needed. A blocking call does block the cell's loop while it waits.

This script simulates a notebook: :func:`notebook` is the kernel's loop, and each ``# In
[n]`` block is a cell (in Jupyter you would type the body of each block as it is, with
``await`` at the top level).

Run it against the local emulator::

    python -m recallrai.emulator &          # serves http://127.0.0.1:8765, any rai_ key
    export RECALLRAI_API_KEY=rai_local RECALLRAI_PROJECT_ID=demo
    export RECALLRAI_BASE_URL=http://127.0.0.1:8765
    python examples/notebook_style.py

Tested by ``tests/examples/test_notebook_style.py``.
"""

from __future__ import annotations

import asyncio
import contextlib

from recallrai import AsyncRecallrAI, RecallrAI
from recallrai.exceptions import UserAlreadyExistsError


async def notebook(user_id: str = "notebook_user") -> None:
    # In [1]: an async client, with top-level await. Credentials and base URL from
    #         RECALLRAI_API_KEY, RECALLRAI_PROJECT_ID and RECALLRAI_BASE_URL.
    client = AsyncRecallrAI()
    with contextlib.suppress(UserAlreadyExistsError):
        await client.create_user(user_id, metadata={"from": "notebook"})
    user = await client.get_user(user_id)
    print("In [1]:", user.user_id, user.metadata)

    # In [2]: a later cell reuses the client: same kernel loop, same connection pool.
    session = await user.create_session(metadata={"cell": 2})
    await session.add_message("user", "I love sushi.")
    await session.add_message("assistant", "Noted!")
    context = await session.get_context(last_n_messages=5, include_system_prompt=False)
    print("In [2]:", context.context)

    # In [3]: the blocking client in the same running loop (asyncio.run() would refuse).
    asyncio.get_running_loop()  # a loop is running here, as in every notebook cell
    blocking = RecallrAI()
    messages = blocking.get_user(user_id).get_session(session.session_id).get_messages()
    print("In [3]:", [(m.role.value, m.content) for m in messages])

    # In [4]: browse with `async for`, every page.
    sessions = [s.session_id async for s in user.list_sessions(limit=10)]
    print("In [4]:", len(sessions), "session(s)")

    # In [5]: clean up before shutting the kernel down.
    await client.close()
    blocking.close()
    print("In [5]: closed")


if __name__ == "__main__":
    asyncio.run(notebook())
