"""`tools`: the command-line tools the onboarding guide relies on, found and recent enough."""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field

from aisg_check.check import Check, Recorder, Step, declared
from aisg_check.context import CommandResult, Context
from aisg_check.model import CONTACT_MLOPS, Diagnosis

TOOL_MISSING = Diagnosis(
    "TOOL_MISSING",
    "Required tool not found",
    "A tool the platform cannot be used without is not on PATH.",
    "Install it (the hint names the command for your system) and open a new terminal.",
)
TOOL_MISSING_OPTIONAL = Diagnosis(
    "TOOL_MISSING_OPTIONAL",
    "Optional tool not found",
    "A tool some workflows need is not on PATH; the checks that use it say what is missing.",
    "Install it if you will use that part of the platform (the hint names the command).",
)
TOOL_OUTDATED = Diagnosis(
    "TOOL_OUTDATED",
    "Tool too old",
    "The tool is installed, but older than the version the platform's instructions assume.",
    "Upgrade it (the hint names the command for your system).",
)
TOOL_BROKEN = Diagnosis(
    "TOOL_BROKEN",
    "Tool does not run",
    "The tool is on PATH but asking it for its version failed or hung.",
    "Run the command in the hint yourself to see the error; reinstall the tool if it is broken.",
    CONTACT_MLOPS,
)

RUNAI_DOWNLOAD = (
    "open https://aisingapore.run.ai, Help (?) → Researcher Command Line Interface, download the "
    "binary for your system and put it on PATH"
)


@dataclass(frozen=True)
class Tool:
    name: str
    title: str
    commands: tuple[tuple[str, ...], ...]  # first one found wins (python3, then python)
    required: bool
    minimum: tuple[int, ...] | None
    install: Mapping[str, str] = field(default_factory=dict)  # linux / darwin / win32


TOOLS: tuple[Tool, ...] = (
    Tool(
        "git",
        "git",
        (("git", "--version"),),
        True,
        (2, 25),
        {"linux": "sudo apt install git", "darwin": "brew install git", "win32": "winget install Git.Git"},
    ),
    Tool(
        "ssh",
        "OpenSSH client",
        (("ssh", "-V"),),
        True,
        (7, 6),
        {
            "linux": "sudo apt install openssh-client",
            "darwin": "comes with macOS (xcode-select --install)",
            "win32": "Settings → Optional features → OpenSSH Client",
        },
    ),
    Tool(
        "python",
        "Python",
        (("python3", "--version"), ("python", "--version")),
        True,
        (3, 10),
        {
            "linux": "install Miniconda (https://docs.anaconda.com/miniconda/) or sudo apt install python3",
            "darwin": "install Miniconda or brew install python@3.11",
            "win32": "install Miniconda or winget install Python.Python.3.11",
        },
    ),
    Tool(
        "conda",
        "conda",
        (("conda", "--version"),),
        False,
        None,
        {
            "linux": "install Miniconda: https://docs.anaconda.com/miniconda/",
            "darwin": "brew install --cask miniconda (or see https://docs.anaconda.com/miniconda/)",
            "win32": "winget install Anaconda.Miniconda3",
        },
    ),
    Tool(
        "kubectl",
        "kubectl",
        (("kubectl", "version", "--client"),),
        False,
        (1, 25),
        {
            "linux": "see https://kubernetes.io/docs/tasks/tools/install-kubectl-linux/",
            "darwin": "brew install kubectl",
            "win32": "winget install Kubernetes.kubectl",
        },
    ),
    Tool(
        "runai",
        "Run:ai CLI",
        (("runai", "version"),),
        False,
        None,
        {"linux": RUNAI_DOWNLOAD, "darwin": RUNAI_DOWNLOAD, "win32": RUNAI_DOWNLOAD},
    ),
    # AWS CLI v1 still works with --endpoint-url, which is all the guide needs.
    Tool(
        "aws",
        "AWS CLI",
        (("aws", "--version"),),
        False,
        None,
        {
            "linux": "see https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html",
            "darwin": "brew install awscli",
            "win32": "winget install Amazon.AWSCLI",
        },
    ),
    Tool(
        "docker",
        "Docker",
        (("docker", "--version"),),
        False,
        None,
        {
            "linux": "install Docker Engine: https://docs.docker.com/engine/install/",
            "darwin": "install Docker Desktop (or colima): brew install --cask docker",
            "win32": "winget install Docker.DockerDesktop",
        },
    ),
)

