"""Thin adapters for presence: the `api/sharedterm/presence/sync` websocket (Yjs sync plus hint
frames) and `GET api/sharedterm/presence`. Signed-in users only; the rules are the core's."""

from __future__ import annotations

import contextlib
from typing import Any

from jupyter_server.auth.decorator import authorized, ws_authenticated
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.base.websocket import WebSocketMixin
from jupyter_server.utils import ensure_async
from tornado import web
from tornado.websocket import WebSocketClosedError, WebSocketHandler

from ..core.presence import ConnectionId
from ..handlers.base import SharedTermAPIHandler
from .hub import PresenceHub, ProtocolError

__all__ = ["PresenceHandler", "PresenceSocketHandler"]

MAX_PRESENCE_FRAME_BYTES = 64 << 10  # 64 KiB: a client sends hints and state vectors, no more
CLOSE_PROTOCOL_ERROR = 4400
CLOSE_NO_PONG = 4408


def _hub(handler: web.RequestHandler) -> PresenceHub:
    hub: PresenceHub = handler.settings["sharedterm_presence"]
    return hub


class PresenceHandler(SharedTermAPIHandler):
    """`GET api/sharedterm/presence`: everyone's state, for scripts."""

    @web.authenticated
    @authorized
    def get(self) -> None:
        self.reply([person.to_json() for person in _hub(self).presence.people()])


class PresenceSocketHandler(WebSocketMixin, WebSocketHandler, JupyterHandler):
    """One tab's presence connection: it receives the document and sends hints.

    The mixin gives Jupyter's origin and auth checks; its own ping loop is not started (its
    `open` is not called): the hub pings every presence socket on the configured interval.
    """

    auth_resource = "sharedterm"
    _conn: ConnectionId | None = None

    @property
    def max_message_size(self) -> int:
        return MAX_PRESENCE_FRAME_BYTES

    def get_compression_options(self) -> None:
        return None  # no permessage-deflate: no compression bombs

    @ws_authenticated  # 403 before the upgrade without a Jupyter identity (guests included)
    async def get(self, *args: Any, **kwargs: Any) -> None:
        user = self.current_user
        if user is None:  # guests included: presence is for the server's own users
            raise web.HTTPError(403, "Presence is for signed-in users only.")
        allowed = await ensure_async(
            self.authorizer.is_authorized(self, user, "read", self.auth_resource)
        )
        if not allowed:
            raise web.HTTPError(403, "You may not see presence on this server.")
        await super().get(*args, **kwargs)

    def open(self, *args: Any, **kwargs: Any) -> None:
        user = self.current_user
        name = user.display_name or user.name or user.username
        self._conn = _hub(self).connect(self, user.username, name)

    def on_message(self, message: str | bytes) -> None:
        if self._conn is None:
            return
        try:
            reply = _hub(self).receive(self._conn, message)
        except ProtocolError as e:
            self.close(CLOSE_PROTOCOL_ERROR, str(e))
            return
        if reply is not None:
            self.send(reply)

    def on_pong(self, data: bytes) -> None:
        if self._conn is not None:
            _hub(self).alive(self._conn)

    def on_close(self) -> None:
        if self._conn is not None:
            _hub(self).disconnect(self._conn)
            self._conn = None

    # --- PresenceSocket ---------------------------------------------------------------------

    def send(self, data: bytes) -> None:
        with contextlib.suppress(WebSocketClosedError):  # on_close follows and disconnects it
            self.write_message(data, binary=True)

    def ping(self, data: str | bytes = b"") -> None:
        with contextlib.suppress(WebSocketClosedError):
            super().ping(data)

    def drop(self) -> None:
        self._conn = None  # the hub has already let it go
        self.close(CLOSE_NO_PONG, "No answer to pings.")
