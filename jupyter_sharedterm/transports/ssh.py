"""An interactive SSH shell on a network device, as a `Transport` (asyncssh underneath)."""

from __future__ import annotations

import asyncio
import codecs
import collections
import dataclasses
import hmac
import logging
import os
import socket
import stat
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeVar, cast

import asyncssh

from .base import Transport, TransportClosed, TransportError, TransportSink
from .ssh_settings import AUTH_METHODS, AuthMethod, device_problem, normalize

__all__ = [
    "AuthMethod",
    "HostKeyChanged",
    "HostKeyError",
    "PromptCallback",
    "PromptField",
    "PromptRequest",
    "SshAuthFailed",
    "SshConfigError",
    "SshConnectionLost",
    "SshConnectionRefused",
    "SshError",
    "SshHostUnreachable",
    "SshKeyFileError",
    "SshTarget",
    "SshTimeout",
    "SshTransport",
    "UnknownHostKey",
    "load_targets",
]

logger = logging.getLogger(__name__)


TERM_TYPE = "xterm-256color"
INPUT_QUEUE_BYTES = (
    1 << 20
)  # 1 MiB of keystrokes/paste waiting for the device; more is a runaway client
DEFAULT_CONNECT_TIMEOUT_S = 15.0
# A dead link (cable pulled, device powered off) sends no FIN/RST; only keepalives notice it,
# after about interval * (count_max + 1) seconds.
DEFAULT_KEEPALIVE_INTERVAL_S = 5.0
DEFAULT_KEEPALIVE_COUNT_MAX = 2
DEFAULT_PROMPT_TIMEOUT_S = 300.0  # a person reads and answers the prompt in the UI
CLOSE_TIMEOUT_S = 5.0
MAX_PASSWORD_ATTEMPTS = (
    3  # OpenSSH's own default MaxAuthTries is 6; stay well under lockout policies
)
MAX_KBDINT_ROUNDS = 10
MAX_JUMP_DEPTH = 4

_T = TypeVar("_T")


# --------------------------------------------------------------------------- errors


class SshConfigError(ValueError):
    """A device entry in the server configuration is invalid; the message names the fix."""


class SshError(TransportError):
    """An SSH connection could not be made or was lost; the message is meant for a person."""


class SshAuthFailed(SshError):
    """The device (or a jump host) refused every credential offered."""


class SshHostUnreachable(SshError):
    """The host name does not resolve or no route leads to it."""


class SshConnectionRefused(SshError):
    """The host answered but nothing listens on the SSH port."""


class SshTimeout(SshError):
    """The device did not complete the SSH handshake in time."""


class SshKeyFileError(SshError):
    """A configured private key file cannot be read or decrypted."""


class SshConnectionLost(SshError, TransportClosed):
    """An established link went away (dropped, device reboot, keepalive timeout)."""


class HostKeyError(SshError):
    """The host key presented by the device could not be verified."""

    def __init__(self, message: str, *, target: str, host: str, port: int, fingerprint: str = ""):
        super().__init__(message)
        self.target = target
        self.host = host
        self.port = port
        self.fingerprint = fingerprint


class UnknownHostKey(HostKeyError):
    """The device is not in known_hosts. Show `fingerprint` ("SHA256:...") to the owner; if they
    confirm it, retry with `SshTransport(..., confirmed_fingerprint=fingerprint)`."""


class HostKeyChanged(HostKeyError):
    """The device is in known_hosts with a different key: possibly an attack. Never overridable;
    an administrator must remove the old entry from the known_hosts file first."""


