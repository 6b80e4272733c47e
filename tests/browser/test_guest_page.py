"""The guest page, end to end: two people with no Jupyter account join through invite links.

Alice (owner, over REST and a websocket) shares a shell and makes a co-worker link and a viewer
link. Vera and Vic open them in their own browsers: the page takes the secret out of the address
bar, asks for a name and joins. Vera's command runs for everyone; Vic cannot type; Alice ends the
session, both pages say so with the reason, and the links are dead.
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from labpage import TIMEOUT_MS, LabServer, chromium
from playwright.async_api import Browser, BrowserContext, Page
from support import Peer
from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.websocket import websocket_connect

pytestmark = pytest.mark.browser

ROWS = "#st-terminal .xterm-rows"


class Owner:
    """Alice over REST: her token plus the login cookie of her first request keep her one user."""

    def __init__(self, lab: LabServer) -> None:
        self.lab = lab
        self.cookie = ""

    async def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        headers = {"Authorization": f"token {self.lab.token}"}
        if self.cookie:
            headers["Cookie"] = self.cookie
        response = await AsyncHTTPClient().fetch(
            HTTPRequest(
                self.lab.url + path,
                method=method,
                headers=headers,
                body=None if body is None else json.dumps(body),
                allow_nonstandard_methods=True,
            ),
            raise_error=False,
        )
        for header in response.headers.get_list("Set-Cookie"):
            if header.startswith("username-"):
                self.cookie = header.split(";", 1)[0]
        return response.code, (json.loads(response.body) if response.body else None)

    async def socket(self, sid: str) -> Peer:
        url = self.lab.url.replace("http://", "ws://") + f"api/sharedterm/sessions/{sid}/terminal"
        headers = {"Authorization": f"token {self.lab.token}", "Cookie": self.cookie}
        peer = Peer("alice", await websocket_connect(HTTPRequest(url, headers=headers)))
        first = await peer.wait_for(lambda: peer.frames and peer.frames[0], "setup")
        assert first[0] == "setup" and first[1]["role"] == "owner"
        return peer


class GuestBrowser:
    """One guest's browser context, with everything it requested and every console complaint."""

    def __init__(self, context: BrowserContext, page: Page, origin: str) -> None:
        self.context = context
        self.page = page
        self.requests: list[str] = []
        self.problems: list[str] = []
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("pageerror", lambda e: self.problems.append(f"pageerror: {e}"))
        page.on(
            "console",
            lambda m: (
                self.problems.append(f"console {m.type}: {m.text}")
                if m.type in ("error", "warning")
                else None
            ),
        )
        self.origin = origin

    @classmethod
    async def open(cls, browser: Browser, origin: str) -> GuestBrowser:
        context = await browser.new_context(viewport={"width": 1280, "height": 760})
        context.set_default_timeout(TIMEOUT_MS)
        return cls(context, await context.new_page(), origin)

    async def join(self, link: str, name: str) -> None:
        await self.page.goto(link)
        await self.page.locator("#st-name").fill(name)
        await self.page.locator("#st-join-button").click()
        await self.page.wait_for_selector('body[data-state="joined"]')

    async def state(self) -> str:
        return str(await self.page.get_attribute("body", "data-state"))

    async def wait_screen(self, text: str) -> None:
        await self.page.wait_for_function(
            "([sel, text]) => (document.querySelector(sel)?.textContent || '').includes(text)",
            arg=[ROWS, text],
        )

    async def screen(self) -> str:
        return str(await self.page.locator(ROWS).text_content() or "")

    def foreign_requests(self) -> list[str]:
        return [
            u
            for u in self.requests
            if urlparse(u).scheme in ("http", "https", "ws", "wss")
            and f"{urlparse(u).hostname}:{urlparse(u).port}" != self.origin
        ]


async def test_two_guests_share_a_terminal_through_the_page(
    lab: LabServer, screenshots: Path
) -> None:
    owner = Owner(lab)
    status, _ = await owner.call("GET", "api/me?as=alice")
    assert status == 200 and owner.cookie
    status, session = await owner.call("POST", "api/sharedterm/sessions", {"transport": "local"})
    assert status == 201, session
    sid = session["id"]
    links = {}
    for role in ("coworker", "viewer"):
        status, invite = await owner.call(
            "POST", f"api/sharedterm/sessions/{sid}/invites", {"role": role}
        )
        assert status == 201, invite
        links[role] = invite["url"]
    alice = await owner.socket(sid)
    origin = urlparse(lab.url)
    try:
        async with chromium() as browser:
            await _scenario(owner, alice, sid, links, browser, screenshots, origin.netloc)
    finally:
        alice.close()


