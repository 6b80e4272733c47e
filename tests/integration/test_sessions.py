"""Shared sessions on a real Jupyter server with real PTYs and several users."""

from __future__ import annotations

import asyncio
import json
import re
import time
from typing import Any

import pytest
from support import DEADLINE, Api

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@pytest.fixture(params=["local", "ssh"])
def shell_transport(request: pytest.FixtureRequest) -> str:
    """Every role test runs over a local shell and over an SSH device session (see share_shell)."""
    return str(request.param)


def plain(text: str) -> str:
    return ANSI.sub("", text).replace("\r", "")


async def test_owner_shares_a_new_shell_and_types(api: Api, peers: Any) -> None:
    model = await api.share_shell("alice")
    assert model["you"]["role"] == "owner"
    assert [p["name"] for p in model["participants"]] == ["Alice"]
    alice = await peers("alice", model["id"])
    assert alice.setup["role"] == "owner"
    alice.stdin("echo hi-$((40+2))\r")
    await alice.wait_for(lambda: "hi-42" in plain(alice.output).split("\n"), "hi-42")


async def test_everyone_sees_a_coworkers_command(api: Api, peers: Any) -> None:
    sid = (await api.share_shell("alice"))["id"]
    await api.admit("alice", sid, "bob", "coworker")
    await api.admit("alice", sid, "carol", "viewer")
    alice, bob, carol = [await peers(u, sid) for u in ("alice", "bob", "carol")]
    bob.stdin("echo from-bob-$((6*7))\r")
    for peer in (alice, bob, carol):
        await peer.wait_for(lambda p=peer: "from-bob-42" in plain(p.output).split("\n"), "output")
    typing = await alice.wait_ctl("typing")
    assert typing["participant"] == bob.setup["participant"]


@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
async def test_viewer_stdin_never_reaches_the_pty(api: Api, peers: Any, binary: bool) -> None:
    sid = (await api.share_shell("alice"))["id"]
    await api.admit("alice", sid, "carol", "viewer")
    alice, carol = await peers("alice", sid), await peers("carol", sid)
    carol.send_raw(
        json.dumps(["stdin", "echo VIEWER-CANARY\r"]).encode()
        if binary
        else json.dumps(["stdin", "echo VIEWER-CANARY\r"]),
        binary=binary,
    )
    error = await carol.wait_ctl("error")
    assert error["code"] == "forbidden" and "Viewers cannot type" in error["message"]
    alice.stdin("echo done-$((1+1))\r")
    await alice.wait_output("done-2")
    await carol.wait_output("done-2")  # the viewer's socket stayed open and still streams
    assert "VIEWER-CANARY" not in alice.output


@pytest.mark.parametrize(
    "size", [[1, 1], [10000, 10000], [-5, 80], [24.5, 80], ["24", "80"], [None, 3], [True, 80]]
)
async def test_viewer_set_size_changes_nothing(api: Api, peers: Any, size: list[Any]) -> None:
    sid = (await api.share_shell("alice"))["id"]
    await api.admit("alice", sid, "carol", "viewer")
    alice, carol = await peers("alice", sid), await peers("carol", sid)
    carol.send("set_size", *size, 600, 800)
    carol.send("set_size", 10, 20)  # valid, but a viewer never resizes anyone
    alice.stdin("stty size\r")
    await alice.wait_for(lambda: "24 80" in plain(alice.output), "stty size 24 80")


async def test_only_the_participant_in_control_resizes(api: Api, peers: Any) -> None:
    sid = (await api.share_shell("alice"))["id"]
    await api.admit("alice", sid, "bob", "coworker")
    alice, bob = await peers("alice", sid), await peers("bob", sid)
    bob.send("set_size", 30, 100)  # bob is not in control yet: remembered, not applied
    alice.send("set_size", 20, 70)
    alice.stdin("stty size\r")
    await alice.wait_for(lambda: "20 70" in plain(alice.output), "alice's size")
    bob.stdin("stty size\r")  # typing puts bob in control, and his size applies
    await alice.wait_for(lambda: "30 100" in plain(alice.output), "bob's size")
    roster = await alice.wait_ctl("roster", lambda r: r["driver"] == bob.setup["participant"])
    assert roster["driver"] == bob.setup["participant"]


