"""Signing keys set in the settings are the ones the server uses, so replicas and restarts that
share them accept each other's invite links and guest cookies (SECURITY: keys never logged)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from jupyter_sharedterm.core.invites import SecretHasher
from jupyter_sharedterm.handlers.guest import GuestGate

INVITE_KEY = b"i" * 32
COOKIE_KEY = b"c" * 48


@pytest.fixture
def jp_server_config(jp_server_config: Any) -> dict[str, Any]:
    config = dict(jp_server_config)
    config["SharedTermApp"] = {
        **config["SharedTermApp"],
        "invite_key": INVITE_KEY,
        "guest_cookie_key": COOKIE_KEY,
    }
    return config


def test_the_configured_keys_hash_invites_and_sign_guest_cookies(jp_serverapp: Any) -> None:
    settings = jp_serverapp.web_app.settings
    manager = settings["sharedterm_manager"]
    # Another process with the same key (a replica, or this server after a restart) agrees...
    assert manager.hasher.digest("a-secret") == SecretHasher(INVITE_KEY).digest("a-secret")
    expires = int(time.time()) + 60
    elsewhere = GuestGate(enabled=True, cookie_seconds=60, key=COOKIE_KEY)
    cookie = elsewhere.seal("sid", "guest1", expires)
    assert settings["sharedterm_guests"].open(cookie, "sid", time.time()) is not None
    # ...and one with another key does not.
    stranger = GuestGate(enabled=True, cookie_seconds=60, key=b"x" * 32)
    assert (
        settings["sharedterm_guests"].open(
            stranger.seal("sid", "guest1", expires), "sid", time.time()
        )
        is None
    )
    assert manager.hasher.digest("a-secret") != SecretHasher(b"x" * 32).digest("a-secret")