async def _scenario(
    owner: Owner,
    alice: Peer,
    sid: str,
    links: dict[str, str],
    browser: Browser,
    screenshots: Path,
    origin: str,
) -> None:
    vera, vic = await asyncio.gather(
        GuestBrowser.open(browser, origin), GuestBrowser.open(browser, origin)
    )
    # --- the page takes the secret out of the address bar before anything else ---------------
    secret = links["coworker"].split("#", 1)[1]
    await vera.page.goto(links["coworker"])
    await vera.page.wait_for_selector('body[data-state="start"]')
    assert vera.page.url == links["coworker"].split("#", 1)[0]
    assert secret not in await vera.page.evaluate("location.href + document.referrer")
    await vera.page.locator("#st-name").fill("Vera Vendor")
    await vera.page.locator("#st-join-button").click()
    await vera.page.wait_for_selector('body[data-state="joined"]')
    assert (await vera.page.locator("#st-role").text_content()) == "Co-worker"
    cookies = {c["name"]: c for c in await vera.context.cookies()}
    guest = cookies["sharedterm-guest"]
    assert guest["httpOnly"] and guest["sameSite"] == "Strict"
    assert guest["path"].endswith(f"/api/sharedterm/sessions/{sid}/terminal")
    assert await vera.page.evaluate("document.cookie.includes('sharedterm-guest')") is False

    hostile = '<img src=x onerror="document.title=1">Vic'
    await vic.join(links["viewer"], hostile)
    assert (await vic.page.locator("#st-role").text_content()) == "Viewer"

    # --- names are text, never markup ------------------------------------------------------------
    await vera.page.locator("#st-roster li", has_text="onerror").wait_for()
    assert await vera.page.locator("#st-roster img").count() == 0
    assert hostile in str(await vera.page.locator("#st-roster").text_content())
    roster = await alice.wait_ctl("roster", lambda r: len(r["participants"]) == 3)
    assert sorted(p["kind"] for p in roster["participants"]) == ["guest", "guest", "user"]

    # --- the co-worker types; everyone sees it ---------------------------------------------------
    await vera.page.locator("#st-terminal .xterm-screen").click()
    await vera.page.keyboard.type("echo from-guest-$((6*7))")
    await vera.page.keyboard.press("Enter")
    await alice.wait_output("from-guest-42")
    await vera.wait_screen("from-guest-42")
    await vic.wait_screen("from-guest-42")
    await vic.page.locator("#st-roster li", has_text="at the keyboard").wait_for()

    # --- the viewer cannot type ------------------------------------------------------------------
    await vic.page.locator("#st-terminal .xterm-screen").click()
    await vic.page.keyboard.type("echo VIEWER-CANARY")
    await vic.page.keyboard.press("Enter")
    await vera.page.locator("#st-terminal .xterm-screen").click()
    await vera.page.keyboard.type("echo sentinel-$((2+3))")
    await vera.page.keyboard.press("Enter")
    await alice.wait_output("sentinel-5")
    await vic.wait_screen("sentinel-5")
    assert "VIEWER-CANARY" not in alice.output and "VIEWER-CANARY" not in await vic.screen()

    # --- the viewer asks a question; the owner sees it -------------------------------------
    await vic.page.locator("#st-question").fill("Which interface is down?")
    await vic.page.locator("#st-ask-form button").click()
    question = await alice.wait_ctl("question")
    assert question["text"] == "Which interface is down?"
    await vera.page.locator("#st-questions li", has_text="Which interface is down?").wait_for()

    await vera.page.screenshot(path=str(screenshots / "guest.png"))

    # --- the owner promotes the viewer: her page says so, and now she can type -------------------
    vic_id = next(p["id"] for p in roster["participants"] if p["name"] == f"{hostile} (guest)")
    status, _ = await owner.call(
        "PATCH", f"api/sharedterm/sessions/{sid}/participants/{vic_id}", {"role": "coworker"}
    )
    assert status == 200
    await vic.page.locator("#st-role", has_text="Co-worker").wait_for()
    assert "Your role changed" in str(await vic.page.locator("#st-banner").text_content())
    await vic.page.locator("#st-terminal .xterm-screen").click()
    await vic.page.keyboard.type("echo promoted-$((3*3))")
    await vic.page.keyboard.press("Enter")
    await alice.wait_output("promoted-9")

    # --- a reload comes back in with the cookie alone (the secret left with the first load) ----
    await vera.page.reload()
    await vera.page.wait_for_selector('body[data-state="joined"]')
    await vera.wait_screen("promoted-9")  # the current screen, replayed by the server
    assert (await vera.page.locator("#st-role").text_content()) == "Co-worker"

    # --- the owner ends the session: both pages say so, with the reason -----------------------
    status, _ = await owner.call("DELETE", f"api/sharedterm/sessions/{sid}")
    assert status == 204
    for person in (vera, vic):
        await person.page.wait_for_selector('body[data-state="ended"]')
        banner = str(await person.page.locator("#st-banner").text_content())
        assert "This session has ended." in banner and "ended the session" in banner
    await vic.page.screenshot(path=str(screenshots / "guest-ended.png"))

    # --- the links are dead: a fresh browser gets "ended", not a session -----------------------
    late = await GuestBrowser.open(browser, origin)
    for link in links.values():
        await late.page.goto(link)
        await late.page.locator("#st-name").fill("Late")
        await late.page.locator("#st-join-button").click()
        await late.page.wait_for_selector('body[data-state="ended"]')
        assert "ended" in str(await late.page.locator("#st-message-title").text_content())
    assert not any(c["name"] == "sharedterm-guest" for c in await late.context.cookies())

    # --- nothing from anywhere else, nothing the CSP had to block ---------------------------------
    for person in (vera, vic, late):
        assert person.foreign_requests() == []
        blocked = [p for p in person.problems if re.search(r"Content.Security.Policy", p)]
        assert blocked == [], blocked
        assert not [p for p in person.problems if p.startswith("pageerror")], person.problems
