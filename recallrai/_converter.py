"""The one cattrs converter between wire JSON and SDK models.

Primitive hooks are strict (a JSON string is not a bool, a number is not an ID)
so that a malformed answer is reported instead of silently coerced. Datetimes
are read leniently (``Z`` or an offset; naive values are taken as UTC) and always
come out timezone-aware in UTC.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn

from ._raw import locate_malformed
from .exceptions import MalformedResponseError, ValidationError

__all__ = [
    "converter",
    "format_datetime",
    "parse_datetime",
    "require_identity",
    "structure",
    "structure_input",
    "with_aliases",
]

T = TypeVar("T")

converter = cattrs.Converter(forbid_extra_keys=False)

_FRACTION = re.compile(r"\.(\d+)")


def parse_datetime(value: object) -> datetime:
    """An ISO 8601 timestamp as an aware UTC datetime."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:  # the fast path: Python 3.11+ reads every form the service sends
            parsed = datetime.fromisoformat(value)
        except ValueError:
            parsed = _parse_lenient(value)
    else:
        raise TypeError(f"expected an ISO 8601 string, got {type(value).__name__}")
    if parsed.tzinfo is timezone.utc:
        return parsed
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def _parse_lenient(value: str) -> datetime:
    """``Z`` suffixes and any number of fractional digits, for Python 3.10."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    # Python 3.10 only reads 3 or 6 fractional digits: pad or cut to 6.
    text = _FRACTION.sub(lambda m: "." + (m.group(1) + "000000")[:6], text, count=1)
    return datetime.fromisoformat(text)


def format_datetime(value: datetime) -> str:
    """ISO 8601 text of an aware datetime, in UTC."""
    return value.astimezone(timezone.utc).isoformat()


def _strict(kind: type[Any]) -> Any:
    def hook(value: object, _: type[Any]) -> Any:
        if type(value) is kind:  # the common case, first
            return value
        if type(value) is bool and kind is not bool:
            raise TypeError(f"expected {kind.__name__}, got bool")
        if not isinstance(value, kind):
            raise TypeError(f"expected {kind.__name__}, got {type(value).__name__}")
        return value

    return hook


converter.register_structure_hook(str, _strict(str))
converter.register_structure_hook(bool, _strict(bool))
converter.register_structure_hook(int, _strict(int))


def _float(value: object, _: type[Any]) -> float:
    if type(value) is bool or not isinstance(value, (int, float)):
        raise TypeError(f"expected a number, got {type(value).__name__}")
    return float(value)


converter.register_structure_hook(float, _float)


def _datetime(value: object, _: object = None) -> datetime:
    if type(value) is str:  # the fast path of parse_datetime, for every timestamp of an answer
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            if parsed.tzinfo is timezone.utc:
                return parsed
    return parse_datetime(value)


converter.register_structure_hook(datetime, _datetime)


def _json_object(value: object, _: type[Any]) -> dict[str, Any]:
    # Metadata and other free-form objects: checked, but not copied key by key.
    if not isinstance(value, dict):
        raise TypeError(f"expected a JSON object, got {type(value).__name__}")
    for key in value:  # always true of decoded JSON; from_dict input may differ
        if type(key) is not str:
            raise TypeError("expected a JSON object, got non-string keys")
    return value


converter.register_structure_hook_func(lambda t: t == dict[str, Any], _json_object)
converter.register_unstructure_hook(datetime, format_datetime)


# ----------------------------------------------------------------------------- model hooks

_INLINE_TYPES = {str: "str", int: "int", bool: "bool"}
"""Field types whose strict check is inlined: the exact type and nothing else."""


class _Unusual(Exception):
    """Raised inside a fast hook: the value needs cattrs' full hook (and maybe its error)."""


def _structure_fn(cls: type[T]) -> Callable[[Any, Any], T]:
    """The structure hook of an attrs model: cattrs' generated hook, behind a faster one.

    The fast hook is generated for ``cls`` too. It reads each field of a well-formed
    answer with the checks inlined (exact ``str``/``int``/``bool``, ISO 8601 UTC
    datetimes, JSON objects) and calls one constructor; it does not collect errors.
    At the first thing it does not expect (a missing key, another type, a ``Z``
    timestamp on Python 3.10, an offset to convert) it hands the whole value to
    cattrs' own hook, which reads it the lenient way or reports every problem.
    """
    detailed: Callable[[Any, Any], T] = make_dict_structure_fn(cls, converter)
    model: Any = cls
    attrs.resolve_types(model)  # the annotations as types, not text
    names: dict[str, Any] = {
        "cls": cls,
        "detailed": detailed,
        "Unusual": _Unusual,
        "MISSING": attrs.NOTHING,
        "fromisoformat": datetime.fromisoformat,
        "utc": timezone.utc,
    }
    lines = ["def fast(o, _=None):", "  try:"]
    positional: list[str] = []
    keywords: list[str] = []
    for n, field in enumerate(attrs.fields(model)):
        if not field.init:
            continue
        default = field.default
        if isinstance(default, attrs.Factory) and default.takes_self:  # type: ignore[arg-type]
            return detailed  # no model has one; not worth a fast path
        value, kind = f"v{n}", field.type
        optional = _optional_of(kind)
        if default is attrs.NOTHING:
            lines.append(f"    {value} = o[{field.name!r}]")
            check_indent = "    "
        else:
            factory = isinstance(default, attrs.Factory)  # type: ignore[arg-type]
            names[f"d{n}"] = default.factory if factory else default
            lines += [
                f"    {value} = o.get({field.name!r}, MISSING)",
                f"    if {value} is MISSING:",
                f"      {value} = d{n}{'()' if factory else ''}",
                "    else:",
            ]
            check_indent = "      "
        checks = _inline_checks(value, optional if optional is not None else kind)
        if checks is None:  # cattrs' hook for the whole type, None included
            names[f"h{n}"], names[f"t{n}"] = converter.get_structure_hook(kind), kind
            checks = [f"{value} = h{n}({value}, t{n})"]
        elif checks and optional is not None:
            checks = [f"if {value} is not None:", *("  " + line for line in checks)]
        lines += [check_indent + line for line in checks or ["pass"]]
        # Positional where the class allows it: keywords cost about 40 ns each.
        if field.kw_only:
            keywords.append(f"{field.alias}={value}")
        else:
            positional.append(value)
    lines += [
        f"    return cls({', '.join(positional + keywords)})",
        "  except Exception:",
        "    return detailed(o, cls)",
    ]
    namespace: dict[str, Any] = {}
    exec(
        compile("\n".join(lines), f"<recallrai structure {cls.__qualname__}>", "exec"),
        names,
        namespace,
    )
    fast: Callable[[Any, Any], T] = namespace["fast"]
    fast.detailed = detailed  # type: ignore[attr-defined]
    return fast


