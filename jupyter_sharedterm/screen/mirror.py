"""The screen mirror: cheap to feed on the hot path, a late joiner's exact repaint on demand.

`ScreenMirror` is what the server holds per terminal. `feed()` only appends (emulation is far too
slow for the hot path), `catch_up()` emulates in bounded slices from an idle timer, and
`snapshot()` returns scrollback plus the exact current screen for someone who joins.
"""

from __future__ import annotations

import re
from collections import deque

from pyte.screens import wcwidth

from .emulator import _SURROGATE, TerminalScreen

__all__ = ["ScreenMirror"]

# --- scrollback --------------------------------------------------------------------------

_SCROLLBACK_TOKEN = re.compile(
    r"(?P<text>[^\x00-\x1f\x7f-\x9f]+)"
    r"|(?P<sgr>(?:\x1b\[|\x9b)([0-9;:]{0,64})m)"
    r"|(?P<csi>(?:\x1b\[|\x9b)([\x30-\x3f]*)[\x20-\x2f]*([\x40-\x7e]))"
    r"|(?P<string>(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x18\x1a\x1b\x9c]*[\x07\x9c]?)"
    r"|(?P<esc>\x1b[\x20-\x2f]*[\x30-\x7e]?)"
    r"|(?P<control>[\x00-\x1f\x7f-\x9f])"
)
_ALT_TOGGLE = re.compile(r"(?:\x1b\[|\x9b)\?([0-9;]*)([hl])")


def _alt_toggle(params: str) -> bool:
    return any(p in ("47", "1047", "1049") for p in params.split(";"))


class _Lines:
    """A line-oriented model of the normal screen's output: text and SGR, rows of `columns`."""

    def __init__(self, columns: int) -> None:
        self.columns = columns
        self.rows: list[tuple[list[str], bool]] = []  # (pieces, wrapped into the next row)
        self.row: list[str] = []
        self.column = 0
        self.returned = False  # after CR: the next text overwrites the row
        self.autowrap = True  # off (?7l): text past the right edge is dropped

    def text(self, text: str) -> None:
        if self.returned:
            self.row = [p for p in self.row if p.startswith("\x1b")]
            self.column, self.returned = 0, False
        columns = self.columns
        if text.isascii():
            i = 0
            while i < len(text):
                if self.column >= columns:
                    if not self.autowrap:
                        return
                    self.wrap()
                take = min(len(text) - i, columns - self.column)
                self.row.append(text[i : i + take])
                self.column += take
                i += take
            return
        for c in text:
            width = wcwidth(c)
            if width == 0:
                self.row.append(c)
                continue
            width = 2 if width == 2 else 1
            if self.column + width > columns:
                if not self.autowrap:
                    return
                self.wrap()
            self.row.append(c)
            self.column += width

    def wrap(self) -> None:
        self.rows.append((self.row, True))
        self.row, self.column = [], 0

    def newline(self) -> None:
        self.rows.append((self.row, False))
        self.row, self.column, self.returned = [], 0, False

    def backspace(self) -> None:
        if self.column == 0:
            return
        self.column -= 1
        for i in range(len(self.row) - 1, -1, -1):
            piece = self.row[i]
            if piece and not piece.startswith("\x1b"):
                self.row[i] = piece[:-1]
                return

    def erase_screen(self, rows: int) -> None:
        """Drop the last `rows` rows (the visible ones); keep their SGR so colours carry on."""
        dropped = self.rows[len(self.rows) - rows + 1 :] if rows > 0 else []
        del self.rows[len(self.rows) - len(dropped) :]
        pens = [p for row, _ in dropped for p in row if p.startswith("\x1b")]
        pens += [p for p in self.row if p.startswith("\x1b")]
        self.row = pens[-16:]
        self.column, self.returned = 0, False


