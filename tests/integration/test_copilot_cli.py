"""`jupyter sharedterm copilot FILE.cast --json` on a recording of a real bash on a real PTY."""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from ptyprocess import PtyProcess

from jupyter_sharedterm.recording.asciicast import CastWriter

PROMPT = "ops@host1:~$ "
DEADLINE_S = 30.0  # generous: the machine is shared


def _jupyter() -> str:
    found = Path(sys.executable).with_name("jupyter")
    return str(found) if found.exists() else shutil.which("jupyter") or "jupyter"


class _Shell:
    """bash on a PTY whose output is recorded as it arrives, one event per read."""

    def __init__(self, path: Path, home: Path) -> None:
        (home / ".bashrc").write_text(f"PS1='{PROMPT}'\n")
        self.file = path.open("wb")
        self.writer = CastWriter(self.file, width=80, height=24)
        self.start = time.monotonic()
        self.seen = ""
        env = {
            "HOME": str(home),
            "TERM": "xterm-256color",
            "PATH": os.environ["PATH"],
            "HISTFILE": "/dev/null",
            "LANG": "C.UTF-8",
        }
        self.proc = PtyProcess.spawn(
            ["bash", "--noprofile", "--rcfile", str(home / ".bashrc"), "-i"],
            cwd=str(home),
            env=env,
            dimensions=(24, 80),
        )
        self.wait_for(PROMPT, 1)

    def wait_for(self, text: str, count: int) -> None:
        """Record output until `text` has appeared `count` times in all."""
        deadline = time.monotonic() + DEADLINE_S
        while self.seen.count(text) < count:
            assert time.monotonic() < deadline, f"no {text!r} in {self.seen[-300:]!r}"
            ready, _, _ = select.select([self.proc.fd], [], [], 0.5)
            if ready:
                data = os.read(self.proc.fd, 65536).decode("utf-8", "replace")
                self.seen += data
                self.writer.output(time.monotonic() - self.start, data)

    def send(self, keys: str) -> None:
        self.proc.write(keys.encode())

    def close(self) -> None:
        self.proc.terminate(force=True)
        self.file.close()


def test_the_cli_reads_a_real_bash_session(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    cast = tmp_path / "session.cast"
    shell = _Shell(cast, home)
    try:
        prompts = 1
        for keys in (
            "echo 'port=80' > app.conf\r",
            "cat app.cnf\x7f\x7fonf\r",  # a typo fixed with backspaces: app.c + onf
            "cat /no/such/file\r",
            "sed -i s/80/8080/ app.conf\r",
            "\x1b[A\x1b[A\r",  # history: the failing cat again
            "grep port app.conf\r",
        ):
            shell.send(keys)
            prompts += 1
            shell.wait_for(PROMPT, prompts)
    finally:
        shell.close()

    out = subprocess.run(
        [_jupyter(), "sharedterm", "copilot", str(cast), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    result = json.loads(out.stdout)
    assert [(c["text"], c["changes_state"]) for c in result["commands"]] == [
        ("echo 'port=80' > app.conf", True),
        ("cat app.conf", False),
        ("cat /no/such/file", False),
        ("sed -i s/80/8080/ app.conf", True),
        ("cat /no/such/file", False),
        ("grep port app.conf", False),
    ]
    assert all(c["target"] == "ops@host1" for c in result["commands"])
    assert result["provider_payloads"] == []
    assert [s["command"] for s in result["procedure"]["steps"]] == [
        "echo 'port=80' > app.conf",
        "sed -i s/80/8080/ app.conf",
    ]
    assert "No such file or directory" in result["summary"]
    assert result["handoff"]["target"] == "ops@host1"

    text = subprocess.run(
        [_jupyter(), "sharedterm", "copilot", str(cast), "--lines", "2"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    assert "Handoff note:" in text and "sed -i s/80/8080/ app.conf" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--lines", "0"], "must be at least 1"),
        (["--lines", "many"], "whole number"),
    ],
)
def test_bad_arguments_say_what_to_fix(tmp_path: Path, args: list[str], message: str) -> None:
    cast = tmp_path / "x.cast"
    cast.write_text('{"version": 2, "width": 80, "height": 24}\n')
    out = subprocess.run(
        [_jupyter(), "sharedterm", "copilot", str(cast), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2 and message in out.stderr


def test_a_file_that_is_not_a_recording_is_refused_clearly(tmp_path: Path) -> None:
    bad = tmp_path / "notes.txt"
    bad.write_text("hello\n")
    out = subprocess.run(
        [_jupyter(), "sharedterm", "copilot", str(bad)], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 2
    assert "not a readable recording" in out.stderr and "not an asciicast file" in out.stderr
    missing = subprocess.run(
        [_jupyter(), "sharedterm", "copilot", str(tmp_path / "nope.cast")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert missing.returncode == 2 and "cannot read" in missing.stderr
