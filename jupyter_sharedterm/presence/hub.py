"""The presence hub: runs the core's rules against the clock and the sockets, and publishes the
result as a pycrdt (Yjs) document that only the server writes."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import time
from collections.abc import Callable
from typing import Final, Protocol

from pycrdt import (
    Doc,
    Map,
    TransactionEvent,
    YMessageType,
    YSyncMessageType,
    create_update_message,
    read_message,
    write_message,
)

from ..core.presence import ConnectionId, Person, Presence, PresenceTiming

__all__ = ["DOC_MAP", "HINTS", "PresenceHub", "PresenceSocket", "ProtocolError"]

log = logging.getLogger(__name__)

DOC_MAP: Final = "people"  # the document's one root: user -> {"name", "state", "since"}
TICK_SECONDS: Final = 1.0  # how often the clock is checked: it bounds a drop's detection lag
HINTS: Final = ("input", "visible", "hidden")  # the text frames a client may send


class ProtocolError(ValueError):
    """A frame the presence socket does not accept; the message says what was wrong."""


class PresenceSocket(Protocol):
    """What the hub needs of one client connection."""

    def send(self, data: bytes) -> None:
        """Queue a binary frame; never blocks."""

    def ping(self) -> None:
        """Send a protocol-level ping (its pong comes back through `PresenceHub.alive`)."""

    def drop(self) -> None:
        """Close a connection that stopped answering."""


class PresenceHub:
    """Every presence connection of this server, the core's state and the shared document."""

    def __init__(
        self,
        timing: PresenceTiming,
        ping_interval: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.presence = Presence(timing)
        self.ping_interval = ping_interval
        self.clock = clock
        self.doc: Doc[Map[dict[str, str | int]]] = Doc()
        self.people: Map[dict[str, str | int]] = self.doc.get(DOC_MAP, type=Map)
        self._sockets: dict[ConnectionId, PresenceSocket] = {}
        self._ids = (ConnectionId(f"p{n}") for n in itertools.count(1))
        self._task: asyncio.Task[None] | None = None
        self._last_tick = self._last_ping = clock()
        # Only the server's own transactions change the document: each is sent to everyone.
        self._subscription = self.doc.observe(self._broadcast)

    # --- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for socket in list(self._sockets.values()):
            socket.drop()
        self._sockets.clear()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(TICK_SECONDS)
            try:
                self.tick()
            except Exception:  # the loop must outlive one bad socket
                log.exception("sharedterm: presence tick failed")

    def tick(self) -> None:
        """Once a second: ping when due, drop connections that stopped answering, publish
        the states that time changed."""
        now = self.clock()
        if now - self._last_tick > 2 * TICK_SECONDS:
            # This process stalled (a suspend, a long pause): missed pongs are not the
            # clients' fault, so nobody is dropped for them.
            for conn in self._sockets:
                self.presence.alive(conn, now)
        self._last_tick = now
        if now - self._last_ping >= self.ping_interval:
            self._last_ping = now
            for socket in self._sockets.values():
                socket.ping()
        changed, dead = self.presence.tick(now)
        for conn in dead:
            gone = self._sockets.pop(conn, None)
            if gone is not None:
                gone.drop()
        self._publish(changed)

    # --- connections ------------------------------------------------------------------------

    def connect(self, socket: PresenceSocket, user: str, name: str) -> ConnectionId:
        """A signed-in user's tab is up: send it the document, then count it."""
        conn = next(self._ids)
        socket.send(_sync_step2(self.doc.get_update()))
        self._sockets[conn] = socket
        self._publish(self.presence.open(conn, user, name, self.clock()))
        return conn

    def disconnect(self, conn: ConnectionId) -> None:
        self._sockets.pop(conn, None)
        self._publish(self.presence.close(conn, self.clock()))

    def alive(self, conn: ConnectionId) -> None:
        """A pong (or any frame) came in on this connection."""
        self.presence.alive(conn, self.clock())

    def receive(self, conn: ConnectionId, message: str | bytes) -> bytes | None:
        """A frame from a client: a hint (text) or a Yjs sync message (binary).

        Returns:
            A reply for the sender only (the document it lacks), if any.

        Raises:
            ProtocolError: the frame is neither.
        """
        now = self.clock()
        self.presence.alive(conn, now)
        if isinstance(message, str):
            hint = _parse_hint(message)
            if hint == "input":
                self._publish(self.presence.input(conn, now))
            else:
                self._publish(self.presence.visibility(conn, hint == "visible", now))
            return None
        return self._sync(message)

    def _sync(self, message: bytes) -> bytes | None:
        if message[:1] != bytes([YMessageType.SYNC]):
            return None  # awareness and other Yjs messages: presence does not use them
        if message[1:2] == bytes([YSyncMessageType.SYNC_STEP1]):
            try:
                update = self.doc.get_update(read_message(message[2:]))
            except Exception as e:  # untrusted bytes into the decoder: any failure is theirs
                raise ProtocolError("A malformed Yjs sync step 1 message.") from e
            return _sync_step2(update)
        # Step 2 and updates would change the document: only the server writes it, so every
        # one is dropped unread, whatever it claims (anyone's state, name or role).
        return None

    # --- publishing -------------------------------------------------------------------------

    def _publish(self, changed: list[Person]) -> None:
        if not changed:
            return
        with self.doc.transaction():
            for person in changed:
                self.people[person.user] = {
                    "name": person.name,
                    "state": person.state.value,
                    "since": person.since,
                }

    def _broadcast(self, event: TransactionEvent) -> None:
        frame = create_update_message(event.update)
        for socket in self._sockets.values():
            socket.send(frame)


def _parse_hint(text: str) -> str:
    try:
        frame = json.loads(text)
    except ValueError:
        frame = None
    hint = frame.get("hint") if isinstance(frame, dict) else None
    if hint not in HINTS:
        raise ProtocolError(
            f'A presence hint is {{"hint": "input" | "visible" | "hidden"}}; got {text[:80]!r}.'
        )
    return str(hint)


def _sync_step2(update: bytes) -> bytes:
    return bytes([YMessageType.SYNC, YSyncMessageType.SYNC_STEP2]) + write_message(update)