async def test_a_demoted_coworker_gets_no_later_frame_through(api: Api, peers: Any) -> None:
    sid = (await api.share_shell("alice"))["id"]
    bob_id = await api.admit("alice", sid, "bob", "coworker")
    alice, bob = await peers("alice", sid), await peers("bob", sid)
    total = 300

    async def stream() -> None:
        for i in range(total):
            bob.stdin(f"#B{i}#\r")
            await asyncio.sleep(0.003)

    streaming = asyncio.ensure_future(stream())
    await alice.wait_output("#B20#")
    status, _ = await api(
        "alice", "PATCH", "sessions", sid, "participants", bob_id, body={"role": "viewer"}
    )
    assert status == 200
    await streaming
    await bob.wait_for(lambda: any(c["type"] == "role" for c in bob.ctl("role")), "role frame")
    rejected = await bob.wait_for(
        lambda: (n := len([e for e in bob.ctl("error") if e["code"] == "forbidden"])) and n,
        "forbidden errors",
    )
    # The server answers each rejected frame, in order: frames 0..accepted-1 went through.
    await asyncio.sleep(0)
    alice.stdin("echo sentinel-$((3*3))\r")
    await alice.wait_output("sentinel-9")
    rejected = len([e for e in bob.ctl("error") if e["code"] == "forbidden"])
    accepted = total - rejected
    assert 20 < accepted < total
    seen = {int(n) for n in re.findall(r"#B(\d+)#", alice.output)}
    assert seen == set(range(accepted)), (accepted, sorted(seen - set(range(accepted))))


async def test_removal_sticks(api: Api, peers: Any, jp_ws_fetch: Any) -> None:
    sid = (await api.share_shell("alice"))["id"]
    iid, secret = await api.invite("alice", sid, "coworker")
    status, joined = await api("bob", "POST", "join", iid, body={"secret": secret})
    assert status == 200
    bob1, bob2 = await peers("bob", sid), await peers("bob", sid)
    status, _ = await api("alice", "DELETE", "sessions", sid, "participants", joined["participant"])
    assert status == 204
    for sock in (bob1, bob2):
        assert await sock.wait_closed() == 4001
        assert sock.frames[-1][:2] == ["disconnect", 4001]
    with pytest.raises(Exception) as refused:
        await jp_ws_fetch(
            "api", "sharedterm", "sessions", sid, "terminal", headers={"X-Test-User": "bob"}
        )
    assert getattr(refused.value, "code", None) == 403
    assert (await api("bob", "POST", "join", iid, body={"secret": secret}))[0] == 403
    assert (await api("bob", "GET", "sessions", sid))[0] == 403
    status, model = await api("alice", "GET", "sessions", sid)
    assert [p["name"] for p in model["participants"]] == ["Alice"]


async def test_ending_disconnects_everyone_and_kills_every_grant(
    api: Api, peers: Any, jp_ws_fetch: Any
) -> None:
    sid = (await api.share_shell("alice"))["id"]
    iid, secret = await api.invite("alice", sid, "viewer")
    await api.admit("alice", sid, "bob", "coworker")
    socks = [await peers(u, sid) for u in ("alice", "bob")]
    status, _ = await api("alice", "DELETE", "sessions", sid)
    assert status == 204
    for sock in socks:
        assert await sock.wait_closed() == 4000
        assert sock.frames[-1][0] == "disconnect"
        assert "Alice ended the session" in sock.frames[-1][2]
    status, model = await api("bob", "GET", "sessions", sid)
    assert status == 200 and model["state"] == "ended"
    assert (await api("carol", "POST", "join", iid, body={"secret": secret}))[0] == 410
    # Without the secret, the link's id alone does not tell that the session ended.
    wrong = ("A" if secret[0] != "A" else "B") + secret[1:]  # always differs from the secret
    assert (await api("carol", "POST", "join", iid, body={"secret": wrong}))[0] == 404
    with pytest.raises(Exception) as refused:
        await jp_ws_fetch(
            "api", "sharedterm", "sessions", sid, "terminal", headers={"X-Test-User": "bob"}
        )
    assert getattr(refused.value, "code", None) == 410


