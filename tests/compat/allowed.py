"""The ONE reviewed list of deliberate differences from the official ``recallrai`` 0.6.6 surface.

``tests/compat/compare.py`` excuses a difference only when an entry here names
its kind and its item; an entry that excuses nothing any more fails the
check (stale), so the list stays honest. Keep every entry to one item (a
``*`` wildcard only where one reason covers the same object seen from several
modules, or the same member of several classes) with a one-line reason.

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

_STATUS_OPTIONAL = (
    "may be omitted: None when no HTTP answer was involved (client-side checks), or the"
    " class's own status (400, 401, 429); passing it positionally works as before"
)
_BUILT_BY_THE_CLIENT = (
    "created by the client (create_*, get_*, list_*), never by users: the official"
    " constructors take its internal HTTP client and wire models"
)
_RESOURCES = (
    "recallrai.user.User",
    "recallrai.session.Session",
    "recallrai.merge_conflict.MergeConflict",
    "recallrai.async_user.AsyncUser",
    "recallrai.async_session.AsyncSession",
    "recallrai.async_merge_conflict.AsyncMergeConflict",
)
_PAGES = (
    "pages are built by the list calls and fetch the pages after them; the official ones"
    " are plain containers the client fills"
)
_PAGE_CLASSES = (
    "recallrai.models.user.UserList",
    "recallrai.models.user.UserMemoriesList",
    "recallrai.models.session.SessionList",
    "recallrai.models.session.SessionMessagesList",
    "recallrai.models.merge_conflict.MergeConflictList",
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
    # Official builders from raw API dicts (the page ones take its HTTP client):
    Allowed(
        "missing-member",
        "recallrai.models.*.from_api_response*",
        "internal builders of the official client from raw API dicts and its HTTP client;"
        " the SDK builds every object itself and the official README never calls them",
    ),
    Allowed("param-optional", "recallrai.exceptions.*.__init__(http_status)", _STATUS_OPTIONAL),
    Allowed(
        "param-optional",
        "recallrai.exceptions.users.InvalidCategoriesError.__init__(invalid_categories)",
        "may be omitted (an empty list); passing it positionally works as before",
    ),
    *(
        Allowed(kind, f"{path}.__init__(*)", _BUILT_BY_THE_CLIENT)
        for kind in ("param-missing", "extra-param")
        for path in _RESOURCES
    ),
    *(Allowed("extra-param", f"{path}.__init__(*)", _PAGES) for path in _PAGE_CLASSES),
    *(
        Allowed("param-missing", f"{path}.__init__(*)", _PAGES)
        for path in _PAGE_CLASSES
        if not path.endswith("UserMemoriesList")  # its ``items`` has the same name here
    ),
    Allowed(
        "param-optional",
        "recallrai.models.user.UserMessagesList.__init__(messages)",
        "a list subclass, empty when given nothing; UserMessagesList(messages=...) works as before",
    ),
    Allowed(
        "param-default",
        "recallrai.models.session.SessionModel.__init__(metadata)",
        "both default to a new empty dict: theirs by a pydantic factory, ours by an attrs"
        " factory, which a signature shows as attrs' NOTHING marker",
    ),
    Allowed(
        "param-default",
        "recallrai.models.session.ContextMetadata.__init__(recall_strategy_used)",
        "PROTOCOL.md §3.8: required in a non-empty metadata object (the official client's"
        " prompt selection rejects null); an answer without metadata still reads as None",
    ),
    Allowed(
        "param-optional",
        "recallrai.models.session.ContextResponse.__init__(is_final)",
        "absent on the wire means false (PROTOCOL.md §3.8); passing it works as before",
    ),
]
