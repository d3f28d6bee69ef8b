"""Secrets never leave: known canaries in every input the core reads (config file, env,
URLs with credentials) must be absent from every output format, stderr and error paths."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import LOOPBACK_PROFILE, merge, run_cli, write_config

CANARIES = {
    "config_token": "glpat-CANARY-config-7f3a",
    "env_token": "glpat-CANARY-env-91bd",
    "mlflow_password": "CANARY-mlflow-pw-55",
    "aws_secret": "CANARY/aws+secret/key0123456789abcdef",
    "url_password": "CANARY-url-pw-42",
    "extra_password": "CANARY-extra-pw-77",
    "ci_token": "CANARY-ci-job-token-31",
}


@pytest.fixture()
def env(home: Path) -> dict[str, str]:
    profile = merge(
        LOOPBACK_PROFILE,
        {
            "gitlab": {"token": CANARIES["config_token"]},
            "mlflow": {"tracking_uri": f"http://alice:{CANARIES['url_password']}@127.0.0.1:9"},
            "vpn": {"extra": [f"https://bob:{CANARIES['extra_password']}@127.0.0.1:9/"]},
        },
    )
    write_config(home / ".config" / "aisg-check" / "config.yaml", profile)
    return {
        **os.environ,
        "GITLAB_TOKEN": CANARIES["env_token"],
        "MLFLOW_TRACKING_PASSWORD": CANARIES["mlflow_password"],
        "AWS_SECRET_ACCESS_KEY": CANARIES["aws_secret"],
        "CI_JOB_TOKEN": CANARIES["ci_token"],
    }


def _assert_clean(text: str) -> None:
    for name, value in CANARIES.items():
        assert value not in text, f"canary {name} leaked"
        assert value.split("-")[-1] not in text or len(value.split("-")[-1]) < 4, name


@pytest.mark.parametrize(
    "args",
    [
        ["all", "--skip", "tools"],
        ["all", "--skip", "tools", "--verbose"],
        ["all", "--skip", "tools", "--format", "json"],
        ["all", "--skip", "tools", "--format", "junit"],
        ["all", "--skip", "tools", "--format", "markdown", "--verbose"],
        ["config"],
        ["config", "--format", "json"],
        ["config", "--format", "yaml"],
    ],
)
def test_no_output_contains_a_secret(env: dict[str, str], args: list[str], tmp_path: Path) -> None:
    out_file = tmp_path / "report.out"
    extra = ["--output", str(out_file)] if args[0] == "all" else []
    result = run_cli([*args, *extra], env=env)
    assert result.returncode in (0, 1), result.stderr
    _assert_clean(result.stdout)
    _assert_clean(result.stderr)
    if extra:
        _assert_clean(out_file.read_text())


def test_config_errors_do_not_echo_a_secret_value(env: dict[str, str], home: Path) -> None:
    path = home / ".config" / "aisg-check" / "config.yaml"
    path.write_text(f"gitlab:\n  token: [{CANARIES['config_token']}]\n")
    result = run_cli(["all"], env=env)
    assert result.returncode == 2
    assert "gitlab.token" in result.stderr
    _assert_clean(result.stderr)


# -- credentials a server or program echoes back (issue 16) ------------------------------------------

PROXY_USER, PROXY_PASSWORD = "proxy-user", "CANARY-proxy/pw+99"


class EchoProxy:
    """An HTTP proxy that refuses every request and echoes what it was sent in its reason phrase:
    the Proxy-Authorization value, the credential it decodes to, and that again URL-quoted and
    inside a longer base64 text, as a careless proxy or a debugging server would."""

    def __init__(self) -> None:
        import socket
        import threading

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = int(self.sock.getsockname()[1])
        self.seen: list[str] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        import base64
        from urllib.parse import quote

        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                auth = ""
                for line in data.decode("latin-1").split("\r\n"):
                    if line.lower().startswith("proxy-authorization:"):
                        auth = line.split(":", 1)[1].strip()
                if not data:
                    continue  # a reachability probe: connected and closed
                self.seen.append(auth)
                decoded = base64.b64decode(auth.split()[-1]).decode() if auth else ""
                nested = base64.b64encode(b"{" + decoded.encode() + b"}").decode()
                reason = f"denied {auth} for {decoded} ({quote(decoded, safe='')}) ctx={nested}"
                conn.sendall(f"HTTP/1.1 407 {reason}\r\nContent-Length: 0\r\n\r\n".encode())

    def close(self) -> None:
        self.sock.close()


@pytest.fixture()
def echo_proxy() -> Any:
    proxy = EchoProxy()
    yield proxy
    proxy.close()


def _assert_no_credential(text: str, user: str, secret: str) -> None:
    import base64
    from urllib.parse import quote

    assert secret not in text and quote(secret, safe="") not in text
    basic = base64.b64encode(f"{user}:{secret}".encode()).decode().rstrip("=")
    assert basic[:-2] not in text, "base64(user:password) leaked"
    for pad in range(3):  # the credential inside a longer base64 text, at each alignment
        encoded = base64.b64encode(b"{" * pad + secret.encode()).decode()
        core = encoded[(8 * pad + 5) // 6 : (8 * (pad + len(secret))) // 6]
        assert core not in text, f"base64 of the credential at offset {pad} leaked"


@pytest.mark.parametrize(
    "fmt",
    [
        ["--format", "table", "--verbose"],
        ["--format", "json"],
        ["--format", "junit"],
        ["--format", "markdown"],
    ],
    ids=["table", "json", "junit", "markdown"],
)
def test_a_proxy_that_echoes_the_credential_leaks_it_nowhere(
    home: Path, tmp_path: Path, echo_proxy: EchoProxy, fmt: list[str]
) -> None:
    write_config(home / ".config" / "aisg-check" / "config.yaml", LOOPBACK_PROFILE)
    env = {
        **os.environ,
        "HTTPS_PROXY": f"http://{PROXY_USER}:{PROXY_PASSWORD.replace('/', '%2F').replace('+', '%2B')}"
        f"@127.0.0.1:{echo_proxy.port}",
    }
    out_file = tmp_path / "report.out"
    result = run_cli(
        [
            "vpn",
            "--only",
            "vpn.extra",
            "--set",
            "vpn.extra=https://127.0.0.1:9/",
            *fmt,
            "--output",
            str(out_file),
        ],
        env=env,
    )
    assert result.returncode == 1, result.stderr
    assert echo_proxy.seen and echo_proxy.seen[0].startswith("Basic "), (
        "the probe did not go through the proxy"
    )
    assert "denied" in result.stdout  # the echo reached the report, masked
    for text in (result.stdout, result.stderr, out_file.read_text()):
        _assert_no_credential(text, PROXY_USER, PROXY_PASSWORD)


def test_mlflow_basic_auth_pair_and_url_logins_are_registered(env: dict[str, str]) -> None:
    """MLFLOW_TRACKING_USERNAME + _PASSWORD and a URL's user:password are Basic auth pairs: their
    base64 is masked whatever the user name's length (checked through the CLI's own seeding)."""
    import base64

    script = (
        "import os, sys\n"
        "from aisg_check.invocation import load, make_scrubber\n"
        "env = dict(os.environ)\n"
        "s = make_scrubber(load(env, None, []), env)\n"
        "for line in sys.stdin: print(s.scrub(line.strip()))\n"
    )
    pairs = [("mlflow-user", CANARIES["mlflow_password"]), ("alice", CANARIES["url_password"])]
    pairs.append(("bob", CANARIES["extra_password"]))
    lines = [base64.b64encode(f"{u}:{p}".encode()).decode() for u, p in pairs]
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-c", script],
        input="\n".join(lines) + "\n",
        env={**env, "MLFLOW_TRACKING_USERNAME": "mlflow-user"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["***"] * len(lines), proc.stdout
