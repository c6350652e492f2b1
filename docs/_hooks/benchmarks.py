"""A MkDocs hook: the benchmarks page shows the latest run, read from ``benchmarks/results/``.

``nox -s bench`` writes ``latest.md`` (every table) and ``latest.png`` (the chart) there.
Rather than copies in ``docs/`` that would go stale, the build takes both from the run:

* the chart is added to the site as ``assets/benchmarks.png``, and a page's relative link
  to ``benchmarks/results/latest.png`` (which works on GitHub) is pointed at it;
* the region between ``<!-- benchmark-tables -->`` and ``<!-- /benchmark-tables -->``
  (on GitHub, a link to ``latest.md``) becomes the tables of ``latest.md``, without its
  title and its chart note, its sections one level down.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results"
CHART_SOURCE = re.compile(r"(?:\.\./)+benchmarks/results/latest\.png")
CHART_SITE = "assets/benchmarks.png"
TABLES = re.compile(r"<!-- benchmark-tables -->.*?<!-- /benchmark-tables -->", re.DOTALL)


def on_files(files: Files, config: Any) -> Files:
    files.append(File.generated(config, CHART_SITE, abs_src_path=str(RESULTS / "latest.png")))
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    depth = page.file.src_uri.count("/")
    markdown = CHART_SOURCE.sub("../" * depth + CHART_SITE, markdown)
    if TABLES.search(markdown):
        markdown = TABLES.sub(lambda _: latest_tables(), markdown)
    return markdown


def latest_tables() -> str:
    """``latest.md`` for inclusion: no title, no chart note, ``##`` sections as ``###``."""
    kept = []
    for line in (RESULTS / "latest.md").read_text(encoding="utf-8").splitlines():
        if line.startswith("# ") or line.startswith("Chart: "):
            continue
        kept.append("#" + line if line.startswith("## ") else line)
    return "\n".join(kept).strip() + "\n"
