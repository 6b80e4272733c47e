"""Segment a recording into the commands the operator submitted and the output each one printed.

The output stream is replayed through the product's terminal emulator, so a command is read
the way the screen showed it when Enter was pressed: after backspaces, cursor moves, history
recall, tab completion and paste. Commands are found by shell-integration marks (OSC 133) when
the shell emits them, otherwise by prompt detection (`prompts.match_prompt`). Full-screen
programs (pagers, editors) draw on the alternate screen, which is never read as commands.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

from ..recording.asciicast import Event
from ..screen.emulator import TerminalScreen
from .prompts import Dialect, Prompt, match_prompt

__all__ = ["KEPT_OUTPUT_LINES", "Command", "OutputLine", "Transcript", "segment"]

# Output lines kept per command at each end: errors come first, results last.
KEPT_OUTPUT_LINES = 60
# An editor's status line after a write: vim `"notes.txt" 3L, 42B written`, nano
# `[ Wrote 3 lines ]`.
_WROTE_FILE = re.compile(r'"(?P<file>[^"]+)".*\bwritten\b|\[ Wrote \d+ lines? \]')
# A line the shell echoes when a typed line is abandoned (Ctrl-C) rather than submitted.
_ABANDONED = re.compile(r"\^C$")
# Continuation prompts: bash PS2 "> ", Junos/IOS never continue a line.
_CONTINUATION = re.compile(r"^> ?")
_HEREDOC = re.compile(r"<<-?\s*['\"]?(?P<word>[\w.-]+)['\"]?")


@dataclass
class OutputLine:
    """A line a command printed, with the recording time it was completed at."""

    time: float
    text: str


@dataclass
class Command:
    """One submitted command.

    Attributes:
        time: recording time (seconds) when it was submitted.
        text: the command line as finally submitted (continuation lines joined with newlines).
        prompt: the prompt it was typed at (None for OSC 133 sessions without a readable one).
        dialect: the system that ran it.
        target: host (with user where the prompt shows it).
        privilege: see `Prompt.privilege`.
        menu: RouterOS menu path at the prompt.
        output: the lines it printed, in order: the first and last `KEPT_OUTPUT_LINES` of them
            when it printed more (a long session's memory stays bounded).
        output_count: how many lines it printed in all.
        exit_status: from an OSC 133 D mark, when the shell sends one.
        wrote_files: files a full-screen editor reported writing while it ran.
        end_time: when its output ended (the next prompt), or None while it runs.
    """

    time: float
    text: str
    prompt: str | None
    dialect: Dialect
    target: str
    privilege: str
    menu: str = ""
    output: list[OutputLine] = field(default_factory=list)
    output_count: int = 0
    exit_status: int | None = None
    wrote_files: list[str] = field(default_factory=list)
    end_time: float | None = None


@dataclass
class Transcript:
    """A segmented session: its commands and the prompt it was left at.

    Attributes:
        commands: every submitted command, in order.
        final_prompt: the prompt on the cursor's line at the end (None if not at a prompt).
        duration: time of the last event.
        preamble: output before the first command (login banners).
    """

    commands: list[Command]
    final_prompt: Prompt | None
    duration: float
    preamble: list[OutputLine]


class _Line(NamedTuple):
    """A screen line a line feed completed."""

    time: float
    text: str
    typed: bool  # drawn over several output events (someone typed it)
    prompt: str | None  # the text before an OSC 133 B mark on this line, if one was there
    reading_input: bool  # bracketed paste was on: the shell's line editor was reading


_ALT_SCREEN_MODES = frozenset({47, 1047, 1049})
# What ends a run of plain lines: any control but CR and LF (which must come as CR LF pairs).
_NOT_PLAIN = re.compile(r"[\x00-\x09\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Lines at the end of a chunk that always go through the emulator.
_EMULATED_TAIL_LINES = 3


class _ReadingScreen(TerminalScreen):
    """The emulator, noting each line as a line feed completes it and each OSC 133 mark."""

    def __init__(self, columns: int, lines: int) -> None:
        self.now = 0.0
        self.event_index = 0
        self.completed: list[_Line] = []
        self.marks: list[tuple[float, str, int]] = []  # (time, mark, index into completed)
        self.command_column: int | None = None  # where OSC 133 B put the cursor
        self.written: list[str] = []  # files an editor reported writing, not yet attributed
        self._wrapped: set[int] = set()  # rows that continue the row above (autowrap)
        self._in_linefeed = False
        self._row_event: int | None = None  # event that first drew on the cursor's row
        super().__init__(columns, lines)

    def draw(self, data: str) -> None:
        if self._row_event is None:
            self._row_event = self.event_index
        super().draw(data)

    def _row_text(self, y: int) -> str:
        line = self.buffer.get(y)
        if not line:
            return ""
        return "".join(line[x].data for x in range(max(line) + 1))

    def linefeed(self) -> None:
        if not self.in_alternate_screen:
            y = self.cursor.y
            start = y
            while start in self._wrapped and start > 0:
                start -= 1
            text = "".join(self._row_text(r).ljust(self.columns) for r in range(start, y))
            text += self._row_text(y)
            prompt = None
            if self.command_column is not None:
                prompt, text = text[: self.command_column], text[self.command_column :]
                self.command_column = None
            typed = self._row_event is not None and self._row_event < self.event_index
            self.completed.append(
                _Line(self.now, text.rstrip(), typed, prompt, 2004 in self._flags)
            )
        self._in_linefeed = True
        try:
            super().linefeed()
        finally:
            self._in_linefeed = False
        self._row_event = None

    def index(self) -> None:
        scrolls = self.cursor.y == self._region()[1]
        super().index()
        if scrolls and self._wrapped:
            self._wrapped = {r - 1 for r in self._wrapped if r > 0}
        if self._in_linefeed:
            self._wrapped.discard(self.cursor.y)
        else:
            self._wrapped.add(self.cursor.y)

    def read(self, data: str) -> None:
        """Feed output; whole lines of plain text in the middle of a chunk skip the emulator.

        Long sessions are mostly output (logs, listings) that only needs splitting into lines;
        drawing it cell by cell is the emulator's main cost. The chunk's first line (it may
        finish a row already on screen) and its last lines (a prompt may follow, and line
        editors move up a row or two) still go through the emulator, as does any chunk with
        escape sequences or lone carriage returns.
        """
        first = data.find("\n")
        if first == -1 or self._drawing_elsewhere():
            self.feed(data)
            return
        stop = _NOT_PLAIN.search(data, first + 1)
        end = len(data) if stop is None else stop.start()
        for _ in range(_EMULATED_TAIL_LINES + 1):
            end = data.rfind("\n", first + 1, end)
            if end == -1:  # too few plain lines to be worth it
                self.feed(data)
                return
        self.feed(data[: first + 1])
        if self._drawing_elsewhere():
            self.feed(data[first + 1 :])  # the first line switched screens or left a sequence open
            return
        plain = data[first + 1 : end + 1]
        if not (plain.count("\n") == plain.count("\r") == plain.count("\r\n")):
            self.feed(data[first + 1 :])  # a bare CR (progress bar) or LF: let the emulator draw
            return
        reading = 2004 in self._flags
        for text in plain[:-2].split("\r\n"):
            self.completed.append(_Line(self.now, text.rstrip(), False, None, reading))
        self._row_event = None
        self.feed(data[end + 1 :])

    def _drawing_elsewhere(self) -> bool:
        """On the alternate screen, or inside an escape sequence: no line splitting here."""
        return self.in_alternate_screen or bool(self._carry) or self._string is not None

    def _set_private_modes(self, modes: Iterable[int], on: bool) -> None:
        modes = list(modes)
        if 2004 in modes and (2004 in self._flags) != on and not self.in_alternate_screen:
            # bash (readline) turns bracketed paste on while it reads a line, off to run it.
            self.marks.append((self.now, "input-on" if on else "input-off", len(self.completed)))
        if not on and self.in_alternate_screen and _ALT_SCREEN_MODES.intersection(modes):
            self.note_written()
        super()._set_private_modes(modes, on)

    def note_written(self) -> None:
        """Note a file a full-screen editor says it wrote (its status line, bottom rows)."""
        for y in range(self.lines - 1, max(self.lines - 3, -1), -1):
            m = _WROTE_FILE.search(self._row_text(y))
            if m:
                name = m["file"] or "(file)"
                if name not in self.written:
                    self.written.append(name)
                return

    def erase_in_display(self, how: int = 0, *args: object, **kwargs: object) -> None:
        if how in (2, 3):
            self._wrapped.clear()
        super().erase_in_display(how, *args, **kwargs)

    def _dispatch_osc(self, payload: str) -> None:
        code, _, value = payload.partition(";")
        if code == "133" and not self.in_alternate_screen:
            mark = value.split(";", 1)
            if mark[0] == "B":
                self.command_column = self.cursor.x
            self.marks.append((self.now, value, len(self.completed)))
            return
        super()._dispatch_osc(payload)

    def cursor_line(self) -> str:
        if self.in_alternate_screen:
            return ""
        y = self.cursor.y
        start = y
        while start in self._wrapped and start > 0:
            start -= 1
        return "".join(self._row_text(r).ljust(self.columns) for r in range(start, y + 1))


class _Segmenter:
    """Turns completed lines (and marks) into commands with their output."""

    def __init__(self) -> None:
        self.commands: list[Command] = []
        self.preamble: list[OutputLine] = []
        self.prefer: Dialect | None = None
        self.marked = False  # the shell sends OSC 133 marks: trust them, not prompt shapes
        self.last_prompt: Prompt | None = None
        self._heredoc: str | None = None
        self._continues = False
        self.line_editor = False  # the shell shows when it reads a line (bracketed paste)
        self.pending: tuple[float, Prompt | None, list[str]] | None = None

    @property
    def current(self) -> Command | None:
        return self.commands[-1] if self.commands else None

    def close(self, time: float) -> None:
        if self.current is not None and self.current.end_time is None:
            self.current.end_time = time

    def prompt_line(self, time: float, prompt: Prompt) -> None:
        self.close(time)
        self.prefer = prompt.dialect
        self.last_prompt = prompt
        self._heredoc = None
        self._continues = False
        text = prompt.command
        if not text or _ABANDONED.search(text):
            return
        self._start(time, text, prompt)

    def _start(self, time: float, text: str, prompt: Prompt | None) -> None:
        p = prompt or self.last_prompt
        self.commands.append(
            Command(
                time,
                text,
                prompt.text if prompt else None,
                p.dialect if p else "shell",
                p.target if p else "",
                p.privilege if p else "",
                menu=p.menu if p else "",
            )
        )
        m = _HEREDOC.search(text)
        self._heredoc = m["word"] if m else None
        self._continues = text.endswith("\\") or _unbalanced(text)

    def marked_command(self, time: float, text: str, prompt_text: str) -> None:
        """A line typed after an OSC 133 B mark: the shell said where the prompt ends."""
        self.close(time)
        text = text.strip()
        prompt = match_prompt(prompt_text + " ", self.prefer)
        if prompt is not None:
            self.prefer = prompt.dialect
            self.last_prompt = prompt
        if text and not _ABANDONED.search(text):
            self._start(time, text, prompt)
            if self.current is not None:
                self.current.prompt = prompt_text.rstrip() or None

    def input_line(self, line: _Line) -> None:
        """A line completed while the shell's line editor was reading (bracketed paste on)."""
        if line.prompt is not None:
            self.close(line.time)
            self.pending = (line.time, match_prompt(line.prompt + " ", self.prefer), [line.text])
            return
        prompt = match_prompt(line.text, self.prefer)
        if prompt is not None:
            self.close(line.time)
            self.pending = (line.time, prompt, [prompt.command])
        elif self.pending is not None:
            self.pending[2].append(_CONTINUATION.sub("", line.text, count=1))
        elif (
            (cmd := self.current) is not None
            and cmd.end_time is None
            and not cmd.output
            and _CONTINUATION.match(line.text)
        ):  # a here-document's body, read by the line editor after the command line
            cmd.text += "\n" + _CONTINUATION.sub("", line.text, count=1)
        else:
            self.other_line(line.time, line.text)

    def submit(self, time: float) -> None:
        """The line editor handed its line to the shell: the pending input is a command."""
        if self.pending is None:
            return
        start, prompt, lines = self.pending
        self.pending = None
        text = "\n".join(lines).strip()
        if prompt is not None:
            self.prefer = prompt.dialect
            self.last_prompt = prompt
        if text and not _ABANDONED.search(text):
            self._start(start, text, prompt)
            self._heredoc = None
            self._continues = False

    def other_line(self, time: float, text: str) -> None:
        cmd = self.current
        if cmd is None or cmd.end_time is not None:
            if text.strip():
                self.preamble.append(OutputLine(time, text))
            return
        if (self._heredoc or self._continues) and not cmd.output:
            m = _CONTINUATION.match(text)
            if m:
                body = text[m.end() :]
                cmd.text += "\n" + body
                if self._heredoc and body.strip() == self._heredoc:
                    self._heredoc = None
                self._continues = body.endswith("\\") or _unbalanced(cmd.text)
                return
        self._heredoc = None
        self._continues = False
        cmd.output_count += 1
        if len(cmd.output) >= 2 * KEPT_OUTPUT_LINES:
            del cmd.output[KEPT_OUTPUT_LINES]  # keep the head, slide the tail
        cmd.output.append(OutputLine(time, text))


def _unbalanced(text: str) -> bool:
    """An open quote at the end of a shell line: bash asks for more with PS2."""
    quote = ""
    escaped = False
    for c in text:
        if escaped:
            escaped = False
        elif c == "\\" and quote != "'":
            escaped = True
        elif quote:
            if c == quote:
                quote = ""
        elif c in "'\"":
            quote = c
    return bool(quote)


def segment(events: Iterable[Event], width: int, height: int) -> Transcript:
    """Replay a recording's events and split it into commands.

    Args:
        events: the recording's events (`o` output, `r` resize; others are ignored).
        width: initial columns.
        height: initial rows.
    """
    screen = _ReadingScreen(width, height)
    seg = _Segmenter()
    done = 0  # completed lines handed to the segmenter
    marks_done = 0
    duration = 0.0

    def drain() -> None:
        nonlocal done, marks_done
        lines, marks = screen.completed, screen.marks
        while done < len(lines) or marks_done < len(marks):
            # Marks and lines interleave: a mark applies before the line with its index.
            if marks_done < len(marks) and marks[marks_done][2] <= done:
                time, value, _ = marks[marks_done]
                marks_done += 1
                if value in ("input-on", "input-off"):
                    seg.line_editor = True
                    if value == "input-off":
                        seg.submit(time)
                    continue
                kind, _, rest = value.partition(";")
                if kind in ("A", "B", "C", "D"):
                    seg.marked = True
                if kind == "D" and seg.current is not None:
                    status = rest.split(";", 1)[0]
                    if status.lstrip("-").isdigit() and seg.current.exit_status is None:
                        seg.current.exit_status = int(status)
                    seg.close(time)
                continue
            line = lines[done]
            time, text, typed, prompt_text, reading = line
            done += 1
            if seg.line_editor:
                if reading:
                    seg.input_line(line)
                else:
                    seg.other_line(time, text)
                continue
            if prompt_text is not None:
                seg.marked_command(time, text, prompt_text)
                continue
            if seg.marked:
                seg.other_line(time, text)
                continue
            prompt = match_prompt(text, seg.prefer)
            # A bare "$ "/"# " is a prompt only if typed over several events and no named
            # prompt was seen before it (otherwise it is output, e.g. a comment in a file).
            if prompt is not None and (
                prompt.strong
                or (
                    (typed or not prompt.command)
                    and not (seg.last_prompt and seg.last_prompt.strong)
                )
            ):
                seg.prompt_line(time, prompt)
                continue
            seg.other_line(time, text)
        if len(lines) > 4096:  # keep memory flat on long sessions
            del lines[:done]
            screen.marks[:] = [(t, v, i - done) for t, v, i in marks[marks_done:]]
            done, marks_done = 0, 0

    for event in events:
        duration = event.time
        if event.code == "o":
            screen.now = event.time
            screen.event_index += 1
            screen.read(event.data)
            if screen.in_alternate_screen and ("written" in event.data or "Wrote" in event.data):
                screen.note_written()
            drain()
            if screen.written and seg.current is not None:
                cmd = seg.current
                cmd.wrote_files.extend(w for w in screen.written if w not in cmd.wrote_files)
                screen.written.clear()
        elif event.code == "r":
            cols, _, rows = event.data.partition("x")
            if cols.isdigit() and rows.isdigit():
                screen.resize(int(rows), int(cols))
    drain()
    final = match_prompt(screen.cursor_line(), seg.prefer)
    return Transcript(seg.commands, final, duration, seg.preamble)
