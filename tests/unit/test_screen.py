"""ScreenMirror: a snapshot written into a fresh terminal recreates the live one exactly.

The reference is `TerminalScreen` (the alt-screen-aware pyte screen) fed the original stream;
the candidate is a fresh `TerminalScreen` fed the snapshot. Both must agree on every cell, the
cursor, the pen, the scroll region, the charsets and every tracked mode, and must keep agreeing
when the live stream continues after the snapshot (a late joiner receives exactly that).
Where node and @xterm/headless are installed, xterm.js, the emulator the browser runs, is a
second reference; the real-program tests use both.
"""

from __future__ import annotations

import codecs
import itertools
import json
import os
import re
import select
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyte
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ptyprocess import PtyProcess
from pyte.screens import Char

from jupyter_sharedterm.screen import ScreenMirror, TerminalScreen

ROWS, COLS = 24, 80
SGR = re.compile(r"\x1b\[[0-9;:]*m")


# --- comparing screens -------------------------------------------------------------------


def cells(screen: TerminalScreen, buffer: dict[int, Any]) -> list[list[Char]]:
    """Every cell, a wide character's right half included (data "")."""
    return [
        [buffer[y][x] if y in buffer else Char(" ") for x in range(screen.columns)]
        for y in range(screen.lines)
    ]


def state(screen: TerminalScreen) -> dict[str, Any]:
    saved = [
        (min(s.cursor.x, screen.columns - 1), s.cursor.y, s.cursor.attrs, s.g0_charset, s.charset)
        for s in screen.savepoints
    ]
    return {
        "screen": cells(screen, screen.buffer),
        "normal": cells(screen, screen.normal_buffer),
        "cursor": (screen.cursor.x, screen.cursor.y),
        "pen": tuple(screen.cursor.attrs)[1:],
        "modes": screen.modes,
        "margins": screen.margins,
        "saved": saved,
        "charsets": (screen.g0_charset, screen.g1_charset, screen.charset),
        "tabstops": sorted(screen.tabstops),
    }


def assert_same(expected: TerminalScreen, actual: TerminalScreen) -> None:
    want, got = state(expected), state(actual)
    for key in want:
        if key in ("screen", "normal"):
            for y, (a, b) in enumerate(zip(want[key], got[key], strict=True)):
                diff = [(x, c, d) for x, (c, d) in enumerate(zip(a, b, strict=True)) if c != d]
                assert not diff, f"{key} row {y}: (column, expected, actual) {diff[:3]}"
        assert want[key] == got[key], key


def fed(text: str, rows: int = ROWS, cols: int = COLS) -> TerminalScreen:
    screen = TerminalScreen(cols, rows)
    screen.feed(text)
    return screen


def assert_reproduces(
    stream: str, continuation: str = "", rows: int = ROWS, cols: int = COLS, **limits: int
) -> str:
    """The snapshot of `stream` recreates it, and still does after `continuation`."""
    mirror = ScreenMirror(rows, cols, **limits)
    mirror.feed(stream)
    snapshot = mirror.snapshot()
    reference, replica = fed(stream, rows, cols), fed(snapshot, rows, cols)
    assert_same(reference, replica)
    if continuation:
        reference.feed(continuation)
        replica.feed(continuation)
        assert_same(reference, replica)
    return snapshot


# --- hand-written streams, typical of shells and full-screen programs ---------------------

