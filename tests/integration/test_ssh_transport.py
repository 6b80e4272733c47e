"""SshTransport against real SSH servers on 127.0.0.1: asyncssh in-process, and Debian's sshd."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import stat
import subprocess
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from sshd_helpers import (
    DEADLINE,
    KBDINT_QUESTIONS,
    SSHD,
    KeyFiles,
    RecordingSink,
    ServerSpec,
    TcpRelay,
    asyncssh_server,
    closed_port,
    known_hosts_line,
    make_key,
    openssh_server,
    silent_listener,
)

from jupyter_sharedterm.transports.base import TransportClosed, TransportError
from jupyter_sharedterm.transports.ssh import (
    HostKeyChanged,
    PromptRequest,
    SshAuthFailed,
    SshConfigError,
    SshConnectionRefused,
    SshError,
    SshKeyFileError,
    SshTarget,
    SshTimeout,
    SshTransport,
    UnknownHostKey,
    load_targets,
)
from jupyter_sharedterm.transports.ssh_settings import DEVICE_SCHEMA

PASSWORD = "Hunter2-canary-7f3a"  # distinctive, so a leak anywhere is found by substring
USER = "alice"


# --------------------------------------------------------------------------- helpers


def target(port: int, known_hosts: Path, **changes: Any) -> SshTarget:
    base = SshTarget(
        name="sw1",
        host="127.0.0.1",
        port=port,
        username=USER,
        known_hosts=known_hosts,
        auth=("password",),
    )
    return dataclasses.replace(base, **changes)


def pin(known_hosts: Path, port: int, key: KeyFiles) -> None:
    known_hosts.parent.mkdir(parents=True, exist_ok=True)
    with open(known_hosts, "a") as f:
        f.write(known_hosts_line("127.0.0.1", port, key.key))
    os.chmod(known_hosts, 0o600)


class Answers:
    """The owner answering prompts in the UI; records every request it was shown."""

    def __init__(self, answer: Callable[[PromptRequest], list[str]] | None = None) -> None:
        self.requests: list[PromptRequest] = []
        self._answer = answer or (lambda request: [PASSWORD])

    async def __call__(self, request: PromptRequest) -> list[str]:
        self.requests.append(request)
        return self._answer(request)


async def settle_tasks() -> None:
    """Every task other than the test's own finishes (nothing leaked) within the deadline."""
    me = asyncio.current_task()
    others = {t for t in asyncio.all_tasks() if t is not me}
    if others:
        _, pending = await asyncio.wait(others, timeout=DEADLINE)
        assert not pending, f"leaked tasks: {pending!r}"


@contextlib.asynccontextmanager
async def opened(transport: SshTransport) -> AsyncIterator[RecordingSink]:
    sink = RecordingSink()
    await asyncio.wait_for(transport.start(sink), DEADLINE)
    try:
        yield sink
    finally:
        await asyncio.wait_for(transport.close(), DEADLINE)


async def run(sink: RecordingSink, transport: SshTransport, command: str, expect: str) -> None:
    start = len(sink.output)
    transport.write(command + "\r")
    await sink.wait_line(expect, start)


@pytest.fixture
def host_key(tmp_path: Path) -> KeyFiles:
    return make_key(tmp_path, "host_key")


@pytest.fixture
def known_hosts(tmp_path: Path) -> Path:
    return tmp_path / "server-state" / "known_hosts"


# --------------------------------------------------------------------------- shell, auth


