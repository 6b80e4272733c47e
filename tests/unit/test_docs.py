"""The docs stay true to the code."""

from __future__ import annotations

from pathlib import Path

from jupyter_sharedterm.app import SharedTermApp

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_every_setting_is_in_the_configuration_guide() -> None:
    guide = (DOCS / "configuration.md").read_text()
    settings = SharedTermApp.class_own_traits(config=True)
    assert settings  # the extension has settings, so this test checks something
    undocumented = [name for name in settings if f"`SharedTermApp.{name}`" not in guide]
    assert undocumented == []
