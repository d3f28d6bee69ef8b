"""`harbor`: can this engineer pull from and push to their team's project on the registry?

Three checks, run side by side (sibling ids, so that `--skip harbor.daemon` or
`--only harbor.robot` leaves the others alone):

- `harbor.user`: the user's `docker login` (credentials → username → TLS → authentication
  → push permission per project);
- `harbor.robot`: a robot account's `.json` file (file and expiry → authentication → push);
- `harbor.daemon`: whether a Docker daemon answers (a warning only: pushing needs one, the
  login does not).

Nothing is pushed and no daemon is needed: permission is read from the registry's token
service, which is what Docker itself asks before a push. For a scope
`repository:<project>/aisg-check:pull,push` Harbor grants exactly the actions the user's
role allows (Project Admin, Maintainer, Developer: push and pull; Guest: pull), so the
granted `access` claim of the JWT answers "may I push?" without writing anything.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aisg_check.check import Blocked, Check, Recorder, Step, declared
from aisg_check.context import Context
from aisg_check.diagnoses import (
    BLOCKED,
    NETWORK_DIAGNOSES,
    NOT_CONFIGURED,
    TLS_CERT_EXPIRED,
    TLS_HANDSHAKE_FAILED,
    TLS_HOSTNAME_MISMATCH,
    TLS_UNTRUSTED_CERT,
)
from aisg_check.model import CONTACT_MLOPS, Diagnosis
from aisg_check.net.failures import classify_tls_error, find_ssl_error
from aisg_check.net.probe import Budget, Outcome, Target, connect, proxy_for
from aisg_check.platform import dockerconfig
from aisg_check.secrets import Secret, jwt_claims

if TYPE_CHECKING:
    import httpx

HARBOR_NOT_LOGGED_IN = Diagnosis(
    "HARBOR_NOT_LOGGED_IN",
    "Not logged in to the registry",
    "Docker's config (DOCKER_CONFIG, else ~/.docker/config.json) holds no login for the registry, "
    "so `docker push` and `docker pull` of private images will be refused.",
    "Run `docker login registry.aisingapore.net` with your username without the email domain "
    "(user, not user@aisingapore.org).",
    CONTACT_MLOPS,
)
HARBOR_DOCKER_CONFIG_INVALID = Diagnosis(
    "HARBOR_DOCKER_CONFIG_INVALID",
    "Docker config file unusable",
    "Docker's config.json cannot be read: it is not valid JSON, or an `auths` entry's `auth` field "
    "is not base64 of user:password.",
    "Fix or move the file named in the summary, then run `docker login registry.aisingapore.net` again.",
)
HARBOR_CREDHELPER_FAILED = Diagnosis(
    "HARBOR_CREDHELPER_FAILED",
    "Credential helper failed",
    "Docker's config names a credential helper (credHelpers or credsStore) for the registry, but "
    "`docker-credential-<name> get` is not installed, failed or hung (a locked keychain, a missing "
    "`pass` store).",
    "Install the helper or unlock its store (run `docker-credential-<name> list` to see its error), "
    "or remove the credsStore/credHelpers entry and run `docker login registry.aisingapore.net` again.",
)
HARBOR_USERNAME_HAS_DOMAIN = Diagnosis(
    "HARBOR_USERNAME_HAS_DOMAIN",
    "Username includes the email domain",
    "The stored username contains '@'. Harbor knows you by your username without the domain "
    "(user, not user@aisingapore.org), as the onboarding guide says.",
    "Run `docker login registry.aisingapore.net -u <user without domain>`.",
)
HARBOR_AUTH_FAILED = Diagnosis(
    "HARBOR_AUTH_FAILED",
    "Registry refused the login",
    "The registry (or its token service) refused the stored username and password: a changed "
    "password, a username with the domain, or, for SSO users, the account password where Harbor "
    "expects the CLI secret.",
    "Run `docker login registry.aisingapore.net -u <user without domain>`; as password use your "
    "account password, or, if you sign in to Harbor through SSO, the CLI secret from your Harbor "
    "profile page (top right, User Profile, CLI secret).",
    CONTACT_MLOPS,
)
HARBOR_NO_PUSH = Diagnosis(
    "HARBOR_NO_PUSH",
    "Pull only: no push permission",
    "You may pull from the project but not push: your role in it is Guest or Limited Guest (or the "
    "project is public and you are not a member). Only Project Admin, Maintainer and Developer "
    "can push.",
    "Ask the project's admin, or the MLOps team (mlops@aisingapore.org), for the Developer role in "
    "the project.",
    CONTACT_MLOPS,
)
HARBOR_NO_PROJECT_ACCESS = Diagnosis(
    "HARBOR_NO_PROJECT_ACCESS",
    "No access to the project",
    "The registry grants you nothing in the project: you are not a member, or the name is wrong. "
    "Harbor can add only users who have logged in to its web UI at least once.",
    "Log in to the Harbor web UI once, then ask the MLOps team (mlops@aisingapore.org) to add you "
    "to the project as Developer; check the project's name too.",
    CONTACT_MLOPS,
)
HARBOR_REGISTRY_ERROR = Diagnosis(
    "HARBOR_REGISTRY_ERROR",
    "Registry answered unexpectedly",
    "The registry or its token service answered in a way no working Harbor does: a server error, "
    "no usable token, a token the registry then rejects, or no answer from the token service.",
    "Try again in a few minutes; if it persists, send the output of "
    "`aisg-check harbor --format markdown` to the MLOps team.",
    CONTACT_MLOPS,
)
HARBOR_ROBOT_FILE_INVALID = Diagnosis(
    "HARBOR_ROBOT_FILE_INVALID",
    "Robot account file unusable",
    "The robot account file is missing, not JSON, or lacks `name` and `secret` (Harbor 2.2 and "
    "later) or `name` and `token` (older Harbor).",
    "Use the .json file exactly as Harbor exported it (or as the MLOps team sent it); ask them for a "
    "new one if it is lost.",
    CONTACT_MLOPS,
)
HARBOR_ROBOT_EXPIRED = Diagnosis(
    "HARBOR_ROBOT_EXPIRED",
    "Robot account expired",
    "The robot account's `expires_at` is in the past; Harbor refuses an expired robot.",
    "Ask the project's admin or the MLOps team (mlops@aisingapore.org) to refresh the robot's secret "
    "or extend its expiry, and use the new file.",
    CONTACT_MLOPS,
)
HARBOR_ROBOT_AUTH_FAILED = Diagnosis(
    "HARBOR_ROBOT_AUTH_FAILED",
    "Registry refused the robot account",
    "The registry refused the robot's name and secret: the secret was refreshed, the robot was "
    "disabled or deleted, or the name lost its `robot$` prefix to a shell that expanded `$...`.",
    "Use the name and secret from the latest file; quote the name in single quotes on a command line "
    "(`docker login -u 'robot$project+name' registry.aisingapore.net`).",
    CONTACT_MLOPS,
)
DOCKER_DAEMON_UNAVAILABLE = Diagnosis(
    "DOCKER_DAEMON_UNAVAILABLE",
    "No Docker daemon answers",
    "No Docker daemon answers at DOCKER_HOST (or the default socket). Logging in and the checks "
    "here do not need one; building, pulling and pushing images do.",
    "Start Docker Desktop (macOS, Windows) or the docker service (`sudo systemctl start docker`), "
    "and make sure your user may use it (`docker version` shows a Server section).",
)

HARBOR_DIAGNOSES = (
    HARBOR_NOT_LOGGED_IN,
    HARBOR_DOCKER_CONFIG_INVALID,
    HARBOR_CREDHELPER_FAILED,
    HARBOR_USERNAME_HAS_DOMAIN,
    HARBOR_AUTH_FAILED,
    HARBOR_NO_PUSH,
    HARBOR_NO_PROJECT_ACCESS,
    HARBOR_REGISTRY_ERROR,
)
ROBOT_DIAGNOSES = (
    HARBOR_ROBOT_FILE_INVALID,
    HARBOR_ROBOT_EXPIRED,
    HARBOR_ROBOT_AUTH_FAILED,
    HARBOR_NO_PUSH,
    HARBOR_NO_PROJECT_ACCESS,
    HARBOR_REGISTRY_ERROR,
)

# The repository asked about in permission scopes. Harbor grants per project, so any name
# under the project answers for all of them; nothing is ever pushed to it.
PROBE_REPOSITORY = "aisg-check"

# Harbor's role ids (current_user_role_ids in GET /api/v2.0/projects/{name}).
ROLES: Mapping[int, str] = {
    1: "Project Admin",
    2: "Developer",
    3: "Guest",
    4: "Maintainer",
    5: "Limited Guest",
}
PUSH_ROLES = "Project Admin, Maintainer or Developer"

_TLS_CODES = {
    d.code for d in (TLS_UNTRUSTED_CERT, TLS_HOSTNAME_MISMATCH, TLS_CERT_EXPIRED, TLS_HANDSHAKE_FAILED)
}
_CHALLENGE_PARAM = re.compile(r'(\w+)\s*=\s*"([^"]*)"')


@dataclass(frozen=True)
class Problem:
    """A failed request, ready to record."""

    diagnosis: Diagnosis
    summary: str
    hint: str | None = None
    answered: bool = False  # the server sent an HTTP answer (so connection and TLS were fine)


@dataclass(frozen=True)
class Challenge:
    """What the registry's `/v2/` asks for: Bearer (a token service) or Basic, or nothing."""

    scheme: str  # "bearer" | "basic" | "none"
    realm: str = ""
    service: str = ""


