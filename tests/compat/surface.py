"""Dump the public surface of whichever ``recallrai`` package this Python imports, as JSON.

    python tests/compat/surface.py [-o OUT.json] [--probe OTHER.json]

Run it with the Python of the environment to describe: the official 0.6.6
package's own venv (``-E -s``, from a directory that holds no ``recallrai``)
or ours. It depends on neither implementation and on the standard library
only. ``--probe`` names a dump of the other package: its module paths and
names are looked up here too, so names served lazily (a module
``__getattr__``, modules registered in ``sys.modules``) are seen even when
walking the package would not find them. ``tests/compat/compare.py`` reads
two dumps.

What is recorded (names only, never values, except enum member values and
parameter default reprs):

* every public module path (``pkgutil`` walk of the package, subpackages
  included, ``_private`` modules skipped; plus public ``recallrai.*`` modules
  found in ``sys.modules`` afterwards), or the error its import raised;
* per module, its public names: those in ``__all__``, plus public classes
  and functions whose ``__module__`` starts with ``recallrai`` (defined
  there or imported into it), plus public submodule attributes and
  ``__version__``; each with its kind and, for classes, a reference into
  the class table;
* per class: the names in its MRO (exceptions' parents), its constructor
  signature (``inspect.signature(cls)``), the public methods and protocol
  dunders defined by ``recallrai`` classes in its MRO (parameters: name,
  kind, order, default repr or required; async-ness; whether the declared
  return type is awaitable or async-iterable), properties, data fields
  (pydantic ``model_fields``, attrs, dataclass fields, annotations) and
  public attributes (``self.x = ...`` assignments in its methods, other class
  attributes), enum members;
* which submodules are attributes of the package right after
  ``import recallrai`` (directly, or served by its ``__getattr__``).
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import enum
import importlib
import inspect
import json
import pkgutil
import sys
import textwrap
import typing
from collections.abc import Callable
from typing import Any

PACKAGE = "recallrai"

# Dunders that are part of how an object is used (iteration, awaiting, context
# managers, calling, ...); other dunders and _private names are not surface.
PROTOCOL_DUNDERS = frozenset(
    {
        "__init__",
        "__call__",
        "__iter__",
        "__next__",
        "__aiter__",
        "__anext__",
        "__await__",
        "__len__",
        "__getitem__",
        "__contains__",
        "__bool__",
        "__enter__",
        "__exit__",
        "__aenter__",
        "__aexit__",
    }
)

AWAITABLE_NAMES = frozenset({"Awaitable", "Coroutine"})
ASYNC_ITERABLE_NAMES = frozenset({"AsyncIterator", "AsyncIterable", "AsyncGenerator"})


def is_public(name: str) -> bool:
    return not name.startswith("_")


def is_ours(obj: object) -> bool:
    """Defined by a ``recallrai*`` module (not typing, pydantic, attrs, builtins).

    A prefix, not the package: a companion package such as ``recallrai_sync``
    that the described one re-exports counts too.
    """
    module = getattr(obj, "__module__", None)
    return isinstance(module, str) and module.startswith(PACKAGE)


def error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:500]


def class_key(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


# --------------------------------------------------------------------------- modules


def discover_modules(probe_loaded: list[str]) -> tuple[dict[str, str | None], list[str]]:
    """Every public module path of the package -> None, or the error importing it raised.

    Also the names of the package's submodule attributes right after ``import recallrai``
    (those *probe_loaded* names too that the package serves lazily, by its ``__getattr__``).
    """
    found: dict[str, str | None] = {}
    try:
        root = importlib.import_module(PACKAGE)
    except Exception as exc:  # the package itself does not import: nothing else to see
        return {PACKAGE: error_text(exc)}, []

    def submodule(name: str) -> bool:
        try:
            value = getattr(root, name)
        except Exception:
            return False
        return inspect.ismodule(value) and value.__name__ == f"{PACKAGE}.{name}"

    loaded_at_import = sorted(
        name for name in {*vars(root), *probe_loaded} if is_public(name) and submodule(name)
    )
    found[PACKAGE] = None

    def walk(package: Any) -> None:
        for info in pkgutil.iter_modules(getattr(package, "__path__", []), package.__name__ + "."):
            if not is_public(info.name.rsplit(".", 1)[-1]):
                continue
            try:
                module = importlib.import_module(info.name)
            except BaseException as exc:  # recorded; SystemExit from a script too
                found[info.name] = error_text(exc)
                continue
            found[info.name] = None
            if info.ispkg:
                walk(module)

    walk(root)
    for name in list(sys.modules):
        if (
            name.startswith(PACKAGE + ".")
            and all(is_public(part) for part in name.split("."))
            and name not in found
            and sys.modules[name] is not None
        ):
            found[name] = None
    return found, loaded_at_import


def import_probe(name: str) -> str | None:
    """Import a module path named by the other dump: None, or the error."""
    try:
        importlib.import_module(name)
    except BaseException as exc:  # recorded
        return error_text(exc)
    return None


def describe_module(
    name: str, probe_names: list[str], classes: dict[str, Any], pending: list[type]
) -> dict[str, Any]:
    module = sys.modules[name]
    declared = getattr(module, "__all__", None)
    declared = [str(n) for n in declared] if isinstance(declared, (list, tuple)) else None
    candidates = set(declared or ()) | set(probe_names)
    candidates |= {n for n in vars(module) if is_public(n)}
    if "__version__" in vars(module):
        candidates.add("__version__")
    names: dict[str, Any] = {}
    for attr in sorted(candidates):
        explicit = attr in (declared or ()) or attr in probe_names
        try:
            value = getattr(module, attr)
        except AttributeError:
            if declared is not None and attr in declared:
                names[attr] = {"kind": "unresolvable", "in_all": True}
            continue
        except Exception as exc:
            names[attr] = {"kind": "unresolvable", "error": error_text(exc)}
            continue
        entry = describe_name(attr, value, name, explicit, classes, pending)
        if entry is not None:
            entry["in_all"] = declared is not None and attr in declared
            names[attr] = entry
    return {"error": None, "all": declared, "names": names}


def describe_name(
    attr: str,
    value: object,
    module_name: str,
    explicit: bool,
    classes: dict[str, Any],
    pending: list[type],
) -> dict[str, Any] | None:
    if inspect.ismodule(value):
        if value.__name__.startswith(PACKAGE + ".") or explicit:
            return {"kind": "module", "target": value.__name__}
        return None
    if inspect.isclass(value):
        if not (is_ours(value) or explicit):
            return None
        key = class_key(value)
        if key not in classes:
            classes[key] = None  # reserved; described once every module is imported
            pending.append(value)
        return {
            "kind": "class",
            "ref": key,
            "defined_here": value.__module__ == module_name,
        }
    if callable(value) and (inspect.isroutine(value) or is_ours(value)):
        if not (is_ours(value) or explicit):
            return None
        entry = describe_callable(value, drop_first=False)
        entry["kind"] = "function"
        entry["defined_here"] = getattr(value, "__module__", None) == module_name
        return entry
    if explicit or attr == "__version__":
        return {"kind": "value", "type": type(value).__name__}
    return None


# --------------------------------------------------------------------------- callables


def describe_parameters(signature: inspect.Signature, drop_first: bool) -> list[dict[str, Any]]:
    params = list(signature.parameters.values())
    if (
        drop_first
        and params
        and params[0].kind
        in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    ):
        params = params[1:]
    return [
        {
            "name": p.name,
            "kind": p.kind.name,
            "default": "required" if p.default is inspect.Parameter.empty else repr(p.default),
            "annotation": (
                None if p.annotation is inspect.Parameter.empty else annotation_text(p.annotation)
            ),
        }
        for p in params
    ]


def annotation_text(annotation: object) -> str:
    if isinstance(annotation, str):
        return annotation
    return inspect.formatannotation(annotation)


def describe_callable(func: Callable[..., Any], drop_first: bool) -> dict[str, Any]:
    target = inspect.unwrap(func) if inspect.isfunction(func) else func
    entry: dict[str, Any] = {
        "async": inspect.iscoroutinefunction(target),
        "asyncgen": inspect.isasyncgenfunction(target),
        "generator": inspect.isgeneratorfunction(target),
    }
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError) as exc:
        entry["params"] = None
        entry["signature_error"] = error_text(exc)
        entry["returns"] = None
        return entry
    entry["params"] = describe_parameters(signature, drop_first)
    returns = signature.return_annotation
    if returns is inspect.Signature.empty:
        entry["returns"] = None
        entry["returns_awaitable"] = None
        entry["returns_async_iterable"] = None
    else:
        entry["returns"] = annotation_text(returns)
        resolved = resolve_return(func, returns)
        entry["returns_awaitable"] = resolved[0]
        entry["returns_async_iterable"] = resolved[1]
    return entry


def resolve_return(func: Callable[..., Any], returns: object) -> tuple[bool | None, bool | None]:
    """Whether the declared return type is awaitable / async-iterable (None: cannot tell)."""
    if isinstance(returns, str):
        head = returns.strip().strip("'\"").split("[", 1)[0].strip()
        short = head.rsplit(".", 1)[-1]
        if short in AWAITABLE_NAMES:
            return True, False
        if short in ASYNC_ITERABLE_NAMES:
            return False, True
        target = getattr(inspect.unwrap(func), "__globals__", {}).get(short)
        if target is None:
            target = find_package_class(short)
    else:
        origin = typing.get_origin(returns) or returns
        short = getattr(origin, "__name__", "")
        if short in AWAITABLE_NAMES:
            return True, False
        if short in ASYNC_ITERABLE_NAMES:
            return False, True
        target = origin
    if not inspect.isclass(target):
        return None, None
    return hasattr(target, "__await__"), hasattr(target, "__aiter__")


def find_package_class(short: str) -> type | None:
    for name, module in list(sys.modules.items()):
        if module is None or not (name == PACKAGE or name.startswith(PACKAGE + ".")):
            continue
        candidate = vars(module).get(short)
        if inspect.isclass(candidate) and is_ours(candidate):
            return candidate
    return None


# --------------------------------------------------------------------------- classes


def describe_class(cls: type) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": cls.__name__,
        "module": cls.__module__,
        "mro": [base.__name__ for base in cls.__mro__[1:]],
        "is_exception": issubclass(cls, BaseException),
        "is_enum": isinstance(cls, enum.EnumMeta),
        "methods": {},
        "properties": [],
        "fields": [],
        "attributes": [],
        "enum_members": None,
    }
    if entry["is_enum"]:
        entry["enum_members"] = {
            name: repr(member.value)
            for name, member in cls.__members__.items()  # type: ignore[attr-defined]
        }
        entry["constructor"] = None
    else:
        entry["constructor"] = describe_constructor(cls)
    pydantic = is_pydantic_model(cls)
    methods: dict[str, Any] = {}
    properties: set[str] = set()
    attributes: set[str] = set()
    for name in dir(cls):
        if not (is_public(name) or name in PROTOCOL_DUNDERS) or name == "__init__":
            continue
        owner = next((k for k in cls.__mro__ if name in vars(k)), None)
        if owner is None or not is_ours(owner):
            continue
        if entry["is_enum"] and name in entry["enum_members"]:
            continue
        if pydantic and is_pydantic_name(name):
            continue
        raw = vars(owner)[name]
        if isinstance(raw, (property,)) or type(raw).__name__ == "cached_property":
            properties.add(name)
        elif isinstance(raw, classmethod):
            methods[name] = dict(describe_callable(getattr(cls, name), False), kind="classmethod")
        elif isinstance(raw, staticmethod):
            methods[name] = dict(describe_callable(getattr(cls, name), False), kind="staticmethod")
        elif inspect.isfunction(raw):
            methods[name] = dict(describe_callable(raw, True), kind="method")
        elif inspect.isclass(raw):
            attributes.add(name)
        elif hasattr(type(raw), "__get__") and hasattr(type(raw), "__set__"):
            attributes.add(name)  # data descriptors: __slots__ members, attrs fields
        elif callable(raw) and hasattr(type(raw), "__get__"):
            methods[name] = dict(describe_callable(getattr(cls, name), False), kind="descriptor")
        else:
            attributes.add(name)
    entry["methods"] = methods
    entry["properties"] = sorted(properties)
    entry["fields"] = sorted(data_fields(cls))
    attributes |= instance_attributes(cls)
    entry["attributes"] = sorted(attributes - properties - set(methods))
    return entry


def describe_constructor(cls: type) -> dict[str, Any]:
    try:
        signature = inspect.signature(cls)
    except (TypeError, ValueError) as exc:
        return {"params": None, "signature_error": error_text(exc)}
    return {"params": describe_parameters(signature, drop_first=False)}


def data_fields(cls: type) -> set[str]:
    names: set[str] = set()
    model_fields = getattr(cls, "model_fields", None)  # pydantic v2
    if isinstance(model_fields, dict):
        names |= set(model_fields)
    elif isinstance(getattr(cls, "__fields__", None), dict):  # pydantic v1
        names |= set(cls.__fields__)  # type: ignore[attr-defined]
    attrs_fields = getattr(cls, "__attrs_attrs__", None)
    if attrs_fields is not None:
        names |= {a.name for a in attrs_fields}
    if dataclasses.is_dataclass(cls):
        names |= {f.name for f in dataclasses.fields(cls)}
    for klass in cls.__mro__:
        if is_ours(klass):
            names |= set(vars(klass).get("__annotations__", {}) or {})
    return {n for n in names if is_public(n)}


def is_pydantic_model(cls: type) -> bool:
    return any(
        k.__module__.startswith("pydantic.") and k.__name__ == "BaseModel" for k in cls.__mro__
    )


def is_pydantic_name(name: str) -> bool:
    """Pydantic's own configuration on a model class (``class Config``, ``model_config``)."""
    return name == "Config" or name.startswith("model_")


