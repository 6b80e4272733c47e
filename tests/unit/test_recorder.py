"""The recorder on real files: pause, markers, input privacy, write failures, SIGKILL mid-output."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_sharedterm.recording.asciicast import Cast, read_cast, validate
from jupyter_sharedterm.recording.recorder import (
    FLUSH_BYTES,
    FLUSH_INTERVAL_S,
    Recorder,
    RecorderState,
    WriteErrorPolicy,
)
from jupyter_sharedterm.recording.store import RecordingStore

REPO = Path(__file__).resolve().parents[2]


class Clock:
    """A monotonic clock the test moves by hand (deterministic event times)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def store(tmp_path: Path) -> Iterator[RecordingStore]:
    with RecordingStore(tmp_path / "rec") as s:
        yield s


@pytest.fixture
def clock() -> Clock:
    return Clock()


def _recorder(
    store: RecordingStore, clock: Clock, **kw: Any
) -> tuple[Recorder, list[tuple[RecorderState, str]]]:
    seen: list[tuple[RecorderState, str]] = []
    args: dict[str, Any] = {
        "kind": "terminal",
        "session_id": "S1",
        "owners": ["alice"],
        "rows": 24,
        "cols": 80,
        "clock": clock,
        "on_state_change": lambda state, detail: seen.append((state, detail)),
    }
    args.update(kw)
    return Recorder(store, **args), seen


def _on_disk(store: RecordingStore, rec: Recorder) -> bytes:
    return (store.root / f"{rec.id}.cast").read_bytes()


def _cast(store: RecordingStore, rec: Recorder) -> Cast:
    data = _on_disk(store, rec)
    assert validate(data) == []
    return read_cast(data)


def _labels(cast: Cast) -> list[str]:
    return [e.data for e in cast.events if e.code == "m"]


def test_a_session_is_recorded_with_visible_markers(store: RecordingStore, clock: Clock) -> None:
    rec, seen = _recorder(store, clock, title="incident 42", env={"TERM": "xterm", "SHELL": "sh"})
    clock.advance(0.5)
    rec.output("$ ls\r\n")
    rec.resize(rows=40, cols=120)
    rec.marker("bob joined as viewer")
    clock.advance(1.25)
    rec.output("a b c\r\n")
    rec.stop("session ended by alice")
    cast = _cast(store, rec)
    assert cast.header["title"] == "incident 42"
    assert cast.header["env"] == {"TERM": "xterm", "SHELL": "sh"}
    assert cast.header["x_sharedterm"]["recording"] == rec.id
    assert [(e.time, e.code, e.data) for e in cast.events] == [
        (0.0, "m", "recording started"),
        (0.5, "o", "$ ls\r\n"),
        (0.5, "r", "120x40"),
        (0.5, "m", "bob joined as viewer"),
        (1.75, "o", "a b c\r\n"),
        (1.75, "m", "recording stopped: session ended by alice"),
    ]
    assert seen == [(RecorderState.STOPPED, "recording stopped: session ended by alice")]
    meta = store.get(rec.id)
    assert (meta.state, meta.end_reason, meta.events_lost) == (
        "finished",
        "session ended by alice",
        0,
    )
    assert _mode(store.root / f"{rec.id}.cast") == 0o600


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_nothing_typed_or_shown_while_paused_reaches_the_file(
    store: RecordingStore, clock: Clock
) -> None:
    rec, seen = _recorder(store, clock, capture_input=True)
    rec.output("before\r\n")
    clock.advance(1)
    rec.pause("alice")
    assert rec.state is RecorderState.PAUSED
    assert store.get(rec.id).state == "paused"
    rec.output("CANARY-SHOWN-4f9a\r\n")
    rec.input("CANARY-TYPED-77c1\r")
    rec.resize(rows=50, cols=132)
    rec.tick()
    clock.advance(1)
    rec.marker("carol joined as co-worker")  # session events are still marked
    clock.advance(1)
    rec.resume("bob", screen="\x1b[H\x1b[2Jrestored screen\r\n$ ")
    rec.output("after\r\n")
    rec.stop("done")
    data = _on_disk(store, rec)
    assert b"CANARY" not in data
    cast = _cast(store, rec)
    codes = [(e.code, e.data) for e in cast.events]
    resumed = codes.index(("m", "recording resumed by bob"))
    assert codes[resumed - 2 : resumed + 4] == [
        ("m", "recording paused by alice"),
        ("m", "carol joined as co-worker"),
        ("m", "recording resumed by bob"),
        ("r", "132x50"),  # the size changed while paused
        ("o", "\x1b[H\x1b[2Jrestored screen\r\n$ "),
        ("o", "after\r\n"),
    ]
    assert [s for s, _ in seen] == [
        RecorderState.PAUSED,
        RecorderState.RECORDING,
        RecorderState.STOPPED,
    ]
    assert seen[0][1] == "recording paused by alice"
    assert seen[1][1] == "recording resumed by bob"


