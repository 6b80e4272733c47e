"""What an attacker's walk through the product found (issue 13), each case on a real server.

Every test here failed before its fix. `docs/security.md` lists them (SECURITY 49-52, and 35
for the terminal's own recording).
"""

from __future__ import annotations

import asyncio
import copy
import json
import secrets
from typing import Any
from urllib.parse import quote

import pytest
import test_guests
from support import DEADLINE, Api, open_lab_terminal
from tornado.httpclient import AsyncHTTPClient, HTTPClientError

from jupyter_sharedterm.app import AUDIT_SCHEMA_ID
from jupyter_sharedterm.core.session import BAD_LINK
from jupyter_sharedterm.handlers.guest import (
    FAILED_JOIN_BURST,
    TOO_MANY_FAILURES,
)
from jupyter_sharedterm.recording.asciicast import read_cast

guests = test_guests.guests  # the fixture: a browser with no Jupyter account, per call
SLOW_FAILURES = 10.0  # failed_join_delay_seconds where a test needs the delay to be seen


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any], request: Any) -> dict[str, Any]:
    config = copy.deepcopy(jp_server_config)
    if "slow_failures" in request.fixturenames:
        config["SharedTermApp"]["failed_join_delay_seconds"] = SLOW_FAILURES
    return config


@pytest.fixture
def slow_failures() -> None:
    """Run the server with a long failed_join_delay_seconds."""


async def cast_of(api: Api, jp_fetch: Any, user: str, rid: str) -> bytes:
    response = await jp_fetch(
        "api", "sharedterm", "recordings", rid, "cast", headers={"X-Test-User": user}
    )
    return bytes(response.body)


async def until(check: Any, what: str) -> None:
    async def loop() -> None:
        while not await check():
            await asyncio.sleep(0.05)

    try:
        await asyncio.wait_for(loop(), DEADLINE)
    except asyncio.TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


# --- 1. removal ends access to the recording ------------------------------------------------


async def test_a_removed_participant_loses_the_recording_live_and_after_the_end(
    api: Api, peers: Any, jp_fetch: Any
) -> None:
    model = await api.share_shell("alice")
    sid, rid = model["id"], model["recording"]["id"]
    bob_id = await api.admit("alice", sid, "bob", "viewer")
    alice = await peers("alice", sid)
    alice.stdin("echo before-$((1+1))\r")
    await alice.wait_output("before-2")
    assert (await api("bob", "GET", "recordings", rid))[0] == 200  # a participant may open it
    assert (await api("alice", "DELETE", "sessions", sid, "participants", bob_id))[0] == 204
    alice.stdin("echo AFTER-REMOVAL-$((6*7))\r")
    await alice.wait_output("AFTER-REMOVAL-42")

    async def flushed() -> bool:
        return b"AFTER-REMOVAL-42" in await cast_of(api, jp_fetch, "alice", rid)

    await until(flushed, "the cast to hold what came after the removal")
    for when in ("live", "ended"):
        assert await api("bob", "GET", "recordings", rid) == (
            404,
            {"message": "No such recording."},
        )
        assert (await api("bob", "GET", "recordings", rid, "cast"))[0] == 404, when
        assert (await api("bob", "GET", "recordings"))[1] == [], when
        if when == "live":
            assert (await api("alice", "DELETE", "sessions", sid))[0] == 204
            await alice.wait_closed()
    assert (await api("alice", "GET", "recordings", rid))[0] == 200  # the owner keeps it


# --- 2. removed people give their places back --------------------------------------------------


