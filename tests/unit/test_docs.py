"""The docs stay true to the code."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from traitlets import TraitError

from jupyter_sharedterm.app import LIVE_SETTINGS, SharedTermApp
from jupyter_sharedterm.live import LiveConfig
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


def test_every_live_tunable_is_a_setting_with_the_same_default() -> None:
    assert set(LIVE_SETTINGS) == {f.name for f in dataclasses.fields(LiveConfig)}
    settings = SharedTermApp.class_own_traits(config=True)
    for field in dataclasses.fields(LiveConfig):
        assert settings[LIVE_SETTINGS[field.name]].default_value == field.default, field.name


def test_the_live_tunables_come_from_the_settings() -> None:
    app = SharedTermApp(coalesce_seconds=0.25, mirror_idle_chars=5, owner_grace_seconds=7.0)
    config = app.live_config()
    assert (config.coalesce_seconds, config.mirror_idle_chars) == (0.25, 5)
    assert config.timers.owner_grace == 7.0


def test_signing_keys_come_from_the_settings_or_are_refused_with_the_setting_named() -> None:
    app = SharedTermApp(invite_key=b"k" * 32, guest_cookie_key=b"g" * 40)
    assert (app.invite_key, app.guest_cookie_key) == (b"k" * 32, b"g" * 40)
    assert SharedTermApp().invite_key == b""  # unset: a random key per process
    with pytest.raises(TraitError, match=r"c\.SharedTermApp\.invite_key must be at least 32"):
        SharedTermApp(invite_key=b"short")
