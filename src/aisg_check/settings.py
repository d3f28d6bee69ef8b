"""The settings' schema: one frozen dataclass per section. The keys are a public contract
(DESIGN.md §5): users' files and scripts depend on them. Each field's metadata says what it is
for (the configuration reference is generated from it), which environment variables of other
tools feed it, and whether it must be a URL. `config` loads values into it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aisg_check.secrets import Secret


def setting(
    help: str,
    *,
    env: tuple[str, ...] = (),
    default: Any = None,
    url: bool = False,
    choices: tuple[str, ...] = (),
) -> Any:
    """A config key: `help` for the reference, `env` for other tools' variables that feed it,
    `url` when the value must be an http(s) URL, `choices` when only those words are valid (both
    checked at load, so a typo is exit 2, not a confusing failure three layers down)."""
    return field(default=default, metadata={"help": help, "env": env, "url": url, "choices": choices})


@dataclass(frozen=True)
class GitlabSettings:
    host: str = setting("GitLab host name for SSH", default="")
    ssh_port: int = setting("GitLab's SSH port (the guide: 2222)", default=22)
    ssh_user: str = setting("user in the SSH URL", default="git")
    url: str = setting("GitLab web URL", default="", url=True)
    repo: str | None = setting("an HTTPS repository URL for a real `git ls-remote`", url=True)
    token: Secret | None = setting("personal access token for the HTTPS checks", env=("GITLAB_TOKEN",))
    ssh_config: str | None = setting("ssh config file passed as `ssh -F` (default: the user's own)")
    known_hosts: str | None = setting("known_hosts file passed as UserKnownHostsFile (default: ssh's own)")


@dataclass(frozen=True)
class RancherSettings:
    url: str = setting("Rancher dashboard URL", default="", url=True)


@dataclass(frozen=True)
class RunaiSettings:
    url: str = setting("Run:ai dashboard URL", default="", url=True)
    cluster_url: str = setting("cluster API server probed when no kubeconfig names one", default="", url=True)
    kubeconfig: str | None = setting("kubeconfig path (default: $KUBECONFIG, else ~/.kube/config)")
    context: str | None = setting("kubeconfig context (default: its current-context)")
    project: str | None = setting("Run:ai project; its namespace is runai-<project>")
    namespace: str | None = setting("namespace to check permissions in (default: runai-<project>)")
    cli: str = setting(
        "which Run:ai CLI you use: auto (detected from `runai version`), first (a kubeconfig filled by "
        "`runai login`) or improved (the control-plane CLI of clusters 2.18+, Linux and macOS only)",
        default="auto",
        choices=("auto", "first", "improved"),
    )


@dataclass(frozen=True)
class HarborSettings:
    registry: str = setting("Harbor registry host", default="")
    projects: tuple[str, ...] = setting("Harbor projects you should be able to push to", default=())
    robot_file: str | None = setting("robot account .json file from the MLOps team")
    auth_file: str | None = setting(
        "a Docker config JSON file whose inline `auth` logs in to the registry as kaniko and crane read it "
        "(a CI file variable, a mounted Secret), checked by harbor.ci; your own docker login is then "
        "optional, and not checked in a pod",
        env=("HARBOR_DOCKER_CONFIG_JSON",),
    )


@dataclass(frozen=True)
class EcsSettings:
    endpoint_url: str = setting("ECS S3 endpoint URL", default="", url=True)
    profile: str | None = setting("AWS profile in ~/.aws/credentials", env=("AWS_PROFILE",))
    buckets: tuple[str, ...] = setting("buckets to check by name (some are hidden from listing)", default=())
    write_test: bool = setting("put, read back and delete one small object", default=False)


@dataclass(frozen=True)
class MlflowSettings:
    tracking_uri: str | None = setting(
        "project's MLflow tracking server", env=("MLFLOW_TRACKING_URI",), url=True
    )
    experiment: str | None = setting("experiment to log the test run to", env=("MLFLOW_EXPERIMENT_NAME",))
    create_experiment: bool = setting("create the experiment when it does not exist", default=False)
    keep_run: bool = setting("keep the test run instead of deleting it", default=False)


@dataclass(frozen=True)
class VpnSettings:
    extra: tuple[str, ...] = setting("more URLs (or host:port) to probe", default=())


@dataclass(frozen=True)
class FleetSettings:
    mode: str = setting(
        "where aisg-check runs: laptop, cluster (a pod: in-cluster service account, laptop-only checks "
        "not applicable) or auto (cluster when a service account token is mounted)",
        default="auto",
        choices=("auto", "laptop", "cluster"),
    )
    project: str | None = setting("project label of the metrics and the Pushgateway grouping key")
    push_gateway: str | None = setting("Prometheus Pushgateway to push each run's metrics to", url=True)


@dataclass(frozen=True)
class Settings:
    timeout: float = setting("seconds for each network step", default=5.0)
    ca_bundle: str | None = setting("PEM file trusted in addition to the system store")
    docs_base_url: str = setting("page of the diagnosis catalogue that docs_url links point into", default="")
    expiry_warning_days: int = setting("a credential expiring within this many days is a warning", default=14)
    history: bool = setting("record each run (no secrets) for `aisg-check history`", default=True)
    gitlab: GitlabSettings = field(default_factory=GitlabSettings)
    rancher: RancherSettings = field(default_factory=RancherSettings)
    runai: RunaiSettings = field(default_factory=RunaiSettings)
    harbor: HarborSettings = field(default_factory=HarborSettings)
    ecs: EcsSettings = field(default_factory=EcsSettings)
    mlflow: MlflowSettings = field(default_factory=MlflowSettings)
    vpn: VpnSettings = field(default_factory=VpnSettings)
    fleet: FleetSettings = field(default_factory=FleetSettings)
