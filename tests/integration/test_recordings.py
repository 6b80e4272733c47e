"""Recordings on a real server: content, markers, pause, access, crash, restart."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from support import DEADLINE, Api, ServerProcess, open_lab_terminal
from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect

from jupyter_sharedterm.recording.asciicast import read_cast, validate


def _connected(roster: dict[str, Any], pid: str) -> bool:
    return any(p["id"] == pid and p["connected"] for p in roster["participants"])


async def download(jp_fetch: Any, user: str, rid: str) -> bytes:
    response = await jp_fetch(
        "api", "sharedterm", "recordings", rid, "cast", headers={"X-Test-User": user}
    )
    assert response.headers["Content-Type"] == "application/x-asciicast"
    return bytes(response.body)


def markers(cast: Any) -> list[str]:
    return [e.data for e in cast.events if e.code == "m"]


async def test_a_shared_session_is_recorded_with_markers(
    api: Api, peers: Any, jp_fetch: Any, tmp_path: Path
) -> None:
    model = await api.share_shell("alice")
    sid, rid = model["id"], model["recording"]["id"]
    assert model["recording"]["state"] == "recording"
    bob_id = await api.admit("alice", sid, "bob", "coworker")
    alice, bob = await peers("alice", sid), await peers("bob", sid)
    assert alice.setup["recording"] == {
        "id": rid,
        "state": "recording",
        "message": "This session is recorded.",
    }
    bob.stdin("echo recorded-$((40+2))\r")
    await alice.wait_output("recorded-42")
    await api("alice", "PATCH", "sessions", sid, "participants", bob_id, body={"role": "viewer"})
    bob.close()  # Bob's tab closes, and he comes back
    await alice.wait_ctl("roster", lambda c: not _connected(c, bob_id))
    bob = await peers("bob", sid)
    await alice.wait_ctl("roster", lambda c: _connected(c, bob_id))
    await api("alice", "DELETE", "sessions", sid)
    await bob.wait_closed()

    status, listed = await api("bob", "GET", "recordings")
    assert status == 200 and [r["id"] for r in listed] == [rid]
    assert listed[0]["state"] == "finished" and listed[0]["session_id"] == sid
    assert "owners" not in listed[0] and "participants" not in listed[0]
    data = await download(jp_fetch, "bob", rid)
    cast = read_cast(data)
    assert validate(cast) == [] and not cast.truncated
    assert "recorded-42" in cast.output()
    # One marker per thing that happened, in people's words (a join is one thing, not two).
    assert markers(cast) == [
        "recording started",
        "Alice joined as an owner",
        "Bob joined as a co-worker",
        "Bob is in control",
        "Alice made Bob a viewer",
        "Bob left",
        "Bob came back",
        "recording stopped: Alice ended the session.",
    ]
    # An independent player reads it: asciinema (PyPI) prints the recorded output.
    path = tmp_path / "session.cast"
    path.write_bytes(data)
    asciinema = shutil.which("asciinema", path=str(Path(sys.executable).parent))
    assert asciinema, "the asciinema client is part of the test extras"
    played = subprocess.run([asciinema, "cat", str(path)], capture_output=True, timeout=60)
    assert played.returncode == 0 and b"recorded-42" in played.stdout


async def test_pause_keeps_everything_out_and_everyone_is_told(
    api: Api, peers: Any, jp_fetch: Any
) -> None:
    model = await api.share_shell("alice")
    sid, rid = model["id"], model["recording"]["id"]
    await api.admit("alice", sid, "carol", "viewer")
    alice, carol = await peers("alice", sid), await peers("carol", sid)
    status, state = await api("alice", "PUT", "sessions", sid, "recording", body={"paused": True})
    assert status == 200
    assert state == {"id": rid, "state": "paused", "message": "recording paused by Alice"}
    for peer in (alice, carol):  # disclosed out of band, to every participant
        told = await peer.wait_ctl("recording", lambda c: c["state"] == "paused")
        assert told["message"] == "recording paused by Alice"
    alice.stdin("echo CANARY-$((3*3)) # typed while paused\r")
    await carol.wait_output("CANARY-9")
    alice.send("ctl", {"type": "recording", "paused": False})  # the ctl frame works too
    await carol.wait_ctl("recording", lambda c: c["state"] == "recording")
    alice.stdin("echo after-$((1+1))\r")
    await alice.wait_output("after-2")
    await api("alice", "DELETE", "sessions", sid)
    await alice.wait_closed()

    data = await download(jp_fetch, "alice", rid)
    assert b"CANARY" not in data
    cast = read_cast(data)
    assert "after-2" in cast.output()
    assert {"recording paused by Alice", "recording resumed by Alice"} <= set(markers(cast))


async def test_only_owners_pause_and_nobody_else_reads(api: Api, peers: Any) -> None:
    model = await api.share_shell("alice")
    sid, rid = model["id"], model["recording"]["id"]
    await api.admit("alice", sid, "carol", "viewer")
    carol = await peers("carol", sid)
    status, _ = await api("carol", "PUT", "sessions", sid, "recording", body={"paused": True})
    assert status == 403
    carol.send("ctl", {"type": "recording", "paused": True})
    assert (await carol.wait_ctl("error"))["code"] == "forbidden"
    assert (await api("alice", "PUT", "sessions", sid, "recording", body={"paused": 1}))[0] == 400
    # Someone outside the session learns nothing: the same 404 as for an id that never existed.
    outsider = await api("mallory", "GET", "recordings", rid)
    unknown = await api("mallory", "GET", "recordings", "A" * 32)
    assert outsider == unknown == (404, {"message": "No such recording."})
    assert (await api("mallory", "GET", "recordings", rid, "cast"))[0] == 404
    assert (await api("mallory", "GET", "recordings"))[1] == []
    assert (await api("carol", "GET", "recordings", rid))[0] == 200


async def test_sigkill_during_heavy_output_leaves_a_readable_recording_marked_interrupted(
    tmp_path: Path,
) -> None:
    recordings = tmp_path / "recordings"
    server = ServerProcess(tmp_path, f"--SharedTermApp.recordings_dir={recordings}")
    try:
        await server.start()
        model = await server.call("POST", "api/sharedterm/sessions", {"transport": "local"})
        ws = await websocket_connect(
            HTTPRequest(
                f"ws://127.0.0.1:{server.port}/api/sharedterm/sessions/{model['id']}/terminal",
                headers=server.headers,
            )
        )
        ws.write_message(
            json.dumps(["stdin", "for i in $(seq 1 2000000); do echo line-$i; done\r"])
        )
        received = 0

        async def read_some() -> None:
            nonlocal received
            while received < 2_000_000:  # well into the flood
                msg = await ws.read_message()
                assert msg is not None
                received += len(msg)

        await asyncio.wait_for(read_some(), DEADLINE * 4)
        killed_at = time.time()
        server.kill()  # SIGKILL: no chance to flush anything
        ws.close()
    finally:
        server.kill()
    cast_file = recordings / f"{model['recording']['id']}.cast"
    cast = read_cast(cast_file.read_bytes())
    assert validate(cast) == []
    lines = [e for e in cast.events if e.code == "o" and "line-" in e.data]
    assert lines, "output before the kill was on disk"
    lost = killed_at - (cast.header["timestamp"] + cast.events[-1].time)
    print(f"\nrecording ended {lost:.2f} s before the SIGKILL (includes timestamp rounding)")

    # A restarted server marks it interrupted instead of resuming it.
    try:
        await server.start()
        meta = await server.call("GET", f"api/sharedterm/recordings/{model['recording']['id']}")
        assert meta["state"] == "interrupted"
        sessions = await server.call("GET", "api/sharedterm/sessions")
        assert sessions == []  # nothing of the old process comes back
    finally:
        server.stop()
    final = read_cast(cast_file.read_bytes())
    assert validate(final) == [] and any("interrupted" in m for m in markers(final))


async def test_a_lab_terminal_has_its_own_recording_which_goes_on_when_shared(
    api: Api, peers: Any, jp_fetch: Any, jp_ws_fetch: Any
) -> None:
    name, stock = await open_lab_terminal(jp_fetch, jp_ws_fetch, "echo own-$((1+1))", "own-2")
    status, model = await api("alice", "POST", "sessions", body={"terminal": name})
    assert status == 201
    stock.close()
    alice = await peers("alice", model["id"])
    alice.stdin("echo shared-$((1+2))\r")
    await alice.wait_output("shared-3")
    await api("alice", "DELETE", "sessions", model["id"])
    await alice.wait_closed()

    listed = (await api("alice", "GET", "recordings"))[1]
    own = [r for r in listed if r["kind"] == "terminal" and r["terminal"] == name]
    assert len(own) == 1 and own[0]["title"] == f"Terminal {name}"

    finished = await _finished(api, own[0]["id"])
    # Taken over by the session, then closed with it: not "the terminal exited".
    assert finished["end_reason"] == "its shared session ended, which closed the terminal"
    cast = read_cast(await download(jp_fetch, "alice", own[0]["id"]))
    assert validate(cast) == []
    assert "own-2" in cast.output() and "shared-3" in cast.output()  # before and after sharing
    assert "Alice shared this terminal" in markers(cast)
    # The session's own markers (who joined, who is in control) stay in the session's recording.
    assert not any("joined" in m or "in control" in m for m in markers(cast))
    shared = read_cast(await download(jp_fetch, "alice", model["recording"]["id"]))
    output = shared.output()
    # The session's recording starts from the screen as it was when it was shared, not blank.
    assert "own-2" in output and output.index("own-2") < output.index("shared-3")
    assert shared.events[1].time == 0.0 and "own-2" in shared.events[1].data
    assert any("joined" in m for m in markers(shared))


async def _finished(api: Api, rid: str) -> dict[str, Any]:
    async def wait() -> dict[str, Any]:
        while True:
            model: dict[str, Any] = (await api("alice", "GET", "recordings", rid))[1]
            if model["state"] == "finished":
                return model
            await asyncio.sleep(0.05)

    return await asyncio.wait_for(wait(), DEADLINE)


async def _own_recording(api: Api, name: str) -> str:
    """The recording of the running terminal `name` (names are reused once a terminal is gone)."""
    listed = (await api("alice", "GET", "recordings"))[1]
    return next(
        r["id"]
        for r in listed
        if r["kind"] == "terminal" and r["terminal"] == name and r["state"] == "recording"
    )


async def test_a_lab_terminal_recording_says_how_the_terminal_ended(
    api: Api, jp_fetch: Any, jp_ws_fetch: Any
) -> None:
    name, stock = await open_lab_terminal(jp_fetch, jp_ws_fetch, "echo ok-$((1+1))", "ok-2")
    exits = await _own_recording(api, name)
    stock.write_message(json.dumps(["stdin", "exit 3\r"]))
    assert (await _finished(api, exits))["end_reason"] == "the shell exited with status 3"
    name, stock = await open_lab_terminal(jp_fetch, jp_ws_fetch, "echo ok-$((2+2))", "ok-4")
    closed = await _own_recording(api, name)
    await jp_fetch("api", "terminals", name, method="DELETE")  # JupyterLab's "Shut Down"
    assert (await _finished(api, closed))["end_reason"] == "the terminal was shut down"
    stock.close()
