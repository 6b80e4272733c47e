"""The session-facing recorder: what a shared terminal does, into one durable asciicast file."""

from __future__ import annotations

import dataclasses
import enum
import errno
import logging
import os
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal, get_args

from .asciicast import CastWriter
from .store import RecordingKind, RecordingMeta, RecordingStore, RecordingStoreError

__all__ = [
    "FLUSH_BYTES",
    "FLUSH_INTERVAL_S",
    "Recorder",
    "RecorderState",
    "StateListener",
    "WriteErrorPolicy",
]

log = logging.getLogger(__name__)

# The SIGKILL budget: buffered events reach the OS at least this often, so a killed server
# loses at most about this much (plus the caller's timer jitter).
FLUSH_INTERVAL_S = 1.0
# Under heavy output, flush early rather than hold more than this in memory.
FLUSH_BYTES = 256 * 1024  # 256 KiB

WriteErrorPolicy = Literal["stop_input", "continue"]


class RecorderState(str, enum.Enum):
    """What the session must know about its recording."""

    RECORDING = "recording"
    PAUSED = "paused"
    FAILED = "failed"
    """Writes fail under "stop_input": the session must refuse input and tell everyone."""
    DEGRADED = "degraded"
    """Writes fail and the policy is "continue": events are being lost; a gap marker will follow."""
    STOPPED = "stopped"


StateListener = Callable[[RecorderState, str], None]


class _Pending:
    """Encoded lines not yet handed to the OS, kept separate so a failure can count whole events."""

    def __init__(self) -> None:
        self.lines: list[bytes] = []
        self.size = 0

    def write(self, line: bytes) -> None:
        self.lines.append(line)
        self.size += len(line)

    def take(self) -> list[bytes]:
        lines, self.lines, self.size = self.lines, [], 0
        return lines


