"""The release checker (check_dist.py, run by ``nox -s build``) refuses each kind of bad dist."""

from __future__ import annotations

import io
import sys
import tarfile
import types
import zipfile
from collections.abc import Iterable
from pathlib import Path

import pytest

from . import check_dist

VERSION = "1.0.0"
PYTHONS = ["3.10", "3.11", "3.12", "3.13"]
PACKAGE_FILES = [
    "recallrai/__init__.py",
    "recallrai/py.typed",
    "recallrai/pytest_plugin.py",
    "recallrai_sync/__init__.py",
    "recallrai_sync/py.typed",
]
GOOD_HEADERS: list[tuple[str, str]] = [
    ("Metadata-Version", "2.4"),
    ("Name", "recallrai"),
    ("Version", VERSION),
    ("License-Expression", "MIT"),
    ("License-File", "LICENSE"),
    ("Requires-Python", ">=3.10"),
    ("Project-URL", "Homepage, https://example.org/recallrai"),
    ("Project-URL", "Documentation, https://example.org/recallrai/docs"),
    ("Project-URL", "Changelog, https://example.org/recallrai/changelog"),
    ("Project-URL", "Issues, https://example.org/recallrai/issues"),
    ("Classifier", "Development Status :: 5 - Production/Stable"),
    ("Classifier", "Intended Audience :: Developers"),
    ("Classifier", "Framework :: AsyncIO"),
    ("Classifier", "Typing :: Typed"),
    *(("Classifier", f"Programming Language :: Python :: {v}") for v in PYTHONS),
    ("Requires-Dist", "aiohttp>=3.9"),
    ("Requires-Dist", "httpx>=0.27; extra == 'httpx'"),
    ("Provides-Extra", "httpx"),
]
ENTRY_POINTS = "[pytest11]\nrecallrai = recallrai.pytest_plugin\n"


def _metadata(drop: Iterable[tuple[str, str]] = (), add: Iterable[tuple[str, str]] = ()) -> str:
    dropped = set(drop)
    headers = [h for h in GOOD_HEADERS if h not in dropped] + list(add)
    return "".join(f"{key}: {value}\n" for key, value in headers) + "\n# recallrai\n"


def _wheel(
    path: Path,
    files: Iterable[str] = PACKAGE_FILES,
    metadata: str | None = None,
    entry_points: str = ENTRY_POINTS,
    version: str = VERSION,
    licensed: bool = True,
) -> Path:
    dist_info = f"recallrai-{version}.dist-info"
    with zipfile.ZipFile(path, "w") as wheel:
        for name in files:
            wheel.writestr(name, "")
        wheel.writestr(f"{dist_info}/METADATA", metadata or _metadata())
        wheel.writestr(f"{dist_info}/entry_points.txt", entry_points)
        if licensed:
            wheel.writestr(f"{dist_info}/licenses/LICENSE", "MIT License")
        wheel.writestr(f"{dist_info}/RECORD", "")
    return path


def _sdist(
    path: Path,
    files: Iterable[str] | None = None,
    metadata: str | None = None,
    outside: Iterable[str] = (),
) -> Path:
    root = f"recallrai-{VERSION}"
    names = (
        list(files)
        if files is not None
        else [*PACKAGE_FILES, "pyproject.toml", "README.md", "CHANGELOG.md", "LICENSE"]
    )
    with tarfile.open(path, "w:gz") as sdist:
        for name, data in [
            *((n, b"") for n in names),
            ("PKG-INFO", (metadata or _metadata()).encode()),
        ]:
            info = tarfile.TarInfo(f"{root}/{name}")
            info.size = len(data)
            sdist.addfile(info, io.BytesIO(data))
        for name in outside:
            sdist.addfile(tarfile.TarInfo(name), io.BytesIO(b""))
    return path


def _wheel_problems(tmp_path: Path, **kwargs: object) -> list[str]:
    wheel = _wheel(tmp_path / f"recallrai-{VERSION}-py3-none-any.whl", **kwargs)  # type: ignore[arg-type]
    return check_dist.check_wheel(wheel, VERSION, PYTHONS)


