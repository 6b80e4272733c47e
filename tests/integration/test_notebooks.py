"""The example notebooks run top to bottom in a real kernel that calls its own real server."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import nbformat
import pytest
from support import ServerProcess

NOTEBOOKS = sorted((Path(__file__).parents[2] / "notebooks").glob("*.ipynb"))


def test_there_are_example_notebooks() -> None:
    assert [p.name for p in NOTEBOOKS] == ["share_from_a_notebook.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
async def test_the_example_notebook_runs(tmp_path: Path, path: Path) -> None:
    server = ServerProcess(tmp_path)
    await server.start()
    try:
        out = tmp_path / "executed.ipynb"
        # nbconvert starts the kernel in the server's environment, so it finds the server as a
        # kernel started from JupyterLab would.
        run = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "jupyter",
            "nbconvert",
            "--to",
            "notebook",
            "--execute",
            "--ExecutePreprocessor.timeout=120",
            f"--output={out}",
            str(path),
            env=server.env,
        )
        assert await asyncio.wait_for(run.wait(), 300) == 0
    finally:
        server.stop()
    nb = nbformat.read(out, as_version=4)
    text = "".join(
        out.get("text", "") for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs
    )
    assert "you are owner" in text and "/sharedterm/join/" in text
    assert "recording paused by" in text and "state: ended" in text
    assert "recording stopped:" in text
