"""A minimal fixed-response server for the users endpoints, to isolate pure client cost.

``python benchmarks/fixed_server.py --host 127.0.0.1 --port 0`` prints its base
URL as the first stdout line, then serves until SIGINT/SIGTERM or until
``--max-seconds`` have passed (it never outlives a forgotten harness).

Answers (canned JSON, the statuses of PROTOCOL.md §5.1):

* ``GET  /api/v1/users/{id}``           -> 200 ``{"user": {...}}`` (a canned user with that ID)
* ``POST /api/v1/users``                -> 201 ``{"user": {...}}`` (a canned user with the ID sent)
* ``GET  /api/v1/users?offset=&limit=`` -> 200 ``{"users": [...], "total": N, "has_more": ...}``,
  generated on the fly; ``N`` is taken from the project ID when it ends in
  ``-users-<N>`` (e.g. ``bench-users-100000``), else ``--total``.
* ``GET  /api/v1/users/{id}/sessions/{sid}`` -> 200 ``{"session": {...}}`` (a canned pending session)
* ``GET  /api/v1/users/{id}/sessions/{sid}/context?stream=true`` -> 200 ``text/event-stream``
  (PROTOCOL.md §5.3.3): three progress events ``{"is_final": false, ...}`` then the final
  ``{"is_final": true, "context": ..., "metadata": ...}``, no delays, then the server closes.
  Without ``stream=true`` it answers the final event's JSON as one ``application/json`` body.
* ``GET  /api/v1/system-prompt``        -> 200 ``{"system_prompt": "..."}``
* requests without the ``X-Recallr-*`` headers -> 401; unknown routes -> 404 ``404 page not found``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys

from aiohttp import web

TIMESTAMP = "2025-01-01T00:00:00.000000+00:00"
MAX_LIMIT = 100
MAX_TOTAL = 10_000_000


def _user(user_id: str) -> dict[str, object]:
    return {
        "custom_user_id": user_id,
        "metadata": {"plan": "pro", "name": "José", "score": 1.5},
        "merge_conflict_enabled": None,
        "created_at": TIMESTAMP,
        "last_active_at": TIMESTAMP,
    }


def _dumps(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


# A user is this text with the ID spliced in: answers cost the server almost nothing.
_ITEM_HEAD, _ITEM_TAIL = _dumps(_user("@ID@")).split(b"@ID@")


def _user_body(user_id: str) -> bytes:
    """``{"user": ...}`` for ``user_id`` (clients check an answer names what they asked for)."""
    return b'{"user":' + _ITEM_HEAD + _dumps(user_id)[1:-1] + _ITEM_TAIL + b"}"


JSON = "application/json"
SSE = "text/event-stream"

CONTEXT_FINAL = {
    "is_final": True,
    "context": "The user prefers concise answers.\nThe user lives in Lisbon (José's note).",
    "status_update_message": None,
    "metadata": {"recall_strategy_used": "balanced"},
}
CONTEXT_BODY = _dumps(CONTEXT_FINAL)
# The whole event stream, one ``data:`` line per event: 3 progress events, then the final one.
PROGRESS_MESSAGES = ("Searching memories...", "Ranking memories...", "Assembling context...")
SSE_EVENTS = (
    *(
        b"data: " + _dumps({"is_final": False, "status_update_message": message}) + b"\n\n"
        for message in PROGRESS_MESSAGES
    ),
    b"data: " + CONTEXT_BODY + b"\n\n",
)
SYSTEM_PROMPT_BODY = _dumps({"system_prompt": "You are a helpful assistant with memory."})


def _session_body(session_id: str) -> bytes:
    return _dumps(
        {
            "session": {
                "session_id": session_id,
                "status": "pending",
                "created_at": "2025-01-01T00:00:00Z",
                "metadata": {},
            }
        }
    )


def _detail(status: int, detail: object) -> web.Response:
    return web.Response(status=status, body=_dumps({"detail": detail}), content_type=JSON)


def _authorised(request: web.Request) -> bool:
    key = request.headers.get("X-Recallr-Api-Key", "")
    return key.startswith("rai_") and bool(request.headers.get("X-Recallr-Project-Id", "").strip())


def _total_for(request: web.Request, default: int) -> int:
    project = request.headers.get("X-Recallr-Project-Id", "")
    _, sep, tail = project.rpartition("-users-")
    if sep and tail.isdigit():
        return min(int(tail), MAX_TOTAL)
    return default


def build_app(default_total: int) -> web.Application:
    async def get_user(request: web.Request) -> web.Response:
        if not _authorised(request):
            return _detail(401, "Invalid API key")
        body = _user_body(request.match_info["user_id"])
        return web.Response(status=200, body=body, content_type=JSON)

    async def create_user(request: web.Request) -> web.Response:
        if not _authorised(request):
            return _detail(401, "Invalid API key")
        sent = json.loads(await request.read())
        return web.Response(status=201, body=_user_body(sent["custom_user_id"]), content_type=JSON)

    async def list_users(request: web.Request) -> web.Response:
        if not _authorised(request):
            return _detail(401, "Invalid API key")
        try:
            offset = int(request.query.get("offset", "0"))
            limit = int(request.query.get("limit", "10"))
        except ValueError:
            return _detail(422, [{"loc": ["query"], "msg": "not an integer", "type": "int"}])
        if offset < 0 or not 1 <= limit <= MAX_LIMIT:
            return _detail(422, [{"loc": ["query"], "msg": "out of range", "type": "range"}])
        total = _total_for(request, default_total)
        end = min(offset + limit, total)
        items = b",".join(
            _ITEM_HEAD + f"user-{i:06d}".encode() + _ITEM_TAIL for i in range(offset, end)
        )
        has_more = b"true" if end < total else b"false"
        body = b'{"users":[%s],"total":%d,"has_more":%s}' % (items, total, has_more)
        return web.Response(status=200, body=body, content_type=JSON)

    async def get_session(request: web.Request) -> web.Response:
        if not _authorised(request):
            return _detail(401, "Invalid API key")
        body = _session_body(request.match_info["session_id"])
        return web.Response(status=200, body=body, content_type=JSON)

    async def get_context(request: web.Request) -> web.StreamResponse:
        if not _authorised(request):
            return _detail(401, "Invalid API key")
        if request.query.get("stream", "false").lower() != "true":
            return web.Response(status=200, body=CONTEXT_BODY, content_type=JSON)
        response = web.StreamResponse(
            status=200, headers={"Content-Type": SSE, "Cache-Control": "no-cache"}
        )
        await response.prepare(request)
        for event in SSE_EVENTS:
            await response.write(event)
        await response.write_eof()
        return response

    async def system_prompt(request: web.Request) -> web.Response:
        if not _authorised(request):
            return _detail(401, "Invalid API key")
        return web.Response(status=200, body=SYSTEM_PROMPT_BODY, content_type=JSON)

    async def not_found(request: web.Request) -> web.Response:
        return web.Response(status=404, text="404 page not found")

    app = web.Application()
    app.router.add_get("/api/v1/users/{user_id}", get_user)
    app.router.add_post("/api/v1/users", create_user)
    app.router.add_get("/api/v1/users", list_users)
    sessions = "/api/v1/users/{user_id}/sessions/{session_id}"
    app.router.add_get(sessions, get_session)
    app.router.add_get(sessions + "/context", get_context)
    app.router.add_get("/api/v1/system-prompt", system_prompt)
    app.router.add_route("*", "/{tail:.*}", not_found)
    return app


async def serve(host: str, port: int, total: int, max_seconds: float) -> None:
    runner = web.AppRunner(build_app(total), access_log=None, handle_signals=False)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound_host, bound_port = runner.addresses[0][:2]
        print(f"http://{bound_host}:{bound_port}", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signum, stop.set)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=max_seconds)
    finally:
        await runner.cleanup()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--total", type=int, default=10_000, help="users listed by default")
    parser.add_argument("--max-seconds", type=float, default=4 * 3600, help="stop after this long")
    args = parser.parse_args()
    if not (args.host.startswith("127.") or args.host in ("localhost", "::1")):
        parser.error("the fixed server binds loopback addresses only")
    with contextlib.suppress(KeyboardInterrupt):  # only where signal handlers are unavailable
        asyncio.run(serve(args.host, args.port, args.total, args.max_seconds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