_VERSION = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?")


def parse_version(text: str) -> tuple[int, ...] | None:
    # ssh -V prints "OpenSSH_9.2p1"; kubectl "Client Version: v1.30.2"; aws "aws-cli/2.15.0 Python/3.11".
    match = _VERSION.search(text)
    if not match:
        return None
    return tuple(int(g) for g in match.groups() if g is not None)


def _platform_key(platform: str) -> str:
    if platform.startswith("win"):
        return "win32"
    return "darwin" if platform == "darwin" else "linux"


def _check_tool(ctx: Context, rec: Recorder, tool: Tool, timeout: float) -> None:
    step = f"tools.{tool.name}"
    install = tool.install.get(_platform_key(ctx.platform), "")
    # The first candidate that answers wins: on Windows `python3` may be the Microsoft Store
    # stub, which exists but fails, while `python` works.
    candidates = [c for c in tool.commands if ctx.which(c[0])]
    found: tuple[str, ...] | None = candidates[0] if candidates else None
    result: CommandResult | None = None
    for command in candidates:
        # Once per run: the runai check asks `runai version` too.
        result = ctx.run_once(command, timeout=timeout)
        found = command
        if result.ok:
            break
    if found is None or result is None:
        names = " or ".join(c[0] for c in tool.commands)
        diagnosis = TOOL_MISSING if tool.required else TOOL_MISSING_OPTIONAL
        report = rec.fail if tool.required else rec.warn
        report(step, diagnosis, f"{tool.title} not found on PATH ({names})", hint=f"To install: {install}.")
        return
    output = (result.stdout + "\n" + result.stderr).strip()
    version = parse_version(output) if result.ok else None
    shown = ".".join(map(str, version)) if version else None
    details = {"command": " ".join(found), "path": ctx.which(found[0]), "version": shown}
    if not result.ok:
        why = "timed out" if result.timed_out else f"exited with {result.returncode}"
        rec.warn(
            step,
            TOOL_BROKEN,
            f"`{' '.join(found)}` {why}",
            hint=f"Run `{' '.join(found)}` to see why; reinstall if needed ({install}).",
            details=details,
        )
        return
    if tool.minimum and version and version[: len(tool.minimum)] < tool.minimum:
        wanted = ".".join(map(str, tool.minimum))
        rec.warn(
            step,
            TOOL_OUTDATED,
            f"{tool.title} {shown} is older than {wanted}",
            hint=f"Upgrade to {wanted} or newer: {install}.",
            details=details,
        )
        return
    rec.ok(step, f"{tool.title} {shown or '(version unknown)'} at {details['path']}", details=details)


def run(ctx: Context, rec: Recorder) -> None:
    # Each `--version` is a process start (aws and conda take ~0.5 s); run them all at once.
    timeout = rec.step_timeout(ctx.timeout)
    rec.parallel(lambda tool: _check_tool(ctx, rec, tool, timeout), TOOLS, name="tool")


# Every diagnosis this module defines or imports: what its checks may report.
DECLARED = declared(sys.modules[__name__])

CHECKS = (
    Check(
        id="tools",
        component="tools",
        title="Local tools",
        steps=tuple(Step(f"tools.{t.name}", t.title) for t in TOOLS),
        run=run,
        diagnoses=DECLARED,
        laptop_only=True,
        budget=1.0,
    ),
)
