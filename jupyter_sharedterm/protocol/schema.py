"""The protocol as JSON Schema (draft 2020-12), generated from the types in this package.

`python -m jupyter_sharedterm.protocol.schema` rewrites `schema.json` next to this file; a test
fails when the committed file differs from what the types generate, so the file other languages
check against (the TypeScript client, scripts) is always the spec the server runs.
"""

from __future__ import annotations

import json
import sys
import typing
from pathlib import Path
from typing import Any, Final

import msgspec

from ..core.errors import ErrorCode
from . import frames, models, rest
from .errors import STATUS, CloseCode

__all__ = ["ROUTES", "SCHEMA_PATH", "build_schema", "render", "tags"]

SCHEMA_PATH: Final = Path(__file__).with_name("schema.json")

_S: Final = "api/sharedterm/sessions/{sid}"
_CreateSessionBody = (
    rest.ShareTerminalBody | rest.NewShellBody | rest.DeviceSessionBody | rest.AdhocSshBody
)
_LoginReplyBody = rest.FingerprintBody | rest.PromptAnswersBody
_Step = models.LoginStep

ROUTES: Final[list[tuple[str, str, Any, dict[int, Any]]]] = [
    # (method, path, request body, {status: answer}); None: no body
    ("GET", "api/sharedterm/sessions", None, {200: list[models.SessionModel]}),
    ("POST", "api/sharedterm/sessions", _CreateSessionBody, {201: models.SessionModel, 202: _Step}),
    ("GET", _S, None, {200: models.SessionModel}),
    ("DELETE", _S, None, {204: None}),
    ("PATCH", f"{_S}/participants/{{pid}}", rest.RoleBody, {200: models.ParticipantModel}),
    ("DELETE", f"{_S}/participants/{{pid}}", None, {204: None}),
    ("POST", f"{_S}/invites", rest.InviteBody, {201: models.InviteModel}),
    ("GET", f"{_S}/invites", None, {200: list[models.InviteModel]}),
    ("DELETE", f"{_S}/invites/{{iid}}", None, {204: None}),
    ("PUT", f"{_S}/recording", rest.RecordingBody, {200: models.RecordingStatus | None}),
    ("GET", "api/sharedterm/recordings", None, {200: list[models.RecordingModel]}),
    ("GET", "api/sharedterm/recordings/{rid}", None, {200: models.RecordingModel}),
    ("POST", "api/sharedterm/join/{iid}", rest.JoinBody, {200: models.JoinResult}),
    ("GET", "api/sharedterm/devices", None, {200: models.DeviceInventory}),
    ("GET", "api/sharedterm/logins", None, {200: list[models.LoginStep]}),
    ("GET", "api/sharedterm/logins/{lid}", None, {200: models.LoginStep}),
    (
        "POST",
        "api/sharedterm/logins/{lid}",
        _LoginReplyBody,
        {201: models.SessionModel, 202: models.LoginStep},
    ),
    ("DELETE", "api/sharedterm/logins/{lid}", None, {204: None}),
]


def tags(union: Any) -> dict[str, str]:
    """{wire tag: class name} of a union of tagged structs, e.g. {"roster": "Roster", ...}."""
    out = {}
    for member in typing.get_args(union):
        tag = member.__struct_config__.tag
        assert isinstance(tag, str), member
        out[tag] = member.__name__
    return out


def build_schema() -> dict[str, Any]:
    """The whole protocol as one JSON Schema document (see docs/protocol.md for its shape)."""
    unions = {
        "ServerFrame": frames.ServerFrame,
        "ServerCtl": frames.ServerCtl,
        "ClientFrame": frames.ClientFrame,
        "ClientCtl": frames.ClientCtl,
        "CreateSessionBody": _CreateSessionBody,
        "LoginReplyBody": _LoginReplyBody,
    }
    answers = [t for _, _, _, by_status in ROUTES for t in by_status.values() if t is not None]
    bodies = [t for _, _, t, _ in ROUTES if t is not None]
    # msgspec takes unions of tagged structs only; plain ones are spelled out as anyOf here.
    members = [m for u in unions.values() for m in typing.get_args(u)]
    plain = [t for t in [*answers, *bodies] if not any(t == u for u in unions.values())]
    _, defs = msgspec.json.schema_components(
        [*members, *plain, models.ErrorBody], ref_template="#/$defs/{name}"
    )
    for name, union in unions.items():
        defs[name] = {"anyOf": [{"$ref": f"#/$defs/{m.__name__}"} for m in typing.get_args(union)]}

    def ref(t: Any) -> Any:
        if t is None:
            return None
        for name, union in unions.items():
            if t == union:
                return {"$ref": f"#/$defs/{name}"}
        return msgspec.json.schema_components([t], ref_template="#/$defs/{name}")[0][0]

    rest_routes = [
        {
            "method": method,
            "path": path,
            "body": ref(body),
            "answers": {str(status): ref(answer) for status, answer in by_status.items()},
        }
        for method, path, body, by_status in ROUTES
    ]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "jupyter_sharedterm protocol",
        "description": (
            "Generated from jupyter_sharedterm/protocol by "
            "`python -m jupyter_sharedterm.protocol.schema`; do not edit."
        ),
        "x-protocol-version": frames.PROTOCOL_VERSION,
        "x-server-frames": tags(frames.ServerFrame),
        "x-server-ctl": tags(frames.ServerCtl),
        "x-client-frames": tags(frames.ClientFrame),
        "x-client-ctl": tags(frames.ClientCtl),
        "x-close-codes": {c.name: c.value for c in CloseCode},
        "x-error-codes": {c.value: STATUS[c] for c in ErrorCode},
        "x-limits": {
            "MAX_FRAME_BYTES": frames.MAX_FRAME_BYTES,
            "MAX_ROWS": frames.MAX_ROWS,
            "MAX_COLS": frames.MAX_COLS,
            "MAX_QUESTION_CHARS": frames.MAX_QUESTION_CHARS,
            "MAX_REST_BODY_BYTES": rest.MAX_REST_BODY_BYTES,
        },
        "x-rest": rest_routes,
        "$defs": dict(sorted(defs.items())),
    }


def render() -> str:
    """The schema as the committed file holds it."""
    return json.dumps(build_schema(), indent=2, sort_keys=False, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    SCHEMA_PATH.write_text(render(), encoding="utf-8")
    sys.stdout.write(f"wrote {SCHEMA_PATH.name}\n")
