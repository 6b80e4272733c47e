"""Browser tests: a real `jupyter lab` subprocess on 127.0.0.1 and Debian chromium via Playwright.

The server runs with a token and no password; each browser context that logs in with
`?token=` becomes its own user (see named_identity.py). HOME, XDG and Jupyter dirs, settings and
workspaces all live in a temp dir; the terminal setting `screenReaderMode` is on, so the text of
xterm.js (which draws on a canvas) can be read from its accessibility tree.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from labpage import CHROMIUM, LabServer

SERVER_START_TIMEOUT_S = 90.0  # a cold JupyterLab start on a loaded 2-core machine
HERE = Path(__file__).parent
SCREENSHOTS = HERE.parent.parent / "docs" / "screenshots"


def _browser_missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        return "playwright is not installed"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    missing = _browser_missing()
    if missing is None:
        return
    skip = pytest.mark.skip(reason=missing)
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _write_json(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


@pytest.fixture(scope="module")
def lab_settings() -> dict[str, Any]:
    """Extra `SharedTermApp` settings for this module's server: a test module that needs
    some (SSH devices, say) overrides this fixture."""
    return {}


@pytest.fixture(scope="module")
def lab(
    tmp_path_factory: pytest.TempPathFactory, lab_settings: dict[str, Any]
) -> Iterator[LabServer]:
    if _browser_missing() is not None:
        pytest.skip("no browser")
    tmp = tmp_path_factory.mktemp("lab")
    home, root = tmp / "home", tmp / "root"
    settings = tmp / "lab-settings"
    for folder in (home, root):
        folder.mkdir()
    # The user's terminal settings also apply to shared terminals: screen-reader mode makes
    # xterm.js keep its text in the DOM, where the tests read it.
    _write_json(
        settings / "@jupyterlab" / "terminal-extension" / "plugin.jupyterlab-settings",
        {"screenReaderMode": True},
    )
    # No "would you like news?" toast over the page.
    _write_json(
        settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings",
        {"fetchNews": "false", "checkForUpdates": False},
    )
    config = tmp / "config"
    _write_json(
        config / "jupyter_server_config.json",
        {
            "ServerApp": {
                "terminado_settings": {"shell_command": ["/bin/bash", "--norc", "--noprofile"]},
            },
            "FileContentsManager": {"delete_to_trash": False},
            "SharedTermApp": {"recordings_dir": str(tmp / "recordings"), **lab_settings},
        },
    )
    token = secrets.token_hex(16)
    port = _free_port()
    base = "/lab%40test/"  # a base URL that needs quoting catches URL-join bugs
    env = {
        **os.environ,
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "JUPYTER_CONFIG_DIR": str(config),
        "JUPYTER_DATA_DIR": str(tmp / "data"),
        "JUPYTER_RUNTIME_DIR": str(tmp / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(settings),
        "JUPYTERLAB_WORKSPACES_DIR": str(tmp / "workspaces"),
        "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
        "PS1": "$ ",
        "TERM": "xterm-256color",
    }
    log = tmp / "server.log"
    args = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--allow-root",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--port-retries=0",
        f"--ServerApp.base_url={base}",
        f"--IdentityProvider.token={token}",
        "--ServerApp.identity_provider_class=named_identity.NamedIdentityProvider",
        f"--ServerApp.root_dir={root}",
    ]
    with log.open("wb") as out:
        proc = subprocess.Popen(args, env=env, cwd=root, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}{base}"
    server = LabServer(url=url, token=token, root=root, log=log)
    try:
        _wait_ready(proc, server)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        shutil.rmtree(tmp / "recordings", ignore_errors=True)


def _wait_ready(proc: subprocess.Popen[bytes], server: LabServer) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    status = f"{server.url}api/status"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"jupyter lab exited early:\n{server.log_tail()}")
        request = urllib.request.Request(status, headers={"Authorization": f"token {server.token}"})
        try:
            with urllib.request.urlopen(request, timeout=2) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)  # polling the port: the server gives no other signal of readiness
    raise RuntimeError(f"jupyter lab did not answer in time:\n{server.log_tail()}")


@pytest.fixture
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the browser tests save their pictures: the README's own (docs/screenshots) only
    when UPDATE_SCREENSHOTS=1, so that running the tests never changes tracked files."""
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        return SCREENSHOTS
    return tmp_path_factory.mktemp("screenshots")
