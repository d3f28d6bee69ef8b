"""moto's standalone S3 (and IAM) server on 127.0.0.1, shared by the ECS and MLflow tests.

moto binds 0.0.0.0 unless told otherwise, so the host is always given explicitly.
"""

from __future__ import annotations

import shutil
import sys
import urllib.request
from pathlib import Path

from tests.servers.process import ServerProcess, free_port


def _ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=0.5) as response:
            return bool(response.status == 200)
    except OSError:
        return False


class MotoServer:
    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        exe = shutil.which("moto_server")
        argv = [exe] if exe else [sys.executable, "-m", "moto.server"]
        self.process = ServerProcess(
            [*argv, "-H", "127.0.0.1", "-p", str(self.port)],
            ready=lambda: _ready(self.port),
            log=workdir / "moto.log",
            timeout=60,
        )

    def reset(self) -> None:
        """Forget every bucket, user and key (and switch IAM enforcement off again)."""
        request = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=5):
            pass

    def enforce_auth(self) -> None:
        """From now on, unknown keys, wrong secrets and IAM denials give real S3 errors."""
        request = urllib.request.Request(f"{self.url}/moto-api/reset-auth", data=b"0", method="POST")
        with urllib.request.urlopen(request, timeout=5):
            pass

    def stop(self) -> None:
        self.process.stop()
