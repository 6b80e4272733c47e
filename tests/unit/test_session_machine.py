"""A property-based state machine over the session rules (SECURITY 48).

The machine keeps its own simple model of who holds which role and checks every outcome of
the core against it: one owner at every instant while active; input authorized only for
current owners and co-workers; no grant outlives the session; every change recorded as an event.
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
    Denied,
    Ended,
    InviteCreated,
    InviteRevoked,
    Joined,
    Kind,
    QuestionAnswered,
    QuestionAsked,
    Removed,
    RoleChanged,
    Session,
)

PEOPLE = [f"user:{n}" for n in ("bob", "carol", "dave", "erin")] + ["guest:g1", "guest:g2"]
HASHER = SecretHasher(b"k" * 32)
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

    def __init__(self) -> None:
        super().__init__()
        self.now = 1000.0
        self.session = Session.start(
            owner_identity="user:alice",
            owner_name="Alice",
            title="t",
            transport="memory",
            now=self.now,
            limits=LIMITS,
        )
        owner = self.session.find("user:alice")
        assert owner is not None
        self.roles: dict[str, Role] = {owner.id: Role.OWNER}  # the model: current participants
        self.banned: set[str] = set()
        self.connections: dict[str, int] = {owner.id: 0}
        self.active = True
        self.grants_after_end = 0
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
        links = self.links_of(t) if old is Role.OWNER and role is not Role.OWNER else []
        call()
        self.roles[t] = role
        events = self.events()
        if old is role:
            assert events == []
        else:
            assert events[0] == RoleChanged(t, old, role, a)
            # An owner who is no longer one takes their links along.
            assert events[1:] == [InviteRevoked(i, a) for i in links] + (
                [ControlChanged(None)] if role is Role.VIEWER and driver == t else []
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

    @rule(who=st.integers(0, 9))
    def stdin(self, who: int) -> None:
        pid = self.pids()[who % len(self.pids())]
        call = lambda: self.session.type(pid)  # type: ignore[arg-type]
        if self.active and self.roles[pid] in (Role.OWNER, Role.COWORKER):
            before = self.session.driver
            moved = call()
            assert moved == (before != pid)
            assert self.session.driver == pid
            assert self.events() == ([ControlChanged(pid)] if moved else [])  # type: ignore[arg-type]
        else:
            self.expect_refusal(call)

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
        self.now += seconds

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
    def no_grant_outlives_the_session(self) -> None:
        if not self.session.active:
            assert not any(i.usable(self.now) for i in self.session.invites.values())
            assert all(p.connections == 0 for p in self.session.participants.values())
            assert self.session.driver is None


TestSessionMachine = SessionMachine.TestCase
TestSessionMachine.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)
