"""A FastAPI chat service with memory: one ``AsyncRecallrAI`` for the app's lifetime.

What it shows:

* the client is created in the app's *lifespan* (inside the server's event loop, which
  is the loop it then belongs to) and closed at shutdown, with its connection pool;
* endpoints receive it by dependency injection (``Depends``), so tests and other apps
  can swap it with ``app.dependency_overrides``;
* ``POST /users/{user_id}/chat`` records the user's message in a session, asks RecallrAI
  for the context, answers with an LLM (stubbed here: :func:`stub_llm` echoes what it was
  given), records the answer and returns it; ``POST /users`` creates a user, and
  ``POST /users/{user_id}/sessions/{session_id}/end`` hands a finished conversation over
  to be turned into memories;
* SDK errors become HTTP answers in one place (exception handlers).

Run it against the local emulator (``pip install fastapi uvicorn``)::

    python -m recallrai.emulator &          # serves http://127.0.0.1:8765, any rai_ key
    export RECALLRAI_API_KEY=rai_local RECALLRAI_PROJECT_ID=demo
    export RECALLRAI_BASE_URL=http://127.0.0.1:8765
    uvicorn fastapi_app:app --app-dir examples --port 8000

    curl -X POST localhost:8000/users -H 'content-type: application/json' -d '{"user_id": "alice"}'
    curl -X POST localhost:8000/users/alice/chat -H 'content-type: application/json' \\
         -d '{"message": "I love sushi."}'

Against the real service, set only ``RECALLRAI_API_KEY`` and ``RECALLRAI_PROJECT_ID``.
Tested by ``tests/examples/test_fastapi_app.py``.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from recallrai import AsyncRecallrAI, AsyncSession, MessageRole
from recallrai.exceptions import (
    InvalidSessionStateError,
    RecallrAIError,
    SessionNotFoundError,
    UserAlreadyExistsError,
    UserNotFoundError,
    ValidationError,
)


def stub_llm(context: str, message: str) -> str:
    """Stands in for a real model: a real app sends ``context`` as the system prompt."""
    return f"You said: {message}\nWhat I was told before answering:\n{context}"


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    # Credentials and base URL from RECALLRAI_API_KEY, RECALLRAI_PROJECT_ID, RECALLRAI_BASE_URL.
    async with AsyncRecallrAI() as client:
        app.state.recallrai = client
        yield
    # Leaving the block closed the client's connection pool.


def get_recallrai(request: Request) -> AsyncRecallrAI:
    client: AsyncRecallrAI = request.app.state.recallrai
    return client


RecallrAIDep = Annotated[AsyncRecallrAI, Depends(get_recallrai)]


class NewUser(BaseModel):
    user_id: str = Field(min_length=1)
    metadata: dict[str, Any] = Field(default_factory=dict)


class UserOut(BaseModel):
    user_id: str
    metadata: dict[str, Any]


class ChatRequest(BaseModel):
    message: str = Field(min_length=1)
    session_id: str | None = None  # None: start a new conversation


class ChatReply(BaseModel):
    session_id: str
    reply: str


app = FastAPI(title="Chat with memory", lifespan=lifespan)


@app.post("/users", status_code=status.HTTP_201_CREATED)
async def create_user(body: NewUser, client: RecallrAIDep) -> UserOut:
    user = await client.create_user(body.user_id, metadata=body.metadata)
    return UserOut(user_id=user.user_id, metadata=user.metadata)


@app.post("/users/{user_id}/chat")
async def chat(user_id: str, body: ChatRequest, client: RecallrAIDep) -> ChatReply:
    # validate=False: a reference without a request; an unknown user fails on first use.
    user = await client.get_user(user_id, validate=False)
    session: AsyncSession
    if body.session_id is None:
        session = await user.create_session(metadata={"channel": "api"})
    else:
        session = await user.get_session(body.session_id, validate=False)
    await session.add_message(MessageRole.USER, body.message)
    context = await session.get_context(last_n_messages=10)
    reply = stub_llm(context.context or "", body.message)
    await session.add_message(MessageRole.ASSISTANT, reply)
    return ChatReply(session_id=session.session_id, reply=reply)


@app.post("/users/{user_id}/sessions/{session_id}/end", status_code=status.HTTP_202_ACCEPTED)
async def end_conversation(user_id: str, session_id: str, client: RecallrAIDep) -> None:
    user = await client.get_user(user_id, validate=False)
    session = await user.get_session(session_id, validate=False)
    await session.process()  # the service turns it into memories in the background


# SDK errors as HTTP answers, in one place. Starlette picks the handler by the exception's
# class hierarchy, so this one sees every RecallrAIError.
_STATUS_OF: dict[type[RecallrAIError], int] = {
    UserNotFoundError: status.HTTP_404_NOT_FOUND,
    SessionNotFoundError: status.HTTP_404_NOT_FOUND,
    UserAlreadyExistsError: status.HTTP_409_CONFLICT,
    InvalidSessionStateError: status.HTTP_409_CONFLICT,  # e.g. a message after /end
    ValidationError: status.HTTP_400_BAD_REQUEST,
}


@app.exception_handler(RecallrAIError)
async def recallrai_error(request: Request, exc: RecallrAIError) -> JSONResponse:
    for cls in type(exc).__mro__:
        if cls in _STATUS_OF:
            return JSONResponse({"detail": exc.message}, status_code=_STATUS_OF[cls])
    # Anything else (network, rate limit, server error): the memory service failed us.
    return JSONResponse(
        {"detail": "the memory service is unavailable"}, status_code=status.HTTP_502_BAD_GATEWAY
    )
