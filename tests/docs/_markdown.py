"""The fenced code blocks of a Markdown page, and the convention for the Python ones.

A Python example is one of:

- ```` ```python ````: runs in the test suite, after the page's earlier blocks, in one
  namespace per page, against the emulator (``RECALLRAI_*`` set to it);
- ```` ```python no-run ````: shown, never run (a sketch that needs a real service, a
  server that would not return, code that is meant to fail...);
- ```` ```python integration ````: an LLM adapter example, run by that adapter's own tests
  (``tests/integrations/``) with the model's API mocked.

Anything else starting with ``python`` or ``py`` (a typo such as ``no_run``) is refused, so a
block is never skipped by accident.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

RUN = "python"
NO_RUN = "python no-run"
INTEGRATION = "python integration"
PYTHON_INFOS = (RUN, NO_RUN, INTEGRATION)

# A fence opens with three or more backticks, possibly indented (in an admonition or a tab),
# and closes with the same backticks at the same indentation.
FENCE = re.compile(
    r"^(?P<indent>[ \t]*)(?P<ticks>`{3,})(?P<info>[^`\n]*)\n(?P<body>.*?)^(?P=indent)(?P=ticks)[ \t]*$",
    re.MULTILINE | re.DOTALL,
)


@dataclass(frozen=True)
class Block:
    """One fenced block: its info string, its code (dedented) and the line its code starts on."""

    info: str
    code: str
    line: int

    @property
    def is_python(self) -> bool:
        language = self.info.split(maxsplit=1)[0] if self.info else ""
        return language.lower() in ("python", "py", "python3", "pycon")

    def source(self) -> str:
        """The code, preceded by blank lines: compiled, its line numbers are the page's."""
        return "\n" * (self.line - 1) + self.code


def blocks(path: Path) -> list[Block]:
    """Every fenced block of ``path``, in order."""
    text = path.read_text(encoding="utf-8")
    found = []
    for match in FENCE.finditer(text):
        indent = match["indent"]
        lines = match["body"].splitlines(keepends=True)
        code = "".join(line[len(indent) :] if line.startswith(indent) else line for line in lines)
        line = text.count("\n", 0, match.start("body")) + 1
        found.append(Block(match["info"].strip(), code, line))
    return found


def runnable(path: Path) -> list[Block]:
    """The blocks of ``path`` the suite runs, in order."""
    return [block for block in blocks(path) if block.info == RUN]