async def test_removed_people_give_their_places_back(api: Api) -> None:
    sid = (await api.share_shell("alice"))["id"]
    status, link = await api(
        "alice", "POST", "sessions", sid, "invites", body={"role": "viewer", "max_uses": 1000}
    )
    iid, secret = link["url"].rsplit("/", 1)[1].split("#")
    crowd = [f"crowd{i}" for i in range(199)]  # with the owner: 200, the default cap
    joined = []
    for user in crowd:
        status, reply = await api(user, "POST", "join", iid, body={"secret": secret})
        assert status == 200, reply
        joined.append(reply["participant"])
    status, reply = await api("late", "POST", "join", iid, body={"secret": secret})
    assert (status, reply) == (429, {"message": "This session is full."})
    for pid in joined:
        assert (await api("alice", "DELETE", "sessions", sid, "participants", pid))[0] == 204
    status, reply = await api("late", "POST", "join", iid, body={"secret": secret})
    assert status == 200, reply
    model = (await api("alice", "GET", "sessions", sid))[1]
    assert len(model["participants"]) == 2
    # Each removal gave the link its use back too.
    assert {i["id"]: i["uses"] for i in model["invites"]}[iid] == 1


# --- 3. one link admits a bounded crowd, and names cannot pose as others ---------------------


async def test_one_link_admits_a_bounded_number_of_guests_per_address(
    api: Api, guests: Any
) -> None:
    sid = (await api.share_shell("alice"))["id"]
    iid, secret = await api.invite("alice", sid, "viewer")
    answers = []
    for i in range(30):
        person = guests()
        await person.open_page(iid)
        answers.append((await person.join(iid, secret, f"alice (owner) {i}"))[0])
    assert answers == [200] * 10 + [429] * 20
    model = (await api("alice", "GET", "sessions", sid))[1]
    assert len(model["participants"]) == 11
    # Another link from the same address is not held back by this one.
    other_iid, other_secret = await api.invite("alice", sid, "viewer")
    assert (await guests().enter(other_iid, other_secret))["role"] == "viewer"


async def test_a_default_link_admits_a_bounded_number_of_people(api: Api) -> None:
    sid = (await api.share_shell("alice"))["id"]
    iid, secret = await api.invite("alice", sid, "viewer")
    model = (await api("alice", "GET", "sessions", sid, "invites"))[1]
    assert model[0]["max_uses"] == 25
    for i in range(25):
        assert (await api(f"user{i}", "POST", "join", iid, body={"secret": secret}))[0] == 200
    assert await api("user25", "POST", "join", iid, body={"secret": secret}) == (
        404,
        {"message": BAD_LINK},
    )


async def test_names_that_pose_as_a_role_or_another_participant_are_told_apart(
    api: Api, peers: Any, guests: Any
) -> None:
    sid = (await api.share_shell("alice"))["id"]
    await api.admit("alice", sid, "bob", "viewer")
    iid, secret = await api.invite("alice", sid, "viewer")
    for name in ("alice (owner) 7", "Alice", "Bob", "Bob"):
        await guests().enter(iid, secret, name)
    bob_as_user = quote("BOB")
    await api.admit("alice", sid, "robert", "viewer")  # "Robert": no clash
    iid2, secret2 = await api.invite("alice", sid, "viewer")
    status, _ = await api(
        "bobby",
        "POST",
        "join",
        iid2,
        body={"secret": secret2},
        headers={"X-Test-Display-Name": bob_as_user},
    )
    assert status == 200
    alice = await peers("alice", sid)
    roster = await alice.wait_ctl("roster")
    shown = sorted(p["name"] for p in roster["participants"])
    assert shown == sorted(
        [
            "Alice",
            "Bob",
            "Robert",
            "BOB (2)",
            "alice owner 7 (guest)",
            "Alice (guest)",
            "Bob (guest)",
            "Bob (guest) (2)",
        ]
    )


# --- 4. a neighbour's guessing never locks out a right secret --------------------------------


