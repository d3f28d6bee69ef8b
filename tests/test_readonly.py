"""Checks are read-only: a run of every component leaves the user's home byte-for-byte as it
was (kubeconfig, docker config, ssh config, aws files, the aisg-check config itself)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from tests.helpers import LOOPBACK_PROFILE, merge, run_cli, write_config


def _snapshot(root: Path) -> dict[str, tuple[str, int, float]]:
    out = {}
    for path in sorted(root.rglob("*")):
        if path.is_file():
            stat = path.stat()
            out[str(path.relative_to(root))] = (
                hashlib.sha256(path.read_bytes()).hexdigest(),
                stat.st_mode,
                stat.st_mtime,
            )
        elif path.is_dir():
            out[str(path.relative_to(root)) + "/"] = ("dir", path.stat().st_mode, 0.0)
    return out


def _populate(home: Path) -> None:
    write_config(
        home / ".config" / "aisg-check" / "config.yaml",
        merge(
            LOOPBACK_PROFILE,
            {
                "harbor": {"projects": ["team"]},
                "runai": {"project": "team"},
                "ecs": {"buckets": ["data"]},
                "mlflow": {"tracking_uri": "http://127.0.0.1:9", "experiment": "e"},
            },
        ),
    )
    (home / ".ssh").mkdir(mode=0o700)
    (home / ".ssh" / "config").write_text("# keep my comments\nHost 127.0.0.1\n    Port 9\n")
    (home / ".ssh" / "known_hosts").write_text("")
    (home / ".kube").mkdir()
    (home / ".kube" / "config").write_text(
        "# my kubeconfig, comments and key order matter\napiVersion: v1\nkind: Config\n"
        "current-context: c\nclusters:\n- name: k\n  cluster:\n    server: https://127.0.0.1:9\n"
        "    insecure-skip-tls-verify: true\ncontexts:\n- name: c\n  context: {cluster: k, user: u}\n"
        "users:\n- name: u\n  user:\n    auth-provider:\n      name: oidc\n      config:\n"
        "        client-id: runai-cli\n        idp-issuer-url: http://127.0.0.1:9/auth/realms/x\n"
    )
    (home / ".docker").mkdir()
    (home / ".docker" / "config.json").write_text('{"auths": {"127.0.0.1:9": {"auth": "YWxpY2U6cHc="}}}\n')
    (home / ".aws").mkdir()
    (home / ".aws" / "credentials").write_text(
        "[default]\naws_access_key_id = AKIAX\naws_secret_access_key = s3cr3t\n"
    )
    (home / ".aws" / "config").write_text("[default]\nregion = ap-southeast-1\n")


def test_a_full_run_modifies_nothing_in_home(home: Path) -> None:
    _populate(home)
    before = _snapshot(home)
    result = run_cli(["all", "--format", "json", "--skip", "tools"], env={**os.environ, "HOME": str(home)})
    assert result.returncode in (0, 1), result.stderr
    assert result.json()["results"]
    after = _snapshot(home)
    assert after == before
