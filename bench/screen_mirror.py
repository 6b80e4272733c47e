"""ScreenMirror costs: feed() on the hot path, emulation speed, snapshot() for a joiner.

Prints figures, asserts nothing. The load is the baseline's: base64 text of seeded random
bytes in 76-column lines, `\\n` turned into `\\r\\n` as a PTY does, fed in 64 KiB chunks.

Run: `.venv/bin/python bench/screen_mirror.py [MEGABYTES]` (default 50).
"""

from __future__ import annotations

import base64
import random
import sys
import time

from jupyter_sharedterm.screen import ScreenMirror, TerminalScreen

CHUNK_CHARS = 64 * 1024
ROWS, COLS = 24, 80


def base64_output(megabytes: int) -> str:
    raw = random.Random(1).randbytes(megabytes * 1_000_000 * 3 // 4)
    return base64.encodebytes(raw).decode().replace("\n", "\r\n")


def vim_like_output(megabytes: int) -> str:
    """Cursor-addressed, coloured redraws: what full-screen programs send."""
    frame = "".join(
        f"\x1b[{y + 1};1H\x1b[38;5;{y * 7 % 256}m{y:4d} \x1b[1;34mdef\x1b[m name_{y}(arg):\x1b[K"
        for y in range(ROWS - 1)
    )
    frame = "\x1b[?25l" + frame + "\x1b[24;1H\x1b[7m-- INSERT --\x1b[m\x1b[1;6H\x1b[?25h"
    return frame * (megabytes * 1_000_000 // len(frame) + 1)


def chunks(text: str) -> list[str]:
    return [text[i : i + CHUNK_CHARS] for i in range(0, len(text), CHUNK_CHARS)]


def main() -> None:
    megabytes = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    output = chunks(base64_output(megabytes))
    size = sum(map(len, output)) / 1e6

    # A Linux PTY read returns at most 4095 bytes: what terminado hands the server.
    small = [c[i : i + 4095] for c in output[: len(output) // 10] for i in range(0, len(c), 4095)]
    mirror = ScreenMirror(ROWS, COLS)
    start = time.perf_counter()
    for chunk in small:
        mirror.feed(chunk)
    fed = time.perf_counter() - start
    print(f"feed():     {size / 10:.1f} MB in 4095-char chunks: {size / 10 / fed:,.0f} MB/s")

    mirror = ScreenMirror(ROWS, COLS)
    start = time.perf_counter()
    for chunk in output:
        mirror.feed(chunk)
    fed = time.perf_counter() - start
    print(
        f"feed():     {size:.1f} MB in 64 KiB chunks: {fed * 1000:.1f} ms, {size / fed:,.0f} MB/s"
    )

    start = time.perf_counter()
    snapshot = mirror.snapshot()
    took = time.perf_counter() - start
    print(f"snapshot(): {took * 1000:.1f} ms after it ({len(snapshot):,} chars; catches up 64 KiB)")
    start = time.perf_counter()
    mirror.snapshot()
    took = time.perf_counter() - start
    print(f"snapshot(): {took * 1000:.1f} ms again, nothing pending (scrollback + repaint)")

    for name, text in (("base64", base64_output(4)), ("vim-like", vim_like_output(4))):
        screen = TerminalScreen(COLS, ROWS)
        start = time.perf_counter()
        for chunk in chunks(text):
            screen.feed(chunk)
        took = time.perf_counter() - start
        print(f"emulation:  {len(text) / 1e6 / took:.2f} MB/s of {name} output (catch_up speed)")


if __name__ == "__main__":
    main()
