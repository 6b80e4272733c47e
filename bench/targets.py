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
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

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
        srv = self.server
        assert srv is not None
        api = f"{srv.base}api/sharedterm"
        owner = f"owner{n}"
        status, session = http("POST", f"{api}/sessions", srv.auth(owner), {"transport": "local"})
        if status != 201:
            raise RuntimeError(f"sharedterm: creating a session answered {status}: {session}")
        sid = session["id"]
        ws = f"{srv.ws_base}api/sharedterm/sessions/{sid}/terminal"

        def invite(role: str, uses: int) -> tuple[str, str]:
            status, inv = http(
                "POST", f"{api}/sessions/{sid}/invites", srv.auth(owner),
                {"role": role, "max_uses": max(1, min(uses, 1000))},
            )  # fmt: skip
            if status != 201:
                raise RuntimeError(f"sharedterm: creating an invite answered {status}: {inv}")
            return inv["id"], inv["url"].split("#", 1)[1]

        def join(user: str, iid: str, secret: str, role: str) -> Endpoint:
            status, body = http(
                "POST", f"{api}/join/{iid}", srv.auth(user), {"secret": secret, "name": user}
            )
            if status != 200 or body.get("role") != role:
                raise RuntimeError(f"sharedterm: joining answered {status}: {body}")
            return Endpoint(ws, srv.auth(user), role)

        extra = int(stalled) + int(late)
        eps: list[Endpoint] = []
        if viewers + extra:
            iid, secret = invite("viewer", viewers + extra)
            users = [f"viewer{n}-{i}" for i in range(viewers + extra)]
            eps = list(
                _pool_map(lambda u: join(u, iid, secret, "viewer"), users)
                if len(users) > 4
                else map(lambda u: join(u, iid, secret, "viewer"), users)
            )
        coworker = None
        if typist:
            ciid, csecret = invite("coworker", 1)
            coworker = join(f"coworker{n}", ciid, csecret, "coworker")
        return Run(
            writer=Endpoint(ws, srv.auth(owner), "owner"),
            viewers=eps[:viewers],
            typist=coworker,
            stalled=eps[viewers] if stalled else None,
            late=eps[viewers + int(stalled)] if late else None,
            cleanup=[("DELETE", f"{api}/sessions/{sid}", srv.auth(owner))],
            info={"recording": session.get("recording")},
        )

    async def finish(self, run: Run) -> None:
        def work() -> None:
            for method, url, headers in run.cleanup:
                with contextlib.suppress(OSError):
                    http(method, url, headers, timeout=10)

        await asyncio.get_running_loop().run_in_executor(_pool, work)


def _pool_map(fn: Callable[[str], Endpoint], items: list[str]) -> list[Endpoint]:
    # Joins run on their own small pool: the outer call already occupies one of _pool's threads.
    with ThreadPoolExecutor(4) as ex:
        return list(ex.map(fn, items))