async def test_a_neighbours_guessing_never_locks_out_a_right_secret(api: Api, guests: Any) -> None:
    sid = (await api.share_shell("alice"))["id"]
    iid, secret = await api.invite("alice", sid, "viewer")
    neighbour = guests()
    await neighbour.open_page(iid)
    answers = []
    for _ in range(int(FAILED_JOIN_BURST) + 2):  # random invite ids, from the same address
        answers.append(await neighbour.join(secrets.token_urlsafe(16), secrets.token_urlsafe(32)))
    assert [a[0] for a in answers] == [404] * int(FAILED_JOIN_BURST) + [429] * 2
    assert answers[-1][1] == {"message": TOO_MANY_FAILURES}
    # The guesser is held back: a wrong secret for a real link is also answered 429.
    assert (await neighbour.join(iid, "W" * 43))[0] == 429
    # Everyone else behind that address gets in with the right secret, guests and users alike.
    colleague = guests()
    assert (await colleague.enter(iid, secret, "Colleague"))["role"] == "viewer"
    assert (await api("bob", "POST", "join", iid, body={"secret": secret}))[0] == 200


async def test_the_delay_for_guessers_holds_a_bounded_number_of_connections(
    guests: Any, jp_serverapp: Any, slow_failures: None
) -> None:
    gate = jp_serverapp.web_app.settings["sharedterm_guests"]
    held = gate.max_delayed  # failed_join_delayed_max
    guesser = guests()
    await guesser.open_page("I" * 22)
    for _ in range(int(FAILED_JOIN_BURST)):
        assert (await guesser.join(secrets.token_urlsafe(16), "W" * 43))[0] == 404
    extra = 16
    # A client of its own: the shared one sends at most 10 requests at once.
    client = AsyncHTTPClient(force_instance=True, max_clients=held + extra)
    base = f"http://127.0.0.1:{jp_serverapp.port}"

    async def guess() -> tuple[int, Any]:
        path = f"{guesser.base}api/sharedterm/join/{secrets.token_urlsafe(16)}"
        headers = {
            "Cookie": guesser.cookies_for(path),
            "X-XSRFToken": guesser.xsrf,
            "Authorization": "",
        }
        body = json.dumps({"secret": "W" * 43})
        response = await client.fetch(
            base + path, method="POST", body=body, headers=headers, raise_error=False
        )
        return response.code, json.loads(response.body)

    flood = [asyncio.ensure_future(guess()) for _ in range(held + extra)]
    # Past the bound, answers are not held back: these arrive while the others still wait.
    early = []
    for answer in asyncio.as_completed(flood, timeout=SLOW_FAILURES):
        early.append(await answer)
        if len(early) == extra:
            break
    assert gate.delayed == held
    assert all(a[0] == 429 for a in early)
    answers = await asyncio.wait_for(asyncio.gather(*flood), DEADLINE + SLOW_FAILURES)
    client.close()
    assert {a[0] for a in answers} == {429} and gate.delayed == 0


# --- 5. every name is cleaned, signed-in users' included --------------------------------------

HOSTILE = (
    "\x1b]52;c;cm0gLXJmIH4=\x07"  # clipboard write
    "\x1b[2J\x1b[H"  # screen clear
    "\u202eevil\u202c"  # bidi override
    "\x9b31m"  # a C1 control (CSI)
    "Mallory" + "M" * 4096
)
DANGEROUS = ("\x1b", "\x07", "\x9b", "\u202e", "\u202c")