def _scrollback(tail: str, screen: TerminalScreen) -> str:
    """The output lines that scrolled off the normal screen, as text and SGR only.

    `tail` must start at a line boundary. Output drawn on the alternate screen is skipped;
    `clear` (ED 3) and RIS forget what came before; other cursor movement is not modelled, so
    progress bars and prompts redrawn in place are approximations.
    """
    first = _ALT_TOGGLE.search(tail)
    while first is not None and not _alt_toggle(first[1]):
        first = _ALT_TOGGLE.search(tail, first.end())
    alternate = screen.in_alternate_screen if first is None else first[2] == "l"
    lines = _Lines(screen.columns)
    pos = 0
    while pos < len(tail):
        if alternate:  # skip to the switch back, without tokenizing the program's drawing
            toggle = _ALT_TOGGLE.search(tail, pos)
            while toggle is not None and not (toggle[2] == "l" and _alt_toggle(toggle[1])):
                toggle = _ALT_TOGGLE.search(tail, toggle.end())
            if toggle is None:
                break
            pos, alternate = toggle.end(), False
            continue
        token = _SCROLLBACK_TOKEN.match(tail, pos)
        assert token is not None  # the alternatives cover every character
        pos = token.end()
        kind = token.lastgroup
        if kind == "text":
            lines.text(_SURROGATE.sub("\ufffd", token[0]))
        elif kind == "sgr":
            lines.row.append("\x1b[" + token[3] + "m")
        elif kind == "control":
            c = token[0]
            if c in "\n\x0b\x0c":
                lines.newline()
            elif c == "\r":
                lines.returned = True
            elif c == "\b":
                lines.backspace()
            elif c == "\t" and lines.column < lines.columns:
                lines.text(" " * min(8 - lines.column % 8, lines.columns - lines.column))
        elif kind == "csi":
            params, final = token[5], token[6]
            if final in "hl" and params.startswith("?") and _alt_toggle(params[1:]):
                alternate = final == "h"
            elif final in "hl" and params.startswith("?") and "7" in params[1:].split(";"):
                lines.autowrap = final == "h"
            elif final == "J" and params in ("2", "3"):
                lines.erase_screen(screen.lines if params == "2" else len(lines.rows) + 1)
        elif kind == "esc" and token[0] == "\x1bc":
            lines.erase_screen(len(lines.rows) + 1)
    rows = [*lines.rows, (lines.row, False)]
    keep = rows[: max(len(rows) - min(screen._normal_cursor_row() + 1, screen.lines), 0)]
    if not keep:
        return ""
    out = ["\x1b[m"]
    for pieces, wrapped in keep:
        out += pieces
        if not wrapped:
            out.append("\r\n")
    if keep[-1][1]:
        out.append("\r\n")
    # Line feeds until every row above has scrolled into the receiving terminal's history.
    out.append("\x1b[m" + "\n" * (screen.lines - 1))
    return "".join(out)


# --- the mirror --------------------------------------------------------------------------


def _drop_oldest(chunks: deque[str], excess: int) -> None:
    while excess > 0:
        first = chunks[0]
        if len(first) <= excess:
            chunks.popleft()
            excess -= len(first)
        else:
            chunks[0] = first[excess:]
            excess = 0


