"""Redaction of secrets from any text bound for an AI provider, whole or as a stream of chunks.

The rules follow gitleaks' approach (a pattern per credential kind, a keyword anchor, an entropy
floor for generic values), written here rather than depending on a scanner: gitleaks and
trufflehog v3 are Go binaries, not on PyPI; detect-secrets 1.5 (last release 2024) scans files
line by line through global settings, has no network-device rules and no streaming mode.
What must survive: IPs, hostnames, paths, commands and error messages.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["CARRY_CHARS", "Finding", "StreamRedactor", "find_secrets", "redact"]

# A secret split across output chunks is held back until this much text follows it.
CARRY_CHARS = 256
# Held back at most this long waiting for a private key's END line; then it is cut anyway.
_MAX_HELD_CHARS = 64 * 1024
# Shannon entropy (bits per char) a generic assigned value needs to count as a secret;
# gitleaks' generic-api-key uses the same floor.
ENTROPY_FLOOR = 3.5


@dataclass(frozen=True)
class Finding:
    """A secret in a text: the span of the secret value and the rule that found it."""

    start: int
    end: int
    rule: str
    name: str  # what it is called where it was found (DB_PASSWORD), else the rule


_KEYWORDS = (
    r"pass(?:word|wd|phrase)?|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|"
    r"private[_-]?key|pre-?shared-?key|psk|credentials?|auth[_-]?key|client[_-]?secret|"
    r"community|session[_-]?key|signing[_-]?key|encryption-password|authentication-password|"
    r"wpa2?-pre-shared-key"
)
# (rule, pattern, 0 when the whole match is the secret, else 1: the named group s, c, k, i, u or b)
_RULES: list[tuple[str, re.Pattern[str], int]] = [
    (
        "private-key",
        re.compile(
            r"-----BEGIN[A-Z ]*PRIVATE KEY(?: BLOCK)?-----.*?(?:-----END[A-Z ]*PRIVATE KEY"
            r"(?: BLOCK)?-----|\Z)",
            re.S,
        ),
        0,
    ),
    ("aws-access-key-id", re.compile(r"\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b"), 0),
    ("github-token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_\w{22,})"), 0),
    ("gitlab-token", re.compile(r"\bglpat-[\w-]{20,}"), 0),
    ("slack-token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"), 0),
    ("slack-webhook", re.compile(r"hooks\.slack\.com/services/[\w/]+"), 0),
    ("openai-key", re.compile(r"\bsk-(?:proj-|ant-)?[A-Za-z0-9_-]{20,}"), 0),
    ("google-api-key", re.compile(r"\bAIza[\w-]{35}"), 0),
    ("stripe-key", re.compile(r"\b[rs]k_(?:live|test)_[A-Za-z0-9]{10,}"), 0),
    ("jwt", re.compile(r"\beyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]{8,}"), 0),
    ("bearer", re.compile(r"\b(?:Bearer|Basic)\s+(?P<s>[\w.~+/=-]{8,})"), 1),
    ("url-password", re.compile(r"[a-z][\w+.-]*://[^/\s:@]+:(?P<s>[^/\s@]+)@"), 1),
    # Cisco IOS: "enable secret 9 $9$...", "username u privilege 15 secret 5 $1$...",
    # "password 7 0822455D0A16", "snmp-server community S3cr3t RO", "key-string K", "key 7 X".
    (
        "ios-secret",
        re.compile(
            r"\b(?:secret|password|key)\s+[05789]\s+(?P<s>\S+)|"
            r"\bsnmp-server\s+community\s+(?P<c>\S+)|\bkey-string\s+(?:[07]\s+)?(?P<k>\S+)|"
            r"\bcrypto\s+isakmp\s+key\s+(?P<i>\S+)|\busername\s+\S+\s+(?:privilege\s+\d+\s+)?"
            r"(?:password|secret)\s+(?:[05789]\s+)?(?P<u>\S+)"
        ),
        1,
    ),
    # Junos: encrypted-password "$6$...", authentication-key "$9$...", secret "...",
    # pre-shared-key ascii-text "...", "set snmp community public".
    (
        "junos-secret",
        re.compile(
            r"\b(?:encrypted-password|authentication-key|secret|ascii-text|hexadecimal|"
            r"simple-password)\s+\"?(?P<s>[^\";\s]+)\"?|\bsnmp\s+community\s+(?P<c>[^\s;{]+)"
        ),
        1,
    ),
    # WireGuard: "PrivateKey = ...", `wg genkey` printing a bare key on its own line.
    (
        "wireguard-key",
        re.compile(
            r"\b(?:PrivateKey|PresharedKey|private-key|preshared-key)\s*[=:]\s*\"?"
            r"(?P<s>[A-Za-z0-9+/]{42,43}=)|^(?P<b>[A-Za-z0-9+/]{42,43}=)$",
            re.M,
        ),
        1,
    ),
    # Keyword assignments: DB_PASSWORD=..., password: ..., --token X, -p'...', secret=...
    (
        "assignment",
        re.compile(
            r"(?P<name>[\w.-]*(?:" + _KEYWORDS + r")[\w.-]*)"
            r"(?:\s*[=:]\s*|\s+(?=['\"]))(?P<q>['\"])?(?P<s>(?(q)[^'\"\n]+|[^\s'\",;]+))",
            re.I,
        ),
        1,
    ),
    (
        "flag",
        re.compile(
            r"(?:^|\s)--?(?P<name>(?:" + _KEYWORDS + r")[\w-]*)[ =](?P<q>['\"])?"
            r"(?P<s>(?(q)[^'\"\n]+|[^\s'\"]+))",
            re.I,
        ),
        1,
    ),
    # Generic high-entropy values assigned to any name: KEY=Zm9vYmFyYmF6cXV4... (mixed classes).
    (
        "high-entropy",
        re.compile(r"(?P<name>\b[A-Za-z_][\w.-]*)\s*[=:]\s*(?P<q>['\"])?(?P<s>[\w+/.=-]{20,})"),
        1,
    ),
]
# Values a keyword rule must not eat: they tell what happened without being secrets.
_NOT_SECRET = re.compile(
    r"^(?:\*+|x+|<[^>]*>|\$\{?\w+\}?|true|false|yes|no|none|null|required|optional|"
    r"for|is|was|to|the|of|and|not|incorrect|denied|failed|expired|changed|updated|authentication|"
    r"prompt|file|read|write|\d{1,4}|[A-Z]{1,3}|\(?redacted[^)]*\)?)$",
    re.I,
)
_PLACEHOLDER = re.compile(r"<redacted:[\w.-]+>")


def _entropy(text: str) -> float:
    counts = Counter(text)
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def _mixed(text: str) -> bool:
    classes = sum(
        (
            any(c.islower() for c in text),
            any(c.isupper() for c in text),
            any(c.isdigit() for c in text),
        )
    )
    return classes >= 3 or (classes == 2 and len(text) >= 32)


def _secret_span(rule: str, m: re.Match[str], group: int) -> tuple[int, int] | None:
    if group == 0:
        return m.span()
    span = next(
        (
            (m.start(g), m.end(g))
            for g in ("s", "c", "k", "i", "u", "b")
            if g in m.re.groupindex and m.group(g) is not None
        ),
        None,
    )
    if span is None:
        return None
    value = m.string[span[0] : span[1]]
    if _NOT_SECRET.match(value) or _PLACEHOLDER.fullmatch(value):
        return None
    if rule == "high-entropy" and not (_entropy(value) >= ENTROPY_FLOOR and _mixed(value)):
        return None
    if rule == "high-entropy" and ("/" in value and value.count("/") > 2):  # a path
        return None
    return span


# gitleaks-style keyword prefilter: text with none of these cannot match any rule above, so
# the rules are not run on it (most terminal output).
_PREFILTER = re.compile(
    r"(?i:key|pass|pwd|secret|token|credential|community|psk|auth|begin|akia|asia|abia|acca|"
    r"gh[pousr]_|github_pat|glpat|xox|sk-|aiza|[rs]k_|eyj|://|bearer|basic)|"
    r"[=:]\s*['\"]?[\w+/.=-]{20}|^[A-Za-z0-9+/]{42,43}=$",
    re.M,
)


def find_secrets(text: str) -> list[Finding]:
    """Every secret found in `text`, as non-overlapping spans in order."""
    if _PREFILTER.search(text) is None:
        return []
    found: list[Finding] = []
    for rule, pattern, group in _RULES:
        for m in pattern.finditer(text):
            span = _secret_span(rule, m, group)
            if span is None or span[0] == span[1]:
                continue
            name = rule
            if "name" in pattern.groupindex and m.group("name"):
                name = m.group("name").lstrip("-")
            found.append(Finding(span[0], span[1], rule, name))
    found.sort(key=lambda f: (f.start, -f.end))
    merged: list[Finding] = []
    for f in found:
        if merged and f.start < merged[-1].end:
            last = merged[-1]
            if f.end > last.end:
                merged[-1] = Finding(last.start, f.end, last.rule, last.name)
            continue
        merged.append(f)
    return merged


def _placeholder(finding: Finding) -> str:
    name = re.sub(r"[^\w.-]", "", finding.name)[:40] or finding.rule
    return f"<redacted:{name}>"


def redact(text: str) -> str:
    """`text` with every secret value replaced by `<redacted:NAME>`."""
    return "".join(_pieces(text, find_secrets(text)))


def _pieces(text: str, findings: list[Finding]) -> Iterator[str]:
    pos = 0
    for f in findings:
        yield text[pos : f.start]
        # A multi-line secret keeps its line count, so text stays aligned with its lines.
        yield _placeholder(f) + "\n" * text.count("\n", f.start, f.end)
        pos = f.end
    yield text[pos:]


class StreamRedactor:
    """Redacts a stream of chunks, holding back a tail so a secret split across chunks is seen
    whole.

    `feed()` returns the redacted text that is safe to pass on; `flush()` the rest at the end.
    """

    def __init__(self, carry_chars: int = CARRY_CHARS) -> None:
        self._carry = carry_chars
        self._held = ""

    def feed(self, chunk: str) -> str:
        """Take the next chunk; returns redacted text that no later chunk can change."""
        text = self._held + chunk
        cut = len(text) - self._carry
        if cut <= 0:
            self._held = text
            return ""
        findings = find_secrets(text)
        for f in findings:
            if f.start < cut < f.end or (
                f.rule == "private-key" and f.end == len(text) and f.start < cut
            ):
                cut = f.start
        begin = text.rfind("-----BEGIN", 0, cut)
        if (
            begin != -1
            and "PRIVATE KEY" in text[begin : begin + 60]
            and "-----END" not in text[begin:cut]
            and len(text) - begin < _MAX_HELD_CHARS
        ):
            cut = begin
        # Cut at a line start when one is near: a keyword's value cannot span lines.
        newline = text.rfind("\n", max(0, cut - self._carry), cut)
        if newline != -1:
            cut = newline + 1
        if cut <= 0:
            self._held = text
            return ""
        self._held = text[cut:]
        return "".join(_pieces(text[:cut], [f for f in findings if f.end <= cut]))

    def flush(self) -> str:
        """The held-back tail, redacted."""
        text, self._held = self._held, ""
        return redact(text)