# --------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class SshTarget:
    """One SSH device the server may connect to, as an administrator configured it.

    `jump` is another `SshTarget` (ProxyJump) or, before `load_targets` resolves it, the name of
    one. `known_hosts` is a file the server owns: host keys are verified against it and
    fingerprints the owner confirms are pinned into it.
    """

    name: str
    host: str
    username: str
    known_hosts: Path
    port: int = 22
    auth: tuple[AuthMethod, ...] = ()  # () = publickey if keys or agent, then kbd-int, password
    key_files: tuple[Path, ...] = ()
    use_agent: bool = False
    jump: SshTarget | str | None = None
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT_S
    keepalive_interval: float = DEFAULT_KEEPALIVE_INTERVAL_S
    keepalive_count_max: int = DEFAULT_KEEPALIVE_COUNT_MAX

    def __post_init__(self) -> None:
        where = f"device {self.name!r}"
        if not self.name or not self.name.strip():
            raise SshConfigError("a device needs a non-empty name")
        # Types and ranges are the schema's (`ssh_settings.DEVICE_SCHEMA`), checked here too for
        # targets built in code (ad-hoc ones); what follows is what a schema cannot say.
        problem = device_problem(self._entry())
        if problem is not None:
            raise SshConfigError(f"{where}: {problem}")
        _check_token(where, "host", self.host)
        _check_token(where, "username", self.username)
        if not self.auth:
            has_keys = bool(self.key_files) or self.use_agent
            default = AUTH_METHODS if has_keys else AUTH_METHODS[1:]
            object.__setattr__(self, "auth", default)  # frozen: fill the default once, here
        if "publickey" in self.auth and not self.key_files and not self.use_agent:
            raise SshConfigError(
                f"{where}: 'auth' allows publickey but no 'key_files' are set and 'use_agent' "
                "is off; "
                "add a key file, turn on use_agent, or drop publickey from 'auth'"
            )
        for path in (self.known_hosts, *self.key_files):
            if not path.is_absolute():
                raise SshConfigError(f"{where}: paths must be absolute, got {str(path)!r}")
        if isinstance(self.jump, SshTarget):
            chain: SshTarget | str | None = self.jump
            depth = 0
            while isinstance(chain, SshTarget):
                depth += 1
                if depth > MAX_JUMP_DEPTH:
                    raise SshConfigError(
                        f"{where}: more than {MAX_JUMP_DEPTH} jump hosts in a chain"
                    )
                chain = chain.jump

    def _entry(self) -> dict[str, object]:
        """This target as a settings entry, for the schema (a resolved jump as its name)."""
        entry: dict[str, object] = {
            "host": self.host,
            "username": self.username,
            "port": self.port,
            "key_files": [str(p) for p in self.key_files],
            "use_agent": self.use_agent,
            "known_hosts": str(self.known_hosts),
            "connect_timeout": self.connect_timeout,
            "keepalive_interval": self.keepalive_interval,
            "keepalive_count_max": self.keepalive_count_max,
        }
        if self.auth:
            entry["auth"] = list(self.auth)
        if not isinstance(self.jump, SshTarget):
            entry["jump"] = self.jump
        return entry

    @classmethod
    def from_config(
        cls, name: str, config: Mapping[str, object], *, default_known_hosts: Path | None = None
    ) -> SshTarget:
        """Build a target from one device entry of the server configuration.

        Args:
            name: the device's name (the key under which it is configured).
            config: keys `host`, `username` (required), `port`, `auth` (list of "publickey",
                "keyboard-interactive", "password"), `key_files` (list of paths), `use_agent`,
                `known_hosts`, `jump` (a device name, or an inline entry), `connect_timeout`,
                `keepalive_interval`, `keepalive_count_max`.
            default_known_hosts: used when the entry names no `known_hosts` file.

        Raises:
            SshConfigError: the entry is invalid; the message says what to change.
        """
        where = f"device {name!r}"
        entry = normalize(config) if isinstance(config, Mapping) else config
        problem = device_problem(entry)
        if problem is not None:
            raise SshConfigError(f"{where}: {problem}")
        assert isinstance(entry, dict)  # the schema says so

        known_hosts_value = entry.get("known_hosts")
        if known_hosts_value is None:
            if default_known_hosts is None:
                raise SshConfigError(
                    f"{where}: set 'known_hosts' to the path of a known_hosts file the server owns"
                )
            known_hosts = default_known_hosts
        else:
            known_hosts = _path(where, "known_hosts", known_hosts_value)
        key_files = tuple(
            _path(where, "key_files", p) for p in cast(list[str], entry.get("key_files", []))
        )
        jump_value = entry.get("jump")
        jump: SshTarget | str | None
        if isinstance(jump_value, Mapping):
            jump = cls.from_config(
                f"{name}/jump",
                cast(Mapping[str, object], jump_value),
                default_known_hosts=known_hosts,
            )
        else:
            jump = cast(str | None, jump_value) or None
        return cls(
            name=name,
            host=cast(str, entry["host"]),
            username=cast(str, entry["username"]),
            known_hosts=known_hosts,
            port=cast(int, entry.get("port", 22)),
            auth=tuple(cast(list[AuthMethod], entry.get("auth", []))),
            key_files=key_files,
            use_agent=cast(bool, entry.get("use_agent", False)),
            jump=jump,
            connect_timeout=cast(float, entry.get("connect_timeout", DEFAULT_CONNECT_TIMEOUT_S)),
            keepalive_interval=cast(
                float, entry.get("keepalive_interval", DEFAULT_KEEPALIVE_INTERVAL_S)
            ),
            keepalive_count_max=cast(
                int, entry.get("keepalive_count_max", DEFAULT_KEEPALIVE_COUNT_MAX)
            ),
        )


