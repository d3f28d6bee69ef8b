"""Which files the checks read, found the way the tools themselves find them, and their redacted
copies.

- ssh: the config file ssh really reads (`ssh -G -v` names it; ssh finds its home through the
  password database, not $HOME), or the one `gitlab.ssh_config` passes with `-F`;
- kubeconfig: `runai.kubeconfig`, else every file of KUBECONFIG, else ~/.kube/config;
- a variable holding the file's content rather than its path (KUBECONFIG, harbor.auth_file): that
  content, named by the variable, never listed as a path;
- AWS: AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/config and credentials;
- Docker: $DOCKER_CONFIG/config.json, else ~/.docker/config.json; Harbor's `auth_file` and
  `robot_file` when set;
- MLflow: ~/.mlflow/credentials, where the MLflow client reads it.

Reading is bounded and never blocks: only a regular file is opened (a FIFO at the path would
wait forever), at most `bounds.MAX_FILE_BYTES`. A file that cannot be read or parsed is not
copied, and the redaction report says why without quoting it.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from aisg_check import bounds
from aisg_check.bundle import aws, docker, harbor, kubeconfig, mlflow, sshconfig
from aisg_check.bundle.report import ABSENT, NOT_COPIED, FileEntry, Redacted, Unparseable
from aisg_check.context import Context
from aisg_check.credentials import (
    INLINE_DOCKER_CONFIG,
    INLINE_KUBECONFIG,
    INLINE_RUNAI_KUBECONFIG,
    is_inline_json,
    is_inline_yaml,
)
from aisg_check.secrets import Scrubber, clip

Redactor = Callable[[str, Scrubber], Redacted]


@dataclass(frozen=True)
class Source:
    kind: str
    path: Path
    found_by: str
    member: str  # the copy's name in the bundle, under its top directory
    redact: Redactor
    comment: bool = True  # the copy starts with a `#` line naming the original (not JSON)
    # A variable holding the file's content instead of its path (a CI variable that is not a File):
    # how it is named, and the content, read from here (`path` unused) and never shown as a path.
    inline: tuple[str, str] | None = None


def sources(ctx: Context) -> list[Source]:
    ssh_path, ssh_how = ssh_config_path(ctx)
    out = [Source("ssh config", ssh_path, ssh_how, "files/ssh_config", sshconfig.redact)]
    out += _kubeconfigs(ctx)
    files = _aws_files(ctx)
    out.append(Source("AWS config", files[0][0], files[0][1], "files/aws_config", aws.redact_config))
    out.append(
        Source("AWS credentials", files[1][0], files[1][1], "files/aws_credentials", aws.redact_credentials)
    )
    docker_dir = ctx.env.get("DOCKER_CONFIG")
    out.append(
        Source(
            "Docker config",
            (ctx.path(docker_dir) if docker_dir else ctx.home / ".docker") / "config.json",
            "DOCKER_CONFIG" if docker_dir else "default (~/.docker)",
            "files/docker_config.json",
            docker.redact,
            comment=False,
        )
    )
    harbor_settings = ctx.settings.harbor
    if harbor_settings.auth_file:
        value = harbor_settings.auth_file
        inline = (INLINE_DOCKER_CONFIG, value) if is_inline_json(value) else None
        out.append(
            Source(
                "Harbor auth file",
                Path() if inline else ctx.path(value),
                "setting harbor.auth_file",
                "files/harbor_auth.json",
                docker.redact,
                False,
                inline=inline,
            )
        )
    if harbor_settings.robot_file:
        path = ctx.path(harbor_settings.robot_file)
        out.append(
            Source(
                "Harbor robot account",
                path,
                "setting harbor.robot_file",
                "files/harbor_robot.json",
                harbor.redact,
                False,
            )
        )
    out.append(
        Source(
            "MLflow credentials",
            ctx.home / ".mlflow" / "credentials",
            "default (where the MLflow client reads it)",
            "files/mlflow_credentials",
            mlflow.redact,
        )
    )
    return out


def ssh_config_path(ctx: Context) -> tuple[Path, str]:
    """The user config file ssh reads, as the gitlab check finds it."""
    from aisg_check.checks.gitlab.ssh import ssh_env, ssh_options
    from aisg_check.platform import ssh

    gitlab = ctx.settings.gitlab
    if gitlab.ssh_config:
        return ctx.path(gitlab.ssh_config), "setting gitlab.ssh_config (ssh -F)"
    target = f"{gitlab.ssh_user}@{gitlab.host}" if gitlab.ssh_user else gitlab.host
    result = ctx.run(ssh.effective_argv(ssh_options(ctx), target), timeout=ctx.timeout, env=ssh_env(ctx))
    read = ssh.user_config_read(result.stderr)
    if read is not None:
        return read, "ssh -G (the file ssh reads)"
    if not result.not_found:
        probe = ctx.run(ssh.home_argv(ssh_options(ctx), target), timeout=ctx.timeout, env=ssh_env(ctx))
        home = ssh.home_from_probe(probe.stdout if probe.ok else "")
        if home is not None:
            return home / ".ssh" / "config", "ssh -G (in ssh's home directory)"
    return ctx.home / ".ssh" / "config", "default (~/.ssh/config)"


def _kubeconfigs(ctx: Context) -> list[Source]:
    from aisg_check.platform.kubeconfig import DEFAULT_SOURCE, candidate_paths

    paths, how = candidate_paths(ctx)
    value = ctx.settings.runai.kubeconfig if how == "runai.kubeconfig" else ctx.env.get("KUBECONFIG")
    if how != DEFAULT_SOURCE and value and is_inline_yaml(value):  # its "paths" are pieces of the YAML
        inline = (INLINE_KUBECONFIG if how == "KUBECONFIG" else INLINE_RUNAI_KUBECONFIG, value)
        found_by = f"{how} (it holds the kubeconfig itself, not a path)"
        return [Source("kubeconfig", Path(), found_by, "files/kubeconfig", kubeconfig.redact, inline=inline)]
    found_by_path = {
        "runai.kubeconfig": "setting runai.kubeconfig",
        "~/.kube/config": "default (~/.kube/config)",
    }
    many = len(paths) > 1
    return [
        Source(
            "kubeconfig",
            path,
            found_by_path.get(how, how) + (f" (file {i} of {len(paths)})" if many else ""),
            f"files/kubeconfig-{i}" if many else "files/kubeconfig",
            kubeconfig.redact,
        )
        for i, path in enumerate(paths, 1)
    ]


def _aws_files(ctx: Context) -> tuple[tuple[Path, str], tuple[Path, str]]:
    from aisg_check.platform.aws import aws_files

    files = aws_files(ctx)
    config_how = "AWS_CONFIG_FILE" if ctx.env.get("AWS_CONFIG_FILE") else "default (~/.aws/config)"
    creds_how = (
        "AWS_SHARED_CREDENTIALS_FILE"
        if ctx.env.get("AWS_SHARED_CREDENTIALS_FILE")
        else "default (~/.aws/credentials)"
    )
    return (files.config, config_how), (files.credentials, creds_how)


def shown(ctx: Context, path: Path) -> str:
    """A path as the user knows it: `~/.kube/config` rather than the absolute home path."""
    try:
        return "~/" + path.relative_to(ctx.home).as_posix()
    except ValueError:
        return clip(str(path), 300)


def read(path: Path) -> str | None:
    """The file's text; None when there is none; Unparseable (the reason) when it cannot be read."""
    try:
        info = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in a path from a setting
        raise Unparseable(
            f"cannot be read ({getattr(exc, 'strerror', None) or type(exc).__name__})"
        ) from None
    if stat.S_ISDIR(info.st_mode):
        raise Unparseable("is a directory, not a file")
    if not stat.S_ISREG(info.st_mode):
        raise Unparseable("is not a regular file")
    flags = (
        os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    )
    try:
        fd = os.open(path, flags)
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):  # swapped since the stat
                raise Unparseable("is not a regular file")
            data = handle.read(bounds.MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise Unparseable(f"cannot be read ({exc.strerror or type(exc).__name__})") from None
    if len(data) > bounds.MAX_FILE_BYTES:
        raise Unparseable(f"is larger than {bounds.MAX_FILE_BYTES // (1024 * 1024)} MiB, too large to be one")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Unparseable("is not UTF-8 text") from None


def copy(ctx: Context, source: Source, scrubber: Scrubber) -> tuple[FileEntry, str | None]:
    """The report's entry for one file, and its redacted copy (None: nothing to put in the bundle)."""
    where = source.inline[0] if source.inline is not None else shown(ctx, source.path)

    def entry(status: str, reason: str | None = None, redacted: Redacted | None = None) -> FileEntry:
        member = source.member if redacted is not None else None
        removed = redacted.removed if redacted is not None else ()
        return FileEntry(source.kind, where, source.found_by, status, member, removed, reason)

    try:
        text = source.inline[1] if source.inline is not None else read(source.path)
    except Unparseable as exc:
        return entry(NOT_COPIED, str(exc)), None
    if text is None:
        return entry(ABSENT, "no file there"), None
    try:
        redacted = source.redact(text, scrubber)
    except Unparseable as exc:
        return entry(NOT_COPIED, f"{exc}; a file that cannot be parsed is not copied"), None
    except Exception as exc:  # a bug here must cost the copy, never leak the file or the bundle
        return entry(NOT_COPIED, f"internal error while redacting it ({type(exc).__name__})"), None
    header = (
        f"# Redacted copy of {where} made by aisg-check bundle (see redactions.md)\n"
        if source.comment
        else ""
    )
    return entry(redacted.status, redacted=redacted), header + redacted.text


def files(ctx: Context, scrubber: Scrubber) -> tuple[list[FileEntry], dict[str, str]]:
    """Every file's report entry, and the copies by member name. Each redactor registers the
    credentials it removes with `scrubber`, so the run's reports are masked with them too."""
    entries: list[FileEntry] = []
    copies: dict[str, str] = {}
    for source in sources(ctx):
        entry, text = copy(ctx, source, scrubber)
        entries.append(entry)
        if text is not None:
            copies[source.member] = text
    return entries, copies
