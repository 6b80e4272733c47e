"""SSH device sessions on a real Jupyter server: the inventory, the owner's login flow (host keys,
passwords, keyboard-interactive), secrets kept out of everything, and a device that goes away.

The devices are real SSH servers on 127.0.0.1: asyncssh in-process (`sshd_helpers`), the bash
device of the role tests (`support.BashDevice`), and Debian's OpenSSH sshd.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncssh
import pytest
from jupyter_core.paths import jupyter_data_dir
from sshd_helpers import (
    SSHD,
    ServerSpec,
    TcpRelay,
    asyncssh_server,
    known_hosts_line,
    make_key,
    openssh_server,
)
from support import DEADLINE, Api, BashDevice

from jupyter_sharedterm.recording.asciicast import read_cast
from jupyter_sharedterm.transports.ssh import SshConfigError

PASSWORD = "Hunter2-canary-7f3a"  # distinctive, so a leak anywhere is found by substring
WRONG = "wrong-canary-91c2"
OTP = "otp-canary-5521"
USER = "netops"


# --------------------------------------------------------------------------- the devices


class Lab:
    """The SSH servers behind the configured devices, started before the Jupyter server."""

    def __init__(self, folder: Path, *, with_sshd: bool) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.with_sshd = with_sshd
        self.client = make_key(folder, "client_ed25519")
        self.keyed = ServerSpec(
            make_key(folder, "keyed_host").key, client_keys={USER: [self.client.key]}, home=folder
        )
        self.secret = ServerSpec(
            make_key(folder, "secret_host").key,
            passwords={USER: PASSWORD},
            kbdint={USER: [PASSWORD, OTP]},
            home=folder,
        )
        self.pinned = folder / "pinned_known_hosts"
        self.wrong = folder / "wrong_known_hosts"
        self.devices: dict[str, dict[str, Any]] = {}
        self.servers: dict[str, Any] = {}
        self.sshd: Any = None
        self._stack = contextlib.AsyncExitStack()

    async def start(self) -> None:
        keyed = await self._stack.enter_async_context(asyncssh_server(self.keyed))
        secret = await self._stack.enter_async_context(asyncssh_server(self.secret))
        relay = await self._stack.enter_async_context(TcpRelay(keyed.port))
        self.servers = {"keyed": keyed, "secret": secret, "relay": relay}
        self.pinned.write_text(
            known_hosts_line("127.0.0.1", keyed.port, self.keyed.host_key)
            + known_hosts_line("127.0.0.1", secret.port, self.secret.host_key)
            + known_hosts_line("127.0.0.1", relay.port, self.keyed.host_key)
        )
        impostor = make_key(self.folder, "impostor").key
        self.wrong.write_text(known_hosts_line("127.0.0.1", keyed.port, impostor))
        for path in (self.pinned, self.wrong):
            os.chmod(path, 0o600)
        key = {"auth": ["publickey"], "key_files": [str(self.client.private)]}
        self.devices = {
            "sw1": {"host": "127.0.0.1", "port": keyed.port, "username": USER, **key,
                    "known_hosts": str(self.pinned)},
            # No known_hosts of its own: the server's file, where nothing is pinned yet.
            "sw-new": {"host": "127.0.0.1", "port": keyed.port, "username": USER, **key},
            "sw-changed": {"host": "127.0.0.1", "port": keyed.port, "username": USER, **key,
                           "known_hosts": str(self.wrong)},
            "sw-pass": {"host": "127.0.0.1", "port": secret.port, "username": USER,
                        "auth": ["password"], "known_hosts": str(self.pinned)},
            "sw-kbd": {"host": "127.0.0.1", "port": secret.port, "username": USER,
                       "auth": ["keyboard-interactive"], "known_hosts": str(self.pinned)},
            "sw-relay": {"host": "127.0.0.1", "port": relay.port, "username": USER, **key,
                         "known_hosts": str(self.pinned), "keepalive_interval": 0.3,
                         "keepalive_count_max": 1},
        }  # fmt: skip
        if self.with_sshd:
            self.sshd = await self._stack.enter_async_context(openssh_server(self.folder / "sshd"))
            self.devices["debian"] = {
                "host": "127.0.0.1",
                "port": self.sshd.port,
                "username": "root",
                "auth": ["publickey"],
                "key_files": [str(self.sshd.client_key.private)],
            }

    async def stop(self) -> None:
        await self._stack.aclose()


def _require_sshd() -> None:
    if not Path(SSHD).exists() or os.geteuid() != 0:
        pytest.skip("sshd tests need Debian's openssh-server and root")


@pytest.fixture
def use_sshd() -> bool:
    """Also start Debian's sshd as device "debian" (tests parametrize it to True)."""
    return False


