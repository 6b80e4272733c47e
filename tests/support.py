"""Test clients: REST calls as a named user, and a websocket peer that renders what it receives."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncssh
import msgspec
import ptyprocess
import pyte
from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.websocket import WebSocketClientConnection

from jupyter_sharedterm.client import AsyncClient, AsyncTerminal
from jupyter_sharedterm.protocol import DeviceSessionBody, NewShellBody, SessionModel, StdoutFrame
from jupyter_sharedterm.protocol.schema import CAST, ROUTES

DEADLINE = 15.0  # seconds any expected event may take on a loaded 2-core machine


class Api:
    """REST calls as named users, through the public client (`jupyter_sharedterm.client`).

    `await api(user, method, *path, body=...)` gives (status, JSON) and never raises, for tests
    of refusals; the helpers below use the client's typed calls, so every answer they get is
    checked against the protocol's types.
    """

    def __init__(self, base_url: str, token: str, transport: str = "local") -> None:
        self.base_url = base_url
        self.token = token
        self._clients: dict[str, AsyncClient] = {}
        # What share_shell() starts: a local shell, or a session on the SSH device (BashDevice).
        self._share_body: NewShellBody | DeviceSessionBody = (
            NewShellBody() if transport == "local" else DeviceSessionBody(device=BashDevice.name)
        )

    def client(self, user: str) -> AsyncClient:
        """The client of `user` (the test identity provider reads X-Test-User)."""
        if user not in self._clients:
            self._clients[user] = AsyncClient(
                self.base_url, token=self.token, headers={"X-Test-User": user}
            )
        return self._clients[user]

    async def __call__(
        self,
        user: str,
        method: str,
        *path: str,
        body: Any = None,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        """(status, decoded JSON or None). Never raises for an HTTP error status."""
        response = await self.client(user).request(
            method, "api", "sharedterm", *path, body=body, raw=raw, headers=headers
        )
        answer = spec_answer(method, "/".join(("api", "sharedterm", *path)), response.status)
        if answer is not None:  # every answer the spec names is checked against its type
            msgspec.json.decode(response.body, type=answer)
        return response.status, response.json()

    async def share_shell(self, user: str = "alice") -> dict[str, Any]:
        model = await self.client(user).create_session(self._share_body)
        assert isinstance(model, SessionModel), model
        return dict(msgspec.to_builtins(model))

    async def invite(self, owner: str, sid: str, role: str) -> tuple[str, str]:
        """(invite id, secret) of a new invite."""
        assert role in ("viewer", "coworker")
        model = await self.client(owner).create_invite(sid, role)  # type: ignore[arg-type]
        assert isinstance(model.url, str)
        iid, secret = model.url.rsplit("/", 1)[1].split("#")
        return iid, secret

    async def admit(self, owner: str, sid: str, user: str, role: str) -> str:
        """`user` joins `sid` as `role` through a real invite; returns their participant id."""
        iid, secret = await self.invite(owner, sid, role)
        joined = await self.client(user).join(iid, secret)
        assert joined.role.value == role
        return joined.participant


def spec_answer(method: str, path: str, status: int) -> Any:
    """The type the protocol's route table gives the answer of `method path` with `status`
    (None: no such route, no body, or not JSON)."""
    for route in ROUTES:
        pattern = re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(route.path))
        if route.method == method and re.fullmatch(pattern, path):
            answer = route.answers.get(status)
            return None if answer == CAST else answer
    return None


async def open_lab_terminal(
    fetch: Callable[..., Awaitable[Any]],
    ws_fetch: Callable[..., Awaitable[Any]],
    command: str,
    expect: str,
) -> tuple[str, WebSocketClientConnection]:
    """A JupyterLab terminal (the stock route, as JupyterLab opens one) that ran `command`;
    returns its name and stock socket once `expect` was printed."""
    created = await fetch("api", "terminals", method="POST", body="{}")
    name = str(json.loads(created.body)["name"])
    stock = await ws_fetch("terminals", "websocket", name)
    stock.write_message(json.dumps(["stdin", f"{command}\r"]))
    seen = ""
    while expect not in seen:
        msg = await asyncio.wait_for(stock.read_message(), DEADLINE)
        assert msg is not None, "the stock terminal socket closed"
        kind, *rest = json.loads(msg)
        seen += rest[0] if kind == "stdout" else ""
    return name, stock


class ServerProcess:
    """A real Jupyter server with this extension in a process of its own, for what an
    in-process server cannot show: SIGKILL, restarts, a kernel calling its own server."""

    TOKEN = "process-token"

    def __init__(self, home: Path, *args: str, from_script: bool = False) -> None:
        """`from_script`: start it as `jupyter server ... &` in a non-interactive shell does
        (SIGINT and SIGQUIT ignored), and with SIGUSR2 blocked, as a launcher may leave it."""
        self.home = home
        self.args = args
        self.from_script = from_script
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.headers = {"Authorization": f"token {self.TOKEN}", "X-Test-User": "alice"}
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def env(self) -> dict[str, str]:
        """The environment of the server, and of other processes that must find it."""
        tests = str(Path(__file__).parent)  # conftest.HeaderIdentityProvider: alice stays alice
        return {
            **os.environ,
            "HOME": str(self.home),
            "JUPYTER_CONFIG_DIR": str(self.home / "config"),
            "JUPYTER_DATA_DIR": str(self.home / "data"),
            "JUPYTER_RUNTIME_DIR": str(self.home / "runtime"),
            "PYTHONPATH": os.pathsep.join([tests, os.environ.get("PYTHONPATH", "")]),
        }

    async def start(self) -> None:
        """Start (or restart, on the same port) and wait until it answers."""
        script = ["/bin/sh", "-c", '"$@" & wait', "sh"] if self.from_script else []
        self._proc = subprocess.Popen(
            [
                *script,
                sys.executable,
                "-m",
                "jupyter_server",
                "--no-browser",
                f"--port={self.port}",
                "--ServerApp.ip=127.0.0.1",
                "--ServerApp.port_retries=0",  # a restart must come back on the same port
                f"--IdentityProvider.token={self.TOKEN}",
                "--allow-root",
                f"--ServerApp.root_dir={self.home}",
                "--ServerApp.identity_provider_class=conftest.HeaderIdentityProvider",
                "--ServerApp.jpserver_extensions="
                "{'jupyter_sharedterm': True, 'jupyter_server_terminals': True}",
                *self.args,
            ],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            # Its own process group, so that stop() and kill() reach the server behind the shell.
            start_new_session=self.from_script,
            preexec_fn=_block_sigusr2 if self.from_script else None,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                await self.call("GET", "api/status")
                return
            except (ConnectionError, OSError):
                if time.monotonic() > deadline or self._proc.poll() is not None:
                    raise
                await asyncio.sleep(0.1)

    @property
    def pid(self) -> int:
        """The process started: the server, or with `from_script` the shell that started it."""
        assert self._proc is not None
        return self._proc.pid

    async def call(self, method: str, path: str, body: Any = None) -> Any:
        request = HTTPRequest(
            f"http://127.0.0.1:{self.port}/{path}",
            method=method,
            headers=self.headers,
            body=None if body is None else json.dumps(body),
        )
        response = await AsyncHTTPClient().fetch(request)
        return json.loads(response.body) if response.body else None

    def kill(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._signal(signal.SIGKILL)
            self._proc.wait(timeout=30)

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._signal(signal.SIGTERM)
            try:
                self._proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    def _signal(self, sig: int) -> None:
        assert self._proc is not None
        if self.from_script:  # the shell waits for the server: both are in the group
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._proc.pid, sig)
        else:
            self._proc.send_signal(sig)


def _block_sigusr2() -> None:
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR2})


class ReferenceScreen(pyte.Screen):  # type: ignore[misc]
    """Plain pyte, independent of the server's own emulator, as a participant's terminal.

    pyte 0.8 raises on private SGR (`CSI > 4 ; 2 m`, which vim sends); a terminal ignores it.
    """

    def select_graphic_rendition(self, *attrs: int, private: bool = False) -> None:
        if not private:
            super().select_graphic_rendition(*attrs)

    def reset_mode(self, *modes: int, **kwargs: Any) -> None:
        # pyte un-reverses every cell on `CSI ? 5 l` even when reverse screen was never on;
        # a terminal does nothing then.
        if kwargs.get("private") and (pyte.modes.DECSCNM not in self.mode):
            modes = tuple(m for m in modes if m != 5)
        super().reset_mode(*modes, **kwargs)


class Peer:
    """One websocket participant on the public client's terminal. Frames are collected by a
    reader task, each decoded with the protocol's types (a frame off the spec fails the test)
    and kept as plain JSON values; stdout is rendered."""

    def __init__(self, user: str, ws: WebSocketClientConnection, rows: int = 24, cols: int = 80):
        self.user = user
        self.ws = ws
        self.terminal = AsyncTerminal(ws)
        self.frames: list[list[Any]] = []
        self.chunks: list[str] = []  # stdout as received; rendered lazily (pyte is slow)
        self._rendered = 0
        self.screen = ReferenceScreen(cols, rows)
        self.stream = pyte.Stream(self.screen)
        self.closed = asyncio.get_running_loop().create_future()
        self._changed = asyncio.Event()
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        try:
            while (frame := await self.terminal.recv()) is not None:
                if isinstance(frame, StdoutFrame):
                    self.chunks.append(frame.text)
                else:
                    self.frames.append(msgspec.to_builtins(frame))
                self._changed.set()
        finally:
            if not self.closed.done():
                self.closed.set_result(self.ws.close_code)
            self._changed.set()

    async def wait_for(self, check: Callable[[], Any], what: str = "condition") -> Any:
        async def loop() -> Any:
            while True:
                result = check()
                if result:
                    return result
                if self.closed.done():
                    raise AssertionError(f"{self.user}: socket closed while waiting for {what}")
                self._changed.clear()
                # Also re-check now and then: a condition may depend on other peers too.
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), 0.1)

        try:
            return await asyncio.wait_for(loop(), DEADLINE)
        except asyncio.TimeoutError:
            raise AssertionError(f"{self.user}: timed out waiting for {what}") from None

    async def wait_setup(self) -> dict[str, Any]:
        frame = await self.wait_for(lambda: self.frames and self.frames[0], "setup")
        assert not self.chunks, "stdout before setup"
        assert frame[0] == "setup", frame
        return dict(frame[1])

    @property
    def setup(self) -> dict[str, Any]:
        return dict(self.frames[0][1])

    def ctl(self, kind: str) -> list[dict[str, Any]]:
        return [f[1] for f in self.frames if f[0] == "ctl" and f[1].get("type") == kind]

    async def wait_ctl(
        self, kind: str, check: Callable[[dict[str, Any]], bool] = lambda c: True
    ) -> dict[str, Any]:
        def find() -> dict[str, Any] | None:
            return next((c for c in self.ctl(kind) if check(c)), None)

        return dict(await self.wait_for(find, f"ctl {kind}"))

    @property
    def output(self) -> str:
        return "".join(self.chunks)

    async def wait_output(self, text: str) -> None:
        """Wait until `text` has been received, scanning each chunk once (outputs can be huge)."""
        scanned, carry = 0, ""

        def found() -> bool:
            nonlocal scanned, carry
            while scanned < len(self.chunks):
                window = carry + self.chunks[scanned]
                scanned += 1
                if text in window:
                    return True
                carry = window[-len(text) + 1 :] if len(text) > 1 else ""
            return False

        await self.wait_for(found, repr(text))

    def display(self) -> list[str]:
        """The screen as this participant's terminal shows it now."""
        for chunk in self.chunks[self._rendered :]:
            self.stream.feed(chunk)
        self._rendered = len(self.chunks)
        return [line.rstrip() for line in self.screen.display]

    def send(self, *frame: Any) -> None:
        """Any frame, even one off the spec (typed messages: `self.terminal.send`)."""
        self.terminal.send_raw(json.dumps(frame))

    def send_raw(self, data: str | bytes, binary: bool = False) -> None:
        self.terminal.send_raw(data, binary=binary)

    def stdin(self, text: str) -> None:
        self.terminal.stdin(text)

    async def wait_closed(self) -> int | None:
        try:
            return await asyncio.wait_for(asyncio.shield(self.closed), DEADLINE)
        except asyncio.TimeoutError:
            raise AssertionError(f"{self.user}: socket still open") from None

    def close(self) -> None:
        self.ws.close()
        self._reader.cancel()


