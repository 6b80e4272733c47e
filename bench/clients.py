"""Benchmark clients: websocket readers spread over worker processes, plus the single clients
(writer, typist, late joiner, stalled reader) the conductor drives itself.

Readers must not be the bottleneck, so they live in several processes, each with its own
asyncio loop, and do as little as possible per frame: decode the JSON array, count characters,
look for the sentinel (or, in echo mode, for the CJK keys). All times are `time.monotonic()`,
which is CLOCK_MONOTONIC on Linux and so comparable between processes.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import multiprocessing
import os
import re
import socket
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

import msgspec
from websockets.asyncio.client import ClientConnection, connect

from jupyter_sharedterm.protocol import ClientMessage, SetSize, StdoutFrame, encode_client

__all__ = [
    "COLS",
    "ROWS",
    "Endpoint",
    "Peer",
    "ReaderPool",
    "StalledReader",
    "open_peer",
]

ROWS, COLS = 24, 80
KEY_BASE = 0x4E00  # key i is U+4E00+i: one keystroke, one unique character, never in the load
_CJK = re.compile("[\u4e00-\u9fff]")
_STDOUT_PREFIX = '["stdout",'
# The readers measure three servers (terminado, the ceiling, sharedterm), so they decode
# stdout with the protocol's frame type (the same on all three, and cheaper than json.loads)
# and everything else as plain JSON: terminado's and the ceiling's setup are not ours.
_decode_stdout = msgspec.json.Decoder(StdoutFrame).decode
_decode_any = msgspec.json.Decoder().decode
_CONNECT_TIMEOUT = 30.0


@dataclass(frozen=True)
class Endpoint:
    """Where one participant connects: a ws:// URL and the headers that say who they are."""

    url: str
    headers: dict[str, str]
    role: str = "viewer"


async def _connect(ep: Endpoint) -> ClientConnection:
    # proxy=None: never route through a proxy from the environment; everything is loopback.
    return await connect(
        ep.url,
        additional_headers=ep.headers,
        compression=None,
        max_size=None,
        ping_interval=None,
        proxy=None,
        open_timeout=_CONNECT_TIMEOUT,
        close_timeout=2,
        user_agent_header=None,
    )


class Peer:
    """One participant's socket, read continuously in a task; modes say what to record.

    Modes: "drain" counts nothing, "fanout" counts characters until the sentinel, "echo" records
    the first arrival of each CJK key, "tail" also keeps the last `tail_chars` characters, and
    "frames" keeps every stdout frame with its arrival time (the late joiner).
    """

    def __init__(self, ws: ClientConnection, role: str) -> None:
        self.ws = ws
        self.role = role
        self.setup = asyncio.get_running_loop().create_future()
        self.mode = "drain"
        self.sentinel = ""
        self.chars = 0
        self.frames_count = 0
        self.resyncs = 0
        self.t_end: float | None = None
        self.keys: dict[int, float] = {}
        self.tail: list[str] = []
        self.tail_size = 0
        self.tail_chars = 256 << 10
        self.frames: list[tuple[float, str]] = []
        self.t_first_stdout: float | None = None
        self.t_last = 0.0  # the last stdout frame
        self.t_any = 0.0  # the last frame of any kind (roster updates included)
        self.close_code: int | None = None
        self.done = asyncio.Event()
        self.task = asyncio.ensure_future(self._read())
        self._last = ""

    def arm(self, mode: str, sentinel: str = "") -> None:
        self.mode = mode
        self.sentinel = sentinel
        self.chars = self.frames_count = self.resyncs = 0
        self.t_end = None
        self.keys = {}
        self.tail, self.tail_size = [], 0
        self._last = ""
        self.done.clear()

    async def _read(self) -> None:
        try:
            async for msg in self.ws:
                now = self.t_any = time.monotonic()
                if isinstance(msg, bytes):
                    msg = msg.decode()
                if msg.startswith(_STDOUT_PREFIX):
                    self._stdout(_decode_stdout(msg).text, now)
                else:
                    self._other(_decode_any(msg), now)
        except Exception:
            pass
        finally:
            self.close_code = self.ws.close_code
            if not self.setup.done():
                self.setup.set_exception(
                    ConnectionError(f"closed before setup ({self.close_code})")
                )
            self.done.set()

    def _other(self, msg: list[Any], now: float) -> None:
        if msg and msg[0] == "setup" and not self.setup.done():
            self.setup.set_result(now)

    def _stdout(self, text: str, now: float) -> None:
        self.t_last = now
        if self.t_first_stdout is None:
            self.t_first_stdout = now
        mode = self.mode
        if mode == "drain":
            return
        self.frames_count += 1
        self.chars += len(text)
        if text.startswith("\x1bc"):
            self.resyncs += 1
        if mode == "fanout" or mode == "tail":
            if self.t_end is None:
                s = self.sentinel
                if s in text or s in self._last + text[: len(s)]:
                    self.t_end = now
                    self.done.set()
                self._last = text[-len(s) :]
            if mode == "tail":
                self.tail.append(text)
                self.tail_size += len(text)
                while self.tail_size - len(self.tail[0]) > self.tail_chars:
                    self.tail_size -= len(self.tail.pop(0))
        elif mode == "echo":
            if not text.isascii():
                for m in _CJK.finditer(text):
                    self.keys.setdefault(ord(m.group()) - KEY_BASE, now)
        elif mode == "frames":
            self.frames.append((now, text))

    async def send(self, *frame: Any) -> None:
        await self.ws.send(json.dumps(list(frame)))

    async def send_message(self, message: ClientMessage) -> None:
        """A typed client message, encoded by the protocol package (sent as a text frame)."""
        await self.ws.send(encode_client(message).decode())

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.ws.close(), 3)
        self.task.cancel()


