"""`runai.cli` with Run:ai's improved CLI (clusters 2.18+): it logs in to the control plane, not
to a kubeconfig, so its layers are the CLI's own answers, each a child row of `runai.cli`:

- `runai.cli.login`: `runai project list --json` succeeds, so the CLI holds a live session and
  reached the control plane (not logged in, session expired and unreachable told apart from its
  error);
- `runai.cli.config`: `runai config generate --json` names a default cluster and project;
- `runai.cli.project`: the project in use (runai.project, else the CLI's default) is among the
  projects the control plane shows you.

It never reads ~/.runai/ itself: the CLI's files are its own business and may change with any
release; an answer in a shape aisg-check does not know is a warning naming the CLI version.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aisg_check.check import Recorder, Step, Stop
from aisg_check.checks.runai import answers
from aisg_check.checks.runai.diagnoses import (
    BLOCKED,
    NOT_CONFIGURED,
    RUNAI_CLI_NEEDS_WSL,
    RUNAI_CLI_NO_CLUSTER,
    RUNAI_CLI_NO_PROJECT,
    RUNAI_CLI_NOT_LOGGED_IN,
    RUNAI_CLI_PROJECT_NOT_VISIBLE,
    RUNAI_CLI_SESSION_EXPIRED,
    RUNAI_CLI_UNRECOGNISED,
    RUNAI_CONTROL_PLANE_UNREACHABLE,
)
from aisg_check.checks.runai.generation import Installed
from aisg_check.checks.runai.steps import (
    IMPROVED_STEPS,
    STEP_CLI,
    STEP_CLI_CONFIG,
    STEP_CLI_LOGIN,
    STEP_CLI_PROJECT,
)
from aisg_check.context import CommandResult, Context
from aisg_check.model import CONTACT_MLOPS

CONFIG = ("runai", "config", "generate", "--json")
PROJECTS = ("runai", "project", "list", "--json")
LOGIN = "`runai login` (on a machine without a browser: `runai login remote-browser`)"
WSL_HINT = (
    "Run:ai's improved CLI runs on Linux and macOS only. Install WSL (`wsl --install` in an "
    "administrator PowerShell, then restart), open the Linux shell, install the Linux CLI from the "
    "dashboard (Help (?) → Researcher Command Line Interface → Linux), then run `runai login` and "
    "aisg-check inside WSL."
)


def needs_wsl(rec: Recorder, found: Installed | None, details: dict[str, Any]) -> None:
    what = f"{found.label} is installed" if found else "Your Run:ai setup is the improved CLI (runai.cli)"
    rec.warn(
        STEP_CLI,
        RUNAI_CLI_NEEDS_WSL,
        f"{what}, but it does not run on Windows: it needs WSL",
        hint=WSL_HINT,
        details=details,
    )


def run(ctx: Context, rec: Recorder, found: Installed) -> None:
    if ctx.platform.startswith("win"):
        needs_wsl(rec, found, found.details())
        return
    rec.ok(STEP_CLI, f"{found.label} at {found.path} (logs in to the control plane)", details=found.details())
    timeout = rec.step_timeout(ctx.timeout)
    generated, listed = rec.parallel(lambda argv: _ask(ctx, argv, timeout), [CONFIG, PROJECTS], name="cli")
    if generated is None or listed is None:
        return  # only past the deadline: the runner reports CHECK_DEADLINE for what is left
    config = _config(ctx, generated)
    projects = session(ctx, rec, found, config, listed)
    config = defaults(ctx, rec, found, config)
    visible(ctx, rec, config, projects)


def _ask(ctx: Context, argv: Sequence[str], timeout: float) -> CommandResult:
    return ctx.run(list(argv), timeout=timeout, env=dict(ctx.env))


def _config(ctx: Context, result: CommandResult) -> answers.CliConfig | answers.Unrecognised:
    """The parsed configuration, or why it could not be read (reported at its own layer)."""
    if not result.ok:
        why = "timed out" if result.timed_out else f"exited with {result.returncode}"
        tail = ctx.scrubber.scrub_external((result.stderr.strip() or result.stdout.strip())[-200:])
        return answers.Unrecognised(f"`{' '.join(CONFIG)}` {why}: {tail or 'no output'}")
    try:
        return answers.config(ctx, result.stdout)
    except answers.Unrecognised as exc:
        return exc


def _where(config: answers.CliConfig | answers.Unrecognised) -> str:
    cp = config.control_plane if isinstance(config, answers.CliConfig) else None
    return f"the control plane {cp}" if cp else "the control plane"


def _unrecognised(rec: Recorder, step: Step, found: Installed, message: str) -> Stop:
    """A warning naming the CLI version; the later layers are not judged (never a false pass)."""
    rec.warn(
        step,
        RUNAI_CLI_UNRECOGNISED,
        f"{found.label}: {message}",
        hint=f"Run `{' '.join(CONFIG if step is STEP_CLI_CONFIG else PROJECTS)}` yourself; if the CLI "
        f"works for you, tell {CONTACT_MLOPS} which version you have ({found.version or 'unknown'}), "
        "so aisg-check can learn its answers.",
        details={**found.details(), "layer": step.id},
        title=step.title,
    )
    return _block_rest(rec, step, step.id)


def _block_rest(rec: Recorder, after: Step, blocked_by: str) -> Stop:
    later = IMPROVED_STEPS[IMPROVED_STEPS.index(after) + 1 :]
    for step in later:
        rec.skip(
            step,
            BLOCKED,
            f"Skipped: {blocked_by} did not pass",
            blocked_by=blocked_by,
            title=step.title,
        )
    return Stop(blocked_by)


def session(
    ctx: Context,
    rec: Recorder,
    found: Installed,
    config: answers.CliConfig | answers.Unrecognised,
    listed: CommandResult,
) -> list[str]:
    """`runai.cli.login`: the CLI's own answer, a project list only a live session gets."""
    where = _where(config)
    if listed.ok:
        try:
            names = answers.projects(ctx, listed.stdout)
        except answers.Unrecognised as exc:
            raise _unrecognised(rec, STEP_CLI_LOGIN, found, exc.message) from None
        rec.ok(
            STEP_CLI_LOGIN,
            f"Logged in to {where}: it shows you {len(names)} project(s)",
            details={"control_plane": where.removeprefix("the control plane ") or None, "projects": names},
            title=STEP_CLI_LOGIN.title,
        )
        return names
    message = ctx.scrubber.scrub_external((listed.stderr.strip() or listed.stdout.strip())[-300:])
    if listed.timed_out:
        kind: str | None = answers.UNREACHABLE
        message = f"`{' '.join(PROJECTS)}` did not finish within the timeout ({ctx.timeout:g}s per step)"
    else:
        kind = answers.error_kind(message)
    if kind is None and isinstance(config, answers.CliConfig) and config.cluster is None:
        # The likely reason it failed: no cluster chosen yet. Say that, at its own layer.
        raise _no_cluster(rec, found)
    if kind is None:
        why = f"`{' '.join(PROJECTS)}` exited with {listed.returncode}: {message or 'no output'}"
        raise _unrecognised(rec, STEP_CLI_LOGIN, found, why)
    raise _session_failed(rec, kind, where, message)


