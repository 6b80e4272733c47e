"""Fan-out to one socket: a bounded outbound queue, a pump, per-socket rate limits.

A frame for a client that keeps up is written at once, on the same turn of the event loop it
was produced on: no task hop per client, so a keystroke's echo reaches 64 viewers in one pass.
Only while a socket is backed up does a pump wait for it, then send everything queued in one
write. A client that falls behind by more than its queue skips ahead: its queue is dropped
and it is sent the current screen instead (a resync). One whose socket accepts nothing for
`stall_timeout` is closed by the session's watchdog (`check_stall`). Nothing here waits on
anything but its own socket, so one slow client delays only itself.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from . import protocol
from .core.errors import ErrorCode
from .core.ids import ParticipantId
from .core.limits import TokenBucket
from .protocol import CloseCode

__all__ = ["Client", "ClientLimits", "Socket"]

log = logging.getLogger(__name__)


class Socket(Protocol):
    """What the runtime needs from a websocket."""

    def send_frames(self, frames: list[bytes | str]) -> Awaitable[object] | None:
        """Write text frames in order, now. None if the OS took them all; otherwise an awaitable
        that resolves once it has. Raises (now or from the awaitable) if the socket closed."""

    def close(self, code: int | None = None, reason: str | None = None) -> None:
        """Close the socket (idempotent)."""


@dataclass(frozen=True, slots=True)
class ClientLimits:
    queue_bytes: int  # queued output before the client is resynced instead
    stall_timeout: float  # seconds a write may take before the client is dropped
    frame_rate: float  # frames per second a socket may send on average...
    frame_burst: float  # ...and in a burst
    flood_close_after: int  # dropped frames (forgiven at 20/s) before the socket is closed


class Client:
    """One open socket of one participant, with its bounded outbound queue."""

    def __init__(
        self,
        pid: ParticipantId,
        socket: Socket,
        limits: ClientLimits,
        resync: Callable[[], list[bytes | str]],
    ) -> None:
        self.pid = pid
        self._limits = limits
        self._resync_frames = resync
        self.socket = socket
        self.closed = False
        self._queue: deque[bytes | str] = deque()
        self._queued_bytes = 0
        self._resync = False
        self._bucket = TokenBucket(limits.frame_rate, limits.frame_burst)
        self._last_rate_error = 0.0
        # Dropped frames spend "strikes", which come back slowly: a sustained flood gets closed.
        self._strikes = TokenBucket(20.0, limits.flood_close_after)
        self._closing: tuple[int, str] | None = None
        self._pump: asyncio.Future[None] | None = None  # only while the socket is backed up
        self._writing_since: float | None = None  # since when the pump has been waiting

    def push(self, frame: bytes | str) -> None:
        """Send a frame, or queue it while the socket is backed up; past the byte limit the
        queue is dropped and a screen resync queued instead."""
        if self.closed or self._resync or self._closing is not None:
            return
        size = len(frame)
        if self._queued_bytes + size > self._limits.queue_bytes:
            self._queue.clear()
            self._queued_bytes = 0
            self._resync = True
        else:
            self._queue.append(frame)
            self._queued_bytes += size
        if self._pump is None:
            self._send_queued()

    def send_ctl(self, body: protocol.ServerCtl) -> None:
        """A ctl frame for this socket alone (a frame for many is encoded once and pushed)."""
        self.push(protocol.ctl_frame(body))

    def error(self, code: ErrorCode, message: str) -> None:
        """Tell this socket its last frame was refused; the socket stays open."""
        self.send_ctl(protocol.ErrorReport(code, message))

    def allow_frame(self, now: float) -> bool:
        """Per-socket rate limit; a flood gets one error a second, a sustained flood a close."""
        if self._bucket.take(now):
            return True
        if not self._strikes.take(now):
            self.disconnect(CloseCode.FLOODING, "Too many frames: the connection was closed.")
        elif now - self._last_rate_error >= 1.0:
            self._last_rate_error = now
            self.error(ErrorCode.RATE_LIMITED, "Too many frames: some were dropped. Slow down.")
        return False

    def disconnect(self, code: int, reason: str) -> None:
        """Send a disconnect frame, then close once it is out (or the queue is dropped)."""
        if self.closed or self._closing is not None:
            return
        # What was still queued no longer matters; the reason does.
        self._queue.clear()
        self._resync = False
        self._queue.append(protocol.encode(protocol.DisconnectFrame(code, reason)))
        self._closing = (code, reason)
        if self._pump is None:
            self._send_queued()

    def _send_queued(self) -> None:
        try:
            backed_up = self._write_queued()
        except Exception:
            self._failed()
            return
        if backed_up is not None:
            self._writing_since = time.monotonic()
            self._pump = asyncio.ensure_future(self._drain(backed_up))

    def _write_queued(self) -> Awaitable[object] | None:
        """Write everything queued; returns what to await if the socket backed up."""
        while self._queue or self._resync:
            if self._resync:
                self._resync = False
                self._queue.extend(self._resync_frames())
            batch = list(self._queue)
            self._queue.clear()
            self._queued_bytes = 0
            backed_up = self.socket.send_frames(batch)
            if backed_up is not None:
                return backed_up
        if self._closing is not None:
            self.closed = True
            self.socket.close(*self._closing)
        return None

    async def _drain(self, backed_up: Awaitable[object] | None) -> None:
        try:
            while backed_up is not None:
                await backed_up
                self._writing_since = time.monotonic()
                backed_up = self._write_queued()
        except asyncio.CancelledError:
            raise
        except Exception:
            self._failed()
        finally:
            self._pump = None
            self._writing_since = None

    def _failed(self) -> None:
        # A socket that closed under us (its handler detaches us); anything else is logged.
        if not self.closed:
            log.debug("sharedterm: client socket failed", exc_info=True)
        self.closed = True
        self._queue.clear()

    def check_stall(self, now: float) -> None:
        """Close the socket if its write in progress has waited longer than `stall_timeout`."""
        since = self._writing_since
        if not self.closed and since is not None and now - since > self._limits.stall_timeout:
            self.stop()
            self.socket.close(CloseCode.TOO_SLOW, "The connection was too slow to keep up.")

    def stop(self) -> None:
        """The socket closed: stop sending."""
        self.closed = True
        self._queue.clear()
        if self._pump is not None:
            self._pump.cancel()