@pytest.mark.parametrize(
    "who, method, path, body",
    [
        ("bob", "PATCH", "participants/{bob}", {"role": "owner"}),
        ("bob", "PATCH", "participants/{carol}", {"role": "coworker"}),
        ("bob", "PATCH", "participants/{alice}", {"role": "viewer"}),
        ("carol", "PATCH", "participants/{carol}", {"role": "owner"}),
        ("bob", "DELETE", "participants/{carol}", None),
        ("carol", "DELETE", "participants/{alice}", None),
        ("bob", "DELETE", "", None),
        ("carol", "DELETE", "", None),
        ("bob", "POST", "invites", {"role": "coworker"}),
        ("carol", "POST", "invites", {"role": "viewer"}),
        ("carol", "GET", "invites", None),
    ],
)
async def test_only_owners_manage(
    api: Api, who: str, method: str, path: str, body: Any, jp_serverapp: Any
) -> None:
    sid = (await api.share_shell("alice"))["id"]
    ids = {
        "bob": await api.admit("alice", sid, "bob", "coworker"),
        "carol": await api.admit("alice", sid, "carol", "viewer"),
    }
    ids["alice"] = next(
        p["id"]
        for p in (await api("alice", "GET", "sessions", sid))[1]["participants"]
        if p["name"] == "Alice"
    )
    before = (await api("alice", "GET", "sessions", sid))[1]
    parts = [p for p in path.format(**ids).split("/") if p]
    status, reply = await api(who, method, "sessions", sid, *parts, body=body)
    assert status == 403, reply
    assert reply["message"] == "Only an owner of this session can do that."
    after = (await api("alice", "GET", "sessions", sid))[1]
    assert after["participants"] == before["participants"] and after["state"] == "active"
    assert after["invites"] == before["invites"]


async def test_the_last_owner_cannot_leave_the_session_ownerless(api: Api) -> None:
    model = await api.share_shell("alice")
    me = model["you"]["participant"]
    status, reply = await api(
        "alice", "PATCH", "sessions", model["id"], "participants", me, body={"role": "viewer"}
    )
    assert status == 409 and "at least one owner" in reply["message"]
    status, reply = await api("alice", "DELETE", "sessions", model["id"], "participants", me)
    assert status == 409


MALFORMED: list[tuple[str, str | bytes]] = [
    ("empty", ""),
    ("not-json", "hello"),
    ("object", '{"stdin": "x"}'),
    ("empty-array", "[]"),
    ("number-verb", "[1]"),
    ("stdin-number", '["stdin", 5]'),
    ("stdin-missing", '["stdin"]'),
    ("stdin-extra", '["stdin", "a", "b"]'),
    ("unknown-verb", '["exec", "rm -rf /"]'),
    ("set-size-short", '["set_size", 5]'),
    ("lone-surrogate", '["stdin", "\\ud800"]'),
    ("ctl-not-object", '["ctl", 5]'),
    ("ctl-unknown", '["ctl", {"type": "become_owner"}]'),
    ("question-empty", '["ctl", {"type": "question", "text": "  "}]'),
    ("deep-nesting", "[" * 100_000),
    ("invalid-utf8", b"\xff\xfe\x00["),
    ("nan-size", '["set_size", NaN, Infinity]'),
]


@pytest.mark.parametrize("frame", [f for _, f in MALFORMED], ids=[n for n, _ in MALFORMED])
async def test_malformed_frames_get_an_error_and_affect_no_one(
    api: Api, peers: Any, frame: str | bytes
) -> None:
    sid = (await api.share_shell("alice"))["id"]
    await api.admit("alice", sid, "bob", "coworker")
    alice, bob = await peers("alice", sid), await peers("bob", sid)
    bob.send_raw(frame, binary=isinstance(frame, bytes))
    error = await bob.wait_ctl("error")
    assert error["code"] in ("invalid", "too_large") and error["message"]
    bob.stdin("echo still-$((2+3))\r")  # the sender's socket is still usable
    await alice.wait_output("still-5")


