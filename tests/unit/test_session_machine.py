"""A property-based state machine over the session rules (SECURITY 48).

The machine keeps its own simple model of who holds which role and checks every outcome of
the core against it: one owner at every instant while active; input authorized only for
current owners and co-workers; no grant outlives the session; every change recorded as an event.
Control changing hands (typing, request/offer/accept, the owner's override) and the rules in
time (`tick`: an absent owner, the typing and denial throttles) are checked the same way, under
both control policies.
"""

from __future__ import annotations

from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, rule

from jupyter_sharedterm.core.errors import DomainError, ErrorCode
from jupyter_sharedterm.core.invites import SecretHasher
from jupyter_sharedterm.core.limits import SessionLimits
from jupyter_sharedterm.core.roles import Role
from jupyter_sharedterm.core.session import (
    ConnectionChanged,
    ControlChanged,
    ControlOffered,
    ControlPolicy,
    ControlRequested,
    Denied,
    Ended,
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
    Timers,
    Typing,
)

PEOPLE = [f"user:{n}" for n in ("bob", "carol", "dave", "erin")] + ["guest:g1", "guest:g2"]
HASHER = SecretHasher(b"k" * 32)
TIMERS = Timers(owner_grace=60.0, typing_interval=0.5, denial_interval=1.0)
WRITERS = (Role.OWNER, Role.COWORKER)
# Small bounds, so that a few steps reach every one of them.
LIMITS = SessionLimits(
    max_participants=4,
    guest_joins_per_address=1,  # one new guest per link a minute (the machine's guests share
    guest_join_interval=60.0,  # one address)
    sockets_per_participant=2,
    questions_burst=2,
    questions_per_minute=2.0,
    questions_kept=4,
    questions_kept_per_participant=2,
)


