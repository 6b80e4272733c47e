"""Emulator replies are told apart from keystrokes."""

from __future__ import annotations

import pytest

from jupyter_sharedterm.core.reports import strip_reports


@pytest.mark.parametrize(
    "reply",
    [
        "\x1b[12;40R",
        "\x1b[?62;22c",
        "\x1b[>0;276;0c",
        "\x1b[0n",
        "\x1b[?2004;1$y",
        "\x1b[8;24;80t",
        "\x1b[I",
        "\x1b[O",
        "\x1b]11;rgb:0000/0000/0000\x1b\\",
        "\x1b]10;rgb:ffff/ffff/ffff\x07",
        "\x1bP1$r0m\x1b\\",
        "\x1bP>|xterm.js(5.5.0)\x1b\\",
    ],
)
def test_replies_are_stripped(reply: str) -> None:
    assert strip_reports(f"a{reply}b") == "ab"


@pytest.mark.parametrize(
    "keys",
    [
        "ls -la\r",
        "\x1b[A",
        "\x1bOP",
        "\x1b[15~",
        "\x1b[1;5C",
        "\x03",
        "é中\r",
        "\x1b",
        "\x1b[200~paste\x1b[201~",
    ],
)
def test_keystrokes_are_kept(keys: str) -> None:
    assert strip_reports(keys) == keys
