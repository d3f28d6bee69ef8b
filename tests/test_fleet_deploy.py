"""Fleet mode's deployment, rendered and read as Kubernetes would: `kubectl kustomize` renders
the base and the example overlay offline, every object loads into the kubernetes client's typed
models, and the CronJob, RBAC and mounts agree with what the checks need. The alert rules pass
`promtool check rules`. Nothing here talks to a cluster."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import require

REPO = Path(__file__).resolve().parent.parent
DEPLOY = REPO / "deploy"
TYPED = {
    ("v1", "ServiceAccount"): "V1ServiceAccount",
    ("v1", "ConfigMap"): "V1ConfigMap",
    ("rbac.authorization.k8s.io/v1", "Role"): "V1Role",
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): "V1RoleBinding",
    ("batch/v1", "CronJob"): "V1CronJob",
}


def render(path: Path) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    require(kubectl is not None, "kubectl (with kustomize) is not installed")
    proc = subprocess.run(
        [str(kubectl), "kustomize", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr
    return [doc for doc in yaml.safe_load_all(proc.stdout) if doc]


def typed(doc: dict[str, Any]) -> Any:
    from kubernetes.client import ApiClient

    name = TYPED.get((doc["apiVersion"], doc["kind"]))
    assert name is not None, f"unexpected object {doc['apiVersion']} {doc['kind']}"
    return ApiClient()._ApiClient__deserialize(doc, name)  # type: ignore[attr-defined]


@pytest.fixture(scope="module", params=["base", "overlays/example-project"])
def objects(request: pytest.FixtureRequest) -> dict[str, Any]:
    docs = render(DEPLOY / request.param)
    out: dict[str, Any] = {}
    for doc in docs:
        out[doc["kind"]] = doc if doc["kind"] == "PrometheusRule" else typed(doc)
    return out


def test_every_object_renders_and_loads(objects: dict[str, Any]) -> None:
    assert set(objects) == {"ServiceAccount", "ConfigMap", "Role", "RoleBinding", "CronJob", "PrometheusRule"}


def test_the_cronjob_runs_one_bounded_run_at_a_time(objects: dict[str, Any]) -> None:
    cron = objects["CronJob"].spec
    assert cron.concurrency_policy == "Forbid"
    assert cron.successful_jobs_history_limit and cron.failed_jobs_history_limit
    job = cron.job_template.spec
    assert job.active_deadline_seconds and job.active_deadline_seconds <= 600
    assert job.backoff_limit == 0


def test_the_pod_runs_unprivileged_on_a_read_only_root_with_home_on_an_empty_dir(
    objects: dict[str, Any],
) -> None:
    pod = objects["CronJob"].spec.job_template.spec.template.spec
    assert pod.security_context.run_as_non_root and pod.security_context.run_as_user != 0
    (container,) = pod.containers
    assert container.security_context.read_only_root_filesystem is True
    assert container.security_context.allow_privilege_escalation is False
    env = {e.name: e for e in container.env}
    mounts = {m.mount_path: m for m in container.volume_mounts}
    volumes = {v.name: v for v in pod.volumes}
    home = env["HOME"].value
    assert volumes[mounts[home].name].empty_dir is not None
    assert volumes[mounts["/tmp"].name].empty_dir is not None
    # The config file the tool is told to read is the ConfigMap, mounted where it says.
    config_dir = str(Path(env["AISG_CHECK_CONFIG"].value).parent)
    config_map = volumes[mounts[config_dir].name].config_map
    assert config_map.name == objects["ConfigMap"].metadata.name
    assert Path(env["AISG_CHECK_CONFIG"].value).name in objects["ConfigMap"].data
    # Every file a service identity is read from lies in a mounted Secret.
    for variable in (
        "AWS_SHARED_CREDENTIALS_FILE",
        "AISG_CHECK_HARBOR_AUTH_FILE",
        "AISG_CHECK_HARBOR_ROBOT_FILE",
    ):
        folder = str(Path(env[variable].value).parent)
        assert volumes[mounts[folder].name].secret is not None, variable
    for variable in ("GITLAB_TOKEN", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
        assert env[variable].value_from.secret_key_ref.optional is True, variable


def test_the_service_account_gets_exactly_the_rights_the_check_probes(objects: dict[str, Any]) -> None:
    from aisg_check.checks.runai import REQUIRED  # (verb, API group, resource) the permission layer asks

    pod = objects["CronJob"].spec.job_template.spec.template.spec
    binding = objects["RoleBinding"]
    assert binding.role_ref.name == objects["Role"].metadata.name and binding.role_ref.kind == "Role"
    assert [(s.kind, s.name) for s in binding.subjects] == [("ServiceAccount", pod.service_account_name)]
    assert objects["ServiceAccount"].metadata.name == pod.service_account_name
    granted = {
        (verb, group, resource)
        for rule in objects["Role"].rules
        for verb in rule.verbs
        for group in rule.api_groups
        for resource in rule.resources
    }
    assert granted == set(REQUIRED)


def test_the_config_in_the_pod_loads(objects: dict[str, Any], tmp_path: Path) -> None:
    from aisg_check import config

    ((name, text),) = objects["ConfigMap"].data.items()
    path = tmp_path / name
    path.write_text(text)
    loaded = config.load(env={"XDG_CONFIG_HOME": str(tmp_path / "none")}, config_file=path)
    assert loaded.settings is not None


def test_the_alert_rules_pass_promtool(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    require(promtool is not None, "promtool (Debian package prometheus) is not installed")
    (rule,) = [d for d in render(DEPLOY / "base") if d["kind"] == "PrometheusRule"]
    rules = tmp_path / "rules.yml"
    rules.write_text(yaml.safe_dump(rule["spec"]))
    proc = subprocess.run(
        [str(promtool), "check", "rules", str(rules)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    names = {r["alert"] for group in rule["spec"]["groups"] for r in group["rules"]}
    assert names == {"AisgCheckFailing", "AisgCheckNotRunning", "AisgCheckCredentialExpiring"}


def test_the_image_is_slim_non_root_and_built_by_kaniko_in_ci() -> None:
    containerfile = (DEPLOY / "Containerfile").read_text()
    assert "FROM python:3.11-slim" in containerfile
    users = [line.split()[1] for line in containerfile.splitlines() if line.startswith("USER ")]
    assert users and users[-1].split(":")[0] not in ("0", "root")
    ci = yaml.safe_load((REPO / ".gitlab-ci.yml").read_text())
    job = ci["container-image"]
    assert "kaniko" in job["image"]["name"]
    script = " ".join(job["script"])
    assert "deploy/Containerfile" in script and "$CI_COMMIT_TAG" in script


def test_the_cronjob_runs_all_with_options_the_cli_has_and_pushes_to_the_gateway(
    objects: dict[str, Any],
) -> None:
    """Failing checks are results (--exit-zero), the JSON goes to the pod's log, and the metrics
    go to the Pushgateway named in the ConfigMap (tests/test_fleet_alerts.py runs these args)."""
    from tests.helpers import run_cli

    (container,) = objects["CronJob"].spec.job_template.spec.template.spec.containers
    args = list(container.args)
    assert args[0] == "all" and "--exit-zero" in args
    usage = run_cli(["all", "--help"])
    assert usage.returncode == 0, usage.stderr
    for option in (a for a in args if a.startswith("--")):
        assert option in usage.stdout, option
    ((_name, text),) = objects["ConfigMap"].data.items()
    fleet = yaml.safe_load(text)["fleet"]
    assert fleet["mode"] == "cluster" and fleet["push_gateway"].startswith("http") and fleet["project"]
