"""Test-only IdentityProvider: Jupyter's own token login, with a chosen name for new users.

The server runs with a token and no password, so each browser context that logs in with
`?token=...` becomes its own anonymous user (a fresh id, kept in that context's login cookie).
This provider only replaces the random "Anonymous Io" name of that new user with the `as`
query argument of the login request, so tests can say "Bob is typing" instead of guessing moons.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from jupyter_server.auth.identity import IdentityProvider, User

_NAME = re.compile(r"[a-z]{1,20}")


class NamedIdentityProvider(IdentityProvider):
    def generate_anonymous_user(self, handler: Any) -> User:
        name = handler.get_argument("as", "")
        if not _NAME.fullmatch(name):
            return super().generate_anonymous_user(handler)
        title = name.title()
        # A fresh id per login, as for any anonymous user: the name alone grants nothing.
        return User(f"{name}-{uuid.uuid4().hex[:8]}", title, title, title[0], None, None)
