"""The layers the three identities' chains share (the user's docker login, a robot file, the
Docker config JSON for CI): reaching the registry, logging in, and push permission per project.
The protocol itself is `platform.registry_v2`; this module turns its answers and its transport
failures into results."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aisg_check.check import Recorder, Step, Stop
from aisg_check.checks.harbor import names
from aisg_check.checks.harbor.diagnoses import (
    HARBOR_AUTH_FAILED,
    HARBOR_NO_PROJECT_ACCESS,
    HARBOR_NO_PUSH,
    HARBOR_REGISTRY_ERROR,
    HARBOR_ROBOT_AUTH_FAILED,
    HARBOR_ROBOT_NAME_EXPANDED,
    NOT_CONFIGURED,
    TLS_UNTRUSTED_CERT,
)
from aisg_check.context import Context
from aisg_check.diagnoses import NETWORK_DIAGNOSES
from aisg_check.model import CONTACT_MLOPS, Diagnosis
from aisg_check.net.failures import transport_failure
from aisg_check.platform import dockerconfig
from aisg_check.platform.registry_v2 import Challenge, Refused, RegistryClient, RegistryError, granted
from aisg_check.secrets import Secret

if TYPE_CHECKING:
    import httpx

# The repository asked about in permission scopes. Harbor grants per project, so any name
# under the project answers for all of them; nothing is ever pushed to it.
PROBE_REPOSITORY = "aisg-check"

# Harbor's role ids (current_user_role_ids in GET /api/v2.0/projects/{name}), strongest first.
ROLES: Mapping[int, str] = {
    1: "Project Admin",
    4: "Maintainer",
    2: "Developer",
    3: "Guest",
    5: "Limited Guest",
}
_ROLE_ORDER = tuple(ROLES.values())
PUSH_ROLES = "Project Admin, Maintainer or Developer"

# Certificate failures the VPN probe of the registry may already have found.
_TLS_CODES = {"TLS_UNTRUSTED_CERT", "TLS_HOSTNAME_MISMATCH", "TLS_CERT_EXPIRED", "TLS_HANDSHAKE_FAILED"}


# Where an identity comes from, which decides the fix a refusal's hint gives.
DOCKER_LOGIN, ROBOT_FILE, AUTH_FILE = "docker login", "robot file", "auth file"


@dataclass(frozen=True)
class Identity:
    """Who is checked: the user's docker login, a robot account file, or the Docker config
    JSON for CI (which holds a robot's login, or a user's)."""

    username: str
    password: Secret
    robot: bool = False
    origin: str = DOCKER_LOGIN
    file: str = ""  # the file it was read from (robot and auth files)


def identity(
    ctx: Context,
    username: str,
    password: Secret,
    *,
    robot: bool = False,
    origin: str = DOCKER_LOGIN,
    file: str = "",
) -> Identity:
    """An identity whose password the scrubber knows in every form a server may echo, Basic
    auth's base64 of `user:password` included (that matches the password's own base64 only
    when the length of `user:` happens to be a multiple of three)."""
    ctx.scrubber.add(password)
    basic = base64.b64encode(f"{username}:{password.reveal()}".encode()).decode()
    ctx.scrubber.add(basic.rstrip("="))
    return Identity(username, password, robot, origin, file)


def is_robot(username: str) -> bool:
    return username.startswith(names.PREFIX) or names.looks_expanded(username)


def registry_of(ctx: Context) -> str:
    return dockerconfig.registry_key(ctx.settings.harbor.registry)


def client(ctx: Context, rec: Recorder, http: httpx.Client, registry: str) -> RegistryClient:
    # Each request gets what is left of the check's time, not the timeout fixed at the start.
    return RegistryClient(
        http, registry, timeout=lambda: rec.step_timeout(ctx.timeout), on_secret=ctx.scrubber.add
    )


def docker_tls_hint(registry: str) -> str:
    # Docker looks up certs.d/<host[:port]>, the registry exactly as written in image names.
    target = registry if ":" in registry else f"{registry}:443"
    return (
        "Trust the registry's CA in both places: in this tool (ca_bundle or SSL_CERT_FILE) and in Docker, "
        f"which reads /etc/docker/certs.d/{registry}/ca.crt on Linux (restart not needed) and the OS "
        f"certificate store on macOS and Windows (restart Docker Desktop). Check with "
        f"`openssl s_client -connect {target} -showcerts`."
    )


def transport(
    ctx: Context,
    rec: Recorder,
    step: Step | str,
    exc: httpx.HTTPError,
    registry: str,
    details: Mapping[str, Any],
    title: str = "",
) -> Stop:
    """Record a failed request as the shared code of its transport failure (Docker's side of the
    fix for an untrusted certificate); HARBOR_REGISTRY_ERROR only for what none of them is."""
    try:
        url = str(exc.request.url)
    except RuntimeError:  # an error raised before a request existed
        url = f"https://{registry}/"
    failure = transport_failure(ctx, exc, url, fallback=HARBOR_REGISTRY_ERROR)
    hint = docker_tls_hint(registry) if failure.diagnosis is TLS_UNTRUSTED_CERT else None
    return rec.fail(step, failure.diagnosis, failure.summary, hint=hint, details=details, title=title)


def wait_for_endpoint(ctx: Context, rec: Recorder, tls_step: Step) -> None:
    """Wait for the VPN probe of the registry. A certificate problem found there is reported
    at `tls_step` too, with Docker's side of the fix, rather than as a bare `blocked by vpn.harbor`."""
    registry = registry_of(ctx)
    for result in rec.prior("vpn.harbor"):
        if result.code in _TLS_CODES and result.status.is_problem:
            diagnosis = next(d for d in NETWORK_DIAGNOSES if d.code == result.code)
            hint = docker_tls_hint(registry) if diagnosis is TLS_UNTRUSTED_CERT else None
            raise rec.fail(tls_step, diagnosis, result.summary, hint=hint, details={"registry": registry})
    rec.require("vpn.harbor")