@pytest.fixture
def allow_adhoc() -> bool:
    return False


@pytest.fixture
def login_wait() -> float:
    """c.SharedTermApp.ssh_login_wait_seconds."""
    return 30.0


@pytest.fixture
def lab(tmp_path: Path, jp_asyncio_loop: Any, use_sshd: bool) -> Iterator[Lab]:
    if use_sshd:
        _require_sshd()
    lab = Lab(tmp_path / "lab", with_sshd=use_sshd)
    jp_asyncio_loop.run_until_complete(lab.start())
    yield lab
    jp_asyncio_loop.run_until_complete(lab.stop())


@pytest.fixture
def jp_server_config(
    jp_server_config: dict[str, Any], lab: Lab, allow_adhoc: bool, login_wait: float
) -> dict[str, Any]:
    app = jp_server_config["SharedTermApp"]
    app.update(
        devices={**app["devices"], **lab.devices},
        allow_adhoc_ssh=allow_adhoc,
        ssh_login_wait_seconds=login_wait,
    )
    return jp_server_config


class Seen:
    """Everything the server said: REST answers, audit events; searched for secrets at the end."""

    def __init__(self, api: Api, serverapp: Any) -> None:
        self._api = api
        self.texts: list[str] = []
        self.audit: list[dict[str, Any]] = []

        async def listener(logger: Any, schema_id: str, data: dict[str, Any]) -> None:
            self.audit.append(dict(data))

        from jupyter_sharedterm.app import AUDIT_SCHEMA_ID

        serverapp.event_logger.add_listener(schema_id=AUDIT_SCHEMA_ID, listener=listener)

    async def __call__(self, user: str, method: str, *path: str, body: Any = None) -> Any:
        status, reply = await self._api(user, method, *path, body=body)
        self.texts.append(json.dumps(reply))
        return status, reply

    def everything(self) -> str:
        return "\n".join(self.texts) + json.dumps(self.audit)


async def download(jp_fetch: Any, user: str, rid: str) -> str:
    response = await jp_fetch(
        "api", "sharedterm", "recordings", rid, "cast", headers={"X-Test-User": user}
    )
    return bytes(response.body).decode("utf-8", "replace")


def markers(cast_text: str) -> list[str]:
    return [e.data for e in read_cast(cast_text.encode()).events if e.code == "m"]


async def wait_recording_finished(api: Api, user: str, rid: str) -> dict[str, Any]:
    async def finished() -> dict[str, Any]:
        while True:
            status, model = await api(user, "GET", "recordings", rid)
            if status == 200 and model["state"] == "finished":
                return dict(model)
            await asyncio.sleep(0.05)

    return await asyncio.wait_for(finished(), DEADLINE)


# --------------------------------------------------------------------------- inventory


