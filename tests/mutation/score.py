"""Per-module mutation scores of the last ``mutmut run`` (``nox -s mutation`` runs this after it).

Run from the project root, in an environment with mutmut (the ``mutation`` group). Reads
mutmut's results (``mutants/<module>.meta``) for each module of ``[tool.mutmut] only_mutate``
and the reviewed list of equivalent mutants (``equivalent-mutants.toml`` beside this file).

    score = detected / (total - equivalent)

*detected*: killed by a test, or timed out (a mutant that hangs the suite is caught too).
*equivalent*: a survivor listed in the reviewed file whose mutated line is still the one the
list names (when the source moves, mutmut renumbers its mutants: a stale entry no longer
excuses anything and is reported). Everything else (survived, no tests, not checked) counts
against the score. Exit status 1 when a module scores under ``--minimum`` (90 by default).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
EQUIVALENT = HERE / "equivalent-mutants.toml"
DETECTED = {"killed", "timeout", "caught by type check", "segfault"}


def _changed_lines(mutant: str, path: str) -> set[str]:
    """The lines the mutant changes, each as ``+text`` (added) or ``-text`` (removed), stripped."""
    from mutmut.mutation.diff_apply import get_diff_for_mutant

    diff = get_diff_for_mutant(mutant, path=path)
    return {
        line[0] + line[1:].strip()
        for line in diff.splitlines()
        if line[:1] in "+-" and line[:3] not in ("+++", "---") and "__mutmut_" not in line
    }


def _normal(line: str) -> str:
    return line[0] + line[1:].strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minimum", type=float, default=90.0)
    parser.add_argument(
        "--survivors", action="store_true", help="print the unlisted survivors' diffs"
    )
    args = parser.parse_args()

    from mutmut.stats import status_by_exit_code

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]
    listed = {
        entry["mutant"]: entry for entry in tomllib.loads(EQUIVALENT.read_text())["equivalent"]
    }
    seen: set[str] = set()
    problems: list[str] = []
    rows: list[tuple[str, dict[str, int], float]] = []
    for path in config["only_mutate"]:
        meta = ROOT / "mutants" / (path + ".meta")
        if not meta.exists():
            problems.append(f"{path}: no results (run mutmut first)")
            continue
        codes: dict[str, int | None] = json.loads(meta.read_text())["exit_code_by_key"]
        count = dict.fromkeys(
            ("killed", "timeout", "survived", "equivalent", "no tests", "other", "total"), 0
        )
        for mutant, code in sorted(codes.items()):
            status = status_by_exit_code[code]
            count["total"] += 1
            if status in DETECTED:
                count["timeout" if status == "timeout" else "killed"] += 1
                if mutant in listed:
                    seen.add(mutant)
                    problems.append(f"{mutant} is listed as equivalent but was {status}")
                continue
            if status == "survived" and mutant in listed:
                seen.add(mutant)
                if _normal(listed[mutant]["line"]) in _changed_lines(mutant, path):
                    count["equivalent"] += 1
                    continue
                problems.append(f"{mutant}: stale entry (it no longer mutates the listed line)")
            elif status not in ("survived", "no tests"):
                count["other"] += 1
                problems.append(f"{mutant}: {status}")
                continue
            count["survived" if status == "survived" else "no tests"] += 1
            if args.survivors:
                from mutmut.mutation.diff_apply import get_diff_for_mutant

                print(f"# {mutant}: {status}\n{get_diff_for_mutant(mutant, path=path)}\n")
        scored = count["total"] - count["equivalent"]
        detected = count["killed"] + count["timeout"]
        rows.append((path, count, 100.0 * detected / scored if scored else 100.0))
    problems += [f"{name}: listed but not a mutant of this run" for name in set(listed) - seen]

    header = ("module", "killed", "timeout", "survived", "equivalent", "no tests", "total", "score")
    print(" ".join(f"{h:>10}" if i else f"{h:<34}" for i, h in enumerate(header)))
    failed = bool([p for p in problems if p.endswith("no results (run mutmut first)")])
    for path, count, score in rows:
        cells = [count[k] for k in header[1:-1]]
        mark = "" if score >= args.minimum else "  < minimum"
        failed |= score < args.minimum
        print(f"{path:<34} " + " ".join(f"{c:>10}" for c in cells) + f" {score:>9.1f}%{mark}")
    for problem in problems:
        print("note:", problem)
    print(f"minimum {args.minimum:g}% per module: {'FAILED' if failed else 'met'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
