"""Domain errors: each carries a code and fields; the handlers translate codes in one place."""

from __future__ import annotations

from enum import Enum
from typing import Any

__all__ = ["DomainError", "ErrorCode"]


class ErrorCode(str, Enum):
    """What went wrong, independent of any transport. The protocol maps each to an HTTP status."""

    INVALID = "invalid"  # 400
    FORBIDDEN = "forbidden"  # 403
    NOT_FOUND = "not_found"  # 404: also "exists, but not for you"
    CONFLICT = "conflict"  # 409
    GONE = "gone"  # 410
    TOO_LARGE = "too_large"  # 413
    TOO_MANY = "too_many"  # 429: a quota (sessions, invites, logins)
    RATE_LIMITED = "rate_limited"  # 429: frames sent too fast on one socket
    UNAVAILABLE = "unavailable"  # 503: the terminal behind a session is failing


class DomainError(Exception):
    """A refusal a person can act on.

    `message` is safe to show to the requester; `fields` (what the refusal is about, e.g.
    `field="role"`) are for programs and the log, and never hold secrets.
    """

    def __init__(self, code: ErrorCode, message: str, **fields: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.fields = fields

    def for_log(self) -> str:
        """One line for the server log: the code and the fields, not the prose."""
        details = " ".join(f"{k}={v!r}" for k, v in sorted(self.fields.items()))
        return f"{self.code.value} {details}".rstrip()
