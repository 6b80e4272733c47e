"""The four Copilot answers, built from a segmented, classified session: summary of the last N
lines, the state-changing commands, a handoff note and a procedure draft.

Every text is redacted (`redact.redact`) and every item carries its recording time, so a person
can jump to the evidence. Nothing here invents an entity: all hosts, files and values quoted come
from the session.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .redact import redact
from .rules import Verdict, classify
from .transcript import Command, OutputLine, Transcript

__all__ = [
    "Analysis",
    "analyze_transcript",
    "changes",
    "command_entries",
    "format_time",
    "handoff",
    "procedure",
    "summary",
    "to_json",
]

SUMMARY_MAX_WORDS = 300
# Output lines worth quoting: errors and values people act on.
_KEY_LINE = re.compile(
    r"\b(?:error|fail(?:ed|ure)?|fatal|denied|refused|timed? ?out|unreachable|not found|"
    r"no such|invalid|warning|down|unable|cannot|can't|critical|panic|exception|"
    r"rolled back|commit complete|configuration check succeeds)\b|^%",
    re.I,
)
# The things a command acts on: files, services, interfaces, menus, addresses.
_OBJECT = re.compile(
    r"(?:[\w.-]*/[\w./-]+|[\w-]+\.(?:service|conf|ini|ya?ml|json|txt|env|cfg|sh|py)\b|"
    r"\b(?:ge|xe|et|Gi|Te|Fa|Eth|ether|wg|eth|ens|lo|vlan|bond)[\w/.:-]*\d\b|"
    r"\b\d{1,3}(?:\.\d{1,3}){3}(?:/\d{1,2})?\b)"
)


def format_time(seconds: float) -> str:
    """`[mm:ss]` (or `[h:mm:ss]`): where in the recording something happened."""
    total = int(seconds)
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    return f"[{h}:{m:02d}:{s:02d}]" if h else f"[{m:02d}:{s:02d}]"


@dataclass
class Analysis:
    """A session's commands with their verdicts, and the prompt it was left at."""

    transcript: Transcript
    verdicts: list[Verdict]

    @property
    def commands(self) -> list[Command]:
        return self.transcript.commands

    def pairs(self) -> list[tuple[Command, Verdict]]:
        return list(zip(self.transcript.commands, self.verdicts, strict=True))


def analyze_transcript(transcript: Transcript) -> Analysis:
    """Classify every command of a segmented session, then redact its text and output.

    Redaction happens here, before any answer is built, because a secret quoted out of its
    context ("the work centres on S3cr3t") no longer looks like one.
    """
    verdicts = [classify(c) for c in transcript.commands]
    for command in transcript.commands:
        _redact_command(command)
    transcript.preamble[:] = _redacted_lines(transcript.preamble)
    return Analysis(transcript, verdicts)


def _redact_command(command: Command) -> None:
    command.text = redact(command.text)
    command.output[:] = _redacted_lines(command.output)


def _redacted_lines(lines: list[OutputLine]) -> list[OutputLine]:
    """Lines redacted together, so a secret spanning lines (a private key) is seen whole."""
    if not lines:
        return lines
    redacted = redact("\n".join(line.text for line in lines)).split("\n")
    return [OutputLine(line.time, text) for line, text in zip(lines, redacted, strict=True)]


def _first_line(text: str) -> str:
    line = text.split("\n", 1)[0]
    return line + (" ..." if "\n" in text else "")


def _error_line(command: Command) -> str | None:
    for line in command.output:
        if _KEY_LINE.search(line.text):
            return line.text.strip()
    return None


def _objects(text: str) -> set[str]:
    found = set(_OBJECT.findall(text))
    words = text.split()
    # The last word of a short command is usually what it acts on: "systemctl restart nginx".
    if 1 < len(words) <= 4 and "=" not in words[-1]:
        found.add(words[-1].strip("'\""))
    return {f.rstrip(".,;:") for f in found if len(f) > 1}


def command_entries(analysis: Analysis) -> list[dict[str, Any]]:
    """The `commands` list of the JSON answer: every command, its verdict and its rule."""
    entries = []
    for cmd, verdict in analysis.pairs():
        entry: dict[str, Any] = {
            "time": round(cmd.time, 3),
            "text": redact(cmd.text),
            "changes_state": bool(verdict.changes_state),
            "verdict": verdict.label,
            "rule": redact(verdict.rule),
        }
        if cmd.target:
            entry["target"] = cmd.target
        if cmd.privilege:
            entry["privilege"] = cmd.privilege
        if cmd.menu:
            entry["menu"] = cmd.menu
        if cmd.exit_status is not None:
            entry["exit_status"] = cmd.exit_status
        if verdict.failed:
            entry["failed"] = True
        entries.append(entry)
    return entries


