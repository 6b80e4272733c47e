"""REST routes for recordings: list, describe, download, and pausing a live session's recording."""

from __future__ import annotations

import contextlib
from typing import Any

from jupyter_server.auth.decorator import authorized
from jupyter_server.utils import ensure_async
from tornado import web

from ..core.errors import DomainError, ErrorCode
from ..protocol import parse_recording_change
from ..recording.store import RecordingMeta, RecordingNotFound, RecordingStore
from ..terminals import TERMINAL_USERS
from .base import SharedTermAPIHandler

__all__ = [
    "RecordingCastHandler",
    "RecordingHandler",
    "RecordingsHandler",
    "SessionRecordingHandler",
]

CHUNK_BYTES = 256 << 10


def _model(meta: RecordingMeta) -> dict[str, Any]:
    """A recording as its readers see it (who else may open it is not theirs to know)."""
    model = meta.to_json()
    del model["owners"], model["participants"]
    return model


class _RecordingHandler(SharedTermAPIHandler):
    def store(self) -> RecordingStore:
        recording = self.manager.recording
        if recording is None:
            raise DomainError(ErrorCode.NOT_FOUND, "Recordings are turned off on this server.")
        return recording.store

    async def may_open(self, meta: RecordingMeta) -> bool:
        """Session recordings: their owners and participants. A terminal's own recording:
        whoever may use terminals on this server (terminals are the server's, not one user's)."""
        if meta.may_open(self.caller()[0]):
            return True
        if TERMINAL_USERS not in meta.owners:
            return False
        allowed = self.authorizer.is_authorized(self, self.current_user, "read", "terminals")
        return bool(await ensure_async(allowed))

    async def meta(self, rid: str) -> RecordingMeta:
        try:
            meta = self.manager.live_recording(rid) or self.store().get(rid)
        except RecordingNotFound:
            meta = None
        if meta is None or not await self.may_open(meta):
            # Unknown, malformed and not-yours answer alike (SECURITY 32).
            raise DomainError(ErrorCode.NOT_FOUND, "No such recording.")
        return meta


class RecordingsHandler(_RecordingHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        if self.manager.recording is None:
            self.reply([])
            return
        metas = [self.manager.live_recording(m.id) or m for m in self.store().list()]
        self.reply([_model(m) for m in metas if await self.may_open(m)])


class RecordingHandler(_RecordingHandler):
    @web.authenticated
    @authorized
    async def get(self, rid: str) -> None:
        self.reply(_model(await self.meta(rid)))


class RecordingCastHandler(_RecordingHandler):
    """The asciicast v2 file, streamed; playable in `asciinema play` and any asciicast player."""

    @web.authenticated
    @authorized
    async def get(self, rid: str) -> None:
        meta = await self.meta(rid)
        try:
            cast = self.store().open_cast(meta.id)
        except RecordingNotFound:
            raise DomainError(ErrorCode.NOT_FOUND, "No such recording.") from None
        self.set_header("Content-Type", "application/x-asciicast")
        self.set_header("Content-Disposition", f'attachment; filename="sharedterm-{meta.id}.cast"')
        with contextlib.closing(cast):
            while chunk := cast.read(CHUNK_BYTES):
                self.write(chunk)
                await self.flush()
        self.finish()


class SessionRecordingHandler(SharedTermAPIHandler):
    """`PUT api/sharedterm/sessions/SID/recording {"paused": BOOL}` (owners)."""

    @web.authenticated
    @authorized
    def put(self, sid: str) -> None:
        paused = parse_recording_change(self.json_body())
        live, me = self.manager.participant(sid, self.caller()[0])
        live.set_recording_paused(me.id, paused)
        self.reply(live.recording_state())
