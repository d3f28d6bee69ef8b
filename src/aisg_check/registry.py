"""Every check, in the order the report shows them. Explicit on purpose: no import magic.

Adding a component: write checks/<name>.py with its `CHECKS` and diagnoses, add its entry
(and flags) to `components.COMPONENTS` and its checks to `CHECKS` below, then regenerate
docs/codes.md (`python -m aisg_check.catalogue > docs/codes.md`).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence

from aisg_check.check import Check
from aisg_check.checks import ecs, gitlab, harbor, mlflow, rancher, runai, tools, vpn
from aisg_check.components import COMPONENTS, Component, Flag
from aisg_check.model import Diagnosis
from aisg_check.network import NETWORK_DIAGNOSES
from aisg_check.runner import CORE_DIAGNOSES

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

__all__ = ["BY_ID", "CHECKS", "COMPONENTS", "Component", "Flag", "all_diagnoses", "select"]


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
