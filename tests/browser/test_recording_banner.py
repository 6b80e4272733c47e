"""The recording banner, end to end: everyone in a session sees that it is recorded.

Alice (owner) starts a shared shell and Carol joins it as a viewer in her own browser. Both
tabs say "Recording"; Alice pauses the recording from the session panel and Carol's tab says
"Recording paused by Alice"; Alice resumes it and Carol's tab says "Recording" again. Carol has
no pause button (and the server would refuse her anyway).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from labpage import PANEL, SHARED, LabPage, LabServer, chromium
from playwright.async_api import Browser

pytestmark = pytest.mark.browser

BANNER = f"{SHARED} .jp-SharedTerm-recordingBanner"
TOGGLE = f"{PANEL} .jp-SharedTerm-recordingToggle"


async def test_the_owner_pauses_and_resumes_and_the_viewer_sees_it(
    lab: LabServer, screenshots: Path
) -> None:
    async with chromium() as browser:
        await _scenario(lab, browser, screenshots)


async def _banner(person: LabPage, state: str, text: str) -> None:
    """Wait until `person`'s recording line is in `state` and says `text`, readable: the tab's
    content header gives its lines their CSS min-height and no more, so a line without one
    would be "visible" at a few pixels high."""
    banner = person.page.locator(f'{BANNER}[data-state="{state}"]').filter(has_text=text)
    await banner.wait_for(state="visible")
    box = await banner.bounding_box()
    assert box is not None and box["height"] >= 20, box
    label = banner.locator(".jp-SharedTerm-recordingLabel")
    assert await label.evaluate("e => e.scrollWidth <= e.clientWidth"), "label cut off"


async def _scenario(lab: LabServer, browser: Browser, screenshots: Path) -> None:
    alice, carol = await asyncio.gather(
        *(LabPage.open(browser, lab.url, lab.token, name) for name in ("alice", "carol"))
    )
    page = alice.page

    # --- Alice starts a shared shell: her tab says it is recorded from the start ---------------
    await alice.run_command("New Shared Shell")
    await alice.wait_role("owner")
    await _banner(alice, "recording", "Recording")
    await alice.type_line("echo rec-$((2*21))")
    await alice.wait_terminal("rec-42")

    # --- Carol joins as a viewer: she is told too (from the setup frame) -----------------------
    await page.locator(PANEL).get_by_label("Role for the new link").select_option("viewer")
    await page.locator(f"{PANEL} .jp-SharedTerm-createInvite").click()
    url = page.locator(f'{PANEL} .jp-SharedTerm-inviteUrl[data-role="viewer"]')
    await url.wait_for(state="visible")
    await carol.join(await url.input_value())
    await carol.wait_role("viewer")
    await _banner(carol, "recording", "Recording")
    await carol.wait_text(f"{PANEL} .jp-SharedTerm-panelRecording", "Recording")
    # Only owners pause a recording.
    assert not await carol.page.locator(TOGGLE).is_visible()

    # --- Alice pauses: Carol's tab says so, and by whom ----------------------------------------
    pause = page.locator(f'{TOGGLE}[data-action="pause"]')
    assert (await pause.text_content()) == "Pause recording"
    await pause.click()
    for person in (alice, carol):
        await _banner(person, "paused", "Recording paused by Alice")
    await (
        page.locator(f'{TOGGLE}[data-action="resume"]')
        .filter(has_text="Resume recording")
        .wait_for(state="visible")
    )
    await carol.wait_text(f"{PANEL} .jp-SharedTerm-panelRecording", "Recording paused by Alice")
    assert not await carol.page.locator(TOGGLE).is_visible()
    await page.screenshot(path=str(screenshots / "recording.png"))

    # --- Alice resumes: Carol's tab says "Recording" again -------------------------------------
    await page.locator(f'{TOGGLE}[data-action="resume"]').click()
    for person in (alice, carol):
        await _banner(person, "recording", "Resumed by Alice")
    await page.locator(f'{TOGGLE}[data-action="pause"]').wait_for(state="visible")
    # The session model agrees with the banner.
    sid = await page.locator(SHARED).get_attribute("data-sharedterm-session")
    state = await page.evaluate(
        """async (sid) => {
          const config = JSON.parse(document.getElementById('jupyter-config-data').textContent);
          const r = await fetch(config.baseUrl + 'api/sharedterm/sessions/' + sid);
          return (await r.json()).recording.state;
        }""",
        sid,
    )
    assert state == "recording"

    # --- The session ends: the recording line goes with it -------------------------------------
    await page.locator(f"{PANEL} .jp-SharedTerm-endSession").click()
    await alice.accept_dialog()
    for person in (alice, carol):
        await person.wait_phase("ended")
        await person.page.locator(BANNER).wait_for(state="hidden")

    for person in (alice, carol):
        assert not person.errors, (person.name, person.errors)