def _last_lines(analysis: Analysis, lines: int) -> list[tuple[Command, Verdict]]:
    """The commands whose lines (command line and output) are within the last `lines` lines."""
    chosen: list[tuple[Command, Verdict]] = []
    budget = lines
    for cmd, verdict in reversed(analysis.pairs()):
        if budget <= 0:
            break
        chosen.append((cmd, verdict))
        budget -= 1 + cmd.text.count("\n") + cmd.output_count
    chosen.reverse()
    return chosen


def _limit_words(text: str, limit: int) -> str:
    words = text.split(" ")
    if len(words) <= limit:
        return text
    return " ".join(words[:limit]).rstrip() + " ..."


def summary(analysis: Analysis, lines: int = 200) -> str:
    """What ran in the last `lines` lines, what changed, what failed, the key output lines."""
    window = _last_lines(analysis, lines)
    if not window:
        return "No commands in this stretch of the session."
    first, last = window[0][0], window[-1][0]
    targets = sorted({c.target for c, _ in window if c.target})
    parts = [
        f"{len(window)} commands from {format_time(first.time)} to {format_time(last.time)}"
        + (f" on {', '.join(targets)}" if targets else "")
        + "."
    ]
    changed = [(c, v) for c, v in window if v.changes_state]
    failed = [(c, v) for c, v in window if v.failed]
    unknown = [c for c, v in window if v.changes_state is None]
    reads = [c for c, v in window if v.changes_state is False and not v.failed]
    if changed:
        parts.append(
            "Changed state: "
            + "; ".join(f"{format_time(c.time)} `{_first_line(c.text)}`" for c, _ in changed[-8:])
            + (f" (and {len(changed) - 8} earlier)" if len(changed) > 8 else "")
            + "."
        )
    else:
        parts.append("Nothing changed state.")
    if failed:
        parts.append(
            "Failed or refused: "
            + "; ".join(
                f"{format_time(c.time)} `{_first_line(c.text)}`"
                + (f" ({err})" if (err := _error_line(c)) else f" ({v.rule.split(':')[0]})")
                for c, v in failed[-6:]
            )
            + "."
        )
    if unknown:
        parts.append(
            "Unknown effect: "
            + "; ".join(f"{format_time(c.time)} `{_first_line(c.text)}`" for c in unknown[-5:])
            + "."
        )
    if reads:
        names = []
        for c in reads:
            word = c.text.split()[0] if c.text.split() else ""
            if word and word not in names:
                names.append(word)
        parts.append(f"Looked at ({len(reads)} read-only commands): {', '.join(names[:12])}.")
    keys = [
        f"{format_time(line.time)} {line.text.strip()}"
        for c, v in window
        if not v.failed
        for line in c.output
        if _KEY_LINE.search(line.text)
    ]
    if keys:
        parts.append("Key output: " + "; ".join(keys[-5:]) + ".")
    final = analysis.transcript.final_prompt
    if final is not None:
        parts.append(
            f"The session is now at {final.target or 'a'} {final.dialect} prompt "
            f"({final.privilege})."
        )
    return redact(_limit_words(" ".join(parts), SUMMARY_MAX_WORDS))


