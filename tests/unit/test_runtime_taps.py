"""The runtime's taps and reactions: what observers of a live session see, and that a slow one
never holds up the terminal or the sockets.

Runs real LiveSessions over the in-memory transport and in-memory sockets (what is tested is
which calls reach a tap and which frames reach a socket; the integration tests cover real PTYs).
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import typing
from typing import Any

from jupyter_sharedterm.core.ids import ParticipantId
from jupyter_sharedterm.core.invites import SecretHasher
from jupyter_sharedterm.core.roles import Role
from jupyter_sharedterm.core.session import Event, Joined, Kind, RoleChanged, Session
from jupyter_sharedterm.live import LiveConfig, LiveSession
from jupyter_sharedterm.protocol import InviteRequest
from jupyter_sharedterm.runtime import reactions
from jupyter_sharedterm.runtime.reactions import Reaction
from jupyter_sharedterm.runtime.taps import BufferedTap, Tap
from jupyter_sharedterm.transports.memory import MemoryTransport

DEADLINE = 10.0


class FrameSocket:
    def __init__(self) -> None:
        self.stdout: list[str] = []
        self.ctl: list[dict[str, Any]] = []

    def send_frames(self, frames: list[bytes | str]) -> None:
        for frame in frames:
            kind, *args = json.loads(frame)
            if kind == "stdout":
                self.stdout.append(args[0])
            elif kind == "ctl":
                self.ctl.append(args[0])

    def close(self, code: int | None = None, reason: str | None = None) -> None:
        pass


class Journal(Tap):
    """Writes down every call, in order."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def output(self, text: str) -> None:
        self.calls.append(("output", text))

    def input(self, pid: ParticipantId, text: str) -> None:
        self.calls.append(("input", pid, text))

    def resize(self, rows: int, cols: int) -> None:
        self.calls.append(("resize", rows, cols))

    def event(self, event: Event, reaction: Reaction) -> None:
        self.calls.append(("event", event, reaction.marker))

    def close(self, reason: str) -> None:
        self.calls.append(("close", reason))


async def started(*taps: Tap) -> tuple[LiveSession, MemoryTransport, ParticipantId]:
    session = Session.start(
        owner_identity="alice", owner_name="Alice", title="t", transport="memory", now=time.time()
    )
    transport = MemoryTransport()
    live = LiveSession(
        session,
        transport,
        hasher=SecretHasher(os.urandom(32)),
        audit=lambda action, details: None,
        config=LiveConfig(coalesce_seconds=0.0),
        taps=taps,
    )
    await live.start()
    return live, transport, next(iter(session.participants))


async def until(condition: Any) -> None:
    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.005)

    await asyncio.wait_for(poll(), DEADLINE)


def test_every_event_has_exactly_one_reaction() -> None:
    kinds = set(typing.get_args(Event))
    assert kinds and kinds == set(reactions._TABLE)


async def test_a_tap_sees_output_input_resizes_events_and_the_end_in_order() -> None:
    journal = Journal()
    live, _, alice = await started(journal)
    sock = FrameSocket()
    live.attach(alice, sock)
    client = next(iter(live.clients))
    live.receive(client, '["set_size", 30, 90]')
    live.receive(client, '["stdin", "ls\\r"]')
    await until(lambda: ("output", "ls\r") in journal.calls)  # the memory terminal echoes
    invite, secret = live.create_invite(alice, InviteRequest(Role.COWORKER, None, None))
    bob = live.join(invite.id, secret, identity="bob", name="Bob", kind=Kind.USER)
    live.set_role(alice, bob.id, Role.VIEWER)
    live.end(alice, "done")

    calls = journal.calls
    assert ("resize", 30, 90) in calls
    assert ("input", alice, "ls\r") in calls
    assert calls.index(("input", alice, "ls\r")) < calls.index(("output", "ls\r"))
    joined = Joined(bob.id, Role.COWORKER, invite.id)
    assert ("event", joined, None) in calls  # marked when Bob arrives (core/markers.py)
    demoted = RoleChanged(bob.id, Role.COWORKER, Role.VIEWER, alice)
    assert ("event", demoted, "Alice made Bob a viewer") in calls
    assert calls[-1] == ("close", "done")


async def test_a_stuck_tap_holds_up_neither_the_terminal_nor_the_sockets() -> None:
    release = asyncio.Event()
    received: list[str] = []

    async def consume(batch: str) -> None:
        await release.wait()  # an analyzer that does not answer
        received.append(batch)

    stuck = BufferedTap(consume, max_chars=1000, gap="[gap]")
    live, transport, alice = await started(stuck)
    sock = FrameSocket()
    live.attach(alice, sock)
    transport.emit("first\n")
    await until(lambda: stuck._pump is not None and not stuck._queue)  # taken, now stuck
    for i in range(200):  # 200 x 100 characters: far beyond the tap's 1000
        transport.emit(f"{i:099d}\n")
    await until(lambda: any(f"{199:099d}" in t for t in sock.stdout))  # everyone else has it all
    assert stuck.dropped_chars >= 200 * 100 - 1000 - 100  # bounded: the oldest went

    release.set()
    await until(lambda: len(received) >= 2)
    # The first batch was taken before the flood; the next starts by saying output was lost
    # and holds the newest output, no more than the bound.
    assert received[0] == "first\n"
    assert received[1].startswith("[gap]") and f"{199:099d}" in received[1]
    assert len(received[1]) <= 1000 + len("[gap]")
    live.end(alice, "done")
