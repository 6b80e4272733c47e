"""The output path of a live session: how terminal output becomes frames for each socket.

Runs a real LiveSession over the in-memory transport; the sockets are in-memory too, since
what is tested is which frames are handed to a socket, not the network (the integration tests
cover real websockets and PTYs).
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from typing import Any

import pyte

from jupyter_sharedterm.core.invites import SecretHasher
from jupyter_sharedterm.core.session import Session
from jupyter_sharedterm.live import LiveConfig, LiveSession
from jupyter_sharedterm.transports.memory import MemoryTransport

WINDOW = 0.5  # far above any pause between two statements, so the tests never depend on timing


class FrameSocket:
    """Accepts every frame at once and keeps the decoded `stdout` texts."""

    def __init__(self) -> None:
        self.stdout: list[str] = []

    def send_frames(self, frames: list[bytes | str]) -> None:
        for frame in frames:
            kind, *args = json.loads(frame)
            if kind == "stdout":
                self.stdout.append(args[0])

    def close(self, code: int | None = None, reason: str | None = None) -> None:
        pass


async def started(config: LiveConfig) -> tuple[LiveSession, MemoryTransport]:
    session = Session.start(
        owner_identity="alice", owner_name="Alice", title="t", transport="memory", now=time.time()
    )
    transport = MemoryTransport()
    live = LiveSession(
        session,
        transport,
        hasher=SecretHasher(os.urandom(32)),
        audit=lambda action, details: None,
        config=config,
    )
    await live.start()
    return live, transport


def owner(live: LiveSession) -> Any:
    return next(iter(live.session.participants))


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_output_after_a_quiet_spell_goes_out_at_once_and_a_burst_in_one_frame() -> None:
    live, transport = await started(LiveConfig(coalesce_seconds=WINDOW))
    sock = FrameSocket()
    live.attach(owner(live), sock)
    await settle()
    sock.stdout.clear()

    transport.emit("echo")  # the first output in a while: a keystroke's echo is never held
    await settle()
    assert sock.stdout == ["echo"]

    for part in ("a" * 100, "b" * 100, "c" * 100):  # a burst, as 4 KiB PTY reads arrive
        transport.emit(part)
    await settle()
    assert sock.stdout == ["echo"]  # held for the rest of the window...
    await asyncio.sleep(WINDOW * 1.5)
    assert sock.stdout == ["echo", "a" * 100 + "b" * 100 + "c" * 100]  # ...then one frame
    live.end(owner(live), "done")


async def test_a_join_while_output_is_held_sees_every_byte_once() -> None:
    live, transport = await started(LiveConfig(coalesce_seconds=WINDOW))
    first = FrameSocket()
    live.attach(owner(live), first)
    transport.emit("one\r\n")
    transport.emit("two\r\n")  # held: the window of "one" is open
    late = FrameSocket()
    live.attach(owner(live), late)  # its repaint must not contain "two" yet...
    await asyncio.sleep(WINDOW * 1.5)  # ...because "two" reaches it as live output

    screen = pyte.Screen(80, 24)
    stream = pyte.Stream(screen)
    for text in late.stdout:
        stream.feed(text)
    shown = [line.rstrip() for line in screen.display if line.strip()]
    assert shown == ["one", "two"]
    live.end(owner(live), "done")


async def test_held_output_is_sent_before_the_session_ends() -> None:
    live, transport = await started(LiveConfig(coalesce_seconds=WINDOW))
    transport.emit("first")
    transport.emit("last words")  # held
    assert "last words" not in live.mirror.snapshot()
    live.end(owner(live), "done")
    assert "last words" in live.mirror.snapshot()
