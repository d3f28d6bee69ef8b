"""Automatic fixes: for the codes whose fix is safe and local, the edit that fixes them, run by
`aisg-check fix [CODE]`. Safe and local means one of the user's own files, changed the way the
hint says, shown first, backed up and undone should the check still fail; never a password,
never anything on a server.

`FIXES` is the table: which code at which step, the check that reports it (run again to prove
the fix) and the module that plans it. A module has two functions:

- `offered(ctx, result) -> bool`: whether this result can be fixed automatically (cheap, no
  I/O beyond a stat: `annotate` calls it on every run);
- `plan(ctx, result, results) -> Plan`: the changes (fixes/plan.py), or `Refused` saying why this
  case must be fixed by hand. `results` are the other results of the same run.

A module is imported only when a result carries its code, so a run without those problems
imports none of them.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from aisg_check.model import CheckResult, RunReport, Status

if TYPE_CHECKING:
    from aisg_check.context import Context
    from aisg_check.fixes.plan import Plan


@dataclass(frozen=True)
class Fix:
    code: str
    step: str  # the result it fixes: "gitlab.ssh.config"
    check: str  # the check that reports it, run again to prove the fix
    module: str
    summary: str  # for `aisg-check fix --list` and the docs

    @property
    def command(self) -> str:
        return f"aisg-check fix {self.code}"

    def _module(self) -> Any:
        return importlib.import_module(self.module)

    def offered(self, ctx: Context, result: CheckResult) -> bool:
        if result.code != self.code or result.id != self.step:
            return False
        if result.status not in (Status.FAIL, Status.WARN):
            return False
        return bool(self._module().offered(ctx, result))

    def plan(self, ctx: Context, result: CheckResult, results: Mapping[str, CheckResult]) -> Plan:
        plan: Plan = self._module().plan(ctx, result, results)
        return plan


FIXES: tuple[Fix, ...] = (
    Fix(
        "GITLAB_SSH_PORT_NOT_CONFIGURED",
        "gitlab.ssh.config",
        "gitlab.ssh",
        "aisg_check.fixes.ssh_host",
        "adds GitLab's Host block (its SSH port) to the ssh config file ssh reads",
    ),
    Fix(
        "GITLAB_SSH_KEY_PERMISSIONS",
        "gitlab.ssh.key",
        "gitlab.ssh",
        "aisg_check.fixes.key_mode",
        "makes the private keys others could read private (chmod 600)",
    ),
    Fix(
        "TLS_UNTRUSTED_CERT",
        "gitlab.https.git",
        "gitlab.https",
        "aisg_check.fixes.git_ca",
        "makes git trust the configured CA bundle for GitLab's URL (http.<url>.sslCAInfo)",
    ),
    Fix(
        "ECS_ENDPOINT_NOT_SET",
        "ecs.endpoint",
        "ecs",
        "aisg_check.fixes.aws_endpoint",
        "sets endpoint_url for the AWS profile in ~/.aws/config",
    ),
)

CODES: frozenset[str] = frozenset(f.code for f in FIXES)


def fixes_for(code: str) -> tuple[Fix, ...]:
    return tuple(f for f in FIXES if f.code == code)


def find(ctx: Context, result: CheckResult) -> Fix | None:
    """The automatic fix for this result, if there is one for its code, step and case."""
    if result.code not in CODES or ctx.in_cluster:  # a pod has no user's files to fix
        return None
    return next((f for f in FIXES if f.offered(ctx, result)), None)


def annotate(ctx: Context, report: RunReport) -> RunReport:
    """Each result an automatic fix exists for carries its command (CheckResult.fix)."""
    if not any(r.code in CODES for r in report.results):
        return report
    results = []
    for result in report.results:
        try:
            fix = find(ctx, result)
        except Exception:  # a mark must never cost the report: without it, the hint still stands
            fix = None
        results.append(replace(result, fix=fix.command) if fix else result)
    return replace(report, results=tuple(results))
