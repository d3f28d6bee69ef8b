"""The stand-in `runai` on a PATH of the test's own: `install()` writes a wrapper that runs
stand_in.py with this interpreter, as the improved CLI (the default) or the first one, and
`runai()` runs it as the user would (to log in, choose a cluster and a project)."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
ANSWERS = yaml.safe_load((HERE / "answers.yaml").read_text())
USER = "alice"
PASSWORD = ANSWERS["tenant"]["users"][USER]["password"]
CLUSTER = ANSWERS["tenant"]["clusters"][0]["name"]
PROJECT = "proj"


def install(bin_dir: Path, *, cli: str = "improved", version: str = "2.19.14", **env: str) -> Path:
    """`bin_dir/runai`; `env` adds RUNAI_STANDIN_* settings baked into the wrapper."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    settings = {"RUNAI_STANDIN_CLI": cli, "RUNAI_STANDIN_VERSION": version, **env}
    exports = "".join(f"export {name}={shlex.quote(value)}\n" for name, value in settings.items())
    wrapper = bin_dir / "runai"
    program = f"{shlex.quote(sys.executable)} {shlex.quote(str(HERE / 'stand_in.py'))}"
    wrapper.write_text(f'#!/bin/sh\n{exports}exec {program} "$@"\n')
    wrapper.chmod(0o755)
    return bin_dir


def runai(bin_dir: Path, env: Mapping[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run the stand-in as the user would, with the test's HOME (its state lives under it)."""
    return subprocess.run(
        [str(bin_dir / "runai"), *args],
        env={**env, "PATH": os.pathsep.join([str(bin_dir), env.get("PATH", "")])},
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
    )


def set_up(
    bin_dir: Path, env: Mapping[str, str], control_plane: str, *, project: str | None = PROJECT
) -> None:
    """The documented onboarding: point the CLI at the control plane, log in, choose the project
    (the one cluster is the default after the first login)."""
    steps = [
        ("config", "set", "--cp-url", control_plane),
        ("login", "user", "-u", USER, "-p", PASSWORD),
    ]
    if project:
        steps.append(("project", "set", project))
    for step in steps:
        done = runai(bin_dir, env, *step)
        assert done.returncode == 0, (step, done.stdout, done.stderr)
