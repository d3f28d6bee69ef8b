"""`harbor.robot`: a robot account's `.json` file, as Harbor exports it (file and expiry →
login → push permission per project). Independent of the user's own docker login."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from aisg_check.check import Recorder
from aisg_check.checks.harbor import ROBOT_AUTH, ROBOT_FILE, ROBOT_PUSH, access
from aisg_check.checks.harbor.diagnoses import (
    HARBOR_REGISTRY_ERROR,
    HARBOR_ROBOT_EXPIRED,
    HARBOR_ROBOT_FILE_INVALID,
    NOT_CONFIGURED,
)
from aisg_check.context import Context
from aisg_check.platform import dockerconfig
from aisg_check.platform.registry_v2 import Challenge, RegistryClient, RegistryError
from aisg_check.secrets import Secret

# robot$<project>+<name>: a Harbor 2.2+ robot of one project.
_PROJECT_ROBOT = r"robot\$([^+]+)\+.+"
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
    robot = _file(ctx, rec, ctx.path(setting))
    who = access.identity(ctx, robot.name, robot.secret, robot=True)
    rec.require("vpn.harbor")
    with ctx.http(timeout=rec.step_timeout(ctx.timeout)) as http:
        client = access.client(ctx, rec, http, registry)
        challenge = _challenge(ctx, rec, client)
        access.login(ctx, rec, client, challenge, who, ROBOT_AUTH)
        projects = _projects(ctx, robot)
        if not projects:
            rec.skip(
                ROBOT_PUSH,
                NOT_CONFIGURED,
                f"No project to check {robot.name}'s push rights for",
                hint="Name the project: `aisg-check harbor --project NAME --robot-file FILE.json`.",
            )
            return
        for project in projects:
            access.push(ctx, rec, client, challenge, who, project, f"{ROBOT_PUSH.id}.{project}")


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


def _file(ctx: Context, rec: Recorder, path: Path) -> RobotFile:
    robot = read_robot_file(path)
    if isinstance(robot, str):
        raise rec.fail(ROBOT_FILE, HARBOR_ROBOT_FILE_INVALID, robot, details={"file": str(path)})
    ctx.scrubber.add(robot.secret)
    details: dict[str, Any] = {"file": str(path), "name": robot.name, "format": robot.format}
    expiry = "never expires"
    if robot.expires_at is not None and robot.expires_at >= 0:
        when = _when(robot.expires_at)
        details["expires_at"] = when or "after the year 9999"
        if robot.expires_at <= ctx.now().timestamp():
            expired = f"Robot account {robot.name} expired on {when}"
            raise rec.fail(ROBOT_FILE, HARBOR_ROBOT_EXPIRED, expired, details=details)
        expiry = f"expires {when}" if when else "expires after the year 9999, as good as never"
    note = ""
    if not robot.name.startswith("robot$"):
        note = " (the name lacks the `robot$` prefix: was `$...` expanded by a shell?)"
    rec.ok(ROBOT_FILE, f"Robot account {robot.name} from {path.name}, {expiry}{note}", details=details)
    return robot


def _challenge(ctx: Context, rec: Recorder, client: RegistryClient) -> Challenge:
    """The registry's challenge; the robot's chain has no TLS row, so a failure is the login's."""
    import httpx

    details = {"registry": client.registry}
    try:
        return client.challenge()
    except httpx.HTTPError as exc:
        raise access.transport(ctx, rec, ROBOT_AUTH, exc, client.registry, details) from None
    except RegistryError as exc:
        raise rec.fail(ROBOT_AUTH, HARBOR_REGISTRY_ERROR, str(exc), details=details) from None


def _projects(ctx: Context, robot: RobotFile) -> tuple[str, ...]:
    """Configured projects, else the one a Harbor 2.2+ project robot is named after:
    robot$<project>+<name>."""
    if ctx.settings.harbor.projects:
        return ctx.settings.harbor.projects
    match = re.fullmatch(_PROJECT_ROBOT, robot.name)  # compiled on first use, not at import
    return (match.group(1),) if match else ()
