"""Compare the official ``recallrai`` 0.6.6 surface with ours (two ``surface.py`` dumps).

    python tests/compat/compare.py OFFICIAL.json OURS.json
    python tests/compat/compare.py --self-test OFFICIAL.json

Exit status 1 when ours lacks anything the official package offers and no
entry of ``allowed.py`` excuses it, or when an entry of ``allowed.py``
excuses nothing (stale); 0 otherwise. ``--self-test`` checks the checker:
the official dump compared with itself must show no difference, and each of
a set of deliberate breakages of a copy must be found. Standard library only.

Kinds of difference (``item`` is what an ``allowed.py`` entry names):

=======================  ====================================================
missing-module           an official module path does not import in ours
not-loaded-by-import     ``import recallrai`` leaves an official submodule
                         attribute (``recallrai.models``) unset in ours
missing-name             an official public name is missing from our module
name-kind                the name is there but not the same kind of thing
                         (class, function, module)
missing-member           a method, property, field or attribute of an
                         official class is missing from ours (a field or
                         attribute is satisfied by any attribute, property
                         or field of the same name)
member-kind              a method of theirs is not a method in ours, or a
                         field/attribute of theirs is a method in ours
method-kind              a classmethod/staticmethod of theirs is an
                         instance method in ours
missing-base             an official exception or enum has a parent (a name
                         in its MRO) that ours lacks
missing-enum-member      an official enum member is missing
enum-value               an official enum member has another value in ours
param-missing            an official parameter is missing
param-order              an official positional parameter is at another
                         position among our positional parameters
param-kind               an official parameter cannot be passed the same way
                         (positional-or-keyword must stay so; keyword-only
                         may become positional-or-keyword)
param-default            an official default differs (reprs compared: 30 and
                         30.0 differ), or ours made it required
param-optional           an official required parameter has a default in ours
extra-param              a parameter of ours that the official one lacks is
                         not keyword-only with a default (our additions are
                         keyword-only), or is a ``*args``/``**kwargs``
async-mismatch           an official ``async def`` is not awaitable in ours
                         (an ``async def``, or a ``def`` whose declared
                         return type has ``__await__``), an async generator
                         is not async-iterable in ours, or a plain method of
                         theirs is async in ours
signature-unavailable    ours has no inspectable signature where theirs has
=======================  ====================================================
"""

from __future__ import annotations

import argparse
import copy
import fnmatch
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parent))

from allowed import ALLOWED, Allowed

KINDS = (
    "missing-module",
    "not-loaded-by-import",
    "missing-name",
    "name-kind",
    "missing-member",
    "member-kind",
    "method-kind",
    "missing-base",
    "missing-enum-member",
    "enum-value",
    "param-missing",
    "param-order",
    "param-kind",
    "param-default",
    "param-optional",
    "extra-param",
    "async-mismatch",
    "signature-unavailable",
)

GROUPS = {
    "missing-module": "Modules",
    "not-loaded-by-import": "Modules",
    "missing-name": "Names",
    "name-kind": "Names",
    "missing-member": "Class members",
    "member-kind": "Class members",
    "method-kind": "Class members",
    "missing-base": "Exception and enum parents",
    "missing-enum-member": "Enum members",
    "enum-value": "Enum members",
    "param-missing": "Signatures",
    "param-order": "Signatures",
    "param-kind": "Signatures",
    "param-default": "Signatures",
    "param-optional": "Signatures",
    "extra-param": "Signatures",
    "signature-unavailable": "Signatures",
    "async-mismatch": "Async-ness",
}

POSITIONAL = ("POSITIONAL_ONLY", "POSITIONAL_OR_KEYWORD")
VARIADIC = ("VAR_POSITIONAL", "VAR_KEYWORD")


class Difference(NamedTuple):
    kind: str
    item: str
    detail: str
    reexport: bool = False  # a name the official module merely imports (not in __all__)


# --------------------------------------------------------------------------- comparing


