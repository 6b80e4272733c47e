"""Who is in control of the terminal, and how control changes hands: a small state machine.

The participant in control is the one whose terminal sets the PTY size and answers terminal
queries. Control changes hands in four ways: by typing (under the `TYPING` policy), by an
offer its receiver accepts, by an owner's override, and by the holder releasing it (or losing
the right to type). Requests only ask; they move nothing.

Role checks are the session's job (`Session` calls this with participants it has already
authorized); this machine keeps the state consistent and records every step as an event.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

from .errors import DomainError, ErrorCode
from .ids import ParticipantId

__all__ = [
    "Control",
    "ControlChanged",
    "ControlEvent",
    "ControlOffered",
    "ControlPolicy",
    "ControlRequested",
    "Offer",
    "OfferWithdrawn",
]


class ControlPolicy(str, Enum):
    """How typing relates to control."""

    # Whoever of the owners and co-workers typed last is in control, as in tmux's
    # `window-size latest`: no ceremony for a pair at one terminal. Today's behaviour.
    TYPING = "typing"
    # Control moves only by an accepted offer or an owner's override; someone else's typing is
    # refused while a holder is set (a structured handoff, where who acts must be unambiguous).
    EXPLICIT = "explicit"


@dataclass(frozen=True, slots=True)
class ControlChanged:
    participant: ParticipantId | None  # None: no one is in control


@dataclass(frozen=True, slots=True)
class ControlRequested:
    participant: ParticipantId


@dataclass(frozen=True, slots=True)
class ControlOffered:
    by: ParticipantId
    to: ParticipantId


@dataclass(frozen=True, slots=True)
class OfferWithdrawn:
    """The open offer is gone without being accepted (cancelled, declined, or moot)."""

    by: ParticipantId | None  # None: the system (a party lost the right to type, the end)
    to: ParticipantId


ControlEvent = ControlChanged | ControlRequested | ControlOffered | OfferWithdrawn


@dataclass(frozen=True, slots=True)
class Offer:
    by: ParticipantId
    to: ParticipantId


@dataclass(slots=True)
class Control:
    """The control state of one session. Records every step with `emit`."""

    emit: Callable[[ControlEvent], None]
    policy: ControlPolicy = ControlPolicy.TYPING
    holder: ParticipantId | None = None
    offer: Offer | None = None
    requests: list[ParticipantId] = field(default_factory=list)  # oldest first, no repeats

    def typed(self, pid: ParticipantId) -> bool:
        """`pid` (allowed to type) typed; True if control moved to them.

        Raises:
            DomainError: CONFLICT under `EXPLICIT` while someone else is in control.
        """
        if self.holder == pid:
            return False
        if self.policy is ControlPolicy.EXPLICIT and self.holder is not None:
            raise DomainError(
                ErrorCode.CONFLICT, "Someone else is in control: ask them to hand it over."
            )
        self._move(pid)
        return True

    def request(self, pid: ParticipantId) -> None:
        """`pid` asks for control (the holder and owners see the request)."""
        if pid != self.holder and pid not in self.requests:
            self.requests.append(pid)
            self.emit(ControlRequested(pid))

    def offer_to(self, by: ParticipantId, to: ParticipantId) -> None:
        """`by` (the holder or an owner) offers control to `to`; replaces an open offer."""
        if to == self.holder:
            raise DomainError(ErrorCode.CONFLICT, "They are already in control.")
        if to == by:
            raise DomainError(ErrorCode.CONFLICT, "Control cannot be offered to oneself.")
        if self.offer is not None:
            self._withdraw(by)
        self.offer = Offer(by, to)
        self.emit(ControlOffered(by, to))

    def accept(self, pid: ParticipantId) -> None:
        """`pid` accepts the offer made to them and is in control.

        Raises:
            DomainError: CONFLICT if no open offer names `pid`.
        """
        if self.offer is None or self.offer.to != pid:
            raise DomainError(ErrorCode.CONFLICT, "No one has offered you control.")
        self.offer = None
        self._move(pid)

    def withdraw(self, by: ParticipantId) -> None:
        """Cancel (by its maker) or decline (by its receiver) the open offer, if any."""
        if self.offer is not None:
            self._withdraw(by)

    def override(self, pid: ParticipantId) -> None:
        """An owner takes control at once, whatever the policy (an open offer to someone else
        is withdrawn by them; one to them is moot)."""
        if self.offer is not None and self.offer.to != pid:
            self._withdraw(pid)
        if self.holder != pid:
            self._move(pid)

    def release(self, pid: ParticipantId) -> None:
        """`pid` gives control up; no one is in control until someone takes it."""
        if self.holder == pid:
            self._move(None)

    def forget(self, pid: ParticipantId) -> None:
        """`pid` may no longer type (a viewer now, or removed): they hold and ask for nothing."""
        if self.offer is not None and pid in (self.offer.by, self.offer.to):
            self._withdraw(None)
        if pid in self.requests:
            self.requests.remove(pid)
        if self.holder == pid:
            self._move(None)

    def clear(self) -> None:
        """The session ended: no one is in control (the end itself is the event)."""
        self.holder, self.offer = None, None
        self.requests.clear()

    def _move(self, pid: ParticipantId | None) -> None:
        if self.offer is not None and self.offer.to == pid:
            self._withdraw(None)  # moot: they have control already
        self.holder = pid
        if pid in self.requests:
            self.requests.remove(pid)
        self.emit(ControlChanged(pid))

    def _withdraw(self, by: ParticipantId | None) -> None:
        assert self.offer is not None
        to, self.offer = self.offer.to, None
        self.emit(OfferWithdrawn(by, to))
