"""Prompt detection: which shell or device prompt starts a screen line, and what follows it.

Shared by Copilot (segmenting a session into commands) and the handoff ("knowing the next
prompt"). Pure functions over one line of screen text; no terminal state.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

__all__ = ["Dialect", "Prompt", "match_prompt"]

Dialect = Literal["shell", "routeros", "ios", "junos"]

# RouterOS: "[admin@MikroTik] > ", "[admin@MikroTik] /ip/address> " (v6: "ip address> "); in
# Safe Mode "<SAFE>" takes the place of ">": "[admin@MikroTik] /ip/route<SAFE> ".
_ROUTEROS = re.compile(
    r"\[(?P<user>[\w.-]+)@(?P<host>[^\]\s]+)\]\s+(?P<path>/?[\w/ .-]*?)\s*(?:(?P<safe><SAFE>)|>)\s?"
)
# Junos: "user@host> " (operational) or "user@host# " (configuration); the "[edit]" banner
# above it is output. Hostnames may carry ":RE0" style suffixes in dual-RE systems.
_JUNOS = re.compile(r"(?P<user>[\w.-]+)@(?P<host>[\w.:-]+)(?P<sign>[>#])\s")
# Cisco IOS / IOS-XE: "R1>", "R1#", "R1(config)#", "R1(config-if)#".
_IOS = re.compile(r"(?P<host>[A-Za-z][\w.-]{0,62})(?:\((?P<mode>[\w-]+)\))?(?P<sign>[>#])")
# bash/zsh: "user@host:~/dir$ ", "[user@host dir]# ", "(venv) user@host:~$ ", "host% ".
_SHELL_FULL = re.compile(
    r"(?:\([\w. -]+\)\s)?"  # a virtualenv or conda marker
    r"\[?(?P<user>[\w.-]+)@(?P<host>[\w.-]+)(?::|\s+)(?P<cwd>[~/][^\s$#%\]]*|[\w.-]+)\]?"
    r"(?P<sign>[$#%])\s"
)
# PS1='\u@\h\$ ': "ops@web1$ " (a "#" here is Junos unless the session is known to be a shell).
_SHELL_SHORT = re.compile(r"(?P<user>[\w.-]+)@(?P<host>[\w.-]+)(?P<sign>[$#%])\s")
_SHELL_BARE = re.compile(r"(?P<sign>[$#%])\s")


@dataclass(frozen=True)
class Prompt:
    """A prompt found at the start of a line.

    Attributes:
        dialect: the system whose prompt it is.
        text: the prompt itself, as shown.
        command: what follows the prompt on the line (what was typed).
        target: the host (with user where shown) the prompt belongs to.
        privilege: shell "root"/"user"; IOS "user-exec"/"privileged"/"config"/"config-if"...;
            Junos "operational"/"configuration"; RouterOS "user" or "safe-mode".
        menu: RouterOS menu path ("/ip/address"), "" elsewhere.
        strong: the prompt names its host; a bare `$ `/`# ` could be any output line.
    """

    dialect: Dialect
    text: str
    command: str
    target: str
    privilege: str
    menu: str = ""
    strong: bool = True


def _shell_privilege(user: str, sign: str) -> str:
    return "root" if sign == "#" or user == "root" else "user"


def match_prompt(line: str, prefer: Dialect | None = None) -> Prompt | None:
    """Find the prompt a screen line starts with.

    Args:
        line: one logical screen line (trailing blanks may be present).
        prefer: the dialect seen last on this session; it breaks the one real ambiguity,
            `user@host# ` (a Junos configuration prompt, or a root shell without a path).

    Returns:
        The prompt and the text after it, or None when the line does not start with a prompt.
    """
    line = line.rstrip()
    m = _ROUTEROS.match(line)
    if m:
        path = (m["path"] or "").strip()
        return Prompt(
            "routeros",
            line[: m.end()],
            line[m.end() :].strip(),
            f"{m['user']}@{m['host']}",
            "safe-mode" if m["safe"] else "user",
            menu=path,
        )
    m = _SHELL_FULL.match(line)
    if m and (":" in line[: m.end()] or line.startswith(("[", "("))):
        return Prompt(
            "shell",
            line[: m.end()],
            line[m.end() :].strip(),
            f"{m['user']}@{m['host']}",
            _shell_privilege(m["user"], m["sign"]),
        )
    m = _JUNOS.match(line + " ")
    if m and not (m["sign"] == "#" and prefer == "shell"):
        end = min(m.end(), len(line))
        return Prompt(
            "junos",
            line[:end],
            line[end:].strip(),
            f"{m['user']}@{m['host']}",
            "configuration" if m["sign"] == "#" else "operational",
        )
    m = _SHELL_FULL.match(line + " ") or _SHELL_SHORT.match(line + " ")
    if m:
        end = min(m.end(), len(line))
        return Prompt(
            "shell",
            line[:end],
            line[end:].strip(),
            f"{m['user']}@{m['host']}",
            _shell_privilege(m["user"], m["sign"]),
        )
    m = _IOS.match(line)
    if m and (m["mode"] or prefer == "ios" or _looks_like_ios_command(line[m.end() :])):
        mode = m["mode"]
        if mode:
            privilege = mode if mode.startswith("config") else f"config-{mode}"
        else:
            privilege = "privileged" if m["sign"] == "#" else "user-exec"
        return Prompt("ios", line[: m.end()], line[m.end() :].strip(), m["host"], privilege)
    m = _SHELL_BARE.match(line + " ")
    if m:
        end = min(m.end(), len(line))
        return Prompt(
            "shell",
            line[:end],
            line[end:].strip(),
            "",
            "root" if m["sign"] == "#" else "user",
            strong=False,
        )
    return None


# IOS exec commands (and their usual abbreviations): "R1#" alone is also a plausible word in
# output, so without a mode or a session already known to be IOS, the command must look like one.
_IOS_WORDS = re.compile(
    r"(?:$|(?:sh(?:ow?)?|conf(?:ig(?:ure)?)?|en(?:able)?|disable|wr(?:ite)?|copy|reload|ping|"
    r"traceroute|term(?:inal)?|exit|end|clear|debug|undebug|no|dir|more|verify|telnet|ssh|"
    r"do|interface|int|router|ip|hostname|username)\b)"
)


def _looks_like_ios_command(rest: str) -> bool:
    return bool(_IOS_WORDS.match(rest.strip()))
