"""The API layers of `gitlab.https`: the token (`/api/v4/personal_access_tokens/self`, its expiry
recorded as a `Credential` and judged against `expiry_warning_days`) and the user it belongs to
(`/api/v4/user`); both asked at once, each judged by its layer. The git round trip is in `git.py`."""

from __future__ import annotations

from typing import Any

from aisg_check.check import Recorder, Step, Stop
from aisg_check.checks.gitlab.diagnoses import (
    GITLAB_TOKEN_EXPIRED,
    GITLAB_TOKEN_EXPIRES_SOON,
    GITLAB_TOKEN_INVALID,
    GITLAB_TOKEN_JOB,
    GITLAB_TOKEN_MISSING,
    GITLAB_TOKEN_REVOKED,
    GITLAB_TOKEN_SCOPE,
    NOT_CONFIGURED,
)
from aisg_check.checks.gitlab.token import Token, TokenFacts, TokenInfo, base_url, tokens_page
from aisg_check.context import Context
from aisg_check.diagnoses import ENDPOINT_HTTP_ERROR, ENDPOINT_UNEXPECTED_ANSWER, VPN_CONNECT_TIMEOUT
from aisg_check.lifetimes import Verdict, judge
from aisg_check.net.failures import transport_failure

STEP_TOKEN = Step("gitlab.https.token", "GitLab token")
STEP_USER = Step("gitlab.https.user", "GitLab user")
STEP_GIT = Step("gitlab.https.git", "git ls-remote over HTTPS")
STEPS = (STEP_TOKEN, STEP_USER, STEP_GIT)


def no_token(ctx: Context, rec: Recorder) -> None:
    """No token anywhere: a warning (the guide offers SSH instead), and the rest not checked.
    In a pod: not configured (the fleet manifests make the project's GitLab Secret optional)."""
    if ctx.in_cluster:
        for step in STEPS:
            rec.skip(
                step,
                NOT_CONFIGURED,
                "No GitLab token in this pod: GITLAB_TOKEN is unset",
                hint="Create the project's Secret aisg-check-gitlab with key token (the service "
                "identity's token, scopes read_repository and read_user), which sets GITLAB_TOKEN.",
            )
        return
    rec.warn(
        STEP_TOKEN,
        GITLAB_TOKEN_MISSING,
        "No GitLab token: GITLAB_TOKEN is unset and no git credential helper has one "
        f"for {base_url(ctx)} (fine if you use git over SSH only)",
        hint=f"Create a token at {tokens_page(ctx)} (scopes read_repository, write_repository, "
        "read_user) and `export GITLAB_TOKEN=<token>`; or run `aisg-check gitlab --skip gitlab.https`.",
    )
    why = "Not checked: no token for git over HTTPS"
    rec.skip(STEP_USER, GITLAB_TOKEN_MISSING, why, blocked_by=STEP_TOKEN.id)
    rec.skip(STEP_GIT, GITLAB_TOKEN_MISSING, why, blocked_by=STEP_TOKEN.id)


# Each API path's answer: an httpx response, or the transport error its request raised.
TOKEN_PATH, USER_PATH = "/personal_access_tokens/self", "/user"
Answers = dict[str, Any]


def api_answers(ctx: Context, rec: Recorder, token: Token) -> Answers:
    """Both API calls at once, each judged by its own layer: the token's facts, and the user it
    belongs to (whose token it is, for its credential), in one round trip's time."""
    import httpx

    header = "JOB-TOKEN" if token.job else "PRIVATE-TOKEN"

    def get(client: httpx.Client, path: str) -> Any:
        try:
            return client.get(f"{base_url(ctx)}/api/v4{path}", headers={header: token.value.reveal()})
        except httpx.HTTPError as exc:
            return exc

    paths = (TOKEN_PATH, USER_PATH)
    with ctx.http(timeout=rec.step_timeout(ctx.timeout)) as client:
        answers = rec.parallel(lambda path: get(client, path), paths, name="api")
    return dict(zip(paths, answers, strict=True))


