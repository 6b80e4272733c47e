"""Guest links on a real server: people with no Jupyter identity, confined to one session.

Guest requests carry no token (`Authorization: ""`) and only the cookies a browser would hold,
so Jupyter's own XSRF and Origin checks apply to them as they would in a browser.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from http.cookies import Morsel, SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from support import DEADLINE, Api, Peer, ServerProcess
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest, HTTPResponse
from tornado.simple_httpclient import HTTPStreamClosedError
from tornado.websocket import websocket_connect

from jupyter_sharedterm.core.session import BAD_LINK
from jupyter_sharedterm.handlers.guest import (
    FAILED_JOIN_BURST,
    GUEST_COOKIE,
    GUEST_STATIC_DIR,
    TOO_MANY_FAILURES,
    GuestGate,
)

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
XSRF_IN_PAGE = re.compile(r'data-xsrf="([^"]+)"')


def plain(text: str) -> str:
    return ANSI.sub("", text).replace("\r", "")


def path_matches(request_path: str, cookie_path: str) -> bool:
    """RFC 6265 5.1.4: would a browser send a cookie with `cookie_path` to `request_path`?"""
    if request_path == cookie_path:
        return True
    return request_path.startswith(cookie_path) and (
        cookie_path.endswith("/") or request_path[len(cookie_path)] == "/"
    )


class Guest:
    """A browser with no Jupyter account: it keeps cookies and sends them as a browser would."""

    def __init__(self, fetch: Callable[..., Awaitable[HTTPResponse]], ws: Any, base: str) -> None:
        self._fetch = fetch
        self._ws = ws
        self.base = base
        self.jar: dict[tuple[str, str], Morsel[str]] = {}  # (name, path) -> cookie
        self.xsrf = ""
        self.peers: list[Peer] = []

    def keep(self, response: HTTPResponse) -> None:
        for header in response.headers.get_list("Set-Cookie"):
            parsed: SimpleCookie = SimpleCookie()
            parsed.load(header)
            for name, morsel in parsed.items():
                self.jar[(name, morsel["path"] or "/")] = morsel

    def cookie(self, name: str) -> Morsel[str]:
        found = [m for (n, _), m in self.jar.items() if n == name]
        assert len(found) == 1, (name, self.jar)
        return found[0]

    def cookies_for(self, path: str) -> str:
        return "; ".join(
            f"{name}={m.value}"
            for (name, cpath), m in self.jar.items()
            if path_matches(path, cpath)
        )

    async def request(
        self, method: str, *parts: str, body: Any = None, raw: bytes | None = None, **kw: Any
    ) -> HTTPResponse:
        path = self.base + "/".join(parts)
        headers = {"Authorization": "", "Cookie": self.cookies_for(path), **kw.pop("headers", {})}
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        if data is None and method in ("POST", "PUT", "PATCH"):
            data = b""
        response = await self._fetch(
            *parts, method=method, body=data, headers=headers, raise_error=False, **kw
        )
        self.keep(response)
        return response

    async def open_page(self, iid: str, **kw: Any) -> HTTPResponse:
        response = await self.request("GET", "sharedterm", "join", iid, **kw)
        match = XSRF_IN_PAGE.search(response.body.decode())
        if match:
            self.xsrf = match[1]
        return response

    async def join(self, iid: str, secret: Any, name: Any = "Vendor", **kw: Any) -> tuple[int, Any]:
        """The page's POST: {"secret", "name"} with the _xsrf cookie and X-XSRFToken header."""
        body = kw.pop("body", {"secret": secret, "name": name})
        headers = {"X-XSRFToken": self.xsrf, **kw.pop("headers", {})}
        response = await self.request(
            "POST", "api", "sharedterm", "join", iid, body=body, headers=headers, **kw
        )
        text = response.body.decode() if response.body else ""
        return response.code, (json.loads(text) if text else None)

    async def enter(self, iid: str, secret: str, name: str = "Vendor") -> dict[str, Any]:
        """Open the page and join, as the page's script does."""
        await self.open_page(iid)
        status, reply = await self.join(iid, secret, name)
        assert status == 200, reply
        return dict(reply)

    def socket_path(self, sid: str) -> str:
        return f"{self.base}api/sharedterm/sessions/{sid}/terminal"

    async def connect(self, sid: str, **headers: str) -> Peer:
        ws = await self._ws(
            "api",
            "sharedterm",
            "sessions",
            sid,
            "terminal",
            headers={
                "Authorization": "",
                "Cookie": self.cookies_for(self.socket_path(sid)),
                **headers,
            },
        )
        peer = Peer(f"guest-{sid}", ws)
        self.peers.append(peer)
        await peer.wait_setup()
        return peer

    async def refused(self, sid: str, **headers: str) -> int:
        """The status of a websocket upgrade that must be refused."""
        headers = {
            "Authorization": "",
            "Cookie": self.cookies_for(self.socket_path(sid)),
            **headers,
        }
        with pytest.raises(HTTPClientError) as refused:
            ws = await self._ws("api", "sharedterm", "sessions", sid, "terminal", headers=headers)
            ws.close()
        return int(refused.value.code)


