"""REST routes for SSH device sessions: the device list, and the owner's login steps."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from jupyter_server.utils import ensure_async
from tornado import web

from ..devices import Created, DeviceSessions, Outcome
from ..protocol import CreateSession, parse_login_reply
from .base import SharedTermAPIHandler

__all__ = ["DevicesHandler", "LoginHandler", "LoginsHandler", "start_device_session"]


class _DeviceHandler(SharedTermAPIHandler):
    @property
    def devices(self) -> DeviceSessions:
        devices: DeviceSessions = self.settings["sharedterm_devices"]
        return devices

    async def require_terminals(self) -> None:
        """A device shell is a terminal: the Authorizer must allow terminals, as for a shell."""
        allowed = await ensure_async(
            self.authorizer.is_authorized(self, self.current_user, "execute", "terminals")
        )
        if not allowed:
            raise web.HTTPError(403, "You may not use terminals on this server.")


def reply_outcome(handler: SharedTermAPIHandler, outcome: Outcome) -> None:
    """201 + the session model once the device's shell is shared, else 202 + the login step."""
    if isinstance(outcome, Created):
        live = outcome.live
        me = live.session.find(handler.caller()[0])
        assert me is not None
        handler.reply(live.describe(me.id), 201)
    else:
        handler.reply(outcome.model, 202)


async def start_device_session(handler: SharedTermAPIHandler, request: CreateSession) -> None:
    """`POST api/sharedterm/sessions {"transport": "ssh", ...}`, after the checks every create
    makes (called by `SessionsHandler.post`)."""
    devices: DeviceSessions = handler.settings["sharedterm_devices"]
    identity, name = handler.caller()
    outcome = await devices.create(identity, name, request)
    reply_outcome(handler, outcome)


class DevicesHandler(_DeviceHandler):
    """`GET api/sharedterm/devices`: what the "new device session" picker offers."""

    @web.authenticated
    @authorized
    def get(self) -> None:
        self.reply(self.devices.inventory.describe())


class LoginsHandler(_DeviceHandler):
    """`GET api/sharedterm/logins`: your logins waiting for you (after a page reload, say)."""

    @web.authenticated
    @authorized
    def get(self) -> None:
        self.reply(self.devices.logins_of(self.caller()[0]))


class LoginHandler(_DeviceHandler):
    """One login: see its step, continue it, or cancel it. Only its owner sees it at all."""

    @web.authenticated
    @authorized
    def get(self, lid: str) -> None:
        self.reply(self.devices.describe(self.caller()[0], lid))

    @web.authenticated
    @authorized
    async def post(self, lid: str) -> None:
        reply = parse_login_reply(self.json_body())
        await self.require_terminals()
        identity, _ = self.caller()
        reply_outcome(self, await self.devices.advance(identity, lid, reply))

    @web.authenticated
    @authorized
    async def delete(self, lid: str) -> None:
        await self.devices.cancel(self.caller()[0], lid)
        self.set_status(204)
        self.finish()