@dataclass(frozen=True)
class Identity:
    """Who is checked: the user's docker login or a robot account."""

    username: str
    password: Secret
    robot: bool = False


# ---------------------------------------------------------------------------------------------
# talking to the registry


def _registry(ctx: Context) -> str:
    return dockerconfig.registry_key(ctx.settings.harbor.registry)


def _docker_tls_hint(registry: str) -> str:
    # Docker looks up certs.d/<host[:port]>, the registry exactly as written in image names.
    target = registry if ":" in registry else f"{registry}:443"
    return (
        "Trust the registry's CA in both places: in this tool (ca_bundle or SSL_CERT_FILE) and in Docker, "
        f"which reads /etc/docker/certs.d/{registry}/ca.crt on Linux (restart not needed) and the OS "
        f"certificate store on macOS and Windows (restart Docker Desktop). Check with "
        f"`openssl s_client -connect {target} -showcerts`."
    )


def _request(
    ctx: Context, rec: Recorder, client: httpx.Client, url: str, registry: str, **kwargs: Any
) -> httpx.Response | Problem:
    """One GET; every transport failure becomes a Problem naming the host and the layer."""
    import httpx

    try:
        # Each request gets what is left of the check's time, not the timeout fixed at the start.
        return client.get(url, timeout=rec.step_timeout(ctx.timeout), **kwargs)
    except httpx.ConnectError as exc:
        inner = find_ssl_error(exc)
        host = httpx.URL(url).host
        if inner is not None:
            diagnosis, summary = classify_tls_error(host, inner)
            hint = _docker_tls_hint(registry) if diagnosis is TLS_UNTRUSTED_CERT else None
            return Problem(diagnosis, summary, hint)
        return Problem(
            HARBOR_REGISTRY_ERROR, f"{host} did not accept a connection: {ctx.scrubber.scrub(str(exc))}"
        )
    except httpx.TimeoutException:
        return Problem(HARBOR_REGISTRY_ERROR, f"{httpx.URL(url).host} did not answer within the timeout")
    except httpx.HTTPError as exc:
        return Problem(HARBOR_REGISTRY_ERROR, f"{url}: {type(exc).__name__}: {ctx.scrubber.scrub(str(exc))}")


