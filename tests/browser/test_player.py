"""Playback in JupyterLab: the Recordings list, the player, and `.cast` files from the file browser.

Erin records a shared shell through the REST API and the terminal websocket (as herself: the
server token plus her browser's login cookie), then opens the recording from the "Open Terminal
Recordings" command and plays it: the markers are listed as text, the output plays, resize
events resize the player's terminal, and markers and the slider seek. A hand-made `.cast` file
(hostile marker text, a resize, a cut-off last line) and a broken one open from the file browser.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from labpage import TIMEOUT_MS, LabPage, LabServer, chromium
from playwright.async_api import Page
from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.websocket import WebSocketClientConnection, websocket_connect

pytestmark = pytest.mark.browser

PLAYER = ".jp-SharedTerm-player"
RECORDINGS = ".jp-SharedTerm-recordings"
DEADLINE_S = TIMEOUT_MS / 1000
ROWS, COLS = 30, 100  # the size Erin's terminal is resized to while recording

CRAFTED = "\n".join(
    [
        json.dumps({"version": 2, "width": 60, "height": 12, "title": "<i>crafted</i>"}),
        json.dumps([0.0, "o", "crafted-first\r\n"]),
        json.dumps([0.4, "m", '<img src=x onerror="window.__pwned=1"> chapter one']),
        json.dumps([0.8, "r", "70x14"]),
        json.dumps([1.0, "i", "typed-input-is-not-shown"]),
        json.dumps([1.2, "o", "crafted-second\r\n"]),
        '[1.5, "o", "cut-off-li',  # the recording was cut off mid-write: no newline, no end
    ]
)


class Rest:
    """REST and websocket calls as the user logged in to `page`: token plus login cookie."""

    def __init__(self, lab: LabServer, cookies: list[Any]) -> None:
        self.lab = lab
        self.headers = {
            "Authorization": f"token {lab.token}",
            "Cookie": "; ".join(f"{c['name']}={c['value']}" for c in cookies),
        }
        self.http = AsyncHTTPClient()

    @classmethod
    async def of(cls, lab: LabServer, page: Page) -> Rest:
        return cls(lab, await page.context.cookies(lab.url))

    async def call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body)
        if data is None and method in ("POST", "PUT", "PATCH"):
            data = ""
        response = await self.http.fetch(
            HTTPRequest(
                self.lab.url + path,
                method=method,
                body=data,
                headers=self.headers,
                request_timeout=DEADLINE_S,
            ),
            raise_error=False,
        )
        assert 200 <= response.code < 300, (method, path, response.code, response.body)
        return json.loads(response.body) if response.body else None

    async def terminal(self, sid: str) -> WebSocketClientConnection:
        url = self.lab.url.replace("http://", "ws://") + f"api/sharedterm/sessions/{sid}/terminal"
        ws = await asyncio.wait_for(
            websocket_connect(HTTPRequest(url, headers=self.headers)), DEADLINE_S
        )
        frame = await _frame(ws)
        assert frame[0] == "setup", frame
        return ws


async def _frame(ws: WebSocketClientConnection) -> Any:
    message = await asyncio.wait_for(ws.read_message(), DEADLINE_S)
    assert message is not None, "the terminal socket closed"
    return json.loads(message)


async def _read_until(ws: WebSocketClientConnection, text: str) -> None:
    async def read() -> None:
        seen = ""
        while text not in seen:
            frame = await _frame(ws)
            if frame[0] == "stdout":
                seen += frame[1]

    await asyncio.wait_for(read(), DEADLINE_S)


async def _read_until_closed(ws: WebSocketClientConnection) -> None:
    async def read() -> None:
        while await ws.read_message() is not None:
            pass

    await asyncio.wait_for(read(), DEADLINE_S)


async def _record(rest: Rest) -> tuple[str, dict[str, Any]]:
    """A finished recording of a shared shell: a resize, pauses, a resume, `played-42`."""
    model = await rest.call("POST", "api/sharedterm/sessions", {"transport": "local"})
    sid = model["id"]
    ws = await rest.terminal(sid)
    try:
        await _drive(rest, sid, ws)
    finally:
        ws.close()
    recordings = await rest.call("GET", "api/sharedterm/recordings")
    mine = [r for r in recordings if r["session_id"] == sid and r["kind"] == "session"]
    assert len(mine) == 1, recordings
    return sid, mine[0]


async def _drive(rest: Rest, sid: str, ws: WebSocketClientConnection) -> None:
    recording = f"api/sharedterm/sessions/{sid}/recording"
    ws.write_message(json.dumps(["set_size", ROWS, COLS]))
    # A pause and a resume: the player resumes on a reset screen (what was shown while paused
    # stays out of the file), so they come before the output the test looks for.
    await rest.call("PUT", recording, {"paused": True})
    await rest.call("PUT", recording, {"paused": False})
    # The shell's own pause gives the recording a timeline worth seeking in.
    ws.write_message(json.dumps(["stdin", "echo first-$((1+1)); sleep 1; echo played-$((6*7))\r"]))
    await _read_until(ws, "played-42")
    await rest.call("PUT", recording, {"paused": True})
    await rest.call("DELETE", f"api/sharedterm/sessions/{sid}")
    await _read_until_closed(ws)  # the server closes the socket


async def _terminal_text(page: Page, scope: str = PLAYER) -> str:
    text = await page.evaluate(
        "s => document.querySelector(s + ' .xterm-accessibility-tree')?.textContent ?? null",
        scope,
    )
    return str(text or "")


async def _wait_terminal(page: Page, text: str, present: bool = True, scope: str = PLAYER) -> None:
    await page.wait_for_function(
        """([scope, text, present]) => {
          const tree = document.querySelector(scope + ' .xterm-accessibility-tree');
          return tree !== null && tree.textContent.includes(text) === present;
        }""",
        arg=[scope, text, present],
    )


async def _wait_rows(page: Page, rows: int, scope: str = PLAYER) -> None:
    """The player's terminal has `rows` rows: its own record and xterm's accessibility tree."""
    await page.wait_for_function(
        """([scope, rows]) => {
          const player = document.querySelector(scope);
          const tree = player && player.querySelector('.xterm-accessibility-tree');
          return player !== null && player.dataset.rows === String(rows) && tree !== null
            && tree.querySelectorAll(':scope > div').length === rows;
        }""",
        arg=[scope, rows],
    )


def _marker(page: Page, label: str, scope: str = PLAYER) -> Any:
    return page.locator(f"{scope} .jp-SharedTerm-playerMarker").filter(has_text=label)


async def test_recordings_list_and_player(lab: LabServer, screenshots: Path) -> None:
    async with chromium() as browser:
        erin = await LabPage.open(browser, lab.url, lab.token, "erin")
        await _player_scenario(erin, lab, screenshots)


async def _player_scenario(erin: LabPage, lab: LabServer, screenshots: Path) -> None:
    page = erin.page
    rest = await Rest.of(lab, page)
    sid, recording = await _record(rest)
    rid = recording["id"]
    assert recording["state"] == "finished", recording
    # A second, later recording: the list shows the newest first.
    newer = await rest.call("POST", "api/sharedterm/sessions", {"transport": "local"})
    await rest.call("DELETE", f"api/sharedterm/sessions/{newer['id']}")

    # --- the Recordings list, from the palette --------------------------------------------------
    await erin.run_command("Open Terminal Recordings")
    rows = page.locator(f"{RECORDINGS} tr.jp-SharedTerm-recording")
    await page.locator(f'{RECORDINGS}[data-state="ready"]').wait_for()
    await rows.first.wait_for()
    status = await page.locator(".jp-SharedTerm-recordingsStatus").text_content() or ""
    assert status == f"{await rows.count()} recordings", status
    sessions = await rows.evaluate_all("rows => rows.map(r => r.dataset.session)")
    assert sessions.index(newer["id"]) < sessions.index(sid), sessions
    row = page.locator(f'{RECORDINGS} tr[data-recording="{rid}"]')
    assert await row.locator(".jp-SharedTerm-recordingKind").text_content() == "Shared session"
    state = await row.locator(".jp-SharedTerm-recordingState").text_content() or ""
    assert state.startswith("Finished"), state
    assert await row.locator(".jp-SharedTerm-recordingNote").text_content() == (
        "Erin ended the session."
    )
    assert await row.locator(".jp-SharedTerm-recordingStarted").text_content()
    download = row.locator("a.jp-SharedTerm-downloadRecording")
    href = await download.get_attribute("href")
    assert href and href.endswith(f"api/sharedterm/recordings/{rid}/cast"), href
    assert await download.get_attribute("download")
    header = await page.evaluate(
        "async href => (await (await fetch(href)).text()).split('\\n')[0]", href
    )
    assert json.loads(header)["version"] == 2

    # --- the player: markers as text, the recording's size -------------------------------------
    await row.locator(".jp-SharedTerm-openRecording").click()
    scope = f'.jp-SharedTerm-playerPanel[data-recording="{rid}"] {PLAYER}'
    player = page.locator(scope)
    await page.locator(f'{scope}[data-state="paused"]').wait_for()
    await player.locator(".xterm-accessibility-tree").wait_for(state="attached")
    labels = await player.locator(".jp-SharedTerm-playerMarkerLabel").all_text_contents()
    assert labels[0] == "recording started", labels
    assert "recording paused by Erin" in labels, labels
    assert "recording resumed by Erin" in labels, labels
    assert labels[-1].startswith("recording stopped: "), labels
    await _wait_rows(page, recording["height"])
    assert await player.get_attribute("data-cols") == str(recording["width"])
    details = await player.locator(".jp-SharedTerm-playerDetails").text_content() or ""
    assert "Finished" in details and details.endswith(" · Erin ended the session."), details
    tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current")
    assert (await tab.text_content() or "").startswith("Recording: "), await tab.text_content()

    # --- play: the output appears in time, the resize is applied, it ends ---------------------
    assert "played-42" not in await _terminal_text(page)
    await player.locator(".jp-SharedTerm-playerPlay").click()
    # The shell slept a second between the two lines: the player shows the first one alone.
    await page.wait_for_function(
        """s => {
          const text = document.querySelector(s + ' .xterm-accessibility-tree').textContent;
          return text.includes('first-2') && !text.includes('played-42');
        }""",
        arg=scope,
    )
    await _wait_terminal(page, "played-42")
    await _wait_rows(page, ROWS)
    assert await player.get_attribute("data-cols") == str(COLS)
    await page.locator(f'{scope}[data-state="ended"]').wait_for()
    assert await player.locator(".jp-SharedTerm-playerPlay").text_content() == "Replay"

    # --- seeking: back to the start (a clean terminal at the first size), then to a marker -----
    await _marker(page, "recording started").click()
    await _wait_terminal(page, "played-42", present=False)
    assert "first-2" not in await _terminal_text(page)
    await _wait_rows(page, recording["height"])
    await page.locator(f'{scope}[data-state="paused"][data-position="0.000"]').wait_for()
    await _marker(page, "recording paused by Erin").last.click()
    await _wait_terminal(page, "played-42")
    await _wait_rows(page, ROWS)
    current = player.locator(".jp-SharedTerm-playerMarker[aria-current='true']")
    assert "recording paused by Erin" in (await current.text_content() or "")
    position = float(await player.get_attribute("data-position") or 0)
    duration = float(await player.locator(".jp-SharedTerm-playerSeek").get_attribute("max") or 0)
    assert 1 <= position <= duration, (position, duration)
    await page.screenshot(path=str(screenshots / "player.png"))

    # --- the slider seeks too ------------------------------------------------------------------
    await player.locator(".jp-SharedTerm-playerSeek").fill("0")
    await _wait_terminal(page, "played-42", present=False)
    await page.locator(f'{scope}[data-state="paused"][data-position="0.000"]').wait_for()

    assert not erin.errors, erin.errors


async def test_cast_files_from_the_file_browser(lab: LabServer) -> None:
    (lab.root / "crafted.cast").write_text(CRAFTED)
    (lab.root / "broken.cast").write_text("this is not a recording\n")
    async with chromium() as browser:
        frank = await LabPage.open(browser, lab.url, lab.token, "frank")
        await _file_scenario(frank)


async def _file_scenario(frank: LabPage) -> None:
    page = frank.page
    listing = page.locator(".jp-DirListing-item")

    # --- a cut-off file with hostile marker text plays, as text, without the cut line ---------
    await listing.filter(has_text="crafted.cast").dblclick()
    scope = f".jp-SharedTerm-castDocument {PLAYER}"
    player = page.locator(scope)
    await page.locator(f'{scope}[data-state="paused"]').wait_for()
    assert await player.locator(".jp-SharedTerm-playerTitle").text_content() == "<i>crafted</i>"
    label = player.locator(".jp-SharedTerm-playerMarkerLabel")
    assert await label.all_text_contents() == ['<img src=x onerror="window.__pwned=1"> chapter one']
    assert await player.locator("img, i").count() == 0
    notes = await player.locator(".jp-SharedTerm-playerNotes").text_content() or ""
    assert "cut off" in notes, notes
    await _wait_terminal(page, "crafted-first", scope=scope)
    await _wait_rows(page, 12, scope=scope)
    await player.locator(".jp-SharedTerm-playerSpeed").select_option("8")
    await player.locator(".jp-SharedTerm-playerPlay").click()
    await page.locator(f'{scope}[data-state="ended"]').wait_for()
    await _wait_terminal(page, "crafted-second", scope=scope)
    await _wait_rows(page, 14, scope=scope)
    text = await _terminal_text(page, scope)
    assert "cut-off" not in text and "typed-input" not in text, text
    assert await page.evaluate("() => window.__pwned") is None

    # --- a file that is no recording says so ---------------------------------------------------
    await listing.filter(has_text="broken.cast").dblclick()
    broken = page.locator(f'{scope}[data-state="error"]')
    error = broken.locator(".jp-SharedTerm-playerError")
    await error.wait_for(state="visible")
    message = await error.text_content() or ""
    assert "not an asciicast recording" in message, message
    assert not await broken.locator(".jp-SharedTerm-playerControls").is_visible()

    assert not frank.errors, frank.errors


WIDE_COLS, WIDE_ROWS = 106, 12
# Every column says where it is: the ruler ends in a bracket in the recording's last column.
WIDE_RULER = ("".join(str(i % 10) for i in range(WIDE_COLS - 1)) + "]")[:WIDE_COLS]
WIDE = "\n".join(
    [
        # It starts at 80 columns, as a terminal does, and is widened while recorded.
        json.dumps({"version": 2, "width": 80, "height": WIDE_ROWS, "title": "wide"}),
        json.dumps([0.0, "o", "narrow at first\r\n"]),
        json.dumps([0.1, "r", f"{WIDE_COLS}x{WIDE_ROWS}"]),
        json.dumps([0.2, "o", WIDE_RULER + "\r\n" + "<" + "-" * (WIDE_COLS - 2) + ">\r\n"]),
        json.dumps([0.3, "m", "a marker with a rather long label that takes room"]),
    ]
)

_CELL_SHOWN = """([scope, col, cols, scroll]) => {
  // Is the column's cell on top at its centre: as the page is, or (scroll) after scrolling what
  // a person can scroll (overflow auto or scroll; a script could scroll hidden overflow too).
  const player = document.querySelector(scope);
  const screen = player.querySelector('.xterm-screen');
  const cell = () => {
    const box = screen.getBoundingClientRect();
    const width = box.width / cols;
    return { x: box.left + (col + 0.5) * width, y: box.top + 2, width };
  };
  const scrolls = el => ['auto', 'scroll'].includes(getComputedStyle(el).overflowX);
  let { x, y, width } = cell();
  for (let el = screen.parentElement; scroll && el && el !== document.body; el = el.parentElement) {
    if (!scrolls(el)) {
      continue;
    }
    const box = el.getBoundingClientRect();
    if (x > box.right - width && el.scrollWidth > el.clientWidth) {
      el.scrollLeft += x - box.right + 2 * width;
    } else if (x < box.left + width && el.scrollLeft > 0) {
      el.scrollLeft -= box.left - x + 2 * width;
    }
    ({ x, y } = cell());
  }
  const hit = document.elementFromPoint(x, y);
  return {
    x, y, width,
    shown: hit !== null && hit.closest('.xterm') !== null && player.contains(hit),
    hit: hit ? hit.className || hit.tagName : null,
  };
}"""


# The player has fitted the grid and xterm.js has drawn it at the new font size.
_FITTED = """s => {
  const player = document.querySelector(s);
  const screen = player.querySelector('.xterm-screen');
  const stage = player.querySelector('.jp-SharedTerm-playerStage');
  return player.dataset.fit !== undefined && screen !== null
    && screen.getBoundingClientRect().right <= stage.getBoundingClientRect().right;
}"""


# The page has been laid out again after a window resize: the player's stage fits the window.
_STAGE_IN_WINDOW = """s => {
  const stage = document.querySelector(s).querySelector('.jp-SharedTerm-playerStage');
  return stage !== null && stage.getBoundingClientRect().right <= window.innerWidth;
}"""


async def _columns_shown(page: Page, scope: str, cols: int, *, scroll: bool) -> None:
    for col in (0, cols // 2, cols - 1):
        cell = await page.evaluate(_CELL_SHOWN, [scope, col, cols, scroll])
        assert cell["shown"], (col, cell)
        assert cell["width"] >= 4.5, cell  # readable cells, not a grid shrunk to a smudge


async def test_a_wide_recording_in_a_narrow_window_shows_every_column(lab: LabServer) -> None:
    """106 columns in a 900 px window: the grid is fitted (a smaller font), never re-wrapped, and
    nothing hides behind the marker list; narrower still, the rest is a scroll away."""
    (lab.root / "wide.cast").write_text(WIDE)
    async with chromium() as browser:
        gina = await LabPage.open(browser, lab.url, lab.token, "gina")
        page = gina.page
        await page.set_viewport_size({"width": 900, "height": 700})
        await page.locator(".jp-DirListing-item").filter(has_text="wide.cast").dblclick()
        scope = f".jp-SharedTerm-castDocument {PLAYER}"
        await page.locator(f'{scope}[data-state="paused"]').wait_for()
        await page.locator(f"{scope} .jp-SharedTerm-playerPlay").click()
        await page.locator(f'{scope}[data-state="ended"]').wait_for()
        await _wait_terminal(page, WIDE_RULER, scope=scope)  # one row: the grid is not re-wrapped
        await _wait_rows(page, WIDE_ROWS, scope=scope)
        assert await page.locator(scope).get_attribute("data-cols") == str(WIDE_COLS)
        await page.wait_for_function(_FITTED, arg=scope)
        await _columns_shown(page, scope, WIDE_COLS, scroll=False)
        # The markers are still there to click.
        marker = _marker(page, "a marker with a rather long label", scope=scope)
        await marker.scroll_into_view_if_needed()
        await marker.click()

        await page.set_viewport_size({"width": 560, "height": 700})
        # JupyterLab lays its panels out again on a later frame: measure once it has.
        await page.wait_for_function(_STAGE_IN_WINDOW, arg=scope)
        await _columns_shown(page, scope, WIDE_COLS, scroll=True)
        assert not gina.errors, gina.errors


async def _finished(rest: Rest, rid: str) -> dict[str, Any]:
    async def wait() -> dict[str, Any]:
        while True:
            model: dict[str, Any] = await rest.call("GET", f"api/sharedterm/recordings/{rid}")
            if model["state"] == "finished":
                return model
            await asyncio.sleep(0.1)  # polling the REST model: the server pushes no event here

    return await asyncio.wait_for(wait(), DEADLINE_S)


async def test_recordings_of_one_terminal_can_be_told_apart(lab: LabServer) -> None:
    """A JupyterLab terminal shared and ended: its own recording and the session's are two rows
    and two tabs that say which is which, and how each ended."""
    async with chromium() as browser:
        ida = await LabPage.open(browser, lab.url, lab.token, "ida")
        page = ida.page
        rest = await Rest.of(lab, page)
        name = (await rest.call("POST", "api/terminals", {}))["name"]
        model = await rest.call("POST", "api/sharedterm/sessions", {"terminal": name})
        await rest.call("DELETE", f"api/sharedterm/sessions/{model['id']}")
        listed = await rest.call("GET", "api/sharedterm/recordings")
        own = next(r for r in listed if r["kind"] == "terminal" and r["terminal"] == name)
        shared = model["recording"]["id"]
        for rid in (own["id"], shared):
            await _finished(rest, rid)

        await ida.run_command("Open Terminal Recordings")
        await page.locator(f'{RECORDINGS}[data-state="ready"]').wait_for()
        rows = {
            rid: page.locator(f'{RECORDINGS} tr[data-recording="{rid}"]')
            for rid in (own["id"], shared)
        }
        titles = {
            rid: await row.locator(".jp-SharedTerm-recordingTitle").text_content()
            for rid, row in rows.items()
        }
        assert titles == {own["id"]: f"Terminal {name}", shared: f"Terminal {name} (Ida)"}, titles
        notes = {
            rid: await row.locator(".jp-SharedTerm-recordingNote").text_content()
            for rid, row in rows.items()
        }
        assert notes == {
            own["id"]: "Its shared session ended, which closed the terminal.",
            shared: "Ida ended the session.",
        }, notes
        labels = []
        for rid, row in rows.items():
            await row.locator(".jp-SharedTerm-openRecording").click()
            scope = f'.jp-SharedTerm-playerPanel[data-recording="{rid}"] {PLAYER}'
            await page.locator(f'{scope}[data-state="paused"]').wait_for()
            tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current")
            labels.append(await tab.text_content() or "")
            await page.locator(".lm-TabBar-tab", has_text="Recordings").click()
        assert len(set(labels)) == 2, labels
        assert labels[0].startswith(f"Recording: Terminal {name}, "), labels
        assert labels[1].startswith(f"Recording: Terminal {name} (Ida), "), labels
        assert not ida.errors, ida.errors
