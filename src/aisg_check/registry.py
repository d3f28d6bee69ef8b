"""Every check, in the order the report shows them. Explicit on purpose: no import magic.

Adding a component: write checks/<name>.py with its `CHECKS` and diagnoses, add it to
`COMPONENTS` and `_MODULES` below, and give its codes docs anchors (docs/codes.md is
generated from the diagnoses declared here).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from aisg_check.check import Check
from aisg_check.checks import ecs, gitlab, harbor, mlflow, rancher, runai, tools, vpn
from aisg_check.model import Diagnosis
from aisg_check.network import NETWORK_DIAGNOSES
from aisg_check.runner import CORE_DIAGNOSES


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

CHECKS: tuple[Check, ...] = (
    *vpn.CHECKS,
    *tools.CHECKS,
    *gitlab.CHECKS,
    *rancher.CHECKS,
    *runai.CHECKS,
    *harbor.CHECKS,
    *ecs.CHECKS,
    *mlflow.CHECKS,
)

BY_ID = {c.id: c for c in CHECKS}


def all_diagnoses() -> list[Diagnosis]:
    """Every diagnosis code any check can report, once each, in a stable order."""
    seen: dict[str, Diagnosis] = {}
    for diagnosis in (*CORE_DIAGNOSES, *NETWORK_DIAGNOSES, *(d for c in CHECKS for d in c.diagnoses)):
        existing = seen.setdefault(diagnosis.code, diagnosis)
        if existing is not diagnosis and existing != diagnosis:
            raise AssertionError(f"diagnosis code {diagnosis.code} is declared twice with different text")
    return list(seen.values())


class SelectionError(ValueError):
    pass


def _matches(check: Check, pattern: str) -> bool:
    """A pattern names a component (`gitlab`), a check (`gitlab.ssh`), one of its steps
    (`gitlab.ssh.auth`: the whole check runs, since layers build on each other) or a glob."""
    if any(ch in pattern for ch in "*?["):
        return fnmatch.fnmatchcase(check.id, pattern) or any(
            fnmatch.fnmatchcase(s.id, pattern) for s in check.steps
        )
    if pattern in (check.component, check.id) or check.id.startswith(pattern + "."):
        return True
    return any(s.id == pattern or s.id.startswith(pattern + ".") for s in check.steps) or (
        pattern.startswith(check.id + ".")
    )


def select(
    components: Iterable[str] | None, only: Sequence[str] = (), skip: Sequence[str] = ()
) -> list[Check]:
    """The checks to run: the components asked for (None: all), narrowed by --only, minus
    --skip, plus whatever they need that was not skipped explicitly."""
    for pattern in (*only, *skip):
        if not any(_matches(c, pattern) for c in CHECKS):
            known = ", ".join(sorted({c.component for c in CHECKS}))
            raise SelectionError(f"'{pattern}' names no check; components: {known} (see `aisg-check list`)")
    wanted_components = set(components) if components is not None else None
    chosen: list[Check] = []
    for check in CHECKS:
        if wanted_components is not None and check.component not in wanted_components:
            continue
        if wanted_components is None and check.explicit_only:
            continue
        if only and not any(_matches(check, p) for p in only):
            continue
        if any(_matches(check, p) for p in skip):
            continue
        chosen.append(check)
    ids = {c.id for c in chosen}
    queue = list(chosen)
    while queue:
        for need in queue.pop().needs:
            dep = BY_ID.get(need)
            if dep is None or need in ids or any(_matches(dep, p) for p in skip):
                continue
            ids.add(need)
            queue.append(dep)
    # Keep registry order so the report reads the same every time.
    return [c for c in CHECKS if c.id in ids]