class SessionMachine(RuleBasedStateMachine):
    invites = Bundle("invites")
    policy = ControlPolicy.TYPING

    def __init__(self) -> None:
        super().__init__()
        self.now = 1000.0
        self.session = Session.start(
            owner_identity="user:alice",
            owner_name="Alice",
            title="t",
            transport="memory",
            now=self.now,
            timers=TIMERS,
            control=self.policy,
            limits=LIMITS,
        )
        owner = self.session.find("user:alice")
        assert owner is not None
        self.roles: dict[str, Role] = {owner.id: Role.OWNER}  # the model: current participants
        self.banned: set[str] = set()
        self.connections: dict[str, int] = {owner.id: 0}
        self.active = True
        self.grants_after_end = 0
        self.ticked: float | None = None  # the model of time: the last tick
        self.away_since: float | None = None
        self.away_told = False
        self.typed_at: dict[str, float] = {}
        self.denied_at: dict[str, float] = {}
        self.guest_admitted_at: dict[str, float] = {}  # per link: the last new guest it let in
        self.session.drain_events()

    # --- helpers ---------------------------------------------------------------------------

    def pids(self) -> list[str]:
        return sorted(self.roles)

    def events(self) -> list[Any]:
        return self.session.drain_events()

    def expect_refusal(self, call: Any, code: ErrorCode | None = None) -> None:
        try:
            call()
        except DomainError as e:
            assert code is None or e.code is code, (e.code, code)
        else:
            raise AssertionError("expected a refusal")
        for event in self.events():  # a refusal changes nothing; it may only record the denial
            assert isinstance(event, Denied), event
            # ...and at most one per participant per denial interval (the audit log's flood cap)
            last = self.denied_at.get(event.participant)
            if self.ticked is not None:
                assert last is None or self.ticked - last >= TIMERS.denial_interval
                self.denied_at[event.participant] = self.ticked

    def pick(self, index: int) -> Any:
        return self.pids()[index % len(self.pids())]

    def writer(self, pid: Any) -> bool:
        return self.active and self.roles[pid] in WRITERS

    # --- rules -------------------------------------------------------------------------------

    @initialize(target=invites, role=st.sampled_from([Role.VIEWER, Role.COWORKER]))
    def first_invite(self, role: Role) -> Any:
        """Every run starts with a link, so that joins (and the bounds behind them) are reached
        early in most runs rather than after a lucky create_invite."""
        return self.create_invite(0, role, None)

    @rule(
        target=invites,
        actor=st.integers(0, 9),
        role=st.sampled_from([Role.VIEWER, Role.COWORKER]),
        max_uses=st.sampled_from([None, 1, 2]),
    )
    def create_invite(self, actor: int, role: Role, max_uses: int | None) -> Any:
        pid = self.pids()[actor % len(self.pids())]
        call = lambda: self.session.create_invite(
            pid, role=role, expires_in=60, max_uses=max_uses, now=self.now, hasher=HASHER
        )
        if self.active and self.roles[pid] is Role.OWNER:
            invite, secret = call()
            assert self.events() == [InviteCreated(invite.id, role, pid)]
            return (invite.id, secret, role)
        self.expect_refusal(call)
        return ("never-issued", "x" * 43, role)

    @rule(invite=invites, actor=st.integers(0, 9))
    def revoke(self, invite: Any, actor: int) -> None:
        pid = self.pids()[actor % len(self.pids())]
        call = lambda: self.session.revoke_invite(pid, invite[0])
        if self.active and self.roles[pid] is Role.OWNER and invite[0] != "never-issued":
            already = self.session.invites[invite[0]].revoked
            call()
            assert self.events() == ([] if already else [InviteRevoked(invite[0], pid)])
        else:
            self.expect_refusal(call)

    @rule(invite=invites, who=st.sampled_from(PEOPLE), right_secret=st.booleans())
    def redeem(self, invite: Any, who: str, right_secret: bool) -> None:
        iid, secret, role = invite
        secret = secret if right_secret else secret[:-1] + ("A" if secret[-1] != "A" else "B")
        existing = self.session.find(who)
        real = self.session.invites.get(iid)
        call = lambda: self.session.redeem(
            iid,
            secret,
            identity=who,
            name=who,
            now=self.now,
            kind=Kind.GUEST if who.startswith("guest") else Kind.USER,
            hasher=HASHER,
        )
        if real is None or not right_secret:
            self.expect_refusal(call, ErrorCode.NOT_FOUND)
            return
        if not self.active:
            self.expect_refusal(call, ErrorCode.GONE)
            return
        if not real.usable(self.now):
            self.expect_refusal(call, ErrorCode.NOT_FOUND)
            return
        if who in self.banned:
            self.expect_refusal(call, ErrorCode.FORBIDDEN)
            return
        if existing is None and len(self.roles) >= LIMITS.max_participants:
            self.expect_refusal(call, ErrorCode.TOO_MANY)  # removed people do not count
            return
        last = self.guest_admitted_at.get(iid, -LIMITS.guest_join_interval)
        if (
            existing is None
            and who.startswith("guest")
            and self.now - last < LIMITS.guest_join_interval
        ):
            self.expect_refusal(call, ErrorCode.TOO_MANY)  # too many new guests, too fast
            return
        p = call()
        if existing is not None:
            assert p.id == existing.id and self.events() == []
            return
        if who.startswith("guest"):
            self.guest_admitted_at[iid] = self.now
        assert p.role is role and role is not Role.OWNER
        self.roles[p.id] = role
        self.connections[p.id] = 0
        assert self.events() == [Joined(p.id, role, iid)]

    @rule(invite=invites, crowd=st.permutations(PEOPLE))
    def crowd_joins(self, invite: Any, crowd: list[str]) -> None:
        """Everyone tries one link at once (a link in a chat): caps and rates are reached."""
        for who in crowd:
            self.redeem(invite, who, True)

    @rule(actor=st.integers(0, 9), subject=st.integers(0, 9), role=st.sampled_from(list(Role)))
    def set_role(self, actor: int, subject: int, role: Role) -> None:
        a, t = self.pids()[actor % len(self.pids())], self.pids()[subject % len(self.pids())]
        call = lambda: self.session.set_role(a, t, role)
        if not self.active or self.roles[a] is not Role.OWNER:
            self.expect_refusal(call)
            return
        old = self.roles[t]
        owners = sum(r is Role.OWNER for r in self.roles.values())
        if old is Role.OWNER and role is not Role.OWNER and owners == 1:
            self.expect_refusal(call, ErrorCode.CONFLICT)
            return
        driver = self.session.driver
        offer = self.session.control.offer
        links = self.links_of(t) if old is Role.OWNER and role is not Role.OWNER else []
        call()
        self.roles[t] = role
        events = self.events()
        if old is role:
            assert events == []
        else:
            assert events[0] == RoleChanged(t, old, role, a)
            demoted = role is Role.VIEWER
            withdrawn = demoted and offer is not None and t in (offer.by, offer.to)
            # An owner who is no longer one takes their links along; one who may no longer
            # type holds and is offered nothing.
            assert events[1:] == [InviteRevoked(i, a) for i in links] + (
                ([OfferWithdrawn(None, offer.to)] if withdrawn and offer else [])
                + ([ControlChanged(None)] if demoted and driver == t else [])
            )

    @rule(actor=st.integers(0, 9), subject=st.integers(0, 9))
    def remove(self, actor: int, subject: int) -> None:
        a, t = self.pids()[actor % len(self.pids())], self.pids()[subject % len(self.pids())]
        call = lambda: self.session.remove(a, t)
        if not self.active or self.roles[a] is not Role.OWNER:
            self.expect_refusal(call)
            return
        owners = sum(r is Role.OWNER for r in self.roles.values())
        if self.roles[t] is Role.OWNER and owners == 1:
            self.expect_refusal(call, ErrorCode.CONFLICT)
            return
        identity = self.session.participants[t].identity  # type: ignore[index]
        call()
        del self.roles[t]
        self.connections.pop(t)
        self.banned.add(identity)
        assert self.events()[0] == Removed(t, a)  # type: ignore[arg-type]

    @rule(who=st.integers(0, 9), open_=st.booleans())
    def connect(self, who: int, open_: bool) -> None:
        pid = self.pids()[who % len(self.pids())]
        if open_:
            if not self.active:
                self.expect_refusal(lambda: self.session.connect(pid), ErrorCode.GONE)  # type: ignore[arg-type]
                self.grants_after_end += 0
                return
            if self.connections[pid] >= LIMITS.sockets_per_participant:
                self.expect_refusal(lambda: self.session.connect(pid), ErrorCode.TOO_MANY)  # type: ignore[arg-type]
                return
            self.session.connect(pid)  # type: ignore[arg-type]
            self.connections[pid] += 1
            expected = [ConnectionChanged(pid, True)] if self.connections[pid] == 1 else []  # type: ignore[arg-type]
        else:
            self.session.disconnect(pid)  # type: ignore[arg-type]
            was = self.connections[pid]
            self.connections[pid] = max(0, was - 1) if self.active else 0
            expected = [ConnectionChanged(pid, False)] if self.active and was == 1 else []  # type: ignore[arg-type]
        assert self.events() == expected

    @rule(who=st.integers(0, 9), reply=st.booleans())
    def stdin(self, who: int, reply: bool) -> None:
        pid = self.pick(who)
        before = self.session.driver
        # A terminal's automatic reply (a cursor position report) or a keystroke.
        text = "\x1b[3;4R" if reply else "x"
        call = lambda: self.session.type(pid, text, self.now)
        if reply and before != pid:
            assert call() == ""  # only the terminal in control answers; others' are dropped
            assert self.events() == []
            return
        if not self.writer(pid):
            self.expect_refusal(call)
            return
        if self.policy is ControlPolicy.EXPLICIT and before not in (None, pid):
            self.expect_refusal(call, ErrorCode.CONFLICT)
            return
        offer = self.session.control.offer
        assert call() == text
        assert self.session.driver == pid
        expected: list[Any] = []
        if before != pid:  # control moved; an offer to them is moot
            moot = offer is not None and offer.to == pid
            expected = [OfferWithdrawn(None, pid)] if moot else []
            expected.append(ControlChanged(pid))
        last = self.typed_at.get(pid)
        if not reply and (last is None or self.now - last >= TIMERS.typing_interval):
            expected.append(Typing(pid))
            self.typed_at[pid] = self.now
        assert self.events() == expected

    @rule(who=st.integers(0, 9))
    def request_control(self, who: int) -> None:
        pid = self.pick(who)
        call = lambda: self.session.request_control(pid)
        if not self.writer(pid):
            self.expect_refusal(call)
            return
        already = pid in self.session.control.requests or pid == self.session.driver
        call()
        assert self.events() == ([] if already else [ControlRequested(pid)])

    @rule(actor=st.integers(0, 9), to=st.integers(0, 9))
    def offer_control(self, actor: int, to: int) -> None:
        a, t = self.pick(actor), self.pick(to)
        call = lambda: self.session.offer_control(a, t)
        may_offer = self.writer(a) and (a == self.session.driver or self.roles[a] is Role.OWNER)
        if not may_offer:
            self.expect_refusal(call, None if self.active else ErrorCode.GONE)
            return
        if self.roles[t] not in WRITERS or t in (a, self.session.driver):
            self.expect_refusal(call, ErrorCode.CONFLICT)
            return
        open_offer = self.session.control.offer
        call()
        withdrawn = [OfferWithdrawn(a, open_offer.to)] if open_offer else []
        assert self.events() == [*withdrawn, ControlOffered(a, t)]

    @rule(who=st.integers(0, 9))
    def accept_control(self, who: int) -> None:
        pid = self.pick(who)
        call = lambda: self.session.accept_control(pid)
        offer = self.session.control.offer
        if not self.writer(pid):
            self.expect_refusal(call)
            return
        if offer is None or offer.to != pid:
            self.expect_refusal(call, ErrorCode.CONFLICT)
            return
        call()
        assert self.session.driver == pid and self.session.control.offer is None
        assert self.events() == [ControlChanged(pid)]

    @rule(who=st.integers(0, 9))
    def withdraw_offer(self, who: int) -> None:
        pid = self.pick(who)
        call = lambda: self.session.withdraw_offer(pid)
        offer = self.session.control.offer
        if not self.writer(pid):
            self.expect_refusal(call)
            return
        if offer is None:
            call()
            assert self.events() == []
            return
        if pid not in (offer.by, offer.to) and self.roles[pid] is not Role.OWNER:
            self.expect_refusal(call, ErrorCode.FORBIDDEN)
            return
        call()
        assert self.session.control.offer is None
        assert self.events() == [OfferWithdrawn(pid, offer.to)]

    @rule(who=st.integers(0, 9))
    def take_control(self, who: int) -> None:
        """The owner's override: control at once, whatever the policy and any open offer."""
        pid = self.pick(who)
        call = lambda: self.session.take_control(pid)
        if not (self.active and self.roles[pid] is Role.OWNER):
            self.expect_refusal(call)
            return
        before, offer = self.session.driver, self.session.control.offer
        call()
        assert self.session.driver == pid and self.session.control.offer is None
        expected: list[Any] = []
        if offer is not None:  # withdrawn by the owner, or moot if it was to them
            expected.append(OfferWithdrawn(None if offer.to == pid else pid, offer.to))
        assert self.events() == expected + ([ControlChanged(pid)] if before != pid else [])

    @rule(who=st.integers(0, 9))
    def release_control(self, who: int) -> None:
        pid = self.pick(who)
        call = lambda: self.session.release_control(pid)
        if not self.writer(pid):
            self.expect_refusal(call)
            return
        before = self.session.driver
        call()
        if before == pid:
            assert self.session.driver is None
            assert self.events() == [ControlChanged(None)]
        else:
            assert self.session.driver == before and self.events() == []

    @rule(who=st.integers(0, 9), rows=st.integers(1, 500), cols=st.integers(1, 1000))
    def resize(self, who: int, rows: int, cols: int) -> None:
        pid = self.pids()[who % len(self.pids())]
        before = self.session.participants[pid].size  # type: ignore[index]
        applies = self.session.resize(pid, rows, cols)  # type: ignore[arg-type]
        writer = self.roles[pid] in (Role.OWNER, Role.COWORKER)
        assert applies == (self.active and writer and self.session.driver == pid)
        assert self.events() == []  # a size is not an event
        after = self.session.participants[pid].size  # type: ignore[index]
        # A writer's size is remembered for when they take control; a viewer's never is.
        assert after == ((rows, cols) if self.active and writer else before)

    @rule(actor=st.integers(0, 9))
    def end(self, actor: int) -> None:
        pid = self.pids()[actor % len(self.pids())]
        call = lambda: self.session.end(pid, "done")  # type: ignore[arg-type]
        if self.active and self.roles[pid] is Role.OWNER:
            call()
            self.active = False
            assert self.events() == [Ended("done", pid)]  # type: ignore[arg-type]
            for p in self.connections:
                self.connections[p] = 0
        else:
            self.expect_refusal(call)

    @rule(who=st.integers(0, 9))
    def ask(self, who: int) -> None:
        pid = self.pids()[who % len(self.pids())]
        before = list(self.session.questions)
        call = lambda: self.session.ask(pid, "why?\x1b[2J", self.now)  # type: ignore[arg-type]
        if not self.active:
            self.expect_refusal(call, ErrorCode.GONE)
            return
        try:
            q = call()
        except DomainError as e:
            assert e.code is ErrorCode.TOO_MANY, e.code
            assert self.events() == [] and self.session.questions == before
            return
        assert q.text == "why?[2J" and self.events() == [QuestionAsked(q)]
        gone = {p.id for p in self.session.participants.values() if p.removed}
        # Nobody's question made way for someone else's, unless answered or its asker removed.
        for old in before:
            if old.asked_by not in (pid, *gone) and not old.answered:
                assert old in self.session.questions, "another participant's question was evicted"

    @rule(who=st.integers(0, 9), pick=st.integers(0, 9))
    def answer(self, who: int, pick: int) -> None:
        if not self.session.questions:
            return
        pid = self.pids()[who % len(self.pids())]
        q = self.session.questions[pick % len(self.session.questions)]
        call = lambda: self.session.answer(pid, q.id)  # type: ignore[arg-type]
        if self.active and self.roles[pid] in (Role.OWNER, Role.COWORKER):
            call()
            assert self.events() == ([] if q.answered else [QuestionAnswered(q.id, pid)])  # type: ignore[arg-type]
        else:
            self.expect_refusal(call)

    @rule(rounds=st.integers(1, 3))
    def everyone_asks(self, rounds: int) -> None:
        """A busy room: every participant asks, a few times (the kept list fills up)."""
        for _ in range(rounds):
            for who in range(len(self.pids())):
                self.ask(who)

    @rule(seconds=st.sampled_from([1.0, 30.0, 61.0]))
    def wait(self, seconds: float) -> None:
        """Time passes; the session is told (`tick`) and applies the owner-absent rule."""
        self.now += seconds
        self.ticked = self.now
        self.session.tick(self.now)
        expected: list[Any] = []
        owners_on = any(self.connections[p] for p, r in self.roles.items() if r is Role.OWNER)
        if not self.active:
            pass
        elif owners_on:
            if self.away_since is not None:
                self.away_since = None
                expected = [OwnerBack()] if self.away_told else []
        elif self.away_since is None:
            self.away_since = self.now
            self.away_told = any(self.connections.values())
            expected = [OwnerAway(TIMERS.owner_grace)]
        elif self.now - self.away_since >= TIMERS.owner_grace:
            expected = [Ended("No owner returned to the session.", None)]
            self.active = False
            self.connections = dict.fromkeys(self.connections, 0)
        assert self.events() == expected

    def links_of(self, pid: str) -> list[str]:
        return [
            i.id for i in self.session.invites.values() if i.created_by == pid and not i.revoked
        ]

    # --- invariants --------------------------------------------------------------------------

    @invariant()
    def every_bound_holds_and_removal_gives_it_back(self) -> None:
        s = self.session
        assert len(s.current()) <= LIMITS.max_participants
        assert all(p.connections <= LIMITS.sockets_per_participant for p in s.current())
        assert len(s.questions) <= LIMITS.questions_kept
        for pid in {q.asked_by for q in s.questions}:
            mine = sum(q.asked_by == pid for q in s.questions)
            assert mine <= LIMITS.questions_kept_per_participant
        for invite in s.invites.values():  # a use is taken by each current person it admitted
            admitted = [p for p in s.current() if p.via_invite == invite.id]
            assert invite.uses == len(admitted)

    @invariant()
    def a_link_lives_only_while_its_maker_is_an_owner(self) -> None:
        for invite in self.session.invites.values():
            if invite.usable(self.now):
                assert self.roles.get(invite.created_by) is Role.OWNER

    @invariant()
    def model_matches_the_core(self) -> None:
        current = {p.id: p.role for p in self.session.current()}
        assert current == self.roles
        assert self.session.active == self.active

    @invariant()
    def at_least_one_owner_while_active(self) -> None:
        if self.session.active:
            assert self.session.owners()

    @invariant()
    def only_writers_control_the_terminal(self) -> None:
        driver = self.session.driver
        if driver is not None:
            assert self.roles[driver] in (Role.OWNER, Role.COWORKER)

    @invariant()
    def control_is_consistent(self) -> None:
        """An open offer and every request name current writers; the holder asks for nothing."""
        control = self.session.control
        offer = control.offer
        if offer is not None:
            assert self.roles[offer.by] in WRITERS and self.roles[offer.to] in WRITERS
            assert offer.to != control.holder
        assert all(self.roles[p] in WRITERS for p in control.requests)
        assert control.holder not in control.requests
        assert len(set(control.requests)) == len(control.requests)

    @invariant()
    def no_grant_outlives_the_session(self) -> None:
        if not self.session.active:
            assert not any(i.usable(self.now) for i in self.session.invites.values())
            assert all(p.connections == 0 for p in self.session.participants.values())
            assert self.session.driver is None
            assert self.session.control.offer is None and not self.session.control.requests


class ExplicitControlMachine(SessionMachine):
    """The same rules with control moving only by offer/accept or override, never by typing."""

    policy = ControlPolicy.EXPLICIT


TestSessionMachine = SessionMachine.TestCase
TestSessionMachine.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)
TestExplicitControlMachine = ExplicitControlMachine.TestCase
TestExplicitControlMachine.settings = TestSessionMachine.settings
