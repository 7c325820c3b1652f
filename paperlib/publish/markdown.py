"""Plain text made safe for the Markdown pages of the book."""

from __future__ import annotations

from typing import Any

_MD_SPECIAL = "\\`*_[]<>|$~"


def md_escape(text: Any) -> str:
    """Plain text made safe for a Markdown table cell (no markup, math, HTML or line breaks)."""
    out = " ".join(str(text).split())
    return "".join("\\" + ch if ch in _MD_SPECIAL else ch for ch in out)


def md_code(text: Any) -> str:
    """Inline code outside tables (a backtick in the text would end the span: it becomes a quote)."""
    return "`" + " ".join(str(text).split()).replace("`", "'") + "`"
