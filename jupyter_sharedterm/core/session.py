"""A shared session: its participants, their roles, who is in control, invites and questions.

Every method that changes state checks permission first and records what happened as an
event; the runtime drains the events to tell participants, write the audit log and close
sockets. Nothing here does I/O, so the rules can be tested (and model-checked) on their own.
Rules in time (an absent owner's grace, the typing and denial throttles) run on the monotonic
clock the runtime passes in (`tick(now)`, `type(..., now)`): the session never reads a clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Final

from .control import (
    Control,
    ControlChanged,
    ControlEvent,
    ControlOffered,
    ControlPolicy,
    ControlRequested,
    OfferWithdrawn,
)
from .errors import DomainError, ErrorCode
from .ids import InviteId, ParticipantId, QuestionId, SessionId, new_id
from .invites import Invite, SecretHasher
from .limits import KeyedBuckets, SessionLimits, TokenBucket
from .names import clean_name, clean_text, distinct_name
from .reports import strip_reports
from .roles import Action, Role, may

__all__ = [
    "BAD_LINK",
    "MAX_ACTIVE_INVITES",
    "ConnectionChanged",
    "ControlChanged",
    "ControlOffered",
    "ControlPolicy",
    "ControlRequested",
    "Denied",
    "Ended",
    "Event",
    "InviteCreated",
    "InviteRevoked",
    "Joined",
    "Kind",
    "OfferWithdrawn",
    "OwnerAway",
    "OwnerBack",
    "Participant",
    "Question",
    "QuestionAnswered",
    "QuestionAsked",
    "Removed",
    "RoleChanged",
    "Session",
    "Timers",
    "Typing",
]

MAX_ACTIVE_INVITES: Final = 50
MAX_TITLE_CHARS: Final = 200
# Addresses remembered per session for the guest joins limit (least recent forgotten first).
_TRACKED_JOIN_ADDRESSES: Final = 4096

# One answer for every unusable link, so expired, revoked, used-up and never-issued look alike.
BAD_LINK: Final = (
    "This invite link is not valid: it may have expired or been revoked. "
    "Ask the session owner for a new one."
)
_DENIED: Final = {
    Action.TYPE: "Viewers cannot type in this terminal. Ask the owner to make you a co-worker.",
    Action.RESIZE: "Only co-workers and owners can resize the terminal.",
    Action.ASK: "You cannot ask questions in this session.",
    Action.ANSWER: "Only co-workers and owners can mark questions answered.",
    Action.MANAGE: "Only an owner of this session can do that.",
}


class Kind(str, Enum):
    USER = "user"  # a signed-in Jupyter user
    GUEST = "guest"  # someone with no Jupyter identity, admitted by a guest link


@dataclass(slots=True)
class Participant:
    id: ParticipantId
    identity: str  # "user:NAME" or "guest:ID"; one participant per identity per session
    name: str
    kind: Kind
    role: Role
    joined_at: float
    via_invite: InviteId | None = None
    connections: int = 0
    removed: bool = False
    size: tuple[int, int] | None = None  # the size this participant's terminal asks for
    address: str | None = None  # the client address they joined from (for the audit log)

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "role": self.role.value,
            "kind": self.kind.value,
            "connected": self.connections > 0,
        }


@dataclass(frozen=True, slots=True)
class Question:
    id: QuestionId
    asked_by: ParticipantId
    name: str
    text: str
    asked_at: float
    answered: bool = False

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "from": self.asked_by,
            "name": self.name,
            "text": self.text,
            "at": self.asked_at,
            "answered": self.answered,
        }


# --- events: what happened, for the runtime to announce, audit and act on ----------------------


@dataclass(frozen=True, slots=True)
class Joined:
    participant: ParticipantId
    role: Role
    via_invite: InviteId | None


@dataclass(frozen=True, slots=True)
class RoleChanged:
    participant: ParticipantId
    old: Role
    new: Role
    by: ParticipantId


@dataclass(frozen=True, slots=True)
class Removed:
    participant: ParticipantId
    by: ParticipantId


@dataclass(frozen=True, slots=True)
class ConnectionChanged:
    participant: ParticipantId
    connected: bool


@dataclass(frozen=True, slots=True)
class Denied:
    participant: ParticipantId
    action: Action


@dataclass(frozen=True, slots=True)
class Ended:
    reason: str
    by: ParticipantId | None


@dataclass(frozen=True, slots=True)
class InviteCreated:
    invite: InviteId
    role: Role
    by: ParticipantId


@dataclass(frozen=True, slots=True)
class InviteRevoked:
    invite: InviteId
    by: ParticipantId


@dataclass(frozen=True, slots=True)
class QuestionAsked:
    question: Question


@dataclass(frozen=True, slots=True)
class QuestionAnswered:
    question: QuestionId
    by: ParticipantId


@dataclass(frozen=True, slots=True)
class Typing:
    """`participant` is typing (at most one per participant per `Timers.typing_interval`)."""

    participant: ParticipantId


@dataclass(frozen=True, slots=True)
class OwnerAway:
    """No owner is connected: the session ends in `grace` seconds unless one returns."""

    grace: float


@dataclass(frozen=True, slots=True)
class OwnerBack:
    """An owner connected again while others were there to be told they had gone."""


Event = (
    Joined
    | RoleChanged
    | Removed
    | ConnectionChanged
    | ControlEvent
    | Typing
    | OwnerAway
    | OwnerBack
    | Denied
    | Ended
    | InviteCreated
    | InviteRevoked
    | QuestionAsked
    | QuestionAnswered
)


@dataclass(frozen=True, slots=True)
class Timers:
    """The session's rules in time (seconds, measured on the clock given to `tick`)."""

    owner_grace: float = 300.0  # a session lives on this long with no owner connected
    typing_interval: float = 0.5  # at most one Typing event per participant per interval
    # A flooding viewer must not flood the audit log: one Denied per participant per interval.
    denial_interval: float = 1.0


