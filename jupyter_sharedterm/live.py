"""A live shared terminal: binds a core Session to a transport, a screen mirror and the sockets.

Output path: transport -> mirror (cheap append) -> one encoded frame -> every client's bounded
queue -> that client's pump. Input path: socket frame -> decode -> permission check in the core
-> transport. The two never wait on each other: output only appends to queues, so a flood of
output cannot delay a keystroke, and a slow client only ever delays itself.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import msgspec

from . import protocol
from .core.errors import DomainError, ErrorCode
from .core.ids import ParticipantId
from .core.invites import Invite, SecretHasher
from .core.markers import MarkerLabels
from .core.reports import strip_reports
from .core.roles import Action, Role
from .core.screen import ScreenMirror
from .core.session import (
    ConnectionChanged,
    ControlChanged,
    Denied,
    Ended,
    Event,
    InviteCreated,
    InviteRevoked,
    Joined,
    Kind,
    Participant,
    QuestionAnswered,
    QuestionAsked,
    Removed,
    RoleChanged,
    Session,
)
from .fanout import Client, ClientLimits, Socket
from .protocol import CloseCode
from .recording.recorder import Recorder, RecorderState, WriteErrorPolicy
from .recording.store import RecordingStore
from .transports.base import Transport, TransportClosed, TransportError

__all__ = ["Audit", "LiveConfig", "LiveSession", "RecordingConfig"]

log = logging.getLogger(__name__)

# Abort a sequence the skipped output may have left half-parsed (CAN), leave the alternate screen,
# soft-reset (DECSTR), turn off mouse, focus and paste reporting and keypad mode, clear the
# screen: a fresh terminal's state, its scrollback kept.
_SOFT_RESET = (
    "\x18\x1b[?1049l\x1b[!p\x1b[?9;1000;1002;1003;1004;1005;1006;1015;2004l\x1b>\x1b[H\x1b[2J"
)

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


@dataclass(frozen=True, slots=True)
class RecordingConfig:
    """Where and how shared sessions are recorded."""

    store: RecordingStore
    capture_input: bool = False  # off by default: typed input carries passwords
    on_write_error: WriteErrorPolicy = "stop_input"


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
    ) -> None:
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
        self.mirror = ScreenMirror(
            rows,
            cols,
            scrollback_chars=self.config.mirror_scrollback_chars,
            pending_limit=self.config.mirror_pending_chars,
        )
        self.clients: set[Client] = set()
        self._typing_sent: dict[ParticipantId, float] = {}
        self._denials_audited: dict[ParticipantId, float] = {}
        self._owner_timer: asyncio.TimerHandle | None = None
        self._owner_away_told = False
        self._ticker: asyncio.Task[None] | None = None
        self._closing: asyncio.Future[None] | None = None
        self._recording = recording
        self.recorder: Recorder | None = None
        self._markers = MarkerLabels()
        self._recording_message = "This session is recorded."
        self._recording_by: ParticipantId | None = None  # who is pausing or resuming it now
        self._busy = False  # output arrived since the last tick
        self._outbox: list[str] = []  # output waiting for the next send (see coalesce_seconds)
        self._outbox_timer: asyncio.TimerHandle | None = None
        self._last_send = -1.0
        self._screen_version = 0  # changes with every output and resize
        self._resync_cache: tuple[int, bytes] | None = None

    @property
    def id(self) -> str:
        return self.session.id

    async def start(self) -> None:
        """Start the recording and the terminal.

        Raises:
            OSError: the recording could not be created (a session is never silently unrecorded).
            TransportError: the terminal could not start (a person-readable message).
        """
        backlog = self.transport.backlog()
        if backlog:
            self.mirror.feed(backlog)
        if self._recording is not None:
            self.recorder = self._start_recording(self._recording)
        await self.transport.start(self)
        self._ticker = asyncio.ensure_future(self._tick())
        owner = self.session.owners()[0]
        self._audit("session_create", {"title": self.session.title, **self._who(owner.id)})
        self._publish()
        self._watch_owners()

    async def wait_closed(self) -> None:
        """Resolves once an ended session has released its terminal."""
        if self._closing is not None:
            await self._closing

    # --- transport sink ---------------------------------------------------------------------------

    def on_output(self, text: str) -> None:
        self._outbox.append(text)
        if self._outbox_timer is not None:
            return
        wait = self._last_send + self.config.coalesce_seconds - time.monotonic()
        if wait > 0:
            self._outbox_timer = asyncio.get_running_loop().call_later(wait, self._send_output)
        else:
            self._send_output()

    def _send_output(self) -> None:
        # The mirror and the recording take output when it is sent, never before: a repaint
        # built in between must not be followed by output it already contains. Sent early
        # (before a resize, a pause, the end) so output stays on the side of the change it came.
        if self._outbox_timer is not None:
            self._outbox_timer.cancel()
            self._outbox_timer = None
        if not self._outbox:
            return
        text = "".join(self._outbox)
        self._outbox.clear()
        self._last_send = time.monotonic()
        self._busy = True
        self._screen_version += 1
        self.mirror.feed(text)
        if self.recorder is not None:
            self.recorder.output(text)
        frame = protocol.stdout_frame(text)
        # Writes go out in order: the person at the keyboard first, who is waiting for an echo.
        driver = self.session.driver
        for client in self.clients:
            if client.pid == driver:
                client.push(frame)
        for client in self.clients:
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
        client = Client(pid, socket, self._limits, lambda: self.resync_frames(scrollback=False))
        self.clients.add(client)
        client.push(protocol.encode(protocol.SetupFrame(self._setup(participant))))
        client.push(self._roster_frame())
        for frame in self.resync_frames():
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
        if client.closed or not client.allow_frame(time.monotonic()):
            return
        try:
            message = protocol.decode_frame(raw)
            self._dispatch(client, message)
        except DomainError as e:
            log.debug("sharedterm: a frame of %s refused: %s", client.pid, e.for_log())
            client.error(e.code, e.message)
        except TransportClosed:
            client.error(ErrorCode.GONE, "The terminal has exited.")
        except TransportError as e:
            client.error(ErrorCode.UNAVAILABLE, str(e))
        finally:
            self._publish()

    def _dispatch(self, client: Client, message: protocol.ClientMessage) -> None:
        pid = client.pid
        if isinstance(message, protocol.Stdin):
            text = message.text
            if not self.session.in_control(pid):
                # Only the terminal in control answers queries (one answer, not one per browser).
                text = strip_reports(text)
                if not text:
                    return
            if self.session.type(pid):
                self._apply_driver_size()
            if self.recorder is not None:
                if not self.recorder.input_allowed:
                    raise DomainError(ErrorCode.UNAVAILABLE, _RECORDING_FAILED)
                self.recorder.input(text)
            self.transport.write(text)
            self._last_send = -1.0  # what comes next is likely its echo: no coalescing wait
            if strip_reports(text):  # a terminal's automatic replies are not typing
                self._announce_typing(pid)
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
        (scrollback=False): modes back to a fresh terminal's without clearing the scrollback it
        already has, then only the screen, which costs far less to build.
        """
        if scrollback:
            return [protocol.stdout_frame("\x1bc" + self.mirror.snapshot())]
        # Under a flood, many clients fall behind at once: until new output arrives, they can
        # all share one repaint (building it is the costliest thing the server does).
        if self._resync_cache is None or self._resync_cache[0] != self._screen_version:
            frame = protocol.stdout_frame(_SOFT_RESET + self.mirror.snapshot(scrollback=False))
            self._resync_cache = (self._screen_version, frame)
        return [self._resync_cache[1]]

    # --- management (called by the REST handlers) -------------------------------------------------

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
        try:
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
        finally:
            self._publish()

    def set_role(self, actor: ParticipantId, target: ParticipantId, role: Role) -> None:
        try:
            self.session.set_role(actor, target, role)
        finally:
            self._publish()

    def remove(self, actor: ParticipantId, target: ParticipantId) -> None:
        try:
            self.session.remove(actor, target)
        finally:
            self._publish()

    def create_invite(
        self, actor: ParticipantId, request: protocol.InviteRequest
    ) -> tuple[Invite, str]:
        try:
            return self.session.create_invite(
                actor,
                role=request.role,
                expires_in=request.expires_in,
                max_uses=request.max_uses,
                now=self._clock(),
                hasher=self.hasher,
            )
        finally:
            self._publish()

    def revoke_invite(self, actor: ParticipantId, invite_id: str) -> None:
        try:
            self.session.revoke_invite(actor, invite_id)
        finally:
            self._publish()

    def end(self, actor: ParticipantId | None, reason: str) -> None:
        try:
            self.session.end(actor, reason)
        finally:
            self._publish()

    def set_recording_paused(self, actor: ParticipantId, paused: bool) -> None:
        """Pause or resume the shared recording (owners only); everyone is told."""
        try:
            p = self.session.authorize(actor, Action.MANAGE)
        finally:
            self._publish()
        if self.recorder is None:
            raise DomainError(ErrorCode.CONFLICT, "Sessions are not recorded on this server.")
        self._send_output()
        self._recording_by = p.id  # for the audit record of the change
        try:
            # A pause covers every recording of the terminal, its own from before it was shared.
            for recorder in (self.recorder, *self.transport.own_recordings()):
                if paused:
                    recorder.pause(by=p.name)
                else:
                    # What was shown while paused must stay out of the file (SECURITY 35), so
                    # the player resumes on a reset terminal, not on a screen that contains it.
                    recorder.resume(by=p.name, screen="\x1bc")
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
        try:
            self.session.authorize(actor, action)
        finally:
            self._publish()

    # --- events: tell everyone, audit, act ------------------------------------------------------

    def _publish(self) -> None:
        events = self.session.drain_events()
        if not events:
            return
        roster_changed = False
        for event in events:
            roster_changed |= self._apply(event)
        if roster_changed and self.session.active:
            frame = self._roster_frame()
            for client in self.clients:
                client.push(frame)

    def _apply(self, event: Event) -> bool:
        """Act on one event; True if the roster changed."""
        s = self.session
        self._mark(event)
        if isinstance(event, Joined):
            if self.recorder is not None:
                self.recorder.allow(s.participants[event.participant].identity)
            self._audit(
                "join",
                {
                    **self._who(event.participant),
                    "role": event.role.value,
                    "kind": s.participants[event.participant].kind.value,
                    "invite": event.via_invite,
                },
            )
            return True
        if isinstance(event, RoleChanged):
            self._audit(
                "role_change",
                {
                    **self._who(event.participant),
                    "old": event.old.value,
                    "new": event.new.value,
                    **self._who(event.by, "by"),
                },
            )
            for client in self._clients_of(event.participant):
                client.send_ctl(protocol.RoleUpdate(event.new))
            return True
        if isinstance(event, Removed):
            self._audit("remove", {**self._who(event.participant), **self._who(event.by, "by")})
            if self.recorder is not None:  # what happens from now on is not theirs to replay
                self.recorder.revoke(s.participants[event.participant].identity)
            self._typing_sent.pop(event.participant, None)
            self._denials_audited.pop(event.participant, None)
            for client in self._clients_of(event.participant):
                self.clients.discard(client)
                client.disconnect(CloseCode.REMOVED, "You were removed from this session.")
            return True
        if isinstance(event, ConnectionChanged):
            self._audit(
                "connect" if event.connected else "disconnect", self._who(event.participant)
            )
            self._watch_owners()
            return True
        if isinstance(event, ControlChanged):
            return True
        if isinstance(event, Denied):
            self._audit_denial(event)
            return False
        if isinstance(event, InviteCreated):
            self._audit(
                "invite_create",
                {"invite": event.invite, "role": event.role.value, **self._who(event.by, "by")},
            )
            return False
        if isinstance(event, InviteRevoked):
            self._audit("invite_revoke", {"invite": event.invite, **self._who(event.by, "by")})
            return False
        if isinstance(event, QuestionAsked):
            frame = protocol.ctl_frame(protocol.QuestionPosted.of(event.question))
            for client in self.clients:
                client.push(frame)
            return False
        if isinstance(event, QuestionAnswered):
            frame = protocol.ctl_frame(protocol.QuestionAnswered(event.question, event.by))
            for client in self.clients:
                client.push(frame)
            return False
        assert isinstance(event, Ended)
        self._audit("end", {"reason": event.reason, **self._who(event.by, "by")})
        self._shut_down(event.reason)
        return False

    def _mark(self, event: Event) -> None:
        """Markers in the recording for what people do (never for what they type)."""
        if self.recorder is not None:
            label = self._markers.label(self.session, event)
            if label is not None:
                self.recorder.marker(label)

    def _who(self, pid: ParticipantId | None, role: str = "participant") -> dict[str, Any]:
        """Audit fields naming a participant: the Jupyter account, or the guest's label and
        the address it joined from (ids alone mean nothing once the process is gone).
        `role` prefixes the keys: "participant", "participant_account"; "by", "by_account"."""
        p = self.session.participants.get(pid) if pid is not None else None
        if p is None:
            return {role: pid}
        if p.kind is Kind.USER:
            return {role: pid, f"{role}_account": p.identity.partition(":")[2] or p.identity}
        return {role: pid, f"{role}_guest": p.name, f"{role}_address": p.address}

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
            snapshot=self._player_screen,
            screen=self._player_screen(),  # a terminal shared mid-way: from its screen
        )

    def _player_screen(self) -> str:
        return "\x1bc" + self.mirror.snapshot()

    def _recording_changed(self, state: RecorderState, detail: str) -> None:
        # Disclosure is out of band: a ctl frame, never text injected into the terminal.
        self._recording_message = detail
        assert self.recorder is not None  # only a recorder calls this
        update = protocol.RecordingUpdate.of(self.recorder.id, state.value, detail)
        frame = protocol.ctl_frame(update)
        for client in self.clients:
            client.push(frame)
        self._audit(
            "recording",
            {"state": state.value, "detail": detail, **self._who(self._recording_by, "by")},
        )

    def _audit_denial(self, event: Denied) -> None:
        # A flooding viewer must not flood the audit log: one record per participant per second.
        now = time.monotonic()
        if now - self._denials_audited.get(event.participant, -1.0) >= 1.0:
            self._denials_audited[event.participant] = now
            self._audit("deny", {**self._who(event.participant), "action": event.action.value})

    def _shut_down(self, reason: str) -> None:
        self._send_output()
        if self.recorder is not None:
            self.recorder.stop(reason)
        for client in list(self.clients):
            client.disconnect(CloseCode.SESSION_ENDED, reason)
        self.clients.clear()
        if self._owner_timer is not None:
            self._owner_timer.cancel()
        if self._ticker is not None:
            self._ticker.cancel()
        self._closing = asyncio.ensure_future(self.transport.close())
        if self._on_ended is not None:
            self._on_ended(self)

    # --- helpers ----------------------------------------------------------------------------------

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

    def _announce_typing(self, pid: ParticipantId) -> None:
        now = time.monotonic()
        if now - self._typing_sent.get(pid, -1.0) < self.config.typing_interval:
            return
        self._typing_sent[pid] = now
        asyncio.get_running_loop().call_later(self.config.typing_delay, self._send_typing, pid)

    def _send_typing(self, pid: ParticipantId) -> None:
        frame = protocol.ctl_frame(protocol.Typing(pid))
        for client in self.clients:
            client.push(frame)

    def _apply_driver_size(self) -> None:
        driver = self.session.driver
        size = self.session.participants[driver].size if driver else None
        if size is not None:
            self._resize(*size)

    def _resize(self, rows: int, cols: int) -> None:
        self._send_output()
        if (rows, cols) != self.transport.size:
            self.transport.resize(rows, cols)
            if self.recorder is not None:
                self.recorder.resize(rows, cols)
        self.mirror.resize(rows, cols)
        self._screen_version += 1

    def _watch_owners(self) -> None:
        """Owner-absent policy: the session lives on for `owner_grace` seconds, then ends."""
        s = self.session
        if not s.active:
            return
        if s.owners_connected():
            if self._owner_timer is not None:
                self._owner_timer.cancel()
                self._owner_timer = None
                if self._owner_away_told:  # not when the owner merely connects the first time
                    self._notice("owner_back", "An owner is back.")
            return
        if self._owner_timer is None:
            grace = self.config.owner_grace
            self._owner_timer = asyncio.get_running_loop().call_later(grace, self._owner_gone)
            self._owner_away_told = bool(self.clients)
            self._notice(
                "owner_away",
                f"No owner is connected; the session ends in {grace:g} s unless one returns.",
            )

    def _owner_gone(self) -> None:
        self._owner_timer = None
        self.end(None, "No owner returned to the session.")

    def _notice(self, code: Literal["owner_away", "owner_back"], message: str) -> None:
        frame = protocol.ctl_frame(protocol.Notice(code, message))
        for client in self.clients:
            client.push(frame)

    async def _tick(self) -> None:
        # Keep the mirror close to the live screen, but only while output is quiet: emulation
        # is slow, and during a flood the event loop belongs to fan-out and keystrokes (the
        # mirror then keeps a bounded tail and catches up when someone joins).
        # Twice a second: the recording goes to the OS (a killed server loses at most ~1 s), and
        # sockets that have accepted nothing for `stall_timeout` are closed.
        ticks = 0
        while True:
            await asyncio.sleep(self.config.mirror_tick)
            if not self._busy:
                self.mirror.catch_up(self.config.mirror_idle_chars)
            self._busy = False
            ticks += 1
            if ticks % 10 == 0:
                if self.recorder is not None:
                    self.recorder.tick()
                now = time.monotonic()
                for client in list(self.clients):
                    client.check_stall(now)
