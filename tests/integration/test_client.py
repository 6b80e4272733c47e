"""The public Python client, async and blocking, against a real server: typed answers and frames."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from support import DEADLINE, Api, ServerProcess

from jupyter_sharedterm.client import AsyncTerminal, Client, SharedTermError
from jupyter_sharedterm.core.roles import Role
from jupyter_sharedterm.protocol import (
    CloseCode,
    DisconnectFrame,
    ErrorReport,
    QuestionPosted,
    RoleUpdate,
    Roster,
    ServerCtlFrame,
    ServerFrame,
    SessionModel,
    StdoutFrame,
)


async def _until(terminal: AsyncTerminal, want: type, text: str = "") -> ServerFrame:
    """The first frame of type `want` (a ctl body type, or a frame type) containing `text`."""

    async def scan() -> ServerFrame:
        seen = ""
        while (frame := await terminal.recv()) is not None:
            body = frame.body if isinstance(frame, ServerCtlFrame) else frame
            if isinstance(frame, StdoutFrame):
                seen += frame.text
                if want is StdoutFrame and text in seen:
                    return frame
            elif isinstance(body, want):
                return frame
        raise AssertionError(f"closed before {want.__name__}")

    return await asyncio.wait_for(scan(), DEADLINE)


async def test_async_client_speaks_the_whole_protocol_typed(api: Api) -> None:
    alice, bob = api.client("alice"), api.client("bob")
    session = await alice.create_session()
    assert isinstance(session, SessionModel) and session.you.role is Role.OWNER
    invite = await alice.create_invite(session.id, "coworker", max_uses=1)
    assert isinstance(invite.url, str) and invite.state == "active"
    joined = await bob.join_url(invite.url)
    assert joined.session == session.id and joined.role is Role.COWORKER
    assert [i.uses for i in await alice.invites(session.id)] == [1]

    owner = await alice.connect(session.id)
    coworker = await bob.connect(session.id)
    assert owner.setup is not None and owner.setup.role is Role.OWNER
    assert coworker.setup is not None and coworker.setup.participant == joined.participant
    roster = await _until(owner, Roster)
    assert isinstance(roster, ServerCtlFrame) and isinstance(roster.body, Roster)

    coworker.stdin("echo typed-$((6*7))\r")
    await _until(owner, StdoutFrame, "typed-42")
    coworker.ask("why?")
    asked = await _until(owner, QuestionPosted)
    assert isinstance(asked, ServerCtlFrame) and isinstance(asked.body, QuestionPosted)
    assert asked.body.text == "why?" and asked.body.asked_by == joined.participant

    await alice.set_role(session.id, joined.participant, Role.VIEWER)
    changed = await _until(coworker, RoleUpdate)
    assert isinstance(changed, ServerCtlFrame) and changed.body == RoleUpdate(Role.VIEWER)
    coworker.stdin("x")
    refused = await _until(coworker, ErrorReport)
    assert isinstance(refused, ServerCtlFrame) and refused.body.code.value == "forbidden"  # type: ignore[union-attr]

    with pytest.raises(SharedTermError) as refusal:
        await bob.end_session(session.id)
    assert refusal.value.status == 403 and "owner" in refusal.value.message
    await alice.end_session(session.id)
    last = await _until(coworker, DisconnectFrame)
    assert last == DisconnectFrame(CloseCode.SESSION_ENDED, "Alice ended the session.")
    assert (await alice.session(session.id)).state == "ended"
    owner.close()
    coworker.close()


async def test_a_guest_joins_and_connects_with_the_client(api: Api) -> None:
    session = await api.client("alice").create_session()
    assert isinstance(session, SessionModel)
    invite = await api.client("alice").create_invite(session.id)
    assert isinstance(invite.url, str)
    guest = type(api.client("alice"))(api.base_url)  # no token: a guest
    joined = await guest.join_url(invite.url, name="Visitor")
    assert joined.role is Role.VIEWER
    terminal = await guest.connect(session.id)
    assert terminal.setup is not None and terminal.setup.name.startswith("Visitor")
    terminal.close()


async def test_the_blocking_client_against_a_server_process(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path)
    await server.start()

    def script() -> list[str]:
        url = f"http://127.0.0.1:{server.port}/"
        with Client(url, token=server.TOKEN, headers={"X-Test-User": "alice"}) as client:
            session = client.create_session()
            assert isinstance(session, SessionModel)
            with client.connect(session.id) as terminal:
                assert terminal.setup is not None and terminal.setup.role is Role.OWNER
                terminal.stdin("echo blocking-$((40+2))\r")
                seen = ""
                while "blocking-42" not in seen:
                    frame = terminal.recv(timeout=DEADLINE)
                    if isinstance(frame, StdoutFrame):
                        seen += frame.text
            client.end_session(session.id)
            return [s.state for s in client.sessions()]

    try:
        states = await asyncio.wait_for(asyncio.to_thread(script), DEADLINE * 4)
    finally:
        server.stop()
    assert states == ["ended"] or states == []
