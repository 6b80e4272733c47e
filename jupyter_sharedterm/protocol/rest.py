"""REST request bodies: each parsed in one function into a typed request, with a message that
names the field when it is wrong. The answers' types are in `models`."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Annotated, Any, Final, Literal

import msgspec

from ..core.errors import ErrorCode
from ..core.roles import Role
from ._text import ID, encodable
from .errors import ProtocolError
from .models import MemorySourceModel

__all__ = [
    "MAX_INVITE_TTL_SECONDS",
    "MAX_INVITE_USES",
    "MAX_REST_BODY_BYTES",
    "AdhocSshBody",
    "ConfirmFingerprint",
    "CreateSession",
    "DeviceSessionBody",
    "FingerprintBody",
    "InviteBody",
    "InviteRequest",
    "JoinBody",
    "JoinRequest",
    "LoginReply",
    "MemoryBody",
    "NewShellBody",
    "PromptAnswers",
    "PromptAnswersBody",
    "RecordingBody",
    "RoleBody",
    "ShareTerminalBody",
    "encode_body",
    "parse_create_session",
    "parse_invite_request",
    "parse_join_request",
    "parse_json_body",
    "parse_login_reply",
    "parse_recording_change",
    "parse_role_change",
]

MAX_REST_BODY_BYTES: Final = 64 << 10  # 64 KiB: no REST body of ours comes near it
MAX_INVITE_TTL_SECONDS: Final = 30 * 24 * 3600
MAX_INVITE_USES: Final = 1000
MAX_PROMPT_ANSWERS: Final = 16
MAX_ANSWER_CHARS: Final = 4096

_TERMINAL_NAME: Final = re.compile(r"\w{1,64}")

# --- the bodies, as types: the schema and the Python client are built from them; the parse
# functions below accept exactly their fields, and explain every refusal in words.


class ShareTerminalBody(msgspec.Struct, frozen=True, kw_only=True):
    """`POST api/sharedterm/sessions`: share an open JupyterLab terminal."""

    terminal: Annotated[str, msgspec.Meta(pattern=r"^\w{1,64}$")]


class NewShellBody(msgspec.Struct, frozen=True, kw_only=True):
    """`POST api/sharedterm/sessions`: a new shell, in `cwd` (relative to the server root)."""

    transport: Literal["local"] = "local"
    cwd: str | msgspec.UnsetType = msgspec.UNSET


class DeviceSessionBody(msgspec.Struct, frozen=True, kw_only=True):
    """`POST api/sharedterm/sessions`: a session on a configured SSH device."""

    transport: Literal["ssh"] = "ssh"
    device: str


class AdhocSshBody(msgspec.Struct, frozen=True, kw_only=True):
    """`POST api/sharedterm/sessions`: a session on an SSH host that is not configured."""

    transport: Literal["ssh"] = "ssh"
    host: str
    port: Annotated[int, msgspec.Meta(ge=1, le=65535)] = 22
    username: str


class RoleBody(msgspec.Struct, frozen=True, kw_only=True):
    """`PATCH .../participants/PID`."""

    role: Role


class InviteBody(msgspec.Struct, frozen=True, kw_only=True):
    """`POST .../invites`: a link for a viewer or a co-worker (never an owner)."""

    role: Literal["viewer", "coworker"]
    expires_in: Annotated[float, msgspec.Meta(ge=1, le=MAX_INVITE_TTL_SECONDS)] | None = None
    max_uses: Annotated[int, msgspec.Meta(ge=1, le=MAX_INVITE_USES)] | None = None


class RecordingBody(msgspec.Struct, frozen=True, kw_only=True):
    """`PUT .../recording`."""

    paused: bool


class MemoryBody(msgspec.Struct, frozen=True, kw_only=True):
    """`POST api/sharedterm/memories`: a finding, optionally about a target, from a recording."""

    text: str
    target: str | None = None
    source: MemorySourceModel | None = None


class JoinBody(msgspec.Struct, frozen=True, kw_only=True):
    """`POST api/sharedterm/join/IID`: the secret from the link's fragment, and a name."""

    secret: str
    name: str | msgspec.UnsetType = msgspec.UNSET


class FingerprintBody(msgspec.Struct, frozen=True, kw_only=True):
    """`POST api/sharedterm/logins/LID`: trust the host key shown."""

    confirm_fingerprint: Annotated[str, msgspec.Meta(pattern=r"^SHA256:[A-Za-z0-9+/]{43}$")]


class PromptAnswersBody(msgspec.Struct, frozen=True, kw_only=True):
    """`POST api/sharedterm/logins/LID`: one answer per prompt, or none to decline."""

    answers: Annotated[list[str], msgspec.Meta(max_length=MAX_PROMPT_ANSWERS)]


