"""Memories through a real server: who reads, who deletes, guests, bad input, the session view,
and a restart."""

from __future__ import annotations

import json
import os
import socket
import stat
from pathlib import Path
from typing import Any

import pytest
from support import Api, BashDevice, ServerProcess
from test_guests import Guest
from tornado.httpclient import HTTPClientError

from jupyter_sharedterm.memories.sqlite import DB_NAME


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any]) -> dict[str, Any]:
    shared = {**jp_server_config["SharedTermApp"], "max_memories_per_user": 3}
    return {**jp_server_config, "SharedTermApp": {**shared, "max_memory_chars": 200}}


async def remember(api: Api, user: str, **body: Any) -> dict[str, Any]:
    status, memory = await api(user, "POST", "memories", body=body)
    assert status == 201, memory
    return dict(memory)


@pytest.fixture
def find(jp_fetch: Any) -> Any:
    """`await find(user, q=..., target=...)`: (status, answer) of a search."""

    async def call(user: str, **params: str) -> tuple[int, Any]:
        response = await jp_fetch(
            "api",
            "sharedterm",
            "memories",
            params=params,
            headers={"X-Test-User": user},
            raise_error=False,
        )
        return response.code, json.loads(response.body)

    return call


async def search(find: Any, user: str, **params: str) -> list[dict[str, Any]]:
    status, found = await find(user, **params)
    assert status == 200, found
    return list(found)


async def test_every_signed_in_user_reads_and_only_the_author_deletes(find: Any, api: Api) -> None:
    memory = await remember(
        api, "alice", text="R1's uplink flaps when the optic is warm", target="r1"
    )
    assert set(memory) == {"id", "text", "target", "source", "author", "created"}
    assert (memory["target"], memory["source"], memory["author"]) == ("r1", None, "alice")
    other = await remember(api, "bob", text="sw2 reboots take 4 minutes", target="sw2")

    assert await search(find, "bob", q="uplink") == [memory]
    assert await search(find, "carol", target="R1") == [memory]  # host names: any case
    assert await search(find, "carol", q="reboots", target="sw2") == [other]
    assert await search(find, "carol", q="reboots", target="r1") == []
    assert [m["id"] for m in await search(find, "carol")] == [other["id"], memory["id"]]

    status, refused = await api("bob", "DELETE", "memories", memory["id"])
    assert status == 403
    assert refused["message"] == "Only the person who saved a memory may delete it."
    assert await search(find, "bob", q="uplink") == [memory]
    status, _ = await api("alice", "DELETE", "memories", memory["id"])
    assert status == 204
    assert await search(find, "bob", q="uplink") == []
    for mid in (memory["id"], "A" * 22, "not-an-id"):
        status, unknown = await api("alice", "DELETE", "memories", mid)
        assert (status, unknown["message"]) == (404, "No such memory.")


async def test_guests_never_reach_memories(
    find: Any, api: Api, jp_fetch: Any, jp_base_url: str, jp_ws_fetch: Any
) -> None:
    memory = await remember(api, "alice", text="private to the team")
    sid = (await api.share_shell("alice"))["id"]
    iid, secret = await api.invite("alice", sid, "viewer")
    guest = Guest(jp_fetch, jp_ws_fetch, jp_base_url)
    await guest.enter(iid, secret)
    cookie = guest.cookies_for(guest.socket_path(sid))  # sent even where a browser would not
    assert cookie
    calls = [
        ("GET", ("memories",), {}, None),
        ("GET", ("memories",), {"q": "team"}, None),
        ("POST", ("memories",), {}, {"text": "a guest's note"}),
        ("DELETE", ("memories", memory["id"]), {}, None),
        ("GET", ("sessions", sid), {}, None),  # the session model, where memories are shown
    ]
    for method, parts, params, body in calls:
        response = await guest.request(
            method,
            "api",
            "sharedterm",
            *parts,
            params=params,
            body=body,
            headers={"Cookie": cookie, "X-XSRFToken": guest.xsrf},
        )
        assert response.code == 403, (method, parts, response.body)
        assert b"private to the team" not in response.body
    assert await search(find, "bob") == [memory]  # nothing added, nothing deleted


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"text": ""}, '"text" must not be empty.'),
        ({"text": "x" * 201}, '"text" has 201 characters; a memory may have at most 200.'),
        ({"text": "x", "target": "root@r1"}, '"target" must be a host name'),
        ({"text": "x", "author": "bob"}, "Unknown field 'author'"),
        ({"text": "x", "source": {"recording": "R" * 32, "time": -1}}, '"source.time"'),
        ({"text": "x", "source": {"recording": "R" * 32, "time": 1}}, '"source.recording" is not'),
        ([1, 2], "The request body must be a JSON object."),
    ],
)
async def test_bad_input_gets_a_clear_400(find: Any, api: Api, body: Any, says: str) -> None:
    status, refused = await api("alice", "POST", "memories", body=body)
    assert status == 400
    assert refused["message"].startswith(says), refused
    assert await search(find, "alice") == []