def load_targets(
    devices: Mapping[str, Mapping[str, object]], *, default_known_hosts: Path | None = None
) -> dict[str, SshTarget]:
    """Build every configured device and resolve `jump` names to their targets.

    Raises:
        SshConfigError: an entry is invalid, a jump names no configured device, or jumps loop.
    """
    raw = {
        name: SshTarget.from_config(name, entry, default_known_hosts=default_known_hosts)
        for name, entry in devices.items()
    }
    resolved: dict[str, SshTarget] = {}

    def resolve(name: str, trail: tuple[str, ...]) -> SshTarget:
        if name in resolved:
            return resolved[name]
        if name in trail:
            raise SshConfigError(f"jump hosts form a loop: {' -> '.join((*trail, name))}")
        target = raw[name]
        jump = target.jump
        if isinstance(jump, str):
            if jump not in raw:
                raise SshConfigError(
                    f"device {name!r}: 'jump' names {jump!r}, which is not a configured device"
                )
            jump = resolve(jump, (*trail, name))
        new = dataclasses.replace(target, jump=jump)
        resolved[name] = new
        return new

    for name in raw:
        resolve(name, ())
    return resolved


def _check_token(where: str, name: str, value: object) -> None:
    if not isinstance(value, str) or not value:
        raise SshConfigError(f"{where}: {name!r} must be a non-empty string, got {value!r}")
    if value.startswith("-") or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise SshConfigError(
            f"{where}: {name!r} must not start with '-' or contain spaces or control characters"
        )


def _path(where: str, name: str, value: object) -> Path:
    if not isinstance(value, (str, os.PathLike)) or not str(value):
        raise SshConfigError(f"{where}: {name!r} must be a path, got {value!r}")
    path = Path(value).expanduser()
    if not path.is_absolute():
        raise SshConfigError(f"{where}: {name!r} must be an absolute path, got {str(value)!r}")
    return path


# --------------------------------------------------------------------------- prompts


@dataclass(frozen=True)
class PromptField:
    """One question a prompt asks; `echo` False means the answer is secret (mask it in the UI)."""

    text: str
    echo: bool


@dataclass(frozen=True)
class PromptRequest:
    """Something only a person can answer during authentication.

    `kind` is "password", "keyboard-interactive" (the device's own questions, e.g. an OTP) or
    "passphrase" (to unlock a key file). `attempt` counts password tries (2 = the first was
    refused). The callback returns one answer per field, or an empty list to decline (the next
    auth method is tried).
    """

    kind: Literal["password", "keyboard-interactive", "passphrase"]
    target: str
    username: str
    host: str
    port: int
    prompts: tuple[PromptField, ...]
    name: str = ""
    instructions: str = ""
    attempt: int = 1


PromptCallback = Callable[[PromptRequest], Awaitable[list[str]]]


# --------------------------------------------------------------------------- one hop's connection


class _Progress:
    """The connect deadline, stretched by the time a person spends answering prompts."""

    def __init__(self, timeout: float) -> None:
        self._loop = asyncio.get_running_loop()
        self.deadline = self._loop.time() + timeout
        self.prompting = 0

    def prompt_started(self) -> float:
        self.prompting += 1
        return self._loop.time()

    def prompt_ended(self, started: float) -> None:
        self.prompting -= 1
        self.deadline += self._loop.time() - started