_encoder: Final = msgspec.json.Encoder()


def encode_body(model: Any) -> bytes:
    """A REST answer (dicts, lists and the protocol's types) as UTF-8 JSON."""
    return _encoder.encode(model)


def _fields(*types: type[msgspec.Struct]) -> set[str]:
    return {f.encode_name for t in types for f in msgspec.structs.fields(t)}


def parse_json_body(raw: bytes) -> dict[str, Any]:
    """A REST body: a JSON object of bounded size."""
    if len(raw) > MAX_REST_BODY_BYTES:
        raise ProtocolError("Request body too large.", ErrorCode.TOO_LARGE)
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ProtocolError("The request body must be a JSON object.") from None
    if not isinstance(body, dict):
        raise ProtocolError("The request body must be a JSON object.")
    return body


@dataclass(frozen=True, slots=True)
class CreateSession:
    """`POST api/sharedterm/sessions`: share a JupyterLab terminal, start a new shell, or open
    an SSH device session (a configured `device`, or an ad-hoc `host`/`port`/`username`)."""

    transport: Literal["local", "ssh"]
    terminal: str | None = None
    cwd: str | None = None
    device: str | None = None
    host: str | None = None
    port: int = 22
    username: str | None = None


_LOCAL_FIELDS: Final = _fields(ShareTerminalBody, NewShellBody)
_SSH_FIELDS: Final = _fields(DeviceSessionBody, AdhocSshBody)
_DEVICE_NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_SSH_TOKEN: Final = re.compile(r"[^\s\x00-\x1f\x7f-][^\s\x00-\x1f\x7f]{0,254}")


def parse_create_session(body: dict[str, Any]) -> CreateSession:
    _only(body, _LOCAL_FIELDS | _SSH_FIELDS)
    terminal = body.get("terminal")
    transport = body.get("transport", "local")
    if terminal is not None:
        _only(body, _LOCAL_FIELDS)
        if not isinstance(terminal, str) or not _TERMINAL_NAME.fullmatch(terminal):
            raise ProtocolError(
                '"terminal" must be the name of an open JupyterLab terminal, e.g. "1".',
                field="terminal",
            )
        if transport != "local":
            raise ProtocolError(
                'A JupyterLab terminal is a local shell: omit "transport".', field="transport"
            )
        return CreateSession("local", terminal=terminal)
    if transport == "ssh":
        _only(body, _SSH_FIELDS)
        return _parse_ssh_target(body)
    if transport != "local":
        raise ProtocolError(
            '"transport" must be "local" (a new shell) or "ssh" (a device).', field="transport"
        )
    _only(body, _LOCAL_FIELDS)
    cwd = body.get("cwd")
    if cwd is not None and (
        not isinstance(cwd, str) or not cwd or "\x00" in cwd or len(cwd) > 4096
    ):
        raise ProtocolError('"cwd" must be a folder path relative to the server root.', field="cwd")
    return CreateSession("local", cwd=cwd)


def _parse_ssh_target(body: dict[str, Any]) -> CreateSession:
    device = body.get("device")
    if device is not None:
        if any(k in body for k in ("host", "port", "username")):
            raise ProtocolError(
                'Name a configured "device", or give "host" and "username"; not both.'
            )
        if not isinstance(device, str) or not _DEVICE_NAME.fullmatch(device):
            raise ProtocolError(
                '"device" must be the name of a configured device, e.g. "sw1".', field="device"
            )
        return CreateSession("ssh", device=device)
    host, username, port = body.get("host"), body.get("username"), body.get("port", 22)
    if host is None and username is None:
        raise ProtocolError(
            'An SSH session needs "device" (a configured device), or "host" and "username".'
        )
    if not isinstance(host, str) or not _SSH_TOKEN.fullmatch(host):
        raise ProtocolError('"host" must be a host name or address.', field="host")
    if not isinstance(username, str) or not _SSH_TOKEN.fullmatch(username):
        raise ProtocolError('"username" must be a user name without spaces.', field="username")
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise ProtocolError('"port" must be a whole number from 1 to 65535.', field="port")
    return CreateSession("ssh", host=host, port=port, username=username)


@dataclass(frozen=True, slots=True)
class ConfirmFingerprint:
    """`POST api/sharedterm/logins/LID {"confirm_fingerprint": "SHA256:..."}`: the owner trusts
    the host key shown (it must be exactly the one the device presented)."""

    fingerprint: str


@dataclass(frozen=True, slots=True)
class PromptAnswers:
    """`POST api/sharedterm/logins/LID {"answers": [TEXT, ...]}`: one answer per prompt shown,
    or none to decline (the next authentication method is tried). Secrets: never printed."""

    answers: tuple[str, ...] = field(repr=False)


