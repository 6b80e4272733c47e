"""Device sessions in JupyterLab, end to end: a real SSH server on 127.0.0.1 is the device.

The device is an asyncssh server with a generated host key whose sessions run /bin/sh on a real
PTY, configured in the Jupyter server as "lab-switch" (password login, host key not yet known),
and once more as "moved-switch" with a known_hosts that pins another key. Alice opens a device
session from the inventory, checks and trusts the fingerprint, mistypes her password and then
gives the right one; she invites Bob as a co-worker, whose command runs on the device for both.
"moved-switch" fails hard on its changed key, with no way to go on.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from labpage import PANEL, SHARED, LabPage, LabServer, chromium
from playwright.async_api import Browser, Page

# The project's own SSH test servers (tests/integration), also when only this folder runs.
sys.path.insert(0, str(Path(__file__).parents[1] / "integration"))
from sshd_helpers import (
    ServerSpec,
    asyncssh_server,
    known_hosts_line,
    make_key,
)

pytestmark = pytest.mark.browser

USER = "netops"
START_TIMEOUT_S = 30.0  # the device thread's server start, on a loaded 2-core machine
DIALOG = ".jp-Dialog"


class SshDevice:
    """The asyncssh server in a thread with its own event loop, for the whole module: the
    Jupyter server (started once per module) must know its port before it starts."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.host = make_key(folder, "host_ed25519")
        self.password = "pw-" + secrets.token_hex(8)  # distinctive: a leak is found by substring
        self.port = 0
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="ssh-device", daemon=True)

    @property
    def fingerprint(self) -> str:
        return self.host.fingerprint

    def start(self) -> None:
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT_S):
            raise RuntimeError("the SSH device did not start in time")
        if self._error is not None:
            raise RuntimeError("the SSH device failed to start") from self._error

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            with contextlib.suppress(RuntimeError):  # its loop already ended
                self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(START_TIMEOUT_S)
        if self._error is not None:
            raise RuntimeError("the SSH device failed") from self._error

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as e:  # reported by start() / stop() in the test's thread
            self._error = e
        finally:
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        spec = ServerSpec(self.host.key, passwords={USER: self.password}, home=self.folder)
        async with asyncssh_server(spec) as server:
            self.port = server.port
            self._ready.set()
            await self._stop.wait()


@pytest.fixture(scope="module")
def device(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshDevice]:
    device = SshDevice(tmp_path_factory.mktemp("device"))
    device.start()
    yield device
    device.stop()


