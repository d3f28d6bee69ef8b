"""The layers of `gitlab.ssh`, through the system OpenSSH client (the one git uses, never a Python
SSH library): effective config (`ssh -G`) → key → host key → authentication (`ssh -T`).

Read-only: ssh runs with StrictHostKeyChecking=yes and UpdateHostKeys=no so it never writes
known_hosts, and with no askpass program so it never prompts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aisg_check.check import Recorder, Step
from aisg_check.checks.gitlab.diagnoses import (
    GITLAB_SSH_AUTH_DENIED,
    GITLAB_SSH_CONFIG_INVALID,
    GITLAB_SSH_CONFIG_UNREADABLE,
    GITLAB_SSH_HOSTKEY_CHANGED,
    GITLAB_SSH_HOSTKEY_UNKNOWN,
    GITLAB_SSH_KEY_MISSING,
    GITLAB_SSH_KEY_PASSPHRASE,
    GITLAB_SSH_KEY_PERMISSIONS,
    GITLAB_SSH_PORT_NOT_CONFIGURED,
    TOOL_MISSING,
)
from aisg_check.context import CommandResult, Context
from aisg_check.diagnoses import (
    ENDPOINT_UNEXPECTED_ANSWER,
    VPN_CONNECT_REFUSED,
    VPN_CONNECT_TIMEOUT,
    VPN_DNS_FAILED,
    VPN_NO_ROUTE,
)
from aisg_check.model import CONTACT_MLOPS
from aisg_check.platform import ssh
from aisg_check.platform.ssh import SshConfig

STEP_CONFIG = Step("gitlab.ssh.config", "SSH config for GitLab")
STEP_KEY = Step("gitlab.ssh.key", "SSH key")
STEP_HOSTKEY = Step("gitlab.ssh.hostkey", "GitLab SSH host key")
STEP_AUTH = Step("gitlab.ssh.auth", "SSH authentication")
STEPS = (STEP_CONFIG, STEP_KEY, STEP_HOSTKEY, STEP_AUTH)

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


@dataclass(frozen=True)
class KeyState:
    """The keys ssh can offer: on disk and private enough, and how many an agent holds."""

    usable: tuple[Path, ...]
    agent_keys: int
    passphrase_only: bool  # every usable key is encrypted and no agent holds a key


def ssh_options(ctx: Context) -> list[str]:
    """The options that make ssh read the same files the user's own ssh and git read.

    By default none: ssh finds its config through the password database. The settings only
    exist so tests (and unusual setups) can point ssh at other files.
    """
    options: list[str] = []
    gitlab = ctx.settings.gitlab
    if gitlab.ssh_config:
        options += ["-F", str(ctx.path(gitlab.ssh_config))]
    if gitlab.known_hosts:
        options += ["-o", f"UserKnownHostsFile={ctx.path(gitlab.known_hosts)}"]
    return options


def ssh_env(ctx: Context) -> dict[str, str]:
    # No askpass program: a passphrase or host-key prompt must fail, never pop up a window.
    return {**ctx.env, "SSH_ASKPASS": "", "SSH_ASKPASS_REQUIRE": "never", "DISPLAY": ""}


def display(ctx: Context, path: Path) -> str:
    """`/home/alice/.ssh/id_ed25519` → `~/.ssh/id_ed25519`, as the guide writes it; a path outside
    $HOME (ssh's home under `sudo -E`) stays absolute, so a shell's `~` cannot mislead."""
    try:
        return "~/" + path.relative_to(ctx.home).as_posix()
    except ValueError:
        return str(path)


def host_block(ctx: Context, config_file: Path, identity: str) -> str:
    """The guide's Host block, and the file ssh reads it from."""
    gitlab = ctx.settings.gitlab
    file = display(ctx, config_file)
    windows = (
        ""
        if gitlab.ssh_config or not file.startswith("~/")
        else " (on Windows: C:\\Users\\<you>\\.ssh\\config)"
    )
    return (
        f"Add this block to {file}{windows}, then run again:\n\n"
        f"Host {gitlab.host}\n    Port {gitlab.ssh_port}\n    IdentityFile {identity}\n"
    )


def _home_of_ssh(ctx: Context, result: CommandResult, target: str, timeout: float) -> Path:
    """ssh's home: from the user config it read, else asked (only when it matters: no user
    config read, or identity files relative to that home), else $HOME."""
    read = ssh.user_config_read(result.stderr)
    if read is not None and not ctx.settings.gitlab.ssh_config:
        return read.parent.parent
    if ctx.settings.gitlab.ssh_config and not ssh.mentions_home(result.stdout):
        return ctx.home
    probe = ctx.run(ssh.home_argv(ssh_options(ctx), target), timeout=timeout, env=ssh_env(ctx))
    return ssh.home_from_probe(probe.stdout if probe.ok else "") or ctx.home


def ssh_target(ctx: Context) -> str:
    """What git passes to ssh: `user@host`, or the host alone (ssh's config names the user)."""
    gitlab = ctx.settings.gitlab
    return f"{gitlab.ssh_user}@{gitlab.host}" if gitlab.ssh_user else gitlab.host


def config_layer(ctx: Context, rec: Recorder) -> SshConfig:
    gitlab = ctx.settings.gitlab
    target = ssh_target(ctx)
    timeout = rec.step_timeout(ctx.timeout)
    result = ctx.run(ssh.effective_argv(ssh_options(ctx), target), timeout=timeout, env=ssh_env(ctx))
    if result.not_found:
        raise rec.fail(
            STEP_CONFIG,
            TOOL_MISSING,
            "The OpenSSH client (ssh) is not on PATH",
            hint="Install OpenSSH (`aisg-check tools` names the command for your system).",
        )
    home = _home_of_ssh(ctx, result, target, timeout)
    explicit = ctx.path(gitlab.ssh_config) if gitlab.ssh_config else None
    config_file = explicit or home / ".ssh" / "config"
    _unusable_config(ctx, rec, config_file)
    if not result.ok:
        message = ctx.scrubber.scrub_external(ssh.message(result.stderr or result.stdout))
        raise rec.fail(
            STEP_CONFIG,
            GITLAB_SSH_CONFIG_INVALID,
            f"`ssh -G {target}` failed: {message}",
            hint=f"Fix the line ssh names, check with `ssh -G {target}`, then run again.",
            details={"config_file": display(ctx, config_file)},
        )
    local_user = ctx.env.get("USER") or ctx.env.get("USERNAME") or ""
    config = ssh.parse(result.stdout, target, home=home, config_file=config_file, local_user=local_user)
    details = {
        "host": gitlab.host,
        "port": config.port,
        "user": config.user,
        "identity_files": [display(ctx, p) for p in config.identity_files],
        "config_file": display(ctx, config_file),
    }
    source = (
        f"from {display(ctx, config_file)}"
        if config_file.exists()
        else f"{display(ctx, config_file)} does not exist"
    )
    if config.port != gitlab.ssh_port:
        existing = next((p for p in config.identity_files if p.is_file()), None)
        raise rec.fail(
            STEP_CONFIG,
            GITLAB_SSH_PORT_NOT_CONFIGURED,
            f"ssh would connect to {gitlab.host} on port {config.port}, "
            f"not GitLab's SSH port {gitlab.ssh_port} ({source})",
            hint=host_block(ctx, config_file, display(ctx, existing) if existing else "~/.ssh/id_ed25519"),
            details=details,
        )
    rec.ok(
        STEP_CONFIG,
        f"ssh uses port {config.port} and user {config.user} for {gitlab.host} ({source})",
        details=details,
    )
    return config


def _unusable_config(ctx: Context, rec: Recorder, config_file: Path) -> None:
    """ssh skips a config file that is a directory or unreadable without a word: say so."""
    problem = ssh.config_problem(config_file)
    if problem is None:
        return
    shown = display(ctx, config_file)
    if problem.startswith("is a directory"):
        fix = f"Move the directory away (`mv {shown} {shown}.old`). " + host_block(
            ctx, config_file, "~/.ssh/id_ed25519"
        )
    else:
        fix = f"Make it a file you can read: `chmod 600 {shown}` (owned by you)."
    raise rec.fail(
        STEP_CONFIG,
        GITLAB_SSH_CONFIG_UNREADABLE,
        f"The ssh config {shown} {problem}: ssh cannot use it, so none of its Host blocks apply",
        hint=fix,
        details={"config_file": shown},
    )


def _agent_keys(ctx: Context, config: SshConfig, timeout: float) -> int:
    """Keys the ssh-agent holds (0 when there is none, or ssh is told not to use it)."""
    if config.identity_agent.lower() == "none" or not ctx.env.get("SSH_AUTH_SOCK"):
        return 0
    result = ctx.run(["ssh-add", "-l"], timeout=timeout, env=ssh_env(ctx))
    if not result.ok:
        return 0  # 1: the agent holds no key; 2: no agent answers
    return len([line for line in result.stdout.splitlines() if line.strip()])


def _new_key(ctx: Context, config: SshConfig) -> str:
    """Where `ssh-keygen` should write a new key: in ssh's home, which a shell's `~` names only
    when ssh's home is $HOME."""
    return display(ctx, config.home / ".ssh" / "id_ed25519")


def key_layer(ctx: Context, rec: Recorder, config: SshConfig) -> KeyState:
    existing = [p for p in config.identity_files if p.is_file()]
    # ssh checks POSIX modes only; on Windows it checks ACLs, which this check does not read.
    modes = {} if ctx.platform.startswith("win") else {p: ssh.loose_mode(p) for p in existing}
    bad = [p for p in existing if modes.get(p) is not None]
    usable = tuple(p for p in existing if p not in bad)
    agent = _agent_keys(ctx, config, rec.step_timeout(ctx.timeout))
    details: dict[str, Any] = {"keys": [display(ctx, p) for p in usable], "agent_keys": agent}
    if not existing and not agent:
        tried = ", ".join(display(ctx, p) for p in config.identity_files) or "none"
        new = _new_key(ctx, config)
        raise rec.fail(
            STEP_KEY,
            GITLAB_SSH_KEY_MISSING,
            f"No SSH key: none of the identity files exists ({tried}) and no ssh-agent holds a key",
            hint=f"Create one with `ssh-keygen -t ed25519 -f {new}` and add {new}.pub to GitLab "
            "(Preferences → SSH Keys). " + host_block(ctx, config.config_file, "~/.ssh/id_ed25519"),
            details=details,
        )
    if bad:
        shown = {display(ctx, p): oct(modes[p] or 0) for p in bad}
        fix = "; ".join(f"chmod 600 {display(ctx, p)}" for p in bad)
        summary = "ssh refuses private keys others can read: " + ", ".join(
            f"{name} (mode {mode})" for name, mode in shown.items()
        )
        loose = {**details, "unprotected": shown}
        if not (usable or agent):
            raise rec.fail(STEP_KEY, GITLAB_SSH_KEY_PERMISSIONS, summary, hint=f"Run `{fix}`.", details=loose)
        rec.warn(STEP_KEY, GITLAB_SSH_KEY_PERMISSIONS, summary, hint=f"Run `{fix}`.", details=loose)
    encrypted = [p for p in usable if ssh.key_is_encrypted(p)]
    passphrase_only = bool(usable) and len(encrypted) == len(usable) and not agent
    if passphrase_only:
        rec.warn(
            STEP_KEY,
            GITLAB_SSH_KEY_PASSPHRASE,
            f"{display(ctx, usable[0])} has a passphrase and no ssh-agent holds it",
            hint=f'Load it into an agent: `eval "$(ssh-agent -s)" && ssh-add {display(ctx, usable[0])}` '
            "(Windows PowerShell: `Start-Service ssh-agent; ssh-add`).",
            details={**details, "encrypted": [display(ctx, p) for p in encrypted]},
        )
    elif not bad:
        names = ", ".join(details["keys"]) or "none on disk"
        agent_note = f"; the ssh-agent holds {agent} key(s)" if agent else ""
        rec.ok(STEP_KEY, f"SSH key: {names}{agent_note}", details=details)
    return KeyState(usable, agent, passphrase_only)


def connect_argv(ctx: Context, target: str, timeout: float) -> list[str]:
    # Only options that keep ssh from writing or prompting, and GitLab's port; everything else is
    # the user's config. The port is pinned because this connection starts before `ssh -G` says
    # which port the config gives: its answer counts only when the config layer found the two
    # equal, and a config without the port must not send the user's keys to another sshd (22).
    return [
        "ssh",
        *ssh_options(ctx),
        "-T",
        "-p",
        str(ctx.settings.gitlab.ssh_port),
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
        target,
    ]


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def hostkey_layer(ctx: Context, rec: Recorder, config: SshConfig, result: CommandResult) -> None:
    host, port = ctx.settings.gitlab.host, config.port
    where = f"[{host}]:{port}" if port != 22 else host
    output = ctx.scrubber.scrub_external(result.stdout + "\n" + result.stderr)
    known = config.known_hosts[0] if config.known_hosts else "~/.ssh/known_hosts"
    details: dict[str, Any] = {"host": host, "port": port, "known_hosts": known}
    if result.timed_out:
        raise rec.fail(
            STEP_HOSTKEY,
            VPN_CONNECT_TIMEOUT,
            f"ssh to {host}:{port} did not finish within {rec.step_timeout(ctx.timeout):.1f}s",
            details=details,
        )
    if _HOSTKEY_CHANGED.search(output):
        offending = _OFFENDING.search(output)
        line = f" ({offending.group(1)} line {offending.group(2)})" if offending else ""
        raise rec.fail(
            STEP_HOSTKEY,
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
    if _HOSTKEY_UNKNOWN.search(output):
        raise rec.fail(
            STEP_HOSTKEY,
            GITLAB_SSH_HOSTKEY_UNKNOWN,
            f'{known} has no host key for {where}; git would stop with "Host key verification failed"',
            hint=f"Show the server's fingerprint with `ssh-keyscan -p {port} {host} | ssh-keygen -lf -`, "
            "compare "
            f"it with {ctx.settings.gitlab.url.rstrip('/') or 'GitLab'}/help/instance_configuration (or ask "
            f"{CONTACT_MLOPS}), then accept it once: `ssh -T -p {port} {config.target}` and answer yes.",
            details=details,
        )
    for pattern, diagnosis in _CONNECT_ERRORS:
        if pattern.search(output) and not (_WELCOME.search(output) or _AUTH_DENIED.search(output)):
            raise rec.fail(
                STEP_HOSTKEY, diagnosis, f"ssh to {host}:{port}: {_last_line(output)}", details=details
            )
    rec.ok(STEP_HOSTKEY, f"The host key of {where} is known and matches", details=details)


def auth_layer(ctx: Context, rec: Recorder, config: SshConfig, keys: KeyState, result: CommandResult) -> None:
    output = ctx.scrubber.scrub_external(result.stdout + "\n" + result.stderr)
    host = ctx.settings.gitlab.host
    welcome = _WELCOME.search(output)
    if welcome and welcome.group(1) != "Anonymous":
        username = welcome.group(1)
        rec.ok(
            STEP_AUTH,
            f"Authenticated to {host} over SSH as @{username}",
            details={"username": username, "host": host, "port": config.port},
        )
        return
    if keys.passphrase_only:
        rec.skip(
            STEP_AUTH,
            GITLAB_SSH_KEY_PASSPHRASE,
            "Not tested: the key needs its passphrase and this check never prompts",
            hint=f"Load the key into ssh-agent (`ssh-add {display(ctx, keys.usable[0])}`) and run again.",
        )
        return
    if _AUTH_DENIED.search(output) or welcome:
        raise rec.fail(
            STEP_AUTH,
            GITLAB_SSH_AUTH_DENIED,
            f"{host} refused the SSH key(s) offered ({_last_line(output)})",
            hint=f"Add your public key ({_public_keys(ctx, keys) or 'the .pub of your key'}) at "
            f"{_keys_page(ctx)}, then run again.",
            details={"host": host, "port": config.port, "keys": [display(ctx, p) for p in keys.usable]},
        )
    raise rec.fail(
        STEP_AUTH,
        ENDPOINT_UNEXPECTED_ANSWER,
        f"ssh -T to {host}:{config.port} gave no GitLab greeting: {_last_line(output)}",
        hint=f"Check gitlab.host and gitlab.ssh_port (`aisg-check config`); run `ssh -T -p {config.port} "
        f"{config.target}` to see the answer.",
        details={"host": host, "port": config.port, "exit_code": result.returncode},
    )


def _public_keys(ctx: Context, keys: KeyState) -> str:
    return ", ".join(
        display(ctx, Path(f"{p}.pub"))
        if Path(f"{p}.pub").is_file()
        else f"`ssh-keygen -y -f {display(ctx, p)}`"
        for p in keys.usable
    )


def _keys_page(ctx: Context) -> str:
    url = ctx.settings.gitlab.url.rstrip("/")
    return f"{url}/-/user_settings/ssh_keys" if url else "your GitLab profile's SSH Keys page"
