"""`jupyter sharedterm copilot FILE.cast [--lines N] [--json]`: the offline analyst on a file.

`jupyter sharedterm ...` runs the `jupyter-sharedterm` console script (Jupyter's subcommand
convention), whose entry point is `main` here.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from ..recording.asciicast import CastFormatError, read_cast
from . import DEFAULT_LINES, analyze

__all__ = ["main"]


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number of lines, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jupyter sharedterm", description="Shared terminal tools that work on files."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    copilot = commands.add_parser(
        "copilot",
        help="analyse a recording: summary, state changes, handoff note, procedure draft",
        description="Analyse an asciicast v2 recording offline (no AI provider is called).",
    )
    copilot.add_argument("file", type=Path, metavar="FILE.cast", help="an asciicast v2 recording")
    copilot.add_argument(
        "--lines",
        type=_positive,
        default=DEFAULT_LINES,
        metavar="N",
        help=f"the summary covers the last N lines (default {DEFAULT_LINES})",
    )
    copilot.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def _text(result: dict[str, object]) -> str:
    commands = result["commands"]
    assert isinstance(commands, list)
    lines = ["Commands:"]
    for c in commands:
        mark = {"changes": "*", "read-only": " ", "unknown": "?"}[c["verdict"]]
        lines.append(f"  {mark} {c['time']:9.3f}s  {c['text'].splitlines()[0]}   [{c['rule']}]")
    handoff, procedure = result["handoff"], result["procedure"]
    assert isinstance(handoff, dict) and isinstance(procedure, dict)
    lines += [
        "",
        "Summary:",
        f"  {result['summary']}",
        "",
        "Handoff note:",
        handoff["text"],
        "",
        "Procedure draft:",
        procedure["text"],
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status (2 for a bad file or bad arguments)."""
    args = _parser().parse_args(argv)
    try:
        data = args.file.read_bytes()
    except OSError as exc:
        print(
            f"jupyter sharedterm copilot: cannot read {args.file}: {exc.strerror}", file=sys.stderr
        )
        return 2
    try:
        cast = read_cast(data)
    except CastFormatError as exc:
        print(
            f"jupyter sharedterm copilot: {args.file} is not a readable recording: {exc}",
            file=sys.stderr,
        )
        return 2
    result = analyze(cast, args.lines)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=1))
    else:
        print(_text(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