class Comparer:
    def __init__(self, theirs: dict[str, Any], ours: dict[str, Any]) -> None:
        self.theirs = theirs
        self.ours = ours
        self.found: list[Difference] = []
        self.seen_pairs: set[tuple[str, str]] = set()

    def add(self, kind: str, item: str, detail: str, reexport: bool = False) -> None:
        assert kind in KINDS, kind
        self.found.append(Difference(kind, item, detail, reexport))

    def run(self) -> list[Difference]:
        our_modules = self.ours.get("modules", {})
        missing_modules: set[str] = set()
        for name, info in sorted(self.theirs["modules"].items()):
            if info.get("error"):
                continue  # broken in the official package too
            mine = our_modules.get(name)
            if mine is None or mine.get("error"):
                reason = "not found" if mine is None else mine["error"]
                self.add("missing-module", name, f"does not import in ours: {reason}")
                missing_modules.add(name)
        root = self.theirs.get("package", "recallrai")
        ours_loaded = set(self.ours.get("loaded_at_import", []))
        for name in self.theirs.get("loaded_at_import", []):
            if f"{root}.{name}" not in missing_modules and name not in ours_loaded:
                self.add(
                    "not-loaded-by-import",
                    f"{root}.{name}",
                    f"after `import {root}` theirs has the attribute {root}.{name}, ours not",
                )
        exposures: list[tuple[bool, str, dict[str, Any], dict[str, Any]]] = []
        for modname, info in sorted(self.theirs["modules"].items()):
            if info.get("error") or modname in missing_modules:
                continue
            our_names = our_modules[modname].get("names", {})
            for attr, entry in sorted(info.get("names", {}).items()):
                path = f"{modname}.{attr}"
                reexport = not entry.get("in_all") and not entry.get("defined_here", True)
                if entry["kind"] == "module" and entry.get("target") in missing_modules:
                    continue  # reported as a missing module
                mine = our_names.get(attr)
                if mine is None or mine.get("kind") == "unresolvable":
                    self.add("missing-name", path, f"theirs: {describe(entry)}", reexport)
                    continue
                if entry["kind"] != mine["kind"] and not (
                    entry["kind"] == "value" and mine["kind"] != "unresolvable"
                ):
                    self.add(
                        "name-kind",
                        path,
                        f"theirs is a {entry['kind']}, ours a {mine['kind']}",
                        reexport,
                    )
                    continue
                if entry["kind"] == "function":
                    self.compare_callable(path, entry, mine)
                elif entry["kind"] == "class":
                    exposures.append((not entry.get("defined_here"), path, entry, mine))
        # Each official class is compared once with each of our classes it maps to, under
        # the first path that shows it (its defining module first).
        for _, path, entry, mine in sorted(exposures, key=lambda e: (e[0], e[1])):
            pair = (entry["ref"], mine["ref"])
            if pair in self.seen_pairs:
                continue
            self.seen_pairs.add(pair)
            self.compare_class(path, self.theirs["classes"][pair[0]], self.ours["classes"][pair[1]])
        return self.found

    def compare_class(self, path: str, theirs: dict[str, Any], ours: dict[str, Any]) -> None:
        if theirs.get("error"):
            return
        if ours.get("error"):
            self.add("signature-unavailable", path, f"ours cannot be described: {ours['error']}")
            return
        if theirs.get("is_exception") or theirs.get("is_enum"):
            our_names = {*ours["mro"], ours["name"]}
            lacking = [n for n in theirs["mro"] if n not in our_names]
            if lacking:
                self.add(
                    "missing-base",
                    path,
                    f"parents of theirs missing from our MRO: {', '.join(lacking)}"
                    f" (ours: {' -> '.join(ours['mro'])})",
                )
        if theirs.get("is_enum"):
            our_members = ours.get("enum_members") or {}
            for name, value in (theirs.get("enum_members") or {}).items():
                if name not in our_members:
                    self.add("missing-enum-member", f"{path}.{name}", f"theirs = {value}")
                elif our_members[name] != value:
                    self.add(
                        "enum-value",
                        f"{path}.{name}",
                        f"theirs = {value}, ours = {our_members[name]}",
                    )
        elif theirs.get("constructor") and theirs["constructor"].get("params") is not None:
            self.compare_params(
                f"{path}.__init__",
                theirs["constructor"]["params"],
                (ours.get("constructor") or {}).get("params"),
            )
        our_methods = ours.get("methods", {})
        our_data = {
            *ours.get("properties", []),
            *ours.get("fields", []),
            *ours.get("attributes", []),
        }
        for name, method in sorted(theirs.get("methods", {}).items()):
            item = f"{path}.{name}"
            mine = our_methods.get(name)
            if mine is None:
                if name in our_data:
                    self.add(
                        "member-kind", item, f"theirs is a {method['kind']}, ours is not callable"
                    )
                else:
                    self.add("missing-member", item, f"theirs: {method['kind']}")
                continue
            if method["kind"] in ("classmethod", "staticmethod") and mine["kind"] == "method":
                self.add(
                    "method-kind", item, f"theirs is a {method['kind']}, ours needs an instance"
                )
            if name.startswith("__") and name not in ("__init__", "__call__"):
                # The interpreter passes a protocol method's arguments by position.
                method = dict(method, params=positional_only(method.get("params")))
            self.compare_callable(item, method, mine)
        theirs_data = {
            *theirs.get("properties", []),
            *theirs.get("fields", []),
            *theirs.get("attributes", []),
        } - set(theirs.get("methods", {}))
        for name in sorted(theirs_data):
            if name in our_data:
                continue
            if name in our_methods:
                self.add(
                    "member-kind", f"{path}.{name}", "theirs is a field/attribute, ours a method"
                )
            else:
                self.add("missing-member", f"{path}.{name}", f"theirs: {data_kind(theirs, name)}")

    def compare_callable(self, item: str, theirs: dict[str, Any], ours: dict[str, Any]) -> None:
        if theirs.get("params") is not None:
            self.compare_params(item, theirs["params"], ours.get("params"))
        self.compare_async(item, theirs, ours)

    def compare_async(self, item: str, theirs: dict[str, Any], ours: dict[str, Any]) -> None:
        if theirs.get("asyncgen"):
            if not (ours.get("asyncgen") or ours.get("returns_async_iterable")):
                self.add(
                    "async-mismatch",
                    item,
                    "theirs is an async generator (async for); ours "
                    + shape(ours)
                    + " whose return type is not known to be async-iterable",
                )
        elif theirs.get("async"):
            if not (ours.get("async") or ours.get("returns_awaitable")):
                self.add(
                    "async-mismatch",
                    item,
                    "theirs is `async def` (awaited); ours "
                    + shape(ours)
                    + " whose return type is not known to be awaitable",
                )
        elif ours.get("async") or ours.get("asyncgen"):
            self.add("async-mismatch", item, f"theirs is a plain def; ours {shape(ours)}")

    def compare_params(
        self, item: str, theirs: list[dict[str, Any]], ours: list[dict[str, Any]] | None
    ) -> None:
        if ours is None:
            self.add("signature-unavailable", item, "ours has no inspectable signature")
            return
        by_name = {p["name"]: p for p in ours if p["kind"] not in VARIADIC}
        their_positional = [p for p in theirs if p["kind"] in POSITIONAL]
        our_positional = [p for p in ours if p["kind"] in POSITIONAL]
        their_names = {p["name"] for p in theirs}
        for param in theirs:
            where = f"{item}({param['name']})"
            kind = param["kind"]
            if kind in VARIADIC:
                star = "*" if kind == "VAR_POSITIONAL" else "**"
                if not any(p["kind"] == kind for p in ours):
                    self.add(
                        "param-missing",
                        f"{item}({star}{param['name']})",
                        f"theirs takes {star}{param['name']}, ours does not",
                    )
                continue
            if kind == "POSITIONAL_ONLY":
                index = their_positional.index(param)
                if index >= len(our_positional):
                    self.add(
                        "param-missing",
                        where,
                        f"theirs takes a positional argument #{index + 1}, ours does not",
                    )
                    continue
                mine = our_positional[index]
            else:
                mine = by_name.get(param["name"])
                if mine is None:
                    self.add(
                        "param-missing",
                        where,
                        f"theirs: {format_param(param)}; ours: {format_params(ours)}",
                    )
                    continue
            if kind == "POSITIONAL_OR_KEYWORD":
                if mine["kind"] != "POSITIONAL_OR_KEYWORD":
                    self.add(
                        "param-kind",
                        where,
                        f"theirs is positional-or-keyword, ours {mine['kind'].lower().replace('_', '-')}",
                    )
                else:
                    want = their_positional.index(param)
                    got = our_positional.index(mine)
                    if want != got:
                        self.add(
                            "param-order",
                            where,
                            f"theirs is positional #{want + 1}, ours #{got + 1} ({format_params(ours)})",
                        )
            elif kind == "KEYWORD_ONLY" and mine["kind"] not in (
                "KEYWORD_ONLY",
                "POSITIONAL_OR_KEYWORD",
            ):
                self.add(
                    "param-kind",
                    where,
                    f"theirs is keyword-only, ours {mine['kind'].lower().replace('_', '-')}",
                )
            if param["default"] == mine["default"]:
                continue
            if param["default"] == "required":
                self.add(
                    "param-optional",
                    where,
                    f"theirs is required, ours defaults to {mine['default']}",
                )
            else:
                self.add(
                    "param-default",
                    where,
                    f"theirs defaults to {param['default']}, ours {'is required' if mine['default'] == 'required' else 'to ' + mine['default']}",
                )
        for index, mine in enumerate(ours):
            if (
                mine["kind"] in POSITIONAL
                and index < len(their_positional)
                and their_positional[index]["kind"] == "POSITIONAL_ONLY"
            ):
                continue  # matched by position above
            if mine["name"] in their_names:
                continue
            if mine["kind"] in VARIADIC:
                star = "*" if mine["kind"] == "VAR_POSITIONAL" else "**"
                if any(p["kind"] == mine["kind"] for p in theirs):
                    continue
                self.add(
                    "extra-param",
                    f"{item}({star}{mine['name']})",
                    "ours adds a catch-all the official signature lacks",
                )
            elif mine["kind"] != "KEYWORD_ONLY" or mine["default"] == "required":
                self.add(
                    "extra-param",
                    f"{item}({mine['name']})",
                    f"ours adds {format_param(mine)}; additions must be keyword-only with a default",
                )


