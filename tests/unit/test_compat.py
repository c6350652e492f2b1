"""Code written for the official ``recallrai`` 0.6.6 package runs on ours: its module paths
and names resolve to our classes, ``has_more`` reads both ways, last-N messages have
``.messages``, and its positional orders hold. (``nox -s compat`` compares the whole surface
with the official package itself.)"""

from __future__ import annotations

import importlib
import io
import json
from collections.abc import Callable
from contextlib import redirect_stdout
from typing import Any

import httpx
import pytest
import respx

import recallrai
from recallrai import AsyncRecallrAI, exceptions
from recallrai._pagination import AsyncSource, CallableBool, UserPage

pytestmark = pytest.mark.anyio

# official module path -> {official name: our class}
ALIASES: dict[str, dict[str, Any]] = {
    "recallrai.models": {
        "UserModel": recallrai._users.UserRecord,
        "UserList": recallrai.UserPage,
        "UserMemoriesList": recallrai.MemoryPage,
        "UserMessage": recallrai.UserMessage,
        "UserMessagesList": recallrai.UserMessageList,
        "UserMemoryItem": recallrai.Memory,
        "MemoryVersionInfo": recallrai.MemoryVersion,
        "MemoryRelationship": recallrai.ConnectedMemory,
        "SessionModel": recallrai._sessions.SessionRecord,
        "SessionList": recallrai.SessionPage,
        "SessionMessagesList": recallrai.MessagePage,
        "Message": recallrai.Message,
        "MessageRole": recallrai.MessageRole,
        "SessionStatus": recallrai.SessionStatus,
        "ContextResponse": recallrai.Context,
        "ContextMetadata": recallrai.ContextMetadata,
        "DateRangeFilterType": recallrai.DateRangeFilterType,
        "QueryDateRangeFilter": recallrai.DateRangeFilter,
        "RecallStrategy": recallrai.RecallStrategy,
        "MergeConflictModel": recallrai._merge_conflicts.MergeConflictRecord,
        "MergeConflictList": recallrai.MergeConflictPage,
        "MergeConflictStatus": recallrai.MergeConflictStatus,
        "MergeConflictConflictingMemory": recallrai.ConflictingMemory,
        "MergeConflictNewMemory": recallrai.NewMemory,
        "MergeConflictQuestion": recallrai.ClarifyingQuestion,
        "MergeConflictAnswer": recallrai.MergeConflictAnswer,
        "UNAVAILABLE": recallrai.NOT_LOADED,
    },
    "recallrai.client": {"RecallrAI": recallrai.RecallrAI},
    "recallrai.user": {"User": recallrai.User},
    "recallrai.session": {"Session": recallrai.Session},
    "recallrai.merge_conflict": {"MergeConflict": recallrai.MergeConflict},
    "recallrai.async_client": {"AsyncRecallrAI": recallrai.AsyncRecallrAI},
    "recallrai.async_user": {"AsyncUser": recallrai.AsyncUser},
    "recallrai.async_session": {"AsyncSession": recallrai.AsyncSession},
    "recallrai.async_merge_conflict": {"AsyncMergeConflict": recallrai.AsyncMergeConflict},
    "recallrai.exceptions.base": {"RecallrAIError": exceptions.RecallrAIError},
    "recallrai.exceptions.auth": {"AuthenticationError": exceptions.AuthenticationError},
    "recallrai.exceptions.network": {
        "NetworkError": exceptions.NetworkError,
        "TimeoutError": exceptions.TimeoutError,
        "ConnectionError": exceptions.ConnectionError,
    },
    "recallrai.exceptions.server": {
        "ServerError": exceptions.ServerError,
        "InternalServerError": exceptions.InternalServerError,
        "RateLimitError": exceptions.RateLimitError,
    },
    "recallrai.exceptions.users": {
        "UserError": exceptions.UserError,
        "UserNotFoundError": exceptions.UserNotFoundError,
        "UserAlreadyExistsError": exceptions.UserAlreadyExistsError,
        "InvalidCategoriesError": exceptions.InvalidCategoriesError,
    },
    "recallrai.exceptions.sessions": {
        "SessionError": exceptions.SessionError,
        "SessionNotFoundError": exceptions.SessionNotFoundError,
        "InvalidSessionStateError": exceptions.InvalidSessionStateError,
    },
    "recallrai.exceptions.merge_conflicts": {
        "MergeConflictError": exceptions.MergeConflictError,
        "MergeConflictNotFoundError": exceptions.MergeConflictNotFoundError,
        "MergeConflictAlreadyResolvedError": exceptions.MergeConflictAlreadyResolvedError,
        "MergeConflictInvalidQuestionsError": exceptions.MergeConflictInvalidQuestionsError,
        "MergeConflictMissingAnswersError": exceptions.MergeConflictMissingAnswersError,
        "MergeConflictInvalidAnswerError": exceptions.MergeConflictInvalidAnswerError,
    },
    "recallrai.exceptions.validation": {"ValidationError": exceptions.ValidationError},
}


@pytest.mark.parametrize("module", sorted(ALIASES))
def test_official_module_paths_alias_our_classes(module: str) -> None:
    loaded = importlib.import_module(module)
    for name, ours in ALIASES[module].items():
        assert getattr(loaded, name) is ours, f"{module}.{name}"
        assert name in loaded.__all__


def test_models_submodules_share_the_package_names() -> None:
    models = importlib.import_module("recallrai.models")
    for sub in ("user", "session", "merge_conflict"):
        module = importlib.import_module(f"recallrai.models.{sub}")
        for name in module.__all__:
            assert getattr(module, name) is getattr(models, name)


