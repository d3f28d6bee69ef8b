"""`harbor.user`: the user's `docker login`, layer by layer (stored login → username → TLS →
login → push permission per project).

Where a Docker config JSON for CI is set (`harbor.auth_file`, checked by `harbor.ci`), a person's
own login is not expected: in a pod this check does not apply, and in a CI job or on a laptop a
missing login is a skip pointing at `harbor.ci` rather than a failure."""

from __future__ import annotations

from typing import Any

from aisg_check.check import Recorder, Stop
from aisg_check.checks.harbor import (
    USER_AUTH,
    USER_CREDENTIALS,
    USER_PUSH,
    USER_TLS,
    USER_USERNAME,
    access,
    authfile,
    names,
)
from aisg_check.checks.harbor.diagnoses import (
    HARBOR_CREDHELPER_FAILED,
    HARBOR_DOCKER_CONFIG_INVALID,
    HARBOR_NOT_LOGGED_IN,
    HARBOR_REGISTRY_ERROR,
    HARBOR_ROBOT_NAME_EXPANDED,
    HARBOR_USERNAME_HAS_DOMAIN,
    NOT_APPLICABLE,
    NOT_CONFIGURED,
)
from aisg_check.context import Context
from aisg_check.platform import dockerconfig
from aisg_check.platform.registry_v2 import Challenge, RegistryClient, RegistryError


def run(ctx: Context, rec: Recorder) -> None:
    registry = access.registry_of(ctx)
    if not registry:
        rec.skip(USER_CREDENTIALS, NOT_CONFIGURED, "No registry configured (harbor.registry)")
        return
    if ctx.in_cluster and ctx.settings.harbor.auth_file:
        why = "Not applicable in a pod: the Docker config JSON of harbor.auth_file is its login (harbor.ci)"
        for step in (USER_CREDENTIALS, USER_USERNAME, USER_TLS, USER_AUTH, USER_PUSH):
            rec.skip(step, NOT_APPLICABLE, why)
        return
    who = _credentials(ctx, rec, registry)
    _username(ctx, rec, registry, who)
    # The client first: building it imports httpx, which overlaps the probe's network wait.
    with ctx.http(timeout=rec.step_timeout(ctx.timeout)) as http:
        client = access.client(ctx, rec, http, registry)
        access.wait_for_endpoint(ctx, rec, USER_TLS)
        challenge = _tls(ctx, rec, client)
        access.login(ctx, rec, client, challenge, who, USER_AUTH)
        projects = ctx.settings.harbor.projects
        if not projects:
            rec.skip(
                USER_PUSH,
                NOT_CONFIGURED,
                "No project to check push rights for (harbor.projects)",
                hint="Name your team's project: `aisg-check harbor --project NAME` or harbor.projects in the "
                "config file.",
            )
            return
        for project in projects:
            access.push(ctx, rec, client, challenge, who, project, f"{USER_PUSH.id}.{project}")


