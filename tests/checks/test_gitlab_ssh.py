"""`gitlab.ssh` against a real sshd on 127.0.0.1 that greets like GitLab, one test per layer
and failure. Each test writes its own ~/.ssh/config and known_hosts under its own HOME and
passes them with gitlab.ssh_config (OpenSSH finds ~/.ssh through the password database, not
$HOME)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aisg_check import registry
from aisg_check.checks import gitlab
from aisg_check.model import CheckResult, Status
from aisg_check.runner import run_checks
from tests.conftest import require
from tests.helpers import make_context
from tests.servers import gitlab_ssh
from tests.servers.gitlab_ssh import GitlabSshServer
from tests.servers.tls import closed_port


@pytest.fixture(scope="session")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GitlabSshServer]:
    missing = gitlab_ssh.available()
    require(missing is None, missing or "")
    server = GitlabSshServer(tmp_path_factory.mktemp("sshd"))
    yield server
    server.stop()


def run_ssh(
    sshd: GitlabSshServer, config: Path, port: int | None = None, **env: str
) -> dict[str, CheckResult]:
    settings: dict[str, Any] = {
        "timeout": 5,
        "gitlab": {
            "host": "127.0.0.1",
            "ssh_port": port or sshd.port,
            "ssh_user": sshd.login,
            "ssh_config": str(config),
        },
    }
    ctx = make_context(settings, env={**os.environ, **env})
    report = run_checks(ctx, registry.select(None, only=["gitlab.ssh"]))
    return {r.id: r for r in report.results}


def key_in_home(sshd: GitlabSshServer, home: Path, key: Path, mode: int = 0o600) -> Path:
    return sshd.copy_key(key, home / ".ssh", mode)


def test_pass_greets_the_user_by_name(sshd: GitlabSshServer, home: Path) -> None:
    key = key_in_home(sshd, home, sshd.key_ok)
    results = run_ssh(sshd, sshd.client_home(home, identity=key, port=sshd.port))
    assert [results[f"gitlab.ssh.{s}"].status for s in ("config", "key", "hostkey", "auth")] == [
        Status.PASS
    ] * 4
    assert results["gitlab.ssh.auth"].details["username"] == gitlab_ssh.USERNAME
    assert results["gitlab.ssh.key"].summary.endswith("~/.ssh/id_ok")


def test_port_not_configured_gives_the_block_to_add(sshd: GitlabSshServer, home: Path) -> None:
    key = key_in_home(sshd, home, sshd.key_ok)
    results = run_ssh(sshd, sshd.client_home(home, identity=key, port=None))
    config = results["gitlab.ssh.config"]
    assert config.status is Status.FAIL and config.code == "GITLAB_SSH_PORT_NOT_CONFIGURED"
    assert config.details["port"] == 22
    assert f"Host 127.0.0.1\n    Port {sshd.port}\n    IdentityFile ~/.ssh/id_ok" in (config.hint or "")
    assert results["gitlab.ssh.auth"].blocked_by == "gitlab.ssh.config"


def test_port_not_configured_hint_names_the_windows_file(sshd: GitlabSshServer, home: Path) -> None:
    key = key_in_home(sshd, home, sshd.key_ok)
    config = sshd.client_home(home, identity=key, port=None)
    ctx = make_context({"gitlab": {"host": "127.0.0.1", "ssh_port": sshd.port, "ssh_user": sshd.login}})
    hint = gitlab._host_block(ctx, "127.0.0.1", sshd.port, "~/.ssh/id_ok")
    assert "~/.ssh/config" in hint and "C:\\Users\\<you>\\.ssh\\config" in hint
    assert config.exists()


def test_key_missing(sshd: GitlabSshServer, home: Path) -> None:
    results = run_ssh(sshd, sshd.client_home(home, identity=home / ".ssh" / "id_nothing", port=sshd.port))
    key = results["gitlab.ssh.key"]
    assert key.status is Status.FAIL and key.code == "GITLAB_SSH_KEY_MISSING"
    assert "ssh-keygen -t ed25519" in (key.hint or "")
    assert results["gitlab.ssh.hostkey"].blocked_by == "gitlab.ssh.key"


def test_key_readable_by_others(sshd: GitlabSshServer, home: Path) -> None:
    key = key_in_home(sshd, home, sshd.key_ok, mode=0o644)
    results = run_ssh(sshd, sshd.client_home(home, identity=key, port=sshd.port))
    result = results["gitlab.ssh.key"]
    assert result.status is Status.FAIL and result.code == "GITLAB_SSH_KEY_PERMISSIONS"
    assert "chmod 600 ~/.ssh/id_ok" in (result.hint or "")
    assert result.details["unprotected"] == {"~/.ssh/id_ok": "0o644"}


def test_unknown_host_key_and_known_hosts_left_alone(sshd: GitlabSshServer, home: Path) -> None:
    key = key_in_home(sshd, home, sshd.key_ok)
    config = sshd.client_home(home, identity=key, port=sshd.port, known="none")
    results = run_ssh(sshd, config)
    hostkey = results["gitlab.ssh.hostkey"]
    assert hostkey.status is Status.FAIL and hostkey.code == "GITLAB_SSH_HOSTKEY_UNKNOWN"
    assert f"ssh-keyscan -p {sshd.port} 127.0.0.1" in (hostkey.hint or "")
    assert results["gitlab.ssh.auth"].blocked_by == "gitlab.ssh.hostkey"
    # Read-only: the check must not have accepted the key on the user's behalf.
    assert (home / ".ssh" / "known_hosts").read_text() == ""


def test_changed_host_key(sshd: GitlabSshServer, home: Path) -> None:
    key = key_in_home(sshd, home, sshd.key_ok)
    results = run_ssh(sshd, sshd.client_home(home, identity=key, port=sshd.port, known="changed"))
    hostkey = results["gitlab.ssh.hostkey"]
    assert hostkey.status is Status.FAIL and hostkey.code == "GITLAB_SSH_HOSTKEY_CHANGED"
    assert hostkey.details["offending"] == f"{home / '.ssh' / 'known_hosts'}:1"
    assert "ssh-keygen -R" in (hostkey.hint or "")


def test_key_not_authorised(sshd: GitlabSshServer, home: Path) -> None:
    key = key_in_home(sshd, home, sshd.key_denied)
    results = run_ssh(sshd, sshd.client_home(home, identity=key, port=sshd.port))
    assert results["gitlab.ssh.hostkey"].status is Status.PASS
    auth = results["gitlab.ssh.auth"]
    assert auth.status is Status.FAIL and auth.code == "GITLAB_SSH_AUTH_DENIED"
    assert "~/.ssh/id_denied.pub" in (auth.hint or "")
    assert "Permission denied" in auth.summary


def test_passphrase_without_agent_warns_and_never_prompts(sshd: GitlabSshServer, home: Path) -> None:
    key = key_in_home(sshd, home, sshd.key_passphrase)
    results = run_ssh(sshd, sshd.client_home(home, identity=key, port=sshd.port))
    assert results["gitlab.ssh.key"].status is Status.WARN
    assert results["gitlab.ssh.key"].code == "GITLAB_SSH_KEY_PASSPHRASE"
    assert "ssh-add ~/.ssh/id_passphrase" in (results["gitlab.ssh.key"].hint or "")
    assert results["gitlab.ssh.hostkey"].status is Status.PASS
    assert results["gitlab.ssh.auth"].status is Status.SKIP
    assert results["gitlab.ssh.auth"].code == "GITLAB_SSH_KEY_PASSPHRASE"


def test_vpn_probe_failure_blocks_the_network_layers(sshd: GitlabSshServer, home: Path) -> None:
    port = closed_port()
    key = key_in_home(sshd, home, sshd.key_ok)
    results = run_ssh(sshd, sshd.client_home(home, identity=key, port=port), port=port)
    assert results["vpn.gitlab-ssh"].code == "VPN_CONNECT_REFUSED"
    assert results["gitlab.ssh.config"].status is Status.PASS  # local layers still say what they know
    assert results["gitlab.ssh.hostkey"].blocked_by == "vpn.gitlab-ssh"


def test_ssh_client_missing(home: Path, tmp_path: Path) -> None:
    ctx = make_context(
        {"gitlab": {"host": "127.0.0.1", "ssh_port": 2222}}, env={**os.environ, "PATH": str(tmp_path)}
    )
    report = run_checks(ctx, [registry.check("gitlab.ssh")])
    result = {r.id: r for r in report.results}["gitlab.ssh.config"]
    assert result.status is Status.FAIL and result.code == "TOOL_MISSING"


def test_key_is_encrypted_reads_the_header(sshd: GitlabSshServer) -> None:
    assert gitlab.key_is_encrypted(sshd.key_passphrase)
    assert not gitlab.key_is_encrypted(sshd.key_ok)


def test_pem_key_with_encryption_header(tmp_path: Path) -> None:
    pem = tmp_path / "id_rsa"
    pem.write_text(
        "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nAAAA\n"
    )
    assert gitlab.key_is_encrypted(pem)


def test_identity_files_expand_like_ssh(home: Path) -> None:
    ctx = make_context({"gitlab": {"host": "gitlab.example"}}, env={**os.environ, "USER": "me"})
    output = (
        "user git\nhostname gitlab.example\nport 2222\nidentityfile ~/.ssh/id_%r\nidentityfile %d/k_%u_%h\n"
    )
    config = gitlab._parse_ssh_g(ctx, "git@gitlab.example", output)
    assert config.port == 2222 and config.user == "git"
    assert config.identity_files == (home / ".ssh" / "id_git", home / "k_me_gitlab.example")


@pytest.mark.parametrize(
    ("output", "step", "code"),
    [
        ("ssh: connect to host 127.0.0.1 port 2222: Connection refused", "hostkey", "VPN_CONNECT_REFUSED"),
        ("ssh: connect to host 127.0.0.1 port 2222: Connection timed out", "hostkey", "VPN_CONNECT_TIMEOUT"),
        (
            "kex_exchange_identification: Connection closed by remote host",
            "hostkey",
            "ENDPOINT_UNEXPECTED_ANSWER",
        ),
        (
            "Received disconnect from 127.0.0.1 port 2222:2: Too many authentication failures\n"
            "Disconnected from 127.0.0.1 port 2222",
            "auth",
            "GITLAB_SSH_AUTH_DENIED",
        ),
        ("git@127.0.0.1: Permission denied (publickey).", "auth", "GITLAB_SSH_AUTH_DENIED"),
        ("Welcome to GitLab, Anonymous!", "auth", "GITLAB_SSH_AUTH_DENIED"),
        ("PTY allocation request failed\r\nhello", "auth", "ENDPOINT_UNEXPECTED_ANSWER"),
    ],
)
def test_ssh_answers_are_told_apart(home: Path, output: str, step: str, code: str) -> None:
    """ssh's own messages for failures a local sshd cannot easily be made to produce."""
    from aisg_check.check import Recorder
    from aisg_check.context import CommandResult

    ctx = make_context({"gitlab": {"host": "127.0.0.1", "ssh_port": 2222}})
    check = registry.check("gitlab.ssh")
    rec = Recorder(check, docs_base_url="")
    config = gitlab.SshConfig("git@127.0.0.1", "127.0.0.1", 2222, "git", (home / "id",), (), "")
    result = CommandResult(("ssh",), 255, "", output)
    if gitlab._hostkey_layer(ctx, rec, config, result):
        gitlab._auth_layer(ctx, rec, config, gitlab.KeyState((home / "id",), 0, False), result)
    by_id = {r.id: r for r in rec.results}
    assert by_id[f"gitlab.ssh.{step}"].code == code
    if step == "auth":
        assert by_id["gitlab.ssh.hostkey"].status is Status.PASS


def test_ssh_config_with_a_bad_line_is_invalid(sshd: GitlabSshServer, home: Path) -> None:
    key = key_in_home(sshd, home, sshd.key_ok)
    config = sshd.client_home(home, identity=key, port=sshd.port)
    config.write_text(config.read_text() + "\nNoSuchOption yes\n")
    results = run_ssh(sshd, config)
    result = results["gitlab.ssh.config"]
    assert (result.status, result.code) == (Status.FAIL, "GITLAB_SSH_CONFIG_INVALID"), result.summary
    assert "bad configuration option" in result.summary.lower()
    assert "ssh -G" in (result.hint or "")
    assert results["gitlab.ssh.auth"].blocked_by == "gitlab.ssh.config"