async def test_the_device_list_shows_names_and_hosts_and_no_secret(api: Api, lab: Lab) -> None:
    status, listed = await api("bob", "GET", "devices")
    assert status == 200
    assert listed["adhoc"] is False
    by_name = {d["name"]: d for d in listed["devices"]}
    assert set(by_name) == set(lab.devices)
    assert by_name["sw1"] == {
        "name": "sw1",
        "host": "127.0.0.1",
        "port": lab.servers["keyed"].port,
        "username": USER,
        "auth": ["publickey"],
        "jump": None,
    }
    text = json.dumps(listed)
    assert (
        "client_ed25519" not in text and "known_hosts" not in text and str(lab.folder) not in text
    )


@pytest.mark.parametrize("shell_transport", ["ssh"])
async def test_the_role_tests_really_run_over_ssh(
    api: Api, peers: Any, bash_device: BashDevice
) -> None:
    """The "ssh" variant of tests/integration/test_sessions.py opens a device session."""
    model = await api.share_shell("alice")
    assert model["transport"] == "ssh" and model["title"] == BashDevice.name
    alice = await peers("alice", model["id"])
    assert alice.setup["transport"] == "ssh"
    alice.stdin("echo over-$((20+1))-ssh\r")
    await alice.wait_output("over-21-ssh")
    assert bash_device.connections and bash_device.shells


# --------------------------------------------------------------------------- end to end


async def test_a_device_session_from_the_inventory_end_to_end(
    api: Api, peers: Any, lab: Lab
) -> None:
    status, model = await api(
        "alice", "POST", "sessions", body={"transport": "ssh", "device": "sw1"}
    )
    assert status == 201, model
    assert model["transport"] == "ssh" and model["title"] == "sw1"
    assert model["you"]["role"] == "owner"
    sid = model["id"]
    await api.admit("alice", sid, "bob", "coworker")
    await api.admit("alice", sid, "carol", "viewer")
    alice, bob, carol = [await peers(u, sid) for u in ("alice", "bob", "carol")]
    bob.stdin("echo device-$((6*7))\r")
    for peer in (alice, bob, carol):
        await peer.wait_output("device-42")
    # The size follows the participant in control (bob, who typed last).
    bob.send("set_size", 30, 100)
    bob.stdin("stty size\r")
    await alice.wait_output("30 100")
    carol.stdin("echo viewer-typed\r")
    assert (await carol.wait_ctl("error"))["code"] == "forbidden"
    # Agent forwarding is never asked for and nothing is sent as environment.
    events = lab.keyed.events
    assert ("agent_path", None) in events
    assert [e[1] for e in events if e[0] == "env"] == [{}]
    status, _ = await api("alice", "DELETE", "sessions", sid)
    assert status == 204


# --------------------------------------------------------------------------- host keys


async def test_an_unknown_host_key_is_confirmed_by_the_owner_then_pinned(
    api: Api, lab: Lab
) -> None:
    status, step = await api(
        "alice", "POST", "sessions", body={"transport": "ssh", "device": "sw-new"}
    )
    assert status == 202, step
    fingerprint = lab.keyed.host_key.get_fingerprint("sha256")
    assert step["needs"] == "host_key" and step["fingerprint"] == fingerprint
    assert (step["host"], step["port"], step["device"]) == (
        "127.0.0.1", lab.servers["keyed"].port, "sw-new")  # fmt: skip
    assert step["expires_at"] > time.time()
    assert fingerprint in step["message"] and "known_hosts" not in step["message"]
    assert lab.keyed.auth_attempts() == []  # nothing was offered to an unverified host
    lid = step["login"]
    assert await api("alice", "GET", "logins", lid) == (200, step)
    assert (await api("alice", "GET", "logins"))[1] == [step]

    # A fingerprint that is not the presented one changes nothing; the login still waits.
    other = make_key(lab.folder, "other").fingerprint
    status, reply = await api("alice", "POST", "logins", lid, body={"confirm_fingerprint": other})
    assert status == 400 and "not the fingerprint" in reply["message"]
    status, reply = await api("alice", "POST", "logins", lid, body={"answers": ["x"]})
    assert status == 400 and "host key confirmation" in reply["message"]

    status, model = await api(
        "alice", "POST", "logins", lid, body={"confirm_fingerprint": fingerprint}
    )
    assert status == 201, model
    assert model["transport"] == "ssh" and model["title"] == "sw-new"
    assert (await api("alice", "GET", "logins", lid))[0] == 404  # the login is over

    known_hosts = Path(jupyter_data_dir(), "sharedterm", "known_hosts")
    assert stat.S_IMODE(known_hosts.stat().st_mode) == 0o600
    assert fingerprint in _fingerprints(known_hosts)
    # Pinned: the next session (anyone's) needs no confirmation.
    status, again = await api(
        "bob", "POST", "sessions", body={"transport": "ssh", "device": "sw-new"}
    )
    assert status == 201, again


