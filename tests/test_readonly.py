"""Checks are read-only: a run of every component leaves the user's home byte-for-byte as it
was (kubeconfig, docker config, ssh config, aws files, the aisg-check config itself), but for
the run history, which is written only in aisg-check's own state directory."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from tests.helpers import LOOPBACK_PROFILE, merge, own_ssh, run_cli, write_config


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
    result = run_cli(
        ["all", "--format", "json", "--skip", "tools", "--no-history", *own_ssh(home)],
        env={**os.environ, "HOME": str(home)},
    )
    assert result.returncode in (0, 1), result.stderr
    assert result.json()["results"]
    after = _snapshot(home)
    assert after == before


def _changed(before: dict[str, tuple[str, int, float]], after: dict[str, tuple[str, int, float]]) -> set[str]:
    return {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}


def test_a_recorded_run_changes_only_its_history_in_the_state_directory(home: Path) -> None:
    """The run history (on by default) is the one write: its line in the state directory."""
    _populate(home)
    state = ".local/state/aisg-check/"
    for run in (1, 2):
        before = _snapshot(home)
        result = run_cli(
            ["all", "--format", "json", "--skip", "tools", *own_ssh(home)],
            env={**os.environ, "HOME": str(home)},
        )
        assert result.returncode in (0, 1) and result.json()["results"], result.stderr
        after = _snapshot(home)
        changed = _changed(before, after)
        assert (home / state / "history.jsonl").read_text().count("\n") == run
        created_parents = {".local/", ".local/state/"} if run == 1 else set()
        assert {k for k in changed if not k.startswith(state)} == created_parents
        assert f"{state}history.jsonl" in changed


def test_a_bundle_changes_nothing_in_home_but_the_bundle_it_writes(home: Path) -> None:
    """`aisg-check bundle` reads every file the checks read and writes one archive: where
    --output says, else in the current directory; nothing else in HOME changes (no history)."""
    _populate(home)
    env = {**os.environ, "HOME": str(home)}
    ssh = ["--set", f"gitlab.ssh_config={home / '.ssh' / 'config'}"]
    told = home / "support" / "b.tar.gz"
    told.parent.mkdir()
    before = _snapshot(home)
    result = run_cli(["bundle", "--skip", "tools", "--output", str(told), *ssh], env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert _changed(before, _snapshot(home)) == {"support/b.tar.gz"}
    before = _snapshot(home)
    result = run_cli(["bundle", "--skip", "tools", *ssh], env=env, cwd=home, timeout=300)
    assert result.returncode == 0, result.stderr
    (written,) = _changed(before, _snapshot(home))
    assert written.startswith("aisg-check-bundle-") and written.endswith(".tar.gz")


def _named(output: str, home: Path) -> set[str]:
    """The files a command says it wrote, made, backed up or chmodded (shown as ~/… or in full)."""
    names = set()
    for word in output.replace("(", " ").replace(")", " ").replace(";", " ").replace("`", " ").split():
        word = word.rstrip(".,:")
        if word.startswith("~/"):
            names.add(word[2:])
        elif word.startswith(f"{home}/"):
            names.add(word[len(str(home)) + 1 :])
    return names


def test_only_fix_and_init_write_and_only_the_files_they_name(home: Path) -> None:
    """Every other command leaves HOME as it was; `fix` and `init` change exactly the files their
    output names (the file, its backup, a key's mode), nothing else."""
    _populate(home)
    key = home / ".ssh" / "id_team"
    key.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nnot a real key\n-----END OPENSSH PRIVATE KEY-----\n")
    key.chmod(0o644)
    config = home / ".ssh" / "config"
    config.write_text(config.read_text().replace("    Port 9\n", f"    IdentityFile {key}\n"))
    env = {**os.environ, "HOME": str(home)}
    ssh = ["--set", f"gitlab.ssh_config={config}"]  # never the real ~/.ssh/config of ssh's own home
    before = _snapshot(home)
    for args in (
        ["list"],
        ["config"],
        ["fix", "--list"],
        ["fix", "--help"],
        ["init", "--help"],
        ["fix", "--dry-run", *ssh],
        ["fix", *ssh],  # no terminal, no --yes: refused before anything runs
        ["init"],  # no terminal, no --no-input: refused
    ):
        result = run_cli(args, env=env)
        assert result.returncode in (0, 2), (args, result.stderr)
        assert _snapshot(home) == before, args
    fixed = run_cli(["fix", "--yes", *ssh], env=env)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    after = _snapshot(home)
    changed = _changed(before, after)
    assert {".ssh/config", ".ssh/id_team"} <= changed
    assert changed <= _named(fixed.stdout, home), fixed.stdout
    before = after
    init = run_cli(["init", "--no-input", "--project", "team"], env=env)
    assert init.returncode == 0, init.stderr
    changed = _changed(before, _snapshot(home))
    assert ".config/aisg-check/config.yaml" in changed and len(changed) == 2  # the file and its backup
    assert changed <= _named(init.stdout, home)
