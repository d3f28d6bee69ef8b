"""Every check, in the order the report shows them. Explicit on purpose: a fixed table of
component → module, no discovery.

Modules are imported only for the components a run needs (`aisg-check harbor` loads the VPN
probes and Harbor, not the other five): each check module costs ~10 ms to import.

Adding a component: write checks/<name>.py with its `CHECKS` and diagnoses, add its entry
(and flags) to `components.COMPONENTS` and its module to `MODULES` below, then regenerate
docs/codes.md (`python -m aisg_check.catalogue > docs/codes.md`).
"""

from __future__ import annotations

import fnmatch
import importlib
from collections.abc import Iterable, Sequence
from typing import Any

from aisg_check.check import Check
from aisg_check.components import COMPONENTS, Component, Flag
from aisg_check.model import Diagnosis
from aisg_check.network import NETWORK_DIAGNOSES
from aisg_check.runner import CORE_DIAGNOSES

# Report order. Every component's checks live in its own module, as `CHECKS`.
MODULES: tuple[tuple[str, str], ...] = (
    ("vpn", "aisg_check.checks.vpn"),
    ("tools", "aisg_check.checks.tools"),
    ("gitlab", "aisg_check.checks.gitlab"),
    ("rancher", "aisg_check.checks.rancher"),
    ("runai", "aisg_check.checks.runai"),
    ("harbor", "aisg_check.checks.harbor"),
    ("ecs", "aisg_check.checks.ecs"),
    ("mlflow", "aisg_check.checks.mlflow"),
)
_ORDER = {name: index for index, (name, _module) in enumerate(MODULES)}

__all__ = ["COMPONENTS", "MODULES", "Component", "Flag", "all_checks", "all_diagnoses", "checks_of", "select"]


def checks_of(components: Iterable[str]) -> list[Check]:
    """The checks of these components, in report order (importing only their modules)."""
    wanted = set(components)
    out: list[Check] = []
    for name, module in MODULES:
        if name in wanted:
            out.extend(importlib.import_module(module).CHECKS)
    return out


def all_checks() -> tuple[Check, ...]:
    return tuple(checks_of(name for name, _module in MODULES))


def __getattr__(name: str) -> Any:
    # `registry.CHECKS` / `registry.BY_ID`: the full table, loaded on first use.
    if name == "CHECKS":
        return all_checks()
    if name == "BY_ID":
        return {c.id: c for c in all_checks()}
    raise AttributeError(name)


def all_diagnoses() -> list[Diagnosis]:
    """Every diagnosis code any check can report, once each, in a stable order."""
    seen: dict[str, Diagnosis] = {}
    checks = all_checks()
    for diagnosis in (*CORE_DIAGNOSES, *NETWORK_DIAGNOSES, *(d for c in checks for d in c.diagnoses)):
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


def _components_for(components: Iterable[str] | None, patterns: Sequence[str]) -> set[str]:
    """Which modules a selection can touch: the components asked for, the VPN probes they
    need, and whatever component a pattern names (a glob may name any)."""
    if components is None:
        return set(_ORDER)
    names = {*components, "vpn"}
    for pattern in patterns:
        head = pattern.split(".", 1)[0]
        names |= set(_ORDER) if any(ch in head for ch in "*?[") or head not in _ORDER else {head}
    return names


def select(
    components: Iterable[str] | None, only: Sequence[str] = (), skip: Sequence[str] = ()
) -> list[Check]:
    """The checks to run: the components asked for (None: all), narrowed by --only, minus
    --skip, plus whatever they need that was not skipped explicitly."""
    loaded = checks_of(_components_for(components, (*only, *skip)))
    by_id = {c.id: c for c in loaded}
    for pattern in (*only, *skip):
        if not any(_matches(c, pattern) for c in loaded):
            known = ", ".join(name for name, _module in MODULES)
            raise SelectionError(f"'{pattern}' names no check; components: {known} (see `aisg-check list`)")
    wanted_components = set(components) if components is not None else None
    chosen: list[Check] = []
    for check in loaded:
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
            if need not in by_id and need.split(".", 1)[0] in _ORDER:
                for extra in checks_of([need.split(".", 1)[0]]):
                    by_id.setdefault(extra.id, extra)
            dep = by_id.get(need)
            if dep is None or need in ids or any(_matches(dep, p) for p in skip):
                continue
            ids.add(need)
            queue.append(dep)
    # Keep registry order so the report reads the same every time.
    order = {c.id: i for i, c in enumerate(sorted(by_id.values(), key=lambda c: _ORDER.get(c.component, 99)))}
    return sorted((by_id[i] for i in ids), key=lambda c: (_ORDER.get(c.component, 99), order[c.id]))