SHELL = (
    "$ ls --color\r\n\x1b[0m\x1b[01;34mdir\x1b[0m  \x1b[01;32mrun.sh\x1b[0m  notes.txt\r\n"
    "$ printf colours\r\n\x1b[31mred \x1b[1;4;3mbold-ul-it \x1b[7mrev\x1b[27m \x1b[9mstrike"
    "\x1b[29m \x1b[5mblink\x1b[0m \x1b[38;5;208m256fg \x1b[48;5;22m256bg\x1b[m "
    "\x1b[38;2;255;100;0mtrue\x1b[48;2;0;0;80mcolour\x1b[0m \x1b[95;102mbright\x1b[m "
    "\x1b[38:2::1:2:3mcolon\x1b[38:5:99mform\x1b[m\r\n"
    "$ echo 中文字符 e\u0301 ❤\ufe0f 👩\u200d💻\r\n中文字符 e\u0301 ❤\ufe0f 👩\u200d💻\r\n$ "
)
VIM = (
    "$ vim notes.txt\r\n\x1b[?1049h\x1b[22;0;0t\x1b[>4;2m\x1b[?1h\x1b=\x1b[H\x1b[2J"
    "\x1b]2;notes.txt - VIM\x07\x1b[?2004h\x1b[?1004h\x1b[1;23r\x1b[?12h\x1b[?12l\x1b[?25l"
    "\x1b[1;1Hfirst line\r\n\x1b[38;5;12m~\x1b[m\r\n\x1b[94m~\x1b[m\x1b[23;1H\x1b[1m-- INSERT --"
    "\x1b[m\x1b[24;63H1,1\x1b[11CAll\x1b[1;1H\x1b[?25h\x1bP$q q\x1b\\\x1b[?1006;1000h\x1b[?1002h"
    "\x1b[2 q\x1b[?25l\x1b[23;1H\x1b[K\x1b[2;3Hwide 中\x1b[?25h"
)
VIM_QUIT = "\x1b[?25l\x1b[?1002l\x1b[?1006l\x1b[?2004l\x1b[?1l\x1b>\x1b[?1004l\x1b[r\x1b[?1049l$ "
LESS = (
    "$ less log\r\n\x1b[?1049h\x1b[22;0;0t\x1b[?1h\x1b=\r"
    + "".join(f"entry {i}\r\n" for i in range(23))
    + "\x1b[7mlog (END)\x1b[27m\x1b[K\r\x1b[K\x1b[H\x1bM\x1b[Hentry -1\x1b[24;1H\x1b[7m:\x1b[27m"
)
LESS_QUIT = "\r\x1b[K\x1b[?1l\x1b>\x1b[?1049l\x1b[23;0;0t$ "
HTOP = (
    "\x1b[?1049h\x1b[22;0;0t\x1b[1;24r\x1b(B\x1b[m\x1b[4l\x1b[?7h\x1b[?1h\x1b=\x1b[?25l"
    "\x1b[?1006;1000h\x1b[39;49m\x1b[H\x1b[2J\x1b[2d  \x1b[36m0\x1b[39m\x1b[0;1m[\x1b[32m|\x1b[25b"
    "\x1b[39;49m\x1b[0;1m100.0%]\x1b[m\x1b[3;3H\x1b[42m\x1b[30mPID USER\x1b[K\x1b[m\x1b[4;1H"
    "\x1b(0lqqk\x1b(B box \x1b(0x\x1b(B\x1b[5;1H\x1b[44m\x1b[17X\x1b[m\x1b[24d\x1b[30;46mF1\x1b[m"
    "Help  \x1b[30;46mF10\x1b[mQuit\x1b[44m\x1b[K\x1b[m"
)
EDGE_CASES = [
    pytest.param("x" * (COLS - 1) + "中", id="wide-char-wraps-at-the-right-edge"),
    pytest.param("\r\n" * 30 + "y" * COLS, id="pending-wrap-at-the-bottom"),
    pytest.param("abc\x1b[?7l" + "z" * 100, id="autowrap-off"),
    pytest.param("\x1b[5;10r\x1b[?6h\x1b[3;4Hin region\x1b[1;1H", id="origin-mode"),
    pytest.param("\x1b[4h\x1b[20habc\x1b[1Gxy", id="insert-and-newline-modes"),
    pytest.param("\x1b)0\x0elqk\x0fab\x0e", id="shift-out-to-line-drawing"),
    pytest.param("\x1b[3g\x1b[5G\x1bH\x1b[20G\x1bH\r\tA\tB", id="custom-tab-stops"),
    pytest.param("\x1b[5;5H\x1b[1;31m\x1b7\x1b[m\x1b[10;10Hsaved", id="saved-cursor"),
    pytest.param("\x1b[?47hon 47\x1b[?47l\x1b[?1047hon 1047", id="alt-screen-47-1047"),
    pytest.param("\x1b[44m\x1b[2J\x1b[3;1H\x1b[K\x1b[41m\x1b[5X\x1b[m", id="background-erase"),
    pytest.param("中文中文\x1b[1;2Hx\x1b[1;6H\x1b[1P\x1b[1;1H\x1b[2@", id="split-wide-chars"),
    pytest.param("\x1b[?5h\x1b[?45h\x1b[?9h\x1b[?1015h\x1b[?1003h\x1b[5 q", id="more-modes"),
    pytest.param("top\x1b[2;20r\x1b[20;1H\r\n\r\n\x1b[S\x1b[2T\x1bD\x1bM", id="region-scroll"),
    pytest.param("a\x1b[3bb\x1b[!p\x1b[?25l", id="rep-and-soft-reset"),
]


