"""The versions the MLOps team asks for first: the operating system, Python, aisg-check and the
client libraries it drives, and each command-line tool the `tools` check knows.

The tools are asked exactly as the `tools` check asks them, through `ctx.run_once`: after a run
that included that check, the answers are already there and no program runs twice.
"""

from __future__ import annotations

import platform
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aisg_check import __version__
from aisg_check.context import Context

# The client libraries whose versions change what a check sees (read from their metadata: none
# is imported).
LIBRARIES = ("httpx", "boto3", "botocore", "kubernetes", "mlflow", "docker", "PyYAML", "typer", "rich")
_OUTPUT_LIMIT = 300


def system_line() -> str:
    """The line the reports carry: `Linux 6.1 (x86_64), Python 3.11.7`."""
    return (
        f"{platform.system()} {platform.release()} ({platform.machine()}), Python {platform.python_version()}"
    )


def collect(ctx: Context) -> dict[str, Any]:
    return {
        "aisg_check": __version__,
        "os": _os(),
        "python": {
            "version": platform.python_version(),
            "implementation": platform.python_implementation(),
            "executable": sys.executable,
        },
        "libraries": _libraries(),
        "tools": _tools(ctx),
    }


def _os() -> dict[str, Any]:
    info: dict[str, Any] = {
        "system": platform.system(),
        "release": platform.release(),
        "version": platform.version(),
        "machine": platform.machine(),
        "platform": platform.platform(),
    }
    if sys.platform == "darwin":
        info["macos"] = platform.mac_ver()[0]
    elif sys.platform.startswith("linux"):
        try:
            info["distribution"] = platform.freedesktop_os_release().get("PRETTY_NAME")
        except OSError:
            info["distribution"] = None
    return info


def _libraries() -> dict[str, str | None]:
    from importlib import metadata

    out: dict[str, str | None] = {}
    for name in LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def _tools(ctx: Context) -> dict[str, Any]:
    from aisg_check.checks.tools import TOOLS, Tool

    def probe(tool: Tool) -> dict[str, Any]:
        entry: dict[str, Any] | None = None
        for command in (c for c in tool.commands if ctx.which(c[0])):
            result = ctx.run_once(command, timeout=ctx.timeout)
            answer = (result.stdout.strip() or result.stderr.strip()).splitlines()
            entry = {
                "command": " ".join(command),
                "path": ctx.which(command[0]),
                "output": answer[0][:_OUTPUT_LIMIT] if answer else "",
                "ok": result.ok,
                "timed_out": result.timed_out,
            }
            if result.ok:
                return entry
        return entry or {
            "command": " or ".join(c[0] for c in tool.commands),
            "path": None,
            "output": None,
            "ok": False,
        }

    # Each probe is a process start (aws and conda take ~0.5 s); after a run with the tools check
    # they are answered from its cache at once.
    with ThreadPoolExecutor(max_workers=len(TOOLS), thread_name_prefix="aisg-bundle-tool") as pool:
        return dict(zip((t.name for t in TOOLS), pool.map(probe, TOOLS), strict=True))
