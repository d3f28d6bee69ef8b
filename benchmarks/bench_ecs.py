"""`aisg-check ecs` against moto's S3 server on 127.0.0.1, side by side with what a person runs
by hand: `aws --profile p --endpoint-url URL s3 ls` (goal: ratio <= 1.0).

Run: `python benchmarks/bench_ecs.py` (needs moto[server] and the AWS CLI on PATH).
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.servers.s3 import MotoServer, bucket_policy

from benchmarks.common import AISG, Row, bench_env, print_rows, wall

PROFILE = "p"


def _aws() -> str:
    """The real aws executable: a pyenv shim adds a bash start-up that would flatter us."""
    found = shutil.which("aws")
    if not found:
        raise SystemExit("the AWS CLI (aws) is not on PATH")
    if "/shims/" in found and shutil.which("pyenv"):
        real = subprocess.run(["pyenv", "which", "aws"], capture_output=True, text=True, check=False)
        if real.returncode == 0 and real.stdout.strip():
            return real.stdout.strip()
    return found


def _setup(server: MotoServer, home: Path) -> None:
    server.reset()
    server.create_bucket("project-1", {"data/a.csv": b"a,b\n1,2\n"})
    server.create_bucket("hidden", {"model.pt": b"weights"})
    user = server.create_admin("bench")
    reader = server.create_user("reader", bucket_policy(["hidden"], ["s3:GetObject", "s3:ListBucket"]))
    server.enforce_auth()
    aws = home / ".aws"
    aws.mkdir(parents=True)
    (aws / "credentials").write_text(
        f"[{PROFILE}]\naws_access_key_id = {user.key_id}\naws_secret_access_key = {user.secret}\n\n"
        f"[reader]\naws_access_key_id = {reader.key_id}\naws_secret_access_key = {reader.secret}\n"
    )
    (aws / "config").write_text(
        f"[profile {PROFILE}]\nregion = us-east-1\n\n[profile reader]\nregion = us-east-1\n"
    )


def interleaved(commands: dict[str, list[str]], env: dict[str, str], runs: int = 7) -> dict[str, float]:
    """Median wall time of each command, run in turns: on a shared machine the load drifts, and
    measuring one command after the other would charge the drift to whichever ran last."""
    for argv in commands.values():
        wall(argv, env=env, runs=1, check=True)  # warm-up (page cache, .pyc) and a sanity check
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, argv in commands.items():
            t0 = time.perf_counter()
            subprocess.run(
                argv,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                check=False,
            )
            samples[name].append(time.perf_counter() - t0)
    return {name: statistics.median(values) for name, values in samples.items()}


def rows() -> list[Row]:
    aws = _aws()
    with tempfile.TemporaryDirectory(prefix="bench-ecs-") as tmp:
        root = Path(tmp)
        server = MotoServer(root)
        try:
            home = root / "home"
            _setup(server, home)
            # The loopback server stands in for ECS; nothing else is configured, so nothing else is contacted.
            env = bench_env(home, AISG_CHECK_ECS_ENDPOINT_URL=server.url, AISG_CHECK_TIMEOUT="5")
            aws_ls = [aws, "--profile", PROFILE, "--endpoint-url", server.url, "s3", "ls"]
            times = interleaved(
                {
                    "aws_ls": aws_ls,
                    "plain": [*AISG, "ecs", "--profile", PROFILE, "--format", "json"],
                    "full": [
                        *AISG,
                        "ecs",
                        "--profile",
                        PROFILE,
                        "--bucket",
                        "project-1",
                        "--write-test",
                        "--format",
                        "json",
                    ],
                    "hidden_aws": [
                        aws,
                        "--profile",
                        "reader",
                        "--endpoint-url",
                        server.url,
                        "s3api",
                        "list-objects-v2",
                        "--bucket",
                        "hidden",
                        "--max-keys",
                        "1",
                    ],
                    "hidden": [*AISG, "ecs", "--profile", "reader", "--bucket", "hidden", "--format", "json"],
                    # The CLI's own floor: start-up, one loopback probe, report, exit; no botocore.
                    "floor": [*AISG, "vpn", "--only", "vpn.ecs", "--format", "json"],
                },
                env,
            )
            baseline, plain, full = times["aws_ls"], times["plain"], times["full"]
            hidden_aws, hidden, floor = times["hidden_aws"], times["hidden"], times["floor"]
        finally:
            server.stop()
    aws_name = "aws --profile p --endpoint-url … s3 ls"
    return [
        Row("aisg-check vpn --only vpn.ecs (CLI floor)", floor, aws_name, baseline, "info", True),
        Row("aisg-check ecs --profile p", plain, aws_name, baseline, "ratio <= 1.0", plain <= baseline),
        Row(
            "aisg-check ecs … --bucket --write-test", full, aws_name, baseline, "info (6 S3 calls vs 1)", True
        ),
        Row(
            "aisg-check ecs --profile reader --bucket hidden",
            hidden,
            "aws … s3api list-objects-v2 hidden",
            hidden_aws,
            "ratio <= 1.0",
            hidden <= hidden_aws,
        ),
    ]


if __name__ == "__main__":
    print_rows("ECS: aisg-check ecs vs the AWS CLI, moto on 127.0.0.1", rows())
