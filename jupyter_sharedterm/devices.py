"""SSH device sessions: the configured inventory, and the owner's login before a session exists.

A device session starts with a *login* that belongs to the person who asked for it. Connecting
may need that person twice: to confirm the SHA256 fingerprint of a host key the server has never
seen (it is then pinned), and to answer password or keyboard-interactive prompts. Each time the
login pauses, the caller gets a step to show (`Pending`); the person continues it with a reply,
and once the device's shell is open the login becomes a live shared session (`Created`).

Policies, and why:
- A login is visible only to its owner; anyone else gets the "no such login" answer, as for an
  id that never existed.
- It waits for its owner at most `LOGIN_WAIT_SECONDS` per step, then the connection is dropped:
  an SSH server holds a half-authenticated connection only for a while (OpenSSH: 120 s).
- Answers are handed to the connection and dropped: a login never keeps them, and they reach no
  log, audit event, recording or terminal stream (prompts are answered out of band).
- A changed host key ends the login; nothing a person sends can make the server accept it.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import os
import stat
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal, NewType

from .core.errors import DomainError, ErrorCode
from .core.ids import new_id
from .core.names import clean_text
from .live import LiveSession
from .manager import SessionManager
from .protocol import ConfirmFingerprint, CreateSession, LoginReply
from .transports.base import Transport, TransportClosed, TransportError, TransportSink
from .transports.ssh import (
    HostKeyChanged,
    PromptRequest,
    SshAuthFailed,
    SshConfigError,
    SshError,
    SshTarget,
    SshTransport,
    UnknownHostKey,
    load_targets,
)
from .transports.ssh_settings import devices_problem

__all__ = [
    "LOGIN_WAIT_SECONDS",
    "MAX_LOGINS_PER_USER",
    "Created",
    "DeviceInventory",
    "DeviceSessions",
    "LoginId",
    "Outcome",
    "Pending",
    "PreparedTransport",
]

log = logging.getLogger(__name__)

LoginId = NewType("LoginId", str)

LOGIN_WAIT_SECONDS: Final = 180.0  # a person reads a fingerprint or types a password meanwhile
MAX_LOGINS_PER_USER: Final = 3  # logins waiting at once; more is a script, not a person
MAX_LOGINS: Final = 100  # on the whole server
# Beyond a device's own connect timeout, how long one step may take before it is given up (the
# transport enforces the timeout itself; this only guards against it ever failing to).
STEP_GRACE_SECONDS: Final = 15.0
EARLY_OUTPUT_CHARS: Final = 1 << 20  # output held between "connected" and "session started"
MAX_PROMPT_TEXT: Final = 1000  # characters of a device's prompt, name or instructions shown


# --------------------------------------------------------------------------- inventory


class DeviceInventory:
    """The devices an administrator configured, and whether other SSH targets are allowed.

    Built once at startup; `from_config` refuses a bad configuration with a message that names
    the setting to fix.
    """

    def __init__(
        self, targets: Mapping[str, SshTarget], *, allow_adhoc: bool, known_hosts: Path
    ) -> None:
        self.targets = dict(targets)
        self.allow_adhoc = allow_adhoc
        self.known_hosts = known_hosts

    @classmethod
    def from_config(
        cls, devices: Mapping[str, Any], *, allow_adhoc: bool, known_hosts: Path
    ) -> DeviceInventory:
        """Validate `c.SharedTermApp.devices` and prepare the server's known_hosts file.

        Args:
            devices: device name -> settings (see `SshTarget.from_config`).
            allow_adhoc: whether sessions may name a host that is not configured.
            known_hosts: the server's own known_hosts file, used by every device that sets none;
                created 0600 (its folder 0700) if missing.

        Raises:
            SshConfigError: the configuration is invalid; the message says what to change.
        """
        where = "c.SharedTermApp.devices"
        problem = devices_problem(devices)
        if problem is not None:
            raise SshConfigError(f"{where}: {problem}")
        if not known_hosts.is_absolute():
            raise SshConfigError(
                "c.SharedTermApp.ssh_known_hosts must be an absolute path, "
                f"got {str(known_hosts)!r}"
            )
        try:
            targets = load_targets(devices, default_known_hosts=known_hosts)
        except SshConfigError as e:
            raise SshConfigError(f"{where}: {e}") from None
        _create_private_file(known_hosts)
        _check_not_shared(known_hosts, "c.SharedTermApp.ssh_known_hosts")
        for name in sorted(targets):
            node: SshTarget | str | None = targets[name]
            while isinstance(node, SshTarget):
                if node.known_hosts != known_hosts:
                    _check_not_shared(node.known_hosts, f"{where}: device {name!r}")
                node = node.jump
        return cls(targets, allow_adhoc=allow_adhoc, known_hosts=known_hosts)

    def describe(self) -> dict[str, Any]:
        """What the "new device session" picker shows: names and addresses, never key paths."""
        return {
            "devices": [_describe(self.targets[name]) for name in sorted(self.targets)],
            "adhoc": self.allow_adhoc,
        }

    def target(self, request: CreateSession, identity: str) -> tuple[SshTarget, str]:
        """The target a create request names, and the session's title.

        Raises:
            DomainError: NOT_FOUND for an unknown device, FORBIDDEN for an ad-hoc target where
                they are not allowed, INVALID for an ad-hoc target that is not a valid one.
        """
        if request.device is not None:
            target = self.targets.get(request.device)
            if target is None:
                raise DomainError(
                    ErrorCode.NOT_FOUND, f"No device named {request.device!r} is configured."
                )
            return target, request.device
        if not self.allow_adhoc:
            raise DomainError(
                ErrorCode.FORBIDDEN,
                "This server connects only to configured devices: pick one from the list "
                "(an administrator can allow other hosts with c.SharedTermApp.allow_adhoc_ssh).",
            )
        assert request.host is not None and request.username is not None
        title = f"{request.username}@{request.host}" + (
            "" if request.port == 22 else f":{request.port}"
        )
        try:
            target = SshTarget(
                name=title,
                host=request.host,
                port=request.port,
                username=request.username,
                known_hosts=self.adhoc_known_hosts(identity),
                # Never the server's own keys or agent: they are for the configured devices.
                auth=("keyboard-interactive", "password"),
            )
        except SshConfigError as e:
            raise DomainError(ErrorCode.INVALID, str(e)) from None
        return target, title

    def adhoc_known_hosts(self, identity: str) -> Path:
        """Each person's own known_hosts for ad-hoc hosts.

        A fingerprint someone confirms for a host they typed in must never become trusted for
        the configured devices, or for other people.
        """
        digest = hashlib.sha256(identity.encode("utf-8")).hexdigest()[:32]
        return self.known_hosts.parent / "adhoc_known_hosts" / digest


def _describe(target: SshTarget) -> dict[str, Any]:
    jump = target.jump
    return {
        "name": target.name,
        "host": target.host,
        "port": target.port,
        "username": target.username,
        "auth": list(target.auth),
        "jump": jump.name if isinstance(jump, SshTarget) else jump,
    }


def _create_private_file(path: Path) -> None:
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        return
    except OSError as e:
        raise SshConfigError(
            f"cannot create the known_hosts file {path}: {e.strerror or e}; "
            "set c.SharedTermApp.ssh_known_hosts to a file the server may write"
        ) from None
    os.close(fd)


def _check_not_shared(path: Path, where: str) -> None:
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return  # a device's own file is created (0600) on its first connection
    except OSError as e:
        raise SshConfigError(
            f"{where}: cannot use the known_hosts file {path}: {e.strerror}"
        ) from None
    if mode & (stat.S_IWGRP | stat.S_IWOTH):
        # Anyone who can write it could make the server trust their machine.
        raise SshConfigError(
            f"{where}: the known_hosts file {path} is writable by other users; "
            f"run: chmod 600 {path}"
        )


# --------------------------------------------------------------------------- the terminal


class _Relay:
    """The sink of a connecting SSH transport: holds what the device says until a session
    takes the transport over, then passes everything on."""

    def __init__(self) -> None:
        self._sink: TransportSink | None = None
        self._held: list[str] = []
        self._held_chars = 0
        self._exit: str | None = None

    def on_output(self, text: str) -> None:
        if self._sink is not None:
            self._sink.on_output(text)
        elif self._held_chars + len(text) <= EARLY_OUTPUT_CHARS:
            self._held.append(text)
            self._held_chars += len(text)

    def on_exit(self, reason: str) -> None:
        if self._sink is not None:
            self._sink.on_exit(reason)
        elif self._exit is None:
            self._exit = reason

    def attach(self, sink: TransportSink) -> None:
        held, self._held, self._held_chars = self._held, [], 0
        for text in held:
            sink.on_output(text)
        self._sink = sink
        if self._exit is not None:
            # The link died before the session existed: end it once it is fully started.
            asyncio.get_running_loop().call_soon(sink.on_exit, self._exit)


class PreparedTransport(Transport):
    """An SSH shell that is already open, handed to a session as its terminal.

    `start` replays what the device printed since the login completed (its banner, the first
    prompt), so the session records and shows it, then passes everything on as it comes.
    """

    kind = "ssh"

    def __init__(self, inner: SshTransport, relay: _Relay) -> None:
        self._inner = inner
        self._relay = relay

    @property
    def target(self) -> SshTarget:
        return self._inner.target

    async def start(self, sink: TransportSink) -> None:
        self._relay.attach(sink)

    def write(self, data: str) -> None:
        self._inner.write(data)

    def resize(self, rows: int, cols: int) -> None:
        self._inner.resize(rows, cols)

    @property
    def size(self) -> tuple[int, int]:
        return self._inner.size

    async def close(self) -> None:
        await self._inner.close()


# --------------------------------------------------------------------------- the login flow


@dataclass(frozen=True)
class Created:
    """The device's shell is open and shared: the caller owns `live`."""

    live: LiveSession