def _fingerprints(known_hosts: Path) -> set[str]:
    found = set()
    for line in known_hosts.read_text().splitlines():
        key = asyncssh.import_public_key(" ".join(line.split()[1:3]))
        found.add(key.get_fingerprint("sha256"))
    return found


async def test_a_changed_host_key_fails_hard_with_no_way_to_confirm(api: Api, lab: Lab) -> None:
    status, reply = await api(
        "alice", "POST", "sessions", body={"transport": "ssh", "device": "sw-changed"}
    )
    assert status == 409, reply
    message = reply["message"]
    assert "CHANGED" in message and lab.keyed.host_key.get_fingerprint("sha256") in message
    assert "intercepting" in message and str(lab.folder) not in message
    assert set(reply) == {"message"}  # no login to continue
    assert (await api("alice", "GET", "logins"))[1] == []
    assert lab.keyed.auth_attempts() == []  # SECURITY 41: not even a user name was sent
    assert lab.wrong.read_text().count("\n") == 1  # the old pin is untouched


# --------------------------------------------------------------------------- prompts and secrets


async def test_a_password_is_asked_of_the_owner_and_leaks_nowhere(
    api: Api, peers: Any, lab: Lab, jp_serverapp: Any, jp_fetch: Any, caplog: Any
) -> None:
    caplog.set_level(logging.DEBUG)
    seen = Seen(api, jp_serverapp)
    status, step = await seen(
        "alice", "POST", "sessions", body={"transport": "ssh", "device": "sw-pass"}
    )
    assert status == 202, step
    assert step["needs"] == "answers" and step["kind"] == "password"
    assert step["prompts"] == [{"text": f"Password for {USER}@127.0.0.1:", "echo": False}]
    assert step["attempt"] == 1 and step["username"] == USER
    lid = step["login"]
    # Nobody else can see or answer it: the same 404 as an id that never existed.
    for method, body in (("GET", None), ("POST", {"answers": [WRONG]}), ("DELETE", None)):
        assert await seen("mallory", method, "logins", lid, body=body) == await seen(
            "mallory", method, "logins", "A" * 22, body=body
        )
        assert (await seen("mallory", method, "logins", lid, body=body))[0] == 404
    assert (await seen("mallory", "GET", "logins"))[1] == []

    status, reply = await seen("alice", "POST", "logins", lid, body={"answers": ["a", "b"]})
    assert status == 400 and "1 answer" in reply["message"]
    status, step = await seen("alice", "POST", "logins", lid, body={"answers": [WRONG]})
    assert status == 202 and step["kind"] == "password" and step["attempt"] == 2
    assert step["login"] == lid
    status, model = await seen("alice", "POST", "logins", lid, body={"answers": [PASSWORD]})
    assert status == 201, model
    sid, rid = model["id"], model["recording"]["id"]

    await api.admit("alice", sid, "bob", "coworker")
    alice, bob = await peers("alice", sid), await peers("bob", sid)
    alice.stdin("env; echo env-$((1+1))\r")
    await bob.wait_output("env-2")
    assert "SSH_AUTH_SOCK" not in alice.output  # agent forwarding off
    await seen("alice", "DELETE", "sessions", sid)
    await bob.wait_closed()
    await wait_recording_finished(api, "alice", rid)
    cast = await download(jp_fetch, "alice", rid)
    assert "env-2" in cast  # the recording works...

    everything = seen.everything() + cast + alice.output + bob.output + caplog.text
    for secret in (PASSWORD, WRONG):
        assert secret not in everything  # ...and holds no password, nor does anything else
    assert any(e["action"] == "session_create" and e["session"] == sid for e in seen.audit)
    assert "sw-pass" in caplog.text  # the logs were captured at all