@pytest.mark.parametrize(
    ("stream", "continuation"),
    [
        pytest.param(SHELL, "ls\r\nmore output\r\n$ ", id="shell"),
        pytest.param(SHELL + VIM, VIM_QUIT + "after vim\r\n", id="vim"),
        pytest.param(SHELL + VIM + VIM_QUIT, "x", id="vim-quit"),
        pytest.param(SHELL + LESS, LESS_QUIT, id="less"),
        pytest.param(SHELL + HTOP, "\x1b[?1049l\x1b[?25h$ ", id="htop"),
        *(pytest.param(p.values[0], "more text\r\n", id=p.id) for p in EDGE_CASES),
    ],
)
def test_snapshot_recreates_the_screen(stream: str, continuation: str) -> None:
    assert_reproduces(stream, continuation)


def test_the_comparison_notices_a_difference() -> None:
    with pytest.raises(AssertionError, match="screen"):
        assert_same(fed("abc"), fed("abd"))
    with pytest.raises(AssertionError, match="modes"):
        assert_same(fed("\x1b[?2004h"), fed(""))
    with pytest.raises(AssertionError, match="pen"):
        assert_same(fed("\x1b[38;5;100m"), fed("\x1b[38;5;101m"))


def test_alternate_screen_restores_the_normal_screen() -> None:
    screen = fed(SHELL + VIM)
    assert screen.in_alternate_screen
    assert screen.display[0].startswith("first line")
    assert screen.title == "notes.txt - VIM"
    assert "$ vim notes.txt" not in "\n".join(screen.display)
    after = fed(SHELL + VIM + VIM_QUIT)
    assert not after.in_alternate_screen
    assert any(line.startswith("$ $ vim notes.txt") for line in after.display)
    assert after.modes["application_cursor_keys"] is False
    assert after.modes["mouse_protocol"] == 0


def test_modes_a_program_sets_are_tracked() -> None:
    modes = fed(VIM).modes
    assert modes["alternate_screen"] and modes["application_cursor_keys"]
    assert modes["application_keypad"] and modes["bracketed_paste"] and modes["focus_events"]
    assert (modes["mouse_protocol"], modes["mouse_encoding"]) == (1002, 1006)
    assert modes["cursor_style"] == 2 and modes["cursor_visible"]
    # pyte would draw the DCS payload and read `CSI > 4;2 m` as bold + underline.
    screen = fed(VIM)
    assert "$q q" not in "".join(screen.display)
    assert screen.cursor.attrs == Char(" ")


def test_line_drawing_charset_is_drawn_as_box_characters() -> None:
    screen = fed(HTOP)
    assert screen.display[3].startswith("┌──┐ box │")


def test_catch_up_works_in_bounded_slices() -> None:
    mirror = ScreenMirror(ROWS, COLS)
    mirror.feed("\x1b]2;a title\x07" + "word " * 2000)
    assert mirror.title == ""  # feed() only appends; nothing is emulated yet
    calls = 1
    while not mirror.catch_up(max_chars=1000):
        calls += 1
    assert calls == 11  # 10_013 characters in slices of 1000
    assert mirror.title == "a title"
    with pytest.raises(ValueError):
        ScreenMirror(0, COLS)
    with pytest.raises(ValueError):
        mirror.resize(ROWS, 0)


def test_snapshot_without_scrollback_is_the_screen_only() -> None:
    stream = "".join(f"line {i}\r\n" for i in range(100))
    mirror = ScreenMirror(ROWS, COLS)
    mirror.feed(stream)
    screen_only = mirror.snapshot(scrollback=False)
    assert screen_only == fed(stream).repaint()
    assert history_of(screen_only)[0] == []
    assert mirror.snapshot().endswith(screen_only)


def test_repaint_also_fixes_a_used_terminal() -> None:
    used = fed(SHELL + HTOP + "\x1b[?1049l\x1b[20h\x1b[3g\x1b[?2004h\x1b)0\x0e\x1b[4h\x1b[5 q")
    used.feed("\x1b]0;unfinished title" + "\x18\x1b[?1049l\x1b[!p" + fed(SHELL + VIM).repaint())
    assert_same(fed(SHELL + VIM), used)


