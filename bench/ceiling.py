"""The websocket ceiling: a trivial tornado server that pushes the benchmark's bytes, no PTY.

It speaks just enough of the terminal protocol for the benchmark's clients: `["setup", {}]` on
connect, `["stdin", TEXT]` echoed at once to every client as `["stdout", TEXT]` (the ideal
echo), and `["bench_play", PATH, SENTINEL, CHUNK_CHARS]`, which sends the file as a terminal
would show it (`\n` -> `\r\n`) in fixed-size `stdout` frames, each JSON-encoded once and shared
by every client, awaiting every client's flush before the next frame, then the sentinel line.
That is the most the same tornado stack can deliver on this machine: the ceiling.

Run: `python -m bench.ceiling --port PORT --token TOKEN` (binds 127.0.0.1 only).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
from typing import Any

from tornado import web
from tornado.websocket import WebSocketClosedError, WebSocketHandler

__all__ = ["main"]


class _State:
    def __init__(self, token: str) -> None:
        self.token = token
        self.clients: set[CeilingSocket] = set()
        self.cache: tuple[tuple[str, int], list[bytes]] | None = None
        self.playing: asyncio.Future[None] | None = None

    def frames(self, path: str, chunk: int) -> list[bytes]:
        key = (path, chunk)
        if self.cache is None or self.cache[0] != key:
            with open(path, encoding="ascii") as f:
                text = f.read().replace("\n", "\r\n")
            out = [
                json.dumps(["stdout", text[i : i + chunk]]).encode()
                for i in range(0, len(text), chunk)
            ]
            self.cache = (key, out)
        return self.cache[1]


class CeilingSocket(WebSocketHandler):
    state: _State

    def initialize(self, state: _State) -> None:
        self.state = state

    def get_compression_options(self) -> None:
        return None

    async def get(self, *args: Any, **kwargs: Any) -> None:
        if self.request.headers.get("Authorization") != f"token {self.state.token}":
            raise web.HTTPError(403)
        await super().get(*args, **kwargs)

    def open(self, *args: Any, **kwargs: Any) -> None:
        self.set_nodelay(True)
        self.state.clients.add(self)
        self.write_message(json.dumps(["setup", {}]))

    def on_close(self) -> None:
        self.state.clients.discard(self)

    async def on_message(self, message: str | bytes) -> None:
        msg = json.loads(message)
        if msg[0] == "stdin":
            frame = json.dumps(["stdout", msg[1]]).encode()
            for client in list(self.state.clients):
                with contextlib.suppress(WebSocketClosedError):
                    client.write_message(frame, binary=False)
        elif msg[0] == "bench_play":
            _, path, sentinel, chunk = msg
            self.state.playing = asyncio.ensure_future(self._play(path, sentinel, int(chunk)))

    async def _play(self, path: str, sentinel: str, chunk: int) -> None:
        frames = self.state.frames(path, chunk)
        frames = [*frames, json.dumps(["stdout", f"{sentinel}\r\n"]).encode()]
        for frame in frames:
            waits = []
            for client in list(self.state.clients):
                with contextlib.suppress(WebSocketClosedError):
                    waits.append(client.write_message(frame, binary=False))
            if waits:
                await asyncio.gather(*waits, return_exceptions=True)


class _Ready(web.RequestHandler):
    def get(self) -> None:
        self.write("ok")


async def _serve(port: int, token: str) -> None:
    state = _State(token)
    app = web.Application(
        [(r"/ws", CeilingSocket, {"state": state}), (r"/ready", _Ready)],
        websocket_max_message_size=1 << 20,
    )
    app.listen(port, address="127.0.0.1")
    await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token", required=True)
    args = parser.parse_args()
    asyncio.run(_serve(args.port, args.token))


if __name__ == "__main__":
    main()