@pytest.fixture
def guests(jp_fetch: Any, jp_ws_fetch: Any, jp_base_url: str) -> Any:
    made: list[Guest] = []

    def make() -> Guest:
        guest = Guest(jp_fetch, jp_ws_fetch, jp_base_url)
        made.append(guest)
        return guest

    yield make
    for guest in made:
        for peer in guest.peers:
            peer.close()


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any], request: Any) -> dict[str, Any]:
    config = copy.deepcopy(jp_server_config)
    if "with_lab" in request.fixturenames:
        config["ServerApp"]["jpserver_extensions"]["jupyterlab"] = True
    if "guests_off" in request.fixturenames:
        config["SharedTermApp"]["allow_guests"] = False
    if "strict_auth" in request.fixturenames:
        config["ServerApp"]["allow_unauthenticated_access"] = False
    return config


@pytest.fixture
def with_lab() -> None:
    """Also load JupyterLab, so /lab and its APIs are in the route table."""


@pytest.fixture
def guests_off() -> None:
    """Run the server with SharedTermApp.allow_guests = False."""


@pytest.fixture
def strict_auth() -> None:
    """Run the server with ServerApp.allow_unauthenticated_access = False."""


def manager_of(serverapp: Any) -> Any:
    return serverapp.web_app.settings["sharedterm_manager"]


# --- the whole path ------------------------------------------------------------------------------


async def test_a_guest_joins_through_the_page_and_works_in_the_session(
    api: Api, peers: Any, guests: Any, jp_base_url: str
) -> None:
    sid = (await api.share_shell("alice"))["id"]
    iid, secret = await api.invite("alice", sid, "coworker")
    vendor = guests()
    page = await vendor.open_page(iid)
    assert page.code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert vendor.cookie("_xsrf")  # the page hands out the XSRF cookie the join POST needs
    status, reply = await vendor.join(iid, secret, "Vera <b>Vendor</b>\x1b[31m\u202e")
    assert status == 200, reply
    assert set(reply) == {"session", "participant", "role"}
    assert reply["session"] == sid and reply["role"] == "coworker"

    cookie = vendor.cookie(GUEST_COOKIE)
    assert cookie["path"] == f"{jp_base_url}api/sharedterm/sessions/{sid}/terminal"
    assert cookie["httponly"] is True and cookie["samesite"] == "Strict"
    assert not cookie["secure"]  # plain http here; Secure whenever the request came over https
    assert cookie["expires"]
    assert secret not in cookie.value

    alice = await peers("alice", sid)
    vera = await vendor.connect(sid)
    assert vera.setup["role"] == "coworker" and vera.setup["participant"] == reply["participant"]
    # Controls, bidi and brackets gone, the server's guest label added; HTML is text.
    assert vera.setup["name"] == "Vera <b>Vendor</b>31m (guest)"
    roster = await alice.wait_ctl("roster", lambda r: len(r["participants"]) == 2)
    me = next(p for p in roster["participants"] if p["id"] == reply["participant"])
    assert me["kind"] == "guest" and me["role"] == "coworker"

    vera.stdin("echo guest-$((6*7))\r")
    for peer in (alice, vera):
        await peer.wait_for(lambda p=peer: "guest-42" in plain(p.output).split("\n"), "output")
    status, model = await api("alice", "GET", "sessions", sid)
    assert {p["kind"] for p in model["participants"]} == {"user", "guest"}
    assert [i["uses"] for i in model["invites"]] == [1]


async def test_the_page_is_static_strict_and_creates_nothing(
    api: Api, guests: Any, jp_base_url: str
) -> None:
    sid = (await api.share_shell("alice"))["id"]
    iid, _ = await api.invite("alice", sid, "viewer")
    before = (await api("alice", "GET", "sessions", sid))[1]
    previewer = guests()
    for _ in range(3):  # link previewers, prefetchers, reloads
        page = await previewer.open_page(iid)
        assert page.code == 200
    head = page.headers
    assert head["Referrer-Policy"] == "no-referrer"
    assert head["Cache-Control"] == "no-store"
    csp = head["Content-Security-Policy"]
    for directive in (
        "default-src 'none'",
        "script-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'none'",
    ):
        assert directive in csp
    assert "unsafe-eval" not in csp and "script-src 'self';" in csp + ";"
    assert {n for n, _ in previewer.jar} == {"_xsrf"}  # no guest cookie from a GET
    html = page.body.decode()
    # Every resource is our own, under the server's base URL; no inline script.
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources and all(s.startswith(f"{jp_base_url}sharedterm/guest/static/") for s in sources)
    assert "<script>" not in html and "<script " in html
    for src in sources:
        asset = await previewer.request("GET", src[len(jp_base_url) :])
        assert asset.code == 200, src
    # An unknown invite id gets the very same page: the page is no oracle for ids.
    other = await previewer.open_page("Z" * 22)
    assert XSRF_IN_PAGE.sub("", other.body.decode()).replace("Z" * 22, iid) == XSRF_IN_PAGE.sub(
        "", html
    )
    after = (await api("alice", "GET", "sessions", sid))[1]
    assert after["participants"] == before["participants"] and after["invites"] == before["invites"]


LABEXTENSION = Path(__file__).parents[2] / "labextension"
# The guest page's script is built from these (labextension/scripts/build-guest.mjs).
GUEST_SOURCES = [
    LABEXTENSION / "src" / name
    for name in (
        "guest/index.ts",
        "client.ts",
        "connection.ts",
        "model.ts",
        "state.ts",
        "protocol.ts",
    )
]


def test_the_guest_page_script_reads_the_fragment_and_nothing_that_redirects() -> None:
    page = GUEST_SOURCES[0].read_text()
    assert "history.replaceState(null, '', location.pathname)" in page
    # The secret is removed from the address bar before the page does anything else.
    assert page.index("history.replaceState") < page.index("document.body")
    assert "redirect: 'error'" in page
    for source in GUEST_SOURCES:
        script = source.read_text()
        for risky in (
            "location.search",
            "location.href =",
            "location.assign",
            "location.replace",
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "document.write",
            "eval(",
        ):
            assert risky not in script, (source.name, risky)