def _session_failed(rec: Recorder, kind: str, where: str, message: str) -> Stop:
    if kind == answers.UNREACHABLE:
        rec.fail(
            STEP_CLI_LOGIN,
            RUNAI_CONTROL_PLANE_UNREACHABLE,
            f"The Run:ai CLI could not reach {where}: {message}",
            hint=f"Open {where.removeprefix('the control plane ') or 'the Run:ai dashboard'} in a browser; "
            "check your proxy settings and the URL the CLI uses (`runai config generate --json`; "
            "`runai config set --cp-url <url>` to change it); if it answers in a browser, tell "
            f"{CONTACT_MLOPS}.",
            title=STEP_CLI_LOGIN.title,
        )
    elif kind == answers.EXPIRED:
        rec.fail(
            STEP_CLI_LOGIN,
            RUNAI_CLI_SESSION_EXPIRED,
            f"The Run:ai CLI's session with {where} has expired: {message}",
            hint=f"Log in again: {LOGIN}.",
            title=STEP_CLI_LOGIN.title,
        )
    else:
        rec.fail(
            STEP_CLI_LOGIN,
            RUNAI_CLI_NOT_LOGGED_IN,
            f"The Run:ai CLI is not logged in to {where}: {message}",
            hint=f"{LOGIN}, sign in with your AI Singapore account, then run aisg-check again.",
            title=STEP_CLI_LOGIN.title,
        )
    return _block_rest(rec, STEP_CLI_LOGIN, STEP_CLI_LOGIN.id)


