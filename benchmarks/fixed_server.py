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

With ``--tls-cert CHAIN.pem --tls-key KEY.pem`` it serves HTTPS instead (the first line
is then ``https://...``) and counts, on the server side, the TCP connections it accepts
and the TLS handshakes it completes (asyncio hands a connection to the HTTP protocol
only once its handshake is done; ``resumed`` counts the abbreviated ones, when a client
resumed an earlier session). ``GET /_bench/tls-stats`` answers those counters as JSON,
not counting the connections that asked for them, nor their requests; a harness reads
them before and after a client process, and the difference is that client's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import ssl
import sys
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

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


@dataclass
class TLSStats:
    """Server-side counters of the HTTPS listener (plain HTTP has none)."""

    connections: int = 0  # TCP connections accepted
    handshakes: int = 0  # TLS handshakes completed (one per connection that got that far)
    resumed: int = 0  # ... of which resumed an earlier TLS session
    requests: int = 0  # requests served over TLS (the stats requests excluded)
    control: int = 0  # connections that carried a stats request (excluded from the above)
    version: str = ""  # the TLS version the last handshake negotiated

    def snapshot(self) -> dict[str, int | str]:
        counts: dict[str, int | str] = asdict(self)
        counts["connections"] = self.connections - self.control
        counts["handshakes"] = self.handshakes - self.control
        return counts


class _Counted(asyncio.Protocol):
    """Wraps aiohttp's protocol of one connection: counts its handshake, forwards the rest.

    Made by the listener's protocol factory when a connection is accepted (so before
    the handshake); asyncio calls ``connection_made`` once the handshake is complete.
    """

    def __init__(self, inner: asyncio.Protocol, stats: TLSStats) -> None:
        self.inner = inner
        self.stats = stats
        self.control = False
        stats.connections += 1

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.stats.handshakes += 1
        ssl_object = transport.get_extra_info("ssl_object")
        if ssl_object is not None:
            self.stats.resumed += bool(ssl_object.session_reused)
            self.stats.version = ssl_object.version() or ""
        self.inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        self.inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()


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


def build_app(default_total: int, stats: TLSStats | None = None) -> web.Application:
    """The routes; with ``stats`` (the HTTPS listener's counters), also the stats route."""

    async def tls_stats(request: web.Request) -> web.Response:
        assert stats is not None
        protocol = request.transport.get_protocol() if request.transport else None
        if isinstance(protocol, _Counted) and not protocol.control:
            protocol.control = True  # this connection is the harness's, not a client's
            stats.control += 1
        return web.Response(status=200, body=_dumps(stats.snapshot()), content_type=JSON)

    @web.middleware
    async def count_requests(request: web.Request, handler: Handler) -> web.StreamResponse:
        assert stats is not None
        if request.path != "/_bench/tls-stats":
            stats.requests += 1
        return await handler(request)

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

    # Over plain HTTP the app is exactly what it was before TLS existed: no middleware.
    app = web.Application(middlewares=[count_requests] if stats is not None else [])
    if stats is not None:
        app.router.add_get("/_bench/tls-stats", tls_stats)
    app.router.add_get("/api/v1/users/{user_id}", get_user)
    app.router.add_post("/api/v1/users", create_user)
    app.router.add_get("/api/v1/users", list_users)
    sessions = "/api/v1/users/{user_id}/sessions/{session_id}"
    app.router.add_get(sessions, get_session)
    app.router.add_get(sessions + "/context", get_context)
    app.router.add_get("/api/v1/system-prompt", system_prompt)
    app.router.add_route("*", "/{tail:.*}", not_found)
    return app


async def serve(
    host: str, port: int, total: int, max_seconds: float, tls: ssl.SSLContext | None = None
) -> None:
    stats = TLSStats() if tls is not None else None
    runner = web.AppRunner(build_app(total, stats), access_log=None, handle_signals=False)
    await runner.setup()
    listener: asyncio.Server | None = None
    try:
        if tls is None:
            site = web.TCPSite(runner, host, port)
            await site.start()
            bound_host, bound_port = runner.addresses[0][:2]
            print(f"http://{bound_host}:{bound_port}", flush=True)
        else:
            # aiohttp's own protocol, behind one that counts connections and handshakes.
            assert stats is not None and runner.server is not None
            handler = runner.server
            listener = await asyncio.get_running_loop().create_server(
                lambda: _Counted(handler(), stats), host, port, ssl=tls, backlog=128
            )
            bound_host, bound_port = listener.sockets[0].getsockname()[:2]
            print(f"https://{bound_host}:{bound_port}", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signum, stop.set)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=max_seconds)
    finally:
        if listener is not None:
            listener.close()
        await runner.cleanup()
        if listener is not None:
            await listener.wait_closed()


def server_context(cert_chain: str, key: str) -> ssl.SSLContext:
    """The listener's TLS settings: Python's defaults for a server, with this certificate."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_chain, key)
    return context


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--total", type=int, default=10_000, help="users listed by default")
    parser.add_argument("--max-seconds", type=float, default=4 * 3600, help="stop after this long")
    parser.add_argument("--tls-cert", help="PEM certificate chain: serve HTTPS (with --tls-key)")
    parser.add_argument("--tls-key", help="PEM private key of --tls-cert")
    args = parser.parse_args()
    if not (args.host.startswith("127.") or args.host in ("localhost", "::1")):
        parser.error("the fixed server binds loopback addresses only")
    if bool(args.tls_cert) != bool(args.tls_key):
        parser.error("--tls-cert and --tls-key go together")
    tls = server_context(args.tls_cert, args.tls_key) if args.tls_cert else None
    with contextlib.suppress(KeyboardInterrupt):  # only where signal handlers are unavailable
        asyncio.run(serve(args.host, args.port, args.total, args.max_seconds, tls))
    return 0


if __name__ == "__main__":
    sys.exit(main())