def test_resize_then_snapshot() -> None:
    mirror = ScreenMirror(ROWS, COLS)
    reference = fed("", ROWS, COLS)
    for chunk, size in ((SHELL, (30, 100)), (VIM, (10, 40)), (VIM_QUIT, (24, 80))):
        mirror.feed(chunk)
        reference.feed(chunk)
        mirror.resize(*size)
        reference.resize(*size)
    assert mirror.size == (24, 80)
    assert_same(reference, fed(mirror.snapshot()))


# --- the browser's own emulator agrees ---------------------------------------------------

# Writes the original stream and the snapshot into two @xterm/headless terminals (xterm.js
# without a DOM, the same core the browser runs) and prints where their states differ.
XTERM_COMPARE = """
const {Terminal} = require('@xterm/headless');
const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const make = () => new Terminal({rows: input.rows, cols: input.cols, allowProposedApi: true});
const write = (t, s) => new Promise(resolve => t.write(s, resolve));
function rows(t, buffer) {
  const out = [];
  for (let y = 0; y < t.rows; y++) {
    const line = buffer.getLine(buffer.baseY + y);
    for (let x = 0, wide = false; x < t.cols; x++) {
      const c = line.getCell(x);
      // An empty cell: a wide character's right half, else a blank (or a half left orphaned).
      const blank = wide ? ['', 0] : [' ', 1];
      const [chars, width] = c.getChars() ? [c.getChars(), c.getWidth()] : blank;
      wide = width === 2;
      out.push(JSON.stringify([y, x, chars, width, c.getFgColorMode(), c.getFgColor(),
        c.getBgColorMode(), c.getBgColor(), c.isBold(), c.isItalic(), c.isUnderline(),
        c.isBlink(), c.isInverse(), c.isStrikethrough()]));
    }
  }
  return out;
}
function state(t) {
  const b = t.buffer.active;
  const core = t._core;
  return [JSON.stringify([b.type, b.cursorX, b.cursorY, t.modes, core.coreService.isCursorHidden,
    core.coreMouseService.activeEncoding,
    b._buffer.scrollTop, b._buffer.scrollBottom])].concat(rows(t, b), rows(t, t.buffer.normal));
}
function differences(a, b) {
  const [left, right] = [state(a), state(b)];
  return left.filter((line, i) => line !== right[i]).slice(0, 5);
}
(async () => {
  const original = make(), replica = make();
  await write(original, input.original);
  await write(replica, input.snapshot);
  const found = differences(original, replica);
  await write(original, input.continuation);
  await write(replica, input.continuation);
  console.log(JSON.stringify(found.concat(differences(original, replica))));
})();
"""
NODE_PATH = os.pathsep.join(
    p
    for p in (
        os.environ.get("NODE_PATH", ""),
        str(Path(__file__).parents[2] / "labextension/node_modules"),
    )
    if p
)


def xterm_headless_missing() -> bool:
    if shutil.which("node") is None:
        return True
    probe = ["node", "-e", "require.resolve('@xterm/headless')"]
    env = {**os.environ, "NODE_PATH": NODE_PATH}
    return subprocess.run(probe, env=env, capture_output=True).returncode != 0


XTERM_MISSING = xterm_headless_missing()  # `pip install -e .` puts it in labextension/node_modules


