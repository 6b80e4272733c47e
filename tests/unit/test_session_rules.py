"""Rules of the core found by looking again as an attacker would (issue 13, "also look again")."""

from __future__ import annotations

from jupyter_sharedterm.core.invites import SecretHasher
from jupyter_sharedterm.core.limits import SessionLimits
from jupyter_sharedterm.core.roles import Role
from jupyter_sharedterm.core.session import Kind, Session

HASHER = SecretHasher(b"k" * 32)


def started(title: str = "t") -> Session:
    return Session.start(
        owner_identity="user:alice", owner_name="Alice", title=title, transport="memory", now=0.0
    )


def test_a_title_is_cleaned_like_every_text_others_read() -> None:
    # An ad-hoc device session is titled with the user@host its owner typed.
    session = started("root@\u202eevil\x1b]0;pwned\x07\n" + "h" * 1000)
    assert session.title == "root@evil]0;pwned " + "h" * 182
    assert len(session.title) == 200


def test_creating_and_revoking_links_in_a_loop_keeps_a_bounded_list() -> None:
    session = started()
    owner = session.owners()[0].id
    first, secret = session.create_invite(
        owner, role=Role.VIEWER, expires_in=None, max_uses=None, now=0.0, hasher=HASHER
    )
    for _ in range(SessionLimits().invites_kept * 3):
        invite, _secret = session.create_invite(
            owner, role=Role.VIEWER, expires_in=None, max_uses=None, now=1.0, hasher=HASHER
        )
        session.revoke_invite(owner, invite.id)
    assert len(session.invites) <= SessionLimits().invites_kept
    assert first.id in session.invites  # a live link is never forgotten
    joined = session.redeem(
        first.id, secret, identity="user:bob", name="Bob", kind=Kind.USER, now=2.0, hasher=HASHER
    )
    assert joined.name == "Bob"
