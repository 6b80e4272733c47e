"""jupyter_sharedterm: share a live terminal in JupyterLab, with roles the server enforces."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["__version__"]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "jupyter-sharedterm"}]


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    from .app import SharedTermApp

    return [{"module": "jupyter_sharedterm", "app": SharedTermApp}]
