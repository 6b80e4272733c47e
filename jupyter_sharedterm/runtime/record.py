"""The session-recording tap: a shared session's recording from its start to its end."""

from __future__ import annotations

from ..core.ids import ParticipantId
from ..core.session import Event
from ..recording.recorder import Recorder, RecorderState
from .reactions import Reaction
from .taps import Tap

__all__ = ["RECORDER_TICK_SECONDS", "RecordingTap"]

RECORDER_TICK_SECONDS = 0.5  # buffered events go to the OS: a killed server loses at most ~1 s


class RecordingTap(Tap):
    """Writes what the terminal shows (and, if configured, what is typed) to `recorder`, with a
    marker for each thing people do (joins, role changes, control changing hands); everyone
    admitted may open it later.
    """

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder
        self._next_tick = 0.0

    def output(self, text: str) -> None:
        self.recorder.output(text)

    def input(self, pid: ParticipantId, text: str) -> None:
        self.recorder.input(text)

    def resize(self, rows: int, cols: int) -> None:
        self.recorder.resize(rows, cols)

    def event(self, event: Event, reaction: Reaction) -> None:
        if reaction.marker is not None:
            self.recorder.marker(reaction.marker)
        if reaction.reader is not None:
            self.recorder.allow(reaction.reader)
        if reaction.unreader is not None:
            self.recorder.revoke(reaction.unreader)

    def tick(self, now: float) -> None:
        if now >= self._next_tick:
            self._next_tick = now + RECORDER_TICK_SECONDS
            self.recorder.tick()

    def close(self, reason: str) -> None:
        self.recorder.stop(reason)

    def pause(self, by: str) -> None:
        self.recorder.pause(by=by)

    def resume(self, by: str) -> None:
        # What was shown while paused must stay out of the file (SECURITY 35), so the player
        # resumes on a reset terminal rather than on a screen that contains it.
        self.recorder.resume(by=by, screen="\x1bc")

    @property
    def state(self) -> RecorderState:
        return self.recorder.state