# --- SECURITY 9, 10, 13: secrets, one answer for every bad link, brute force -----------------


async def test_every_unusable_link_gets_the_same_answer(
    api: Api, guests: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # More failures than the per-address limit allows: that limit has its own test.
    monkeypatch.setattr("jupyter_sharedterm.handlers.guest.FAILED_JOIN_BURST", 100.0)
    sid = (await api.share_shell("alice"))["id"]
    iid, secret = await api.invite("alice", sid, "viewer")
    _, one = await api(
        "alice", "POST", "sessions", sid, "invites", body={"role": "viewer", "max_uses": 1}
    )
    used_iid, used_secret = one["url"].rsplit("/", 1)[1].split("#")
    _, short = await api(
        "alice", "POST", "sessions", sid, "invites", body={"role": "viewer", "expires_in": 1}
    )
    exp_iid, exp_secret = short["url"].rsplit("/", 1)[1].split("#")
    rev_iid, rev_secret = await api.invite("alice", sid, "coworker")
    assert (await api("alice", "DELETE", "sessions", sid, "invites", rev_iid))[0] == 204
    first = guests()
    await first.enter(used_iid, used_secret)

    prober = guests()
    await prober.open_page(iid)
    deadline = time.time() + 1.5
    answers = {
        "wrong secret": await prober.join(iid, secret[:-1] + ("A" if secret[-1] != "A" else "B")),
        "never issued": await prober.join("Q" * 22, secret),
        "malformed": await prober.join(iid, "../../etc/passwd"),
        "empty": await prober.join(iid, ""),
        "not a string": await prober.join(iid, 12345),
        "null": await prober.join(iid, None),
        "huge": await prober.join(iid, "A" * 5000),
        "revoked": await prober.join(rev_iid, rev_secret),
        "used up": await prober.join(used_iid, used_secret),
    }
    await asyncio.sleep(max(0.0, deadline - time.time()))
    answers["expired"] = await prober.join(exp_iid, exp_secret)
    assert all(a == (404, {"message": BAD_LINK}) for a in answers.values()), answers
    assert not any(n == GUEST_COOKIE for n, _ in prober.jar)
    # The revoked and used-up links fail; the other link of the same session still works.
    assert (await prober.join(iid, secret))[0] == 200


async def test_unknown_ids_cost_the_same_hashing_as_wrong_secrets(
    api: Api, guests: Any, jp_serverapp: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    sid = (await api.share_shell("alice"))["id"]
    iid, _ = await api.invite("alice", sid, "viewer")
    hasher = manager_of(jp_serverapp).hasher
    calls: list[str] = []
    real = hasher.digest
    monkeypatch.setattr(hasher, "digest", lambda s: calls.append(s) or real(s))
    prober = guests()
    await prober.open_page(iid)
    await prober.join(iid, "W" * 43)
    wrong = len(calls)
    await prober.join("U" * 22, "W" * 43)
    assert wrong == 1 and len(calls) - wrong == 1  # one keyed hash either way: no timing oracle


async def test_failed_joins_from_one_address_are_limited(api: Api, guests: Any) -> None:
    sid = (await api.share_shell("alice"))["id"]
    iid, secret = await api.invite("alice", sid, "viewer")
    prober = guests()
    await prober.open_page(iid)
    for _ in range(int(FAILED_JOIN_BURST)):
        assert (await prober.join(iid, "W" * 43))[0] == 404
    started = time.monotonic()
    limited = await prober.join(iid, "W" * 43)
    assert limited == (429, {"message": TOO_MANY_FAILURES})
    assert time.monotonic() - started >= 1.0  # failed_join_delay_seconds: guessing is slowed
    # Signed-in users' failures are counted by the same address.
    status, reply = await api("bob", "POST", "join", iid, body={"secret": "X" * 43})
    assert (status, reply) == limited
    # The right secret is always checked and admitted: behind a NAT, an address is many people
    # (tests/integration/test_hardening.py, SECURITY 51).
    assert (await prober.join(iid, secret))[0] == 200


def test_the_failed_join_limiter_is_per_address_and_bounded() -> None:
    gate = GuestGate(enabled=True, cookie_seconds=60)
    now = 1000.0
    for _ in range(int(FAILED_JOIN_BURST)):
        assert gate.join_allowed("10.0.0.1", now)
        gate.join_failed("10.0.0.1", now)
    assert not gate.join_allowed("10.0.0.1", now)
    assert gate.join_allowed("10.0.0.2", now)  # another address is not affected
    assert gate.join_allowed("10.0.0.1", now + 6.1)  # one attempt back every six seconds
    for i in range(5000):
        gate.join_failed(f"192.0.2.{i}", now)
    assert len(gate._failures) == 4096  # memory stays bounded under a spray of addresses


def test_guest_cookies_are_bound_to_key_session_and_time() -> None:
    gate = GuestGate(enabled=True, cookie_seconds=60)
    value = gate.seal("S" * 22, "g" * 22, 2000)
    assert gate.open(value, "S" * 22, 1999.0) is not None
    assert gate.open(value, "S" * 22, 2000.0) is None  # expired
    assert gate.open(value, "T" * 22, 1999.0) is None  # another session
    assert GuestGate(enabled=True, cookie_seconds=60).open(value, "S" * 22, 1999.0) is None
    sid, guest, expires, mac = value.split(".")
    for forged in (
        f"{sid}.{'h' * 22}.{expires}.{mac}",  # another guest id
        f"{sid}.{guest}.{int(expires) + 10**6}.{mac}",  # a later expiry
        f"{sid}.{guest}.{expires}.{mac[:-1]}{'A' if mac[-1] != 'A' else 'B'}",
        f"{sid}.{guest}.{expires}.{mac}\u00e9",
        f"{sid}.{guest}.{expires}",
        "",
        "x" * 10_000,
    ):
        assert gate.open(forged, "S" * 22, 1999.0) is None, forged


async def test_secrets_never_reach_a_log(
    api: Api, guests: Any, jp_serverapp: Any, caplog: pytest.LogCaptureFixture
) -> None:
    from jupyter_sharedterm.app import AUDIT_SCHEMA_ID

    audited: list[dict[str, Any]] = []

    async def listener(logger: Any, schema_id: str, data: dict[str, Any]) -> None:
        audited.append(dict(data))

    jp_serverapp.event_logger.add_listener(schema_id=AUDIT_SCHEMA_ID, listener=listener)
    caplog.set_level(logging.DEBUG)
    sid = (await api.share_shell("alice"))["id"]
    iid, secret = await api.invite("alice", sid, "viewer")
    vendor = guests()
    await vendor.open_page(iid)
    await vendor.join(iid, secret[::-1])  # a failure is logged at most as a status line
    await vendor.join(iid, secret)
    await vendor.connect(sid)
    records = "\n".join(r.getMessage() for r in caplog.records)
    assert f"sharedterm/join/{iid}" in records  # the access log did see the requests...
    for leaked in (secret, secret[::-1], vendor.cookie(GUEST_COOKIE).value):
        assert leaked not in records  # ...but never a secret or the guest's cookie
        assert leaked not in json.dumps(audited)
    assert any(e["action"] == "join" and e["details"]["kind"] == "guest" for e in audited)


# --- SECURITY 11 and 8: the session's end, removal and revocation ----------------------------


async def test_ending_the_session_kills_guest_sockets_cookies_and_links(
    api: Api, peers: Any, guests: Any
) -> None:
    sid = (await api.share_shell("alice"))["id"]
    links = [await api.invite("alice", sid, role) for role in ("coworker", "viewer")]
    people = [guests() for _ in links]
    for person, (iid, secret) in zip(people, links, strict=True):
        await person.enter(iid, secret)
    socks = [await person.connect(sid) for person in people]
    started = time.monotonic()
    assert (await api("alice", "DELETE", "sessions", sid))[0] == 204
    for sock in socks:
        assert await sock.wait_closed() == 4000
        assert sock.frames[-1][0] == "disconnect" and "ended the session" in sock.frames[-1][2]
    assert time.monotonic() - started < 1.0
    for person, (iid, secret) in zip(people, links, strict=True):
        assert await person.refused(sid) == 410  # the cookie: "ended", never a way back in
        assert (await person.join(iid, secret))[0] == 410
    # Nothing carries over to a new session of the same owner.
    new_sid = (await api.share_shell("alice"))["id"]
    for person in people:
        stolen = person.cookie(GUEST_COOKIE).value
        assert await person.refused(new_sid, Cookie=f"{GUEST_COOKIE}={stolen}") == 403


async def test_removing_a_guest_kicks_it_and_kills_its_link(
    api: Api, peers: Any, guests: Any
) -> None:
    sid = (await api.share_shell("alice"))["id"]
    shared_iid, shared_secret = await api.invite("alice", sid, "viewer")
    other_iid, other_secret = await api.invite("alice", sid, "viewer")
    mallory, colleague, third = guests(), guests(), guests()
    joined = await mallory.enter(shared_iid, shared_secret, "Mallory")
    await colleague.enter(shared_iid, shared_secret, "Colleague")
    await third.enter(other_iid, other_secret, "Third")
    m1, m2 = await mallory.connect(sid), await mallory.connect(sid)
    stays = [await colleague.connect(sid), await third.connect(sid)]
    started = time.monotonic()
    status, _ = await api("alice", "DELETE", "sessions", sid, "participants", joined["participant"])
    assert status == 204
    for sock in (m1, m2):
        assert await sock.wait_closed() == 4001
        assert sock.frames[-1][:2] == ["disconnect", 4001]
    assert time.monotonic() - started < 1.0
    assert await mallory.refused(sid) == 403  # the cookie replayed
    # The link Mallory holds is revoked with her removal: coming back as a "new" guest fails
    # like any bad link...
    fresh = guests()
    await fresh.open_page(shared_iid)
    assert await fresh.join(shared_iid, shared_secret) == (404, {"message": BAD_LINK})
    status, model = await api("alice", "GET", "sessions", sid)
    assert {i["id"]: i["state"] for i in model["invites"]}[shared_iid] == "revoked"
    # ...while everyone else, including who came through the same link, stays.
    stays[0].send("ctl", {"type": "question", "text": "still here?"})
    for sock in stays:
        await sock.wait_ctl("question")
        assert not sock.closed.done()
    assert (await fresh.join(other_iid, other_secret))[0] == 200


async def test_revoking_a_link_stops_new_joins_but_keeps_who_joined(
    api: Api, peers: Any, guests: Any
) -> None:
    sid = (await api.share_shell("alice"))["id"]
    iid, secret = await api.invite("alice", sid, "coworker")
    vendor = guests()
    await vendor.enter(iid, secret)
    vera = await vendor.connect(sid)
    assert (await api("alice", "DELETE", "sessions", sid, "invites", iid))[0] == 204
    late = guests()
    await late.open_page(iid)
    assert await late.join(iid, secret) == (404, {"message": BAD_LINK})
    vera.stdin("echo still-typing-$((2*21))\r")
    await vera.wait_for(lambda: "still-typing-42" in plain(vera.output), "output")
    # Reconnecting with the cookie still works: revoking is about the link, not the people.
    vera.close()
    again = await vendor.connect(sid)
    assert again.setup["role"] == "coworker"


async def test_a_guest_cookie_dies_with_the_server_process(tmp_path: Path) -> None:
    """A restart: Jupyter's cookie_secret persists (its login cookie still works), ours not."""
    server = ServerProcess(tmp_path)
    port = server.port
    try:
        await server.start()
        owner = server.headers
        status, model = await _http(
            port, "POST", "api/sharedterm/sessions", owner, {"transport": "local"}
        )
        sid = model["id"]
        status, invite = await _http(
            port, "POST", f"api/sharedterm/sessions/{sid}/invites", owner, {"role": "coworker"}
        )
        iid, secret = invite["url"].rsplit("/", 1)[1].split("#")
        page = await _fetch(port, "GET", f"sharedterm/join/{iid}", {})
        xsrf = XSRF_IN_PAGE.search(page.body.decode())[1]  # type: ignore[index]
        jar = _cookies(page)
        status, joined = await _http(
            port,
            "POST",
            f"api/sharedterm/join/{iid}",
            {"Cookie": f"_xsrf={jar['_xsrf']}", "X-XSRFToken": xsrf},
            {"secret": secret, "name": "Vendor"},
            keep=jar,
        )
        assert status == 200, joined
        guest_cookie = {"Cookie": f"{GUEST_COOKIE}={jar[GUEST_COOKIE]}"}
        ws = await _ws(port, f"api/sharedterm/sessions/{sid}/terminal", guest_cookie)
        ws.close()
        login = _cookies(await _fetch(port, "GET", "api/me", owner))  # Jupyter's login cookie
        ((login_name, login_value),) = login.items()
        secret_file = tmp_path / "runtime" / "jupyter_cookie_secret"
        cookie_secret = secret_file.read_bytes()
    finally:
        server.stop()

    try:
        await server.start()
        assert secret_file.read_bytes() == cookie_secret  # the same cookie_secret...
        me = await _fetch(port, "GET", "api/me", {"Cookie": f"{login_name}={login_value}"})
        assert me.code == 200  # ...so anything signed with it would still be accepted
        with pytest.raises(HTTPClientError) as refused:
            await _ws(port, f"api/sharedterm/sessions/{sid}/terminal", guest_cookie)
        assert refused.value.code == 403  # our guest cookie is no credential at all any more
        page = await _fetch(port, "GET", f"sharedterm/join/{iid}", {})
        xsrf = XSRF_IN_PAGE.search(page.body.decode())[1]  # type: ignore[index]
        jar = _cookies(page)
        status, reply = await _http(
            port,
            "POST",
            f"api/sharedterm/join/{iid}",
            {"Cookie": f"_xsrf={jar['_xsrf']}", "X-XSRFToken": xsrf},
            {"secret": secret, "name": "Vendor"},
        )
        assert (status, reply) == (404, {"message": BAD_LINK})  # the old link: never issued
    finally:
        server.stop()


# --- SECURITY 12, 17, 18: cookie, origin, XSRF -------------------------------------------------


async def test_the_join_post_needs_the_xsrf_token_and_our_origin(api: Api, guests: Any) -> None:
    sid = (await api.share_shell("alice"))["id"]
    iid, secret = await api.invite("alice", sid, "viewer")
    vendor = guests()
    await vendor.open_page(iid)
    assert (await vendor.join(iid, secret, headers={"X-XSRFToken": ""}))[0] == 403
    assert (await vendor.join(iid, secret, headers={"X-XSRFToken": "forged"}))[0] == 403
    status, _ = await vendor.join(iid, secret, headers={"Origin": "http://evil.example"})
    assert status in (403, 404)
    no_cookie = guests()
    no_cookie.xsrf = vendor.xsrf  # the token without its cookie
    assert (await no_cookie.join(iid, secret))[0] == 403
    model = (await api("alice", "GET", "sessions", sid))[1]
    assert len(model["participants"]) == 1 and model["invites"][0]["uses"] == 0
    assert (await vendor.join(iid, secret))[0] == 200


@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://127.0.0.1.evil.example"])
async def test_a_guest_socket_from_a_foreign_origin_is_refused(
    api: Api, guests: Any, origin: str, jp_http_port: int
) -> None:
    sid = (await api.share_shell("alice"))["id"]
    iid, secret = await api.invite("alice", sid, "coworker")
    vendor = guests()
    await vendor.enter(iid, secret)
    assert await vendor.refused(sid, Origin=origin) == 403
    sock = await vendor.connect(sid, Origin=f"http://localhost:{jp_http_port}")
    assert sock.setup["role"] == "coworker"


# --- SECURITY 14: the guest credential is refused everywhere else ----------------------------


def _sample(items: Any) -> str:
    """A string the parsed regex `items` matches (first branch, one of each repeat)."""
    out = []
    for op, arg in items:
        kind = str(op)
        if kind == "LITERAL":
            out.append(chr(arg))
        elif kind in ("NOT_LITERAL", "ANY"):
            out.append("x" if kind == "ANY" or chr(arg) != "x" else "y")
        elif kind == "IN":
            first = arg[0]
            if str(first[0]) == "NEGATE":
                out.append("x")
            elif str(first[0]) == "RANGE":
                out.append(chr(first[1][0]))
            elif str(first[0]) == "LITERAL":
                out.append(chr(first[1]))
            else:  # a category such as \w or \d
                out.append("1" if "DIGIT" in str(first[1]) else "x")
        elif kind in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            low, _, sub = arg
            out.append(_sample(sub) * max(low, 1))
        elif kind == "SUBPATTERN":
            out.append(_sample(arg[-1]))
        elif kind == "BRANCH":
            out.append(_sample(arg[1][0]))
    return "".join(out)


def _route_paths(serverapp: Any, base: str) -> list[str]:
    """One concrete path for every route of the server, from its routing table."""
    from re import _parser  # type: ignore[attr-defined]

    paths: set[str] = set()

    def walk(router: Any) -> None:
        for rule in router.rules:
            if hasattr(rule.target, "rules"):
                walk(rule.target)
                continue
            regex = getattr(rule.matcher, "regex", None)
            if regex is not None:
                path = _sample(_parser.parse(regex.pattern))
                if path.startswith(base):
                    paths.add(path)

    walk(serverapp.web_app.default_router)
    return sorted(paths)


METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


async def test_a_guest_credential_is_worth_nothing_outside_its_session(
    api: Api,
    peers: Any,
    guests: Any,
    jp_serverapp: Any,
    jp_base_url: str,
    jp_root_dir: Path,
    with_lab: None,
    http_server_client: Any,
    jp_fetch: Any,
) -> None:
    """Every route and method answers a guest exactly as it answers no credential at all."""
    sid = (await api.share_shell("alice"))["id"]
    other_sid = (await api.share_shell("bob"))["id"]
    iid, secret = await api.invite("alice", sid, "coworker")
    vendor = guests()
    await vendor.enter(iid, secret)
    (jp_root_dir / "secret.txt").write_text("top secret")
    guest_cookie = f"{GUEST_COOKIE}={vendor.cookie(GUEST_COOKIE).value}"
    xsrf_cookie = f"_xsrf={vendor.cookie('_xsrf').value}"
    paths = _route_paths(jp_serverapp, jp_base_url)
    paths += [
        f"{jp_base_url}api/sharedterm/sessions/{sid}",
        f"{jp_base_url}api/sharedterm/sessions/{sid}/invites",
        f"{jp_base_url}api/sharedterm/sessions/{sid}/recording",
        f"{jp_base_url}api/sharedterm/sessions/{other_sid}",
        f"{jp_base_url}api/contents",
        f"{jp_base_url}api/contents/secret.txt",
        f"{jp_base_url}files/secret.txt",
        f"{jp_base_url}lab",
        f"{jp_base_url}lab/tree/secret.txt",
    ]
    own_socket = vendor.socket_path(sid)
    assert f"{jp_base_url}api/contents" in paths and f"{jp_base_url}api/kernels" in paths
    assert f"{jp_base_url}api/terminals" in paths and f"{jp_base_url}lab" in paths

    async def status(method: str, path: str, cookie: str) -> tuple[int, str]:
        try:
            response = await http_server_client.fetch(
                path,
                method=method,
                headers={"Cookie": cookie, "X-XSRFToken": vendor.xsrf, "Authorization": ""},
                body=b"{}" if method in ("POST", "PUT", "PATCH") else None,
                follow_redirects=False,
                request_timeout=DEADLINE,
                raise_error=False,
            )
        except HTTPStreamClosedError:
            # Some of jupyter_server's page handlers fail to render a 405 for a method they
            # lack and drop the connection, for anyone: that is an answer to compare too.
            return 599, "closed"
        return response.code, response.headers.get("Location", "")

    differing = []
    checked = 0
    for path in sorted(set(paths)):
        # jupyterlab_server's LicensesHandler never answers an error (its async `finish` is
        # not awaited by tornado's error path), for anyone: nothing to compare there.
        if path == own_socket or "/lab/api/licenses/" in path:
            continue
        for method in METHODS:
            anonymous = await status(method, path, xsrf_cookie)
            as_guest = await status(method, path, f"{xsrf_cookie}; {guest_cookie}")
            checked += 1
            if anonymous != as_guest:
                differing.append((method, path, anonymous, as_guest))
            if (
                path.endswith(
                    (
                        "/api/contents",
                        "/api/kernels",
                        "/api/terminals",
                        "/files/secret.txt",
                        "/lab",
                        "/api/sharedterm/sessions",
                    )
                )
                or "/sharedterm/sessions/" in path
            ):
                assert as_guest[0] in (302, 400, 403, 404, 405), (method, path, as_guest)
                if as_guest[0] == 302:
                    assert urlparse(as_guest[1]).path.startswith(f"{jp_base_url}login")
    assert checked > 100 and not differing, differing
    # The cookie under the login cookie's own name is no login either.
    me = await status(
        "GET", f"{jp_base_url}api/me", f"username-localhost-x={vendor.cookie(GUEST_COOKIE).value}"
    )
    assert me[0] == 403
    # Nothing happened: no file, kernel or terminal, sessions unchanged.
    assert sorted(p.name for p in jp_root_dir.iterdir()) == ["secret.txt"]
    for listing in ("kernels", "terminals"):
        assert json.loads((await jp_fetch("api", listing)).body) == []
    model = (await api("alice", "GET", "sessions", sid))[1]
    assert model["state"] == "active" and len(model["participants"]) == 2
    # The other session's socket, with the cookie presented there by hand: refused.
    assert await vendor.refused(other_sid, Cookie=guest_cookie) == 403
    # And the one thing it is for still works.
    assert (await vendor.connect(sid)).setup["role"] == "coworker"


# --- SECURITY 15, 16, 19 -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "sharedterm/join/{iid}?next=//evil.example",
        "sharedterm/join/{iid}?next=/\\evil.example",
        "sharedterm/join/{iid}?next=https://evil.example/",
        "sharedterm/join/{iid}?next=%2F%2Fevil.example",
        "sharedterm/join/{iid}/?next=//evil.example",
        "sharedterm/join/{iid}//evil.example/",
        "sharedterm/join//evil.example",
        "sharedterm/join/%2F%2Fevil.example/",
        "sharedterm/join/%5Cevil.example/",
        "sharedterm//evil.example/",
        "sharedterm/guest/static//evil.example/",
        "sharedterm/guest/static/..%2F..%2Fapi/",
    ],
)
async def test_the_join_flow_never_redirects_off_origin(
    api: Api, guests: Any, http_server_client: Any, jp_base_url: str, target: str
) -> None:
    sid = (await api.share_shell("alice"))["id"]
    iid, secret = await api.invite("alice", sid, "viewer")
    path = jp_base_url + target.format(iid=iid)
    for method in ("GET", "POST"):
        response = await http_server_client.fetch(
            path,
            method=method,
            body=b"{}" if method == "POST" else None,
            headers={"Authorization": ""},
            follow_redirects=False,
            raise_error=False,
        )
        location = response.headers.get("Location")
        if location is not None:
            parsed = urlparse(location)
            assert not parsed.scheme and not parsed.netloc, location
            assert location.startswith("/") and not location.startswith(("//", "/\\")), location
        assert b"evil.example" not in response.body
    vendor = guests()
    await vendor.open_page(iid, params={"next": "//evil.example"})
    status, reply = await vendor.join(iid, secret, params={"next": "//evil.example"})
    assert status == 200 and "evil" not in json.dumps(reply)


