"""Release metadata: one version, classifiers equal to the tested Pythons, no development extra,
dependency groups that hold the tools, and the pytest plugin's entry point."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
from pathlib import Path
from typing import Any

import pytest

import recallrai

if sys.version_info >= (3, 11):
    import tomllib
else:  # the test group installs tomli there
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PROJECT: dict[str, Any] = PYPROJECT["project"]
GROUPS: dict[str, list[Any]] = PYPROJECT["dependency-groups"]
PUBLISHED_EXTRAS = {"httpx", "openai", "agents", "langchain", "otel"}
DEVELOPMENT_TOOLS = {"pytest", "hypothesis", "respx", "trustme", "mypy", "pyright", "ruff", "nox"}


def _name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9._-]+", requirement)
    assert match is not None, requirement
    return re.sub(r"[-_.]+", "-", match.group()).lower()


def _group(name: str) -> list[str]:
    """A group's requirements, its include-group entries resolved."""
    resolved: list[str] = []
    for entry in GROUPS[name]:
        if isinstance(entry, dict):
            resolved += _group(entry["include-group"])
        else:
            resolved.append(entry)
    return resolved


def _noxfile_constant(name: str) -> Any:
    tree = ast.parse((ROOT / "noxfile.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in node.targets
        ):
            return ast.literal_eval(node.value)
    raise AssertionError(f"noxfile.py has no {name}")


def _python_classifiers() -> list[str]:
    return [
        c.rsplit(" :: ", 1)[1]
        for c in PROJECT["classifiers"]
        if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)
    ]


def test_the_version_is_written_once() -> None:
    assert "version" not in PROJECT
    assert PROJECT["dynamic"] == ["version"]
    assert PYPROJECT["tool"]["hatch"]["version"]["path"] == "recallrai/_version.py"
    version = recallrai.__version__
    pattern = re.compile(rf"""["']{re.escape(version)}["']""")
    elsewhere = [
        path.relative_to(ROOT).as_posix()
        for package in ("recallrai", "recallrai_sync")
        for path in (ROOT / package).rglob("*.py")
        if path.name != "_version.py" and pattern.search(path.read_text(encoding="utf-8"))
    ]
    assert elsewhere == [], f"the version is hard-coded in {elsewhere}"


def test_the_installed_distribution_has_that_version() -> None:
    assert importlib.metadata.version("recallrai") == recallrai.__version__


def test_the_classifiers_name_exactly_the_pythons_ci_tests() -> None:
    tested = list(_noxfile_constant("SUPPORTED_PYTHONS"))
    assert _python_classifiers() == tested
    assert PROJECT["requires-python"] == f">={tested[0]}"
    assert PYPROJECT["tool"]["ruff"]["target-version"] == "py" + tested[0].replace(".", "")
    assert PYPROJECT["tool"]["mypy"]["python_version"] == tested[0]


def test_ci_runs_the_test_matrix_and_the_build() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    commands = [line.strip() for line in ci.splitlines() if not line.lstrip().startswith("#")]
    assert "python3 -m nox -s tests" in commands  # every interpreter of SUPPORTED_PYTHONS
    assert any(re.search(r"nox -s .*\bbuild\b", line) for line in commands)
    assert re.search(r"^export CI=", ci, re.MULTILINE)  # missing interpreters fail the run


@pytest.mark.parametrize(
    "classifier",
    [
        "Development Status :: 5 - Production/Stable",
        "Intended Audience :: Developers",
        "Operating System :: OS Independent",
        "Framework :: AsyncIO",
        "Typing :: Typed",
    ],
)
def test_classifier(classifier: str) -> None:
    assert classifier in PROJECT["classifiers"]


def test_the_licence_is_an_spdx_expression_without_licence_classifiers() -> None:
    assert PROJECT["license"] == "MIT"
    assert not [c for c in PROJECT["classifiers"] if c.startswith("License ::")]


def test_project_urls() -> None:
    urls = PROJECT["urls"]
    assert {"Homepage", "Documentation", "Changelog", "Issues"} <= set(urls)
    assert all(url.startswith("https://") for url in urls.values())


def test_only_user_features_are_published_extras() -> None:
    extras: dict[str, list[str]] = PROJECT["optional-dependencies"]
    assert set(extras) == PUBLISHED_EXTRAS
    published = [*PROJECT["dependencies"], *(r for rs in extras.values() for r in rs)]
    assert not {_name(r) for r in published} & DEVELOPMENT_TOOLS


def test_the_installed_distribution_publishes_no_development_extra() -> None:
    extras = set(importlib.metadata.metadata("recallrai").get_all("Provides-Extra") or [])
    assert extras == PUBLISHED_EXTRAS


def test_the_test_group_covers_every_extra_with_the_same_range() -> None:
    test_group = set(_group("test"))
    for extra, requirements in PROJECT["optional-dependencies"].items():
        missing = [r for r in requirements if r not in test_group]
        assert not missing, f"the test group lacks {missing} of the {extra!r} extra"


def test_the_groups_hold_the_tools() -> None:
    test_group = {_name(r) for r in _group("test")}
    assert {"pytest", "hypothesis", "respx", "trustme", "fastapi", "tqdm"} <= test_group
    assert "tomli" in test_group  # tomllib before Python 3.11
    assert [r for r in _group("lint") if _name(r) == "ruff"] == ["ruff==0.17.6"]
    typecheck = {_name(r) for r in _group("typecheck")}
    assert {"mypy", "pyright"} | test_group <= typecheck
    dev = set(_group("dev"))
    assert set(_group("typecheck")) | set(_group("lint")) <= dev


def test_nox_sessions_install_groups_not_extras() -> None:
    noxfile = (ROOT / "noxfile.py").read_text(encoding="utf-8")
    assert not re.search(r"""["']\.\[""", noxfile), "a session installs an extra ('.[...]')"
    assert "dependency_groups" in noxfile


def test_the_pytest_plugin_is_registered_under_its_name() -> None:
    assert PROJECT["entry-points"]["pytest11"] == {"recallrai": "recallrai.pytest_plugin"}
    installed = importlib.metadata.entry_points(group="pytest11")
    assert [ep.value for ep in installed if ep.name == "recallrai"] == ["recallrai.pytest_plugin"]


def test_the_changelog_has_an_entry_for_this_version() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "## [Unreleased]" in changelog
    assert re.search(rf"^## \[{re.escape(recallrai.__version__)}\]", changelog, re.MULTILINE)
    assert re.search(rf"^\[{re.escape(recallrai.__version__)}\]: https://", changelog, re.MULTILINE)
