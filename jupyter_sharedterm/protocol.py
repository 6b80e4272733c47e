"""The wire, and only the wire: every frame and REST body, decoded in one place; it is the spec.

Websocket frames are JSON arrays, a superset of terminado's protocol, so JupyterLab's
`TerminalConnection` semantics (wait for `setup`, then `stdout`) carry over.
`docs/protocol.md` describes the same frames for people; keep the two in step.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from .core.errors import DomainError, ErrorCode
from .core.roles import Role

__all__ = [
    "MAX_COLS",
    "MAX_FRAME_BYTES",
    "MAX_QUESTION_CHARS",
    "MAX_ROWS",
    "Answer",
    "Ask",
    "ClientMessage",
    "CloseCode",
    "ConfirmFingerprint",
    "CreateSession",
    "InviteRequest",
    "JoinRequest",
    "LoginReply",
    "PromptAnswers",
    "ProtocolError",
    "SetRecording",
    "SetSize",
    "Stdin",
    "decode_frame",
    "encode",
    "parse_create_session",
    "parse_invite_request",
    "parse_join_request",
    "parse_json_body",
    "parse_login_reply",
    "parse_recording_change",
    "parse_role_change",
    "stdout_frame",
]

MAX_FRAME_BYTES: Final = 1 << 20  # 1 MiB: a large paste fits; anything bigger closes with 1009
MAX_REST_BODY_BYTES: Final = 64 << 10  # 64 KiB: no REST body of ours comes near it
MAX_ROWS: Final = 500
MAX_COLS: Final = 1000
MAX_QUESTION_CHARS: Final = 2000
MAX_INVITE_TTL_SECONDS: Final = 30 * 24 * 3600
MAX_INVITE_USES: Final = 1000


class CloseCode:
    """Websocket close codes; the `disconnect` frame carries the same number."""

    NORMAL: Final = 1000
    MESSAGE_TOO_BIG: Final = 1009  # tornado sends it itself when a frame exceeds MAX_FRAME_BYTES
    INTERNAL_ERROR: Final = 1011
    SESSION_ENDED: Final = 4000
    REMOVED: Final = 4001
    TOO_SLOW: Final = 4008
    FLOODING: Final = 4029


class ProtocolError(DomainError):
    """A frame or body that does not follow this spec; the message says how to fix it."""

    def __init__(self, message: str, code: ErrorCode = ErrorCode.INVALID) -> None:
        super().__init__(code, message)


# --- client -> server frames -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Stdin:
    """`["stdin", TEXT]`: keystrokes or a paste for the terminal."""

    text: str


@dataclass(frozen=True, slots=True)
class SetSize:
    """`["set_size", ROWS, COLS, ...]`: the sender's terminal size (extra items are ignored)."""

    rows: int
    cols: int


@dataclass(frozen=True, slots=True)
class Ask:
    """`["ctl", {"type": "question", "text": TEXT}]`: a question for the people at the keyboard."""

    text: str


@dataclass(frozen=True, slots=True)
class Answer:
    """`["ctl", {"type": "answer_question", "id": QID}]`: marks a question answered."""

    question_id: str


@dataclass(frozen=True, slots=True)
class SetRecording:
    """`["ctl", {"type": "recording", "paused": BOOL}]`: an owner pauses or resumes recording."""

    paused: bool


ClientMessage = Stdin | SetSize | Ask | Answer | SetRecording

_CTL_TYPES = ("question", "answer_question", "recording")