def login(
    ctx: Context, rec: Recorder, registry: RegistryClient, challenge: Challenge, who: Identity, step: Step
) -> None:
    """The login layer: as docker logs in, as `who`; stops the chain when it is refused."""
    import httpx

    details: dict[str, Any] = {"registry": registry.registry, "username": who.username}
    try:
        facts = registry.login(challenge, who.username, who.password)
    except httpx.HTTPError as exc:
        raise transport(ctx, rec, step, exc, registry.registry, details) from None
    except RegistryError as exc:
        raise rec.fail(step, HARBOR_REGISTRY_ERROR, str(exc), details=details) from None
    except Refused as exc:
        diagnosis, summary, hint = refused(ctx, registry.registry, who)
        raise rec.fail(
            step, diagnosis, summary, hint=hint, details={**details, "http_status": exc.status}
        ) from None
    kind = "robot account" if who.robot else "user"
    rec.ok(step, f"Logged in to {registry.registry} as {kind} {who.username}", details={**details, **facts})


def refused(ctx: Context, registry: str, who: Identity) -> tuple[Diagnosis, str, str]:
    """Diagnosis, summary and a hint naming this registry and account, for a refused login."""
    if names.looks_expanded(who.username):
        then = f" Then write that name into {who.file}." if who.origin == ROBOT_FILE else ""
        if who.origin == AUTH_FILE:
            then = f" Then rebuild the `auth` in {who.file}: {REBUILD}."
        summary = f"{registry} refused {who.username}. {names.expanded_summary(who.username, _projects(ctx))}"
        hint = names.quoting_hint(registry, who.username, _projects(ctx)) + then
        return HARBOR_ROBOT_NAME_EXPANDED, summary, hint
    if who.origin == AUTH_FILE:
        kind = "robot account" if who.robot else "user"
        summary = f"{registry} refused {kind} {who.username} from the Docker config JSON {who.file}"
        hint = (
            "The secret in it is not the current one (refreshed, or the robot disabled, deleted or expired). "
            f"Get the current secret from the project's admin or {CONTACT_MLOPS}, rebuild the `auth` "
            f"({REBUILD}) and update the CI file variable HARBOR_DOCKER_CONFIG_JSON or the Secret."
        )
        return (HARBOR_ROBOT_AUTH_FAILED if who.robot else HARBOR_AUTH_FAILED), summary, hint
    if who.robot:
        note = ""
        if not who.username.startswith(names.PREFIX):
            note = f" The name {who.username} lacks the `robot$` prefix Harbor gives every robot."
        hint = (
            f"Use the name and secret from the latest robot file; on a command line quote the name: "
            f"`docker login {registry} -u 'robot$<project>+<name>'`. Still refused: ask {CONTACT_MLOPS}."
        )
        return HARBOR_ROBOT_AUTH_FAILED, f"{registry} refused robot account {who.username}.{note}", hint
    user = who.username.split("@")[0] or "<user>"
    hint = (
        f"Run `docker login {registry} -u {user}` (username without the email domain) and enter your "
        "account password, or, if you sign in to Harbor through SSO, the CLI secret from your Harbor "
        f"profile page (https://{registry}, top right, User Profile). Still refused: ask {CONTACT_MLOPS}."
    )
    return HARBOR_AUTH_FAILED, f"{registry} refused the login of {who.username} stored by docker login", hint


