"""The wire spec: every frame decodes to a message or a ProtocolError, never anything else."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jupyter_sharedterm import protocol as p
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
