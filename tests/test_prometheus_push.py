"""`--push-gateway URL` (and fleet.push_gateway) against the real Pushgateway (Debian's
prometheus-pushgateway) on 127.0.0.1: the run's metrics land in the job `aisg-check`, grouped
by project, replacing the project's previous push; a failure is one line and exit 2, never a
traceback, and the URL's password is never shown. Basic auth against a gateway started with a
web config (bcrypt users, as the Pushgateway's exporter-toolkit reads them)."""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from aisg_check import push
from tests.conftest import require
from tests.helpers import LOOPBACK_PROFILE, merge, run_cli, write_config
from tests.servers.process import ServerProcess, free_port, port_open
from tests.servers.prometheus import Pushgateway, binaries
from tests.servers.tls import closed_port
from tests.test_prometheus import metrics

ARGS = ["vpn", "--only", "vpn.gitlab", "--only", "vpn.harbor", "--format", "json"]
CANARY = "CANARYpushPassw0rd"


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pushgateway]:
    require(binaries()[1] is not None, "prometheus-pushgateway is not installed")
    server = Pushgateway(tmp_path_factory.mktemp("pushgateway"))
    try:
        yield server
    finally:
        server.stop()


def project() -> str:
    # Unique per test: a gateway may reload groups from an earlier run's persistence file.
    return f"push-{uuid.uuid4().hex[:8]}"


@pytest.fixture()
def env(home: Path) -> dict[str, str]:
    write_config(home / ".config" / "aisg-check" / "config.yaml", LOOPBACK_PROFILE)
    return dict(os.environ)


def _of(text: str, metric: str, project_name: str) -> dict[str, float]:
    return {
        labels.get("check", ""): value
        for labels, value in metrics(text).get(metric, [])
        if labels.get("project") == project_name
    }


def test_a_run_pushes_its_metrics_into_the_projects_group(gateway: Pushgateway, env: dict[str, str]) -> None:
    name = project()
    result = run_cli([*ARGS, "--push-gateway", gateway.url, "--set", f"fleet.project={name}"], env=env)
    assert result.returncode == 1 and result.stderr == "", result.stderr  # failing checks, pushed fine
    assert result.json()["summary"]["fail"] == 2
    text = gateway.metrics()
    assert _of(text, "aisg_check_success", name) == {"vpn.gitlab": 0.0, "vpn.harbor": 0.0}
    (pushed,) = [labels for labels, _ in metrics(text)["push_time_seconds"] if labels.get("project") == name]
    assert pushed["job"] == push.JOB
    # The next push replaces the group: a step that no longer runs leaves no stale series.
    again = run_cli(
        [
            "vpn",
            "--only",
            "vpn.gitlab",
            "--exit-zero",
            "--push-gateway",
            gateway.url,
            "--set",
            f"fleet.project={name}",
        ],
        env=env,
    )
    assert again.returncode == 0, again.stderr
    assert _of(gateway.metrics(), "aisg_check_success", name) == {"vpn.gitlab": 0.0}


def test_the_config_setting_pushes_too_and_an_unset_project_is_an_empty_label(
    gateway: Pushgateway, home: Path
) -> None:
    config = write_config(
        home / "fleet.yaml", merge(LOOPBACK_PROFILE, {"fleet": {"push_gateway": gateway.url}})
    )
    result = run_cli([*ARGS, "--exit-zero", "--config", str(config)])
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert _of(gateway.metrics(), "aisg_check_success", "") == {"vpn.gitlab": 0.0, "vpn.harbor": 0.0}


@pytest.mark.parametrize("exit_zero", [True, False])
def test_an_unreachable_gateway_is_one_line_and_exit_2_without_its_password(
    env: dict[str, str], exit_zero: bool
) -> None:
    url = f"http://ci-bot:{CANARY}@127.0.0.1:{closed_port()}/"
    result = run_cli([*ARGS, "--push-gateway", url, *(["--exit-zero"] if exit_zero else [])], env=env)
    assert result.returncode == 2, result
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("aisg-check: error: cannot push the metrics to the Pushgateway http://127.0.0.1:")
    assert "refused the connection" in line and "Traceback" not in result.stderr
    assert result.json()["summary"]["fail"] == 2  # the report itself was still written
    assert CANARY not in result.stdout + result.stderr


def test_a_gateway_url_that_is_not_one_is_a_usage_error_before_the_run(env: dict[str, str]) -> None:
    result = run_cli([*ARGS, "--push-gateway", "pushgateway:9091"], env=env)
    assert result.returncode == 2 and result.stdout == "", result
    assert "fleet.push_gateway" in result.stderr and "Traceback" not in result.stderr


# -- Basic auth: a gateway with a web config ---------------------------------------------------------


@pytest.fixture(scope="module")
def guarded_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    gateway_bin = binaries()[1]
    htpasswd = shutil.which("htpasswd")
    require(gateway_bin is not None, "prometheus-pushgateway is not installed")
    require(htpasswd is not None, "htpasswd (apache2-utils) is not installed")
    tmp = tmp_path_factory.mktemp("guarded")
    line = subprocess.run(
        [str(htpasswd), "-nbB", "-C", "4", "ci-bot", CANARY], capture_output=True, text=True, check=True
    ).stdout.strip()
    user, _, hashed = line.partition(":")
    (tmp / "web.yml").write_text(f"basic_auth_users:\n  {user}: '{hashed}'\n")
    port = free_port()
    server = ServerProcess(
        [
            str(gateway_bin),
            f"--web.listen-address=127.0.0.1:{port}",
            f"--web.config.file={tmp / 'web.yml'}",
            f"--persistence.file={tmp / 'pushgateway.data'}",
        ],
        ready=lambda: port_open(port),
        log=tmp / "pushgateway.log",
    )
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.stop()


def _guarded_metrics(address: str) -> str:
    request = urllib.request.Request(f"http://{address}/metrics")
    request.add_header("Authorization", "Basic " + base64.b64encode(f"ci-bot:{CANARY}".encode()).decode())
    with urllib.request.urlopen(request, timeout=5) as response:
        return str(response.read().decode())


def test_the_urls_login_is_sent_as_basic_auth_and_never_shown(
    guarded_gateway: str, env: dict[str, str]
) -> None:
    name = project()
    url = f"http://ci-bot:{CANARY}@{guarded_gateway}"
    result = run_cli([*ARGS, "--exit-zero", "--push-gateway", url, "--set", f"fleet.project={name}"], env=env)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert _of(_guarded_metrics(guarded_gateway), "aisg_check_success", name) == {
        "vpn.gitlab": 0.0,
        "vpn.harbor": 0.0,
    }
    assert CANARY not in result.stdout


def test_a_refused_login_says_the_gateways_answer_without_the_password(
    guarded_gateway: str, env: dict[str, str]
) -> None:
    url = f"http://ci-bot:wrong-{CANARY}@{guarded_gateway}/"
    result = run_cli([*ARGS, "--exit-zero", "--push-gateway", url], env=env)
    assert result.returncode == 2, result
    (line,) = result.stderr.strip().splitlines()
    assert f"the Pushgateway http://{guarded_gateway}/ (job aisg-check, project (none))" in line
    assert "answered HTTP 401" in line
    assert CANARY not in result.stdout + result.stderr
