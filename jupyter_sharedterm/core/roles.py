"""Roles and what each may do: the one permission table, checked for every mutating message."""

from __future__ import annotations

from enum import Enum
from typing import Final

__all__ = ["Action", "Role", "may"]


class Role(str, Enum):
    OWNER = "owner"
    COWORKER = "coworker"
    VIEWER = "viewer"


class Action(str, Enum):
    TYPE = "type"  # write to the terminal
    RESIZE = "resize"  # set the terminal size (only while in control, see Session.resize)
    ASK = "ask"  # post a question
    ANSWER = "answer"  # mark a question answered
    MANAGE = "manage"  # change roles, remove people, invite, end, pause recording


_PERMISSIONS: Final[dict[Role, frozenset[Action]]] = {
    Role.OWNER: frozenset(Action),
    Role.COWORKER: frozenset({Action.TYPE, Action.RESIZE, Action.ASK, Action.ANSWER}),
    Role.VIEWER: frozenset({Action.ASK}),
}


def may(role: Role, action: Action) -> bool:
    """Whether `role` is allowed `action`."""
    return action in _PERMISSIONS[role]
