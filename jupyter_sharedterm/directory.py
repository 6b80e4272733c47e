"""The session directory: where this server finds its live sessions (in memory, per process).

The one place that knows where sessions are kept, so a directory shared by several server
processes (JupyterHub replicas) can replace the in-memory one without touching the manager.
"""

from __future__ import annotations

import abc
from collections import OrderedDict
from collections.abc import Iterator
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from .live import LiveSession

__all__ = ["ENDED_KEPT", "MemoryDirectory", "SessionDirectory"]

ENDED_KEPT: Final = 100  # ended sessions still answer "ended" (410) rather than "unknown" (404)


class SessionDirectory(abc.ABC):
    """Every session this server knows, active or recently ended, in creation order."""

    @abc.abstractmethod
    def add(self, live: LiveSession) -> None:
        """Register a new session under its id."""

    @abc.abstractmethod
    def get(self, sid: str) -> LiveSession | None:
        """The session with id `sid`, if known."""

    @abc.abstractmethod
    def discard(self, sid: str) -> None:
        """Forget a session (one that failed to start); no error if unknown."""

    @abc.abstractmethod
    def __iter__(self) -> Iterator[LiveSession]:
        """Every known session, oldest first."""

    @abc.abstractmethod
    def ended(self, live: LiveSession) -> None:
        """`live` ended: keep it a while (its links answer 410), within a bound."""

    def by_invite(self, invite_id: str) -> LiveSession | None:
        """The session an invite belongs to."""
        return next((live for live in self if invite_id in live.session.invites), None)


class MemoryDirectory(SessionDirectory):
    """A dict in this process: sessions die with it, as their terminals do."""

    def __init__(self, ended_kept: int = ENDED_KEPT) -> None:
        self._sessions: OrderedDict[str, LiveSession] = OrderedDict()
        self._ended_kept = ended_kept

    def add(self, live: LiveSession) -> None:
        self._sessions[live.id] = live

    def get(self, sid: str) -> LiveSession | None:
        return self._sessions.get(sid)

    def discard(self, sid: str) -> None:
        self._sessions.pop(sid, None)

    def __iter__(self) -> Iterator[LiveSession]:
        return iter(list(self._sessions.values()))

    def ended(self, live: LiveSession) -> None:
        ended = [sid for sid, s in self._sessions.items() if not s.session.active]
        for sid in ended[: max(0, len(ended) - self._ended_kept)]:
            del self._sessions[sid]