async def open_peer(ep: Endpoint) -> Peer:
    """Connect, wait for the setup frame, then send set_size as xterm.js does."""
    peer = Peer(await _connect(ep), ep.role)
    await asyncio.wait_for(peer.setup, _CONNECT_TIMEOUT)
    await peer.send_message(SetSize(ROWS, COLS))
    return peer


# --- worker processes ----------------------------------------------------------------------------


def _worker_main(conn: Connection) -> None:
    asyncio.run(_worker_loop(conn))


async def _worker_loop(conn: Connection) -> None:
    loop = asyncio.get_running_loop()
    inbox: asyncio.Queue[Any] = asyncio.Queue()
    loop.add_reader(conn.fileno(), lambda: inbox.put_nowait(conn.recv()))
    peers: list[Peer] = []
    while True:
        cmd, arg = await inbox.get()
        try:
            if cmd == "connect":
                opened = await asyncio.gather(
                    *(open_peer(Endpoint(**ep)) for ep in arg), return_exceptions=True
                )
                errors = [repr(e) for e in opened if isinstance(e, BaseException)]
                peers = [p for p in opened if isinstance(p, Peer)]
                conn.send(("error", "; ".join(errors)) if errors else ("ok", len(peers)))
            elif cmd == "arm":
                mode, sentinel = arg
                for p in peers:
                    p.arm(mode, sentinel)
                conn.send(("ok", None))
            elif cmd == "collect":
                mode, deadline, keys = arg
                await _collect(peers, mode, deadline, keys)
                conn.send(("ok", [_result(p, mode) for p in peers]))
            elif cmd == "close":
                await asyncio.gather(*(p.close() for p in peers))
                peers = []
                conn.send(("ok", None))
            elif cmd == "exit":
                conn.send(("ok", None))
                return
        except Exception as e:  # report, never hang the conductor
            conn.send(("error", repr(e)))


async def _collect(peers: list[Peer], mode: str, deadline: float, keys: int) -> None:
    """Wait until every peer has what it should (sentinel, or all keys) or the deadline."""
    while time.monotonic() < deadline:
        if mode == "fanout" and all(p.t_end is not None or p.done.is_set() for p in peers):
            return
        if mode == "echo" and all(len(p.keys) >= keys or p.ws.close_code for p in peers):
            return
        await asyncio.sleep(0.01)


def _result(p: Peer, mode: str) -> dict[str, Any]:
    if mode == "echo":
        return {"keys": p.keys, "close_code": p.close_code}
    return {
        "chars": p.chars,
        "frames": p.frames_count,
        "resyncs": p.resyncs,
        "t_end": p.t_end,
        "close_code": p.close_code,
    }


@dataclass
class _Worker:
    proc: multiprocessing.process.BaseProcess
    conn: Connection
    assigned: int = 0