def texts(value: Any) -> list[str]:
    """Every string in a decoded JSON value (a dump would escape ESC and BEL as \\u001b...)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        value = [*value.keys(), *value.values()]
    if isinstance(value, list):
        return [t for item in value for t in texts(item)]
    return []


def assert_clean(value: Any, where: str) -> None:
    found = texts(value)
    assert found, where
    for text in found:
        for ch in DANGEROUS:
            assert ch not in text, (where, repr(ch), text[:80])


async def test_signed_in_display_names_are_cleaned_everywhere(
    api: Api, peers: Any, jp_fetch: Any
) -> None:
    hostile = {"X-Test-Display-Name": quote(HOSTILE)}
    status, model = await api(
        "mallory", "POST", "sessions", body={"transport": "local"}, headers=hostile
    )
    assert status == 201
    sid, rid = model["id"], model["recording"]["id"]
    owner_name = model["participants"][0]["name"]
    assert_clean(owner_name, "owner in REST")
    assert len(owner_name) <= 64 and "Mallory" in owner_name
    iid, secret = await api.invite("mallory", sid, "viewer")
    status, joined = await api(
        "trudy", "POST", "join", iid, body={"secret": secret}, headers=hostile
    )
    assert status == 200
    trudy = await peers("trudy", sid)
    mallory = await peers("mallory", sid)
    trudy.send("ctl", {"type": "question", "text": "from a hostile name"})
    await mallory.wait_ctl("question")
    await api("mallory", "DELETE", "sessions", sid, "participants", joined["participant"])
    await trudy.wait_closed()
    status, model = await api("mallory", "GET", "sessions", sid)
    await api("mallory", "DELETE", "sessions", sid)
    await mallory.wait_closed()
    frames = mallory.frames + trudy.frames
    assert "Mallory" in json.dumps(frames)
    kinds = {f[0] for f in frames} | {f[1]["type"] for f in frames if f[0] == "ctl"}
    assert {"setup", "disconnect", "roster", "question"} <= kinds
    assert_clean(frames, "frames")
    assert_clean(model, "REST model")
    cast = read_cast(await cast_of(api, jp_fetch, "mallory", rid))
    markers = [e.data for e in cast.events if e.code == "m"]
    assert any("Mallory" in m for m in markers)
    for m in markers:
        assert_clean(m, "recording markers")
        assert len(m) < 200


# --- 6. the audit log says who ----------------------------------------------------------------


async def test_every_audit_record_names_the_account_or_the_guest_and_address(
    api: Api, peers: Any, guests: Any, jp_serverapp: Any
) -> None:
    seen: list[dict[str, Any]] = []

    async def listener(logger: Any, schema_id: str, data: dict[str, Any]) -> None:
        seen.append(dict(data))

    jp_serverapp.event_logger.add_listener(schema_id=AUDIT_SCHEMA_ID, listener=listener)
    sid = (await api.share_shell("alice"))["id"]
    carol_id = await api.admit("alice", sid, "carol", "viewer")
    carol = await peers("carol", sid)
    iid, secret = await api.invite("alice", sid, "viewer")
    vendor = guests()
    joined = await vendor.enter(iid, secret, "Vendor")
    sock = await vendor.connect(sid)
    sock.stdin("nope\r")  # denied
    await sock.wait_ctl("error")
    carol.stdin("nope\r")
    await carol.wait_ctl("error")
    await api("alice", "PUT", "sessions", sid, "recording", body={"paused": True})
    await api("alice", "DELETE", "sessions", sid, "participants", joined["participant"])
    await api("alice", "DELETE", "sessions", sid, "participants", carol_id)
    await api("alice", "DELETE", "sessions", sid)

    async def ended() -> bool:
        return any(e["action"] == "end" for e in seen)

    await until(ended, "the end record")
    records = [e for e in seen if e["session"] == sid]
    for record in records:
        details = record["details"]
        for key in ("participant", "by"):
            if details.get(key):
                named = details.get(f"{key}_account") or (
                    details.get(f"{key}_guest") and details.get(f"{key}_address")
                )
                assert named, record
    denials = [e["details"] for e in records if e["action"] == "deny"]
    assert {d.get("participant_account") or d.get("participant_guest") for d in denials} == {
        "carol",
        "Vendor (guest)",
    }
    guest_join = next(
        e["details"] for e in records if e["action"] == "join" and e["details"]["kind"] == "guest"
    )
    assert guest_join["participant_address"] == "127.0.0.1"
    for action in ("remove", "invite_create", "end"):
        assert {e["details"]["by_account"] for e in records if e["action"] == action} == {"alice"}
    paused = [e["details"] for e in records if e["action"] == "recording"]
    assert [(d["state"], d.get("by_account")) for d in paused][:1] == [("paused", "alice")]


# --- 7. sockets per participant ----------------------------------------------------------------


async def test_one_participant_holds_a_bounded_number_of_sockets(api: Api, guests: Any) -> None:
    sid = (await api.share_shell("alice"))["id"]
    iid, secret = await api.invite("alice", sid, "viewer")
    vendor = guests()
    await vendor.enter(iid, secret)
    held = [await vendor.connect(sid) for _ in range(8)]
    assert await vendor.refused(sid) == 429  # before the upgrade
    held[0].close()

    async def freed() -> bool:
        try:
            vendor.peers.append(await asyncio.wait_for(vendor.connect(sid), DEADLINE))
        except HTTPClientError as e:
            assert e.code == 429
            return False
        return True

    await until(freed, "a closed socket to give its place back")


# --- 8. questions -------------------------------------------------------------------------------


async def test_a_question_flood_is_limited_and_never_pushes_out_others(
    api: Api, peers: Any, guests: Any
) -> None:
    sid = (await api.share_shell("alice"))["id"]
    await api.admit("alice", sid, "bob", "viewer")
    alice, bob = await peers("alice", sid), await peers("bob", sid)
    bob.send("ctl", {"type": "question", "text": "a real question"})
    await alice.wait_ctl("question", lambda q: q["text"] == "a real question")
    iid, secret = await api.invite("alice", sid, "viewer")
    flooder = guests()
    await flooder.enter(iid, secret, "Flood")
    sock = await flooder.connect(sid)
    for i in range(150):
        sock.send("ctl", {"type": "question", "text": f"flood {i} " + "x" * 1900})
    await sock.wait_for(lambda: len(sock.ctl("error")) >= 147, "150 - 3 refusals")
    assert {e["code"] for e in sock.ctl("error")} == {"too_many"}
    # A marker: once it arrives, every flood question that got through has arrived too.
    bob.send("ctl", {"type": "question", "text": "marker"})
    await alice.wait_ctl("question", lambda q: q["text"] == "marker")
    flood = [q for q in alice.ctl("question") if q["text"].startswith("flood")]
    assert len(flood) == 3
    model = (await api("alice", "GET", "sessions", sid))[1]
    assert "a real question" in [q["text"] for q in model["questions"]]


# --- 9 and issue 12 section 2: a pause covers every recording of the terminal ------------------


async def test_a_pause_keeps_a_canary_out_of_every_recording_the_server_serves(
    api: Api, peers: Any, jp_fetch: Any, jp_ws_fetch: Any
) -> None:
    name, stock = await open_lab_terminal(jp_fetch, jp_ws_fetch, "echo own-$((1+1))", "own-2")
    status, model = await api("alice", "POST", "sessions", body={"terminal": name})
    assert status == 201
    stock.close()
    sid = model["id"]
    alice = await peers("alice", sid)
    status, _ = await api("alice", "PUT", "sessions", sid, "recording", body={"paused": True})
    assert status == 200
    alice.stdin("echo SECRET-typed-while-$((1))paused\r")
    await alice.wait_output("SECRET-typed-while-1paused")
    await api("alice", "PUT", "sessions", sid, "recording", body={"paused": False})
    alice.stdin("echo after-$((2+2))\r")
    await alice.wait_output("after-4")
    await api("alice", "DELETE", "sessions", sid)
    await alice.wait_closed()

    listed = (await api("alice", "GET", "recordings"))[1]
    assert {r["kind"] for r in listed} == {"terminal", "session"}

    async def all_finished() -> bool:
        states = [(await api("alice", "GET", "recordings", r["id"]))[1]["state"] for r in listed]
        return all(s == "finished" for s in states)

    await until(all_finished, "every recording to be finished")
    for recording in listed:
        data = await cast_of(api, jp_fetch, "alice", recording["id"])
        assert b"SECRET-typed-while" not in data, recording["kind"]
        cast = read_cast(data)
        assert "after-4" in cast.output(), recording["kind"]
        labels = {e.data for e in cast.events if e.code == "m"}
        assert {"recording paused by Alice", "recording resumed by Alice"} <= labels
