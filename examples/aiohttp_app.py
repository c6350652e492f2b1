"""An aiohttp.web chat service with memory: the client lives on the application.

What it shows:

* one ``AsyncRecallrAI`` per application, created and closed by a *cleanup context*
  (``app.cleanup_ctx``): it is created on the server's event loop at start-up and its
  connection pool closed at shutdown; handlers reach it as ``request.app[RECALLRAI]``
  (a typed ``web.AppKey``);
* ``POST /users/{user_id}/chat`` (JSON ``{"message": ..., "session_id": optional}``)
  records the user's message in a session, asks RecallrAI for the context, answers with a
  stubbed LLM (:func:`stub_llm` echoes what it was given), records the answer and returns
  it; ``POST /users`` creates a user; ``POST /users/{user_id}/sessions/{session_id}/end``
  hands the conversation over to be turned into memories;
* one middleware turns SDK errors into HTTP answers.

Run it against the local emulator::

    python -m recallrai.emulator &          # serves http://127.0.0.1:8765, any rai_ key
    export RECALLRAI_API_KEY=rai_local RECALLRAI_PROJECT_ID=demo
    export RECALLRAI_BASE_URL=http://127.0.0.1:8765
    python examples/aiohttp_app.py --port 8080

    curl -X POST localhost:8080/users -d '{"user_id": "alice"}'
    curl -X POST localhost:8080/users/alice/chat -d '{"message": "I love sushi."}'

Against the real service, set only ``RECALLRAI_API_KEY`` and ``RECALLRAI_PROJECT_ID``.
Tested by ``tests/examples/test_aiohttp_app.py``.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiohttp import web

from recallrai import AsyncRecallrAI, AsyncSession, MessageRole
from recallrai.exceptions import (
    InvalidSessionStateError,
    RecallrAIError,
    SessionNotFoundError,
    UserAlreadyExistsError,
    UserNotFoundError,
    ValidationError,
)

RECALLRAI = web.AppKey("recallrai", AsyncRecallrAI)

routes = web.RouteTableDef()


def stub_llm(context: str, message: str) -> str:
    """Stands in for a real model: a real app sends ``context`` as the system prompt."""
    return f"You said: {message}\nWhat I was told before answering:\n{context}"


async def recallrai_client(app: web.Application) -> AsyncIterator[None]:
    """Cleanup context: the client for the application's lifetime."""
    # Credentials and base URL from RECALLRAI_API_KEY, RECALLRAI_PROJECT_ID, RECALLRAI_BASE_URL.
    async with AsyncRecallrAI() as client:
        app[RECALLRAI] = client
        yield


async def json_object(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except json.JSONDecodeError:
        raise web.HTTPBadRequest(text="the body must be JSON") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="the body must be a JSON object")
    return body


def text_field(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise web.HTTPBadRequest(text=f"{name!r} must be a non-empty string")
    return value


@routes.post("/users")
async def create_user(request: web.Request) -> web.Response:
    body = await json_object(request)
    user_id = text_field(body, "user_id")
    metadata = body.get("metadata", {})
    if not isinstance(metadata, dict):
        raise web.HTTPBadRequest(text="'metadata' must be an object")
    user = await request.app[RECALLRAI].create_user(user_id, metadata=metadata)
    return web.json_response({"user_id": user.user_id, "metadata": user.metadata}, status=201)


@routes.post("/users/{user_id}/chat")
async def chat(request: web.Request) -> web.Response:
    body = await json_object(request)
    message = text_field(body, "message")
    session_id = None if body.get("session_id") is None else text_field(body, "session_id")
    client = request.app[RECALLRAI]
    # validate=False: a reference without a request; an unknown user fails on first use.
    user = await client.get_user(request.match_info["user_id"], validate=False)
    session: AsyncSession
    if session_id is None:
        session = await user.create_session(metadata={"channel": "api"})
    else:
        session = await user.get_session(session_id, validate=False)
    await session.add_message(MessageRole.USER, message)
    context = await session.get_context(last_n_messages=10)
    reply = stub_llm(context.context or "", message)
    await session.add_message(MessageRole.ASSISTANT, reply)
    return web.json_response({"session_id": session.session_id, "reply": reply})


@routes.post("/users/{user_id}/sessions/{session_id}/end")
async def end_conversation(request: web.Request) -> web.Response:
    client = request.app[RECALLRAI]
    user = await client.get_user(request.match_info["user_id"], validate=False)
    session = await user.get_session(request.match_info["session_id"], validate=False)
    await session.process()  # the service turns it into memories in the background
    return web.Response(status=202)


_STATUS_OF: dict[type[RecallrAIError], int] = {
    UserNotFoundError: 404,
    SessionNotFoundError: 404,
    UserAlreadyExistsError: 409,
    InvalidSessionStateError: 409,  # e.g. a message after /end
    ValidationError: 400,
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def recallrai_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """SDK errors as HTTP answers, in one place."""
    try:
        return await handler(request)
    except RecallrAIError as exc:
        for cls in type(exc).__mro__:
            if cls in _STATUS_OF:
                return web.json_response({"detail": exc.message}, status=_STATUS_OF[cls])
        # Anything else (network, rate limit, server error): the memory service failed us.
        return web.json_response({"detail": "the memory service is unavailable"}, status=502)


def create_app() -> web.Application:
    app = web.Application(middlewares=[recallrai_errors])
    app.cleanup_ctx.append(recallrai_client)
    app.add_routes(routes)
    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args(argv)
    web.run_app(create_app(), host=args.host, port=args.port)


if __name__ == "__main__":
    main()
