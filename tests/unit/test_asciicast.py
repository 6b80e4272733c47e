"""asciicast v2 writer, reader and validator, checked against the spec and the real asciinema."""

from __future__ import annotations

import io
import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jupyter_sharedterm.recording.asciicast import (
    Cast,
    CastFormatError,
    CastTruncatedError,
    CastWriter,
    Event,
    encode_event,
    read_cast,
    validate,
)

# Output that exercises escaping: ANSI, CR/LF, multi-byte UTF-8 (2, 3 and 4 bytes), a line
# separator that str.splitlines() would split on, NUL and DEL, quotes and backslashes.
TRICKY = [
    "\x1b[1;31mHello\x1b[0m \r\n",
    "caf\u00e9 \u20ac \U0001f600 \u4e2d\u6587\r\n",
    "line\u2028separator\u2029para\x85nel\r\n",
    'nul\x00 del\x7f "quoted" back\\slash\ttab\r\n',
]


def _write(capture_input: bool = False, **header: object) -> tuple[bytes, list[Event]]:
    """A file with every event code; returns its bytes and the events as they should read back."""
    sink = io.BytesIO()
    writer = CastWriter(
        sink,
        width=80,
        height=24,
        timestamp=1_700_000_000,
        title="demo \u00e9",
        env={"TERM": "xterm-256color", "SHELL": "/bin/bash"},
        extra={"x_sharedterm": {"recording": "r1"}},
        capture_input=capture_input,
    )
    expected: list[Event] = []
    t = 0.0
    for text in TRICKY:
        t += 0.25
        expected.append(Event(round(t, 6), "o", text))
        writer.output(t, text)
    writer.resize(1.5, rows=30, cols=100)
    expected.append(Event(1.5, "r", "100x30"))
    writer.marker(1.75, "alice joined as co-worker")
    expected.append(Event(1.75, "m", "alice joined as co-worker"))
    if capture_input:
        writer.input(2.0, "ls -l\r")
        expected.append(Event(2.0, "i", "ls -l\r"))
    writer.output(2.123456789, "bye\r\n")
    expected.append(Event(2.123457, "o", "bye\r\n"))
    return sink.getvalue(), expected


def test_round_trip_keeps_every_event_and_header() -> None:
    data, expected = _write(capture_input=True)
    data.decode("utf-8")  # strict: the file is valid UTF-8
    cast = read_cast(data)
    assert cast.events == expected
    assert not cast.truncated
    assert cast.end == len(data)
    assert cast.header["version"] == 2
    assert (cast.width, cast.height) == (80, 24)
    assert cast.header["timestamp"] == 1_700_000_000
    assert cast.header["title"] == "demo \u00e9"
    assert cast.header["env"] == {"TERM": "xterm-256color", "SHELL": "/bin/bash"}
    assert cast.header["x_sharedterm"] == {"recording": "r1"}
    assert validate(data) == []
    # The same text given as str reads back identically.
    assert read_cast(data.decode("utf-8")).events == expected


def test_file_is_one_json_document_per_line_not_ascii_escaped() -> None:
    data, _ = _write()
    lines = data.split(b"\n")
    assert lines[-1] == b""  # ends with a newline
    for line in lines[:-1]:
        json.loads(line)
    # ensure_ascii=False: non-ASCII is stored as UTF-8, not \\u escapes.
    assert "caf\u00e9".encode() in data
    assert b"\\u00e9" not in data
    # The raw U+2028 inside a string must not count as a line break for our reader.
    assert "\u2028".encode() in data


def test_lone_surrogates_become_replacement_characters() -> None:
    sink = io.BytesIO()
    writer = CastWriter(sink, width=80, height=24, title="t\udc80")
    writer.output(0.1, "a\ud800b")
    writer.output(0.2, "pair \ud83d\ude00 joined")
    writer.marker(0.3, "\udfff")
    data = sink.getvalue()
    data.decode("utf-8")  # would raise on an encoded surrogate
    cast = read_cast(data)
    assert [e.data for e in cast.events] == ["a\ufffdb", "pair \U0001f600 joined", "\ufffd"]
    assert cast.header["title"] == "t\ufffd"


def test_times_are_rounded_and_never_go_back() -> None:
    sink = io.BytesIO()
    writer = CastWriter(sink, width=80, height=24)
    assert writer.output(1.0000004, "a") == 1.0
    assert writer.output(0.5, "late") == 1.0  # a clock step back is clamped
    assert writer.output(-3.0, "negative") == 1.0
    assert writer.output(2.0000006, "b") == 2.000001
    times = [e.time for e in read_cast(sink.getvalue()).events]
    assert times == [1.0, 1.0, 1.0, 2.000001]
    assert b"[1.000000, " in sink.getvalue()  # fixed notation, never 1e-06 style
    assert encode_event(0.000001, "o", "x") == b'[0.000001, "o", "x"]\n'


