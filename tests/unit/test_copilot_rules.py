"""State-changing classification: the verdict and the rule that decided it."""

from __future__ import annotations

import pytest

from jupyter_sharedterm.copilot.rules import classify
from jupyter_sharedterm.copilot.transcript import Command, OutputLine


def _cmd(
    text: str,
    dialect: str = "shell",
    privilege: str = "user",
    output: tuple[str, ...] = (),
    exit_status: int | None = None,
    wrote: tuple[str, ...] = (),
) -> Command:
    return Command(
        0.0,
        text,
        None,
        dialect,
        "h",
        privilege,  # type: ignore[arg-type]
        output=[OutputLine(0.0, o) for o in output],
        exit_status=exit_status,
        wrote_files=list(wrote),
    )


@pytest.mark.parametrize(
    ("text", "changes"),
    [
        ("ls -la /etc", False),
        ("sed -n 1p f", False),
        ("sed -i 's/a/b/' f", True),
        ("tee -a /etc/hosts", True),
        ("echo x > /dev/null", False),
        ("echo x >> notes.txt", True),
        ("cat a 2>&1 | grep b", False),
        ("sudo systemctl restart nginx", True),
        ("systemctl status nginx", False),
        ("apt-get install -y jq", True),
        ("apt-get --dry-run install jq", False),
        ("apt list --installed", False),
        ("git status", False),
        ("git commit -m x", True),
        ("git branch", False),
        ("git branch -D old", True),
        ("git stash list", False),
        ("git stash pop", True),
        ("terraform plan", False),
        ("terraform apply -auto-approve", True),
        ("kubectl get pods", False),
        ("kubectl apply -f x.yaml --dry-run=client", False),
        ("kubectl delete pod x", True),
        ("aws s3 ls", False),
        ("aws ec2 terminate-instances --instance-ids i-1", True),
        ("aws ec2 run-instances --dry-run", False),
        ("find . -name '*.tmp' -delete", True),
        ("find . -name '*.tmp'", False),
        ("ip addr show", False),
        ("ip route add 10.0.0.0/8 via 10.1.1.1", True),
        ("iptables -L -n", False),
        ("iptables -A INPUT -j DROP", True),
        ("curl -s https://example.test", False),
        ("curl -X POST https://example.test/api", True),
        ("DEBUG=1 make -n", False),
        ("export FOO=1", False),
        ("mkdir -p a && cd a", True),
    ],
)
def test_linux_rules(text: str, changes: bool) -> None:
    verdict = classify(_cmd(text))
    assert verdict.changes_state is changes, verdict.rule
    assert verdict.rule


def test_unknown_programs_are_labelled_unknown_not_guessed() -> None:
    verdict = classify(_cmd("./deploy.sh --prod"))
    assert verdict.changes_state is None and verdict.label == "unknown"
    assert "unknown program" in verdict.rule


def test_an_editor_changes_state_only_when_it_wrote() -> None:
    assert classify(_cmd("vim a.txt", wrote=("a.txt",))).changes_state is True
    assert classify(_cmd("vim a.txt")).changes_state is False


@pytest.mark.parametrize(
    ("output", "exit_status"),
    [
        (("rm: cannot remove 'x': Permission denied",), None),
        ((), 1),
        (("rm: remove regular file 'x'? n",), None),
        (("Do you want to continue? [Y/n] n", "Abort."), None),
        (("Enter a value: no", "", "Apply cancelled."), None),
    ],
)
def test_failed_or_refused_commands_change_nothing(
    output: tuple[str, ...], exit_status: int | None
) -> None:
    verdict = classify(_cmd("rm x", output=output, exit_status=exit_status))
    assert verdict.changes_state is False and verdict.failed
    assert "changed nothing" in verdict.rule


@pytest.mark.parametrize(
    ("text", "privilege", "changes"),
    [
        ("show running-config", "privileged", False),
        ("configure terminal", "privileged", False),
        ("interface Gi0/1", "config", False),
        ("ip address 10.0.0.1 255.255.255.0", "config-if", True),
        ("do show ip int brief", "config", False),
        ("do write memory", "config", True),
        ("end", "config-if", False),
        ("write memory", "privileged", True),
        ("copy running-config startup-config", "privileged", True),
        ("ping 10.0.0.2", "privileged", False),
    ],
)
def test_ios_rules_follow_the_mode(text: str, privilege: str, changes: bool) -> None:
    assert classify(_cmd(text, "ios", privilege)).changes_state is changes


def test_ios_errors_mean_nothing_changed() -> None:
    verdict = classify(
        _cmd("hostnme x", "ios", "config", output=("% Invalid input detected at '^' marker.",))
    )
    assert verdict.changes_state is False and verdict.failed


@pytest.mark.parametrize(
    ("text", "privilege", "changes"),
    [
        ("set interfaces ge-0/0/1 disable", "configuration", True),
        ("delete interfaces ge-0/0/1", "configuration", True),
        ("rollback 1", "configuration", True),
        ("commit check", "configuration", False),
        ("show | compare", "configuration", False),
        ("commit", "configuration", True),
        ("commit confirmed 5", "configuration", True),
        ("show route", "operational", False),
        ("request system reboot", "operational", True),
    ],
)
def test_junos_rules(text: str, privilege: str, changes: bool) -> None:
    assert classify(_cmd(text, "junos", privilege)).changes_state is changes


@pytest.mark.parametrize(
    ("text", "changes"),
    [
        ("/ip address print", False),
        ("/ip address add address=10.0.0.1/24 interface=ether1", True),
        ("/ip/address/remove 0", True),
        ("/interface/ethernet/set ether3 disabled=yes", True),
        ("/export", False),
        ("/export file=backup", True),
        ("/ip/firewall/filter", False),
        ("print where name=wg0", False),
        ("disable 2", True),
    ],
)
def test_routeros_verbs(text: str, changes: bool) -> None:
    assert classify(_cmd(text, "routeros")).changes_state is changes