@dataclass(frozen=True)
class Pending:
    """The login waits for its owner; `model` says for what (see docs/protocol.md)."""

    model: dict[str, Any]


Outcome = Created | Pending


class _Login:
    """One person's connection attempt to one target, between its steps."""

    def __init__(
        self,
        lid: LoginId,
        identity: str,
        name: str,
        target: SshTarget,
        title: str,
        request: CreateSession,
    ) -> None:
        self.id = lid
        self.identity = identity
        self.name = name
        self.target = target
        self.title = title
        self.request = request
        self.state: Literal["connecting", "host_key", "answers"] = "connecting"
        self.host_key: UnknownHostKey | None = None  # the key waiting for confirmation
        self.prompt: PromptRequest | None = None  # the questions waiting for answers
        self.answer: asyncio.Future[list[str]] | None = None
        self.transport: SshTransport | None = None
        self.relay: _Relay | None = None
        self.task: asyncio.Future[None] | None = None
        self.wake = asyncio.Event()
        self.busy = False  # a request is moving this login on
        self.expiry: asyncio.TimerHandle | None = None
        self.expires_at: float | None = None


class DeviceSessions:
    """Starts device sessions: logins in progress, keyed by id, each owned by one person.

    Args:
        inventory: the configured devices.
        manager: creates the live session once a device's shell is open.
        wait_seconds: how long a login waits for its owner at one step.
        max_per_user: logins one person may have waiting at once.
        clock: wall-clock time, for the `expires_at` shown to people.
    """

    def __init__(
        self,
        inventory: DeviceInventory,
        manager: SessionManager,
        *,
        wait_seconds: float = LOGIN_WAIT_SECONDS,
        max_per_user: int = MAX_LOGINS_PER_USER,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.inventory = inventory
        self._manager = manager
        self._wait_seconds = wait_seconds
        self._max_per_user = max_per_user
        self._clock = clock
        self._logins: dict[LoginId, _Login] = {}
        self._cleanups: set[asyncio.Future[None]] = set()

    # -- the public steps --------------------------------------------------------------------

    async def create(self, identity: str, name: str, request: CreateSession) -> Outcome:
        """Begin connecting to the target `request` names, as `identity` (who will own it).

        Returns `Created` when nobody had to be asked, else `Pending` with the login's step.

        Raises:
            DomainError: NOT_FOUND unknown device; FORBIDDEN ad-hoc not allowed or the device
                refused every credential; CONFLICT the host key changed; TOO_MANY too many
                sessions or logins; UNAVAILABLE the device cannot be reached.
        """
        target, title = self.inventory.target(request, identity)
        self._manager.check_can_create(identity)
        mine = sum(1 for login in self._logins.values() if login.identity == identity)
        if mine >= self._max_per_user:
            raise DomainError(
                ErrorCode.TOO_MANY,
                f"You already have {mine} device logins waiting: finish or cancel one first.",
            )
        if len(self._logins) >= MAX_LOGINS:
            raise DomainError(
                ErrorCode.TOO_MANY, "Too many device logins are in progress; try again shortly."
            )
        login = _Login(LoginId(new_id()), identity, name, target, title, request)
        self._logins[login.id] = login
        log.info("sharedterm: %s connects to %s (%s:%d)", identity, title, target.host, target.port)
        self._connect(login, confirmed=None)
        return await self._step(login)

    async def advance(self, identity: str, lid: str, reply: LoginReply) -> Outcome:
        """Continue a login with the owner's confirmation of a fingerprint, or their answers.

        Raises:
            DomainError: NOT_FOUND not a login of `identity`; INVALID the reply does not fit the
                step (the login waits on); TOO_MANY another request is moving it on; and every
                error of `create`.
        """
        login = self._find(identity, lid)
        if login.busy:
            raise DomainError(
                ErrorCode.TOO_MANY, "This login is already moving on: wait for that answer."
            )
        if login.task is not None and login.task.done():
            return await self._step(login)  # it ended while waiting (device hung up, say)
        if isinstance(reply, ConfirmFingerprint):
            key = login.host_key
            if login.state != "host_key" or key is None:
                raise DomainError(ErrorCode.INVALID, _not_waiting_for("a host key", login))
            if not hmac.compare_digest(reply.fingerprint.encode(), key.fingerprint.encode()):
                raise DomainError(
                    ErrorCode.INVALID,
                    "That is not the fingerprint the device presented; compare them again.",
                )
            log.info(
                "sharedterm: %s confirmed host key %s of %s:%d for %s",
                identity,
                key.fingerprint,
                key.host,
                key.port,
                login.title,
            )
            self._disarm(login)
            self._connect(login, confirmed=key.fingerprint)
        else:
            prompt, answer = login.prompt, login.answer
            if login.state != "answers" or prompt is None or answer is None:
                raise DomainError(ErrorCode.INVALID, _not_waiting_for("answers", login))
            if reply.answers and len(reply.answers) != len(prompt.prompts):
                raise DomainError(
                    ErrorCode.INVALID,
                    f"Send {len(prompt.prompts)} answer(s), one per prompt, or [] to decline.",
                )
            self._disarm(login)
            login.state, login.prompt, login.answer = "connecting", None, None
            if not answer.done():
                answer.set_result(list(reply.answers))
        return await self._step(login)

    def describe(self, identity: str, lid: str) -> dict[str, Any]:
        """The step a login of `identity` waits on. Raises DomainError NOT_FOUND."""
        return self._model(self._find(identity, lid))

    def logins_of(self, identity: str) -> list[dict[str, Any]]:
        return [self._model(x) for x in self._logins.values() if x.identity == identity]

    async def cancel(self, identity: str, lid: str) -> None:
        """Abandon a login of `identity`: its connection is closed. Raises NOT_FOUND."""
        login = self._find(identity, lid)
        log.info("sharedterm: %s cancelled the login to %s", identity, login.title)
        await self._drop(login)

    async def shutdown(self) -> None:
        """Close every login's connection (the server is stopping)."""
        await asyncio.gather(*(self._drop(x) for x in list(self._logins.values())))
        if self._cleanups:
            await asyncio.gather(*self._cleanups, return_exceptions=True)

    # -- internals ---------------------------------------------------------------------------

    def _find(self, identity: str, lid: str) -> _Login:
        login = self._logins.get(LoginId(lid))
        if login is None or not hmac.compare_digest(login.identity, identity):
            raise DomainError(ErrorCode.NOT_FOUND, "No such login (it may have expired).")
        return login

    def _connect(self, login: _Login, *, confirmed: str | None) -> None:
        async def ask(request: PromptRequest) -> list[str]:
            return await self._ask(login, request)

        relay = _Relay()
        transport = SshTransport(
            login.target,
            prompt=ask,
            confirmed_fingerprint=confirmed,
            # Ours runs out first and says why; the transport's own limit is only a backstop.
            prompt_timeout=self._wait_seconds + STEP_GRACE_SECONDS,
        )
        login.state, login.host_key, login.transport, login.relay = (
            "connecting",
            None,
            transport,
            relay,
        )
        task = asyncio.ensure_future(transport.start(relay))

        def done(task: asyncio.Future[None]) -> None:
            if not task.cancelled():
                task.exception()  # seen here; `_finish` reads it when the owner asks
            login.wake.set()

        task.add_done_callback(done)
        login.task = task

    async def _ask(self, login: _Login, request: PromptRequest) -> list[str]:
        """The transport's prompt callback: park the questions until the owner answers."""
        answer: asyncio.Future[list[str]] = asyncio.get_running_loop().create_future()
        login.state, login.prompt, login.answer = "answers", request, answer
        login.wake.set()
        try:
            return await answer
        finally:
            if login.answer is answer:
                login.state, login.prompt, login.answer = "connecting", None, None

    async def _step(self, login: _Login) -> Outcome:
        """Wait until the login needs its owner again, or is over; say which."""
        login.busy = True
        loop = asyncio.get_running_loop()
        give_up = loop.time() + login.target.connect_timeout + STEP_GRACE_SECONDS
        try:
            while True:
                login.wake.clear()
                if login.id not in self._logins:
                    raise DomainError(ErrorCode.GONE, "This login was cancelled or expired.")
                task = login.task
                if task is None or task.done():
                    break
                if login.state == "answers" and login.prompt is not None:
                    self._arm(login)
                    return Pending(self._model(login))
                remaining = give_up - loop.time()
                if remaining <= 0:
                    await self._drop(login)
                    raise DomainError(
                        ErrorCode.UNAVAILABLE, f"{login.title} did not answer in time."
                    )
                waiter = asyncio.ensure_future(login.wake.wait())
                try:
                    await asyncio.wait({waiter}, timeout=remaining)
                finally:
                    waiter.cancel()
        finally:
            login.busy = False
        return await self._finish(login, task)

    async def _finish(self, login: _Login, task: asyncio.Future[None] | None) -> Outcome:
        """The connection attempt is over: a session, a fingerprint to confirm, or an error."""
        error = _outcome_error(task)
        transport, relay = login.transport, login.relay
        login.task = login.transport = login.relay = None
        if error is None and transport is not None and relay is not None:
            self._forget(login)
            prepared = PreparedTransport(transport, relay)
            try:
                live = await self._manager.create(
                    login.identity,
                    login.name,
                    login.request,
                    transport=prepared,
                    title=login.title,
                )
            except BaseException:
                await prepared.close()
                raise
            log.info("sharedterm: %s opened %s as session %s", login.identity, login.title, live.id)
            return Created(live)
        if isinstance(error, UnknownHostKey) and login.id in self._logins:
            login.state, login.host_key = "host_key", error
            self._arm(login)
            return Pending(self._model(login))
        self._forget(login)
        if error is None or (isinstance(error, TransportClosed) and not _is_link_error(error)):
            raise DomainError(ErrorCode.GONE, "This login was cancelled or expired.")
        if not isinstance(error, TransportError):
            raise error  # a bug: the handlers log it and answer 500
        message = _public_message(error, login.target)
        if isinstance(error, HostKeyChanged):
            log.warning("sharedterm: %s: %s", login.title, error)
            raise DomainError(ErrorCode.CONFLICT, message)
        log.info("sharedterm: %s could not connect to %s: %s", login.identity, login.title, error)
        if isinstance(error, SshAuthFailed):
            raise DomainError(ErrorCode.FORBIDDEN, message)
        raise DomainError(ErrorCode.UNAVAILABLE, message)

    def _model(self, login: _Login) -> dict[str, Any]:
        model: dict[str, Any] = {
            "login": login.id,
            "device": login.title,
            "expires_at": login.expires_at,
            "needs": "connecting",
        }
        key, prompt = login.host_key, login.prompt
        if login.state == "host_key" and key is not None:
            model.update(
                needs="host_key",
                fingerprint=key.fingerprint,
                target=key.target,
                host=key.host,
                port=key.port,
                message=_public_message(key, login.target),
            )
        elif login.state == "answers" and prompt is not None:
            model.update(
                needs="answers",
                kind=prompt.kind,
                target=prompt.target,
                host=prompt.host,
                port=prompt.port,
                username=prompt.username,
                name=_shown(prompt.name),
                instructions=_shown(prompt.instructions),
                prompts=[{"text": _shown(f.text), "echo": f.echo} for f in prompt.prompts],
                attempt=prompt.attempt,
            )
        return model

    def _arm(self, login: _Login) -> None:
        """Start the clock on the owner's next reply."""
        self._disarm(login)
        login.expires_at = self._clock() + self._wait_seconds
        login.expiry = asyncio.get_running_loop().call_later(
            self._wait_seconds, self._expire, login
        )

    def _disarm(self, login: _Login) -> None:
        if login.expiry is not None:
            login.expiry.cancel()
        login.expiry, login.expires_at = None, None

    def _expire(self, login: _Login) -> None:
        log.info("sharedterm: the login of %s to %s expired", login.identity, login.title)
        cleanup = asyncio.ensure_future(self._drop(login))
        self._cleanups.add(cleanup)
        cleanup.add_done_callback(self._cleanups.discard)

    def _forget(self, login: _Login) -> None:
        self._disarm(login)
        self._logins.pop(login.id, None)

    async def _drop(self, login: _Login) -> None:
        """Forget a login and close its connection; a request waiting on it answers 410."""
        self._forget(login)
        login.state, login.prompt, login.answer, login.host_key = "connecting", None, None, None
        transport, task = login.transport, login.task
        if transport is not None:
            await transport.close()
        if task is not None:
            await asyncio.gather(task, return_exceptions=True)
        login.wake.set()


def _outcome_error(task: asyncio.Future[None] | None) -> BaseException | None:
    if task is None or task.cancelled():
        return TransportClosed("the connection attempt was abandoned")
    return task.exception()


def _is_link_error(error: TransportError) -> bool:
    # SshConnectionLost is a TransportClosed too, but it is the device's doing, not a cancel.
    return isinstance(error, SshError)


def _not_waiting_for(what: str, login: _Login) -> str:
    needs = {"host_key": "a host key confirmation", "answers": "answers"}.get(
        login.state, "nothing from you yet"
    )
    return f"This login is not waiting for {what}; it needs {needs}."


def _public_message(error: TransportError, target: SshTarget) -> str:
    """The transport's message, with server file paths cut down to their names (SECURITY 19)."""
    if isinstance(error, HostKeyChanged):
        offered = f" It now offers {error.fingerprint}." if error.fingerprint else ""
        return (
            f"The host key of {error.host}:{error.port} ({error.target}) has CHANGED since it "
            f"was pinned.{offered} This can mean someone is intercepting the connection, or the "
            "device was replaced. Verify with the device's administrator; only then can an "
            "administrator of this server remove the old key from the server's known_hosts, "
            "so that people can connect again."
        )
    paths: set[Path] = set()
    node: SshTarget | str | None = target
    while isinstance(node, SshTarget):
        paths.update((node.known_hosts, *node.key_files))
        node = node.jump
    message = str(error)
    for path in sorted(paths, key=lambda p: -len(str(p))):
        message = message.replace(str(path), path.name)
    return message


def _shown(text: str) -> str:
    """Text a device chose, as safe to show: no control or bidi characters, bounded."""
    return clean_text(text)[:MAX_PROMPT_TEXT]