def parse_challenge(header: str) -> Challenge:
    scheme, _, rest = header.strip().partition(" ")
    params = dict(_CHALLENGE_PARAM.findall(rest))
    return Challenge(scheme.lower(), params.get("realm", ""), params.get("service", ""))


def _challenge(ctx: Context, rec: Recorder, client: httpx.Client, registry: str) -> Challenge | Problem:
    """An anonymous `GET /v2/`: proves TLS and tells how the registry wants to be spoken to."""
    response = _request(ctx, rec, client, f"https://{registry}/v2/", registry)
    if isinstance(response, Problem):
        return response
    if response.status_code == 200:
        return Challenge("none")
    header = response.headers.get("www-authenticate", "")
    challenge = parse_challenge(header)
    if response.status_code != 401 or challenge.scheme not in ("bearer", "basic"):
        return Problem(
            HARBOR_REGISTRY_ERROR,
            f"https://{registry}/v2/ answers HTTP {response.status_code} "
            f"({'challenge ' + challenge.scheme if header else 'no auth challenge'}), "
            "not as a Docker registry",
            answered=True,
        )
    if challenge.scheme == "bearer" and not challenge.realm.startswith(("https://", "http://")):
        return Problem(
            HARBOR_REGISTRY_ERROR,
            f"{registry} names no usable token service (realm {challenge.realm!r})",
            answered=True,
        )
    return challenge


def granted(token_claims: Mapping[str, Any], repository: str) -> frozenset[str]:
    """Actions the token grants on `repository`, compared as a set (order varies by server)."""
    actions: set[str] = set()
    access = token_claims.get("access")
    for entry in access if isinstance(access, list) else ():
        if isinstance(entry, dict) and entry.get("type") == "repository" and entry.get("name") == repository:
            actions.update(str(a) for a in entry.get("actions") or ())
    if "*" in actions:
        actions.update({"pull", "push"})
    return frozenset(actions)


def _token(
    ctx: Context,
    rec: Recorder,
    client: httpx.Client,
    registry: str,
    challenge: Challenge,
    who: Identity,
    scope: str | None,
) -> tuple[str, dict[str, Any]] | int | Problem:
    """Ask the token service as `who`; the token and its claims, or the refusing HTTP status."""
    import httpx

    params = {"service": challenge.service, "account": who.username}
    if scope:
        params["scope"] = scope
    response = _request(
        ctx,
        rec,
        client,
        challenge.realm,
        registry,
        params=params,
        auth=httpx.BasicAuth(who.username, who.password.reveal()),
    )
    if isinstance(response, Problem):
        return response
    if response.status_code in (401, 403):
        return response.status_code
    if response.status_code != 200:
        return Problem(
            HARBOR_REGISTRY_ERROR, f"The token service {challenge.realm} answers HTTP {response.status_code}"
        )
    try:
        body = response.json()
        token = str(body.get("token") or body.get("access_token") or "")
    except (ValueError, AttributeError):
        token = ""
    if not token:
        return Problem(HARBOR_REGISTRY_ERROR, f"The token service {challenge.realm} answered without a token")
    ctx.scrubber.add(token)
    # Unverified claims: only `sub`, `exp`/`iat` and the granted `access` are read.
    return token, jwt_claims(token)


