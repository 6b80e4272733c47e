"""The four answers on the corpus's recordings; and the analyzer stays pure."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from jupyter_sharedterm.copilot import analyze
from jupyter_sharedterm.recording.asciicast import read_cast

CORPUS = Path(__file__).parents[2] / "bench" / "copilot_corpus"


def _analyze(name: str, lines: int = 200) -> dict:  # type: ignore[type-arg]
    return analyze(read_cast((CORPUS / f"{name}.cast").read_bytes()), lines)


def test_the_answer_has_the_contract_shape() -> None:
    result = _analyze("bash_marked")
    assert set(result) >= {"commands", "summary", "handoff", "procedure", "provider_payloads"}
    assert result["provider_payloads"] == []
    for command in result["commands"]:
        assert isinstance(command["time"], float) and isinstance(command["text"], str)
        assert isinstance(command["changes_state"], bool)
    assert [c["exit_status"] for c in result["commands"][:3]] == [0, 0, 1]
    assert isinstance(result["handoff"]["text"], str)
    for step in result["procedure"]["steps"]:
        assert isinstance(step["command"], str)
    json.dumps(result)  # serialisable as is


def test_summary_is_short_and_points_into_the_recording() -> None:
    result = _analyze("bash_basics")
    summary = result["summary"]
    assert len(summary.split()) <= 300
    assert "[00:09] `sed -i 's/8080/9090/' conf/server.ini`" in summary
    assert "No such file or directory" in summary  # the error, quoted
    assert "rm -rf /tmp/important" not in summary  # typed, then abandoned with Ctrl-C


def test_summary_covers_only_the_last_lines_asked_for() -> None:
    full = _analyze("bash_basics", 200)["summary"]
    short = _analyze("bash_basics", 3)["summary"]
    assert "mkdir -p app/conf" in full and "mkdir -p app/conf" not in short


def test_handoff_names_pending_risks_per_system() -> None:
    ios = _analyze("ios_uplink")["handoff"]
    assert ios["target"] == "core-sw1" and ios["privilege"] == "privileged"
    assert any("unsaved" in r for r in ios["pending_risks"])
    junos = _analyze("junos_ospf")["handoff"]
    assert any("commit confirmed" in r and "rolls back" in r for r in junos["pending_risks"])
    routeros = _analyze("routeros_edge")["handoff"]
    assert routeros["privilege"] == "safe-mode"
    assert any("Safe Mode" in r for r in routeros["pending_risks"])
    assert all(isinstance(e["time"], float) for e in routeros["evidence"])


def test_procedure_keeps_successful_changes_with_their_checks_and_placeholders() -> None:
    steps = _analyze("bash_basics")["procedure"]["steps"]
    commands = [s["command"] for s in steps]
    assert "sed -i 's/8080/9090/' conf/server.ini" in commands
    assert "rm -i conf/old.bak" not in commands  # answered "no"
    assert not any(c.startswith(("cat", "ls", "grep")) for c in commands)  # checks, not steps
    sed = next(s for s in steps if s["command"].startswith("sed -i"))
    assert sed["check"] == "sed -n 1p conf/server.ini"
    ios = [s["command"] for s in _analyze("ios_uplink")["procedure"]["steps"]]
    assert ios[:2] == ["configure terminal", "interface GigabitEthernet0/1"]
    assert "username netops privilege 15 secret 0 <redacted:ios-secret>" in ios


def test_no_canary_leaves_in_any_answer() -> None:
    for name in ("bash_marked", "ios_uplink", "junos_ospf", "routeros_edge"):
        labels = json.loads((CORPUS / f"{name}.json").read_text())
        dump = json.dumps(_analyze(name))
        for canary in labels["canaries"]:
            assert canary not in dump, (name, canary)


def test_lines_must_be_positive() -> None:
    cast = read_cast((CORPUS / "bash_basics.cast").read_bytes())
    with pytest.raises(ValueError, match="positive integer"):
        analyze(cast, 0)


def test_the_analyzer_imports_no_io_framework() -> None:
    probe = (
        "import sys, jupyter_sharedterm.copilot, jupyter_sharedterm.copilot.cli\n"
        "print(sorted(n for n in sys.modules if n.split('.')[0] in "
        "('tornado', 'terminado', 'asyncssh', 'pycrdt', 'ipywidgets', 'jupyter_server', "
        "'asyncio', 'httpx')))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
