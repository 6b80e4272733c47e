"""Team presence: the hub that publishes server-decided states and its handlers."""

from __future__ import annotations

from .handlers import PresenceHandler, PresenceSocketHandler
from .hub import PresenceHub

__all__ = ["PresenceHandler", "PresenceHub", "PresenceSocketHandler"]