def assert_xterm_agrees(original: str, snapshot: str, continuation: str = "") -> None:
    """xterm.js shows the same after the original and after the snapshot (and continuation)."""
    job = {"rows": ROWS, "cols": COLS, "original": original, "snapshot": snapshot}
    result = subprocess.run(
        ["node", "-e", XTERM_COMPARE],
        input=json.dumps({**job, "continuation": continuation}),
        env={**os.environ, "NODE_PATH": NODE_PATH},
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(result.stdout) == []


@pytest.mark.skipif(XTERM_MISSING, reason="needs node and @xterm/headless (npm)")
@pytest.mark.parametrize(
    ("stream", "continuation"),
    [
        pytest.param(SHELL + VIM, VIM_QUIT + "after vim\r\n", id="vim"),
        pytest.param(SHELL + LESS, LESS_QUIT, id="less"),
        pytest.param(SHELL + HTOP, "\x1b[?1049l\x1b[?25h$ ", id="htop"),
        *(pytest.param(p.values[0], "more text\r\n", id=p.id) for p in EDGE_CASES),
    ],
)
def test_xterm_js_agrees(stream: str, continuation: str) -> None:
    mirror = ScreenMirror(ROWS, COLS)
    mirror.feed(stream)
    assert_xterm_agrees(stream, mirror.snapshot(), continuation)


# --- every chunk split gives the same snapshot -------------------------------------------


def snapshot_of(chunks: list[str], budget: int | None = None, **limits: int) -> str:
    mirror = ScreenMirror(ROWS, COLS, **limits)
    for chunk in chunks:
        mirror.feed(chunk)
        if budget is not None:
            mirror.catch_up(max_chars=budget)
    return mirror.snapshot()


@pytest.mark.parametrize(
    "stream",
    [
        pytest.param(SHELL + VIM, id="shell-vim"),
        pytest.param(LESS + HTOP, id="less-htop"),
        pytest.param(str(EDGE_CASES[-2].values[0]) + str(EDGE_CASES[-1].values[0]), id="edges"),
        pytest.param("\x1b]0;" + "t" * 300 + "\x1b\\\x1b[" + "1;" * 200 + "m\x9b31mred", id="long"),
    ],
)
def test_every_two_way_split_gives_the_same_snapshot(stream: str) -> None:
    whole = snapshot_of([stream])
    for i in range(1, len(stream)):
        assert snapshot_of([stream[:i], stream[i:]], budget=3) == whole, i


def split(text: str, cuts: list[int]) -> list[str]:
    bounds = [0, *sorted(set(cuts)), len(text)]
    return [text[a:b] for a, b in itertools.pairwise(bounds) if a < b]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cuts=st.lists(st.integers(0, len(SHELL + VIM + VIM_QUIT + LESS)), max_size=40),
    budget=st.one_of(st.none(), st.integers(1, 50)),
)
def test_any_chunking_gives_the_same_snapshot(cuts: list[int], budget: int | None) -> None:
    stream = SHELL + VIM + VIM_QUIT + LESS
    assert snapshot_of(split(stream, cuts), budget) == snapshot_of([stream])


# --- scrollback --------------------------------------------------------------------------


def history_of(snapshot: str, rows: int = ROWS, cols: int = COLS) -> tuple[list[str], list[str]]:
    """Lines the snapshot pushed into a terminal's history, and the screen it left."""
    screen = pyte.HistoryScreen(cols, rows, history=100_000)
    pyte.Stream(screen).feed(snapshot)
    history = ["".join(line[x].data for x in range(cols)).rstrip() for line in screen.history.top]
    return history, [line.rstrip() for line in fed(snapshot, rows, cols).display]


def scrollback_part(snapshot: str, stream: str) -> str:
    repaint = fed(stream).repaint()
    assert snapshot.endswith(repaint)
    return snapshot[: len(snapshot) - len(repaint)]


def test_scrollback_continues_where_the_screen_begins() -> None:
    stream = "".join(f"\x1b[3{i % 8}mline {i}\x1b[m\r\n" for i in range(500)) + "$ "
    snapshot = assert_reproduces(stream)
    history, screen = history_of(snapshot)
    assert screen[0] == "line 477" and screen[-1] == "$"
    assert history == [f"line {i}" for i in range(477 - len(history), 477)]
    assert len(history) > 100


def test_scrollback_is_text_and_sgr_only_from_a_line_boundary() -> None:
    hostile = (
        "\x1b]52;c;aGVsbG8=\x07\x1b]0;title\x1b\\\x1b[?2004h\x1b[?1000h\x1bP+q544e\x1b\\"
        "\x1b[2;5r\x1b[?25l\x1b=\x9b?1h\x1b_apc\x1b\\\x1b[>4;2m\x07\x0e\x1b(0"
    )
    lines = [f"\x1b[1;38;5;{i % 256}mrow {i}\x1b[m {hostile}tail {i}\r\n" for i in range(800)]
    stream = "".join(lines) + "$ "
    for limit in (10_000, 10_007, 10_033, 10_051, 65_536):  # tails cut at various places in a line
        snapshot = assert_reproduces(stream, scrollback_chars=limit)
        scrollback = scrollback_part(snapshot, stream)
        text = SGR.sub("", scrollback)
        assert not re.search(r"[\x00-\x09\x0b\x0c\x0e-\x1f\x7f-\x9f]", text)
        assert len(scrollback) <= limit
        history, _ = history_of(snapshot)
        rows = [h for h in history if h]
        assert rows and re.fullmatch(r"row (\d+) tail \1", rows[0]), rows[0]


