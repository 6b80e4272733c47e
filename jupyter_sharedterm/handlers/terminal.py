"""The terminal websocket: `api/sharedterm/sessions/SID/terminal`, refused before the upgrade
unless the caller is a current participant (a Jupyter user, or a guest holding this session's
guest cookie), then a thin pipe into the live session."""

from __future__ import annotations

import struct
from collections.abc import Awaitable
from typing import Any

from jupyter_server.auth.decorator import allow_unauthenticated
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.base.websocket import WebSocketMixin
from jupyter_server.utils import ensure_async
from tornado import web
from tornado.websocket import WebSocketClosedError, WebSocketHandler

from ..core.errors import DomainError
from ..fanout import Client
from ..live import LiveSession
from ..manager import SessionManager, user_identity
from ..protocol import MAX_FRAME_BYTES, close_code_for
from .base import error_status
from .guest import guest_participant

__all__ = ["TerminalSocketHandler"]


class TerminalSocketHandler(WebSocketMixin, WebSocketHandler, JupyterHandler):
    auth_resource = "sharedterm"
    _live: LiveSession | None = None
    _client: Client | None = None

    @property
    def max_message_size(self) -> int:
        # Larger frames are refused by tornado itself with close code 1009.
        return MAX_FRAME_BYTES

    def get_compression_options(self) -> None:
        return None  # no permessage-deflate: no compression bombs

    @allow_unauthenticated  # no Jupyter user: only a guest cookie for this very session admits
    async def get(self, sid: str, *args: Any, **kwargs: Any) -> None:
        user = self.current_user
        manager: SessionManager = self.settings["sharedterm_manager"]
        if user is not None:
            allowed = await ensure_async(
                self.authorizer.is_authorized(self, user, "execute", self.auth_resource)
            )
            if not allowed:
                raise web.HTTPError(403, "You may not use shared terminals on this server.")
        try:
            if user is None:
                live, me = guest_participant(self, manager, sid)  # 403 without a valid cookie
            else:
                live, me = manager.participant(sid, user_identity(user.username))
            live.session.check_connect(me.id)  # 410 ended, 429 too many sockets of theirs
        except DomainError as e:
            raise web.HTTPError(error_status(e), e.message) from None
        self._live, self._pid = live, me.id
        await super().get(sid, *args, **kwargs)

    def open(self, *args: Any, **kwargs: Any) -> None:
        super().open(*args, **kwargs)  # WebSocketMixin: starts pings that close half-open sockets
        self.set_nodelay(True)  # a keystroke echo must not wait for Nagle and delayed ACKs
        assert self._live is not None
        try:
            self._client = self._live.attach(self._pid, self)
        except DomainError as e:
            self.close(close_code_for(e.code), e.message)

    def on_message(self, message: str | bytes) -> None:
        if self._live is not None and self._client is not None:
            self._live.receive(self._client, message)

    def on_close(self) -> None:
        if self._live is not None and self._client is not None:
            self._live.detach(self._client)

    def close(self, code: int | None = None, reason: str | None = None) -> None:
        # A close frame holds at most 123 bytes of reason (RFC 6455 5.5); tornado raises on more,
        # and the socket would stay open. The whole reason went out in the `disconnect` frame.
        if reason is not None:
            reason = reason.encode("utf-8")[:123].decode("utf-8", "ignore")
        super().close(code, reason)

    def send_frames(self, frames: list[bytes | str]) -> Awaitable[object] | None:
        # Straight onto tornado's stream, which writes at once as far as the kernel takes it
        # and buffers the rest; its own pings and close frames go through the same stream.
        connection = self.ws_connection
        if connection is None or connection.is_closing() or connection.stream is None:
            raise WebSocketClosedError()
        stream = connection.stream
        written = None
        for frame in frames:
            written = stream.write(_wire_frame(frame))
        return written if stream.writing() else None


_last_wire: tuple[bytes | str, bytes] = (b"", b"")


def _wire_frame(frame: bytes | str) -> bytes:
    """`frame` as one final, unmasked websocket text frame (RFC 6455 5.2), as servers send.

    A server's frame is the same bytes for every recipient, and a fan-out hands the same frame
    object to every socket in a row: it is encoded once, not once per client.
    """
    global _last_wire
    if _last_wire[0] is frame:
        return _last_wire[1]
    data = frame.encode("utf-8") if isinstance(frame, str) else frame
    size = len(data)
    if size < 126:
        head = struct.pack("!BB", 0x81, size)
    elif size <= 0xFFFF:
        head = struct.pack("!BBH", 0x81, 126, size)
    else:
        head = struct.pack("!BBQ", 0x81, 127, size)
    _last_wire = (frame, head + data)
    return _last_wire[1]
