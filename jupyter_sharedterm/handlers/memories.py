"""REST routes for memories: search, save, delete; and the memories shown with a session."""

from __future__ import annotations

import socket
from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..core.errors import DomainError, ErrorCode
from ..live import LiveSession
from ..memories.model import MemorySource, is_valid_target, parse_new_memory, parse_query
from ..memories.store import MemoryStore
from ..transports.ssh import SshTarget
from .recordings import _RecordingHandler

__all__ = ["MemoriesHandler", "MemoryHandler", "session_memories", "session_targets"]

MAX_TEXT_SETTING = "sharedterm_memory_max_chars"
STORE_SETTING = "sharedterm_memories"


class _MemoryHandler(_RecordingHandler):
    """Every signed-in user of the server reads memories (team knowledge); guests never reach
    these routes (`web.authenticated`). Only a memory's author deletes it."""

    @property
    def memories(self) -> MemoryStore:
        store: MemoryStore = self.settings[STORE_SETTING]
        return store

    def author(self) -> str:
        return str(self.current_user.username)

    async def check_source(self, source: MemorySource) -> None:
        """The recording a memory cites must be one its author may open."""
        try:
            await self.meta(source.recording)
        except DomainError as e:
            if e.code is not ErrorCode.NOT_FOUND:
                raise
            raise DomainError(
                ErrorCode.INVALID,
                '"source.recording" is not a recording you may open: cite one from your '
                "recordings list.",
            ) from None


class MemoriesHandler(_MemoryHandler):
    """`GET api/sharedterm/memories?q=TEXT&target=HOST`, `POST api/sharedterm/memories`."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        query = parse_query(
            self.get_query_argument("q", None), self.get_query_argument("target", None)
        )
        targets = () if query.target is None else (query.target,)
        found = await self.memories.search(text=query.text, targets=targets)
        self.reply([m.to_json() for m in found])

    @web.authenticated
    @authorized
    async def post(self) -> None:
        new = parse_new_memory(self.json_body(), max_text_chars=self.settings[MAX_TEXT_SETTING])
        if new.source is not None:
            await self.check_source(new.source)
        memory = await self.memories.add(new, author=self.author())
        self.reply(memory.to_json(), 201)


class MemoryHandler(_MemoryHandler):
    """`DELETE api/sharedterm/memories/MID`: the author only; anyone else gets 403."""

    @web.authenticated
    @authorized
    async def delete(self, mid: str) -> None:
        await self.memories.delete(mid, author=self.author())
        self.set_status(204)
        self.finish()


def session_targets(live: LiveSession) -> list[str]:
    """The names memories of a session's target are saved under, the main one first: a device
    session's device name and host, or for a local shell this server's host name."""
    target = getattr(live.transport, "target", None)
    names = [target.name, target.host] if isinstance(target, SshTarget) else [socket.gethostname()]
    unique: dict[str, str] = {}
    for name in names:
        if is_valid_target(name):  # an ad-hoc session's name is "user@host": only its host
            unique.setdefault(name.lower(), name)
    return list(unique.values())


async def session_memories(handler: web.RequestHandler, live: LiveSession) -> dict[str, Any]:
    """`{"target", "memories"}` for the session model: what the team knows about its target."""
    targets = session_targets(live)
    store: MemoryStore = handler.settings[STORE_SETTING]
    found = await store.search(targets=targets) if targets else []
    return {
        "target": targets[0] if targets else None,
        "memories": [m.to_json() for m in found],
    }
