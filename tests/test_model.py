from __future__ import annotations

from aisg_check.model import CheckResult, RunReport, Status


def _r(status: Status) -> CheckResult:
    return CheckResult(id=f"x.{status.value}", component="vpn", title="t", status=status, summary="s")


def _report(*statuses: Status, interrupted: bool = False) -> RunReport:
    return RunReport(
        "aisg-check", "1", "2026-01-01T00:00:00Z", 1.0, tuple(_r(s) for s in statuses), interrupted
    )


def test_exit_codes() -> None:
    assert _report(Status.PASS, Status.SKIP).exit_code() == 0
    assert _report(Status.PASS, Status.WARN).exit_code() == 0
    assert _report(Status.PASS, Status.WARN).exit_code(strict=True) == 1
    assert _report(Status.FAIL).exit_code() == 1
    assert _report(Status.ERROR).exit_code() == 1
    assert _report(Status.PASS, interrupted=True).exit_code() == 130


def test_summary_counts_each_status() -> None:
    summary = _report(Status.PASS, Status.PASS, Status.WARN, Status.FAIL, Status.SKIP, Status.ERROR).summary
    assert summary.to_dict() == {"pass": 2, "warn": 1, "fail": 1, "skip": 1, "error": 1}


def test_result_to_dict_is_plain_json() -> None:
    data = _r(Status.FAIL).to_dict()
    assert data["status"] == "fail" and data["details"] == {} and data["blocked_by"] is None
