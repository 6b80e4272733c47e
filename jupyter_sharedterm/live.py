"""A live shared terminal: coordinates a core Session, a transport, its taps and the sockets.

Output path: transport -> coalescer -> taps (the screen mirror's cheap append, the recordings)
-> one encoded frame -> every client's bounded queue -> that client's pump. Input path: socket
frame -> decode -> permission check in the core -> transport (and the taps). Events of the core
go through `runtime.reactions` (one function per event) to frames, the audit log and the taps.
The two paths never wait on each other: output only appends to queues, so a flood of output
cannot delay a keystroke, and a slow client only ever delays itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import msgspec

from . import protocol
from .core.errors import DomainError, ErrorCode
from .core.ids import ParticipantId
from .core.invites import Invite, SecretHasher
from .core.roles import Action, Role
from .core.session import Kind, Participant, Session, Timers
from .fanout import Client, ClientLimits, Socket
from .protocol import CloseCode
from .recording.recorder import Recorder, RecorderState, WriteErrorPolicy
from .recording.store import RecordingStore
from .runtime.coalesce import Coalescer
from .runtime.reactions import Reaction, Reactor, who
from .runtime.record import RecordingTap
from .runtime.repaint import ScreenTap
from .runtime.taps import Tap, Taps
from .screen import ScreenMirror, ScreenModel
from .transports.base import Transport, TransportClosed, TransportError

__all__ = ["Audit", "LiveConfig", "LiveSession", "RecordingConfig"]

log = logging.getLogger(__name__)


_RECORDING_FAILED = (
    "The recording cannot be written (is the disk full?), so input is paused until it can. "
    "The owner can end the session."
)

Audit = Callable[[str, dict[str, Any]], None]
"""Receives (action, details) for the audit log; details never contain terminal data."""


@dataclass(frozen=True, slots=True)
class LiveConfig:
    """Tunables of one live session (the server extension fills them from traitlets)."""

    client_queue_bytes: int = 4 << 20  # 4 MiB queued per client before it is resynced instead
    stall_timeout: float = 30.0  # seconds one frame may take to leave before the client is dropped
    owner_grace: float = 300.0  # seconds a session lives on with no owner connected
    frame_rate: float = 200.0  # frames per second a socket may send on average...
    frame_burst: float = 400.0  # ...and in a burst; beyond, frames are dropped with an error
    flood_close_after: int = 1000  # frames dropped (forgiven at 20/s) before the socket is closed
    typing_interval: float = 0.5  # at most one typing event per participant per interval
    typing_delay: float = 0.02  # sent after the keystroke's echo, which is what the typist awaits
    mirror_idle_chars: int = 8 << 10  # emulated per quiet tick (a few ms), so joins stay cheap
    mirror_tick: float = 0.05
    # While output streams, it is sent at most once per this interval, in one larger frame:
    # every frame costs a write per client, and a burst arrives from the PTY in 4 KiB reads.
    # Output after a quiet spell or a keystroke (its echo) goes out at once.
    coalesce_seconds: float = 0.003
    # What a join may cost on the event loop (measured ~10-20 ms): at most 16 KiB still to
    # emulate (after a flood the screen is in its last lines anyway) and 64 KiB of scrollback
    # (about 800 lines, near xterm.js's default of 1000).
    mirror_pending_chars: int = 16 << 10
    mirror_scrollback_chars: int = 64 << 10

    @property
    def timers(self) -> Timers:
        """The session's rules in time (the core applies them in `Session.tick`)."""
        return Timers(owner_grace=self.owner_grace, typing_interval=self.typing_interval)


@dataclass(frozen=True, slots=True)
class RecordingConfig:
    """Where and how shared sessions are recorded."""

    store: RecordingStore
    capture_input: bool = False  # off by default: typed input carries passwords
    on_write_error: WriteErrorPolicy = "stop_input"


class _Sink:
    """What the transport calls: output goes straight to the coalescer, no hop per chunk."""

    __slots__ = ("on_exit", "on_output")

    def __init__(self, on_output: Callable[[str], None], on_exit: Callable[[str], None]) -> None:
        self.on_output = on_output
        self.on_exit = on_exit


