"""The one small interface every terminal transport (local PTY, SSH, in-memory) implements."""

from __future__ import annotations

import abc
from typing import Protocol

__all__ = ["Transport", "TransportClosed", "TransportError", "TransportSink"]


class TransportError(Exception):
    """A transport could not be started or used; the message is meant for a person."""


class TransportClosed(TransportError):
    """The terminal behind the transport is gone (process exited, link dropped)."""


class TransportSink(Protocol):
    """Where a transport delivers what the terminal does. Both are called on the event loop."""

    def on_output(self, text: str) -> None:
        """Fires with decoded terminal output, in order; chunks may be large under load."""

    def on_exit(self, reason: str) -> None:
        """Fires once when the terminal is gone, with a reason a person can read."""


class Transport(abc.ABC):
    """A bidirectional text pipe to one terminal.

    Output is UTF-8 decoded incrementally (a multi-byte character split across reads is
    never mangled; invalid bytes become U+FFFD). Writes never block the event loop: they are
    queued and flushed as the terminal accepts them.
    """

    kind: str = "abstract"

    @abc.abstractmethod
    async def start(self, sink: TransportSink) -> None:
        """Begin delivering output to `sink`. Raises TransportError if the terminal cannot start."""

    @abc.abstractmethod
    def write(self, data: str) -> None:
        """Queue `data` for the terminal. Raises TransportClosed once the terminal is gone,
        TransportError if the input queue is full."""

    @abc.abstractmethod
    def resize(self, rows: int, cols: int) -> None:
        """Set the terminal size. Values are validated by the caller."""

    @property
    @abc.abstractmethod
    def size(self) -> tuple[int, int]:
        """The current (rows, cols)."""

    def backlog(self) -> str:
        """Output the terminal produced before `start` (e.g. an adopted terminal's history)."""
        return ""

    @abc.abstractmethod
    async def close(self) -> None:
        """Stop the terminal, release every resource; idempotent. `on_exit` fires if it had not."""
