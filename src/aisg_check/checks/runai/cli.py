"""`runai.cli`: which Run:ai CLI is installed (`runai version`, asked once per run with the tools
check) and whether it works as that CLI works: the first CLI as it always was (its version, and
`runai whoami` where the kubeconfig's user is an exec plugin), the improved CLI through its own
layers (`improved`). A laptop's own setup: in a pod the runner reports it not applicable."""

from __future__ import annotations

from typing import Any

from aisg_check.check import Recorder
from aisg_check.checks.runai import generation, improved
from aisg_check.checks.runai.diagnoses import (
    RUNAI_CLI_MISSING,
    RUNAI_CLI_UNRECOGNISED,
    RUNAI_NOT_LOGGED_IN,
    TOOL_BROKEN,
)
from aisg_check.checks.runai.generation import Installed
from aisg_check.checks.runai.steps import STEP_CLI, login_hint
from aisg_check.checks.tools import RUNAI_DOWNLOAD
from aisg_check.context import Context
from aisg_check.model import CONTACT_MLOPS
from aisg_check.platform import kubeauth, kubeconfig


def _install_steps(platform: str) -> str:
    if platform.startswith("win"):
        return (
            f"{RUNAI_DOWNLOAD}: choose Windows, DOWNLOAD, rename the file to runai.exe and save it in a "
            "folder on your PATH (Run:ai's improved CLI, for clusters 2.18+, runs in WSL only)"
        )
    system = "Mac" if platform == "darwin" else "Linux"
    install = "chmod +x runai && sudo mv runai /usr/local/bin/runai"
    return f"{RUNAI_DOWNLOAD}: choose {system}, DOWNLOAD, then `{install}`"


def _user_is_exec(ctx: Context) -> bool:
    try:
        return kubeauth.kind_of(kubeconfig.select(ctx, kubeconfig.load(ctx))) == "exec"
    except (kubeconfig.KubeconfigError, kubeconfig.ContextMissing, kubeauth.AuthError):
        return False  # the runai check reports what is wrong with the kubeconfig


def run_cli(ctx: Context, rec: Recorder) -> None:
    if ctx.which("runai") is None:
        _missing(ctx, rec)
        return
    # Read first: it registers every credential of the kubeconfig, which the CLI may print.
    exec_user = _user_is_exec(ctx)
    found = generation.detect(ctx, rec.step_timeout(ctx.timeout))
    if found.generation == generation.BROKEN:
        _broken(ctx, rec, found)
    elif found.generation == generation.IMPROVED:
        improved.run(ctx, rec, found)
    elif found.generation == generation.UNKNOWN:
        rec.warn(
            STEP_CLI,
            RUNAI_CLI_UNRECOGNISED,
            f"{found.label} at {found.path}: `runai version` printed what aisg-check does not recognise "
            f"as either Run:ai CLI: {found.output[-200:] or 'nothing'}",
            hint=f"Run `runai version` yourself; if the CLI works for you, tell {CONTACT_MLOPS} its output "
            "so aisg-check can learn it (or set runai.cli to first or improved).",
            details=found.details(),
        )
    else:
        _first(ctx, rec, found, exec_user)


def _missing(ctx: Context, rec: Recorder) -> None:
    if ctx.settings.runai.cli == generation.IMPROVED and ctx.platform.startswith("win"):
        improved.needs_wsl(rec, None, {"path": None, "version": None, "cli": generation.IMPROVED})
        return
    rec.warn(
        STEP_CLI,
        RUNAI_CLI_MISSING,
        "The Run:ai CLI (`runai`) is not on PATH",
        hint=_install_steps(ctx.platform) + "; then run `runai version`.",
    )


def _broken(ctx: Context, rec: Recorder, found: Installed) -> None:
    result = found.result
    assert result is not None
    why = "timed out" if result.timed_out else f"exited with {result.returncode}"
    rec.warn(
        STEP_CLI,
        TOOL_BROKEN,
        f"`runai version` {why}: {found.output[-200:]}",
        hint="Run `runai version` yourself; if it is broken, download it again: "
        f"{_install_steps(ctx.platform)}.",
        details=found.details(),
    )


def _first(ctx: Context, rec: Recorder, found: Installed, exec_user: bool) -> None:
    """The first CLI: installed and answering; its `runai whoami` for an exec-plugin login."""
    details: dict[str, Any] = found.details()
    if exec_user:
        env = dict(ctx.env)
        if ctx.settings.runai.kubeconfig:
            env["KUBECONFIG"] = str(ctx.path(ctx.settings.runai.kubeconfig))
        who = ctx.run(["runai", "whoami"], timeout=rec.step_timeout(ctx.timeout), env=env)
        text = ctx.scrubber.scrub_external((who.stdout.strip() or who.stderr.strip())[-200:])
        if not who.ok:
            rec.warn(
                STEP_CLI,
                RUNAI_NOT_LOGGED_IN,
                f"{found.label} is installed, but `runai whoami` says you are not logged in: {text}",
                hint=f"`{login_hint(ctx)}`",
                details=details,
            )
            return
        details["whoami"] = text.splitlines()[0] if text else None
    rec.ok(STEP_CLI, f"{found.label} at {found.path}", details=details)
