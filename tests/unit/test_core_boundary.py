"""The core is pure: importing it must not pull in any I/O framework."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import jupyter_sharedterm.core as core

FORBIDDEN = (
    "tornado",
    "terminado",
    "asyncssh",
    "pycrdt",
    "ipywidgets",
    "jupyter_server",
    "asyncio",
)


def test_core_imports_no_io_framework() -> None:
    modules = [f"jupyter_sharedterm.core.{m.name}" for m in pkgutil.iter_modules(core.__path__)]
    assert "jupyter_sharedterm.core.session" in modules
    probe = (
        "import sys, importlib\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        f"print(sorted(n for n in sys.modules if n.split('.')[0] in {FORBIDDEN!r}))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_the_probe_would_notice_a_forbidden_import() -> None:
    probe = (
        "import sys, tornado.web\n"
        f"print(sorted(n for n in sys.modules if n.split('.')[0] in {FORBIDDEN!r})[:1])"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() != "[]"
