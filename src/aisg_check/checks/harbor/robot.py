"""`harbor.robot`: a robot account's `.json` file, as Harbor exports it (file, name and expiry →
login → push permission per project). Independent of the user's own docker login.

The file's `expires_at` is the robot's lifetime: recorded as a `Credential` on the file's row
(the table's Credentials section, the JSON, the fleet's expiry metric), a warning within
`expiry_warning_days`, a failure once past."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from aisg_check import lifetimes
from aisg_check.check import Recorder
from aisg_check.checks.harbor import ROBOT_AUTH, ROBOT_FILE, ROBOT_PUSH, access, names
from aisg_check.checks.harbor.diagnoses import (
    HARBOR_ROBOT_EXPIRED,
    HARBOR_ROBOT_EXPIRES_SOON,
    HARBOR_ROBOT_FILE_INVALID,
    HARBOR_ROBOT_NAME_EXPANDED,
    NOT_CONFIGURED,
)
from aisg_check.context import Context
from aisg_check.model import CONTACT_MLOPS, Credential
from aisg_check.platform import dockerconfig
from aisg_check.secrets import Secret

_MAX_NAME = 512  # far past any robot name Harbor gives


@dataclass(frozen=True)
class RobotFile:
    name: str
    secret: Secret
    format: str  # "harbor-2.2+" | "legacy"
    expires_at: int | None  # epoch seconds; None or negative: never


def run(ctx: Context, rec: Recorder) -> None:
    setting = ctx.settings.harbor.robot_file
    registry = access.registry_of(ctx)
    if not setting or not registry:
        hint = "Check your team's robot account: `aisg-check harbor --robot-file FILE.json`."
        rec.skip(ROBOT_FILE, NOT_CONFIGURED, "No robot account file to check (harbor.robot_file)", hint=hint)
        rec.skip(ROBOT_AUTH, NOT_CONFIGURED, "No robot account to log in with (harbor.robot_file)", hint=hint)
        return
    path = ctx.path(setting)
    robot = _file(ctx, rec, path)
    who = access.identity(ctx, robot.name, robot.secret, robot=True, origin=access.ROBOT_FILE, file=str(path))
    hint = "Name the project: `aisg-check harbor --project NAME --robot-file FILE.json`."
    access.service_chain(ctx, rec, who, ROBOT_AUTH, ROBOT_PUSH, hint)


def read_robot_file(path: Path) -> RobotFile | str:
    """The robot account, or why the file is unusable (naming the file)."""
    try:
        data = dockerconfig.read_json(path, what="a robot account file")
    except dockerconfig.UnusableFile as exc:
        return str(exc)
    if data is None:
        return f"{path} does not exist"
    if not isinstance(data, dict):
        return f"{path}: expected a JSON object"
    name = data.get("name")
    secret = data.get("secret") if data.get("secret") else data.get("token")
    if not isinstance(name, str) or not name or not isinstance(secret, str) or not secret:
        return f"{path}: needs `name` and `secret` (Harbor 2.2+) or `name` and `token` (older Harbor)"
    if len(name) > _MAX_NAME:  # echoed in every row of the chain: keep those lines bounded
        return f"{path}: `name` is longer than {_MAX_NAME} characters, not a Harbor robot's name"
    expires = data.get("expires_at")
    if expires is not None and (isinstance(expires, bool) or not isinstance(expires, int)):
        return f"{path}: `expires_at` must be a whole number of seconds since 1970 (or -1 for never)"
    return RobotFile(name, Secret(secret), "harbor-2.2+" if data.get("secret") else "legacy", expires)


def _when(epoch: int) -> str | None:
    """ISO 8601 in UTC, or None for a moment past what a date can hold (after the year 9999)."""
    try:
        moment = datetime.fromtimestamp(epoch, timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def _expiry(robot: RobotFile) -> datetime | None:
    """The moment the robot expires; None for never (-1, absent, or past the year 9999)."""
    if robot.expires_at is None or robot.expires_at < 0:
        return None
    try:
        return datetime.fromtimestamp(robot.expires_at, timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None


def _file(ctx: Context, rec: Recorder, path: Path) -> RobotFile:
    robot = read_robot_file(path)
    if isinstance(robot, str):
        raise rec.fail(ROBOT_FILE, HARBOR_ROBOT_FILE_INVALID, robot, details={"file": str(path)})
    ctx.scrubber.add(robot.secret)
    details: dict[str, Any] = {"file": str(path), "name": robot.name, "format": robot.format}
    expires = _expiry(robot)
    # Only a file that says when (or -1, never) has a lifetime to report; an old export without
    # `expires_at` says nothing either way.
    known = robot.expires_at is not None
    credentials = [_credential(robot, expires, path)] if known else []
    expiry, lifetime = "never expires", lifetimes.judge(ctx, expires)
    if expires is not None:
        when = _when(robot.expires_at or 0)
        details.update(expires_at=when, expires_in_days=lifetime.days_left)
        if lifetime.verdict is lifetimes.Verdict.EXPIRED:
            expired = f"Robot account {robot.name} expired on {when}"
            raise rec.fail(
                ROBOT_FILE, HARBOR_ROBOT_EXPIRED, expired, details=details, credentials=credentials
            )
        expiry = f"expires {when} ({lifetime.phrase()})"
    elif robot.expires_at is not None and robot.expires_at >= 0:
        details["expires_at"] = "after the year 9999"
        expiry = "expires after the year 9999, as good as never"
    summary = f"Robot account {robot.name} from {path.name}, {expiry}"
    projects = ctx.settings.harbor.projects
    if names.looks_expanded(robot.name):
        rec.warn(
            ROBOT_FILE,
            HARBOR_ROBOT_NAME_EXPANDED,
            f"{names.expanded_summary(robot.name, projects)} ({path.name}, {expiry})",
            hint=names.quoting_hint(access.registry_of(ctx), robot.name, projects)
            + f" Then write that name into {path}.",
            details=details,
            credentials=credentials,
        )
    elif lifetime.verdict is lifetimes.Verdict.SOON:
        rec.warn(
            ROBOT_FILE,
            HARBOR_ROBOT_EXPIRES_SOON,
            summary,
            hint=renewal_hint(robot.name, _when(robot.expires_at or 0) or "then"),
            details=details,
            credentials=credentials,
        )
    else:
        rec.ok(ROBOT_FILE, summary, details=details, credentials=credentials)
    return robot


def _credential(robot: RobotFile, expires: datetime | None, path: Path) -> Credential:
    return Credential("harbor_robot", f"Harbor robot {robot.name}", expires, str(path), owner=robot.name)


def renewal_hint(name: str, when: str) -> str:
    """Who renews a robot and where: its project's admin in Harbor (or the MLOps team)."""
    project, plus, _ = name.removeprefix(names.PREFIX).partition("+")
    where = (
        f"Projects → {project} → Robot Accounts"
        if name.startswith(names.PREFIX) and plus
        else "Administration → Robot Accounts (a system robot) or Projects → <project> → Robot Accounts"
    )
    return (
        f"Ask the project's admin or {CONTACT_MLOPS} to extend {name} before {when}: in Harbor, {where}, "
        "select it → Action → Edit → a new expiration time (the secret stays the same). If they refresh "
        "the secret instead, replace this file and every CI variable or Secret that holds the secret."
    )