async def test_the_role_comes_only_from_the_server(api: Api, peers: Any, guests: Any) -> None:
    sid = (await api.share_shell("alice"))["id"]
    iid, secret = await api.invite("alice", sid, "viewer")
    vendor = guests()
    await vendor.open_page(iid)
    for tampered in (
        {"secret": secret, "name": "V", "role": "owner"},
        {"secret": secret, "name": "V", "session": "x"},
        {"secret": secret, "name": ["owner"]},
    ):
        status, reply = await vendor.join(iid, secret, body=tampered)
        assert status == 400 and set(reply) == {"message"}
    status, reply = await vendor.join(iid, secret, name="owner")
    assert status == 200 and reply["role"] == "viewer"
    alice = await peers("alice", sid)
    viewer = await vendor.connect(sid)
    assert viewer.setup["role"] == "viewer"
    viewer.stdin("echo GUEST-CANARY\r")
    viewer.send("set_size", 5, 5)
    viewer.send("ctl", {"type": "role", "role": "owner"})
    viewer.send("ctl", {"type": "set_role", "participant": reply["participant"], "role": "owner"})
    error = await viewer.wait_ctl("error", lambda e: e["code"] == "forbidden")
    assert "Viewers cannot type" in error["message"]
    alice.stdin("stty size; echo done-$((1+1))\r")
    await alice.wait_output("done-2")
    assert "GUEST-CANARY" not in alice.output and "24 80" in plain(alice.output)
    model = (await api("alice", "GET", "sessions", sid))[1]
    assert [p["role"] for p in model["participants"] if p["kind"] == "guest"] == ["viewer"]
    # A cookie edited to name another participant, session or time is no cookie at all.
    value = vendor.cookie(GUEST_COOKIE).value
    csid, gid, expires, mac = value.split(".")
    for forged in (
        f"{csid}.{'A' * 22}.{expires}.{mac}",
        f"{csid}.{gid}.{int(expires) + 999}.{mac}",
    ):
        assert await vendor.refused(sid, Cookie=f"{GUEST_COOKIE}={forged}") == 403