def _authenticate(
    ctx: Context, rec: Recorder, client: httpx.Client, registry: str, challenge: Challenge, who: Identity
) -> dict[str, Any] | int | Problem:
    """Log in the way docker does. Facts on success; the refusing HTTP status on a bad login.

    Harbor hands out an anonymous token (200, empty `sub`) for wrong credentials when a scope
    is asked for, so the login is tried without a scope and `sub` must name the user.
    """
    import httpx

    if challenge.scheme == "none":
        return {"auth": "none (the registry allows anonymous access)"}
    if challenge.scheme == "basic":
        response = _request(
            ctx,
            rec,
            client,
            f"https://{registry}/v2/",
            registry,
            auth=httpx.BasicAuth(who.username, who.password.reveal()),
        )
        if isinstance(response, Problem):
            return response
        if response.status_code == 200:
            return {"auth": "basic"}
        if response.status_code in (401, 403):
            return response.status_code
        return Problem(
            HARBOR_REGISTRY_ERROR, f"https://{registry}/v2/ answers HTTP {response.status_code} to a login"
        )
    issued = _token(ctx, rec, client, registry, challenge, who, None)
    if not isinstance(issued, tuple):
        return issued
    token, token_claims = issued
    subject = token_claims.get("sub")
    if subject is not None and str(subject).lower() != who.username.lower():
        return 401  # an anonymous (or someone else's) token is a refused login
    # The registry must accept what its token service issued (same issuer, audience and keys).
    response = _request(
        ctx, rec, client, f"https://{registry}/v2/", registry, headers={"Authorization": f"Bearer {token}"}
    )
    if isinstance(response, Problem):
        return response
    if response.status_code != 200:
        return Problem(
            HARBOR_REGISTRY_ERROR,
            f"{registry} rejects the token its own token service issued (HTTP {response.status_code})",
        )
    facts: dict[str, Any] = {"auth": "token", "token_service": challenge.realm}
    if isinstance(token_claims.get("exp"), (int, float)) and isinstance(
        token_claims.get("iat"), (int, float)
    ):
        facts["token_lifetime_s"] = int(token_claims["exp"] - token_claims["iat"])
    return facts


def _role(
    ctx: Context, rec: Recorder, client: httpx.Client, registry: str, project: str, who: Identity
) -> tuple[str | None, int]:
    """The user's role in the project from Harbor's API, best effort: (role name, HTTP status)."""
    from urllib.parse import quote

    import httpx

    response = _request(
        ctx,
        rec,
        client,
        f"https://{registry}/api/v2.0/projects/{quote(project, safe='')}",
        registry,
        headers={"X-Is-Resource-Name": "true", "Accept": "application/json"},
        auth=httpx.BasicAuth(who.username, who.password.reveal()),
    )
    if isinstance(response, Problem):
        return None, 0
    if response.status_code != 200:
        return None, response.status_code
    try:
        body = response.json()
    except ValueError:
        return None, response.status_code
    ids = body.get("current_user_role_ids") if isinstance(body, dict) else None
    if not isinstance(ids, list):
        single = body.get("current_user_role_id") if isinstance(body, dict) else None
        ids = [single] if isinstance(single, int) and single else []
    names = [ROLES.get(i, f"role {i}") for i in ids if isinstance(i, int)]
    # With several roles (direct and through a group) the strongest one decides pushing.
    order = ["Project Admin", "Maintainer", "Developer", "Guest", "Limited Guest"]
    names.sort(key=lambda n: order.index(n) if n in order else len(order))
    return (names[0] if names else None), response.status_code


# ---------------------------------------------------------------------------------------------
# layers shared by the user's and the robot's chain


def _record_problem(
    rec: Recorder, step: str, problem: Problem, details: Mapping[str, Any], title: str = ""
) -> None:
    rec.fail(step, problem.diagnosis, problem.summary, hint=problem.hint, details=details, title=title)


def _auth_layer(
    ctx: Context,
    rec: Recorder,
    client: httpx.Client,
    challenge: Challenge,
    who: Identity,
    step: str,
    title: str = "",
) -> bool:
    registry = _registry(ctx)
    details: dict[str, Any] = {"registry": registry, "username": who.username}
    outcome = _authenticate(ctx, rec, client, registry, challenge, who)
    if isinstance(outcome, Problem):
        _record_problem(rec, step, outcome, details, title)
        return False
    if isinstance(outcome, int):
        details["http_status"] = outcome
        diagnosis, summary, hint = _refused(registry, who)
        rec.fail(step, diagnosis, summary, hint=hint, details=details, title=title)
        return False
    kind = "robot account" if who.robot else "user"
    rec.ok(
        step, f"Logged in to {registry} as {kind} {who.username}", details={**details, **outcome}, title=title
    )
    return True


