"""The screen tap: keeps the mirror in step; repaints late joiners and laggards from it."""

from __future__ import annotations

from .. import protocol
from ..screen import ScreenModel
from .taps import Tap

__all__ = ["ScreenTap"]

# Abort a sequence the skipped output may have left half-parsed (CAN), leave the alternate screen,
# soft-reset (DECSTR), turn off mouse, focus and paste reporting and keypad mode, clear the
# screen: a fresh terminal's state, its scrollback kept.
_SOFT_RESET = (
    "\x18\x1b[?1049l\x1b[!p\x1b[?9;1000;1002;1003;1004;1005;1006;1015;2004l\x1b>\x1b[H\x1b[2J"
)


class ScreenTap(Tap):
    """Feeds the mirror (cheap) with every output and resize; emulates only while output is quiet.

    Emulation is slow, and during a flood the event loop belongs to fan-out and keystrokes: the
    mirror then keeps a bounded tail and catches up when someone joins.
    """

    def __init__(self, mirror: ScreenModel, *, idle_chars: int) -> None:
        self.mirror = mirror
        self._idle_chars = idle_chars
        self._busy = False  # output arrived since the last tick
        self._version = 0  # changes with every output and resize
        self._resync_cache: tuple[int, bytes] | None = None

    def output(self, text: str) -> None:
        self._busy = True
        self._version += 1
        self.mirror.feed(text)

    def resize(self, rows: int, cols: int) -> None:
        self.mirror.resize(rows, cols)
        self._version += 1

    def tick(self, now: float) -> None:
        if not self._busy:
            self.mirror.catch_up(self._idle_chars)
        self._busy = False

    def screen(self) -> str:
        """The whole terminal, scrollback included, for a fresh one (a player, a joiner)."""
        return "\x1bc" + self.mirror.snapshot()

    def join_frames(self) -> list[bytes | str]:
        """On joining: a full reset, scrollback, the screen."""
        return [protocol.stdout_frame(self.screen())]

    def resync_frames(self) -> list[bytes | str]:
        """For a participant who fell behind: modes back to a fresh terminal's without clearing
        the scrollback it already has, then only the screen, which costs far less to build."""
        # Under a flood, many clients fall behind at once: until new output arrives, they can
        # all share one repaint (building it is the costliest thing the server does).
        if self._resync_cache is None or self._resync_cache[0] != self._version:
            frame = protocol.stdout_frame(_SOFT_RESET + self.mirror.snapshot(scrollback=False))
            self._resync_cache = (self._version, frame)
        return [self._resync_cache[1]]
