"""Plain text made safe for the Markdown pages of the book."""

from __future__ import annotations

from typing import Any

_MD_SPECIAL = "\\`*_[]<>|$~"


def md_escape(text: Any) -> str:
    """Plain text made safe for a Markdown table cell (no markup, math, HTML or line breaks)."""
    out = " ".join(str(text).split())
    return "".join("\\" + ch if ch in _MD_SPECIAL else ch for ch in out)