async def test_an_oversized_frame_closes_with_1009_and_others_carry_on(
    api: Api, peers: Any
) -> None:
    sid = (await api.share_shell("alice"))["id"]
    await api.admit("alice", sid, "bob", "coworker")
    alice, bob = await peers("alice", sid), await peers("bob", sid)
    bob.stdin("x" * (2 << 20))
    assert await bob.wait_closed() == 1009
    alice.stdin("echo alive-$((4+4))\r")
    await alice.wait_output("alive-8")


async def test_a_flood_of_frames_is_limited_then_closed(api: Api, peers: Any) -> None:
    sid = (await api.share_shell("alice"))["id"]
    await api.admit("alice", sid, "carol", "viewer")
    alice, carol = await peers("alice", sid), await peers("carol", sid)
    started = time.monotonic()
    for _ in range(600):  # past the burst: some are dropped, with an error, the socket stays
        carol.send("ctl", {"type": "question", "text": "spam?"})
    await carol.wait_ctl("error", lambda e: e["code"] == "rate_limited")
    for _ in range(4000):  # a sustained flood: closed
        carol.send("ctl", {"type": "question", "text": "spam?"})
    assert await carol.wait_closed() == 4029
    assert carol.frames[-1] == ["disconnect", 4029, "Too many frames: the connection was closed."]
    # What got through: at most the burst plus what the rate refilled meanwhile (200/s).
    refilled = 200 * (time.monotonic() - started)
    assert 0 < len(alice.ctl("question")) <= 400 + refilled
    alice.stdin("echo calm-$((5+5))\r")
    await alice.wait_output("calm-10")


async def test_terminal_queries_are_answered_only_from_the_terminal_in_control(
    api: Api, peers: Any
) -> None:
    sid = (await api.share_shell("alice"))["id"]
    await api.admit("alice", sid, "bob", "coworker")
    await api.admit("alice", sid, "carol", "viewer")
    alice, bob, carol = [await peers(u, sid) for u in ("alice", "bob", "carol")]
    alice.stdin("cat -v\r")
    await asyncio.sleep(0.2)
    bob.stdin("\x1b[5;10R")  # a cursor position report from a terminal not in control
    carol.stdin("\x1b[7;7R\x1b[?62;22c")  # a viewer's emulator answering: dropped silently
    alice.stdin("\x1b[3;4R\rmark\r")  # the terminal in control answers
    await alice.wait_for(lambda: "^[[3;4R" in alice.output and "mark" in alice.output, "reply")
    assert "^[[5;10R" not in alice.output and "^[[7;7R" not in alice.output
    assert not carol.ctl("error")  # a viewer's automatic replies are not an error
    alice.stdin("\x03")


async def test_questions_reach_everyone_and_can_be_answered(api: Api, peers: Any) -> None:
    sid = (await api.share_shell("alice"))["id"]
    await api.admit("alice", sid, "carol", "viewer")
    alice, carol = await peers("alice", sid), await peers("carol", sid)
    carol.send("ctl", {"type": "question", "text": "<b>why</b> is \x1b[31mdisk full?"})
    q = await alice.wait_ctl("question")
    assert q["text"] == "<b>why</b> is [31mdisk full?"  # control characters stripped; HTML is text
    assert q["name"] == "Carol"
    carol.send("ctl", {"type": "answer_question", "id": q["id"]})
    assert (await carol.wait_ctl("error"))["code"] == "forbidden"
    alice.send("ctl", {"type": "answer_question", "id": q["id"]})
    await carol.wait_ctl("question_answered", lambda c: c["id"] == q["id"])