def _inline_checks(value: str, kind: Any) -> list[str] | None:
    """The lines that check (and convert) ``value`` as a ``kind``; None where only the
    converter's hook will do."""
    if kind in _INLINE_TYPES:
        return [f"if type({value}) is not {_INLINE_TYPES[kind]}:", "  raise Unusual"]
    if kind is datetime:
        return [
            f"{value} = fromisoformat({value})",
            f"if {value}.tzinfo is not utc:",
            "  raise Unusual",
        ]
    if kind == dict[str, Any]:  # what _json_object checks
        return [
            f"if type({value}) is not dict:",
            "  raise Unusual",
            f"for key in {value}:",
            "  if type(key) is not str:",
            "    raise Unusual",
        ]
    if kind is Any:
        return []
    return None


def _optional_of(kind: Any) -> Any:
    """``X`` for ``X | None``; None for any other type."""
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        members = [member for member in typing.get_args(kind) if member is not type(None)]
        if len(members) == 1 and len(typing.get_args(kind)) == 2:
            return members[0]
    return None


converter.register_structure_hook_factory(attrs.has, _structure_fn)


def with_aliases(data: Any, aliases: Mapping[str, str]) -> Any:
    """``data`` with each field the service also spells another way under the SDK's name.

    ``aliases`` maps the SDK's wire name to the other spelling (PROTOCOL.md §13).
    The usual spelling wins when both are present; ``data`` is copied only when
    an alternative spelling is actually used.
    """
    if not isinstance(data, dict):
        return data
    renamed = None
    for name, other in aliases.items():
        if name not in data and other in data:
            if renamed is None:
                renamed = dict(data)
            renamed[name] = data[other]
    return data if renamed is None else renamed


def require_identity(actual: str, expected: str | None, what: str) -> None:
    """An answer must describe the object that was asked for, not another one."""
    if expected is not None and actual != expected:
        raise locate_malformed(
            MalformedResponseError(
                f"The server answered with {what} {actual!r} where {what} {expected!r} was asked for"
            )
        )


_hooks: dict[Any, Callable[[Any, Any], Any]] = {}
"""Structure hooks by target type: every response is structured, so skip cattrs' dispatch."""


def _problems(error: Exception) -> str:
    if isinstance(error, cattrs.BaseValidationError):
        return "; ".join(cattrs.transform_error(error))
    return str(error)


def _structure(data: Any, cls: type[T]) -> T:
    hook = _hooks.get(cls)
    if hook is None:
        hook = _hooks[cls] = converter.get_structure_hook(cls)
    return hook(data, cls)  # type: ignore[no-any-return]


def structure_each(items: list[Any], cls: type[T], one: Callable[[Any], T]) -> list[T]:
    """The items of a page as ``cls``: the structure hook straight over plain items, and
    ``one`` (the per-answer reader: aliases, wrapping, error messages) only if that fails."""
    hook = _hooks.get(cls)
    if hook is None:
        hook = _hooks[cls] = converter.get_structure_hook(cls)
    try:
        return [hook(item, cls) for item in items]
    except Exception:  # an alias spelling, or a malformed item: ``one`` says which
        return [one(item) for item in items]


def structure(data: Any, cls: type[T], what: str) -> T:
    """Structure wire data into ``cls``; a mismatch is a :class:`MalformedResponseError`."""
    try:
        return _structure(data, cls)
    except Exception as error:  # cattrs raises many kinds; all mean "the body is malformed"
        problems = _problems(error)
        raise locate_malformed(
            MalformedResponseError(f"Malformed {what} in the server's answer: {problems}")
        ) from None


def structure_input(data: Any, cls: type[T], what: str) -> T:
    """Structure caller-provided data (``Model.from_dict``) into ``cls`` with the same rules
    as answers; a mismatch is the caller's: a :class:`ValidationError`."""
    try:
        return _structure(data, cls)
    except Exception as error:
        problems = _problems(error)
        raise ValidationError(f"Invalid {what} data: {problems}") from None
