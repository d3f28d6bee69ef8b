"""Run the CLI inside a private network namespace: its own loopback, no other interface,
and a bind-mounted /etc/hosts. Name lookups of the real hostnames happen there and cannot
leave the machine (no route), which is how DNS failure and the default profile are tested."""

from __future__ import annotations

import functools
import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


@functools.lru_cache(maxsize=1)
def netns_problem() -> str | None:
    """None when `unshare -n -m` works here, else why not."""
    if not sys.platform.startswith("linux"):
        return "network namespaces need Linux"
    if not shutil.which("unshare") or not shutil.which("ip"):
        return "unshare (util-linux) and ip (iproute2) are needed"
    probe = subprocess.run(["unshare", "-n", "-m", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        return f"unshare -n -m is not permitted here: {probe.stderr.strip()}"
    return None


@dataclass(frozen=True)
class NetnsResult:
    returncode: int
    stdout: str
    stderr: str
    elapsed_s: float


def run_in_netns(
    args: Sequence[str], *, hosts: Mapping[str, str], env: Mapping[str, str], tmp: Path, timeout: float = 60
) -> NetnsResult:
    hosts_file = tmp / "hosts"
    lines = ["127.0.0.1 localhost", "::1 localhost ip6-localhost"]
    lines += [f"{address} {name}" for name, address in hosts.items()]
    hosts_file.write_text("\n".join(lines) + "\n")
    # Inside the namespace: bring up loopback, swap /etc/hosts, then time the CLI alone.
    command = " ".join(shlex.quote(a) for a in [sys.executable, "-m", "aisg_check", *args])
    script = (
        f"ip link set lo up && mount --bind {shlex.quote(str(hosts_file))} /etc/hosts && "
        f"start=$(date +%s.%N); {command}; rc=$?; end=$(date +%s.%N); "
        f'echo "ELAPSED $start $end" >&2; exit $rc'
    )
    t0 = time.monotonic()
    proc = subprocess.run(
        ["unshare", "-n", "-m", "sh", "-c", script],
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    elapsed = time.monotonic() - t0
    stderr_lines = proc.stderr.splitlines()
    for line in stderr_lines:
        if line.startswith("ELAPSED "):
            start, end = line.split()[1:3]
            elapsed = float(end) - float(start)
    stderr = "\n".join(line for line in stderr_lines if not line.startswith("ELAPSED "))
    return NetnsResult(proc.returncode, proc.stdout, stderr, elapsed)


def clean_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()}
    env["HOME"] = str(home)
    return env
