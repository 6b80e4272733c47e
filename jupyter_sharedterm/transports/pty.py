"""The local transport: a real PTY running a shell, spawned or adopted through terminado."""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import os
import signal
from collections import deque
from typing import Any, Final

from ptyprocess import PtyProcessError, PtyProcessUnicode
from terminado.management import NamedTermManager, PtyWithClients
from tornado.ioloop import IOLoop
from tornado.websocket import WebSocketHandler

from .base import Transport, TransportClosed, TransportError, TransportSink

__all__ = ["PtyTransport", "ShellPty", "adopt_terminal", "describe_exit", "spawn_shell"]

READ_BATCH_BYTES: Final = 256 << 10  # drain up to 256 KiB per wake-up: larger frames under load
MAX_PENDING_INPUT_BYTES: Final = 1 << 20  # a shell that stops reading input cannot grow us further


def describe_exit(proc: Any) -> str:
    """Why a reaped shell ended, for people ("the shell exited with status 1")."""
    status = getattr(proc, "exitstatus", None)
    sig = getattr(proc, "signalstatus", None)
    if sig is not None:
        return f"the shell was killed by signal {sig}"
    return "the shell exited" if not status else f"the shell exited with status {status}"


def reset_signals() -> None:
    """In the shell's process, before exec: default dispositions and an empty signal mask.

    Ignored signals and the mask survive exec, and bash passes the ignores it started with on to
    every command: a server started as `jupyter lab &` from a script ignores SIGINT and SIGQUIT,
    so Ctrl-C would stop nothing in its terminals. Python itself ignores SIGPIPE and SIGXFSZ.
    """
    for sig in signal.valid_signals():
        with contextlib.suppress(OSError, ValueError):  # SIGKILL, SIGSTOP
            signal.signal(sig, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, ())