def test_alternate_screen_output_stays_out_of_scrollback() -> None:
    stream = (
        "".join(f"before {i}\r\n" for i in range(40))
        + VIM
        + "".join(f"\x1b[{i % 20 + 1};1Hvim drawing {i}" for i in range(200))
    )
    history, _ = history_of(assert_reproduces(stream, VIM_QUIT))
    assert "vim drawing" not in "\n".join(history)
    assert [h for h in history if h][-1] == "before 17"
    # The tail no longer holds the switch to the alternate screen: still nothing leaks.
    history, _ = history_of(assert_reproduces(stream, VIM_QUIT, scrollback_chars=2000))
    assert not [h for h in history if h]


def test_clear_forgets_earlier_scrollback() -> None:
    stream = "".join(f"old {i}\r\n" for i in range(100)) + "$ clear\r\n\x1b[H\x1b[2J\x1b[3J$ "
    history, screen = history_of(assert_reproduces(stream))
    assert not [h for h in history if h] and screen[0] == "$"


def test_after_a_gap_the_screen_shows_the_latest_output() -> None:
    stream = (
        "\x1b[?2004h"
        + "".join(f"\x1b[32m{i:07d}\x1b[m {'x' * (i % 70)}\r\n" for i in range(8000))
        + "$ "
    )
    mirror = ScreenMirror(ROWS, COLS, pending_limit=64 * 1024)
    for start in range(0, len(stream), 4096):
        mirror.feed(stream[start : start + 4096])
        if start % (64 * 4096) == 0:
            mirror.catch_up(max_chars=10_000)
    snapshot = mirror.snapshot()
    replica, reference = fed(snapshot), fed(stream)
    # The screen and cursor are exact; modes set before the gap (bracketed paste) are lost.
    assert state(replica)["screen"] == state(reference)["screen"]
    assert replica.cursor.x == reference.cursor.x and replica.cursor.y == reference.cursor.y
    assert reference.modes["bracketed_paste"] and not replica.modes["bracketed_paste"]
    history, screen = history_of(snapshot)
    first_on_screen = int(screen[0].split()[0])
    assert [h.split()[0] for h in history if h][-1] == f"{first_on_screen - 1:07d}"


# --- hostile output ----------------------------------------------------------------------

HOSTILE = [
    "\x1b[",
    "\x1b]0;never ends",
    "\x1b]52;c;" + "A" * 1_000_000 + "\x07done",
    "\x1bP" + "q" * 100_000,
    "\x1b[" + "9" * 100_000 + "m after",
    "\x1b[" + "1;" * 50_000 + "H",
    "\x1b[99999999999999999999;99999999999999999999H end",
    "\x1b[38;5;99999m\x1b[38;2;999;999;999m\x1b[38:2m\x1b[48;5m\x1b[38;2;1m",
    "\x1b[999999999999b\x1b[99999@\x1b[99999P\x1b[99999L\x1b[99999M\x1b[99999S\x1b[99999T",
    "a" + "\u0301" * 100_000,
    "\ud800\udfff\ufffe\uffff\x00\x7f\x80\x9f\u202e\u200b\U0010ffff",
    "\x1b[?6h\x1b[5d\x1b[?6l\x1b[0;0r\x1b[5;2r\x1b[?3h\x1b[?1049l\x1b[?1049l\x1b8\x1b[u",
    "\x1b\x1b\x1b[\x1b]\x18\x1a\x1b[1\x18m\x1b[1\x1bm\x1b(\x1b#\x1b%",
    "\x9d0;c1 title\x9c\x90dcs\x9c\x98sos\x9c\x9e\x9f",
]


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_output_neither_raises_nor_grows(text: str) -> None:
    mirror = ScreenMirror(ROWS, COLS, scrollback_chars=4096, pending_limit=8192)
    for chunk in (text[:7], text[7:], "\r\nnext\r\n", text):
        mirror.feed(chunk)
        mirror.catch_up(max_chars=1000)
    snapshot = mirror.snapshot()
    assert len(snapshot) < 4096 + ROWS * COLS * 40 + 1000
    snapshot.encode()  # lone surrogates were replaced: it can be sent
    assert len(mirror.title) <= 4096
    screen = fed(snapshot)
    assert all(len(line[x].data) <= 16 for line in screen.buffer.values() for x in line)
    assert_reproduces(text, "\r\nmore\r\n", pending_limit=len(text) + 1)  # without a gap