@pytest.mark.parametrize(
    "raw, status",
    [
        (b"{", 400),
        (b"[]", 400),
        (b"\xff\xfe", 400),
        (b'{"secret": "x", "name": 5}', 400),
        (b'{"secret": "x", "surprise": 1}', 400),
        (b"[" * 100_000, 413),
        (b'{"name": "' + b"n" * (70 << 10) + b'"}', 413),
    ],
)
async def test_bad_guest_requests_get_a_clear_error_and_no_detail(
    api: Api, guests: Any, raw: bytes, status: int
) -> None:
    sid = (await api.share_shell("alice"))["id"]
    iid, _ = await api.invite("alice", sid, "viewer")
    vendor = guests()
    await vendor.open_page(iid)
    response = await vendor.request(
        "POST", "api", "sharedterm", "join", iid, raw=raw, headers={"X-XSRFToken": vendor.xsrf}
    )
    reply = json.loads(response.body)
    assert response.code == status and set(reply) == {"message"}
    assert "Traceback" not in reply["message"] and "/" not in reply["message"]


async def test_a_guest_socket_for_an_unknown_session_is_refused(guests: Any) -> None:
    assert await guests().refused("N" * 22) == 403


async def test_display_names_are_sanitized_and_have_a_default(
    api: Api, peers: Any, guests: Any
) -> None:
    sid = (await api.share_shell("alice"))["id"]
    iid, secret = await api.invite("alice", sid, "viewer")
    names = {}
    for raw in ("\u202eevil\u202c\x07  spaced\tout ", "x" * 500, None, "\x1b\x00"):
        person = guests()
        await person.open_page(iid)
        body = {"secret": secret} if raw is None else {"secret": secret, "name": raw}
        status, reply = await person.join(iid, secret, body=body)
        assert status == 200
        names[raw] = reply["participant"]
    model = (await api("alice", "GET", "sessions", sid))[1]
    shown = {p["id"]: p["name"] for p in model["participants"]}
    # Every guest's name carries the server's label (SECURITY 52, tests/unit/test_names.py).
    assert shown[names["\u202eevil\u202c\x07  spaced\tout "]] == "evil spaced out (guest)"
    assert shown[names["x" * 500]] == "x" * 64 + " (guest)"
    assert shown[names[None]] == "Guest (guest)"
    assert shown[names["\x1b\x00"]] == "Guest (guest) (2)"


