"""Record the bash sessions of the Copilot corpus: a real bash on a real PTY, driven by keystrokes.

`python -m bench.copilot_corpus.record_bash [NAME...]` writes `NAME.cast` next to this file
(the labels, `NAME.json`, are written by hand). Output is recorded as it arrives, one event per
read, so chunk boundaries and timing are the PTY's own; the keystrokes are not recorded (the
product's recorder does not record input either).
"""

from __future__ import annotations

import os
import select
import sys
import tempfile
import time
from pathlib import Path

from ptyprocess import PtyProcess

from jupyter_sharedterm.recording.asciicast import CastWriter

HERE = Path(__file__).parent
UP, DOWN, LEFT, RIGHT = "\x1b[A", "\x1b[B", "\x1b[D", "\x1b[C"
BS, TAB, ENTER, CTRL_C, CTRL_A, CTRL_E = "\x7f", "\t", "\r", "\x03", "\x01", "\x05"
PASTE_START, PASTE_END = "\x1b[200~", "\x1b[201~"
ESC = "\x1b"

PLAIN_PS1 = r"\u@\h:\w\$ "
# Shell integration as VS Code / WezTerm / iTerm2 emit it: A prompt start, B prompt end,
# C output start, D;STATUS command end.
MARKED_RC = (
    "__mark_status() { local s=$?; printf '\\033]133;D;%s\\007' \"$s\"; }\n"
    "PROMPT_COMMAND=__mark_status\n"
    "PS1='\\[\\033]133;A\\007\\]\\u@\\h:\\w\\$ \\[\\033]133;B\\007\\]'\n"
    "PS0='\\033]133;C\\007'\n"
)


class Session:
    def __init__(self, name: str, rc: str, home: Path) -> None:
        (home / ".bashrc").write_text(rc)
        (home / ".inputrc").write_text("set enable-bracketed-paste on\n")
        env = {
            "HOME": str(home),
            "TERM": "xterm-256color",
            "PATH": "/usr/bin:/bin:/usr/sbin:/sbin",
            "USER": "ops",
            "LANG": "C.UTF-8",
            "PAGER": "less",
            "EDITOR": "vim",
            "HOSTNAME": "web1",
            "INPUTRC": str(home / ".inputrc"),
            "HISTFILE": "/dev/null",
            "GIT_AUTHOR_NAME": "ops",
            "GIT_AUTHOR_EMAIL": "ops@example.test",
            "GIT_COMMITTER_NAME": "ops",
            "GIT_COMMITTER_EMAIL": "ops@example.test",
        }
        self.out = open(HERE / f"{name}.cast", "wb")  # noqa: SIM115
        self.writer = CastWriter(
            self.out,
            width=100,
            height=30,
            title=name,
            env={"SHELL": "/bin/bash", "TERM": "xterm-256color"},
        )
        self.start = time.monotonic()
        self.proc = PtyProcess.spawn(
            ["bash", "--noprofile", "--rcfile", str(home / ".bashrc"), "-i"],
            cwd=str(home),
            env=env,
            dimensions=(30, 100),
        )
        self.idle()

    def read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.proc.fd], [], [], timeout)
        if not ready:
            return False
        try:
            data = os.read(self.proc.fd, 65536)
        except OSError:
            return False
        if data:
            self.writer.output(time.monotonic() - self.start, data.decode("utf-8", "replace"))
        return bool(data)

    def idle(self, quiet: float = 0.35, limit: float = 15.0) -> None:
        end = time.monotonic() + limit
        while time.monotonic() < end and self.read(quiet):
            pass

    def type(self, text: str, delay: float = 0.03) -> None:
        for c in text:
            self.proc.write(c.encode())
            self.read(delay)
        self.idle(0.15)

    def keys(self, text: str) -> None:
        self.proc.write(text.encode())
        self.idle(0.25)

    def run(self, text: str, quiet: float = 0.35) -> None:
        self.type(text)
        self.keys(ENTER)
        self.idle(quiet)

    def close(self) -> None:
        self.proc.write(b"exit\r")
        self.idle(0.3, 3)
        self.proc.terminate(force=True)
        self.out.close()


def basics(s: Session) -> None:
    """Line editing: typos fixed with backspace, cursor moves, history, completion, Ctrl-C."""
    s.run("mkdir -p app/conf && cd app")
    s.type("lss -l")
    s.keys(CTRL_A + RIGHT + RIGHT + BS)  # "lss" -> "ls"
    s.keys(ENTER)
    s.idle()
    s.run("echo 'listen_port = 8080' > conf/server.ini")
    s.type("cat conf/ser")
    s.keys(TAB)  # completes server.ini
    s.keys(ENTER)
    s.idle()
    s.run("cat /etc/app/missing.conf")
    s.type("rm -rf /tmp/important")
    s.keys(CTRL_C)  # abandoned, never ran
    s.run("touch conf/old.bak")
    s.run("rm -i conf/old.bak", quiet=0.5)
    s.run("n")
    s.keys(UP + UP + UP)  # history: back to "cat conf/server.ini"? no: three back
    s.keys(CTRL_E)
    s.keys(ENTER)
    s.idle()
    s.run("grep -n port conf/server.ini")
    s.run("sed -i 's/8080/9090/' conf/server.ini")
    s.run("sed -n 1p conf/server.ini")
    s.run("ls /nonexistent-dir")
    s.run("wc -l conf/server.ini")


