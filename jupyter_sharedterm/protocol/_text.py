"""Text rules shared by frames and REST bodies: ids and encodable text. (Names and texts shown
to others are cleaned in the core, `core/names.py`, as every such text is.)"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["ID", "encodable"]

ID: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")


def encodable(text: str) -> bool:
    """False if `text` holds a lone surrogate, which no terminal or file can take."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
