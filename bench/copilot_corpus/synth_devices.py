"""Synthetic network-device sessions for the Copilot corpus: RouterOS 7, Cisco IOS, Junos.

No device runs here, so these transcripts are written by hand, true to each system's prompts,
echo and output (IOS `--More--`, Junos `---(more)---` and `[edit]`, RouterOS menus, Safe Mode and
its line repaint), and rendered to asciicast the way a terminal would receive them: one event per
echoed keystroke, output in chunks. Each step carries its label.
`python -m bench.copilot_corpus.synth_devices` (re)writes the `.cast` and `.json` files.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path

from jupyter_sharedterm.recording.asciicast import CastWriter

HERE = Path(__file__).parent


@dataclass
class Step:
    prompt: str
    typed: str  # what the screen shows as typed; "\b" erases the character before it
    output: list[str]
    changes: bool | None  # the label; None: not a command (nothing submitted)
    submitted: str | None = None  # the command as finally submitted, when editing changed it
    repaint: str | None = None  # RouterOS repaints the line in colour on Enter
    chunks: list[int] = field(default_factory=list)  # split points of the output text


def render(
    name: str, steps: list[Step], banner: list[str], final_prompt: str, labels: dict
) -> None:
    t = 0.0
    commands = []
    with open(HERE / f"{name}.cast", "wb") as out:
        w = CastWriter(out, width=100, height=30, title=name)
        w.output(t, "\r\n".join(banner) + "\r\n")
        for step in steps:
            t += 0.4
            w.output(t, step.prompt)
            t += 0.8
            for c in step.typed:
                t += 0.09
                if c == "\b":
                    w.output(t, "\b \b")
                elif c == "\t":
                    continue
                else:
                    w.output(t, c)
            t += 0.3
            if step.repaint is not None:
                w.output(t, "\r" + step.prompt + step.repaint + "\x1b[K\r\n")
            else:
                w.output(t, "\r\n")
            if step.output:
                text = "\r\n".join(step.output) + "\r\n"
                cuts = [0, *step.chunks, len(text)]
                for a, b in itertools.pairwise(cuts):
                    t += 0.05
                    w.output(t, text[a:b])
            if step.changes is not None:
                commands.append(
                    {"text": step.submitted or _typed(step.typed), "changes_state": step.changes}
                )
        t += 0.4
        w.output(t, final_prompt)
    labels = {**labels, "commands": commands}
    (HERE / f"{name}.json").write_text(json.dumps(labels, indent=1) + "\n")


def _typed(text: str) -> str:
    out: list[str] = []
    for c in text:
        if c == "\b":
            out.pop()
        elif c != "\t":
            out.append(c)
    return "".join(out)


MORE_IOS = " --More-- "
ERASE_IOS = "\b" * 10 + " " * 10 + "\b" * 10


def ios_tune() -> None:
    r = "core-sw1"
    steps = [
        Step(f"{r}>", "enable", ["Password: "], False),
        Step(f"{r}#", "terminal length 0", [], False),
        Step(
            f"{r}#",
            "show ip interface brief",
            [
                "Interface              IP-Address      OK? Method Status                Protocol",
                "GigabitEthernet0/0     10.10.0.2       YES NVRAM  up                    up",
                "GigabitEthernet0/1     unassigned      YES NVRAM  administratively down down",
                "Loopback0              10.255.0.1      YES NVRAM  up                    up",
            ],
            False,
        ),
        Step(
            f"{r}#",
            "shw ip route",
            ["             ^", "% Invalid input detected at '^' marker.", ""],
            False,
        ),
        Step(
            f"{r}#",
            "configure terminal",
            ["Enter configuration commands, one per line.  End with CNTL/Z."],
            False,
        ),
        Step(f"{r}(config)#", "interface GigabitEthernet0/1", [], False),
        Step(f"{r}(config-if)#", "description uplink to dist-rtr2", [], True),
        Step(f"{r}(config-if)#", "ip address 10.20.0.1 255.255.255.252", [], True),
        Step(
            f"{r}(config-if)#",
            "no shutdown",
            [
                "*Mar  4 10:12:01.337: %LINK-3-UPDOWN: Interface GigabitEthernet0/1, "
                "changed state to up",
                "*Mar  4 10:12:02.337: %LINEPROTO-5-UPDOWN: Line protocol on Interface "
                "GigabitEthernet0/1, changed state to up",
            ],
            True,
        ),
        Step(f"{r}(config-if)#", "exit", [], False),
        Step(f"{r}(config)#", "username netops privilege 15 secret 0 Canary-IOS-Pass1", [], True),
        Step(f"{r}(config)#", "snmp-server community C4naryComm RO", [], True),
        Step(
            f"{r}(config)#",
            "do show ip interface brief | include 0/1",
            ["GigabitEthernet0/1     10.20.0.1       YES manual up                    up"],
            False,
        ),
        Step(
            f"{r}(config)#",
            "end",
            [
                "*Mar  4 10:13:40.101: %SYS-5-CONFIG_I: Configured from "
                "console by netops on vty0 (10.10.0.50)"
            ],
            False,
        ),
        Step(
            f"{r}#",
            "ping 10.20.0.2",
            [
                "Type escape sequence to abort.",
                "Sending 5, 100-byte ICMP Echos to 10.20.0.2, timeout is 2 seconds:",
                "!!!!!",
                "Success rate is 100 percent (5/5), round-trip min/avg/max = 1/1/2 ms",
            ],
            False,
        ),
        Step(
            f"{r}#",
            "show running-config | include secret|community",
            [
                "enable secret 9 $9$Canary9HashQ1w2E3r4T5y6$AbCdEfGhIjKlMnOpQrStUvWx",
                "username netops privilege 15 secret 9 $9$nAsdfCanaryHash2$ZyXwVuTsRqPoNmLkJiHg",
                "snmp-server community C4naryComm RO",
            ],
            False,
            chunks=[30],
        ),
        Step(f"{r}#", "reload", ["Proceed with reload? [confirm]n", ""], False),
        Step(
            f"{r}#",
            "show logging | include UPDOWN",
            [
                "*Mar  4 10:12:01.337: %LINK-3-UPDOWN: Interface GigabitEthernet0/1, "
                "changed state to up",
                MORE_IOS
                + ERASE_IOS
                + "*Mar  4 10:12:02.337: %LINEPROTO-5-UPDOWN: Line protocol on "
                "Interface GigabitEthernet0/1, changed state to up",
            ],
            False,
        ),
    ]
    render(
        "ios_uplink",
        steps,
        ["", "User Access Verification", "", "Username: netops", "Password: "],
        f"{r}#",
        {
            "split": "tune",
            "canaries": [
                "Canary-IOS-Pass1",
                "C4naryComm",
                "Canary9HashQ1w2E3r4T5y6",
                "nAsdfCanaryHash2",
            ],
            "keep": [
                "10.20.0.1",
                "GigabitEthernet0/1",
                "% Invalid input detected",
                "10.20.0.2",
                "core-sw1",
            ],
            "facts": {
                "summary": [
                    ["GigabitEthernet0/1", 2],
                    ["ip address 10.20.0.1", 2],
                    ["shw ip route", 1],
                    ["reload", 1],
                ],
                "handoff": [
                    ["core-sw1", 2],
                    ["privileged", 1],
                    ["unsaved", 3],
                    ["write memory", 2],
                    ["GigabitEthernet0/1", 1],
                ],
            },
        },
    )


def junos_tune() -> None:
    op, cf = "admin@vmx1> ", "admin@vmx1# "
    steps = [
        Step(
            op,
            "show interfaces terse | match ge-0/0",
            [
                "ge-0/0/0                up    up",
                "ge-0/0/0.0              up    up   inet     10.30.0.1/30",
                "ge-0/0/1                up    down",
            ],
            False,
        ),
        Step(
            op,
            "show route 10.40.0.0/24",
            ["", "inet.0: 12 destinations, 12 routes (12 active, 0 holddown, 0 hidden)", ""],
            False,
        ),
        Step(op, "configure", ["Entering configuration mode", "", "[edit]"], False),
        Step(
            cf,
            "set interfaces ge-0/0/1 unit 0 family inet address 10.40.0.1/30",
            ["", "[edit]"],
            True,
        ),
        Step(cf, "set protocols ospf area 0.0.0.0 interface ge-0/0/1.0", ["", "[edit]"], True),
        Step(
            cf,
            "delte interfaces ge-0/0/2",
            ["", "       ^", "unknown command.", "", "[edit]"],
            False,
        ),
        Step(
            cf,
            "set system login user ops authentication encrypted-password "
            '"$6$Cnry$JunosCanaryHashValue0123456789"',
            ["", "[edit]"],
            True,
        ),
        Step(
            cf,
            "show | compare",
            [
                "[edit interfaces]",
                "+   ge-0/0/1 {",
                "+       unit 0 {",
                "+           family inet {",
                "+               address 10.40.0.1/30;",
                "+           }",
                "+       }",
                "+   }",
                "---(more)---\r                                        \r[edit protocols ospf area "
                "0.0.0.0]",
                "+    interface ge-0/0/1.0;",
                "",
                "[edit]",
            ],
            False,
        ),
        Step(cf, "commit check", ["configuration check succeeds", "", "[edit]"], False),
        Step(
            cf,
            "commit confirmed 5",
            [
                "commit confirmed will be automatically rolled back in 5 minutes unless confirmed",
                "commit complete",
                "",
                "# commit confirmed will be rolled back in 5 minutes",
                "[edit]",
            ],
            True,
        ),
        Step(
            cf,
            "run show ospf neighbor",
            [
                "Address          Interface              State     ID               Pri  Dead",
                "10.40.0.2        ge-0/0/1.0             Full      10.255.0.9       128    36",
                "",
                "[edit]",
            ],
            False,
        ),
    ]
    render(
        "junos_ospf",
        steps,
        ["--- JUNOS 22.4R1.10 Kernel 64-bit  JNPR-12.1-20221130", ""],
        cf,
        {
            "split": "tune",
            "canaries": ["JunosCanaryHashValue0123456789"],
            "keep": ["10.40.0.1/30", "ge-0/0/1", "unknown command", "10.40.0.2"],
            "facts": {
                "summary": [["ge-0/0/1", 2], ["commit confirmed", 2], ["delte", 1]],
                "handoff": [
                    ["vmx1", 2],
                    ["configuration", 1],
                    ["commit confirmed", 3],
                    ["rolls back", 2],
                    ["ospf", 1],
                ],
            },
        },
    )


def routeros_tune() -> None:
    base = "[admin@edge-mt] "
    colour = "\x1b[35m{}\x1b[0m"
    steps = [
        Step(
            base + "> ",
            "/ip address print",
            [
                "Columns: ADDRESS, NETWORK, INTERFACE",
                "#   ADDRESS          NETWORK       INTERFACE",
                "0   192.168.88.1/24  192.168.88.0  bridge",
            ],
            False,
            repaint=colour.format("/ip address") + " print",
        ),
        Step(
            base + "> ",
            "/ip adress add address=10.50.0.1/24 interface=ether2",
            ["bad command name adress (line 1 column 5)"],
            False,
        ),
        Step(
            base + "> ",
            "/ip address add address=10.50.0.1/24 interface=ether2",
            [],
            True,
            repaint=colour.format("/ip address") + " add address=10.50.0.1/24 interface=ether2",
        ),
        Step(base + "> ", "/ip/firewall/filter", [], False),
        Step(base + "/ip/firewall/filter> ", "", ["[Safe Mode taken]"], None),  # Ctrl-X
        Step(
            base + "/ip/firewall/filter<SAFE> ",
            'add chain=input action=drop src-address=203.0.113.0/24 comment="block scan"',
            [],
            True,
        ),
        Step(
            base + "/ip/firewall/filter<SAFE> ",
            "print",
            [
                "Flags: X - disabled, I - invalid; D - dynamic",
                ' 0    chain=input action=drop src-address=203.0.113.0/24 log=no log-prefix=""',
                "      ;;; block scan",
            ],
            False,
        ),
        Step(
            base + "/ip/firewall/filter<SAFE> ",
            "/user add name=ops password=C4nary-ROS-pw group=full",
            [],
            True,
        ),
        Step(
            base + "/ip/firewall/filter<SAFE> ",
            "/interface wireguard add name=wg0 listen-port=13231 "
            'private-key="cCanaryWgKeyAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="',
            [],
            True,
        ),
        Step(
            base + "/ip/firewall/filter<SAFE> ", "/system reboot", ["Reboot, yes? [y/N]: n"], False
        ),
        Step(
            base + "/ip/firewall/filter<SAFE> ",
            "/interface print where name=wg0",
            [
                "Flags: R - RUNNING",
                "Columns: NAME, TYPE, ACTUAL-MTU",
                "#   NAME  TYPE        ACTUAL-MTU",
                "0 R wg0   wireguard         1420",
            ],
            False,
        ),
    ]
    render(
        "routeros_edge",
        steps,
        ["  MikroTik RouterOS 7.14.3 (c) 1999-2024       https://www.mikrotik.com/", ""],
        base + "/ip/firewall/filter<SAFE> ",
        {
            "split": "tune",
            "canaries": ["C4nary-ROS-pw", "cCanaryWgKeyAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="],
            "keep": ["10.50.0.1/24", "203.0.113.0/24", "bad command name", "ether2", "wg0"],
            "facts": {
                "summary": [["10.50.0.1/24", 2], ["203.0.113.0/24", 2], ["adress", 1]],
                "handoff": [["edge-mt", 2], ["Safe Mode", 3], ["wg0", 1]],
            },
        },
    )


def round1() -> None:
    """Held out in round 1 (see docs/copilot.md); two bugs it found were fixed, so now tuning."""
    r = "br-rtr3"
    render(
        "round1_ios",
        [
            Step(
                f"{r}#",
                "show version | include uptime",
                ["br-rtr3 uptime is 3 weeks, 2 days"],
                False,
            ),
            Step(
                f"{r}#",
                "conf t",
                ["Enter configuration commands, one per line.  End with CNTL/Z."],
                False,
            ),
            Step(f"{r}(config)#", "ip route 0.0.0.0 0.0.0.0 172.16.9.1", [], True),
            Step(f"{r}(config)#", "router ospf 10", [], True),
            Step(f"{r}(config-router)#", "network 172.16.9.0 0.0.0.255 area 0", [], True),
            Step(f"{r}(config-router)#", "end", [], False),
            Step(
                f"{r}#",
                "copy running-config startup-config",
                ["Destination filename [startup-config]? ", "Building configuration...", "[OK]"],
                True,
            ),
            Step(f"{r}#", "clear ip ospf process", ["Reset ALL OSPF processes? [no]: no"], False),
            Step(
                f"{r}#",
                "show ip ospf neighbor",
                [
                    "Neighbor ID     Pri   State           Dead Time   Address         Interface",
                    "172.16.9.1        1   FULL/DR         00:00:38    172.16.9.1      Gi0/2",
                ],
                False,
            ),
        ],
        [""],
        f"{r}#",
        {
            "split": "tune",
            "canaries": [],
            "keep": ["172.16.9.1", "br-rtr3"],
            "facts": {
                "summary": [["ip route 0.0.0.0", 2], ["router ospf 10", 1]],
                "handoff": [["br-rtr3", 2], ["privileged", 1]],
            },
        },
    )
    op, cf = "netops@mx-edge2> ", "netops@mx-edge2# "
    render(
        "round1_junos",
        [
            Step(op, "show system alarms", ["No alarms currently active"], False),
            Step(
                op,
                "configure private",
                [
                    "warning: uncommitted changes will be discarded on exit",
                    "Entering configuration mode",
                    "",
                    "[edit]",
                ],
                False,
            ),
            Step(
                cf,
                "edit firewall family inet filter PROTECT-RE",
                ["", "[edit firewall family inet filter PROTECT-RE]"],
                False,
            ),
            Step(cf, "set term ssh from source-address 198.51.100.0/24", ["", "[edit]"], True),
            Step(cf, "top", ["", "[edit]"], False),
            Step(
                cf,
                "set snmp community Sn1pCanaryComm authorization read-only",
                ["", "[edit]"],
                True,
            ),
            Step(
                cf,
                "show | compare",
                ["[edit firewall family inet filter PROTECT-RE]", "+    term ssh {", "", "[edit]"],
                False,
            ),
            Step(cf, "commit", ["commit complete", "", "[edit]"], True),
            Step(cf, "delete snmp community Sn1pCanaryComm", ["", "[edit]"], True),
            Step(cf, "rollback 0", ["load complete", "", "[edit]"], True),
            Step(cf, "exit", ["Exiting configuration mode"], False),
            Step(op, "request system reboot", ["Reboot the system ? [yes,no] (no) no"], False),
        ],
        [""],
        op,
        {
            "split": "tune",
            "canaries": ["Sn1pCanaryComm"],
            "keep": ["198.51.100.0/24", "PROTECT-RE"],
            "facts": {
                "summary": [["198.51.100.0/24", 2], ["commit", 1]],
                "handoff": [["mx-edge2", 2], ["operational", 1]],
            },
        },
    )
    base = "[ops@branch-mt] "
    render(
        "round1_routeros",
        [
            Step(
                base + "> ",
                "/interface print",
                ["Flags: R - RUNNING", " #   NAME     TYPE   MTU", " 0 R ether1   ether  1500"],
                False,
            ),
            Step(base + "> ", "/ip/dhcp-server/lease", [], False),
            Step(base + "/ip/dhcp-server/lease> ", "make-static numbers=0", [], True),
            Step(
                base + "/ip/dhcp-server/lease> ",
                "print",
                [" 0   192.168.5.20  AA:BB:CC:00:11:22"],
                False,
            ),
            Step(base + "/ip/dhcp-server/lease> ", "/ip dns set servers=9.9.9.9,1.1.1.1", [], True),
            Step(
                base + "/ip/dhcp-server/lease> ",
                "/ip dns print",
                ["  servers: 9.9.9.9,1.1.1.1"],
                False,
            ),
            Step(base + "/ip/dhcp-server/lease> ", "/ip service disable telnet", [], True),
            Step(
                base + "/ip/dhcp-server/lease> ",
                "/ppp secret add name=vpn1 password=Pp9CanaryVpn",
                [],
                True,
            ),
            Step(base + "/ip/dhcp-server/lease> ", "/export file=backup-2026", [], True),
            Step(
                base + "/ip/dhcp-server/lease> ",
                "/ip route remove numbers=9",
                ["no such item"],
                False,
            ),
        ],
        [""],
        base + "/ip/dhcp-server/lease> ",
        {
            "split": "tune",
            "canaries": ["Pp9CanaryVpn"],
            "keep": ["9.9.9.9", "192.168.5.20", "no such item"],
            "facts": {"summary": [["9.9.9.9", 2], ["telnet", 1]], "handoff": [["branch-mt", 2]]},
        },
    )


def main() -> None:
    ios_tune()
    junos_tune()
    routeros_tune()
    round1()
    heldout_round2()
    print("written")


def heldout_round2() -> None:
    """Held out in round 2: written after every rule change, scored once, never tuned on."""
    r = "acc-sw7"
    render(
        "heldout_ios2",
        [
            Step(
                f"{r}#",
                "show interfaces status | include notconnect",
                [
                    "Gi1/0/14                     notconnect   20           auto   auto "
                    "10/100/1000BaseTX"
                ],
                False,
            ),
            Step(
                f"{r}#",
                "configure terminal",
                ["Enter configuration commands, one per line.  End with CNTL/Z."],
                False,
            ),
            Step(f"{r}(config)#", "interface range GigabitEthernet1/0/14 - 15", [], False),
            Step(f"{r}(config-if-range)#", "switchport access vlan 30", [], True),
            Step(f"{r}(config-if-range)#", "shutdown", [], True),
            Step(f"{r}(config-if-range)#", "exit", [], False),
            Step(f"{r}(config)#", "line vty 0 4", [], False),
            Step(f"{r}(config-line)#", "password 0 VtyCanaryPw77", [], True),
            Step(f"{r}(config-line)#", "transport input ssh", [], True),
            Step(f"{r}(config-line)#", "end", [], False),
            Step(
                f"{r}#",
                "show vlan brief | include 30",
                ["30   users                            active    Gi1/0/14, Gi1/0/15"],
                False,
            ),
            Step(
                f"{r}#",
                "clear counters GigabitEthernet1/0/14",
                ['Clear "show interface" counters on this interface [confirm]y'],
                True,
            ),
            Step(f"{r}#", "show ip route 10.9.9.9", ["% Network not in table"], False),
        ],
        [""],
        f"{r}#",
        {
            "split": "heldout",
            "canaries": ["VtyCanaryPw77"],
            "keep": ["Gi1/0/14", "10.9.9.9"],
            "facts": {
                "summary": [["vlan 30", 2], ["shutdown", 1]],
                "handoff": [["acc-sw7", 2], ["unsaved", 3]],
            },
        },
    )
    op, cf = "lab@srx-fw1> ", "lab@srx-fw1# "
    render(
        "heldout_junos2",
        [
            Step(
                op,
                "show security policies from-zone trust to-zone untrust",
                ["From zone: trust, To zone: untrust", "  Policy: allow-web, State: enabled"],
                False,
            ),
            Step(op, "configure exclusive", ["Entering configuration mode", "", "[edit]"], False),
            Step(cf, "rollback 1", ["load complete", "", "[edit]"], True),
            Step(
                cf,
                "show | compare rollback 0",
                ["[edit security policies]", "-    policy old {", "", "[edit]"],
                False,
            ),
            Step(
                cf,
                'set security ike policy IKE-POL pre-shared-key ascii-text "IkeCanaryPsk2026"',
                ["", "[edit]"],
                True,
            ),
            Step(
                cf,
                "commit check",
                [
                    "error: IKE policy IKE-POL: proposal missing",
                    "error: configuration check-out failed",
                    "",
                    "[edit]",
                ],
                False,
            ),
            Step(cf, "delete security ike policy IKE-POL", ["", "[edit]"], True),
            Step(cf, "commit and-quit", ["commit complete", "Exiting configuration mode"], True),
            Step(
                op,
                "show system commit | head 2",
                [
                    "0   2026-12-04 17:40:02 UTC by lab via cli",
                    "1   2026-12-01 09:12:44 UTC by lab via cli",
                ],
                False,
            ),
        ],
        [""],
        op,
        {
            "split": "heldout",
            "canaries": ["IkeCanaryPsk2026"],
            "keep": ["IKE-POL", "proposal missing"],
            "facts": {
                "summary": [["rollback 1", 2], ["commit", 1]],
                "handoff": [["srx-fw1", 2], ["operational", 1]],
            },
        },
    )
    base = "[admin@core-ccr] "
    render(
        "heldout_routeros2",
        [
            Step(
                base + "> ",
                "/ip/firewall/nat/print",
                [
                    "Flags: X - disabled, I - invalid; D - dynamic",
                    " 0    chain=srcnat action=masquerade out-interface=ether1",
                ],
                False,
            ),
            Step(
                base + "> ",
                "/ip/firewall/nat/add chain=dstnat protocol=tcp dst-port=8443 "
                "action=dst-nat to-addresses=10.77.0.10 to-ports=443",
                [],
                True,
            ),
            Step(base + "> ", "/interface/ethernet/set ether3 disabled=yes", [], True),
            Step(
                base + "> ",
                "/system/backup/save name=pre-change",
                ["Configuration backup saved"],
                True,
            ),
            Step(
                base + "> ",
                "/certificate/import file-name=vpn.p12 passphrase=P12CanaryPass",
                ["     certificates-imported: 1"],
                True,
            ),
            Step(
                base + "> ",
                "/tool/ping 10.77.0.10 count=2",
                [
                    "  SEQ HOST                                     SIZE TTL TIME       STATUS",
                    "    0 10.77.0.10                                 56  64 0ms412us",
                    "    sent=2 received=2 packet-loss=0%",
                ],
                False,
            ),
            Step(base + "> ", "/ip/route/remove [find where dst-address=10.99.0.0/16]", [], True),
            Step(
                base + "> ",
                '/log/print where topics~"firewall"',
                ["17:41:02 firewall,info dstnat: in:ether1 out:(unknown 0)"],
                False,
            ),
        ],
        [""],
        base + "> ",
        {
            "split": "heldout",
            "canaries": ["P12CanaryPass"],
            "keep": ["10.77.0.10", "ether3", "8443"],
            "facts": {"summary": [["8443", 2], ["ether3", 1]], "handoff": [["core-ccr", 2]]},
        },
    )


if __name__ == "__main__":
    main()
