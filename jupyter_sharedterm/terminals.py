"""JupyterLab's terminal manager: every shell starts with clean signal state, and (optionally)
every terminal is recorded from the moment it is created."""

from __future__ import annotations

import logging
from typing import Any

from jupyter_server_terminals.terminalmanager import TerminalManager
from ptyprocess import PtyProcessError

from .core.ids import ParticipantId
from .core.session import Event
from .recording.recorder import Recorder
from .runtime.reactions import Reaction
from .runtime.record import RecordingTap
from .transports.pty import ShellPty, describe_exit, spawn_shell

__all__ = [
    "TERMINAL_USERS",
    "CleanSignalsTerminalManager",
    "RecordedTerminalManager",
    "TerminalRecording",
    "recordings_of",
]

log = logging.getLogger(__name__)

# Terminals in Jupyter belong to the server, not to one user: whoever may use terminals may
# read their recordings. This stands for that group in a recording's list of owners.
TERMINAL_USERS = "jupyter:terminals"


def recordings_of(terminal: Any) -> list[TerminalRecording]:
    """The recordings riding along with a terminado terminal (None: no terminal)."""
    clients = getattr(terminal, "clients", ())
    return [c for c in clients if isinstance(c, TerminalRecording)]


class TerminalRecording(RecordingTap):
    """A JupyterLab terminal's own recording, from the terminal's creation to its end.

    Before the terminal is shared it rides along as one of terminado's clients: terminado calls
    `on_pty_read` and `on_pty_died`; `size` (None, None) keeps it out of terminado's "smallest
    client" sizing. When the terminal is shared, `take_from` moves it off terminado's list and it
    becomes a tap of the live session, so the recording goes on alongside the session's.
    It never carries the session's markers or readers: whoever may use terminals may read it.
    """

    size = (None, None)

    def __init__(self, recorder: Recorder, terminal: Any) -> None:
        super().__init__(recorder)
        self._terminal = terminal
        self._size: tuple[int, int] | None = None
        self.shut_down = False  # set when JupyterLab (or the server) shuts the terminal down

    @staticmethod
    def take_from(terminal: Any) -> list[TerminalRecording]:
        """Remove the terminal's recordings from terminado's clients and return them (as taps)."""
        found = [c for c in terminal.clients if isinstance(c, TerminalRecording)]
        for recording in found:
            terminal.clients.remove(recording)
        return found

    # --- as terminado's client, before the terminal is shared ----------------------------------

    def on_pty_read(self, text: str) -> None:
        self._note_size()
        self.recorder.output(text)

    def on_pty_died(self) -> None:
        """terminado saw the PTY close (the shell has been reaped by then)."""
        if self.shut_down:
            self.terminal_ended("the terminal was shut down")
        else:
            self.terminal_ended(describe_exit(self._terminal.ptyproc))

    def terminal_ended(self, reason: str) -> None:
        """The terminal is gone, for `reason`."""
        self.recorder.stop(reason)

    def shared(self, by: str) -> None:
        """The terminal became a shared session: a marker in its own recording."""
        self.recorder.marker(f"{by} shared this terminal")

    def _note_size(self) -> None:
        try:
            rows, cols = self._terminal.ptyproc.getwinsize()
        except OSError:
            return
        if (rows, cols) != self._size:
            if self._size is not None:
                self.recorder.resize(rows, cols)
            self._size = (rows, cols)

    # --- as a tap of the live session, once shared ---------------------------------------------

    def input(self, pid: ParticipantId, text: str) -> None:
        """Typed input stays out: this recording's readers were never asked about it."""

    def event(self, event: Event, reaction: Reaction) -> None:
        """The session's markers and readers are the session recording's, not this one's."""

    def resize(self, rows: int, cols: int) -> None:
        super().resize(rows, cols)
        self._size = (rows, cols)

    def close(self, reason: str) -> None:
        """The shared session ended: the shell ended first (how), or the session closed it."""
        proc = self._terminal.ptyproc
        try:
            alive = bool(proc.isalive())
        except (OSError, PtyProcessError):
            alive = False
        if alive:
            self.terminal_ended("its shared session ended, which closed the terminal")
        else:
            self.terminal_ended(describe_exit(proc))


class CleanSignalsTerminalManager(TerminalManager):
    """Every shell starts with default signal dispositions and an empty mask, whatever the
    server inherited: Ctrl-C works in a terminal of a server started with SIGINT ignored."""

    def new_terminal(self, **kwargs: Any) -> ShellPty:
        return spawn_shell(self, **kwargs)


class RecordedTerminalManager(CleanSignalsTerminalManager):
    """Every terminal created through `api/terminals` gets its own recording."""

    async def terminate(self, name: str, force: bool = False) -> None:
        """Shut a terminal down (JupyterLab's Shut Down, the culler, the server stopping)."""
        for recording in recordings_of(self.terminals.get(name)):
            recording.shut_down = True
        await super().terminate(name, force=force)

    def create(self, **kwargs: Any) -> Any:
        model = super().create(**kwargs)
        name = model["name"]
        manager = self.parent.web_app.settings.get("sharedterm_manager") if self.parent else None
        recording = manager.recording if manager is not None else None
        if recording is not None:
            terminal = self.terminals[name]
            rows, cols = terminal.ptyproc.getwinsize()
            try:
                recorder = Recorder(
                    recording.store,
                    kind="terminal",
                    session_id="",
                    terminal=name,
                    owners=[TERMINAL_USERS],
                    rows=rows,
                    cols=cols,
                    title=f"Terminal {name}",
                    capture_input=False,
                    on_write_error="continue",
                )
            except OSError:
                log.warning("sharedterm: terminal %s could not be recorded", name, exc_info=True)
            else:
                terminal.clients.append(TerminalRecording(recorder, terminal))
        return model