def _credentials(ctx: Context, rec: Recorder, registry: str) -> access.Identity:
    """The login docker stored for the registry (a local layer: it reports even off the VPN)."""
    try:
        found = dockerconfig.lookup(ctx, registry, rec.step_timeout(ctx.timeout))
    except dockerconfig.DockerConfigError as exc:
        raise rec.fail(
            USER_CREDENTIALS,
            HARBOR_DOCKER_CONFIG_INVALID,
            ctx.scrubber.scrub(str(exc)),
            hint=f"Fix or move that file, then run `docker login {registry}` again.",
        ) from None
    except dockerconfig.HelperError as exc:
        why = dockerconfig.scrubbed(ctx, exc.message)
        raise rec.fail(
            USER_CREDENTIALS,
            HARBOR_CREDHELPER_FAILED,
            f"The credential helper {exc.helper} failed for {registry}: {why}",
            hint=f"Run `{exc.helper} list` to see why; install or unlock it, or remove it from the "
            f"config's credsStore/credHelpers and run `docker login {registry}` again.",
            details={"helper": exc.helper},
        ) from None
    details: dict[str, Any] = {"registry": registry, "docker_config": str(found.path)}
    login = f"docker login {registry} -u <user without domain>"
    creds = found.credentials
    if creds is None:
        where = (
            f"no login for {registry} in {found.path}"
            if found.file_exists
            else f"no Docker config at {found.path}"
        )
        if found.store:
            where += f" nor in docker-credential-{found.store}"
        if ctx.settings.harbor.auth_file:
            raise _checked_elsewhere(ctx, rec, where, details)
        raise rec.fail(
            USER_CREDENTIALS,
            HARBOR_NOT_LOGGED_IN,
            f"Not logged in: {where}",
            hint=f"Run `{login}` (e.g. alice, not alice@aisingapore.org).",
            details=details,
        )
    details["source"] = creds.source
    if creds.identity_token:
        raise rec.fail(
            USER_CREDENTIALS,
            HARBOR_NOT_LOGGED_IN,
            f"The login for {registry} is an OAuth identity token, which Harbor does not issue",
            hint=f"Run `docker logout {registry}`, then `{login}`.",
            details=details,
        )
    who = access.identity(ctx, creds.username, creds.password)
    rec.ok(
        USER_CREDENTIALS,
        f"Docker has a login for {registry} as {creds.username} ({creds.source})",
        details={**details, "username": creds.username},
    )
    return who


def _checked_elsewhere(ctx: Context, rec: Recorder, where: str, details: dict[str, Any]) -> Stop:
    """No login of the user's own, where a Docker config JSON for CI is what logs in: a skip of
    this chain (each later step skipped too), not a failure; `harbor.ci` checks that file."""
    file = authfile.shown(ctx, ctx.settings.harbor.auth_file or "")
    summary = f"Not checked: {where}; the Docker config JSON {file} is checked instead (harbor.ci)"
    rec.skip(USER_CREDENTIALS, NOT_CONFIGURED, summary, details={**details, "auth_file": file})
    for step in (USER_USERNAME, USER_TLS, USER_AUTH, USER_PUSH):
        rec.skip(step, NOT_CONFIGURED, "Not checked: no docker login of your own")
    return Stop(USER_CREDENTIALS.id)


def _username(ctx: Context, rec: Recorder, registry: str, who: access.Identity) -> None:
    details = {"username": who.username}
    if names.looks_expanded(who.username):
        projects = ctx.settings.harbor.projects
        # A warning, not a stop: the login layer below says whether Harbor took it.
        rec.warn(
            USER_USERNAME,
            HARBOR_ROBOT_NAME_EXPANDED,
            names.expanded_summary(who.username, projects),
            hint=names.quoting_hint(registry, who.username, projects),
            details=details,
        )
        return
    if "@" not in who.username:
        rec.ok(
            USER_USERNAME, f"Username {who.username} has no email domain, as Harbor expects", details=details
        )
        return
    user = who.username.split("@")[0]
    # A warning, not a stop: the login layer below says whether Harbor took it.
    rec.warn(
        USER_USERNAME,
        HARBOR_USERNAME_HAS_DOMAIN,
        f"The stored username {who.username} includes the email domain; Harbor knows you as {user}",
        hint=f"Run `docker login {registry} -u {user}`.",
        details=details,
    )


def _tls(ctx: Context, rec: Recorder, client: RegistryClient) -> Challenge:
    """An anonymous `GET /v2/`: the connection and the certificate, and how to log in. A registry
    that answers, but not as a registry, passed TLS and fails the login layer."""
    import httpx

    details = {"registry": client.registry}
    trusted = f"TLS certificate of {client.registry} is trusted"
    try:
        challenge = client.challenge()
    except httpx.HTTPError as exc:
        raise access.transport(ctx, rec, USER_TLS, exc, client.registry, details) from None
    except RegistryError as exc:
        rec.ok(USER_TLS, trusted, details=details)
        raise rec.fail(USER_AUTH, HARBOR_REGISTRY_ERROR, str(exc), details=details) from None
    rec.ok(USER_TLS, trusted, details={**details, "auth": challenge.scheme})
    return challenge
