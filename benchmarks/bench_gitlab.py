"""`aisg-check gitlab` against a real sshd and a real git HTTP server (nginx + git-http-backend
with GitLab's API endpoints) vs doing it by hand, side by side in one run.

Budget (DESIGN.md §9, issue 12): the time `aisg-check gitlab` takes beyond its own start-up
(`aisg-check --help`, measured in the same run) is at most 1.15x running `ssh -T` and then
`git ls-remote` by hand against the same servers. The SSH and HTTPS layers run concurrently,
which is what pays for the extra API calls and the VPN probes.

    .venv/bin/python -m benchmarks.run gitlab
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.common import AISG, Row, bench_env, interleaved, print_rows  # noqa: E402

GOAL = 1.15


def _report_duration(argv: list[str], env: dict[str, str]) -> float:
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    return float(json.loads(proc.stdout)["duration_s"])


def rows(runs: int = 11) -> list[Row]:
    import trustme
    import yaml
    from tests.helpers import LOOPBACK_PROFILE, merge
    from tests.servers import gitlab_http, gitlab_ssh

    for missing in (gitlab_ssh.available(), gitlab_http.available()):
        if missing:
            raise RuntimeError(missing)
    work = Path(tempfile.mkdtemp(prefix="bench-gitlab-"))
    home = work / "home"
    home.mkdir()
    (work / "ssh").mkdir()
    (work / "http").mkdir()
    ca = trustme.CA()
    ca_file = work / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    sshd = gitlab_ssh.GitlabSshServer(work / "ssh")
    try:
        web = gitlab_http.GitlabHttpServer(work / "http", ca)
    except Exception:
        sshd.stop()
        raise
    try:
        key = sshd.copy_key(sshd.key_ok, home / ".ssh")
        ssh_config = sshd.client_home(home, identity=key, port=sshd.port)
        (home / ".gitconfig").write_text(f"[http]\n\tsslCAInfo = {ca_file}\n")
        settings = merge(
            LOOPBACK_PROFILE,
            {
                "ca_bundle": str(ca_file),
                "gitlab": {
                    "host": "127.0.0.1",
                    "ssh_port": sshd.port,
                    "ssh_user": sshd.login,
                    "ssh_config": str(ssh_config),
                    "url": web.url,
                    "repo": web.repo_url,
                },
            },
        )
        config = work / "aisg.yaml"
        config.write_text(yaml.safe_dump(settings))
        token = gitlab_http.TOKENS["valid"].value
        env = bench_env(home, GITLAB_TOKEN=token, GIT_CONFIG_NOSYSTEM="1", GIT_TERMINAL_PROMPT="0")
        # The developer's own git and ssh settings (GIT_SSL_CAINFO, an agent) must not leak in.
        # As in the tests (conftest scrubs the same), a machine-wide CA bundle named three times
        # over in SSL_CERT_FILE/REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE is not what a laptop has.
        dropped = ("GIT_SSL", "GIT_CONFIG_G", "SSH_", "SSL_CERT_", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
        env = {k: v for k, v in env.items() if not k.startswith(dropped)}
        # By hand: what the guide has a user type (the token in the URL, as GitLab's docs show).
        by_hand = (
            f"ssh -F {ssh_config} -T {sshd.login}@127.0.0.1 && "
            f"git ls-remote https://alice:{token}@127.0.0.1:{web.port}/{gitlab_http.REPO} >/dev/null"
        )
        check = [*AISG, "gitlab", "--config", str(config), "--format", "json"]
        commands = {"help": [*AISG, "--help"], "check": check, "manual": ["sh", "-c", by_hand]}
        times = interleaved({name: (argv, env) for name, argv in commands.items()}, runs)
        # The runner's own wall time (the report's duration_s): the checks without the CLI around them.
        own = [_report_duration(check, env) for _ in range(runs)]
    finally:
        web.stop()
        sshd.stop()
    beyond = times["check"] - times["help"]
    inside = statistics.median(own)
    return [
        Row(
            "aisg-check gitlab - --help",
            beyond,
            "ssh -T, then git ls-remote",
            times["manual"],
            f"ratio <= {GOAL}",
            beyond <= GOAL * times["manual"],
        ),
        Row(
            "aisg-check gitlab (whole run)", times["check"], "aisg-check --help", times["help"], "info", True
        ),
        Row(
            "gitlab checks alone (report duration_s)",
            inside,
            "ssh -T, then git ls-remote",
            times["manual"],
            f"info (ratio <= {GOAL} wanted)",
            True,
        ),
    ]


if __name__ == "__main__":
    print_rows("gitlab", rows())
