"""The ONE reviewed list of deliberate differences from the official ``recallrai`` 0.6.6 surface.

``tests/compat/compare.py`` excuses a difference only when an entry here names
its kind and its item; an entry that excuses nothing any more fails the
check (stale), so the list stays honest. Keep every entry to one item (a
``*`` wildcard only where one reason covers the same object seen from several
modules) with a one-line reason.

Items, by kind (see ``compare.py`` for the full list of kinds):

* ``missing-module``: ``recallrai.utils``
* ``missing-name``, ``name-kind``: ``recallrai.client.HTTPClient``
* ``missing-member``, ``member-kind``, ``method-kind``: ``recallrai.models.user.UserList.total``
* ``missing-base``: ``recallrai.exceptions.network.TimeoutError`` (any missing parent)
* ``param-*``, ``extra-param``: ``recallrai.client.RecallrAI.__init__(timeout)``
* ``async-mismatch``, ``signature-unavailable``: ``recallrai.async_user.AsyncUser.list_sessions``
* ``not-loaded-by-import``: ``recallrai.models``
* ``missing-enum-member``, ``enum-value``: ``recallrai.models.session.SessionStatus.PENDING``

The first path under which the official package shows an object is the one
used (the module defining it when it is exported there).
"""

from __future__ import annotations

from typing import NamedTuple


class Allowed(NamedTuple):
    kind: str
    item: str
    reason: str


_TRANSPORT = (
    "the official HTTP plumbing (httpx wrappers) is not public API: the README never"
    " mentions it and ours has its own transports (recallrai.Transport)"
)

_FROM_ENV = "None means: read it from the environment (RECALLRAI_API_KEY, RECALLRAI_PROJECT_ID)"
_BASE_URL = (
    "None means: $RECALLRAI_BASE_URL, else the official default https://api.recallrai.com;"
    " explicit values behave the same"
)

ALLOWED: list[Allowed] = [
    Allowed("param-optional", "recallrai.client.RecallrAI.__init__(api_key)", _FROM_ENV),
    Allowed("param-optional", "recallrai.client.RecallrAI.__init__(project_id)", _FROM_ENV),
    Allowed("param-default", "recallrai.client.RecallrAI.__init__(base_url)", _BASE_URL),
    Allowed("param-optional", "recallrai.async_client.AsyncRecallrAI.__init__(api_key)", _FROM_ENV),
    Allowed(
        "param-optional", "recallrai.async_client.AsyncRecallrAI.__init__(project_id)", _FROM_ENV
    ),
    Allowed("param-default", "recallrai.async_client.AsyncRecallrAI.__init__(base_url)", _BASE_URL),
    Allowed("missing-module", "recallrai.utils", _TRANSPORT),
    Allowed("missing-module", "recallrai.utils.http_client", _TRANSPORT),
    Allowed("missing-module", "recallrai.utils.async_http_client", _TRANSPORT),
    # The same two classes, imported by the official modules for their own use:
    Allowed("missing-name", "recallrai.*.HTTPClient", _TRANSPORT),
    Allowed("missing-name", "recallrai.*.AsyncHTTPClient", _TRANSPORT),
]