async def test_keyboard_interactive_questions_are_answered_through_the_login(
    api: Api, peers: Any, lab: Lab, jp_serverapp: Any, jp_fetch: Any, caplog: Any
) -> None:
    caplog.set_level(logging.DEBUG)
    seen = Seen(api, jp_serverapp)
    status, step = await seen(
        "alice", "POST", "sessions", body={"transport": "ssh", "device": "sw-kbd"}
    )
    assert status == 202, step
    assert step["needs"] == "answers" and step["kind"] == "keyboard-interactive"
    assert step["name"] == "Device login" and step["instructions"] == "Answer both questions."
    assert step["prompts"] == [
        {"text": "Password: ", "echo": False},
        {"text": "One-time code: ", "echo": True},
    ]
    lid = step["login"]
    status, reply = await seen(
        "alice", "POST", "logins", lid, body={"confirm_fingerprint": "SHA256:" + "A" * 43}
    )
    assert status == 400 and "not waiting for a host key" in reply["message"]
    status, model = await seen("alice", "POST", "logins", lid, body={"answers": [PASSWORD, OTP]})
    assert status == 201, model
    alice = await peers("alice", model["id"])
    alice.stdin("echo kbd-$((3*3))\r")
    await alice.wait_output("kbd-9")
    await seen("alice", "DELETE", "sessions", model["id"])
    await alice.wait_closed()
    await wait_recording_finished(api, "alice", model["recording"]["id"])
    cast = await download(jp_fetch, "alice", model["recording"]["id"])
    everything = seen.everything() + cast + alice.output + caplog.text
    assert PASSWORD not in everything and OTP not in everything


async def test_a_refused_password_ends_the_login_with_a_plain_error(api: Api, lab: Lab) -> None:
    status, step = await api(
        "alice", "POST", "sessions", body={"transport": "ssh", "device": "sw-pass"}
    )
    lid = step["login"]
    for attempt in (1, 2, 3):
        assert status == 202 and step["attempt"] == attempt, step
        status, step = await api("alice", "POST", "logins", lid, body={"answers": [WRONG]})
    assert status == 403, step
    assert "authentication to 127.0.0.1" in step["message"] and WRONG not in step["message"]
    assert (await api("alice", "GET", "logins", lid))[0] == 404


# --------------------------------------------------------------------------- logins


async def test_logins_belong_to_their_owner_are_bounded_and_can_be_cancelled(
    api: Api, lab: Lab
) -> None:
    body = {"transport": "ssh", "device": "sw-new"}
    lids = []
    for _ in range(3):
        status, step = await api("alice", "POST", "sessions", body=body)
        assert status == 202 and step["needs"] == "host_key"
        lids.append(step["login"])
    status, reply = await api("alice", "POST", "sessions", body=body)
    assert status == 429 and "3 device logins waiting" in reply["message"]
    assert (await api("bob", "POST", "sessions", body=body))[0] == 202  # bob has his own
    fingerprint = lab.keyed.host_key.get_fingerprint("sha256")
    status, _ = await api(
        "bob", "POST", "logins", lids[0], body={"confirm_fingerprint": fingerprint}
    )
    assert status == 404  # bob cannot continue alice's login
    assert (await api("bob", "DELETE", "logins", lids[0]))[0] == 404
    assert (await api("alice", "DELETE", "logins", lids[0]))[0] == 204
    assert (await api("alice", "GET", "logins", lids[0]))[0] == 404
    assert (await api("alice", "POST", "sessions", body=body))[0] == 202  # room again
    assert not Path(jupyter_data_dir(), "sharedterm", "known_hosts").read_text()  # never pinned


