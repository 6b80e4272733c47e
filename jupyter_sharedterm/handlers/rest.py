"""REST routes of CONTRACT.md: sessions, participants, invites and joining."""

from __future__ import annotations

from jupyter_server.auth.decorator import allow_unauthenticated, authorized
from jupyter_server.utils import ensure_async, url_path_join
from tornado import web

from ..core.ids import ParticipantId
from ..core.roles import Action
from ..core.session import Kind
from ..protocol import (
    parse_create_session,
    parse_invite_request,
    parse_join_request,
    parse_role_change,
)
from .base import SharedTermAPIHandler
from .devices import start_device_session
from .guest import join_as_guest, redeem
from .memories import session_memories

__all__ = [
    "InviteHandler",
    "InvitesHandler",
    "JoinHandler",
    "ParticipantHandler",
    "SessionHandler",
    "SessionsHandler",
]


class SessionsHandler(SharedTermAPIHandler):
    @web.authenticated
    @authorized
    def get(self) -> None:
        identity, _ = self.caller()
        models = []
        for live in self.manager.visible_to(identity):
            me = live.session.find(identity)
            assert me is not None
            models.append(live.describe(me.id))
        self.reply(models)

    @web.authenticated
    @authorized
    async def post(self) -> None:
        request = parse_create_session(self.json_body())
        # Sharing starts a shell (or hands over one): the caller must be allowed terminals.
        allowed = await ensure_async(
            self.authorizer.is_authorized(self, self.current_user, "execute", "terminals")
        )
        if not allowed:
            raise web.HTTPError(403, "You may not use terminals on this server.")
        if request.transport == "ssh":
            await start_device_session(self, request)
            return
        identity, name = self.caller()
        live = await self.manager.create(identity, name, request)
        me = live.session.find(identity)
        assert me is not None
        self.reply(live.describe(me.id), 201)


class SessionHandler(SharedTermAPIHandler):
    @web.authenticated
    @authorized
    async def get(self, sid: str) -> None:
        live, me = self.manager.participant(sid, self.caller()[0])
        self.reply({**live.describe(me.id), **await session_memories(self, live)})

    @web.authenticated
    @authorized
    def delete(self, sid: str) -> None:
        live, me = self.manager.participant(sid, self.caller()[0])
        live.end(me.id, f"{me.name} ended the session.")
        self.set_status(204)
        self.finish()


class ParticipantHandler(SharedTermAPIHandler):
    @web.authenticated
    @authorized
    def patch(self, sid: str, pid: str) -> None:
        role = parse_role_change(self.json_body())
        live, me = self.manager.participant(sid, self.caller()[0])
        live.set_role(me.id, ParticipantId(pid), role)
        self.reply(live.session.participant(ParticipantId(pid)).describe())

    @web.authenticated
    @authorized
    def delete(self, sid: str, pid: str) -> None:
        live, me = self.manager.participant(sid, self.caller()[0])
        live.remove(me.id, ParticipantId(pid))
        self.set_status(204)
        self.finish()


class InvitesHandler(SharedTermAPIHandler):
    @web.authenticated
    @authorized
    def get(self, sid: str) -> None:
        live, me = self.manager.participant(sid, self.caller()[0])
        live.require(me.id, Action.MANAGE)
        now = self.manager.now()
        self.reply([i.describe(now) for i in live.session.invites.values()])

    @web.authenticated
    @authorized
    def post(self, sid: str) -> None:
        request = parse_invite_request(self.json_body())
        live, me = self.manager.participant(sid, self.caller()[0])
        invite, secret = live.create_invite(me.id, request)
        path = url_path_join(self.base_url, "sharedterm", "join", invite.id)
        model = invite.describe(self.manager.now())
        model["url"] = f"{self.request.protocol}://{self.request.host}{path}#{secret}"
        self.reply(model, 201)


class InviteHandler(SharedTermAPIHandler):
    @web.authenticated
    @authorized
    def delete(self, sid: str, iid: str) -> None:
        live, me = self.manager.participant(sid, self.caller()[0])
        live.revoke_invite(me.id, iid)
        self.set_status(204)
        self.finish()


class JoinHandler(SharedTermAPIHandler):
    """Redeem an invite: as the signed-in user, or as a guest when there is no Jupyter identity."""

    @allow_unauthenticated  # no identity = a guest, never a Jupyter user (see handlers/guest.py)
    async def post(self, iid: str) -> None:
        if self.current_user is None:
            await join_as_guest(self, iid)
            return
        allowed = await ensure_async(
            self.authorizer.is_authorized(self, self.current_user, "write", self.auth_resource)
        )
        if not allowed:
            raise web.HTTPError(403, "You may not use shared terminals on this server.")
        request = parse_join_request(self.json_body())
        identity, name = self.caller()
        live, p = await redeem(
            self, iid, request.secret, identity=identity, name=name, kind=Kind.USER
        )
        self.reply({"session": live.id, "participant": p.id, "role": p.role.value})