def test_input_is_not_recorded_unless_capture_is_on(store: RecordingStore, clock: Clock) -> None:
    rec, _ = _recorder(store, clock)
    rec.input("hunter2\r")
    rec.output("Password: \r\n")
    rec.stop("done")
    data = _on_disk(store, rec)
    assert b"hunter2" not in data
    assert read_cast(data).header["x_sharedterm"]["input_captured"] is False
    assert [e.code for e in read_cast(data).events].count("i") == 0

    rec, _ = _recorder(store, clock, capture_input=True)
    rec.input("ls\r")
    rec.stop("done")
    cast = _cast(store, rec)
    assert ("i", "ls\r") in [(e.code, e.data) for e in cast.events]
    assert cast.header["x_sharedterm"]["input_captured"] is True
    assert store.get(rec.id).input_captured


def test_output_reaches_the_os_within_the_flush_interval(
    store: RecordingStore, clock: Clock
) -> None:
    rec, _ = _recorder(store, clock)
    rec.output("one\r\n")
    assert b"one" not in _on_disk(store, rec)  # buffered
    rec.tick()
    assert b"one" in _on_disk(store, rec)
    # Without any tick, heavy output still reaches the OS once the oldest event is 1 s old.
    rec.output("two\r\n")
    clock.advance(FLUSH_INTERVAL_S)
    rec.output("three\r\n")
    assert b"three" in _on_disk(store, rec)
    # And a burst larger than the buffer is written at once.
    rec.output("x" * FLUSH_BYTES)
    assert len(_on_disk(store, rec)) > FLUSH_BYTES
    rec.stop("done")


def _fd_of(path: Path) -> int:
    """The descriptor this process holds on `path` (the recorder's)."""
    for name in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{name}") == str(path):
                return int(name)
        except OSError:
            continue
    raise AssertionError(f"no descriptor open on {path}")


class BrokenDisk:
    """Makes the recorder's descriptor fail for real: a read-only descriptor is put in its place."""

    def __init__(self, path: Path) -> None:
        self.fd = _fd_of(path)
        self.saved = os.dup(self.fd)
        self.readonly = os.open(path, os.O_RDONLY)

    def break_(self) -> None:
        os.dup2(self.readonly, self.fd)

    def repair(self) -> None:
        os.dup2(self.saved, self.fd)
        os.close(self.saved)
        os.close(self.readonly)


@pytest.mark.parametrize(
    ("policy", "failed_state", "input_allowed"),
    [("stop_input", RecorderState.FAILED, False), ("continue", RecorderState.DEGRADED, True)],
)
def test_write_failure_follows_the_policy_and_marks_the_gap(
    store: RecordingStore,
    clock: Clock,
    policy: WriteErrorPolicy,
    failed_state: RecorderState,
    input_allowed: bool,
) -> None:
    screen = ["\x1b[H\x1b[2Jcurrent screen"]
    rec, seen = _recorder(store, clock, on_write_error=policy, snapshot=lambda: screen[0])
    rec.output("kept\r\n")
    rec.tick()
    disk = BrokenDisk(store.root / f"{rec.id}.cast")
    disk.break_()
    for n in range(3):
        rec.output(f"lost-{n}\r\n")
    assert rec.state is RecorderState.RECORDING  # nothing written yet
    rec.tick()
    assert rec.state is failed_state
    assert rec.input_allowed is input_allowed
    assert seen[-1][0] is failed_state
    assert "cannot be written" in seen[-1][1] and "Bad file descriptor" in seen[-1][1]
    clock.advance(2)
    rec.output("lost-3\r\n")
    rec.resize(rows=30, cols=90)
    rec.marker("dave joined as viewer")
    rec.tick()  # still broken: retried, still failing, nothing more lost
    assert rec.state is failed_state
    assert rec.events_lost == 5
    disk.repair()
    rec.tick()
    assert rec.state is RecorderState.RECORDING
    assert rec.input_allowed
    assert seen[-1] == (
        RecorderState.RECORDING,
        "the recording is written again; 5 events were lost and the gap is marked",
    )
    rec.output("back\r\n")
    rec.stop("done")
    data = _on_disk(store, rec)
    assert b"lost-" not in data
    cast = _cast(store, rec)
    tail = [(e.code, e.data) for e in cast.events][1:]
    assert tail == [
        ("o", "kept\r\n"),
        ("m", "recording gap: 5 events lost"),
        ("r", "90x30"),
        ("o", "\x1b[H\x1b[2Jcurrent screen"),
        ("o", "back\r\n"),
        ("m", "recording stopped: done"),
    ]
    assert store.get(rec.id).events_lost == 5