class ShellPty(PtyWithClients):
    """terminado's PTY with its clients, the shell started by `reset_signals`."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: str | None = None) -> None:
        # Not super().__init__(): it spawns with terminado's own preexec_fn (SIGPIPE only) and
        # takes no other. These are the attributes it sets.
        self.clients: list[Any] = []
        self.read_buffer: deque[str] = deque(maxlen=1000)
        self.ptyproc = PtyProcessUnicode.spawn(argv, cwd=cwd, env=env, preexec_fn=reset_signals)
        self.ptyproc.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")


def spawn_shell(manager: NamedTermManager, **options: Any) -> ShellPty:
    """terminado's `new_terminal` (the server's shell command and environment), as a ShellPty."""
    options = {**manager.term_settings, "shell_command": manager.shell_command, **options}
    env = manager.make_term_env(**options)
    return ShellPty(options["shell_command"], env, options.get("cwd"))


def adopt_terminal(manager: NamedTermManager, name: str) -> PtyWithClients:
    """Take a JupyterLab terminal away from the stock terminal manager.

    Afterwards `/terminals/websocket/NAME` and `/api/terminals/NAME` answer 404, and its
    existing stock websockets are closed: the PTY is reachable only through the session.
    Clients that are not websockets stay on the terminal's list but are no longer fed: the
    session takes the terminal's own recording from it as a tap (`TerminalRecording.take_from`).
    """
    terminal: PtyWithClients | None = manager.terminals.get(name)
    if terminal is None:
        raise TransportError(f"There is no open terminal named {name!r}.")
    fd = terminal.ptyproc.fd
    IOLoop.current().remove_handler(fd)
    manager.ptys_by_fd.pop(fd, None)
    del manager.terminals[name]
    for client in list(terminal.clients):
        if isinstance(client, WebSocketHandler):
            client.close()
            terminal.clients.remove(client)
    return terminal


class PtyTransport(Transport):
    """A PTY read and written directly on the event loop, without blocking it."""

    kind = "local"

    def __init__(self, terminal: PtyWithClients) -> None:
        self._terminal = terminal
        self._proc: Any = terminal.ptyproc
        self._fd: int = self._proc.fd
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending = bytearray()
        self._sink: TransportSink | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._writing = False
        self._exit_reason: str | None = None
        self._closed = False
        self._reaping: asyncio.Future[None] | None = None

    @classmethod
    def spawn(cls, manager: NamedTermManager, cwd: str | None = None) -> PtyTransport:
        """A new shell configured like the server's JupyterLab terminals (shell, env)."""
        try:
            return cls(spawn_shell(manager, cwd=cwd))
        except OSError as e:
            raise TransportError(f"Could not start a shell: {e.strerror or e}.") from None

    def backlog(self) -> str:
        return "".join(getattr(self._terminal, "read_buffer", ()))

    async def start(self, sink: TransportSink) -> None:
        self._sink = sink
        self._loop = asyncio.get_running_loop()
        os.set_blocking(self._fd, False)
        self._loop.add_reader(self._fd, self._on_readable)

    def _on_readable(self) -> None:
        chunks: list[bytes] = []
        size = 0
        eof = False
        while size < READ_BATCH_BYTES:
            try:
                data = os.read(self._fd, 65536)
            except BlockingIOError:
                break
            except OSError:  # EIO: every process on the other side has closed it
                data = b""
            if not data:
                eof = True
                break
            chunks.append(data)
            size += len(data)
        text = self._decoder.decode(b"".join(chunks), final=eof)
        if text and self._sink is not None:
            self._sink.on_output(text)
        if eof and self._loop is not None:
            self._loop.remove_reader(self._fd)
            self._reaping = asyncio.ensure_future(self._reap())

    async def _reap(self) -> None:
        # The PTY closes a moment before the shell can be reaped; wait (briefly) for its status,
        # so everyone is told why it ended ("killed by signal 9", "exited with status 1").
        for _ in range(100):
            if not self._alive():
                break
            await asyncio.sleep(0.01)
        self._finish(self._describe_exit())

    def _alive(self) -> bool:
        try:
            return bool(self._proc.isalive())
        except (OSError, PtyProcessError):
            return False

    def _describe_exit(self) -> str:
        return "the shell exited" if self._alive() else describe_exit(self._proc)

    def write(self, data: str) -> None:
        if self._exit_reason is not None:
            raise TransportClosed("The terminal has exited.")
        encoded = data.encode("utf-8")
        if len(self._pending) + len(encoded) > MAX_PENDING_INPUT_BYTES:
            raise TransportError("The terminal is not reading its input; try again in a moment.")
        self._pending += encoded
        self._flush()

    def _flush(self) -> None:
        while self._pending:
            try:
                written = os.write(self._fd, self._pending)
            except BlockingIOError:
                break
            except OSError:
                self._pending.clear()
                break
            del self._pending[:written]
        assert self._loop is not None
        if self._pending and not self._writing:
            self._loop.add_writer(self._fd, self._flush)
            self._writing = True
        elif not self._pending and self._writing:
            self._loop.remove_writer(self._fd)
            self._writing = False

    def resize(self, rows: int, cols: int) -> None:
        if self._exit_reason is None:
            self._proc.setwinsize(rows, cols)

    @property
    def size(self) -> tuple[int, int]:
        rows, cols = self._proc.getwinsize()
        return int(rows), int(cols)

    def _finish(self, reason: str) -> None:
        if self._exit_reason is not None:
            return
        self._exit_reason = reason
        if self._loop is not None:
            self._loop.remove_reader(self._fd)
            if self._writing:
                self._loop.remove_writer(self._fd)
                self._writing = False
        self._pending.clear()
        self._terminal.clients.clear()
        if self._sink is not None:
            self._sink.on_exit(reason)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._reaping is not None:
            self._reaping.cancel()
        self._finish("its shared session ended, which closed the terminal")
        try:
            pgid = os.getpgid(self._proc.pid)
        except OSError:
            pgid = None
        with contextlib.suppress(OSError):
            await self._terminal.terminate(force=True)
        if pgid is not None:  # jobs the shell left behind in its group go too
            with contextlib.suppress(OSError):
                os.killpg(pgid, signal.SIGKILL)
        self._proc.delayafterclose = 0  # ptyprocess would otherwise sleep on the event loop
        with contextlib.suppress(OSError, PtyProcessError):
            self._proc.close(force=True)
