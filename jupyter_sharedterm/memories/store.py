"""The one interface every memory store implements (the embedded SQLite one, a shared one)."""

from __future__ import annotations

import abc
from collections.abc import Sequence

from .model import Memory, NewMemory

__all__ = ["MAX_RESULTS", "MemoryStore"]

MAX_RESULTS = 100  # one answer shows the best (or newest) 100; narrow the search for more


class MemoryStore(abc.ABC):
    """Where memories live. Every method is async: a shared store (JupyterHub-wide) is
    across a network, and the embedded one runs SQLite off the event loop.

    Stores receive requests already checked (`model.parse_*`) and enforce what needs their
    data: the per-author count, the author-only delete. They raise `DomainError`s with codes
    the handlers map to statuses in one place.
    """

    @abc.abstractmethod
    async def add(self, memory: NewMemory, *, author: str) -> Memory:
        """Save `memory` by `author` (a Jupyter user name) with a new id and the current time.

        Raises:
            DomainError: TOO_MANY when `author` already has as many memories as allowed.
        """

    @abc.abstractmethod
    async def search(
        self, *, text: str | None = None, targets: Sequence[str] = (), limit: int = MAX_RESULTS
    ) -> list[Memory]:
        """Memories whose text has every word of `text` (as a word or a word's beginning) and,
        if `targets` is not empty, whose target is one of them (case-insensitively); best match
        first, or newest first without `text`. Never raises for any `text`: operators, quotes
        and brackets are plain characters to it.
        """

    @abc.abstractmethod
    async def get(self, mid: str) -> Memory:
        """One memory.

        Raises:
            DomainError: NOT_FOUND for an unknown or malformed id.
        """

    @abc.abstractmethod
    async def delete(self, mid: str, *, author: str) -> None:
        """Delete a memory, if `author` wrote it.

        Raises:
            DomainError: NOT_FOUND for an unknown id, FORBIDDEN when someone else wrote it.
        """

    @abc.abstractmethod
    def close(self) -> None:
        """Release the store's resources; idempotent."""
