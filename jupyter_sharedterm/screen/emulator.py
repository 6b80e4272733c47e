"""A terminal emulator that parses like xterm.js (the browser's terminal) and can repaint itself.

`TerminalScreen` is a pyte screen with its own escape-sequence parser (pyte's mis-parses
`CSI > 4;2 m`, DCS strings, REP, ...), an alternate screen buffer, bracketed paste / mouse /
keypad modes, background-colour erase, and `repaint()`, which writes its state back out as
terminal output.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import NamedTuple

import pyte
from pyte import charsets as cs
from pyte import graphics as g
from pyte import modes as mo
from pyte.screens import Char, Margins, Savepoint, StaticDefaultDict, wcwidth

__all__ = ["TerminalScreen"]

# Hostile output must not make the mirror's memory or work grow: every buffer below is capped.
_MAX_CELL_CHARS = 16  # code points per cell: a base character plus combining marks
_MAX_SEQUENCE_CHARS = 256  # a longer CSI is ignored, never buffered
_MAX_STRING_CHARS = 4096  # OSC payload kept (titles); the rest of a longer string is skipped

_ALT_SCREEN_MODES = frozenset({47, 1047, 1049})
_MOUSE_PROTOCOLS = frozenset({9, 1000, 1002, 1003})  # xterm.js: the last one set wins
_MOUSE_ENCODINGS = frozenset({1005, 1006, 1015, 1016})
# DEC private modes that are plain flags: cursor keys, reverse video, reverse wrap, focus, paste.
_FLAG_MODES = frozenset({1, 5, 45, 1004, 2004})

_BLANK = Char(" ")
_SGR_ON = {1: "bold", 3: "italics", 4: "underscore", 5: "blink", 6: "blink", 7: "reverse"}
_SGR_ON |= {9: "strikethrough", 21: "underscore"}  # xterm.js: 21 is a double underline
_SGR_OFF = {22: "bold", 23: "italics", 24: "underscore", 25: "blink", 27: "reverse"}
_SGR_OFF |= {29: "strikethrough"}
# (pen, SGR parameters) -> new pen; the same few SGRs come back all the time.
_SGR_CACHE: dict[tuple[Char, str], Char] = {}
_Line = StaticDefaultDict[int, Char]
_Buffer = dict[int, _Line]
_Params = list[list[int | None]]

# The parser's tokens. Everything except C0, DEL and C1 is printable text.
_SPECIAL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CSI_FAST = re.compile(r"(?:\x1b\[|\x9b)([\x30-\x3f]{0,64})([\x20-\x2f]{0,2})([\x40-\x7e])")
_ESC_FAST = re.compile(r"\x1b([\x20-\x2f]{0,2})([\x30-\x7e])")
# Lone surrogates (from a surrogateescape decode) could not be encoded to send a snapshot.
_SURROGATE = re.compile("[\ud800-\udfff]")
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# OSC ends at BEL or ST; any string ends at ESC (which then starts its own sequence, usually
# ST) and is aborted by CAN/SUB; C1 controls end it too, as in xterm.js.
_OSC_END = re.compile(r"[\x07\x18\x1a\x1b\x80-\x9f]")
_STRING_END = re.compile(r"[\x18\x1a\x1b\x80-\x9f]")

# SGR colour names are pyte's (its tables, typos included), so cells look like pyte's own.
_FG_CODES = {name: code for code, name in {**g.FG_ANSI, **g.FG_AIXTERM}.items()}
_BG_CODES = {name: code for code, name in {**g.BG_ANSI, **g.BG_AIXTERM}.items()}
del _FG_CODES["default"], _BG_CODES["default"]
# pyte stores 256-colour cells as hex; map them back to the index so the browser's palette
# applies. Later indices win: 16-255 are fixed in xterm.js, 0-15 follow the user's theme.
_HEX_INDEX = {value: index for index, value in enumerate(g.FG_BG_256)}


class _Stash(NamedTuple):
    """The normal screen's own state, kept aside while the alternate screen is shown."""

    buffer: _Buffer
    margins: Margins | None
    savepoints: list[Savepoint]
    tabstops: set[int]


class _String:
    """An OSC/DCS/SOS/PM/APC string still being received."""

    __slots__ = ("osc", "parts", "size")

    def __init__(self, osc: bool) -> None:
        self.osc = osc
        self.parts: list[str] = []
        self.size = 0


def _param(text: str) -> int | None:
    if not text:
        return None
    digits = text.lstrip("0")
    # int() of a huge digit string is slow (and refused past 4300 digits); xterm caps anyway.
    return int(digits or "0") if len(digits) <= 4 else 9999


def _parse_params(text: str) -> _Params:
    if not text:
        return []
    return [[_param(sub) for sub in part.split(":")] for part in text.split(";")]


def _first(params: _Params, index: int = 0, default: int = 1) -> int:
    """Parameter `index`; absent or 0 means `default`, as for cursor counts."""
    if index < len(params):
        value = params[index][0]
        if value:
            return value
    return default


def _is_wide(cell: Char) -> bool:
    return bool(cell.data) and wcwidth(cell.data[0]) == 2


def _colour(params: _Params, index: int) -> tuple[str | None, int]:
    """Decode `38;5;n`, `38;2;r;g;b` and their colon forms; returns (pyte colour, params used)."""
    group = params[index]
    if len(group) > 1:  # colon form: 38:5:n, 38:2:r:g:b or 38:2:colourspace:r:g:b
        values, used = group[1:], 0
        if values and values[0] == 2 and len(values) >= 5:
            values = [2, *values[-3:]]
    else:
        values = [p[0] for p in params[index + 1 : index + 5]]
        used = 2 if values[:1] == [5] else 4 if values[:1] == [2] else 0
    if values[:1] == [5] and len(values) >= 2:
        n = values[1] or 0
        return (g.FG_BG_256[n] if n < 256 else None), min(used, 2)
    if values[:1] == [2] and len(values) >= 4:
        rgb = [v or 0 for v in values[1:4]]
        if max(rgb) > 255:
            return None, used
        return "{:02x}{:02x}{:02x}".format(*rgb), used
    return None, used


