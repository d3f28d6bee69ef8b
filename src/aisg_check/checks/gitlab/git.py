"""The last layer of `gitlab.https`: a real `git ls-remote` over HTTPS with the token.

The token goes only to GitLab itself, and to git only through the environment (an
`http.extraHeader` in GIT_CONFIG_*), with the credential helpers switched off: nothing is
stored, erased or put on a command line.
"""

from __future__ import annotations

import base64
import re
from typing import Any, NoReturn
from urllib.parse import urlsplit, urlunsplit

from aisg_check.check import Recorder
from aisg_check.checks.gitlab.diagnoses import (
    GITLAB_GIT_AUTH_DENIED,
    GITLAB_GIT_FAILED,
    GITLAB_REPO_FOREIGN_HOST,
    GITLAB_REPO_NOT_FOUND,
    NOT_CONFIGURED,
    TOOL_MISSING,
)
from aisg_check.checks.gitlab.https import STEP_GIT
from aisg_check.checks.gitlab.token import Token, TokenInfo, base_url, git_env
from aisg_check.context import CommandResult, Context
from aisg_check.diagnoses import TLS_UNTRUSTED_CERT, VPN_CONNECT_REFUSED, VPN_CONNECT_TIMEOUT, VPN_DNS_FAILED

# git's (and curl's) own words for each failure; git gives no machine-readable reason.
_GIT_ERRORS = (
    (re.compile(r"repository '.*' not found|HTTP 404|returned error: 404", re.I), GITLAB_REPO_NOT_FOUND),
    (
        re.compile(
            r"Authentication failed|Access denied|returned error: 40[13]|could not read Username|"
            r"terminal prompts disabled",
            re.I,
        ),
        GITLAB_GIT_AUTH_DENIED,
    ),
    (
        re.compile(
            r"SSL certificate problem|server certificate verification failed|unable to get local issuer", re.I
        ),
        TLS_UNTRUSTED_CERT,
    ),
    (re.compile(r"Could not resolve host", re.I), VPN_DNS_FAILED),
    (re.compile(r"Connection refused|Failed to connect", re.I), VPN_CONNECT_REFUSED),
    (re.compile(r"timed out|Operation too slow", re.I), VPN_CONNECT_TIMEOUT),
)
_GIT_HINTS = {
    GITLAB_REPO_NOT_FOUND.code: "Copy the URL from the project's Clone button; if it is right, ask the "
    "project's owner to add you as a member.",
    TLS_UNTRUSTED_CERT.code: "git does not trust GitLab's certificate: `git config --global http.sslCAInfo "
    "/path/ca.pem` with the root CA from the MLOps team.",
}


def _repo_url(ctx: Context) -> str | None:
    """The configured repository URL without userinfo (a token pasted into it is registered as a secret)."""
    repo = ctx.settings.gitlab.repo
    if not repo:
        return None
    split = urlsplit(repo)
    if split.password:
        ctx.scrubber.add(split.password)
    netloc = split.netloc.rpartition("@")[2]
    return urlunsplit((split.scheme, netloc, split.path, split.query, ""))


def _origin(url: str) -> tuple[str, str, int | None] | None:
    """(scheme, host, port) with the scheme's default port filled in; None if not an http(s) URL."""
    split = urlsplit(url)
    scheme = split.scheme.lower()
    if scheme not in ("http", "https") or not split.hostname:
        return None
    try:
        port = split.port or {"https": 443, "http": 80}[scheme]
    except ValueError:
        return None
    return scheme, split.hostname.lower(), port


def foreign_repo(ctx: Context, repo: str) -> str | None:
    """Why the token must not go to `repo`, or None when it is GitLab's own: same host and port
    as gitlab.url, over HTTPS (or over gitlab.url's own scheme, for a plain-HTTP test server)."""
    mine, theirs = _origin(base_url(ctx)), _origin(repo)
    if mine is None:
        return f"gitlab.url ({base_url(ctx)}) is not an http(s) URL"
    if theirs is None:
        return "it is not an http(s) URL"
    if theirs[1:] != mine[1:]:
        return f"it is on {theirs[1]}:{theirs[2]}, not on GitLab's {mine[1]}:{mine[2]}"
    if theirs[0] not in ("https", mine[0]):
        return f"it uses {theirs[0]}://, which would send the token unencrypted"
    return None


