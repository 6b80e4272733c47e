"""The screen-model interface: what the runtime needs from whatever mirrors a terminal's screen."""

from __future__ import annotations

from typing import Protocol

__all__ = ["ScreenModel"]


class ScreenModel(Protocol):
    """A model of one terminal's screen, fed with its output, that can repaint a fresh terminal.

    `ScreenMirror` is the implementation; tests/unit/test_screen.py is the contract (a snapshot
    written into a fresh xterm.js recreates the live screen exactly). Later: prompt marks
    (where commands start and end) for Copilot.
    """

    def feed(self, text: str) -> None:
        """Take an output chunk, in order. On the hot path: must stay O(len(text))."""

    def catch_up(self, max_chars: int | None = None) -> bool:
        """Do deferred work, at most `max_chars` of it; True when none is left."""

    def resize(self, rows: int, cols: int) -> None:
        """The terminal's size changed (output fed before was written at the old size)."""

    def snapshot(self, *, scrollback: bool = True) -> str:
        """Output that recreates the current screen (and, if asked, recent scrollback)."""
