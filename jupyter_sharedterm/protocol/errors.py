"""How refusals travel: error codes and their HTTP statuses, close codes, ProtocolError."""

from __future__ import annotations

from enum import IntEnum
from typing import Final

from ..core.errors import DomainError, ErrorCode

__all__ = ["STATUS", "CloseCode", "ProtocolError", "close_code_for", "http_status"]

STATUS: Final[dict[ErrorCode, int]] = {
    ErrorCode.INVALID: 400,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.CONFLICT: 409,
    ErrorCode.GONE: 410,
    ErrorCode.TOO_LARGE: 413,
    ErrorCode.TOO_MANY: 429,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.UNAVAILABLE: 503,
}


class CloseCode(IntEnum):
    """Websocket close codes; the `disconnect` frame carries the same number."""

    NORMAL = 1000
    MESSAGE_TOO_BIG = 1009  # tornado sends it itself when a frame exceeds MAX_FRAME_BYTES
    INTERNAL_ERROR = 1011
    SESSION_ENDED = 4000
    REMOVED = 4001
    TOO_SLOW = 4008
    FLOODING = 4029


# A refusal after the upgrade (the session changed between the HTTP check and the socket
# opening) closes with 4000 + the status the same refusal answers over HTTP: 4403, 4404, 4410.
_REFUSAL_CLOSE_BASE: Final = 4000


def http_status(code: ErrorCode) -> int:
    """The HTTP status a refusal with `code` answers."""
    return STATUS[code]


def close_code_for(code: ErrorCode) -> int:
    """The close code of a socket refused with `code` once open: 4000 + its HTTP status % 1000."""
    return _REFUSAL_CLOSE_BASE + http_status(code) % 1000


class ProtocolError(DomainError):
    """A frame or body that does not follow this spec; the message says how to fix it."""

    def __init__(self, message: str, code: ErrorCode = ErrorCode.INVALID, **fields: object) -> None:
        super().__init__(code, message, **fields)
