"""Path segments, query strings and JSON bodies (PROTOCOL §1.3, §1.4, §12 "IDs in paths")."""

from __future__ import annotations

import asyncio
import json
import re
from urllib.parse import unquote

import httpx
import pytest
import respx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recallrai import AsyncRecallrAI
from recallrai._encoding import api_path, decode_json, encode_body, encode_query

SEGMENT = re.compile(r"(?:[A-Za-z0-9\-._~]|%[0-9A-F]{2})+")
non_blank_ids = st.text(min_size=1, max_size=40).filter(lambda s: s.strip() != "")
dots_only = st.integers(min_value=1, max_value=12).map(lambda n: "." * n)
tricky_ids = st.text(
    alphabet="./?#%+ &=:@!$'()*,;[]\\^`{}|\"<>~-_aZ9é\u2028\x00\t", min_size=1, max_size=20
)
any_ids = non_blank_ids | dots_only | tricky_ids.filter(lambda s: s.strip() != "")


# --------------------------------------------------------------------------- paths


@settings(max_examples=300, deadline=None)
@given(any_ids)
def test_api_path_has_one_encoded_segment_per_id(user_id):
    path = api_path("users", user_id)
    assert path.startswith("/")
    parts = path[1:].split("/")
    assert len(parts) == 4
    assert parts[:3] == ["api", "v1", "users"]
    segment = parts[3]
    assert SEGMENT.fullmatch(segment), segment
    assert unquote(segment, errors="strict") == user_id
    # No query, fragment or dot-segment can arise from an ID.
    assert segment not in (".", "..")
    assert "?" not in path
    assert "#" not in path


@settings(max_examples=100, deadline=None)
@given(non_blank_ids, non_blank_ids)
def test_nested_paths_keep_each_id_in_its_own_segment(user_id, session_id):
    path = api_path("users", user_id, "sessions", session_id, "messages")
    parts = path[1:].split("/")
    assert len(parts) == 7
    assert [unquote(parts[3]), unquote(parts[5])] == [user_id, session_id]
    assert parts[4] == "sessions"
    assert parts[6] == "messages"


@settings(max_examples=30, deadline=None)
@given(dots_only)
def test_dots_only_ids_are_fully_percent_encoded(user_id):
    segment = api_path("users", user_id).rsplit("/", 1)[1]
    assert segment == "%2E" * len(user_id)


@pytest.mark.parametrize(
    ("user_id", "segment"),
    [
        ("alice_123", "alice_123"),
        ("a-b.c~d", "a-b.c~d"),
        ("a/b", "a%2Fb"),
        ("a b", "a%20b"),
        ("é", "%C3%A9"),
        ("100%", "100%25"),
        ("%20", "%2520"),
        ("a?b#c", "a%3Fb%23c"),
        ("a+b", "a%2Bb"),
        (".", "%2E"),
        ("..", "%2E%2E"),
        (".a", ".a"),
        ("...a...", "...a..."),
        ("😀", "%F0%9F%98%80"),
    ],
)
def test_api_path_examples(user_id, segment):
    assert api_path("users", user_id) == f"/api/v1/users/{segment}"


def test_api_path_of_collection():
    assert api_path("users") == "/api/v1/users"


def _sent_raw_path(user_id: str) -> bytes:
    """The path bytes the httpx transport really sends for ``get_user(user_id)``."""

    async def run() -> bytes:
        user = {
            "custom_user_id": user_id,
            "metadata": {},
            "merge_conflict_enabled": None,
            "created_at": "2025-01-01T00:00:00Z",
            "last_active_at": "2025-01-01T00:00:00Z",
        }
        with respx.mock(assert_all_called=False) as router:
            route = router.route().mock(return_value=httpx.Response(200, json={"user": user}))
            async with AsyncRecallrAI(
                "rai_k", "p", base_url="http://127.0.0.1:9", transport="httpx", max_retries=0
            ) as client:
                fetched = await client.get_user(user_id)
            assert fetched.user_id == user_id
            return route.calls.last.request.url.raw_path

    return asyncio.run(run())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(any_ids)
def test_transport_sends_the_encoded_path_unchanged(user_id):
    assert _sent_raw_path(user_id) == api_path("users", user_id).encode("ascii")


# --------------------------------------------------------------------------- query strings


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"role": "admin"}, "metadata_filter=%7B%22role%22%3A+%22admin%22%7D"),
        ({}, "metadata_filter=%7B%7D"),
        (
            {"name": "José 😀", "nested": {"a": None, "b": 1.5}},
            "metadata_filter=%7B%22name%22%3A+%22Jos%5Cu00e9+%5Cud83d%5Cude00%22%2C+"
            "%22nested%22%3A+%7B%22a%22%3A+null%2C+%22b%22%3A+1.5%7D%7D",
        ),
    ],
    ids=["role", "empty", "unicode-nested"],
)
def test_dict_filter_examples_of_the_protocol(value, expected):
    assert encode_query([("metadata_filter", value)]) == expected


