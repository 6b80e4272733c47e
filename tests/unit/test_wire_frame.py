"""Websocket frames as the terminal socket writes them: encoded once, identical for everyone."""

from __future__ import annotations

import struct

import pytest

from jupyter_sharedterm.handlers.terminal import _wire_frame


def parse(wire: bytes) -> tuple[int, bytes]:
    """First byte and payload of one server frame, per RFC 6455 5.2 (no mask from servers)."""
    first, second = wire[0], wire[1]
    assert second & 0x80 == 0, "a server must not mask"
    size, offset = second & 0x7F, 2
    if size == 126:
        (size,) = struct.unpack("!H", wire[2:4])
        offset = 4
    elif size == 127:
        (size,) = struct.unpack("!Q", wire[2:10])
        offset = 10
    payload = wire[offset:]
    assert len(payload) == size
    return first, payload


@pytest.mark.parametrize("size", [0, 125, 126, 65535, 65536, 300_000])
def test_every_length_form_is_one_final_text_frame(size: int) -> None:
    frame = b"x" * size
    first, payload = parse(_wire_frame(frame))
    assert first == 0x81  # FIN, opcode 1 (text)
    assert payload == frame


def test_text_is_sent_as_utf8() -> None:
    assert parse(_wire_frame('["stdout", "é字"]'))[1] == '["stdout", "é字"]'.encode()


def test_a_frame_handed_to_many_sockets_is_encoded_once() -> None:
    frame = b'["stdout", "' + b"y" * 70_000 + b'"]'
    assert _wire_frame(frame) is _wire_frame(frame)
    assert parse(_wire_frame(bytes(frame)))[1] == frame  # an equal but new frame: encoded anew
