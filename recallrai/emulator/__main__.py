"""Command line entry point: ``python -m recallrai.emulator``.

Prints the base URL as the first stdout line (so scripts can read it even
with ``--port 0``), then serves until SIGINT or SIGTERM and exits with 0.
Requests are not recorded here (nobody could read the log), so a
long-running server does not grow without bound. The connection limits
(``--max-connections``, ``--header-timeout``, ``--body-timeout``,
``--idle-timeout``) keep one misbehaving client from wedging it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Sequence

from recallrai.emulator._emulator import Emulator

__all__ = ["main"]


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m recallrai.emulator",
        description="Run a local RecallrAI-compatible HTTP server with an in-memory store.",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default: %(default)s)"
    )
    parser.add_argument(
        "--port",
        type=int,
        default=8765,
        help="port to bind; 0 picks a free one (default: %(default)s)",
    )
    parser.add_argument(
        "--api-key",
        action="append",
        dest="api_keys",
        metavar="KEY",
        help="accept only this API key (repeatable); by default any 'rai_' key is accepted",
    )
    limits = parser.add_argument_group("connection limits")
    limits.add_argument(
        "--max-connections",
        type=int,
        default=256,
        help="connections open at once; more get a 503 (default: %(default)s)",
    )
    limits.add_argument(
        "--header-timeout",
        type=float,
        default=5.0,
        help="seconds to receive a complete request head (default: %(default)s)",
    )
    limits.add_argument(
        "--body-timeout",
        type=float,
        default=30.0,
        help="seconds to receive a request body once its head is in (default: %(default)s)",
    )
    limits.add_argument(
        "--idle-timeout",
        type=float,
        default=60.0,
        help="seconds a kept-alive connection may wait for its next request (default: %(default)s)",
    )
    return parser.parse_args(argv)


async def _serve(emulator: Emulator) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        # Not available on every platform; Ctrl+C then ends asyncio.run instead.
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    async with emulator:
        print(emulator.base_url, flush=True)
        await stop.wait()


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    try:
        emulator = Emulator(
            args.host,
            args.port,
            api_keys=args.api_keys,
            record_requests=False,
            max_connections=args.max_connections,
            header_timeout=args.header_timeout,
            body_timeout=args.body_timeout,
            idle_timeout=args.idle_timeout,
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        asyncio.run(_serve(emulator))
    except KeyboardInterrupt:  # pragma: no cover - only where signal handlers are unavailable
        pass
    except (OSError, OverflowError) as exc:
        print(f"error: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
