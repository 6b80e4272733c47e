"""The wire spec: every frame decodes to a message or a ProtocolError, never anything else."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jupyter_sharedterm import protocol as p
from jupyter_sharedterm.core.errors import ErrorCode
from jupyter_sharedterm.core.roles import Role


def test_well_formed_frames_decode() -> None:
    assert p.decode_frame('["stdin", "ls\\r"]') == p.Stdin("ls\r")
    assert p.decode_frame(b'["stdin", "\\u00e9"]') == p.Stdin("é")
    assert p.decode_frame('["set_size", 24, 80, 600, 800]') == p.SetSize(24, 80)
    assert p.decode_frame('["set_size", 24.0, 80]') == p.SetSize(24, 80)
    assert p.decode_frame('["ctl", {"type": "question", "text": "why?"}]') == p.Ask("why?")
    assert p.decode_frame('["ctl", {"type": "answer_question", "id": "abc"}]') == p.Answer("abc")


@given(
    st.one_of(
        st.text(max_size=200),
        st.binary(max_size=200),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
            lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
            max_leaves=12,
        ).map(lambda v: json.dumps(v)),
    )
)
def test_anything_decodes_or_raises_protocol_error(raw: str | bytes) -> None:
    try:
        message = p.decode_frame(raw)
    except p.ProtocolError as e:
        assert e.message
    else:
        assert isinstance(message, (p.Stdin, p.SetSize, p.Ask, p.Answer))


@pytest.mark.parametrize(
    "rows, cols", [(0, 80), (24, 0), (501, 80), (24, 1001), (-1, -1), (1.5, 2)]
)
def test_sizes_out_of_range_are_refused(rows: float, cols: float) -> None:
    with pytest.raises(p.ProtocolError, match="whole number"):
        p.decode_frame(json.dumps(["set_size", rows, cols]))


def test_stdout_frames_are_encoded_once_as_utf8_json() -> None:
    frame = p.stdout_frame("é\x1b[0m")
    assert json.loads(frame.decode("utf-8")) == ["stdout", "é\x1b[0m"]


def test_invite_requests() -> None:
    assert p.parse_invite_request({"role": "viewer"}) == p.InviteRequest(Role.VIEWER, None, None)
    assert p.parse_invite_request({"role": "coworker", "expires_in": 60, "max_uses": 2}) == (
        p.InviteRequest(Role.COWORKER, 60.0, 2)
    )
    for bad in (
        {"role": "owner"},
        {},
        {"role": "viewer", "expires_in": 0},
        {"role": "viewer", "max_uses": 1.5},
        {"role": "viewer", "url": "x"},
    ):
        with pytest.raises(p.ProtocolError):
            p.parse_invite_request(bad)


def test_join_requests_treat_malformed_secrets_as_unknown() -> None:
    assert p.parse_join_request({"secret": "../x"}).secret == ""
    assert p.parse_join_request({"secret": 5}).secret == ""
    # The name is cleaned in the core, as every name is (tests/unit/test_names.py).
    assert p.parse_join_request({"secret": "abc_-1", "name": "\x07Bo"}) == p.JoinRequest(
        "abc_-1", "\x07Bo"
    )


# --- server frames: typed, and the same JSON the contract shows -------------------------------


def test_server_frames_encode_as_the_contract_shows() -> None:
    status = p.RecordingStatus(id="r1", state="paused", message="recording paused by Alice")
    setup = p.Setup(
        participant="P",
        role=Role.OWNER,
        name="Alice",
        session="S",
        title="Terminal 1",
        transport="local",
        recording=status,
    )
    assert json.loads(p.encode(p.SetupFrame(setup))) == [
        "setup",
        {
            "participant": "P",
            "role": "owner",
            "name": "Alice",
            "session": "S",
            "title": "Terminal 1",
            "transport": "local",
            "recording": {"id": "r1", "state": "paused", "message": "recording paused by Alice"},
            "protocol": 1,
        },
    ]
    assert json.loads(p.encode(p.DisconnectFrame(p.CloseCode.REMOVED, "bye"))) == [
        "disconnect",
        4001,
        "bye",
    ]
    ctl = {
        p.RoleUpdate(Role.VIEWER): {"type": "role", "role": "viewer"},
        p.Typing("P"): {"type": "typing", "participant": "P"},
        p.QuestionAnswered("Q", "P"): {"type": "question_answered", "id": "Q", "by": "P"},
        p.Notice("owner_back", "An owner is back."): {
            "type": "notice",
            "code": "owner_back",
            "message": "An owner is back.",
        },
        p.ErrorReport(ErrorCode.FORBIDDEN, "No."): {
            "type": "error",
            "code": "forbidden",
            "message": "No.",
        },
        p.QuestionPosted(id="Q", asked_by="P", name="Bo", text="why?", at=1.5, answered=False): {
            "type": "question",
            "id": "Q",
            "from": "P",
            "name": "Bo",
            "text": "why?",
            "at": 1.5,
            "answered": False,
        },
        p.RecordingUpdate(id="r1", state="recording", message="m"): {
            "type": "recording",
            "id": "r1",
            "state": "recording",
            "message": "m",
        },
    }
    for body, wire in ctl.items():
        encoded = p.ctl_frame(body)
        assert json.loads(encoded) == ["ctl", wire]
        assert p.decode_server_frame(encoded) == p.ServerCtlFrame(body)  # and back


@given(st.text(max_size=300))
def test_stdout_frames_are_the_same_json_as_before(text: str) -> None:
    # Byte for byte what json.dumps(ensure_ascii=False) sent before msgspec encoded frames.
    before = json.dumps(["stdout", text], ensure_ascii=False, separators=(",", ":"))
    assert p.stdout_frame(text) == before.encode("utf-8")


def test_a_lone_surrogate_in_output_never_makes_an_invalid_frame() -> None:
    assert json.loads(p.stdout_frame("a\ud800b")) == ["stdout", "a?b"]


@given(
    st.one_of(
        st.builds(p.Stdin, st.text(max_size=50)),
        st.builds(p.SetSize, st.integers(1, p.MAX_ROWS), st.integers(1, p.MAX_COLS)),
        st.builds(p.Answer, st.from_regex(r"\A[A-Za-z0-9_-]{1,64}\Z")),
        st.builds(p.SetRecording, st.booleans()),
    )
)
def test_client_messages_round_trip(message: p.ClientMessage) -> None:
    assert p.decode_frame(p.encode_client(message)) == message


def test_close_codes_of_refusals_are_computed_in_the_spec() -> None:
    assert p.close_code_for(ErrorCode.FORBIDDEN) == 4403
    assert p.close_code_for(ErrorCode.NOT_FOUND) == 4404
    assert p.close_code_for(ErrorCode.GONE) == 4410
    assert p.http_status(ErrorCode.RATE_LIMITED) == 429
    assert set(p.STATUS) == set(ErrorCode), "every error code has a status"


def test_refusals_carry_fields_for_the_log_and_words_for_people() -> None:
    with pytest.raises(p.ProtocolError) as refused:
        p.decode_frame('["ctl", {"type": "question", "text": "   "}]')
    assert refused.value.message == "A question needs a non-empty text."
    assert refused.value.fields == {"field": "text"}
    assert refused.value.for_log() == "invalid field='text'"
    with pytest.raises(p.ProtocolError) as unknown:
        p.decode_frame('["exec", "rm -rf /"]')
    assert unknown.value.fields == {"frame": "exec"} and "use stdin, set_size, ctl" in (
        unknown.value.message
    )