def positional_only(params: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    if params is None:
        return None
    return [
        dict(p, kind="POSITIONAL_ONLY") if p["kind"] == "POSITIONAL_OR_KEYWORD" else p
        for p in params
    ]


def describe(entry: dict[str, Any]) -> str:
    if entry["kind"] == "class":
        return f"class {entry['ref']}"
    if entry["kind"] == "module":
        return f"module {entry.get('target')}"
    return str(entry["kind"])


def data_kind(cls: dict[str, Any], name: str) -> str:
    if name in cls.get("properties", []):
        return "property"
    if name in cls.get("fields", []):
        return "field"
    return "attribute"


def shape(callable_entry: dict[str, Any]) -> str:
    if callable_entry.get("asyncgen"):
        return "is an async generator"
    if callable_entry.get("async"):
        return "is `async def`"
    returns = callable_entry.get("returns")
    return f"is a plain def returning {returns}" if returns else "is a plain def (no return type)"


def format_param(param: dict[str, Any]) -> str:
    prefix = {"VAR_POSITIONAL": "*", "VAR_KEYWORD": "**"}.get(param["kind"], "")
    default = "" if param["default"] == "required" else f"={param['default']}"
    kind = {"KEYWORD_ONLY": " (keyword-only)", "POSITIONAL_ONLY": " (positional-only)"}.get(
        param["kind"], ""
    )
    return f"{prefix}{param['name']}{default}{kind}"


def format_params(params: list[dict[str, Any]]) -> str:
    return "(" + ", ".join(format_param(p) for p in params) + ")"


def compare(theirs: dict[str, Any], ours: dict[str, Any]) -> list[Difference]:
    return Comparer(theirs, ours).run()


# --------------------------------------------------------------------------- allow-list


def check_allowed(entries: Iterable[Allowed]) -> list[str]:
    """Problems with the allow-list itself (unknown kinds, empty reasons, duplicates)."""
    problems = []
    seen = set()
    for entry in entries:
        if entry.kind not in KINDS:
            problems.append(f"{entry}: unknown kind {entry.kind!r}")
        if not entry.reason.strip():
            problems.append(f"{entry}: no reason given")
        if (entry.kind, entry.item) in seen:
            problems.append(f"{entry}: listed twice")
        seen.add((entry.kind, entry.item))
    return problems


def apply_allowed(
    found: list[Difference], entries: list[Allowed]
) -> tuple[list[Difference], list[tuple[Difference, Allowed]], list[Allowed]]:
    """Split into (unexcused, excused with their entry, stale entries)."""
    unexcused: list[Difference] = []
    excused: list[tuple[Difference, Allowed]] = []
    used: set[int] = set()
    for diff in found:
        match = next(
            (
                (i, e)
                for i, e in enumerate(entries)
                if e.kind == diff.kind and fnmatch.fnmatchcase(diff.item, e.item)
            ),
            None,
        )
        if match is None:
            unexcused.append(diff)
        else:
            used.add(match[0])
            excused.append((diff, match[1]))
    stale = [e for i, e in enumerate(entries) if i not in used]
    return unexcused, excused, stale


# --------------------------------------------------------------------------- report


def report(
    unexcused: list[Difference],
    excused: list[tuple[Difference, Allowed]],
    stale: list[Allowed],
    problems: list[str],
    theirs: dict[str, Any],
    ours: dict[str, Any],
) -> str:
    lines = [
        f"official {theirs.get('package')} {theirs.get('version')} ({theirs.get('location')})",
        f"ours     {ours.get('package')} {ours.get('version')} ({ours.get('location')})",
        "",
    ]
    if unexcused:
        lines.append(f"{len(unexcused)} UNEXCUSED difference(s): ours is not a drop-in replacement")
        for group in dict.fromkeys(GROUPS.values()):
            for reexport in (False, True):
                items = [d for d in unexcused if GROUPS[d.kind] == group and d.reexport == reexport]
                if not items:
                    continue
                title = (
                    group
                    if not reexport
                    else f"{group}: names the official modules merely import (not in __all__)"
                )
                lines.append(f"\n  {title} ({len(items)}):")
                lines.extend(f"    [{d.kind}] {d.item}: {d.detail}" for d in items)
    else:
        lines.append("no unexcused difference")
    if excused:
        lines.append(f"\n{len(excused)} difference(s) excused by tests/compat/allowed.py:")
        for entry in dict.fromkeys(e for _, e in excused):
            lines.append(f"    [{entry.kind}] {entry.item}: {entry.reason}")
            matched = [d.item for d, e in excused if e is entry]
            if matched != [entry.item]:
                lines.extend(f"        {item}" for item in matched)
    if stale:
        lines.append(f"\n{len(stale)} STALE allow-list entr(y/ies), excusing nothing: remove them")
        lines.extend(f"    [{e.kind}] {e.item}: {e.reason}" for e in stale)
    if problems:
        lines.append("\nallow-list problems:")
        lines.extend(f"    {p}" for p in problems)
    return "\n".join(lines)


# --------------------------------------------------------------------------- self-test


def self_test(official: dict[str, Any]) -> list[str]:
    """Failures of the checker itself (empty when it behaves)."""
    failures = []
    same = compare(official, copy.deepcopy(official))
    if same:
        failures.append(f"official vs itself: {len(same)} difference(s), first {same[0]}")

    def first_class(predicate: Any) -> tuple[str, dict[str, Any]]:
        for key, cls in sorted(official["classes"].items()):
            if cls and not cls.get("error") and predicate(cls):
                return key, cls
        raise AssertionError("no class fits the self-test")

    def exposure(key: str) -> str:
        for modname, info in sorted(official["modules"].items()):
            for attr, entry in sorted(info.get("names", {}).items()):
                if entry.get("ref") == key and entry.get("defined_here"):
                    return f"{modname}.{attr}"
        raise AssertionError(f"{key} is not exported where it is defined")

    def method_with(predicate: Any) -> tuple[str, str, dict[str, Any]]:
        for key, cls in sorted(official["classes"].items()):
            for name, method in sorted((cls or {}).get("methods", {}).items()):
                if predicate(method):
                    return key, name, method
        raise AssertionError("no method fits the self-test")

    breakages: list[tuple[str, str, Any]] = []

    def breakage(description: str, kind: str, mutate: Any) -> None:
        breakages.append((description, kind, mutate))

    module = next(m for m, i in sorted(official["modules"].items()) if i.get("names") and "." in m)
    name = sorted(official["modules"][module]["names"])[0]
    breakage(
        "a module removed",
        "missing-module",
        lambda d: d["modules"].pop(module),
    )
    breakage(
        "a name removed",
        "missing-name",
        lambda d: d["modules"][module]["names"].pop(name),
    )
    exc_key, _ = first_class(lambda c: c.get("is_exception") and len(c["mro"]) > 3)
    breakage(
        "an exception's parent dropped",
        "missing-base",
        lambda d: d["classes"][exc_key]["mro"].pop(0),
    )
    enum_key, _ = first_class(lambda c: c.get("is_enum") and c.get("enum_members"))

    def drop_member(d: dict[str, Any]) -> None:
        members = d["classes"][enum_key]["enum_members"]
        members.pop(sorted(members)[0])

    breakage("an enum member dropped", "missing-enum-member", drop_member)
    field_key, field_cls = first_class(lambda c: c.get("fields"))
    breakage(
        "a field dropped",
        "missing-member",
        lambda d: d["classes"][field_key].update(
            fields=field_cls["fields"][1:], attributes=[], properties=[]
        ),
    )
    m_key, m_name, _ = method_with(lambda m: m.get("async") and m.get("params"))
    breakage(
        "an async method made plain",
        "async-mismatch",
        lambda d: d["classes"][m_key]["methods"][m_name].update({"async": False}),
    )
    breakage(
        "a method removed",
        "missing-member",
        lambda d: d["classes"][m_key]["methods"].pop(m_name),
    )
    d_key, d_name, d_method = method_with(
        lambda m: (
            bool(m.get("params"))
            and all(p["kind"] == "POSITIONAL_OR_KEYWORD" for p in m["params"])
            and any(p["default"] != "required" for p in m["params"])
        )
    )
    d_index = next(i for i, p in enumerate(d_method["params"]) if p["default"] != "required")

    def change_default(d: dict[str, Any]) -> None:
        param = d["classes"][d_key]["methods"][d_name]["params"][d_index]
        param["default"] = param["default"] + ".0" if param["default"].isdigit() else "'changed'"

    breakage("a default changed", "param-default", change_default)

    def rename(d: dict[str, Any]) -> None:
        d["classes"][d_key]["methods"][d_name]["params"][d_index]["name"] += "_renamed"

    breakage("a parameter renamed", "param-missing", rename)

    def keyword_only(d: dict[str, Any]) -> None:
        params = d["classes"][d_key]["methods"][d_name]["params"]
        params[d_index]["kind"] = "KEYWORD_ONLY"
        params.append(params.pop(d_index))

    breakage("a positional parameter made keyword-only", "param-kind", keyword_only)

    def swap(d: dict[str, Any]) -> None:
        params = d["classes"][d_key]["methods"][d_name]["params"]
        params.insert(
            0, dict(name="inserted", kind="POSITIONAL_OR_KEYWORD", default="None", annotation=None)
        )

    breakage("a positional parameter inserted first", "param-order", swap)
    breakage("a positional parameter inserted first (the addition)", "extra-param", swap)

    def add_keyword(d: dict[str, Any]) -> None:
        d["classes"][d_key]["methods"][d_name]["params"].append(
            dict(name="added", kind="KEYWORD_ONLY", default="None", annotation=None)
        )

    for description, kind, mutate in breakages:
        broken = copy.deepcopy(official)
        mutate(broken)
        kinds = {d.kind for d in compare(official, broken)}
        if kind not in kinds:
            failures.append(
                f"{description}: expected a {kind!r} difference, got {sorted(kinds) or 'none'}"
            )
    fine = copy.deepcopy(official)
    add_keyword(fine)
    extra = compare(official, fine)
    if extra:
        failures.append(f"a keyword-only addition with a default must be fine, got {extra[0]}")
    probe = [Difference("missing-name", "recallrai.x.HTTPClient", "")]
    _, excused, stale = apply_allowed(
        probe,
        [
            Allowed("missing-name", "recallrai.*.HTTPClient", "r"),
            Allowed("missing-module", "recallrai.gone", "r"),
        ],
    )
    if len(excused) != 1 or [e.item for e in stale] != ["recallrai.gone"]:
        failures.append("the allow-list matching or its staleness detection is broken")
    return failures


# --------------------------------------------------------------------------- main


def load(path: str) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        data: dict[str, Any] = json.load(handle)
    return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("official", help="surface.py dump of the official package")
    parser.add_argument("ours", nargs="?", help="surface.py dump of ours")
    parser.add_argument(
        "--self-test", action="store_true", help="check the checker on OFFICIAL only"
    )
    args = parser.parse_args(argv)
    theirs = load(args.official)
    root = theirs.get("modules", {}).get(theirs.get("package", "recallrai"), {})
    if not root or root.get("error"):
        print(f"the official package could not be described: {root.get('error', 'no dump')}")
        return 1
    if args.self_test:
        try:
            failures = self_test(theirs)
        except (AssertionError, StopIteration) as exc:
            failures = [f"the official dump has too little to break: {exc!r}"]
        for failure in failures:
            print(f"SELF-TEST FAILED: {failure}")
        if not failures:
            print(
                "compare.py self-test passed: the official surface matches itself; every breakage is found"
            )
        return 1 if failures else 0
    if not args.ours:
        parser.error("OURS is required (unless --self-test)")
    ours = load(args.ours)
    found = compare(theirs, ours)
    problems = check_allowed(ALLOWED)
    unexcused, excused, stale = apply_allowed(found, ALLOWED)
    print(report(unexcused, excused, stale, problems, theirs, ours))
    return 1 if unexcused or stale or problems else 0


if __name__ == "__main__":
    sys.exit(main())
