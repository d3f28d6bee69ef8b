"""`--format prometheus` and `--output FILE.prom`: the metrics of a run through prometheus_client,
clean for `promtool check metrics`, named as the shipped alert rules expect, with low-cardinality
labels only; the .prom file replaced atomically for the node exporter's textfile collector; and
`--exit-zero` for scheduled runs. The Pushgateway: tests/test_prometheus_push.py."""

from __future__ import annotations

import os
import re
import resource
import shutil
import stat
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml

from aisg_check.model import CheckResult, Credential, RunReport, Status
from aisg_check.reporters import RenderOptions, renderer
from tests.conftest import require
from tests.helpers import LOOPBACK_PROFILE, merge, own_ssh, run_cli, write_config

REPO = Path(__file__).resolve().parent.parent
STARTED = datetime(2026, 11, 26, 8, 0, 0, tzinfo=timezone.utc)
ROBOT = "robot$example+ci"

REPORT = RunReport(
    tool_name="aisg-check",
    tool_version="9.8.7",
    started_at="2026-11-26T08:00:00Z",
    duration_s=2.5,
    results=(
        CheckResult("vpn.harbor", "vpn", "Harbor", Status.PASS, "answers", duration_s=0.25),
        CheckResult(
            "harbor.user.credentials",
            "harbor",
            "Docker credentials",
            Status.FAIL,
            "Not logged in as alice",
            code="HARBOR_NOT_LOGGED_IN",
            hint="docker login",
            details={"username": "alice"},
            duration_s=0.5,
        ),
        CheckResult(
            "harbor.user.push", "harbor", "Push", Status.SKIP, "Skipped", code="BLOCKED", hint="Fix it first."
        ),
        CheckResult(
            "harbor.robot.file",
            "harbor",
            "Robot file",
            Status.WARN,
            f"Robot {ROBOT} expires in 3 days",
            code="HARBOR_ROBOT_EXPIRES_SOON",
            hint="renew",
            credentials=(
                Credential(
                    "harbor_robot", f"Harbor robot {ROBOT}", STARTED + timedelta(days=3), "/r.json", ROBOT
                ),
            ),
        ),
        CheckResult(
            "harbor.robot.auth",
            "harbor",
            "Robot login",
            Status.PASS,
            "Logged in",
            # The same kind seen twice in one component: the earlier expiry is the one to alert on.
            credentials=(
                Credential(
                    "harbor_robot", "Harbor robot other", STARTED + timedelta(days=30), "/o.json", "other"
                ),
                Credential("harbor_user", "never expires", None, "~/.docker/config.json", "alice"),
            ),
        ),
        CheckResult(
            "tools.git", "tools", "git", Status.ERROR, "crashed", code="CHECK_CRASHED", hint="Report it."
        ),
    ),
)