def _colour_codes(colour: str, names: dict[str, int], extended: str) -> list[str]:
    code = names.get(colour)
    if code is not None:
        return [str(code)]
    index = _HEX_INDEX.get(colour)
    if index is not None:
        return [extended, "5", str(index)]
    if len(colour) == 6:
        try:
            rgb = bytes.fromhex(colour)
        except ValueError:
            return []
        return [extended, "2", *(str(c) for c in rgb)]
    return []  # "default", or something no SGR produced


def _sgr(cell: Char) -> str:
    """The SGR sequence that sets exactly `cell`'s attributes."""
    codes = ["0"]
    for flag, code in (
        (cell.bold, "1"),
        (cell.italics, "3"),
        (cell.underscore, "4"),
        (cell.blink, "5"),
        (cell.reverse, "7"),
        (cell.strikethrough, "9"),
    ):
        if flag:
            codes.append(code)
    codes += _colour_codes(cell.fg, _FG_CODES, "38")
    codes += _colour_codes(cell.bg, _BG_CODES, "48")
    return "\x1b[" + ";".join(codes) + "m" if len(codes) > 1 else "\x1b[m"


class TerminalScreen(pyte.Screen):
    """A pyte screen that parses like xterm.js and can repaint itself.

    Feed it output with `feed()`; read cells from `buffer` (the shown screen), `normal_buffer`,
    `cursor`, `margins`, `modes` and `title`; `repaint()` gives output that recreates it all.

    What pyte lacks and this adds, following xterm.js: the alternate screen (?47/?1047/?1049,
    with a saved cursor, scroll region and tab stops per buffer), keypad/mouse/focus/paste
    modes, DECSCUSR, REP, SU/SD, CHT/CBT, DECSTR, the DEC line-drawing charset, zero-width
    joiners and variation selectors joined to their cell, background-colour erase, and a
    parser that ignores what it does not understand instead of drawing it.

    Not followed, being xterm.js quirks: DECRC after the normal screen scrolled (xterm.js
    restores relative to the scrolled content), relative moves in origin mode, SO/SI across a
    DECSC, LNM and a hidden cursor surviving RIS, a DECSC slot surviving an alt-screen exit.
    """

    def __init__(self, columns: int, lines: int) -> None:
        # Parser state survives resets (RIS arrives mid-parse); see feed().
        self._carry = ""
        self._string: _String | None = None
        self._csi_ignoring = False
        self._executed = False  # a control ran inside the sequence being parsed
        self._controls: dict[str, Callable[[], None]] = {
            "\n": self.linefeed,
            "\x0b": self.linefeed,
            "\x0c": self.linefeed,
            "\r": self.carriage_return,
            "\b": self.backspace,
            "\t": self.tab,
            "\x0e": self.shift_out,
            "\x0f": self.shift_in,
            "\x84": self.index,
            "\x85": self.next_line,
            "\x88": self.set_tab_stop,
            "\x8d": self.reverse_index,
        }
        super().__init__(columns, lines)

    # --- state -------------------------------------------------------------------------

    def reset(self) -> None:
        """Full reset (RIS): normal screen, default modes, no title."""
        self._normal: _Stash | None = None
        self._flags: set[int] = set()
        self.keypad_application = False
        self.mouse_protocol = 0
        self.mouse_encoding = 0
        self.cursor_style = 0
        self._last_char = ""
        super().reset()
        self.g1_charset = cs.LAT1_MAP  # xterm.js: G1 starts as US ASCII, not line drawing
        self.savepoints = []

    @property
    def in_alternate_screen(self) -> bool:
        """Whether a program switched to the alternate screen (?47, ?1047 or ?1049)."""
        return self._normal is not None

    @property
    def normal_buffer(self) -> _Buffer:
        """The normal screen's cells, also while the alternate screen is shown."""
        return self.buffer if self._normal is None else self._normal.buffer

    @property
    def modes(self) -> dict[str, bool | int]:
        """The modes that change what the keyboard sends or how output is drawn."""
        return {
            "alternate_screen": self._normal is not None,
            "application_cursor_keys": 1 in self._flags,
            "application_keypad": self.keypad_application,
            "reverse_video": 5 in self._flags,
            "reverse_wraparound": 45 in self._flags,
            "focus_events": 1004 in self._flags,
            "bracketed_paste": 2004 in self._flags,
            "mouse_protocol": self.mouse_protocol,
            "mouse_encoding": self.mouse_encoding,
            "autowrap": mo.DECAWM in self.mode,
            "origin": mo.DECOM in self.mode,
            "insert": mo.IRM in self.mode,
            "newline": mo.LNM in self.mode,
            "cursor_visible": not self.cursor.hidden,
            "cursor_style": self.cursor_style,
        }

    def _normal_cursor_row(self) -> int:
        """The row the normal screen's output has reached (its saved cursor while on alt)."""
        if self._normal is not None and self._normal.savepoints:
            return self._normal.savepoints[-1].cursor.y
        return self.cursor.y

    def _new_buffer(self) -> _Buffer:
        return defaultdict(lambda: StaticDefaultDict[int, Char](self.default_char))

    @property
    def default_char(self) -> Char:
        # Reverse video (?5) is a whole-screen flag in xterm.js, never a cell attribute.
        return _BLANK

    def _erase_char(self) -> Char:
        # Background-colour erase (xterm-256color has `bce`): erased cells keep only the bg.
        bg = self.cursor.attrs.bg
        return _BLANK if bg == "default" else Char(" ", bg=bg)

    def _blank_line(self, y: int) -> None:
        erase = self._erase_char()
        if erase == _BLANK:
            self.buffer.pop(y, None)
        else:
            self.buffer[y] = StaticDefaultDict[int, Char](erase)

    def _split_wide(self, line: _Line, x: int) -> None:
        """A wide character that lost its right half at column `x` becomes blank (xterm.js)."""
        lost = 0 < x <= self.columns and (x == self.columns or line[x].data != "")
        if lost and _is_wide(line[x - 1]):
            line[x - 1] = self._erase_char()

    def _drop_orphan(self, line: _Line, x: int, fill: Char | None = None) -> None:
        """A right half at `x` whose wide character is gone becomes a blank: `fill`, or one
        with its own colours.

        xterm.js keeps such a cell as an empty zero-width one; no output could recreate that,
        and it looks the same as a blank, so the mirror never keeps one.
        """
        if 0 <= x < self.columns and line[x].data == "" and not (x and _is_wide(line[x - 1])):
            line[x] = fill or line[x]._replace(data=" ")

    # --- the parser --------------------------------------------------------------------

    def feed(self, text: str) -> None:
        """Interpret terminal output. Chunks may split anywhere, even inside a sequence."""
        if self._carry:
            text, self._carry = self._carry + text, ""
        pos, end = 0, len(text)
        if self._string is not None:
            pos = self._continue_string(text, 0)
        elif self._csi_ignoring:
            pos = self._csi_slow(text, 0, "", ignore=True)
        search, draw = _SPECIAL.search, self.draw
        while pos < end:
            match = search(text, pos)
            if match is None:
                draw(text[pos:])
                return
            start = match.start()
            if start > pos:
                draw(text[pos:start])
            pos = self._special(text, start)

    def _special(self, text: str, i: int) -> int:
        """Handle the control at `i`; returns where text resumes. REP needs the character drawn
        just before, so anything but a carried (incomplete) sequence forgets it."""
        last, self._last_char = self._last_char, ""
        self._executed = False
        pos = self._control(text, i, last)
        if self._carry and not self._executed:
            self._last_char = last
        return pos

    def _execute(self, c: str) -> None:
        """A C0 control met inside an escape sequence, which runs it as the VT500 parser does."""
        control = self._controls.get(c)
        if control is not None:
            control()
        self._executed = True

    def _control(self, text: str, i: int, last: str) -> int:
        c = text[i]
        if c == "\x1b":
            if i + 1 == len(text):
                self._carry = c
                return i + 1
            following = text[i + 1]
            if following == "[":
                return self._csi(text, i, i + 2, last)
            if following == "]":
                return self._start_string(text, i + 2, osc=True)
            if following in "PX^_":
                return self._start_string(text, i + 2, osc=False)
            return self._escape(text, i, last)
        if c == "\x9b":
            return self._csi(text, i, i + 1, last)
        if c == "\x9d":
            return self._start_string(text, i + 1, osc=True)
        if c in "\x90\x98\x9e\x9f":
            return self._start_string(text, i + 1, osc=False)
        control = self._controls.get(c)
        if control is not None:
            control()
        return i + 1

    def _csi(self, text: str, start: int, body: int, last: str) -> int:
        match = _CSI_FAST.match(text, start)
        if match is not None:
            self._dispatch_csi(match[1], match[2], match[3], last)
            return match.end()
        return self._csi_slow(text, body, last)

    def _csi_slow(self, text: str, j: int, last: str, ignore: bool = False) -> int:
        """A CSI with C0 controls inside, an abort, an over-long body, or cut by the chunk end."""
        body: list[str] = []
        end = len(text)
        while j < end:
            c = text[j]
            o = ord(c)
            if 0x40 <= o <= 0x7E:
                self._csi_ignoring = False
                sequence = "".join(body)
                split = len(sequence.rstrip(" !\"#$%&'()*+,-./"))
                params, inter = sequence[:split], sequence[split:]
                if not ignore and all(ch >= "0" for ch in params):
                    self._dispatch_csi(params, inter, c, last)
                return j + 1
            if 0x20 <= o <= 0x3F:
                if len(body) < _MAX_SEQUENCE_CHARS:
                    body.append(c)
                else:
                    ignore = True
            elif c == "\x1b" or 0x80 <= o <= 0x9F:  # aborts; that control starts here
                self._csi_ignoring = False
                return j
            elif c in "\x18\x1a":  # CAN, SUB: abort
                self._csi_ignoring = False
                return j + 1
            elif o < 0x20:
                self._execute(c)
                last = ""
            elif o != 0x7F:
                ignore = True  # printable non-ASCII cannot belong to a CSI
            j += 1
        if ignore:
            self._csi_ignoring = True
        else:
            self._carry = "\x1b[" + "".join(body)
        return end

    def _escape(self, text: str, i: int, last: str) -> int:
        match = _ESC_FAST.match(text, i)
        if match is not None:
            self._dispatch_escape(match[1], match[2])
            return match.end()
        inter: list[str] = []
        j, end = i + 1, len(text)
        while j < end:
            c = text[j]
            o = ord(c)
            if 0x30 <= o <= 0x7E:
                if not inter and c == "[":  # C0 controls came between ESC and [
                    return self._csi_slow(text, j + 1, last)
                if not inter and c in "]PX^_":
                    return self._start_string(text, j + 1, osc=c == "]")
                if len(inter) <= 2:
                    self._dispatch_escape("".join(inter), c)
                return j + 1
            if 0x20 <= o <= 0x2F:
                if len(inter) <= 2:
                    inter.append(c)
            elif c in "\x18\x1a":
                return j + 1
            elif o < 0x20 and c != "\x1b":
                self._execute(c)
                last = ""
            elif o != 0x7F:
                return j  # ESC, C1 or non-ASCII: drop this ESC, handle that character
            j += 1
        self._carry = "\x1b" + "".join(inter)
        return end

    def _start_string(self, text: str, j: int, osc: bool) -> int:
        self._string = _String(osc)
        return self._continue_string(text, j)

    def _continue_string(self, text: str, j: int) -> int:
        state = self._string
        assert state is not None
        match = (_OSC_END if state.osc else _STRING_END).search(text, j)
        stop = len(text) if match is None else match.start()
        if state.osc and state.size < _MAX_STRING_CHARS:
            piece = text[j : min(stop, j + _MAX_STRING_CHARS - state.size)]
            state.parts.append(piece)
            state.size += len(piece)
        if match is None:
            return stop
        self._string = None
        c = text[stop]
        if c in "\x18\x1a":
            return stop + 1
        if state.osc:
            self._dispatch_osc("".join(state.parts))
        return stop + 1 if c in "\x07\x9c" else stop

    def _dispatch_osc(self, payload: str) -> None:
        code, _, value = payload.partition(";")
        value = _SURROGATE.sub("\ufffd", _UNPRINTABLE.sub("", value))
        if code in ("0", "2"):
            self.set_title(value)
        if code in ("0", "1"):
            self.set_icon_name(value)

    def _dispatch_escape(self, inter: str, final: str) -> None:
        if not inter:
            action = {
                "7": self.save_cursor,
                "8": self.restore_cursor,
                "D": self.index,
                "E": self.next_line,
                "M": self.reverse_index,
                "H": self.set_tab_stop,
                "c": self.reset,
            }.get(final)
            if action is not None:
                action()
            elif final in "=>":
                self.keypad_application = final == "="
        elif inter == "#" and final == "8":
            self.alignment_display()
        elif inter in ("(", ")"):  # only US ASCII and DEC line drawing are distinguished
            charset = cs.VT100_MAP if final == "0" else cs.LAT1_MAP
            if inter == "(":
                self.g0_charset = charset
            else:
                self.g1_charset = charset

    def _dispatch_csi(self, params_text: str, inter: str, final: str, last: str) -> None:
        if final == "m" and not inter:  # SGR, a third of a full-screen program's sequences
            key = (self.cursor.attrs, params_text)
            attrs = _SGR_CACHE.get(key)
            if attrs is None:
                if params_text[:1] in ("<", "=", ">", "?"):
                    return  # CSI > 4;2 m is modifyOtherKeys, not bold and underline
                if any(c in "<=>?" for c in params_text):
                    return
                self._select_graphic_rendition(_parse_params(params_text))
                if len(_SGR_CACHE) >= 4096:  # a bound, should output keep inventing colours
                    _SGR_CACHE.clear()
                _SGR_CACHE[key] = self.cursor.attrs
            else:
                self.cursor.attrs = attrs
            return
        private = ""
        if params_text and params_text[0] in "<=>?":
            private, params_text = params_text[0], params_text[1:]
        if any(c in "<=>?" for c in params_text):
            return
        params = _parse_params(params_text)
        if private == "?":
            if not inter and final in "hl":
                self._set_private_modes([p[0] or 0 for p in params], final == "h")
            elif not inter and final == "J":
                self.erase_in_display(_first(params, 0, 0))
            elif not inter and final == "K":
                self.erase_in_line(_first(params, 0, 0))
            return
        if private:  # CSI > / = / < ...: modifyOtherKeys, DA2 and kitty requests
            return
        if inter:
            if inter == " " and final == "q":
                style = _first(params, 0, 0)
                self.cursor_style = style if style <= 6 else 0
            elif inter == "!" and final == "p":
                self.soft_reset()
            return
        n = _first(params)
        if final in "Hf":
            self.cursor_position(n, _first(params, 1))
        elif final == "A":
            self.cursor_up(n)
        elif final in "Be":
            self.cursor_down(n)
        elif final in "Ca":
            self.cursor_forward(n)
        elif final == "D":
            self.cursor_back(n)
        elif final == "E":
            self.cursor_down1(n)
        elif final == "F":
            self.cursor_up1(n)
        elif final in "G`":
            self.cursor_to_column(n)
        elif final == "d":
            self.cursor_to_line(n)
        elif final == "J":
            self.erase_in_display(_first(params, 0, 0))
        elif final == "K":
            self.erase_in_line(_first(params, 0, 0))
        elif final == "X":
            self.erase_characters(n)
        elif final == "@":
            self.insert_characters(n)
        elif final == "P":
            self.delete_characters(n)
        elif final == "L":
            self.insert_lines(n)
        elif final == "M":
            self.delete_lines(n)
        elif final == "S":
            self.scroll_up(n)
        elif final == "T" and len(params) <= 1:  # with 5 params it is mouse highlight tracking
            self.scroll_down(n)
        elif final == "r":
            self.set_margins(_first(params, 0, 0), _first(params, 1, 0))
        elif final == "b":
            if last:  # ncurses repeats within a row; more would let 7 chars cost a screenful
                self.draw(last * min(n, self.columns))
                self._last_char = ""  # xterm.js forgets it after any CSI, REP included
        elif final == "I":
            self.forward_tab(n)
        elif final == "Z":
            self.back_tab(n)
        elif final == "g":
            self.clear_tab_stop(_first(params, 0, 0))
        elif final in "hl":
            ansi = {p[0] or 0 for p in params} & {mo.IRM, mo.LNM}
            if final == "h":
                self.mode.update(ansi)
            else:
                self.mode.difference_update(ansi)
        elif final == "s" and not params:
            self.save_cursor()
        elif final == "u" and not params:
            self.restore_cursor()

    # --- modes -------------------------------------------------------------------------

    def set_mode(self, *modes: int, **kwargs: object) -> None:
        """pyte's API: set ANSI modes, or DEC private ones with private=True."""
        if kwargs.get("private"):
            self._set_private_modes(list(modes), True)
        else:
            self.mode.update(set(modes) & {mo.IRM, mo.LNM})

    def reset_mode(self, *modes: int, **kwargs: object) -> None:
        """pyte's API: reset ANSI modes, or DEC private ones with private=True."""
        if kwargs.get("private"):
            self._set_private_modes(list(modes), False)
        else:
            self.mode.difference_update(modes)

    def _set_private_modes(self, modes: Iterable[int], on: bool) -> None:
        for m in modes:
            if m in _FLAG_MODES:
                (self._flags.add if on else self._flags.discard)(m)
            elif m == 66:
                self.keypad_application = on
            elif m in _MOUSE_PROTOCOLS:
                self.mouse_protocol = m if on else 0
            elif m in _MOUSE_ENCODINGS:
                self.mouse_encoding = m if on else 0
            elif m == 7:
                (self.mode.add if on else self.mode.discard)(mo.DECAWM)
            elif m == 25:
                (self.mode.add if on else self.mode.discard)(mo.DECTCEM)
                self.cursor.hidden = not on
            elif m == 6:
                (self.mode.add if on else self.mode.discard)(mo.DECOM)
                self.cursor_position()
            elif m in _ALT_SCREEN_MODES:
                if on:
                    self._enter_alternate(m)
                else:
                    self._leave_alternate(m)
            elif m == 1048:
                (self.save_cursor if on else self.restore_cursor)()
            # ?3 (132 columns) is ignored, as xterm.js does by default.

    def _enter_alternate(self, mode: int) -> None:
        if mode == 1049:
            self.save_cursor()
        if self._normal is None:
            self._normal = _Stash(self.buffer, self.margins, self.savepoints, self.tabstops)
            self.buffer, self.margins, self.savepoints = self._new_buffer(), None, []
            self.tabstops = set(range(8, self.columns, 8))
            for y in range(self.lines):
                self._blank_line(y)

    def _leave_alternate(self, mode: int) -> None:
        if self._normal is not None:
            self.buffer, self.margins, self.savepoints, self.tabstops = self._normal
            self._normal = None
        if mode == 1049:
            self.restore_cursor()

    def soft_reset(self) -> None:
        """DECSTR, as xterm.js: modes, margins, pen, charsets and saved cursor to defaults."""
        self.cursor.hidden = False
        self.mode = {mo.DECAWM, mo.DECTCEM}
        self._flags.clear()
        self.keypad_application = False
        self.margins = None
        self.cursor.attrs = _BLANK
        self.g0_charset = self.g1_charset = cs.LAT1_MAP
        self.charset = 0
        self.savepoints = []

    # --- cursor and scrolling ----------------------------------------------------------

    def save_cursor(self) -> None:
        """DECSC: one slot per buffer, as in xterm.js (pyte keeps a stack)."""
        cursor = pyte.screens.Cursor(self.cursor.x, self.cursor.y, self.cursor.attrs)
        origin, wrap = mo.DECOM in self.mode, mo.DECAWM in self.mode
        self.savepoints = [
            Savepoint(cursor, self.g0_charset, self.g1_charset, self.charset, origin, wrap)
        ]

    def restore_cursor(self) -> None:
        """DECRC: position, pen and charsets from the slot; home and default pen without one."""
        if self.savepoints:
            saved = self.savepoints[-1]
            self.cursor.x = min(saved.cursor.x, self.columns - 1)
            self.cursor.y = min(saved.cursor.y, self.lines - 1)
            self.cursor.attrs = saved.cursor.attrs
            self.g0_charset, self.g1_charset = saved.g0_charset, saved.g1_charset
            self.charset = saved.charset
        else:  # xterm.js: home, default pen, and the active charset back to ASCII
            self.cursor.x = self.cursor.y = 0
            self.cursor.attrs = _BLANK
            if self.charset:
                self.g1_charset = cs.LAT1_MAP
            else:
                self.g0_charset = cs.LAT1_MAP
        self.ensure_vbounds()  # in origin mode the cursor stays inside the region (xterm.js)

    def _end_pending_wrap(self) -> None:
        """Cursor moves and character edits leave the right margin first, as in xterm.js."""
        self.cursor.x = min(self.cursor.x, self.columns - 1)

    def _region(self) -> tuple[int, int]:
        return self.margins or (0, self.lines - 1)

    def index(self) -> None:
        """Down one line, scrolling the region at its bottom; below the region, stop at the end."""
        top, bottom = self._region()
        self.cursor.x = min(self.cursor.x, self.columns - 1)
        if self.cursor.y == bottom:
            self._scroll(top, bottom, 1)
        elif self.cursor.y < self.lines - 1:
            self.cursor.y += 1

    def reverse_index(self) -> None:
        top, bottom = self._region()
        self.cursor.x = min(self.cursor.x, self.columns - 1)
        if self.cursor.y == top:
            self._scroll(top, bottom, -1)
        elif self.cursor.y > 0:
            self.cursor.y -= 1

    def linefeed(self) -> None:
        self.index()
        if mo.LNM in self.mode:
            self.carriage_return()

    def next_line(self) -> None:
        self.carriage_return()
        self.index()

    def _scroll(self, top: int, bottom: int, count: int, erase: bool = True) -> None:
        """Move rows top..bottom up by `count` (down if negative), blanking the rows uncovered
        with the pen's background, or plain with `erase=False`."""
        buffer = self.buffer
        height = bottom - top + 1
        n = min(abs(count), height)
        rows = range(top, bottom + 1 - n) if count > 0 else range(bottom, top - 1 + n, -1)
        step = n if count > 0 else -n
        for y in rows:
            source = buffer.pop(y + step, None)
            if source is None:
                buffer.pop(y, None)
            else:
                buffer[y] = source
        fresh = range(bottom + 1 - n, bottom + 1) if count > 0 else range(top, top + n)
        for y in fresh:
            if erase:
                self._blank_line(y)
            else:
                buffer.pop(y, None)

    def scroll_up(self, count: int = 1) -> None:
        """SU: scroll the region up without moving the cursor."""
        top, bottom = self._region()
        self._scroll(top, bottom, count)

    def scroll_down(self, count: int = 1) -> None:
        """SD: scroll the region down without moving the cursor; xterm.js adds plain rows."""
        top, bottom = self._region()
        self._scroll(top, bottom, -count, erase=False)

    def insert_lines(self, count: int | None = None) -> None:
        top, bottom = self._region()
        if top <= self.cursor.y <= bottom:
            self._scroll(self.cursor.y, bottom, -(count or 1))
            self.carriage_return()

    def delete_lines(self, count: int | None = None) -> None:
        top, bottom = self._region()
        if top <= self.cursor.y <= bottom:
            self._scroll(self.cursor.y, bottom, count or 1)
            self.carriage_return()

    def cursor_up(self, count: int | None = None) -> None:
        """CUU: stops at the top margin, or at row 0 when already above it."""
        top = self._region()[0]
        self._end_pending_wrap()
        limit = top if self.cursor.y >= top else 0
        self.cursor.y = max(self.cursor.y - (count or 1), limit)

    def cursor_down(self, count: int | None = None) -> None:
        """CUD: stops at the bottom margin, or at the last row when already below it."""
        bottom = self._region()[1]
        self._end_pending_wrap()
        limit = bottom if self.cursor.y <= bottom else self.lines - 1
        self.cursor.y = min(self.cursor.y + (count or 1), limit)

    def cursor_to_line(self, line: int | None = None) -> None:
        """VPA, relative to the top margin in origin mode (pyte asserts there instead)."""
        y = (line or 1) - 1
        self._end_pending_wrap()
        if mo.DECOM in self.mode and self.margins is not None:
            y = min(y + self.margins.top, self.margins.bottom)
        self.cursor.y = min(max(y, 0), self.lines - 1)

    def set_margins(self, top: int | None = None, bottom: int | None = None) -> None:
        """DECSTBM as xterm.js: 0 or absent means the screen edge; invalid regions are ignored."""
        first = top or 1
        last = bottom if bottom and bottom <= self.lines else self.lines
        if last > first:
            self.margins = (
                None if (first, last) == (1, self.lines) else Margins(first - 1, last - 1)
            )
            self.cursor_position()

    def tab(self) -> None:
        if self.cursor.x < self.columns:
            stops = [s for s in self.tabstops if s > self.cursor.x]
            self.cursor.x = min(stops) if stops else self.columns - 1

    def set_tab_stop(self) -> None:
        """HTS; with a wrap pending the stop goes on the last column."""
        self.tabstops.add(min(self.cursor.x, self.columns - 1))

    def forward_tab(self, count: int = 1) -> None:
        for _ in range(min(count, self.columns)):
            self.tab()

    def back_tab(self, count: int = 1) -> None:
        for _ in range(min(count, self.columns)):
            stops = [s for s in self.tabstops if s < self.cursor.x]
            self.cursor.x = max(stops) if stops else 0

    # --- drawing and erasing -----------------------------------------------------------

    def draw(self, data: str) -> None:
        """Print text at the cursor, wrapping, inserting and joining like xterm.js."""
        charset = self.g1_charset if self.charset else self.g0_charset
        plain = data.isascii() and data.isprintable()
        if not plain:
            data = _SURROGATE.sub("\ufffd", data)
        if charset is not cs.LAT1_MAP:
            data = data.translate(charset)  # line drawing maps ASCII to width-1 characters
        if not data:
            return
        cursor, columns, buffer = self.cursor, self.columns, self.buffer
        autowrap, insert = mo.DECAWM in self.mode, mo.IRM in self.mode
        rest = tuple(cursor.attrs)[1:]
        new = tuple.__new__
        line = buffer[cursor.y]
        if plain and not insert:  # the common case: one dict update per screen row
            i, total = 0, len(data)
            while i < total:
                x = cursor.x
                if x >= columns:
                    if autowrap:
                        cursor.x = 0
                        self.index()
                        line, x = buffer[cursor.y], 0
                    else:
                        x = columns - 1
                take = min(total - i, columns - x)
                if x and line[x].data == "" and _is_wide(line[x - 1]):
                    line[x - 1] = new(Char, (" ", *rest))  # its right half is overwritten
                line.update(
                    zip(
                        range(x, x + take),
                        [new(Char, (c, *rest)) for c in data[i : i + take]],
                        strict=True,
                    )
                )
                cursor.x = x + take
                i += take
                self._drop_orphan(line, cursor.x)
            self._last_char = data[-1]
            return
        for c in data:
            width = wcwidth(c)
            if width < 0:  # a control character: the parser never passes one here
                continue
            if width == 0:  # combining marks, ZWJ, variation selectors join the previous cell
                x = cursor.x - 1
                if x >= 0:
                    if line[x].data == "" and x > 0:
                        x -= 1
                    cell = line[x]
                    if len(cell.data) < _MAX_CELL_CHARS:
                        line[x] = cell = cell._replace(data=cell.data + c)
                    self._last_char = cell.data  # REP repeats the whole cell, as in xterm.js
                continue
            width = 2 if width == 2 else 1
            if cursor.x + width > columns:
                if autowrap:
                    for x in range(cursor.x, columns):  # a wide char that did not fit
                        line[x] = new(Char, (" ", *rest))
                    self._split_wide(line, cursor.x)
                    cursor.x = 0
                    self.index()
                    line = buffer[cursor.y]
                else:
                    cursor.x = columns - 1
                    if width == 2:
                        continue
            x = cursor.x
            if insert:
                self.insert_characters(width)
            elif x and line[x].data == "" and _is_wide(line[x - 1]):
                line[x - 1] = new(Char, (" ", *rest))  # its right half is overwritten
            line[x] = new(Char, (c, *rest))
            if width == 2:
                line[x + 1] = new(Char, ("", *rest))
            cursor.x = x + width
            self._drop_orphan(line, cursor.x)
            self._last_char = c

    def erase_in_line(self, how: int = 0, private: bool = False) -> None:
        x = self.cursor.x
        if how == 0:
            span = range(x, self.columns)
        elif how == 1:
            span = range(min(x + 1, self.columns))
        elif how == 2:
            span = range(self.columns)
        else:
            return
        line = self.buffer[self.cursor.y]
        erase = self._erase_char()
        for column in span:
            line[column] = erase
        self._split_wide(line, span.start)
        self._drop_orphan(line, span.stop, erase)

    def erase_in_display(self, how: int = 0, *args: object, **kwargs: object) -> None:
        """ED 0/1/2; ED 3 clears only the scrollback, which a screen does not have."""
        if how == 0:
            rows = range(self.cursor.y + 1, self.lines)
        elif how == 1:
            rows = range(self.cursor.y)
        elif how == 2:
            rows = range(self.lines)
        else:
            return
        for y in rows:
            self._blank_line(y)
        if how != 2:
            self.erase_in_line(how)

    def erase_characters(self, count: int | None = None) -> None:
        line = self.buffer[self.cursor.y]
        erase = self._erase_char()
        self._end_pending_wrap()
        x = self.cursor.x
        stop = min(x + (count or 1), self.columns)
        for column in range(x, stop):
            line[column] = erase
        self._split_wide(line, x)
        self._drop_orphan(line, stop, erase)

    def _edit_row(self, x: int, count: int, insert: bool) -> None:
        line = self.buffer[self.cursor.y]
        columns = self.columns
        cells = [line[column] for column in range(columns)]
        count = min(count, columns - x)
        blanks = [self._erase_char()] * count
        if insert:
            cells[x:x] = blanks
            del cells[columns:]
        else:
            del cells[x : x + count]
            cells += blanks
        line.clear()
        line.update(enumerate(cells))
        self._split_wide(line, x)
        self._split_wide(line, columns)
        self._drop_orphan(line, x, blanks[0] if blanks else None)
        for column in range(x + 1, columns):
            self._drop_orphan(line, column)

    def insert_characters(self, count: int | None = None) -> None:
        self._end_pending_wrap()
        self._edit_row(self.cursor.x, count or 1, insert=True)

    def delete_characters(self, count: int | None = None) -> None:
        self._end_pending_wrap()
        self._edit_row(self.cursor.x, count or 1, insert=False)

    def alignment_display(self) -> None:
        """DECALN as xterm.js: home the cursor, fill from its row down with E in the pen."""
        self.cursor_position()
        fill = self.cursor.attrs._replace(data="E")
        for y in range(self.cursor.y, self.lines):
            self.buffer[y] = StaticDefaultDict[int, Char](fill)

    def _select_graphic_rendition(self, params: _Params) -> None:
        cell = self.cursor.attrs
        fg, bg = cell.fg, cell.bg
        flags = {
            "bold": cell.bold,
            "italics": cell.italics,
            "underscore": cell.underscore,
            "strikethrough": cell.strikethrough,
            "reverse": cell.reverse,
            "blink": cell.blink,
        }
        i = 0
        if not params:
            params = [[0]]
        while i < len(params):
            group = params[i]
            code = group[0] or 0
            if code == 0:
                fg = bg = "default"
                flags = dict.fromkeys(flags, False)
            elif code == 4 and len(group) > 1:  # 4:0 is "no underline", 4:1..4:5 are styles
                flags["underscore"] = bool(group[1])
            elif code in _SGR_ON:
                flags[_SGR_ON[code]] = True
            elif code in _SGR_OFF:
                flags[_SGR_OFF[code]] = False
            elif code in g.FG_ANSI:
                fg = g.FG_ANSI[code]
            elif code in g.BG_ANSI:
                bg = g.BG_ANSI[code]
            elif code in g.FG_AIXTERM:
                fg = g.FG_AIXTERM[code]
            elif code in g.BG_AIXTERM:
                bg = g.BG_AIXTERM[code]
            elif code in (38, 48):
                colour, used = _colour(params, i)
                i += used
                if colour is not None:
                    if code == 38:
                        fg = colour
                    else:
                        bg = colour
            i += 1
        self.cursor.attrs = Char(
            " ",
            fg,
            bg,
            bold=flags["bold"],
            italics=flags["italics"],
            underscore=flags["underscore"],
            strikethrough=flags["strikethrough"],
            reverse=flags["reverse"],
            blink=flags["blink"],
        )

    def select_graphic_rendition(self, *attrs: int) -> None:
        """pyte's API, for callers that drive the screen directly."""
        self._select_graphic_rendition([[a] for a in attrs])

    def write_process_input(self, data: str) -> None:
        """A mirror never answers the program; the participants' terminals do."""

    def resize(self, lines: int | None = None, columns: int | None = None) -> None:
        """Resize both buffers like xterm.js: drop rows below the cursor first, then the top."""
        lines, columns = lines or self.lines, columns or self.columns
        if (lines, columns) == (self.lines, self.columns):
            return
        surplus = max(self.lines - lines, 0)
        below = min(surplus, self.lines - 1 - self.cursor.y)
        shift = surplus - below
        buffers = [self.buffer] if self._normal is None else [self.buffer, self._normal.buffer]
        for buffer in buffers:
            rows = {y - shift: row for y, row in buffer.items() if shift <= y < lines + shift}
            buffer.clear()
            buffer.update(rows)
            for row in rows.values():
                for x in [x for x in row if x >= columns]:
                    del row[x]
        old_columns = self.columns
        self.lines, self.columns = lines, columns
        for buffer in buffers:
            for row in buffer.values():
                self._split_wide(row, columns)
        self.cursor.y = min(max(self.cursor.y - shift, 0), lines - 1)
        self.cursor.x = min(self.cursor.x, columns - 1)
        # Stops are kept and, as in xterm.js, the new columns get the default ones.
        added = {s for s in range(8, columns, 8) if s >= old_columns}
        self.margins = None
        self.tabstops = {s for s in self.tabstops if s < columns} | added
        if self._normal is not None:
            stops = {s for s in self._normal.tabstops if s < columns} | added
            self._normal = self._normal._replace(margins=None, tabstops=stops)

    # --- repainting --------------------------------------------------------------------

    def repaint(self) -> str:
        """Terminal output that recreates this screen in a terminal of the same size.

        It paints the normal screen; if a program is on the alternate screen, it then switches
        to it and paints that too, so the program's exit restores the normal screen as usual.
        Then the scroll region, modes, cursor (position, pending wrap, visibility, style), pen
        and charsets. The cursor is hidden while painting. Last comes any sequence the output
        has begun but not finished, so the live output that follows completes it there too.

        Modes are set explicitly, on or off, so a terminal that is not fresh ends up right
        too, if it is on the normal screen, not inside a sequence and without a DECSC slot
        (RIS, or `CAN ESC[?1049l ESC[!p`, before the repaint sees to that). Not the cursor
        style unless a program set one: xterm.js would take it as the user's own choice.
        """
        out = ["\x1b[?25l\x1b[?6l\x1b[m\x1b[r\x1b[?7h\x1b[4l\x1b(B\x1b)B\x0f"]
        if self._normal is not None:
            self._paint(out, *self._normal)
            out.append("\x1b[?1047h")
        self._paint(out, self.buffer, self.margins, self.savepoints, self.tabstops)
        flags = ";".join(str(f) for f in sorted(_FLAG_MODES) if f in self._flags)
        unset = ";".join(str(f) for f in sorted(_FLAG_MODES) if f not in self._flags)
        out.append((f"\x1b[?{flags}h" if flags else "") + (f"\x1b[?{unset}l" if unset else ""))
        out.append("\x1b=" if self.keypad_application else "\x1b>")
        # xterm.js: resetting any protocol (encoding) turns mouse reports off (to default).
        out.append(f"\x1b[?{self.mouse_protocol or 1000}{'h' if self.mouse_protocol else 'l'}")
        out.append(f"\x1b[?{self.mouse_encoding or 1006}{'h' if self.mouse_encoding else 'l'}")
        if self.cursor_style:  # never "0 q": xterm.js would override the user's cursor options
            out.append(f"\x1b[{self.cursor_style} q")
        if mo.DECAWM not in self.mode:
            out.append("\x1b[?7l")
        top = 0
        if mo.DECOM in self.mode:
            out.append("\x1b[?6h")
            top = self.margins.top if self.margins is not None else 0
        row = self.cursor.y - top + 1
        charsets = "\x1b(0" if self.g0_charset is cs.VT100_MAP else ""
        charsets += "\x1b)0" if self.g1_charset is cs.VT100_MAP else ""
        charsets += "\x0e" if self.charset else ""
        # Rewriting the cell before the cursor restores a pending wrap and, when it is the last
        # output, the character a following REP repeats; so then it has to come last.
        before = self._cell_before_cursor()
        rewrite = ""
        active = self.g1_charset if self.charset else self.g0_charset
        if (
            before is not None
            and self._last_char
            and before[1].data == self._last_char
            and before[1].data.translate(active) == before[1].data  # drawn as it will be
        ):
            cell, pen = before[1], self.cursor.attrs
            if cell[1:] == pen[1:]:
                rewrite = _sgr(cell) + cell.data
            elif len(cell.data) > 1 and wcwidth(cell.data[-1]) == 0:
                # A mark joined under another pen: the base as it is, then the mark.
                rewrite = _sgr(cell) + cell.data[:-1] + _sgr(pen) + cell.data[-1]
        keep_rep = rewrite != ""
        if not keep_rep:
            if self.cursor.x < self.columns or before is None:
                out.append(f"\x1b[{row};{min(self.cursor.x, self.columns - 1) + 1}H")
            else:
                out.append(f"\x1b[{row};{before[0] + 1}H{_sgr(before[1])}{before[1].data}")
            out.append(_sgr(self.cursor.attrs) + charsets)
            out.append("\x1b[4h" if mo.IRM in self.mode else "")
        out.append("\x1b[20h" if mo.LNM in self.mode else "\x1b[20l")
        out.append("" if self.cursor.hidden else "\x1b[?25h")
        if keep_rep and before is not None:
            position = f"\x1b[{row};{before[0] + 1}H"
            if mo.IRM in self.mode:  # the rewrite will insert: first close the gap it opens
                width = 2 if _is_wide(before[1]) else 1
                out.append(f"{position}\x1b[{width}P\x1b[4h")
            out.append(charsets + position + rewrite)
        out.append(self._unfinished())
        return "".join(out)

    def _cell_before_cursor(self) -> tuple[int, Char] | None:
        """The cell that ends right at the cursor (at the right edge when a wrap is pending)."""
        end = min(self.cursor.x, self.columns)
        line = self.buffer[self.cursor.y]
        x = end - 1
        if x > 0 and line[x].data == "" and _is_wide(line[x - 1]):
            x -= 1
        if x < 0:
            return None
        cell = line[x]
        if cell.data == "":
            cell = cell._replace(data=" ")
        return (x, cell) if x + (2 if _is_wide(cell) else 1) == end else None

    def _unfinished(self) -> str:
        """The sequence the output has begun and not finished, to be finished by what follows."""
        if self._csi_ignoring:
            return "\x1b[<"  # a CSI no terminal acts on: the rest of it is ignored as well
        if self._string is not None:
            payload = "".join(self._string.parts)
            code, separator, _ = payload.partition(";")
            if not self._string.osc:
                return "\x1bX"  # DCS, APC...: ignored until it ends, as SOS is
            if not separator or code in ("0", "1", "2"):
                return "\x1b]" + payload  # a title on its way
            return "\x1b]9999;"  # an OSC no terminal knows: ignored until its BEL or ST
        return self._carry

    def _paint(
        self,
        out: list[str],
        buffer: _Buffer,
        margins: Margins | None,
        savepoints: list[Savepoint],
        tabstops: set[int],
    ) -> None:
        """Clear, then every non-blank cell, then what xterm.js keeps per buffer: tab stops,
        the DECSC slot and the scroll region."""
        out.append("\x1b[H\x1b[2J")
        pen = "\x1b[m"
        columns = self.columns
        for y in sorted(buffer):
            if y >= self.lines:
                continue
            line = buffer[y]
            cells = [line[x] for x in range(columns)]
            x, at = 0, -1  # at: where the terminal's cursor is on this row, -1 if elsewhere
            while x < columns:
                cell = cells[x]
                if cell.data == "":  # a right half whose wide character was overwritten
                    cell = cell._replace(data=" ")
                if cell == _BLANK:
                    x += 1
                    continue
                width = 1
                if _is_wide(cell):
                    if x + 1 < columns and cells[x + 1].data == "":
                        width = 2
                    else:
                        cell = cell._replace(data=" ")  # never left like this by draw()
                if at < 0:
                    out.append(f"\x1b[{y + 1};{x + 1}H")
                elif at != x:  # skip blanks: spaces if the pen is plain and they are few
                    plain = pen == "\x1b[m" and x - at <= 4
                    out.append(" " * (x - at) if plain else f"\x1b[{x - at}C")
                sgr = _sgr(cell)
                if sgr != pen:
                    out.append(sgr)
                    pen = sgr
                out.append(cell.data)
                x += width
                at = x
        out.append("\x1b[3g")  # stops are set even where they are the default ones: this
        out += (f"\x1b[1;{stop + 1}H\x1bH" for stop in sorted(tabstops))  # may be no fresh one
        if savepoints:
            saved = savepoints[-1]
            x = min(saved.cursor.x, columns - 1)
            out.append(f"\x1b[{saved.cursor.y + 1};{x + 1}H{_sgr(saved.cursor.attrs)}")
            charsets = "\x1b(0" if saved.g0_charset is cs.VT100_MAP else ""
            charsets += "\x1b)0" if saved.g1_charset is cs.VT100_MAP else ""
            charsets += "\x0e" if saved.charset else ""
            out.append(charsets + "\x1b7")
            if charsets:
                out.append("\x1b(B\x1b)B\x0f")
        out.append("\x1b[m")
        if margins is not None:
            out.append(f"\x1b[{margins.top + 1};{margins.bottom + 1}r")
