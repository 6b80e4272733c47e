"""The installed package: both extensions are enabled and load; the prebuilt frontend is there."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import jupyter_sharedterm

SERVER_EXTENSION = "jupyter_sharedterm"
LAB_EXTENSION = "jupyter-sharedterm"
# The CLIs colour their output even when it is not a terminal.
ANSI = re.compile(r"\x1b\[[0-9;]*m")
# A cold `jupyter labextension list` takes a few seconds; leave room for a slow CI machine.
CLI_TIMEOUT_S = 120


def _jupyter(*args: str) -> str:
    """Run this interpreter's `jupyter` with `args`; return stdout + stderr without colours."""
    jupyter = Path(sys.executable).parent / "jupyter"
    assert jupyter.exists(), f"no jupyter next to {sys.executable}"
    done = subprocess.run(
        [str(jupyter), *args],
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_S,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    output = ANSI.sub("", done.stdout + done.stderr)
    assert done.returncode == 0, f"jupyter {' '.join(args)} exited {done.returncode}:\n{output}"
    return output


def _installed_labextension() -> Path:
    return Path(sys.prefix) / "share" / "jupyter" / "labextensions" / LAB_EXTENSION


def test_server_extension_is_enabled_and_loads() -> None:
    output = _jupyter("server", "extension", "list")
    lines = [line.strip() for line in output.splitlines()]
    assert f"{SERVER_EXTENSION} enabled" in lines, output
    # The validation line names the version only when the module and its extension points import.
    assert f"{SERVER_EXTENSION} {jupyter_sharedterm.__version__} OK" in lines, output


def test_labextension_is_enabled_and_ok() -> None:
    output = _jupyter("labextension", "list")
    pattern = re.compile(
        rf"^\s*{re.escape(LAB_EXTENSION)} v(\S+) enabled OK \(python, {SERVER_EXTENSION}\)\s*$",
        re.MULTILINE,
    )
    match = pattern.search(output)
    assert match, output
    assert match.group(1) == jupyter_sharedterm.__version__


def test_server_extension_is_enabled_by_installed_config() -> None:
    config = (
        Path(sys.prefix)
        / "etc"
        / "jupyter"
        / "jupyter_server_config.d"
        / f"{SERVER_EXTENSION}.json"
    )
    assert json.loads(config.read_text()) == {
        "ServerApp": {"jpserver_extensions": {SERVER_EXTENSION: True}}
    }


def test_prebuilt_labextension_is_installed() -> None:
    root = _installed_labextension()
    package = json.loads((root / "package.json").read_text())
    assert package["name"] == LAB_EXTENSION
    # The Python and npm packages ship together, so their versions must agree.
    assert package["version"] == jupyter_sharedterm.__version__
    build = package["jupyterlab"]["_build"]
    assert (root / build["load"]).is_file(), f"missing {build['load']} under {root}"
    install = json.loads((root / "install.json").read_text())
    assert install["packageName"] == SERVER_EXTENSION
    assert install["packageManager"] == "python"
