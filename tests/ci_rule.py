"""Under CI, a skipped test is a failed test.

A skip reads as green and tests nothing, so CI (`CI` set, as `.ci/run` runs) turns every skip
into a failure that names its reason: a test that needs a tool or package fails until `.ci/run`
installs it, and a deliberate skip cannot hide there either. Outside CI, skips stay skips
(`-rs` lists them with their reasons).
"""

from __future__ import annotations

import os
from collections.abc import Generator
from typing import Any

import pytest

__all__ = ["in_ci"]


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _fail_if_skipped(report: pytest.TestReport | pytest.CollectReport) -> None:
    # An xfail that failed is reported as skipped (with `wasxfail`): under CI it is a failure too.
    if not report.skipped or not in_ci():
        return
    if hasattr(report, "wasxfail"):
        reason = f"xfail: {report.wasxfail}"
        del report.wasxfail
    elif isinstance(report.longrepr, tuple):
        reason = report.longrepr[2].removeprefix("Skipped: ")
    else:
        reason = str(report.longrepr)
    report.outcome = "failed"
    report.longrepr = (
        f"skipped under CI ({reason}): CI runs every test; install what it needs in .ci/run"
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[Any]:
    outcome = yield
    _fail_if_skipped(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Generator[Any]:
    outcome = yield
    _fail_if_skipped(outcome.get_result())
