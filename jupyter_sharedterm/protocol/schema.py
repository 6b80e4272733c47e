"""The protocol as JSON Schema (draft 2020-12) and as OpenAPI 3.1, generated from its types.

`python -m jupyter_sharedterm.protocol.schema` rewrites `schema.json` (every frame both ways,
the REST models and bodies) and `openapi.json` (the REST routes, the Jupyter habit) next to this
file; a test fails when a committed file differs from what the types generate, so what other
languages check against (the TypeScript client, scripts) is always the spec the server runs.
"""

from __future__ import annotations

import json
import sys
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import msgspec

from ..core.errors import ErrorCode
from . import frames, models, rest
from .errors import STATUS, CloseCode

__all__ = ["OPENAPI_PATH", "ROUTES", "SCHEMA_PATH", "Route", "build_openapi", "build_schema"]

SCHEMA_PATH: Final = Path(__file__).with_name("schema.json")
OPENAPI_PATH: Final = Path(__file__).with_name("openapi.json")

CAST: Final = "application/x-asciicast"  # an answer that is a file, not JSON


@dataclass(frozen=True)
class Route:
    """One REST route: its request body type (None: no body) and answer type per status."""

    method: str
    path: str
    summary: str
    body: Any
    answers: dict[int, Any]


_S: Final = "api/sharedterm/sessions/{sid}"
_CreateSessionBody = (
    rest.ShareTerminalBody | rest.NewShellBody | rest.DeviceSessionBody | rest.AdhocSshBody
)
_LoginReplyBody = rest.FingerprintBody | rest.PromptAnswersBody
_UNIONS: Final[dict[str, Any]] = {
    "ServerFrame": frames.ServerFrame,
    "ServerCtl": frames.ServerCtl,
    "ClientFrame": frames.ClientFrame,
    "ClientCtl": frames.ClientCtl,
    "CreateSessionBody": _CreateSessionBody,
    "LoginReplyBody": _LoginReplyBody,
}
_Session, _Step = models.SessionModel, models.LoginStep

ROUTES: Final = [
    Route("GET", "api/sharedterm/sessions", "Sessions you take part in", None,
          {200: list[models.SessionModel]}),
    Route("POST", "api/sharedterm/sessions", "Share a shell: yours to own", _CreateSessionBody,
          {201: _Session, 202: _Step}),
    Route("GET", _S, "The session as you see it", None, {200: _Session}),
    Route("DELETE", _S, "End the session (owners)", None, {204: None}),
    Route("PATCH", f"{_S}/participants/{{pid}}", "Change a role (owners)", rest.RoleBody,
          {200: models.ParticipantModel}),
    Route("DELETE", f"{_S}/participants/{{pid}}", "Remove a participant (owners)", None,
          {204: None}),
    Route("POST", f"{_S}/invites", "A new invite link (owners)", rest.InviteBody,
          {201: models.InviteModel}),
    Route("GET", f"{_S}/invites", "Invites, never secrets (owners)", None,
          {200: list[models.InviteModel]}),
    Route("DELETE", f"{_S}/invites/{{iid}}", "Revoke an invite (owners)", None, {204: None}),
    Route("PUT", f"{_S}/recording", "Pause or resume the recording (owners)",
          rest.RecordingBody, {200: models.RecordingStatus | None}),
    Route("GET", "api/sharedterm/recordings", "Recordings you may open", None,
          {200: list[models.RecordingModel]}),
    Route("GET", "api/sharedterm/recordings/{rid}", "One recording", None,
          {200: models.RecordingModel}),
    Route("GET", "api/sharedterm/recordings/{rid}/cast", "The asciicast v2 file", None,
          {200: CAST}),
    Route("POST", "api/sharedterm/join/{iid}", "Redeem an invite (as yourself, or as a guest)",
          rest.JoinBody, {200: models.JoinResult}),
    Route("GET", "api/sharedterm/devices", "Configured SSH devices", None,
          {200: models.DeviceInventory}),
    Route("GET", "api/sharedterm/logins", "Your device logins waiting for you", None,
          {200: list[models.LoginStep]}),
    Route("GET", "api/sharedterm/logins/{lid}", "The step a login waits on", None, {200: _Step}),
    Route("POST", "api/sharedterm/logins/{lid}", "Answer a login step", _LoginReplyBody,
          {201: _Session, 202: _Step}),
    Route("DELETE", "api/sharedterm/logins/{lid}", "Cancel a login", None, {204: None}),
    Route("GET", "api/sharedterm/memories", "Memories found by words (q) and/or target", None,
          {200: list[models.MemoryModel]}),
    Route("POST", "api/sharedterm/memories", "Save a memory", rest.MemoryBody,
          {201: models.MemoryModel}),
    Route("DELETE", "api/sharedterm/memories/{mid}", "Delete a memory (its author)", None,
          {204: None}),
    Route("GET", "api/sharedterm/presence", "Who is around (signed-in users)", None,
          {200: list[models.PresenceModel]}),
]  # fmt: skip