def _ls_remote(ctx: Context, rec: Recorder, repo: str, user: str, token: Token) -> CommandResult:
    basic = base64.b64encode(f"{user}:{token.value.reveal()}".encode()).decode()
    ctx.scrubber.add_login(user, token.value)  # git or curl may echo the header: every alignment
    timeout = rec.step_timeout(ctx.timeout)
    config = {
        "credential.helper": "",  # an empty value clears the list: nothing asked, stored or erased
        "http.extraHeader": f"Authorization: Basic {basic}",
    }
    if ctx.in_cluster and ctx.settings.ca_bundle:
        # On a laptop git's own config is what is tested; a pod has none (HOME is an emptyDir),
        # so git trusts what the API layers trust.
        config["http.sslCAInfo"] = str(ctx.path(ctx.settings.ca_bundle))
    env = git_env(ctx, config)
    env.update(GIT_HTTP_LOW_SPEED_LIMIT="1000", GIT_HTTP_LOW_SPEED_TIME=str(max(1, int(timeout))))
    return ctx.run(["git", "ls-remote", "--heads", "--", repo], timeout=timeout, env=env)


def git_layer(ctx: Context, rec: Recorder, token: Token, info: TokenInfo) -> None:
    repo = _repo_url(ctx)
    if repo is None:
        rec.skip(
            STEP_GIT,
            NOT_CONFIGURED,
            "No repository configured for a real git round trip",
            hint=f"Pass one to try: `aisg-check gitlab --repo {base_url(ctx)}/<group>/<project>.git` "
            "(or set gitlab.repo).",
        )
        return
    foreign = foreign_repo(ctx, repo)
    if foreign is not None:
        # The token is GitLab's: never hand it to whatever host a --repo typo names.
        rec.warn(
            STEP_GIT,
            GITLAB_REPO_FOREIGN_HOST,
            f"Not tested: the token is not sent to {repo}, because {foreign}",
            hint=f"Pass the project's HTTPS clone URL: `aisg-check gitlab --repo {base_url(ctx)}/<group>/"
            "<project>.git`; or set gitlab.url to the GitLab that hosts the repository.",
            details={"repo": repo, "gitlab_url": base_url(ctx)},
        )
        return
    user = token.username or info.username or "oauth2"  # GitLab takes any user name with a token
    result = _ls_remote(ctx, rec, repo, user, token)
    details: dict[str, Any] = {"repo": repo, "user": user}
    if result.not_found:
        raise rec.fail(
            STEP_GIT,
            TOOL_MISSING,
            "git is not on PATH",
            hint="Install git (`aisg-check tools` names the command for your system).",
            details=details,
        )
    if not result.ok:
        _git_failure(ctx, rec, repo, result, details)
    refs = len([line for line in result.stdout.splitlines() if line.strip()])
    rec.ok(
        STEP_GIT,
        f"`git ls-remote {repo}` works with the token ({refs} branch(es))",
        details={**details, "branches": refs},
    )


def _git_failure(
    ctx: Context, rec: Recorder, repo: str, result: CommandResult, details: dict[str, Any]
) -> NoReturn:
    """Stops the check with the failure git's words name."""
    output = ctx.scrubber.scrub_external(result.stderr + "\n" + result.stdout)
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    message = lines[-1] if lines else "no output"
    if result.timed_out:
        raise rec.fail(
            STEP_GIT, VPN_CONNECT_TIMEOUT, f"`git ls-remote {repo}` did not finish in time", details=details
        )
    failed = {**details, "exit_code": result.returncode}
    for pattern, diagnosis in _GIT_ERRORS:
        if pattern.search(output):
            raise rec.fail(
                STEP_GIT,
                diagnosis,
                f"`git ls-remote {repo}` failed: {message}",
                hint=_GIT_HINTS.get(diagnosis.code),
                details=failed,
            )
    raise rec.fail(
        STEP_GIT,
        GITLAB_GIT_FAILED,
        f"`git ls-remote {repo}` failed: {message}",
        hint=f"Run `GIT_TERMINAL_PROMPT=0 git ls-remote {repo}` to see git's full message.",
        details=failed,
    )
