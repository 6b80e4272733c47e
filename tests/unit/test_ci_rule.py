"""The CI rule (tests/ci_rule.py): under CI every kind of skip fails, and says why."""

from __future__ import annotations

import pytest

SKIPS = """
import pytest

pytest.importorskip("no_such_package_for_ci_rule")
"""

TESTS = """
import shutil
import pytest

@pytest.mark.skipif(shutil.which("no-such-tool-for-ci-rule") is None, reason="apt-get install it")
def test_needs_a_tool():
    pass

def test_skips_itself():
    pytest.skip("not today")

@pytest.mark.skip(reason="on purpose")
def test_marked_skip():
    pass

@pytest.fixture
def device():
    pytest.skip("no device")

def test_fixture_skips(device):
    pass

@pytest.mark.xfail(reason="known bug")
def test_known_bug():
    assert False

def test_runs():
    pass
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest("pytest_plugins = ['ci_rule']")
    pytester.makepyfile(test_skips=TESTS, test_module_skip=SKIPS)
    return pytester


@pytest.mark.parametrize("ci", ["true", "1"])
def test_under_ci_every_skip_fails_with_its_reason(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, ci: str
) -> None:
    monkeypatch.setenv("CI", ci)
    result = project.runpytest("-p", "no:randomly", "--continue-on-collection-errors")
    # A skip in setup (a mark, a fixture) becomes an error; one in the test body, a failure.
    result.assert_outcomes(passed=1, failed=2, errors=4)
    reasons = ("apt-get install it", "not today", "on purpose", "no device", "xfail: known bug")
    for reason in reasons:
        result.stdout.fnmatch_lines([f"*skipped under CI (*{reason}*)*"])
    # The module-level skip fails collection and names the missing package.
    result.stdout.fnmatch_lines(["*skipped under CI (*no_such_package_for_ci_rule*)*"])
    assert "skipped" not in result.outlines[-1]


@pytest.mark.parametrize("ci", ["", "false", "0"])
def test_outside_ci_skips_stay_skips(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, ci: str
) -> None:
    monkeypatch.setenv("CI", ci)
    result = project.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=1, skipped=5, xfailed=1)
