"""Team presence: each person's state, decided by the server from their live connections.

A person is `active` (input in the last minute), `idle` (a visible tab, no input), `away` (no
input for a while, or only hidden tabs) or `offline` (no live connection). Several tabs give the
best state over them, as Teams aggregates presence sessions. Liveness comes from the transport's
own pings, which browsers answer even in throttled background tabs, never from client timers:
a hidden tab stays online for as long as it answers them. Peers see the state and a
minute-rounded `since`, never the timing of anyone's input. Time is passed in (`now`, epoch
seconds): `tick()` drives the timeouts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Final, NewType

__all__ = [
    "ConnectionId",
    "Person",
    "Presence",
    "PresenceState",
    "PresenceTiming",
]

ConnectionId = NewType("ConnectionId", str)

SINCE_GRANULARITY_SECONDS: Final = 60  # peers never learn anyone's input timing finer than this


class PresenceState(Enum):
    """A person's state; the declaration order is the precedence (the best one first)."""

    ACTIVE = "active"
    IDLE = "idle"
    AWAY = "away"
    OFFLINE = "offline"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK: Final = {state: rank for rank, state in enumerate(PresenceState)}


@dataclass(frozen=True)
class PresenceTiming:
    """How long each state lasts.

    Attributes:
        active_seconds: input this recent makes a tab active.
        away_seconds: without input for this long a visible tab is away (5 min, as Teams does).
        liveness_seconds: a connection that answered no ping and sent nothing for this long is
            dead (a silent network drop); the transport pings several times within it.
    """

    active_seconds: float = 60.0
    away_seconds: float = 300.0
    liveness_seconds: float = 9.0

    def __post_init__(self) -> None:
        if not 0 < self.active_seconds <= self.away_seconds:
            raise ValueError("presence: need 0 < active time <= away time")
        if self.liveness_seconds <= 0:
            raise ValueError("presence: the liveness timeout must be positive")


@dataclass
class _Connection:
    user: str
    alive: float  # the last pong or message
    active_until: float = 0.0  # input seen: active until then
    visible: bool = True
    attended: float = 0.0  # the last input, or the moment the tab was shown or opened

    def state(self, now: float, timing: PresenceTiming) -> PresenceState:
        if now < self.active_until:
            return PresenceState.ACTIVE
        if self.visible and now - self.attended < timing.away_seconds:
            return PresenceState.IDLE
        return PresenceState.AWAY


@dataclass(frozen=True)
class Person:
    """What everyone may see of one person."""

    user: str
    name: str
    state: PresenceState
    since: int  # epoch seconds, rounded down to the minute

    def to_json(self) -> dict[str, str | int]:
        return {
            "user": self.user,
            "name": self.name,
            "state": self.state.value,
            "since": self.since,
        }


@dataclass
class _Record:
    name: str
    state: PresenceState
    since: int
    connections: set[ConnectionId] = field(default_factory=set)


def _minute(now: float) -> int:
    return int(now // SINCE_GRANULARITY_SECONDS) * SINCE_GRANULARITY_SECONDS


class Presence:
    """Every person seen since the server started and their connections.

    Each mutating call returns the people whose state changed (usually none), to publish.
    """

    def __init__(self, timing: PresenceTiming | None = None) -> None:
        self.timing = timing or PresenceTiming()
        self._people: dict[str, _Record] = {}
        self._connections: dict[ConnectionId, _Connection] = {}

    # --- queries ----------------------------------------------------------------------------

    def people(self) -> list[Person]:
        """Everyone seen since the start, by user id."""
        return [self._person(user) for user in sorted(self._people)]

    def person(self, user: str) -> Person | None:
        return self._person(user) if user in self._people else None

    def connections(self, user: str) -> frozenset[ConnectionId]:
        record = self._people.get(user)
        return frozenset(record.connections) if record else frozenset()

    # --- events -----------------------------------------------------------------------------

    def open(self, conn: ConnectionId, user: str, name: str, now: float) -> list[Person]:
        """A connection of `user` is up (a new tab, or a reconnect)."""
        if conn in self._connections:
            raise ValueError(f"presence: connection {conn} is already open")
        self._connections[conn] = _Connection(user, alive=now, attended=now)
        record = self._people.setdefault(user, _Record(name, PresenceState.OFFLINE, _minute(now)))
        renamed = record.name != name
        record.name = name
        record.connections.add(conn)
        changed = self._refresh(user, now)
        return changed or ([self._person(user)] if renamed else [])

    def close(self, conn: ConnectionId, now: float) -> list[Person]:
        """A connection ended (a closed tab, or one the liveness check gave up on)."""
        gone = self._connections.pop(conn, None)
        if gone is None:
            return []
        self._people[gone.user].connections.discard(conn)
        return self._refresh(gone.user, now)

    def alive(self, conn: ConnectionId, now: float) -> None:
        """The connection answered a ping or sent something: it is still there."""
        c = self._connections.get(conn)
        if c is not None:
            c.alive = max(c.alive, now)

    def input(self, conn: ConnectionId, now: float) -> list[Person]:
        """The person typed or pointed in this tab (a debounced hint: at most every few s)."""
        c = self._connections.get(conn)
        if c is None:
            return []
        c.alive = max(c.alive, now)
        c.attended = max(c.attended, now)
        c.active_until = max(c.active_until, now + self.timing.active_seconds)
        return self._refresh(c.user, now)

    def visibility(self, conn: ConnectionId, visible: bool, now: float) -> list[Person]:
        """The tab was shown or hidden."""
        c = self._connections.get(conn)
        if c is None:
            return []
        c.alive = max(c.alive, now)
        if visible and not c.visible:
            c.attended = max(c.attended, now)  # looking at the page again is attention
        c.visible = visible
        return self._refresh(c.user, now)

    def tick(self, now: float) -> tuple[list[Person], list[ConnectionId]]:
        """Let time pass: returns the people whose state changed and the connections found
        dead (no pong within the liveness timeout; already closed here, the caller drops them)."""
        dead = [
            conn
            for conn, c in self._connections.items()
            if now - c.alive > self.timing.liveness_seconds
        ]
        for conn in dead:
            gone = self._connections.pop(conn)
            self._people[gone.user].connections.discard(conn)
        changed: list[Person] = []
        for user in self._people:
            changed += self._refresh(user, now)
        return changed, dead

    # --- internals --------------------------------------------------------------------------

    def _state(self, record: _Record, now: float) -> PresenceState:
        states = (self._connections[c].state(now, self.timing) for c in record.connections)
        return min(states, key=lambda s: s.rank, default=PresenceState.OFFLINE)

    def _refresh(self, user: str, now: float) -> list[Person]:
        record = self._people[user]
        state = self._state(record, now)
        if state is record.state:
            return []
        record.state, record.since = state, _minute(now)
        return [self._person(user)]

    def _person(self, user: str) -> Person:
        r = self._people[user]
        return Person(user, r.name, r.state, r.since)
