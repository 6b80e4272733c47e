"""Prompt detection for bash/zsh, RouterOS, Cisco IOS and Junos (shared with the handoff)."""

from __future__ import annotations

import pytest

from jupyter_sharedterm.copilot.prompts import match_prompt


@pytest.mark.parametrize(
    ("line", "dialect", "command", "target", "privilege"),
    [
        ("ops@web1:~/app$ ls -l", "shell", "ls -l", "ops@web1", "user"),
        (
            "root@web1:/etc# systemctl restart nginx",
            "shell",
            "systemctl restart nginx",
            "root@web1",
            "root",
        ),
        ("[ops@db2 data]$ df -h", "shell", "df -h", "ops@db2", "user"),
        ("(venv) ops@web1:~$ pip list", "shell", "pip list", "ops@web1", "user"),
        (
            "[admin@MikroTik] > /ip address print",
            "routeros",
            "/ip address print",
            "admin@MikroTik",
            "user",
        ),
        (
            "[admin@MikroTik] /ip/firewall/filter> print",
            "routeros",
            "print",
            "admin@MikroTik",
            "user",
        ),
        (
            "[admin@MikroTik] /ip/route<SAFE> add gateway=10.0.0.1",
            "routeros",
            "add gateway=10.0.0.1",
            "admin@MikroTik",
            "safe-mode",
        ),
        ("[admin@MikroTik] <SAFE> ", "routeros", "", "admin@MikroTik", "safe-mode"),
        ("core-sw1>enable", "ios", "enable", "core-sw1", "user-exec"),
        ("core-sw1#show ip route", "ios", "show ip route", "core-sw1", "privileged"),
        ("core-sw1(config)#hostname x", "ios", "hostname x", "core-sw1", "config"),
        ("core-sw1(config-if)#no shutdown", "ios", "no shutdown", "core-sw1", "config-if"),
        (
            "admin@vmx1> show interfaces terse",
            "junos",
            "show interfaces terse",
            "admin@vmx1",
            "operational",
        ),
        (
            "admin@vmx1# set system host-name r1",
            "junos",
            "set system host-name r1",
            "admin@vmx1",
            "configuration",
        ),
    ],
)
def test_prompts_of_each_system(
    line: str, dialect: str, command: str, target: str, privilege: str
) -> None:
    prompt = match_prompt(line)
    assert prompt is not None
    assert (prompt.dialect, prompt.command, prompt.target, prompt.privilege) == (
        dialect,
        command,
        target,
        privilege,
    )


def test_routeros_menu_is_kept() -> None:
    prompt = match_prompt("[admin@MikroTik] /ip/firewall/filter> print")
    assert prompt is not None and prompt.menu == "/ip/firewall/filter"


@pytest.mark.parametrize(
    "line",
    [
        "total 4",
        "drwxr-xr-x 2 root root 4096 Dec  4 17:17 conf",
        "listen_port = 8080",
        "Interface              IP-Address      OK? Method Status",
        "inet.0: 12 destinations",
    ],
)
def test_output_lines_are_not_prompts(line: str) -> None:
    assert match_prompt(line) is None


def test_bare_prompts_are_weak() -> None:
    prompt = match_prompt("# /etc/fstab: static file system information.")
    assert prompt is not None and not prompt.strong  # the segmenter distrusts it


def test_a_word_then_hash_is_ios_only_when_it_looks_like_an_ios_command() -> None:
    assert match_prompt("Note#1 was filed") is None
    assert match_prompt("Note#1 was filed", prefer="ios") is not None


def test_user_at_host_hash_is_junos_unless_the_session_is_a_shell() -> None:
    line = "admin@box# ls"
    assert match_prompt(line).dialect == "junos"  # type: ignore[union-attr]
    assert match_prompt(line, prefer="shell").dialect == "shell"  # type: ignore[union-attr]