def _no_cluster(rec: Recorder, found: Installed) -> Stop:
    rec.fail(
        STEP_CLI_CONFIG,
        RUNAI_CLI_NO_CLUSTER,
        f"{found.label} has no default cluster: it cannot submit workloads",
        hint="`runai cluster list` to see the clusters, then `runai cluster set --name <cluster>`.",
        title=STEP_CLI_CONFIG.title,
    )
    return _block_rest(rec, STEP_CLI_CONFIG, STEP_CLI_CONFIG.id)


def defaults(
    ctx: Context, rec: Recorder, found: Installed, config: answers.CliConfig | answers.Unrecognised
) -> answers.CliConfig:
    """`runai.cli.config`: a default cluster (needed) and project (else every command needs -p)."""
    if isinstance(config, answers.Unrecognised):
        raise _unrecognised(rec, STEP_CLI_CONFIG, found, config.message)
    if config.cluster is None:
        raise _no_cluster(rec, found)
    details = {"control_plane": config.control_plane, "cluster": config.cluster, "project": config.project}
    if config.project is None:
        wanted = ctx.settings.runai.project
        rec.warn(
            STEP_CLI_CONFIG,
            RUNAI_CLI_NO_PROJECT,
            f"Cluster '{config.cluster}' is the default, but no default project is set: every command needs "
            "-p <project>",
            hint=f"`runai project set {wanted}`"
            if wanted
            else "`runai project list`, then `runai project set <project>`.",
            details=details,
            title=STEP_CLI_CONFIG.title,
        )
        return config
    rec.ok(
        STEP_CLI_CONFIG,
        f"Default cluster '{config.cluster}', default project '{config.project}'",
        details=details,
        title=STEP_CLI_CONFIG.title,
    )
    return config


def visible(ctx: Context, rec: Recorder, config: answers.CliConfig, projects: list[str]) -> None:
    """`runai.cli.project`: the project in use is one the control plane shows you."""
    wanted = ctx.settings.runai.project or config.project
    source = "runai.project" if ctx.settings.runai.project else "the CLI's default project"
    if wanted is None:
        rec.skip(
            STEP_CLI_PROJECT,
            NOT_CONFIGURED,
            "No project to look for: neither runai.project nor a default project is set",
            hint="`runai project set <project>`, or name it: `aisg-check runai --project <project>`.",
            title=STEP_CLI_PROJECT.title,
        )
        return
    details = {"project": wanted, "source": source, "cluster": config.cluster, "projects": projects}
    if wanted not in projects:
        yours = ", ".join(projects[:10]) if projects else "none"
        raise rec.fail(
            STEP_CLI_PROJECT,
            RUNAI_CLI_PROJECT_NOT_VISIBLE,
            f"Project '{wanted}' ({source}) is not among the projects you can see on cluster "
            f"'{config.cluster}' (yours: {yours})",
            hint=f"Check the name with `runai project list`; if it is right, ask {CONTACT_MLOPS} to add you "
            f"to the Run:ai project '{wanted}' on cluster '{config.cluster}'.",
            details=details,
            title=STEP_CLI_PROJECT.title,
        )
    rec.ok(
        STEP_CLI_PROJECT,
        f"Project '{wanted}' ({source}) is visible to you on cluster '{config.cluster}'",
        details=details,
        title=STEP_CLI_PROJECT.title,
    )
