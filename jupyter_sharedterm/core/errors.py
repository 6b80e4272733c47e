"""Domain errors: each carries a code that the handlers translate to a status in one place."""

from __future__ import annotations

from enum import Enum

__all__ = ["DomainError", "ErrorCode"]


class ErrorCode(str, Enum):
    """What went wrong, independent of any transport. The handlers map each to an HTTP status."""

    INVALID = "invalid"  # 400
    FORBIDDEN = "forbidden"  # 403
    NOT_FOUND = "not_found"  # 404: also "exists, but not for you"
    CONFLICT = "conflict"  # 409
    GONE = "gone"  # 410
    TOO_LARGE = "too_large"  # 413
    TOO_MANY = "too_many"  # 429
    UNAVAILABLE = "unavailable"  # 503: the terminal behind a session is failing


class DomainError(Exception):
    """A refusal a person can act on. `message` is safe to show to the requester."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
