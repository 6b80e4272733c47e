"""Taps: the one interface through which observers see a live terminal and its session.

The screen mirror, the session's recording and the terminal's own recording are taps today;
Copilot's analyzer, presence and the call are next. A tap is called on the event loop, in
order, and must return at once: the output path waits on every tap. A tap with slow work
wraps it in a `BufferedTap`, whose bounded queue drops the oldest output rather than wait.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Iterator

from ..core.ids import ParticipantId
from ..core.session import Event
from .reactions import Reaction

__all__ = ["BufferedTap", "Tap", "Taps"]

log = logging.getLogger(__name__)


class Tap:
    """An observer of one live terminal. Override what you need; every method fires on the
    event loop and must not block (see `BufferedTap`)."""

    def output(self, text: str) -> None:
        """Fires with terminal output as participants are sent it (coalesced, in order)."""

    def input(self, pid: ParticipantId, text: str) -> None:
        """Fires with input the terminal accepted from `pid` (after the permission check)."""

    def resize(self, rows: int, cols: int) -> None:
        """Fires when the terminal's size changed; output after it is at the new size."""

    def event(self, event: Event, reaction: Reaction) -> None:
        """Fires for each session event, with what it means (`reaction`, e.g. its marker)."""

    def tick(self, now: float) -> None:
        """Fires every few tens of milliseconds (`now`: monotonic seconds) for deferred work."""

    def close(self, reason: str) -> None:
        """Fires once, last: the session ended or the terminal is gone."""


class Taps:
    """The taps of one live session, called in the order they were added."""

    def __init__(self) -> None:
        self._taps: list[Tap] = []
        # Bound once, and only for taps that listen: the output and input paths call these per
        # chunk and per keystroke without building anything.
        self._outputs: list[Callable[[str], None]] = []
        self._inputs: list[Callable[[ParticipantId, str], None]] = []

    def __iter__(self) -> Iterator[Tap]:
        return iter(self._taps)

    def add(self, tap: Tap) -> None:
        self._taps.append(tap)
        if type(tap).output is not Tap.output:
            self._outputs.append(tap.output)
        if type(tap).input is not Tap.input:
            self._inputs.append(tap.input)

    def output(self, text: str) -> None:
        for output in self._outputs:
            output(text)

    def input(self, pid: ParticipantId, text: str) -> None:
        for input_ in self._inputs:
            input_(pid, text)

    def resize(self, rows: int, cols: int) -> None:
        for tap in self._taps:
            tap.resize(rows, cols)

    def event(self, event: Event, reaction: Reaction) -> None:
        for tap in self._taps:
            tap.event(event, reaction)

    def tick(self, now: float) -> None:
        for tap in self._taps:
            tap.tick(now)

    def close(self, reason: str) -> None:
        for tap in self._taps:
            try:
                tap.close(reason)
            except Exception:  # one tap failing to close must not keep the others open
                log.warning("sharedterm: a tap failed to close", exc_info=True)


class BufferedTap(Tap):
    """Hands output to a slow consumer through a bounded queue, never making the caller wait.

    `consume` is awaited with batches of output, one at a time. When more than `max_chars`
    wait, the oldest are dropped and the next batch starts with `gap` (the consumer learns that
    it missed output, never silently). Other calls go to `inner` unchanged, if given.
    """

    def __init__(
        self,
        consume: Callable[[str], Awaitable[object]],
        *,
        max_chars: int,
        gap: str = "",
        inner: Tap | None = None,
    ) -> None:
        if max_chars < 1:
            raise ValueError("max_chars must be at least 1")
        self._consume = consume
        self._max_chars = max_chars
        self._gap = gap
        self._inner = inner or Tap()
        self._queue: deque[str] = deque()
        self._queued = 0
        self._lost = False
        self._pump: asyncio.Task[None] | None = None
        self.dropped_chars = 0  # output that never reached the consumer

    def output(self, text: str) -> None:
        self._queue.append(text)
        self._queued += len(text)
        while self._queued > self._max_chars:
            oldest = self._queue.popleft()
            self._queued -= len(oldest)
            self.dropped_chars += len(oldest)
            self._lost = True
        if self._pump is None and self._queue:
            self._pump = asyncio.ensure_future(self._drain())
        self._inner.output(text)

    async def _drain(self) -> None:
        try:
            while self._queue:
                batch = "".join(self._queue)
                self._queue.clear()
                self._queued = 0
                if self._lost:
                    batch, self._lost = self._gap + batch, False
                await self._consume(batch)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.warning("sharedterm: a buffered tap failed; it gets no more output", exc_info=True)
            self._consume = _discard
        finally:
            self._pump = None

    def input(self, pid: ParticipantId, text: str) -> None:
        self._inner.input(pid, text)

    def resize(self, rows: int, cols: int) -> None:
        self._inner.resize(rows, cols)

    def event(self, event: Event, reaction: Reaction) -> None:
        self._inner.event(event, reaction)

    def tick(self, now: float) -> None:
        self._inner.tick(now)

    def close(self, reason: str) -> None:
        if self._pump is not None:
            self._pump.cancel()
        self._queue.clear()
        self._inner.close(reason)


async def _discard(_: str) -> None:
    return None