def tags(union: Any) -> dict[str, str]:
    """{wire tag: class name} of a union of tagged structs, e.g. {"roster": "Roster", ...}."""
    out = {}
    for member in typing.get_args(union):
        tag = member.__struct_config__.tag
        assert isinstance(tag, str), member
        out[tag] = member.__name__
    return out


class _Components:
    """Every type's schema under one `$ref` prefix, and references to them."""

    def __init__(self, prefix: str) -> None:
        self.template = prefix + "{name}"
        answers = [a for r in ROUTES for a in r.answers.values() if a not in (None, CAST)]
        bodies = [r.body for r in ROUTES if r.body is not None]
        # msgspec takes unions of tagged structs only; the others are spelled out as anyOf.
        members = [m for u in _UNIONS.values() for m in typing.get_args(u)]
        plain = [t for t in [*answers, *bodies] if not any(t == u for u in _UNIONS.values())]
        _, self.defs = msgspec.json.schema_components(
            [*members, *plain, models.ErrorBody], ref_template=self.template
        )
        for name, union in _UNIONS.items():
            self.defs[name] = {
                "anyOf": [{"$ref": self.template.format(name=m.__name__)} for m in union.__args__]
            }
        self.defs = dict(sorted(self.defs.items()))

    def ref(self, t: Any) -> Any:
        if t is None:
            return None
        for name, union in _UNIONS.items():
            if t == union:
                return {"$ref": self.template.format(name=name)}
        return msgspec.json.schema_components([t], ref_template=self.template)[0][0]


def build_schema() -> dict[str, Any]:
    """The whole protocol as one JSON Schema document (see docs/protocol.md for its shape)."""
    c = _Components("#/$defs/")
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
        "x-close-codes": {code.name: code.value for code in CloseCode},
        "x-error-codes": {code.value: STATUS[code] for code in ErrorCode},
        "x-limits": {
            "MAX_FRAME_BYTES": frames.MAX_FRAME_BYTES,
            "MAX_ROWS": frames.MAX_ROWS,
            "MAX_COLS": frames.MAX_COLS,
            "MAX_QUESTION_CHARS": frames.MAX_QUESTION_CHARS,
            "MAX_REST_BODY_BYTES": rest.MAX_REST_BODY_BYTES,
        },
        "x-rest": [
            {
                "method": r.method,
                "path": r.path,
                "body": c.ref(r.body),
                "answers": {
                    str(status): {"contentMediaType": CAST} if a == CAST else c.ref(a)
                    for status, a in r.answers.items()
                },
            }
            for r in ROUTES
        ],
        "$defs": c.defs,
    }


def build_openapi() -> dict[str, Any]:
    """The REST routes as an OpenAPI 3.1 document (schemas under components/schemas)."""
    c = _Components("#/components/schemas/")
    paths: dict[str, dict[str, Any]] = {}
    for r in ROUTES:
        params = [p.strip("{}") for p in r.path.split("/") if p.startswith("{")]
        operation: dict[str, Any] = {
            "summary": r.summary,
            "parameters": [
                {"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
                for p in params
            ],
            "responses": {
                **{str(status): _response(c, a) for status, a in r.answers.items()},
                "default": _response(c, models.ErrorBody, "A refusal (see docs/protocol.md)"),
            },
        }
        if r.body is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": c.ref(r.body)}},
            }
        paths.setdefault("/" + r.path, {})[r.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "jupyter_sharedterm REST API",
            "version": str(frames.PROTOCOL_VERSION),
            "description": (
                "Paths are relative to the Jupyter server's base_url. Generated from "
                "jupyter_sharedterm/protocol; do not edit. The terminal websocket is in "
                "schema.json."
            ),
        },
        "paths": paths,
        "components": {"schemas": c.defs},
    }


def _response(c: _Components, answer: Any, description: str = "") -> dict[str, Any]:
    if answer is None:
        return {"description": description or "Done; no body"}
    if answer == CAST:
        return {"description": "An asciicast v2 file", "content": {CAST: {}}}
    return {
        "description": description or "OK",
        "content": {"application/json": {"schema": c.ref(answer)}},
    }


def render(document: dict[str, Any]) -> str:
    """A document as the committed file holds it."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    """Rewrite schema.json and openapi.json from the types."""
    SCHEMA_PATH.write_text(render(build_schema()), encoding="utf-8")
    OPENAPI_PATH.write_text(render(build_openapi()), encoding="utf-8")
    sys.stdout.write(f"wrote {SCHEMA_PATH.name} and {OPENAPI_PATH.name}\n")


if __name__ == "__main__":
    main()
