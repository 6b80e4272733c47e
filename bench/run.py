"""The benchmark's one command: start every server under test on 127.0.0.1, measure, print
figures with ratios against the baselines of the same run, and write them as JSON.

    python -m bench            # full run: medians of 3 interleaved repetitions (~10-15 min)
    python -m bench --quick    # smoke run with small sizes (< 1 min)
    python bench/run.py ...    # the same

See bench/README.md for what each figure means and the goals.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import datetime as dt
import fcntl
import json
import os
import platform
import pty
import random
import secrets
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
import traceback
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # `python bench/run.py`: make the `bench` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import report
from bench.clients import COLS, KEY_BASE, ROWS, Peer, ReaderPool, StalledReader, _connect, open_peer
from bench.servers import REPO, process_cpu
from bench.targets import Target

__all__ = ["main"]

PROFILES: dict[str, dict[str, Any]] = {
    "full": {
        "reps": 3,
        "fanout": {1: 40, 4: 40, 16: 20, 64: 10},  # readers -> MB of output (the baseline's)
        "recording_readers": [16, 64],
        "echo_viewers": [1, 16, 64],
        "keys": 120,
        "stall_mb": 50,
        "stall_healthy": 7,
        "late_mb": 50,
        "pty_mb": 40,
        "settle_s": 1.0,  # pauses around stall and late-join measurements
        "fresh_stall_servers": True,
    },
    "quick": {
        "reps": 1,
        "fanout": {1: 4, 4: 4, 16: 2, 64: 1},
        "recording_readers": [16],
        "echo_viewers": [64],
        "keys": 20,
        "stall_mb": 5,
        "stall_healthy": 3,
        "late_mb": 3,
        "pty_mb": 5,
        "settle_s": 0.3,
        "fresh_stall_servers": False,  # quick: reuse the running servers (RSS less exact)
    },
}
KEYS_PER_SECOND = 20.0
LOAD_CHUNK = 65536


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# --- inputs --------------------------------------------------------------------------------------


class Files:
    """Seeded random bytes as base64 text in 76-column lines, one file per size (MB = 10^6)."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="stbench-files-"))
        self.paths: dict[int, str] = {}

    def get(self, mb: float) -> str:
        size = int(mb * 1_000_000)
        if size not in self.paths:
            rnd = random.Random(size)
            raw = rnd.randbytes(size * 57 // 77 + 57)
            text = base64.encodebytes(raw)[:size]
            text = text[: text.rfind(b"\n") + 1]
            path = self.dir / f"out-{size}.b64"
            path.write_bytes(text)
            self.paths[size] = str(path)
        return self.paths[size]

    def size(self, path: str) -> int:
        return os.path.getsize(path)

    def remove(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def calibrate() -> float:
    """Milliseconds for a fixed pure-Python loop: how busy the machine was right then."""
    t0 = time.perf_counter()
    total = 0
    for i in range(300_000):
        total += i & 7
    return round((time.perf_counter() - t0) * 1000, 2)


class ClientCpu:
    """CPU seconds used by the benchmark's own processes (conductor + reader workers)."""

    def __init__(self, pool: ReaderPool) -> None:
        self.pool = pool

    def now(self) -> float:
        t = os.times()
        return t.user + t.system + sum(process_cpu(pid) for pid in self.pool.pids())


# --- helpers -------------------------------------------------------------------------------------


async def wait_quiet(
    peer: Peer, quiet: float = 0.25, limit: float = 5.0, any_frame: bool = False
) -> float:
    """Until the shell has printed its prompt and then nothing for `quiet` seconds (with
    `any_frame`, no frame at all: the roster updates of a join storm included).
    Returns the seconds waited, up to `limit`."""
    start = time.monotonic()
    while time.monotonic() - start < limit:
        if any_frame:
            if time.monotonic() - peer.t_any >= quiet:
                break
        elif peer.t_first_stdout is not None and time.monotonic() - peer.t_last >= quiet:
            break
        await asyncio.sleep(0.02)
    return time.monotonic() - start


async def send_all(peer: Peer, frames: list[list[object]]) -> None:
    for frame in frames:
        await peer.send(*frame)


def mbps(chars: int, seconds: float) -> float:
    return chars / seconds / 1e6 if seconds > 0 else 0.0


# --- raw PTY -------------------------------------------------------------------------------------


def raw_pty_rate(path: str) -> float:
    """MB/s that `os.read` gets from a PTY running `cat FILE` (the line discipline's limit)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
    t0 = time.monotonic()
    proc = subprocess.Popen(
        ["cat", path], stdin=slave, stdout=slave, stderr=slave, start_new_session=True
    )
    os.close(slave)
    total = 0
    try:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: cat exited and closed the slave
                break
            if not data:
                break
            total += len(data)
        t1 = time.monotonic()
    finally:
        os.close(master)
        proc.wait(10)
    return mbps(total, t1 - t0)


# --- fan-out -------------------------------------------------------------------------------------


async def fanout_run(
    t: Target,
    pool: ReaderPool,
    cpu: ClientCpu,
    n: int,
    path: str,
    file_size: int,
    hooks: tuple[Any, Any] | None = None,
) -> dict[str, Any]:
    """One burst of FILE to n readers; `hooks` are called right before and after the burst."""
    assert t.server is not None
    run = await t.prepare(n)
    writer = await open_peer(run.writer)
    try:
        await pool.connect(run.viewers)
        if t.has_pty:
            await wait_quiet(writer)
        nonce = secrets.token_hex(6)
        sentinel = f"STBENCH_{nonce}"
        writer.arm("fanout", sentinel)
        await pool.arm("fanout", sentinel)
        cal = calibrate()
        if hooks:
            await hooks[0]()
        cpu0, ccpu0 = t.server.cpu(), cpu.now()
        t0 = time.monotonic()
        await send_all(writer, t.play_frames(path, nonce))
        timeout = 30 + file_size * n / 20e6
        results = await pool.collect("fanout", timeout)
        wall = time.monotonic() - t0
        cpu1, ccpu1 = t.server.cpu(), cpu.now()
        if hooks:
            await hooks[1]()
    finally:
        await pool.close()
        await writer.close()
        await t.finish(run)
    done = [r for r in results if r["t_end"] is not None]
    rates = [mbps(r["chars"], r["t_end"] - t0) for r in done]
    t_last = max((r["t_end"] - t0 for r in done), default=wall)
    total = sum(r["chars"] for r in results)
    return {
        "readers": n,
        "mb": file_size / 1e6,
        "complete": len(done) == n,
        "per_client_mbps": statistics.median(rates) if rates else 0.0,
        "min_client_mbps": min(rates) if rates else 0.0,
        "aggregate_mbps": mbps(total, t_last),
        "t_last_s": t_last,
        "resyncs": sum(r["resyncs"] for r in results),
        "frames_per_client": statistics.median(r["frames"] for r in results),
        "server_cpu_s": cpu1 - cpu0,
        "server_cpu_s_per_gb": (cpu1 - cpu0) / (total / 1e9) if total else None,
        "client_cpu_pct": 100 * (ccpu1 - ccpu0) / wall,
        "calibration_ms": cal,
        "recording": run.info.get("recording"),
    }


# --- echo latency --------------------------------------------------------------------------------


async def echo_run(
    t: Target, pool: ReaderPool, n: int, load: bool, keys: int, path: str
) -> dict[str, Any]:
    run = await t.prepare(n, typist=True)
    assert run.typist is not None
    writer = await open_peer(run.writer)
    typist = await open_peer(run.typist)
    try:
        await pool.connect(run.viewers)
        c1 = time.monotonic()
        # Everyone joined at once: let the server finish telling everyone about everyone
        # before measuring, so the figures are steady-state echo, not the join storm.
        settled = await wait_quiet(writer, 0.3, 20.0, any_frame=True)
        # How long after the last viewer's socket opened the writer still got join traffic.
        join_storm_s = max(0.0, writer.t_any - c1) if settled < 20.0 else None
        if t.has_pty:
            if load:  # ~1.2 MB/s of output in the same terminal, as in the baseline
                loop_cmd = f"(while head -c {LOAD_CHUNK} {path}; do sleep 0.05; done) &\r"
                await writer.send("stdin", loop_cmd)
            await writer.send("stdin", "stty -echoctl; cat >/dev/null\r")
            await asyncio.sleep(1.0 if load else 0.5)
        typist.arm("echo")
        await pool.arm("echo")
        cal = calibrate()
        sent: list[float] = []
        start = time.monotonic()
        for i in range(keys):
            delay = start + i / KEYS_PER_SECOND - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            sent.append(time.monotonic())
            await typist.send("stdin", chr(KEY_BASE + i))
        viewers = await pool.collect("echo", 3.0, keys)
        deadline = time.monotonic() + 3.0
        while len(typist.keys) < keys and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        if t.has_pty:
            await writer.send("stdin", "\x03kill %1 2>/dev/null\r")
    finally:
        await pool.close()
        await typist.close()
        await writer.close()
        await t.finish(run)
    typist_ms: list[float | None] = []
    slowest_ms: list[float | None] = []
    for i, t_sent in enumerate(sent):
        at = typist.keys.get(i)
        typist_ms.append(None if at is None else round((at - t_sent) * 1000, 3))
        arrivals = [v["keys"].get(i) for v in viewers]
        if not arrivals or any(a is None for a in arrivals):
            slowest_ms.append(None)
        else:
            slowest_ms.append(round((max(arrivals) - t_sent) * 1000, 3))
    return {
        "viewers": n,
        "load": load,
        "keys": keys,
        "typist_ms": typist_ms,
        "slowest_viewer_ms": slowest_ms,
        "lost_typist": sum(x is None for x in typist_ms),
        "lost_viewers": sum(x is None for x in slowest_ms),
        "join_storm_s": join_storm_s,
        "calibration_ms": cal,
    }


# --- stalled reader ------------------------------------------------------------------------------


async def stall_run(
    t: Target,
    pool: ReaderPool,
    healthy: int,
    stalled: bool,
    path: str,
    file_size: int,
    settle: float = 1.0,
) -> dict[str, Any]:
    srv = t.server
    assert srv is not None
    run = await t.prepare(healthy, stalled=stalled)
    writer = await open_peer(run.writer)
    stall = StalledReader(run.stalled) if run.stalled is not None else None
    peak = 0
    sampling = True

    async def sample() -> None:
        nonlocal peak
        while sampling:
            peak = max(peak, srv.rss())
            await asyncio.sleep(0.02)

    try:
        await pool.connect(run.viewers)
        if stall is not None:
            await asyncio.get_running_loop().run_in_executor(None, stall.open)
        await wait_quiet(writer)
        await asyncio.sleep(settle / 2)
        rss0 = srv.rss()
        peak = rss0
        sampler = asyncio.ensure_future(sample())
        nonce = secrets.token_hex(6)
        sentinel = f"STBENCH_{nonce}"
        writer.arm("fanout", sentinel)
        await pool.arm("fanout", sentinel)
        cal = calibrate()
        t0 = time.monotonic()
        await send_all(writer, t.play_frames(path, nonce))
        results = await pool.collect("fanout", 30 + file_size * healthy / 10e6)
        rss_done = srv.rss()
        await asyncio.sleep(2 * settle)
        rss_2s = srv.rss()
        if stall is not None:
            stall.close()
            await asyncio.sleep(settle)
        rss_closed = srv.rss()
        sampling = False
        await sampler
    finally:
        sampling = False
        if stall is not None:
            stall.close()
        await pool.close()
        await writer.close()
        await t.finish(run)
    done = [r for r in results if r["t_end"] is not None]
    rates = [mbps(r["chars"], r["t_end"] - t0) for r in done]
    mib = 1 << 20
    return {
        "stalled": stalled,
        "healthy": healthy,
        "mb": file_size / 1e6,
        "complete": len(done) == healthy,
        "healthy_mbps": statistics.median(rates) if rates else 0.0,
        "t_last_s": max((r["t_end"] - t0 for r in done), default=None),
        "rss_start_mib": rss0 / mib,
        "rss_growth_peak_mib": (peak - rss0) / mib,
        "rss_growth_done_mib": (rss_done - rss0) / mib,
        "rss_growth_2s_mib": (rss_2s - rss0) / mib,
        "rss_growth_closed_mib": (rss_closed - rss0) / mib,
        "resyncs": sum(r["resyncs"] for r in results),
        "calibration_ms": cal,
    }


# --- late join -----------------------------------------------------------------------------------


def render(chunks: list[str]) -> Any:
    import pyte

    screen = pyte.Screen(COLS, ROWS)
    stream = pyte.Stream(screen)
    for text in chunks:
        stream.feed(text)
    return screen


def screen_state(screen: Any) -> tuple[list[str], tuple[int, int]]:
    return [line.rstrip() for line in screen.display], (screen.cursor.x, screen.cursor.y)


def _tail_from_line(text: str, keep: int = 256 << 10) -> str:
    """The last `keep` characters from a line start (plain-text output: the screen is the same)."""
    if len(text) <= keep:
        return text
    tail = text[-keep:]
    return tail[tail.find("\n") + 1 :]


async def late_run(t: Target, path: str, file_size: int, settle: float = 1.0) -> dict[str, Any]:
    import pyte

    run = await t.prepare(0, late=True)
    assert run.late is not None
    writer = await open_peer(run.writer)
    try:
        await wait_quiet(writer)
        nonce = secrets.token_hex(6)
        writer.arm("tail", f"STBENCH_{nonce}")
        t0 = time.monotonic()
        await send_all(writer, t.play_frames(path, nonce))
        await asyncio.wait_for(writer.done.wait(), 60 + file_size / 5e6)
        produced_s = (writer.t_end or time.monotonic()) - t0
        await asyncio.sleep(settle)  # the prompt comes back; the joiner arrives a second later
        owner = screen_state(render([_tail_from_line("".join(writer.tail))]))
        cal = calibrate()
        c0 = time.monotonic()
        joiner = Peer(await _connect(run.late), "viewer")
        joiner.arm("frames")  # before the loop runs its reader: every frame is kept
        t_setup = await asyncio.wait_for(joiner.setup, 30)
        await joiner.send("set_size", ROWS, COLS, 600, 800)
        deadline = c0 + 5.0
        while time.monotonic() < deadline:
            if joiner.t_first_stdout is not None and time.monotonic() - joiner.t_last > settle / 2:
                break
            await asyncio.sleep(0.01)
        await joiner.close()
    finally:
        await writer.close()
        await t.finish(run)
    screen = pyte.Screen(COLS, ROWS)
    stream = pyte.Stream(screen)
    t_correct = None
    for at, text in joiner.frames:
        stream.feed(_tail_from_line(text))
        if screen_state(screen) == owner:
            t_correct = at - c0
            break
    received = sum(len(text) for _, text in joiner.frames)
    final = render([_tail_from_line("".join(text for _, text in joiner.frames))])
    return {
        "mb": file_size / 1e6,
        "produce_s": produced_s,
        "setup_ms": (t_setup - c0) * 1000,
        "first_stdout_ms": None
        if joiner.t_first_stdout is None
        else (joiner.t_first_stdout - c0) * 1000,
        "correct_screen_ms": None if t_correct is None else t_correct * 1000,
        "correct": t_correct is not None,
        "final_screen_correct": screen_state(final) == owner,
        "replay_bytes": received,
        "replay_frames": len(joiner.frames),
        "calibration_ms": cal,
    }


# --- the run -------------------------------------------------------------------------------------


def rotate(items: list[Any], k: int) -> list[Any]:
    k %= max(1, len(items))
    return items[k:] + items[:k]


async def guarded(records: list[dict[str, Any]], base: dict[str, Any], coro: Any) -> None:
    """Run one measurement; a failure becomes a record with the error, never a crash."""
    label = " ".join(f"{k}={v}" for k, v in base.items())
    base = {**base, "loadavg_1m": os.getloadavg()[0]}  # how crowded the machine was
    t0 = time.monotonic()
    try:
        result = await coro
        records.append({**base, **result})
        log(f"  {label}: ok ({time.monotonic() - t0:.1f} s)")
    except Exception as e:
        records.append({**base, "error": f"{type(e).__name__}: {e}"})
        log(f"  {label}: FAILED {type(e).__name__}: {e}")
        if os.environ.get("STBENCH_DEBUG"):
            traceback.print_exc()


async def conduct(args: argparse.Namespace) -> dict[str, Any]:
    prof = dict(PROFILES["quick" if args.quick else "full"])
    if args.reps:
        prof["reps"] = args.reps
    phases = set(args.only.split(",")) if args.only else None

    def want(phase: str) -> bool:
        return phases is None or phase in phases

    files = Files()
    pool = ReaderPool(args.workers)
    pool.start()
    cpu = ClientCpu(pool)
    terminado = Target("terminado", "terminado")
    ceiling = Target("ceiling", "ceiling")
    shared = Target("sharedterm", "sharedterm", record=True)
    shared_norec = Target("sharedterm-norec", "sharedterm", record=False)
    long_lived = [terminado, ceiling, shared]
    if want("recording"):
        long_lived.append(shared_norec)
    records: list[dict[str, Any]] = []
    started: list[Target] = []
    unavailable: dict[str, str] = {}
    try:
        log("starting servers ...")
        loop = asyncio.get_running_loop()

        async def start(t: Target) -> None:
            try:
                await loop.run_in_executor(None, t.start)
                started.append(t)
            except Exception as e:
                unavailable[t.name] = str(e)[-600:]
                log(f"  {t.name}: could not start: {str(e)[-600:]}")

        await asyncio.gather(*(start(t) for t in long_lived))
        up = [t for t in long_lived if t in started]
        for rep in range(prof["reps"]):
            log(f"repetition {rep + 1}/{prof['reps']}")
            if want("pty"):
                path = files.get(prof["pty_mb"])
                rate = await loop.run_in_executor(None, raw_pty_rate, path)
                records.append({"phase": "pty", "target": "raw-pty", "rep": rep, "mbps": rate})
                log(f"  raw pty: {rate:.1f} MB/s")
            if want("fanout") or want("recording"):
                for n, mb in prof["fanout"].items():
                    path = files.get(mb)
                    size = files.size(path)
                    order = [x for x in (terminado, ceiling, shared) if want("fanout")]
                    if want("recording") and n in prof["recording_readers"]:
                        order.append(shared_norec)
                    for t in rotate([x for x in order if x in up], rep + n):
                        base = {"phase": "fanout", "target": t.name, "rep": rep, "n": n}
                        await guarded(records, base, fanout_run(t, pool, cpu, n, path, size))
            if want("echo"):
                path = files.get(1)
                for n in prof["echo_viewers"]:
                    for load in (False, True):
                        order = [terminado, shared] + ([] if load else [ceiling])
                        for t in rotate([x for x in order if x in up], rep + n):
                            base = {"phase": "echo", "target": t.name, "rep": rep, "n": n}
                            base["load"] = load
                            coro = echo_run(t, pool, n, load, prof["keys"], path)
                            await guarded(records, base, coro)
            if want("late"):
                path = files.get(prof["late_mb"])
                for t in rotate([x for x in (terminado, shared) if x in up], rep):
                    base = {"phase": "late", "target": t.name, "rep": rep}
                    coro = late_run(t, path, files.size(path), prof["settle_s"])
                    await guarded(records, base, coro)
            if want("stall"):
                path = files.get(prof["stall_mb"])
                for proto in rotate([x for x in (terminado, shared) if x in up], rep):
                    await stall_pair(records, proto, pool, prof, rep, path, files.size(path))
        if (args.profile or (phases is not None and "profile" in phases)) and shared in up:
            records.append(await profile_fanout(shared, pool, files, args))
    finally:
        for t in started:
            await loop.run_in_executor(None, t.stop)
        await pool.close()
        pool.stop()
        files.remove()
    return {
        "meta": meta(args, prof, unavailable),
        "records": records,
    }


async def stall_pair(
    records: list[dict[str, Any]],
    proto: Target,
    pool: ReaderPool,
    prof: dict[str, Any],
    rep: int,
    path: str,
    size: int,
) -> None:
    """Unstalled, then stalled, on a fresh server: CPython keeps its RSS high-water mark, so
    a server that already buffered a backlog once would hide the growth the second time."""
    loop = asyncio.get_running_loop()
    t = proto
    if prof["fresh_stall_servers"]:
        t = Target(proto.name, proto.kind, record=proto.record)
        try:
            await loop.run_in_executor(None, t.start)
        except Exception as e:
            records.append({"phase": "stall", "target": t.name, "rep": rep, "error": str(e)[-600:]})
            return
    try:
        for stalled in (False, True):
            base = {"phase": "stall", "target": t.name, "rep": rep, "stalled": stalled}
            coro = stall_run(t, pool, prof["stall_healthy"], stalled, path, size, prof["settle_s"])
            await guarded(records, base, coro)
    finally:
        if t is not proto:
            await loop.run_in_executor(None, t.stop)


async def profile_fanout(
    t: Target, pool: ReaderPool, files: Files, args: argparse.Namespace
) -> dict[str, Any]:
    """py-spy on the sharedterm server under a 64-reader fan-out; top functions by samples."""
    assert t.server is not None
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    base: dict[str, Any] = {"phase": "profile", "target": t.name}
    if not os.path.exists(spy):
        return {**base, "error": "py-spy is not installed (pip install py-spy)"}
    out = REPO / "bench" / "results" / f"profile-{stamp()}.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    cmd = [spy, "record", "--pid", str(t.server.pid), "--rate", "250", "--format", "raw"]
    cmd += ["-o", str(out), "--nonblocking"]
    spied: list[subprocess.Popen[bytes]] = []

    async def begin() -> None:  # only the burst is sampled, not the 64 joins before it
        spied.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
        await asyncio.sleep(0.5)

    async def end() -> None:
        spied[0].send_signal(signal.SIGINT)

    path = files.get(args.profile_mb)
    result = await fanout_run(t, pool, ClientCpu(pool), 64, path, files.size(path), (begin, end))
    if not spied:
        return {**base, "error": "the fan-out failed before py-spy started"}
    proc = spied[0]
    try:
        _, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    if not out.exists():
        return {**base, "error": f"py-spy wrote nothing: {err.decode(errors='replace')[-400:]}"}
    return {**base, "fanout": result, "file": str(out.relative_to(REPO)), **summarize_profile(out)}


def summarize_profile(path: Path, top: int = 15) -> dict[str, Any]:
    own: dict[str, int] = {}
    inclusive: dict[str, int] = {}
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [_frame_name(f) for f in stack.split(";")]
        own[frames[-1]] = own.get(frames[-1], 0) + n
        for name in set(frames):
            inclusive[name] = inclusive.get(name, 0) + n

    def best(d: dict[str, int]) -> list[list[Any]]:
        # Frames on (nearly) every stack are the event loop's own: they say nothing.
        ranked = sorted((kv for kv in d.items() if kv[1] < 0.9 * total), key=lambda kv: -kv[1])
        return [[k, round(100 * v / total, 1)] for k, v in ranked[:top]]

    return {"samples": total, "self_pct": best(own), "inclusive_pct": best(inclusive)}


def _frame_name(frame: str) -> str:
    # py-spy raw frames: "function (path/to/file.py:line)" -> "function (file.py)"
    name, _, where = frame.partition(" (")
    where = where.rstrip(")").rsplit(":", 1)[0]
    parts = where.split("/")
    short = (
        "/".join(parts[-2:])
        if "site-packages" in where or "jupyter_sharedterm" in where
        else parts[-1]
    )
    return f"{name} ({short})" if where else name


def stamp() -> str:
    return dt.datetime.now().strftime("%Y-%m-%d-%H%M%S")


def git_sha() -> tuple[str | None, bool]:
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = bool(
            subprocess.run(
                ["git", "status", "--porcelain", "--", ".", ":!bench/results"],
                cwd=REPO,
                capture_output=True,
                text=True,
            ).stdout.strip()
        )
        return sha, dirty
    except (OSError, subprocess.CalledProcessError):
        return None, True


def meta(
    args: argparse.Namespace, prof: dict[str, Any], unavailable: dict[str, str]
) -> dict[str, Any]:
    from importlib.metadata import PackageNotFoundError, version

    def ver(name: str) -> str | None:
        try:
            return version(name)
        except PackageNotFoundError:
            return None

    sha, dirty = git_sha()
    return {
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "mode": "quick" if args.quick else "full",
        "git_sha": sha,
        "git_dirty": dirty,
        "sizes": {
            k: (v if not isinstance(v, dict) else {str(a): b for a, b in v.items()})
            for k, v in prof.items()
        },
        "workers": args.workers,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "versions": {
            n: ver(n)
            for n in (
                "jupyter_server",
                "jupyter_server_terminals",
                "terminado",
                "tornado",
                "websockets",
                "jupyter_sharedterm",
            )
        },
        "unavailable": unavailable,
    }


def result_path(data: dict[str, Any]) -> Path:
    m = data["meta"]
    sha = m["git_sha"][:12] if m["git_sha"] and not m["git_dirty"] else "worktree"
    name = f"{m['date'][:10]}-{sha}"
    if m["mode"] == "quick":
        name += "-quick"
    path = REPO / "bench" / "results" / f"{name}.json"
    i = 2
    while path.exists():
        path = path.with_name(f"{name}-{i}.json")
        i += 1
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmark jupyter_sharedterm against plain jupyter_server terminals and a "
        "bare websocket ceiling, all on 127.0.0.1 in one run.",
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, 1 repetition (<1 min)")
    parser.add_argument("--reps", type=int, default=0, help="repetitions (default: 3, quick: 1)")
    parser.add_argument(
        "--only",
        help="comma-separated phases: pty,fanout,recording,echo,late,stall,profile "
        "(default: all but profile)",
    )
    parser.add_argument("--workers", type=int, default=4, help="reader processes (default 4)")
    parser.add_argument(
        "--profile", action="store_true", help="also py-spy the sharedterm server under fan-out"
    )
    parser.add_argument("--profile-mb", type=float, default=30, help="MB for the profiled run")
    parser.add_argument("--out", help="JSON file to write (default bench/results/DATE-SHA.json)")
    parser.add_argument("--report", help="print the report of an earlier JSON file and exit")
    args = parser.parse_args(argv)
    if args.report:
        data = json.loads(Path(args.report).read_text())
        data["summary"] = report.summarize(data)  # with this version's ratios and goals
        report.print_report(data)
        return 0
    t0 = time.monotonic()
    data = asyncio.run(conduct(args))
    data["meta"]["duration_s"] = round(time.monotonic() - t0, 1)
    data["summary"] = report.summarize(data)
    path = Path(args.out) if args.out else result_path(data)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, default=str) + "\n")
    report.print_report(data)
    print(f"\nresults: {path}  ({data['meta']['duration_s']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
