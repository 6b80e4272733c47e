"""The JupyterLab experience, end to end: three people in three browsers share one terminal.

Alice (owner) shares a terminal from its toolbar and invites Bob (co-worker) and Carol (viewer)
from the session panel; they join with the "Join Shared Session" command in their own
JupyterLab. Bob's command runs for all; Alice sees that Bob is typing; Carol cannot type until
Alice promotes her; Alice removes Bob and ends the session, and every page says why.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from labpage import PANEL, SHARED, LabPage, LabServer, chromium
from playwright.async_api import Browser, WebSocketRoute

pytestmark = pytest.mark.browser


async def test_share_invite_roles_remove_end(lab: LabServer, screenshots: Path) -> None:
    async with chromium() as browser:
        await _scenario(lab, browser, screenshots)


async def _scenario(lab: LabServer, browser: Browser, screenshots: Path) -> None:
    alice, bob, carol = await asyncio.gather(
        *(LabPage.open(browser, lab.url, lab.token, name) for name in ("alice", "bob", "carol"))
    )
    # Three browser contexts are three users: one token, three login cookies.
    identities = await asyncio.gather(alice.me(), bob.me(), carol.me())
    assert len({i["username"] for i in identities}) == 3, identities
    assert [i["name"] for i in identities] == ["Alice", "Bob", "Carol"]

    # --- Alice opens a terminal and shares it from its toolbar --------------------------------
    page = alice.page
    await (
        page.locator(".jp-LauncherCard[data-category='Other']")
        .filter(has_text="Terminal")
        .first.click()
    )
    stock = page.locator(".jp-MainAreaWidget:not(.jp-SharedTerm-terminalPanel) .jp-Terminal")
    await stock.locator(".xterm-accessibility-tree").wait_for(state="attached")
    await stock.locator(".xterm-screen").click()
    await page.keyboard.type("echo before-$((20+1))")
    await page.keyboard.press("Enter")
    await page.wait_for_function(
        """() => [...document.querySelectorAll('.jp-Terminal .xterm-accessibility-tree')]
                 .some(t => t.textContent.includes('before-21'))"""
    )
    await page.locator(".jp-SharedTerm-shareButton").click()
    await alice.wait_role("owner")
    # The stock tab was replaced by the shared one, which shows the screen as it was.
    await stock.wait_for(state="detached")
    await alice.wait_terminal("before-21")
    await page.locator(PANEL).wait_for(state="visible")
    await alice.wait_text(f"{PANEL} .jp-SharedTerm-participant", "Alice")

    # --- Alice creates a co-worker link and a viewer link --------------------------------------
    links = {}
    for role in ("coworker", "viewer"):
        await page.locator(PANEL).get_by_label("Role for the new link").select_option(role)
        await page.locator(f"{PANEL} .jp-SharedTerm-createInvite").click()
        url = page.locator(f'{PANEL} .jp-SharedTerm-inviteUrl[data-role="{role}"]')
        await url.wait_for(state="visible")
        links[role] = await url.input_value()
        assert "/sharedterm/join/" in links[role] and "#" in links[role], links[role]
    await page.wait_for_function(
        "s => document.querySelectorAll(s).length === 2",
        arg=f'{PANEL} .jp-SharedTerm-invite[data-state="active"]',
    )
    await page.screenshot(path=str(screenshots / "share.png"))

    # --- Bob and Carol join through "Join Shared Session" in their own JupyterLab --------------
    await asyncio.gather(bob.join(links["coworker"]), carol.join(links["viewer"]))
    await bob.wait_role("coworker")
    await carol.wait_role("viewer")
    for person in (alice, bob, carol):
        await person.wait_terminal("before-21")
    await page.wait_for_function(
        "s => document.querySelectorAll(s).length === 3",
        arg=f'{PANEL} .jp-SharedTerm-participant[data-connected="true"]',
    )

    # --- Bob types: Alice sees who is typing; his command runs for everyone --------------------
    await bob.focus_terminal()
    await asyncio.gather(
        bob.page.keyboard.type("echo hi-$((6*7))", delay=90),
        alice.wait_text(f"{PANEL} .jp-SharedTerm-panelTyping", "Bob is typing"),
    )
    await alice.wait_text(f"{SHARED} .jp-SharedTerm-typing", "Bob is typing")
    await bob.page.keyboard.press("Enter")
    for person in (alice, bob, carol):
        await person.wait_terminal("hi-42")
    await alice.wait_text(f"{PANEL} .jp-SharedTerm-driver", "In control: Bob")
    # The indicator goes away by itself once Bob stops typing.
    await (
        page.locator(f"{PANEL} .jp-SharedTerm-panelTyping")
        .filter(has_text="typing")
        .wait_for(state="hidden")
    )

    # --- Carol is a viewer: a visible Read-only badge; her keystrokes go nowhere --------------
    badge = carol.page.locator(f"{SHARED} .jp-SharedTerm-readOnlyBadge")
    await badge.wait_for(state="visible")
    assert (await badge.text_content()) == "Read-only"
    # No owner controls for her (the server would refuse them anyway).
    for owner_only in (".jp-SharedTerm-endSession", ".jp-SharedTerm-inviteSection"):
        assert not await carol.page.locator(f"{PANEL} {owner_only}").is_visible()
    assert await carol.page.locator(f"{PANEL} .jp-SharedTerm-roleSelect").count() == 0
    await carol.type_line("echo viewer-$((3*3))")
    # A marker typed after hers: once it is through, hers would have been too.
    await bob.type_line("echo mark-$((1+1))")
    await alice.wait_terminal("mark-2")
    assert "viewer-" not in await alice.terminal_text()
    assert "viewer-" not in await carol.terminal_text()

    # --- Questions: Carol asks (as text, never HTML); Bob marks it answered --------------------
    question = "<b>Why</b> 42?"
    questions = carol.page.locator(f"{PANEL} .jp-SharedTerm-questions")
    await questions.get_by_text("No questions yet.").wait_for(state="visible")
    await carol.page.locator(f"{PANEL} .jp-SharedTerm-askInput").fill(question)
    await carol.page.locator(f"{PANEL} .jp-SharedTerm-ask").click()
    asked = page.locator(f"{PANEL} .jp-SharedTerm-question")
    await asked.filter(has_text="Why").wait_for(state="visible")
    assert await asked.locator(".jp-SharedTerm-questionText").text_content() == question
    assert await asked.locator("b").count() == 0
    await questions.get_by_text("No questions yet.").wait_for(state="detached")
    await carol.page.screenshot(path=str(screenshots / "viewer.png"))
    await bob.page.locator(f"{PANEL} .jp-SharedTerm-markAnswered").click()
    for person in (alice, carol):
        await person.page.locator(
            f'{PANEL} .jp-SharedTerm-question[data-answered="true"]'
        ).wait_for(state="visible")
    await page.screenshot(path=str(screenshots / "panel.png"))

    # --- Alice promotes Carol: her next keystrokes work, without a reload ---------------------
    await alice.participant("Carol").get_by_label("Role of Carol").select_option("coworker")
    await carol.wait_text(".jp-toast-message, .Toastify__toast", "You are now a co-worker")
    await carol.wait_role("coworker")
    await badge.wait_for(state="hidden")
    await carol.type_line("echo promoted-$((2+3))")
    for person in (alice, bob, carol):
        await person.wait_terminal("promoted-5")

    # --- Alice removes Bob: his page says so --------------------------------------------------
    await alice.participant("Bob").locator(".jp-SharedTerm-remove").click()
    await alice.accept_dialog()
    await bob.wait_phase("removed")
    await bob.wait_text(f"{SHARED} .jp-SharedTerm-banner", "You were removed from this session")
    await alice.participant("Bob").wait_for(state="detached")

    # --- Alice ends the session: every page shows why -----------------------------------------
    await page.locator(f"{PANEL} .jp-SharedTerm-endSession").click()
    await alice.accept_dialog()
    for person in (alice, carol):
        await person.wait_phase("ended")
        await person.wait_text(f"{SHARED} .jp-SharedTerm-banner", "Alice ended the session.")
    await carol.wait_text(f"{PANEL} .jp-SharedTerm-panelState", "Alice ended the session.")

    for person in (alice, bob, carol):
        assert not person.errors, (person.name, person.errors)


async def test_new_shell_reconnect_restore(lab: LabServer) -> None:
    async with chromium() as browser:
        await _new_shell_scenario(lab, browser)


async def _new_shell_scenario(lab: LabServer, browser: Browser) -> None:
    # Route the shared terminal's sockets through Playwright, to cut one like a network would.
    sockets: list[WebSocketRoute] = []

    def route(ws: WebSocketRoute) -> None:
        ws.connect_to_server()
        sockets.append(ws)

    dana = await LabPage.open(browser, lab.url, lab.token, "dana", route_sockets=route)
    page = dana.page

    # --- "New Shared Shell" from the palette; it is listed in the panel ------------------------
    await dana.run_command("New Shared Shell")
    await dana.wait_role("owner")
    await page.locator(PANEL).wait_for(state="visible")
    await dana.wait_text(f"{PANEL} .jp-SharedTerm-sessionItem", "owner")
    await dana.type_line("echo fresh-$((4*4))")
    await dana.wait_terminal("fresh-16")
    sid = await page.locator(SHARED).get_attribute("data-sharedterm-session")
    assert sid

    # --- the connection drops: the tab says it is reconnecting, then works again ---------------
    assert len(sockets) == 1
    reconnecting = page.locator(f'{SHARED} .jp-SharedTerm-banner[data-phase="reconnecting"]')
    await asyncio.gather(
        reconnecting.filter(has_text="Reconnecting").wait_for(state="visible"),
        sockets[0].close(code=4500, reason="Network drop (test)."),
    )
    await dana.wait_phase("connected")
    assert len(sockets) == 2
    await page.locator(f"{SHARED} .jp-SharedTerm-banner").wait_for(state="hidden")
    await dana.type_line("echo back-$((5+5))")
    await dana.wait_terminal("back-10")

    # --- a reload reopens the shared tab (layout restorer) on the current screen --------------
    await page.wait_for_function(
        """async (sid) => {
          const config = JSON.parse(document.getElementById('jupyter-config-data').textContent);
          const r = await fetch(config.baseUrl + 'lab/api/workspaces/dana');
          return r.ok && (await r.text()).includes('sharedterm:' + sid);
        }""",
        arg=sid,
        polling=250,
    )
    await page.reload()
    await dana.wait_role("owner")
    await dana.wait_terminal("back-10")
    assert await page.locator(SHARED).count() == 1

    # --- a link can be revoked; a pasted text that is no link is refused with a reason --------
    await page.locator(f"{PANEL} .jp-SharedTerm-createInvite").click()
    invite = page.locator(f"{PANEL} .jp-SharedTerm-invite")
    await invite.locator(".jp-SharedTerm-revoke").click()
    await page.locator(f'{PANEL} .jp-SharedTerm-invite[data-state="revoked"]').wait_for()
    assert await invite.locator(".jp-SharedTerm-revoke").count() == 0
    await dana.run_command("Join Shared Session")
    dialog = page.locator(".jp-Dialog")
    await dialog.locator("input").fill("no link at all")
    await dialog.locator("button.jp-mod-accept").click()
    await dana.wait_text(".jp-toast-message, .Toastify__toast", "That is not an invite link")

    await page.locator(f"{PANEL} .jp-SharedTerm-endSession").click()
    await dana.accept_dialog()
    await dana.wait_text(f"{SHARED} .jp-SharedTerm-banner", "Dana ended the session.")
    assert not dana.errors, dana.errors
