"""Copilot: an offline, deterministic analyst of a terminal session (issue 15).

`analyze()` turns a recording into the four answers people ask for in a shared session: a
summary of the last N lines, the commands that changed state, a handoff note and a procedure
draft. Pure: no I/O framework, no network; every text it returns has passed the redactor.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..recording.asciicast import Cast, Event
from .prompts import Prompt, match_prompt
from .redact import StreamRedactor, redact
from .report import Analysis, analyze_transcript, to_json
from .rules import Verdict, classify
from .transcript import Command, Transcript, segment

__all__ = [
    "ACTIONS",
    "DEFAULT_LINES",
    "Analysis",
    "Command",
    "Prompt",
    "StreamRedactor",
    "Transcript",
    "Verdict",
    "analyze",
    "analyze_events",
    "classify",
    "match_prompt",
    "redact",
    "segment",
]

ACTIONS = ("summary", "changes", "handoff", "procedure")
DEFAULT_LINES = 200


def analyze_events(events: Iterable[Event], width: int, height: int) -> Analysis:
    """Segment and classify a stream of recording events."""
    return analyze_transcript(segment(events, width, height))


def analyze(cast: Cast, lines: int = DEFAULT_LINES) -> dict[str, Any]:
    """Every answer for a recording, as the CLI's `--json` object (see CONTRACT.md "Copilot").

    Args:
        cast: the parsed recording.
        lines: how many of the last lines the summary covers (>= 1).

    Raises:
        ValueError: `lines` is not a positive integer.
    """
    if isinstance(lines, bool) or not isinstance(lines, int) or lines < 1:
        raise ValueError(f"lines must be a positive integer, got {lines!r}")
    return to_json(analyze_events(cast.events, cast.width, cast.height), lines)