def changes(
    analysis: Analysis, entries: list[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """The commands that changed state, in order, with the rule that decided each."""
    return [e for e in entries or command_entries(analysis) if e["changes_state"]]


def _pending_risks(analysis: Analysis) -> list[str]:
    risks: list[str] = []
    pairs = analysis.pairs()
    final = analysis.transcript.final_prompt
    # IOS: configuration changes after the last save.
    unsaved = 0
    for cmd, verdict in pairs:
        if cmd.dialect != "ios" or not verdict.changes_state:
            continue
        if re.match(r"^(do\s+)?(wr(ite)?(\s+mem(ory)?)?|copy\s+run\S*\s+start\S*)\s*$", cmd.text):
            unsaved = 0
        elif cmd.privilege.startswith("config"):
            unsaved += 1
    if unsaved:
        risks.append(
            f"IOS running config has {unsaved} unsaved change(s): no `write memory` "
            "(or `copy running-config startup-config`) since."
        )
    # Junos: candidate edits not committed; a commit confirmed not confirmed.
    pending, confirmed_at = 0, None
    for cmd, verdict in pairs:
        if cmd.dialect != "junos" or verdict.failed:
            continue
        text = cmd.text.strip()
        if re.match(r"^commit\b(?!\s+check)", text):
            pending = 0
            if "confirmed" in text:
                minutes = re.search(r"confirmed\s+(\d+)", text)
                confirmed_at = (cmd.time, minutes.group(1) if minutes else "10")
            else:
                confirmed_at = None
        elif re.match(r"^rollback\b", text) or (
            verdict.changes_state and cmd.privilege == ("configuration")
        ):
            pending += 1
    if pending:
        risks.append(f"Junos candidate configuration has {pending} uncommitted change(s).")
    if confirmed_at is not None:
        risks.append(
            f"Junos `commit confirmed` at {format_time(confirmed_at[0])} is not confirmed: "
            f"it rolls back after {confirmed_at[1]} minute(s) unless committed again."
        )
    # RouterOS Safe Mode held at the end.
    if final is not None and final.dialect == "routeros" and final.privilege == "safe-mode":
        risks.append("RouterOS Safe Mode is still held: the changes revert if the session drops.")
    # Linux: services stopped and not started again; interfaces left down.
    stopped: dict[str, float] = {}
    for cmd, verdict in pairs:
        if verdict.failed or cmd.dialect != "shell":
            continue
        m = re.search(r"\b(?:systemctl|service)\s+(stop|start|restart)\s+(\S+)", cmd.text)
        m2 = re.search(r"\bservice\s+(\S+)\s+(stop|start|restart)", cmd.text)
        if m:
            action, unit = m.group(1), m.group(2)
        elif m2:
            unit, action = m2.group(1), m2.group(2)
        else:
            continue
        if action == "stop":
            stopped[unit] = cmd.time
        else:
            stopped.pop(unit, None)
    for unit, time in stopped.items():
        risks.append(f"Service {unit} was stopped at {format_time(time)} and not started again.")
    if final is not None and final.dialect == "ios" and final.privilege.startswith("config"):
        risks.append(f"The IOS session is still in {final.privilege} mode.")
    return risks


def _next_checks(analysis: Analysis, risks: list[str]) -> list[str]:
    checks: list[str] = []
    pairs = analysis.pairs()
    for cmd, verdict in pairs[-12:]:
        if not verdict.changes_state:
            continue
        text = cmd.text.strip()
        if cmd.dialect == "ios":
            check = "show running-config | include " + text.split()[0] if text.split() else ""
        elif cmd.dialect == "junos":
            check = "show | compare" if cmd.privilege == "configuration" else "show system commit"
        elif cmd.dialect == "routeros":
            menu = cmd.menu or " ".join(w for w in text.split() if w.startswith("/"))
            check = f"{menu or '/'} print".strip()
        else:
            unit = re.search(r"\b(?:systemctl|service)\s+\w+\s+(\S+)", text)
            files = sorted(f for f in _objects(text) if "/" in f or "." in f)
            if unit:
                check = f"systemctl status {unit.group(1)}"
            elif files:
                check = f"ls -l {files[0]}"
            else:
                continue
        if check and check not in checks:
            checks.append(check)
    if any("IOS running config" in r for r in risks):
        checks.append("write memory (after review)")
    if any("uncommitted" in r or "commit confirmed" in r for r in risks):
        checks.append("commit check, then commit")
    failed = [c for c, v in pairs if v.failed]
    if failed:
        checks.append(
            f"why `{_first_line(failed[-1].text)}` failed ({format_time(failed[-1].time)})"
        )
    return checks[-6:]


def handoff(analysis: Analysis) -> dict[str, Any]:
    """The handoff note: target and privilege, hypothesis, evidence with times, risk, checks."""
    pairs = analysis.pairs()
    final = analysis.transcript.final_prompt
    last = pairs[-1][0] if pairs else None
    target = final.target if final is not None and final.target else (last.target if last else "")
    privilege = final.privilege if final is not None else (last.privilege if last else "")
    dialect = final.dialect if final is not None else (last.dialect if last else "shell")
    failed = [(c, v) for c, v in pairs if v.failed]
    changed = [(c, v) for c, v in pairs if v.changes_state]
    focus: dict[str, int] = {}
    for cmd, _ in (changed + failed)[-10:]:
        for obj in _objects(cmd.text):
            focus[obj] = focus.get(obj, 0) + 1
    hypothesis_parts = []
    if focus:
        top = sorted(focus, key=lambda k: (-focus[k], k))[:3]
        hypothesis_parts.append(f"the work centres on {', '.join(top)}")
    if failed:
        c, v = failed[-1]
        err = _error_line(c) or v.rule.split(":")[0]
        hypothesis_parts.append(
            f"the last failure was `{_first_line(c.text)}` at {format_time(c.time)} ({err})"
        )
    if changed:
        c, _ = changed[-1]
        hypothesis_parts.append(
            f"the last change was `{_first_line(c.text)}` at {format_time(c.time)}"
        )
    hypothesis = (
        "As the session shows it: " + "; ".join(hypothesis_parts) + "."
        if hypothesis_parts
        else "No change or failure yet: the session only looked."
    )
    evidence: list[dict[str, Any]] = []
    for cmd, verdict in pairs:
        if not (
            verdict.changes_state
            or verdict.failed
            or any(_KEY_LINE.search(o.text) for o in cmd.output)
        ):
            continue
        quoted = [o.text.strip() for o in cmd.output if _KEY_LINE.search(o.text)][:2]
        if not quoted and cmd.output:
            quoted = [cmd.output[0].text.strip()]
        evidence.append(
            {
                "time": round(cmd.time, 3),
                "command": redact(cmd.text),
                "lines": [redact(q) for q in quoted],
                "why": redact(verdict.rule),
            }
        )
    evidence = evidence[-8:]
    risks = _pending_risks(analysis)
    checks = _next_checks(analysis, risks)
    lines = [
        f"Target: {target or 'unknown'} ({dialect}, {privilege or 'unknown privilege'}).",
        f"Hypothesis: {hypothesis}",
        "Evidence:",
        *(
            f"  {format_time(e['time'])} `{_first_line(e['command'])}`"
            + (f" -> {e['lines'][0]}" if e["lines"] else "")
            for e in evidence
        ),
        "Pending risk: " + (" ".join(risks) if risks else "none seen."),
        "Next checks: " + ("; ".join(checks) if checks else "none suggested."),
    ]
    return {
        "text": redact("\n".join(lines)),
        "target": target,
        "privilege": privilege,
        "dialect": dialect,
        "hypothesis": redact(hypothesis),
        "evidence": evidence,
        "pending_risks": [redact(r) for r in risks],
        "next_checks": [redact(c) for c in checks],
    }


_NAVIGATION = {
    "ios": re.compile(
        r"^(conf(ig(ure)?)?(\s+t(erminal)?)?|int(erface)?\s+\S+.*|line\s+.*|"
        r"router\s+.*|exit|end)$",
        re.I,
    ),
    "junos": re.compile(r"^(configure(\s+(private|exclusive))?|edit\s+.*|top|up|exit)$"),
}


def procedure(analysis: Analysis) -> dict[str, Any]:
    """The successful state-changing steps in order, each with the check that followed it.

    Failed attempts and read-only commands are left out; the mode changes a device step needs
    (`configure terminal`, `interface X`, `edit ...`) are kept in front of it. Secrets become
    `<redacted:NAME>` placeholders.
    """
    pairs = analysis.pairs()
    steps: list[dict[str, Any]] = []
    context: list[Command] = []
    for index, (cmd, verdict) in enumerate(pairs):
        nav = _NAVIGATION.get(cmd.dialect)
        if nav is not None and nav.match(cmd.text.strip()) and not verdict.failed:
            if re.match(r"^(conf|configure)", cmd.text.strip()):
                context = [cmd]
            else:
                context = [c for c in context if re.match(r"^(conf|configure)", c.text)] + [cmd]
            continue
        if not verdict.changes_state:
            continue
        for ctx in context:
            steps.append(
                {
                    "command": redact(ctx.text),
                    "time": round(ctx.time, 3),
                    "target": ctx.target,
                    "context": True,
                }
            )
        context = []
        step: dict[str, Any] = {"command": redact(cmd.text), "time": round(cmd.time, 3)}
        if cmd.target:
            step["target"] = cmd.target
        check = _check_after(pairs, index)
        if check is not None:
            step["check"] = redact(check.text)
            step["check_time"] = round(check.time, 3)
            if check.output:
                step["expect"] = redact(check.output[0].text.strip())
        steps.append(step)
    lines = []
    for n, step in enumerate(steps, 1):
        line = f"{n}. {format_time(step['time'])} {step['command']}"
        if "check" in step:
            line += f"\n   check: {step['check']}"
            if "expect" in step:
                line += f"  (expect: {step['expect']})"
        lines.append(line)
    return {"steps": steps, "text": "\n".join(lines) or "No successful state-changing step."}


def _check_after(pairs: list[tuple[Command, Verdict]], index: int) -> Command | None:
    """The first successful read-only command soon after a step that looks at what it changed."""
    cmd = pairs[index][0]
    objects = _objects(cmd.text)
    for later, verdict in pairs[index + 1 : index + 8]:
        if verdict.changes_state and later.dialect == "shell":
            break
        if verdict.changes_state is False and not verdict.failed:
            if (later.dialect != "shell" and later.text.split()[:1] in (["show"], ["print"])) or (
                later.dialect != "shell" and re.search(r"\bprint\b|^show\b|^do show\b", later.text)
            ):
                return later
            if objects & _objects(later.text):
                return later
    return None


def to_json(analysis: Analysis, lines: int = 200) -> dict[str, Any]:
    """The whole answer, in the shape CONTRACT.md gives for `jupyter sharedterm copilot --json`."""
    entries = command_entries(analysis)
    return {
        "commands": entries,
        "summary": summary(analysis, lines),
        "changes": changes(analysis, entries),
        "handoff": handoff(analysis),
        "procedure": procedure(analysis),
        "provider_payloads": [],
    }
