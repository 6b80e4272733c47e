"""Text rules shared by frames and REST bodies: ids, display names, control characters."""

from __future__ import annotations

import re
from typing import Final

__all__ = ["ID", "MAX_NAME_CHARS", "encodable", "sanitize_display_name", "strip_controls"]

MAX_NAME_CHARS: Final = 64
ID: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")
_CONTROLS: Final = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]"
)


def sanitize_display_name(name: str) -> str:
    """A display name anyone may see: no control or bidi characters, bounded, never empty."""
    cleaned = " ".join(_CONTROLS.sub("", name.encode("utf-8", "replace").decode("utf-8")).split())
    return cleaned[:MAX_NAME_CHARS] or "Anonymous"


def strip_controls(text: str) -> str:
    """Drop control and bidi characters; newlines and tabs stay."""
    return _CONTROLS.sub("", text)


def encodable(text: str) -> bool:
    """False if `text` holds a lone surrogate, which no terminal or file can take."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
