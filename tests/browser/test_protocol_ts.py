"""labextension/src/protocol.ts mirrors jupyter_sharedterm/protocol.py: numbers and names agree."""

from __future__ import annotations

import json
import re
from pathlib import Path

from jupyter_sharedterm import protocol
from jupyter_sharedterm.core.roles import Role

PROTOCOL_TS = Path(__file__).parents[2] / "labextension" / "src" / "protocol.ts"


def _ts() -> str:
    return PROTOCOL_TS.read_text()


def test_close_codes_match() -> None:
    block = re.search(r"export namespace CloseCode \{(.*?)\n\}", _ts(), re.S)
    assert block is not None
    ts = {name: int(value) for name, value in re.findall(r"const (\w+) = (\d+);", block[1])}
    py = {
        name: value
        for name, value in vars(protocol.CloseCode).items()
        if name.isupper() and isinstance(value, int)
    }
    assert ts == py


def test_roles_and_limits_match() -> None:
    text = _ts()
    roles = re.search(r"export const ROLES: ReadonlyArray<Role> = \[(.*?)\];", text)
    assert roles is not None
    assert re.findall(r"'(\w+)'", roles[1]) == [r.value for r in Role]
    limit = re.search(r"export const MAX_QUESTION_CHARS = (\d+);", text)
    assert limit is not None and int(limit[1]) == protocol.MAX_QUESTION_CHARS


def test_client_ctl_frames_are_known_to_the_server() -> None:
    sent = set(re.findall(r"\['ctl', \{ type: '(\w+)'", _ts()))
    assert sent == {"question", "answer_question"}
    for kind in sent:
        body = {"type": kind, "text": "why?"} if kind == "question" else {"type": kind, "id": "q1"}
        protocol.decode_frame(json.dumps(["ctl", body]))  # raises if unknown
