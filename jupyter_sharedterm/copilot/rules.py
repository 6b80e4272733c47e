"""Whether a command changed state, and the rule that decided it.

Rules per program, subcommand and flag for Linux shells (in the spirit of Codex's
`is_safe_command`: unknown means "unknown", never a guess), and per mode for network devices
(IOS configuration mode and `write memory`, Junos candidate edits and `commit` vs
`commit check`, RouterOS verbs). A command that failed, or whose confirmation was answered
"no", changed nothing.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from .transcript import Command

__all__ = ["Verdict", "classify", "failure_of"]


@dataclass(frozen=True)
class Verdict:
    """The classification of one command.

    Attributes:
        changes_state: True / False, or None when no rule knows the program.
        rule: a short human-readable reason ("systemctl restart changes a service").
        failed: the command failed (exit status or an error the system printed).
    """

    changes_state: bool | None
    rule: str
    failed: bool = False

    @property
    def label(self) -> str:
        """`changes`, `read-only` or `unknown`."""
        return {True: "changes", False: "read-only", None: "unknown"}[self.changes_state]


def _set(words: str) -> frozenset[str]:
    return frozenset(words.split())


_CHANGE = True
_READ = False

# --- failure and refusal -------------------------------------------------------------------

_DEVICE_ERRORS = {
    "ios": re.compile(
        r"^\s*% ?(Invalid input|Incomplete command|Ambiguous command|Unknown command|"
        r"Bad mask|Invalid|Error)",
        re.I,
    ),
    "junos": re.compile(
        r"^\s*(error:|syntax error|unknown command|missing argument|"
        r"commit failed|configuration check-out failed)",
        re.I,
    ),
    "routeros": re.compile(
        r"^\s*(failure:|bad command name|syntax error|expected end of command|"
        r"input does not match|no such item|invalid value|ambiguous value|"
        r"expected command name)",
        re.I,
    ),
}
_SHELL_ERROR = re.compile(
    r"^(?:\S+: )?(?:.*: )?(?:command not found|No such file or directory|Permission denied|"
    r"Operation not permitted)\b|: command not found$|: (?:cannot|can't|invalid|unrecognized) |"
    r"^(?:E|Error|error|fatal|FATAL|ERROR)(?:\[\w+\])?: |^Error from server|^Failed to |"
    r"^Job for \S+ failed|^sudo: .*incorrect password|^Unit \S+ not found"
)
# "Do you want to continue? [Y/n] n", IOS "Reset ALL OSPF processes? [no]: no",
# "Reboot, yes? [y/N]: n", "Proceed with reload? [confirm]n",
# "Reboot the system ? [yes,no] (no) no", terraform's "Enter a value: no".
_QUESTION = re.compile(
    r"(?:[?:]\s*(?:[\[(](?:[yY]/[nN]|yes[/,]no|confirm)[\])])(?:\s*\(no\))?:?|"
    r"Enter a value:|\?(?:\s*\[no\]:?)?)"
    r"\s*(?P<answer>\S*)\s*$"
)
_REFUSED = re.compile(
    r"^\s*(?:Abort(?:ed)?\.?|Apply cancelled\.?|Destroy cancelled\.?|"
    r"action cancelled|Reload cancelled)\s*$",
    re.I,
)


def failure_of(command: Command) -> str | None:
    """Why the command failed or was refused, or None if nothing says so."""
    if command.exit_status not in (None, 0):
        return f"exit status {command.exit_status}"
    errors = _DEVICE_ERRORS.get(command.dialect)
    for line in command.output[:40]:
        text = line.text
        q = _QUESTION.search(text)
        if q and q["answer"].lower() in ("n", "no"):
            return f"confirmation answered no: {text.strip()!r}"
        if _REFUSED.match(text):
            return f"the program cancelled: {text.strip()!r}"
        if errors is not None and errors.match(text):
            return f"the device refused it: {text.strip()!r}"
        if command.dialect == "shell" and command.exit_status is None and _SHELL_ERROR.search(text):
            return f"error printed: {text.strip()!r}"
    return None


# --- Linux shells ----------------------------------------------------------------------------

_READ_ONLY = _set(
    "cat cd cut echo expr grep egrep fgrep zgrep head id ls ll la nl paste pwd rev seq stat "
    "tail tr uname uniq wc which whoami whereis type file df du free uptime ps top htop less "
    "more most man info date cal hostname ping ping6 traceroute tracepath mtr dig nslookup "
    "host whois journalctl dmesg lsblk lsof lscpu lsmod lspci lsusb env printenv history "
    "clear exit logout diff cmp sort awk gawk test true false sleep sha256sum sha1sum md5sum "
    "base64 jq yq tree realpath basename dirname readlink column fold fmt printf w who last "
    "groups getent nproc arch locale watch ss netstat ifconfig route arp ssh telnet mosh "
    "screen tmux su vmstat iostat sar strace ltrace openssl tcpdump nmap zcat xxd hexdump od "
    "strings time nc source alias unalias export set unset declare read wait jobs fg bg pgrep "
    "curl wget"
)
_CHANGING = {
    "rm": "rm deletes files",
    "rmdir": "rmdir deletes directories",
    "mv": "mv moves files",
    "cp": "cp writes files",
    "mkdir": "mkdir creates directories",
    "touch": "touch creates or updates files",
    "chmod": "chmod changes permissions",
    "chown": "chown changes ownership",
    "chgrp": "chgrp changes ownership",
    "ln": "ln creates links",
    "dd": "dd writes data",
    "truncate": "truncate changes a file",
    "shred": "shred destroys a file",
    "mkfs": "mkfs creates a file system",
    "mount": "mount changes mounts",
    "umount": "umount changes mounts",
    "kill": "kill signals processes",
    "pkill": "pkill signals processes",
    "killall": "killall signals processes",
    "reboot": "reboot restarts the machine",
    "shutdown": "shutdown stops the machine",
    "poweroff": "poweroff stops the machine",
    "halt": "halt stops the machine",
    "useradd": "useradd creates a user",
    "usermod": "usermod changes a user",
    "userdel": "userdel deletes a user",
    "groupadd": "groupadd creates a group",
    "passwd": "passwd changes a password",
    "chpasswd": "chpasswd changes passwords",
    "install": "install writes files",
    "patch": "patch changes files",
    "tee": "tee writes files",
    "unzip": "unzip writes files",
    "gunzip": "gunzip replaces files",
    "gzip": "gzip replaces files",
    "rsync": "rsync writes files",
    "scp": "scp copies files",
    "make": "make builds files",
    "update-alternatives": "update-alternatives changes links",
    "ufw": "ufw changes the firewall",
    "modprobe": "modprobe loads kernel modules",
    "swapoff": "swapoff changes swap",
    "swapon": "swapon changes swap",
    "certbot": "certbot changes certificates",
    "logrotate": "logrotate rotates logs",
}
_WRAPPERS = frozenset({"sudo", "doas", "nohup", "nice", "ionice", "time", "stdbuf", "command"})
_EDITORS = frozenset({"vim", "vi", "nvim", "nano", "emacs", "pico", "ed", "mcedit", "sudoedit"})
_DRY_RUN = re.compile(
    r"^(?:--dry-run(?:=\S+)?|-n|--simulate|-s|--just-print|--check|--noop|"
    r"--what-if|--plan)$"
)

# program -> (read-only subcommands, changing subcommands); anything else is unknown.
_SUBCOMMANDS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "systemctl": (
        _set(
            "status show cat list-units list-unit-files list-timers list-sockets is-active "
            "is-enabled is-failed help"
        ),
        _set(
            "start stop restart reload try-restart reload-or-restart enable disable mask "
            "unmask daemon-reload edit kill reset-failed set-property isolate set-default"
        ),
    ),
    "service": (frozenset({"status"}), frozenset({"start", "stop", "restart", "reload"})),
    "apt": (
        _set("list show search policy depends rdepends changelog"),
        _set("install remove purge upgrade full-upgrade dist-upgrade update autoremove reinstall"),
    ),
    "git": (
        _set(
            "status log diff show blame shortlog describe ls-files ls-remote grep rev-parse "
            "reflog whatchanged"
        ),
        _set(
            "commit push pull merge rebase reset checkout switch restore add rm mv stash "
            "cherry-pick revert clone init apply am fetch clean gc"
        ),
    ),
    "docker": (
        _set("ps images inspect logs top version info stats history events port diff search"),
        _set(
            "run rm rmi stop start restart kill create pull push build tag commit cp rename "
            "update pause unpause prune load import"
        ),
    ),
    "kubectl": (
        _set("get describe logs top version explain api-resources cluster-info diff auth wait"),
        _set(
            "apply create delete scale patch edit label annotate cordon uncordon drain "
            "replace expose set autoscale taint cp"
        ),
    ),
    "terraform": (
        _set("plan validate show output fmt graph providers version state-list console"),
        _set("apply destroy import taint untaint refresh"),
    ),
    "helm": (
        _set("list ls status get history search show template lint version diff"),
        _set("install upgrade uninstall delete rollback"),
    ),
    "ip": (
        _set("show list ls get"),
        _set("add del delete set change replace flush append"),
    ),
    "nmcli": (
        _set("show status list monitor"),
        _set("up down modify mod add delete del reload connect disconnect"),
    ),
    "hostnamectl": (frozenset({"status"}), frozenset({"set-hostname", "hostname"})),
    "timedatectl": (
        frozenset({"status", "show", "list-timezones"}),
        frozenset({"set-time", "set-timezone", "set-ntp", "set-local-rtc"}),
    ),
    "crontab": (frozenset({"-l"}), frozenset({"-e", "-r"})),
    "snap": (frozenset({"list", "info", "find"}), frozenset({"install", "remove", "refresh"})),
}
for _alias, _base in (
    ("apt-get", "apt"),
    ("dnf", "apt"),
    ("yum", "apt"),
    ("zypper", "apt"),
    ("podman", "docker"),
    ("oc", "kubectl"),
):
    _SUBCOMMANDS[_alias] = _SUBCOMMANDS[_base]
_PIP_LIKE = frozenset({"pip", "pip3", "npm", "yarn", "pnpm", "gem", "cargo", "conda"})
_CLOUD = frozenset({"aws", "gcloud", "az", "doctl", "hcloud", "openstack"})
_CLOUD_READ = re.compile(r"^(describe|list|get|show|ls|head|wait|help|version|whoami)(-|$)")
_CLOUD_CHANGE = re.compile(
    r"^(create|delete|put|update|modify|run|start|stop|terminate|reboot|attach|detach|set|"
    r"add|remove|tag|untag|cp|mv|rm|sync|mb|rb|deploy|apply|enable|disable|import|restore|"
    r"invoke|publish|send|associate|disassociate|register|deregister|scale|resize|upload)(-|$)"
)
_REDIRECT = re.compile(r"^(?:\d?>>?|&>>?|>\|)(?P<file>.*)$")
_SEPARATORS = frozenset({"&&", "||", ";", "|", "&", "\n", "|&", "(", ")"})


def _words(text: str) -> list[list[str]]:
    """Split a shell line into simple commands (pipelines and lists split apart)."""
    lexer = shlex.shlex(text.replace("\\\n", " "), posix=True, punctuation_chars=";&|()<>")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    parts: list[list[str]] = [[]]
    try:
        tokens = list(lexer)
    except ValueError:  # an unclosed quote: fall back to plain words
        tokens = text.split()
    for token in tokens:
        if token in _SEPARATORS or (set(token) <= set(";&|()") and token):
            parts.append([])
        else:
            parts[-1].append(token)
    return [p for p in parts if p]


def _redirect_target(words: list[str]) -> str | None:
    """A file written by `>`/`>>` (not /dev/null, not a descriptor dup)."""
    for i, word in enumerate(words):
        if word in (">", ">>", ">|", "&>", "&>>") or re.fullmatch(r"\d>>?", word):
            target = words[i + 1] if i + 1 < len(words) else ""
            if target.startswith("&"):
                continue
            if target and target not in ("/dev/null", "/dev/stderr", "/dev/stdout"):
                return target
        m = _REDIRECT.match(word)
        if (
            m
            and m["file"]
            and not m["file"].startswith("&")
            and word[0] in "0123456789>&"
            and m["file"] not in ("/dev/null", "/dev/stderr", "/dev/stdout")
        ):
            return m["file"]
    return None


def _strip(words: list[str]) -> list[str]:
    """Drop wrappers (`sudo`, `nohup`...), their options, and leading `VAR=value` words."""
    i = 0
    while i < len(words):
        word = words[i]
        if re.fullmatch(r"[A-Za-z_]\w*=.*", word):
            i += 1
        elif word in _WRAPPERS:
            i += 1
            while i < len(words) and words[i].startswith("-"):
                i += 2 if words[i] in ("-u", "-g") else 1
        elif word == "env":
            i += 1
        else:
            break
    return words[i:]


def _classify_simple(words: list[str], command: Command) -> Verdict:
    if (target := _redirect_target(words)) is not None:
        return Verdict(_CHANGE, f"output redirected into {target}")
    words = [w for w in words if w not in ("<", ">", ">>")]
    words = _strip(words)
    if not words:
        return Verdict(_READ, "only sets shell variables")
    program = words[0].rsplit("/", 1)[-1]
    args = words[1:]
    if any(_DRY_RUN.match(a) for a in args) and (
        program in _SUBCOMMANDS
        or program in _CLOUD
        or program in _PIP_LIKE
        or program in ("rsync", "make", "ansible-playbook", "ansible")
    ):
        return Verdict(_READ, f"{program} with a dry-run flag changes nothing")
    if program in _EDITORS:
        if command.wrote_files:
            return Verdict(_CHANGE, f"{program} wrote {', '.join(command.wrote_files)}")
        return Verdict(_READ, f"{program} closed without writing a file")
    if program == "sed":
        if any(a == "-i" or a.startswith(("-i", "--in-place")) for a in args):
            return Verdict(_CHANGE, "sed -i edits files in place")
        return Verdict(_READ, "sed without -i only prints")
    if program in ("perl", "awk", "gawk") and any(a.startswith("-i") for a in args):
        return Verdict(_CHANGE, f"{program} -i edits files in place")
    if program == "find":
        for a in args:
            if a in ("-delete", "-exec", "-execdir", "-ok", "-okdir") or a.startswith("-fprint"):
                return Verdict(_CHANGE, f"find {a} acts on the files it finds")
        return Verdict(_READ, "find only lists files")
    if program == "curl":
        if any(a in ("-o", "-O", "--output", "--remote-name", "-T", "--upload-file") for a in args):
            return Verdict(_CHANGE, "curl saves or uploads a file")
        method = next(
            (args[i + 1] for i, a in enumerate(args[:-1]) if a in ("-X", "--request")), ""
        )
        if method.upper() in ("POST", "PUT", "PATCH", "DELETE") or any(
            a in ("-d", "--data", "--data-raw", "--json", "-F", "--form") for a in args
        ):
            return Verdict(_CHANGE, "curl sends a request that can change the server")
        return Verdict(_READ, "curl fetches to the terminal")
    if program == "wget":
        if any(a in ("--spider", "-O-") for a in args) or ("-O" in args and "-" in args):
            return Verdict(_READ, "wget without saving a file")
        return Verdict(_CHANGE, "wget saves a file")
    if program == "tar":
        flags = args[0] if args else ""
        if "t" in flags.lstrip("-") and not any(c in flags for c in "cxru"):
            return Verdict(_READ, "tar -t only lists an archive")
        return Verdict(_CHANGE, "tar writes an archive or extracts files")
    if program == "sysctl":
        if "-w" in args or any("=" in a for a in args) or "-p" in args:
            return Verdict(_CHANGE, "sysctl sets kernel parameters")
        return Verdict(_READ, "sysctl only reads kernel parameters")
    if program in ("iptables", "ip6tables", "nft"):
        if any(
            a
            in (
                "-A",
                "-I",
                "-D",
                "-R",
                "-F",
                "-P",
                "-N",
                "-X",
                "-Z",
                "add",
                "delete",
                "flush",
                "insert",
                "replace",
                "create",
            )
            for a in args
        ):
            return Verdict(_CHANGE, f"{program} changes firewall rules")
        if any(a in ("-L", "-S", "list", "--list") or a.startswith("-L") for a in args):
            return Verdict(_READ, f"{program} only lists rules")
    if program == "git" and args[:1] == ["branch"]:
        if any(a in ("-d", "-D", "-m", "-M", "-c", "--delete", "--move") for a in args[1:]) or [
            a for a in args[1:] if not a.startswith("-")
        ]:
            return Verdict(_CHANGE, "git branch creates, renames or deletes a branch")
        return Verdict(_READ, "git branch lists branches")
    if program == "git" and args[:1] == ["stash"]:
        if args[1:2] in (["list"], ["show"]):
            return Verdict(_READ, f"git stash {args[1]} only reads")
        return Verdict(_CHANGE, "git stash saves or restores changes")
    if program == "git" and args[:1] == ["config"]:
        values = [a for a in args[1:] if not a.startswith("-")]
        if "--get" in args or "--list" in args or "-l" in args or len(values) < 2:
            return Verdict(_READ, "git config reads a setting")
        return Verdict(_CHANGE, "git config sets a setting")
    if program in _SUBCOMMANDS:
        reads, changes = _SUBCOMMANDS[program]
        positional = [a for a in args if not a.startswith("-")] if program != "crontab" else args
        if program == "ip":
            positional = positional[1:] if positional else []  # "ip addr add": skip the object
            if not positional:
                return Verdict(_READ, "ip without a verb shows")
        for word in positional[:2] if program == "ip" else positional[:1]:
            if word in changes:
                return Verdict(_CHANGE, f"{program} {word} changes state")
            if word in reads:
                return Verdict(_READ, f"{program} {word} only reads")
        if program == "crontab" and args and not args[0].startswith("-"):
            return Verdict(_CHANGE, "crontab FILE installs a crontab")
        if program in ("systemctl", "ip", "hostnamectl", "timedatectl") and not positional:
            return Verdict(_READ, f"{program} without a verb shows status")
        return Verdict(None, f"{program} {' '.join(positional[:1])}: no rule for this subcommand")
    if program in _PIP_LIKE:
        sub = next((a for a in args if not a.startswith("-")), "")
        if sub in ("install", "uninstall", "remove", "update", "upgrade", "add", "ci", "create"):
            return Verdict(_CHANGE, f"{program} {sub} changes installed packages")
        if sub in ("list", "show", "freeze", "search", "ls", "info", "view", "outdated", "check"):
            return Verdict(_READ, f"{program} {sub} only reads")
        return Verdict(None, f"{program} {sub}: no rule for this subcommand")
    if program in _CLOUD:
        for word in (a for a in args if not a.startswith("-")):
            if _CLOUD_CHANGE.match(word):
                return Verdict(_CHANGE, f"{program} {word} changes cloud resources")
            if _CLOUD_READ.match(word):
                return Verdict(_READ, f"{program} {word} only reads")
        return Verdict(None, f"{program}: no rule for this call")
    if program in _CHANGING:
        return Verdict(_CHANGE, _CHANGING[program])
    if program in _READ_ONLY:
        return Verdict(_READ, f"{program} only reads")
    return Verdict(None, f"{program}: unknown program")


def _classify_shell(command: Command) -> Verdict:
    first_line = command.text.split("\n", 1)[0]
    heredoc = "\n" in command.text and "<<" in first_line
    parts = _words(first_line if heredoc else command.text)
    verdicts = [_classify_simple(p, command) for p in parts]
    if not verdicts:
        return Verdict(_READ, "empty")
    changing = [v for v in verdicts if v.changes_state]
    if changing:
        return changing[0]
    unknown = [v for v in verdicts if v.changes_state is None]
    if unknown:
        return unknown[0]
    return verdicts[0] if len(verdicts) == 1 else Verdict(_READ, "every part only reads")


# --- network devices --------------------------------------------------------------------------

_IOS_EXEC_READ = re.compile(
    r"^(sh(o(w)?)?|ping|traceroute|trace|en(a(b(le?)?)?)?|disable|exit|logout|quit|dir|more|"
    r"verify|term(inal)?|who|show|telnet|ssh|conf(ig(ure)?)?( t(erminal)?)?|end)\b",
    re.I,
)
_IOS_PERSIST = re.compile(r"^(wr(ite)?( mem(ory)?)?|copy\s+run\S*\s+start\S*)\s*$", re.I)
_IOS_EXEC_CHANGE = re.compile(
    r"^(wr(i(te?)?)?|copy|reload|clear|debug|undebug|delete|erase|"
    r"format|squeeze|send|crypto key)\b",
    re.I,
)
_IOS_CONFIG_READ = re.compile(r"^(do\s+sh|exit|end|interface|int|line|show|\?)\b", re.I)


def _classify_ios(command: Command) -> Verdict:
    text = command.text.strip()
    if command.privilege.startswith("config"):
        if re.match(r"^do\s+", text, re.I):
            inner = re.sub(r"^do\s+", "", text, flags=re.I)
            if _IOS_PERSIST.match(inner) or _IOS_EXEC_CHANGE.match(inner):
                return Verdict(_CHANGE, f"do {inner.split()[0]} from configuration mode")
            return Verdict(_READ, "do show from configuration mode only reads")
        if _IOS_CONFIG_READ.match(text):
            return Verdict(_READ, "moves between configuration modes")
        return Verdict(_CHANGE, "a configuration-mode command changes the running config")
    if _IOS_PERSIST.match(text):
        return Verdict(_CHANGE, "saves the running config to startup (write memory)")
    if _IOS_EXEC_CHANGE.match(text):
        return Verdict(_CHANGE, f"{text.split()[0]} in exec mode changes the device")
    if _IOS_EXEC_READ.match(text):
        return Verdict(_READ, f"{text.split()[0]} only reads or moves between modes")
    return Verdict(None, f"{text.split()[0]}: no rule for this IOS command")


_JUNOS_CANDIDATE = re.compile(
    r"^(set|delete|deactivate|activate|rename|insert|replace|copy|"
    r"annotate|load|rollback|protect|unprotect|wildcard)\b"
)
_JUNOS_CONFIG_READ = re.compile(
    r"^(show|edit|top|up|exit|quit|run\s+show|run\s+ping|status|"
    r"help|compare|run\s+monitor)\b"
)
_JUNOS_OP_READ = re.compile(
    r"^(show|ping|traceroute|monitor|help|file\s+(show|list)|"
    r"configure|edit|exit|quit|set\s+cli|telnet|ssh)\b"
)
_JUNOS_OP_CHANGE = re.compile(r"^(request|clear|restart|file\s+(delete|copy|rename)|start)\b")


def _classify_junos(command: Command) -> Verdict:
    text = command.text.strip()
    if command.privilege == "configuration":
        if re.match(r"^commit\s+check\b", text) or "| compare" in text:
            return Verdict(_READ, "commit check / show | compare only validate")
        if re.match(r"^commit\b", text):
            if "confirmed" in text:
                return Verdict(
                    _CHANGE,
                    "commit confirmed activates the candidate (rolls back unless confirmed)",
                )
            return Verdict(_CHANGE, "commit activates the candidate configuration")
        if _JUNOS_CANDIDATE.match(text):
            return Verdict(_CHANGE, f"{text.split()[0]} changes the candidate configuration")
        if _JUNOS_CONFIG_READ.match(text):
            return Verdict(_READ, f"{text.split()[0]} only reads or navigates")
        return Verdict(None, f"{text.split()[0]}: no rule for this Junos command")
    if "| compare" in text:
        return Verdict(_READ, "show | compare only reads")
    if _JUNOS_OP_READ.match(text):
        return Verdict(_READ, f"{text.split()[0]} only reads or changes mode")
    if _JUNOS_OP_CHANGE.match(text):
        return Verdict(_CHANGE, f"{text.split()[0]} acts on the device")
    return Verdict(None, f"{text.split()[0]}: no rule for this Junos command")


_ROS_CHANGE = _set(
    "add set remove enable disable unset reset comment move edit import reboot shutdown "
    "reset-configuration save load upgrade downgrade make-static flush release renew"
)
_ROS_READ = _set(
    "print export monitor find get ping traceroute monitor-traffic torch bandwidth-test "
    "check-for-updates .."
)


def _classify_routeros(command: Command) -> Verdict:
    text = command.text.strip()
    head = re.split(r"\s\S+=|\s\[|\s\"", " " + text, maxsplit=1)[0].strip()
    words = [w for w in re.split(r"[\s/]+", head) if w]
    verb = next((w for w in reversed(words) if w in _ROS_CHANGE or w in _ROS_READ), None)
    if "export" in words and "file" in text:
        return Verdict(_CHANGE, "export file= writes a file on the router")
    if verb in _ROS_CHANGE:
        return Verdict(_CHANGE, f"RouterOS {verb} changes the configuration")
    if verb in _ROS_READ:
        return Verdict(_READ, f"RouterOS {verb} only reads")
    if not text or (text.startswith(("/", "..")) and verb is None and "=" not in text):
        return Verdict(_READ, "changes the menu only")
    if words and words[0] in ("quit", "exit"):
        return Verdict(_READ, "ends the session")
    return Verdict(None, f"{words[0] if words else text}: no rule for this RouterOS command")


def classify(command: Command) -> Verdict:
    """Decide whether a command changed state, and why.

    A failed or refused command changed nothing, whatever it would have done.
    """
    if command.dialect == "ios":
        verdict = _classify_ios(command)
    elif command.dialect == "junos":
        verdict = _classify_junos(command)
    elif command.dialect == "routeros":
        verdict = _classify_routeros(command)
    else:
        verdict = _classify_shell(command)
    failure = failure_of(command)
    if failure is not None:
        if verdict.changes_state is False:
            return Verdict(_READ, verdict.rule, failed=True)
        return Verdict(_READ, f"{failure}: changed nothing ({verdict.rule})", failed=True)
    return verdict
