"""`python -m bench.copilot`: score the offline Copilot on its labelled corpus, and time it.

Reports, per split (tune / heldout): command precision and recall (the commands found against
the labelled ones, by text), state-changing precision and recall, canaries leaked, non-secret
text kept, weighted fact coverage of the summary and the handoff note, entity grounding, and
determinism; then the speed of the four actions on 200 lines and of a 50 MB session.
Options: `--json` prints the figures as JSON; `--no-speed` skips the timings.
"""

from __future__ import annotations

import argparse
import difflib
import hashlib
import json
import re
import sys
import time
from pathlib import Path
from typing import Any

from jupyter_sharedterm.copilot import analyze, analyze_events, segment
from jupyter_sharedterm.copilot.redact import redact
from jupyter_sharedterm.recording.asciicast import Cast, Event, read_cast

CORPUS = Path(__file__).parent / "copilot_corpus"
_ENTITY = re.compile(
    r"\b\d{1,3}(?:\.\d{1,3}){3}(?:/\d{1,2})?\b|(?<![\w<])/[\w.-]+(?:/[\w.-]+)+|"
    r"\b(?:ge|xe|et)-\d+/\d+/\d+(?:\.\d+)?\b|\bGigabitEthernet\d+(?:/\d+)+\b"
)


def _norm(text: str) -> str:
    return " ".join(redact(text).split())


def _sessions() -> list[tuple[str, Cast, dict[str, Any]]]:
    found = []
    for labels_path in sorted(CORPUS.glob("*.json")):
        cast_path = labels_path.with_suffix(".cast")
        found.append(
            (
                labels_path.stem,
                read_cast(cast_path.read_bytes()),
                json.loads(labels_path.read_text()),
            )
        )
    return found


def _output_text(cast: Cast) -> str:
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07", "", cast.output())


def score_session(cast: Cast, labels: dict[str, Any]) -> dict[str, Any]:
    result = analyze(cast)
    predicted = result["commands"]
    wanted = labels["commands"]
    matcher = difflib.SequenceMatcher(
        a=[_norm(c["text"]) for c in predicted],
        b=[_norm(c["text"]) for c in wanted],
        autojunk=False,
    )
    pairs = [
        (block.a + k, block.b + k)
        for block in matcher.get_matching_blocks()
        for k in range(block.size)
    ]
    matched_pred = {a for a, _ in pairs}
    matched_want = {b for _, b in pairs}
    tp = sum(1 for a, b in pairs if predicted[a]["changes_state"] and wanted[b]["changes_state"])
    fp = sum(
        1
        for i, c in enumerate(predicted)
        if c["changes_state"]
        and (i not in matched_pred or not wanted[dict(pairs)[i]]["changes_state"])
    )
    fn = sum(
        1
        for j, c in enumerate(wanted)
        if c["changes_state"]
        and (j not in matched_want or not predicted[{b: a for a, b in pairs}[j]]["changes_state"])
    )
    dump = json.dumps(result, ensure_ascii=False)
    texts = (result["summary"], result["handoff"]["text"])
    facts = {}
    for part, text in zip(("summary", "handoff"), texts, strict=True):
        weighted = labels["facts"][part]
        got = sum(w for fact, w in weighted if fact.lower() in text.lower())
        facts[part] = (got, sum(w for _, w in weighted))
    source = _output_text(cast)
    entities = [e for text in texts for e in _ENTITY.findall(text)]
    grounded = sum(1 for e in entities if e in source)
    # The redactor's cost: what it changed in lines holding no secret, and whether the
    # labelled non-secret strings (IPs, paths, errors) are still in the redacted session.
    raw = segment(cast.events, cast.width, cast.height).commands
    clean_lines = [
        line.text
        for cmd in raw
        for line in cmd.output
        if not any(c in line.text for c in labels["canaries"])
    ]
    redacted = analyze_events(cast.events, cast.width, cast.height).commands
    redacted_text = "\n".join(
        f"{c.target}\n{c.text}\n" + "\n".join(o.text for o in c.output) for c in redacted
    )
    return {
        "commands": (len(pairs), len(predicted), len(wanted)),
        "state": (tp, fp, fn),
        "canaries": (sum(1 for c in labels["canaries"] if c in dump), len(labels["canaries"])),
        "kept": (sum(1 for k in labels["keep"] if k in redacted_text), len(labels["keep"])),
        "facts": facts,
        "grounding": (grounded, len(entities)),
        "altered": (sum(1 for t in clean_lines if redact(t) != t), len(clean_lines)),
        "deterministic": hashlib.sha256(dump.encode()).hexdigest()
        == hashlib.sha256(json.dumps(analyze(cast), ensure_ascii=False).encode()).hexdigest(),
    }


def _ratio(a: float, b: float) -> float:
    return round(a / b, 3) if b else 1.0


