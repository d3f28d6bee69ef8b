"""The table's "Credentials" section: every credential with a lifetime the run saw, once, soonest
first, judged at the end of the run against expiry_warning_days as the checks judge it."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from aisg_check.model import CheckResult, Credential, RunReport, Status
from aisg_check.reporters import RenderOptions, renderer
from tests.helpers import LOOPBACK_PROFILE, merge, run_cli, write_config

END = datetime(2026, 11, 26, 8, 0, 2, tzinfo=timezone.utc)  # started_at + duration_s
GITLAB = Credential("gitlab_token", "GitLab token ci-bot", END + timedelta(days=40), "GITLAB_TOKEN", "ci-bot")
ROBOT = Credential(
    "harbor_robot", "Harbor robot", END + timedelta(days=3, hours=1), "/etc/robot.json", "robot$ml+ci"
)
REFRESH = Credential("runai_refresh_token", "Run:ai refresh token", END - timedelta(days=2), "~/.kube/config")
FOREVER = Credential("mlflow_user", "MLflow service user", None, "MLFLOW_TRACKING_USERNAME")


def report(*credentials: tuple[Credential, ...]) -> RunReport:
    results = tuple(
        CheckResult(f"demo.step{i}", "demo", "Step", Status.PASS, "fine", credentials=seen)
        for i, seen in enumerate(credentials)
    )
    return RunReport("aisg-check", "1.0", "2026-11-26T08:00:00Z", 2.0, results)


def table(run: RunReport, **options: object) -> str:
    return renderer("table")(run, RenderOptions(width=120, **options))  # type: ignore[arg-type]


def section(text: str) -> list[str]:
    lines = text.splitlines()
    start = lines.index("Credentials")
    end = lines.index("", start)
    return [" ".join(line.split()) for line in lines[start + 1 : end]]


def test_each_credential_once_soonest_first_with_its_lifetime() -> None:
    # The robot seen by two steps is listed once.
    text = table(report((GITLAB, ROBOT), (ROBOT, REFRESH, FOREVER)))
    assert section(text) == [
        "✖ Run:ai refresh token expired 2 days ago",
        "! Harbor robot (robot$ml+ci) expires in 3 days",
        "✔ GitLab token ci-bot expires in 40 days",
        "– MLflow service user does not expire",
    ]
    # After the results, before the summary line.
    assert text.index("demo.step1") < text.index("Credentials") < text.index("passed")


def test_the_warning_window_is_the_configured_one() -> None:
    run = report((ROBOT, GITLAB))
    assert section(table(run, expiry_warning_days=2))[0].startswith("✔ Harbor robot")
    assert section(table(run, expiry_warning_days=60)) == [
        "! Harbor robot (robot$ml+ci) expires in 3 days",
        "! GitLab token ci-bot expires in 40 days",
    ]


def test_verbose_says_where_each_was_read_and_quiet_keeps_only_the_problems() -> None:
    run = report((GITLAB, ROBOT, REFRESH, FOREVER))
    verbose = section(table(run, verbose=True))
    assert "from /etc/robot.json" in verbose[1] and "from GITLAB_TOKEN" in verbose[2]
    assert section(table(run, quiet=True, unicode=False)) == [
        "XX Run:ai refresh token expired 2 days ago",
        "!! Harbor robot (robot$ml+ci) expires in 3 days",
    ]


def test_no_section_without_credentials_or_in_quiet_mode_when_all_are_fine() -> None:
    assert "Credentials" not in table(report(()))
    assert "Credentials" not in table(report((GITLAB, FOREVER)), quiet=True)


def test_a_real_run_lists_the_robot_accounts_lifetime(home: Path) -> None:
    """The harbor check reads a robot file's expires_at; the table's section shows it."""
    robot = home / "robot.json"
    expires = int(time.time() + 3 * 86400 + 600)
    robot.write_text(json.dumps({"name": "robot$ml+ci", "secret": "s3cr3t-robot", "expires_at": expires}))
    config = write_config(home / "aisg.yaml", merge(LOOPBACK_PROFILE, {"harbor": {"robot_file": str(robot)}}))
    result = run_cli(["harbor", "--config", str(config), "--only", "harbor.robot.file"])
    assert "HARBOR_ROBOT_EXPIRES_SOON" in result.stdout, result.stdout + result.stderr
    assert section(result.stdout) == ["! Harbor robot robot$ml+ci expires in 3 days"]
    assert "s3cr3t-robot" not in result.stdout + result.stderr
