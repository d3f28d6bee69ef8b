"""`gitlab`: git works against GitLab both ways the onboarding guide describes.

Two checks, so the runner runs them side by side:

- `gitlab.ssh`: the system OpenSSH client (the one git uses, never a Python SSH library):
  effective config (`ssh -G`) → key → host key → authentication (`ssh -T`).
- `gitlab.https`: a token (GITLAB_TOKEN, the config, CI_JOB_TOKEN, else the user's git
  credential helper) → `/api/v4/personal_access_tokens/self` → `/api/v4/user` → optionally a
  real `git ls-remote` with that token.

Read-only throughout: ssh runs with StrictHostKeyChecking=yes and UpdateHostKeys=no so it
never writes known_hosts, and git gets its credentials through the environment with the
credential helpers switched off, so nothing is stored, erased or put on a command line.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
import stat
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from aisg_check.check import Check, Recorder, Step, declared
from aisg_check.checks.tools import TOOL_MISSING
from aisg_check.context import CommandResult, Context
from aisg_check.diagnoses import (
    ENDPOINT_HTTP_ERROR,
    ENDPOINT_NO_ANSWER,
    ENDPOINT_UNEXPECTED_ANSWER,
    NETWORK_DIAGNOSES,
    NOT_CONFIGURED,
    TLS_UNTRUSTED_CERT,
    VPN_CONNECT_REFUSED,
    VPN_CONNECT_TIMEOUT,
    VPN_DNS_FAILED,
    VPN_NO_ROUTE,
)
from aisg_check.model import CONTACT_MLOPS, Diagnosis
from aisg_check.net.failures import classify_tls_error, find_ssl_error
from aisg_check.secrets import Secret

# ---------------------------------------------------------------------------------------------
# diagnoses

GITLAB_SSH_CONFIG_INVALID = Diagnosis(
    "GITLAB_SSH_CONFIG_INVALID",
    "ssh config cannot be read",
    "`ssh -G` rejected the ssh configuration (a typo or an unknown option in ~/.ssh/config), so "
    "neither ssh nor git can use it.",
    "Fix the line ssh names (run `ssh -G <host>` to see the error), then run again.",
)
GITLAB_SSH_PORT_NOT_CONFIGURED = Diagnosis(
    "GITLAB_SSH_PORT_NOT_CONFIGURED",
    "GitLab's SSH port not configured",
    "GitLab answers SSH on port 2222, but ~/.ssh/config has no Host block that sets that port for "
    "gitlab.aisingapore.net, so `git clone git@gitlab.aisingapore.net:...` goes to port 22.",
    "Add the Host block the hint shows to ~/.ssh/config (Windows: C:\\Users\\<you>\\.ssh\\config).",
    CONTACT_MLOPS,
)
GITLAB_SSH_KEY_MISSING = Diagnosis(
    "GITLAB_SSH_KEY_MISSING",
    "No SSH key",
    "None of the identity files ssh would offer exists, and no ssh-agent holds a key.",
    "Create a key with `ssh-keygen -t ed25519`, add its .pub to GitLab (Preferences → SSH Keys) "
    "and name it with IdentityFile in the GitLab Host block of ~/.ssh/config.",
)
GITLAB_SSH_KEY_PERMISSIONS = Diagnosis(
    "GITLAB_SSH_KEY_PERMISSIONS",
    "Private key readable by others",
    "The private key file is readable or writable by other users; OpenSSH refuses to use such a key "
    '("UNPROTECTED PRIVATE KEY FILE").',
    "Make it private: `chmod 600 <key file>`.",
)
GITLAB_SSH_KEY_PASSPHRASE = Diagnosis(
    "GITLAB_SSH_KEY_PASSPHRASE",
    "Key has a passphrase and no agent holds it",
    "The private key is protected by a passphrase and no ssh-agent holds it: git asks for the "
    "passphrase on every fetch and push, and non-interactive runs (scripts, CI, this check) cannot "
    "use the key at all.",
    'Load it into an agent once per session: `eval "$(ssh-agent -s)" && ssh-add <key file>` '
    "(macOS: `ssh-add --apple-use-keychain <key file>`; Windows PowerShell as admin: "
    "`Get-Service ssh-agent | Set-Service -StartupType Automatic; Start-Service ssh-agent; ssh-add`).",
)
GITLAB_SSH_HOSTKEY_UNKNOWN = Diagnosis(
    "GITLAB_SSH_HOSTKEY_UNKNOWN",
    "GitLab's SSH host key not yet known",
    "known_hosts has no key for GitLab's SSH endpoint, so git (run without a terminal) stops with "
    '"Host key verification failed".',
    "Compare the fingerprint ssh shows with the one on GitLab's Help → Instance configuration page "
    "(/help/instance_configuration) or from the MLOps team, then connect once by hand "
    "(`ssh -T -p 2222 git@gitlab.aisingapore.net`) and answer yes.",
    CONTACT_MLOPS,
)
GITLAB_SSH_HOSTKEY_CHANGED = Diagnosis(
    "GITLAB_SSH_HOSTKEY_CHANGED",
    "GitLab's SSH host key changed",
    "The key GitLab presents differs from the one in known_hosts: either the server's key was "
    "replaced, or someone is intercepting the connection. ssh refuses to connect.",
    "Ask the MLOps team whether the key changed. Only if it did: remove the old entry with "
    "`ssh-keygen -R '[gitlab.aisingapore.net]:2222'` and accept the new key after checking its "
    "fingerprint.",
    CONTACT_MLOPS,
)
GITLAB_SSH_AUTH_DENIED = Diagnosis(
    "GITLAB_SSH_AUTH_DENIED",
    "GitLab does not accept your SSH key",
    "ssh reached GitLab and the host key is right, but GitLab refused every key offered "
    '("Permission denied (publickey)"): the public key is not added to your GitLab profile.',
    "Add the public key (the .pub file next to your private key) on GitLab under Preferences → SSH "
    "Keys, then run again.",
    CONTACT_MLOPS,
)
GITLAB_TOKEN_MISSING = Diagnosis(
    "GITLAB_TOKEN_MISSING",
    "No GitLab token",
    "No token was found for git over HTTPS: GITLAB_TOKEN and gitlab.token are unset and no git "
    "credential helper holds one for GitLab. (Fine if you only use git over SSH.)",
    "Create a personal access token (Preferences → Access tokens) with the scopes read_repository, "
    "write_repository and read_user, then `export GITLAB_TOKEN=<token>` (or store it in your git "
    "credential helper).",
)
GITLAB_TOKEN_INVALID = Diagnosis(
    "GITLAB_TOKEN_INVALID",
    "GitLab rejects the token",
    "GitLab answered 401 Unauthorized: the token is mistyped, belongs to another GitLab instance, "
    "or has been deleted.",
    "Create a new personal access token (Preferences → Access tokens) and use it instead.",
)
GITLAB_TOKEN_EXPIRED = Diagnosis(
    "GITLAB_TOKEN_EXPIRED",
    "GitLab token expired",
    "The personal access token has passed its expiry date; GitLab rejects it for the API and git.",
    "Create a new token (Preferences → Access tokens), or rotate the old one, and use it instead.",
)
GITLAB_TOKEN_REVOKED = Diagnosis(
    "GITLAB_TOKEN_REVOKED",
    "GitLab token revoked",
    "The personal access token was revoked (by you, an administrator, or a rotation); GitLab rejects it.",
    "Create a new token (Preferences → Access tokens) and use it instead.",
)
GITLAB_TOKEN_SCOPE = Diagnosis(
    "GITLAB_TOKEN_SCOPE",
    "GitLab token lacks a scope",
    "The token lacks a scope a git or API call needs: read_repository/write_repository (or api) "
    "for git over HTTPS, read_user/read_api (or api) for the API.",
    "Scopes cannot be added to an existing token: create a new one with read_repository, "
    "write_repository and read_user.",
)
GITLAB_TOKEN_EXPIRES_SOON = Diagnosis(
    "GITLAB_TOKEN_EXPIRES_SOON",
    "GitLab token expires soon",
    "The personal access token expires within 7 days; git and API calls fail from then on.",
    "Rotate it now (Preferences → Access tokens → Rotate) and update GITLAB_TOKEN or your credential helper.",
)
GITLAB_TOKEN_JOB = Diagnosis(
    "GITLAB_TOKEN_JOB",
    "CI job token: no user to look up",
    "Inside GitLab CI the check uses CI_JOB_TOKEN, which cannot read the token or user API; only the "
    "git round trip tells whether it works.",
    "Nothing to do in CI. To check a personal token instead, set GITLAB_TOKEN.",
)
GITLAB_GIT_AUTH_DENIED = Diagnosis(
    "GITLAB_GIT_AUTH_DENIED",
    "git over HTTPS refused the token",
    "The token is valid for the API, but git over HTTPS was refused (HTTP 401/403): the token lacks "
    "read_repository, or you are not a member of the project.",
    "Check that you are a member of the project (ask its owner or the MLOps team) and that the token "
    "has read_repository.",
    CONTACT_MLOPS,
)
GITLAB_REPO_NOT_FOUND = Diagnosis(
    "GITLAB_REPO_NOT_FOUND",
    "Repository not found",
    "GitLab says the repository does not exist; it says the same when you are not allowed to see it.",
    "Check the URL (copy it from the project's Clone button); if it is right, ask the project's owner "
    "to add you as a member.",
    CONTACT_MLOPS,
)
GITLAB_REPO_FOREIGN_HOST = Diagnosis(
    "GITLAB_REPO_FOREIGN_HOST",
    "Repository is not on the configured GitLab",
    "The repository URL for the git round trip (--repo, gitlab.repo) is not an HTTPS URL on the host "
    "and port of gitlab.url, so the check does not send your GitLab token to it.",
    "Use the project's HTTPS clone URL from GitLab (Clone → Clone with HTTPS), or set gitlab.url to the "
    "GitLab that hosts the repository.",
)
GITLAB_GIT_FAILED = Diagnosis(
    "GITLAB_GIT_FAILED",
    "git ls-remote failed",
    "`git ls-remote` over HTTPS failed for a reason not recognised above.",
    "Run the command in the hint yourself to see git's message; send it to the MLOps team if unclear.",
    CONTACT_MLOPS,
)

SSH_DIAGNOSES = (
    GITLAB_SSH_CONFIG_INVALID,
    GITLAB_SSH_PORT_NOT_CONFIGURED,
    GITLAB_SSH_KEY_MISSING,
    GITLAB_SSH_KEY_PERMISSIONS,
    GITLAB_SSH_KEY_PASSPHRASE,
    GITLAB_SSH_HOSTKEY_UNKNOWN,
    GITLAB_SSH_HOSTKEY_CHANGED,
    GITLAB_SSH_AUTH_DENIED,
    TOOL_MISSING,
    NOT_CONFIGURED,
)
HTTPS_DIAGNOSES = (
    GITLAB_TOKEN_MISSING,
    GITLAB_TOKEN_INVALID,
    GITLAB_TOKEN_EXPIRED,
    GITLAB_TOKEN_REVOKED,
    GITLAB_TOKEN_SCOPE,
    GITLAB_TOKEN_EXPIRES_SOON,
    GITLAB_TOKEN_JOB,
    GITLAB_GIT_AUTH_DENIED,
    GITLAB_REPO_NOT_FOUND,
    GITLAB_REPO_FOREIGN_HOST,
    GITLAB_GIT_FAILED,
    TOOL_MISSING,
    NOT_CONFIGURED,
)

EXPIRY_WARNING_DAYS = 7
GIT_SCOPES = frozenset({"api", "read_repository", "write_repository"})
API_SCOPES = frozenset({"api", "read_api", "read_user"})


# ---------------------------------------------------------------------------------------------
# SSH


@dataclass(frozen=True)
class SshConfig:
    """What `ssh -G` says ssh would do for `user@host`."""

    target: str  # user@host, as git passes it
    hostname: str
    port: int
    user: str
    identity_files: tuple[Path, ...]
    known_hosts: tuple[str, ...]
    identity_agent: str


@dataclass(frozen=True)
class KeyState:
    usable: tuple[Path, ...]  # exist and are private enough for ssh
    agent_keys: int
    passphrase_only: bool  # every usable key is encrypted and no agent holds a key


def _ssh_options(ctx: Context) -> list[str]:
    """The options that make ssh read the same files the user's own ssh and git read.

    By default none: ssh finds ~/.ssh/config through the password database. The settings only
    exist so tests (and unusual setups) can point ssh at other files.
    """
    options: list[str] = []
    gitlab = ctx.settings.gitlab
    if gitlab.ssh_config:
        options += ["-F", str(ctx.path(gitlab.ssh_config))]
    if gitlab.known_hosts:
        options += ["-o", f"UserKnownHostsFile={ctx.path(gitlab.known_hosts)}"]
    return options


def _ssh_env(ctx: Context) -> dict[str, str]:
    # No askpass program: a passphrase or host-key prompt must fail, never pop up a window.
    return {**ctx.env, "SSH_ASKPASS": "", "SSH_ASKPASS_REQUIRE": "never", "DISPLAY": ""}


def _expand(ctx: Context, value: str, user: str, host: str) -> Path:
    """Expand the tokens `ssh -G` leaves in IdentityFile (~, %d, %u, %r, %h, %%)."""
    local_user = ctx.env.get("USER") or ctx.env.get("USERNAME") or ""
    swaps = {"%%": "%", "%d": str(ctx.home), "%u": local_user, "%r": user, "%h": host}
    text = re.sub(r"%[%durh]", lambda m: swaps[m.group(0)], value)
    return ctx.path(text)


def _parse_ssh_g(ctx: Context, target: str, output: str) -> SshConfig:
    values: dict[str, list[str]] = {}
    for line in output.splitlines():
        key, _, value = line.strip().partition(" ")
        if key:
            values.setdefault(key.lower(), []).append(value.strip())

    def first(key: str, default: str = "") -> str:
        return values.get(key, [default])[0]

    user, hostname = first("user"), first("hostname")
    identities = tuple(dict.fromkeys(_expand(ctx, v, user, hostname) for v in values.get("identityfile", [])))
    known = tuple(p for v in values.get("userknownhostsfile", []) for p in v.split())
    try:
        port = int(first("port", "22"))
    except ValueError:
        port = 22
    return SshConfig(target, hostname, port, user, identities, known, first("identityagent"))


def _host_block(ctx: Context, host: str, port: int, identity: str) -> str:
    file = ctx.settings.gitlab.ssh_config or "~/.ssh/config"
    windows = "" if ctx.settings.gitlab.ssh_config else " (on Windows: C:\\Users\\<you>\\.ssh\\config)"
    return (
        f"Add this block to {file}{windows}, then run again:\n\n"
        f"Host {host}\n    Port {port}\n    IdentityFile {identity}\n"
    )


def _display(ctx: Context, path: Path) -> str:
    """`/home/alice/.ssh/id_ed25519` → `~/.ssh/id_ed25519`, as the guide writes it."""
    try:
        return "~/" + path.relative_to(ctx.home).as_posix()
    except ValueError:
        return str(path)


def _ssh_config_layer(ctx: Context, rec: Recorder) -> SshConfig | None:
    gitlab = ctx.settings.gitlab
    target = f"{gitlab.ssh_user}@{gitlab.host}" if gitlab.ssh_user else gitlab.host
    result = ctx.run(
        ["ssh", *_ssh_options(ctx), "-G", target], timeout=rec.step_timeout(ctx.timeout), env=_ssh_env(ctx)
    )
    if result.not_found:
        rec.fail(
            "gitlab.ssh.config",
            TOOL_MISSING,
            "The OpenSSH client (ssh) is not on PATH",
            hint="Install OpenSSH (`aisg-check tools` names the command for your system).",
        )
        return None
    if not result.ok:
        message = ctx.scrubber.scrub(_last_line(result.stderr or result.stdout))
        rec.fail(
            "gitlab.ssh.config",
            GITLAB_SSH_CONFIG_INVALID,
            f"`ssh -G {target}` failed: {message}",
            hint=f"Fix the line ssh names, check with `ssh -G {target}`, then run again.",
        )
        return None
    config = _parse_ssh_g(ctx, target, result.stdout)
    details = {
        "host": gitlab.host,
        "port": config.port,
        "user": config.user,
        "identity_files": [_display(ctx, p) for p in config.identity_files],
    }
    if config.port != gitlab.ssh_port:
        existing = next((p for p in config.identity_files if p.is_file()), None)
        identity = _display(ctx, existing) if existing else "~/.ssh/id_ed25519"
        rec.fail(
            "gitlab.ssh.config",
            GITLAB_SSH_PORT_NOT_CONFIGURED,
            f"ssh would connect to {gitlab.host} on port {config.port}, "
            f"not GitLab's SSH port {gitlab.ssh_port}",
            hint=_host_block(ctx, gitlab.host, gitlab.ssh_port, identity),
            details=details,
        )
        return None
    rec.ok(
        "gitlab.ssh.config",
        f"ssh uses port {config.port} and user {config.user} for {gitlab.host}",
        details=details,
    )
    return config


def _agent_keys(ctx: Context, config: SshConfig, timeout: float) -> int:
    """Keys the ssh-agent holds (0 when there is none, or ssh is told not to use it)."""
    if config.identity_agent.lower() == "none" or not ctx.env.get("SSH_AUTH_SOCK"):
        return 0
    result = ctx.run(["ssh-add", "-l"], timeout=timeout, env=_ssh_env(ctx))
    if not result.ok:
        return 0  # 1: the agent holds no key; 2: no agent answers
    return len([line for line in result.stdout.splitlines() if line.strip()])


_OPENSSH_MAGIC = b"openssh-key-v1\x00"


def key_is_encrypted(path: Path) -> bool:
    """Whether a private key file needs a passphrase, read from its header (never decrypted)."""
    try:
        text = path.read_text("ascii", errors="replace")
    except OSError:
        return False
    if "ENCRYPTED" in "\n".join(text.splitlines()[:3]):
        return True  # PEM: "Proc-Type: 4,ENCRYPTED" or "BEGIN ENCRYPTED PRIVATE KEY"
    match = re.search(r"-----BEGIN OPENSSH PRIVATE KEY-----(.*?)-----END", text, re.S)
    if not match:
        return False
    try:
        blob = base64.b64decode("".join(match.group(1).split())[:200] + "===")
    except (binascii.Error, ValueError):
        return False
    if not blob.startswith(_OPENSSH_MAGIC):
        return False
    rest = blob[len(_OPENSSH_MAGIC) :]
    length = int.from_bytes(rest[:4], "big")
    cipher = rest[4 : 4 + length]
    return cipher != b"none"


def _unprotected(ctx: Context, path: Path) -> bool:
    # ssh checks POSIX modes only; on Windows it checks ACLs, which this check does not read.
    if ctx.platform.startswith("win"):
        return False
    try:
        return bool(path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO))
    except OSError:
        return False


def _key_layer(ctx: Context, rec: Recorder, config: SshConfig) -> KeyState | None:
    existing = [p for p in config.identity_files if p.is_file()]
    bad = [p for p in existing if _unprotected(ctx, p)]
    usable = tuple(p for p in existing if p not in bad)
    agent = _agent_keys(ctx, config, rec.step_timeout(ctx.timeout))
    details: dict[str, Any] = {"keys": [_display(ctx, p) for p in usable], "agent_keys": agent}
    if not existing and not agent:
        tried = ", ".join(_display(ctx, p) for p in config.identity_files) or "none"
        rec.fail(
            "gitlab.ssh.key",
            GITLAB_SSH_KEY_MISSING,
            f"No SSH key: none of the identity files exists ({tried}) and no ssh-agent holds a key",
            hint="Create one with `ssh-keygen -t ed25519 -f ~/.ssh/id_ed25519` and add ~/.ssh/id_ed25519.pub "
            "to GitLab (Preferences → SSH Keys). "
            + _host_block(ctx, ctx.settings.gitlab.host, ctx.settings.gitlab.ssh_port, "~/.ssh/id_ed25519"),
            details=details,
        )
        return None
    if bad:
        modes = {_display(ctx, p): oct(p.stat().st_mode & 0o777) for p in bad}
        fix = "; ".join(f"chmod 600 {_display(ctx, p)}" for p in bad)
        report = rec.warn if (usable or agent) else rec.fail
        report(
            "gitlab.ssh.key",
            GITLAB_SSH_KEY_PERMISSIONS,
            "ssh refuses private keys others can read: "
            + ", ".join(f"{name} (mode {mode})" for name, mode in modes.items()),
            hint=f"Run `{fix}`.",
            details={**details, "unprotected": modes},
        )
        if not (usable or agent):
            return None
    encrypted = [p for p in usable if key_is_encrypted(p)]
    passphrase_only = bool(usable) and len(encrypted) == len(usable) and not agent
    if passphrase_only:
        rec.warn(
            "gitlab.ssh.key",
            GITLAB_SSH_KEY_PASSPHRASE,
            f"{_display(ctx, usable[0])} has a passphrase and no ssh-agent holds it",
            hint=f'Load it into an agent: `eval "$(ssh-agent -s)" && ssh-add {_display(ctx, usable[0])}` '
            "(Windows PowerShell: `Start-Service ssh-agent; ssh-add`).",
            details={**details, "encrypted": [_display(ctx, p) for p in encrypted]},
        )
    elif not bad:
        names = ", ".join(details["keys"]) or "none on disk"
        agent_note = f"; the ssh-agent holds {agent} key(s)" if agent else ""
        rec.ok("gitlab.ssh.key", f"SSH key: {names}{agent_note}", details=details)
    return KeyState(usable, agent, passphrase_only)


# ssh's own messages (sshconnect.c, ssh.c): stable across OpenSSH releases for years.
_HOSTKEY_CHANGED = re.compile(r"REMOTE HOST IDENTIFICATION HAS CHANGED|Host key for .* has changed")
_HOSTKEY_UNKNOWN = re.compile(r"No \S+ host key is known for|Host key verification failed")
_OFFENDING = re.compile(r"Offending \S+ key in (.+?):(\d+)")
_WELCOME = re.compile(r"Welcome to GitLab, @?([^!\s]+)!")
# Past the host key: the server answered as SSH and judged the keys (it may then close).
_AUTH_DENIED = re.compile(r"Permission denied|Too many authentication failures")
_CONNECT_ERRORS = (
    (re.compile(r"Could not resolve hostname", re.I), VPN_DNS_FAILED),
    (re.compile(r"Connection refused", re.I), VPN_CONNECT_REFUSED),
    (re.compile(r"No route to host|Network is unreachable", re.I), VPN_NO_ROUTE),
    (re.compile(r"timed out", re.I), VPN_CONNECT_TIMEOUT),
    (
        re.compile(r"kex_exchange_identification|Connection closed by|Connection reset", re.I),
        ENDPOINT_UNEXPECTED_ANSWER,
    ),
)


def _ssh_test_argv(ctx: Context, config: SshConfig, timeout: float) -> list[str]:
    # Only options that keep ssh from writing or prompting; everything else is the user's config.
    return [
        "ssh",
        *_ssh_options(ctx),
        "-T",
        "-o",
        "BatchMode=yes",
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        "UpdateHostKeys=no",
        "-o",
        "ControlPath=none",
        "-o",
        f"ConnectTimeout={max(1, int(timeout))}",
        config.target,
    ]


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def _hostkey_layer(ctx: Context, rec: Recorder, config: SshConfig, result: CommandResult) -> bool:
    host, port = ctx.settings.gitlab.host, config.port
    where = f"[{host}]:{port}" if port != 22 else host
    output = ctx.scrubber.scrub(result.stdout + "\n" + result.stderr)
    known = config.known_hosts[0] if config.known_hosts else "~/.ssh/known_hosts"
    details: dict[str, Any] = {"host": host, "port": port, "known_hosts": known}
    if result.timed_out:
        rec.fail(
            "gitlab.ssh.hostkey",
            VPN_CONNECT_TIMEOUT,
            f"ssh to {host}:{port} did not finish within {rec.step_timeout(ctx.timeout):.1f}s",
            details=details,
        )
        return False
    if _HOSTKEY_CHANGED.search(output):
        offending = _OFFENDING.search(output)
        line = f" ({offending.group(1)} line {offending.group(2)})" if offending else ""
        rec.fail(
            "gitlab.ssh.hostkey",
            GITLAB_SSH_HOSTKEY_CHANGED,
            f"The SSH host key of {where} differs from the one in known_hosts{line}",
            hint=f"Do not connect until {CONTACT_MLOPS} confirms the key changed. If it did: "
            f"`ssh-keygen -R '{where}'`{' -f ' + offending.group(1) if offending else ''}, "
            "then accept the new "
            "key after comparing its fingerprint with GitLab's /help/instance_configuration page.",
            details={
                **details,
                "offending": f"{offending.group(1)}:{offending.group(2)}" if offending else None,
            },
        )
        return False
    if _HOSTKEY_UNKNOWN.search(output):
        rec.fail(
            "gitlab.ssh.hostkey",
            GITLAB_SSH_HOSTKEY_UNKNOWN,
            f'{known} has no host key for {where}; git would stop with "Host key verification failed"',
            hint=f"Show the server's fingerprint with `ssh-keyscan -p {port} {host} | ssh-keygen -lf -`, "
            "compare "
            f"it with {ctx.settings.gitlab.url.rstrip('/') or 'GitLab'}/help/instance_configuration (or ask "
            f"{CONTACT_MLOPS}), then accept it once: `ssh -T -p {port} {config.target}` and answer yes.",
            details=details,
        )
        return False
    for pattern, diagnosis in _CONNECT_ERRORS:
        if pattern.search(output) and not (_WELCOME.search(output) or _AUTH_DENIED.search(output)):
            rec.fail(
                "gitlab.ssh.hostkey",
                diagnosis,
                f"ssh to {host}:{port}: {_last_line(output)}",
                details=details,
            )
            return False
    rec.ok("gitlab.ssh.hostkey", f"The host key of {where} is known and matches", details=details)
    return True


def _auth_layer(
    ctx: Context, rec: Recorder, config: SshConfig, keys: KeyState, result: CommandResult
) -> None:
    output = ctx.scrubber.scrub(result.stdout + "\n" + result.stderr)
    host = ctx.settings.gitlab.host
    welcome = _WELCOME.search(output)
    if welcome and welcome.group(1) != "Anonymous":
        username = welcome.group(1)
        rec.ok(
            "gitlab.ssh.auth",
            f"Authenticated to {host} over SSH as @{username}",
            details={"username": username, "host": host, "port": config.port},
        )
        return
    if keys.passphrase_only:
        rec.skip(
            "gitlab.ssh.auth",
            GITLAB_SSH_KEY_PASSPHRASE,
            "Not tested: the key needs its passphrase and this check never prompts",
            hint=f"Load the key into ssh-agent (`ssh-add {_display(ctx, keys.usable[0])}`) and run again.",
        )
        return
    if _AUTH_DENIED.search(output) or welcome:
        pubs = [
            f"{p}.pub" if Path(f"{p}.pub").is_file() else f"`ssh-keygen -y -f {_display(ctx, p)}`"
            for p in keys.usable
        ]
        shown = ", ".join(_display(ctx, Path(p)) if not p.startswith("`") else p for p in pubs)
        profile = (
            f"{ctx.settings.gitlab.url.rstrip('/')}/-/user_settings/ssh_keys"
            if ctx.settings.gitlab.url
            else "your GitLab profile's SSH Keys page"
        )
        rec.fail(
            "gitlab.ssh.auth",
            GITLAB_SSH_AUTH_DENIED,
            f"{host} refused the SSH key(s) offered ({_last_line(output)})",
            hint=f"Add your public key ({shown or 'the .pub of your key'}) at {profile}, then run again.",
            details={"host": host, "port": config.port, "keys": [_display(ctx, p) for p in keys.usable]},
        )
        return
    rec.fail(
        "gitlab.ssh.auth",
        ENDPOINT_UNEXPECTED_ANSWER,
        f"ssh -T to {host}:{config.port} gave no GitLab greeting: {_last_line(output)}",
        hint=f"Check gitlab.host and gitlab.ssh_port (`aisg-check config`); run `ssh -T -p {config.port} "
        f"{config.target}` to see the answer.",
        details={"host": host, "port": config.port, "exit_code": result.returncode},
    )


def run_ssh(ctx: Context, rec: Recorder) -> None:
    if not ctx.settings.gitlab.host:
        rec.skip("gitlab.ssh.config", NOT_CONFIGURED, "No GitLab host configured (gitlab.host)")
        return
    config = _ssh_config_layer(ctx, rec)
    if config is None:
        return
    keys = _key_layer(ctx, rec, config)
    if keys is None:
        return
    rec.require("vpn.gitlab-ssh")
    timeout = rec.step_timeout(ctx.timeout)
    # One connection answers both remaining layers: host keys are checked before authentication.
    result = ctx.run(_ssh_test_argv(ctx, config, timeout), timeout=timeout, env=_ssh_env(ctx))
    if _hostkey_layer(ctx, rec, config, result):
        _auth_layer(ctx, rec, config, keys, result)


# ---------------------------------------------------------------------------------------------
# HTTPS


@dataclass(frozen=True)
class Token:
    value: Secret
    source: str  # for summaries: "GITLAB_TOKEN", "git credential helper", ...
    username: str | None  # basic-auth user for git; None: use the API's username, else oauth2
    job: bool = False


@dataclass(frozen=True)
class TokenInfo:
    username: str | None
    api_scope: bool


def _base_url(ctx: Context) -> str:
    return ctx.settings.gitlab.url.rstrip("/")


def _git_env(ctx: Context, extra_config: Mapping[str, str] | None = None) -> dict[str, str]:
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
    split = urlsplit(_base_url(ctx))
    if not split.hostname:
        return None
    request = f"protocol={split.scheme}\nhost={split.netloc.rpartition('@')[2]}\n\n"
    result = ctx.run(["git", "credential", "fill"], timeout=timeout, env=_git_env(ctx), input=request)
    if not result.ok:
        return None  # no helper, or it has nothing: git then wanted to prompt and was told not to
    fields = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    password = fields.get("password", "")
    ctx.scrubber.add(password)
    if not password:
        return None
    return Token(Secret(password), "your git credential helper", fields.get("username") or None)


def _find_token(ctx: Context, timeout: float) -> Token | None:
    configured = ctx.settings.gitlab.token
    if configured:
        ctx.scrubber.add(configured)
        return Token(configured, "GITLAB_TOKEN" if ctx.env.get("GITLAB_TOKEN") else "gitlab.token", None)
    job = ctx.env.get("CI_JOB_TOKEN")
    if job:
        ctx.scrubber.add(job)
        return Token(Secret(job), "CI_JOB_TOKEN", "gitlab-ci-token", job=True)
    return _from_credential_helper(ctx, timeout)


def _api_get(ctx: Context, rec: Recorder, step: str, path: str, token: Token) -> Any:
    """GET an API path; returns the httpx response, or None after recording the failure."""
    import httpx

    url = f"{_base_url(ctx)}/api/v4{path}"
    header = "JOB-TOKEN" if token.job else "PRIVATE-TOKEN"
    try:
        with ctx.http(timeout=rec.step_timeout(ctx.timeout)) as client:
            return client.get(url, headers={header: token.value.reveal()})
    except httpx.TimeoutException:
        rec.fail(step, ENDPOINT_NO_ANSWER, f"{url} did not answer within the timeout", details={"url": url})
    except httpx.ConnectError as exc:
        # httpx wraps httpcore's error, which wraps the ssl error: look all the way down.
        inner = find_ssl_error(exc)
        host = urlsplit(url).hostname or ""
        if inner is not None:
            diagnosis, summary = classify_tls_error(host, inner)
            rec.fail(step, diagnosis, summary, details={"url": url})
        else:
            rec.fail(
                step, VPN_CONNECT_REFUSED, f"{url}: {ctx.scrubber.scrub(str(exc))}", details={"url": url}
            )
    except httpx.HTTPError as exc:
        rec.fail(
            step,
            ENDPOINT_UNEXPECTED_ANSWER,
            f"{url}: {type(exc).__name__}: {ctx.scrubber.scrub(str(exc))}",
            details={"url": url},
        )
    return None


def _json(response: Any) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _tokens_page(ctx: Context) -> str:
    return f"{_base_url(ctx)}/-/user_settings/personal_access_tokens"


def _unexpected(ctx: Context, rec: Recorder, step: str, response: Any) -> None:
    status = response.status_code
    details = {"url": str(response.url), "http_status": status}
    if status >= 500:
        rec.fail(
            step,
            ENDPOINT_HTTP_ERROR,
            f"GitLab answered HTTP {status} for {response.url.path}",
            details=details,
        )
    else:
        rec.fail(
            step,
            ENDPOINT_UNEXPECTED_ANSWER,
            f"{response.url.path} answered HTTP {status}, not as GitLab's API does",
            hint=f"Check gitlab.url ({_base_url(ctx)}) with `aisg-check config`; "
            "it must be GitLab's web URL.",
            details=details,
        )


def _rejected(ctx: Context, rec: Recorder, token: Token, response: Any) -> None:
    """A 401: GitLab says why in its OAuth-style body (lib/gitlab/auth/auth_finders.rb)."""
    body = _json(response)
    reason = f"{body.get('error_description', '')} {response.headers.get('www-authenticate', '')}".lower()
    page = _tokens_page(ctx)
    details = {"source": token.source, "http_status": 401}
    if "expired" in reason:
        rec.fail(
            "gitlab.https.token",
            GITLAB_TOKEN_EXPIRED,
            f"The token from {token.source} has expired",
            hint=f"Create or rotate a token at {page} and update {token.source}.",
            details=details,
        )
    elif "revoked" in reason:
        rec.fail(
            "gitlab.https.token",
            GITLAB_TOKEN_REVOKED,
            f"The token from {token.source} was revoked",
            hint=f"Create a new token at {page} and update {token.source}.",
            details=details,
        )
    else:
        rec.fail(
            "gitlab.https.token",
            GITLAB_TOKEN_INVALID,
            f"GitLab at {_base_url(ctx)} rejects the token from {token.source} (401 Unauthorized)",
            hint=f"Create a new token at {page} (scopes read_repository, write_repository, read_user) and "
            f"update {token.source}.",
            details=details,
        )


def _expiry(value: Any) -> dt.date | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None


def _token_layer(ctx: Context, rec: Recorder, token: Token) -> TokenInfo | None:
    if token.job:
        rec.ok(
            "gitlab.https.token",
            "Using CI_JOB_TOKEN (a CI job's token; its rights are the job's)",
            details={"source": token.source},
        )
        return TokenInfo(None, api_scope=False)
    response = _api_get(ctx, rec, "gitlab.https.token", "/personal_access_tokens/self", token)
    if response is None:
        return None
    if response.status_code == 401:
        _rejected(ctx, rec, token, response)
        return None
    if response.status_code == 403:
        # Accepted, but too narrow to read even itself: no API scope. Only git can tell more.
        rec.warn(
            "gitlab.https.token",
            GITLAB_TOKEN_SCOPE,
            f"The token from {token.source} is accepted but has no API scope (read_user/read_api/api)",
            hint=f"For the full check create a token with read_user too at {_tokens_page(ctx)}.",
            details={"source": token.source, "http_status": 403},
        )
        return TokenInfo(None, api_scope=False)
    if response.status_code != 200:
        _unexpected(ctx, rec, "gitlab.https.token", response)
        return None
    return _judge_token(ctx, rec, token, _json(response))


def _judge_token(ctx: Context, rec: Recorder, token: Token, body: Mapping[str, Any]) -> TokenInfo | None:
    scopes = sorted(str(s) for s in body.get("scopes") or [])
    expires = _expiry(body.get("expires_at"))
    today = dt.datetime.now(dt.timezone.utc).date()
    details: dict[str, Any] = {
        "source": token.source,
        "name": body.get("name"),
        "scopes": scopes,
        "expires_at": expires.isoformat() if expires else None,
    }
    page = _tokens_page(ctx)
    if body.get("revoked"):
        rec.fail(
            "gitlab.https.token",
            GITLAB_TOKEN_REVOKED,
            f"The token from {token.source} was revoked",
            hint=f"Create a new token at {page} and update {token.source}.",
            details=details,
        )
        return None
    if (expires and expires < today) or body.get("active") is False:
        rec.fail(
            "gitlab.https.token",
            GITLAB_TOKEN_EXPIRED,
            f"The token from {token.source} expired on {expires or 'an earlier date'}",
            hint=f"Create or rotate a token at {page} and update {token.source}.",
            details=details,
        )
        return None
    has_git = bool(GIT_SCOPES & set(scopes))
    has_api = bool(API_SCOPES & set(scopes))
    if not has_git:
        rec.fail(
            "gitlab.https.token",
            GITLAB_TOKEN_SCOPE,
            f"The token from {token.source} cannot be used for git: "
            f"its scopes are {', '.join(scopes) or 'none'}",
            hint=f"Create a new token at {page} with read_repository and write_repository (and read_user), "
            f"then update {token.source}.",
            details=details,
        )
        return None
    if not has_api:
        rec.warn(
            "gitlab.https.token",
            GITLAB_TOKEN_SCOPE,
            f"The token from {token.source} works for git but cannot read the API "
            f"(scopes: {', '.join(scopes)})",
            hint=f"If you need the API, create a token with read_user or read_api at {page}.",
            details=details,
        )
        return TokenInfo(None, api_scope=False)
    if expires and (expires - today).days <= EXPIRY_WARNING_DAYS:
        days = (expires - today).days
        rec.warn(
            "gitlab.https.token",
            GITLAB_TOKEN_EXPIRES_SOON,
            f"The token from {token.source} expires on {expires} (in {days} day{'s' if days != 1 else ''})",
            hint=f"Rotate it now at {page} and update {token.source}.",
            details={**details, "expires_in_days": days},
        )
        return TokenInfo(None, api_scope=True)
    until = f", expires {expires}" if expires else ", never expires"
    rec.ok(
        "gitlab.https.token",
        f"Token from {token.source} is active (scopes {', '.join(scopes)}{until})",
        details=details,
    )
    return TokenInfo(None, api_scope=True)


def _user_layer(ctx: Context, rec: Recorder, token: Token, info: TokenInfo) -> TokenInfo | None:
    if token.job:
        rec.skip("gitlab.https.user", GITLAB_TOKEN_JOB, "A CI job token cannot look up a user; skipped")
        return info
    if not info.api_scope:
        rec.skip(
            "gitlab.https.user",
            GITLAB_TOKEN_SCOPE,
            "Not checked: the token has no API scope",
            blocked_by="gitlab.https.token",
        )
        return info
    response = _api_get(ctx, rec, "gitlab.https.user", "/user", token)
    if response is None:
        return None
    if response.status_code == 401:
        rec.fail(
            "gitlab.https.user",
            GITLAB_TOKEN_INVALID,
            f"GitLab rejects the token from {token.source} for /user",
            details={"source": token.source, "http_status": 401},
        )
        return None
    if response.status_code != 200:
        _unexpected(ctx, rec, "gitlab.https.user", response)
        return None
    body = _json(response)
    username = str(body.get("username") or "")
    if not username:
        _unexpected(ctx, rec, "gitlab.https.user", response)
        return None
    rec.ok(
        "gitlab.https.user",
        f"The token belongs to @{username} on {_base_url(ctx)}",
        details={"username": username, "name": body.get("name"), "state": body.get("state")},
    )
    return TokenInfo(username, info.api_scope)


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


def _foreign_repo(ctx: Context, repo: str) -> str | None:
    """Why the token must not go to `repo`, or None when it is GitLab's own: same host and port
    as gitlab.url, over HTTPS (or over gitlab.url's own scheme, for a plain-HTTP test server)."""
    mine, theirs = _origin(_base_url(ctx)), _origin(repo)
    if mine is None:
        return f"gitlab.url ({_base_url(ctx)}) is not an http(s) URL"
    if theirs is None:
        return "it is not an http(s) URL"
    if theirs[1:] != mine[1:]:
        return f"it is on {theirs[1]}:{theirs[2]}, not on GitLab's {mine[1]}:{mine[2]}"
    if theirs[0] not in ("https", mine[0]):
        return f"it uses {theirs[0]}://, which would send the token unencrypted"
    return None


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


def _git_layer(ctx: Context, rec: Recorder, token: Token, info: TokenInfo) -> None:
    repo = _repo_url(ctx)
    if repo is None:
        rec.skip(
            "gitlab.https.git",
            NOT_CONFIGURED,
            "No repository configured for a real git round trip",
            hint=f"Pass one to try: `aisg-check gitlab --repo {_base_url(ctx)}/<group>/<project>.git` "
            "(or set gitlab.repo).",
        )
        return
    foreign = _foreign_repo(ctx, repo)
    if foreign is not None:
        # The token is GitLab's: never hand it to whatever host a --repo typo names.
        rec.warn(
            "gitlab.https.git",
            GITLAB_REPO_FOREIGN_HOST,
            f"Not tested: the token is not sent to {repo}, because {foreign}",
            hint=f"Pass the project's HTTPS clone URL: `aisg-check gitlab --repo {_base_url(ctx)}/<group>/"
            "<project>.git`; or set gitlab.url to the GitLab that hosts the repository.",
            details={"repo": repo, "gitlab_url": _base_url(ctx)},
        )
        return
    user = token.username or info.username or "oauth2"  # GitLab takes any user name with a token
    basic = base64.b64encode(f"{user}:{token.value.reveal()}".encode()).decode()
    ctx.scrubber.add(basic)
    timeout = rec.step_timeout(ctx.timeout)
    env = _git_env(
        ctx,
        {
            "credential.helper": "",  # an empty value clears the list: nothing asked, stored or erased
            "http.extraHeader": f"Authorization: Basic {basic}",
        },
    )
    env.update(GIT_HTTP_LOW_SPEED_LIMIT="1000", GIT_HTTP_LOW_SPEED_TIME=str(max(1, int(timeout))))
    result = ctx.run(["git", "ls-remote", "--heads", "--", repo], timeout=timeout, env=env)
    details: dict[str, Any] = {"repo": repo, "user": user}
    if result.not_found:
        rec.fail(
            "gitlab.https.git",
            TOOL_MISSING,
            "git is not on PATH",
            hint="Install git (`aisg-check tools` names the command for your system).",
            details=details,
        )
        return
    if result.ok:
        refs = len([line for line in result.stdout.splitlines() if line.strip()])
        rec.ok(
            "gitlab.https.git",
            f"`git ls-remote {repo}` works with the token ({refs} branch(es))",
            details={**details, "branches": refs},
        )
        return
    _git_failure(ctx, rec, repo, result, details)


def _git_failure(
    ctx: Context, rec: Recorder, repo: str, result: CommandResult, details: dict[str, Any]
) -> None:
    output = ctx.scrubber.scrub(result.stderr + "\n" + result.stdout)
    message = _last_line(output)
    if result.timed_out:
        rec.fail(
            "gitlab.https.git",
            VPN_CONNECT_TIMEOUT,
            f"`git ls-remote {repo}` did not finish in time",
            details=details,
        )
        return
    hints = {
        GITLAB_REPO_NOT_FOUND.code: "Copy the URL from the project's Clone button; if it is right, ask the "
        "project's owner to add you as a member.",
        TLS_UNTRUSTED_CERT.code: "git does not trust GitLab's certificate: "
        "`git config --global http.sslCAInfo "
        "/path/ca.pem` with the root CA from the MLOps team.",
    }
    for pattern, diagnosis in _GIT_ERRORS:
        if pattern.search(output):
            rec.fail(
                "gitlab.https.git",
                diagnosis,
                f"`git ls-remote {repo}` failed: {message}",
                hint=hints.get(diagnosis.code),
                details={**details, "exit_code": result.returncode},
            )
            return
    rec.fail(
        "gitlab.https.git",
        GITLAB_GIT_FAILED,
        f"`git ls-remote {repo}` failed: {message}",
        hint=f"Run `GIT_TERMINAL_PROMPT=0 git ls-remote {repo}` to see git's full message.",
        details={**details, "exit_code": result.returncode},
    )


def run_https(ctx: Context, rec: Recorder) -> None:
    if not _base_url(ctx):
        rec.skip("gitlab.https.token", NOT_CONFIGURED, "No GitLab URL configured (gitlab.url)")
        return
    token = _find_token(ctx, rec.step_timeout(ctx.timeout))
    if token is None:
        why = "Not checked: no token for git over HTTPS"
        rec.warn(
            "gitlab.https.token",
            GITLAB_TOKEN_MISSING,
            "No GitLab token: GITLAB_TOKEN is unset and no git credential helper has one "
            f"for {_base_url(ctx)} (fine if you use git over SSH only)",
            hint=f"Create a token at {_tokens_page(ctx)} (scopes read_repository, write_repository, "
            "read_user) and `export GITLAB_TOKEN=<token>`; or run `aisg-check gitlab --skip gitlab.https`.",
        )
        for step in ("gitlab.https.user", "gitlab.https.git"):
            rec.skip(step, GITLAB_TOKEN_MISSING, why, blocked_by="gitlab.https.token")
        return
    # Pay for the HTTP client's import and the TLS trust store while the VPN probe still runs.
    import httpx  # noqa: F401

    ctx.ssl_context()
    rec.require("vpn.gitlab")
    info = _token_layer(ctx, rec, token)
    if info is None:
        return
    info = _user_layer(ctx, rec, token, info)
    if info is None:
        return
    _git_layer(ctx, rec, token, info)


# Every diagnosis this module defines or imports: what its checks may report.
DECLARED = declared(sys.modules[__name__], NETWORK_DIAGNOSES)

CHECKS: tuple[Check, ...] = (
    Check(
        id="gitlab.ssh",
        component="gitlab",
        title="GitLab over SSH",
        steps=(
            Step("gitlab.ssh.config", "SSH config for GitLab"),
            Step("gitlab.ssh.key", "SSH key"),
            Step("gitlab.ssh.hostkey", "GitLab SSH host key"),
            Step("gitlab.ssh.auth", "SSH authentication"),
        ),
        run=run_ssh,
        needs=("vpn.gitlab-ssh",),
        diagnoses=DECLARED,
        budget=3.0,
    ),
    Check(
        id="gitlab.https",
        component="gitlab",
        title="GitLab over HTTPS",
        steps=(
            Step("gitlab.https.token", "GitLab token"),
            Step("gitlab.https.user", "GitLab user"),
            Step("gitlab.https.git", "git ls-remote over HTTPS"),
        ),
        run=run_https,
        needs=("vpn.gitlab",),
        diagnoses=DECLARED,
        budget=4.0,
    ),
)