class _Hop:
    """Everything about connecting to one host of the chain, shared with its `_Client`."""

    def __init__(
        self,
        target: SshTarget,
        known_hosts: asyncssh.SSHKnownHosts,
        prompt: PromptCallback | None,
        confirmed_fingerprint: str | None,
        progress: _Progress,
        prompt_timeout: float,
    ) -> None:
        self.target = target
        self.known_hosts = known_hosts
        self.prompt = prompt
        self.confirmed_fingerprint = confirmed_fingerprint
        self.progress = progress
        self.prompt_timeout = prompt_timeout
        # Set by the host-key check, read by the error mapping.
        self.presented_key: asyncssh.SSHKey | None = None
        self.host_was_known = False
        self.accepted_key: asyncssh.SSHKey | None = None
        self.auth_notes: list[str] = []
        self.agent: asyncssh.SSHAgentClient | None = None

    def is_known(self, addr: str = "") -> bool:
        port = None if self.target.port == 22 else self.target.port
        match = self.known_hosts.match(self.target.host, addr, port)
        return bool(match[0] or match[1])

    async def ask(self, request: PromptRequest) -> list[str] | None:
        """Ask the owner through the caller's callback; never logs or keeps the answers."""
        if self.prompt is None:
            self.auth_notes.append(
                f"{request.kind} needed but nobody can answer prompts for this session"
            )
            return None
        started = self.progress.prompt_started()
        try:
            answers = await asyncio.wait_for(self.prompt(request), self.prompt_timeout)
        except asyncio.TimeoutError:
            self.auth_notes.append(
                f"no answer to the {request.kind} prompt within {self.prompt_timeout:g} s"
            )
            return None
        except Exception as exc:  # the UI side declined or failed: fall through to the next method
            logger.info(
                "ssh %s: %s prompt not answered: %s",
                self.target.name,
                request.kind,
                type(exc).__name__,
            )
            self.auth_notes.append(f"the {request.kind} prompt was not answered")
            return None
        finally:
            self.progress.prompt_ended(started)
        if not answers:
            self.auth_notes.append(f"the {request.kind} prompt was declined")
            return None
        if len(answers) != len(request.prompts) or not all(isinstance(a, str) for a in answers):
            self.auth_notes.append(
                f"the {request.kind} prompt got {len(answers)} answer(s) "
                f"for {len(request.prompts)} question(s)"
            )
            return None
        return list(answers)

    def request(
        self,
        kind: Literal["password", "keyboard-interactive", "passphrase"],
        prompts: Sequence[tuple[str, bool]],
        name: str = "",
        instructions: str = "",
        attempt: int = 1,
    ) -> PromptRequest:
        t = self.target
        return PromptRequest(
            kind=kind,
            target=t.name,
            username=t.username,
            host=t.host,
            port=t.port,
            prompts=tuple(PromptField(text, echo) for text, echo in prompts),
            name=name,
            instructions=instructions,
            attempt=attempt,
        )

    def pin_accepted_key(self) -> None:
        """Append the key the owner confirmed to the server's known_hosts file (0600)."""
        key = self.accepted_key
        if key is None:
            return
        self.accepted_key = None
        t = self.target
        pattern = t.host if t.port == 22 else f"[{t.host}]:{t.port}"
        key_text = key.export_public_key("openssh").decode("ascii").split()
        line = f"{pattern} {key_text[0]} {key_text[1]}\n"
        _ensure_known_hosts(t.known_hosts)
        fd = os.open(t.known_hosts, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, line.encode("ascii"))
        finally:
            os.close(fd)
        logger.info(
            "ssh %s: pinned host key %s for %s in %s",
            t.name,
            key.get_fingerprint("sha256"),
            pattern,
            t.known_hosts,
        )


class _Client(asyncssh.SSHClient):
    """asyncssh's callbacks for one hop: host-key decision and interactive authentication."""

    def __init__(self, hop: _Hop) -> None:
        self._hop = hop
        self._key_files = list(hop.target.key_files)
        self._agent_keys: list[asyncssh.SSHKeyPair] | None = None
        self._password_attempts = 0
        self._kbdint_rounds = 0

    def validate_host_public_key(
        self, host: str, addr: str, port: int, key: asyncssh.SSHKey
    ) -> bool:
        # asyncssh calls this during key exchange, before the ssh-userauth service is even
        # requested, and only for a key that known_hosts does not already trust.
        hop = self._hop
        hop.presented_key = key
        hop.host_was_known = hop.is_known(addr)
        if hop.host_was_known:
            return False
        confirmed = hop.confirmed_fingerprint
        fingerprint = key.get_fingerprint("sha256")
        if confirmed and hmac.compare_digest(confirmed.encode(), fingerprint.encode()):
            hop.accepted_key = key
            return True
        return False

    async def public_key_auth_requested(self) -> asyncssh.SSHKey | asyncssh.SSHKeyPair | None:
        hop = self._hop
        while self._key_files:
            path = self._key_files.pop(0)
            key = await self._load_key(path)
            if key is not None:
                return key
        if hop.target.use_agent:
            if self._agent_keys is None:
                self._agent_keys = await self._agent_identities()
            if self._agent_keys:
                return self._agent_keys.pop(0)
        return None

    async def _load_key(self, path: Path) -> asyncssh.SSHKey | None:
        hop = self._hop
        try:
            return asyncssh.read_private_key(path)
        except asyncssh.KeyImportError as exc:
            # asyncssh has no distinct type for "this key is encrypted"; only its message says so.
            if "Passphrase must be specified" not in str(exc):
                hop.auth_notes.append(f"key file {path} is unusable: {exc}")
                return None
        except (OSError, asyncssh.KeyEncryptionError) as exc:
            hop.auth_notes.append(f"key file {path} is unusable: {_os_reason(exc)}")
            return None
        answers = await hop.ask(
            hop.request("passphrase", [(f"Passphrase for {path.name}:", False)])
        )
        if answers is None:
            return None
        try:
            return asyncssh.read_private_key(path, answers[0])
        except asyncssh.KeyEncryptionError as exc:
            hop.auth_notes.append(f"key file {path} could not be decrypted: {exc}")
            return None
        except (OSError, asyncssh.KeyImportError) as exc:
            hop.auth_notes.append(f"key file {path} is unusable: {_os_reason(exc)}")
            return None
        finally:
            del answers

    async def _agent_identities(self) -> list[asyncssh.SSHKeyPair]:
        hop = self._hop
        if not os.environ.get("SSH_AUTH_SOCK"):
            hop.auth_notes.append("use_agent is on but SSH_AUTH_SOCK is not set for the server")
            return []
        try:
            hop.agent = await asyncssh.connect_agent()
            return list(await hop.agent.get_keys())
        except (OSError, asyncssh.Error, ValueError) as exc:
            hop.auth_notes.append(f"the SSH agent could not be used: {_os_reason(exc)}")
            return []

    async def password_auth_requested(self) -> str | None:
        hop = self._hop
        if self._password_attempts >= MAX_PASSWORD_ATTEMPTS:
            return None
        self._password_attempts += 1
        t = hop.target
        answers = await hop.ask(
            hop.request(
                "password",
                [(f"Password for {t.username}@{t.host}:", False)],
                attempt=self._password_attempts,
            )
        )
        return None if answers is None else answers[0]

    def kbdint_auth_requested(self) -> str | None:
        return "" if self._hop.prompt is not None else None  # "" lets the device pick its submethod

    async def kbdint_challenge_received(
        self, name: str, instructions: str, lang: str, prompts: Sequence[tuple[str, bool]]
    ) -> list[str] | None:
        if not prompts:
            return []  # an informational round: devices use it to show a banner
        self._kbdint_rounds += 1
        if self._kbdint_rounds > MAX_KBDINT_ROUNDS:
            return None
        hop = self._hop
        return await hop.ask(hop.request("keyboard-interactive", prompts, name, instructions))