FRAGMENTS = st.sampled_from(
    [
        "a", "xyz ", "中", "\u0301", "\ufe0f", "\r", "\n", "\b", "\t", "\x0e", "\x0f", "\x1b7",
        "\x1b8", "\x1bM", "\x1bD", "\x1bc", "\x1b=", "\x1b>", "\x1b(0", "\x1b(B", "\x1b[K",
        "\x1b[1K", "\x1b[2J", "\x1b[J", "\x1b[3;5H", "\x1b[24;80H", "\x1b[A", "\x1b[5B",
        "\x1b[3C", "\x1b[2D", "\x1b[2;10r", "\x1b[r", "\x1b[?6h", "\x1b[?6l", "\x1b[?7l",
        "\x1b[?7h", "\x1b[?25l", "\x1b[?25h", "\x1b[?1049h", "\x1b[?1049l", "\x1b[?47h",
        "\x1b[?1047l", "\x1b[4h", "\x1b[4l", "\x1b[2@", "\x1b[3P", "\x1b[2X", "\x1b[2L",
        "\x1b[M", "\x1b[S", "\x1b[T", "\x1b[4b", "\x1b[31;44m", "\x1b[m", "\x1b[1;7m",
        "\x1b[38;5;200m", "\x1b[48;2;1;2;3m", "\x1b[?1000h", "\x1b[?1006h", "\x1b[?2004h",
        "\x1b]0;t\x07", "\x1bPx\x1b\\", "\x1b[5 q", "\x1b[!p", "\x1b[3g", "\x1bH", "\x1b[Z",
        "\x1b[2I", "\x1b[s", "\x1b[u", "\x1b[20h", "\x1b#8",
    ]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(FRAGMENTS, max_size=120), st.lists(FRAGMENTS, max_size=20))
def test_any_mix_of_sequences_is_recreated(parts: list[str], after: list[str]) -> None:
    assert_reproduces("".join(parts), "".join(after), rows=8, cols=20)


CHAOS_CHARACTERS = "\x1b[]();?>0123456789:mHJKhlbrPX\\\x07\x18\x1a\x9b\x9c\x9d a中\u0301\r\n\b\t"
CHAOS = st.text(st.sampled_from(list(CHAOS_CHARACTERS)), max_size=200)


@settings(max_examples=500, deadline=None)
@given(CHAOS, CHAOS, st.lists(st.integers(0, 200), max_size=10))
def test_chaos_is_recreated_however_it_is_chunked(text: str, after: str, cuts: list[int]) -> None:
    assert snapshot_of(split(text, cuts), budget=7) == snapshot_of([text])
    assert_reproduces(text, after, rows=6, cols=12)


# --- real programs in a real PTY ---------------------------------------------------------


