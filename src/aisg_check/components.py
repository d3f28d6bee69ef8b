"""The components and their command-line flags: the metadata the CLI needs to build its
commands. Kept apart from the registry so that `aisg-check --help` imports no check module."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Flag:
    """A subcommand option that sets one config key (so flags, env and files share one path)."""

    name: str  # "--robot-file"
    key: str  # "harbor.robot_file"
    help: str
    kind: type = str  # str, bool (a switch) or list (repeatable)
    metavar: str | None = None


@dataclass(frozen=True)
class Component:
    name: str
    title: str
    help: str
    flags: tuple[Flag, ...] = ()


COMPONENTS: tuple[Component, ...] = (
    Component("vpn", "NUS VPN", "Internal endpoints reachable: DNS, TCP, TLS and an answer, for each."),
    Component("tools", "Local tools", "git, ssh, python, conda, kubectl, runai, aws and docker installed."),
    Component(
        "gitlab",
        "GitLab",
        "git over SSH (port 2222) and over HTTPS with a token.",
        (Flag("--repo", "gitlab.repo", "HTTPS repository URL for a real `git ls-remote`.", metavar="URL"),),
    ),
    Component("rancher", "Rancher", "Rancher dashboard reachable."),
    Component(
        "runai",
        "Run:ai",
        "Kubeconfig, `runai login` tokens, cluster identity and namespace permissions.",
        (
            Flag(
                "--kubeconfig",
                "runai.kubeconfig",
                "Kubeconfig file (default: $KUBECONFIG, ~/.kube/config).",
                metavar="FILE",
            ),
            Flag(
                "--context", "runai.context", "Kubeconfig context (default: current-context).", metavar="NAME"
            ),
            Flag("--project", "runai.project", "Run:ai project (namespace runai-<project>).", metavar="NAME"),
            Flag("--namespace", "runai.namespace", "Namespace to check permissions in.", metavar="NAME"),
        ),
    ),
    Component(
        "harbor",
        "Harbor",
        "docker login, push permission per project and robot accounts, without a Docker daemon.",
        (
            Flag(
                "--project",
                "harbor.projects",
                "Harbor project to check push rights for (repeatable).",
                list,
                metavar="NAME",
            ),
            Flag("--robot-file", "harbor.robot_file", "Robot account .json file to check.", metavar="FILE"),
        ),
    ),
    Component(
        "ecs",
        "ECS object storage",
        "S3 profile, endpoint URL and bucket access on ECS.",
        (
            Flag(
                "--profile",
                "ecs.profile",
                "AWS profile (default: AWS_PROFILE, else default).",
                metavar="NAME",
            ),
            Flag("--bucket", "ecs.buckets", "Bucket to check by name (repeatable).", list, metavar="NAME"),
            Flag("--write-test", "ecs.write_test", "Put, read back and delete one small object.", bool),
        ),
    ),
    Component(
        "mlflow",
        "MLflow",
        "Log a real test run with params, metrics and an artifact, then delete it.",
        (
            Flag(
                "--tracking-uri",
                "mlflow.tracking_uri",
                "Tracking server URL (default: MLFLOW_TRACKING_URI).",
                metavar="URL",
            ),
            Flag("--experiment", "mlflow.experiment", "Experiment to log the test run to.", metavar="NAME"),
            Flag(
                "--create-experiment", "mlflow.create_experiment", "Create the experiment if missing.", bool
            ),
            Flag("--keep-run", "mlflow.keep_run", "Keep the test run and print its URL.", bool),
        ),
    ),
)