@dataclass
class ReaderPool:
    """Worker processes that hold the viewers of one run; readers are spread round-robin."""

    size: int
    workers: list[_Worker] = field(default_factory=list)

    def start(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        for _ in range(self.size):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_worker_main, args=(child,), daemon=True)
            proc.start()
            child.close()
            self.workers.append(_Worker(proc, parent))

    def pids(self) -> list[int]:
        return [w.proc.pid for w in self.workers if w.proc.pid is not None]

    async def _ask(self, worker: _Worker, cmd: str, arg: Any, timeout: float) -> Any:
        worker.conn.send((cmd, arg))
        loop = asyncio.get_running_loop()
        deadline = time.monotonic() + timeout
        while not worker.conn.poll():
            if time.monotonic() > deadline or not worker.proc.is_alive():
                raise RuntimeError(f"reader worker did not answer {cmd!r}")
            await asyncio.sleep(0.005)
        status, value = await loop.run_in_executor(None, worker.conn.recv)
        if status != "ok":
            raise RuntimeError(f"reader worker: {cmd}: {value}")
        return value

    async def _all(self, cmd: str, arg: Any, timeout: float) -> list[Any]:
        busy = [w for w in self.workers if w.assigned]
        return list(await asyncio.gather(*(self._ask(w, cmd, arg, timeout) for w in busy)))

    async def connect(self, endpoints: list[Endpoint], spread: int | None = None) -> None:
        use = max(1, min(len(endpoints), spread or self.size, self.size))
        groups: list[list[dict[str, Any]]] = [[] for _ in range(use)]
        for i, ep in enumerate(endpoints):
            groups[i % use].append({"url": ep.url, "headers": ep.headers, "role": ep.role})
        for w in self.workers:
            w.assigned = 0
        waits = []
        for w, group in zip(self.workers, groups, strict=False):
            if group:
                w.assigned = len(group)
                waits.append(self._ask(w, "connect", group, _CONNECT_TIMEOUT + 30))
        try:
            await asyncio.gather(*waits)
        except Exception:
            await self.close()
            raise

    async def arm(self, mode: str, sentinel: str = "") -> None:
        await self._all("arm", (mode, sentinel), 30)

    async def collect(self, mode: str, timeout: float, keys: int = 0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        parts = await self._all("collect", (mode, deadline, keys), timeout + 30)
        return [r for part in parts for r in part]

    async def close(self) -> None:
        busy = [w for w in self.workers if w.assigned]
        await asyncio.gather(
            *(self._ask(w, "close", None, 30) for w in busy), return_exceptions=True
        )
        for w in self.workers:
            w.assigned = 0

    def stop(self) -> None:
        for w in self.workers:
            with contextlib.suppress(OSError):
                w.conn.send(("exit", None))
        for w in self.workers:
            w.proc.join(5)
            if w.proc.is_alive():
                w.proc.terminate()
                w.proc.join(5)


# --- the stalled reader --------------------------------------------------------------------------


class StalledReader:
    """A raw socket that completes the websocket handshake, sends set_size and never reads."""

    def __init__(self, ep: Endpoint) -> None:
        self.ep = ep
        self.sock: socket.socket | None = None

    def open(self) -> None:
        assert self.ep.url.startswith("ws://")
        rest = self.ep.url[len("ws://") :]
        hostport, _, path = rest.partition("/")
        host, _, port = hostport.partition(":")
        if host not in ("127.0.0.1", "localhost"):
            raise ValueError("the benchmark only talks to 127.0.0.1")
        sock = socket.create_connection((host, int(port)), timeout=10)
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            f"GET /{path} HTTP/1.1",
            f"Host: {hostport}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
            *(f"{k}: {v}" for k, v in self.ep.headers.items()),
            "",
            "",
        ]
        sock.sendall("\r\n".join(lines).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(1)  # byte by byte: leave every frame after the headers unread
            if not chunk:
                raise ConnectionError("closed during the handshake")
            head += chunk
        if not head.startswith(b"HTTP/1.1 101"):
            raise ConnectionError(head.split(b"\r\n", 1)[0].decode(errors="replace"))
        sock.sendall(_masked_text_frame(encode_client(SetSize(ROWS, COLS)).decode()))
        self.sock = sock

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


def _masked_text_frame(text: str) -> bytes:
    payload = text.encode()
    assert len(payload) < 126
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes([0x81, 0x80 | len(payload)]) + mask + masked
