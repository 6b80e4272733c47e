"""How each target is driven: who connects where, and how output is produced.

* terminado: plain jupyter_server terminals (`POST api/terminals`, `terminals/websocket/NAME`);
  every client is a token-authenticated terminado client.
* sharedterm: only the public interface of docs/protocol.md. The writer is the session's
  owner (`POST api/sharedterm/sessions {"transport": "local"}`); the typist of the echo test
  is a co-worker; readers are viewers; each joins under its own user through an invite
  (`POST .../invites`, `POST api/sharedterm/join/IID {"secret"}`).
* ceiling: the trivial server of bench/ceiling.py; `bench_play` replaces `cat FILE`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

import msgspec

from jupyter_sharedterm.client import AsyncClient
from jupyter_sharedterm.protocol import SessionModel

from .clients import Endpoint
from .servers import Server, http

__all__ = ["Run", "Target"]

_run_ids = itertools.count(1)
_pool = ThreadPoolExecutor(8)


@dataclass
class Run:
    """One fresh terminal (or session) and the endpoints of everyone taking part."""

    writer: Endpoint
    viewers: list[Endpoint]
    typist: Endpoint | None = None
    stalled: Endpoint | None = None
    late: Endpoint | None = None
    cleanup: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    info: dict[str, object] = field(default_factory=dict)

    @classmethod
    def shared_endpoint(
        cls, ep: Endpoint, viewers: int, typist: bool, stalled: bool, late: bool, **more: Any
    ) -> Run:
        """Everyone on one endpoint: the baselines have no participants or roles."""
        return cls(
            writer=ep,
            viewers=[ep] * viewers,
            typist=ep if typist else None,
            stalled=ep if stalled else None,
            late=ep if late else None,
            **more,
        )


class Target:
    """A named server under test."""

    def __init__(self, name: str, kind: str, *, record: bool = False) -> None:
        self.name = name
        self.kind = kind
        self.record = record
        self.server: Server | None = None

    @property
    def has_pty(self) -> bool:
        return self.kind != "ceiling"

    def start(self) -> None:
        self.server = Server(self.kind, record=self.record)
        self.server.start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    def play_frames(self, path: str, nonce: str, chunk: int = 65536) -> list[list[object]]:
        """The frames the writer sends so that FILE is output, then `STBENCH_<nonce>`."""
        if self.kind == "ceiling":
            return [["bench_play", path, f"STBENCH_{nonce}", chunk]]
        # The echoed command line shows "STBENCH <nonce>", never the sentinel itself.
        return [["stdin", f"cat {path}; printf '%s_%s\\n' STBENCH {nonce}\r"]]

    async def prepare(
        self, viewers: int, *, typist: bool = False, stalled: bool = False, late: bool = False
    ) -> Run:
        assert self.server is not None
        return await asyncio.get_running_loop().run_in_executor(
            _pool, self._prepare, viewers, typist, stalled, late
        )

    def _prepare(self, viewers: int, typist: bool, stalled: bool, late: bool) -> Run:
        srv = self.server
        assert srv is not None
        n = next(_run_ids)
        if self.kind == "ceiling":
            ep = Endpoint(f"{srv.ws_base}ws", srv.auth())
            return Run.shared_endpoint(ep, viewers, typist, stalled, late)
        if self.kind == "terminado":
            status, body = http("POST", f"{srv.base}api/terminals", srv.auth(), {})
            if status != 200:
                raise RuntimeError(f"terminado: POST api/terminals answered {status}: {body}")
            name = body["name"]
            ep = Endpoint(f"{srv.ws_base}terminals/websocket/{name}", srv.auth())
            cleanup = [("DELETE", f"{srv.base}api/terminals/{name}", srv.auth())]
            return Run.shared_endpoint(ep, viewers, typist, stalled, late, cleanup=cleanup)
        return self._prepare_shared(n, viewers, typist, stalled, late)

    def _prepare_shared(self, n: int, viewers: int, typist: bool, stalled: bool, late: bool) -> Run:
        # On this executor thread, with a loop of its own: the public client is async.
        return asyncio.run(self._prepare_shared_async(n, viewers, typist, stalled, late))

    async def _prepare_shared_async(
        self, n: int, viewers: int, typist: bool, stalled: bool, late: bool
    ) -> Run:
        """Through the public Python client, as any script would (docs/protocol.md)."""
        srv = self.server
        assert srv is not None

        def client(user: str) -> AsyncClient:
            return AsyncClient(srv.base, token=srv.token, headers={"X-Bench-User": user})

        owner = f"owner{n}"
        session = await client(owner).create_session()
        if not isinstance(session, SessionModel):
            raise RuntimeError(f"sharedterm: creating a session answered {session}")
        sid = session.id
        ws = f"{srv.ws_base}api/sharedterm/sessions/{sid}/terminal"

        async def invite(role: Literal["viewer", "coworker"], uses: int) -> tuple[str, str]:
            inv = await client(owner).create_invite(sid, role, max_uses=max(1, min(uses, 1000)))
            assert isinstance(inv.url, str)
            return inv.id, inv.url.split("#", 1)[1]

        async def join(user: str, iid: str, secret: str, role: str) -> Endpoint:
            joined = await client(user).join(iid, secret, user)
            if joined.role.value != role:
                raise RuntimeError(f"sharedterm: joined as {joined.role.value}, not {role}")
            return Endpoint(ws, srv.auth(user), role)

        extra = int(stalled) + int(late)
        eps: list[Endpoint] = []
        if viewers + extra:
            iid, secret = await invite("viewer", viewers + extra)
            users = [f"viewer{n}-{i}" for i in range(viewers + extra)]
            eps = list(await asyncio.gather(*(join(u, iid, secret, "viewer") for u in users)))
        coworker = None
        if typist:
            ciid, csecret = await invite("coworker", 1)
            coworker = await join(f"coworker{n}", ciid, csecret, "coworker")
        api = f"{srv.base}api/sharedterm"
        return Run(
            writer=Endpoint(ws, srv.auth(owner), "owner"),
            viewers=eps[:viewers],
            typist=coworker,
            stalled=eps[viewers] if stalled else None,
            late=eps[viewers + int(stalled)] if late else None,
            cleanup=[("DELETE", f"{api}/sessions/{sid}", srv.auth(owner))],
            info={"recording": msgspec.to_builtins(session.recording)},
        )

    async def finish(self, run: Run) -> None:
        def work() -> None:
            for method, url, headers in run.cleanup:
                with contextlib.suppress(OSError):
                    http(method, url, headers, timeout=10)

        await asyncio.get_running_loop().run_in_executor(_pool, work)
