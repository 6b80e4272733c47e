"""Team presence through a real server: several users' tabs over the presence websocket
(Yjs sync plus hints) and `GET api/sharedterm/presence`."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from pycrdt import (
    Doc,
    Map,
    YMessageType,
    YSyncMessageType,
    create_sync_message,
    create_update_message,
    read_message,
    write_message,
)
from support import DEADLINE
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.websocket import WebSocketClientConnection, websocket_connect

SYNC = ("api", "sharedterm", "presence", "sync")


class Tab:
    """One browser tab's presence connection: a local copy of the document, kept in sync."""

    def __init__(self, user: str, ws: WebSocketClientConnection) -> None:
        self.user = user
        self.ws = ws
        self.doc: Doc[Any] = Doc()
        self.people: Map[Any] = self.doc.get("people", type=Map)
        self.frames = 0
        self.closed = asyncio.get_running_loop().create_future()
        self._changed = asyncio.Event()
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        while (msg := await self.ws.read_message()) is not None:
            assert isinstance(msg, bytes), msg
            assert msg[0] == YMessageType.SYNC, msg
            assert msg[1] in (YSyncMessageType.SYNC_STEP2, YSyncMessageType.SYNC_UPDATE), msg
            self.doc.apply_update(read_message(msg[2:]))
            self.frames += 1
            self._changed.set()
        self.closed.set_result(self.ws.close_code)
        self._changed.set()

    def state(self, user: str) -> str | None:
        entry = self.people.to_py().get(user)
        return None if entry is None else str(entry["state"])

    async def wait_for(self, check: Callable[[], Any], what: str) -> Any:
        async def loop() -> Any:
            while not (result := check()):
                if self.closed.done():
                    raise AssertionError(f"{self.user}: closed while waiting for {what}")
                self._changed.clear()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), 0.1)
            return result

        try:
            return await asyncio.wait_for(loop(), DEADLINE)
        except asyncio.TimeoutError:
            raise AssertionError(f"{self.user}: timed out waiting for {what}") from None

    async def wait_state(self, user: str, state: str) -> None:
        await self.wait_for(lambda: self.state(user) == state, f"{user} {state}")

    def hint(self, hint: str) -> None:
        self.ws.write_message(json.dumps({"hint": hint}))

    def close(self) -> None:
        self.ws.close()


@pytest.fixture
def tabs(jp_ws_fetch: Callable[..., Awaitable[Any]]) -> Iterator[Any]:
    opened: list[Tab] = []

    async def open_tab(user: str) -> Tab:
        tab = Tab(user, await jp_ws_fetch(*SYNC, headers={"X-Test-User": user}))
        opened.append(tab)
        await tab.wait_for(lambda: tab.state(user), f"{user} in the document")
        return tab

    yield open_tab
    for tab in opened:
        tab.close()


async def presence(jp_fetch: Any, user: str) -> dict[str, dict[str, Any]]:
    r = await jp_fetch("api", "sharedterm", "presence", headers={"X-Test-User": user})
    return {p["user"]: p for p in json.loads(r.body)}


async def test_two_users_see_each_other_come_work_and_go(tabs: Any, jp_fetch: Any) -> None:
    alice = await tabs("alice")
    bob = await tabs("bob")
    await alice.wait_state("bob", "idle")
    assert bob.people.to_py()["alice"]["name"] == "Alice"

    alice.hint("input")
    await bob.wait_state("alice", "active")
    second = await tabs("alice")
    second.hint("hidden")
    alice.close()  # the active tab closes; only the hidden one is left
    await bob.wait_state("alice", "away")
    second.hint("visible")
    await bob.wait_state("alice", "idle")
    second.close()
    await bob.wait_state("alice", "offline")

    listed = await presence(jp_fetch, "bob")
    assert listed["alice"]["state"] == "offline"
    assert listed["bob"]["state"] == "idle"
    assert listed["alice"]["since"] % 60 == 0
    assert set(listed["alice"]) == {"user", "name", "state", "since"}