@pytest.mark.parametrize("login_wait", [0.5])
async def test_a_login_nobody_answers_expires(api: Api, lab: Lab) -> None:
    status, step = await api(
        "alice", "POST", "sessions", body={"transport": "ssh", "device": "sw-pass"}
    )
    assert status == 202
    lid = step["login"]

    async def gone() -> None:
        while (await api("alice", "GET", "logins", lid))[0] != 404:
            await asyncio.sleep(0.1)

    await asyncio.wait_for(gone(), DEADLINE)
    status, reply = await api("alice", "POST", "logins", lid, body={"answers": [PASSWORD]})
    assert status == 404 and "expired" in reply["message"]
    await lab.secret.wait_for(lambda: not lab.secret.connections, "the abandoned connection closed")


# --------------------------------------------------------------------------- ad-hoc targets


async def test_ad_hoc_targets_are_refused_unless_allowed(api: Api, lab: Lab) -> None:
    port = lab.servers["secret"].port
    body = {"transport": "ssh", "host": "127.0.0.1", "port": port, "username": USER}
    status, reply = await api("alice", "POST", "sessions", body=body)
    assert status == 403 and "only to configured devices" in reply["message"]
    assert lab.secret.events == []  # not even a connection


@pytest.mark.parametrize("allow_adhoc", [True])
async def test_ad_hoc_targets_where_allowed_pin_keys_per_person(api: Api, lab: Lab) -> None:
    assert (await api("alice", "GET", "devices"))[1]["adhoc"] is True
    port = lab.servers["secret"].port
    body = {"transport": "ssh", "host": "127.0.0.1", "port": port, "username": USER}
    status, step = await api("alice", "POST", "sessions", body=body)
    assert status == 202 and step["needs"] == "host_key", step
    lid = step["login"]
    status, step = await api(
        "alice", "POST", "logins", lid, body={"confirm_fingerprint": step["fingerprint"]}
    )
    assert status == 202 and step["needs"] == "answers", step
    assert step["kind"] == "keyboard-interactive"  # tried first, then password
    status, model = await api("alice", "POST", "logins", lid, body={"answers": [PASSWORD, OTP]})
    assert status == 201 and model["title"] == f"{USER}@127.0.0.1:{port}", model
    # Alice's confirmation counts for alice's ad-hoc sessions only.
    status, step = await api("alice", "POST", "sessions", body=body)
    assert status == 202 and step["needs"] == "answers"
    status, step = await api("bob", "POST", "sessions", body=body)
    assert status == 202 and step["needs"] == "host_key"
    assert not Path(jupyter_data_dir(), "sharedterm", "known_hosts").read_text()
    # Ad-hoc targets never get the server's keys (the keyed device accepts only those).
    keyed = {**body, "port": lab.servers["keyed"].port}
    status, step = await api("carol", "POST", "sessions", body=keyed)
    status, reply = await api(
        "carol", "POST", "logins", step["login"], body={"confirm_fingerprint": step["fingerprint"]}
    )
    assert status == 403 and "authentication" in reply["message"], reply
    assert not [e for e in lab.keyed.events if e[0] == "publickey"]


