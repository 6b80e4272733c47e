"""The docs stay true to the code."""

from __future__ import annotations

from pathlib import Path

from jupyter_sharedterm.app import SharedTermApp
from jupyter_sharedterm.protocol import frames, schema

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_every_setting_is_in_the_configuration_guide() -> None:
    guide = (DOCS / "configuration.md").read_text()
    settings = SharedTermApp.class_own_traits(config=True)
    assert settings  # the extension has settings, so this test checks something
    undocumented = [name for name in settings if f"`SharedTermApp.{name}`" not in guide]
    assert undocumented == []


def test_every_frame_type_is_in_the_protocol_page() -> None:
    page = (DOCS / "protocol.md").read_text()
    for union in (frames.ServerCtl, frames.ClientCtl):
        for tag in schema.tags(union):
            assert f'"type": "{tag}"' in page, f"ctl type {tag!r} is not in docs/protocol.md"
    for union in (frames.ServerFrame, frames.ClientFrame):
        for tag in schema.tags(union):
            assert f'["{tag}"' in page, f"frame {tag!r} is not in docs/protocol.md"
