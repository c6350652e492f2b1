"""The small caches of the request path stay bounded and never change what is sent."""

from __future__ import annotations

from urllib.parse import quote

from recallrai import _encoding, _transport
from recallrai._encoding import api_path


def test_segments_encode_the_same_from_the_cache_and_without_it() -> None:
    for value in ["user-1", "a/b", "é ü", "..", "x" * (_encoding.MAX_CACHED_SEGMENT + 1) + "/"]:
        expected = quote(value, safe="") if value != ".." else "%2E%2E"
        assert api_path("users", value) == f"/api/v1/users/{expected}"
        assert api_path("users", value) == f"/api/v1/users/{expected}"  # a cache hit, if cached


def test_short_segments_are_kept_encoded_up_to_the_length_limit() -> None:
    at_limit = "é" * _encoding.MAX_CACHED_SEGMENT
    api_path("users", "a/b", at_limit)
    assert _encoding._SEGMENTS["a/b"] == "a%2Fb"
    assert _encoding._SEGMENTS[at_limit] == quote(at_limit, safe="")


def test_the_segment_cache_stops_growing() -> None:
    for n in range(_encoding.MAX_SEGMENTS + 100):
        api_path("users", f"bounded-{n}")
    assert len(_encoding._SEGMENTS) <= _encoding.MAX_SEGMENTS
    long_id = "y" * (_encoding.MAX_CACHED_SEGMENT + 1)
    api_path("users", long_id)
    assert long_id not in _encoding._SEGMENTS


def test_urls_parse_the_same_from_the_cache_and_without_it() -> None:
    short = "http://127.0.0.1:9/api/v1/users/a%2Fb?x=%C3%A9"
    long = "http://127.0.0.1:9/api/v1/users/" + "z" * _transport.MAX_CACHED_URL
    for url in (short, short, long, long):
        parsed = _transport._encoded_url(url)
        assert str(parsed) == url
        assert parsed.raw_path.endswith(("a%2Fb", "z"))
    assert _transport._parsed_url.cache_info().maxsize == 256
    before = _transport._parsed_url.cache_info().currsize
    _transport._encoded_url(long + "more")
    assert _transport._parsed_url.cache_info().currsize == before  # too long to be kept


def test_only_segments_of_nothing_but_dots_have_their_dots_encoded() -> None:
    assert api_path("users", ".X") == "/api/v1/users/.X"
    assert api_path("users", "..") == "/api/v1/users/%2E%2E"


def test_query_texts_encode_the_same_from_the_cache_and_without_it() -> None:
    from urllib.parse import urlencode

    params = [("q", "a b&c=é"), ("n", 5), ("flag", True), ("x", 0.5), ("safe", "v-1._~")]
    expected = urlencode(
        [("q", "a b&c=é"), ("n", 5), ("flag", "true"), ("x", 0.5), ("safe", "v-1._~")]
    )
    assert _encoding.encode_query(params) == expected
    assert _encoding.encode_query(params) == expected  # cache hits
    assert _encoding._FORMS["a b&c=é"] == "a+b%26c%3D%C3%A9"


def test_the_query_text_cache_stops_growing() -> None:
    for n in range(_encoding.MAX_SEGMENTS + 100):
        _encoding.encode_query([("q", f"bounded {n}")])
    assert len(_encoding._FORMS) <= _encoding.MAX_SEGMENTS
    long_text = "z" * (_encoding.MAX_CACHED_SEGMENT + 1)
    assert _encoding.encode_query([("q", long_text)]) == f"q={long_text}"
    assert long_text not in _encoding._FORMS


def test_query_texts_are_kept_encoded_up_to_the_length_limit() -> None:
    at_limit = "é" * _encoding.MAX_CACHED_SEGMENT
    _encoding.encode_query([("q", at_limit)])
    assert _encoding._FORMS[at_limit] == quote(at_limit, safe="")


def _query_args(**changes: object) -> list[object]:
    """context_query's arguments, in order: the SDK's defaults with ``changes``."""
    args: dict[str, object] = {
        "recall_strategy": "balanced",
        "min_top_k": 15,
        "max_top_k": 50,
        "memories_threshold": 0.6,
        "summaries_threshold": 0.5,
        "last_n_messages": None,
        "last_n_summaries": None,
        "timezone": None,
        "include_system_prompt": False,
        "include_metadata_ids": True,
    }
    args.update(changes)
    return list(args.values())


def test_a_cached_context_query_never_stands_in_for_an_argument_of_another_type() -> None:
    """``1 == True`` and ``15 == 15.0``: a query checked once must not let an equal value
    of a type the checks refuse through."""
    import pytest

    from recallrai._context import context_query
    from recallrai.exceptions import ValidationError

    good = context_query(*_query_args())  # type: ignore[arg-type]
    assert context_query(*_query_args()) is good  # type: ignore[arg-type]
    for bad in ({"include_metadata_ids": 1}, {"min_top_k": 15.0}, {"max_top_k": 50.0}):
        with pytest.raises(ValidationError):
            context_query(*_query_args(**bad))  # type: ignore[arg-type]


def test_an_unhashable_context_argument_gets_the_checks_error() -> None:
    import pytest

    from recallrai._context import context_query
    from recallrai.exceptions import ValidationError

    for bad in ({"timezone": ["UTC"]}, {"recall_strategy": {"balanced": 1}}, {"min_top_k": [15]}):
        with pytest.raises(ValidationError):
            context_query(*_query_args(**bad))  # type: ignore[arg-type]


def test_a_context_query_encodes_the_same_from_the_cache_and_without_it() -> None:
    from recallrai._context import context_query

    for stream in (False, True, True):
        query = context_query(*_query_args(timezone="Europe/Lisbon"))  # type: ignore[arg-type]
        assert query.encoded(stream=stream) == _encoding.encode_query(query.params(stream=stream))
    assert "stream=true" in query.encoded(stream=True)
    assert "stream" not in query.encoded(stream=False)
