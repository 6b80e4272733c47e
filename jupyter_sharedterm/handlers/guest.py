"""Guest links: the join page, joining with no Jupyter identity, and the guest cookie.

A guest is never a Jupyter user: the server's IdentityProvider keeps returning None for them,
so every stock route (contents, kernels, terminals, files, /lab) refuses them by itself. The one
thing that accepts a guest's cookie is the terminal websocket of the session the cookie names
(`guest_participant`), and only while that guest is a current participant of it. The cookie is
signed with a key drawn when the process starts, never with Jupyter's cookie_secret (which
persists across restarts), so no guest cookie outlives the server process.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import os
import re
import string
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Final

from jupyter_server.auth.decorator import allow_unauthenticated
from jupyter_server.base.handlers import FileFindHandler, JupyterHandler
from jupyter_server.utils import url_path_join
from tornado import web

from ..core.errors import DomainError, ErrorCode
from ..core.ids import new_id
from ..core.limits import KeyedBuckets
from ..core.session import Kind, Participant
from ..live import LiveSession
from ..manager import SessionManager
from ..protocol import parse_join_request
from .base import SharedTermAPIHandler

__all__ = [
    "GUEST_COOKIE",
    "GUEST_STATIC_DIR",
    "GuestGate",
    "GuestPageHandler",
    "GuestStaticHandler",
    "guest_cookie_path",
    "guest_identity",
    "guest_participant",
    "join_as_guest",
    "redeem",
]

GUEST_COOKIE: Final = "sharedterm-guest"
GUEST_DIR: Final = Path(__file__).resolve().parent.parent / "guest"
GUEST_STATIC_DIR: Final = GUEST_DIR / "static"

# Failed joins (bad, expired, revoked or unknown links) per client address: ten in a burst,
# then one every six seconds; beyond, a wrong secret is answered 429 after a delay. A right
# secret is always checked and always admitted: behind a NAT or a proxy, one address is many
# people, and a neighbour's guessing must not lock them out. Secrets have 256 bits, so the
# limit only adds to what is already hopeless; it slows a scanner and keeps it out of the log.
FAILED_JOIN_BURST: Final = 10.0
FAILED_JOIN_RATE: Final = 10.0 / 60.0  # per second
TRACKED_ADDRESSES: Final = 4096  # addresses remembered at once (oldest forgotten first)
MAX_COOKIE_CHARS: Final = 256

TOO_MANY_FAILURES: Final = (
    "Too many attempts to join with links that are not valid. Wait a minute, then try again."
)
GUESTS_OFF: Final = (
    "Guest links are turned off on this server: sign in to Jupyter first, then open the link."
)

# The page runs our own script and styles only, talks only to this server, and cannot be framed.
# 'unsafe-inline' is for styles only: xterm.js inserts a <style> element for its colours.
# Nothing on the page is ever built from HTML strings, so no markup can be injected to use it.
PAGE_CSP: Final = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "connect-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)
_COOKIE_VALUE: Final = re.compile(r"([A-Za-z0-9_-]{1,64})\.([A-Za-z0-9_-]{1,64})\.(\d{1,12})\.")


def guest_identity(guest: str) -> str:
    """The participant identity of a guest: never a Jupyter user name."""
    return f"guest:{guest}"


def guest_cookie_path(base_url: str, sid: str) -> str:
    """The one path a guest's browser sends its cookie to: that session's terminal socket."""
    return url_path_join(base_url, "api", "sharedterm", "sessions", sid, "terminal")


@dataclass(frozen=True, slots=True)
class GuestPass:
    """What a valid guest cookie says: this guest, of this session, until then."""

    session: str
    guest: str
    expires: int


class GuestGate:
    """Per-process state of guest access: the cookie key and the failed-join limiter.

    Args:
        enabled: whether people with no Jupyter identity may join through links at all.
        cookie_seconds: how long a guest cookie is valid (it also dies with its session).
        key: the signing key; by default 32 random bytes drawn now, so a restart voids every
            guest cookie.
    """

    def __init__(
        self,
        *,
        enabled: bool,
        cookie_seconds: float,
        key: bytes | None = None,
        failed_join_delay: float = 1.0,
        max_delayed: int = 64,
    ) -> None:
        self.enabled = enabled
        self.cookie_seconds = cookie_seconds
        self.failed_join_delay = failed_join_delay
        # Answers held back at once: past this, a limited address is answered 429 at once, so a
        # flood of parallel guesses cannot make the delay hold open connections without bound.
        self.max_delayed = max_delayed
        self.delayed = 0  # answers being held back now
        self._key = key if key is not None else os.urandom(32)
        self._failures = KeyedBuckets(FAILED_JOIN_RATE, FAILED_JOIN_BURST, TRACKED_ADDRESSES)

    # --- the cookie ------------------------------------------------------------------------------

    def seal(self, sid: str, guest: str, expires: int) -> str:
        """A cookie value naming `guest` of session `sid`, valid until `expires` (epoch s)."""
        payload = f"{sid}.{guest}.{expires}."
        return payload + self._mac(payload)

    def open(self, value: str | None, sid: str, now: float) -> GuestPass | None:
        """The pass a cookie value grants for session `sid`; None if forged, expired, or for
        another session."""
        if not value or len(value) > MAX_COOKIE_CHARS:
            return None
        match = _COOKIE_VALUE.match(value)
        if match is None:
            return None
        mac = value[match.end() :].encode("ascii", "replace")
        expected = self._mac(value[: match.end()]).encode("ascii")
        if not hmac.compare_digest(mac, expected):
            return None
        found = GuestPass(match[1], match[2], int(match[3]))
        if found.session != sid or found.expires <= now:
            return None
        return found

    def _mac(self, payload: str) -> str:
        digest = hmac.new(
            self._key, b"sharedterm-guest-v1:" + payload.encode("ascii"), hashlib.sha256
        ).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")

    # --- failed joins ----------------------------------------------------------------------------

    def join_allowed(self, address: str, now: float) -> bool:
        """False while `address` has spent its allowance of failed joins."""
        return self._failures.allows(address, now)

    def join_failed(self, address: str, now: float) -> bool:
        """Count one failed join; True if it was beyond the allowance."""
        return not self._failures.take(address, now)


def _gate(handler: web.RequestHandler) -> GuestGate:
    gate: GuestGate = handler.settings["sharedterm_guests"]
    return gate


# --- joining ------------------------------------------------------------------------------------


async def redeem(
    handler: SharedTermAPIHandler, iid: str, secret: str, *, identity: str, name: str, kind: Kind
) -> tuple[LiveSession, Participant]:
    """Join through invite `iid`, with the per-address limit on failed attempts.

    The secret is always checked: a holder of a right one is admitted whatever its address
    did before. Past the allowance, a wrong one is answered 429 only after a delay.

    Raises:
        DomainError: NOT_FOUND for every unusable link, TOO_MANY instead once the caller's
            address is past its allowance of failures; GONE if the session ended; FORBIDDEN if
            this identity was removed; TOO_MANY if the session or the link is full.
    """
    gate = _gate(handler)
    address = handler.request.remote_ip or "unknown"
    manager = handler.manager
    try:
        try:
            live = manager.session_of_invite(iid)
        except DomainError:
            manager.hasher.digest(secret)  # the work of a real check: timing tells no ids apart
            raise
        joined = live.join(iid, secret, identity=identity, name=name, kind=kind, address=address)
        return live, joined
    except DomainError as e:
        # GONE is only ever told to a holder of the right secret: not a guess.
        if e.code is ErrorCode.NOT_FOUND and gate.join_failed(address, time.monotonic()):
            handler.log.warning("sharedterm: too many failed joins from %s", address)
            if gate.delayed < gate.max_delayed:
                gate.delayed += 1
                try:
                    await asyncio.sleep(gate.failed_join_delay)
                finally:
                    gate.delayed -= 1
            raise DomainError(ErrorCode.TOO_MANY, TOO_MANY_FAILURES) from None
        raise


async def join_as_guest(handler: SharedTermAPIHandler, iid: str) -> None:
    """`POST api/sharedterm/join/IID` with no Jupyter identity: admit a guest, set its cookie.

    The cookie is HttpOnly, SameSite=Strict, Secure on https, and sent by the browser only to
    the session's terminal socket. It is never Jupyter's login cookie.
    """
    request = parse_join_request(handler.json_body())
    gate = _gate(handler)
    if not gate.enabled:
        raise DomainError(ErrorCode.FORBIDDEN, GUESTS_OFF)
    guest = new_id()
    live, p = await redeem(
        handler,
        iid,
        request.secret,
        identity=guest_identity(guest),
        name=request.name or "",  # cleaned in the core; "Guest" when empty
        kind=Kind.GUEST,
    )
    expires = int(time.time() + gate.cookie_seconds)
    handler.set_cookie(
        GUEST_COOKIE,
        gate.seal(live.id, guest, expires),
        path=guest_cookie_path(handler.base_url, live.id),
        expires=expires,
        httponly=True,
        samesite="Strict",
        secure=handler.request.protocol == "https",
    )
    handler.reply({"session": live.id, "participant": p.id, "role": p.role.value})


def guest_participant(
    handler: JupyterHandler, manager: SessionManager, sid: str
) -> tuple[LiveSession, Participant]:
    """The session and participant a guest cookie admits to `sid`'s terminal socket.

    Raises:
        web.HTTPError: 403 without a valid cookie for this session (forged, expired, from
            another process, or for another session: all the same as no credential at all).
        DomainError: FORBIDDEN if the guest was removed, NOT_FOUND if unknown.
    """
    found = _gate(handler).open(handler.get_cookie(GUEST_COOKIE), sid, time.time())
    if found is None:
        raise web.HTTPError(403, "Sign in, or join through an invite link.")
    return manager.participant(sid, guest_identity(found.guest))


# --- the page -----------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _page_template() -> string.Template:
    return string.Template((GUEST_DIR / "page.html").read_text("utf-8"))


def _attribute(value: str) -> str:
    return value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


class GuestPageHandler(JupyterHandler):
    """`GET {base_url}sharedterm/join/IID`: the page an invite link opens.

    The page itself creates nothing and spends no use (link previewers fetch it too): its
    script reads the secret from the fragment, removes it from the address bar, asks for a
    name and POSTs the join. It is the same page for every id, valid or not, and it never
    redirects anywhere.
    """

    @property
    def content_security_policy(self) -> str:
        return PAGE_CSP

    @allow_unauthenticated
    def get(self, iid: str) -> None:
        self.set_header("Referrer-Policy", "no-referrer")
        self.set_header("Cache-Control", "no-store")
        self.set_header("X-Frame-Options", "DENY")
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        xsrf = self.xsrf_token  # also sets the _xsrf cookie the join POST needs
        page = _page_template().substitute(
            base_url=_attribute(self.base_url),
            invite=_attribute(iid),
            xsrf=_attribute(xsrf.decode("ascii") if isinstance(xsrf, bytes) else xsrf),
            static=_attribute(url_path_join(self.base_url, "sharedterm/guest/static/")),
        )
        self.finish(page)


class GuestStaticHandler(FileFindHandler):
    """The guest page's script and styles, built from labextension/src/guest/ (xterm.js bundled
    from npm): nothing from a third party or a CDN."""

    def set_default_headers(self) -> None:
        super().set_default_headers()
        self.set_header("Referrer-Policy", "no-referrer")

    def initialize(self) -> None:  # type: ignore[override]
        super().initialize(path=[str(GUEST_STATIC_DIR)])
