"""The aiohttp application: reads the body (within the body timeout), records
every request, applies injected faults, routes on the raw path, checks the
auth headers and turns handler errors into ``{"detail": ...}`` bodies.

All requests go through one middleware; the application has no aiohttp
routes, so aiohttp never decodes or normalises the path used for routing.
"""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web
from aiohttp.typedefs import Handler as AiohttpHandler

from recallrai.emulator import (
    _background,
    _context,
    _memories,
    _merge_conflicts,
    _sessions,
    _users,
)
from recallrai.emulator._connections import ConnectionGuard
from recallrai.emulator._http import (
    ApiError,
    Query,
    RequestContext,
    json_response,
    page_not_found,
)
from recallrai.emulator._routing import Router
from recallrai.emulator._state import Fault, RecordedRequest, ServerState

__all__ = ["build_app", "build_router"]

logger = logging.getLogger("recallrai.emulator")

API_KEY_HEADER = "X-Recallr-Api-Key"
PROJECT_ID_HEADER = "X-Recallr-Project-Id"
MAX_BODY_BYTES = 16 * 1024 * 1024


def build_router() -> Router:
    """The router with every supported resource area registered."""
    router = Router()
    _users.register(router)
    _memories.register(router)
    _merge_conflicts.register(router)
    _sessions.register(router)
    _context.register(router)
    return router


def build_app(state: ServerState, connections: ConnectionGuard) -> web.Application:
    """An aiohttp application serving *state*, reporting request progress to
    *connections* (whose ``body_timeout`` bounds reading a body)."""
    router = build_router()
    body_timeout = connections.limits.body_timeout

    @web.middleware
    async def dispatch(request: web.Request, handler: AiohttpHandler) -> web.StreamResponse:
        del handler  # aiohttp's own routing is bypassed entirely
        with connections.serving(request.transport) as body_read:
            try:
                body = await asyncio.wait_for(request.read(), body_timeout)
            except asyncio.TimeoutError:
                response = json_response(408, {"detail": "Request body not received in time"})
                response.force_close()
                return response
            body_read()
            return await _dispatch(state, router, request, body)

    return web.Application(middlewares=[dispatch], client_max_size=MAX_BODY_BYTES)


async def _dispatch(
    state: ServerState, router: Router, request: web.Request, body: bytes
) -> web.StreamResponse:
    raw_path, _, query_string = request.raw_path.partition("?")
    state.record(
        RecordedRequest(
            method=request.method,
            raw_path=raw_path,
            query_string=query_string,
            headers=request.headers,
            body=body,
        )
    )

    fault = state.take_fault(request.method, raw_path)
    if fault is not None:
        return await _apply_fault(request, fault)

    resolved = router.resolve(request.method, raw_path)
    if resolved is None:
        return page_not_found()
    handler, params = resolved

    if not state.key_is_valid(request.headers.get(API_KEY_HEADER, "")):
        return json_response(401, {"detail": "Invalid API key"})
    project_id = request.headers.get(PROJECT_ID_HEADER, "")
    if not project_id.strip():
        return json_response(401, {"detail": "Missing project ID"})

    try:
        with state.lock:
            project = state.store.project(project_id)
            # Background work of the emulated service (session processing, conflict
            # resolution) happens lazily here.
            _background.advance(project)
            ctx = RequestContext(
                method=request.method,
                params=params,
                query=Query(query_string),
                body=body,
                project=project,
            )
            answer = handler(ctx)
    except ApiError as exc:
        return json_response(exc.status, {"detail": exc.detail})
    except Exception:
        logger.exception("emulator handler failed for %s %s", request.method, request.raw_path)
        return json_response(500, {"detail": "Internal Server Error"})
    if isinstance(answer, web.StreamResponse):
        return answer
    return await answer(request)  # e.g. an event stream: runs without the store lock


async def _apply_fault(request: web.Request, fault: Fault) -> web.StreamResponse:
    if fault.delay > 0:
        await asyncio.sleep(fault.delay)
    if fault.disconnect:
        transport = request.transport
        if transport is not None:
            transport.abort()
        # aiohttp treats a cancelled handler like a client that went away: no
        # response is written and the connection is dropped without logging.
        raise asyncio.CancelledError
    headers = dict(fault.headers)
    has_content_type = any(name.lower() == "content-type" for name in headers)
    no_body = fault.status in (204, 304) or 100 <= fault.status < 200
    return web.Response(
        status=fault.status,
        body=None if no_body else fault.body,
        headers=headers,
        content_type=None if has_content_type or no_body else fault.content_type,
    )
