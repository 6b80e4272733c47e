"""The presence phase: many people with several tabs each on one sharedterm server (loopback).

Measures, for PEOPLE x TABS presence websockets (`api/sharedterm/presence/sync`):
* propagation: one person's input hint (idle -> active) until each tab has the update frame
  naming them; p50/p95/max over every (change, tab) pair;
* idle cost: bytes each client receives / sends per second (TCP payload from the kernel's
  TCP_INFO, so websocket pings and pongs included, TCP/IP headers not) and the server's CPU
  share while nobody changes state;
* the CPU share while changes happen.

Run: `.venv/bin/python -m bench.presence [--people 200] [--tabs 3] [--changes 40] [--idle 30]`.
The clients share the machine with the server (one asyncio process): figures are for this run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import socket
import struct
import sys
import time
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from .servers import Server, process_cpu

__all__ = ["main"]


def _tcp_bytes(ws: ClientConnection) -> tuple[int, int]:
    """(payload bytes received, payload bytes sent and acked) on this client's TCP socket,
    from the kernel's TCP_INFO: websocket frames, pings and pongs included, TCP/IP headers not."""
    sock = ws.transport.get_extra_info("socket")
    info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 256)
    acked, received = struct.unpack_from("=QQ", info, 120)  # tcpi_bytes_acked, _received
    return received, acked


def _traffic(tabs: list[Tab]) -> tuple[int, int]:
    pairs = [_tcp_bytes(tab.ws) for tab in tabs]
    return sum(r for r, _ in pairs), sum(s for _, s in pairs)


class Tab:
    def __init__(self, user: str, ws: ClientConnection) -> None:
        self.user = user
        self.ws = ws
        self.waiting: dict[bytes, float] = {}  # user name -> when its change was sent
        self.latencies: list[float] = []
        self.frames = 0
        self.task = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        async for msg in self.ws:
            now = time.monotonic()
            self.frames += 1
            if isinstance(msg, bytes):
                for name, sent in list(self.waiting.items()):
                    if name in msg:
                        self.latencies.append(now - sent)
                        del self.waiting[name]


async def measure(
    server: Server, people: int, tabs: int, changes: int, idle: float
) -> dict[str, Any]:
    url = f"{server.ws_base}api/sharedterm/presence/sync"
    users = [f"p{n:03d}" for n in range(people)]
    opened: list[Tab] = []
    for user in users:
        for _ in range(tabs):
            ws = await connect(
                url,
                additional_headers=server.auth(user),
                ping_interval=None,  # the server pings; the client only answers
                compression=None,
                max_size=1 << 20,
            )
            opened.append(Tab(user, ws))
    total = len(opened)
    print(f"presence: {total} tabs open", file=sys.stderr)
    await asyncio.sleep(3)  # the joins' updates settle

    io0, cpu0, t0 = _traffic(opened), process_cpu(server.pid), time.monotonic()
    await asyncio.sleep(idle)
    io1, cpu1, t1 = _traffic(opened), process_cpu(server.pid), time.monotonic()
    idle_seconds = t1 - t0

    by_user: dict[str, list[Tab]] = {}
    for tab in opened:
        by_user.setdefault(tab.user, []).append(tab)
    chosen = random.Random(1).sample(users, min(changes, people))
    cpu2, t2 = process_cpu(server.pid), time.monotonic()
    for user in chosen:
        name = user.encode()
        sent = time.monotonic()
        for tab in opened:
            tab.waiting[name] = sent
        await by_user[user][0].ws.send(json.dumps({"hint": "input"}))
        deadline = sent + 15
        while any(name in tab.waiting for tab in opened) and time.monotonic() < deadline:
            await asyncio.sleep(0.005)
        await asyncio.sleep(0.2)
    cpu3, t3 = process_cpu(server.pid), time.monotonic()
    missed = sum(len(tab.waiting) for tab in opened)
    latencies = sorted(x for tab in opened for x in tab.latencies)
    for tab in opened:
        await tab.ws.close()

    def pct(p: float) -> float:
        return round(1000 * latencies[min(len(latencies) - 1, int(p * len(latencies)))], 1)

    return {
        "people": people,
        "tabs": total,
        "changes": len(chosen),
        "propagation_ms": {
            "p50": pct(0.50),
            "p95": pct(0.95),
            "max": round(1000 * latencies[-1], 1),
            "n": len(latencies),
            "missed": missed,
        },
        "idle": {
            "seconds": round(idle_seconds, 1),
            "bytes_to_client_per_s": round((io1[0] - io0[0]) / total / idle_seconds, 1),
            "bytes_from_client_per_s": round((io1[1] - io0[1]) / total / idle_seconds, 1),
            "server_cpu_share_of_one_core": round((cpu1 - cpu0) / idle_seconds, 4),
        },
        "changing": {
            "seconds": round(t3 - t2, 1),
            "server_cpu_share_of_one_core": round((cpu3 - cpu2) / (t3 - t2), 4),
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.presence", description=__doc__)
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument("--tabs", type=int, default=3)
    parser.add_argument("--changes", type=int, default=40)
    parser.add_argument("--idle", type=float, default=30.0, help="seconds of idle measurement")
    parser.add_argument("--out", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    server = Server("sharedterm", record=False)
    server.start()
    try:
        result = asyncio.run(measure(server, args.people, args.tabs, args.changes, args.idle))
    finally:
        server.stop()
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
