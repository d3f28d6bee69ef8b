"""Every component, in the order the report shows them: one explicit, ordered table of
component → command, flags and module. No discovery.

`aisg-check --help` reads this table without importing a check; a run imports only the modules
of the components it needs (`aisg-check harbor` loads the VPN probes and Harbor, not the other
five): each component costs ~10 ms to import.

Adding a component: copy a package under checks/ (see CONTRIBUTING.md, "Add a component"), add
its row to COMPONENTS below, then regenerate docs/codes.md (`python -m aisg_check.catalogue`).
"""

from __future__ import annotations

import fnmatch
import importlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aisg_check.check import Check
    from aisg_check.model import Diagnosis


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
    """One component: its command, its flags, and the module (or package) holding its `CHECKS`.
    The module is a dotted name, imported only when a run needs the component."""

    name: str
    title: str
    help: str
    module: str
    flags: tuple[Flag, ...] = ()


COMPONENTS: tuple[Component, ...] = (
    Component(
        "vpn",
        "NUS VPN",
        "Internal endpoints reachable: DNS, TCP, TLS and an answer, for each.",
        "aisg_check.checks.vpn",
    ),
    Component(
        "tools",
        "Local tools",
        "git, ssh, python, conda, kubectl, runai, aws and docker installed.",
        "aisg_check.checks.tools",
    ),
    Component(
        "gitlab",
        "GitLab",
        "git over SSH (port 2222) and over HTTPS with a token.",
        "aisg_check.checks.gitlab",
        (Flag("--repo", "gitlab.repo", "HTTPS repository URL for a real `git ls-remote`.", metavar="URL"),),
    ),
    Component("rancher", "Rancher", "Rancher dashboard reachable.", "aisg_check.checks.rancher"),
    Component(
        "runai",
        "Run:ai",
        "Kubeconfig or Run:ai's improved CLI login, cluster identity and namespace permissions.",
        "aisg_check.checks.runai",
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
        "aisg_check.checks.harbor",
        (
            Flag(
                "--project",
                "harbor.projects",
                "Harbor project to check push rights for (repeatable).",
                list,
                metavar="NAME",
            ),
            Flag("--robot-file", "harbor.robot_file", "Robot account .json file to check.", metavar="FILE"),
            Flag(
                "--auth-file",
                "harbor.auth_file",
                "Docker config JSON (a CI file variable, a mounted Secret) whose login to check.",
                metavar="FILE",
            ),
        ),
    ),
    Component(
        "ecs",
        "ECS object storage",
        "S3 profile, endpoint URL and bucket access on ECS.",
        "aisg_check.checks.ecs",
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
        "aisg_check.checks.mlflow",
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


class SelectionError(ValueError):
    pass


@dataclass(frozen=True)
class Registry:
    """A table of components and the questions asked of it. The tool has one (`REGISTRY`);
    tests build others (a throwaway component from the walk-through in CONTRIBUTING.md)."""

    components: tuple[Component, ...]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.components]

    def _order(self, component: str) -> int:
        names = self.names
        return names.index(component) if component in names else len(names)

    def checks_of(self, components: Iterable[str]) -> list[Check]:
        """The checks of these components, in report order (importing only their modules)."""
        wanted = set(components)
        out: list[Check] = []
        for component in self.components:
            if component.name in wanted:
                out.extend(importlib.import_module(component.module).CHECKS)
        return out

    def all_checks(self) -> tuple[Check, ...]:
        return tuple(self.checks_of(self.names))

    def check(self, check_id: str) -> Check:
        """One check by id (importing only its component's module)."""
        for check in self.checks_of([check_id.split(".", 1)[0]]):
            if check.id == check_id:
                return check
        raise KeyError(check_id)

    def all_diagnoses(self) -> list[Diagnosis]:
        """Every diagnosis code any check can report, once each, in a stable order."""
        from aisg_check.diagnoses import RUNNER_DIAGNOSES

        seen: dict[str, Diagnosis] = {}
        for diagnosis in (*RUNNER_DIAGNOSES, *(d for c in self.all_checks() for d in c.diagnoses)):
            existing = seen.setdefault(diagnosis.code, diagnosis)
            if existing != diagnosis:
                raise AssertionError(f"diagnosis code {diagnosis.code} is declared twice with different text")
        return list(seen.values())

    def _components_for(self, components: Iterable[str] | None, patterns: Sequence[str]) -> set[str]:
        """Which modules a selection can touch: the components asked for, the VPN probes they
        need, and whatever component a pattern names (a glob may name any)."""
        every = set(self.names)
        if components is None:
            return every
        names = {*components, "vpn"}
        for pattern in patterns:
            head = pattern.split(".", 1)[0]
            names |= every if any(ch in head for ch in "*?[") or head not in every else {head}
        return names

    def select(
        self, components: Iterable[str] | None, only: Sequence[str] = (), skip: Sequence[str] = ()
    ) -> list[Check]:
        """The checks to run: the components asked for (None: all), narrowed by --only, minus
        --skip, plus whatever they need that was not skipped explicitly."""
        loaded = self.checks_of(self._components_for(components, (*only, *skip)))
        by_id = {c.id: c for c in loaded}
        for pattern in (*only, *skip):
            if not any(_matches(c, pattern) for c in loaded):
                known = ", ".join(self.names)
                raise SelectionError(
                    f"'{pattern}' names no check; components: {known} (see `aisg-check list`)"
                )
        wanted = set(components) if components is not None else None
        chosen = [
            check
            for check in loaded
            if (check.component in wanted if wanted is not None else not check.explicit_only)
            and (not only or any(_matches(check, p) for p in only))
            and not any(_matches(check, p) for p in skip)
        ]
        ids = {c.id for c in chosen}
        queue = list(chosen)
        while queue:
            for need in queue.pop().needs:
                head = need.split(".", 1)[0]
                if need not in by_id and head in self.names:
                    for extra in self.checks_of([head]):
                        by_id.setdefault(extra.id, extra)
                dep = by_id.get(need)
                if dep is None or need in ids or any(_matches(dep, p) for p in skip):
                    continue
                ids.add(need)
                queue.append(dep)
        # Registry order, then each component's own order: the report reads the same every time.
        ranked = sorted(by_id.values(), key=lambda c: self._order(c.component))
        order = {c.id: i for i, c in enumerate(ranked)}
        return sorted((by_id[i] for i in ids), key=lambda c: (self._order(c.component), order[c.id]))


def _matches(check: Check, pattern: str) -> bool:
    """A pattern names a component (`gitlab`), a check (`gitlab.ssh`), one of its steps
    (`gitlab.ssh.auth`: the whole check runs, since layers build on each other), an item of a
    group step (`harbor.user.push.myproject`) or a glob. A check whose id is a prefix of the
    pattern matches only when the rest names one of its steps: `runai.cli` is its own check,
    not a step of `runai`."""
    if any(ch in pattern for ch in "*?["):
        return fnmatch.fnmatchcase(check.id, pattern) or any(
            fnmatch.fnmatchcase(s.id, pattern) for s in check.steps
        )
    if pattern in (check.component, check.id) or check.id.startswith(pattern + "."):
        return True
    return check.step_for(pattern) is not None or any(s.id.startswith(pattern + ".") for s in check.steps)


REGISTRY = Registry(COMPONENTS)
select = REGISTRY.select
checks_of = REGISTRY.checks_of
all_checks = REGISTRY.all_checks
check = REGISTRY.check
all_diagnoses = REGISTRY.all_diagnoses
