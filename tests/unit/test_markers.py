"""Marker wording: one line per thing people did, in the product's words."""

from __future__ import annotations

from jupyter_sharedterm.core.errors import DomainError
from jupyter_sharedterm.core.invites import SecretHasher
from jupyter_sharedterm.core.markers import MarkerLabels
from jupyter_sharedterm.core.roles import Role
from jupyter_sharedterm.core.session import Kind, Session

HASHER = SecretHasher(b"k" * 32)


def _labels(session: Session, markers: MarkerLabels) -> list[str]:
    return [
        label
        for event in session.drain_events()
        if (label := markers.label(session, event)) is not None
    ]


def test_each_moment_is_one_marker_in_people_words() -> None:
    markers = MarkerLabels()
    s = Session.start(
        owner_identity="user:ann", owner_name="Ann", title="t", transport="local", now=0
    )
    ann = s.owners()[0].id
    invite, secret = s.create_invite(
        ann, role=Role.COWORKER, expires_in=60, max_uses=None, now=0, hasher=HASHER
    )
    ben = s.redeem(
        # A signed-in user: a guest's name would carry "(guest)" (tests/unit/test_names.py).
        invite.id,
        secret,
        identity="user:ben",
        name="Ben",
        kind=Kind.USER,
        now=0,
        hasher=HASHER,
    ).id
    assert _labels(s, markers) == []  # admitted is not arrived: nothing yet
    s.connect(ann)
    s.connect(ben)
    s.connect(ben)  # a second tab is no second arrival
    s.type(ben, "x", 0.0)
    s.set_role(ann, ben, Role.OWNER)
    s.set_role(ben, ben, Role.VIEWER)
    s.disconnect(ben)
    s.disconnect(ben)
    s.connect(ben)
    s.set_role(ann, ben, Role.COWORKER)
    s.remove(ann, ben)
    assert _labels(s, markers) == [
        "Ann joined as an owner",
        "Ben joined as a co-worker",
        "Ben is in control",
        "Ann made Ben an owner",
        "Ben is now a viewer",
        "Ben left",
        "Ben came back",
        "Ann made Ben a co-worker",
        "Ann removed Ben",
    ]


def test_control_changing_hands_is_marked_step_by_step() -> None:
    markers = MarkerLabels()
    s = Session.start(
        owner_identity="user:ann", owner_name="Ann", title="t", transport="local", now=0
    )
    ann = s.owners()[0].id
    invite, secret = s.create_invite(
        ann, role=Role.COWORKER, expires_in=60, max_uses=None, now=0, hasher=HASHER
    )
    ben = s.redeem(
        invite.id, secret, identity="user:ben", name="Ben", kind=Kind.USER, now=0, hasher=HASHER
    ).id
    s.drain_events()
    s.request_control(ben)
    s.offer_control(ann, ben)
    s.withdraw_offer(ben)
    s.offer_control(ann, ben)
    s.accept_control(ben)
    s.offer_control(ben, ann)
    s.withdraw_offer(ben)
    s.offer_control(ben, ann)
    s.take_control(ann)
    assert _labels(s, markers) == [
        "Ben asked for control",
        "Ann offered control to Ben",
        "Ben declined control",
        "Ann offered control to Ben",
        "Ben is in control",
        "Ben offered control to Ann",
        "Ben withdrew the offer of control to Ann",
        "Ben offered control to Ann",
        "the offer of control to Ann lapsed",
        "Ann is in control",
    ]


def test_an_owner_invite_is_refused_in_the_product_words() -> None:
    s = Session.start(
        owner_identity="user:ann", owner_name="Ann", title="t", transport="local", now=0
    )
    try:
        s.create_invite(
            s.owners()[0].id, role=Role.OWNER, expires_in=60, max_uses=None, now=0, hasher=HASHER
        )
    except DomainError as e:
        assert e.message == "Invites make people viewers or co-workers, never owners."
    else:
        raise AssertionError("an owner invite was created")
