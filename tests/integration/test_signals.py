"""Ctrl-C works in every terminal, however the server was started (issue 21).

A server started as `jupyter server ... &` from a script ignores SIGINT and SIGQUIT, Python
ignores SIGPIPE (and SIGXFSZ), and a launcher may leave signals blocked. None of that may reach
the commands people run in a shared terminal or in a JupyterLab terminal.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import secrets
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support import DEADLINE, ServerProcess
from tornado.httpclient import HTTPRequest
from tornado.websocket import WebSocketClientConnection, websocket_connect

BASH = "--ServerApp.terminado_settings={'shell_command': ['/bin/bash', '--norc', '--noprofile']}"
KINDS = ("shared", "lab")


class Terminal:
    """A terminal websocket (a shared session's or a JupyterLab terminal's: same frames)."""

    def __init__(self, ws: WebSocketClientConnection) -> None:
        self.ws = ws
        self.output = ""

    def send(self, text: str) -> None:
        self.ws.write_message(json.dumps(["stdin", text]))

    async def wait_for(self, text: str) -> str:
        """The output up to and including `text`, once it has been printed."""
        deadline = time.monotonic() + DEADLINE
        while text not in self.output:
            left = deadline - time.monotonic()
            assert left > 0, f"{text!r} never came; the terminal shows {self.output[-300:]!r}"
            with contextlib.suppress(asyncio.TimeoutError):
                message = await asyncio.wait_for(self.ws.read_message(), left)
                assert message is not None, "the terminal socket closed"
                kind, *rest = json.loads(message)
                if kind == "stdout":
                    self.output += rest[0]
        return self.output[: self.output.index(text) + len(text)]


@pytest.fixture
def record_terminals() -> bool:
    return True


@pytest.fixture
def server(tmp_path: Path, jp_asyncio_loop: Any, record_terminals: bool) -> Iterator[ServerProcess]:
    recording = f"--SharedTermApp.record_terminals={record_terminals}"
    server = ServerProcess(tmp_path, BASH, recording, from_script=True)
    jp_asyncio_loop.run_until_complete(server.start())
    yield server
    server.stop()


async def open_terminal(server: ServerProcess, kind: str) -> Terminal:
    if kind == "shared":
        model = await server.call("POST", "api/sharedterm/sessions", {"transport": "local"})
        path = f"api/sharedterm/sessions/{model['id']}/terminal"
    else:
        path = f"terminals/websocket/{(await server.call('POST', 'api/terminals', {}))['name']}"
    url = f"ws://127.0.0.1:{server.port}/{path}"
    return Terminal(await websocket_connect(HTTPRequest(url, headers=server.headers)))


def signals_in(status: str, field: str) -> set[str]:
    """The signals named by a /proc/PID/status mask, such as `SigIgn`."""
    mask = int(re.search(rf"{field}:\s*([0-9a-f]+)", status)[1], 16)  # type: ignore[index]
    valid = (s for s in signal.valid_signals() if isinstance(s, signal.Signals))
    return {s.name for s in valid if mask >> (s - 1) & 1}


def processes(argv: list[str]) -> list[int]:
    wanted = "\0".join(argv).encode() + b"\0"
    found = []
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            if entry.name.isdigit() and (entry / "cmdline").read_bytes() == wanted:
                found.append(int(entry.name))
    return found


async def wait_running(argv: list[str], running: bool, what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while bool(processes(argv)) != running:
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.05)


def server_status(server: ServerProcess) -> str:
    """/proc status of the server process (the child of the shell that started it)."""
    shell = server.pid
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            status = (entry / "status").read_text()
            if entry.name.isdigit() and re.search(rf"^PPid:\s*{shell}$", status, re.M):
                return status
    raise AssertionError("the server process is not running")


async def test_the_premise_the_server_ignores_and_blocks_signals(server: ServerProcess) -> None:
    status = server_status(server)
    assert {"SIGINT", "SIGQUIT", "SIGPIPE"} <= signals_in(status, "SigIgn")
    assert "SIGUSR2" in signals_in(status, "SigBlk")


@pytest.mark.parametrize("record_terminals", [True, False])  # either terminal manager of ours
async def test_commands_in_every_terminal_start_with_no_ignored_or_blocked_signal(
    server: ServerProcess,
) -> None:
    for kind in KINDS:
        terminal = await open_terminal(server, kind)
        terminal.send("cat /proc/self/status; echo status-$((40+2))\r")
        status = await terminal.wait_for("status-42")
        assert (kind, signals_in(status, "SigIgn")) == (kind, set())
        assert (kind, signals_in(status, "SigBlk")) == (kind, set())
        terminal.ws.close()


async def test_ctrl_c_stops_a_command_in_every_terminal(server: ServerProcess) -> None:
    for kind in KINDS:
        terminal = await open_terminal(server, kind)
        sleep = ["sleep", f"4242.{secrets.randbelow(10**6)}"]
        terminal.send(" ".join(sleep) + "\r")
        try:
            await wait_running(sleep, True, f"{kind}: sleep never started")
            terminal.send("\x03")  # Ctrl-C, as xterm.js sends it
            await wait_running(sleep, False, f"{kind}: Ctrl-C did not stop sleep")
            terminal.send("echo back-$((6*7))\r")
            await terminal.wait_for("back-42")  # the prompt came back: the shell runs commands
        finally:
            for pid in processes(sleep):
                os.kill(pid, signal.SIGKILL)
            terminal.ws.close()