def test_a_good_wheel_and_sdist_pass(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    wheel = _wheel(tmp_path / f"recallrai-{VERSION}-py3-none-any.whl")
    sdist = _sdist(tmp_path / f"recallrai-{VERSION}.tar.gz")
    pythons = [arg for v in PYTHONS for arg in ("--python", v)]
    assert check_dist.main(["--version", VERSION, *pythons, str(wheel), str(sdist)]) == 0
    assert "contents and metadata OK" in capsys.readouterr().out


def test_a_bad_dist_fails_the_run_with_one_line_per_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wheel = _wheel(tmp_path / "w.whl", files=[*PACKAGE_FILES, "tests/test_x.py"])
    sdist = _sdist(tmp_path / "s.tar.gz", files=["pyproject.toml"])
    pythons = [arg for v in PYTHONS for arg in ("--python", v)]
    assert check_dist.main(["--version", VERSION, *pythons, str(wheel), str(sdist)]) == 1
    err = capsys.readouterr().err
    assert "unexpected top-level entry 'tests'" in err
    assert "missing README.md" in err
    assert "missing recallrai/py.typed (in the wheel)" in err


@pytest.mark.parametrize("extra", ["tests/test_client.py", "benchmarks/run.py", "conftest.py"])
def test_the_wheel_holds_only_the_two_packages(tmp_path: Path, extra: str) -> None:
    problems = _wheel_problems(tmp_path, files=[*PACKAGE_FILES, extra])
    assert problems == [
        f"recallrai-{VERSION}-py3-none-any.whl: unexpected top-level entry {extra.split('/')[0]!r}"
    ]


def test_bytecode_in_the_wheel_is_refused(tmp_path: Path) -> None:
    problems = _wheel_problems(
        tmp_path, files=[*PACKAGE_FILES, "recallrai/__pycache__/x.cpython-311.pyc"]
    )
    assert any("holds 'recallrai/__pycache__/x.cpython-311.pyc'" in p for p in problems)


@pytest.mark.parametrize("missing", ["recallrai/py.typed", "recallrai_sync/py.typed"])
def test_each_package_needs_its_typing_marker(tmp_path: Path, missing: str) -> None:
    files = [f for f in PACKAGE_FILES if f != missing]
    assert _wheel_problems(tmp_path, files=files) == [
        f"recallrai-{VERSION}-py3-none-any.whl: missing {missing}"
    ]


def test_every_source_file_must_be_in_the_wheel(tmp_path: Path) -> None:
    source = tmp_path / "src"
    for name in [*PACKAGE_FILES, "recallrai/emulator/__init__.py"]:
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_text("")
    (source / "recallrai" / "__pycache__").mkdir()
    (source / "recallrai" / "__pycache__" / "x.py").write_text("")  # not a source file
    wheel = _wheel(tmp_path / "w.whl")
    problems = check_dist.check_wheel(wheel, VERSION, PYTHONS, source)
    assert problems == ["w.whl: missing recallrai/emulator/__init__.py (in the source tree)"]


def test_the_pytest_plugin_entry_point_is_required(tmp_path: Path) -> None:
    problems = _wheel_problems(tmp_path, entry_points="[console_scripts]\nx = y:z\n")
    assert len(problems) == 1 and "no entry point ('pytest11', 'recallrai'" in problems[0]


@pytest.mark.parametrize("extra", ["dev", "test", "lint"])
def test_a_development_extra_is_refused(tmp_path: Path, extra: str) -> None:
    metadata = _metadata(add=[("Provides-Extra", extra)])
    problems = _wheel_problems(tmp_path, metadata=metadata)
    assert len(problems) == 1 and f"publishes the development extra {extra!r}" in problems[0]


@pytest.mark.parametrize("tool", ["pytest>=8; extra == 'httpx'", "Ruff==0.17.6", "mypy"])
def test_a_development_tool_among_the_requirements_is_refused(tmp_path: Path, tool: str) -> None:
    problems = _wheel_problems(tmp_path, metadata=_metadata(add=[("Requires-Dist", tool)]))
    assert len(problems) == 1 and "requires the development tool" in problems[0]


def test_the_version_must_be_the_one_built(tmp_path: Path) -> None:
    wheel = _wheel(tmp_path / "w.whl")
    assert check_dist.check_wheel(wheel, "1.0.1", PYTHONS) == [
        "w.whl: no recallrai-1.0.1.dist-info/METADATA (wrong version or name?)"
    ]
    metadata = _metadata(drop=[("Version", VERSION)], add=[("Version", "0.9.0")])
    assert _wheel_problems(tmp_path, metadata=metadata) == [
        f"recallrai-{VERSION}-py3-none-any.whl: Version is '0.9.0', not '1.0.0'"
    ]


def test_python_classifiers_must_equal_the_tested_pythons(tmp_path: Path) -> None:
    fewer = _metadata(drop=[("Classifier", "Programming Language :: Python :: 3.13")])
    assert any("Python classifiers" in p for p in _wheel_problems(tmp_path, metadata=fewer))
    more = _metadata(add=[("Classifier", "Programming Language :: Python :: 3.9")])
    assert any("Python classifiers" in p for p in _wheel_problems(tmp_path, metadata=more))
    wrong_floor = _metadata(
        drop=[("Requires-Python", ">=3.10")], add=[("Requires-Python", ">=3.9")]
    )
    assert any("Requires-Python" in p for p in _wheel_problems(tmp_path, metadata=wrong_floor))


@pytest.mark.parametrize(
    "classifier",
    ["Development Status :: 5 - Production/Stable", "Typing :: Typed", "Framework :: AsyncIO"],
)
def test_required_classifiers(tmp_path: Path, classifier: str) -> None:
    problems = _wheel_problems(tmp_path, metadata=_metadata(drop=[("Classifier", classifier)]))
    assert problems == [f"recallrai-{VERSION}-py3-none-any.whl: missing classifier {classifier!r}"]


def test_licence_expression_without_licence_classifier(tmp_path: Path) -> None:
    both = _metadata(add=[("Classifier", "License :: OSI Approved :: MIT License")])
    assert any("licence classifier" in p for p in _wheel_problems(tmp_path, metadata=both))
    none = _metadata(drop=[("License-Expression", "MIT")])
    assert any("no License-Expression" in p for p in _wheel_problems(tmp_path, metadata=none))


def test_the_licence_file_ships(tmp_path: Path) -> None:
    unnamed = _metadata(drop=[("License-File", "LICENSE")])
    assert any("no License-File" in p for p in _wheel_problems(tmp_path, metadata=unnamed))
    assert _wheel_problems(tmp_path, licensed=False) == [
        f"recallrai-{VERSION}-py3-none-any.whl: missing recallrai-{VERSION}.dist-info/licenses/LICENSE"
    ]


def test_project_urls_are_required(tmp_path: Path) -> None:
    metadata = _metadata(
        drop=[("Project-URL", "Changelog, https://example.org/recallrai/changelog")]
    )
    assert _wheel_problems(tmp_path, metadata=metadata) == [
        f"recallrai-{VERSION}-py3-none-any.whl: no https Project-URL 'Changelog'"
    ]


def test_classifiers_are_validated_when_trove_classifiers_is_installed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    known = {value for key, value in GOOD_HEADERS if key == "Classifier"}
    fake = types.ModuleType("trove_classifiers")
    fake.classifiers = known | {"Topic :: Old"}  # type: ignore[attr-defined]
    fake.deprecated_classifiers = {"Topic :: Old": []}  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "trove_classifiers", fake)
    assert _wheel_problems(tmp_path) == []
    typo = _metadata(add=[("Classifier", "Typing :: Typed!")])
    assert _wheel_problems(tmp_path, metadata=typo) == [
        f"recallrai-{VERSION}-py3-none-any.whl: unknown classifier 'Typing :: Typed!'"
    ]
    old = _metadata(add=[("Classifier", "Topic :: Old")])
    assert _wheel_problems(tmp_path, metadata=old) == [
        f"recallrai-{VERSION}-py3-none-any.whl: deprecated classifier 'Topic :: Old'"
    ]


