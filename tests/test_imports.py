"""Speed is a feature: `--help` and `vpn` must not pay for the heavy client libraries."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import LOOPBACK_PROFILE, merge, write_config
from tests.servers.tls import closed_port

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
            modules.add(line.rsplit("|", 1)[1].strip())
    assert modules, proc.stderr[-500:]
    return modules


def _packages(modules: set[str]) -> set[str]:
    return {name.split(".")[0] for name in modules}


@pytest.mark.parametrize("args", [["--help"], ["vpn", "--help"], ["vpn"], ["list"], ["config"]])
def test_light_commands_import_no_heavy_library(args: list[str], home: Path) -> None:
    write_config(home / ".config" / "aisg-check" / "config.yaml", LOOPBACK_PROFILE)
    imported = _packages(_imported(args, {**os.environ, "HOME": str(home)}))
    assert not (imported & set(HEAVY)), sorted(imported & set(HEAVY))


def test_harbor_with_a_plain_login_and_no_daemon_imports_neither_sdk_nor_httpx_cli(home: Path) -> None:
    """Issue 5's budget: a plain `auths` login and a daemon that is not there are told apart
    without the docker SDK (requests, urllib3), and httpx comes without its own CLI (rich's
    syntax highlighting, pygments)."""
    registry = f"127.0.0.1:{closed_port()}"
    auth = base64.b64encode(b"alice:pw").decode()
    (home / ".docker").mkdir()
    (home / ".docker" / "config.json").write_text(json.dumps({"auths": {registry: {"auth": auth}}}))
    config = write_config(home / "aisg.yaml", merge(LOOPBACK_PROFILE, {"harbor": {"registry": registry}}))
    env = {**os.environ, "HOME": str(home), "AISG_CHECK_CONFIG": str(config)}
    env["DOCKER_HOST"] = f"tcp://127.0.0.1:{closed_port()}"
    imported = _imported(["harbor"], env)
    assert "aisg_check.platform.dockerconfig" in imported and "httpx" in imported  # the run got that far
    assert not {m for m in imported if m == "docker" or m.startswith("docker.")}
    # (`httpx._main` itself shows in -X importtime as a refused attempt of a few microseconds.)
    assert "rich.syntax" not in imported and "pygments" not in _packages(imported)


def test_the_guard_would_see_a_heavy_import(home: Path) -> None:
    # The parser above must be able to fail: a process that imports boto3 shows it.
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import boto3"], capture_output=True, text=True
    )
    if proc.returncode != 0:
        pytest.skip("boto3 is not installed")
    assert "| boto3" in proc.stderr


def test_a_daemon_that_answers_is_pinged_without_the_docker_sdk(home: Path) -> None:
    """A running daemon is the usual laptop; its ping must not cost the SDK's ~0.5 s of CPU,
    which in `all` is taken from every other check."""
    from docker.constants import DEFAULT_DOCKER_API_VERSION as version

    from tests.servers.tls import HTTPServer

    def ping(handler: object) -> None:
        handler.send_response(200)  # type: ignore[attr-defined]
        handler.send_header("Content-Length", "2")  # type: ignore[attr-defined]
        handler.end_headers()  # type: ignore[attr-defined]
        handler.wfile.write(b"OK")  # type: ignore[attr-defined]

    server = HTTPServer(routes={f"/v{version}/_ping": ping})
    try:
        env = {**os.environ, "HOME": str(home), "DOCKER_HOST": f"tcp://127.0.0.1:{server.port}"}
        config = write_config(home / "aisg.yaml", LOOPBACK_PROFILE)
        modules = _imported(["harbor", "--only", "harbor.daemon", "--config", str(config)], env)
    finally:
        server.close()
    assert "docker" not in _packages(modules)
    assert "httpx" in _packages(modules)  # the run got as far as the ping