def test_a_terminal_in_use_is_recorded_from_its_screen_not_blank(
    store: RecordingStore, clock: Clock
) -> None:
    screen = "\x1bc$ make\r\nbuilt before sharing\r\n$ "
    rec, _ = _recorder(store, clock, screen=screen)
    clock.advance(1)
    rec.output("after\r\n")
    rec.stop("done")
    events = [(e.time, e.code, e.data) for e in _cast(store, rec).events]
    assert events[:3] == [
        (0.0, "m", "recording started"),
        (0.0, "o", screen),
        (1.0, "o", "after\r\n"),
    ]


def test_recordings_play_in_the_real_asciinema_client(store: RecordingStore, clock: Clock) -> None:
    rec, _ = _recorder(store, clock)
    rec.output("\x1b[32mgreen\x1b[0m caf\u00e9 \U0001f600\r\n")
    rec.resize(rows=30, cols=100)
    rec.pause("alice")
    rec.output("hidden")
    clock.advance(3)
    rec.resume("alice", screen="\x1b[H\x1b[2Jscreen again\r\n")
    disk = BrokenDisk(store.root / f"{rec.id}.cast")
    disk.break_()
    rec.output("lost")
    rec.tick()
    disk.repair()
    rec.tick()
    rec.output("bye\r\n")
    rec.stop("done")
    path = store.root / f"{rec.id}.cast"
    cast = _cast(store, rec)
    result = subprocess.run(
        [sys.executable, "-m", "asciinema", "cat", str(path)],
        capture_output=True,
        env=dict(os.environ, PYTHONIOENCODING="utf-8", HOME=str(store.root.parent)),
        start_new_session=True,  # no controlling terminal: no raw-mode setup
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == cast.output().encode("utf-8")
    assert b"hidden" not in result.stdout and b"lost" not in result.stdout
    assert result.stdout.endswith(b"screen again\r\nbye\r\n")


def test_a_listener_that_raises_does_not_break_recording(
    store: RecordingStore, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    def bad(state: RecorderState, detail: str) -> None:
        raise RuntimeError("listener bug")

    rec, _ = _recorder(store, clock, on_state_change=bad)
    rec.pause("alice")
    rec.resume("alice")
    rec.output("still here\r\n")
    rec.stop("done")
    assert b"still here" in _on_disk(store, rec)
    assert "state listener failed" in caplog.text
    assert "still here" not in caplog.text


def _child(script: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
    )


def _read_line(proc: subprocess.Popen[str], deadline: float) -> dict[str, Any]:
    """The child's next JSON line, waiting at most until `deadline` (monotonic)."""
    assert proc.stdout is not None
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError("the child process did not report in time")
        ready, _, _ = select.select([proc.stdout], [], [], left)
        if ready:
            line = proc.stdout.readline()
            if not line:
                raise AssertionError(f"the child exited early: {proc.communicate()[1]}")
            return dict(json.loads(line))


FULL_DISK_CHILD = """
    import json, os, resource, signal, sys
    from pathlib import Path
    from jupyter_sharedterm.recording.store import RecordingStore
    from jupyter_sharedterm.recording.recorder import Recorder

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # then an over-limit write fails with EFBIG
    store = RecordingStore(Path(sys.argv[1]))
    states = []
    rec = Recorder(store, kind="terminal", session_id="S", owners=["a"], rows=24, cols=80,
                   on_write_error=sys.argv[2],
                   on_state_change=lambda s, d: states.append([s.value, d]))
    size = os.path.getsize(store.root / f"{rec.id}.cast")
    _, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    # The file may grow by 10 000 bytes more: a 3 000-byte event at a time fills it mid-line.
    resource.setrlimit(resource.RLIMIT_FSIZE, (size + 10_000, hard))
    n = 0
    while rec.state.value == "recording":
        n += 1
        rec.output(f"chunk-{n:03d} " + "y" * 3000)
        rec.tick()
    failed_at = n
    for k in range(4):
        rec.output(f"dropped-{k} ")
    resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))
    rec.tick()
    rec.output("after the gap")
    rec.stop("done")
    print(json.dumps({"id": rec.id, "failed_at": failed_at, "lost": rec.events_lost,
                      "states": states}), flush=True)
"""


@pytest.mark.parametrize("policy", ["stop_input", "continue"])
def test_a_file_size_limit_mid_line_leaves_a_valid_file_with_a_gap_marker(
    tmp_path: Path, policy: str
) -> None:
    proc = _child(FULL_DISK_CHILD, str(tmp_path / "rec"), policy)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    report = json.loads(out)
    data = (tmp_path / "rec" / f"{report['id']}.cast").read_bytes()
    assert validate(data) == []  # no half line left where the limit was hit
    cast = read_cast(data)
    outputs = [e.data for e in cast.events if e.code == "o"]
    failed_at = report["failed_at"]
    assert failed_at > 1
    assert [o[:9] for o in outputs[:-1]] == [f"chunk-{n:03d}" for n in range(1, failed_at)]
    assert outputs[-1] == "after the gap"
    # The event that hit the limit and the four written while failing.
    assert report["lost"] == 5
    assert f"recording gap: {report['lost']} events lost" in _labels(cast)
    assert b"dropped-" not in data
    expected = "failed" if policy == "stop_input" else "degraded"
    assert [s for s, _ in report["states"]] == [expected, "recording", "stopped"]
    assert "File too large" in report["states"][0][1]


CRASH_CHILD = """
    import json, sys, time
    from pathlib import Path
    from jupyter_sharedterm.recording.store import RecordingStore
    from jupyter_sharedterm.recording.recorder import Recorder

    store = RecordingStore(Path(sys.argv[1]))
    kill_after = float(sys.argv[2])
    repeat = int(sys.argv[3])
    start = time.monotonic()
    rec = Recorder(store, kind="terminal", session_id="S", owners=["a"], rows=24, cols=80)
    print(json.dumps({"id": rec.id, "start": start}), flush=True)
    line = "z" * 78 + "\\r\\n"
    last_tick = time.monotonic()
    ticks = n = 0
    announced = False
    while True:
        n += 1
        rec.output(f"{n:09d} " + line * repeat)
        now = time.monotonic()
        if now - last_tick >= 1.0:  # the server's 1 s timer
            rec.tick(now)
            last_tick = now
            ticks += 1
        if ticks >= 2 and not announced and now - last_tick >= kill_after:
            print(json.dumps({"kill": n}), flush=True)
            announced = True
        time.sleep(0.0005)
"""


@pytest.mark.parametrize(
    ("kill_after", "repeat"),
    [
        (0.5, 40),  # ~3 KiB events, several MB/s: the byte threshold flushes many times a second
        (0.95, 40),
        (0.95, 1),  # ~90 B events, ~150 KB/s: only the 1 s timer flushes, the worst case
    ],
)
def test_sigkill_during_heavy_output_loses_at_most_about_a_second(
    tmp_path: Path, kill_after: float, repeat: int
) -> None:
    proc = _child(CRASH_CHILD, str(tmp_path / "rec"), str(kill_after), str(repeat))
    try:
        deadline = time.monotonic() + 60
        hello = _read_line(proc, deadline)
        announced = _read_line(proc, deadline)
        killed_at = time.monotonic()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    data = (tmp_path / "rec" / f"{hello['id']}.cast").read_bytes()
    cast = read_cast(data)  # parses up to its last complete event
    outputs = [e for e in cast.events if e.code == "o"]
    assert outputs, "nothing reached the file"
    last_seq = int(outputs[-1].data[:9])
    assert [int(e.data[:9]) for e in outputs] == list(range(1, last_seq + 1))
    lost_s = killed_at - (hello["start"] + outputs[-1].time)
    # The restarted server closes it out: never resumed, valid to the end.
    with RecordingStore(tmp_path / "rec") as store:
        assert store.mark_interrupted() == [hello["id"]]
        assert store.get(hello["id"]).state == "interrupted"
    closed = (tmp_path / "rec" / f"{hello['id']}.cast").read_bytes()
    assert validate(closed) == []
    assert read_cast(closed).events[: len(cast.events)] == cast.events
    print(
        f"\nSIGKILL {kill_after:.2f} s after a tick, {repeat * 80 + 10} B events: "
        f"last event {lost_s:.3f} s before the kill; "
        f"events produced by the announcement {announced['kill']}, on disk {last_seq}; "
        f"file {len(data)} bytes, cut mid-line: {cast.truncated}"
    )
