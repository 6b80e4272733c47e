"""Real SSH servers on 127.0.0.1 for transport tests: asyncssh in-process, and Debian's sshd."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import termios
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncssh

DEADLINE = 15.0  # seconds any expected event may take on a loaded 2-core machine
SSHD = "/usr/sbin/sshd"
SETSID = shutil.which("setsid")


# --------------------------------------------------------------------------- keys


@dataclass
class KeyFiles:
    key: asyncssh.SSHKey
    private: Path
    public: Path

    @property
    def fingerprint(self) -> str:
        return self.key.get_fingerprint("sha256")


def make_key(
    directory: Path, name: str, alg: str = "ssh-ed25519", passphrase: str | None = None
) -> KeyFiles:
    """A freshly generated key pair written as OpenSSH files (private 0600)."""
    key = asyncssh.generate_private_key(alg)
    private = directory / name
    public = directory / f"{name}.pub"
    if passphrase is None:
        key.write_private_key(private)
    else:  # OpenSSH-format encryption needs bcrypt, which is not installed; PKCS#8 is not
        key.write_private_key(private, "pkcs8-pem", passphrase=passphrase)
    os.chmod(private, 0o600)
    key.write_public_key(public)
    return KeyFiles(key, private, public)


def known_hosts_line(host: str, port: int, key: asyncssh.SSHKey) -> str:
    pattern = host if port == 22 else f"[{host}]:{port}"
    return f"{pattern} {key.export_public_key().decode().strip()}\n"


# --------------------------------------------------------------------------- waiting


async def wait_until(
    predicate: Callable[[], bool], changed: asyncio.Event, what: str, timeout: float = DEADLINE
) -> None:
    """Re-check `predicate` each time `changed` fires, up to `timeout` seconds."""

    async def watch() -> None:
        while not predicate():
            changed.clear()
            await changed.wait()

    try:
        await asyncio.wait_for(watch(), timeout)
    except asyncio.TimeoutError:
        raise AssertionError(f"no {what} within {timeout} s") from None


# --------------------------------------------------------------------------- sink


class RecordingSink:
    """A TransportSink that keeps everything and lets a test wait on it with a deadline."""

    def __init__(self) -> None:
        self.output = ""
        self.exits: list[str] = []
        self._changed = asyncio.Event()

    def on_output(self, text: str) -> None:
        self.output += text
        self._changed.set()

    def on_exit(self, reason: str) -> None:
        self.exits.append(reason)
        self._changed.set()

    def plain(self, start: int = 0) -> str:
        return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", self.output[start:]).replace("\r", "")

    def lines(self, start: int = 0) -> list[str]:
        return [line.strip() for line in self.plain(start).split("\n")]

    async def wait_for(
        self, predicate: Callable[[], bool], what: str, timeout: float = DEADLINE
    ) -> None:
        try:
            await wait_until(predicate, self._changed, what, timeout)
        except AssertionError as exc:
            raise AssertionError(
                f"{exc}; exits={self.exits!r}; output tail={self.output[-1500:]!r}"
            ) from None

    def has_line(self, line: str, start: int = 0) -> bool:
        """`line` printed on a line of its own, or right after a shell prompt ("$ ", "# ")."""
        return any(
            got == line or got.endswith(("$ " + line, "# " + line)) for got in self.lines(start)
        )

    async def wait_line(self, line: str, start: int = 0, timeout: float = DEADLINE) -> None:
        await self.wait_for(lambda: self.has_line(line, start), f"line {line!r}", timeout)

    async def wait_exit(self, timeout: float = DEADLINE) -> str:
        await self.wait_for(lambda: bool(self.exits), "on_exit", timeout)
        return self.exits[0]


# --------------------------------------------------------------------------- asyncssh server


@dataclass
class ServerSpec:
    """What an in-process asyncssh server accepts, and what it saw."""

    host_key: asyncssh.SSHKey
    passwords: dict[str, str] = field(default_factory=dict)
    client_keys: dict[str, list[asyncssh.SSHKey]] = field(default_factory=dict)
    kbdint: dict[str, list[str]] = field(default_factory=dict)  # user -> answers to the 2 questions
    forward_to: set[int] = field(default_factory=set)  # 127.0.0.1 ports a jump host may open
    home: Path | None = None
    events: list[tuple[Any, ...]] = field(default_factory=list)
    connections: list[asyncssh.SSHServerConnection] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    live_sessions: int = 0

    def record(self, *event: Any) -> None:
        self.events.append(event)
        self.changed.set()

    async def wait_for(self, predicate: Callable[[], bool], what: str) -> None:
        await wait_until(predicate, self.changed, what)

    def auth_attempts(self) -> list[tuple[Any, ...]]:
        return [e for e in self.events if e[0] in ("begin_auth", "password", "publickey", "kbdint")]


KBDINT_QUESTIONS = [("Password: ", False), ("One-time code: ", True)]


class RecordingServer(asyncssh.SSHServer):
    """Records every authentication step, so tests can prove none happened."""

    def __init__(self, spec: ServerSpec) -> None:
        self._spec = spec
        self._conn: asyncssh.SSHServerConnection | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._conn = conn
        self._spec.connections.append(conn)
        self._spec.record("connect")

    def connection_lost(self, exc: Exception | None) -> None:
        if self._conn in self._spec.connections:
            self._spec.connections.remove(self._conn)
        self._spec.record("disconnect")

    def begin_auth(self, username: str) -> bool:
        self._spec.record("begin_auth", username)
        return True

    def password_auth_supported(self) -> bool:
        return bool(self._spec.passwords)

    def validate_password(self, username: str, password: str) -> bool:
        self._spec.record("password", username)
        expected = self._spec.passwords.get(username)
        return expected is not None and password == expected

    def public_key_auth_supported(self) -> bool:
        return bool(self._spec.client_keys)

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        self._spec.record("publickey", username, key.get_fingerprint())
        allowed = {k.public_data for k in self._spec.client_keys.get(username, [])}
        return key.public_data in allowed

    def kbdint_auth_supported(self) -> bool:
        return bool(self._spec.kbdint)

    def get_kbdint_challenge(
        self, username: str, lang: str, submethods: str
    ) -> tuple[str, str, str, Sequence[tuple[str, bool]]]:
        self._spec.record("kbdint", username)
        return ("Device login", "Answer both questions.", "en-US", KBDINT_QUESTIONS)

    def validate_kbdint_response(self, username: str, responses: Sequence[str]) -> bool:
        expected = self._spec.kbdint.get(username)
        return expected is not None and list(responses) == expected

    def session_requested(self) -> PtyShellSession:
        return PtyShellSession(self._spec)

    def connection_requested(
        self, dest_host: str, dest_port: int, orig_host: str, orig_port: int
    ) -> bool:
        self._spec.record("direct-tcpip", dest_host, dest_port)
        return dest_host == "127.0.0.1" and dest_port in self._spec.forward_to


def _set_winsize(fd: int, rows: int, cols: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


class PtyShellSession(asyncssh.SSHServerSession[bytes]):
    """A real /bin/sh on a real PTY; the environment is exactly what the client sent plus basics."""

    def __init__(self, spec: ServerSpec) -> None:
        self._spec = spec
        self._chan: asyncssh.SSHServerChannel[bytes] | None = None
        self._size = (24, 80)
        self._term = "dumb"
        self._master = -1
        self._proc: subprocess.Popen[bytes] | None = None
        self._loop = asyncio.get_running_loop()
        self._pending = b""
        self._waiting_writable = False
        self._lost = False

    def connection_made(self, chan: asyncssh.SSHServerChannel[bytes]) -> None:
        self._chan = chan
        self._spec.live_sessions += 1

    def pty_requested(
        self, term_type: str, term_size: tuple[int, int, int, int], term_modes: Any
    ) -> bool:
        self._term = term_type
        self._size = (term_size[1], term_size[0])
        self._spec.record("pty", term_type, term_size[1], term_size[0])
        return True

    def shell_requested(self) -> bool:
        return True

    def session_started(self) -> None:
        assert self._chan is not None
        if self._lost:  # the client left before its shell started: start none, leak none
            return
        client_env = {str(k): str(v) for k, v in self._chan.get_environment().items()}
        self._spec.record("env", client_env)
        self._spec.record("agent_path", self._chan.get_agent_path())
        master, slave = os.openpty()
        _set_winsize(slave, *self._size)
        home = str(self._spec.home or "/tmp")
        env = {"PATH": "/usr/bin:/bin", "HOME": home, "TERM": self._term, "PS1": "$ ", **client_env}
        argv = [SETSID, "--ctty", "/bin/sh", "-i"] if SETSID else ["/bin/sh", "-i"]
        self._proc = subprocess.Popen(
            argv,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            cwd=home,
            close_fds=True,
            start_new_session=SETSID is None,
        )
        os.close(slave)
        os.set_blocking(master, False)
        self._master = master
        self._loop.add_reader(master, self._pty_readable)

    def _pty_readable(self) -> None:
        try:
            data = os.read(self._master, 65536)
        except BlockingIOError:
            return
        except OSError:  # EIO: every slave fd is closed, the shell is gone
            data = b""
        if data:
            assert self._chan is not None
            self._chan.write(data)
            return
        self._loop.remove_reader(self._master)
        status = self._reap()
        if self._chan is not None:
            self._chan.exit(status if status >= 0 else 255)

    def data_received(self, data: bytes, datatype: asyncssh.DataType) -> None:
        if self._master < 0:
            return
        self._pending += data
        self._write_pending()

    def _write_pending(self) -> None:
        # A shell that does not read fills the PTY; then stop reading the channel, so the SSH
        # window closes and the client sees backpressure, as with a real sshd.
        assert self._chan is not None
        while self._pending and self._master >= 0:
            try:
                written = os.write(self._master, self._pending)
            except BlockingIOError:
                if not self._waiting_writable:
                    self._waiting_writable = True
                    self._chan.pause_reading()
                    self._loop.add_writer(self._master, self._writable)
                return
            self._pending = self._pending[written:]
        if self._waiting_writable:
            self._waiting_writable = False
            self._loop.remove_writer(self._master)
            self._chan.resume_reading()

    def _writable(self) -> None:
        self._write_pending()

    def terminal_size_changed(self, width: int, height: int, pixwidth: int, pixheight: int) -> None:
        self._spec.record("resize", height, width)
        if self._master >= 0:
            _set_winsize(self._master, height, width)

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = True
        if self._master >= 0:
            self._loop.remove_reader(self._master)
            self._loop.remove_writer(self._master)
        self._reap()
        if self._master >= 0:
            os.close(self._master)
            self._master = -1
        self._spec.live_sessions -= 1
        self._spec.changed.set()

    def _reap(self) -> int:
        proc, self._proc = self._proc, None
        if proc is None:
            return -1
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        return proc.wait(timeout=DEADLINE)


@dataclass
class RunningServer:
    spec: ServerSpec
    port: int
    acceptor: asyncssh.SSHAcceptor

    def abort_connections(self) -> None:
        """Drop every client link at once, like a device losing power (no SSH disconnect sent)."""
        for conn in list(self.spec.connections):
            conn.abort()


@contextlib.asynccontextmanager
async def asyncssh_server(spec: ServerSpec) -> AsyncIterator[RunningServer]:
    """An asyncssh server on a free 127.0.0.1 port running `PtyShellSession`s."""
    acceptor = await asyncssh.listen(
        "127.0.0.1",
        0,
        server_host_keys=[spec.host_key],
        server_factory=lambda: RecordingServer(spec),
        encoding=None,
        line_editor=False,  # the remote PTY does the line editing, as on a real device
        allow_pty=True,
        agent_forwarding=True,  # accepted if asked, so a test can see that the client never asks
        login_timeout=DEADLINE,
    )
    port = acceptor.get_port()
    try:
        yield RunningServer(spec, port, acceptor)
    finally:
        acceptor.close()
        for conn in list(spec.connections):
            conn.close()
        await asyncio.wait_for(acceptor.wait_closed(), DEADLINE)
        # Every shell reaped before the test's loop closes.
        await spec.wait_for(
            lambda: not spec.connections and spec.live_sessions == 0, "server sessions to end"
        )


# --------------------------------------------------------------------------- a link that can die


class TcpRelay:
    """A loopback TCP relay in front of a server; `freeze()` makes the link silently dead."""

    def __init__(self, target_port: int) -> None:
        self._target_port = target_port
        self._server: asyncio.Server | None = None
        self._pumps: set[asyncio.Task[None]] = set()
        self._writers: list[asyncio.StreamWriter] = []
        self.port = 0

    async def __aenter__(self) -> TcpRelay:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self._target_port)
        self._writers += [writer, up_writer]
        for src, dst in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.ensure_future(self._pump(src, dst))
            self._pumps.add(task)
            task.add_done_callback(self._pumps.discard)

    @staticmethod
    async def _pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        while data := await src.read(65536):
            dst.write(data)
            await dst.drain()
        dst.close()

    def freeze(self) -> None:
        """Stop moving bytes but keep both TCP connections open: no FIN, no RST, just silence."""
        for task in list(self._pumps):
            task.cancel()

    async def __aexit__(self, *exc_info: object) -> None:
        self.freeze()
        await asyncio.gather(*self._pumps, return_exceptions=True)
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.close()
        for writer in self._writers:
            with contextlib.suppress(OSError):
                await asyncio.wait_for(writer.wait_closed(), DEADLINE)
        await asyncio.wait_for(self._server.wait_closed(), DEADLINE)


@contextlib.asynccontextmanager
async def silent_listener() -> AsyncIterator[int]:
    """A port that accepts TCP connections and never says a word (a hung device)."""
    held: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        for writer in held:
            writer.close()
        await asyncio.wait_for(server.wait_closed(), DEADLINE)


def closed_port() -> int:
    """A 127.0.0.1 port nothing listens on (bound then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --------------------------------------------------------------------------- Debian OpenSSH


@dataclass
class Sshd:
    port: int
    host_key: KeyFiles
    client_key: KeyFiles
    proc: asyncio.subprocess.Process
    log: list[str]
    changed: asyncio.Event

    async def wait_log(self, predicate: Callable[[str], bool], what: str) -> None:
        try:
            await wait_until(lambda: any(predicate(line) for line in self.log), self.changed, what)
        except AssertionError as exc:
            raise AssertionError(f"{exc}; sshd log:\n" + "\n".join(self.log)) from None

    def kill_all(self) -> None:
        """SIGKILL the listener and everything it started: the device vanished.

        Per-connection sshd processes call setsid(), so a process-group kill would miss them;
        walk the process tree instead.
        """
        for pid in [*_descendants(self.proc.pid), self.proc.pid]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat_line = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat_line.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    found: list[int] = []
    stack = [root]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


@contextlib.asynccontextmanager
async def openssh_server(tmp: Path) -> AsyncIterator[Sshd]:
    """`sshd -D -e` on a free 127.0.0.1 port with its own host key; root may log in with a key.

    Needs root (sshd re-execs and drops privileges) and /run/sshd (Debian's privilege separation
    directory, normally made by the service unit; created here if missing).
    """
    tmp.mkdir(parents=True, exist_ok=True)
    host_key = make_key(tmp, "ssh_host_ed25519_key")
    client_key = make_key(tmp, "client_ed25519")
    authorized = tmp / "authorized_keys"
    authorized.write_text(client_key.public.read_text())
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    last_error = ""
    for _attempt in range(3):  # the free port may be taken between probing and sshd's bind
        port = closed_port()
        config = tmp / "sshd_config"
        config.write_text(
            "\n".join(
                [
                    f"ListenAddress 127.0.0.1:{port}",
                    f"HostKey {host_key.private}",
                    f"AuthorizedKeysFile {authorized}",
                    f"PidFile {tmp / 'sshd.pid'}",
                    "UsePAM no",
                    "StrictModes no",
                    "PermitRootLogin prohibit-password",
                    "PubkeyAuthentication yes",
                    "PasswordAuthentication no",
                    "KbdInteractiveAuthentication no",
                    "UseDNS no",
                    # Generous on purpose: if the client ever sent an environment variable or
                    # asked for agent forwarding, the remote shell would show it.
                    "AcceptEnv *",
                    "AllowAgentForwarding yes",
                    "PrintMotd no",
                    "PrintLastLog no",
                    "LogLevel VERBOSE",
                    "",
                ]
            )
        )
        proc = await asyncio.create_subprocess_exec(
            SSHD, "-D", "-e", "-f", str(config),
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            start_new_session=True,
        )  # fmt: skip
        assert proc.stderr is not None
        sshd = Sshd(port, host_key, client_key, proc, [], asyncio.Event())
        try:
            ok = await asyncio.wait_for(
                _read_log(proc.stderr, sshd, "Server listening on"), DEADLINE
            )
        except asyncio.TimeoutError:
            ok = False
        if not ok:
            last_error = "\n".join(sshd.log)
            sshd.kill_all()
            await asyncio.wait_for(proc.wait(), DEADLINE)
            continue
        drainer = asyncio.ensure_future(_read_log(proc.stderr, sshd))
        try:
            yield sshd
        finally:
            sshd.kill_all()
            await asyncio.wait_for(proc.wait(), DEADLINE)
            await asyncio.wait_for(drainer, DEADLINE)
        return
    raise RuntimeError(f"sshd did not start:\n{last_error}")


async def _read_log(stderr: asyncio.StreamReader, sshd: Sshd, until: str | None = None) -> bool:
    """Collect sshd's log lines; with `until`, stop at (and report) the first line containing it."""
    while line := await stderr.readline():
        sshd.log.append(line.decode(errors="replace").rstrip())
        sshd.changed.set()
        if until is not None and until in sshd.log[-1]:
            return True
    return False