def _response(ctx: Context, rec: Recorder, step: Step, answers: Answers, path: str) -> Any:
    """The path's response; a transport failure stops the check with its shared code."""
    url = f"{base_url(ctx)}/api/v4{path}"
    answer = answers.get(path)
    if answer is None:  # still running at the check's deadline, which the runner reports
        raise rec.fail(step, VPN_CONNECT_TIMEOUT, f"{url} did not answer in time", details={"url": url})
    if isinstance(answer, Exception):
        failure = transport_failure(ctx, answer, url)
        raise rec.fail(step, failure.diagnosis, failure.summary, details={"url": url})
    return answer


def _owner(answers: Answers) -> str | None:
    """The token's user from `/user`, when it answered (no API scope: unknown)."""
    answer = answers.get(USER_PATH)
    if getattr(answer, "status_code", None) != 200:
        return None
    username = _json(answer).get("username")
    return str(username) if username else None


def _json(response: Any) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _unexpected(ctx: Context, rec: Recorder, step: Step, response: Any) -> Stop:
    """An answer GitLab's API does not give: a server error, or not GitLab at that URL."""
    status = response.status_code
    details = {"url": str(response.url), "http_status": status}
    if status >= 500:
        return rec.fail(
            step,
            ENDPOINT_HTTP_ERROR,
            f"GitLab answered HTTP {status} for {response.url.path}",
            details=details,
        )
    return rec.fail(
        step,
        ENDPOINT_UNEXPECTED_ANSWER,
        f"{response.url.path} answered HTTP {status}, not as GitLab's API does",
        hint=f"Check gitlab.url ({base_url(ctx)}) with `aisg-check config`; it must be GitLab's web URL.",
        details=details,
    )


def _rejected(ctx: Context, rec: Recorder, token: Token, response: Any) -> Stop:
    """A 401: GitLab says why in its OAuth-style body (lib/gitlab/auth/auth_finders.rb)."""
    body = _json(response)
    reason = f"{body.get('error_description', '')} {response.headers.get('www-authenticate', '')}".lower()
    page = tokens_page(ctx)
    details = {"source": token.source, "http_status": 401}
    if "expired" in reason:
        return rec.fail(
            STEP_TOKEN,
            GITLAB_TOKEN_EXPIRED,
            f"The token from {token.source} has expired",
            hint=f"Create or rotate a token at {page} and {_renewal(ctx, token)}.",
            details=details,
        )
    if "revoked" in reason:
        return rec.fail(
            STEP_TOKEN,
            GITLAB_TOKEN_REVOKED,
            f"The token from {token.source} was revoked",
            hint=f"Create a new token at {page} and {_renewal(ctx, token)}.",
            details=details,
        )
    return rec.fail(
        STEP_TOKEN,
        GITLAB_TOKEN_INVALID,
        f"GitLab at {base_url(ctx)} rejects the token from {token.source} (401 Unauthorized)",
        hint=f"Create a new token at {page} (scopes read_repository, write_repository, read_user) and "
        f"{_renewal(ctx, token)}.",
        details=details,
    )


def token_layer(ctx: Context, rec: Recorder, token: Token, answers: Answers) -> TokenInfo:
    if token.job:
        rec.ok(
            STEP_TOKEN,
            "Using CI_JOB_TOKEN (a CI job's token; its rights are the job's)",
            details={"source": token.source},
        )
        return TokenInfo(None, api_scope=False)
    response = _response(ctx, rec, STEP_TOKEN, answers, TOKEN_PATH)
    if response.status_code == 401:
        raise _rejected(ctx, rec, token, response)
    if response.status_code == 403:
        # Accepted, but too narrow to read even itself: no API scope. Only git can tell more.
        rec.warn(
            STEP_TOKEN,
            GITLAB_TOKEN_SCOPE,
            f"The token from {token.source} is accepted but has no API scope (read_user/read_api/api)",
            hint=f"For the full check create a token with read_user too at {tokens_page(ctx)}.",
            details={"source": token.source, "http_status": 403},
        )
        return TokenInfo(None, api_scope=False)
    if response.status_code != 200:
        raise _unexpected(ctx, rec, STEP_TOKEN, response)
    return _judge_token(ctx, rec, token, TokenFacts.read(_json(response)), _owner(answers))


