"""Identifiers: typed, random, never sequential or derived from time or user input."""

from __future__ import annotations

import secrets
from typing import NewType

__all__ = ["InviteId", "ParticipantId", "QuestionId", "SessionId", "new_id"]

SessionId = NewType("SessionId", str)
ParticipantId = NewType("ParticipantId", str)
InviteId = NewType("InviteId", str)
QuestionId = NewType("QuestionId", str)


def new_id() -> str:
    """128 random bits, URL-safe (22 characters)."""
    return secrets.token_urlsafe(16)