def decode_frame(raw: str | bytes) -> ClientMessage:
    """Decode one client frame. Raises ProtocolError (never anything else) for a bad frame."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolError("Frames must be UTF-8 encoded JSON arrays.") from None
    if not raw:
        raise ProtocolError('Empty frame: send a JSON array such as ["stdin", "ls\\r"].')
    try:
        msg = json.loads(raw)
    except (ValueError, RecursionError):
        raise ProtocolError("Frame is not valid JSON: send a JSON array.") from None
    if not isinstance(msg, list) or not msg or not isinstance(msg[0], str):
        raise ProtocolError(
            'A frame is a JSON array whose first item names it, e.g. ["stdin", "ls\\r"].'
        )
    verb = msg[0]
    if verb == "stdin":
        if len(msg) != 2 or not isinstance(msg[1], str):
            raise ProtocolError('stdin takes one string: ["stdin", TEXT].')
        return Stdin(_text(msg[1], "stdin"))
    if verb == "set_size":
        if len(msg) < 3:
            raise ProtocolError('set_size takes rows and columns: ["set_size", ROWS, COLS].')
        return SetSize(_dimension(msg[1], "rows", MAX_ROWS), _dimension(msg[2], "cols", MAX_COLS))
    if verb == "ctl":
        if len(msg) != 2 or not isinstance(msg[1], dict):
            raise ProtocolError('ctl takes one object: ["ctl", {"type": ...}].')
        return _decode_ctl(msg[1])
    raise ProtocolError(f"Unknown frame {verb[:32]!r}: use stdin, set_size or ctl.")


def _decode_ctl(body: dict[str, Any]) -> ClientMessage:
    kind = body.get("type")
    if kind == "question":
        text = body.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ProtocolError("A question needs a non-empty text.")
        if len(text) > MAX_QUESTION_CHARS:
            raise ProtocolError(
                f"Questions are limited to {MAX_QUESTION_CHARS} characters.", ErrorCode.TOO_LARGE
            )
        return Ask(_text(text, "question"))  # cleaned in the core, as every text for others
    if kind == "answer_question":
        qid = body.get("id")
        if not isinstance(qid, str) or not _ID.fullmatch(qid):
            raise ProtocolError("answer_question needs the id of a question.")
        return Answer(qid)
    if kind == "recording":
        return SetRecording(_paused(body))
    shown = kind[:32] if isinstance(kind, str) else kind
    raise ProtocolError(f"Unknown ctl type {shown!r}: use one of {', '.join(_CTL_TYPES)}.")


def _text(value: str, what: str) -> str:
    # json.loads accepts lone surrogates ("\ud800"), which cannot be written to a terminal.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ProtocolError(f"{what} contains an unpaired surrogate: send valid Unicode.") from None
    return value


def _dimension(value: Any, what: str, limit: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ProtocolError(f"set_size {what} must be a whole number from 1 to {limit}.")
    if isinstance(value, float):
        if not math.isfinite(value) or value != int(value):
            raise ProtocolError(f"set_size {what} must be a whole number from 1 to {limit}.")
        value = int(value)
    if not 1 <= value <= limit:
        raise ProtocolError(f"set_size {what} must be a whole number from 1 to {limit}.")
    return int(value)


# --- server -> client frames -------------------------------------------------------------------


def encode(*items: Any) -> str:
    """One server frame, e.g. encode("ctl", {"type": "roster", ...})."""
    return json.dumps(items, ensure_ascii=False, separators=(",", ":"))


def stdout_frame(text: str) -> bytes:
    """A `stdout` frame, encoded once and sent as the same bytes to every client."""
    return encode("stdout", text).encode("utf-8", "surrogatepass")


# --- REST bodies ---------------------------------------------------------------------------------

_ID: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")
_TERMINAL_NAME: Final = re.compile(r"\w{1,64}")


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


_LOCAL_FIELDS: Final = {"terminal", "transport", "cwd"}
_SSH_FIELDS: Final = {"transport", "device", "host", "port", "username"}
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
                '"terminal" must be the name of an open JupyterLab terminal, e.g. "1".'
            )
        if transport != "local":
            raise ProtocolError('A JupyterLab terminal is a local shell: omit "transport".')
        return CreateSession("local", terminal=terminal)
    if transport == "ssh":
        _only(body, _SSH_FIELDS)
        return _parse_ssh_target(body)
    if transport != "local":
        raise ProtocolError('"transport" must be "local" (a new shell) or "ssh" (a device).')
    _only(body, _LOCAL_FIELDS)
    cwd = body.get("cwd")
    if cwd is not None and (
        not isinstance(cwd, str) or not cwd or "\x00" in cwd or len(cwd) > 4096
    ):
        raise ProtocolError('"cwd" must be a folder path relative to the server root.')
    return CreateSession("local", cwd=cwd)


def _parse_ssh_target(body: dict[str, Any]) -> CreateSession:
    device = body.get("device")
    if device is not None:
        if any(k in body for k in ("host", "port", "username")):
            raise ProtocolError(
                'Name a configured "device", or give "host" and "username"; not both.'
            )
        if not isinstance(device, str) or not _DEVICE_NAME.fullmatch(device):
            raise ProtocolError('"device" must be the name of a configured device, e.g. "sw1".')
        return CreateSession("ssh", device=device)
    host, username, port = body.get("host"), body.get("username"), body.get("port", 22)
    if host is None and username is None:
        raise ProtocolError(
            'An SSH session needs "device" (a configured device), or "host" and "username".'
        )
    if not isinstance(host, str) or not _SSH_TOKEN.fullmatch(host):
        raise ProtocolError('"host" must be a host name or address.')
    if not isinstance(username, str) or not _SSH_TOKEN.fullmatch(username):
        raise ProtocolError('"username" must be a user name without spaces.')
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise ProtocolError('"port" must be a whole number from 1 to 65535.')
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

MAX_PROMPT_ANSWERS: Final = 16
MAX_ANSWER_CHARS: Final = 4096
_FINGERPRINT: Final = re.compile(r"SHA256:[A-Za-z0-9+/]{43}")


def parse_login_reply(body: dict[str, Any]) -> LoginReply:
    """The owner's reply to a login step. Error messages never repeat an answer."""
    _only(body, {"confirm_fingerprint", "answers"})
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
        if len(answer) > MAX_ANSWER_CHARS or "\x00" in answer or not _encodable(answer):
            raise ProtocolError(
                f"Each answer must be valid text of at most {MAX_ANSWER_CHARS} characters."
            )
    return PromptAnswers(tuple(answers))


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return False
    return True


