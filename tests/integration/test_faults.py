"""Faults and side doors: stalled clients, absent owners, reconnects, Origin and XSRF, and
the stock terminal routes of a JupyterLab terminal once it is shared."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
from typing import Any

import pytest
from support import DEADLINE, Api, open_lab_terminal
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.websocket import websocket_connect

QUEUE_LIMIT = 1 << 20  # above one read batch (256 KiB), far below the output


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any]) -> dict[str, Any]:
    jp_server_config["SharedTermApp"].update(
        owner_grace_seconds=1.0, stall_timeout_seconds=2.0, client_queue_bytes=QUEUE_LIMIT
    )
    return jp_server_config


def live_session(serverapp: Any, sid: str) -> Any:
    return serverapp.web_app.settings["sharedterm_manager"].get(sid)


async def open_stalled_socket(port: int, path: str, headers: dict[str, str]) -> socket.socket:
    """A websocket client that completes the handshake and then never reads again."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    await loop.sock_connect(sock, ("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [
        f"GET {path} HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    await loop.sock_sendall(sock, ("\r\n".join(lines) + "\r\n\r\n").encode())
    reply = b""
    while b"\r\n\r\n" not in reply:
        reply += await asyncio.wait_for(loop.sock_recv(sock, 1), DEADLINE)
    assert reply.startswith(b"HTTP/1.1 101"), reply
    return sock


async def test_a_stalled_reader_is_bounded_then_dropped_and_others_carry_on(
    api: Api,
    peers: Any,
    jp_serverapp: Any,
    jp_http_port: int,
    jp_base_url: str,
    jp_auth_header: dict[str, str],
) -> None:
    sid = (await api.share_shell("alice"))["id"]
    await api.admit("alice", sid, "bob", "viewer")
    alice = await peers("alice", sid)
    stalled = await open_stalled_socket(
        jp_http_port,
        f"{jp_base_url}api/sharedterm/sessions/{sid}/terminal",
        {**jp_auth_header, "X-Test-User": "bob"},
    )
    live = live_session(jp_serverapp, sid)
    stalled_client = next(c for c in live.clients if c.pid != alice.setup["participant"])
    peak = 0

    async def sample() -> None:
        nonlocal peak
        while True:
            peak = max(peak, stalled_client._queued_bytes)
            await asyncio.sleep(0.005)

    sampler = asyncio.ensure_future(sample())
    try:
        # About 27 MB of output: far more than the socket buffers and the client's queue hold.
        alice.stdin("head -c 20000000 /dev/zero | base64 -w 76; echo done-$((6*7))\r")
        await alice.wait_output("done-42")

        async def dropped() -> None:
            while stalled_client in live.clients:
                await asyncio.sleep(0.05)

        await asyncio.wait_for(dropped(), DEADLINE)
    finally:
        sampler.cancel()
        stalled.close()
    assert 0 < peak <= QUEUE_LIMIT  # the stalled reader never held more than its queue


async def test_a_slow_reader_is_resynced_to_the_current_screen(
    api: Api, peers: Any, jp_serverapp: Any
) -> None:
    sid = (await api.share_shell("alice"))["id"]
    await api.admit("alice", sid, "bob", "viewer")
    alice, bob = await peers("alice", sid), await peers("bob", sid)
    alice.stdin("for i in $(seq 1 30); do echo before-$i; done\r")
    await bob.wait_output("before-30")
    live = live_session(jp_serverapp, sid)
    bob_client = next(c for c in live.clients if c.pid == bob.setup["participant"])
    bob_client.push(b"x" * (QUEUE_LIMIT + 1))  # as if bob fell a whole queue behind
    alice.stdin("printf '\\033[2J\\033[5;10Hmoved'; echo; echo resynced-$((2*2))\r")
    await bob.wait_output("resynced-4")
    # bob skipped ahead: a repaint of the current screen (scrollback kept), not the queue
    assert any(chunk.startswith("\x18\x1b[?1049l\x1b[!p") for chunk in bob.chunks[1:])
    assert not any(chunk.startswith("xxxx") for chunk in bob.chunks)
    await bob.wait_for(lambda: bob.display() == alice.display(), "the owner's screen")


async def test_an_absent_owner_ends_the_session_after_the_grace_period(
    api: Api, peers: Any
) -> None:
    sid = (await api.share_shell("alice"))["id"]
    await api.admit("alice", sid, "bob", "coworker")
    alice, bob = await peers("alice", sid), await peers("bob", sid)
    alice.close()
    notice = await bob.wait_ctl("notice", lambda n: n["code"] == "owner_away")
    assert "ends in 1 s" in notice["message"]
    assert await bob.wait_closed() == 4000
    assert bob.frames[-1] == ["disconnect", 4000, "No owner returned to the session."]


async def test_an_owner_who_returns_in_time_keeps_the_session(api: Api, peers: Any) -> None:
    sid = (await api.share_shell("alice"))["id"]
    await api.admit("alice", sid, "bob", "coworker")
    alice, bob = await peers("alice", sid), await peers("bob", sid)
    alice.close()
    await bob.wait_ctl("notice", lambda n: n["code"] == "owner_away")
    alice = await peers("alice", sid)
    await bob.wait_ctl("notice", lambda n: n["code"] == "owner_back")
    await asyncio.sleep(1.5)  # past the grace period: nothing may end the session now
    bob.stdin("echo kept-$((3+4))\r")
    await alice.wait_output("kept-7")


async def test_a_reconnect_sees_the_screen_and_returns_with_its_current_role(
    api: Api, peers: Any
) -> None:
    sid = (await api.share_shell("alice"))["id"]
    bob_id = await api.admit("alice", sid, "bob", "coworker")
    alice, bob = await peers("alice", sid), await peers("bob", sid)
    bob.stdin("echo first-$((5*5))\r")
    await alice.wait_output("first-25")
    bob.close()
    await api("alice", "PATCH", "sessions", sid, "participants", bob_id, body={"role": "viewer"})
    bob = await peers("bob", sid)
    assert bob.setup["role"] == "viewer"
    await bob.wait_output("first-25")  # the current screen, without a replay of the stream
    bob.stdin("echo second\r")
    assert (await bob.wait_ctl("error"))["code"] == "forbidden"


async def _login_cookie(jp_fetch: Any) -> str:
    response = await jp_fetch("api", "me")
    cookies = [c.split(";")[0] for c in response.headers.get_list("Set-Cookie")]
    login = [c for c in cookies if c.startswith("username-")]
    assert login, cookies
    return login[0]


@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://127.0.0.1.evil.example"])
async def test_a_foreign_origin_is_refused_before_the_upgrade(
    api: Api, jp_fetch: Any, jp_http_port: int, jp_base_url: str, origin: str
) -> None:
    sid = (await api.share_shell("alice"))["id"]
    cookie = await _login_cookie(jp_fetch)  # issued for 127.0.0.1, so connect there

    def connect(origin: str) -> Any:
        url = f"ws://127.0.0.1:{jp_http_port}{jp_base_url}api/sharedterm/sessions/{sid}/terminal"
        headers = {"Cookie": cookie, "X-Test-User": "alice", "Origin": origin}
        return websocket_connect(HTTPRequest(url, headers=headers))

    with pytest.raises(HTTPClientError) as refused:
        await connect(origin)
    assert refused.value.code == 403
    same_origin = await connect(f"http://127.0.0.1:{jp_http_port}")
    assert json.loads(await same_origin.read_message())[0] == "setup"  # the cookie alone works
    same_origin.close()


async def test_cookie_writes_need_the_xsrf_token(api: Api, jp_fetch: Any) -> None:
    cookie = await _login_cookie(jp_fetch)
    browser = {"Authorization": "", "X-Test-User": "alice"}
    status, reply = await api(
        "alice", "POST", "sessions", body={}, headers={**browser, "Cookie": cookie}
    )
    assert status == 403 and "_xsrf" in reply["message"]
    status, _ = await api(
        "alice",
        "POST",
        "sessions",
        body={},
        headers={**browser, "Cookie": f"{cookie}; _xsrf=t0k3n", "X-XSRFToken": "t0k3n"},
    )
    assert status == 201


async def test_sharing_a_lab_terminal_closes_every_side_door(
    api: Api, peers: Any, jp_fetch: Any, jp_ws_fetch: Any
) -> None:
    name, stock = await open_lab_terminal(
        jp_fetch, jp_ws_fetch, "echo before-$((20+22))", "before-42"
    )

    status, model = await api("alice", "POST", "sessions", body={"terminal": name})
    assert status == 201 and model["title"] == f"Terminal {name}"
    while await asyncio.wait_for(stock.read_message(), DEADLINE) is not None:
        pass  # until the server closes the stock socket
    stock.close()
    listed = json.loads((await jp_fetch("api", "terminals")).body)
    assert name not in [t["name"] for t in listed]
    for method in ("GET", "DELETE"):
        with pytest.raises(HTTPClientError) as gone:
            await jp_fetch("api", "terminals", name, method=method)
        assert gone.value.code == 404
    with pytest.raises(HTTPClientError) as gone:
        await jp_ws_fetch("terminals", "websocket", name)
    assert gone.value.code == 404
    again = await api("alice", "POST", "sessions", body={"terminal": name})
    assert again[0] == 404 and "no open terminal" in again[1]["message"]

    alice = await peers("alice", model["id"])
    await alice.wait_output("before-42")  # the history came along
    alice.stdin("echo after-$((1+1))\r")
    await alice.wait_output("after-2")


async def test_killing_the_shell_ends_the_session_for_everyone(api: Api, peers: Any) -> None:
    sid = (await api.share_shell("alice"))["id"]
    await api.admit("alice", sid, "bob", "viewer")
    alice, bob = await peers("alice", sid), await peers("bob", sid)
    alice.stdin("kill -9 $$\r")
    for peer in (alice, bob):
        assert await peer.wait_closed() == 4000
        assert peer.frames[-1][2].startswith("The terminal is gone: the shell")
    _, model = await api("bob", "GET", "sessions", sid)
    assert model["state"] == "ended" and "killed by signal 9" in model["end_reason"]
