"""Invites: capability secrets for joining one session, stored only as a keyed hash."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any, Final

from .ids import InviteId, ParticipantId, new_id
from .roles import Role

__all__ = ["DEFAULT_INVITE_TTL_SECONDS", "Invite", "SecretHasher"]

DEFAULT_INVITE_TTL_SECONDS: Final = 24 * 3600
SECRET_BYTES: Final = 32  # 256 bits from `secrets`; SECURITY 9 asks for at least 128


class SecretHasher:
    """Keys the hash of invite secrets, so a leaked session table reveals no usable link."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("the invite hashing key must be at least 16 bytes")
        self._key = key

    def digest(self, secret: str) -> bytes:
        return hmac.new(self._key, secret.encode("utf-8", "replace"), hashlib.sha256).digest()


@dataclass(slots=True)
class Invite:
    """One link into one session with one role; never grants owner."""

    id: InviteId
    role: Role
    created_by: ParticipantId
    created_at: float
    expires_at: float
    max_uses: int | None
    secret_hash: bytes
    uses: int = 0
    revoked: bool = False

    @classmethod
    def issue(
        cls,
        hasher: SecretHasher,
        *,
        role: Role,
        created_by: ParticipantId,
        now: float,
        expires_in: float | None,
        max_uses: int | None,
    ) -> tuple[Invite, str]:
        """A new invite and its secret. The secret is returned once and never stored."""
        if role is Role.OWNER:
            raise ValueError("invites never grant owner")
        secret = secrets.token_urlsafe(SECRET_BYTES)
        ttl = DEFAULT_INVITE_TTL_SECONDS if expires_in is None else expires_in
        invite = cls(
            id=InviteId(new_id()),
            role=role,
            created_by=created_by,
            created_at=now,
            expires_at=now + ttl,
            max_uses=max_uses,
            secret_hash=hasher.digest(secret),
        )
        return invite, secret

    def matches(self, hasher: SecretHasher, secret: str) -> bool:
        """Constant-time comparison of a presented secret with the stored hash."""
        return hmac.compare_digest(self.secret_hash, hasher.digest(secret))

    def usable(self, now: float) -> bool:
        return (
            not self.revoked
            and now < self.expires_at
            and (self.max_uses is None or self.uses < self.max_uses)
        )

    def state(self, now: float) -> str:
        if self.revoked:
            return "revoked"
        if now >= self.expires_at:
            return "expired"
        if self.max_uses is not None and self.uses >= self.max_uses:
            return "used_up"
        return "active"

    def describe(self, now: float) -> dict[str, Any]:
        """The invite as owners see it: never the secret or its hash."""
        return {
            "id": self.id,
            "role": self.role.value,
            "created_by": self.created_by,
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "max_uses": self.max_uses,
            "uses": self.uses,
            "state": self.state(now),
        }
