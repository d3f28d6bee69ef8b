"""`aisg-check harbor` against the local Harbor-like platform (docker-registry with token auth
behind the test core) vs `aisg-check --help`, side by side in one run.

Goal (issue 5): login, token and permission for one project cost at most 3x `--help`; the
network work is a few loopback requests, so what costs is imports. A plain `auths` login and a
daemon that is not there are told without the docker SDK; httpx is the one client imported.

    python -m benchmarks.run harbor        (or: python benchmarks/bench_harbor.py)
"""

from __future__ import annotations

import base64
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.common import AISG, Row, bench_env, interleaved, print_rows  # noqa: E402

PASSWORD = "bench-alice-password"
ROBOT, ROBOT_SECRET = "robot$team+ci", "bench-robot-secret"


def _config(home: Path, address: str, ca_file: Path) -> Path:
    import yaml
    from tests.helpers import LOOPBACK_PROFILE, merge

    settings = merge(
        LOOPBACK_PROFILE, {"ca_bundle": str(ca_file), "harbor": {"registry": address, "projects": ["team"]}}
    )
    path = home / "aisg.yaml"
    path.write_text(yaml.safe_dump(settings))
    docker = home / ".docker"
    docker.mkdir()
    auth = base64.b64encode(f"alice:{PASSWORD}".encode()).decode()
    (docker / "config.json").write_text(json.dumps({"auths": {address: {"auth": auth}}}))
    return path


def _ci_file(base: Path, address: str) -> Path:
    """The Docker config JSON a CI job's builds log in with (checked by harbor.ci)."""
    path = base / "ci-docker-config.json"
    auth = base64.b64encode(f"{ROBOT}:{ROBOT_SECRET}".encode()).decode()
    path.write_text(json.dumps({"auths": {address: {"auth": auth}}}))
    return path


def _helper_home(base: Path, address: str) -> tuple[Path, Path]:
    """A second HOME whose login lives in a credential store (`credsStore`, as Docker Desktop
    writes on macOS and Windows), served by a shell helper on PATH: the SDK's path."""
    home = base / "home-helper"
    (home / ".docker").mkdir(parents=True)
    (home / ".docker" / "config.json").write_text(json.dumps({"auths": {}, "credsStore": "aisgbench"}))
    bin_dir = base / "bin"
    bin_dir.mkdir()
    helper = bin_dir / "docker-credential-aisgbench"
    answer = json.dumps({"ServerURL": address, "Username": "alice", "Secret": PASSWORD})
    helper.write_text(f"#!/bin/sh\nread server\necho '{answer}'\n")
    helper.chmod(0o755)
    return home, bin_dir


def rows(runs: int = 7) -> list[Row]:
    import trustme
    from tests.servers import harbor as platform
    from tests.servers.process import free_port

    missing = platform.available()
    if missing:
        raise SystemExit(f"cannot run: {missing}")
    with tempfile.TemporaryDirectory(prefix="bench-harbor-") as tmp:
        base = Path(tmp)
        ca = trustme.CA()
        ca_file = base / "ca.pem"
        ca.cert_pem.write_to_path(str(ca_file))
        server = platform.TokenRegistry(
            base / "registry",
            ca,
            [
                platform.Account("alice", PASSWORD, {"team": platform.DEVELOPER}),
                platform.Account(ROBOT, ROBOT_SECRET, robot_actions={"team": frozenset({"pull", "push"})}),
            ],
            projects=frozenset({"team"}),
        )
        try:
            home = base / "home"
            home.mkdir()
            config = _config(home, server.address, ca_file)
            # A closed port as the daemon: the measurement must not depend on a local Docker.
            env = bench_env(home, AISG_CHECK_CONFIG=str(config), DOCKER_HOST=f"tcp://127.0.0.1:{free_port()}")
            ci_env = {**env, "HARBOR_DOCKER_CONFIG_JSON": str(_ci_file(base, server.address))}
            helper_home, bin_dir = _helper_home(base, server.address)
            helper_env = {
                **env,
                "HOME": str(helper_home),
                "PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
            }
            t = interleaved(
                {
                    "help": ([*AISG, "--help"], env),
                    "harbor": ([*AISG, "harbor", "--format", "json"], env),
                    "no_daemon": ([*AISG, "harbor", "--format", "json", "--skip", "harbor.daemon"], env),
                    "helper": ([*AISG, "harbor", "--format", "json"], helper_env),
                    # The user's login and the CI file's robot, side by side.
                    "ci": ([*AISG, "harbor", "--format", "json"], ci_env),
                    # The floor any check of the registry pays: CLI, config, the registry of all
                    # checks, the runner and the VPN probe of the registry, without harbor itself.
                    "floor": ([*AISG, "vpn", "--only", "vpn.harbor", "--format", "json"], env),
                },
                runs,
            )
        finally:
            server.stop()
    help_s = t["help"]
    return [
        Row(
            "aisg-check harbor (login, token, 1 project)",
            t["harbor"],
            "aisg-check --help",
            help_s,
            "ratio <= 3.0",
            t["harbor"] <= 3.0 * help_s,
        ),
        Row(
            "aisg-check harbor --skip harbor.daemon",
            t["no_daemon"],
            "aisg-check --help",
            help_s,
            "ratio <= 3.0",
            t["no_daemon"] <= 3.0 * help_s,
        ),
        Row(
            "aisg-check harbor + CI file (two logins)",
            t["ci"],
            "aisg-check --help",
            help_s,
            "ratio <= 3.0",
            t["ci"] <= 3.0 * help_s,
        ),
        Row(
            "aisg-check harbor, login in a credsStore",
            t["helper"],
            "aisg-check --help",
            help_s,
            "info (the SDK's path + a helper)",
            True,
        ),
        Row(
            "floor: aisg-check vpn --only vpn.harbor",
            t["floor"],
            "aisg-check --help",
            help_s,
            "reference",
            True,
        ),
        Row(
            "harbor minus floor (the check's own cost)",
            max(0.0, t["harbor"] - t["floor"]),
            "aisg-check --help",
            help_s,
            "reference",
            True,
        ),
    ]


if __name__ == "__main__":
    print_rows("harbor vs --help (issue 5)", rows())
