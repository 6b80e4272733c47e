"""Team presence rules (core/presence.py): examples, then a property-based state machine."""

from __future__ import annotations

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from jupyter_sharedterm.core.presence import (
    ConnectionId,
    Presence,
    PresenceState,
    PresenceTiming,
)

T0 = 1_700_000_000.0  # a minute boundary plus 20 s
ACTIVE, IDLE, AWAY, OFFLINE = (
    PresenceState.ACTIVE,
    PresenceState.IDLE,
    PresenceState.AWAY,
    PresenceState.OFFLINE,
)


def state(p: Presence, user: str) -> PresenceState:
    person = p.person(user)
    assert person is not None
    return person.state


def test_a_new_tab_is_idle_then_active_on_input_then_idle_then_away() -> None:
    p = Presence()
    [alice] = p.open(ConnectionId("a1"), "alice", "Alice", T0)
    assert (alice.state, alice.name) == (IDLE, "Alice")
    [alice] = p.input(ConnectionId("a1"), T0 + 1)
    assert alice.state is ACTIVE
    assert p.input(ConnectionId("a1"), T0 + 30) == []  # no change, nothing to publish
    for t in range(0, 89, 3):  # pongs keep it alive; still active a minute after the last input
        p.alive(ConnectionId("a1"), T0 + t)
    assert p.tick(T0 + 89) == ([], [])
    for t in range(90, 500, 3):
        p.alive(ConnectionId("a1"), T0 + t)
        p.tick(T0 + t)
    assert state(p, "alice") is AWAY  # 5 min after the last input


def test_a_closed_tab_is_offline_at_once() -> None:
    p = Presence()
    p.open(ConnectionId("a1"), "alice", "Alice", T0)
    [alice] = p.close(ConnectionId("a1"), T0 + 0.5)
    assert alice.state is OFFLINE
    assert p.close(ConnectionId("a1"), T0 + 1) == []  # closing twice is harmless


def test_a_silent_drop_is_offline_after_the_liveness_timeout() -> None:
    p = Presence(PresenceTiming(liveness_seconds=9))
    p.open(ConnectionId("a1"), "alice", "Alice", T0)
    assert p.tick(T0 + 9) == ([], [])
    changed, dead = p.tick(T0 + 9.5)
    assert dead == ["a1"] and [c.state for c in changed] == [OFFLINE]
    assert p.connections("alice") == frozenset()


def test_a_hidden_tab_that_answers_pings_never_goes_offline_in_30_minutes() -> None:
    p = Presence()
    p.open(ConnectionId("a1"), "alice", "Alice", T0)
    p.visibility(ConnectionId("a1"), False, T0 + 1)
    seen = set()
    for t in range(3, 1800, 3):  # protocol pings every 3 s; no client timer involved
        p.alive(ConnectionId("a1"), T0 + t)
        changed, dead = p.tick(T0 + t + 1)
        assert dead == []
        seen |= {c.state for c in changed}
    assert OFFLINE not in seen
    assert state(p, "alice") is AWAY


def test_several_tabs_give_the_best_state() -> None:
    p = Presence()
    p.open(ConnectionId("a1"), "alice", "Alice", T0)
    p.open(ConnectionId("a2"), "alice", "Alice", T0)
    p.visibility(ConnectionId("a2"), False, T0)
    p.input(ConnectionId("a1"), T0 + 1)
    assert state(p, "alice") is ACTIVE  # an active tab plus a hidden one is active
    [alice] = p.close(ConnectionId("a1"), T0 + 2)
    assert alice.state is AWAY  # only the hidden tab is left
    [alice] = p.visibility(ConnectionId("a2"), True, T0 + 3)
    assert alice.state is IDLE


def test_since_is_rounded_down_to_the_minute() -> None:
    p = Presence()
    [alice] = p.open(ConnectionId("a1"), "alice", "Alice", T0 + 5)
    assert alice.since == 1_699_999_980 and alice.since % 60 == 0
    assert alice.to_json() == {
        "user": "alice",
        "name": "Alice",
        "state": "idle",
        "since": 1_699_999_980,
    }


def test_a_rename_is_published() -> None:
    p = Presence()
    p.open(ConnectionId("a1"), "alice", "Alice", T0)
    [alice] = p.open(ConnectionId("a2"), "alice", "Alice B.", T0)
    assert alice.name == "Alice B."


def test_hints_for_unknown_connections_are_ignored() -> None:
    p = Presence()
    assert p.input(ConnectionId("x"), T0) == []
    assert p.visibility(ConnectionId("x"), True, T0) == []
    p.alive(ConnectionId("x"), T0)
    assert p.people() == []


def test_a_connection_id_is_opened_once() -> None:
    p = Presence()
    p.open(ConnectionId("a1"), "alice", "Alice", T0)
    with pytest.raises(ValueError, match="already open"):
        p.open(ConnectionId("a1"), "bob", "Bob", T0)


@pytest.mark.parametrize(
    "kwargs",
    [{"active_seconds": 0}, {"active_seconds": 400}, {"liveness_seconds": 0}],
)
def test_timing_is_checked(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="presence"):
        PresenceTiming(**kwargs)