def _refused(registry: str, who: Identity) -> tuple[Diagnosis, str, str]:
    """Diagnosis, summary and a hint naming this registry and account, for a refused login."""
    if who.robot:
        note = ""
        if not who.username.startswith("robot$"):
            note = (
                f" The name {who.username} lacks the `robot$` prefix: a shell probably expanded `$...` in it."
            )
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


def _push_layer(
    ctx: Context,
    rec: Recorder,
    client: httpx.Client,
    challenge: Challenge,
    who: Identity,
    project: str,
    step: str,
) -> None:
    registry = _registry(ctx)
    repository = f"{project}/{PROBE_REPOSITORY}"
    title = f"Push to {project}"
    details: dict[str, Any] = {"registry": registry, "project": project, "username": who.username}
    if challenge.scheme != "bearer":
        # Distribution with htpasswd (or no auth) has no per-project roles: a login may do anything.
        rec.ok(
            step,
            f"{registry} grants every logged-in user pull and push ({challenge.scheme} auth, no roles)",
            details=details,
            title=title,
        )
        return
    issued = _token(ctx, rec, client, registry, challenge, who, f"repository:{repository}:pull,push")
    if isinstance(issued, Problem):
        _record_problem(rec, step, issued, details, title)
        return
    if isinstance(issued, int):
        diagnosis, summary, hint = _refused(registry, who)
        rec.fail(step, diagnosis, summary, hint=hint, details={**details, "http_status": issued}, title=title)
        return
    actions = granted(issued[1], repository)
    role, api_status = (None, 0) if who.robot else _role(ctx, rec, client, registry, project, who)
    details.update(granted=sorted(actions), role=role)
    as_role = f" (role {role})" if role else ""
    if "push" in actions:
        rec.ok(
            step, f"{who.username} can push to {project} on {registry}{as_role}", details=details, title=title
        )
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
            f"{who.username} has no access to {project} on {registry}{missing}",
            hint=_no_access_hint(registry, project, who),
            details=details,
            title=title,
        )


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


def _wait_for_endpoint(ctx: Context, rec: Recorder, tls_step: str | None) -> None:
    """Wait for the VPN probe of the registry. A certificate problem found there is reported
    here too, with Docker's side of the fix, rather than as a bare `blocked by vpn.harbor`."""
    if tls_step is not None:
        for result in rec.prior("vpn.harbor"):
            if result.code in _TLS_CODES and result.status.is_problem:
                diagnosis = next(d for d in NETWORK_DIAGNOSES if d.code == result.code)
                hint = _docker_tls_hint(_registry(ctx)) if diagnosis is TLS_UNTRUSTED_CERT else None
                rec.fail(tls_step, diagnosis, result.summary, hint=hint, details={"registry": _registry(ctx)})
                raise Blocked(tls_step)
    rec.require("vpn.harbor")


# ---------------------------------------------------------------------------------------------
# check `harbor.user`: the user's docker login


def _credentials_layer(ctx: Context, rec: Recorder, registry: str) -> Identity | None:
    try:
        found = dockerconfig.lookup(ctx, registry, rec.step_timeout(ctx.timeout))
    except dockerconfig.DockerConfigError as exc:
        rec.fail(
            "harbor.user.credentials",
            HARBOR_DOCKER_CONFIG_INVALID,
            ctx.scrubber.scrub(str(exc)),
            hint=f"Fix or move that file, then run `docker login {registry}` again.",
        )
        return None
    except dockerconfig.HelperError as exc:
        rec.fail(
            "harbor.user.credentials",
            HARBOR_CREDHELPER_FAILED,
            f"The credential helper {exc.helper} failed for {registry}: {ctx.scrubber.scrub(exc.message)}",
            hint=f"Run `{exc.helper} list` to see why; install or unlock it, or remove it from the "
            f"config's credsStore/credHelpers and run `docker login {registry}` again.",
            details={"helper": exc.helper},
        )
        return None
    details: dict[str, Any] = {"registry": registry, "docker_config": str(found.path)}
    login = f"docker login {registry} -u <user without domain>"
    if found.credentials is None:
        where = (
            f"no login for {registry} in {found.path}"
            if found.file_exists
            else f"no Docker config at {found.path}"
        )
        if found.store:
            where += f" nor in docker-credential-{found.store}"
        rec.fail(
            "harbor.user.credentials",
            HARBOR_NOT_LOGGED_IN,
            f"Not logged in: {where}",
            hint=f"Run `{login}` (e.g. alice, not alice@aisingapore.org).",
            details=details,
        )
        return None
    creds = found.credentials
    details["source"] = creds.source
    if creds.identity_token:
        rec.fail(
            "harbor.user.credentials",
            HARBOR_NOT_LOGGED_IN,
            f"The login for {registry} is an OAuth identity token, which Harbor does not issue",
            hint=f"Run `docker logout {registry}`, then `{login}`.",
            details=details,
        )
        return None
    ctx.scrubber.add(creds.password)
    rec.ok(
        "harbor.user.credentials",
        f"Docker has a login for {registry} as {creds.username} ({creds.source})",
        details={**details, "username": creds.username},
    )
    return Identity(creds.username, creds.password)