def _ensure_known_hosts(path: Path) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))


def _read_known_hosts(target: SshTarget) -> asyncssh.SSHKnownHosts:
    path = target.known_hosts
    try:
        _ensure_known_hosts(path)
        mode = path.stat().st_mode
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SshError(
            f"cannot use known_hosts file {path} for {target.name!r}: {_os_reason(exc)}"
        ) from None
    if mode & (stat.S_IWGRP | stat.S_IWOTH):
        # Anyone who can write it could make the server trust their machine.
        raise SshError(f"known_hosts file {path} is writable by other users; run: chmod 600 {path}")
    try:
        return asyncssh.import_known_hosts(text)
    except ValueError as exc:
        raise SshError(f"known_hosts file {path} cannot be parsed: {exc}") from None


def _os_reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


# --------------------------------------------------------------------------- the one error map


def _map_error(exc: BaseException, hop: _Hop | None) -> SshError:
    """Translate any asyncssh/OS failure into an `SshError` with a plain message. The only place."""
    if isinstance(exc, SshError):
        return exc
    if hop is None:
        return SshError(f"SSH failed: {exc}")
    t = hop.target
    where = f"{t.host}:{t.port}" + ("" if t.name == t.host else f" ({t.name})")
    if isinstance(exc, asyncssh.HostKeyNotVerifiable) or (
        isinstance(exc, asyncssh.KeyExchangeFailed) and "host key" in exc.reason and hop.is_known()
    ):
        key = hop.presented_key
        fingerprint = key.get_fingerprint("sha256") if key is not None else ""
        if hop.host_was_known or isinstance(exc, asyncssh.KeyExchangeFailed):
            offered = (
                f" It now offers {fingerprint}."
                if fingerprint
                else " It no longer offers a key of the pinned type."
            )
            return HostKeyChanged(
                f"The host key of {where} has CHANGED since it was pinned in {t.known_hosts}."
                f"{offered} "
                "This can mean someone is intercepting the connection, or the device was replaced. "
                "Verify with the device's administrator; only after that, remove the old entry "
                "from the known_hosts file and connect again.",
                target=t.name,
                host=t.host,
                port=t.port,
                fingerprint=fingerprint,
            )
        if key is not None:
            detail = (
                "the confirmed fingerprint does not match it"
                if hop.confirmed_fingerprint
                else "confirm the fingerprint to trust it"
            )
            return UnknownHostKey(
                f"{where} is not a known host; it presented the {key.get_algorithm()} key "
                f"{fingerprint} ({detail}).",
                target=t.name,
                host=t.host,
                port=t.port,
                fingerprint=fingerprint,
            )
        return HostKeyError(
            f"the host key of {where} could not be verified: {exc.reason}",
            target=t.name,
            host=t.host,
            port=t.port,
        )
    if isinstance(exc, asyncssh.PermissionDenied):
        notes = "; ".join(dict.fromkeys(hop.auth_notes))
        return SshAuthFailed(
            f"authentication to {where} as {t.username!r} failed (tried {', '.join(t.auth)})"
            + (f": {notes}" if notes else "")
        )
    if isinstance(exc, asyncssh.ConnectionLost):
        if "keepalive" in exc.reason:
            return SshConnectionLost(
                f"connection lost: {where} stopped answering keepalives "
                "(the link or the device is down)"
            )
        return SshConnectionLost(f"connection lost: the connection to {where} was cut")
    if isinstance(exc, asyncssh.ChannelOpenError):
        return SshError(f"{where} refused to open an interactive shell: {exc.reason}")
    if isinstance(exc, asyncssh.DisconnectError):
        return SshConnectionLost(f"the device closed the connection: {exc.reason}")
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        return SshTimeout(
            f"{where} did not complete the SSH handshake within {t.connect_timeout:g} s"
        )
    if isinstance(exc, socket.gaierror):
        return SshHostUnreachable(f"cannot resolve the host name {t.host!r}: {exc.strerror}")
    if isinstance(exc, ConnectionRefusedError):
        return SshConnectionRefused(
            f"connection refused by {where}: is SSH running on port {t.port}?"
        )
    if isinstance(exc, (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)):
        return SshConnectionLost(f"connection lost: {where} reset the connection")
    if isinstance(exc, OSError):
        return SshHostUnreachable(f"cannot reach {where}: {_os_reason(exc)}")
    if isinstance(exc, asyncssh.Error):
        return SshError(f"SSH to {where} failed: {exc.reason}")
    return SshError(f"SSH to {where} failed: {type(exc).__name__}")


