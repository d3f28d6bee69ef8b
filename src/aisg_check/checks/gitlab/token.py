"""The token `gitlab.https` checks, and what GitLab says about it: where it comes from
(GITLAB_TOKEN, the config, CI_JOB_TOKEN, else the user's git credential helper) and the facts of
`/api/v4/personal_access_tokens/self`, with its expiry as a `Credential`. No Recorder here."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from aisg_check.context import Context
from aisg_check.model import Credential
from aisg_check.secrets import Secret

GIT_SCOPES = frozenset({"api", "read_repository", "write_repository"})
API_SCOPES = frozenset({"api", "read_api", "read_user"})


@dataclass(frozen=True)
class Token:
    value: Secret
    source: str  # for summaries: "GITLAB_TOKEN", "your git credential helper", ...
    username: str | None  # basic-auth user for git; None: use the API's username, else oauth2
    job: bool = False


@dataclass(frozen=True)
class TokenInfo:
    """What the API layers learnt: whose token it is, and whether it may read the API."""

    username: str | None
    api_scope: bool


@dataclass(frozen=True)
class TokenFacts:
    """A token's state from `/personal_access_tokens/self` (doc/api/personal_access_tokens.md)."""

    name: str | None
    scopes: tuple[str, ...]
    expires: dt.date | None
    revoked: bool
    active: bool  # GitLab's own word: false once the token expired or was revoked

    @classmethod
    def read(cls, body: Mapping[str, Any]) -> TokenFacts:
        scopes = tuple(sorted(str(s) for s in body.get("scopes") or []))
        name = body.get("name")
        return cls(
            str(name) if name else None,
            scopes,
            _expiry(body.get("expires_at")),
            bool(body.get("revoked")),
            body.get("active") is not False,
        )

    @property
    def expires_at(self) -> dt.datetime | None:
        # "Personal access tokens expire on the date you define, at midnight, 00:00 AM UTC."
        if self.expires is None:
            return None
        return dt.datetime.combine(self.expires, dt.time(), tzinfo=dt.timezone.utc)

    @property
    def for_git(self) -> bool:
        return bool(GIT_SCOPES & set(self.scopes))

    @property
    def for_api(self) -> bool:
        return bool(API_SCOPES & set(self.scopes))

    def credential(self, token: Token, owner: str | None) -> Credential:
        return Credential(
            kind="gitlab_token",
            name=f"GitLab token {self.name}" if self.name else "GitLab token",
            expires_at=self.expires_at,
            source=token.source,
            owner=owner,
        )

    def details(self, source: str) -> dict[str, Any]:
        return {
            "source": source,
            "name": self.name,
            "scopes": list(self.scopes),
            "expires_at": self.expires.isoformat() if self.expires else None,
        }


def _expiry(value: Any) -> dt.date | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None


def base_url(ctx: Context) -> str:
    return ctx.settings.gitlab.url.rstrip("/")


def tokens_page(ctx: Context) -> str:
    return f"{base_url(ctx)}/-/user_settings/personal_access_tokens"


def git_env(ctx: Context, extra_config: Mapping[str, str] | None = None) -> dict[str, str]:
    """git that never prompts (terminal, askpass window, Git Credential Manager dialog)."""
    env = {
        **ctx.env,
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_ASKPASS": "",
        "SSH_ASKPASS": "",
        "GCM_INTERACTIVE": "never",
    }
    # Config through the environment (git ≥ 2.31): not on a command line `ps` shows, not in a file.
    base = int(env.get("GIT_CONFIG_COUNT", "0") or 0)
    extra_config = extra_config or {}
    for i, (key, value) in enumerate(extra_config.items(), start=base):
        env[f"GIT_CONFIG_KEY_{i}"] = key
        env[f"GIT_CONFIG_VALUE_{i}"] = value
    if extra_config:
        env["GIT_CONFIG_COUNT"] = str(base + len(extra_config))
    return env


def _from_credential_helper(ctx: Context, timeout: float) -> Token | None:
    """Ask the user's git credential helper, as `git` would; never store, never prompt."""
    split = urlsplit(base_url(ctx))
    if not split.hostname:
        return None
    request = f"protocol={split.scheme}\nhost={split.netloc.rpartition('@')[2]}\n\n"
    result = ctx.run(["git", "credential", "fill"], timeout=timeout, env=git_env(ctx), input=request)
    if not result.ok:
        return None  # no helper, or it has nothing: git then wanted to prompt and was told not to
    fields = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    password = fields.get("password", "")
    ctx.scrubber.add_login(fields.get("username"), password)
    if not password:
        return None
    return Token(Secret(password), "your git credential helper", fields.get("username") or None)


def find_token(ctx: Context, timeout: float) -> Token | None:
    configured = ctx.settings.gitlab.token
    if configured:
        ctx.scrubber.add(configured)
        return Token(configured, "GITLAB_TOKEN" if ctx.env.get("GITLAB_TOKEN") else "gitlab.token", None)
    job = ctx.env.get("CI_JOB_TOKEN")
    if job:
        ctx.scrubber.add_login("gitlab-ci-token", job)
        return Token(Secret(job), "CI_JOB_TOKEN", "gitlab-ci-token", job=True)
    return _from_credential_helper(ctx, timeout)