def _username_layer(rec: Recorder, registry: str, who: Identity) -> None:
    if "@" in who.username:
        user = who.username.split("@")[0]
        # A warning, not a stop: the authentication layer below says whether Harbor took it.
        rec.warn(
            "harbor.user.username",
            HARBOR_USERNAME_HAS_DOMAIN,
            f"The stored username {who.username} includes the email domain; Harbor knows you as {user}",
            hint=f"Run `docker login {registry} -u {user}`.",
            details={"username": who.username},
        )
        return
    rec.ok(
        "harbor.user.username",
        f"Username {who.username} has no email domain, as Harbor expects",
        details={"username": who.username},
    )


def _tls_layer(ctx: Context, rec: Recorder, client: httpx.Client, registry: str) -> Challenge | None:
    challenge = _challenge(ctx, rec, client, registry)
    details = {"registry": registry}
    if isinstance(challenge, Problem):
        if challenge.answered:
            rec.ok("harbor.user.tls", f"TLS certificate of {registry} is trusted", details=details)
        _record_problem(
            rec, "harbor.user.auth" if challenge.answered else "harbor.user.tls", challenge, details
        )
        return None
    rec.ok(
        "harbor.user.tls",
        f"TLS certificate of {registry} is trusted",
        details={**details, "auth": challenge.scheme},
    )
    return challenge


def run_user(ctx: Context, rec: Recorder) -> None:
    registry = _registry(ctx)
    if not registry:
        rec.skip("harbor.user.credentials", NOT_CONFIGURED, "No registry configured (harbor.registry)")
        return
    who = _credentials_layer(ctx, rec, registry)
    if who is None:
        return
    _username_layer(rec, registry, who)
    # The client first: building it imports httpx, which overlaps the probe's network wait.
    with ctx.http(timeout=rec.step_timeout(ctx.timeout)) as client:
        _wait_for_endpoint(ctx, rec, "harbor.user.tls")
        challenge = _tls_layer(ctx, rec, client, registry)
        if challenge is None:
            return
        if not _auth_layer(ctx, rec, client, challenge, who, "harbor.user.auth"):
            return
        projects = ctx.settings.harbor.projects
        if not projects:
            rec.skip(
                "harbor.user.push",
                NOT_CONFIGURED,
                "No project to check push rights for (harbor.projects)",
                hint="Name your team's project: `aisg-check harbor --project NAME` or harbor.projects in the "
                "config file.",
            )
            return
        for project in projects:
            _push_layer(ctx, rec, client, challenge, who, project, f"harbor.user.push.{project}")


# ---------------------------------------------------------------------------------------------
# check `harbor.robot`: a robot account file


@dataclass(frozen=True)
class RobotFile:
    name: str
    secret: Secret
    format: str  # "harbor-2.2+" | "legacy"
    expires_at: int | None  # epoch seconds; None or -1: never


def read_robot_file(path: Path) -> RobotFile | str:
    """The robot account, or why the file is unusable."""
    try:
        data = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return f"{path} does not exist"
    except (OSError, UnicodeDecodeError) as exc:
        return f"{path} cannot be read ({exc.strerror if isinstance(exc, OSError) else 'not UTF-8 text'})"
    except json.JSONDecodeError as exc:
        return f"{path}:{exc.lineno}: not valid JSON ({exc.msg})"
    if not isinstance(data, dict):
        return f"{path}: expected a JSON object"
    name = data.get("name")
    secret = data.get("secret") if data.get("secret") else data.get("token")
    if not isinstance(name, str) or not name or not isinstance(secret, str) or not secret:
        return f"{path}: needs `name` and `secret` (Harbor 2.2+) or `name` and `token` (older Harbor)"
    expires = data.get("expires_at")
    if expires is not None and (isinstance(expires, bool) or not isinstance(expires, int)):
        return f"{path}: `expires_at` must be a whole number of seconds since 1970 (or -1 for never)"
    return RobotFile(name, Secret(secret), "harbor-2.2+" if data.get("secret") else "legacy", expires)


def _robot_projects(ctx: Context, robot: RobotFile) -> tuple[str, ...]:
    """Configured projects, else the one a Harbor 2.2+ project robot is named after:
    robot$<project>+<name>."""
    if ctx.settings.harbor.projects:
        return ctx.settings.harbor.projects
    match = re.fullmatch(r"robot\$([^+]+)\+.+", robot.name)
    return (match.group(1),) if match else ()


