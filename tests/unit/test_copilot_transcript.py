"""Segmenting recordings into submitted commands: at every chunk split, the same commands."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from jupyter_sharedterm.copilot.transcript import Transcript, segment
from jupyter_sharedterm.recording.asciicast import Event

ON, OFF = "\x1b[?2004h", "\x1b[?2004l\r"  # bash's line editor reading / handing over a line
PS1 = "ops@web1:~/app$ "


def _events(chunks: list[str]) -> list[Event]:
    return [Event(0.5 * i, "o", data) for i, data in enumerate(chunks)]


def _summary(t: Transcript) -> list[tuple[str, list[str], int | None, list[str]]]:
    return [(c.text, [o.text for o in c.output], c.exit_status, c.wrote_files) for c in t.commands]


def _every_split(chunks: list[str], check: Callable[[Transcript], None]) -> None:
    """Cut each chunk in two at every position; the segmentation must not change."""
    check(segment(_events(chunks), 80, 24))
    for index, chunk in enumerate(chunks):
        for cut in range(1, len(chunk)):
            split = [*chunks[:index], chunk[:cut], chunk[cut:], *chunks[index + 1 :]]
            check(segment(_events(split), 80, 24))


# A bash session with readline: a typo fixed by backspace and a cursor move, output, a Ctrl-C'd
# line, a here-document, and the next prompt.
EDITED = [
    ON + PS1,
    "e",
    "c",
    "h",
    "o",
    " ",
    "h",
    "e",
    "o",  # "echo heo"
    "\b",
    "\x1b[1@l",
    "\x1b[C",  # left, insert "l" before "o", right: "echo helo"
    "\b\x1b[K",
    "l",
    "o",  # backspace, then "lo": "echo hello"
    "\r\n" + OFF + "hello\r\n" + ON + PS1,
    "rm -rf /tmp/x",
    "^C\r\n" + ON + PS1,
    "cat > f.txt <<EOF",
    "\r\n" + OFF + ON + "> ",
    "a=1",
    "\r\n" + OFF + ON + "> ",
    "EOF",
    "\r\n" + OFF + ON + PS1,
]


def test_line_editing_gives_the_submitted_line_at_every_split() -> None:
    def check(t: Transcript) -> None:
        assert _summary(t) == [
            ("echo hello", ["hello"], None, []),
            ("cat > f.txt <<EOF\na=1\nEOF", [], None, []),
        ]
        assert t.final_prompt is not None and t.final_prompt.target == "ops@web1"

    _every_split(EDITED, check)


def test_bracketed_paste_of_two_lines_is_one_submission() -> None:
    # What bash 5.2 draws for a pasted two-line block (highlighted), then on Enter (redrawn
    # plain from the start of the input), as in bench/copilot_corpus/bash_editing.cast.
    chunks = [
        ON + PS1,
        "\x1b[7mecho one\x1b[27m\r\n\r\x1b[7mecho two\x1b[27m",
        "\x1b[A\r\x1b[16Cecho one\r\n\recho two\r\n" + OFF + "one\r\ntwo\r\n" + ON + PS1,
    ]

    def check(t: Transcript) -> None:
        assert _summary(t) == [("echo one\necho two", ["one", "two"], None, [])]

    _every_split(chunks, check)


def test_osc_133_marks_give_commands_and_exit_statuses_at_every_split() -> None:
    a, b = "\x1b]133;A\x07", "\x1b]133;B\x07"
    chunks = [
        a + "ops@web1:~$ " + b,
        "false",
        "\r\n\x1b]133;C\x07",
        "\x1b]133;D;1\x07" + a + "ops@web1:~$ " + b,
        "ls nope",
        "\r\n\x1b]133;C\x07ls: cannot access 'nope': No such file or directory\r\n",
        "\x1b]133;D;2\x07" + a + "ops@web1:~$ " + b,
    ]

    def check(t: Transcript) -> None:
        assert _summary(t) == [
            ("false", [], 1, []),
            ("ls nope", ["ls: cannot access 'nope': No such file or directory"], 2, []),
        ]

    _every_split(chunks, check)


def test_an_editor_writing_a_file_is_noted_and_its_screen_is_not_commands() -> None:
    chunks = [
        ON + PS1,
        "vim notes.txt",
        "\r\n" + OFF,
        "\x1b[?1049h\x1b[H\x1b[2Jops@web1:~$ looks like a prompt\r\n~\r\n~",
        '\x1b[24;1H"notes.txt" 3L, 42B written',
        "\x1b[?1049l" + ON + PS1,
    ]

    def check(t: Transcript) -> None:
        assert _summary(t) == [("vim notes.txt", [], None, ["notes.txt"])]

    _every_split(chunks, check)


def test_device_prompts_without_any_marks() -> None:
    chunks = [
        "core-sw1#",
        *"configure terminal",
        "\r\nEnter configuration commands, one per line.  End with CNTL/Z.\r\ncore-sw1(config)#",
        *"hostname x",
        "\r\n",
        "x(config)#",
    ]

    def check(t: Transcript) -> None:
        assert [(c.text, c.privilege, c.target) for c in t.commands] == [
            ("configure terminal", "privileged", "core-sw1"),
            ("hostname x", "config", "core-sw1"),
        ]

    _every_split(chunks, check)


def test_a_bare_hash_in_output_is_not_a_prompt_once_a_named_prompt_was_seen() -> None:
    chunks = [
        ON + PS1,
        "cat /etc/fstab",
        "\r\n" + OFF + "# /etc/fstab: static\r\n# <file system>\r\n" + ON + PS1,
    ]
    t = segment(_events(chunks), 80, 24)
    assert _summary(t) == [
        ("cat /etc/fstab", ["# /etc/fstab: static", "# <file system>"], None, [])
    ]


@pytest.mark.parametrize("lines", [5, 300])
def test_plain_output_lines_are_the_same_whether_or_not_the_emulator_draws_them(
    lines: int,
) -> None:
    body = "".join(f"line {i} path=/var/log/x{i}\r\n" for i in range(lines))
    chunks = [
        ON + PS1,
        "cat log",
        "\r\n" + OFF + body[: len(body) // 2],
        body[len(body) // 2 :] + ON + PS1,
    ]
    expected = [f"line {i} path=/var/log/x{i}" for i in range(lines)]

    def check(t: Transcript) -> None:
        assert [o.text for o in t.commands[0].output] == expected[:60] + (
            expected[-60:] if lines > 120 else expected[60:]
        )
        assert t.commands[0].output_count == lines

    check(segment(_events(chunks), 80, 24))
    for cut in range(0, len(chunks[2]), 7):
        split = [*chunks[:2], chunks[2][:cut], chunks[2][cut:], chunks[3]]
        check(segment(_events(split), 80, 24))


def test_a_wrapped_command_line_is_read_whole() -> None:
    long = "echo " + "x" * 150
    t = segment(_events([ON + PS1, long, "\r\n" + OFF + "x" * 150 + "\r\n" + ON + PS1]), 80, 24)
    assert [c.text for c in t.commands] == [long]