# --------------------------------------------------------------------------- an SSH device


class BashDevice:
    """An SSH server on 127.0.0.1 whose shell is a real bash on a real PTY, started like the
    local shared shell: the same tests then run over a device session.

    The server's known_hosts (`known_hosts`) already trusts its host key, and `key` is the
    client key it accepts for `username`, so a session opens without anyone being asked.
    """

    name = "lab-device"
    username = "netops"

    def __init__(self, folder: Path, cwd: Path) -> None:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.cwd = cwd
        self.host_key = asyncssh.generate_private_key("ssh-ed25519")
        self.client_key = asyncssh.generate_private_key("ssh-ed25519")
        self.key = folder / "client_ed25519"
        self.client_key.write_private_key(self.key)
        os.chmod(self.key, 0o600)
        self.known_hosts = folder / "known_hosts"
        self.port = 0
        self.connections: set[asyncssh.SSHServerConnection] = set()
        self.shells: set[_BashShell] = set()
        self._acceptor: asyncssh.SSHAcceptor | None = None

    async def start(self) -> None:
        self._acceptor = await asyncssh.listen(
            "127.0.0.1",
            0,
            server_host_keys=[self.host_key],
            server_factory=lambda: _DeviceServer(self),
            encoding=None,
            line_editor=False,  # the remote PTY does the line editing, as on a real device
            allow_pty=True,
            login_timeout=DEADLINE,
        )
        self.port = self._acceptor.get_port()
        public = self.host_key.export_public_key().decode().strip()
        self.known_hosts.write_text(f"[127.0.0.1]:{self.port} {public}\n")
        os.chmod(self.known_hosts, 0o600)

    @property
    def entry(self) -> dict[str, Any]:
        """Its `c.SharedTermApp.devices` entry."""
        return {
            "host": "127.0.0.1",
            "port": self.port,
            "username": self.username,
            "auth": ["publickey"],
            "key_files": [str(self.key)],
            "known_hosts": str(self.known_hosts),
        }

    async def stop(self) -> None:
        """Close the listener and every connection; every shell is reaped."""
        if self._acceptor is not None:
            self._acceptor.close()
            await asyncio.wait_for(self._acceptor.wait_closed(), DEADLINE)
        for conn in list(self.connections):
            conn.abort()
        for shell in list(self.shells):
            shell.reap()