def _renewal(ctx: Context, token: Token) -> str:
    """Where the new token goes: in a pod, the Secret GITLAB_TOKEN comes from."""
    if ctx.in_cluster and token.source == "GITLAB_TOKEN":
        return "update the Secret GITLAB_TOKEN comes from (the fleet manifests: aisg-check-gitlab, key token)"
    return f"update {token.source}"


def _judge_token(
    ctx: Context, rec: Recorder, token: Token, facts: TokenFacts, owner: str | None
) -> TokenInfo:
    source, page, details = token.source, tokens_page(ctx), facts.details(token.source)
    scopes = ", ".join(facts.scopes)
    credential = facts.credential(token, owner)
    lifetime = judge(ctx, facts.expires_at)
    if facts.revoked:
        raise rec.fail(
            STEP_TOKEN,
            GITLAB_TOKEN_REVOKED,
            f"The token from {source} was revoked",
            hint=f"Create a new token at {page} and {_renewal(ctx, token)}.",
            details=details,
        )
    if lifetime.verdict is Verdict.EXPIRED or not facts.active:
        raise rec.fail(
            STEP_TOKEN,
            GITLAB_TOKEN_EXPIRED,
            f"The token from {source} expired on {facts.expires or 'an earlier date'}",
            hint=f"Create or rotate a token at {page} and {_renewal(ctx, token)}.",
            details=details,
            credentials=[credential],
        )
    if not facts.for_git:
        raise rec.fail(
            STEP_TOKEN,
            GITLAB_TOKEN_SCOPE,
            f"The token from {source} cannot be used for git: its scopes are {scopes or 'none'}",
            hint=f"Create a new token at {page} with read_repository and write_repository (and read_user), "
            f"then update {source}.",
            details=details,
            credentials=[credential],
        )
    if not facts.for_api:
        rec.warn(
            STEP_TOKEN,
            GITLAB_TOKEN_SCOPE,
            f"The token from {source} works for git but cannot read the API (scopes: {scopes})",
            hint=f"If you need the API, create a token with read_user or read_api at {page}.",
            details=details,
            credentials=[credential],
        )
    elif lifetime.verdict is Verdict.SOON and facts.expires:
        days = (facts.expires - ctx.now().date()).days
        rec.warn(
            STEP_TOKEN,
            GITLAB_TOKEN_EXPIRES_SOON,
            f"The token from {source} expires on {facts.expires} (in {days} day{'s' if days != 1 else ''})",
            hint=f"Rotate it now at {page} (Rotate next to the token; the old one stops working at once) "
            f"and {_renewal(ctx, token)}.",
            details={**details, "expires_in_days": days},
            credentials=[credential],
        )
    else:
        until = f", expires {facts.expires}" if facts.expires else ", never expires"
        rec.ok(
            STEP_TOKEN,
            f"Token from {source} is active (scopes {scopes}{until})",
            details=details,
            credentials=[credential],
        )
    return TokenInfo(None, api_scope=facts.for_api)


def user_layer(ctx: Context, rec: Recorder, token: Token, info: TokenInfo, answers: Answers) -> TokenInfo:
    if token.job:
        rec.skip(STEP_USER, GITLAB_TOKEN_JOB, "A CI job token cannot look up a user; skipped")
        return info
    if not info.api_scope:
        rec.skip(
            STEP_USER, GITLAB_TOKEN_SCOPE, "Not checked: the token has no API scope", blocked_by=STEP_TOKEN.id
        )
        return info
    response = _response(ctx, rec, STEP_USER, answers, USER_PATH)
    if response.status_code == 401:
        raise rec.fail(
            STEP_USER,
            GITLAB_TOKEN_INVALID,
            f"GitLab rejects the token from {token.source} for /user",
            details={"source": token.source, "http_status": 401},
        )
    body = _json(response) if response.status_code == 200 else {}
    username = str(body.get("username") or "")
    if not username:
        raise _unexpected(ctx, rec, STEP_USER, response)
    rec.ok(
        STEP_USER,
        f"The token belongs to @{username} on {base_url(ctx)}",
        details={"username": username, "name": body.get("name"), "state": body.get("state")},
    )
    return TokenInfo(username, info.api_scope)
