"""Fixtures shared by every test: a real Jupyter server with this extension and several users."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from jupyter_server.auth.identity import IdentityProvider, User
from jupyter_server.utils import ensure_async
from support import Api, BashDevice, Peer

pytest_plugins = ("pytest_jupyter.jupyter_server", "pytester", "ci_rule")


class HeaderIdentityProvider(IdentityProvider):
    """The server's own token check, then the user named by the X-Test-User header.

    Real enough for role tests: identities still come from an IdentityProvider, as under
    JupyterHub; the header only chooses which of several people a request is from.
    `X-Test-Display-Name` (percent-encoded) stands for a display name the user chose
    themselves, as jupyter_server lets them do.
    """

    async def get_user(self, handler: Any) -> User | None:  # type: ignore[override]
        user = await ensure_async(super().get_user(handler))
        name = handler.request.headers.get("X-Test-User")
        if user is None or not name:
            return user
        chosen = handler.request.headers.get("X-Test-Display-Name")
        display = unquote(chosen) if chosen else name.title()
        return User(username=name, name=display, display_name=display)


@pytest.fixture
def shell_transport() -> str:
    """What `api.share_shell()` shares: a local shell. A test module parametrizes this fixture
    with "local" and "ssh" to run the same tests over an SSH device session too."""
    return "local"


@pytest.fixture
def bash_device(
    shell_transport: str, tmp_path: Path, jp_root_dir: Path, jp_asyncio_loop: Any
) -> Iterator[BashDevice | None]:
    """The SSH device that ssh sessions of `api.share_shell()` open (bash in the server root)."""
    if shell_transport != "ssh":
        yield None
        return
    device = BashDevice(tmp_path / "device", cwd=jp_root_dir)
    jp_asyncio_loop.run_until_complete(device.start())
    yield device
    jp_asyncio_loop.run_until_complete(device.stop())


@pytest.fixture
def jp_server_config(jp_server_config: Any, bash_device: BashDevice | None) -> dict[str, Any]:
    devices = {} if bash_device is None else {BashDevice.name: bash_device.entry}
    return {
        "ServerApp": {
            "jpserver_extensions": {"jupyter_server_terminals": True, "jupyter_sharedterm": True},
            "identity_provider_class": HeaderIdentityProvider,
            "reraise_server_extension_failures": True,
            "terminado_settings": {"shell_command": ["/bin/bash", "--norc", "--noprofile"]},
        },
        "SharedTermApp": {"owner_grace_seconds": 30.0, "devices": devices},
    }


@pytest.fixture
def api(
    jp_serverapp: Any, jp_fetch: Any, jp_http_port: int, jp_base_url: str, shell_transport: str
) -> Api:
    """REST calls as a named user: `await api("alice", "POST", "sessions", body={...})`.

    (`jp_fetch` is what starts pytest-jupyter's HTTP server on `jp_http_port`.)
    """
    base_url = f"http://127.0.0.1:{jp_http_port}{jp_base_url}"
    return Api(base_url, jp_serverapp.identity_provider.token, shell_transport)


@pytest.fixture
def peers(jp_ws_fetch: Callable[..., Awaitable[Any]]) -> Any:
    """Open terminal websockets as named users; all are closed at the end of the test."""
    opened: list[Peer] = []

    async def connect(user: str, sid: str, **headers: str) -> Peer:
        ws = await jp_ws_fetch(
            "api",
            "sharedterm",
            "sessions",
            sid,
            "terminal",
            headers={"X-Test-User": user, **headers},
        )
        peer = Peer(user, ws)
        opened.append(peer)
        await peer.wait_setup()
        return peer

    yield connect
    for peer in opened:
        peer.close()