def test_query_keeps_order_and_drops_none():
    query = encode_query(
        [
            ("offset", 5),
            ("limit", 3),
            ("metadata_filter", None),
            ("status_filter", None),
            ("q", "x"),
        ]
    )
    assert query == "offset=5&limit=3&q=x"


def test_query_of_only_nones_is_empty():
    assert encode_query([("a", None), ("b", None)]) == ""


def test_lists_repeat_the_key_in_order():
    query = encode_query(
        [("offset", 0), ("status_filter", ["pending", "processing"]), ("limit", 10)]
    )
    assert query == "offset=0&status_filter=pending&status_filter=processing&limit=10"


def test_tuples_repeat_like_lists_and_empty_lists_vanish():
    assert encode_query([("c", ("a", "b")), ("d", []), ("e", ())]) == "c=a&c=b"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (True, "true"),
        (False, "false"),
        (0.6, "0.6"),
        (0.25, "0.25"),
        (0.1 + 0.2, "0.30000000000000004"),
        (1e-07, "1e-07"),
        (1.0, "1.0"),
        (1, "1"),
        (0, "0"),
        (-3, "-3"),
    ],
)
def test_scalar_formatting(value, text):
    assert encode_query([("v", value)]) == f"v={text}"


def test_booleans_in_lists():
    assert encode_query([("flags", [True, False])]) == "flags=true&flags=false"


def test_strings_are_form_encoded():
    assert encode_query([("q", "a b/é~-._*+&=")]) == "q=a+b%2F%C3%A9~-._%2A%2B%26%3D"


def test_enum_values_are_sent():
    import enum

    class Status(enum.Enum):
        PENDING = "pending"

    assert encode_query([("status_filter", [Status.PENDING])]) == "status_filter=pending"


@settings(max_examples=100, deadline=None)
@given(
    st.dictionaries(
        st.text(max_size=8), st.none() | st.booleans() | st.integers() | st.text(max_size=8)
    )
)
def test_dict_filters_round_trip_through_form_decoding(value):
    from urllib.parse import parse_qsl

    pairs = parse_qsl(
        encode_query([("metadata_filter", value)]), keep_blank_values=True, strict_parsing=True
    )
    assert len(pairs) == 1
    assert pairs[0][0] == "metadata_filter"
    assert json.loads(pairs[0][1]) == value
    assert pairs[0][1].isascii()


# --------------------------------------------------------------------------- bodies


def test_body_example_of_the_protocol_byte_for_byte():
    body = {
        "custom_user_id": "u 1/x",
        "metadata": {"name": "José", "n": [1, 2.5, None, True]},
        "merge_conflict_enabled": False,
    }
    expected = (
        '{"custom_user_id":"u 1/x","metadata":{"name":"José","n":[1,2.5,null,true]},'
        '"merge_conflict_enabled":false}'
    ).encode()
    assert encode_body(body) == expected


def test_body_drops_top_level_none_only():
    body = {"a": None, "b": {"c": None, "d": [None]}, "e": None, "f": 0, "g": "", "h": False}
    assert encode_body(body) == b'{"b":{"c":null,"d":[null]},"f":0,"g":"","h":false}'


def test_body_of_all_nones_is_two_bytes():
    assert encode_body({"new_metadata": None, "new_custom_user_id": None}) == b"{}"
    assert encode_body({}) == b"{}"


def test_body_keeps_key_order():
    assert encode_body({"z": 1, "a": 2, "m": 3}) == b'{"z":1,"a":2,"m":3}'


def test_body_escaping_follows_python_json():
    body = {"s": 'q"b\\n\n\r\t\b\f\x01\x1f/\u2028😀'}
    expected = '{"s":"q\\"b\\\\n\\n\\r\\t\\b\\f\\u0001\\u001f/\u2028😀"}'.encode()
    assert encode_body(body) == expected


def test_body_numbers():
    assert encode_body({"n": [1.0, 1.5, 1e-07, 1e20, 10**20, -0.0]}) == (
        b'{"n":[1.0,1.5,1e-07,1e+20,100000000000000000000,-0.0]}'
    )


