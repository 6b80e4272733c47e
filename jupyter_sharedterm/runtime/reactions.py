"""What each session event means for the runtime: frames, the audit record, the recording marker.

One function per event type, in one table: adding an event is adding one function here (and,
if people should see it in a recording, its words in `core/markers.py`). The coordinator
(`live.LiveSession`) carries a `Reaction` out; taps see it next to the event.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from .. import protocol
from ..core.ids import ParticipantId
from ..core.markers import MarkerLabels
from ..core.session import (
    ConnectionChanged,
    ControlChanged,
    ControlOffered,
    ControlRequested,
    Denied,
    Ended,
    Event,
    InviteCreated,
    InviteRevoked,
    Joined,
    Kind,
    OfferWithdrawn,
    OwnerAway,
    OwnerBack,
    QuestionAnswered,
    QuestionAsked,
    Removed,
    RoleChanged,
    Session,
    Typing,
)

__all__ = ["Reaction", "Reactor", "react", "who"]

Body = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Reaction:
    """Everything the runtime does about one event (all optional)."""

    roster: bool = False  # the roster changed: everyone is sent the new one
    broadcast: protocol.ServerCtl | None = None  # a ctl body for everyone
    after_echo: bool = False  # send `broadcast` a moment later (after the keystroke's echo)
    notify: tuple[ParticipantId, protocol.ServerCtl] | None = None  # for one participant's sockets
    disconnect: tuple[ParticipantId, str] | None = None  # close their sockets (removed), reason
    audit: tuple[str, Body] | None = None  # (action, details); never terminal data
    marker: str | None = None  # a marker in the recordings (what people do, never what they type)
    reader: str | None = None  # an identity that may now open the session's recording
    unreader: str | None = None  # one that may not open what is recorded from now on
    end: str | None = None  # the session ended, for this reason


_E = TypeVar("_E")
_TABLE: dict[type, Callable[[Any, Session], Reaction]] = {}


def _on(kind: type[_E]) -> Callable[[Callable[[_E, Session], Reaction]], None]:
    def register(fn: Callable[[_E, Session], Reaction]) -> None:
        _TABLE[kind] = fn

    return register


def who(session: Session, pid: ParticipantId | None, key: str = "participant") -> Body:
    """Audit fields naming a participant: the Jupyter account, or the guest's label and the
    address it joined from (ids alone mean nothing once the process is gone). `key` prefixes
    the keys: "participant", "participant_account"; "by", "by_account"."""
    p = session.participants.get(pid) if pid is not None else None
    if p is None:
        return {key: pid}
    if p.kind is Kind.USER:
        return {key: pid, f"{key}_account": p.identity.partition(":")[2] or p.identity}
    return {key: pid, f"{key}_guest": p.name, f"{key}_address": p.address}


def react(event: Event, session: Session) -> Reaction:
    """What `event` of `session` means, its marker aside; every event type has one entry."""
    return _TABLE[type(event)](event, session)


class Reactor:
    """The reactions of one session, with their recording markers (whose words, and memory of
    who has arrived already, are `core.markers.MarkerLabels`)."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._markers = MarkerLabels()

    def react(self, event: Event) -> Reaction:
        reaction = react(event, self._session)
        label = self._markers.label(self._session, event)
        return reaction if label is None else dataclasses.replace(reaction, marker=label)


@_on(Joined)
def _joined(e: Joined, s: Session) -> Reaction:
    p = s.participants[e.participant]
    details = {**who(s, p.id), "role": e.role.value, "kind": p.kind.value}
    return Reaction(
        roster=True,
        audit=("join", {**details, "invite": e.via_invite}),
        reader=p.identity,
    )


@_on(RoleChanged)
def _role_changed(e: RoleChanged, s: Session) -> Reaction:
    details = {
        **who(s, e.participant),
        "old": e.old.value,
        "new": e.new.value,
        **who(s, e.by, "by"),
    }
    return Reaction(
        roster=True,
        notify=(e.participant, protocol.RoleUpdate(e.new)),
        audit=("role_change", details),
    )


@_on(Removed)
def _removed(e: Removed, s: Session) -> Reaction:
    return Reaction(
        roster=True,
        disconnect=(e.participant, "You were removed from this session."),
        audit=("remove", {**who(s, e.participant), **who(s, e.by, "by")}),
        # What happens from now on is not theirs to replay.
        unreader=s.participants[e.participant].identity,
    )


@_on(ConnectionChanged)
def _connection_changed(e: ConnectionChanged, s: Session) -> Reaction:
    return Reaction(
        roster=True,
        audit=("connect" if e.connected else "disconnect", who(s, e.participant)),
    )


@_on(ControlChanged)
def _control_changed(e: ControlChanged, s: Session) -> Reaction:
    return Reaction(roster=True)


# Control requests and offers have no wire message yet (the structured handoff, issue 14, adds
# them); they are handoff steps, so they are marked in the recording already (core/markers.py).
@_on(ControlRequested)
def _control_requested(e: ControlRequested, s: Session) -> Reaction:
    return Reaction()


@_on(ControlOffered)
def _control_offered(e: ControlOffered, s: Session) -> Reaction:
    return Reaction()


@_on(OfferWithdrawn)
def _offer_withdrawn(e: OfferWithdrawn, s: Session) -> Reaction:
    return Reaction()


@_on(Typing)
def _typing(e: Typing, s: Session) -> Reaction:
    return Reaction(broadcast=protocol.Typing(e.participant), after_echo=True)


@_on(OwnerAway)
def _owner_away(e: OwnerAway, s: Session) -> Reaction:
    message = f"No owner is connected; the session ends in {e.grace:g} s unless one returns."
    return Reaction(broadcast=protocol.Notice("owner_away", message))


@_on(OwnerBack)
def _owner_back(e: OwnerBack, s: Session) -> Reaction:
    message = "An owner is back."
    return Reaction(broadcast=protocol.Notice("owner_back", message))


@_on(Denied)
def _denied(e: Denied, s: Session) -> Reaction:
    return Reaction(audit=("deny", {**who(s, e.participant), "action": e.action.value}))


@_on(InviteCreated)
def _invite_created(e: InviteCreated, s: Session) -> Reaction:
    details = {"invite": e.invite, "role": e.role.value, **who(s, e.by, "by")}
    return Reaction(audit=("invite_create", details))


@_on(InviteRevoked)
def _invite_revoked(e: InviteRevoked, s: Session) -> Reaction:
    return Reaction(audit=("invite_revoke", {"invite": e.invite, **who(s, e.by, "by")}))


@_on(QuestionAsked)
def _question_asked(e: QuestionAsked, s: Session) -> Reaction:
    return Reaction(broadcast=protocol.QuestionPosted.of(e.question))


@_on(QuestionAnswered)
def _question_answered(e: QuestionAnswered, s: Session) -> Reaction:
    return Reaction(broadcast=protocol.QuestionAnswered(e.question, e.by))


@_on(Ended)
def _ended(e: Ended, s: Session) -> Reaction:
    return Reaction(audit=("end", {"reason": e.reason, **who(s, e.by, "by")}), end=e.reason)