def parse_recording_change(body: dict[str, Any]) -> bool:
    """`PUT .../recording {"paused": BOOL}`: True to pause."""
    _only(body, {"paused"})
    return _paused(body)


def _paused(body: dict[str, Any]) -> bool:
    paused = body.get("paused")
    if not isinstance(paused, bool):
        raise ProtocolError('"paused" must be true (pause recording) or false (resume).')
    return paused


def parse_role_change(body: dict[str, Any]) -> Role:
    _only(body, {"role"})
    return _role(body.get("role"), allow_owner=True)


@dataclass(frozen=True, slots=True)
class InviteRequest:
    role: Role
    expires_in: float | None
    max_uses: int | None


def parse_invite_request(body: dict[str, Any]) -> InviteRequest:
    _only(body, {"role", "expires_in", "max_uses"})
    role = _role(body.get("role"), allow_owner=False)
    expires_in = body.get("expires_in")
    if expires_in is not None and (
        isinstance(expires_in, bool)
        or not isinstance(expires_in, (int, float))
        or not 1 <= expires_in <= MAX_INVITE_TTL_SECONDS
    ):
        raise ProtocolError(f'"expires_in" must be seconds from 1 to {MAX_INVITE_TTL_SECONDS}.')
    max_uses = body.get("max_uses")
    if max_uses is not None and (
        isinstance(max_uses, bool)
        or not isinstance(max_uses, int)
        or not 1 <= max_uses <= MAX_INVITE_USES
    ):
        raise ProtocolError(f'"max_uses" must be a whole number from 1 to {MAX_INVITE_USES}.')
    return InviteRequest(role, None if expires_in is None else float(expires_in), max_uses)


@dataclass(frozen=True, slots=True)
class JoinRequest:
    secret: str
    name: str | None


def parse_join_request(body: dict[str, Any]) -> JoinRequest:
    _only(body, {"secret", "name"})
    secret = body.get("secret")
    # Malformed secrets answer like unknown ones (SECURITY 10): the same 404 follows.
    if not isinstance(secret, str) or not _ID.fullmatch(secret):
        secret = ""
    name = body.get("name")
    if name is not None and not isinstance(name, str):
        raise ProtocolError('"name" must be a string.')
    # Cleaned and bounded in the core (`core.names.clean_name`), as every name is.
    return JoinRequest(secret, name)


def _role(value: Any, *, allow_owner: bool) -> Role:
    allowed = [r.value for r in Role if allow_owner or r is not Role.OWNER]
    if value not in allowed:
        raise ProtocolError(f'"role" must be one of {", ".join(allowed)}.')
    return Role(value)


def _only(body: dict[str, Any], keys: set[str]) -> None:
    unknown = sorted(set(body) - keys)
    if unknown:
        raise ProtocolError(
            f"Unknown field {unknown[0][:32]!r}; allowed: {', '.join(sorted(keys))}."
        )
