"""A robot account's lifetime: its `expires_at` as a `Credential` on the file's row, a warning
within expiry_warning_days with the renewal step, the failure it always was once past; judged by
the context's clock, and shown by the real CLI in the table and the JSON."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from tests.checks.test_harbor import ROBOT, ROBOT_SECRET, env_with, robot_file, team_platform
from tests.helpers import (
    LOOPBACK_PROFILE,
    assert_result,
    make_context,
    merge,
    run_cli,
    run_component,
    write_config,
)

DAY = 86400


@pytest.fixture(scope="module")
def token_registry(ca: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    yield from team_platform(ca, tmp_path_factory)


def _robot_only(home: Path, path: Path, *, warning_days: int | None = None, **context: Any) -> Any:
    settings: dict[str, Any] = {"harbor": {"robot_file": str(path)}}
    if warning_days is not None:
        settings["expiry_warning_days"] = warning_days
    ctx = make_context(settings, env=env_with(home), home=home, **context)
    return run_component(ctx, "harbor", only=["harbor.robot"], skip=["vpn.*"])


def test_a_robot_expiring_within_the_window_is_a_warning_with_the_renewal_step(
    token_registry: Any, home: Path, ca_file: Path, tmp_path: Path
) -> None:
    expires = int(time.time()) + 3 * DAY
    path = robot_file(tmp_path, name=ROBOT, secret=ROBOT_SECRET, expires_at=expires)
    ctx = make_context(
        {
            "timeout": 3,
            "ca_bundle": str(ca_file),
            "harbor": {"registry": token_registry.address, "robot_file": str(path)},
        },
        env=env_with(home),
        home=home,
    )
    results = run_component(ctx, "harbor", only=["harbor.robot"])
    row = assert_result(
        results,
        "harbor.robot.file",
        "warn",
        "HARBOR_ROBOT_EXPIRES_SOON",
        summary_has=["expires in"],
        hint_has=[
            "Projects → team → Robot Accounts",
            "Action → Edit",
            "project's admin",
            "mlops@aisingapore.org",
        ],
    )
    assert row.details["expires_in_days"] == 2  # whole days left (a little under three)
    (credential,) = row.credentials
    assert credential.kind == "harbor_robot" and credential.owner == ROBOT
    assert credential.expires_at == datetime.fromtimestamp(expires, timezone.utc)
    assert credential.source == str(path)
    # A warning, not a stop: the robot still logs in and may push today.
    assert_result(results, "harbor.robot.auth", "pass")
    assert_result(results, "harbor.robot.push.team", "pass")


def test_the_window_is_the_setting(home: Path, tmp_path: Path) -> None:
    path = robot_file(tmp_path, name=ROBOT, secret=ROBOT_SECRET, expires_at=int(time.time()) + 20 * DAY)
    assert_result(_robot_only(home, path), "harbor.robot.file", "pass")  # default 14 days
    results = _robot_only(home, path, warning_days=30)
    assert_result(results, "harbor.robot.file", "warn", "HARBOR_ROBOT_EXPIRES_SOON")


def test_expiry_is_judged_by_the_contexts_clock(home: Path, tmp_path: Path) -> None:
    path = robot_file(tmp_path, name=ROBOT, secret=ROBOT_SECRET, expires_at=int(time.time()) + 100 * DAY)
    soon = datetime.now(timezone.utc) + timedelta(days=95)
    assert_result(
        _robot_only(home, path, now=lambda: soon), "harbor.robot.file", "warn", "HARBOR_ROBOT_EXPIRES_SOON"
    )


def test_an_expired_robot_stays_a_failure_and_keeps_its_credential(home: Path, tmp_path: Path) -> None:
    path = robot_file(tmp_path, name=ROBOT, secret=ROBOT_SECRET, expires_at=int(time.time()) - DAY)
    row = assert_result(_robot_only(home, path), "harbor.robot.file", "fail", "HARBOR_ROBOT_EXPIRED")
    assert len(row.credentials) == 1 and row.credentials[0].expires_at is not None


@pytest.mark.parametrize(
    ("data", "expected"),
    [({"expires_at": -1}, "never"), ({"expires_at": 10**20}, "never"), ({}, "unknown")],
    ids=["never", "past-year-9999", "old-export-without-expiry"],
)
def test_robots_without_an_end(home: Path, tmp_path: Path, data: dict[str, Any], expected: str) -> None:
    path = robot_file(tmp_path, name=ROBOT, secret=ROBOT_SECRET, **data)
    row = assert_result(_robot_only(home, path), "harbor.robot.file", "pass")
    if expected == "never":
        (credential,) = row.credentials
        assert credential.expires_at is None  # does not expire
    else:  # the file says nothing either way: no lifetime is claimed
        assert row.credentials == ()


def test_the_cli_shows_the_robots_lifetime(home: Path, tmp_path: Path) -> None:
    expires = int(time.time()) + 5 * DAY
    path = robot_file(tmp_path, name=ROBOT, secret=ROBOT_SECRET, expires_at=expires)
    config = write_config(home / "aisg.yaml", merge(LOOPBACK_PROFILE, {"harbor": {"robot_file": str(path)}}))
    env = env_with(home, AISG_CHECK_CONFIG=str(config))
    result = run_cli(["harbor", "--only", "harbor.robot", "--skip", "vpn.*", "--format", "json"], env=env)
    by_id = {r["id"]: r for r in json.loads(result.stdout)["results"]}
    row = by_id["harbor.robot.file"]
    assert row["code"] == "HARBOR_ROBOT_EXPIRES_SOON"
    (credential,) = row["credentials"]
    assert credential["kind"] == "harbor_robot" and credential["owner"] == ROBOT
    assert credential["expires_at"] == datetime.fromtimestamp(expires, timezone.utc).isoformat().replace(
        "+00:00", "Z"
    )
    table = run_cli(["harbor", "--only", "harbor.robot", "--skip", "vpn.*"], env=env)
    assert "HARBOR_ROBOT_EXPIRES_SOON" in table.stdout
    assert ROBOT_SECRET not in result.stdout + table.stdout + result.stderr + table.stderr