class Pty:
    """A program in a real PTY; its output goes to a reference screen and a mirror."""

    def __init__(self, argv: list[str], home: Path, **env: str) -> None:
        environment = {
            "TERM": "xterm-256color",
            "HOME": str(home),
            "PATH": os.environ["PATH"],
            "LANG": "C.UTF-8",
            "PS1": "$ ",
            **env,
        }
        self.process = PtyProcess.spawn(
            argv, env=environment, cwd=str(home), dimensions=(ROWS, COLS)
        )
        self.decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self.reference = TerminalScreen(COLS, ROWS)
        self.mirror = ScreenMirror(ROWS, COLS)
        self.chunks: list[str] = []

    def read(self, timeout: float) -> None:
        ready, _, _ = select.select([self.process.fd], [], [], timeout)
        if not ready:
            return
        try:
            text = self.decoder.decode(os.read(self.process.fd, 65536))
        except OSError:  # EIO: the program has exited
            time.sleep(timeout)
            return
        self.chunks.append(text)
        self.reference.feed(text)
        self.mirror.feed(text)
        self.mirror.catch_up(max_chars=2048)  # as the server's idle timer would

    def wait_for(self, condition: Callable[[TerminalScreen], bool], timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while not condition(self.reference):
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("timed out; screen:\n" + "\n".join(self.reference.display))
            self.read(min(left, 0.1))

    def send(self, keys: str) -> None:
        self.process.write(keys.encode())

    def check(self) -> TerminalScreen:
        """The mirror's snapshot recreates the reference screen; returns that replica."""
        snapshot = self.mirror.snapshot()
        replica = fed(snapshot)
        assert_same(self.reference, replica)
        if not XTERM_MISSING:
            assert_xterm_agrees("".join(self.chunks), snapshot)
        return replica

    def close(self) -> None:
        if self.process.isalive():
            self.process.terminate(force=True)


def shows(*texts: str, alternate: bool | None = None) -> Callable[[TerminalScreen], bool]:
    def condition(screen: TerminalScreen) -> bool:
        shown = "\n".join(screen.display)
        in_alt = alternate is None or screen.in_alternate_screen == alternate
        return in_alt and all(t in shown for t in texts)

    return condition


@pytest.fixture
def shell(tmp_path: Path) -> Iterator[Pty]:
    pty = Pty(["/bin/bash", "--norc", "--noprofile", "-i"], tmp_path)
    pty.wait_for(shows("$"))
    yield pty
    pty.close()


def needs(program: str) -> pytest.MarkDecorator:
    return pytest.mark.skipif(shutil.which(program) is None, reason=f"apt-get install {program}")


@needs("vim")
def test_real_vim(shell: Pty, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("".join(f"note {i} 中文 text\n" for i in range(200)))
    shell.send("echo BEFORE_VIM\r")
    shell.wait_for(shows("\nBEFORE_VIM"))
    shell.send("vim -n notes.txt\r")
    shell.wait_for(shows("note 20 中文", "notes.txt", alternate=True))
    shell.check()
    shell.send("30jwww")
    shell.wait_for(shows("31,"))
    shell.check()
    shell.send("iHELLO 世界 ")
    shell.wait_for(shows("-- INSERT --", "HELLO 世界"))
    joined = len(shell.chunks)
    late_joiner = shell.check()
    shell.send("\x1b:q!\r")
    shell.wait_for(shows("BEFORE_VIM", "$ vim -n notes.txt", alternate=False))
    shell.check()
    # Someone who joined while vim was open, then got the live stream, sees the shell again.
    late_joiner.feed("".join(shell.chunks[joined:]))
    assert_same(shell.reference, late_joiner)
    assert "$ vim -n notes.txt" in "\n".join(late_joiner.display)


@needs("less")
def test_real_less(shell: Pty, tmp_path: Path) -> None:
    (tmp_path / "log.txt").write_text("".join(f"entry {i:04d}\n" for i in range(500)))
    shell.send("less log.txt\r")
    shell.wait_for(shows("entry 0000", alternate=True))
    shell.check()
    shell.send(" ")
    shell.wait_for(shows("entry 0030"))
    shell.check()
    shell.send("/entry 025\r")
    shell.wait_for(shows("entry 0250"))
    shell.check()
    shell.send("q")
    shell.wait_for(shows("$ less log.txt", alternate=False))
    shell.check()


@needs("htop")
@pytest.mark.parametrize("lang", ["C.UTF-8", "C"])  # UTF-8 meters and arrows, or ASCII only
def test_real_htop(tmp_path: Path, lang: str) -> None:
    pty = Pty(["htop", "--delay=5"], tmp_path, LANG=lang)
    try:
        pty.wait_for(shows("Load average", "PID", "F10", alternate=True))
        pty.check()
        before = pty.reference.display
        pty.send("\x1b[B\x1b[B")  # move the selection down, as a user would
        pty.wait_for(lambda screen: screen.display != before)
        pty.check()
        pty.send("q")
        pty.wait_for(shows(alternate=False))
        pty.check()
    finally:
        pty.close()


@needs("tmux")
def test_real_tmux_split(tmp_path: Path) -> None:
    """tmux scrolls a pane with a scroll region and SU, and redraws it on its own."""
    socket = str(tmp_path / "tmux.sock")
    argv = ["tmux", "-f", "/dev/null", "-S", socket, "new-session", "bash --norc --noprofile"]
    pty = Pty(argv, tmp_path, SHELL="/bin/bash")
    try:
        pty.wait_for(shows("bash-", alternate=True))
        pty.send('\x02"')  # split: a second pane below
        pty.wait_for(shows("─" * COLS))
        pty.check()
        pty.send("for i in $(seq 40); do printf '\\e[3%dmrow %d\\e[m\\n' $((i % 8)) $i; done\r")
        pty.wait_for(shows("row 40"))
        pty.check()
        pty.send("\x02:")
        pty.wait_for(lambda screen: screen.display[-1].startswith(":"))
        pty.send("kill-server\r")
        pty.wait_for(shows(alternate=False))
        pty.check()
    finally:
        pty.close()
        subprocess.run(["tmux", "-S", socket, "kill-server"], capture_output=True)  # its daemon