class LiveSession:
    """One shared terminal while it runs. All methods run on the event loop."""

    def __init__(
        self,
        session: Session,
        transport: Transport,
        *,
        hasher: SecretHasher,
        audit: Audit,
        config: LiveConfig | None = None,
        clock: Callable[[], float] = time.time,
        on_ended: Callable[[LiveSession], None] | None = None,
        recording: RecordingConfig | None = None,
        taps: Iterable[Tap] = (),
    ) -> None:
        """Args:
        taps: observers besides the screen mirror and the session recording (e.g. the
            terminal's own recording); closed when the session ends or fails to start.
        """
        self.session = session
        self.transport = transport
        self.config = config or LiveConfig()
        c = self.config
        self._limits = ClientLimits(
            c.client_queue_bytes, c.stall_timeout, c.frame_rate, c.frame_burst, c.flood_close_after
        )
        self.hasher = hasher
        self._audit = audit
        self._clock = clock
        self._on_ended = on_ended
        rows, cols = transport.size
        mirror = ScreenMirror(
            rows,
            cols,
            scrollback_chars=c.mirror_scrollback_chars,
            pending_limit=c.mirror_pending_chars,
        )
        self._screen = ScreenTap(mirror, idle_chars=c.mirror_idle_chars)
        self._taps = Taps()
        self._taps.add(self._screen)
        self._extra_taps = list(taps)
        self._recording = recording
        self._recording_tap: RecordingTap | None = None
        self._recording_message = "This session is recorded."
        self._recording_by: ParticipantId | None = None  # who is pausing or resuming it now
        self._output = Coalescer(c.coalesce_seconds, self._send_output)
        self._reactor = Reactor(session)
        self.clients: set[Client] = set()
        self._ticker: asyncio.Task[None] | None = None
        self._closing: asyncio.Future[None] | None = None

    @property
    def id(self) -> str:
        return self.session.id

    @property
    def mirror(self) -> ScreenModel:
        """The screen a late joiner is painted from."""
        return self._screen.mirror

    @property
    def recorder(self) -> Recorder | None:
        """The session's recording, None when sessions are not recorded."""
        return self._recording_tap.recorder if self._recording_tap is not None else None

    async def start(self) -> None:
        """Start the recording and the terminal.

        Raises:
            OSError: the recording could not be created (a session is never silently unrecorded).
            TransportError: the terminal could not start (a person-readable message).
        """
        try:
            backlog = self.transport.backlog()
            if backlog:
                self.mirror.feed(backlog)
            for tap in self._extra_taps:
                self._taps.add(tap)
            if self._recording is not None:
                self._recording_tap = RecordingTap(self._start_recording(self._recording))
                self._taps.add(self._recording_tap)
            await self.transport.start(_Sink(self._output.add, self.on_exit))
        except BaseException:
            self._taps.close("the session could not start")
            raise
        self._ticker = asyncio.ensure_future(self._tick())
        owner = self.session.owners()[0]
        self._audit("session_create", {"title": self.session.title, **who(self.session, owner.id)})
        self._publish()

    async def wait_closed(self) -> None:
        """Resolves once an ended session has released its terminal."""
        if self._closing is not None:
            await self._closing

    # --- what the transport delivers ------------------------------------------------------------

    def on_output(self, text: str) -> None:
        """Terminal output (the transport calls the coalescer directly, see `_Sink`)."""
        self._output.add(text)

    def _send_output(self, text: str) -> None:
        # The taps (the mirror, the recordings) take output when it is sent, never before: a
        # repaint built in between must not be followed by output it already contains.
        self._taps.output(text)
        frame = protocol.stdout_frame(text)
        # Writes go out in order: the person at the keyboard first, who is waiting for an echo.
        driver, clients = self.session.control.holder, self.clients
        for client in clients:
            if client.pid == driver:
                client.push(frame)
        for client in clients:
            if client.pid != driver:
                client.push(frame)

    def on_exit(self, reason: str) -> None:
        if self.session.active:
            self.session.end(None, f"The terminal is gone: {reason}.")
            self._publish()

    # --- sockets ----------------------------------------------------------------------------------

    def attach(self, pid: ParticipantId, socket: Socket) -> Client:
        """A participant's socket opened: send setup, the roster and the current screen."""
        participant = self.session.connect(pid)
        client = Client(pid, socket, self._limits, self._screen.resync_frames)
        self.clients.add(client)
        client.push(protocol.encode(protocol.SetupFrame(self._setup(participant))))
        client.push(self._roster_frame())
        for frame in self._screen.join_frames():
            client.push(frame)
        self._publish()
        return client

    def detach(self, client: Client) -> None:
        client.stop()
        if client in self.clients:
            self.clients.discard(client)
            self.session.disconnect(client.pid)
            self._publish()

    def receive(self, client: Client, raw: str | bytes) -> None:
        """One frame from a client. Never raises: every refusal becomes an error frame."""
        now = time.monotonic()
        if client.closed or not client.allow_frame(now):
            return
        try:
            message = protocol.decode_frame(raw)
            self._dispatch(client, message, now)
        except DomainError as e:
            log.debug("sharedterm: a frame of %s refused: %s", client.pid, e.for_log())
            client.error(e.code, e.message)
        except TransportClosed:
            client.error(ErrorCode.GONE, "The terminal has exited.")
        except TransportError as e:
            client.error(ErrorCode.UNAVAILABLE, str(e))
        finally:
            self._react()  # the clock's rules wait for the next tick: a keystroke changes none

    def _dispatch(self, client: Client, message: protocol.ClientMessage, now: float) -> None:
        pid = client.pid
        if isinstance(message, protocol.Stdin):
            driver = self.session.driver
            text = self.session.type(pid, message.text, now)
            if not text:
                return
            if self.session.driver != driver:
                self._apply_driver_size()
            recording = self._recording_tap
            if recording is not None and not recording.recorder.input_allowed:
                raise DomainError(ErrorCode.UNAVAILABLE, _RECORDING_FAILED)
            self._taps.input(pid, text)
            self.transport.write(text)
            self._output.expect_echo()
        elif isinstance(message, protocol.SetSize):
            if self.session.resize(pid, message.rows, message.cols):
                self._resize(message.rows, message.cols)
        elif isinstance(message, protocol.Ask):
            self.session.ask(pid, message.text, self._clock())
        elif isinstance(message, protocol.Answer):
            self.session.answer(pid, message.question_id)
        elif isinstance(message, protocol.SetRecording):
            self.set_recording_paused(pid, message.paused)

    def resync_frames(self, *, scrollback: bool = True) -> list[bytes | str]:
        """Frames that bring a participant's terminal to the exact current screen.

        On joining: a full reset, scrollback, the screen. For a participant who fell behind
        (scrollback=False): only the screen (see `ScreenTap.resync_frames`).
        """
        return self._screen.join_frames() if scrollback else self._screen.resync_frames()

    # --- management (called by the REST handlers) -------------------------------------------------

    # Each change is published (told, audited, marked) even when the core refuses it: a refusal
    # may still record a denial.

    def join(
        self,
        invite_id: str,
        secret: str,
        *,
        identity: str,
        name: str,
        kind: Kind,
        address: str | None = None,
    ) -> Participant:
        with self._publishing():
            return self.session.redeem(
                invite_id,
                secret,
                identity=identity,
                name=name,
                kind=kind,
                now=self._clock(),
                hasher=self.hasher,
                address=address,
            )

    def set_role(self, actor: ParticipantId, target: ParticipantId, role: Role) -> None:
        with self._publishing():
            self.session.set_role(actor, target, role)

    def remove(self, actor: ParticipantId, target: ParticipantId) -> None:
        with self._publishing():
            self.session.remove(actor, target)

    def create_invite(
        self, actor: ParticipantId, request: protocol.InviteRequest
    ) -> tuple[Invite, str]:
        with self._publishing():
            return self.session.create_invite(
                actor,
                role=request.role,
                expires_in=request.expires_in,
                max_uses=request.max_uses,
                now=self._clock(),
                hasher=self.hasher,
            )

    def revoke_invite(self, actor: ParticipantId, invite_id: str) -> None:
        with self._publishing():
            self.session.revoke_invite(actor, invite_id)

    def end(self, actor: ParticipantId | None, reason: str) -> None:
        with self._publishing():
            self.session.end(actor, reason)

    def set_recording_paused(self, actor: ParticipantId, paused: bool) -> None:
        """Pause or resume the shared recording (owners only); everyone is told."""
        with self._publishing():
            p = self.session.authorize(actor, Action.MANAGE)
        if self._recording_tap is None:
            raise DomainError(ErrorCode.CONFLICT, "Sessions are not recorded on this server.")
        self._output.flush()
        self._recording_by = p.id  # for the audit record of the change
        try:
            # A pause covers every recording of the terminal, its own from before it was shared.
            for tap in self._taps:
                if isinstance(tap, RecordingTap):
                    if paused:
                        tap.pause(p.name)
                    else:
                        tap.resume(p.name)
        finally:
            self._recording_by = None

    def recording_state(self) -> dict[str, Any] | None:
        """`{"id", "state", "message"}` of the shared recording; None when recording is off."""
        status = self.recording_status()
        return None if status is None else msgspec.to_builtins(status)

    def recording_status(self) -> protocol.RecordingStatus | None:
        """The shared recording's state; None when recording is off."""
        if self.recorder is None:
            return None
        return protocol.RecordingStatus.of(
            self.recorder.id, self.recorder.state.value, self._recording_message
        )

    def describe(self, pid: ParticipantId) -> dict[str, Any]:
        """The session model for `pid`: the core's view plus the recording."""
        model = self.session.describe(pid, self._clock())
        model["recording"] = self.recording_state()
        return model

    def require(self, actor: ParticipantId, action: Action) -> None:
        """Raise FORBIDDEN (audited) unless `actor` may do `action`."""
        with self._publishing():
            self.session.authorize(actor, action)

    # --- events: react once per event -------------------------------------------------------------

    @contextlib.contextmanager
    def _publishing(self) -> Iterator[None]:
        try:
            yield
        finally:
            self._publish()

    def _publish(self) -> None:
        """Apply the session's rules in time, then react to every event since the last call."""
        self.session.tick(time.monotonic())
        self._react()

    def _react(self) -> None:
        events = self.session.drain_events()
        if not events:
            return
        roster_changed = False
        for event in events:
            reaction = self._reactor.react(event)
            self._taps.event(event, reaction)
            self._carry_out(reaction)
            roster_changed |= reaction.roster
        if roster_changed and self.session.active:
            self._broadcast(self._roster_frame())

    def _carry_out(self, r: Reaction) -> None:
        if r.audit is not None:
            self._audit(*r.audit)
        if r.notify is not None:
            pid, body = r.notify
            frame = protocol.ctl_frame(body)
            for client in self._clients_of(pid):
                client.push(frame)
        if r.disconnect is not None:
            pid, reason = r.disconnect
            for client in self._clients_of(pid):
                self.clients.discard(client)
                client.disconnect(CloseCode.REMOVED, reason)
        if r.broadcast is not None:
            frame = protocol.ctl_frame(r.broadcast)
            if r.after_echo:
                delay = self.config.typing_delay
                asyncio.get_running_loop().call_later(delay, self._broadcast, frame)
            else:
                self._broadcast(frame)
        if r.end is not None:
            self._shut_down(r.end)

    def _start_recording(self, config: RecordingConfig) -> Recorder:
        s = self.session
        rows, cols = self.transport.size
        return Recorder(
            config.store,
            kind="session",
            session_id=s.id,
            owners=[p.identity for p in s.owners()],
            participants=[p.identity for p in s.current()],
            rows=rows,
            cols=cols,
            # Whose session it was: recordings of one terminal shared twice can be told apart.
            title=f"{s.title} ({s.owners()[0].name})",
            capture_input=config.capture_input,
            on_write_error=config.on_write_error,
            on_state_change=self._recording_changed,
            snapshot=self._screen.screen,
            screen=self._screen.screen(),  # a terminal shared mid-way: from its screen
        )

    def _recording_changed(self, state: RecorderState, detail: str) -> None:
        # Disclosure is out of band: a ctl frame, never text injected into the terminal.
        self._recording_message = detail
        assert self.recorder is not None  # only a recorder calls this
        update = protocol.RecordingUpdate.of(self.recorder.id, state.value, detail)
        self._broadcast(protocol.ctl_frame(update))
        by = who(self.session, self._recording_by, "by")
        self._audit("recording", {"state": state.value, "detail": detail, **by})

    def _shut_down(self, reason: str) -> None:
        self._output.flush()
        self._taps.close(reason)
        for client in list(self.clients):
            client.disconnect(CloseCode.SESSION_ENDED, reason)
        self.clients.clear()
        if self._ticker is not None:
            self._ticker.cancel()
        self._closing = asyncio.ensure_future(self.transport.close())
        if self._on_ended is not None:
            self._on_ended(self)

    # --- helpers ----------------------------------------------------------------------------------

    def _broadcast(self, frame: bytes | str) -> None:
        for client in self.clients:
            client.push(frame)

    def _clients_of(self, pid: ParticipantId) -> list[Client]:
        return [c for c in self.clients if c.pid == pid]

    def _setup(self, p: Participant) -> protocol.Setup:
        return protocol.Setup(
            participant=p.id,
            role=p.role,
            name=p.name,
            session=self.session.id,
            title=self.session.title,
            transport=self.session.transport,
            recording=self.recording_status(),
        )

    def _roster_frame(self) -> bytes:
        s = self.session
        participants = [protocol.ParticipantModel.of(p) for p in s.current()]
        return protocol.ctl_frame(protocol.Roster(participants=participants, driver=s.driver))

    def _apply_driver_size(self) -> None:
        driver = self.session.driver
        size = self.session.participants[driver].size if driver else None
        if size is not None:
            self._resize(*size)

    def _resize(self, rows: int, cols: int) -> None:
        self._output.flush()
        if (rows, cols) != self.transport.size:
            self.transport.resize(rows, cols)
            self._taps.resize(rows, cols)
        else:
            self._screen.resize(rows, cols)

    async def _tick(self) -> None:
        # Every `mirror_tick`: the taps' deferred work (the mirror emulates while output is
        # quiet, the recordings go to the OS twice a second) and the session's rules in time.
        # Twice a second, sockets that have accepted nothing for `stall_timeout` are closed.
        ticks = 0
        while True:
            await asyncio.sleep(self.config.mirror_tick)
            now = time.monotonic()
            self._taps.tick(now)
            self._publish()
            ticks += 1
            if ticks % 10 == 0:
                for client in list(self.clients):
                    client.check_stall(now)
