"""A griffe extension: the SDK's reST-flavoured docstrings, read as Markdown by mkdocstrings.

The docstrings are written for ``help()`` and IDEs, with Sphinx roles
(``:class:`~recallrai.RequestEvent```, ``:meth:`with_options```) and ``::`` before
literal blocks. Here each role becomes a link to the object when the API reference
documents it (an *optional* autoref: plain code otherwise, never a warning), a
paragraph's closing ``::`` a single colon (the indented block after it is already a
Markdown code block), and a definition list (a ````name```` line, then its indented
description) a bulleted one. The docstrings themselves are left alone.
"""

from __future__ import annotations

import html
import re
from typing import Any

import griffe

ROLE = re.compile(
    r":(?:py:)?(?:class|meth|func|attr|data|mod|exc|obj):`(?P<tilde>~?)(?P<target>[^`]+)`"
)
LITERAL_BLOCK = re.compile(r"(\S)::$", re.MULTILINE)
DEFINITION = re.compile(r"^(?P<term>``[^`\n]+``)\n(?P<text>(?:[ ]{4}\S.*(?:\n|$))+)", re.MULTILINE)


class SphinxRoles(griffe.Extension):
    """Rewrites the docstrings of every object of a package once it is loaded."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        for obj in _walk(pkg):
            if obj.docstring is not None:
                obj.docstring.value = convert(obj.docstring.value, obj)


def _walk(obj: griffe.Object) -> list[griffe.Object]:
    found = [obj]
    for member in obj.members.values():
        if not member.is_alias and isinstance(member, griffe.Object):
            found.extend(_walk(member))
    return found


def convert(text: str, scope: griffe.Object) -> str:
    """``text`` with its roles as links (or code) and its ``::`` as ``:``."""

    def link(match: re.Match[str]) -> str:
        target = match["target"].strip()
        shown = target.rsplit(".", 1)[-1] if match["tilde"] else target
        path = _resolve(target.removesuffix("()"), scope)
        code = f"<code>{html.escape(shown)}</code>"
        if path is None:
            return code
        return f'<autoref identifier="{html.escape(path)}" optional>{code}</autoref>'

    def item(match: re.Match[str]) -> str:
        words = " ".join(line.strip() for line in match["text"].splitlines())
        return f"- {match['term']}: {words}\n"

    return LITERAL_BLOCK.sub(r"\1:", ROLE.sub(link, DEFINITION.sub(item, text)))


def _resolve(target: str, scope: griffe.Object) -> str | None:
    """The full path of ``target`` seen from ``scope``, or None outside the SDK."""
    if target.startswith(("recallrai.", "recallrai_sync.")) or target in (
        "recallrai",
        "recallrai_sync",
    ):
        return target
    first, _, rest = target.partition(".")
    try:
        path = scope.resolve(first)
    except griffe.NameResolutionError:
        return None
    if not path.startswith(("recallrai", "recallrai_sync")):
        return None
    return f"{path}.{rest}" if rest else path