def test_input_is_refused_unless_capture_is_enabled() -> None:
    writer = CastWriter(io.BytesIO(), width=80, height=24)
    with pytest.raises(ValueError, match="input capture is off"):
        writer.input(0.1, "hunter2\r")
    with pytest.raises(ValueError, match="unknown event code"):
        writer.event(0.1, "x", "?")
    with pytest.raises(ValueError, match="positive"):
        CastWriter(io.BytesIO(), width=0, height=24)
    with pytest.raises(ValueError, match="shadow"):
        CastWriter(io.BytesIO(), width=80, height=24, extra={"version": 3})


def _line_ends(data: bytes) -> list[int]:
    """Offset of each line's newline."""
    return [i for i, b in enumerate(data) if b == ord("\n")]


def test_reader_recovers_exactly_the_complete_events_at_every_cut() -> None:
    data, expected = _write(capture_input=True)
    ends = _line_ends(data)
    header_end, event_ends = ends[0], ends[1:]
    assert len(event_ends) == len(expected)
    for cut in range(len(data) + 1):
        prefix = data[:cut]
        if cut < header_end:
            with pytest.raises(CastTruncatedError):
                read_cast(prefix)
            continue
        cast = read_cast(prefix)
        # An event is complete once its closing bracket is in, newline or not.
        complete = [e for e, end in zip(expected, event_ends, strict=True) if end <= cut]
        assert cast.events == complete, f"cut at byte {cut}"
        assert cast.truncated == (not prefix.endswith(b"\n")), f"cut at byte {cut}"
        assert cast.end <= cut
        assert prefix[: cast.end].count(b"\n") >= len(complete)


def test_reader_drops_a_last_line_cut_inside_a_utf8_sequence() -> None:
    data, expected = _write()
    emoji = "\U0001f600".encode()
    start = data.index(emoji)
    for k in range(1, len(emoji)):
        cast = read_cast(data[: start + k])
        assert cast.truncated
        assert cast.events == expected[:1]  # the emoji is in the second event


GARBAGE = [
    (b"hello world\n", "first line is not a JSON header"),
    (b"\x00\xff\xfe garbage\n", "not valid UTF-8"),
    (b'[0.1, "o", "x"]\n', "first line must be a JSON object header"),
    (b'{"version": 1, "width": 80, "height": 24, "stdout": []}\n', "only version 2"),
    (b'{"version": 3, "term": {"cols": 80, "rows": 24}}\n', "only version 2"),
    (b'{"version": true, "width": 80, "height": 24}\n', "only version 2"),
    (b'{"version": 2, "width": 0, "height": 24}\n', '"width" must be a positive integer'),
    (b'{"version": 2, "width": 80}\n', '"height" must be a positive integer'),
    (b'{"version": 2, "width": 80, "height": 24}\nnot json\n', "line 2 .*invalid JSON"),
    (b'{"version": 2, "width": 80, "height": 24}\n{"t": 1}\n', "line 2 .*JSON array"),
    (b'{"version": 2, "width": 80, "height": 24}\n[1, "o"]\n', "of length 2"),
    (b'{"version": 2, "width": 80, "height": 24}\n[NaN, "o", "x"]\n', "invalid JSON"),
    (b'{"version": 2, "width": 80, "height": 24}\n[-1, "o", "x"]\n', "time must be"),
    (b'{"version": 2, "width": 80, "height": 24}\n["1", "o", "x"]\n', "time must be"),
    (b'{"version": 2, "width": 80, "height": 24}\n[1, 5, "x"]\n', "code must be"),
    (b'{"version": 2, "width": 80, "height": 24}\n[1, "o", 7]\n', "data must be a string"),
    (b'{"version": 2, "width": 80, "height": 24}\n[1, "o", "\xc3("]\n', "not valid UTF-8"),
    (b'{"version": 2, "width": 80, "height": 24}\n\n[1, "o", "x"]\n', "line 2 .*invalid JSON"),
    (b'{"version": 2, "width": 80, "height": 24}\n[1, "o", "x"]\nxyz', "neither an event"),
    (b"PK\x03\x04 a zip file", "not an asciicast file"),
]


@pytest.mark.parametrize(("data", "message"), GARBAGE)
def test_garbage_is_rejected_with_a_message_a_person_can_act_on(data: bytes, message: str) -> None:
    with pytest.raises(CastFormatError, match=message) as info:
        read_cast(data)
    assert isinstance(info.value, ValueError)
    assert str(info.value).startswith(f"line {info.value.line} (byte {info.value.offset}): ")
    assert data[: info.value.offset].count(b"\n") == info.value.line - 1
    assert validate(data) != []


def test_empty_file_is_a_truncation_not_garbage() -> None:
    with pytest.raises(CastTruncatedError, match="empty"):
        read_cast(b"")
    with pytest.raises(CastTruncatedError, match="inside its header"):
        read_cast(b'{"version": 2, "wid')


