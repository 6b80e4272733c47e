"""Cleaning what one person writes for others to read: display names and question texts.

Every participant's name passes through `clean_name` whatever its source (a guest's join form,
a Jupyter account's display name, which its user may change at will), and every question
through `clean_text`, before anyone else sees it: in the roster, frames, questions, recording
markers and the audit log.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from typing import Final

__all__ = [
    "GUEST_LABEL",
    "MAX_NAME_CHARS",
    "clean_name",
    "clean_text",
    "distinct_name",
]

MAX_NAME_CHARS: Final = 64
GUEST_LABEL: Final = "(guest)"

# Brackets are kept for the labels the server adds ("(guest)", "(2)"); a name people choose
# never has them, so "alice (owner)" cannot pose as an annotation of the server's.
_RESERVED: Final = str.maketrans("", "", "()[]{}")
# Names that would read as the server speaking, or as a role rather than a person.
_ROLE_WORDS: Final = frozenset(
    {"owner", "co-worker", "coworker", "viewer", "guest", "server", "the server", "you"}
)


def _visible(text: str, keep: str = "") -> str:
    """`text` without control, format (bidi, zero-width), private-use or unassigned characters.

    Lone surrogates become "?" first. NFKC folds look-alike compatibility forms (fullwidth
    letters, ligatures) into the letters they stand for.
    """
    text = unicodedata.normalize("NFKC", text.encode("utf-8", "replace").decode("utf-8"))
    return "".join(
        ch
        for ch in text
        if ch in keep or not (unicodedata.category(ch)[0] == "C" or ch in "\u2028\u2029")
    )


def clean_name(name: str, fallback: str = "Anonymous") -> str:
    """A display name anyone may see: visible characters only, single spaces, no brackets,
    at most `MAX_NAME_CHARS`, never empty (`fallback` instead)."""
    spaced = " ".join(name[: MAX_NAME_CHARS * 16].split())  # tabs, newlines: one space
    cleaned = " ".join(_visible(spaced).translate(_RESERVED).split())
    return cleaned[:MAX_NAME_CHARS].strip() or fallback


def clean_text(text: str) -> str:
    """A text for others (a question): visible characters, newlines and tabs kept."""
    return _visible(text, keep="\n\t")


def _key(name: str) -> str:
    """What two names must not share to be told apart: case and spacing do not count."""
    return " ".join(name.casefold().split())


def distinct_name(name: str, *, guest: bool, taken: Iterable[str]) -> str:
    """The name to show for a newcomer: a guest's ends with "(guest)", and a name that another
    current participant shows already, or that reads as a role, gets a number ("Bob (2)")."""
    base = f"{name} {GUEST_LABEL}" if guest else name
    used = {_key(t) for t in taken} | _ROLE_WORDS
    shown, n = base, 2
    while _key(shown) in used:
        shown, n = f"{base} ({n})", n + 1
    return shown