def metrics(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    """name → [(labels, value)], parsed by the library's own parser."""
    from prometheus_client.parser import text_string_to_metric_families

    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out.setdefault(sample.name, []).append((dict(sample.labels), sample.value))
    return out


def by_check(samples: list[tuple[dict[str, str], float]]) -> dict[str, float]:
    return {labels["check"]: value for labels, value in samples}


def render(report: RunReport = REPORT, project: str = "example") -> str:
    return renderer("prometheus")(report, RenderOptions(project=project))


def test_every_step_has_its_success_status_duration_and_diagnosis() -> None:
    m = metrics(render())
    # Skipped steps have no success: the step that blocked them is the one to alert on.
    assert by_check(m["aisg_check_success"]) == {
        "vpn.harbor": 1.0,
        "harbor.user.credentials": 0.0,
        "harbor.robot.file": 1.0,  # a warning is not a failure
        "harbor.robot.auth": 1.0,
        "tools.git": 0.0,
    }
    status = {labels["check"]: labels["status"] for labels, value in m["aisg_check_status"] if value == 1}
    assert status == {r.id: r.status.value for r in REPORT.results}
    assert by_check(m["aisg_check_duration_seconds"])["harbor.user.credentials"] == 0.5
    codes = {labels["check"]: labels["code"] for labels, _ in m["aisg_check_diagnosis"]}
    assert codes == {
        "harbor.user.credentials": "HARBOR_NOT_LOGGED_IN",
        "harbor.user.push": "BLOCKED",
        "harbor.robot.file": "HARBOR_ROBOT_EXPIRES_SOON",
        "tools.git": "CHECK_CRASHED",
    }
    for labels, _ in m["aisg_check_success"]:
        assert labels["component"] == labels["check"].split(".")[0] and labels["project"] == "example"


def test_credentials_run_and_build_are_one_series_each() -> None:
    m = metrics(render())
    ((labels, expiry),) = m["aisg_check_credential_expiry_timestamp_seconds"]
    assert labels == {"component": "harbor", "credential": "harbor_robot", "project": "example"}
    assert expiry == (STARTED + timedelta(days=3)).timestamp()  # the earlier of the two robots
    assert m["aisg_check_last_run_timestamp_seconds"] == [({"project": "example"}, STARTED.timestamp() + 2.5)]
    assert m["aisg_check_run_duration_seconds"] == [({"project": "example"}, 2.5)]
    assert m["aisg_check_build_info"] == [({"project": "example", "version": "9.8.7"}, 1.0)]


def test_labels_are_low_cardinality_and_name_no_person() -> None:
    text = render(project="")
    allowed = {"component", "check", "project", "status", "code", "credential", "version"}
    for name, samples in metrics(text).items():
        for labels, _ in samples:
            assert set(labels) <= allowed, (name, labels)
            assert labels["project"] == ""
    # Owners, user names, sources and summaries stay in the JSON.
    for word in ("alice", ROBOT, "other", "/r.json", "Not logged in", "started_at"):
        assert word not in text, word


def test_one_series_per_step_even_when_an_id_repeats() -> None:
    doubled = RunReport(**{**REPORT.__dict__, "results": REPORT.results + REPORT.results[:2]})
    m = metrics(render(doubled))
    checks = [labels["check"] for labels, _ in m["aisg_check_status"]]
    assert len(checks) == len(set(checks)) == len(REPORT.results)


def _promtool(text: str) -> subprocess.CompletedProcess[str]:
    promtool = shutil.which("promtool")
    require(promtool is not None, "promtool (Debian package prometheus) is not installed")
    return subprocess.run(
        [str(promtool), "check", "metrics"], input=text, capture_output=True, text=True, timeout=60
    )


def test_promtool_check_metrics_is_clean_on_a_report_and_on_a_real_run(home: Path) -> None:
    clean = _promtool(render())
    assert clean.returncode == 0 and not (clean.stdout + clean.stderr).strip(), clean
    config = write_config(home / "aisg.yaml", merge(LOOPBACK_PROFILE, {"fleet": {"project": "lint"}}))
    result = run_cli(["all", "--format", "prometheus", "--config", str(config), *own_ssh(home)])
    assert result.returncode == 1, result.stderr  # loopback endpoints are closed: checks fail
    assert 'project="lint"' in result.stdout and "Traceback" not in result.stderr
    checked = _promtool(result.stdout)
    assert checked.returncode == 0 and not (checked.stdout + checked.stderr).strip(), checked
    # The linter can fail: a counter without _total is a finding.
    finding = _promtool("# HELP x_y a\n# TYPE x_y counter\nx_y 1\n")
    assert finding.returncode != 0 and "_total" in finding.stderr


def test_the_metric_names_are_the_ones_the_shipped_alert_rules_use() -> None:
    from aisg_check import push

    rule = yaml.safe_load((REPO / "deploy" / "base" / "prometheusrule.yaml").read_text())
    exprs = " ".join(r["expr"] for group in rule["spec"]["groups"] for r in group["rules"])
    used = set(re.findall(r"\baisg_check_[a-z_]+", exprs))
    assert used and used <= set(metrics(render()))
    assert f'push_time_seconds{{job="{push.JOB}"}}' in exprs
    labels = set(re.findall(r"\$labels\.(\w+)", yaml.safe_dump(rule)))
    emitted = {k for samples in metrics(render()).values() for labels_, _ in samples for k in labels_}
    assert labels <= emitted, labels - emitted


# -- the CLI: --format prometheus, --output FILE.prom, --exit-zero ------------------------------------

ARGS = ["vpn", "--only", "vpn.gitlab"]  # refused at once: a report in a fraction of a second


@pytest.fixture()
def env(home: Path) -> dict[str, str]:
    write_config(home / ".config" / "aisg-check" / "config.yaml", LOOPBACK_PROFILE)
    return dict(os.environ)


def _listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_the_prom_extension_picks_the_format_and_the_file_is_replaced_not_rewritten(
    env: dict[str, str], tmp_path: Path
) -> None:
    """A new inode with the old file's mode: the textfile collector sees the old file or the new
    one, never a part; nothing is left beside it."""
    path = tmp_path / "aisg.prom"
    path.write_text("old 1\n")
    path.chmod(0o644)
    inode = path.stat().st_ino
    result = run_cli([*ARGS, "--output", str(path)], env=env)
    assert result.returncode == 1, result.stderr
    assert result.stdout.startswith("vpn")  # the table on stdout, the metrics in the file
    assert path.stat().st_ino != inode and stat.S_IMODE(path.stat().st_mode) == 0o644
    assert by_check(metrics(path.read_text())["aisg_check_success"]) == {"vpn.gitlab": 0.0}
    assert _listing(tmp_path) == ["aisg.prom"]


def test_a_symlink_stays_a_link_and_its_target_is_replaced(env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "real.prom").write_text("old 1\n")
    (tmp_path / "aisg.prom").symlink_to("real.prom")
    result = run_cli([*ARGS, "--format", "prometheus", "--output", str(tmp_path / "aisg.prom")], env=env)
    assert result.returncode == 1, result.stderr
    assert os.readlink(tmp_path / "aisg.prom") == "real.prom"
    assert "aisg_check_success" in (tmp_path / "real.prom").read_text()
    assert result.stdout == (tmp_path / "real.prom").read_text()
    assert _listing(tmp_path) == ["aisg.prom", "real.prom"]


@pytest.mark.parametrize("kind", ["directory", "fifo", "read-only"])
def test_devices_fifos_directories_and_read_only_files_are_refused_as_for_every_format(
    env: dict[str, str], tmp_path: Path, kind: str
) -> None:
    path = tmp_path / "aisg.prom"
    if kind == "directory":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)
    else:
        path.write_text("keep\n")
        path.chmod(0o444)
    result = run_cli([*ARGS, "--output", str(path)], env=env, timeout=30)
    assert result.returncode == 2 and result.stdout == "", result
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert _listing(tmp_path) == ["aisg.prom"]
    if kind == "read-only":
        assert path.read_text() == "keep\n"


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(
    env: dict[str, str], tmp_path: Path
) -> None:
    """A file size limit smaller than the metrics: the write fails half-way (EFBIG)."""
    path = tmp_path / "aisg.prom"
    path.write_text("old 1\n")

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (200, 200))

    proc = subprocess.run(
        [sys.executable, "-m", "aisg_check", *ARGS, "--output", str(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=limit,
    )
    assert proc.returncode == 2, proc.stderr
    assert "cannot write the report to" in proc.stderr and "Traceback" not in proc.stderr
    assert path.read_text() == "old 1\n" and _listing(tmp_path) == ["aisg.prom"]


def test_exit_zero_makes_failing_checks_results_not_a_failed_command(
    env: dict[str, str], tmp_path: Path
) -> None:
    failing = run_cli([*ARGS, "--format", "json"], env=env)
    assert failing.returncode == 1 and failing.json()["summary"]["fail"] == 1
    zero = run_cli([*ARGS, "--format", "json", "--exit-zero", "--strict"], env=env)
    assert zero.returncode == 0 and zero.json()["summary"]["fail"] == 1
    # ... but not when the report could not be delivered.
    (tmp_path / "dir.prom").mkdir()
    refused = run_cli([*ARGS, "--exit-zero", "--output", str(tmp_path / "dir.prom")], env=env)
    assert refused.returncode == 2


def test_help_and_vpn_do_not_import_prometheus_client(env: dict[str, str]) -> None:
    for args in (["--help"], ["vpn", "--only", "vpn.gitlab"]):
        proc = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "aisg_check", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        imported = {line.rsplit("|", 1)[1].strip() for line in proc.stderr.splitlines() if "|" in line}
        assert "aisg_check.cli" in imported  # the parser saw the run
        assert not {m for m in imported if m.startswith("prometheus_client")}, args


def test_the_format_is_offered_by_the_cli() -> None:
    from aisg_check.cli import Format
    from aisg_check.reporters import FORMATS

    assert [f.value for f in Format] == list(FORMATS)
    assert callable(renderer(Format.prometheus.value))
