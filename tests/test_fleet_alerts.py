"""Fleet mode end to end with the real parts (Debian's prometheus and prometheus-pushgateway on
127.0.0.1): fleet runs, made as the CronJob makes them (its args, `all --format json --exit-zero`, and the
base's config file: fleet.mode cluster) but against loopback endpoints and a test project, push to
the Pushgateway; Prometheus scrapes it and answers a query through its HTTP API; and the shipped
alert rules (deploy/base/prometheusrule.yaml), loaded into that Prometheus with their time
windows scaled from minutes to seconds, fire for a check failing two runs in a row, for an
expiring credential and for a project that stopped pushing, and not before."""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import require
from tests.helpers import LOOPBACK_PROFILE, CliResult, merge, run_cli, write_config
from tests.servers.prometheus import Prometheus, Pushgateway, binaries

REPO = Path(__file__).resolve().parent.parent
# The rules' minutes become seconds: runs "15 minutes" apart are 15 s apart at most, the failing
# window of 20 minutes is 20 s, the not-running limit of 2 x 15 minutes is 30 s.
SCALE = {"[20m]": "[20s]", "offset 20m": "offset 20s", "2 * 15 * 60": "2 * 15"}
ROBOT_SECRET = "CANARYfleetRobotSecret"


def scaled_rules() -> dict[str, Any]:
    spec: dict[str, Any] = yaml.safe_load((REPO / "deploy" / "base" / "prometheusrule.yaml").read_text())[
        "spec"
    ]
    rules = [rule for group in spec["groups"] for rule in group["rules"]]
    for old, new in SCALE.items():
        assert any(old in rule["expr"] for rule in rules), (
            f"the shipped rules changed: no {old!r}; update SCALE"
        )
        for rule in rules:
            rule["expr"] = rule["expr"].replace(old, new)
    for rule in rules:
        assert not re.search(r"\[\d+[mh]\]|offset \d+[mh]", rule["expr"]), rule["expr"]
    return spec


@dataclass
class Monitoring:
    gateway: Pushgateway
    prometheus: Prometheus
    stopped: str  # a project that pushed once at start-up and never again
    stopped_at: float


@pytest.fixture(scope="module")
def monitoring(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Monitoring]:
    prometheus_bin, gateway_bin = binaries()
    require(
        prometheus_bin is not None and gateway_bin is not None, "prometheus or its pushgateway is missing"
    )
    gateway = Pushgateway(tmp_path_factory.mktemp("pushgateway"))
    try:
        prometheus = Prometheus(tmp_path_factory.mktemp("prometheus"), gateway, rules=scaled_rules())
        try:
            home = tmp_path_factory.mktemp("stopped-home")
            stopped = _project("stopped")
            result = fleet_run(home, gateway, stopped)
            assert result.returncode == 0, result.stderr
            yield Monitoring(gateway, prometheus, stopped, time.time())
        finally:
            prometheus.stop()
    finally:
        gateway.stop()


def _project(what: str) -> str:
    # Unique per test run: a Pushgateway may reload groups from an earlier run's persistence file.
    return f"{what}-{uuid.uuid4().hex[:6]}"


def cronjob_args() -> list[str]:
    cron = yaml.safe_load((REPO / "deploy" / "base" / "cronjob.yaml").read_text())
    (container,) = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    return [str(arg) for arg in container["args"]]


def fleet_run(home: Path, gateway: Pushgateway, project: str, robot_days: float | None = None) -> CliResult:
    """One scheduled run as the CronJob makes it (its args, the base's config file) with every
    endpoint on a closed loopback port and the test's Pushgateway."""
    shipped = yaml.safe_load((REPO / "deploy" / "base" / "config.yaml").read_text())
    settings: dict[str, Any] = {"fleet": {"project": project, "push_gateway": gateway.url}}
    if robot_days is not None:
        robot = home / "robot.json"
        expires = int(time.time() + robot_days * 86400)
        robot.write_text(
            json.dumps({"name": "robot$example+ci", "secret": ROBOT_SECRET, "expires_at": expires})
        )
        settings["harbor"] = {"robot_file": str(robot)}
    config = write_config(home / "config.yaml", merge(merge(shipped, LOOPBACK_PROFILE), settings))
    env = {
        **os.environ,
        "HOME": str(home),
        "AISG_CHECK_CONFIG": str(config),
        # No KUBERNETES_SERVICE_HOST: with it, the in-cluster layer would read the machine's own
        # /var/run/secrets/kubernetes.io/serviceaccount (a CI runner in a pod has one).
    }
    assert cronjob_args()[:3] == ["all", "--format", "json"]  # the report the tests read
    return run_cli(cronjob_args(), env=env, timeout=120)


