"""ECS_ENDPOINT_NOT_SET: `endpoint_url = <ECS>` in the profile's section of the aws config file
(~/.aws/config, or AWS_CONFIG_FILE), as the hint says, so `aws s3 …` and boto3 without
--endpoint-url talk to ECS rather than to Amazon. The line goes just after the section's header
(before any nested `s3 =` settings); a missing section is added at the end, a missing file made.
The profile and the file are the ones the `ecs.profile` step of the same run names."""

from __future__ import annotations

import re
from collections.abc import Mapping

from aisg_check import edits
from aisg_check.context import Context
from aisg_check.fixes.plan import FileEdit, Plan, Refused
from aisg_check.model import CheckResult


def offered(ctx: Context, result: CheckResult) -> bool:
    # A source with "not set" means ignore_configured_endpoint_urls is on: the user chose that.
    return bool(result.details.get("endpoint_url")) and not result.details.get("aws_endpoint_from")


def _header(profile: str) -> re.Pattern[str]:
    name = re.escape(profile)
    prefix = r"(?:profile\s+)?" if profile == "default" else r"profile\s+"
    return re.compile(rf"^\s*\[\s*{prefix}{name}\s*\]\s*$")


def edited(text: str, profile: str, endpoint: str) -> str:
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += newline
    header = _header(profile)
    line = f"endpoint_url = {endpoint}{newline}"
    for index, raw in enumerate(lines):
        if header.match(raw.rstrip("\r\n")):
            lines.insert(index + 1, line)
            return "".join(lines)
    section = "default" if profile == "default" else f"profile {profile}"
    if lines and lines[-1].strip():
        lines.append(newline)
    lines += [f"[{section}]{newline}", line]
    return "".join(lines)


def plan(ctx: Context, result: CheckResult, results: Mapping[str, CheckResult]) -> Plan:
    chosen = results.get("ecs.profile")
    profile = chosen.details.get("profile") if chosen else None
    shown = chosen.details.get("config_file") if chosen else None
    if not isinstance(profile, str) or not isinstance(shown, str):
        raise Refused("the run did not say which AWS profile and config file it used")
    endpoint = str(result.details["endpoint_url"])
    path = ctx.path(shown)
    try:
        data = edits.current(path)
        before = data.decode("utf-8") if data is not None else None
    except edits.EditError as exc:
        raise Refused(str(exc)) from None
    except UnicodeDecodeError:
        raise Refused(f"{shown} is not UTF-8 text; edit it by hand") from None
    return Plan(
        f"Point AWS profile '{profile}' at {endpoint} in {shown}",
        (FileEdit(path, shown, before, edited(before or "", profile, endpoint), ctx.home),),
        (
            f"Every aws and boto3 call with profile '{profile}' then goes to {endpoint}: right for a "
            "profile you keep for ECS, not for one you also use with Amazon.",
        ),
    )
