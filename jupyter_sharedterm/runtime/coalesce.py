"""Output coalescing: while output streams, send it at most once per window, in one larger frame.

Every frame costs a write per client, and a burst arrives from the PTY in 4 KiB reads. Output
after a quiet spell, or right after a keystroke (its echo), goes out at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

__all__ = ["Coalescer"]


class Coalescer:
    """Collects output chunks and hands them to `send` joined, at most once per `window` s."""

    def __init__(self, window: float, send: Callable[[str], None]) -> None:
        self._window = window
        self._send = send
        self._parts: list[str] = []
        self._timer: asyncio.TimerHandle | None = None
        self._last_send = -1.0

    def add(self, text: str) -> None:
        """An output chunk: sent now, or with what follows once the window has passed."""
        self._parts.append(text)
        if self._timer is not None:
            return
        wait = self._last_send + self._window - time.monotonic()
        if wait > 0:
            self._timer = asyncio.get_running_loop().call_later(wait, self.flush)
        else:
            self.flush()

    def flush(self) -> None:
        """Send what is waiting now (before a resize, a pause or the end, so output stays on
        the side of the change it came from)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._parts:
            return
        text = "".join(self._parts)
        self._parts.clear()
        self._last_send = time.monotonic()
        self._send(text)

    def expect_echo(self) -> None:
        """Input was just written: what comes next is likely its echo, sent without waiting."""
        self._last_send = -1.0