LoginReply = ConfirmFingerprint | PromptAnswers

_FINGERPRINT: Final = re.compile(r"SHA256:[A-Za-z0-9+/]{43}")


def parse_login_reply(body: dict[str, Any]) -> LoginReply:
    """The owner's reply to a login step. Error messages never repeat an answer."""
    _only(body, _fields(FingerprintBody, PromptAnswersBody))
    if ("confirm_fingerprint" in body) == ("answers" in body):
        raise ProtocolError('Send either "confirm_fingerprint" or "answers".')
    if "confirm_fingerprint" in body:
        fingerprint = body["confirm_fingerprint"]
        if not isinstance(fingerprint, str) or not _FINGERPRINT.fullmatch(fingerprint):
            raise ProtocolError(
                '"confirm_fingerprint" must be the fingerprint shown: "SHA256:" and 43 characters.'
            )
        return ConfirmFingerprint(fingerprint)
    answers = body["answers"]
    if (
        not isinstance(answers, list)
        or len(answers) > MAX_PROMPT_ANSWERS
        or not all(isinstance(a, str) for a in answers)
    ):
        raise ProtocolError(
            f'"answers" must be a list of up to {MAX_PROMPT_ANSWERS} strings, one per prompt.'
        )
    for answer in answers:
        if len(answer) > MAX_ANSWER_CHARS or "\x00" in answer or not encodable(answer):
            raise ProtocolError(
                f"Each answer must be valid text of at most {MAX_ANSWER_CHARS} characters."
            )
    return PromptAnswers(tuple(answers))


def parse_recording_change(body: dict[str, Any]) -> bool:
    """`PUT .../recording {"paused": BOOL}`: True to pause."""
    _only(body, _fields(RecordingBody))
    return _paused(body)


def _paused(body: dict[str, Any]) -> bool:
    paused = body.get("paused")
    if not isinstance(paused, bool):
        raise ProtocolError(
            '"paused" must be true (pause recording) or false (resume).', field="paused"
        )
    return paused


def parse_role_change(body: dict[str, Any]) -> Role:
    _only(body, _fields(RoleBody))
    return _role(body.get("role"), allow_owner=True)


@dataclass(frozen=True, slots=True)
class InviteRequest:
    role: Role
    expires_in: float | None
    max_uses: int | None


def parse_invite_request(body: dict[str, Any]) -> InviteRequest:
    _only(body, _fields(InviteBody))
    role = _role(body.get("role"), allow_owner=False)
    expires_in = body.get("expires_in")
    if expires_in is not None and (
        isinstance(expires_in, bool)
        or not isinstance(expires_in, (int, float))
        or not 1 <= expires_in <= MAX_INVITE_TTL_SECONDS
    ):
        raise ProtocolError(
            f'"expires_in" must be seconds from 1 to {MAX_INVITE_TTL_SECONDS}.', field="expires_in"
        )
    max_uses = body.get("max_uses")
    if max_uses is not None and (
        isinstance(max_uses, bool)
        or not isinstance(max_uses, int)
        or not 1 <= max_uses <= MAX_INVITE_USES
    ):
        raise ProtocolError(
            f'"max_uses" must be a whole number from 1 to {MAX_INVITE_USES}.', field="max_uses"
        )
    return InviteRequest(role, None if expires_in is None else float(expires_in), max_uses)


@dataclass(frozen=True, slots=True)
class JoinRequest:
    secret: str
    name: str | None


def parse_join_request(body: dict[str, Any]) -> JoinRequest:
    _only(body, _fields(JoinBody))
    secret = body.get("secret")
    # Malformed secrets answer like unknown ones (SECURITY 10): the same 404 follows.
    if not isinstance(secret, str) or not ID.fullmatch(secret):
        secret = ""
    name = body.get("name")
    if name is not None and not isinstance(name, str):
        raise ProtocolError('"name" must be a string.', field="name")
    # Cleaned and bounded in the core (`core.names.clean_name`), as every name is.
    return JoinRequest(secret, name)


def _role(value: Any, *, allow_owner: bool) -> Role:
    allowed = [r.value for r in Role if allow_owner or r is not Role.OWNER]
    if value not in allowed:
        raise ProtocolError(f'"role" must be one of {", ".join(allowed)}.', field="role")
    return Role(value)


def _only(body: dict[str, Any], keys: set[str]) -> None:
    unknown = sorted(set(body) - keys)
    if unknown:
        raise ProtocolError(
            f"Unknown field {unknown[0][:32]!r}; allowed: {', '.join(sorted(keys))}.",
            field=unknown[0][:32],
        )
