"""The asciicast v2 file format: encode headers and events, read even cut-off files, validate."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

__all__ = [
    "CAST_VERSION",
    "EVENT_CODES",
    "Cast",
    "CastFormatError",
    "CastTruncatedError",
    "CastWriter",
    "Event",
    "encode_event",
    "encode_header",
    "read_cast",
    "validate",
]

CAST_VERSION = 2
# o output, i input, m marker, r resize ("COLSxROWS"); the spec leaves the list open.
EVENT_CODES = frozenset({"o", "i", "m", "r"})
# Microseconds: what asciinema itself writes; finer digits only bloat the file.
TIME_DECIMALS = 6

_STANDARD_HEADER_KEYS = frozenset(
    {
        "version",
        "width",
        "height",
        "timestamp",
        "duration",
        "idle_time_limit",
        "command",
        "title",
        "env",
        "theme",
    }
)
_RESIZE_RE = re.compile(r"[1-9][0-9]{0,4}x[1-9][0-9]{0,4}")
_THEME_COLOR_RE = re.compile(r"#[0-9a-fA-F]{6}")


class CastFormatError(ValueError):
    """The data is not a readable asciicast v2 file; the message says where and why.

    Attributes:
        line: 1-based line number of the problem (1 is the header).
        offset: byte offset where that line starts; every byte before it was readable.
    """

    def __init__(self, message: str, *, line: int, offset: int) -> None:
        super().__init__(f"line {line} (byte {offset}): {message}")
        self.line = line
        self.offset = offset


class CastTruncatedError(CastFormatError):
    """The data ends before the header line is complete (an empty file, or one cut mid-header)."""


class Event(NamedTuple):
    """One `[time, code, data]` line: seconds since the start, event code, text."""

    time: float
    code: str
    data: str


@dataclass(frozen=True)
class Cast:
    """A parsed recording.

    Attributes:
        header: the header object as found (unknown keys kept).
        events: every complete event, in file order.
        truncated: the data ended inside a line (a partial last line was dropped, or the last
            line lacked its newline): the file was cut off mid-write.
        end: byte offset just past the last line that was read; anything after it was dropped.
    """

    header: dict[str, Any]
    events: list[Event]
    truncated: bool
    end: int

    @property
    def width(self) -> int:
        """Initial terminal columns."""
        return int(self.header["width"])

    @property
    def height(self) -> int:
        """Initial terminal rows."""
        return int(self.header["height"])

    def output(self) -> str:
        """All `o` data concatenated: what a player writes to the terminal."""
        return "".join(e.data for e in self.events if e.code == "o")


class _Sink(Protocol):
    def write(self, data: bytes, /) -> object: ...


def _utf8(text: str) -> bytes:
    """Encode to UTF-8 so the file is always valid: lone surrogates become U+FFFD.

    Text decoded from a browser's JSON can carry an unpaired surrogate (`"\\ud800"`) that UTF-8
    cannot represent; a surrogate pair split into two code points is joined back.
    """
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        repaired = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
        return repaired.encode("utf-8")


def _format_time(seconds: float) -> str:
    # Fixed notation: json.dumps would write 1e-06, legal JSON but odd for a time column.
    return f"{seconds:.{TIME_DECIMALS}f}"


def encode_header(
    *,
    width: int,
    height: int,
    timestamp: int | None = None,
    title: str | None = None,
    env: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> bytes:
    """Encode an asciicast v2 header line (with its newline).

    Args:
        width: initial columns (>= 1).
        height: initial rows (>= 1).
        timestamp: Unix time of the start, whole seconds.
        title: shown by players.
        env: captured environment, e.g. `{"TERM": ..., "SHELL": ...}`.
        extra: extension keys (players ignore unknown keys); may not shadow a standard key.

    Raises:
        ValueError: a size is not a positive int, or `extra` shadows a standard key.
    """
    for name, value in (("width", width), ("height", height)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    header: dict[str, Any] = {"version": CAST_VERSION, "width": width, "height": height}
    if timestamp is not None:
        header["timestamp"] = int(timestamp)
    if title is not None:
        header["title"] = title
    if env is not None:
        header["env"] = dict(env)
    for key, value in (extra or {}).items():
        if key in _STANDARD_HEADER_KEYS:
            raise ValueError(f"extension key {key!r} would shadow a standard asciicast header key")
        header[key] = value
    return _utf8(json.dumps(header, ensure_ascii=False)) + b"\n"


def encode_event(time: float, code: str, data: str) -> bytes:
    """Encode one `[time, code, data]` event line (with its newline).

    Raises:
        ValueError: `time` is negative or not finite, or `code` is not a known event code.
    """
    if not math.isfinite(time) or time < 0:
        raise ValueError(f"event time must be a finite number >= 0, got {time!r}")
    if code not in EVENT_CODES:
        raise ValueError(f"unknown event code {code!r}; expected one of {sorted(EVENT_CODES)}")
    line = f"[{_format_time(time)}, {json.dumps(code)}, {json.dumps(data, ensure_ascii=False)}]\n"
    return _utf8(line)


class CastWriter:
    """Writes one asciicast v2 stream to a binary sink: the header at once, then one line per event.

    Times are seconds since the start, supplied by the caller; they are rounded to microseconds
    and never go backwards (a late or equal time is written as the previous one), so players see
    a monotonic stream. Input (`i`) events are refused unless `capture_input` is set, because
    typed input carries passwords.
    """

    def __init__(
        self,
        sink: _Sink,
        *,
        width: int,
        height: int,
        timestamp: int | None = None,
        title: str | None = None,
        env: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
        capture_input: bool = False,
    ) -> None:
        """Write the header line to `sink`.

        Raises:
            ValueError: see `encode_header`.
        """
        self._sink = sink
        self._last_time = 0.0
        self.capture_input = capture_input
        sink.write(
            encode_header(
                width=width, height=height, timestamp=timestamp, title=title, env=env, extra=extra
            )
        )

    @property
    def last_time(self) -> float:
        """Time of the last event written (0.0 before any)."""
        return self._last_time

    def event(self, time: float, code: str, data: str) -> float:
        """Write one event and return the time actually written.

        Raises:
            ValueError: bad time or code, or an `i` event while input capture is off.
        """
        if code == "i" and not self.capture_input:
            raise ValueError("input capture is off for this recording; 'i' events are refused")
        if not math.isfinite(time):
            raise ValueError(f"event time must be finite, got {time!r}")
        written = max(round(max(time, 0.0), TIME_DECIMALS), self._last_time)
        self._sink.write(encode_event(written, code, data))
        self._last_time = written
        return written

    def output(self, time: float, text: str) -> float:
        """Terminal output (`o`)."""
        return self.event(time, "o", text)

    def input(self, time: float, text: str) -> float:
        """Typed input (`i`); refused unless `capture_input`."""
        return self.event(time, "i", text)

    def resize(self, time: float, rows: int, cols: int) -> float:
        """Terminal size change (`r`, data `"COLSxROWS"`)."""
        if rows < 1 or cols < 1:
            raise ValueError(f"terminal size must be positive, got {rows} rows x {cols} cols")
        return self.event(time, "r", f"{cols}x{rows}")

    def marker(self, time: float, label: str) -> float:
        """A marker (`m`) with a label players can show or jump to."""
        return self.event(time, "m", label)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _loads(text: str) -> Any:
    # json accepts NaN/Infinity by default; the format (and browsers' JSON.parse) does not.
    return json.loads(text, parse_constant=_reject_constant)


def _describe(value: Any) -> str:
    kind = type(value).__name__
    return {"dict": "a JSON object", "list": "a JSON array", "str": "a string"}.get(
        kind, f"a {kind}"
    )


def _check_header(header: Any, offset: int) -> dict[str, Any]:
    if not isinstance(header, dict):
        raise CastFormatError(
            "not an asciicast file: the first line must be a JSON object header, "
            f"found {_describe(header)}",
            line=1,
            offset=offset,
        )
    version = header.get("version")
    if version != CAST_VERSION or isinstance(version, bool):
        raise CastFormatError(
            f"unsupported asciicast version {version!r}: only version 2 files can be read "
            "(convert older recordings with `asciinema` first)",
            line=1,
            offset=offset,
        )
    for key in ("width", "height"):
        value = header.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise CastFormatError(
                f'header field "{key}" must be a positive integer, found {value!r}',
                line=1,
                offset=offset,
            )
    return header


def _check_event(value: Any, line: int, offset: int) -> Event:
    if not isinstance(value, list) or len(value) != 3:
        raise CastFormatError(
            f"an event must be a JSON array [time, code, data], found {_describe(value)}"
            + (f" of length {len(value)}" if isinstance(value, list) else ""),
            line=line,
            offset=offset,
        )
    time, code, data = value
    if (
        isinstance(time, bool)
        or not isinstance(time, (int, float))
        or not math.isfinite(time)
        or time < 0
    ):
        raise CastFormatError(
            f"event time must be a number of seconds >= 0, found {time!r}", line=line, offset=offset
        )
    if not isinstance(code, str) or not code:
        raise CastFormatError(
            f"event code must be a non-empty string, found {code!r}", line=line, offset=offset
        )
    if not isinstance(data, str):
        raise CastFormatError(
            f"event data must be a string, found {_describe(data)}", line=line, offset=offset
        )
    return Event(float(time), code, data)


def read_cast(data: bytes | str) -> Cast:
    """Parse an asciicast v2 file, recovering every complete event of a file cut off mid-write.

    Lines are split on `\\n` only (U+2028 and friends are legal inside JSON strings). A final line
    without its newline is kept if it parses as a whole event, and dropped (with `truncated` set)
    if it is incomplete JSON or ends inside a UTF-8 sequence. Any complete line that is not valid
    UTF-8 JSON of the right shape is garbage and rejected.

    Raises:
        CastTruncatedError: the data ends before the header line is complete.
        CastFormatError: the data is not asciicast v2 (message names the line and the fix).
    """
    if isinstance(data, str):
        try:
            data = data.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise CastFormatError(
                f"text has an unpaired surrogate at index {exc.start}; pass the raw file bytes",
                line=1,
                offset=0,
            ) from exc
    if not data:
        raise CastTruncatedError(
            "the file is empty: no asciicast header was written", line=1, offset=0
        )

    header: dict[str, Any] | None = None
    events: list[Event] = []
    offset = 0
    line_no = 0
    size = len(data)
    while offset < size:
        line_no += 1
        newline = data.find(b"\n", offset)
        terminated = newline != -1
        stop = newline if terminated else size
        raw = data[offset:stop]
        try:
            value = _loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            if terminated:
                reason = (
                    "not valid UTF-8"
                    if isinstance(exc, UnicodeDecodeError)
                    else f"invalid JSON ({exc})"
                )
                if header is None:
                    message = (
                        f"not an asciicast file: the first line is not a JSON header ({reason})"
                    )
                else:
                    message = (
                        f"event line is {reason}; the file is corrupt from here "
                        f"(everything before byte {offset} is readable)"
                    )
                raise CastFormatError(message, line=line_no, offset=offset) from exc
            # An unterminated last line: cut off mid-write if it starts like one of ours.
            first = raw.lstrip()[:1]
            if header is None:
                if first == b"{":
                    raise CastTruncatedError(
                        f"the file ends inside its header line after {len(raw)} bytes; "
                        "it was cut off before any event was written",
                        line=line_no,
                        offset=offset,
                    ) from exc
                raise CastFormatError(
                    "not an asciicast file: the first line is not a JSON header object",
                    line=1,
                    offset=0,
                ) from exc
            if first not in (b"[", b""):
                raise CastFormatError(
                    "trailing data is neither an event nor the start of one",
                    line=line_no,
                    offset=offset,
                ) from exc
            return Cast(header, events, truncated=True, end=offset)
        if header is None:
            header = _check_header(value, offset)
        else:
            events.append(_check_event(value, line_no, offset))
        offset = stop + 1 if terminated else stop
        if not terminated:
            return Cast(header, events, truncated=True, end=offset)
    assert header is not None  # data is non-empty, so the loop ran and set it or raised
    return Cast(header, events, truncated=False, end=offset)


_HeaderCheck = Callable[[Any], bool]


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


_OPTIONAL_HEADER: dict[str, tuple[_HeaderCheck, str]] = {
    "timestamp": (_is_int, "an integer Unix time"),
    "duration": (lambda v: _is_number(v) and v >= 0, "a number of seconds >= 0"),
    "idle_time_limit": (lambda v: _is_number(v) and v > 0, "a number of seconds > 0"),
    "command": (lambda v: isinstance(v, str), "a string"),
    "title": (lambda v: isinstance(v, str), "a string"),
    "env": (
        lambda v: (
            isinstance(v, dict)
            and all(isinstance(k, str) and isinstance(x, str) for k, x in v.items())
        ),
        "an object of string values",
    ),
}


def _theme_problems(theme: Any) -> list[str]:
    if not isinstance(theme, dict):
        return ['header "theme" must be an object']
    problems = [
        f'header "theme.{key}" must be a "#rrggbb" color'
        for key in ("fg", "bg")
        if not (isinstance(theme.get(key), str) and _THEME_COLOR_RE.fullmatch(theme[key]))
    ]
    palette = theme.get("palette")
    colors = palette.split(":") if isinstance(palette, str) else []
    if len(colors) not in (8, 16) or not all(_THEME_COLOR_RE.fullmatch(c) for c in colors):
        problems.append('header "theme.palette" must be 8 or 16 "#rrggbb" colors joined by ":"')
    return problems


def validate(cast: Cast | bytes | str, *, allow_unknown_codes: bool = False) -> list[str]:
    """Check a recording against the asciicast v2 specification.

    Args:
        cast: a parsed `Cast`, or raw file data (parsed first; a cut-off file is a problem).
        allow_unknown_codes: accept event codes beyond o/i/m/r (the spec lets players skip them).

    Returns:
        Human-readable problems; an empty list means the recording is valid.
    """
    if not isinstance(cast, Cast):
        try:
            cast = read_cast(cast)
        except CastFormatError as exc:
            return [str(exc)]
        if cast.truncated:
            return [f"the file ends mid-line at byte {cast.end}: it was cut off mid-write"]
    problems: list[str] = []
    header = cast.header
    if header.get("version") != CAST_VERSION or isinstance(header.get("version"), bool):
        problems.append('header "version" must be the integer 2')
    for key in ("width", "height"):
        value = header.get(key)
        if not (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
            problems.append(f'header "{key}" must be a positive integer')
    for key, (check, wanted) in _OPTIONAL_HEADER.items():
        if key in header and not check(header[key]):
            problems.append(f'header "{key}" must be {wanted}, found {header[key]!r}')
    if "theme" in header:
        problems.extend(_theme_problems(header["theme"]))

    previous = 0.0
    for index, event in enumerate(cast.events, start=2):
        where = f"event on line {index}"
        if not math.isfinite(event.time) or event.time < 0:
            problems.append(f"{where}: time must be a finite number >= 0")
        elif event.time < previous:
            problems.append(f"{where}: time {event.time} goes back from {previous}")
        else:
            previous = event.time
        if event.code not in EVENT_CODES and not allow_unknown_codes:
            problems.append(f"{where}: unknown event code {event.code!r}")
        if event.code == "r" and not _RESIZE_RE.fullmatch(event.data):
            problems.append(f'{where}: resize data must be "COLSxROWS", found {event.data!r}')
    return problems