@pytest.fixture(scope="module")
def lab_settings(device: SshDevice, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The Jupyter server's devices: one not yet known, one whose pinned key is another."""
    folder = tmp_path_factory.mktemp("ssh-config")
    impostor = make_key(folder, "impostor").key
    moved = folder / "moved_known_hosts"
    moved.write_text(known_hosts_line("127.0.0.1", device.port, impostor))
    os.chmod(moved, 0o600)
    switch = {"host": "127.0.0.1", "port": device.port, "username": USER, "auth": ["password"]}
    return {
        "ssh_known_hosts": str(folder / "server" / "known_hosts"),
        "devices": {"lab-switch": switch, "moved-switch": {**switch, "known_hosts": str(moved)}},
    }


async def test_a_device_session_from_the_inventory_with_a_coworker(
    lab: LabServer, device: SshDevice, screenshots: Path
) -> None:
    async with chromium() as browser:
        await _scenario(lab, device, browser, screenshots)


async def _pick(page: Page, name: str) -> None:
    """Choose `name` in the "New Device Session" picker and connect."""
    picker = page.locator(f"{DIALOG} .jp-SharedTerm-devicePicker")
    await picker.wait_for(state="visible")
    await picker.locator(f'.jp-SharedTerm-device[data-device="{name}"] label').click()
    await page.locator(f"{DIALOG} button.jp-mod-accept").click()


async def _answer(page: Page, password: str, attempt: int) -> None:
    """Type `password` into the device's password prompt (attempt `attempt`) and send it."""
    form = page.locator(f"{DIALOG} .jp-SharedTerm-promptForm")
    await form.wait_for(state="visible")
    if attempt > 1:
        await (
            form.locator(".jp-SharedTerm-promptRetry")
            .filter(has_text=f"attempt {attempt}")
            .wait_for(state="visible")
        )
    field = form.locator("input.jp-SharedTerm-promptInput")
    assert await field.count() == 1
    # A secret prompt: a password field that no browser fills in or offers to save.
    assert await field.get_attribute("type") == "password"
    assert await field.get_attribute("autocomplete") == "new-password"
    assert f"Password for {USER}@127.0.0.1:" in (await form.text_content() or "")
    await field.fill(password)
    # This dialog, not the next one (a refused password is asked again at once).
    this_form = await form.element_handle()
    await page.locator(f"{DIALOG} button.jp-mod-accept").click()
    await page.wait_for_function("form => !form.isConnected", arg=this_form)
    # Cleared as it was read: the password is in no field of the page any more.
    assert await this_form.evaluate(
        "form => [...form.querySelectorAll('input')].every(i => i.value === '')"
    )


async def _leftovers(page: Page) -> str:
    """Everything the page could have kept: its DOM, input values and web storage."""
    text: str = await page.evaluate(
        """() => [
          document.documentElement.outerHTML,
          ...[...document.querySelectorAll('input')].map(i => i.value),
          JSON.stringify({...localStorage}),
          JSON.stringify({...sessionStorage}),
        ].join('\\n')"""
    )
    return text


async def _scenario(lab: LabServer, device: SshDevice, browser: Browser, screenshots: Path) -> None:
    alice, bob = await asyncio.gather(
        *(LabPage.open(browser, lab.url, lab.token, name) for name in ("alice", "bob"))
    )
    page = alice.page

    # --- the panel offers device sessions; the picker lists the inventory, no host form -------
    await page.wait_for_function(
        "s => [...document.querySelectorAll(s)].some(b => !b.hidden)",
        arg=f"{PANEL} .jp-SharedTerm-newDeviceSession",
    )
    await alice.run_command("New Device Session")
    picker = page.locator(f"{DIALOG} .jp-SharedTerm-devicePicker")
    await picker.wait_for(state="visible")
    item = picker.locator('.jp-SharedTerm-device[data-device="lab-switch"]')
    assert f"{USER}@127.0.0.1:{device.port}" in (await item.text_content() or "")
    assert await picker.locator(".jp-SharedTerm-device[data-device]").count() == 2
    assert await picker.locator(".jp-SharedTerm-adhocForm").count() == 0  # ad-hoc is off
    await _pick(page, "lab-switch")

    # --- the host key is new: its address and SHA256 fingerprint, shown plainly ---------------
    hostkey = page.locator(f"{DIALOG} .jp-SharedTerm-hostKey")
    await hostkey.wait_for(state="visible")
    fingerprint = hostkey.locator(".jp-SharedTerm-fingerprint")
    assert await fingerprint.text_content() == device.fingerprint
    assert device.fingerprint.startswith("SHA256:")
    address = hostkey.locator(".jp-SharedTerm-hostAddress")
    assert await address.text_content() == f"127.0.0.1:{device.port}"
    trust = page.locator(f"{DIALOG} button.jp-mod-accept")
    assert (await trust.text_content() or "").strip() == "Trust and connect"
    await trust.click()

    # --- the password prompt: a wrong password is refused and asked again, then the right one --
    await _answer(page, "wrong-" + secrets.token_hex(4), attempt=1)
    await _answer(page, device.password, attempt=2)
    await alice.wait_role("owner")
    await alice.wait_text(f"{PANEL} .jp-SharedTerm-transportBadge", "SSH device")
    await alice.wait_text(f"{PANEL} .jp-SharedTerm-sessionName", "lab-switch")
    assert device.password not in await _leftovers(page)

    # --- Bob joins as a co-worker and types: the command runs on the device for both ----------
    await page.locator(PANEL).get_by_label("Role for the new link").select_option("coworker")
    await page.locator(f"{PANEL} .jp-SharedTerm-createInvite").click()
    url = page.locator(f'{PANEL} .jp-SharedTerm-inviteUrl[data-role="coworker"]')
    await url.wait_for(state="visible")
    await bob.join(await url.input_value())
    await bob.wait_role("coworker")
    # The device's shell has the device's HOME: the command cannot have run on the lab server.
    await bob.type_line("echo dev-$((6*7)):$HOME")
    for person in (alice, bob):
        await person.wait_terminal(f"dev-42:{device.folder}")
    await alice.wait_text(f"{PANEL} .jp-SharedTerm-driver", "In control: Bob")
    await page.screenshot(path=str(screenshots / "device.png"))
    for person in (alice, bob):
        assert device.password not in await person.terminal_text()

    # --- a device whose key changed: the server's message, and nothing to confirm -------------
    await alice.run_command("New Device Session")
    await _pick(page, "moved-switch")
    changed = page.locator(f"{DIALOG} .jp-SharedTerm-hostKeyChanged")
    await changed.wait_for(state="visible")
    message = await changed.text_content() or ""
    assert "CHANGED" in message and device.fingerprint in message, message
    buttons = page.locator(f"{DIALOG} .jp-Dialog-footer button")
    assert await buttons.count() == 1
    assert (await buttons.text_content() or "").strip() == "Close"
    await buttons.click()
    await changed.wait_for(state="detached")
    logins = await page.evaluate(
        """async () => {
          const config = JSON.parse(document.getElementById('jupyter-config-data').textContent);
          return (await fetch(config.baseUrl + 'api/sharedterm/logins')).json();
        }"""
    )
    assert logins == []
    assert await page.locator(SHARED).count() == 1  # no tab was opened for it
    # Back to the device's tab (the palette's click landed on the tab bar).
    await (
        page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab")
        .filter(has_text="Shared: lab-switch")
        .click()
    )

    # --- Alice ends the device session for everyone -------------------------------------------
    await page.locator(f"{PANEL} .jp-SharedTerm-endSession").click()
    await alice.accept_dialog()
    for person in (alice, bob):
        await person.wait_phase("ended")

    for person in (alice, bob):
        assert not person.errors, (person.name, person.errors)
