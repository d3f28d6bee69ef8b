"""`gitlab`: git works against GitLab both ways the onboarding guide describes.

Two checks, so the runner runs them side by side:

- `gitlab.ssh` (`ssh.py`): the system OpenSSH client, the one git uses: effective config
  (`ssh -G`, and the config file ssh really reads) → key → host key → authentication (`ssh -T`).
  Laptop-only: in a pod (fleet mode) there is no user's ssh setup, and it is not applicable.
- `gitlab.https` (`token.py`, `https.py`, `git.py`): a token (GITLAB_TOKEN, the config,
  CI_JOB_TOKEN, else the user's git credential helper; in a pod GITLAB_TOKEN from a Secret)
  → `/api/v4/personal_access_tokens/self` (its expiry a `Credential`) → `/api/v4/user` →
  optionally a real `git ls-remote` with that token.

Read-only throughout: nothing is written to known_hosts, the ssh or git config, or a
credential helper's store, and nothing prompts.
"""

from __future__ import annotations

from aisg_check.check import Check, Recorder, declared
from aisg_check.checks.gitlab import diagnoses, git, https, ssh
from aisg_check.checks.gitlab.diagnoses import NOT_CONFIGURED
from aisg_check.checks.gitlab.token import base_url, find_token
from aisg_check.context import Context
from aisg_check.diagnoses import NETWORK_DIAGNOSES


def run_ssh(ctx: Context, rec: Recorder) -> None:
    if not ctx.settings.gitlab.host:
        rec.skip(ssh.STEP_CONFIG, NOT_CONFIGURED, "No GitLab host configured (gitlab.host)")
        return
    timeout = rec.step_timeout(ctx.timeout)
    # One connection answers both remaining layers: host keys are checked before authentication.
    # It reads only (no known_hosts write, no prompt) and needs nothing from the layers before it,
    # so it starts now, beside `ssh -G`, the key layer and the VPN probe; its answer is looked at
    # only once they passed. The key exchange alone costs ssh about 0.1 s of CPU.
    argv = ssh.connect_argv(ctx, ssh.ssh_target(ctx), timeout)
    connection = rec.ahead(lambda: ctx.run(argv, timeout=timeout, env=ssh.ssh_env(ctx)), name="connect")
    config = ssh.config_layer(ctx, rec)
    keys = ssh.key_layer(ctx, rec, config)
    rec.require("vpn.gitlab-ssh")
    result = connection()
    if result is None:
        return  # still connecting at the deadline: the runner reports that
    ssh.hostkey_layer(ctx, rec, config, result)
    ssh.auth_layer(ctx, rec, config, keys, result)


def run_https(ctx: Context, rec: Recorder) -> None:
    if not base_url(ctx):
        rec.skip(https.STEP_TOKEN, NOT_CONFIGURED, "No GitLab URL configured (gitlab.url)")
        return
    token = find_token(ctx, rec.step_timeout(ctx.timeout))
    if token is None:
        https.no_token(ctx, rec)
        return
    # Pay for the HTTP client's import and the TLS trust store while the VPN probe still runs.
    import httpx  # noqa: F401

    ctx.ssl_context()
    rec.require("vpn.gitlab")
    answers = {} if token.job else https.api_answers(ctx, rec, token)
    info = https.token_layer(ctx, rec, token, answers)
    info = https.user_layer(ctx, rec, token, info, answers)
    git.git_layer(ctx, rec, token, info)


# Every diagnosis the package defines or reports, and any transport failure: what it may report.
DECLARED = declared(diagnoses, NETWORK_DIAGNOSES)

CHECKS: tuple[Check, ...] = (
    Check(
        id="gitlab.ssh",
        component="gitlab",
        title="GitLab over SSH",
        steps=ssh.STEPS,
        run=run_ssh,
        needs=("vpn.gitlab-ssh",),
        diagnoses=DECLARED,
        budget=3.0,
        # A laptop's ssh config and keys: in a pod there are none; gitlab.https checks the token.
        laptop_only=True,
    ),
    Check(
        id="gitlab.https",
        component="gitlab",
        title="GitLab over HTTPS",
        steps=https.STEPS,
        run=run_https,
        needs=("vpn.gitlab",),
        diagnoses=DECLARED,
        budget=4.0,
    ),
)