def _robot_file_layer(ctx: Context, rec: Recorder, path: Path) -> RobotFile | None:
    robot = read_robot_file(path)
    if isinstance(robot, str):
        rec.fail(
            "harbor.robot.file",
            HARBOR_ROBOT_FILE_INVALID,
            robot,
            details={"file": str(path)},
            title="Robot account file",
        )
        return None
    ctx.scrubber.add(robot.secret)
    details: dict[str, Any] = {"file": str(path), "name": robot.name, "format": robot.format}
    note = ""
    if not robot.name.startswith("robot$"):
        note = " (the name lacks the `robot$` prefix: was `$...` expanded by a shell?)"
    if robot.expires_at is not None and robot.expires_at >= 0:
        when = datetime.fromtimestamp(robot.expires_at, timezone.utc)
        details["expires_at"] = when.isoformat(timespec="seconds").replace("+00:00", "Z")
        if when <= datetime.now(timezone.utc):
            rec.fail(
                "harbor.robot.file",
                HARBOR_ROBOT_EXPIRED,
                f"Robot account {robot.name} expired on {details['expires_at']}",
                details=details,
                title="Robot account file",
            )
            return None
    expiry = f"expires {details['expires_at']}" if "expires_at" in details else "never expires"
    rec.ok(
        "harbor.robot.file",
        f"Robot account {robot.name} from {path.name}, {expiry}{note}",
        details=details,
        title="Robot account file",
    )
    return robot


def run_robot(ctx: Context, rec: Recorder) -> None:
    setting = ctx.settings.harbor.robot_file
    registry = _registry(ctx)
    if not setting or not registry:
        rec.skip(
            "harbor.robot",
            NOT_CONFIGURED,
            "No robot account file to check (harbor.robot_file)",
            hint="Check your team's robot account: `aisg-check harbor --robot-file FILE.json`.",
        )
        return
    robot = _robot_file_layer(ctx, rec, ctx.path(setting))
    if robot is None:
        return
    try:
        _wait_for_endpoint(ctx, rec, None)
    except Blocked as blocked:
        # The runner only marks declared steps; name the robot's next layer as blocked here.
        rec.skip(
            "harbor.robot.auth",
            BLOCKED,
            f"Skipped: {blocked.blocked_by} did not pass",
            hint=f"Fix {blocked.blocked_by} first; the robot's login is checked once it passes.",
            blocked_by=blocked.blocked_by,
            title="Robot login",
        )
        return
    who = Identity(robot.name, robot.secret, robot=True)
    with ctx.http(timeout=rec.step_timeout(ctx.timeout)) as client:
        challenge = _challenge(ctx, rec, client, registry)
        if isinstance(challenge, Problem):
            _record_problem(rec, "harbor.robot.auth", challenge, {"registry": registry}, "Robot login")
            return
        if not _auth_layer(ctx, rec, client, challenge, who, "harbor.robot.auth", "Robot login"):
            return
        projects = _robot_projects(ctx, robot)
        if not projects:
            rec.skip(
                "harbor.robot.push",
                NOT_CONFIGURED,
                f"No project to check {robot.name}'s push rights for",
                hint="Name the project: `aisg-check harbor --project NAME --robot-file FILE.json`.",
                title="Robot push",
            )
            return
        for project in projects:
            _push_layer(ctx, rec, client, challenge, who, project, f"harbor.robot.push.{project}")


# ---------------------------------------------------------------------------------------------
# check `harbor.daemon`


# The SDK's defaults when DOCKER_HOST is unset (docker.constants).
DEFAULT_UNIX_SOCKET = "/var/run/docker.sock"
# Docker Desktop's own sockets: macOS links /var/run/docker.sock to the first only when
# "Allow the default Docker socket to be used" is on; Linux never does for the second.
DESKTOP_SOCKETS = {
    "darwin": Path(".docker", "run", "docker.sock"),
    "linux": Path(".docker", "desktop", "docker.sock"),
}


def _desktop_hint(ctx: Context) -> str:
    relative = DESKTOP_SOCKETS.get(ctx.platform)
    desktop = ctx.home / relative if relative else None
    try:
        if desktop is None or not desktop.exists():
            return ""
    except OSError:
        return ""
    setting = (
        " or turn on 'Allow the default Docker socket to be used' (Settings, Advanced)"
        if ctx.platform == "darwin"
        else ""
    )
    return f"; Docker Desktop listens at {desktop}: set DOCKER_HOST=unix://{desktop}{setting}"


