"""`harbor.ci`: the login that builders use in CI jobs and pods, a Docker config JSON file
(`harbor.auth_file`, env HARBOR_DOCKER_CONFIG_JSON or AISG_CHECK_HARBOR_AUTH_FILE): file and
inline login → name → login → push permission per project, the same layers as a robot file's.

Its own check rather than a replacement of the user's: a laptop may have both a login of its
own and the CI file to try, and the two identities stay apart in every report (rows, JUnit
cases, metrics). Where the file is set, `harbor.user` does not insist on a login of its own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aisg_check.check import Recorder, Stop
from aisg_check.checks.harbor import CI_AUTH, CI_FILE, CI_PUSH, access, authfile, names
from aisg_check.checks.harbor.diagnoses import (
    HARBOR_AUTH_FILE_HELPER,
    HARBOR_AUTH_FILE_INVALID,
    HARBOR_AUTH_FILE_NO_LOGIN,
    HARBOR_ROBOT_NAME_EXPANDED,
    NOT_CONFIGURED,
)
from aisg_check.context import Context

_INLINE = '{"auths": {"%s": {"auth": "<base64 of user:secret>"}}}'


def run(ctx: Context, rec: Recorder) -> None:
    setting = ctx.settings.harbor.auth_file
    registry = access.registry_of(ctx)
    if not setting or not registry:
        hint = (
            "In CI, set the file variable HARBOR_DOCKER_CONFIG_JSON (or harbor.auth_file) to the Docker "
            "config JSON your builds log in with."
        )
        summary = "No Docker config JSON for CI to check (harbor.auth_file, HARBOR_DOCKER_CONFIG_JSON)"
        rec.skip(CI_FILE, NOT_CONFIGURED, summary, hint=hint)
        rec.skip(CI_AUTH, NOT_CONFIGURED, "No CI login to check (harbor.auth_file)", hint=hint)
        return
    where = authfile.shown(ctx, setting)
    login = _file(ctx, rec, setting, registry)
    if login is None:
        return
    who = access.identity(
        ctx,
        login.username,
        login.password,
        robot=access.is_robot(login.username),
        origin=access.AUTH_FILE,
        file=where,
    )
    hint = "Name the project: harbor.projects (AISG_CHECK_HARBOR_PROJECTS) or `--project NAME`."
    access.service_chain(ctx, rec, who, CI_AUTH, CI_PUSH, hint)


def _file(ctx: Context, rec: Recorder, setting: str, registry: str) -> authfile.InlineLogin | None:
    """The file's inline login for the registry, its name looked at; None when there is no file
    in a pod (the CronJob's Secret is optional: a project without one is not configured). The
    setting may hold the JSON itself (a CI variable that is not a File): named, never shown."""
    path = authfile.shown(ctx, setting)
    name = path if path == authfile.INLINE else Path(path).name
    details: dict[str, Any] = {"file": path, "registry": registry}
    try:
        login = authfile.load(ctx, setting, registry)
    except authfile.Problem as problem:
        if problem.kind == authfile.MISSING and ctx.in_cluster:
            summary = f"No Docker config JSON mounted at {path} (the Secret with the Harbor login is absent)"
            rec.skip(CI_FILE, NOT_CONFIGURED, summary, details=details)
            rec.skip(CI_AUTH, NOT_CONFIGURED, "No CI login to check", details=details)
            return None
        raise _problem(rec, problem, registry, details) from None
    details.update(username=login.username, key=login.key, form=login.form)
    if names.looks_expanded(login.username):
        projects = ctx.settings.harbor.projects
        rebuild = f" Then rebuild the `auth` in {path} from that name ({access.REBUILD})."
        rec.warn(
            CI_FILE,
            HARBOR_ROBOT_NAME_EXPANDED,
            names.expanded_summary(login.username, projects) + f" ({name})",
            hint=names.quoting_hint(registry, login.username, projects) + rebuild,
            details=details,
        )
        return login
    rec.ok(
        CI_FILE,
        f"Inline login for {registry} as {login.username} in {name}, as kaniko and crane read it",
        details=details,
    )
    return login


def _problem(rec: Recorder, problem: authfile.Problem, registry: str, details: dict[str, Any]) -> Stop:
    inline = _INLINE % registry
    update = "and update the CI file variable HARBOR_DOCKER_CONFIG_JSON (or the Secret) that holds it."
    if problem.kind == authfile.HELPER:
        return rec.fail(
            CI_FILE,
            HARBOR_AUTH_FILE_HELPER,
            f"{problem.message}: kaniko and crane run no credential helper, so they cannot log in with it",
            hint=f"Remove credsStore and credHelpers from the file, put the login inline, {inline}, {update}",
            details={**details, "section": problem.helper},
        )
    if problem.kind == authfile.NO_LOGIN:
        return rec.fail(
            CI_FILE,
            HARBOR_AUTH_FILE_NO_LOGIN,
            problem.message,
            hint=f"Put the login inline, {inline}, {update}",
            details=details,
        )
    return rec.fail(
        CI_FILE,
        HARBOR_AUTH_FILE_INVALID,
        problem.message,
        hint=f"Write it as {inline}, the auth made with {access.REBUILD}, {update}",
        details=details,
    )
