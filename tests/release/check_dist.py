"""Check a built wheel and sdist of recallrai before release (run by ``nox -s build``).

    python tests/release/check_dist.py --version 1.0.0 --python 3.10 ... \\
        [--source .] dist/recallrai-1.0.0-py3-none-any.whl dist/recallrai-1.0.0.tar.gz

The wheel must hold both packages with their ``py.typed`` markers (and, given
``--source``, every Python file of both packages), nothing else (no tests, no
benchmarks, no bytecode); its metadata must carry the version, a classifier for
each supported Python and no other, an SPDX licence expression without licence
classifiers, the project URLs, the pytest plugin's entry point, and no
development extra or development tool among its requirements. The sdist must
hold what a rebuild needs and no local clutter (virtual environments, caches).

Standard library only (``trove-classifiers``, when installed, validates the
classifiers). Exit status 1 and one line per problem when something is wrong.
"""

from __future__ import annotations

import argparse
import email.message
import email.parser
import re
import sys
import tarfile
import zipfile
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

PACKAGES = ("recallrai", "recallrai_sync")
PROJECT = "recallrai"
# Published extras are features for users; these names are development tooling.
DEVELOPMENT_EXTRAS = frozenset(
    {"dev", "develop", "development", "test", "tests", "testing", "lint", "typecheck", "docs"}
    | {"doc", "release", "bench", "benchmarks", "all-dev"}
)
# Development tools that must never be a requirement of the published package.
DEVELOPMENT_TOOLS = frozenset(
    {"pytest", "hypothesis", "respx", "trustme", "mypy", "pyright", "ruff", "nox", "build"}
    | {"twine", "mutmut", "mkdocs", "mkdocs-material", "mkdocstrings", "coverage"}
)
REQUIRED_URLS = ("Homepage", "Documentation", "Changelog", "Issues")
REQUIRED_CLASSIFIERS = (
    "Development Status :: 5 - Production/Stable",
    "Intended Audience :: Developers",
    "Framework :: AsyncIO",
    "Typing :: Typed",
)
PLUGIN_ENTRY_POINT = ("pytest11", "recallrai", "recallrai.pytest_plugin")
SDIST_REQUIRED = ("PKG-INFO", "pyproject.toml", "README.md", "CHANGELOG.md", "LICENSE")
# Never in a distribution: local environments, caches, bytecode, build output, VCS data.
CLUTTER = re.compile(
    r"(^|/)(\.nox|\.venv[^/]*|venv|\.git|\.mypy_cache|\.ruff_cache|\.pytest_cache|\.hypothesis"
    r"|__pycache__|dist|build|[^/]*\.egg-info|mutants|site)(/|$)|\.py[co]$"
)


def _metadata(text: str) -> email.message.Message:
    return email.parser.Parser().parsestr(text)


def _requirement_name(requirement: str) -> str:
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    return re.sub(r"[-_.]+", "-", match.group(1)).lower() if match else requirement


def _source_files(source: Path) -> set[str]:
    """The Python files and ``py.typed`` markers of both packages in the source tree."""
    found: set[str] = set()
    for package in PACKAGES:
        for path in (source / package).rglob("*"):
            relative = path.relative_to(source).as_posix()
            wanted = path.suffix == ".py" or path.name == "py.typed"
            if wanted and path.is_file() and "__pycache__" not in relative:
                found.add(relative)
    return found


def check_metadata(
    metadata: email.message.Message, version: str, pythons: Iterable[str], where: str
) -> list[str]:
    """Problems with the core metadata of a wheel (METADATA) or an sdist (PKG-INFO)."""
    problems: list[str] = []
    if metadata.get("Name") != PROJECT:
        problems.append(f"{where}: Name is {metadata.get('Name')!r}, not {PROJECT!r}")
    if metadata.get("Version") != version:
        problems.append(f"{where}: Version is {metadata.get('Version')!r}, not {version!r}")
    pythons = sorted(pythons, key=lambda v: tuple(int(p) for p in v.split(".")))
    if pythons and metadata.get("Requires-Python") != f">={pythons[0]}":
        problems.append(
            f"{where}: Requires-Python is {metadata.get('Requires-Python')!r},"
            f" not '>={pythons[0]}' (the oldest supported Python)"
        )
    classifiers = metadata.get_all("Classifier") or []
    listed = {
        c.rsplit(" :: ", 1)[1]
        for c in classifiers
        if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)
    }
    if listed != set(pythons):
        problems.append(
            f"{where}: Python classifiers {sorted(listed)} differ from the supported"
            f" (tested) Pythons {pythons}"
        )
    problems += [
        f"{where}: missing classifier {c!r}" for c in REQUIRED_CLASSIFIERS if c not in classifiers
    ]
    if metadata.get("License-Expression") is None:
        problems.append(f"{where}: no License-Expression (PEP 639)")
    if "LICENSE" not in (metadata.get_all("License-File") or []):
        problems.append(f"{where}: no License-File LICENSE (PEP 639)")
    problems += [
        f"{where}: licence classifier {c!r} next to a License-Expression (PEP 639 forbids it)"
        for c in classifiers
        if c.startswith("License ::")
    ]
    problems += _invalid_classifiers(classifiers, where)
    urls = {
        entry.split(",", 1)[0].strip(): entry.split(",", 1)[-1].strip()
        for entry in metadata.get_all("Project-URL") or []
    }
    for label in REQUIRED_URLS:
        if not urls.get(label, "").startswith("https://"):
            problems.append(f"{where}: no https Project-URL {label!r}")
    extras = set(metadata.get_all("Provides-Extra") or [])
    problems += [
        f"{where}: publishes the development extra {extra!r} (use a dependency group)"
        for extra in sorted(extras & DEVELOPMENT_EXTRAS)
    ]
    for requirement in metadata.get_all("Requires-Dist") or []:
        if _requirement_name(requirement) in DEVELOPMENT_TOOLS:
            problems.append(f"{where}: requires the development tool {requirement!r}")
    return problems