async def test_bad_queries_and_hostile_search_text(api: Api, find: Any) -> None:
    await remember(api, "alice", text='uplink "NEAR" (the optic)')
    for query in ({"target": "a b"}, {"target": ""}, {"q": "x" * 501}):
        status, refused = await find("alice", **query)
        assert status == 400, query
        assert refused["message"].startswith(('"target" must be', '"q" must be'))
    for q in ('"', "NEAR(", "uplink AND", "((", "text:optic", "'; DROP TABLE memories", "*"):
        status, _ = await find("alice", q=q)
        assert status == 200, q
    assert len(await search(find, "bob", q="NEAR(")) == 1  # the word, not the operator


async def test_a_memory_cites_only_a_recording_its_author_may_open(find: Any, api: Api) -> None:
    rid = (await api.share_shell("alice"))["recording"]["id"]
    body = {"text": "seen here", "source": {"recording": rid, "time": 2.5}}
    status, refused = await api("bob", "POST", "memories", body=body)
    assert (status, refused["message"]) == (
        400,
        '"source.recording" is not a recording you may open: cite one from your recordings list.',
    )
    memory = await remember(api, "alice", **body)
    assert memory["source"] == {"recording": rid, "time": 2.5}
    assert await search(find, "bob", q="seen") == [memory]  # readable; the recording stays hers


async def test_each_person_keeps_a_bounded_number(api: Api) -> None:
    for i in range(3):
        await remember(api, "alice", text=f"finding {i}")
    status, refused = await api("alice", "POST", "memories", body={"text": "one more"})
    assert status == 429
    assert "delete some you no longer need" in refused["message"]
    await remember(api, "bob", text="bob has room")


@pytest.mark.parametrize("shell_transport", ["local", "ssh"])
async def test_a_session_shows_the_memories_of_its_target(
    api: Api, shell_transport: str, bash_device: BashDevice | None
) -> None:
    # A local shell runs on this server's host; a device session has a name and a host.
    names = [socket.gethostname()] if bash_device is None else [BashDevice.name, "127.0.0.1"]
    mine = [await remember(api, "carol", text=f"about {n}", target=n.upper()) for n in names]
    await remember(api, "dave", text="about something else", target="elsewhere")
    await remember(api, "dave", text="about no target at all")
    sid = (await api.share_shell("alice"))["id"]
    status, model = await api("alice", "GET", "sessions", sid)
    assert status == 200
    assert model["target"] == names[0]
    assert model["memories"] == mine[::-1]  # newest first
    bob = await api.admit("alice", sid, "bob", "viewer")
    assert bob
    status, model = await api("bob", "GET", "sessions", sid)
    assert [m["text"] for m in model["memories"]] == [m["text"] for m in mine[::-1]]


async def test_memories_survive_a_restart(tmp_path: Path) -> None:
    folder = tmp_path / "team-memories"
    server = ServerProcess(tmp_path, f"--SharedTermApp.memories_dir={folder}")
    try:
        await server.start()
        saved = await server.call(
            "POST", "api/sharedterm/memories", {"text": "kept across restarts", "target": "r1"}
        )
        server.stop()
        await server.start()
        assert await server.call("GET", "api/sharedterm/memories?q=restarts") == [saved]
        with pytest.raises(HTTPClientError) as refused:
            await server.call("POST", "api/sharedterm/memories", {"text": ""})
        assert refused.value.code == 400
    finally:
        server.stop()
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(folder / DB_NAME).st_mode) == 0o600


async def test_writes_from_a_browser_need_the_xsrf_token(api: Api, jp_fetch: Any) -> None:
    me = await jp_fetch("api", "me", headers={"X-Test-User": "alice"})
    login = "; ".join(c.split(";", 1)[0] for c in me.headers.get_list("Set-Cookie"))
    assert login  # Jupyter's login cookie: what a browser sends
    browser = {"Authorization": "", "Cookie": login, "X-Test-User": "alice"}
    status, found = await api("alice", "GET", "memories", headers=browser)
    assert (status, found) == (200, [])  # the cookie alone signs alice in...
    memory = await remember(api, "alice", text="to be deleted")
    for method, path, body in (
        ("POST", ("memories",), {"text": "forged by another site"}),
        ("DELETE", ("memories", memory["id"]), None),
    ):
        status, refused = await api("alice", method, *path, body=body, headers=browser)
        # ...but writes need X-XSRFToken as well (tornado says "POST" for every method)
        assert (status, refused["message"]) == (403, "'_xsrf' argument missing from POST")
    assert [m["text"] for m in (await api("bob", "GET", "memories"))[1]] == ["to be deleted"]