async def test_signed_in_users_join_as_themselves_and_never_get_a_guest_cookie(
    api: Api, jp_fetch: Any
) -> None:
    sid = (await api.share_shell("alice"))["id"]
    iid, secret = await api.invite("alice", sid, "viewer")
    response = await jp_fetch(
        "api",
        "sharedterm",
        "join",
        iid,
        method="POST",
        body=json.dumps({"secret": secret, "name": "Someone Else"}),
        headers={"X-Test-User": "bob"},
    )
    assert GUEST_COOKIE not in " ".join(response.headers.get_list("Set-Cookie"))
    model = (await api("alice", "GET", "sessions", sid))[1]
    assert {(p["name"], p["kind"]) for p in model["participants"]} == {
        ("Alice", "user"),
        ("Bob", "user"),
    }


async def test_guest_links_can_be_turned_off(api: Api, guests: Any, guests_off: None) -> None:
    sid = (await api.share_shell("alice"))["id"]
    iid, secret = await api.invite("alice", sid, "viewer")
    vendor = guests()
    await vendor.open_page(iid)
    status, reply = await vendor.join(iid, secret)
    assert status == 403 and "Guest links are turned off" in reply["message"]
    assert not any(n == GUEST_COOKIE for n, _ in vendor.jar)
    assert (await api("bob", "POST", "join", iid, body={"secret": secret}))[0] == 200


