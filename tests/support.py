"""Test clients: REST calls as a named user, and a websocket peer that renders what it receives."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pyte
from tornado.httpclient import HTTPResponse
from tornado.websocket import WebSocketClientConnection

DEADLINE = 15.0  # seconds any expected event may take on a loaded 2-core machine


class Api:
    def __init__(self, fetch: Callable[..., Awaitable[HTTPResponse]]) -> None:
        self._fetch = fetch

    async def __call__(
        self,
        user: str,
        method: str,
        *path: str,
        body: Any = None,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        """(status, decoded JSON or None). Never raises for an HTTP error status."""
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        if data is None and method in ("POST", "PATCH", "PUT"):
            data = b""
        response = await self._fetch(
            "api",
            "sharedterm",
            *path,
            method=method,
            body=data,
            headers={"X-Test-User": user, **(headers or {})},
            raise_error=False,
        )
        text = response.body.decode() if response.body else ""
        return response.code, (json.loads(text) if text else None)

    async def share_shell(self, user: str = "alice") -> dict[str, Any]:
        status, model = await self(
            "alice" if user is None else user, "POST", "sessions", body={"transport": "local"}
        )
        assert status == 201, model
        return model

    async def invite(self, owner: str, sid: str, role: str) -> tuple[str, str]:
        """(invite id, secret) of a new invite."""
        status, model = await self(owner, "POST", "sessions", sid, "invites", body={"role": role})
        assert status == 201, model
        iid, secret = model["url"].rsplit("/", 1)[1].split("#")
        return iid, secret

    async def admit(self, owner: str, sid: str, user: str, role: str) -> str:
        """`user` joins `sid` as `role` through a real invite; returns their participant id."""
        iid, secret = await self.invite(owner, sid, role)
        status, model = await self(user, "POST", "join", iid, body={"secret": secret})
        assert status == 200, model
        assert model["role"] == role
        return str(model["participant"])


async def open_lab_terminal(
    fetch: Callable[..., Awaitable[Any]],
    ws_fetch: Callable[..., Awaitable[Any]],
    command: str,
    expect: str,
) -> tuple[str, WebSocketClientConnection]:
    """A JupyterLab terminal (the stock route, as JupyterLab opens one) that ran `command`;
    returns its name and stock socket once `expect` was printed."""
    created = await fetch("api", "terminals", method="POST", body="{}")
    name = str(json.loads(created.body)["name"])
    stock = await ws_fetch("terminals", "websocket", name)
    stock.write_message(json.dumps(["stdin", f"{command}\r"]))
    seen = ""
    while expect not in seen:
        msg = await asyncio.wait_for(stock.read_message(), DEADLINE)
        assert msg is not None, "the stock terminal socket closed"
        kind, *rest = json.loads(msg)
        seen += rest[0] if kind == "stdout" else ""
    return name, stock


class ReferenceScreen(pyte.Screen):  # type: ignore[misc]
    """Plain pyte, independent of the server's own emulator, as a participant's terminal.

    pyte 0.8 raises on private SGR (`CSI > 4 ; 2 m`, which vim sends); a terminal ignores it.
    """

    def select_graphic_rendition(self, *attrs: int, private: bool = False) -> None:
        if not private:
            super().select_graphic_rendition(*attrs)


class Peer:
    """One websocket participant. Frames are collected by a reader task; stdout is rendered."""

    def __init__(self, user: str, ws: WebSocketClientConnection, rows: int = 24, cols: int = 80):
        self.user = user
        self.ws = ws
        self.frames: list[list[Any]] = []
        self.chunks: list[str] = []  # stdout as received; rendered lazily (pyte is slow)
        self._rendered = 0
        self.screen = ReferenceScreen(cols, rows)
        self.stream = pyte.Stream(self.screen)
        self.closed = asyncio.get_running_loop().create_future()
        self._changed = asyncio.Event()
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        while True:
            msg = await self.ws.read_message()
            if msg is None:
                break
            frame = json.loads(msg)
            if frame[0] == "stdout":
                self.chunks.append(frame[1])
            else:
                self.frames.append(frame)
            self._changed.set()
        if not self.closed.done():
            self.closed.set_result(self.ws.close_code)
        self._changed.set()

    async def wait_for(self, check: Callable[[], Any], what: str = "condition") -> Any:
        async def loop() -> Any:
            while True:
                result = check()
                if result:
                    return result
                if self.closed.done():
                    raise AssertionError(f"{self.user}: socket closed while waiting for {what}")
                self._changed.clear()
                # Also re-check now and then: a condition may depend on other peers too.
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), 0.1)

        try:
            return await asyncio.wait_for(loop(), DEADLINE)
        except asyncio.TimeoutError:
            raise AssertionError(f"{self.user}: timed out waiting for {what}") from None

    async def wait_setup(self) -> dict[str, Any]:
        frame = await self.wait_for(lambda: self.frames and self.frames[0], "setup")
        assert not self.chunks, "stdout before setup"
        assert frame[0] == "setup", frame
        return dict(frame[1])

    @property
    def setup(self) -> dict[str, Any]:
        return dict(self.frames[0][1])

    def ctl(self, kind: str) -> list[dict[str, Any]]:
        return [f[1] for f in self.frames if f[0] == "ctl" and f[1].get("type") == kind]

    async def wait_ctl(
        self, kind: str, check: Callable[[dict[str, Any]], bool] = lambda c: True
    ) -> dict[str, Any]:
        def find() -> dict[str, Any] | None:
            return next((c for c in self.ctl(kind) if check(c)), None)

        return dict(await self.wait_for(find, f"ctl {kind}"))

    @property
    def output(self) -> str:
        return "".join(self.chunks)

    async def wait_output(self, text: str) -> None:
        """Wait until `text` has been received, scanning each chunk once (outputs can be huge)."""
        scanned, carry = 0, ""

        def found() -> bool:
            nonlocal scanned, carry
            while scanned < len(self.chunks):
                window = carry + self.chunks[scanned]
                scanned += 1
                if text in window:
                    return True
                carry = window[-len(text) + 1 :] if len(text) > 1 else ""
            return False

        await self.wait_for(found, repr(text))

    def display(self) -> list[str]:
        """The screen as this participant's terminal shows it now."""
        for chunk in self.chunks[self._rendered :]:
            self.stream.feed(chunk)
        self._rendered = len(self.chunks)
        return [line.rstrip() for line in self.screen.display]

    def send(self, *frame: Any) -> None:
        self.ws.write_message(json.dumps(frame))

    def send_raw(self, data: str | bytes, binary: bool = False) -> None:
        self.ws.write_message(data, binary=binary)

    def stdin(self, text: str) -> None:
        self.send("stdin", text)

    async def wait_closed(self) -> int | None:
        try:
            return await asyncio.wait_for(asyncio.shield(self.closed), DEADLINE)
        except asyncio.TimeoutError:
            raise AssertionError(f"{self.user}: socket still open") from None

    def close(self) -> None:
        self.ws.close()
        self._reader.cancel()