def aggregate(scores: list[dict[str, Any]]) -> dict[str, Any]:
    def total(key: str, i: int) -> int:
        return sum(s[key][i] for s in scores)

    tp, fp, fn = (total("state", i) for i in range(3))
    facts = {
        part: _ratio(
            sum(s["facts"][part][0] for s in scores), sum(s["facts"][part][1] for s in scores)
        )
        for part in ("summary", "handoff")
    }
    return {
        "sessions": len(scores),
        "labelled_commands": total("commands", 2),
        "command_precision": _ratio(total("commands", 0), total("commands", 1)),
        "command_recall": _ratio(total("commands", 0), total("commands", 2)),
        "state_changing_precision": _ratio(tp, tp + fp),
        "state_changing_recall": _ratio(tp, tp + fn),
        "canaries_leaked": total("canaries", 0),
        "canaries": total("canaries", 1),
        "non_secret_text_kept": _ratio(total("kept", 0), total("kept", 1)),
        "clean_output_lines_altered": _ratio(total("altered", 0), total("altered", 1)),
        "fact_coverage_summary": facts["summary"],
        "fact_coverage_handoff": facts["handoff"],
        "entity_grounding": _ratio(total("grounding", 0), total("grounding", 1)),
        "deterministic": all(s["deterministic"] for s in scores),
    }


def _scaled(cast: Cast, target_bytes: int) -> list[Event]:
    """The recording's events repeated (times shifted) until its output reaches `target_bytes`."""
    events: list[Event] = []
    size, offset = 0, 0.0
    duration = cast.events[-1].time if cast.events else 0.0
    while size < target_bytes:
        for e in cast.events:
            events.append(Event(e.time + offset, e.code, e.data))
            size += len(e.data)
        offset += duration + 1.0
    return events


def _output_heavy(target_bytes: int) -> list[Event]:
    """A session whose bytes are mostly command output, as a long session's are: a prompt, a
    command typed key by key, 2000 syslog-like lines in 4 KiB reads; repeated."""
    events: list[Event] = []
    t, size, n = 0.0, 0, 0
    while size < target_bytes:
        n += 1
        command = f"tail -n 2000 /var/log/app{n % 7}.log"
        chunks = ["root@web1:~# ", *command, "\r\n"]
        body = "".join(
            f"Dec  4 17:{i % 60:02d}:{n % 60:02d} web1 app[{1000 + i}]: request {n}-{i} "
            f"path=/api/v1/items/{i} status={200 if i % 97 else 503} ms={i % 300}\r\n"
            for i in range(2000)
        )
        chunks += [body[i : i + 4096] for i in range(0, len(body), 4096)]
        for data in chunks:
            t += 0.01
            events.append(Event(t, "o", data))
            size += len(data)
    return events


def speed(sessions: list[tuple[str, Cast, dict[str, Any]]]) -> dict[str, Any]:
    by_name = {name: cast for name, cast, _ in sessions}
    base = by_name["bash_basics"]
    # A 200-line stretch: the bash session repeated until its commands and output reach 200
    # lines, then all four actions on it (segmenting included).
    events = _scaled(base, 1)
    while True:
        cast = Cast(base.header, events, False, 0)
        lines = sum(1 + c.output_count for c in analyze_events(events, 100, 30).commands)
        if lines >= 200:
            break
        events = events + [Event(e.time + events[-1].time + 1, e.code, e.data) for e in base.events]
    runs = []
    for _ in range(5):
        start = time.perf_counter()
        analyze(cast, 200)
        runs.append(time.perf_counter() - start)
    figures: dict[str, Any] = {
        "four_actions_200_lines_ms": round(min(runs) * 1000, 1),
        "lines": lines,
    }
    # A 50 MB session of mostly output; and the worst case, a session of nothing but typing
    # (one output event per keystroke echo), measured on 1 MB.
    for label, events in (
        ("output_heavy", _output_heavy(50 * 1024 * 1024)),
        ("typing_only", _scaled(base, 1024 * 1024)),
    ):
        big = Cast(base.header, events, False, 0)
        size = sum(len(e.data.encode()) for e in events)
        start, cpu = time.perf_counter(), time.process_time()
        result = analyze(big)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        figures[f"{label}_cpu_seconds"] = round(cpu, 2)
        figures[f"{label}_mb"] = round(size / 1024 / 1024, 1)
        figures[f"{label}_seconds"] = round(seconds, 2)
        figures[f"{label}_commands"] = len(result["commands"])
        figures[f"{label}_mb_per_s"] = round(size / 1024 / 1024 / seconds, 2)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.copilot", description=__doc__)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--no-speed", action="store_true")
    args = parser.parse_args(argv)
    sessions = _sessions()
    report: dict[str, Any] = {}
    for split in ("tune", "heldout"):
        scores = [score_session(c, lab) for _, c, lab in sessions if lab["split"] == split]
        report[split] = aggregate(scores)
    report["per_session"] = {
        name: {
            "commands": score_session(c, lab)["commands"],
            "state_tp_fp_fn": score_session(c, lab)["state"],
        }
        for name, c, lab in sessions
    }
    if not args.no_speed:
        report["speed"] = speed(sessions)
    if args.json:
        print(json.dumps(report, indent=1))
        return 0
    for split in ("tune", "heldout"):
        print(f"== {split}")
        for key, value in report[split].items():
            print(f"  {key:30} {value}")
    print("== per session (matched, predicted, labelled) / (tp, fp, fn)")
    for name, s in report["per_session"].items():
        print(f"  {name:20} {s['commands']}  {s['state_tp_fp_fn']}")
    if "speed" in report:
        print("== speed")
        for key, value in report["speed"].items():
            print(f"  {key:30} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
