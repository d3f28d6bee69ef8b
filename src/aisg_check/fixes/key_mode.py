"""GITLAB_SSH_KEY_PERMISSIONS: `chmod 600` on each private key others may read, the keys the check
names. POSIX modes only: on Windows ssh checks ACLs, which the check does not read either."""

from __future__ import annotations

import stat
from collections.abc import Mapping

from aisg_check.context import Context
from aisg_check.fixes.plan import ModeChange, Plan, Refused
from aisg_check.model import CheckResult

PRIVATE = 0o600


def offered(ctx: Context, result: CheckResult) -> bool:
    return not ctx.platform.startswith("win") and isinstance(result.details.get("unprotected"), Mapping)


def plan(ctx: Context, result: CheckResult, results: Mapping[str, CheckResult]) -> Plan:
    changes = []
    for shown in result.details["unprotected"]:
        path = ctx.path(str(shown))
        try:
            info = path.stat()
        except OSError as exc:
            raise Refused(f"{shown} cannot be read ({exc.strerror or exc})") from None
        if not stat.S_ISREG(info.st_mode):
            raise Refused(f"{shown} is not a regular file")
        changes.append(ModeChange(path, str(shown), stat.S_IMODE(info.st_mode), PRIVATE))
    names = ", ".join(c.shown for c in changes)
    return Plan(
        f"Make the private key{'s' if len(changes) > 1 else ''} {names} readable by you only",
        tuple(changes),
        ("The content is not copied: a backup of a key others could read would be one more such copy.",),
    )
