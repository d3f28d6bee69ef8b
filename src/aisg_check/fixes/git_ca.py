"""TLS_UNTRUSTED_CERT at `gitlab.https.git`: the API call trusted the CA bundle aisg-check was
given, git (which has its own trust settings) did not. The fix tells git to trust that bundle
for GitLab's URL only, `http.<gitlab url>.sslCAInfo`, never for every host: a global
`http.sslCAInfo` replaces git's trust store, and a bundle holding only the internal CA would then
break github.com and every other server. Offered only when a bundle is configured (ca_bundle,
--ca-bundle, or REQUESTS_CA_BUNDLE and friends); without one the fix is the MLOps team's CA file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from aisg_check.checks.gitlab.token import base_url
from aisg_check.context import Context
from aisg_check.fixes.plan import GitConfig, Plan, Refused, display
from aisg_check.model import CheckResult


def offered(ctx: Context, result: CheckResult) -> bool:
    return bool(ctx.ca_files() and base_url(ctx))


def global_file(ctx: Context) -> Path:
    """The file `git config --global` writes: GIT_CONFIG_GLOBAL, else ~/.gitconfig, unless only
    the XDG one ($XDG_CONFIG_HOME/git/config) exists (git-config(1), FILES)."""
    if ctx.env.get("GIT_CONFIG_GLOBAL"):
        return ctx.path(ctx.env["GIT_CONFIG_GLOBAL"])
    home = Path(ctx.env.get("HOME") or ctx.home)
    classic = home / ".gitconfig"
    xdg = Path(ctx.env.get("XDG_CONFIG_HOME") or home / ".config") / "git" / "config"
    return xdg if not classic.exists() and xdg.is_file() else classic


def plan(ctx: Context, result: CheckResult, results: Mapping[str, CheckResult]) -> Plan:
    bundle = os.path.abspath(ctx.ca_files()[0])
    key = f"http.{base_url(ctx)}.sslCAInfo"
    if ctx.env.get("GIT_SSL_CAINFO"):
        raise Refused(
            "GIT_SSL_CAINFO is set in the environment and overrides git's config: point it at "
            f"{bundle} or unset it, then run again"
        )
    env = {k: v for k, v in ctx.env.items() if not k.startswith("GIT_CONFIG_KEY_")}
    env.pop("GIT_CONFIG_COUNT", None)
    current = ctx.run(["git", "config", "--global", "--get", key], timeout=20, env=env)
    if current.not_found:
        raise Refused("git is not on PATH")
    if current.ok and current.stdout.strip() == bundle:
        raise Refused(
            f"git already trusts {bundle} for {base_url(ctx)} and still refuses the certificate: the "
            "bundle may lack the CA that signed GitLab's certificate (ask the MLOps team for it)"
        )
    file = global_file(ctx)
    return Plan(
        f"Make git trust {display(Path(bundle), ctx.home)} for {base_url(ctx)}",
        (GitConfig(key, bundle, file, display(file, ctx.home), ctx.home, ctx.run, env),),
        (f"Only for {base_url(ctx)}: git keeps its own trust store for every other server.",),
    )
