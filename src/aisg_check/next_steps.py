"""What to fix first: the root causes of a run's problems, in the order to fix them.

A report off the VPN holds a dozen failures and two dozen skips; most are consequences. The
next steps keep only the causes and order them by what blocks what:

- only failures and errors (when there are none, the warnings): a skip is never a step, and a
  result blocked by another problem is not listed (the problem it is blocked by is);
- a failing `vpn.status` (off the VPN, or no internal endpoint answers) stands for the probes
  it names: "connect to the VPN" is one step, not one per host;
- the VPN first (it blocks every server-side layer), then this machine's own setup (tools,
  config files, stored logins), then what needs a server to answer; within each, report order;
- one step per distinct code and hint (two probes of the same host are one step).

Pure functions of a `RunReport`: the reporters phrase the list, the JSON carries it as data.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from aisg_check.model import CheckResult, RunReport, Status

# Skips that explain nothing: a result "blocked" by one of these has no other cause to fix first.
_NOT_A_CAUSE = frozenset({"NOT_CONFIGURED", "NOT_APPLICABLE"})

# The steps that run before their check waits for its VPN probe: they read this machine's own
# tools, files and stored logins, so they are fixed without the platform (and also off the VPN).
# tests/test_next_steps.py keeps this honest: every step that ran while its probe failed is here.
LOCAL_STEPS: tuple[str, ...] = (
    "tools.*",
    "gitlab.ssh.config",
    "gitlab.ssh.key",
    "gitlab.https.token",
    "runai.kubeconfig",
    "runai.login",
    "runai.cli",
    "harbor.user.credentials",
    "harbor.user.username",
    "harbor.robot.file",
    "harbor.ci.file",
    "harbor.daemon",
    "ecs.profile",
    "ecs.endpoint",
    "mlflow.settings",
)

# The line after the list: every step is proven fixed only by running the checks again.
AGAIN = "Then run `aisg-check all` again."

VPN, LOCAL, SERVER = 0, 1, 2
_TIER_NAMES = {VPN: "vpn", LOCAL: "local", SERVER: "server"}


@dataclass(frozen=True)
class NextStep:
    code: str
    hint: str  # what to do, as the result says it (may span lines: a block to paste)
    ids: tuple[str, ...]  # the results this step fixes, in report order
    status: Status  # fail, error, or warn (when nothing failed)
    tier: int  # VPN, LOCAL or SERVER
    fix: str | None = None  # the command that fixes it automatically, when there is one

    @property
    def short_hint(self) -> str:
        """The hint on one line: a hint that goes on (a block to paste) points at its row."""
        first, _, rest = self.hint.strip().partition("\n")
        first = first.strip()
        if not rest.strip():
            return first
        return f"{first.rstrip(':').rstrip()}: see the {self.ids[0]} row above"

    @property
    def action(self) -> str:
        """What to do, on one line: the automatic fix's command first, when there is one."""
        if self.fix:
            return f"run `{self.fix}`; by hand: {self.short_hint}"
        return self.short_hint

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "ids": list(self.ids),
            "status": self.status.value,
            "kind": _TIER_NAMES[self.tier],
            "hint": self.hint,
            "fix": self.fix,
        }


def tier(result: CheckResult) -> int:
    if result.component == "vpn":
        return VPN
    if any(fnmatch.fnmatchcase(result.id, pattern) for pattern in LOCAL_STEPS):
        return LOCAL
    return SERVER


def _covered_by_vpn_status(by_id: Mapping[str, CheckResult]) -> frozenset[str]:
    """The probes a failing vpn.status stands for: one "connect to the VPN" covers them all."""
    status = by_id.get("vpn.status")
    if status is None or not status.status.is_problem:
        return frozenset()
    failing = status.details.get("failing")
    if not isinstance(failing, (list, tuple)):
        return frozenset()
    return frozenset(str(i) for i in failing)


def _blocked_by_a_problem(result: CheckResult, by_id: Mapping[str, CheckResult]) -> bool:
    """Whether the chain of `blocked_by` from `result` ends at something to fix (a fail, an
    error or a warning), rather than at nothing configured or outside this report."""
    seen = {result.id}
    current = result
    while current.blocked_by and current.blocked_by not in seen:
        seen.add(current.blocked_by)
        blocker = by_id.get(current.blocked_by)
        if blocker is None:
            return False
        if blocker.status is Status.SKIP:
            if blocker.code in _NOT_A_CAUSE:
                return False
            current = blocker
            continue
        return blocker.status is not Status.PASS
    return False


def plan(report: RunReport) -> tuple[NextStep, ...]:
    """The root causes of the report's problems (else of its warnings), in the order to fix them."""
    by_id = {r.id: r for r in report.results}
    problems = [r for r in report.results if r.status.is_problem]
    pool = problems or [r for r in report.results if r.status is Status.WARN]
    covered = _covered_by_vpn_status(by_id)
    roots = [r for r in pool if r.id not in covered and r.code and not _blocked_by_a_problem(r, by_id)]
    # vpn.status first among the VPN's: it says "connect", the probes say which host.
    ordered = sorted(enumerate(roots), key=lambda item: (tier(item[1]), item[1].id != "vpn.status", item[0]))
    steps: dict[tuple[str, str], NextStep] = {}
    for _, result in ordered:
        hint = (result.hint or "").strip()
        key = (result.code or "", hint)
        known = steps.get(key)
        if known is not None:
            steps[key] = replace(known, ids=(*known.ids, result.id), fix=known.fix or result.fix)
        else:
            steps[key] = NextStep(
                result.code or "", hint, (result.id,), result.status, tier(result), result.fix
            )
    return tuple(steps.values())