def _invalid_classifiers(classifiers: list[str], where: str) -> list[str]:
    try:
        import trove_classifiers
    except ImportError:  # optional: nox -s build installs it
        return []
    known, deprecated = trove_classifiers.classifiers, trove_classifiers.deprecated_classifiers
    problems = [f"{where}: unknown classifier {c!r}" for c in classifiers if c not in known]
    problems += [f"{where}: deprecated classifier {c!r}" for c in classifiers if c in deprecated]
    return problems


def _entry_points(text: str) -> set[tuple[str, str, str]]:
    found, section = set(), ""
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
        elif "=" in line and section:
            name, value = (part.strip() for part in line.split("=", 1))
            found.add((section, name, value))
    return found


def check_wheel(
    path: Path, version: str, pythons: Iterable[str], source: Path | None = None
) -> list[str]:
    """Problems with the wheel at *path*."""
    where = path.name
    with zipfile.ZipFile(path) as wheel:
        names = [n for n in wheel.namelist() if not n.endswith("/")]
        dist_info = f"{PROJECT}-{version}.dist-info"
        problems: list[str] = []
        try:
            metadata = _metadata(wheel.read(f"{dist_info}/METADATA").decode())
        except KeyError:
            return [f"{where}: no {dist_info}/METADATA (wrong version or name?)"]
        problems += check_metadata(metadata, version, pythons, where)
        try:
            entry_points = _entry_points(wheel.read(f"{dist_info}/entry_points.txt").decode())
        except KeyError:
            entry_points = set()
        if PLUGIN_ENTRY_POINT not in entry_points:
            problems.append(f"{where}: no entry point {PLUGIN_ENTRY_POINT}")
    tops = {n.split("/", 1)[0] for n in names}
    problems += [
        f"{where}: unexpected top-level entry {top!r}"
        for top in sorted(tops - {*PACKAGES, dist_info})
    ]
    problems += [f"{where}: holds {n!r}" for n in names if CLUTTER.search(n)]
    for package in PACKAGES:
        for required in (f"{package}/__init__.py", f"{package}/py.typed"):
            if required not in names:
                problems.append(f"{where}: missing {required}")
    if f"{dist_info}/licenses/LICENSE" not in names:
        problems.append(f"{where}: missing {dist_info}/licenses/LICENSE")
    if source is not None:
        missing = sorted(_source_files(source) - set(names))
        problems += [f"{where}: missing {name} (in the source tree)" for name in missing]
    return problems


def check_sdist(
    path: Path, version: str, pythons: Iterable[str], wheel_files: Iterable[str] = ()
) -> list[str]:
    """Problems with the sdist at *path*; *wheel_files* must all be in it."""
    where = path.name
    root = f"{PROJECT}-{version}"
    with tarfile.open(path) as sdist:
        members = {m.name: m for m in sdist.getmembers()}
        problems: list[str] = []
        outside = sorted(n for n in members if PurePosixPath(n).parts[0] != root)
        problems += [f"{where}: {n!r} is outside {root}/" for n in outside]
        unsafe = sorted(
            n for n, m in members.items() if ".." in PurePosixPath(n).parts or m.issym()
        )
        problems += [f"{where}: unsafe member {n!r}" for n in unsafe]
        names = {n.split("/", 1)[1] for n in members if "/" in n and members[n].isfile()}
        pkg_info = members.get(f"{root}/PKG-INFO")
        if pkg_info is None:
            return [*problems, f"{where}: no {root}/PKG-INFO (wrong version or name?)"]
        handle = sdist.extractfile(pkg_info)
        assert handle is not None
        problems += check_metadata(_metadata(handle.read().decode()), version, pythons, where)
    problems += [f"{where}: missing {n}" for n in SDIST_REQUIRED if n not in names]
    problems += [f"{where}: holds {n!r}" for n in sorted(names) if CLUTTER.search(n)]
    problems += [
        f"{where}: missing {n} (in the wheel)"
        for n in sorted(wheel_files)
        if not n.split("/", 1)[0].endswith(".dist-info") and n not in names
    ]
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", required=True, help="the version that was built")
    parser.add_argument(
        "--python", action="append", default=[], help="a supported Python (each one)"
    )
    parser.add_argument("--source", type=Path, help="the source tree the dists were built from")
    parser.add_argument("dists", nargs="+", type=Path, help="the wheel and the sdist")
    args = parser.parse_args(argv)
    problems: list[str] = []
    wheels = [d for d in args.dists if d.name.endswith(".whl")]
    sdists = [d for d in args.dists if d.name.endswith(".tar.gz")]
    if len(wheels) != 1 or len(sdists) != 1:
        parser.error("give one wheel (.whl) and one sdist (.tar.gz)")
    problems += check_wheel(wheels[0], args.version, args.python, args.source)
    with zipfile.ZipFile(wheels[0]) as wheel:
        wheel_files = [n for n in wheel.namelist() if not n.endswith("/")]
    problems += check_sdist(sdists[0], args.version, args.python, wheel_files)
    for problem in problems:
        print(problem, file=sys.stderr)
    if not problems:
        print(f"{wheels[0].name} and {sdists[0].name}: contents and metadata OK")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
