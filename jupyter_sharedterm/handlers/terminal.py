"""The terminal websocket: `api/sharedterm/sessions/SID/terminal`, refused before the upgrade
unless the caller is a current participant (a Jupyter user, or a guest holding this session's
guest cookie), then a thin pipe into the live session."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from jupyter_server.auth.decorator import allow_unauthenticated
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.base.websocket import WebSocketMixin
from jupyter_server.utils import ensure_async
from tornado import web
from tornado.websocket import WebSocketHandler

from ..core.errors import DomainError
from ..fanout import Client
from ..live import LiveSession
from ..manager import SessionManager, user_identity
from ..protocol import MAX_FRAME_BYTES
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
        except DomainError as e:
            raise web.HTTPError(error_status(e), e.message) from None
        if not live.session.active:
            raise web.HTTPError(410, "This session has ended.")
        self._live, self._pid = live, me.id
        await super().get(sid, *args, **kwargs)

    def open(self, *args: Any, **kwargs: Any) -> None:
        super().open(*args, **kwargs)  # WebSocketMixin: starts pings that close half-open sockets
        self.set_nodelay(True)  # a keystroke echo must not wait for Nagle and delayed ACKs
        assert self._live is not None
        try:
            self._client = self._live.attach(self._pid, self)
        except DomainError as e:
            self.close(4000 + error_status(e) % 1000, e.message)

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
        # bytes with binary=False go out as a text frame without being encoded again. Tornado
        # writes at once as far as the kernel takes it, and buffers the rest.
        sent = [self.write_message(frame, binary=False) for frame in frames]
        assert self.ws_connection is not None  # write_message raises when it is gone
        stream = self.ws_connection.stream
        if stream is None or not stream.writing():
            return None
        return asyncio.gather(*sent)  # which also collects every frame's error if it closes