async def test_an_active_tab_plus_a_hidden_one_is_active(tabs: Any, jp_fetch: Any) -> None:
    alice = await tabs("alice")
    hidden = await tabs("alice")
    bob = await tabs("bob")
    alice.hint("input")
    await bob.wait_state("alice", "active")
    frames = hidden.frames
    hidden.hint("hidden")
    hidden.ws.write_message(create_sync_message(hidden.doc), binary=True)
    await hidden.wait_for(lambda: hidden.frames > frames, "the answer to sync step 1")
    assert (await presence(jp_fetch, "bob"))["alice"]["state"] == "active"
    assert bob.state("alice") == "active"


def spoof(tab: Tab, entries: dict[str, dict[str, Any]]) -> bytes:
    """An update built on the tab's copy that rewrites people's entries."""
    before = tab.doc.get_state()
    with tab.doc.transaction():
        for user, entry in entries.items():
            tab.people[user] = entry
    return tab.doc.get_update(before)


async def test_a_client_cannot_write_anyones_presence(tabs: Any, jp_fetch: Any) -> None:
    alice = await tabs("alice")
    bob = await tabs("bob")
    await alice.wait_state("bob", "idle")
    update = spoof(
        alice,
        {
            "bob": {"name": "Bobby", "state": "offline", "since": 0, "role": "owner"},
            "alice": {"name": "Admin", "state": "active", "since": 0, "role": "owner"},
            "mallory": {"name": "Mallory", "state": "active", "since": 0},
        },
    )
    for message in (
        create_update_message(update),
        bytes([YMessageType.SYNC, YSyncMessageType.SYNC_STEP2]) + write_message(update),
        bytes([YMessageType.AWARENESS]) + update,
    ):
        alice.ws.write_message(message, binary=True)
    frames = bob.frames
    alice.hint("input")  # a barrier: frames on one socket are handled in order
    await bob.wait_state("alice", "active")
    assert bob.frames == frames + 1  # that one change, nothing from the spoof
    assert bob.people.to_py()["bob"]["name"] == "Bob"
    assert bob.state("bob") == "idle"
    assert "mallory" not in bob.people.to_py()
    listed = await presence(jp_fetch, "bob")
    assert set(listed) == {"alice", "bob"}
    assert (listed["alice"]["name"], listed["bob"]["state"]) == ("Alice", "idle")


async def test_a_closed_tab_is_offline_for_others_promptly(tabs: Any) -> None:
    alice = await tabs("alice")
    bob = await tabs("bob")
    await bob.wait_state("alice", "idle")
    alice.close()
    await bob.wait_state("alice", "offline")  # on the close frame; no ping timeout involved


@pytest.fixture
def jp_server_config(jp_server_config: Any) -> dict[str, Any]:
    jp_server_config["SharedTermApp"].update(
        presence_ping_interval_seconds=0.5, presence_ping_timeout_seconds=5.0
    )
    return jp_server_config


async def test_a_tab_that_stops_answering_pings_goes_offline(tabs: Any) -> None:
    alice = await tabs("alice")
    bob = await tabs("bob")
    await bob.wait_state("alice", "idle")
    protocol = alice.ws.protocol
    assert protocol is not None
    # The network eats alice's pongs from now on (tornado's client answers pings here).
    protocol._send_pong = lambda data: None  # type: ignore[attr-defined]
    await bob.wait_state("alice", "offline")
    assert await asyncio.wait_for(alice.closed, DEADLINE) == 4408
    assert not bob.closed.done() and bob.state("bob") == "idle"  # bob answers: he stays


async def test_a_bad_hint_closes_the_socket_with_a_message(tabs: Any) -> None:
    alice = await tabs("alice")
    alice.ws.write_message('{"hint": "typing-now"}')
    assert await asyncio.wait_for(alice.closed, DEADLINE) == 4400
    assert "input" in (alice.ws.close_reason or "")


async def test_no_presence_without_a_jupyter_identity(
    jp_http_port: int, jp_base_url: str, jp_fetch: Any
) -> None:
    url = f"ws://127.0.0.1:{jp_http_port}{jp_base_url}{'/'.join(SYNC)}"
    with pytest.raises(HTTPClientError) as refused:
        await websocket_connect(HTTPRequest(url))
    assert refused.value.code in (401, 403)
    with pytest.raises(HTTPClientError) as listed:
        await jp_fetch("api", "sharedterm", "presence", headers={"Authorization": ""})
    assert listed.value.code in (401, 403)