def instance_attributes(cls: type) -> set[str]:
    """``self.<name> = ...`` assignments in the methods of this package's classes in the MRO."""
    names: set[str] = set()
    for klass in cls.__mro__:
        if not is_ours(klass):
            continue
        try:
            source = textwrap.dedent(inspect.getsource(klass))
            tree = ast.parse(source)
        except (OSError, TypeError, SyntaxError, IndentationError):
            continue
        classdef = next((n for n in tree.body if isinstance(n, ast.ClassDef)), None)
        if classdef is None:
            continue
        for item in classdef.body:
            if not isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            args = item.args.posonlyargs + item.args.args
            if not args:
                continue
            self_name = args[0].arg
            for node in ast.walk(item):
                targets: list[ast.expr] = []
                if isinstance(node, ast.Assign):
                    targets = list(node.targets)
                elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
                    targets = [node.target]
                for target in targets:
                    for leaf in ast.walk(target):
                        if (
                            isinstance(leaf, ast.Attribute)
                            and isinstance(leaf.value, ast.Name)
                            and leaf.value.id == self_name
                            and is_public(leaf.attr)
                        ):
                            names.add(leaf.attr)
    return names


# --------------------------------------------------------------------------- main


def dump(probe: dict[str, Any] | None) -> dict[str, Any]:
    found, loaded_at_import = discover_modules((probe or {}).get("loaded_at_import", []))
    probe_modules: dict[str, list[str]] = {}
    if probe is not None:
        for name, info in probe.get("modules", {}).items():
            probe_modules[name] = sorted((info or {}).get("names", {}))
            if name not in found:
                found[name] = import_probe(name)
    modules: dict[str, Any] = {}
    classes: dict[str, Any] = {}
    pending: list[type] = []
    for name in sorted(found):
        if found[name] is not None or name not in sys.modules:
            modules[name] = {"error": found[name] or "not importable", "all": None, "names": {}}
            continue
        modules[name] = describe_module(name, probe_modules.get(name, []), classes, pending)
    while pending:
        cls = pending.pop()
        key = class_key(cls)
        try:
            classes[key] = describe_class(cls)
        except Exception as exc:
            classes[key] = {"name": cls.__name__, "error": error_text(exc)}
    root = sys.modules.get(PACKAGE)
    version = getattr(root, "__version__", None) if root is not None else None
    return {
        "package": PACKAGE,
        "version": version if isinstance(version, str) else None,
        "location": getattr(root, "__file__", None),
        "python": sys.version.split()[0],
        "loaded_at_import": loaded_at_import,
        "modules": modules,
        "classes": dict(sorted(classes.items())),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("-o", "--output", help="write the JSON here (default: stdout)")
    parser.add_argument("--probe", help="a dump of the other package: look its names up here too")
    args = parser.parse_args(argv)
    probe = None
    if args.probe:
        with open(args.probe, encoding="utf-8") as handle:
            probe = json.load(handle)
    result = dump(probe)
    text = json.dumps(result, indent=1, sort_keys=True)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
    else:
        sys.stdout.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
