"""Servers under test, each in its own subprocess on 127.0.0.1: plain jupyter_server terminals,
jupyter_sharedterm (recording on or off), and the websocket ceiling.

Every server gets a free port, a random token and a temporary HOME / root / config / data
folder, so runs never touch the user's Jupyter setup and the server's own process can be
measured through /proc (RSS, CPU).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

__all__ = ["REPO", "Server", "http", "process_cpu", "process_rss"]

REPO = Path(__file__).resolve().parent.parent
_CLK_TCK = os.sysconf("SC_CLK_TCK")
_SHELL = ["/bin/bash", "--norc", "--noprofile"]
# Direct connections only: a proxy from the environment must never see benchmark traffic.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http(
    method: str, url: str, headers: dict[str, str], body: Any = None, timeout: float = 30
) -> tuple[int, Any]:
    """One REST call; returns (status, decoded JSON or None)."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers=dict(headers))
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with _OPENER.open(req, timeout=timeout) as resp:
            raw = resp.read()
            try:
                return resp.status, (json.loads(raw) if raw else None)
            except ValueError:
                return resp.status, raw.decode(errors="replace")
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            return e.code, json.loads(raw)
        except ValueError:
            return e.code, raw.decode(errors="replace")


def process_rss(pid: int) -> int:
    """Resident set size in bytes (VmRSS), 0 if the process is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def process_cpu(pid: int) -> float:
    """User + system CPU seconds used so far by the process itself (its threads included)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _CLK_TCK
    except (OSError, IndexError, ValueError):
        return 0.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """One server process. kind: "terminado", "sharedterm" or "ceiling"."""

    def __init__(self, kind: str, *, record: bool = False) -> None:
        self.kind = kind
        self.record = record
        self.port = _free_port()
        self.token = secrets.token_hex(16)
        self.base = f"http://127.0.0.1:{self.port}/"
        self.ws_base = f"ws://127.0.0.1:{self.port}/"
        self.dir = Path(tempfile.mkdtemp(prefix=f"stbench-{kind}-"))
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = self.dir / "server.log"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def auth(self, user: str | None = None) -> dict[str, str]:
        headers = {"Authorization": f"token {self.token}"}
        if user is not None:
            headers["X-Bench-User"] = user
        return headers

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER")}
        for k in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy"):
            env.pop(k, None)
        home = self.dir / "home"
        env.update(
            HOME=str(home),
            XDG_CONFIG_HOME=str(home / ".config"),
            XDG_DATA_HOME=str(home / ".local/share"),
            XDG_CACHE_HOME=str(home / ".cache"),
            JUPYTER_CONFIG_DIR=str(self.dir / "config"),
            JUPYTER_DATA_DIR=str(self.dir / "data"),
            JUPYTER_RUNTIME_DIR=str(self.dir / "runtime"),
            PYTHONPATH=os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
            TERM="xterm-256color",
            PS1="$ ",
        )
        return env

    def _jupyter_command(self) -> list[str]:
        config_dir = self.dir / "config"
        root = self.dir / "root"
        for d in (config_dir, root, self.dir / "home", self.dir / "data", self.dir / "runtime"):
            d.mkdir(parents=True, exist_ok=True)
        sharedterm = self.kind == "sharedterm"
        config: dict[str, Any] = {
            "ServerApp": {
                # Only what is measured: terminals, and the extension for its own target.
                "jpserver_extensions": {
                    "jupyter_server_terminals": True,
                    "jupyter_sharedterm": sharedterm,
                    "jupyterlab": False,
                    "jupyter_lsp": False,
                    "notebook_shim": False,
                },
                "terminado_settings": {"shell_command": _SHELL},
            },
        }
        if sharedterm:
            config["SharedTermApp"] = {
                "record_sessions": self.record,
                "recordings_dir": str(self.dir / "recordings"),
            }
        (config_dir / "jupyter_server_config.json").write_text(json.dumps(config))
        return [
            sys.executable,
            "-m",
            "jupyter_server",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            "--ServerApp.open_browser=False",
            f"--ServerApp.root_dir={root}",
            f"--IdentityProvider.token={self.token}",
            "--ServerApp.identity_provider_class=bench.identity.HeaderIdentityProvider",
            "--FileContentsManager.delete_to_trash=False",
            "--ServerApp.log_level=WARN",
            "--allow-root",
        ]

    def start(self, timeout: float = 90) -> None:
        if self.kind == "ceiling":
            cmd = [sys.executable, "-m", "bench.ceiling", "--port", str(self.port)]
            cmd += ["--token", self.token]
            ready = f"{self.base}ready"
        else:
            cmd = self._jupyter_command()
            ready = f"{self.base}api/status"
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                cmd,
                cwd=self.dir,
                env=self._env(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, for the final SIGKILL
            )
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.kind} server exited: {self.log_tail()}")
            try:
                status, _ = http("GET", ready, self.auth(), timeout=2)
                if status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self.kind} server did not start: {self.log_tail()}")
            time.sleep(0.1)
        if self.kind != "ceiling":
            self._check_extension()

    def _check_extension(self) -> None:
        status, _ = http("GET", f"{self.base}api/sharedterm/sessions", self.auth("probe"))
        if (status == 200) != (self.kind == "sharedterm"):
            self.stop()
            raise RuntimeError(
                f"{self.kind} server: api/sharedterm answered {status}; the extension is "
                f"{'missing' if self.kind == 'sharedterm' else 'unexpectedly enabled'}. "
                f"{self.log_tail()}"
            )

    def log_tail(self, chars: int = 2000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def rss(self) -> int:
        return process_rss(self.pid)

    def cpu(self) -> float:
        return process_cpu(self.pid)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(10)
        if self.proc is not None:
            # The group we created: whatever of the server is left after SIGTERM.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(5)
        shutil.rmtree(self.dir, ignore_errors=True)