class _DeviceServer(asyncssh.SSHServer):
    def __init__(self, device: BashDevice) -> None:
        self._device = device
        self._conn: asyncssh.SSHServerConnection | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._conn = conn
        self._device.connections.add(conn)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._conn is not None:
            self._device.connections.discard(self._conn)

    def begin_auth(self, username: str) -> bool:
        return True

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        device = self._device
        return username == device.username and key.public_data == device.client_key.public_data

    def session_requested(self) -> _BashShell:
        return _BashShell(self._device)


class _BashShell(asyncssh.SSHServerSession):  # type: ignore[type-arg]
    """`/bin/bash --norc --noprofile` on a PTY of the size the client asked for."""

    def __init__(self, device: BashDevice) -> None:
        self._device = device
        self._chan: asyncssh.SSHServerChannel[bytes] | None = None
        self._term = "dumb"
        self._size = (24, 80)
        self._proc: ptyprocess.PtyProcess | None = None
        self._pending = b""
        self._writing = False
        self._loop = asyncio.get_running_loop()

    def connection_made(self, chan: asyncssh.SSHServerChannel[bytes]) -> None:
        self._chan = chan

    def pty_requested(self, term_type: str, term_size: Any, term_modes: Any) -> bool:
        self._term = term_type
        self._size = (term_size[1], term_size[0])
        return True

    def shell_requested(self) -> bool:
        return True

    def session_started(self) -> None:
        env = {**os.environ, "TERM": self._term}
        self._proc = proc = ptyprocess.PtyProcess.spawn(
            ["/bin/bash", "--norc", "--noprofile"],
            cwd=str(self._device.cwd),
            env=env,
            dimensions=self._size,
        )
        self._device.shells.add(self)
        os.set_blocking(proc.fd, False)
        self._loop.add_reader(proc.fd, self._readable)

    def _readable(self) -> None:
        assert self._proc is not None and self._chan is not None
        try:
            data = os.read(self._proc.fd, 65536)
        except BlockingIOError:
            return
        except OSError:  # EIO: the shell is gone
            data = b""
        if data:
            self._chan.write(data)
            return
        status = self.reap()
        self._chan.exit(status)

    def data_received(self, data: bytes, datatype: Any) -> None:
        self._pending += data
        self._flush()

    def _flush(self) -> None:
        # Never block the loop on a shell that does not read: wait until its PTY is writable.
        proc = self._proc
        while self._pending and proc is not None:
            try:
                written = os.write(proc.fd, self._pending)
            except BlockingIOError:
                if not self._writing:
                    self._writing = True
                    self._loop.add_writer(proc.fd, self._flush)
                return
            self._pending = self._pending[written:]
        if self._writing and proc is not None:
            self._writing = False
            self._loop.remove_writer(proc.fd)

    def terminal_size_changed(self, width: int, height: int, pixw: int, pixh: int) -> None:
        if self._proc is not None:
            self._proc.setwinsize(height, width)

    def connection_lost(self, exc: Exception | None) -> None:
        self.reap()

    def reap(self) -> int:
        """Kill the shell's process group if it still runs; its exit status."""
        proc, self._proc = self._proc, None
        self._device.shells.discard(self)
        if proc is None:
            return 0
        self._loop.remove_reader(proc.fd)
        self._loop.remove_writer(proc.fd)
        if proc.isalive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.close()
        return proc.exitstatus or 0
