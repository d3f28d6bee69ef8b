"""Speed is a feature: `--help` and `vpn` must not pay for the heavy client libraries."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import LOOPBACK_PROFILE, write_config

HEAVY = ("mlflow", "kubernetes", "boto3", "botocore", "docker", "httpx")


def _imported(args: list[str], env: dict[str, str]) -> set[str]:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "aisg_check", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    modules = set()
    for line in proc.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            modules.add(name.split(".")[0])
    assert modules, proc.stderr[-500:]
    return modules


@pytest.mark.parametrize("args", [["--help"], ["vpn", "--help"], ["vpn"], ["list"], ["config"]])
def test_light_commands_import_no_heavy_library(args: list[str], home: Path) -> None:
    write_config(home / ".config" / "aisg-check" / "config.yaml", LOOPBACK_PROFILE)
    imported = _imported(args, {**os.environ, "HOME": str(home)})
    assert not (imported & set(HEAVY)), sorted(imported & set(HEAVY))


def test_the_guard_would_see_a_heavy_import(home: Path) -> None:
    # The parser above must be able to fail: a process that imports boto3 shows it.
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import boto3"], capture_output=True, text=True
    )
    if proc.returncode != 0:
        pytest.skip("boto3 is not installed")
    assert "| boto3" in proc.stderr