async def test_password_login_runs_a_real_shell_and_keeps_no_secret(
    tmp_path: Path, host_key: KeyFiles, known_hosts: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    spec = ServerSpec(host_key.key, passwords={USER: PASSWORD}, home=tmp_path)
    async with asyncssh_server(spec) as srv:
        pin(known_hosts, srv.port, host_key)
        answers = Answers()
        transport = SshTransport(target(srv.port, known_hosts), rows=24, cols=80, prompt=answers)
        assert transport.kind == "ssh"
        async with opened(transport) as sink:
            await run(sink, transport, "echo $((6*7))", "42")
            await run(sink, transport, "echo TERM=$TERM", "TERM=xterm-256color")
            await run(sink, transport, 'echo "agent=[${SSH_AUTH_SOCK-}]"', "agent=[]")
            start = len(sink.output)
            transport.write("env; echo env-done\r")
            await sink.wait_line("env-done", start)
            assert PASSWORD not in sink.output
            assert _reachable_strings(transport).isdisjoint({PASSWORD})
        [request] = answers.requests
        assert (request.kind, request.target, request.username) == ("password", "sw1", USER)
        assert [(p.echo) for p in request.prompts] == [False]
        assert ("pty", "xterm-256color", 24, 80) in spec.events
        [client_env] = [e[1] for e in spec.events if e[0] == "env"]
        assert client_env == {}  # nothing at all sent as environment
        assert ("agent_path", None) in spec.events  # agent forwarding never requested
        assert sink.exits == ["the session was closed"]
    assert PASSWORD not in caplog.text
    assert "sw1" in caplog.text  # the logs were captured at all
    await settle_tasks()


def _reachable_strings(root: object, depth: int = 4) -> set[str]:
    """Strings held by the transport and its plain helper objects (not asyncssh internals)."""
    found: set[str] = set()
    seen: set[int] = set()

    def walk(obj: object, level: int) -> None:
        if id(obj) in seen or level > depth or callable(obj):
            return
        seen.add(id(obj))
        if isinstance(obj, str):
            found.add(obj)
        elif isinstance(obj, (bytes, bytearray)):
            found.add(bytes(obj).decode(errors="replace"))
        elif isinstance(obj, dict):
            for k, v in obj.items():
                walk(k, level + 1)
                walk(v, level + 1)
        elif isinstance(obj, (list, tuple, set, frozenset)) or type(obj).__name__ == "deque":
            for item in obj:  # type: ignore[attr-defined]
                walk(item, level + 1)
        elif type(obj).__module__.startswith("jupyter_sharedterm") and hasattr(obj, "__dict__"):
            walk(vars(obj), level + 1)

    walk(root, 0)
    return found


async def test_key_login_needs_no_prompt(
    tmp_path: Path, host_key: KeyFiles, known_hosts: Path
) -> None:
    client = make_key(tmp_path, "id_ed25519")
    spec = ServerSpec(host_key.key, client_keys={USER: [client.key]}, home=tmp_path)
    async with asyncssh_server(spec) as srv:
        pin(known_hosts, srv.port, host_key)
        t = target(srv.port, known_hosts, auth=("publickey",), key_files=(client.private,))
        transport = SshTransport(t)  # no prompt callback at all
        async with opened(transport) as sink:
            await run(sink, transport, "echo key-$((1+1))", "key-2")
        assert [e[0] for e in spec.auth_attempts()][:2] == ["begin_auth", "publickey"]
    await settle_tasks()


async def test_encrypted_key_asks_for_its_passphrase(
    tmp_path: Path, host_key: KeyFiles, known_hosts: Path
) -> None:
    client = make_key(tmp_path, "id_locked", passphrase="open-sesame")
    spec = ServerSpec(host_key.key, client_keys={USER: [client.key]}, home=tmp_path)
    async with asyncssh_server(spec) as srv:
        pin(known_hosts, srv.port, host_key)
        answers = Answers(lambda request: ["open-sesame"])
        t = target(srv.port, known_hosts, auth=("publickey",), key_files=(client.private,))
        transport = SshTransport(t, prompt=answers)
        async with opened(transport) as sink:
            await run(sink, transport, "echo unlocked-$((2+2))", "unlocked-4")
        assert [r.kind for r in answers.requests] == ["passphrase"]
    await settle_tasks()


async def test_keyboard_interactive_questions_reach_the_owner(
    tmp_path: Path, host_key: KeyFiles, known_hosts: Path
) -> None:
    spec = ServerSpec(host_key.key, kbdint={USER: [PASSWORD, "123456"]}, home=tmp_path)
    async with asyncssh_server(spec) as srv:
        pin(known_hosts, srv.port, host_key)
        answers = Answers(lambda request: [PASSWORD, "123456"])
        t = target(srv.port, known_hosts, auth=("keyboard-interactive",))
        transport = SshTransport(t, prompt=answers)
        async with opened(transport) as sink:
            await run(sink, transport, "echo otp-ok", "otp-ok")
        [request] = answers.requests
        assert request.kind == "keyboard-interactive"
        assert (request.name, request.instructions) == ("Device login", "Answer both questions.")
        assert [(p.text, p.echo) for p in request.prompts] == KBDINT_QUESTIONS
    await settle_tasks()


async def test_agent_is_used_only_when_configured(
    tmp_path: Path, host_key: KeyFiles, known_hosts: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not (Path("/usr/bin/ssh-agent").exists() and Path("/usr/bin/ssh-add").exists()):
        pytest.skip("ssh-agent/ssh-add (openssh-client) not installed")
    in_agent = make_key(tmp_path, "id_agent")
    other = make_key(tmp_path, "id_other")
    sock = tmp_path / "agent.sock"
    agent = await asyncio.create_subprocess_exec(
        "/usr/bin/ssh-agent",
        "-D",
        "-a",
        str(sock),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )
    try:
        assert agent.stdout is not None
        ready = await asyncio.wait_for(agent.stdout.readline(), DEADLINE)  # printed once bound
        assert b"SSH_AUTH_SOCK" in ready
        add = await asyncio.create_subprocess_exec(
            "/usr/bin/ssh-add",
            "-q",
            str(in_agent.private),
            env={**os.environ, "SSH_AUTH_SOCK": str(sock)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
        )
        assert await asyncio.wait_for(add.wait(), DEADLINE) == 0
        monkeypatch.setenv("SSH_AUTH_SOCK", str(sock))
        spec = ServerSpec(host_key.key, client_keys={USER: [in_agent.key]}, home=tmp_path)
        async with asyncssh_server(spec) as srv:
            pin(known_hosts, srv.port, host_key)
            off = target(srv.port, known_hosts, auth=("publickey",), key_files=(other.private,))
            with pytest.raises(SshAuthFailed):
                await asyncio.wait_for(SshTransport(off).start(RecordingSink()), DEADLINE)
            on = dataclasses.replace(off, use_agent=True)
            transport = SshTransport(on)
            async with opened(transport) as sink:
                await run(sink, transport, 'echo "fwd=[${SSH_AUTH_SOCK-}]"', "fwd=[]")
            assert ("agent_path", None) in spec.events  # agent used locally, never forwarded
    finally:
        agent.terminate()
        await asyncio.wait_for(agent.wait(), DEADLINE)
    await settle_tasks()


async def test_resize_changes_the_remote_pty(
    tmp_path: Path, host_key: KeyFiles, known_hosts: Path
) -> None:
    spec = ServerSpec(host_key.key, passwords={USER: PASSWORD}, home=tmp_path)
    async with asyncssh_server(spec) as srv:
        pin(known_hosts, srv.port, host_key)
        transport = SshTransport(target(srv.port, known_hosts), rows=24, cols=80, prompt=Answers())
        async with opened(transport) as sink:
            await run(sink, transport, "stty size", "24 80")
            transport.resize(30, 100)
            assert transport.size == (30, 100)
            await run(sink, transport, "stty size", "30 100")
    await settle_tasks()


async def test_utf8_split_across_reads_and_invalid_bytes(
    tmp_path: Path, host_key: KeyFiles, known_hosts: Path
) -> None:
    spec = ServerSpec(host_key.key, passwords={USER: PASSWORD}, home=tmp_path)
    async with asyncssh_server(spec) as srv:
        pin(known_hosts, srv.port, host_key)
        transport = SshTransport(target(srv.port, known_hosts), prompt=Answers())
        async with opened(transport) as sink:
            # The euro sign's 3 bytes leave the device in two writes a moment apart.
            await run(
                sink, transport, r"printf 'E:\342\202'; sleep 0.3; printf '\254:E\n'", "E:€:E"
            )
            await run(sink, transport, r"printf 'B:\377:B\n'", "B:\ufffd:B")
    await settle_tasks()


# --------------------------------------------------------------------------- host keys


async def test_unknown_host_key_refused_then_confirmed_then_pinned(
    tmp_path: Path, host_key: KeyFiles, known_hosts: Path
) -> None:
    spec = ServerSpec(host_key.key, passwords={USER: PASSWORD}, home=tmp_path)
    async with asyncssh_server(spec) as srv:
        answers = Answers()
        t = target(srv.port, known_hosts)
        with pytest.raises(UnknownHostKey) as refused:
            await asyncio.wait_for(SshTransport(t, prompt=answers).start(RecordingSink()), DEADLINE)
        err = refused.value
        assert err.fingerprint == host_key.fingerprint and err.fingerprint.startswith("SHA256:")
        assert err.fingerprint in str(err) and (err.target, err.port) == ("sw1", srv.port)
        assert ("connect",) in spec.events and spec.auth_attempts() == [] and answers.requests == []
        assert known_hosts.read_text() == ""

        wrong = make_key(tmp_path, "not_the_host").fingerprint
        with pytest.raises(UnknownHostKey, match="does not match"):
            await asyncio.wait_for(
                SshTransport(t, prompt=answers, confirmed_fingerprint=wrong).start(RecordingSink()),
                DEADLINE,
            )
        assert spec.auth_attempts() == []

        confirmed = SshTransport(t, prompt=answers, confirmed_fingerprint=err.fingerprint)
        async with opened(confirmed) as sink:
            await run(sink, confirmed, "echo trusted-$((3*3))", "trusted-9")
        assert stat.S_IMODE(known_hosts.stat().st_mode) == 0o600
        assert known_hosts.read_text() == known_hosts_line("127.0.0.1", srv.port, host_key.key)

        again = SshTransport(t, prompt=answers)  # pinned: no confirmation needed any more
        async with opened(again) as sink:
            await run(sink, again, "echo pinned-ok", "pinned-ok")
    await settle_tasks()


async def test_changed_host_key_is_a_hard_failure_with_no_auth_attempt(
    tmp_path: Path, host_key: KeyFiles, known_hosts: Path
) -> None:
    impostor = make_key(tmp_path, "impostor")
    spec = ServerSpec(impostor.key, passwords={USER: PASSWORD}, home=tmp_path)
    async with asyncssh_server(spec) as srv:
        pin(known_hosts, srv.port, host_key)
        before = known_hosts.read_text()
        answers = Answers()
        # Even a "confirmed" fingerprint of the new key must not let it through.
        transport = SshTransport(
            target(srv.port, known_hosts, auth=("password", "keyboard-interactive")),
            prompt=answers,
            confirmed_fingerprint=impostor.fingerprint,
        )
        with pytest.raises(HostKeyChanged) as changed:
            await asyncio.wait_for(transport.start(RecordingSink()), DEADLINE)
        assert "CHANGED" in str(changed.value) and impostor.fingerprint in str(changed.value)
        assert changed.value.fingerprint == impostor.fingerprint
        assert ("connect",) in spec.events  # the server was reached...
        assert spec.auth_attempts() == []  # ...and saw no authentication attempt at all
        assert answers.requests == []
        assert known_hosts.read_text() == before

        # Control: the same recording does see attempts when the key is right, so the
        # assertion above can fail.
        spec.events.clear()
        known_hosts.write_text(known_hosts_line("127.0.0.1", srv.port, impostor.key))
        ok = SshTransport(target(srv.port, known_hosts), prompt=answers)
        async with opened(ok) as sink:
            await run(sink, ok, "echo ready-$((1+1))", "ready-2")
        assert [e[0] for e in spec.auth_attempts()] == ["begin_auth", "password"]
    await settle_tasks()


async def test_host_key_of_another_type_counts_as_changed(
    tmp_path: Path, host_key: KeyFiles, known_hosts: Path
) -> None:
    rsa = make_key(tmp_path, "rsa_host", alg="ssh-rsa")
    spec = ServerSpec(rsa.key, passwords={USER: PASSWORD}, home=tmp_path)
    async with asyncssh_server(spec) as srv:
        pin(known_hosts, srv.port, host_key)  # pinned: an ed25519 key
        transport = SshTransport(target(srv.port, known_hosts), prompt=Answers())
        with pytest.raises(HostKeyChanged, match="CHANGED"):
            await asyncio.wait_for(transport.start(RecordingSink()), DEADLINE)
        assert spec.auth_attempts() == []
    await settle_tasks()


async def test_known_hosts_writable_by_others_is_refused(
    tmp_path: Path, host_key: KeyFiles, known_hosts: Path
) -> None:
    spec = ServerSpec(host_key.key, passwords={USER: PASSWORD}, home=tmp_path)
    async with asyncssh_server(spec) as srv:
        pin(known_hosts, srv.port, host_key)
        os.chmod(known_hosts, 0o666)
        with pytest.raises(SshError, match="chmod 600"):
            await SshTransport(target(srv.port, known_hosts), prompt=Answers()).start(
                RecordingSink()
            )
        assert spec.events == []
    await settle_tasks()


# --------------------------------------------------------------------------- jump hosts


async def test_jump_host_verifies_both_keys_and_tunnels(tmp_path: Path, known_hosts: Path) -> None:
    bastion_key = make_key(tmp_path, "bastion_host")
    device_key = make_key(tmp_path, "device_host")
    client = make_key(tmp_path, "id_device")
    device = ServerSpec(device_key.key, client_keys={USER: [client.key]}, home=tmp_path)
    async with asyncssh_server(device) as dev:
        bastion = ServerSpec(
            bastion_key.key, passwords={"jumper": "jump-pw"}, forward_to={dev.port}, home=tmp_path
        )
        async with asyncssh_server(bastion) as bas:
            jump = SshTarget(
                name="bastion",
                host="127.0.0.1",
                port=bas.port,
                username="jumper",
                known_hosts=known_hosts,
                auth=("password",),
            )
            t = target(
                dev.port,
                known_hosts,
                name="core",
                auth=("publickey",),
                key_files=(client.private,),
                jump=jump,
            )
            answers = Answers(lambda request: ["jump-pw"])

            with pytest.raises(UnknownHostKey) as first:
                await asyncio.wait_for(
                    SshTransport(t, prompt=answers).start(RecordingSink()), DEADLINE
                )
            assert (first.value.target, first.value.fingerprint) == (
                "bastion",
                bastion_key.fingerprint,
            )
            assert bastion.auth_attempts() == [] and device.events == []

            with pytest.raises(UnknownHostKey) as second:
                await asyncio.wait_for(
                    SshTransport(
                        t, prompt=answers, confirmed_fingerprint=bastion_key.fingerprint
                    ).start(RecordingSink()),
                    DEADLINE,
                )
            assert (second.value.target, second.value.fingerprint) == (
                "core",
                device_key.fingerprint,
            )
            assert device.auth_attempts() == []
            assert [r.target for r in answers.requests] == ["bastion"]

            transport = SshTransport(
                t, prompt=answers, confirmed_fingerprint=device_key.fingerprint
            )
            async with opened(transport) as sink:
                await run(sink, transport, "echo via-jump-$((5+5))", "via-jump-10")
            assert ("direct-tcpip", "127.0.0.1", dev.port) in bastion.events
            assert len(known_hosts.read_text().splitlines()) == 2

            # A bastion presenting another key stops everything before any credential.
            bastion.events.clear()
            device.events.clear()
            known_hosts.write_text(
                known_hosts_line("127.0.0.1", bas.port, make_key(tmp_path, "old_bastion").key)
                + known_hosts_line("127.0.0.1", dev.port, device_key.key)
            )
            with pytest.raises(HostKeyChanged) as changed:
                await asyncio.wait_for(
                    SshTransport(t, prompt=answers).start(RecordingSink()), DEADLINE
                )
            assert changed.value.target == "bastion"
            assert bastion.auth_attempts() == [] and device.events == []
    await settle_tasks()


# --------------------------------------------------------------------------- the end of a session


async def test_shell_exit_ends_the_transport_once(
    tmp_path: Path, host_key: KeyFiles, known_hosts: Path
) -> None:
    spec = ServerSpec(host_key.key, passwords={USER: PASSWORD}, home=tmp_path)
    async with asyncssh_server(spec) as srv:
        pin(known_hosts, srv.port, host_key)
        transport = SshTransport(target(srv.port, known_hosts), prompt=Answers())
        async with opened(transport) as sink:
            await run(sink, transport, "echo ready", "ready")
            transport.write("exit 3\r")
            assert await sink.wait_exit() == "the device closed the session (exit status 3)"
            with pytest.raises(TransportClosed):
                transport.write("echo too late\r")
            transport.resize(10, 10)  # ignored, no error
        assert sink.exits == ["the device closed the session (exit status 3)"]
        await asyncio.wait_for(transport.close(), DEADLINE)  # idempotent
        assert len(sink.exits) == 1
    await settle_tasks()


async def test_dropped_link_is_reported_within_a_second(
    tmp_path: Path, host_key: KeyFiles, known_hosts: Path
) -> None:
    spec = ServerSpec(host_key.key, passwords={USER: PASSWORD}, home=tmp_path)
    async with asyncssh_server(spec) as srv:
        pin(known_hosts, srv.port, host_key)
        transport = SshTransport(target(srv.port, known_hosts), prompt=Answers())
        async with opened(transport) as sink:
            await run(sink, transport, "echo up", "up")
            loop = asyncio.get_running_loop()
            dropped_at = loop.time()
            srv.abort_connections()  # the device vanishes without an SSH goodbye
            reason = await sink.wait_exit(timeout=DEADLINE)
            assert loop.time() - dropped_at < 1.0
            assert reason.startswith("connection lost:"), reason
            with pytest.raises(TransportClosed):
                transport.write("x")
        assert len(sink.exits) == 1
    await settle_tasks()


async def test_silent_dead_link_is_found_by_keepalives(
    tmp_path: Path, host_key: KeyFiles, known_hosts: Path
) -> None:
    spec = ServerSpec(host_key.key, passwords={USER: PASSWORD}, home=tmp_path)
    async with asyncssh_server(spec) as srv, TcpRelay(srv.port) as relay:
        pin(known_hosts, relay.port, host_key)
        t = target(relay.port, known_hosts, keepalive_interval=0.2, keepalive_count_max=2)
        transport = SshTransport(t, prompt=Answers())
        async with opened(transport) as sink:
            await run(sink, transport, "echo alive", "alive")
            relay.freeze()  # no FIN, no RST: only keepalives can tell
            reason = await sink.wait_exit(timeout=DEADLINE)
            assert "keepalives" in reason and reason.startswith("connection lost:"), reason
    await settle_tasks()


async def test_close_is_idempotent_and_releases_the_connection(
    tmp_path: Path, host_key: KeyFiles, known_hosts: Path
) -> None:
    spec = ServerSpec(host_key.key, passwords={USER: PASSWORD}, home=tmp_path)
    async with asyncssh_server(spec) as srv:
        pin(known_hosts, srv.port, host_key)
        transport = SshTransport(target(srv.port, known_hosts), prompt=Answers())
        sink = RecordingSink()
        await asyncio.wait_for(transport.start(sink), DEADLINE)
        await run(sink, transport, "echo hi", "hi")
        await asyncio.wait_for(transport.close(), DEADLINE)
        await asyncio.wait_for(transport.close(), DEADLINE)
        assert sink.exits == ["the session was closed"]
        with pytest.raises(TransportClosed):
            transport.write("x")
        with pytest.raises(TransportError):
            await transport.start(sink)
        await spec.wait_for(lambda: not spec.connections, "the server to see the connection closed")
    await settle_tasks()


async def test_close_while_waiting_for_a_prompt_abandons_the_connection(
    tmp_path: Path, host_key: KeyFiles, known_hosts: Path
) -> None:
    spec = ServerSpec(host_key.key, passwords={USER: PASSWORD}, home=tmp_path)
    async with asyncssh_server(spec) as srv:
        pin(known_hosts, srv.port, host_key)
        asked = asyncio.Event()
        never = asyncio.Event()

        async def owner_away(request: PromptRequest) -> list[str]:
            asked.set()
            await never.wait()
            return []

        transport = SshTransport(target(srv.port, known_hosts), prompt=owner_away)
        sink = RecordingSink()
        starting = asyncio.ensure_future(transport.start(sink))
        await asyncio.wait_for(asked.wait(), DEADLINE)
        await asyncio.wait_for(transport.close(), DEADLINE)
        with pytest.raises(TransportClosed):
            await asyncio.wait_for(starting, DEADLINE)
        assert sink.exits == []  # start() itself reported the failure
        await spec.wait_for(lambda: not spec.connections, "the server to see the connection closed")
    await settle_tasks()


async def test_full_input_queue_raises_instead_of_blocking(
    tmp_path: Path, host_key: KeyFiles, known_hosts: Path
) -> None:
    spec = ServerSpec(host_key.key, passwords={USER: PASSWORD}, home=tmp_path)
    async with asyncssh_server(spec) as srv:
        pin(known_hosts, srv.port, host_key)
        transport = SshTransport(
            target(srv.port, known_hosts), prompt=Answers(), input_queue_bytes=65536
        )
        async with opened(transport) as sink:
            await run(sink, transport, "echo go", "go")
            # The shell stops reading; in raw mode the PTY's input fills, then the SSH window.
            transport.write("stty raw -echo; sleep 60\r")
            chunk = "x" * 4096
            with pytest.raises(TransportError, match="not accepting input"):
                for _ in range(4096):  # 16 MiB, far beyond window + queue
                    transport.write(chunk)
                    await asyncio.sleep(0)  # let the channel report backpressure
    await settle_tasks()


# --------------------------------------------------------------------------- error mapping


async def test_errors_are_plain(tmp_path: Path, host_key: KeyFiles, known_hosts: Path) -> None:
    with pytest.raises(SshConnectionRefused, match="connection refused"):
        await SshTransport(target(closed_port(), known_hosts), prompt=Answers()).start(
            RecordingSink()
        )

    async with silent_listener() as port:
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(SshTimeout, match="did not complete the SSH handshake"):
            t = target(port, known_hosts, connect_timeout=0.5)
            await asyncio.wait_for(
                SshTransport(t, prompt=Answers()).start(RecordingSink()), DEADLINE
            )
        assert loop.time() - started < 0.5 + DEADLINE / 3

    with pytest.raises(SshKeyFileError, match="cannot be read"):
        t = target(22, known_hosts, auth=("publickey",), key_files=(tmp_path / "missing",))
        await SshTransport(t).start(RecordingSink())

    spec = ServerSpec(host_key.key, passwords={USER: PASSWORD}, home=tmp_path)
    async with asyncssh_server(spec) as srv:
        pin(known_hosts, srv.port, host_key)
        t = target(srv.port, known_hosts)
        wrong = Answers(lambda request: ["wrong-" + PASSWORD])
        with pytest.raises(SshAuthFailed) as failed:
            await asyncio.wait_for(SshTransport(t, prompt=wrong).start(RecordingSink()), DEADLINE)
        assert "authentication to 127.0.0.1" in str(failed.value) and PASSWORD not in str(
            failed.value
        )
        assert [r.attempt for r in wrong.requests] == [1, 2, 3]  # bounded retries

        with pytest.raises(SshAuthFailed, match="declined"):
            declines = Answers(lambda request: [])
            await asyncio.wait_for(
                SshTransport(t, prompt=declines).start(RecordingSink()), DEADLINE
            )

        with pytest.raises(SshAuthFailed, match="nobody can answer prompts"):
            await asyncio.wait_for(SshTransport(t).start(RecordingSink()), DEADLINE)

        # A slow person does not trip the connect timeout: prompts stop the clock.
        async def slow(request: PromptRequest) -> list[str]:
            await asyncio.sleep(1.0)  # stands in for a person reading and typing
            return [PASSWORD]

        patient = SshTransport(dataclasses.replace(t, connect_timeout=0.5), prompt=slow)
        async with opened(patient) as sink:
            await run(sink, patient, "echo patient", "patient")
    await settle_tasks()


# --------------------------------------------------------------------------- configuration


def test_config_builds_a_validated_target(tmp_path: Path) -> None:
    t = SshTarget.from_config(
        "core-sw1",
        {
            "host": "10.0.0.5",
            "port": 2222,
            "username": "netops",
            "auth": ["publickey", "password"],
            "key_files": ["/etc/sharedterm/id_ed25519"],
            "jump": "bastion",
        },
        default_known_hosts=tmp_path / "known_hosts",
    )
    assert (t.host, t.port, t.username, t.auth) == (
        "10.0.0.5",
        2222,
        "netops",
        ("publickey", "password"),
    )
    assert t.key_files == (Path("/etc/sharedterm/id_ed25519"),) and t.jump == "bastion"
    assert t.known_hosts == tmp_path / "known_hosts" and t.use_agent is False
    with pytest.raises(dataclasses.FrozenInstanceError):
        t.port = 22  # type: ignore[misc]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"username": "u"}, "'host' setting is required"),
        ({"host": "h", "username": "u", "port": 0}, "from 1 to 65535"),
        ({"host": "h", "username": "u", "port": 70000}, "from 1 to 65535"),
        ({"host": "h", "username": "u", "port": "22"}, "from 1 to 65535"),
        ({"host": "h", "username": "u", "port": True}, "from 1 to 65535"),
        ({"hots": "h", "host": "h", "username": "u"}, "unknown setting"),
        ({"host": "h", "username": "u", "auth": ["gssapi"]}, "unknown auth method 'gssapi'"),
        ({"host": "h", "username": "u", "auth": ["publickey"]}, "no 'key_files' are set"),
        ({"host": "h", "username": "u", "auth": []}, "lists no method"),
        ({"host": "h", "username": "u", "key_files": ["id_rsa"]}, "absolute path"),
        ({"host": "-oProxyCommand=x", "username": "u"}, "must not start with '-'"),
        ({"host": "h", "username": "u", "use_agent": "yes"}, "true or false"),
        ({"host": "h", "username": "u", "connect_timeout": 0}, "above 0"),
        ({"host": "h", "username": "u", "jump": 5}, "device name or a device entry"),
        ({"host": "h", "username": "u", "auth": ["password", "password"]}, "a method twice"),
        ({"host": "h", "username": "u", "keepalive_count_max": 0}, "at least 1, got 0"),
        ({"host": "h", "username": "u", "known_hosts": 5}, "'known_hosts' must be a path"),
        ({"host": 5, "username": "u"}, "'host' must be a string, got 5"),
        ({"host": "h", "username": "u", "jump": {"host": "b"}}, "'username' setting is required"),
        ("h:22", "expected a mapping of settings"),
    ],
)
def test_bad_config_says_what_to_fix(tmp_path: Path, entry: dict[str, Any], message: str) -> None:
    with pytest.raises(SshConfigError, match=message) as err:
        SshTarget.from_config("sw9", entry, default_known_hosts=tmp_path / "kh")
    assert isinstance(err.value, ValueError) and "sw9" in str(err.value)


def test_one_schema_checks_configured_and_adhoc_targets_alike(tmp_path: Path) -> None:
    Draft202012Validator.check_schema(DEVICE_SCHEMA)
    with pytest.raises(SshConfigError, match="'port' must be an integer from 1 to 65535"):
        SshTarget(name="adhoc", host="h", username="u", known_hosts=tmp_path / "kh", port=0)


def test_known_hosts_must_be_configured_somewhere() -> None:
    with pytest.raises(SshConfigError, match="set 'known_hosts'"):
        SshTarget.from_config("sw1", {"host": "h", "username": "u"})


def test_load_targets_resolves_jumps_and_rejects_loops(tmp_path: Path) -> None:
    kh = tmp_path / "kh"
    targets = load_targets(
        {
            "bastion": {"host": "b", "username": "j"},
            "core": {"host": "c", "username": "u", "jump": "bastion"},
            "edge": {"host": "e", "username": "u", "jump": {"host": "b2", "username": "j"}},
        },
        default_known_hosts=kh,
    )
    assert targets["core"].jump == targets["bastion"]
    edge_jump = targets["edge"].jump
    assert (
        isinstance(edge_jump, SshTarget) and edge_jump.host == "b2" and edge_jump.known_hosts == kh
    )
    with pytest.raises(SshConfigError, match="not a configured device"):
        load_targets(
            {"core": {"host": "c", "username": "u", "jump": "nowhere"}}, default_known_hosts=kh
        )
    with pytest.raises(SshConfigError, match="loop"):
        load_targets(
            {
                "a": {"host": "a", "username": "u", "jump": "b"},
                "b": {"host": "b", "username": "u", "jump": "a"},
            },
            default_known_hosts=kh,
        )


# --------------------------------------------------------------------------- Debian OpenSSH


def _require_sshd() -> None:
    if not Path(SSHD).exists():
        pytest.skip(f"{SSHD} is not installed (apt-get install openssh-server)")
    if os.geteuid() != 0:
        pytest.skip("sshd tests need root (sshd drops privileges per connection)")


@pytest.mark.sshd
async def test_openssh_key_login_shell_resize_and_exit(tmp_path: Path, known_hosts: Path) -> None:
    _require_sshd()
    async with openssh_server(tmp_path / "sshd") as sshd:
        t = SshTarget(
            name="debian",
            host="127.0.0.1",
            port=sshd.port,
            username="root",
            known_hosts=known_hosts,
            auth=("publickey",),
            key_files=(sshd.client_key.private,),
        )
        with pytest.raises(UnknownHostKey) as unknown:
            await asyncio.wait_for(SshTransport(t).start(RecordingSink()), DEADLINE)
        assert unknown.value.fingerprint == sshd.host_key.fingerprint
        transport = SshTransport(
            t, rows=24, cols=80, confirmed_fingerprint=unknown.value.fingerprint
        )
        async with opened(transport) as sink:
            await run(sink, transport, "echo $((6*7))", "42")
            await run(sink, transport, "stty size", "24 80")
            transport.resize(40, 132)
            await run(sink, transport, "stty size", "40 132")
            await run(
                sink,
                transport,
                'echo "agent=[${SSH_AUTH_SOCK-}] term=$TERM"',
                "agent=[] term=xterm-256color",
            )
            transport.write("exit 7\r")
            assert await sink.wait_exit() == "the device closed the session (exit status 7)"
        assert sink.exits == ["the device closed the session (exit status 7)"]
    await settle_tasks()


@pytest.mark.sshd
async def test_openssh_sees_no_auth_request_from_a_client_that_distrusts_its_key(
    tmp_path: Path, known_hosts: Path
) -> None:
    _require_sshd()
    async with openssh_server(tmp_path / "sshd") as sshd:
        pin(known_hosts, sshd.port, make_key(tmp_path, "someone_else"))
        t = SshTarget(
            name="debian",
            host="127.0.0.1",
            port=sshd.port,
            username="root",
            known_hosts=known_hosts,
            auth=("publickey",),
            key_files=(sshd.client_key.private,),
        )
        with pytest.raises(HostKeyChanged):
            await asyncio.wait_for(SshTransport(t).start(RecordingSink()), DEADLINE)
        # sshd (LogLevel VERBOSE) names the user in its goodbye once a client has sent a userauth
        # request ("Disconnected from authenticating user root ..."), not before.
        await sshd.wait_log(
            lambda line: line.startswith(("Disconnected from", "Connection closed by")),
            "sshd to log the closed connection",
        )
        auth_lines = [
            line
            for line in sshd.log
            if "user root" in line or "publickey" in line or "Accepted" in line
        ]
        assert auth_lines == [], auth_lines

        # Control: a trusting client does show up in the same log.
        known_hosts.write_text(known_hosts_line("127.0.0.1", sshd.port, sshd.host_key.key))
        async with opened(SshTransport(t)):
            pass
        await sshd.wait_log(
            lambda line: "Accepted publickey for root" in line, "the accepted login"
        )
    await settle_tasks()


@pytest.mark.sshd
async def test_openssh_killed_is_reported_as_a_lost_connection(
    tmp_path: Path, known_hosts: Path
) -> None:
    _require_sshd()
    async with openssh_server(tmp_path / "sshd") as sshd:
        pin(known_hosts, sshd.port, sshd.host_key)
        t = SshTarget(
            name="debian",
            host="127.0.0.1",
            port=sshd.port,
            username="root",
            known_hosts=known_hosts,
            auth=("publickey",),
            key_files=(sshd.client_key.private,),
        )
        transport = SshTransport(t)
        async with opened(transport) as sink:
            await run(sink, transport, "echo up", "up")
            sshd.kill_all()  # kill -9 every sshd process: the device is gone
            reason = await sink.wait_exit(timeout=DEADLINE)
            assert reason.startswith("connection lost:") or "closed" in reason, reason
    await settle_tasks()
