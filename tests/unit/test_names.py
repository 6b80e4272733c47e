"""Names and texts one person writes for others: one cleaning for every source (SECURITY 52)."""

from __future__ import annotations

import pytest

from jupyter_sharedterm.core.names import (
    MAX_NAME_CHARS,
    clean_name,
    clean_text,
    distinct_name,
)


@pytest.mark.parametrize(
    "name, shown",
    [
        ("Ada", "Ada"),
        ("  Ada \t Lovelace ", "Ada Lovelace"),
        ("\x1b[31mred\x07", "31mred"),
        ("evil\u202etxt.exe", "eviltxt.exe"),
        ("", "Anonymous"),
        ("\x00\x01", "Anonymous"),
        ("x" * 10_000, "x" * MAX_NAME_CHARS),
        ("\ud800name", "?name"),
        ("\x9b2J\x1b]52;c;aGk=\x07ok", "2J52;c;aGk=ok"),  # C1 CSI, OSC 52: inert text
        ("a\u200bb\u2066c\u2069d\ufeffe\U000e0041", "abcde"),  # zero-width, isolates, tags
        ("line\u2028sep\u2029end", "line sep end"),
        ("\uff21\uff44\uff41", "Ada"),  # fullwidth letters fold to the letters they show
        ("alice (owner) 7", "alice owner 7"),  # brackets are the server's own labels
        ("[admin] {root}", "admin root"),
    ],
)
def test_every_name_is_cleaned_and_bounded(name: str, shown: str) -> None:
    assert clean_name(name) == shown


def test_a_fallback_replaces_an_empty_name() -> None:
    assert clean_name("\x07", "Guest") == "Guest"


def test_texts_keep_newlines_and_tabs_and_lose_every_other_control() -> None:
    assert clean_text("a\tb\nc\x1b[2J\x9d0;t\x07\u202ed") == "a\tb\nc[2J0;td"


@pytest.mark.parametrize(
    "name, guest, taken, shown",
    [
        ("Vendor", True, [], "Vendor (guest)"),
        ("Alice", True, ["Alice"], "Alice (guest)"),
        ("Vendor", True, ["Vendor (guest)"], "Vendor (guest) (2)"),
        ("Bob", False, ["bob"], "Bob (2)"),
        ("Bob", False, ["Bob", "Bob (2)"], "Bob (3)"),
        ("Owner", False, [], "Owner (2)"),  # reads as a role, not as a person
        ("the Server", False, [], "the Server (2)"),
        ("Carol", False, ["Alice"], "Carol"),
    ],
)
def test_names_that_pose_as_a_role_or_another_participant_are_told_apart(
    name: str, guest: bool, taken: list[str], shown: str
) -> None:
    assert distinct_name(name, guest=guest, taken=taken) == shown
