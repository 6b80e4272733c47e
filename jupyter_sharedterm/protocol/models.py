"""The objects REST answers and frames share: participants, questions, invites, sessions,
recordings. The server builds them as dicts in the core; these types are their spec (the
schema and the Python client decode with them)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, cast

import msgspec

from ..core.roles import Role
from ..core.session import Kind, Participant, Question

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = [
    "DeviceInventory",
    "DeviceModel",
    "ErrorBody",
    "InviteModel",
    "JoinResult",
    "LoginPrompt",
    "LoginStep",
    "MemoryModel",
    "MemorySourceModel",
    "ParticipantModel",
    "PresenceModel",
    "QuestionModel",
    "RecordingModel",
    "RecordingStatus",
    "RecordingStatusName",
    "SessionModel",
    "You",
]

RecordingStatusName = Literal["recording", "paused", "failed", "degraded", "stopped"]
"""What a session's recording is doing: `failed` means writes fail and input is refused until
they work again; `degraded` means writes fail and events are being lost."""


class ParticipantModel(msgspec.Struct, frozen=True, kw_only=True):
    """A participant as everyone in the session sees them."""

    id: str
    name: str
    role: Role
    kind: Kind
    connected: bool

    @classmethod
    def of(cls, p: Participant) -> ParticipantModel:
        return cls(id=p.id, name=p.name, role=p.role, kind=p.kind, connected=p.connections > 0)


class QuestionModel(msgspec.Struct, frozen=True, kw_only=True):
    """A question someone asked the people at the keyboard."""

    id: str
    asked_by: str = msgspec.field(name="from")
    name: str
    text: str
    at: float
    answered: bool

    @classmethod
    def of(cls, q: Question) -> Self:
        return cls(
            id=q.id,
            asked_by=q.asked_by,
            name=q.name,
            text=q.text,
            at=q.asked_at,
            answered=q.answered,
        )


class RecordingStatus(msgspec.Struct, frozen=True, kw_only=True):
    """The shared recording's state, with the message to show everyone."""

    id: str
    state: RecordingStatusName
    message: str

    @classmethod
    def of(cls, recording_id: str, state: str, message: str) -> Self:
        """From the recorder's own state name (one of `RecordingStatusName`)."""
        return cls(id=recording_id, state=cast(RecordingStatusName, state), message=message)


class InviteModel(msgspec.Struct, frozen=True, kw_only=True):
    """An invite as owners see it; `url` (with the secret) only in the answer that created it."""

    id: str
    role: Role
    created_by: str
    created_at: float
    expires_at: float
    max_uses: int | None
    uses: int
    state: Literal["active", "expired", "revoked", "used_up"]
    url: str | msgspec.UnsetType = msgspec.UNSET


class You(msgspec.Struct, frozen=True, kw_only=True):
    participant: str
    role: Role


class PresenceModel(msgspec.Struct, frozen=True, kw_only=True):
    """`GET api/sharedterm/presence`: one person as everyone may see them."""

    user: str
    name: str
    state: Literal["active", "idle", "away", "offline"]
    since: int  # epoch seconds, rounded down to the minute


class MemorySourceModel(msgspec.Struct, frozen=True, kw_only=True):
    """Where a memory was found: a recording, and the second into it."""

    recording: str
    time: float


class MemoryModel(msgspec.Struct, frozen=True, kw_only=True):
    """A durable finding about a host or device (CONTRACT.md "After the session")."""

    id: str
    text: str
    target: str | None
    source: MemorySourceModel | None
    author: str  # the Jupyter user name of whoever saved it
    created: float  # seconds since the epoch


class SessionModel(msgspec.Struct, frozen=True, kw_only=True):
    """A session as one participant sees it; `invites` only for owners."""

    id: str
    title: str
    transport: str  # "local" or "ssh"
    state: Literal["active", "ended"]
    created_at: float
    participants: list[ParticipantModel]
    driver: str | None
    you: You
    questions: list[QuestionModel]
    recording: RecordingStatus | None
    end_reason: str | msgspec.UnsetType = msgspec.UNSET
    invites: list[InviteModel] | msgspec.UnsetType = msgspec.UNSET
    # `GET .../sessions/SID` only: the session's target and what the team knows about it.
    target: str | msgspec.UnsetType | None = msgspec.UNSET
    memories: list[MemoryModel] | msgspec.UnsetType = msgspec.UNSET


class JoinResult(msgspec.Struct, frozen=True, kw_only=True):
    """`POST api/sharedterm/join/IID`: who you are in which session."""

    session: str
    participant: str
    role: Role


class RecordingModel(msgspec.Struct, frozen=True, kw_only=True):
    """A recording's metadata, as whoever may open it sees it."""

    id: str
    kind: Literal["session", "terminal"]
    session_id: str
    terminal: str | None
    title: str | None
    started: float
    ended: float | None
    state: Literal["recording", "paused", "finished", "interrupted"]
    width: int
    height: int
    input_captured: bool
    events_lost: int
    end_reason: str | None


class DeviceModel(msgspec.Struct, frozen=True, kw_only=True):
    """A configured SSH device, as the picker shows it (never key files)."""

    name: str
    host: str
    port: int
    username: str
    auth: list[str]
    jump: str | None


class DeviceInventory(msgspec.Struct, frozen=True, kw_only=True):
    """`GET api/sharedterm/devices`: `adhoc` says whether other hosts may be named."""

    devices: list[DeviceModel]
    adhoc: bool


class LoginPrompt(msgspec.Struct, frozen=True, kw_only=True):
    """One question of a password or keyboard-interactive step; `echo` false: a secret."""

    text: str
    echo: bool


class LoginStep(msgspec.Struct, frozen=True, kw_only=True):
    """A device login waiting for its owner: `needs` says what (see docs/protocol.md)."""

    login: str
    device: str
    expires_at: float | None
    needs: Literal["connecting", "host_key", "answers"]
    fingerprint: str | msgspec.UnsetType = msgspec.UNSET
    target: str | msgspec.UnsetType = msgspec.UNSET
    host: str | msgspec.UnsetType = msgspec.UNSET
    port: int | msgspec.UnsetType = msgspec.UNSET
    message: str | msgspec.UnsetType = msgspec.UNSET
    kind: Literal["password", "keyboard-interactive", "passphrase"] | msgspec.UnsetType = (
        msgspec.UNSET
    )
    username: str | msgspec.UnsetType = msgspec.UNSET
    name: str | msgspec.UnsetType = msgspec.UNSET
    instructions: str | msgspec.UnsetType = msgspec.UNSET
    prompts: list[LoginPrompt] | msgspec.UnsetType = msgspec.UNSET
    attempt: int | msgspec.UnsetType = msgspec.UNSET


class ErrorBody(msgspec.Struct, frozen=True, kw_only=True):
    """Every REST refusal: a message a person can act on (the code goes to the log)."""

    message: str