class ScreenMirror:
    """The current screen and recent scrollback of one terminal, for participants who join.

    Call `feed()` with every output chunk (cheap: it only appends), `catch_up(max_chars=...)`
    from an idle timer to emulate in bounded slices, `resize()` when the terminal's size
    changes, and `snapshot()` when someone joins or reconnects; write the snapshot into their
    fresh terminal of the same size before any live output.

    Text not yet emulated is capped at `pending_limit` characters: when output outruns the
    emulator (a `cat` of a large file), the oldest pending text is dropped and the emulator
    restarts from the next line boundary. Modes, colours and screen contents set before such a
    gap are lost; that is the price of bounded memory and CPU. Scrollback comes from the last
    `scrollback_chars` characters of raw output and does not suffer from gaps.
    """

    def __init__(
        self,
        rows: int,
        cols: int,
        *,
        scrollback_chars: int = 256 * 1024,
        pending_limit: int = 64 * 1024,
    ) -> None:
        """Args:
        rows, cols: the terminal's size.
        scrollback_chars: how much recent raw output to keep for scrollback.
        pending_limit: the most un-emulated output to keep before dropping the oldest.

        Raises:
            ValueError: a size below 1x1, a negative scrollback or a pending limit below 1.
        """
        if rows < 1 or cols < 1 or scrollback_chars < 0 or pending_limit < 1:
            raise ValueError("need rows, cols, pending_limit >= 1 and scrollback_chars >= 0")
        self._screen = TerminalScreen(cols, rows)
        self._scrollback_chars = scrollback_chars
        self._pending_limit = pending_limit
        self._pending: deque[str] = deque()
        self._pending_size = 0
        self._gap = False
        self._tail: deque[str] = deque()
        self._tail_size = 0
        self._tail_cut = False  # the tail no longer starts at the start of the output

    @property
    def size(self) -> tuple[int, int]:
        """(rows, cols)."""
        return self._screen.lines, self._screen.columns

    @property
    def title(self) -> str:
        """The last title set with OSC 0 or 2, as far as the emulator has caught up."""
        return self._screen.title

    def feed(self, text: str) -> None:
        """Record an output chunk; O(len(text)), no emulation. Call it for every chunk."""
        if not text:
            return
        self._pending.append(text)
        self._pending_size += len(text)
        if self._pending_size > self._pending_limit:
            _drop_oldest(self._pending, self._pending_size - self._pending_limit)
            self._pending_size = self._pending_limit
            self._gap = True
        self._tail.append(text)
        self._tail_size += len(text)
        if self._tail_size > self._scrollback_chars:
            _drop_oldest(self._tail, self._tail_size - self._scrollback_chars)
            self._tail_size = self._scrollback_chars
            self._tail_cut = True

    def catch_up(self, max_chars: int | None = None) -> bool:
        """Emulate pending output, all of it or at most `max_chars`; True when none is left.

        Call it from an idle timer with a budget, so the emulator keeps up without blocking.
        """
        if self._gap:
            self._resync()
        budget = self._pending_size if max_chars is None else max_chars
        while self._pending and budget > 0:
            chunk = self._pending.popleft()
            if len(chunk) > budget:
                self._pending.appendleft(chunk[budget:])
                chunk = chunk[:budget]
            self._pending_size -= len(chunk)
            budget -= len(chunk)
            self._screen.feed(chunk)
        return not self._pending

    def _resync(self) -> None:
        """After a gap: a fresh emulator, fed from the first line or sequence boundary on."""
        text = "".join(self._pending)
        self._pending.clear()
        self._pending_size = 0
        title = self._screen.title
        self._screen = TerminalScreen(self._screen.columns, self._screen.lines)
        self._screen.title = title
        newline, escape = text.find("\n"), text.find("\x1b")
        # A line starts after its newline, a sequence at its ESC: start at the first of them.
        starts = [i for i in (newline + 1 if newline >= 0 else -1, escape) if i >= 0]
        if not starts:
            return  # mid-line text only: keep waiting for a boundary
        start = min(starts)
        self._gap = False
        if start < len(text):
            self._pending.append(text[start:])
            self._pending_size = len(text) - start

    def resize(self, rows: int, cols: int) -> None:
        """Catch up with output written at the old size, then resize the emulator.

        Raises:
            ValueError: a size below 1x1.
        """
        if rows < 1 or cols < 1:
            raise ValueError("need rows, cols >= 1")
        self.catch_up()
        self._screen.resize(rows, cols)

    def snapshot(self, *, scrollback: bool = True) -> str:
        """Catch up, then return output that recreates the terminal in a fresh one.

        First the scrollback: recent lines that scrolled off, text and SGR colours only,
        starting at a line boundary. Then the exact current screen, cursor and modes, the
        alternate screen included (see `TerminalScreen.repaint`).

        Args:
            scrollback: False for a participant who already has the scrollback (a resync of
                someone who fell behind): only the screen, which is much cheaper.
        """
        self.catch_up()
        if not scrollback:
            return self._screen.repaint()
        tail = "".join(self._tail)
        if self._tail_cut:
            newline = tail.find("\n")
            tail = tail[newline + 1 :] if newline >= 0 else ""
        return _scrollback(tail, self._screen) + self._screen.repaint()