def editing(s: Session) -> None:
    """Here-document, bracketed paste, pager, vim with and without a write, a long wrapped line."""
    s.run("cd ~ && mkdir -p site && cd site")
    s.type("cat > notes.txt <<EOF")
    s.keys(ENTER)
    s.run("deploy host: web1.example.test")
    s.run("port: 9090")
    s.run("EOF")
    s.keys(PASTE_START + "echo first-pasted-line\necho second-pasted-line" + PASTE_END)
    s.keys(ENTER)
    s.idle()
    s.run("seq 1 200 > numbers.txt")
    s.run("less numbers.txt")
    s.keys(" ")
    s.keys("q")
    s.run("vim -u NONE notes.txt", quiet=0.6)
    s.keys("Goowner: team-blue" + ESC)
    s.keys(":wq" + ENTER)
    s.idle()
    s.run("vim -u NONE numbers.txt", quiet=0.6)
    s.keys(":q!" + ENTER)
    s.idle()
    s.run("echo " + "this-is-a-long-argument-" * 6 + "end | wc -c")
    s.run("git init -q . && git add notes.txt && git commit -qm 'notes'")
    s.run("git log --oneline | cat")
    s.run("git status --short")


def marked(s: Session) -> None:
    """OSC 133 shell integration: commands and exit statuses from the shell's own marks."""
    s.run("mkdir -p ~/svc && cd ~/svc")
    s.run("printf 'mode=prod\\n' > svc.env")
    s.run("false")
    s.run("grep -c mode svc.env")
    s.run("tee -a svc.env <<< 'debug=0'")
    s.run("ls no-such-file")
    s.run(
        "printf 'token=ghp_%s' 'k3YQ8ZpW1xR4tL9m'; sleep 0.4; printf 'Vb2N6cJ0sDfH5aGu7eI3oQ\\n'",
        quiet=0.8,
    )
    s.run("export DB_PASSWORD='Zx9!hunter2-canary'")
    s.run("chmod 600 svc.env")
    s.run("stat -c %a svc.env")


def round1_shell(s: Session) -> None:
    """Held out: written after the rules were tuned; not used to tune them."""
    s.run("mkdir -p ~/rel && cd ~/rel")
    s.run("python3 -c 'print(40 + 2)'")
    s.run("printf 'a\\nb\\n' | sort -r")
    s.run("ln -s /etc/hostname host.link")
    s.run("readlink host.link")
    s.run("cp host.link host.copy")
    s.run("git init -q . && git status --short")
    s.type("mv host.copy host.old")
    s.keys(LEFT * 4 + BS * 3 + "bak")  # host.old -> host.bak
    s.keys(ENTER)
    s.idle()
    s.run("find . -name '*.bak' -delete")
    s.run("curl -s http://127.0.0.1:9/ || echo unreachable")
    s.run("echo AKIAIOSFODNN7CANARY1 | wc -c")
    s.run("du -sh .")
    s.run("chmod +x no-such-script")


def heldout_round2(s: Session) -> None:
    """Held out in round 2: written after every rule change, scored once, never tuned on."""
    s.run("mkdir -p ~/ops2/logs && cd ~/ops2")
    s.run("printf 'line one\\nline two\\n' > logs/app.log")
    s.run("tar czf logs.tgz logs")
    s.run("tar tzf logs.tgz")
    s.keys("\x12")  # Ctrl-R: reverse history search
    s.type("czf")
    s.keys(ENTER)
    s.idle()
    s.type("cat > key.pem <<'KEY'")
    s.keys(ENTER)
    s.run("-----BEGIN PRIVATE KEY-----")
    s.run("MIIEvQIBADANBgkqhkiG9w0BAQEFAASCanaryPrivKeyR2xQ")
    s.run("-----END PRIVATE KEY-----")
    s.run("KEY")
    s.run("head -c 40 key.pem; sleep 0.4; tail -c +41 key.pem", quiet=0.8)
    s.run("truncate -s 0 logs/app.log")
    s.run("echo $((6 * 7))")
    s.run("git init -q . && git checkout -q -b feature")
    s.run("git stash list")
    s.run("git config user.name")
    s.run("export SERVICE_TOKEN=sk-CanaryRound2Token0123456789abcdef")
    s.run("ls -la logs")
    s.run("rm -f logs.tgz key.pem")
    s.run("crontab -l")
    s.run("ip route")


SCENARIOS = {
    "bash_basics": (basics, f"PS1='{PLAIN_PS1}'\n"),
    "bash_editing": (editing, f"PS1='{PLAIN_PS1}'\n"),
    "bash_marked": (marked, MARKED_RC),
    "round1_bash": (round1_shell, f"PS1='{PLAIN_PS1}'\n"),
    "heldout_bash2": (heldout_round2, f"PS1='{PLAIN_PS1}'\n"),
}


def main(names: list[str]) -> None:
    for name in names or list(SCENARIOS):
        script, rc = SCENARIOS[name]
        with tempfile.TemporaryDirectory() as tmp:
            home = Path(tmp) / "ops"
            home.mkdir()
            session = Session(name, rc, home)
            script(session)
            session.close()
        print("recorded", name)


if __name__ == "__main__":
    main(sys.argv[1:])