def test_body_is_raw_utf8_not_ascii_escaped():
    encoded = encode_body({"name": "Zoë 中文"})
    assert encoded == '{"name":"Zoë 中文"}'.encode()
    assert b"\\u" not in encoded


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=15,
)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.text(max_size=8), json_values, max_size=5))
def test_body_round_trips_and_is_compact(body):
    encoded = encode_body(body)
    decoded = json.loads(encoded.decode("utf-8"))
    assert decoded == {k: v for k, v in body.items() if v is not None}
    # Compact: re-serialising compactly gives the same bytes.
    assert encoded == json.dumps(decoded, separators=(",", ":"), ensure_ascii=False).encode()


@settings(max_examples=500)
@given(
    st.lists(
        st.tuples(
            st.text(min_size=1),
            st.one_of(
                st.none(),
                st.text(),
                st.integers(),
                st.floats(allow_nan=False),
                st.booleans(),
                st.lists(st.text()),
                st.dictionaries(st.text(), st.integers()),
            ),
        )
    )
)
def test_query_encoding_is_exactly_form_encoding(params):
    """The fast path (nothing to escape) and the quoting path agree with ``urlencode``."""
    from urllib.parse import urlencode

    pairs = []
    for key, value in params:
        if value is None:
            continue
        if isinstance(value, list):
            pairs += [(key, item) for item in value]
        elif isinstance(value, dict):
            pairs.append((key, json.dumps(value)))
        elif isinstance(value, bool):
            pairs.append((key, "true" if value else "false"))
        else:
            pairs.append((key, repr(value) if isinstance(value, float) else str(value)))
    assert encode_query(params) == urlencode(pairs)


# --------------------------------------------------------------------------- edge cases, exactly


@pytest.mark.parametrize(
    ("segment", "encoded"),
    [
        ("..X", "..X"),  # dots and more: not a dot-segment, left as it is
        ("X..", "X.."),
        (".a", ".a"),
        ("..", "%2E%2E"),
        ("a b", "a%20b"),
        ("-_~", "-_~"),
    ],
)
def test_segments_only_all_dots_are_escaped(segment, encoded):
    assert api_path("users", segment) == f"/api/v1/users/{encoded}"


def test_body_refuses_what_json_cannot_carry():
    with pytest.raises(ValueError):
        encode_body({"a": float("nan")})
    with pytest.raises(ValueError):
        encode_body({"a": [float("inf")]})


def test_body_nested_none_is_kept_and_text_is_not_escaped():
    assert encode_body({"a": None, "b": {"c": None}, "d": [None], "e": "é"}) == (
        '{"b":{"c":null},"d":[null],"e":"é"}'.encode()
    )


def test_query_keys_and_mappings_are_form_encoded():
    assert encode_query([("a b", {"k": "v w"}), ("x&y", ["1 2"])]) == (
        "a+b=%7B%22k%22%3A+%22v+w%22%7D&x%26y=1+2"
    )


def test_other_query_values_are_sent_as_their_text() -> None:
    from decimal import Decimal

    from recallrai._encoding import encode_query

    assert encode_query([("x", Decimal("1.50")), ("y", {"k": 1})]) == "x=1.50&y=%7B%22k%22%3A+1%7D"


# --------------------------------------------------------------------------- answers


def _loads(data: bytes) -> tuple[str, object]:
    """What ``json.loads`` makes of ``data``: its value, or the type of its error."""
    try:
        return "value", json.loads(data)
    except (ValueError, RecursionError) as error:
        return "error", type(error)


def _decoded(data: bytes) -> tuple[str, object]:
    try:
        return "value", decode_json(data)
    except (ValueError, RecursionError) as error:
        return "error", type(error)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)


@given(json_values, st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-16-be", "utf-32"]))
def test_decode_json_reads_every_encoding_json_reads(value, encoding):
    data = json.dumps(value, ensure_ascii=False).encode(encoding, "surrogatepass")
    assert _decoded(data) == _loads(data)


@given(st.binary(max_size=40))
def test_decode_json_reads_any_bytes_as_json_does(data):
    assert _decoded(data) == _loads(data)


@pytest.mark.parametrize(
    "data",
    [
        b'{"a": "\xed\xa0\x80"}',  # a lone surrogate: only json's surrogatepass reads it
        b'\xef\xbb\xbf{"a": 1}',  # a UTF-8 byte-order mark
        '{"a": "é"}'.encode("utf-16"),  # valid UTF-8 too (NUL bytes), but not JSON as such
        b'{"a": 1',
        b"",
        b' {"a": 1}',  # whitespace before the value
        b'{"a": 1}\r\n',  # and after it
        b'{"a": 1}{}',  # more after the value
        b"1 2",
        b"-Infinity",
        b'"\\ud800"',  # an escaped lone surrogate
        b"9" * 5000,  # more digits than int() reads
    ],
)
def test_decode_json_falls_back_to_json_s_own_reading(data):
    assert _decoded(data) == _loads(data)