@pytest.mark.parametrize(
    "body, status, message",
    [
        ({"transport": "ssh"}, 400, 'needs "device"'),
        ({"transport": "ssh", "device": "../etc"}, 400, '"device" must be'),
        ({"transport": "ssh", "device": "nope"}, 404, "No device named 'nope'"),
        ({"transport": "ssh", "device": "sw1", "host": "x"}, 400, "not both"),
        ({"transport": "ssh", "device": "sw1", "cwd": "x"}, 400, "Unknown field 'cwd'"),
        ({"transport": "ssh", "host": "-oProxyCommand=x", "username": "a"}, 400, '"host"'),
        ({"transport": "ssh", "host": "h", "username": "a b"}, 400, '"username"'),
        ({"transport": "ssh", "host": "h", "username": "a", "port": "22"}, 400, '"port"'),
        ({"transport": "ssh", "host": "h", "username": "a", "port": True}, 400, '"port"'),
        ({"transport": "local", "device": "sw1"}, 400, "Unknown field 'device'"),
    ],
)
async def test_bad_device_session_bodies_get_a_clear_error(
    api: Api, body: dict[str, Any], status: int, message: str
) -> None:
    got, reply = await api("alice", "POST", "sessions", body=body)
    assert got == status and message in reply["message"], reply


@pytest.mark.parametrize(
    "body, message",
    [
        ({}, "either"),
        ({"answers": [], "confirm_fingerprint": "x"}, "either"),
        ({"confirm_fingerprint": "MD5:aa"}, "SHA256:"),
        ({"answers": "x"}, "list"),
        ({"answers": [1]}, "list"),
        ({"answers": ["\ud800" + PASSWORD]}, "valid text"),
        ({"answers": [PASSWORD * 1000]}, "valid text"),
        ({"surprise": PASSWORD}, "Unknown field"),
    ],
)
async def test_bad_login_replies_are_refused_without_echoing_them(
    api: Api, lab: Lab, body: dict[str, Any], message: str
) -> None:
    status, step = await api(
        "alice", "POST", "sessions", body={"transport": "ssh", "device": "sw-pass"}
    )
    raw = json.dumps(body).encode()  # lone surrogates travel as JSON escapes, as a browser sends
    status, reply = await api("alice", "POST", "logins", step["login"], raw=raw)
    assert status == 400 and message in reply["message"], reply
    assert PASSWORD not in reply["message"]
    assert (await api("alice", "GET", "logins", step["login"]))[1]["needs"] == "answers"


# --------------------------------------------------------------------------- configuration


@pytest.mark.parametrize(
    "devices, message",
    [
        ({"sw1": {"host": "h"}}, "device 'sw1': the 'username' setting is required"),
        ({"sw1": {"host": "h", "username": "u", "prot": 22}}, "unknown setting(s) ['prot']"),
        ({"sw1": {"host": "h", "username": "u", "jump": "gw"}}, "'jump' names 'gw'"),
        ({"sw1": {"host": "h", "username": "u", "port": "22"}}, "'port' must be an integer"),
        ({"bad name": {"host": "h", "username": "u"}}, "device name 'bad name'"),
        ({"sw1": {"host": "h", "username": "u", "known_hosts": "{shared}"}}, "chmod 600"),
    ],
)
async def test_a_bad_device_configuration_stops_the_extension_with_a_clear_error(
    jp_configurable_serverapp: Any,
    jp_server_config: dict[str, Any],
    tmp_path: Path,
    devices: dict[str, Any],
    message: str,
) -> None:
    shared = tmp_path / "shared_known_hosts"
    shared.write_text("")
    os.chmod(shared, 0o666)
    text = json.dumps(devices).replace("{shared}", str(shared))
    jp_server_config["SharedTermApp"]["devices"] = json.loads(text)
    with pytest.raises(SshConfigError) as refused:
        jp_configurable_serverapp(config=jp_server_config)
    assert message in str(refused.value)
    assert str(refused.value).startswith("c.SharedTermApp.devices")


# --------------------------------------------------------------------------- the link goes away