def alerts(prometheus: Prometheus, name: str, project: str, state: str = "firing") -> list[dict[str, Any]]:
    return [
        a
        for a in prometheus.alerts()
        if a["labels"]["alertname"] == name and a["labels"].get("project") == project and a["state"] == state
    ]


def wait_for_alerts(
    prometheus: Prometheus, name: str, project: str, done: Any, timeout: float = 60
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        found = alerts(prometheus, name, project)
        if done(found) or time.monotonic() > deadline:
            return found
        time.sleep(0.5)


def record(what: str, value: Any) -> None:
    """Shown with `pytest -rP`: the closing note of the fleet-mode issue quotes these."""
    print(f"--- {what}\n{json.dumps(value, indent=2, sort_keys=True)}")


def test_a_check_failing_two_runs_in_a_row_fires_and_one_failure_does_not(
    monitoring: Monitoring, home: Path
) -> None:
    project = _project("failing")
    first = fleet_run(home, monitoring.gateway, project, robot_days=60)
    assert first.returncode == 0, first.stderr  # failing checks are results, not a failed Job
    failing = {r["id"] for r in first.json()["results"] if r["status"] in ("fail", "error")}
    assert "vpn.gitlab" in failing
    series = monitoring.prometheus.wait_for(f'aisg_check_success{{project="{project}",check="vpn.gitlab"}}')
    record("query aisg_check_success{check=vpn.gitlab}", series)
    ((sample,),) = [[s for s in series if s["metric"]["job"] == "aisg-check"]]
    assert sample["value"][1] == "0" and sample["metric"]["component"] == "vpn"
    # One failed run: several evaluations later, nothing is pending or firing for the project.
    time.sleep(5)
    pending = alerts(monitoring.prometheus, "AisgCheckFailing", project, "pending")
    assert not alerts(monitoring.prometheus, "AisgCheckFailing", project) and not pending
    second = fleet_run(home, monitoring.gateway, project, robot_days=60)
    assert second.returncode == 0, second.stderr
    assert {r["id"] for r in second.json()["results"] if r["status"] in ("fail", "error")} == failing
    fired = wait_for_alerts(
        monitoring.prometheus,
        "AisgCheckFailing",
        project,
        lambda found: {a["labels"]["check"] for a in found} >= failing,
    )
    record("alert AisgCheckFailing vpn.gitlab", [a for a in fired if a["labels"]["check"] == "vpn.gitlab"])
    # Exactly the failing steps: not the warning (the robot file), not the skipped ones behind them.
    assert {a["labels"]["check"] for a in fired} == failing
    assert not alerts(monitoring.prometheus, "AisgCheckCredentialExpiring", project)  # 60 days left


def test_a_credential_expiring_within_14_days_fires(monitoring: Monitoring, home: Path) -> None:
    project = _project("expiring")
    result = fleet_run(home, monitoring.gateway, project, robot_days=3)
    assert result.returncode == 0, result.stderr
    robot = next(r for r in result.json()["results"] if r["id"] == "harbor.robot.file")
    assert robot["code"] == "HARBOR_ROBOT_EXPIRES_SOON" and robot["credentials"][0]["kind"] == "harbor_robot"
    series = monitoring.prometheus.wait_for(
        f'aisg_check_credential_expiry_timestamp_seconds{{project="{project}"}} - time()'
    )
    record("query aisg_check_credential_expiry_timestamp_seconds - time()", series)
    assert 2.9 * 86400 < float(series[0]["value"][1]) < 3 * 86400
    (fired,) = wait_for_alerts(
        monitoring.prometheus, "AisgCheckCredentialExpiring", project, bool, timeout=30
    )
    record("alert AisgCheckCredentialExpiring", fired)
    assert fired["labels"]["credential"] == "harbor_robot" and fired["labels"]["component"] == "harbor"
    assert "expires soon" in fired["annotations"]["summary"]
    # The robot's secret went nowhere near the metrics.
    assert ROBOT_SECRET not in monitoring.gateway.metrics() + result.stdout + result.stderr


def test_a_project_that_stopped_pushing_fires_not_running(monitoring: Monitoring) -> None:
    silent = time.time() - monitoring.stopped_at
    (fired,) = wait_for_alerts(
        monitoring.prometheus, "AisgCheckNotRunning", monitoring.stopped, bool, timeout=max(5, 60 - silent)
    )
    record("alert AisgCheckNotRunning", fired)
    assert time.time() - monitoring.stopped_at >= 30  # not before twice the (scaled) schedule