USERS = ["alice", "bob", "carol"]
TIMING = PresenceTiming(active_seconds=60, away_seconds=300, liveness_seconds=9)


class PresenceMachine(RuleBasedStateMachine):
    """Checks the core against a model of tabs kept here; every call's reported changes must be
    exactly the people whose visible state changed."""

    def __init__(self) -> None:
        super().__init__()
        self.p = Presence(TIMING)
        self.now = T0
        self.next_id = 0
        # the model: conn -> user, last alive, last input (or None), visible, attended
        self.tabs: dict[ConnectionId, dict[str, object]] = {}
        self.dropped_while_answering = 0

    def snapshot(self) -> dict[str, tuple[PresenceState, int]]:
        return {q.user: (q.state, q.since) for q in self.p.people()}

    def check_changes(self, before: dict[str, tuple[PresenceState, int]], changed: list) -> None:  # type: ignore[type-arg]
        after = self.snapshot()
        moved = {u for u in after if before.get(u, (None, 0))[0] is not after[u][0]}
        assert {c.user for c in changed} >= moved
        for c in changed:
            assert (c.state, c.since) == after[c.user]
            assert c.since % 60 == 0 and c.since <= self.now

    @rule(user=st.sampled_from(USERS))
    def open(self, user: str) -> None:
        conn = ConnectionId(f"c{self.next_id}")
        self.next_id += 1
        before = self.snapshot()
        changed = self.p.open(conn, user, user.title(), self.now)
        self.tabs[conn] = {
            "user": user,
            "alive": self.now,
            "input": None,
            "visible": True,
            "attended": self.now,
        }
        self.check_changes(before, changed)

    def pick(self, data: st.DataObject) -> ConnectionId:
        return data.draw(st.sampled_from(sorted(self.tabs)))

    @precondition(lambda self: self.tabs)
    @rule(data=st.data())
    def close(self, data: st.DataObject) -> None:
        conn = self.pick(data)
        before = self.snapshot()
        changed = self.p.close(conn, self.now)
        del self.tabs[conn]
        self.check_changes(before, changed)

    @precondition(lambda self: self.tabs)
    @rule(data=st.data())
    def pong(self, data: st.DataObject) -> None:
        conn = self.pick(data)
        self.p.alive(conn, self.now)
        self.tabs[conn]["alive"] = self.now

    @precondition(lambda self: self.tabs)
    @rule(data=st.data())
    def type_something(self, data: st.DataObject) -> None:
        conn = self.pick(data)
        before = self.snapshot()
        changed = self.p.input(conn, self.now)
        self.tabs[conn].update(alive=self.now, input=self.now, attended=self.now)
        self.check_changes(before, changed)

    @precondition(lambda self: self.tabs)
    @rule(data=st.data(), visible=st.booleans())
    def show_or_hide(self, data: st.DataObject, visible: bool) -> None:
        conn = self.pick(data)
        before = self.snapshot()
        changed = self.p.visibility(conn, visible, self.now)
        tab = self.tabs[conn]
        if visible and not tab["visible"]:
            tab["attended"] = self.now
        tab.update(alive=self.now, visible=visible)
        self.check_changes(before, changed)

    @rule(seconds=st.floats(0.1, 400), answered=st.booleans())
    def wait(self, seconds: float, answered: bool) -> None:
        """Time passes; with `answered`, every tab answers the pings sent meanwhile (a browser
        does even for a hidden, throttled tab), in steps shorter than the liveness timeout."""
        target = self.now + seconds
        while self.now < target:
            self.now = min(target, self.now + 3)
            if answered:
                for conn, tab in self.tabs.items():
                    self.p.alive(conn, self.now)
                    tab["alive"] = self.now
            before = self.snapshot()
            changed, dead = self.p.tick(self.now)
            expected_dead = {
                c
                for c, t in self.tabs.items()
                if self.now - t["alive"] > TIMING.liveness_seconds  # type: ignore[operator]
            }
            assert set(dead) == expected_dead
            if answered:
                assert dead == []  # a tab that answers pings is never dropped
            for conn in dead:
                del self.tabs[conn]
            self.check_changes(before, changed)

    @invariant()
    def states_follow_the_tabs(self) -> None:
        for person in self.p.people():
            tabs = [t for t in self.tabs.values() if t["user"] == person.user]
            assert self.p.connections(person.user) == frozenset(
                c for c, t in self.tabs.items() if t["user"] == person.user
            )
            typed = any(
                t["input"] is not None and self.now - t["input"] < TIMING.active_seconds  # type: ignore[operator]
                for t in tabs
            )
            watched = any(
                t["visible"] and self.now - t["attended"] < TIMING.away_seconds  # type: ignore[operator]
                for t in tabs
            )
            expected = OFFLINE if not tabs else ACTIVE if typed else IDLE if watched else AWAY
            assert person.state is expected, (person, tabs, self.now)
            assert person.since % 60 == 0 and person.since <= self.now


TestPresenceMachine = PresenceMachine.TestCase
TestPresenceMachine.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)