# --------------------------------------------------------------------------- the transport


class _ShellSession(asyncssh.SSHClientSession[bytes]):
    """Forwards asyncssh's channel callbacks to the transport."""

    def __init__(self, transport: SshTransport) -> None:
        self._transport = transport

    def data_received(self, data: bytes, datatype: asyncssh.DataType) -> None:
        self._transport._on_data(data)

    def exit_status_received(self, status: int) -> None:
        self._transport._exit_detail = f"exit status {status}" if status else ""

    def exit_signal_received(self, signal: str, core_dumped: bool, msg: str, lang: str) -> None:
        self._transport._exit_detail = f"the shell was killed by signal {signal}"

    def pause_writing(self) -> None:
        self._transport._paused = True

    def resume_writing(self) -> None:
        self._transport._paused = False
        self._transport._flush()

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport._on_session_lost(exc)


class SshTransport(Transport):
    """An interactive shell with a PTY on an SSH device.

    Host keys are always verified against `target.known_hosts`, before any credential is sent.
    Credentials come only from the target's key files, the SSH agent (if `use_agent`), and
    answers to `prompt`; none is kept after authentication, logged, or sent as environment.

    Args:
        target: the device (its `jump` chain resolved).
        rows, cols: the initial terminal size.
        prompt: asks the session owner for passwords, keyboard-interactive answers and key
            passphrases; without it only keys and the agent can be used.
        confirmed_fingerprint: a "SHA256:..." fingerprint the owner confirmed after an
            `UnknownHostKey`; a host (target or jump) presenting exactly that key is trusted
            and pinned. It never overrides a changed key.
        prompt_timeout: seconds a person has to answer one prompt.
        input_queue_bytes: the most input that may wait for the device.
    """

    kind = "ssh"

    def __init__(
        self,
        target: SshTarget,
        *,
        rows: int = 24,
        cols: int = 80,
        prompt: PromptCallback | None = None,
        confirmed_fingerprint: str | None = None,
        prompt_timeout: float = DEFAULT_PROMPT_TIMEOUT_S,
        input_queue_bytes: int = INPUT_QUEUE_BYTES,
    ) -> None:
        self._target = target
        self._rows = rows
        self._cols = cols
        self._prompt = prompt
        self._confirmed_fingerprint = confirmed_fingerprint
        self._prompt_timeout = prompt_timeout
        self._input_limit = input_queue_bytes
        self._state: Literal["new", "starting", "open", "ended"] = "new"
        self._sink: TransportSink | None = None
        self._conns: list[asyncssh.SSHClientConnection] = []  # jump hosts first, device last
        self._chan: asyncssh.SSHClientChannel[bytes] | None = None
        self._hop: _Hop | None = None  # for mapping errors to the host they concern
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._queue: collections.deque[bytes] = collections.deque()
        self._queued_bytes = 0
        self._paused = False
        self._exit_detail = ""
        self._exit_fired = False
        self._closing = asyncio.Event()
        self._start_done = asyncio.Event()
        self._progress: _Progress | None = None

    @property
    def target(self) -> SshTarget:
        return self._target

    @property
    def size(self) -> tuple[int, int]:
        return (self._rows, self._cols)

    async def start(self, sink: TransportSink) -> None:
        """Connect (through any jump hosts), authenticate and open the shell.

        Raises:
            UnknownHostKey: a host is not in known_hosts and its fingerprint was not confirmed.
            HostKeyChanged: a host presents a key other than the pinned one.
            SshAuthFailed, SshConnectionRefused, SshHostUnreachable, SshTimeout, SshKeyFileError,
            SshError: the session could not be opened. The transport is then finished:
            `on_exit` is not called, and `close()` is a no-op.
        """
        if self._state == "ended":
            raise TransportClosed("this SSH transport was closed; create a new one")
        if self._state != "new":
            raise TransportError("this SSH transport was already started; create a new one")
        self._state = "starting"
        self._sink = sink
        try:
            await self._with_deadline(self._open())
            if self._closing.is_set():
                raise TransportClosed("the SSH session was closed while connecting")
        except BaseException:
            self._state = "ended"
            self._exit_fired = True  # start() reported the failure; there is no session to end
            await self._release()
            raise
        finally:
            self._start_done.set()
        if self._state == "starting":
            self._state = "open"
            self._flush()

    async def _with_deadline(self, work: Awaitable[None]) -> None:
        """Run the connect steps, abandoning them on timeout or close(); prompts stop the clock."""
        loop = asyncio.get_running_loop()
        progress = self._progress = _Progress(self._target.connect_timeout)
        task = asyncio.ensure_future(work)
        closing = asyncio.ensure_future(self._closing.wait())
        try:
            while True:
                remaining = (
                    self._target.connect_timeout
                    if progress.prompting
                    else progress.deadline - loop.time()
                )
                if remaining > 0:
                    done, _ = await asyncio.wait(
                        {task, closing}, timeout=remaining, return_when=asyncio.FIRST_COMPLETED
                    )
                    if task in done:
                        return task.result()
                    if closing not in done:
                        continue
                    raise TransportClosed("the SSH session was closed while connecting")
                hop = self._hop
                raise _map_error(asyncio.TimeoutError(), hop)
        finally:
            for pending in (task, closing):
                if not pending.done():
                    pending.cancel()
            await asyncio.gather(task, closing, return_exceptions=True)

    async def _open(self) -> None:
        chain: list[SshTarget] = []
        node: SshTarget | str | None = self._target
        while isinstance(node, SshTarget):
            chain.insert(0, node)
            node = node.jump
        if isinstance(node, str):
            raise SshError(
                f"device {chain[0].name!r}: jump host {node!r} was not resolved; "
                "build targets with load_targets()"
            )
        tunnel: asyncssh.SSHClientConnection | None = None
        for target in chain:
            tunnel = await self._connect_hop(target, tunnel)
        assert tunnel is not None
        hop = self._hop
        try:
            chan, _ = await tunnel.create_session(
                lambda: _ShellSession(self),
                term_type=TERM_TYPE,
                term_size=(self._cols, self._rows),
                request_pty="force",
                env=None,
                send_env=None,
                x11_forwarding=False,
                encoding=None,
            )
        except (OSError, asyncssh.Error) as exc:
            raise _map_error(exc, hop) from None
        self._chan = chan

    async def _connect_hop(
        self, target: SshTarget, tunnel: asyncssh.SSHClientConnection | None
    ) -> asyncssh.SSHClientConnection:
        for path in target.key_files:
            if not os.access(path, os.R_OK):
                raise SshKeyFileError(
                    f"key file {path} for {target.name!r} cannot be read (missing or no permission)"
                )
        assert self._progress is not None
        hop = _Hop(
            target,
            _read_known_hosts(target),
            self._prompt,
            self._confirmed_fingerprint,
            self._progress,
            self._prompt_timeout,
        )
        self._hop = hop  # the hop being connected; at the end, the device's own
        methods = list(target.auth)
        try:
            conn = await asyncssh.connect(
                target.host,
                target.port,
                tunnel=tunnel if tunnel is not None else (),
                config=None,  # never pick up ~/.ssh/config of the server's account
                options=None,
                username=target.username,
                client_factory=lambda: _Client(hop),
                known_hosts=hop.known_hosts,
                preferred_auth=methods,
                public_key_auth="publickey" in methods,
                kbdint_auth="keyboard-interactive" in methods,
                password_auth="password" in methods,
                host_based_auth=False,
                gss_host=None,
                gss_auth=False,
                gss_kex=False,
                client_keys=None,  # keys are handed over one at a time by _Client
                agent_path=None,
                agent_forwarding=False,
                x11_forwarding=False,
                connect_timeout=None,  # _with_deadline owns the clock (prompts must not count)
                keepalive_interval=target.keepalive_interval,
                keepalive_count_max=target.keepalive_count_max,
            )
        except asyncssh.PermissionDenied as exc:
            hop.pin_accepted_key()  # the owner confirmed it and key exchange proved it
            raise _map_error(exc, hop) from None
        except (OSError, asyncssh.Error, asyncio.TimeoutError) as exc:
            raise _map_error(exc, hop) from None
        finally:
            if hop.agent is not None:
                hop.agent.close()
                await hop.agent.wait_closed()
                hop.agent = None
        self._conns.append(conn)
        hop.pin_accepted_key()
        logger.info(
            "ssh %s: connected to %s@%s:%d", target.name, target.username, target.host, target.port
        )
        return conn

    def write(self, data: str) -> None:
        """Queue `data` for the device.

        Raises:
            TransportClosed: the session has ended.
            TransportError: the session is not open yet, or the input queue is full.
        """
        if self._state == "ended":
            raise TransportClosed("the SSH session has ended")
        if self._state == "new":
            raise TransportError("the SSH session is not started yet")
        payload = data.encode("utf-8", errors="replace")
        if self._queued_bytes + len(payload) > self._input_limit:
            raise TransportError(
                f"the device is not accepting input; over {self._input_limit} bytes "
                "are already waiting"
            )
        if payload:
            self._queue.append(payload)
            self._queued_bytes += len(payload)
            self._flush()

    def _flush(self) -> None:
        # Hand data to asyncssh only while its send buffer is under its high-water mark, so the
        # bounded queue above is where backpressure shows.
        chan = self._chan
        while self._queue and chan is not None and not self._paused and self._state == "open":
            chunk = self._queue.popleft()
            self._queued_bytes -= len(chunk)
            chan.write(chunk)

    def resize(self, rows: int, cols: int) -> None:
        """Set the PTY size; ignored once the session has ended."""
        self._rows, self._cols = rows, cols
        if self._chan is not None and self._state in ("starting", "open"):
            self._chan.change_terminal_size(cols, rows)

    def _on_data(self, data: bytes) -> None:
        text = self._decoder.decode(data)
        if text:
            self._emit(text)

    def _emit(self, text: str) -> None:
        if self._sink is None:
            return
        try:
            self._sink.on_output(text)
        except Exception:  # a broken consumer must not tear down asyncssh's channel
            logger.exception("ssh %s: output sink failed", self._target.name)

    def _on_session_lost(self, exc: Exception | None) -> None:
        if exc is None:
            detail = self._exit_detail
            reason = "the device closed the session" + (f" ({detail})" if detail else "")
        else:
            reason = str(_map_error(exc, self._hop))
        self._end(reason)
        for conn in reversed(self._conns):
            conn.close()

    def _end(self, reason: str) -> None:
        """Mark the session gone and fire `on_exit` exactly once, after any buffered output."""
        self._state = "ended"
        self._queue.clear()
        self._queued_bytes = 0
        if self._exit_fired:
            return
        self._exit_fired = True
        sink = self._sink
        if sink is None:
            return
        tail = self._decoder.decode(b"", final=True)
        if tail:
            self._emit(tail)
        logger.info("ssh %s: session ended: %s", self._target.name, reason)
        try:
            sink.on_exit(reason)
        except Exception:
            logger.exception("ssh %s: exit sink failed", self._target.name)

    async def close(self) -> None:
        """End the session (if still open) and release every connection; idempotent."""
        self._closing.set()
        if self._state == "starting":
            # start() notices `_closing`, cleans up and raises TransportClosed to its caller.
            await self._start_done.wait()
        self._end("the session was closed")
        await self._release()

    async def _release(self) -> None:
        chan, self._chan = self._chan, None
        if chan is not None:
            chan.close()
        conns, self._conns = self._conns, []
        for conn in reversed(conns):
            conn.close()
        for conn in reversed(conns):
            try:
                await asyncio.wait_for(conn.wait_closed(), CLOSE_TIMEOUT_S)
            except asyncio.TimeoutError:
                conn.abort()