async def test_a_role_change_arrives_as_ctl_and_applies_to_the_next_frame(
    api: Api, peers: Any
) -> None:
    sid = (await api.share_shell("alice"))["id"]
    carol_id = await api.admit("alice", sid, "carol", "viewer")
    alice, carol = await peers("alice", sid), await peers("carol", sid)
    status, model = await api(
        "alice", "PATCH", "sessions", sid, "participants", carol_id, body={"role": "coworker"}
    )
    assert status == 200 and model["role"] == "coworker"
    await carol.wait_ctl("role", lambda c: c["role"] == "coworker")
    carol.stdin("echo promoted-$((7*6))\r")
    await alice.wait_output("promoted-42")


async def test_audit_events_record_who_did_what(api: Api, peers: Any, jp_serverapp: Any) -> None:
    from jupyter_sharedterm.app import AUDIT_SCHEMA_ID

    seen: list[dict[str, Any]] = []

    async def listener(logger: Any, schema_id: str, data: dict[str, Any]) -> None:
        seen.append(dict(data))

    jp_serverapp.event_logger.add_listener(schema_id=AUDIT_SCHEMA_ID, listener=listener)
    sid = (await api.share_shell("alice"))["id"]
    carol_id = await api.admit("alice", sid, "carol", "viewer")
    carol = await peers("carol", sid)
    carol.stdin("nope\r")
    await carol.wait_ctl("error")
    await api(
        "alice", "PATCH", "sessions", sid, "participants", carol_id, body={"role": "coworker"}
    )
    await api("alice", "DELETE", "sessions", sid, "participants", carol_id)
    await api("alice", "DELETE", "sessions", sid)

    async def all_seen() -> None:
        while not any(e["action"] == "end" for e in seen):
            await asyncio.sleep(0.01)

    await asyncio.wait_for(all_seen(), DEADLINE)
    actions = [e["action"] for e in seen if e["session"] == sid]
    for expected in (
        "session_create",
        "join",
        "invite_create",
        "connect",
        "deny",
        "role_change",
        "remove",
        "end",
    ):
        assert expected in actions, (expected, actions)
    text = json.dumps(seen)
    assert "nope" not in text  # terminal input never reaches the audit log


@pytest.mark.parametrize(
    "body, message",
    [
        (b"{", "JSON object"),
        (b"[]", "JSON object"),
        (b'{"transport": "telnet"}', '"transport" must be'),
        (b'{"terminal": "../1"}', "name of an open JupyterLab terminal"),
        (b'{"terminal": "999"}', "no open terminal named '999'"),
        (b'{"cwd": "/../../etc"}', "not a folder under the server root"),
        (b'{"surprise": 1}', "Unknown field 'surprise'"),
        (b"\xff\xfe", "JSON object"),
    ],
)
@pytest.mark.parametrize("shell_transport", ["local"])  # bodies of local sessions
async def test_bad_create_bodies_get_a_clear_error(api: Api, body: bytes, message: str) -> None:
    status, reply = await api("alice", "POST", "sessions", raw=body)
    assert status in (400, 404), reply
    assert message in reply["message"]
    assert "Traceback" not in reply["message"] and set(reply) == {"message"}


async def test_unknown_and_invisible_ids_answer_alike(api: Api) -> None:
    sid = (await api.share_shell("alice"))["id"]
    mine = await api("mallory", "GET", "sessions", sid)
    unknown = await api("mallory", "GET", "sessions", "A" * 22)
    assert mine == unknown == (404, {"message": "No such session."})
    assert (await api("mallory", "GET", "sessions"))[1] == []
    status, _ = await api(
        "alice", "PATCH", "sessions", sid, "participants", "nobody", body={"role": "viewer"}
    )
    assert status == 404


@pytest.mark.parametrize(
    "body",
    [
        {"role": "owner"},
        {"role": "admin"},
        {"role": "viewer", "expires_in": -1},
        {"role": "viewer", "max_uses": 0},
        {"role": "coworker", "max_uses": True},
    ],
)
async def test_invites_never_grant_owner_and_validate(api: Api, body: dict[str, Any]) -> None:
    sid = (await api.share_shell("alice"))["id"]
    status, reply = await api("alice", "POST", "sessions", sid, "invites", body=body)
    assert status == 400 and reply["message"]