def _cast(lines: list[str], header: str = '{"version": 2, "width": 80, "height": 24}') -> bytes:
    return ("\n".join([header, *lines]) + "\n").encode()


SPEC_VIOLATIONS = [
    (_cast(['[2.0, "o", "a"]', '[1.0, "o", "b"]']), "goes back"),
    (_cast(['[1.0, "z", "a"]']), "unknown event code"),
    (_cast(['[1.0, "r", "80 by 24"]']), "COLSxROWS"),
    (_cast(['[1.0, "r", "0x24"]']), "COLSxROWS"),
    (_cast([], '{"version": 2, "width": 80, "height": 24, "timestamp": 1.5}'), "timestamp"),
    (_cast([], '{"version": 2, "width": 80, "height": 24, "env": {"TERM": 1}}'), "env"),
    (_cast([], '{"version": 2, "width": 80, "height": 24, "title": 5}'), "title"),
    (_cast([], '{"version": 2, "width": 80, "height": 24, "idle_time_limit": 0}'), "idle"),
    (_cast([], '{"version": 2, "width": 80, "height": 24, "theme": {"fg": "red"}}'), "theme"),
    (_cast(['[1.0, "o", "a"]'])[:-3], "cut off mid-write"),
]


@pytest.mark.parametrize(("data", "problem"), SPEC_VIOLATIONS)
def test_validate_reports_spec_violations(data: bytes, problem: str) -> None:
    problems = validate(data)
    assert any(problem in p for p in problems), problems


def test_validate_accepts_full_spec_header_and_extension_codes() -> None:
    header = json.dumps(
        {
            "version": 2,
            "width": 80,
            "height": 24,
            "timestamp": 1,
            "duration": 1.5,
            "idle_time_limit": 2,
            "command": "/bin/bash",
            "title": "t",
            "env": {"TERM": "xterm"},
            "theme": {"fg": "#ffffff", "bg": "#000000", "palette": ":".join(["#112233"] * 16)},
        }
    )
    assert validate(_cast(['[0.5, "o", "a"]', '[0.5, "m", ""]'], header)) == []
    with_extension = read_cast(_cast(['[0.5, "x", "exit 0"]']))
    assert isinstance(with_extension, Cast)
    assert validate(with_extension, allow_unknown_codes=True) == []
    assert validate(with_extension) != []


# -- the real asciinema client ---------------------------------------------------------------

ASCIINEMA = [sys.executable, "-m", "asciinema"]


def _asciinema_env() -> dict[str, str]:
    env = dict(os.environ, PYTHONIOENCODING="utf-8", LANG="C.UTF-8", LC_ALL="C.UTF-8")
    env.pop("ASCIINEMA_API_URL", None)
    env["HOME"] = env["XDG_CONFIG_HOME"] = "/nonexistent-asciinema-home"
    return env


def test_asciinema_cat_reproduces_the_output_bytes(tmp_path: Path) -> None:
    data, _ = _write(capture_input=True)
    path = tmp_path / "demo.cast"
    path.write_bytes(data)
    # No controlling terminal (new session): `cat` then skips its raw-mode setup on /dev/tty.
    result = subprocess.run(
        [*ASCIINEMA, "cat", str(path)],
        capture_output=True,
        env=_asciinema_env(),
        start_new_session=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == read_cast(data).output().encode("utf-8")


# Makes the PTY given as stdin the child's controlling terminal, as a login shell would have it,
# then becomes asciinema: `play` opens /dev/tty and puts it in raw mode, as for a person.
_CTTY_EXEC = (
    "import fcntl, os, sys, termios; fcntl.ioctl(0, termios.TIOCSCTTY, 0); "
    "os.execv(sys.executable, [sys.executable, '-m', 'asciinema', *sys.argv[1:]])"
)


def play_in_pty(path: Path, timeout: float = 60.0) -> tuple[int, bytes]:
    """Run `asciinema play` on a real PTY at high speed; returns its exit code and screen bytes."""
    master, slave = os.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-c", _CTTY_EXEC, "play", "--speed", "50", "-i", "0.05", str(path)],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=_asciinema_env(),
        start_new_session=True,
    )
    os.close(slave)
    screen = bytearray()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: every slave end is closed, the player exited
                break
            if not chunk:
                break
            screen += chunk
        code = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    return code, bytes(screen)


def test_asciinema_play_runs_the_file_to_the_end_in_a_pty(tmp_path: Path) -> None:
    data, _ = _write()
    path = tmp_path / "demo.cast"
    path.write_bytes(data)
    code, screen = play_in_pty(path)
    assert code == 0, screen
    assert b"Hello" in screen
    assert "\U0001f600".encode() in screen
    assert screen.rstrip().endswith(b"bye")