def test_the_core_never_imports_the_compatibility_modules() -> None:
    import subprocess
    import sys

    code = (
        "import sys, recallrai, recallrai_sync; from recallrai.emulator import Emulator;"
        "compat = [m for m in sys.modules if m.startswith(('recallrai.models', 'recallrai.client',"
        " 'recallrai.user', 'recallrai.session', 'recallrai.merge_conflict', 'recallrai.async_',"
        " 'recallrai.exceptions.'))]; print(compat)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("cls", "parent"),
    [
        (exceptions.TimeoutError, exceptions.NetworkError),
        (exceptions.ConnectionError, exceptions.NetworkError),
        (exceptions.InternalServerError, exceptions.ServerError),
        (exceptions.RateLimitError, exceptions.ServerError),
        (exceptions.UserNotFoundError, exceptions.UserError),
        (exceptions.InvalidCategoriesError, exceptions.UserError),
        (exceptions.SessionNotFoundError, exceptions.SessionError),
        (exceptions.InvalidSessionStateError, exceptions.SessionError),
        (exceptions.MergeConflictInvalidAnswerError, exceptions.MergeConflictError),
    ],
)
def test_intermediate_exception_classes_keep_the_official_parents(cls: type, parent: type) -> None:
    assert issubclass(cls, parent) and issubclass(parent, exceptions.RecallrAIError)


def test_exceptions_take_the_official_positional_arguments() -> None:
    error = exceptions.UserNotFoundError("User u1 not found", 404)
    assert (error.message, error.http_status) == ("User u1 not found", 404)
    categories = exceptions.InvalidCategoriesError("bad", 400, ["pets"])
    assert categories.invalid_categories == ["pets"]
    assert exceptions.AuthenticationError().http_status == 401
    assert exceptions.RateLimitError("slow", 429).http_status == 429


# --------------------------------------------------------------------------- has_more


def _page(has_more: bool, items: list[int]) -> UserPage[int]:
    async def never(offset: int) -> Any:
        raise AssertionError("no fetch")

    return UserPage(
        items=items, total=9, offset=0, limit=3, has_more=has_more, source=AsyncSource(never)
    )


@pytest.mark.parametrize("more", [True, False])
def test_has_more_reads_as_attribute_and_as_call(more: bool) -> None:
    page = _page(more, [1, 2, 3])
    assert isinstance(page.has_more, CallableBool)
    assert bool(page.has_more) is more and page.has_more() is more
    assert page.has_more == more and (page.has_more != (not more))
    assert repr(page.has_more) == str(page.has_more) == f"{page.has_more}" == str(more)
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        print(page.has_more)
    assert buffer.getvalue() == f"{more}\n"
    assert (1 if page.has_more else 0) == int(more)
    data = page.to_dict()
    assert data["has_more"] is more and data["users"] == [1, 2, 3]
    assert json.loads(json.dumps(data))["has_more"] is more


async def test_official_while_has_more_loop_ends(
    api: respx.MockRouter, new_client: Callable[..., AsyncRecallrAI], wire_user: Any
) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        offset = int(request.url.params["offset"])
        users = [wire_user(f"u{n}") for n in range(offset, min(offset + 2, 5))]
        return httpx.Response(
            200, json={"users": users, "total": 5, "has_more": offset + len(users) < 5}
        )

    route = api.get("/api/v1/users").mock(side_effect=answer)
    seen: list[str] = []
    async with new_client() as client:
        offset, page = 0, await client.list_users(offset=0, limit=2)
        seen += [u.user_id for u in page.users]
        while page.has_more:
            offset += 2
            page = await client.list_users(offset=offset, limit=2)
            seen += [u.user_id for u in page.users]
    assert seen == ["u0", "u1", "u2", "u3", "u4"] and route.call_count == 3


# --------------------------------------------------------------------------- results and order


async def test_last_n_messages_have_messages_and_stay_a_list(
    api: respx.MockRouter, new_client: Callable[..., AsyncRecallrAI]
) -> None:
    messages = [
        {"role": role, "content": f"m{n}", "timestamp": "2025-01-01T00:00:00Z", "session_id": "s"}
        for n, role in enumerate(["user", "assistant"])
    ]
    api.get("/api/v1/users/u1/messages").mock(
        return_value=httpx.Response(200, json={"messages": messages})
    )
    async with new_client() as client:
        result = await (await client.get_user("u1", validate=False)).get_last_n_messages(2)
    assert result.messages is result and len(result) == 2
    assert [m.content for m in result] == ["m0", "m1"] and result[1].content == "m1"
    assert [m.role.upper() for m in result.messages] == ["USER", "ASSISTANT"]
    assert result[0].role.value.upper() == "USER"


async def test_list_memories_takes_offset_and_limit_first(
    api: respx.MockRouter, new_client: Callable[..., AsyncRecallrAI]
) -> None:
    route = api.get("/api/v1/users/u1/memories").mock(
        return_value=httpx.Response(200, json={"items": [], "total": 0, "has_more": False})
    )
    async with new_client() as client:
        user = await client.get_user("u1", validate=False)
        await user.list_memories(5, 30, ["food"])
    params = route.calls.last.request.url.params
    assert (params["offset"], params["limit"], params.get_list("categories")) == (
        "5",
        "30",
        ["food"],
    )


def test_client_takes_base_url_and_timeout_positionally() -> None:
    client = recallrai.RecallrAI("rai_key", "project", "http://127.0.0.1:9", 60)
    try:
        assert client.base_url == "http://127.0.0.1:9"
    finally:
        client.close()


def test_version_is_1_0() -> None:
    assert recallrai.__version__ == "1.0.0"