async def test_invite_links_are_single_purpose(api: Api) -> None:
    sid = (await api.share_shell("alice"))["id"]
    status, invite = await api(
        "alice", "POST", "sessions", sid, "invites", body={"role": "viewer", "max_uses": 1}
    )
    assert status == 201
    assert re.fullmatch(r"http://[^/]+/a%40b/sharedterm/join/[\w-]{22}#[\w-]{43}", invite["url"])
    iid, secret = invite["url"].rsplit("/", 1)[1].split("#")
    listed = (await api("alice", "GET", "sessions", sid, "invites"))[1]
    assert secret not in json.dumps(listed)
    wrong = secret[:-1] + ("A" if secret[-1] != "A" else "B")  # always differs from the secret
    bad = await api("bob", "POST", "join", iid, body={"secret": wrong})
    unknown = await api("bob", "POST", "join", "B" * 22, body={"secret": secret})
    malformed = await api("bob", "POST", "join", iid, body={"secret": "../../etc"})
    assert bad == unknown == malformed
    assert bad[0] == 404
    assert (await api("bob", "POST", "join", iid, body={"secret": secret}))[0] == 200
    used_up = await api("carol", "POST", "join", iid, body={"secret": secret})
    assert used_up == bad  # used up looks like never issued
    iid2, secret2 = await api.invite("alice", sid, "viewer")
    assert (await api("alice", "DELETE", "sessions", sid, "invites", iid2))[0] == 204
    assert await api("carol", "POST", "join", iid2, body={"secret": secret2}) == bad


@pytest.mark.parametrize(
    "program, ready",
    [
        ("vim -u NONE -i NONE -N notes.txt", "line 40 of the notes"),
        ("less -R notes.txt", "line 1 of the notes"),
    ],
)
async def test_a_late_joiner_sees_the_exact_screen_of_a_full_screen_program(
    api: Api, peers: Any, jp_root_dir: Any, program: str, ready: str
) -> None:
    (jp_root_dir / "notes.txt").write_text(
        "".join(
            f"\x1b[1mline {i} of the notes\x1b[0m\n" if i % 5 == 0 else f"line {i} of the notes\n"
            for i in range(1, 200)
        )
    )
    sid = (await api.share_shell("alice"))["id"]
    await api.admit("alice", sid, "bob", "viewer")
    alice = await peers("alice", sid)
    alice.stdin("for i in $(seq 1 100); do echo scroll-$i; done\r")  # scrollback behind the program
    await alice.wait_output("scroll-100")
    alice.stdin(f"{program}\r")
    if program.startswith("vim"):
        alice.stdin("40G")  # move, so the screen is not just the file's top
    await alice.wait_for(lambda: any(ready in line for line in alice.display()), ready)
    await asyncio.sleep(0.3)  # let the program finish drawing; compared below, not assumed
    bob = await peers("bob", sid)
    await bob.wait_for(lambda: bob.chunks, "the screen")

    def cells(peer: Any) -> list[tuple[Any, ...]]:
        screen = peer.screen
        return [
            (ch.data, ch.fg, ch.bg, ch.bold, ch.italics, ch.underscore, ch.reverse)
            for y in range(screen.lines)
            for ch in (screen.buffer[y][x] for x in range(screen.columns))
        ]

    def same() -> bool:
        cursor = (bob.screen.cursor.x, bob.screen.cursor.y)
        return (
            bob.display() == alice.display()
            and cells(bob) == cells(alice)
            and cursor == (alice.screen.cursor.x, alice.screen.cursor.y)
        )

    await bob.wait_for(same, "the owner's screen, cell by cell")
    if program.startswith("less"):  # less -R renders the file's bold lines
        assert any(cell[3] for cell in cells(alice))
    alice.stdin("\x1b:q!\r" if program.startswith("vim") else "q")
    await alice.wait_for(
        lambda: (
            any("scroll-100" in line for line in alice.display())
            or any("#" in line for line in alice.display())
        ),
        "the shell again",
    )