@dataclass(slots=True)
class Session:
    """The rules of one shared terminal.

    Invariants (checked by the property tests): an active session has at least one owner;
    only current owners and co-workers are authorized to type; nothing is granted after the
    session ended; every change is recorded as an event.

    Control (see `core/control.py`): only the terminal of the participant in control sets the
    PTY size and answers terminal queries; it starts with the owner who created the session.
    Under the default policy it then passes to the owner or co-worker who typed last.
    """

    id: SessionId
    title: str
    transport: str
    created_at: float
    participants: dict[ParticipantId, Participant] = field(default_factory=dict)
    invites: dict[InviteId, Invite] = field(default_factory=dict)
    questions: list[Question] = field(default_factory=list)
    ended: Ended | None = None
    timers: Timers = field(default_factory=Timers)
    limits: SessionLimits = field(default_factory=SessionLimits)
    control: Control = field(init=False)
    _banned: set[str] = field(default_factory=set)
    _events: list[Event] = field(default_factory=list)
    _guest_joins: KeyedBuckets | None = None  # per "link address", see SessionLimits
    _asking: dict[ParticipantId, TokenBucket] = field(default_factory=dict)
    _now: float | None = None  # the last tick; None before the first
    _owners_away_since: float | None = None
    _owners_away_told: bool = False
    _typing_at: dict[ParticipantId, float] = field(default_factory=dict)
    _denied_at: dict[ParticipantId, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.control = Control(self._events.append)

    @classmethod
    def start(
        cls,
        *,
        owner_identity: str,
        owner_name: str,
        title: str,
        transport: str,
        now: float,
        timers: Timers | None = None,
        control: ControlPolicy = ControlPolicy.TYPING,
        limits: SessionLimits | None = None,
    ) -> Session:
        """A new active session whose creator is its owner and in control."""
        session = cls(
            id=SessionId(new_id()),
            # The owner (or, for an ad-hoc device, the address they typed) names it for everyone.
            title=" ".join(clean_text(title).split())[:MAX_TITLE_CHARS],
            transport=transport,
            created_at=now,
            timers=timers or Timers(),
            limits=limits or SessionLimits(),
        )
        owner = session._admit(owner_identity, owner_name, Kind.USER, Role.OWNER, now, None, None)
        session.control.policy = control
        session.control.holder = owner.id
        return session

    # --- queries -------------------------------------------------------------------------------

    @property
    def active(self) -> bool:
        return self.ended is None

    @property
    def driver(self) -> ParticipantId | None:
        """The participant in control, if any."""
        return self.control.holder

    def participant(self, pid: ParticipantId) -> Participant:
        """A current (not removed) participant; NOT_FOUND otherwise."""
        found = self.participants.get(pid)
        if found is None or found.removed:
            raise DomainError(ErrorCode.NOT_FOUND, "No such participant in this session.")
        return found

    def find(self, identity: str) -> Participant | None:
        """The current participant with this identity, if any."""
        for p in self.participants.values():
            if p.identity == identity and not p.removed:
                return p
        return None

    def is_banned(self, identity: str) -> bool:
        return identity in self._banned

    def owners(self) -> list[Participant]:
        return [p for p in self.current() if p.role is Role.OWNER]

    def current(self) -> list[Participant]:
        return [p for p in self.participants.values() if not p.removed]

    def may(self, pid: ParticipantId, action: Action) -> bool:
        p = self.participants.get(pid)
        return p is not None and not p.removed and self.active and may(p.role, action)

    def describe(self, viewer: ParticipantId, now: float) -> dict[str, Any]:
        """The session as `viewer` may see it; invites only for owners."""
        me = self.participant(viewer)
        model: dict[str, Any] = {
            "id": self.id,
            "title": self.title,
            "transport": self.transport,
            "state": "active" if self.active else "ended",
            "created_at": self.created_at,
            "participants": [p.describe() for p in self.current()],
            "driver": self.driver,
            "you": {"participant": me.id, "role": me.role.value},
            "questions": [q.describe() for q in self.questions],
        }
        if self.ended is not None:
            model["end_reason"] = self.ended.reason
        if me.role is Role.OWNER:
            model["invites"] = [i.describe(now) for i in self.invites.values()]
        return model

    def drain_events(self) -> list[Event]:
        """Everything that happened since the last call, oldest first."""
        events = list(self._events)
        self._events.clear()  # the same list: `control` records into it too
        return events

    # --- membership ------------------------------------------------------------------------------

    def redeem(
        self,
        invite_id: str,
        secret: str,
        *,
        identity: str,
        name: str,
        kind: Kind,
        now: float,
        hasher: SecretHasher,
        address: str | None = None,
    ) -> Participant:
        """Join through an invite. A person already in the session gets their existing place.

        `name` is cleaned here, whatever its source. `address` is the client's network address:
        new guests per link per address are limited (see `SessionLimits`), and it is kept for
        the audit log.
        """
        invite = self.invites.get(InviteId(invite_id))
        if invite is None:
            hasher.digest(secret)  # the same work as a real check: timing tells no ids apart
            valid = False
        else:
            valid = invite.matches(hasher, secret)
        # Only a holder of the secret learns that the session ended (an invite id alone is
        # no secret: it is in the link's path).
        if invite is None or not valid:
            raise DomainError(ErrorCode.NOT_FOUND, BAD_LINK)
        if not self.active:
            raise DomainError(ErrorCode.GONE, "This session has ended.")
        if not invite.usable(now):
            raise DomainError(ErrorCode.NOT_FOUND, BAD_LINK)
        if self.is_banned(identity):
            raise DomainError(ErrorCode.FORBIDDEN, "You were removed from this session.")
        existing = self.find(identity)
        if existing is not None:
            return existing
        if len(self.current()) >= self.limits.max_participants:
            raise DomainError(ErrorCode.TOO_MANY, "This session is full.")
        if kind is Kind.GUEST and not self._guest_join_allowed(invite.id, address, now):
            raise DomainError(
                ErrorCode.TOO_MANY,
                "Many guests have just joined through this link from your network. "
                "Wait a minute, then try again.",
            )
        invite.uses += 1
        return self._admit(identity, name, kind, invite.role, now, invite.id, address)

    def set_role(self, actor: ParticipantId, target: ParticipantId, role: Role) -> None:
        """Change someone's role; it applies to their next frame."""
        self.authorize(actor, Action.MANAGE)
        p = self.participant(target)
        if p.role is role:
            return
        if p.role is Role.OWNER and len(self.owners()) == 1:
            raise DomainError(
                ErrorCode.CONFLICT,
                "A session needs at least one owner: make someone else an owner first.",
            )
        old, p.role = p.role, role
        self._events.append(RoleChanged(p.id, old, role, actor))
        if old is Role.OWNER:
            self._revoke_invites_of(p.id, actor)
        if not may(role, Action.TYPE):
            self.control.forget(p.id)

    def remove(self, actor: ParticipantId, target: ParticipantId) -> None:
        """Remove someone: their sockets close and their identity cannot rejoin this session.

        A removed guest's link is revoked too: a guest has no identity to ban but the link.
        What removal gives back: their place in the session and the use of the link they came
        through. What it takes: the links they made as an owner.
        """
        self.authorize(actor, Action.MANAGE)
        p = self.participant(target)
        if p.role is Role.OWNER and len(self.owners()) == 1:
            raise DomainError(
                ErrorCode.CONFLICT, "The last owner cannot be removed: end the session instead."
            )
        p.removed = True
        p.connections = 0
        self._banned.add(p.identity)
        self._events.append(Removed(p.id, actor))
        via = self.invites.get(p.via_invite) if p.via_invite is not None else None
        if via is not None and via.uses > 0:
            via.uses -= 1  # the place they took is free again
        if p.kind is Kind.GUEST and via is not None and not via.revoked:
            # A guest's only lasting credential is the link: the removal sticks only if it dies.
            via.revoked = True
            self._events.append(InviteRevoked(via.id, actor))
        self._revoke_invites_of(p.id, actor)
        self._asking.pop(p.id, None)
        self._typing_at.pop(p.id, None)  # nothing is kept about removed people
        self._denied_at.pop(p.id, None)
        self.control.forget(p.id)

    def check_connect(self, pid: ParticipantId) -> Participant:
        """Whether `pid` may open one more socket (refuse before a websocket upgrade).

        Raises GONE (ended), NOT_FOUND, or TOO_MANY past `sockets_per_participant`.
        """
        if not self.active:
            raise DomainError(ErrorCode.GONE, "This session has ended.")
        p = self.participant(pid)
        if p.connections >= self.limits.sockets_per_participant:
            raise DomainError(
                ErrorCode.TOO_MANY,
                f"You have this session open {p.connections} times already: "
                "close a window of it first.",
            )
        return p

    def connect(self, pid: ParticipantId) -> Participant:
        """A socket of `pid` opened (refused as `check_connect` says)."""
        p = self.check_connect(pid)
        p.connections += 1
        if p.connections == 1:
            self._events.append(ConnectionChanged(pid, True))
        return p

    def disconnect(self, pid: ParticipantId) -> None:
        """A socket of `pid` closed (removed participants are already at zero)."""
        p = self.participants.get(pid)
        if p is None or p.removed or p.connections == 0:
            return
        p.connections -= 1
        if p.connections == 0:
            self._events.append(ConnectionChanged(pid, False))

    def owners_connected(self) -> bool:
        for p in self.participants.values():  # a plain loop: `tick` runs on every keystroke
            if p.connections and p.role is Role.OWNER and not p.removed:
                return True
        return False

    # --- time ---------------------------------------------------------------------------------

    def tick(self, now: float) -> None:
        """Advance the session's clock to `now` (monotonic seconds) and apply the rules in time.

        Owner-absent policy: while active with no owner connected, the session lives on for
        `timers.owner_grace` seconds (OwnerAway), then ends; an owner's return cancels that
        (OwnerBack, if anyone else was there to be told). Call it after every change and
        periodically; it costs a scan of the participants.
        """
        self._now = now
        if not self.active:
            return
        if self.owners_connected():
            if self._owners_away_since is not None:
                self._owners_away_since = None
                if self._owners_away_told:  # not when the owner merely connects the first time
                    self._events.append(OwnerBack())
        elif self._owners_away_since is None:
            self._owners_away_since = now
            self._owners_away_told = any(p.connections > 0 for p in self.participants.values())
            self._events.append(OwnerAway(self.timers.owner_grace))
        elif now - self._owners_away_since >= self.timers.owner_grace:
            self.end(None, "No owner returned to the session.")

    # --- the terminal ----------------------------------------------------------------------------

    def type(self, pid: ParticipantId, text: str, now: float) -> str:
        """Authorize input `text` from `pid` at `now` (the clock of `tick`); returns what to
        write to the terminal.

        Only the terminal in control answers terminal queries (one answer, not one per browser),
        so others' automatic replies are dropped: nothing is left to write ("") is not an error.
        Under the TYPING policy, real keystrokes take control; they are announced as Typing.

        Raises:
            DomainError: FORBIDDEN for viewers; CONFLICT when the policy keeps control elsewhere.
        """
        if not self.in_control(pid):
            text = strip_reports(text)
            if not text:
                return ""
        self.authorize(pid, Action.TYPE)
        if self.control.holder != pid:
            self.control.typed(pid)
        typed = strip_reports(text)  # a terminal's automatic replies are not typing
        last = self._typing_at.get(pid)
        if typed and (last is None or now - last >= self.timers.typing_interval):
            self._typing_at[pid] = now
            self._events.append(Typing(pid))
        return text

    # --- control changing hands ------------------------------------------------------------------

    def request_control(self, pid: ParticipantId) -> None:
        """A co-worker or owner asks for control."""
        self.authorize(pid, Action.TYPE)
        self.control.request(pid)

    def offer_control(self, actor: ParticipantId, to: ParticipantId) -> None:
        """The participant in control, or an owner, offers control to a co-worker or owner."""
        p = self.authorize(actor, Action.TYPE)
        if p.id != self.driver and p.role is not Role.OWNER:
            self._denied(p.id, Action.MANAGE)
            raise DomainError(
                ErrorCode.FORBIDDEN, "Only the participant in control or an owner can hand over."
            )
        target = self.participant(to)
        if not may(target.role, Action.TYPE):
            raise DomainError(ErrorCode.CONFLICT, "Make them a co-worker before handing over.")
        self.control.offer_to(p.id, target.id)

    def accept_control(self, pid: ParticipantId) -> None:
        """The receiver of an offer takes control."""
        self.authorize(pid, Action.TYPE)
        self.control.accept(pid)

    def withdraw_offer(self, actor: ParticipantId) -> None:
        """Its maker, its receiver or an owner cancels the open offer."""
        p = self.authorize(actor, Action.TYPE)
        offer = self.control.offer
        if offer is None:
            return
        if p.id not in (offer.by, offer.to) and p.role is not Role.OWNER:
            self._denied(p.id, Action.MANAGE)
            raise DomainError(ErrorCode.FORBIDDEN, _DENIED[Action.MANAGE])
        self.control.withdraw(p.id)

    def take_control(self, actor: ParticipantId) -> None:
        """An owner takes control at once, whatever the policy (the owner's override)."""
        self.authorize(actor, Action.MANAGE)
        self.control.override(actor)

    def release_control(self, pid: ParticipantId) -> None:
        """The participant in control gives it up."""
        self.authorize(pid, Action.TYPE)
        self.control.release(pid)

    def resize(self, pid: ParticipantId, rows: int, cols: int) -> bool:
        """Remember the size `pid`'s terminal asks for; True if it should apply to the PTY now.

        Viewers' sizes are ignored and never an error: their emulators send sizes on their own.
        """
        p = self.participant(pid)
        if not self.active or not may(p.role, Action.RESIZE):
            return False
        p.size = (rows, cols)
        return self.driver == pid

    def in_control(self, pid: ParticipantId) -> bool:
        """Whether `pid`'s terminal answers terminal queries and sets the size."""
        return self.driver == pid and self.may(pid, Action.TYPE)

    def ask(self, pid: ParticipantId, text: str, now: float) -> Question:
        """Post a question (cleaned of control and bidi characters) for everyone.

        Rate-limited per participant. The kept list is bounded, and one participant's questions
        never push out anyone else's: past their own share their oldest makes room; when the
        list is full, answered questions and those of removed people go first, and if there are
        none the question is refused.
        """
        p = self.authorize(pid, Action.ASK)
        text = clean_text(text)
        if not text.strip():
            raise DomainError(ErrorCode.INVALID, "A question needs a non-empty text.")
        limits = self.limits
        bucket = self._asking.setdefault(
            pid, TokenBucket(limits.questions_per_minute / 60.0, limits.questions_burst)
        )
        if not bucket.allows(now):
            raise DomainError(
                ErrorCode.TOO_MANY, "You are asking faster than others can read: wait a moment."
            )
        kept = self.questions
        mine = [q for q in kept if q.asked_by == pid]
        if len(mine) >= limits.questions_kept_per_participant:
            kept.remove(mine[0])
        elif len(kept) >= limits.questions_kept:
            gone = {x.id for x in self.participants.values() if x.removed}
            spare = next((q for q in kept if q.answered or q.asked_by in gone), None)
            if spare is None:
                raise DomainError(
                    ErrorCode.TOO_MANY,
                    "The session's list of questions is full: wait until some are answered.",
                )
            kept.remove(spare)
        bucket.take(now)
        q = Question(QuestionId(new_id()), p.id, p.name, text, now)
        kept.append(q)
        self._events.append(QuestionAsked(q))
        return q

    def answer(self, pid: ParticipantId, qid: str) -> None:
        self.authorize(pid, Action.ANSWER)
        for i, q in enumerate(self.questions):
            if q.id == qid:
                if not q.answered:
                    self.questions[i] = Question(q.id, q.asked_by, q.name, q.text, q.asked_at, True)
                    self._events.append(QuestionAnswered(q.id, pid))
                return
        raise DomainError(ErrorCode.NOT_FOUND, "No such question in this session.")

    # --- invites and the end ---------------------------------------------------------------------

    def create_invite(
        self,
        actor: ParticipantId,
        *,
        role: Role,
        expires_in: float | None,
        max_uses: int | None,
        now: float,
        hasher: SecretHasher,
    ) -> tuple[Invite, str]:
        """A new invite and its secret (shown once)."""
        self.authorize(actor, Action.MANAGE)
        if role is Role.OWNER:
            raise DomainError(
                ErrorCode.INVALID, "Invites make people viewers or co-workers, never owners."
            )
        if sum(i.usable(now) for i in self.invites.values()) >= MAX_ACTIVE_INVITES:
            raise DomainError(
                ErrorCode.TOO_MANY,
                f"This session already has {MAX_ACTIVE_INVITES} active invites: revoke some first.",
            )
        if max_uses is None:  # a link is bounded unless its owner says how far
            max_uses = self.limits.invite_default_uses
        invite, secret = Invite.issue(
            hasher, role=role, created_by=actor, now=now, expires_in=expires_in, max_uses=max_uses
        )
        self.invites[invite.id] = invite
        dead = [i.id for i in self.invites.values() if not i.usable(now)]
        for iid in dead[: max(0, len(self.invites) - self.limits.invites_kept)]:
            del self.invites[iid]  # an unknown link answers as a dead one does (404)
        self._events.append(InviteCreated(invite.id, role, actor))
        return invite, secret

    def revoke_invite(self, actor: ParticipantId, invite_id: str) -> None:
        self.authorize(actor, Action.MANAGE)
        invite = self.invites.get(InviteId(invite_id))
        if invite is None:
            raise DomainError(ErrorCode.NOT_FOUND, "No such invite in this session.")
        if not invite.revoked:
            invite.revoked = True
            self._events.append(InviteRevoked(invite.id, actor))

    def end(self, actor: ParticipantId | None, reason: str) -> None:
        """End the session. `actor` None means the system (the terminal exited, shutdown...)."""
        if actor is not None:
            self.authorize(actor, Action.MANAGE)
        if not self.active:
            return
        for invite in self.invites.values():
            invite.revoked = True
        for p in self.participants.values():
            p.connections = 0
        self.control.clear()
        self.ended = Ended(reason, actor)
        self._events.append(self.ended)

    # --- internals -------------------------------------------------------------------------------

    def authorize(self, pid: ParticipantId, action: Action) -> Participant:
        """The participant, if allowed `action`; otherwise records the denial, raises FORBIDDEN."""
        if not self.active:
            raise DomainError(ErrorCode.GONE, "This session has ended.")
        p = self.participant(pid)
        if not may(p.role, action):
            self._denied(pid, action)
            raise DomainError(ErrorCode.FORBIDDEN, _DENIED[action])
        return p

    def _denied(self, pid: ParticipantId, action: Action) -> None:
        # Throttled on the last tick's clock: a refusal has no `now` of its own.
        now, last = self._now, self._denied_at.get(pid)
        if now is None or last is None or now - last >= self.timers.denial_interval:
            if now is not None:
                self._denied_at[pid] = now
            self._events.append(Denied(pid, action))

    def _admit(
        self,
        identity: str,
        name: str,
        kind: Kind,
        role: Role,
        now: float,
        via: InviteId | None,
        address: str | None,
    ) -> Participant:
        guest = kind is Kind.GUEST
        shown = distinct_name(
            clean_name(name, "Guest" if guest else "Anonymous"),
            guest=guest,
            taken=(other.name for other in self.current()),
        )
        p = Participant(ParticipantId(new_id()), identity, shown, kind, role, now, via)
        p.address = address
        self.participants[p.id] = p
        self._events.append(Joined(p.id, role, via))
        return p

    def _guest_join_allowed(self, invite: InviteId, address: str | None, now: float) -> bool:
        limits = self.limits
        if self._guest_joins is None:
            self._guest_joins = KeyedBuckets(
                limits.guest_joins_per_address / limits.guest_join_interval,
                limits.guest_joins_per_address,
                _TRACKED_JOIN_ADDRESSES,
            )
        return self._guest_joins.take(f"{invite} {address}", now)

    def _revoke_invites_of(self, pid: ParticipantId, actor: ParticipantId) -> None:
        # A link is an owner's grant: it ends when its maker stops being an owner.
        for invite in self.invites.values():
            if invite.created_by == pid and not invite.revoked:
                invite.revoked = True
                self._events.append(InviteRevoked(invite.id, actor))
