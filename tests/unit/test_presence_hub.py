"""The presence hub only ever writes its document itself: fuzzed client frames change nothing."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pycrdt import Doc, Map, YMessageType, YSyncMessageType, write_message

from jupyter_sharedterm.core.presence import PresenceTiming
from jupyter_sharedterm.presence.hub import PresenceHub, ProtocolError

NOW = 1_700_000_000.0


class FakeSocket:
    """A client connection as the hub sees it; in memory (no network is involved here)."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.pings = 0
        self.dropped = False

    def send(self, data: bytes) -> None:
        self.sent.append(data)

    def ping(self) -> None:
        self.pings += 1

    def drop(self) -> None:
        self.dropped = True


def make_hub() -> tuple[PresenceHub, Any, FakeSocket]:
    hub = PresenceHub(PresenceTiming(), ping_interval=3.0, clock=lambda: NOW)
    alice, bob = FakeSocket(), FakeSocket()
    conn = hub.connect(alice, "alice", "Alice")
    hub.connect(bob, "bob", "Bob")
    hub.receive(conn, '{"hint": "input"}')
    return hub, conn, bob


def replica(hub: PresenceHub) -> Doc[Any]:
    """A client's copy of the document, with its whole history: its updates apply cleanly."""
    doc: Doc[Any] = Doc()
    doc.apply_update(hub.doc.get_update())
    return doc


ENTRY = st.fixed_dictionaries(
    {},
    optional={
        "name": st.text(max_size=8),
        "state": st.sampled_from(["active", "idle", "away", "offline", "owner"]),
        "since": st.integers(-(2**31), 2**31),
        "role": st.sampled_from(["owner", "coworker", "viewer"]),
    },
)
USERS = st.sampled_from(["alice", "bob", "mallory", ""]) | st.text(max_size=6)


def frame(kind: int, update: bytes) -> bytes:
    return bytes([YMessageType.SYNC, kind]) + write_message(update)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    writes=st.dictionaries(USERS, ENTRY | st.none(), min_size=1, max_size=4),
    kind=st.sampled_from([YSyncMessageType.SYNC_STEP2, YSyncMessageType.SYNC_UPDATE]),
    root=st.sampled_from(["people", "other"]),
)
def test_crafted_updates_that_set_anyones_entry_are_dropped(
    writes: dict[str, dict[str, Any] | None], kind: int, root: str
) -> None:
    hub, alice, bob = make_hub()
    before, state, seen = hub.doc.get_update(), hub.doc.get_state(), len(bob.sent)
    doc = replica(hub)
    people: Map[Any] = doc.get(root, type=Map)
    vector = doc.get_state()
    with doc.transaction():
        for user, entry in writes.items():
            if entry is None:
                if user in people:
                    del people[user]  # deleting someone
            else:
                people[user] = entry
    assert hub.receive(alice, frame(kind, doc.get_update(vector))) is None
    assert hub.doc.get_state() == state and hub.doc.get_update() == before
    assert len(bob.sent) == seen  # nothing reached the peer


@settings(max_examples=300, deadline=None)
@given(message=st.binary(max_size=200) | st.binary(max_size=60).map(lambda b: b"\x00" + b))
def test_random_binary_frames_change_nothing(message: bytes) -> None:
    hub, alice, bob = make_hub()
    before, seen = hub.doc.get_update(), len(bob.sent)
    try:
        reply = hub.receive(alice, message)
    except ProtocolError:
        reply = None
    if reply is not None:  # only a sync step 1 is answered, with what the sender lacks
        assert message[:2] == bytes([YMessageType.SYNC, YSyncMessageType.SYNC_STEP1])
    assert hub.doc.get_update() == before
    assert len(bob.sent) == seen


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=40) | st.builds(lambda h: f'{{"hint": "{h}"}}', st.text(max_size=8)))
def test_text_frames_are_hints_or_refused(text: str) -> None:
    hub, alice, _ = make_hub()
    try:
        hub.receive(alice, text)
    except ProtocolError as e:
        assert "hint" in str(e)
    else:
        assert text.replace(" ", "") in (
            '{"hint":"input"}',
            '{"hint":"visible"}',
            '{"hint":"hidden"}',
        )


def test_a_sync_step1_is_answered_with_the_whole_document() -> None:
    hub, alice, _ = make_hub()
    empty: Doc[Any] = Doc()
    reply = hub.receive(alice, frame(YSyncMessageType.SYNC_STEP1, empty.get_state()))
    assert reply is not None and reply[:2] == bytes([0, YSyncMessageType.SYNC_STEP2])
    doc = replica(hub)
    assert doc.get("people", type=Map).to_py()["alice"]["state"] == "active"


def test_a_malformed_sync_step1_is_refused() -> None:
    hub, alice, _ = make_hub()
    with pytest.raises(ProtocolError, match="malformed"):
        hub.receive(alice, frame(YSyncMessageType.SYNC_STEP1, b"\xff\xff\xff"))


def test_every_change_reaches_every_socket() -> None:
    hub, alice, bob = make_hub()
    seen = len(bob.sent)
    hub.disconnect(alice)
    assert len(bob.sent) == seen + 1
    peer: Doc[Any] = replica(hub)
    assert peer.get("people", type=Map).to_py()["alice"]["state"] == "offline"


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


def test_ticks_ping_on_the_interval_and_drop_a_connection_that_stops_answering() -> None:
    clock = Clock()
    hub = PresenceHub(PresenceTiming(liveness_seconds=9), ping_interval=3.0, clock=clock)
    quiet, answering = FakeSocket(), FakeSocket()
    hub.connect(quiet, "alice", "Alice")
    conn = hub.connect(answering, "bob", "Bob")
    for _ in range(10):
        clock.now += 1
        hub.tick()
        if answering.pings:
            hub.alive(conn)  # bob's browser answers every ping
    assert answering.pings == 3 and not answering.dropped
    assert quiet.dropped
    people = replica(hub).get("people", type=Map).to_py()
    assert (people["alice"]["state"], people["bob"]["state"]) == ("offline", "idle")


def test_a_stalled_server_drops_nobody_for_the_pongs_it_could_not_read() -> None:
    clock = Clock()
    hub = PresenceHub(PresenceTiming(liveness_seconds=9), ping_interval=3.0, clock=clock)
    socket = FakeSocket()
    hub.connect(socket, "alice", "Alice")
    clock.now += 30  # the event loop was blocked (a suspended VM, a long pause)
    hub.tick()
    assert not socket.dropped
    for _ in range(9):  # then a real silence, the server ticking every second
        clock.now += 1
        hub.tick()
    assert not socket.dropped
    clock.now += 1
    hub.tick()
    assert socket.dropped