CLUTTER = [
    ".nox/tests/bin/python",
    "benchmarks/.venv-official/pyvenv.cfg",
    "recallrai/__pycache__/a.pyc",
    ".git/HEAD",
    ".mypy_cache/x.json",
    "dist/old.whl",
    "recallrai.egg-info/PKG-INFO",
]


@pytest.mark.parametrize("clutter", CLUTTER)
def test_the_sdist_holds_no_local_clutter(tmp_path: Path, clutter: str) -> None:
    files = [*PACKAGE_FILES, "pyproject.toml", "README.md", "CHANGELOG.md", "LICENSE", clutter]
    sdist = _sdist(tmp_path / "s.tar.gz", files=files)
    assert check_dist.check_sdist(sdist, VERSION, PYTHONS) == [f"s.tar.gz: holds {clutter!r}"]


def test_the_sdist_holds_what_a_rebuild_needs(tmp_path: Path) -> None:
    sdist = _sdist(tmp_path / "s.tar.gz", files=["README.md", "CHANGELOG.md", "recallrai/py.typed"])
    problems = check_dist.check_sdist(sdist, VERSION, PYTHONS, PACKAGE_FILES)
    assert "s.tar.gz: missing pyproject.toml" in problems
    assert "s.tar.gz: missing LICENSE" in problems
    assert "s.tar.gz: missing recallrai/__init__.py (in the wheel)" in problems
    assert "s.tar.gz: missing recallrai/py.typed (in the wheel)" not in problems


def test_the_sdist_metadata_is_checked_too(tmp_path: Path) -> None:
    metadata = _metadata(add=[("Provides-Extra", "dev")])
    sdist = _sdist(tmp_path / "s.tar.gz", metadata=metadata)
    assert check_dist.check_sdist(sdist, VERSION, PYTHONS) == [
        "s.tar.gz: publishes the development extra 'dev' (use a dependency group)"
    ]


def test_sdist_members_stay_under_one_directory(tmp_path: Path) -> None:
    sdist = _sdist(tmp_path / "s.tar.gz", outside=["elsewhere/evil.py"])
    assert check_dist.check_sdist(sdist, VERSION, PYTHONS) == [
        "s.tar.gz: 'elsewhere/evil.py' is outside recallrai-1.0.0/"
    ]
