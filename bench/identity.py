"""An IdentityProvider for benchmark servers: the token check, then a user named by a header.

The benchmark needs several people (an owner, co-workers, many viewers) on one server. The
server's own token authenticates every request; the `X-Bench-User` header only says which of
them a request is from. Loaded by the server under test through
`--ServerApp.identity_provider_class=bench.identity.HeaderIdentityProvider`. Never use it on a
server anyone else can reach.
"""

from __future__ import annotations

from typing import Any

from jupyter_server.auth.identity import IdentityProvider, User
from jupyter_server.utils import ensure_async

__all__ = ["USER_HEADER", "HeaderIdentityProvider"]

USER_HEADER = "X-Bench-User"


class HeaderIdentityProvider(IdentityProvider):
    """Token-authenticated requests become the user named in `X-Bench-User` (when present)."""

    async def get_user(self, handler: Any) -> User | None:
        user = await ensure_async(super().get_user(handler))
        name = handler.request.headers.get(USER_HEADER)
        if user is None or not name:
            return user
        return User(username=name, name=name, display_name=name)