# How to make a Docker config JSON's `auth` (no trailing newline, no line wrapping).
REBUILD = "`printf '%s' '<name>:<secret>' | base64 -w0`"


def _projects(ctx: Context) -> tuple[str, ...]:
    return tuple(ctx.settings.harbor.projects)


def challenge(ctx: Context, rec: Recorder, client: RegistryClient, step: Step) -> Challenge:
    """The registry's challenge for a chain without a TLS row of its own (a robot's, the CI
    file's): a failure is that chain's login failure."""
    import httpx

    details = {"registry": client.registry}
    try:
        return client.challenge()
    except httpx.HTTPError as exc:
        raise transport(ctx, rec, step, exc, client.registry, details) from None
    except RegistryError as exc:
        raise rec.fail(step, HARBOR_REGISTRY_ERROR, str(exc), details=details) from None


def projects_for(ctx: Context, username: str) -> tuple[str, ...]:
    """Configured projects, else the one a Harbor 2.2+ project robot is named after:
    robot$<project>+<name>."""
    if ctx.settings.harbor.projects:
        return tuple(ctx.settings.harbor.projects)
    project, plus, name = username.removeprefix(names.PREFIX).partition("+")
    return (project,) if username.startswith(names.PREFIX) and project and plus and name else ()


def service_chain(ctx: Context, rec: Recorder, who: Identity, auth: Step, push_step: Step, hint: str) -> None:
    """A robot's or the CI file's chain past its file: the registry's challenge and the login at
    `auth`, then push permission per project under the group `push_step`."""
    rec.require("vpn.harbor")
    with ctx.http(timeout=rec.step_timeout(ctx.timeout)) as http:
        registry = client(ctx, rec, http, registry_of(ctx))
        asked = challenge(ctx, rec, registry, auth)
        login(ctx, rec, registry, asked, who, auth)
        projects = projects_for(ctx, who.username)
        if not projects:
            summary = f"No project to check {who.username}'s push rights for"
            rec.skip(push_step, NOT_CONFIGURED, summary, hint=hint)
            return
        for project in projects:
            push(ctx, rec, registry, asked, who, project, f"{push_step.id}.{project}")


def push(
    ctx: Context,
    rec: Recorder,
    registry: RegistryClient,
    challenge: Challenge,
    who: Identity,
    project: str,
    step: str,
) -> None:
    """One project's row: may `who` push there? A failure is recorded and the next project
    still checked (each is its own row), so nothing here stops the chain."""
    title = f"Push to {project}"
    details: dict[str, Any] = {"registry": registry.registry, "project": project, "username": who.username}
    if challenge.scheme != "bearer":
        # Distribution with htpasswd (or no auth) has no per-project roles: a login may do anything.
        scheme = challenge.scheme
        summary = f"{registry.registry} grants every logged-in user pull and push ({scheme} auth, no roles)"
        rec.ok(step, summary, details=details, title=title)
        return
    actions = _granted(ctx, rec, registry, challenge, who, project, step, details)
    if actions is None:
        return
    role, api_status = (None, 0) if who.robot else _role(registry, project, who)
    details.update(granted=sorted(actions), role=role)
    as_role = f" (role {role})" if role else ""
    if "push" in actions:
        summary = f"{who.username} can push to {project} on {registry.registry}{as_role}"
        rec.ok(step, summary, details=details, title=title)
    elif "pull" in actions:
        rec.fail(
            step,
            HARBOR_NO_PUSH,
            f"{who.username} can pull from {project} but not push{as_role}",
            hint=_no_push_hint(project, role, who),
            details=details,
            title=title,
        )
    else:
        missing = " (Harbor's API knows no project by that name)" if api_status == 404 else ""
        rec.fail(
            step,
            HARBOR_NO_PROJECT_ACCESS,
            f"{who.username} has no access to {project} on {registry.registry}{missing}",
            hint=_no_access_hint(registry.registry, project, who),
            details=details,
            title=title,
        )


