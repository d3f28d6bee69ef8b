"""Next steps: the root causes of a run's problems in the order to fix them (next_steps.plan),
on reports built by hand and on reports of real runs (loopback servers, and the default profile
off the network in a private namespace)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from aisg_check import next_steps, registry
from aisg_check.model import CheckResult, RunReport, Status
from aisg_check.next_steps import LOCAL, SERVER, VPN, plan, tier
from aisg_check.reporters import RenderOptions, renderer
from aisg_check.runner import run_checks
from tests.conftest import require
from tests.helpers import LOOPBACK_PROFILE, make_context, merge, own_ssh, run_cli, write_config
from tests.netns import clean_env, netns_problem, run_in_netns
from tests.servers.tls import HTTPServer

CONNECT = "Connect to the NUS VPN and run `aisg-check all` again."


def _r(
    result_id: str,
    status: str,
    code: str | None = None,
    hint: str | None = None,
    *,
    blocked_by: str | None = None,
    details: dict[str, Any] | None = None,
    fix: str | None = None,
) -> CheckResult:
    return CheckResult(
        result_id,
        result_id.split(".")[0],
        result_id,
        Status(status),
        f"{result_id} is {status}",
        code=code,
        hint=hint if hint is not None else (f"fix {code}" if code else None),
        details=details or {},
        blocked_by=blocked_by,
        fix=fix,
    )


def _report(*results: CheckResult) -> RunReport:
    return RunReport("aisg-check", "9.9.9", "2026-11-30T08:00:00Z", 1.0, tuple(results))


def _codes(report: RunReport) -> list[str]:
    return [step.code for step in plan(report)]


# -- constructed reports -------------------------------------------------------------------------

OFF_VPN = _report(
    _r("vpn.gitlab", "fail", "VPN_DNS_FAILED", "nslookup gitlab"),
    _r("vpn.harbor", "fail", "VPN_DNS_FAILED", "nslookup registry"),
    _r("vpn.mlflow", "skip", "NOT_CONFIGURED"),
    _r(
        "vpn.status",
        "fail",
        "VPN_NOT_CONNECTED",
        CONNECT,
        details={"probed": 2, "failing": ["vpn.gitlab", "vpn.harbor"]},
    ),
    _r("tools.git", "pass"),
    _r("tools.conda", "warn", "TOOL_MISSING_OPTIONAL"),
    _r(
        "gitlab.ssh.config",
        "fail",
        "GITLAB_SSH_PORT_NOT_CONFIGURED",
        "Add this block:\n\nHost g\n  Port 2222",
    ),
    _r("gitlab.ssh.auth", "skip", "BLOCKED", blocked_by="gitlab.ssh.config"),
    _r("gitlab.https.user", "skip", "BLOCKED", blocked_by="vpn.gitlab"),
    _r("harbor.user.credentials", "fail", "HARBOR_NOT_LOGGED_IN", "docker login registry -u alice"),
    _r("harbor.user.tls", "skip", "BLOCKED", blocked_by="harbor.user.credentials"),
    _r("mlflow.settings", "fail", "MLFLOW_URI_NOT_SET"),
    _r("mlflow.server", "skip", "BLOCKED", blocked_by="vpn.mlflow"),
)


def test_off_the_vpn_connecting_comes_first_and_what_it_blocks_is_not_repeated() -> None:
    steps = plan(OFF_VPN)
    assert [s.ids for s in steps] == [
        ("vpn.status",),
        ("gitlab.ssh.config",),
        ("harbor.user.credentials",),
        ("mlflow.settings",),
    ]
    assert steps[0].hint == CONNECT and steps[0].tier == VPN
    assert all(s.tier == LOCAL for s in steps[1:])
    assert "TOOL_MISSING_OPTIONAL" not in _codes(OFF_VPN)  # warnings wait until nothing fails


def test_local_setup_comes_before_what_a_server_answered_whatever_the_report_order() -> None:
    report = _report(
        _r("vpn.gitlab", "pass"),
        _r("gitlab.ssh.auth", "fail", "GITLAB_SSH_KEY_NOT_REGISTERED"),
        _r("rancher.dashboard", "error", "CHECK_CRASHED"),
        _r("runai.kubeconfig", "fail", "KUBECONFIG_MISSING"),
        _r("tools.git", "fail", "TOOL_MISSING"),
        _r("vpn.extra.1", "fail", "VPN_CONNECT_REFUSED"),
    )
    assert [(s.ids[0], s.tier) for s in plan(report)] == [
        ("vpn.extra.1", VPN),
        ("runai.kubeconfig", LOCAL),
        ("tools.git", LOCAL),
        ("gitlab.ssh.auth", SERVER),
        ("rancher.dashboard", SERVER),
    ]


def test_partial_vpn_lists_each_failing_probe_and_merges_the_same_fix() -> None:
    report = _report(
        _r("vpn.gitlab", "fail", "VPN_DNS_FAILED", "nslookup gitlab.example"),
        _r("vpn.gitlab-ssh", "fail", "VPN_DNS_FAILED", "nslookup gitlab.example"),
        _r("vpn.harbor", "pass"),
        _r("vpn.ecs", "fail", "VPN_CONNECT_TIMEOUT", "reconnect"),
        _r(
            "vpn.status",
            "warn",
            "VPN_PARTIAL",
            details={"failing": ["vpn.gitlab", "vpn.gitlab-ssh", "vpn.ecs"]},
        ),
    )
    steps = plan(report)
    assert [(s.code, s.ids) for s in steps] == [
        ("VPN_DNS_FAILED", ("vpn.gitlab", "vpn.gitlab-ssh")),
        ("VPN_CONNECT_TIMEOUT", ("vpn.ecs",)),
    ]


def test_a_failing_vpn_status_also_covers_probes_that_time_out() -> None:
    report = _report(
        _r("vpn.gitlab", "fail", "VPN_CONNECT_TIMEOUT"),
        _r("vpn.ecs", "fail", "VPN_CONNECT_REFUSED"),
        _r("vpn.status", "fail", "VPN_UNREACHABLE", details={"failing": ["vpn.gitlab", "vpn.ecs"]}),
        _r("ecs.list", "skip", "BLOCKED", blocked_by="vpn.ecs"),
    )
    assert _codes(report) == ["VPN_UNREACHABLE"]


def test_warnings_are_the_next_steps_only_when_nothing_fails() -> None:
    report = _report(
        _r("tools.conda", "warn", "TOOL_MISSING_OPTIONAL"),
        _r("gitlab.https.token", "warn", "GITLAB_TOKEN_EXPIRES_SOON", "renew it"),
        _r("gitlab.https.user", "skip", "GITLAB_TOKEN_MISSING", blocked_by="gitlab.https.token"),
        _r("vpn.gitlab", "pass"),
    )
    steps = plan(report)
    assert [(s.code, s.status) for s in steps] == [
        ("TOOL_MISSING_OPTIONAL", Status.WARN),
        ("GITLAB_TOKEN_EXPIRES_SOON", Status.WARN),
    ]
    assert plan(_report(_r("vpn.gitlab", "pass"), _r("tools.git", "pass"))) == ()


def test_blocked_results_are_not_listed_unless_what_blocks_them_is_nothing_to_fix() -> None:
    report = _report(
        _r("harbor.robot.file", "skip", "NOT_CONFIGURED"),
        # A failure "blocked" by a step that had nothing configured is its own cause ...
        _r("harbor.robot.auth", "fail", "HARBOR_ROBOT_AUTH_FAILED", blocked_by="harbor.robot.file"),
        _r("ecs.profile", "fail", "ECS_NO_CREDENTIALS"),
        # ... one blocked, through a skip, by a real failure is not.
        _r("ecs.endpoint", "skip", "BLOCKED", blocked_by="ecs.profile"),
        _r("ecs.list", "fail", "ECS_ACCESS_DENIED", blocked_by="ecs.endpoint"),
        # A loop of blocked_by (a bug elsewhere) ends, and is not a cause.
        _r("mlflow.auth", "fail", "MLFLOW_AUTH_FAILED", blocked_by="mlflow.log"),
        _r("mlflow.log", "skip", "BLOCKED", blocked_by="mlflow.auth"),
    )
    assert _codes(report) == ["ECS_NO_CREDENTIALS", "HARBOR_ROBOT_AUTH_FAILED", "MLFLOW_AUTH_FAILED"]


def test_an_automatic_fix_is_named_in_every_format() -> None:
    command = "aisg-check fix GITLAB_SSH_PORT_NOT_CONFIGURED"
    report = _report(
        _r("gitlab.ssh.config", "fail", "GITLAB_SSH_PORT_NOT_CONFIGURED", "Add this:\n\nHost g", fix=command)
    )
    (step,) = plan(report)
    assert step.fix == command
    assert step.action == f"run `{command}`; by hand: Add this: see the gitlab.ssh.config row above"
    options = RenderOptions(width=200)
    assert f"1. GITLAB_SSH_PORT_NOT_CONFIGURED: run `{command}`" in renderer("table")(report, options)
    assert f"1. `GITLAB_SSH_PORT_NOT_CONFIGURED`: run `{command}`" in renderer("markdown")(report, options)
    (data,) = json.loads(renderer("json")(report, options))["next_steps"]
    assert data == {
        "code": "GITLAB_SSH_PORT_NOT_CONFIGURED",
        "ids": ["gitlab.ssh.config"],
        "status": "fail",
        "kind": "local",
        "hint": "Add this:\n\nHost g",
        "fix": command,
    }


def test_every_format_ends_the_list_with_run_again_and_json_validates() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    options = RenderOptions(width=200)
    table = renderer("table")(OFF_VPN, options)
    assert table.index("Next steps, in order") > table.index("mlflow.settings")
    assert "1. VPN_NOT_CONNECTED: " + CONNECT in table
    assert table.rstrip().endswith(next_steps.AGAIN)
    quiet = renderer("table")(OFF_VPN, RenderOptions(width=200, quiet=True))
    assert "4. MLFLOW_URI_NOT_SET" in quiet
    markdown = renderer("markdown")(OFF_VPN, options)
    assert "1. `VPN_NOT_CONNECTED`: " + CONNECT in markdown and next_steps.AGAIN in markdown
    data = json.loads(renderer("json")(OFF_VPN, options))
    schema = json.loads(resources.files("aisg_check").joinpath("schema", "report-v1.json").read_text())
    jsonschema.validate(data, schema)
    assert [s["code"] for s in data["next_steps"]] == _codes(OFF_VPN)
    assert data["schema_version"] == 1
    nothing = renderer("table")(_report(_r("tools.git", "pass")), options)
    assert "Next steps" not in nothing and next_steps.AGAIN not in nothing


# -- reports of real runs ------------------------------------------------------------------------


def _populate(home: Path) -> None:
    """A machine with its local setup done: kubeconfig, docker login, AWS keys, ssh config."""
    from tests.test_readonly import _populate as populate

    populate(home)


def _local_steps_ran_while_their_probe_failed(report: RunReport) -> None:
    """Every step that ran although every VPN probe failed needs no server: LOCAL_STEPS must
    know it (and nothing blocked by a probe may be local)."""
    assert any(r.status is Status.FAIL for r in report.results if r.component == "vpn")
    for result in report.results:
        if result.component == "vpn":
            continue
        if result.status is not Status.SKIP:
            assert tier(result) == LOCAL, f"{result.id} ran off the VPN: add it to LOCAL_STEPS"


def test_every_local_step_is_a_declared_step() -> None:
    """LOCAL_STEPS names steps by id: a renamed step must not silently become server-side."""
    import fnmatch

    declared = [s.id for check in registry.all_checks() for s in check.steps]
    for pattern in next_steps.LOCAL_STEPS:
        assert fnmatch.filter(declared, pattern), f"{pattern} in LOCAL_STEPS is no declared step"


@pytest.mark.parametrize("populated", [False, True])
def test_loopback_all_closed_vpn_first_then_local_setup(home: Path, populated: bool) -> None:
    if populated:
        _populate(home)
    robot = home / "robot.json"
    robot.write_text('{"name": "robot$team+ci", "secret": "s3cr3t-robot"}')
    ci = home / "ci-docker.json"
    ci.write_text('{"auths": {"127.0.0.1:9": {"auth": "cm9ib3QkdGVhbStjaTpzM2NyM3Q="}}}')
    ctx = make_context(
        {
            "harbor": {"robot_file": str(robot), "auth_file": str(ci)},
            "mlflow": {"tracking_uri": "http://127.0.0.1:9"},
        },
        env=dict(os.environ),
        home=home,
    )
    report = run_checks(ctx, registry.select(None))
    _local_steps_ran_while_their_probe_failed(report)
    steps = plan(report)
    assert steps[0].ids == ("vpn.status",) and steps[0].code == "VPN_UNREACHABLE"
    by_id = {r.id: r for r in report.results}
    listed = [i for s in steps for i in s.ids]
    assert not [i for i in listed[1:] if by_id[i].component == "vpn"]
    assert not [i for i in listed if by_id[i].status is Status.SKIP or by_id[i].blocked_by]
    # Every failure that is not a probe is a step of its own: none was lost.
    failed = [r.id for r in report.results if r.status.is_problem and r.component != "vpn"]
    assert sorted(listed[1:]) == sorted(failed)
    assert [s.tier for s in steps] == sorted(s.tier for s in steps)


@pytest.fixture()
def not_rancher() -> Iterator[HTTPServer]:
    server = HTTPServer()  # answers "ok" everywhere, not Rancher's "pong"
    yield server
    server.close()


def test_on_the_vpn_a_local_failure_comes_before_a_server_side_one(
    home: Path, not_rancher: HTTPServer
) -> None:
    """Rancher (first in the report) answers but is not Rancher; Run:ai has no kubeconfig: the
    kubeconfig is fixed on this machine, so it comes first."""
    ctx = make_context({"rancher": {"url": not_rancher.url("127.0.0.1")}}, env=dict(os.environ), home=home)
    report = run_checks(ctx, registry.select(["rancher", "runai"], skip=["vpn.cluster", "runai.cli"]))
    by_id = {r.id: r for r in report.results}
    assert by_id["vpn.rancher"].status is Status.PASS
    ids = [r.id for r in report.results]
    assert ids.index("rancher.dashboard") < ids.index("runai.kubeconfig")
    assert [(s.code, s.tier) for s in plan(report)] == [
        ("KUBECONFIG_MISSING", LOCAL),
        ("RANCHER_NOT_RANCHER", SERVER),
    ]


def test_cli_json_and_table_carry_the_same_steps(home: Path) -> None:
    write_config(
        home / ".config" / "aisg-check" / "config.yaml",
        merge(LOOPBACK_PROFILE, {"mlflow": {"tracking_uri": "http://127.0.0.1:9"}}),
    )
    ssh = own_ssh(home)
    result = run_cli(["all", "--skip", "tools", "--format", "json", "--no-history", *ssh])
    assert result.returncode == 1, result.stderr
    codes = [s["code"] for s in result.json()["next_steps"]]
    assert codes[0] == "VPN_UNREACHABLE"
    table = run_cli(["all", "--skip", "tools", "--no-history", *ssh]).stdout
    tail = table[table.index("Next steps, in order") :]
    assert [
        line.split(":")[0].split(". ", 1)[1] for line in tail.splitlines()[1:] if ". " in line[:4]
    ] == codes


def test_default_profile_off_the_network_says_connect_first(home: Path, tmp_path: Path) -> None:
    """The issue's case: `all` off the VPN fails 13 ways; the list starts with the VPN and names
    only the local setup it does not block."""
    problem = netns_problem()
    require(problem is None, problem or "")
    env = clean_env(home)
    result = run_in_netns(["all", "--format", "json", "--no-history"], hosts={}, env=env, tmp=tmp_path)
    assert result.returncode == 1, result.stderr
    data = json.loads(result.stdout)
    assert data["summary"]["fail"] >= 10
    steps = data["next_steps"]
    assert steps[0]["code"] == "VPN_NOT_CONNECTED" and steps[0]["ids"] == ["vpn.status"]
    assert steps[0]["hint"] == CONNECT
    results = {r["id"]: r for r in data["results"]}
    listed = [i for s in steps for i in s["ids"]]
    assert [i for i in listed if i.startswith("vpn.")] == ["vpn.status"]
    local_failures = [i for i, r in results.items() if r["status"] == "fail" and not i.startswith("vpn.")]
    assert listed[1:] == local_failures and {s["kind"] for s in steps[1:]} == {"local"}
    table = run_in_netns(["all", "--no-history"], hosts={}, env=env, tmp=tmp_path).stdout
    assert "1. VPN_NOT_CONNECTED: Connect to the NUS VPN" in table
    assert table.rstrip().endswith(next_steps.AGAIN)
