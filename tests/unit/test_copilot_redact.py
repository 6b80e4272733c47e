"""The redactor: secrets out, the text people need kept; a stream split anywhere leaks nothing."""

from __future__ import annotations

import pytest

from jupyter_sharedterm.copilot.redact import StreamRedactor, find_secrets, redact

SECRETS = [
    ("export AWS_ACCESS_KEY_ID=AKIAQWERTYUIOPASDFGH", "AKIAQWERTYUIOPASDFGH"),
    ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY", "wJalrXUtnFEMI"),
    ("token ghp_0123456789abcdefghijABCDEFGHIJklmnopqr", "ghp_0123456789abcdefghij"),
    ("git clone https://deploy:S3cretPass@git.example.test/r.git", "S3cretPass"),
    ("mysql -u root --password=hunter22 -h 10.0.0.5", "hunter22"),
    ("export DB_PASSWORD='Zx9!hunter2'", "Zx9!hunter2"),
    ("curl -H 'Authorization: Bearer eyAbCdEf0123456789'", "eyAbCdEf0123456789"),
    ("enable secret 9 $9$abcdEFGH1234$xyzXYZ", "$9$abcdEFGH1234$xyzXYZ"),
    ("username admin privilege 15 secret 5 $1$mERr$hx5rVt7rPNoS4", "$1$mERr$hx5rVt7rPNoS4"),
    ("snmp-server community N0tPublic RO", "N0tPublic"),
    ("tacacs-server key 7 0822455D0A16", "0822455D0A16"),
    ('set system root-authentication encrypted-password "$6$abc$defGHI"', "$6$abc$defGHI"),
    ("set snmp community Sn1p authorization read-only", "Sn1p"),
    ("/user add name=ops password=Winter2026! group=full", "Winter2026!"),
    ("PrivateKey = yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=", "yAnz5TF+lXXJte14tji3zl"),
    ("API_KEY=Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA", "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA"),
    (
        "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjE\n"
        "-----END OPENSSH PRIVATE KEY-----",
        "b3BlbnNzaC1rZXktdjE",
    ),
]
KEPT = [
    "ls: cannot access '/nonexistent-dir': No such file or directory",
    "ip addr add 10.0.0.1/24 dev eth0",
    "ssh ops@web1.example.test",
    "Permission denied (publickey,password).",
    "sudo: 3 incorrect password attempts",
    "[sudo] password for ops:",
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin",
    "commit 85337bc4f0e2d1aa94c3b6e1f0a2b3c4d5e6f708",
    "GigabitEthernet0/1     10.20.0.1       YES manual up                    up",
    "% Invalid input detected at '^' marker.",
    "[admin@MikroTik] /ip/address> print",
    "Password: ",
]


@pytest.mark.parametrize(("text", "secret"), SECRETS)
def test_secrets_are_replaced_by_named_placeholders(text: str, secret: str) -> None:
    out = redact(text)
    assert secret not in out
    assert "<redacted:" in out


@pytest.mark.parametrize("text", KEPT)
def test_ips_hosts_paths_commands_and_errors_survive(text: str) -> None:
    assert redact(text) == text


def test_redaction_keeps_the_rest_of_the_line() -> None:
    assert redact("mysql -u root --password=hunter22 -h 10.0.0.5") == (
        "mysql -u root --password=<redacted:password> -h 10.0.0.5"
    )


def test_a_multiline_secret_keeps_the_line_count() -> None:
    text = SECRETS[-1][0] + "\nafter"
    assert redact(text).count("\n") == text.count("\n")


def test_redaction_is_idempotent() -> None:
    for text, _ in SECRETS:
        once = redact(text)
        assert redact(once) == once
        assert find_secrets(once) == []


@pytest.mark.parametrize("carry", [256, 64])
def test_a_stream_split_anywhere_leaks_no_secret(carry: int) -> None:
    secret = "ghp_k3YQ8ZpW1xR4tL9mVb2N6cJ0sDfH5aGu7eI3oQ"
    key = (
        "-----BEGIN PRIVATE KEY-----\r\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCanary\r\n"
        "-----END PRIVATE KEY-----"
    )
    text = "x" * 300 + f"\r\ntoken={secret}\r\n" + "y" * 50 + "\r\n" + key + "\r\nok 10.0.0.1\r\n"
    for cut in range(1, len(text)):
        stream = StreamRedactor(carry)
        out = stream.feed(text[:cut]) + stream.feed(text[cut:]) + stream.flush()
        assert secret not in out and "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCanary" not in out, cut
        assert "ok 10.0.0.1" in out and out.startswith("x" * 300)


def test_a_stream_fed_byte_by_byte_equals_the_whole_text_redacted() -> None:
    text = "a line\nexport DB_PASSWORD=Zx9hunter2canary\nanother line with 10.1.2.3\n"
    stream = StreamRedactor()
    out = "".join(stream.feed(c) for c in text) + stream.flush()
    assert out == redact(text)
