"""The lifecycle owner of every shared session on this server: create, find, list, shut down."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from typing import Any

from terminado.management import NamedTermManager

from .core.errors import DomainError, ErrorCode
from .core.invites import SecretHasher
from .core.limits import SessionLimits
from .core.session import BAD_LINK, Participant, Session
from .directory import MemoryDirectory, SessionDirectory
from .live import LiveConfig, LiveSession, RecordingConfig
from .protocol import CreateSession
from .recording.store import RecordingMeta
from .runtime.taps import Tap
from .terminals import TerminalRecording
from .transports.base import Transport, TransportError
from .transports.pty import PtyTransport, adopt_terminal

__all__ = ["SessionManager", "user_identity"]


def user_identity(username: str) -> str:
    """The participant identity of a signed-in Jupyter user."""
    return f"user:{username}"


class SessionManager:
    """Creates live sessions and keeps them until they end, then a bounded while longer."""

    def __init__(
        self,
        *,
        terminal_manager: Callable[[], NamedTermManager | None],
        emit_audit: Callable[[dict[str, Any]], None],
        config: LiveConfig,
        max_sessions_per_user: int,
        root_dir: str,
        hasher: SecretHasher | None = None,
        recording: RecordingConfig | None = None,
        directory: SessionDirectory | None = None,
        limits: SessionLimits | None = None,
    ) -> None:
        self._terminal_manager = terminal_manager
        self._emit_audit = emit_audit
        self._config = config
        self._max_sessions_per_user = max_sessions_per_user
        self._root_dir = root_dir
        # Default: a fresh key per process (the app passes `invite_key` when one is set).
        self.hasher = hasher or SecretHasher(os.urandom(32))
        self._sessions = directory or MemoryDirectory()
        self.recording = recording
        self.limits = limits or SessionLimits()

    def check_can_create(self, identity: str) -> NamedTermManager:
        """Refuse early what `create` would refuse: too many sessions, terminals turned off.

        Returns the terminal manager. Raises DomainError TOO_MANY or UNAVAILABLE.
        """
        mine = [
            s
            for s in self._sessions
            if s.session.active and (p := s.session.find(identity)) and p.role.value == "owner"
        ]
        if len(mine) >= self._max_sessions_per_user:
            raise DomainError(
                ErrorCode.TOO_MANY,
                f"You already own {len(mine)} active sessions: end one before starting another.",
            )
        terminals = self._terminal_manager()
        if terminals is None:
            raise DomainError(
                ErrorCode.UNAVAILABLE, "Terminals are disabled on this server (terminals_enabled)."
            )
        return terminals

    async def create(
        self,
        identity: str,
        name: str,
        request: CreateSession,
        *,
        transport: Transport | None = None,
        title: str | None = None,
    ) -> LiveSession:
        """Share an open JupyterLab terminal, or start a new shell; the caller becomes owner.

        `transport`, when given, is a terminal that is already open (an SSH device session
        after its login, see `devices.py`): the session takes it over, titled `title`.
        """
        terminals = self.check_can_create(identity)
        taps: list[Tap] = []
        try:
            if transport is not None:
                title = title or "Device session"
            elif request.terminal is not None:
                title = f"Terminal {request.terminal}"
                terminal = adopt_terminal(terminals, request.terminal)
                for recording in TerminalRecording.take_from(terminal):  # it goes on, as a tap
                    recording.shared(by=name)
                    taps.append(recording)
                transport = PtyTransport(terminal)
            else:
                title = "Shared shell"
                transport = PtyTransport.spawn(terminals, cwd=self._resolve_cwd(request.cwd))
        except TransportError as e:
            raise DomainError(ErrorCode.NOT_FOUND, str(e)) from None
        session = Session.start(
            owner_identity=identity,
            owner_name=name,
            title=title,
            transport=transport.kind,
            now=time.time(),
            timers=self._config.timers,
            limits=self.limits,
        )
        live = LiveSession(
            session,
            transport,
            hasher=self.hasher,
            config=self._config,
            audit=self._auditor(session),
            on_ended=self._ended,
            recording=self.recording,
            taps=taps,
        )
        self._sessions.add(live)
        try:
            await live.start()
        except (TransportError, OSError) as e:
            self._sessions.discard(session.id)
            await transport.close()
            if isinstance(e, TransportError):
                raise DomainError(ErrorCode.UNAVAILABLE, str(e)) from None
            # Every shared session is recorded: no recording, no session.
            raise DomainError(
                ErrorCode.UNAVAILABLE,
                f"The session could not be recorded ({e.strerror or e}); it was not started.",
            ) from None
        return live

    def get(self, sid: str) -> LiveSession:
        live = self._sessions.get(sid)
        if live is None:
            raise DomainError(ErrorCode.NOT_FOUND, "No such session.")
        return live

    def participant(self, sid: str, identity: str) -> tuple[LiveSession, Participant]:
        """The session and the caller's place in it; the same 404 if either is missing."""
        live = self._sessions.get(sid)
        p = live.session.find(identity) if live else None
        if live is None or p is None:
            if live is not None and live.session.is_banned(identity):
                raise DomainError(ErrorCode.FORBIDDEN, "You were removed from this session.")
            raise DomainError(ErrorCode.NOT_FOUND, "No such session.")
        return live, p

    def session_of_invite(self, invite_id: str) -> LiveSession:
        """The session an invite belongs to; unknown ids get the same answer as bad secrets."""
        live = self._sessions.by_invite(invite_id)
        if live is None:
            raise DomainError(ErrorCode.NOT_FOUND, BAD_LINK)
        return live

    def live_recording(self, rid: str) -> RecordingMeta | None:
        """The in-memory metadata of a recording still being made (its file may lag a tick)."""
        for live in self._sessions:
            if live.recorder is not None and live.recorder.id == rid:
                return live.recorder.meta
        return None

    def now(self) -> float:
        return time.time()

    def visible_to(self, identity: str) -> list[LiveSession]:
        return [s for s in self._sessions if s.session.find(identity) is not None]

    async def shutdown(self) -> None:
        """End every session (the server is stopping) and release their terminals."""
        lives = list(self._sessions)
        for live in lives:
            live.end(None, "The server is shutting down.")
        await asyncio.gather(*(live.wait_closed() for live in lives), return_exceptions=True)

    def _ended(self, live: LiveSession) -> None:
        self._sessions.ended(live)

    def _resolve_cwd(self, cwd: str | None) -> str:
        root = os.path.realpath(self._root_dir)
        if cwd is None:
            return root
        path = os.path.realpath(os.path.join(root, cwd.lstrip("/")))
        if os.path.commonpath([root, path]) != root or not os.path.isdir(path):
            raise DomainError(ErrorCode.INVALID, f"{cwd!r} is not a folder under the server root.")
        return path

    def _auditor(self, session: Session) -> Callable[[str, dict[str, Any]], None]:
        def audit(action: str, details: dict[str, Any]) -> None:
            self._emit_audit({"action": action, "session": session.id, "details": details})

        return audit
