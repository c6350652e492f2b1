"""Everything a running emulator shares between its event loop and the test
thread: the data store, the log of received requests and the queue of
injected faults, all guarded by one lock (the store's).
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from recallrai.emulator._store import Clock, Store, utc_now

__all__ = ["Fault", "RecordedRequest", "ServerState"]


@attrs.frozen
class RecordedRequest:
    """One request as the emulator received it.

    ``raw_path`` is the path part of the request target exactly as sent
    (still percent-encoded, without the query); ``query_string`` is the raw
    text after ``?`` (empty when there is none). ``headers`` is read-only and
    case-insensitive.
    """

    method: str
    raw_path: str
    query_string: str
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        """The body decoded as JSON (raises ``ValueError`` when it is not)."""
        return json.loads(self.body)

    @property
    def query(self) -> list[tuple[str, str]]:
        """The query string parsed into (name, value) pairs, in order."""
        return urllib.parse.parse_qsl(self.query_string, keep_blank_values=True)


@attrs.define(eq=False)
class Fault:
    """A canned answer (or a dropped connection) for the next matching requests."""

    remaining: int
    status: int
    body: bytes
    headers: dict[str, str]
    content_type: str | None
    disconnect: bool
    delay: float
    method: str | None
    path_prefix: str | None

    def matches(self, method: str, raw_path: str) -> bool:
        if self.method is not None and self.method.upper() != method:
            return False
        return self.path_prefix is None or raw_path.startswith(self.path_prefix)


class ServerState:
    """Data, request log, faults and auth settings of one emulator."""

    def __init__(
        self,
        *,
        api_keys: Iterable[str] | None = None,
        clock: Clock = utc_now,
        record_requests: bool = True,
        merge_conflicts_default: bool = False,
    ) -> None:
        self.store = Store(clock, merge_conflicts_default=merge_conflicts_default)
        self.lock = self.store.lock
        self.api_keys: frozenset[str] | None = None if api_keys is None else frozenset(api_keys)
        self.record_requests = record_requests
        self._requests: list[RecordedRequest] = []
        self._faults: list[Fault] = []

    def record(self, request: RecordedRequest) -> None:
        if not self.record_requests:
            return
        with self.lock:
            self._requests.append(request)

    def requests(self) -> list[RecordedRequest]:
        with self.lock:
            return list(self._requests)

    def add_fault(self, fault: Fault) -> None:
        if fault.remaining < 1:
            raise ValueError("times must be at least 1")
        with self.lock:
            self._faults.append(fault)

    def take_fault(self, method: str, raw_path: str) -> Fault | None:
        """The first queued fault matching the request, consuming one use."""
        with self.lock:
            for fault in self._faults:
                if fault.matches(method, raw_path):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                    return fault
            return None

    def pending_faults(self) -> int:
        """How many faulted answers are still queued (sum of remaining uses)."""
        with self.lock:
            return sum(fault.remaining for fault in self._faults)

    def key_is_valid(self, key: str) -> bool:
        if not key.startswith("rai_"):
            return False
        return self.api_keys is None or key in self.api_keys

    def reset(self) -> None:
        with self.lock:
            self.store.reset()
            self._requests.clear()
            self._faults.clear()