async def test_a_dropped_link_ends_the_session_for_everyone_and_stops_the_recording(
    api: Api, peers: Any, lab: Lab, jp_fetch: Any
) -> None:
    status, model = await api(
        "alice", "POST", "sessions", body={"transport": "ssh", "device": "sw1"}
    )
    assert status == 201, model
    sid, rid = model["id"], model["recording"]["id"]
    await api.admit("alice", sid, "bob", "viewer")
    alice, bob = await peers("alice", sid), await peers("bob", sid)
    alice.stdin("echo up-$((2*2))\r")
    await bob.wait_output("up-4")
    dropped = time.monotonic()
    lab.servers["keyed"].abort_connections()  # the device loses power: no goodbye
    for peer in (alice, bob):
        assert await peer.wait_closed() == 4000
        kind, code, reason = peer.frames[-1]
        assert (kind, code) == ("disconnect", 4000)
        assert reason.startswith("The terminal is gone: connection lost"), reason
    assert time.monotonic() - dropped < 2.0  # SECURITY 46: within about a second
    status, ended = await api("bob", "GET", "sessions", sid)
    assert ended["state"] == "ended" and ended["end_reason"] == reason
    meta = await wait_recording_finished(api, "alice", rid)
    assert meta["end_reason"] == reason
    cast = await download(jp_fetch, "alice", rid)
    assert "up-4" in cast
    assert markers(cast)[-1] == f"recording stopped: {reason}"


async def test_a_silent_dead_link_is_found_by_keepalives(api: Api, peers: Any, lab: Lab) -> None:
    status, model = await api(
        "alice", "POST", "sessions", body={"transport": "ssh", "device": "sw-relay"}
    )
    assert status == 201, model
    alice = await peers("alice", model["id"])
    alice.stdin("echo relayed-$((5*5))\r")
    await alice.wait_output("relayed-25")
    lab.servers["relay"].freeze()  # no FIN, no RST: only keepalives can tell
    assert await alice.wait_closed() == 4000
    assert "stopped answering keepalives" in alice.frames[-1][2]


# --------------------------------------------------------------------------- Debian OpenSSH


@pytest.mark.sshd
@pytest.mark.parametrize("use_sshd", [True])
async def test_openssh_device_session_confirm_pin_share_and_lose(
    api: Api, peers: Any, lab: Lab, jp_fetch: Any
) -> None:
    body = {"transport": "ssh", "device": "debian"}
    status, step = await api("alice", "POST", "sessions", body=body)
    assert status == 202 and step["needs"] == "host_key", step
    assert step["fingerprint"] == lab.sshd.host_key.fingerprint
    status, first = await api(
        "alice", "POST", "logins", step["login"], body={"confirm_fingerprint": step["fingerprint"]}
    )
    assert status == 201, first
    assert (await api("alice", "DELETE", "sessions", first["id"]))[0] == 204

    status, model = await api("alice", "POST", "sessions", body=body)  # pinned: no question
    assert status == 201, model
    sid, rid = model["id"], model["recording"]["id"]
    await api.admit("alice", sid, "bob", "coworker")
    await api.admit("alice", sid, "carol", "viewer")
    alice, bob, carol = [await peers(u, sid) for u in ("alice", "bob", "carol")]
    bob.stdin('echo "debian-$((6*7)) agent=[${SSH_AUTH_SOCK-}]"\r')
    for peer in (alice, bob, carol):
        await peer.wait_output("debian-42 agent=[]")
    bob.send("set_size", 40, 132)
    bob.stdin("stty size\r")
    await carol.wait_output("40 132")
    lab.sshd.kill_all()  # kill -9 every sshd process: the device is gone
    for peer in (alice, bob, carol):
        assert await peer.wait_closed() == 4000
        assert peer.frames[-1][2].startswith("The terminal is gone:"), peer.frames[-1]
    reason = alice.frames[-1][2]
    meta = await wait_recording_finished(api, "alice", rid)
    assert meta["end_reason"] == reason
    assert markers(await download(jp_fetch, "alice", rid))[-1] == f"recording stopped: {reason}"
