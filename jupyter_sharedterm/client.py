"""The Python client of jupyter_sharedterm: REST and the terminal websocket, async and sync.

Every answer and frame is decoded with the protocol package's types, so a client built on this
module sees exactly the spec (`jupyter_sharedterm/protocol`), and a server that strays from it
fails loudly here instead of in a person's browser::

    async with AsyncClient("http://127.0.0.1:8888/", token=TOKEN) as client:
        session = await client.create_session()
        async with await client.connect(session.id) as terminal:
            terminal.stdin("echo hello\\r")
            async for frame in terminal:
                ...

`Client` and `Terminal` are the same, blocking (they run the async client on a private event
loop in a thread), for scripts and notebooks.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator, Mapping
from types import TracebackType
from typing import Any, Final, Literal, TypeVar
from urllib.parse import quote, urlsplit

import msgspec
from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.websocket import WebSocketClientConnection, websocket_connect

from .core.roles import Role
from .protocol import (
    AdhocSshBody,
    Answer,
    Ask,
    ClientMessage,
    DeviceInventory,
    DeviceSessionBody,
    FingerprintBody,
    InviteBody,
    InviteModel,
    JoinBody,
    JoinResult,
    LoginStep,
    NewShellBody,
    ParticipantModel,
    PromptAnswersBody,
    RecordingBody,
    RecordingModel,
    RecordingStatus,
    RoleBody,
    ServerFrame,
    SessionModel,
    SetRecording,
    SetSize,
    Setup,
    SetupFrame,
    ShareTerminalBody,
    Stdin,
    decode_server_frame,
    encode_client,
)

__all__ = ["AsyncClient", "AsyncTerminal", "Client", "Response", "SharedTermError", "Terminal"]

T = TypeVar("T")
CreateBody = ShareTerminalBody | NewShellBody | DeviceSessionBody | AdhocSshBody
REQUEST_TIMEOUT_SECONDS: Final = 60.0  # a device login may take a while to answer
_API: Final = ("api", "sharedterm")
# Server frames are not bounded by the protocol (a resync carries a whole screen and its
# scrollback); tornado's default of 10 MiB would close the socket on a very large one.
MAX_RECEIVED_FRAME_BYTES: Final = 256 << 20


class SharedTermError(Exception):
    """The server refused a request: `status` is the HTTP status, `message` its explanation."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


class Response(msgspec.Struct, frozen=True):
    """A raw REST answer: the status and the body's bytes (for callers that test refusals)."""

    status: int
    body: bytes
    headers: dict[str, str]

    def json(self) -> Any:
        """The body as plain JSON values (None when empty)."""
        return msgspec.json.decode(self.body) if self.body else None