def _daemon_unreachable(ctx: Context, host: str, timeout: float) -> str | None:
    """Reach, before the SDK: why nothing can answer at `host`, or None to let the SDK ping.

    Most laptops checked here have no daemon running; telling that from a missing socket or a
    refused port spares importing the SDK (requests, urllib3) for an answer known already.
    Only what the SDK would certainly fail on too is decided here; a path we may not inspect,
    a proxied TCP daemon, ssh://, npipe:// and anything unusual go to the SDK.
    """
    scheme, _, rest = host.strip().partition("://")  # the SDK strips DOCKER_HOST too
    if scheme in ("unix", "http+unix"):
        path = Path("/" + rest.lstrip("/"))
        try:
            if path.exists():
                return None
        except OSError:  # a directory we may not search: the SDK's error will say more
            return None
        hint = _desktop_hint(ctx) if str(path) == DEFAULT_UNIX_SOCKET else ""
        return f"no socket at {path}{hint}"
    if scheme in ("tcp", "http", "https"):
        try:
            _, name, port, _ = Target("docker", f"tcp://{rest}").parts
        except ValueError:  # not a URL the SDK accepts either; let it word the error
            return None
        if not name or not port:
            return None  # the SDK has its own defaults and its own error for these
        # requests (under the SDK) sends an http:// daemon through HTTP_PROXY; we would not.
        if proxy_for(ctx, "https" if scheme == "https" else "http", name):
            return None
        reached = connect(name, port, Budget(timeout), {})
        if isinstance(reached, Outcome):
            return reached.summary
        reached.close()
    return None


def run_daemon(ctx: Context, rec: Recorder) -> None:
    """Ping the daemon the docker CLI would use (DOCKER_HOST, else the default socket)."""
    configured = ctx.env.get("DOCKER_HOST")
    host = configured or "the default socket"
    details = {"docker_host": host}
    if configured or ctx.platform != "win32":  # Windows' default is a named pipe: the SDK's
        default = f"unix://{DEFAULT_UNIX_SOCKET}"
        why = _daemon_unreachable(ctx, configured or default, rec.step_timeout(ctx.timeout))
        if why is not None:
            rec.warn(
                "harbor.daemon",
                DOCKER_DAEMON_UNAVAILABLE,
                f"No Docker daemon answers: {why}",
                details=details,
            )
            return
    timeout = rec.step_timeout(ctx.timeout)  # what the reach step left
    import docker
    from docker.constants import DEFAULT_DOCKER_API_VERSION
    from docker.utils import kwargs_from_env

    try:
        # A fixed API version: "auto" would ask the daemon for its version before the ping.
        client = docker.APIClient(
            version=DEFAULT_DOCKER_API_VERSION, timeout=timeout, **kwargs_from_env(environment=dict(ctx.env))
        )
        try:
            answered = client.ping()
        finally:
            client.close()
    except Exception as exc:
        message = ctx.scrubber.scrub(f"{type(exc).__name__}: {exc}")[:300]
        rec.warn(
            "harbor.daemon",
            DOCKER_DAEMON_UNAVAILABLE,
            f"No Docker daemon answers at {host}: {message}",
            details=details,
        )
        return
    if not answered:
        rec.warn(
            "harbor.daemon",
            DOCKER_DAEMON_UNAVAILABLE,
            f"The Docker daemon at {host} did not answer its ping",
            details=details,
        )
        return
    rec.ok("harbor.daemon", f"A Docker daemon answers at {host}", details=details)


# ---------------------------------------------------------------------------------------------

_NETWORK = tuple(NETWORK_DIAGNOSES)

# Every diagnosis this module defines or imports: what its checks may report.
DECLARED = declared(sys.modules[__name__], NETWORK_DIAGNOSES)

CHECKS: tuple[Check, ...] = (
    Check(
        id="harbor.user",
        component="harbor",
        title="Harbor login and push rights",
        steps=(
            Step("harbor.user.credentials", "Docker login stored"),
            Step("harbor.user.username", "Username without domain"),
            Step("harbor.user.tls", "Registry connection and TLS"),
            Step("harbor.user.auth", "Registry login"),
            Step("harbor.user.push", "Push permission", group=True),
        ),
        run=run_user,
        needs=("vpn.harbor",),
        diagnoses=DECLARED,
        # A credential helper (1) + /v2/, token, /v2/ with it (3) + token and role per project
        # (2 each), one timeout apiece: room for three projects on a slow but answering registry.
        budget=10.0,
        import_allowance_s=2.0,
    ),
    Check(
        id="harbor.robot",
        component="harbor",
        title="Harbor robot account",
        steps=(Step("harbor.robot", "Robot account", group=True),),
        run=run_robot,
        needs=("vpn.harbor",),
        diagnoses=DECLARED,
        # /v2/, token, /v2/ with it (3) + a token per project (1 each; robots have no role to read).
        budget=8.0,
    ),
    Check(
        id="harbor.daemon",
        component="harbor",
        title="Docker daemon",
        steps=(Step("harbor.daemon", "Docker daemon"),),
        run=run_daemon,
        diagnoses=DECLARED,
        budget=1.0,
        import_allowance_s=2.0,
    ),
)
