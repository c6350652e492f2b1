"""Users API handlers (PROTOCOL.md 5.1, §13): create, get, list, update, delete.

Listing takes ``metadata_filter`` and ``partial_user_id`` (a case-insensitive
substring of ``custom_user_id``); both must match, and ``total``/``has_more``
count the matches, so offset paging works over a search.

Body rules shared by these handlers: unknown keys are ignored, and a
top-level ``null`` is treated exactly like an absent key (the SDK drops
top-level nulls, §1.3). So ``"metadata": null`` on create means ``{}``, and
``null`` values on update mean "leave unchanged".
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from recallrai.emulator._http import (
    RequestContext,
    Validator,
    format_timestamp,
    json_response,
    no_content,
    object_field,
    page_response,
    parse_json_object_body,
)
from recallrai.emulator._routing import Router
from recallrai.emulator._store import UserRecord

__all__ = ["register", "user_json"]

USERS_LIST_MAX_LIMIT = 100


def register(router: Router) -> None:
    """Add the users routes to *router*."""
    router.add("POST", "/api/v1/users", create_user)
    router.add("GET", "/api/v1/users", list_users)
    router.add("GET", "/api/v1/users/{user_id}", get_user)
    router.add("PUT", "/api/v1/users/{user_id}", update_user)
    router.add("DELETE", "/api/v1/users/{user_id}", delete_user)


def user_json(user: UserRecord) -> dict[str, Any]:
    """The wire form of a user (bare; single-user answers wrap it)."""
    return {
        "custom_user_id": user.custom_user_id,
        "metadata": user.metadata,
        "merge_conflict_enabled": user.merge_conflict_enabled,
        "created_at": format_timestamp(user.created_at),
        "last_active_at": format_timestamp(user.last_active_at),
    }


def _user_id_field(
    validator: Validator, body: dict[str, Any], key: str, *, required: bool
) -> str | None:
    value = body.get(key)
    if value is None:
        if required:
            validator.missing(("body", key), body)
        return None
    if not isinstance(value, str):
        validator.add(("body", key), "Input should be a valid string", "string_type", value)
        return None
    if not value.strip():
        validator.add(("body", key), "User ID must not be empty or blank", "value_error", value)
        return None
    return value


def _bool_field(validator: Validator, body: dict[str, Any], key: str) -> bool | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, bool):
        validator.add(("body", key), "Input should be a valid boolean", "bool_type", value)
        return None
    return value


def create_user(ctx: RequestContext) -> web.Response:
    body = parse_json_object_body(ctx.body)
    validator = Validator()
    user_id = _user_id_field(validator, body, "custom_user_id", required=True)
    metadata = object_field(validator, body, "metadata")
    merge_conflict_enabled = _bool_field(validator, body, "merge_conflict_enabled")
    validator.raise_if_errors()
    assert user_id is not None
    user = ctx.project.create_user(user_id, metadata or {}, merge_conflict_enabled)
    return json_response(201, {"user": user_json(user)})


def get_user(ctx: RequestContext) -> web.Response:
    user = ctx.project.get_user(ctx.params["user_id"])
    return json_response(200, {"user": user_json(user)})


def list_users(ctx: RequestContext) -> web.Response:
    validator = Validator()
    offset = ctx.query.int_param(validator, "offset", 0, ge=0)
    limit = ctx.query.int_param(validator, "limit", 10, ge=1, le=USERS_LIST_MAX_LIMIT)
    metadata_filter = ctx.query.json_object_param(validator, "metadata_filter")
    partial_user_id = ctx.query.get("partial_user_id")
    validator.raise_if_errors()
    matches = ctx.project.list_users(metadata_filter, partial_user_id)
    return page_response("users", matches, offset, limit, user_json)


def update_user(ctx: RequestContext) -> web.Response:
    body = parse_json_object_body(ctx.body)
    validator = Validator()
    new_metadata = object_field(validator, body, "new_metadata")
    new_user_id = _user_id_field(validator, body, "new_custom_user_id", required=False)
    merge_conflict_enabled = _bool_field(validator, body, "merge_conflict_enabled")
    validator.raise_if_errors()
    user = ctx.project.update_user(
        ctx.params["user_id"],
        new_metadata=new_metadata,
        new_user_id=new_user_id,
        merge_conflict_enabled=merge_conflict_enabled,
    )
    return json_response(200, {"user": user_json(user)})


def delete_user(ctx: RequestContext) -> web.Response:
    ctx.project.delete_user(ctx.params["user_id"])
    return no_content()