class AsyncClient:
    """REST calls and terminal sockets of one identity on one Jupyter server.

    Args:
        base_url: the server's URL including its base path, e.g. "http://127.0.0.1:8888/".
        token: a Jupyter API token (sent as `Authorization: token ...`), or None.
        headers: extra headers for every request and socket.
    """

    def __init__(
        self, base_url: str, *, token: str | None = None, headers: Mapping[str, str] | None = None
    ) -> None:
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.headers = dict(headers or {})
        if token is not None:
            self.headers["Authorization"] = f"token {token}"
        # Cookies the server set (Jupyter's login cookie, a guest's cookie), sent back always.
        self.cookies: dict[str, str] = {}

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    def url(self, *path: str) -> str:
        """The absolute URL of `path` (each part quoted) under the base URL."""
        return self.base_url + "/".join(quote(p, safe="") for p in path)

    def _headers(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        headers = {**self.headers, **(extra or {})}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        return headers

    async def request(
        self,
        method: str,
        *path: str,
        body: Any = None,
        raw: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """One HTTP request to `path` (relative to the base URL). Never raises for a status.

        `body` is encoded as JSON (dicts or protocol types); `raw` is sent as it is.
        """
        data = raw if raw is not None else (None if body is None else msgspec.json.encode(body))
        if data is None and method in ("POST", "PATCH", "PUT"):
            data = b""
        response = await AsyncHTTPClient().fetch(  # one per event loop, made on first use
            HTTPRequest(
                self.url(*path),
                method=method,
                body=data,
                headers=self._headers(headers),
                request_timeout=REQUEST_TIMEOUT_SECONDS,
                follow_redirects=False,
            ),
            raise_error=False,
        )
        if response.code == 599 and response.error is not None:
            raise response.error  # no answer at all: connection refused, timeout
        for cookie in response.headers.get_list("Set-Cookie"):
            name, _, rest = cookie.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return Response(response.code, response.body or b"", dict(response.headers))

    async def _call(self, answer: type[T] | Any, method: str, *path: str, body: Any = None) -> T:
        response = await self.request(method, *_API, *path, body=body)
        _raise_for(response)
        if answer is None:
            return None  # type: ignore[return-value]
        result: T = msgspec.json.decode(response.body, type=answer)
        return result

    # --- sessions ----------------------------------------------------------------------------

    async def sessions(self) -> list[SessionModel]:
        """The sessions you take part in."""
        return await self._call(list[SessionModel], "GET", "sessions")

    async def create_session(self, body: CreateBody | None = None) -> SessionModel | LoginStep:
        """Share a shell (by default a new local one); you own it.

        Returns:
            The session, or for an SSH device the login step it waits on (see `continue_login`).
        Raises:
            SharedTermError: refused (403 no terminals, 429 too many sessions, 503 no shell...).
        """
        response = await self.request("POST", *_API, "sessions", body=body or NewShellBody())
        if response.status == 202:
            return msgspec.json.decode(response.body, type=LoginStep)
        _raise_for(response)
        return msgspec.json.decode(response.body, type=SessionModel)

    async def session(self, sid: str) -> SessionModel:
        """The session as you see it."""
        return await self._call(SessionModel, "GET", "sessions", sid)

    async def end_session(self, sid: str) -> None:
        """End the session for everyone (owners)."""
        await self._call(None, "DELETE", "sessions", sid)

    async def set_role(self, sid: str, pid: str, role: Role) -> ParticipantModel:
        """Give participant `pid` another role (owners); effective on their next frame."""
        return await self._call(
            ParticipantModel,
            "PATCH",
            "sessions",
            sid,
            "participants",
            pid,
            body=RoleBody(role=role),
        )

    async def remove_participant(self, sid: str, pid: str) -> None:
        """Remove `pid` from the session for good (owners)."""
        await self._call(None, "DELETE", "sessions", sid, "participants", pid)

    async def create_invite(
        self,
        sid: str,
        role: Literal["viewer", "coworker"] = "viewer",
        *,
        expires_in: float | None = None,
        max_uses: int | None = None,
    ) -> InviteModel:
        """A new invite link (owners); its `url` holds the secret, shown this once."""
        body = InviteBody(role=role, expires_in=expires_in, max_uses=max_uses)
        return await self._call(InviteModel, "POST", "sessions", sid, "invites", body=body)

    async def invites(self, sid: str) -> list[InviteModel]:
        """The session's invites, never their secrets (owners)."""
        return await self._call(list[InviteModel], "GET", "sessions", sid, "invites")

    async def revoke_invite(self, sid: str, iid: str) -> None:
        """Revoke an invite (owners)."""
        await self._call(None, "DELETE", "sessions", sid, "invites", iid)

    async def set_recording_paused(self, sid: str, paused: bool) -> RecordingStatus | None:
        """Pause or resume the session's recording (owners); everyone is told."""
        return await self._call(
            RecordingStatus | None,
            "PUT",
            "sessions",
            sid,
            "recording",
            body=RecordingBody(paused=paused),
        )

    # --- joining -----------------------------------------------------------------------------

    async def join(self, iid: str, secret: str, name: str | None = None) -> JoinResult:
        """Redeem an invite: as yourself with a token, else as a guest of that one session
        (the guest cookie is kept for `connect`)."""
        headers: dict[str, str] = {}
        if "Authorization" not in self.headers:
            # The join route is XSRF-protected: the guest page's answer sets the _xsrf cookie.
            await self.request("GET", "sharedterm", "join", iid)
            if "_xsrf" in self.cookies:
                headers["X-XSRFToken"] = self.cookies["_xsrf"]
        body = JoinBody(secret=secret, name=msgspec.UNSET if name is None else name)
        response = await self.request("POST", *_API, "join", iid, body=body, headers=headers)
        _raise_for(response)
        return msgspec.json.decode(response.body, type=JoinResult)

    async def join_url(self, url: str, name: str | None = None) -> JoinResult:
        """Redeem an invite link as shared: `{base_url}sharedterm/join/IID#SECRET`."""
        address, _, secret = url.partition("#")
        return await self.join(urlsplit(address).path.rstrip("/").rsplit("/", 1)[1], secret, name)

    # --- recordings --------------------------------------------------------------------------

    async def recordings(self) -> list[RecordingModel]:
        """The recordings you may open, oldest first."""
        return await self._call(list[RecordingModel], "GET", "recordings")

    async def recording(self, rid: str) -> RecordingModel:
        """One recording's metadata."""
        return await self._call(RecordingModel, "GET", "recordings", rid)

    async def recording_cast(self, rid: str) -> bytes:
        """The recording as an asciicast v2 file."""
        response = await self.request("GET", *_API, "recordings", rid, "cast")
        _raise_for(response)
        return response.body

    # --- SSH devices -------------------------------------------------------------------------

    async def devices(self) -> DeviceInventory:
        """The configured devices, and whether other hosts may be named."""
        return await self._call(DeviceInventory, "GET", "devices")

    async def logins(self) -> list[LoginStep]:
        """Your device logins waiting for you."""
        return await self._call(list[LoginStep], "GET", "logins")

    async def continue_login(
        self, lid: str, reply: FingerprintBody | PromptAnswersBody
    ) -> SessionModel | LoginStep:
        """Answer a login step: the session once open, or the next step."""
        response = await self.request("POST", *_API, "logins", lid, body=reply)
        if response.status == 202:
            return msgspec.json.decode(response.body, type=LoginStep)
        _raise_for(response)
        return msgspec.json.decode(response.body, type=SessionModel)

    async def cancel_login(self, lid: str) -> None:
        """Give up a login; its connection is closed."""
        await self._call(None, "DELETE", "logins", lid)

    # --- the terminal ------------------------------------------------------------------------

    async def connect(self, sid: str, *, wait_setup: bool = True) -> AsyncTerminal:
        """Open the session's terminal socket; by default wait for (and keep) `setup`.

        Raises:
            tornado.httpclient.HTTPClientError: refused before the upgrade (403, 404, 410).
        """
        url = self.url(*_API, "sessions", sid, "terminal").replace("http", "ws", 1)
        ws = await websocket_connect(
            HTTPRequest(url, headers=self._headers(), request_timeout=REQUEST_TIMEOUT_SECONDS),
            max_message_size=MAX_RECEIVED_FRAME_BYTES,
        )
        terminal = AsyncTerminal(ws)
        if wait_setup:
            await terminal.wait_setup()
        return terminal


def _raise_for(response: Response) -> None:
    if response.status >= 400:
        try:
            message = str(msgspec.json.decode(response.body)["message"])
        except (msgspec.DecodeError, KeyError, TypeError):
            message = response.body.decode("utf-8", "replace")
        raise SharedTermError(response.status, message)


class _Messages:
    """What a participant says on the terminal socket; both terminals send them the same way."""

    def send(self, message: ClientMessage) -> None:
        raise NotImplementedError

    def stdin(self, text: str) -> None:
        """Type `text` (owners and co-workers)."""
        self.send(Stdin(text))

    def set_size(self, rows: int, cols: int) -> None:
        """Say your terminal's size; applied while you are in control."""
        self.send(SetSize(rows, cols))

    def ask(self, text: str) -> None:
        """Ask the people at the keyboard a question."""
        self.send(Ask(text))

    def answer(self, question_id: str) -> None:
        """Mark a question answered (owners and co-workers)."""
        self.send(Answer(question_id))

    def set_recording(self, paused: bool) -> None:
        """Pause or resume the recording (owners)."""
        self.send(SetRecording(paused))


class AsyncTerminal(_Messages):
    """One open terminal socket: typed frames in, typed messages out."""

    def __init__(self, ws: WebSocketClientConnection) -> None:
        self.ws = ws
        self.setup: Setup | None = None  # the first frame, once received

    async def __aenter__(self) -> AsyncTerminal:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    async def recv(self) -> ServerFrame | None:
        """The next frame, decoded with the protocol's types; None once the socket closed.

        Raises:
            ProtocolError: the server sent something that is not a frame of the protocol.
        """
        message = await self.ws.read_message()
        if message is None:
            return None
        frame = decode_server_frame(message)
        if self.setup is None and isinstance(frame, SetupFrame):
            self.setup = frame.setup
        return frame

    async def wait_setup(self) -> Setup:
        """Wait for the `setup` frame (clients ignore everything before it)."""
        while self.setup is None:
            if await self.recv() is None:
                raise ConnectionError(f"the socket closed before setup ({self.close_code})")
        return self.setup

    def __aiter__(self) -> AsyncIterator[ServerFrame]:
        return self._frames()

    async def _frames(self) -> AsyncIterator[ServerFrame]:
        while (frame := await self.recv()) is not None:
            yield frame

    def send(self, message: ClientMessage) -> None:
        """Send one message (Stdin, SetSize, Ask, Answer, SetRecording)."""
        self.ws.write_message(encode_client(message))

    def send_raw(self, data: str | bytes, *, binary: bool = False) -> None:
        """Send anything at all, as a text (or binary) frame: for testing refusals."""
        self.ws.write_message(data, binary=binary)

    @property
    def close_code(self) -> int | None:
        """The code the server closed the socket with, once it did."""
        return self.ws.close_code

    def close(self) -> None:
        """Close the socket (idempotent)."""
        self.ws.close()


# --- blocking ------------------------------------------------------------------------------------


class _LoopThread:
    """A private event loop in a daemon thread, where the blocking API runs the async one."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)


class Client:
    """The blocking twin of `AsyncClient` (same arguments, same methods, same answers)."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = REQUEST_TIMEOUT_SECONDS,
    ) -> None:
        self._thread = _LoopThread()
        self._timeout = timeout

        async def make() -> AsyncClient:
            return AsyncClient(base_url, token=token, headers=headers)

        self.aio = self._run(make())

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self._thread.run(coro, self._timeout)

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop the client's event loop."""
        self._thread.stop()

    def _wrap(self, method: Callable[..., Awaitable[T]]) -> Callable[..., T]:
        def call(*args: Any, **kwargs: Any) -> T:
            async def run() -> T:
                return await method(*args, **kwargs)

            return self._run(run())

        return call

    def request(self, method: str, *path: str, **kwargs: Any) -> Response:
        """See `AsyncClient.request`."""
        return self._wrap(self.aio.request)(method, *path, **kwargs)

    def sessions(self) -> list[SessionModel]:
        """See `AsyncClient.sessions`."""
        return self._wrap(self.aio.sessions)()

    def create_session(self, body: CreateBody | None = None) -> SessionModel | LoginStep:
        """See `AsyncClient.create_session`."""
        return self._wrap(self.aio.create_session)(body)

    def session(self, sid: str) -> SessionModel:
        """See `AsyncClient.session`."""
        return self._wrap(self.aio.session)(sid)

    def end_session(self, sid: str) -> None:
        """See `AsyncClient.end_session`."""
        self._wrap(self.aio.end_session)(sid)

    def set_role(self, sid: str, pid: str, role: Role) -> ParticipantModel:
        """See `AsyncClient.set_role`."""
        return self._wrap(self.aio.set_role)(sid, pid, role)

    def remove_participant(self, sid: str, pid: str) -> None:
        """See `AsyncClient.remove_participant`."""
        self._wrap(self.aio.remove_participant)(sid, pid)

    def create_invite(
        self, sid: str, role: Literal["viewer", "coworker"] = "viewer", **kwargs: Any
    ) -> InviteModel:
        """See `AsyncClient.create_invite`."""
        return self._wrap(self.aio.create_invite)(sid, role, **kwargs)

    def invites(self, sid: str) -> list[InviteModel]:
        """See `AsyncClient.invites`."""
        return self._wrap(self.aio.invites)(sid)

    def revoke_invite(self, sid: str, iid: str) -> None:
        """See `AsyncClient.revoke_invite`."""
        self._wrap(self.aio.revoke_invite)(sid, iid)

    def set_recording_paused(self, sid: str, paused: bool) -> RecordingStatus | None:
        """See `AsyncClient.set_recording_paused`."""
        return self._wrap(self.aio.set_recording_paused)(sid, paused)

    def join(self, iid: str, secret: str, name: str | None = None) -> JoinResult:
        """See `AsyncClient.join`."""
        return self._wrap(self.aio.join)(iid, secret, name)

    def join_url(self, url: str, name: str | None = None) -> JoinResult:
        """See `AsyncClient.join_url`."""
        return self._wrap(self.aio.join_url)(url, name)

    def recordings(self) -> list[RecordingModel]:
        """See `AsyncClient.recordings`."""
        return self._wrap(self.aio.recordings)()

    def recording(self, rid: str) -> RecordingModel:
        """See `AsyncClient.recording`."""
        return self._wrap(self.aio.recording)(rid)

    def recording_cast(self, rid: str) -> bytes:
        """See `AsyncClient.recording_cast`."""
        return self._wrap(self.aio.recording_cast)(rid)

    def devices(self) -> DeviceInventory:
        """See `AsyncClient.devices`."""
        return self._wrap(self.aio.devices)()

    def logins(self) -> list[LoginStep]:
        """See `AsyncClient.logins`."""
        return self._wrap(self.aio.logins)()

    def continue_login(
        self, lid: str, reply: FingerprintBody | PromptAnswersBody
    ) -> SessionModel | LoginStep:
        """See `AsyncClient.continue_login`."""
        return self._wrap(self.aio.continue_login)(lid, reply)

    def cancel_login(self, lid: str) -> None:
        """See `AsyncClient.cancel_login`."""
        self._wrap(self.aio.cancel_login)(lid)

    def connect(self, sid: str) -> Terminal:
        """See `AsyncClient.connect`; the terminal's frames are read with `Terminal.recv`."""
        return Terminal(self, self._wrap(self.aio.connect)(sid))


class Terminal(_Messages):
    """The blocking twin of `AsyncTerminal`."""

    def __init__(self, client: Client, terminal: AsyncTerminal) -> None:
        self._client = client
        self.aio = terminal

    def __enter__(self) -> Terminal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def setup(self) -> Setup | None:
        """The `setup` frame's content."""
        return self.aio.setup

    def recv(self, timeout: float | None = None) -> ServerFrame | None:
        """The next frame; None once closed. Raises TimeoutError after `timeout` seconds."""

        async def recv() -> ServerFrame | None:
            return await asyncio.wait_for(self.aio.recv(), timeout)

        return self._client._run(recv())

    def __iter__(self) -> Iterator[ServerFrame]:
        while (frame := self.recv()) is not None:
            yield frame

    def _do(self, action: Callable[[], None]) -> None:
        async def run() -> None:
            action()

        self._client._run(run())

    def send(self, message: ClientMessage) -> None:
        """See `AsyncTerminal.send`."""
        self._do(lambda: self.aio.send(message))

    @property
    def close_code(self) -> int | None:
        """See `AsyncTerminal.close_code`."""
        return self.aio.close_code

    def close(self) -> None:
        """Close the socket."""
        self._do(self.aio.close)
