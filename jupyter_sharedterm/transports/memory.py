"""An in-memory transport: a real implementation of the interface for tests, with no PTY.

It echoes what is written, as a terminal in canonical mode would, and records every write,
so tests can ask exactly which bytes reached "the terminal" and in what order.
"""

from __future__ import annotations

from .base import Transport, TransportClosed, TransportSink

__all__ = ["MemoryTransport"]


class MemoryTransport(Transport):
    kind = "memory"

    def __init__(self, rows: int = 24, cols: int = 80, *, echo: bool = True) -> None:
        self.written: list[str] = []
        self.resizes: list[tuple[int, int]] = []
        self._size = (rows, cols)
        self._echo = echo
        self._sink: TransportSink | None = None
        self._exited = False

    async def start(self, sink: TransportSink) -> None:
        self._sink = sink

    def write(self, data: str) -> None:
        if self._exited:
            raise TransportClosed("The terminal has exited.")
        self.written.append(data)
        if self._echo and self._sink is not None:
            self._sink.on_output(data)

    def emit(self, text: str) -> None:
        """Produce terminal output, as a program would."""
        if self._sink is not None and not self._exited:
            self._sink.on_output(text)

    def exit(self, reason: str = "the shell exited") -> None:
        """End the terminal from its side, as a dying shell would."""
        if not self._exited:
            self._exited = True
            if self._sink is not None:
                self._sink.on_exit(reason)

    def resize(self, rows: int, cols: int) -> None:
        self._size = (rows, cols)
        self.resizes.append(self._size)

    @property
    def size(self) -> tuple[int, int]:
        return self._size

    async def close(self) -> None:
        self.exit("the session ended")