# --- talking to a server in its own process, for the restart test -----------------------------


async def _fetch(
    port: int, method: str, path: str, headers: dict[str, str], body: Any = None
) -> HTTPResponse:
    request = HTTPRequest(
        f"http://127.0.0.1:{port}/{path}",
        method=method,
        headers=headers,
        body=None if body is None and method == "GET" else json.dumps(body or {}),
        follow_redirects=False,
    )
    return await AsyncHTTPClient().fetch(request, raise_error=False)


def _cookies(response: HTTPResponse) -> dict[str, str]:
    jar: dict[str, str] = {}
    for header in response.headers.get_list("Set-Cookie"):
        parsed: SimpleCookie = SimpleCookie()
        parsed.load(header)
        jar.update({name: m.value for name, m in parsed.items()})
    return jar


async def _http(
    port: int,
    method: str,
    path: str,
    headers: dict[str, str],
    body: Any = None,
    keep: dict[str, str] | None = None,
) -> tuple[int, Any]:
    response = await _fetch(port, method, path, headers, body)
    if keep is not None:
        keep.update(_cookies(response))
    return response.code, (json.loads(response.body) if response.body else None)


async def _ws(port: int, path: str, headers: dict[str, str]) -> Any:
    return await websocket_connect(HTTPRequest(f"ws://127.0.0.1:{port}/{path}", headers=headers))


