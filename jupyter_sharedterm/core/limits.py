"""Bounds on what one person, one link or one address may use, and the token bucket behind them."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

__all__ = ["KeyedBuckets", "SessionLimits", "TokenBucket"]


@dataclass(slots=True)
class TokenBucket:
    """Allows `rate` events per second on average, bursts up to `burst`."""

    rate: float
    burst: float
    tokens: float = -1.0
    stamp: float = 0.0

    def take(self, now: float, cost: float = 1.0) -> bool:
        """Spend `cost` tokens if there are enough; False means over the limit."""
        if self.tokens < 0:  # first use: start full
            self.tokens, self.stamp = self.burst, now
        self.tokens = min(self.burst, self.tokens + max(0.0, now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens < cost:
            return False
        self.tokens -= cost
        return True

    def allows(self, now: float) -> bool:
        """Whether one more event would be allowed now (spends nothing)."""
        return self.take(now, cost=0.0) and self.tokens >= 1.0


@dataclass(slots=True)
class KeyedBuckets:
    """One token bucket per key (a client address...), remembering at most `max_keys` keys:
    the least recently used are forgotten first, so a spray of keys cannot grow memory."""

    rate: float
    burst: float
    max_keys: int
    _buckets: OrderedDict[str, TokenBucket] = field(default_factory=OrderedDict)

    def allows(self, key: str, now: float) -> bool:
        bucket = self._buckets.get(key)
        return bucket is None or bucket.allows(now)

    def take(self, key: str, now: float) -> bool:
        """Spend one token of `key`'s bucket; False if it had none left."""
        bucket = self._buckets.pop(key, None) or TokenBucket(self.rate, self.burst)
        self._buckets[key] = bucket  # the most recent last, so the oldest go first
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        return bucket.take(now)

    def __len__(self) -> int:
        return len(self._buckets)


@dataclass(frozen=True, slots=True)
class SessionLimits:
    """What one session lets each person and each link use (SharedTermApp settings).

    Every bound is given back when its reason goes: a removed participant's place, a link's
    use by someone removed, a closed socket.
    """

    max_participants: int = 200  # current participants; removed ones do not count
    # Links listed for owners: past this, the oldest dead ones (revoked, expired, used up) are
    # forgotten, so creating and revoking links in a loop cannot grow a session without bound.
    invites_kept: int = 200
    invite_default_uses: int = 25  # people one link admits unless its owner says otherwise
    # New guests one address may add through one link: a burst, then one per interval.
    guest_joins_per_address: int = 10
    guest_join_interval: float = 60.0  # seconds
    sockets_per_participant: int = 8  # terminal websockets one participant may hold at once
    # Questions one participant may ask: a burst, then `questions_per_minute`.
    questions_burst: int = 3
    questions_per_minute: float = 6.0
    questions_kept_per_participant: int = 10  # older ones of the same person make room
    questions_kept: int = 100  # in the session's list (late joiners and the REST model)
