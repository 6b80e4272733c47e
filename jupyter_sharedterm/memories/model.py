"""What a memory is, and the checks every memory request passes before it reaches a store.

Pure: no I/O. The request and answer types here are the REST bodies of CONTRACT.md "After the
session"; they can move into the protocol package as they are.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Final, NewType

from ..core.errors import DomainError, ErrorCode
from ..recording.store import is_valid_id as is_valid_recording_id

__all__ = [
    "MAX_QUERY_CHARS",
    "MAX_TARGET_CHARS",
    "Memory",
    "MemoryId",
    "MemoryQuery",
    "MemorySource",
    "NewMemory",
    "is_valid_memory_id",
    "is_valid_target",
    "parse_new_memory",
    "parse_query",
]

MemoryId = NewType("MemoryId", str)

MAX_TARGET_CHARS: Final = 253  # the longest DNS name
MAX_QUERY_CHARS: Final = 500
# A host name, an IPv4 or IPv6 address (no brackets, no zone) or a device name as configured.
_TARGET: Final = re.compile(rf"[A-Za-z0-9:][A-Za-z0-9._:-]{{0,{MAX_TARGET_CHARS - 1}}}")
_MEMORY_ID: Final = re.compile(r"[A-Za-z0-9_-]{22}")  # core.ids.new_id()
# Dropped from a memory's text: control characters other than newline and tab, and the
# invisible and bidirectional marks that make text read differently from what it is.
_INVISIBLE: Final = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]"
)
_TARGET_USAGE: Final = (
    '"target" must be a host name, an IP address or a device name (letters, digits, '
    f'".", "-", "_", ":"; at most {MAX_TARGET_CHARS} characters), e.g. "r1" or "10.0.0.1".'
)
_NEW_FIELDS: Final = frozenset({"text", "target", "source"})
_SOURCE_FIELDS: Final = frozenset({"recording", "time"})


def is_valid_target(value: object) -> bool:
    """True if `value` names a host or device in the syntax memories accept."""
    return isinstance(value, str) and _TARGET.fullmatch(value) is not None


def is_valid_memory_id(value: object) -> bool:
    return isinstance(value, str) and _MEMORY_ID.fullmatch(value) is not None


@dataclass(frozen=True, slots=True)
class MemorySource:
    """Where a memory was found: a recording, and the second into it."""

    recording: str
    time: float

    def to_json(self) -> dict[str, Any]:
        return {"recording": self.recording, "time": self.time}


@dataclass(frozen=True, slots=True)
class NewMemory:
    """`POST api/sharedterm/memories {"text", "target"?, "source"?}`, checked."""

    text: str
    target: str | None = None
    source: MemorySource | None = None


@dataclass(frozen=True, slots=True)
class Memory:
    """A saved memory. `author` is the Jupyter user name of the person who saved it."""

    id: MemoryId
    text: str
    target: str | None
    source: MemorySource | None
    author: str
    created: float  # seconds since the epoch

    def to_json(self) -> dict[str, Any]:
        """The wire form: `{"id", "text", "target", "source", "author", "created"}`."""
        return {
            "id": self.id,
            "text": self.text,
            "target": self.target,
            "source": None if self.source is None else self.source.to_json(),
            "author": self.author,
            "created": self.created,
        }


@dataclass(frozen=True, slots=True)
class MemoryQuery:
    """`GET api/sharedterm/memories?q=TEXT&target=HOST`: words to find, and/or a target."""

    text: str | None = None
    target: str | None = None


def parse_new_memory(body: dict[str, Any], *, max_text_chars: int) -> NewMemory:
    """Check a POST body. The recording named in `source` is checked by the caller, which
    knows who is asking.

    Raises:
        DomainError: INVALID, with a message that names the field and what it must be.
    """
    unknown = sorted(set(body) - _NEW_FIELDS)
    if unknown:
        raise _invalid(f"Unknown field {unknown[0][:32]!r}; allowed: source, target, text.")
    text = body.get("text")
    if not isinstance(text, str) or not _encodable(text):
        raise _invalid('"text" must be the finding, as a string.')
    text = _INVISIBLE.sub("", text.replace("\r\n", "\n").replace("\r", "\n")).strip()
    if not text:
        raise _invalid('"text" must not be empty.')
    if len(text) > max_text_chars:
        raise _invalid(
            f'"text" has {len(text)} characters; a memory may have at most {max_text_chars}.'
        )
    target = body.get("target")
    if target is not None and not is_valid_target(target):
        raise _invalid(_TARGET_USAGE)
    return NewMemory(text, target, _source(body.get("source")))


def parse_query(text: str | None, target: str | None) -> MemoryQuery:
    """Check the query parameters. Any text is accepted (the store makes plain words of it).

    Raises:
        DomainError: INVALID for a query that is too long or a target that is not one.
    """
    if text is not None:
        if len(text) > MAX_QUERY_CHARS or not _encodable(text):
            raise _invalid(f'"q" must be text of at most {MAX_QUERY_CHARS} characters.')
        text = text.strip() or None
    if target is not None and not is_valid_target(target):
        raise _invalid(_TARGET_USAGE)
    return MemoryQuery(text, target)


def _source(value: Any) -> MemorySource | None:
    if value is None:
        return None
    usage = '"source" must be {"recording": RECORDING_ID, "time": SECONDS_INTO_IT} or null.'
    if not isinstance(value, dict) or set(value) != _SOURCE_FIELDS:
        raise _invalid(usage)
    if not is_valid_recording_id(value["recording"]):
        raise _invalid('"source.recording" must be the id of a recording you may open.')
    time = value["time"]
    if (
        isinstance(time, bool)
        or not isinstance(time, (int, float))
        or not math.isfinite(time)
        or time < 0
    ):
        raise _invalid('"source.time" must be a number of seconds >= 0 into the recording.')
    return MemorySource(value["recording"], float(time))


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate, which JSON can carry
        return False
    return True


def _invalid(message: str) -> DomainError:
    return DomainError(ErrorCode.INVALID, message)
