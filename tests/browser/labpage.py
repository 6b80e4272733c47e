"""Driving one person's JupyterLab page: log in, run palette commands, read terminals and panels.

Every wait has a deadline and waits on a condition in the page, never on a fixed sleep.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, Page, WebSocketRoute, async_playwright

CHROMIUM = "/usr/bin/chromium"
TIMEOUT_MS = 20_000  # any expected change, on a loaded 2-core machine

CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    """Debian's chromium, headless, closed however the test ends."""
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


SHARED = ".jp-SharedTerm-terminalPanel"
PANEL = "#jp-SharedTerm-sessionPanel"
SHARED_SOCKET = re.compile(r"/api/sharedterm/sessions/[^/]+/terminal")


@dataclass(frozen=True)
class LabServer:
    """A running `jupyter lab`: `url` ends with the base URL's slash."""

    url: str
    token: str
    root: Path
    log: Path

    def log_tail(self, lines: int = 60) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


_TERMINAL_TEXT = """(selector) => {
  const tree = document.querySelector(selector + ' .xterm-accessibility-tree');
  return tree ? tree.textContent : null;
}"""


class LabPage:
    """One user's JupyterLab in its own browser context (so its own login cookie)."""

    def __init__(self, name: str, page: Page) -> None:
        self.name = name
        self.page = page
        self.errors: list[str] = []
        page.on("pageerror", lambda error: self.errors.append(str(error)))

    @classmethod
    async def open(
        cls,
        browser: Browser,
        url: str,
        token: str,
        name: str,
        route_sockets: Callable[[WebSocketRoute], Any] | None = None,
    ) -> LabPage:
        """Log `name` in; `route_sockets` sees every shared-terminal websocket of the page."""
        context = await browser.new_context(viewport={"width": 1360, "height": 820})
        context.set_default_timeout(TIMEOUT_MS)
        if route_sockets is not None:
            # Before the page loads: JupyterLab keeps the WebSocket class it starts with.
            await context.route_web_socket(SHARED_SOCKET, route_sockets)
        page = await context.new_page()
        lab = cls(name, page)
        # Each person has their own workspace: JupyterLab stores layouts per workspace on the
        # server, and a shared "default" one would reopen one person's tabs for another.
        await page.goto(f"{url}lab/workspaces/{name}?token={token}&as={name}")
        await page.wait_for_selector(".jp-Launcher", state="visible", timeout=60_000)
        await page.wait_for_selector(PANEL, state="attached")
        return lab

    async def me(self) -> dict[str, Any]:
        """This page's Jupyter identity (GET api/me with the page's own cookie)."""
        identity: dict[str, Any] = await self.page.evaluate(
            """async () => {
              const base = document.body.dataset.baseUrl
                || JSON.parse(document.getElementById('jupyter-config-data').textContent).baseUrl;
              const r = await fetch(base + 'api/me');
              return (await r.json()).identity;
            }"""
        )
        return identity

    async def run_command(self, label: str) -> None:
        """Run a command from the palette, as a person would."""
        page = self.page
        await page.locator("#jp-main-dock-panel").first.click(position={"x": 5, "y": 5})
        await page.keyboard.press("Control+Shift+C")
        search = page.locator(".lm-CommandPalette-input")
        await search.wait_for(state="visible")
        await search.fill(label)
        await (
            page.locator(".lm-CommandPalette-item.lm-mod-active")
            .filter(has_text=label)
            .wait_for(state="visible")
        )
        await page.keyboard.press("Enter")

    async def join(self, link: str) -> None:
        """The "Join Shared Session" flow with a pasted invite link."""
        await self.run_command("Join Shared Session")
        dialog = self.page.locator(".jp-Dialog")
        await dialog.locator("input").fill(link)
        await dialog.locator("button.jp-mod-accept").click()
        await self.wait_phase("connected")

    async def wait_phase(self, phase: str) -> None:
        await self.page.wait_for_selector(f'{SHARED}[data-phase="{phase}"]')

    async def wait_role(self, role: str) -> None:
        await self.page.wait_for_selector(f'{SHARED}[data-role="{role}"][data-phase="connected"]')

    async def terminal_text(self) -> str:
        return str(await self.page.evaluate(_TERMINAL_TEXT, SHARED) or "")

    async def wait_terminal(self, text: str) -> None:
        """Wait until the shared terminal shows `text`."""
        await self.page.wait_for_function(
            f"""([selector, text]) => {{
              const read = {_TERMINAL_TEXT};
              return (read(selector) || '').includes(text);
            }}""",
            arg=[SHARED, text],
        )

    async def focus_terminal(self) -> None:
        await self.page.locator(f"{SHARED} .xterm-screen").click()
        await self.page.wait_for_function(
            "s => document.activeElement && document.activeElement.closest(s) !== null",
            arg=SHARED,
        )

    async def type_line(self, text: str, delay_ms: float = 0) -> None:
        await self.focus_terminal()
        await self.page.keyboard.type(text, delay=delay_ms)
        await self.page.keyboard.press("Enter")

    async def wait_text(self, selector: str, text: str) -> None:
        """Wait until the element at `selector` contains `text`."""
        await self.page.locator(selector).filter(has_text=text).first.wait_for(state="visible")

    def participant(self, name: str) -> Any:
        return self.page.locator(f"{PANEL} .jp-SharedTerm-participant").filter(
            has=self.page.locator(".jp-SharedTerm-participantName", has_text=name)
        )

    async def accept_dialog(self) -> None:
        dialog = self.page.locator(".jp-Dialog")
        await dialog.locator("button.jp-mod-accept, button.jp-mod-warn").last.click()
        await dialog.wait_for(state="detached")