# jupyter_server_terminals' own socket is undecorated (it checks its user itself): not ours.
# Ours are added in a separate call, so an undecorated endpoint of ours still fails the test.
@pytest.mark.filterwarnings(
    "ignore:(?s)Extension endpoints without.*of TermSocket registered"
    ":jupyter_server.utils.JupyterServerAuthWarning"
)
async def test_guests_work_where_unauthenticated_access_is_off(
    api: Api, guests: Any, strict_auth: None
) -> None:
    """Only the page, its files, the join and the socket are open to guests; they say so."""
    sid = (await api.share_shell("alice"))["id"]
    iid, secret = await api.invite("alice", sid, "viewer")
    vendor = guests()
    page = await vendor.open_page(iid)
    assert page.code == 200
    assert (await vendor.request("GET", "sharedterm", "guest", "static", "guest.js")).code == 200
    await vendor.join(iid, secret)
    assert (await vendor.connect(sid)).setup["role"] == "viewer"
    assert (await vendor.request("GET", "api", "sharedterm", "sessions")).code == 403


def test_the_guest_page_is_built_from_the_npm_xterm_with_its_license() -> None:
    """guest.js bundles the labextension's own @xterm packages (MIT) and ships their notices."""
    assert not (GUEST_STATIC_DIR / "xterm.js").exists()  # no vendored copy beside the bundle
    notices = (GUEST_STATIC_DIR / "THIRD-PARTY-LICENSES.txt").read_text()
    for package in ("@xterm/xterm", "@xterm/addon-fit"):
        installed = LABEXTENSION / "node_modules" / package
        version = json.loads((installed / "package.json").read_text())["version"]
        assert f"{package} {version}\n" in notices
        assert (installed / "LICENSE").read_text().strip() in notices
