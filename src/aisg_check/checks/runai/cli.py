"""`runai.cli`: the Run:ai CLI is installed and runs (`runai version`, asked once per run with
the tools check), and, for the newer exec-based login, `runai whoami` says you are logged in."""

from __future__ import annotations

from typing import Any

from aisg_check.check import Recorder
from aisg_check.checks.runai.diagnoses import RUNAI_CLI_MISSING, RUNAI_NOT_LOGGED_IN, TOOL_BROKEN
from aisg_check.checks.runai.steps import STEP_CLI, login_hint
from aisg_check.checks.tools import RUNAI_DOWNLOAD, parse_version
from aisg_check.context import Context
from aisg_check.platform import kubeauth, kubeconfig


def _install_steps(platform: str) -> str:
    if platform.startswith("win"):
        return (
            f"{RUNAI_DOWNLOAD}: choose Windows, DOWNLOAD, rename the file to runai.exe and save it in a "
            "folder on your PATH"
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
    path = ctx.which("runai")
    if path is None:
        rec.warn(
            STEP_CLI,
            RUNAI_CLI_MISSING,
            "The Run:ai CLI (`runai`) is not on PATH",
            hint=_install_steps(ctx.platform) + "; then run `runai version`.",
        )
        return
    # Read first: it registers every credential of the kubeconfig, which the CLI may print.
    exec_user = _user_is_exec(ctx)
    # Once per run: the tools check asks the same.
    result = ctx.run_once(["runai", "version"], timeout=rec.step_timeout(ctx.timeout))
    output = ctx.scrubber.scrub_external((result.stdout + "\n" + result.stderr).strip())
    version = parse_version(output) if result.ok else None
    details: dict[str, Any] = {"path": path, "version": ".".join(map(str, version)) if version else None}
    if not result.ok:
        why = "timed out" if result.timed_out else f"exited with {result.returncode}"
        rec.warn(
            STEP_CLI,
            TOOL_BROKEN,
            f"`runai version` {why}: {output[-200:]}",
            hint=f"Run `runai version` yourself; if it is broken, download it again: "
            f"{_install_steps(ctx.platform)}.",
            details=details,
        )
        return
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
                f"Run:ai CLI {details['version']} is installed, but `runai whoami` says you are not "
                f"logged in: {text}",
                hint=f"`{login_hint(ctx)}`",
                details=details,
            )
            return
        details["whoami"] = text.splitlines()[0] if text else None
    rec.ok(STEP_CLI, f"Run:ai CLI {details['version'] or '(version unknown)'} at {path}", details=details)
