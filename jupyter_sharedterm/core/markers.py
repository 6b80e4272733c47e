"""What a recording's markers say: one line per thing people did, in people's words.

A person joining is one thing, though the session sees two (admitted, then their first socket
opened): the marker comes when they arrive, with the role they arrive with. Later sockets are
comings and goings. Typing is never described (a marker is not terminal content).
"""

from __future__ import annotations

from typing import Final

from .ids import ParticipantId
from .roles import Role
from .session import (
    ConnectionChanged,
    ControlChanged,
    ControlOffered,
    ControlRequested,
    Event,
    OfferWithdrawn,
    Removed,
    RoleChanged,
    Session,
)

__all__ = ["ROLE_WORDS", "MarkerLabels"]

ROLE_WORDS: Final[dict[Role, str]] = {
    Role.OWNER: "an owner",
    Role.COWORKER: "a co-worker",
    Role.VIEWER: "a viewer",
}


class MarkerLabels:
    """Labels the events of one session; it remembers who has arrived already."""

    def __init__(self) -> None:
        self._arrived: set[ParticipantId] = set()

    def label(self, session: Session, event: Event) -> str | None:
        """The marker for `event`, or None when it is no moment for the timeline."""

        def name(pid: ParticipantId) -> str:
            p = session.participants.get(pid)
            return p.name if p is not None else "someone"

        if isinstance(event, ConnectionChanged):
            who = name(event.participant)
            if not event.connected:
                return f"{who} left"
            if event.participant in self._arrived:
                return f"{who} came back"
            self._arrived.add(event.participant)
            role = session.participants[event.participant].role
            return f"{who} joined as {ROLE_WORDS[role]}"
        if isinstance(event, RoleChanged):
            if event.by == event.participant:
                return f"{name(event.by)} is now {ROLE_WORDS[event.new]}"
            return f"{name(event.by)} made {name(event.participant)} {ROLE_WORDS[event.new]}"
        if isinstance(event, Removed):
            return f"{name(event.by)} removed {name(event.participant)}"
        if isinstance(event, ControlChanged) and event.participant is not None:
            return f"{name(event.participant)} is in control"
        if isinstance(event, ControlRequested):
            return f"{name(event.participant)} asked for control"
        if isinstance(event, ControlOffered):
            return f"{name(event.by)} offered control to {name(event.to)}"
        if isinstance(event, OfferWithdrawn):
            if event.by is None:
                return f"the offer of control to {name(event.to)} lapsed"
            if event.by == event.to:
                return f"{name(event.to)} declined control"
            return f"{name(event.by)} withdrew the offer of control to {name(event.to)}"
        return None