def _granted(
    ctx: Context,
    rec: Recorder,
    registry: RegistryClient,
    challenge: Challenge,
    who: Identity,
    project: str,
    step: str,
    details: Mapping[str, Any],
) -> frozenset[str] | None:
    """The actions the token service grants `who` on the project, asked as docker asks before a
    push; None when the request failed (recorded as the row's failure)."""
    import httpx

    repository = f"{project}/{PROBE_REPOSITORY}"
    title = f"Push to {project}"
    try:
        token = registry.token(challenge, who.username, who.password, f"repository:{repository}:pull,push")
    except httpx.HTTPError as exc:
        transport(ctx, rec, step, exc, registry.registry, details, title)
    except RegistryError as exc:
        rec.fail(step, HARBOR_REGISTRY_ERROR, str(exc), details=details, title=title)
    except Refused as exc:
        diagnosis, summary, hint = refused(ctx, registry.registry, who)
        refusal = {**details, "http_status": exc.status}
        rec.fail(step, diagnosis, summary, hint=hint, details=refusal, title=title)
    else:
        return granted(token.claims, repository)
    return None


def _role(registry: RegistryClient, project: str, who: Identity) -> tuple[str | None, int]:
    """The user's role in the project from Harbor's API, best effort: (role name, HTTP status)."""
    from urllib.parse import quote

    import httpx

    try:
        response = registry.get(
            f"{registry.base}/api/v2.0/projects/{quote(project, safe='')}",
            headers={"X-Is-Resource-Name": "true", "Accept": "application/json"},
            auth=(who.username, who.password.reveal()),
        )
    except httpx.HTTPError:
        return None, 0  # only a detail of the row: the granted actions decide it
    if response.status_code != 200:
        return None, response.status_code
    try:
        body = response.json()
    except (ValueError, RecursionError):
        return None, response.status_code
    ids = body.get("current_user_role_ids") if isinstance(body, dict) else None
    if not isinstance(ids, list):
        single = body.get("current_user_role_id") if isinstance(body, dict) else None
        ids = [single] if isinstance(single, int) and single else []
    names = [ROLES.get(i, f"role {i}") for i in ids if isinstance(i, int)]
    # With several roles (direct and through a group) the strongest one decides pushing.
    names.sort(key=lambda n: _ROLE_ORDER.index(n) if n in _ROLE_ORDER else len(_ROLE_ORDER))
    return (names[0] if names else None), response.status_code


def _no_push_hint(project: str, role: str | None, who: Identity) -> str:
    if who.robot:
        return (
            f"The robot account lacks the push permission in {project}: ask the project's admin or "
            f"{CONTACT_MLOPS} to add it."
        )
    yours = f"; yours is {role}" if role else ""
    return (
        f"Roles {PUSH_ROLES} can push to {project}{yours}. Ask the project's admin or {CONTACT_MLOPS} "
        f"to make {who.username} a Developer of {project}."
    )


def _no_access_hint(registry: str, project: str, who: Identity) -> str:
    if who.robot:
        return (
            f"The robot account has no permission in {project}; check the project name or ask "
            f"{CONTACT_MLOPS}."
        )
    return (
        f"Check the project name, log in once to the Harbor web UI (https://{registry}), then ask "
        f"{CONTACT_MLOPS} to add {who.username} to {project} as Developer."
    )