class Recorder:
    """Records one terminal into a new recording of a `RecordingStore`.

    Output (`o`), resizes (`r`) and markers (`m`) are written; input (`i`) only when
    `capture_input` is set, because typed input carries passwords. While paused, nothing typed
    or shown is captured (markers such as joins still are; they are not terminal content).

    Durability: events are buffered and handed to the OS on every marker, pause and stop, when
    `FLUSH_BYTES` are pending, when an event arrives and the oldest pending one is
    `FLUSH_INTERVAL_S` old, and on every `tick()` (call it from a timer, about once a second).
    A killed server therefore loses about a second at most; `stop()` also fsyncs.

    Write failures (disk full, permission lost) follow `on_write_error`: "stop_input" reports
    `RecorderState.FAILED` (the session refuses input and tells everyone); "continue" reports
    `RecorderState.DEGRADED`. Either way, events that could not be written are counted, each
    `tick()` retries, and once writing works again a marker "recording gap: N events lost" is
    written, followed by the current size and screen so playback stays correct.

    Sync and single-threaded: call it from the event loop. Nothing logged carries terminal data.
    """

    def __init__(
        self,
        store: RecordingStore,
        *,
        kind: RecordingKind,
        session_id: str,
        owners: Iterable[str],
        rows: int,
        cols: int,
        terminal: str | None = None,
        participants: Iterable[str] = (),
        title: str | None = None,
        env: Mapping[str, str] | None = None,
        capture_input: bool = False,
        on_write_error: WriteErrorPolicy = "stop_input",
        on_state_change: StateListener | None = None,
        snapshot: Callable[[], str] | None = None,
        screen: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        """Create the recording and write its header and a start marker.

        Args:
            store: where the recording goes.
            kind: "terminal" (the shared terminal) or "session" (one person's session).
            session_id, terminal: what is recorded, kept in the metadata.
            owners, participants: user ids allowed to open the recording later.
            rows, cols: the terminal size at the start.
            title, env: for the header (`env` usually `{"TERM": ..., "SHELL": ...}`).
            capture_input: record `i` events (off by default: input carries passwords).
            on_write_error: "stop_input" or "continue" (see the class docstring).
            on_state_change: fires `(state, detail)` after every change of `state`; `detail` is
                a sentence for people. It runs synchronously inside the recorder's methods.
            snapshot: returns an ANSI rendering of the current screen; written after a gap so
                the player shows the right screen again.
            screen: what the terminal shows as recording starts (ANSI, from a reset), written
                first: a terminal already in use is recorded from its screen, not from blank.
            clock: monotonic seconds (tests pass a fake one).
            wall_clock: Unix time, for the header and metadata.

        Raises:
            ValueError: a bad size or policy.
            OSError: the recording could not be created or its header written.
        """
        if on_write_error not in get_args(WriteErrorPolicy):
            raise ValueError(
                f"on_write_error must be one of {get_args(WriteErrorPolicy)}, "
                f"got {on_write_error!r}"
            )
        _check_size(rows, cols)
        self._store = store
        self._policy: WriteErrorPolicy = on_write_error
        self._listener = on_state_change
        self._snapshot = snapshot
        self._clock = clock
        self._wall_clock = wall_clock
        self.capture_input = capture_input

        started = wall_clock()
        self._meta, self._fd = store.create(
            kind=kind,
            session_id=session_id,
            owners=owners,
            participants=participants,
            width=cols,
            height=rows,
            terminal=terminal,
            title=title,
            input_captured=capture_input,
            started=started,
        )
        self._start = clock()
        self._offset = 0  # bytes of complete lines in the file; everything past it is junk
        self._needs_repair = False
        self._pending = _Pending()
        self._pending_since = 0.0
        self._paused = False
        self._stopped = False
        self._failing = False
        self._lost = 0  # events lost in the current gap
        self._lost_total = 0
        self._meta_dirty = False
        self._size = (rows, cols)
        self._written_size = (rows, cols)
        self._reported = RecorderState.RECORDING

        extension: dict[str, Any] = {
            "recording": self._meta.id,
            "kind": kind,
            "session": session_id,
            "input_captured": capture_input,
        }
        if terminal is not None:
            extension["terminal"] = terminal
        self._writer = CastWriter(
            self._pending,
            width=cols,
            height=rows,
            timestamp=int(started),
            title=title,
            env=env if env is not None else {"TERM": "xterm-256color"},
            extra={"x_sharedterm": extension},
            capture_input=capture_input,
        )
        self._writer.marker(0.0, "recording started")
        if screen:
            self._writer.output(0.0, screen)
        failure = self._write_pending()
        if failure is not None:
            os.close(self._fd)
            self._stopped = True
            self._save_meta(
                state="interrupted", ended=wall_clock(), end_reason="could not write the recording"
            )
            raise failure[0]

    # -- what the session reads ------------------------------------------------------------

    @property
    def id(self) -> str:
        """The recording id (for the recordings REST routes)."""
        return self._meta.id

    @property
    def meta(self) -> RecordingMeta:
        """The metadata as last written by this recorder."""
        return self._meta

    @property
    def state(self) -> RecorderState:
        """The current state; a failure outranks a pause."""
        if self._stopped:
            return RecorderState.STOPPED
        if self._failing:
            return RecorderState.FAILED if self._policy == "stop_input" else RecorderState.DEGRADED
        return RecorderState.PAUSED if self._paused else RecorderState.RECORDING

    @property
    def paused(self) -> bool:
        """True between `pause()` and `resume()`."""
        return self._paused

    @property
    def input_allowed(self) -> bool:
        """False while the "stop_input" policy forbids input (the recording cannot be written)."""
        return self.state is not RecorderState.FAILED

    @property
    def events_lost(self) -> int:
        """Events that could not be written so far (past gaps and the current one)."""
        return self._lost_total + self._lost

    # -- what the session feeds in ---------------------------------------------------------

    def output(self, text: str) -> None:
        """Terminal output; dropped while paused."""
        if not self._paused:
            self._record("o", text)

    def input(self, text: str) -> None:
        """Typed input; dropped unless `capture_input`, and while paused."""
        if self.capture_input and not self._paused:
            self._record("i", text)

    def resize(self, rows: int, cols: int) -> None:
        """The terminal's new size. While paused or failing it is written on resume or recovery.

        Raises:
            ValueError: a size below 1.
        """
        _check_size(rows, cols)
        self._size = (rows, cols)
        if self._paused or self._failing or self._stopped or self._size == self._written_size:
            return
        self._record("r", f"{cols}x{rows}")
        self._written_size = self._size

    def marker(self, label: str) -> None:
        """A visible marker (join, role change, handoff step), written even while paused."""
        self._record("m", label)
        self._flush()

    def pause(self, by: str) -> None:
        """Stop capturing output and input; writes "recording paused by BY" first. Idempotent."""
        if self._paused or self._stopped:
            return
        self._record("m", f"recording paused by {by}")
        self._flush()
        self._paused = True
        self._save_meta(state="paused")
        self._report(f"recording paused by {by}")

    def resume(self, by: str, screen: str | None = None) -> None:
        """Capture again: writes "recording resumed by BY", the size if it changed, then `screen`.

        Args:
            by: who resumed it, for the marker.
            screen: an ANSI snapshot of the current screen (starting with a clear/home), so a
                player shows what participants see rather than the pre-pause screen.
        """
        if not self._paused or self._stopped:
            return
        self._paused = False
        self._record("m", f"recording resumed by {by}")
        self._write_size_if_changed()
        if screen:
            self._record("o", screen)
        self._flush()
        self._save_meta(state="recording")
        self._report(f"recording resumed by {by}")

    def allow(self, user: str) -> None:
        """Let `user` open the recording later (call when someone joins).

        Saved on the next `tick` (or at stop): a crowd joining at once costs one metadata write,
        not one each.
        """
        if not self._meta.may_open(user):
            self._meta = dataclasses.replace(
                self._meta, participants=(*self._meta.participants, user)
            )
            self._meta_dirty = True

    def revoke(self, user: str) -> None:
        """Take back `user`'s access to the recording (call when someone is removed): the file,
        live or finished, is no longer theirs to open. Saved at once: removal is urgent."""
        meta = self._meta
        if user in meta.owners or user in meta.participants:
            self._meta = dataclasses.replace(
                meta,
                owners=tuple(u for u in meta.owners if u != user),
                participants=tuple(u for u in meta.participants if u != user),
            )
            self._save_meta()

    def tick(self, now: float | None = None) -> None:
        """Hand buffered events to the OS, or retry after a write failure. Call about once a second.

        Args:
            now: the clock reading at the tick (defaults to `clock()`).
        """
        if self._stopped:
            return
        if self._failing:
            self._recover(now)
        else:
            self._flush()
        if self._meta_dirty:
            self._save_meta()

    def stop(self, reason: str) -> None:
        """Write "recording stopped: REASON", flush, fsync, close, mark the metadata finished.

        Idempotent. The file is complete even if some events were lost (see `events_lost`).
        """
        if self._stopped:
            return
        if self._failing:
            self._recover(None)
        self._record("m", f"recording stopped: {reason}")
        self._flush()
        try:
            os.fsync(self._fd)
        except OSError as exc:
            log.warning("recording %s: fsync failed (%s)", self.id, _errno_name(exc))
        os.close(self._fd)
        self._stopped = True
        self._lost_total += self._lost
        self._lost = 0
        self._save_meta(
            state="finished",
            ended=self._wall_clock(),
            end_reason=reason,
            events_lost=self._lost_total,
        )
        detail = f"recording stopped: {reason}"
        if self._lost_total:
            detail += f" ({self._lost_total} events could not be written)"
        self._report(detail)

    # -- internals -------------------------------------------------------------------------

    def _record(self, code: str, data: str) -> None:
        if self._stopped:
            return
        now = self._clock()
        if self._failing:
            self._lost += 1
            return
        if not self._pending.lines:
            self._pending_since = now
        self._writer.event(now - self._start, code, data)
        if self._pending.size >= FLUSH_BYTES or now - self._pending_since >= FLUSH_INTERVAL_S:
            self._flush()

    def _write_size_if_changed(self) -> None:
        if self._size != self._written_size:
            rows, cols = self._size
            self._record("r", f"{cols}x{rows}")
            self._written_size = self._size

    def _flush(self) -> None:
        if self._failing or self._stopped or not self._pending.lines:
            return
        failure = self._write_pending()
        if failure is not None:
            exc, unwritten = failure
            self._lost += unwritten
            self._fail(exc)

    def _write_pending(self) -> tuple[OSError, int] | None:
        """Write every pending line; on failure return the error and the count of unwritten lines.

        Only whole lines count as written: the file is cut back to the last complete line, so a
        partial write never leaves a corrupt line in the middle of the recording.
        """
        lines = self._pending.take()
        data = b"".join(lines)
        written = 0
        try:
            if self._needs_repair:
                os.ftruncate(self._fd, self._offset)
                self._needs_repair = False
            while written < len(data):
                written += os.pwrite(self._fd, data[written:], self._offset + written)
        except OSError as exc:
            complete = 0
            done = 0
            for line in lines:
                if done + len(line) > written:
                    break
                done += len(line)
                complete += 1
            self._offset += done
            self._needs_repair = True
            try:
                os.ftruncate(self._fd, self._offset)
                self._needs_repair = False
            except OSError:
                pass  # retried before the next write
            return exc, len(lines) - complete
        self._offset += written
        return None

    def _fail(self, exc: OSError) -> None:
        if self._failing:
            return
        self._failing = True
        log.warning(
            "recording %s: write failed (%s); policy %s; %d events lost so far",
            self.id,
            _errno_name(exc),
            self._policy,
            self._lost,
        )
        why = exc.strerror or type(exc).__name__
        if self._policy == "stop_input":
            self._report(f"the recording cannot be written ({why}); input is refused until it can")
        else:
            self._report(
                f"the recording cannot be written ({why}); the session continues "
                "and the gap will be marked"
            )

    def _recover(self, now: float | None) -> None:
        """Try writing again: a gap marker, then the current size and screen."""
        at = (self._clock() if now is None else now) - self._start
        self._writer.marker(at, f"recording gap: {self._lost} events lost")
        if self._size != self._written_size:
            rows, cols = self._size
            self._writer.resize(at, rows, cols)
        screen = ""
        if self._snapshot is not None and not self._paused:
            try:
                screen = self._snapshot()
            except Exception:
                # The gap marker matters more than the repaint; a broken snapshot is a bug to log.
                log.exception("recording %s: screen snapshot failed", self.id)
        if screen:
            self._writer.output(at, screen)
        if self._write_pending() is not None:
            # Still failing. The lines just dropped were the gap marker and repaint, not
            # session events, so the lost count does not grow.
            return
        self._written_size = self._size
        lost = self._lost
        self._lost_total += lost
        self._lost = 0
        self._failing = False
        log.warning("recording %s: writing works again; gap of %d events marked", self.id, lost)
        self._report(
            f"the recording is written again; {lost} events were lost and the gap is marked"
        )

    def _save_meta(self, **changes: Any) -> None:
        if changes:
            self._meta = dataclasses.replace(self._meta, **changes)
        try:
            self._store.update(self._meta)
        except (OSError, RecordingStoreError) as exc:
            self._meta_dirty = True  # retried on the next tick
            log.warning("recording %s: metadata not saved (%s)", self.id, _errno_name(exc))
        else:
            self._meta_dirty = False

    def _report(self, detail: str) -> None:
        state = self.state
        if state == self._reported:
            return
        self._reported = state
        if self._listener is None:
            return
        try:
            self._listener(state, detail)
        except Exception:
            # A broken listener must not break recording; it is a bug to see in the log.
            log.exception("recording %s: state listener failed", self.id)


def _check_size(rows: int, cols: int) -> None:
    for name, value in (("rows", rows), ("cols", cols)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")


def _errno_name(exc: BaseException) -> str:
    code = getattr(exc, "errno", None)
    return (
        errno.errorcode.get(code, type(exc).__name__)
        if isinstance(code, int)
        else type(exc).__name__
    )
