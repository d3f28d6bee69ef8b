"""`gitlab.ssh` against a real sshd on 127.0.0.1 that greets like GitLab, one test per layer
and failure. Each test writes its own ~/.ssh/config and known_hosts under its own HOME and
passes them with gitlab.ssh_config (OpenSSH finds ~/.ssh through the password database, not
$HOME); the tests of that lookup itself give ssh another home in a private mount namespace."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aisg_check.check import Recorder, Stop
from aisg_check.checks.gitlab import ssh as layers
from aisg_check.context import CommandResult
from aisg_check.model import CheckResult
from aisg_check.platform import ssh
from aisg_check.platform.ssh import SshConfig
from tests.conftest import require
from tests.helpers import assert_result, make_context, run_component
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
    return run_component(ctx, "gitlab", only=["gitlab.ssh"])


def key_in_home(sshd: GitlabSshServer, home: Path, key: Path, mode: int = 0o600) -> Path:
    return sshd.copy_key(key, home / ".ssh", mode)


def test_pass_greets_the_user_by_name(sshd: GitlabSshServer, home: Path) -> None:
    key = key_in_home(sshd, home, sshd.key_ok)
    results = run_ssh(sshd, sshd.client_home(home, identity=key, port=sshd.port))
    for step in ("config", "key", "hostkey", "auth"):
        assert_result(results, f"gitlab.ssh.{step}", "pass")
    assert results["gitlab.ssh.auth"].details["username"] == gitlab_ssh.USERNAME
    assert results["gitlab.ssh.key"].summary.endswith("~/.ssh/id_ok")
    config = assert_result(results, "gitlab.ssh.config", "pass", summary_has=["(from ~/.ssh/config)"])
    assert config.details["config_file"] == "~/.ssh/config"


def test_the_server_session_reads_its_own_home_not_the_machines(sshd: GitlabSshServer, home: Path) -> None:
    """The stand-in's sessions run the greeting with the login shell, which (bash run by sshd)
    reads ~/.bashrc: from the server's own empty home, never the machine's (root's rc may start
    pyenv, ~0.1 s of CPU per connection that the benchmarks would charge to the tool)."""
    import pwd

    if not pwd.getpwuid(os.getuid()).pw_shell.endswith("/bash"):
        pytest.skip("the login shell is not bash, which is what reads an rc file under sshd")
    marker = sshd.session_home / "rc-was-read"
    rc = sshd.session_home / ".bashrc"
    rc.write_text(f"touch {marker}\n")
    try:
        key = key_in_home(sshd, home, sshd.key_ok)
        results = run_ssh(sshd, sshd.client_home(home, identity=key, port=sshd.port))
        assert_result(results, "gitlab.ssh.auth", "pass")
        assert marker.exists()
    finally:
        rc.unlink()
        marker.unlink(missing_ok=True)


def test_port_not_configured_gives_the_block_to_add(sshd: GitlabSshServer, home: Path) -> None:
    key = key_in_home(sshd, home, sshd.key_ok)
    results = run_ssh(sshd, sshd.client_home(home, identity=key, port=None))
    config = assert_result(
        results,
        "gitlab.ssh.config",
        "fail",
        "GITLAB_SSH_PORT_NOT_CONFIGURED",
        hint_has=[f"Host 127.0.0.1\n    Port {sshd.port}\n    IdentityFile ~/.ssh/id_ok"],
    )
    assert config.details["port"] == 22
    assert results["gitlab.ssh.auth"].blocked_by == "gitlab.ssh.config"


def test_the_connection_started_ahead_goes_to_gitlabs_port_never_the_configs(
    sshd: GitlabSshServer, home: Path
) -> None:
    """ssh -T starts before ssh -G has said which port the user's config gives: with no Port in
    the config it must still knock on GitLab's port, not hand the user's keys to port 22."""
    from aisg_check.context import run_command

    ran: list[tuple[str, ...]] = []

    def recording(argv: Any, **kwargs: Any) -> CommandResult:
        ran.append(tuple(str(a) for a in argv))
        return run_command(argv, **kwargs)

    key = key_in_home(sshd, home, sshd.key_ok)
    config = sshd.client_home(home, identity=key, port=None)
    settings = {
        "timeout": 5,
        "gitlab": {
            "host": "127.0.0.1",
            "ssh_port": sshd.port,
            "ssh_user": sshd.login,
            "ssh_config": str(config),
        },
    }
    results = run_component(
        make_context(settings, env=dict(os.environ), run=recording), "gitlab", only=["gitlab.ssh"]
    )
    assert_result(results, "gitlab.ssh.config", "fail", "GITLAB_SSH_PORT_NOT_CONFIGURED")
    connections = [argv for argv in ran if "-T" in argv]
    assert connections, ran
    for argv in connections:
        assert argv[argv.index("-p") + 1] == str(sshd.port), argv


def test_port_not_configured_hint_names_the_file_ssh_reads(home: Path, tmp_path: Path) -> None:
    ctx = make_context({"gitlab": {"host": "127.0.0.1", "ssh_port": 2222}})
    hint = layers.host_block(ctx, home / ".ssh" / "config", "~/.ssh/id_ok")
    assert "Add this block to ~/.ssh/config (on Windows: C:\\Users\\<you>\\.ssh\\config)" in hint
    # ssh's home is not $HOME (sudo -E, a container): the real file, in full, and no guess for Windows.
    elsewhere = tmp_path / "pwhome" / ".ssh" / "config"
    hint = layers.host_block(ctx, elsewhere, "~/.ssh/id_ok")
    assert f"Add this block to {elsewhere}, then run again" in hint and "~/.ssh/config" not in hint


def test_key_missing(sshd: GitlabSshServer, home: Path) -> None:
    results = run_ssh(sshd, sshd.client_home(home, identity=home / ".ssh" / "id_nothing", port=sshd.port))
    assert_result(
        results, "gitlab.ssh.key", "fail", "GITLAB_SSH_KEY_MISSING", hint_has=["ssh-keygen -t ed25519"]
    )
    assert results["gitlab.ssh.hostkey"].blocked_by == "gitlab.ssh.key"


def test_key_readable_by_others(sshd: GitlabSshServer, home: Path) -> None:
    key = key_in_home(sshd, home, sshd.key_ok, mode=0o644)
    results = run_ssh(sshd, sshd.client_home(home, identity=key, port=sshd.port))
    result = assert_result(
        results, "gitlab.ssh.key", "fail", "GITLAB_SSH_KEY_PERMISSIONS", hint_has=["chmod 600 ~/.ssh/id_ok"]
    )
    assert result.details["unprotected"] == {"~/.ssh/id_ok": "0o644"}


def test_key_readable_by_others_beside_a_good_one_warns(sshd: GitlabSshServer, home: Path) -> None:
    loose = key_in_home(sshd, home, sshd.key_denied, mode=0o640)
    good = key_in_home(sshd, home, sshd.key_ok)
    config = sshd.client_home(home, identity=good, port=sshd.port)
    config.write_text(
        config.read_text().replace("Host 127.0.0.1\n", f"Host 127.0.0.1\n    IdentityFile {loose}\n")
    )
    results = run_ssh(sshd, config)
    assert_result(
        results,
        "gitlab.ssh.key",
        "warn",
        "GITLAB_SSH_KEY_PERMISSIONS",
        hint_has=["chmod 600 ~/.ssh/id_denied"],
    )
    assert_result(results, "gitlab.ssh.auth", "pass")


def test_unknown_host_key_and_known_hosts_left_alone(sshd: GitlabSshServer, home: Path) -> None:
    key = key_in_home(sshd, home, sshd.key_ok)
    config = sshd.client_home(home, identity=key, port=sshd.port, known="none")
    results = run_ssh(sshd, config)
    assert_result(
        results,
        "gitlab.ssh.hostkey",
        "fail",
        "GITLAB_SSH_HOSTKEY_UNKNOWN",
        hint_has=[f"ssh-keyscan -p {sshd.port} 127.0.0.1"],
    )
    assert results["gitlab.ssh.auth"].blocked_by == "gitlab.ssh.hostkey"
    # Read-only: the check must not have accepted the key on the user's behalf.
    assert (home / ".ssh" / "known_hosts").read_text() == ""


def test_changed_host_key(sshd: GitlabSshServer, home: Path) -> None:
    key = key_in_home(sshd, home, sshd.key_ok)
    results = run_ssh(sshd, sshd.client_home(home, identity=key, port=sshd.port, known="changed"))
    hostkey = assert_result(
        results, "gitlab.ssh.hostkey", "fail", "GITLAB_SSH_HOSTKEY_CHANGED", hint_has=["ssh-keygen -R"]
    )
    assert hostkey.details["offending"] == f"{home / '.ssh' / 'known_hosts'}:1"


def test_key_not_authorised(sshd: GitlabSshServer, home: Path) -> None:
    key = key_in_home(sshd, home, sshd.key_denied)
    results = run_ssh(sshd, sshd.client_home(home, identity=key, port=sshd.port))
    assert_result(results, "gitlab.ssh.hostkey", "pass")
    assert_result(
        results,
        "gitlab.ssh.auth",
        "fail",
        "GITLAB_SSH_AUTH_DENIED",
        hint_has=["~/.ssh/id_denied.pub"],
        summary_has=["Permission denied"],
    )


def test_passphrase_without_agent_warns_and_never_prompts(sshd: GitlabSshServer, home: Path) -> None:
    key = key_in_home(sshd, home, sshd.key_passphrase)
    results = run_ssh(sshd, sshd.client_home(home, identity=key, port=sshd.port))
    assert_result(
        results,
        "gitlab.ssh.key",
        "warn",
        "GITLAB_SSH_KEY_PASSPHRASE",
        hint_has=["ssh-add ~/.ssh/id_passphrase"],
    )
    assert_result(results, "gitlab.ssh.hostkey", "pass")
    assert_result(results, "gitlab.ssh.auth", "skip", "GITLAB_SSH_KEY_PASSPHRASE")


def test_vpn_probe_failure_blocks_the_network_layers(sshd: GitlabSshServer, home: Path) -> None:
    port = closed_port()
    key = key_in_home(sshd, home, sshd.key_ok)
    results = run_ssh(sshd, sshd.client_home(home, identity=key, port=port), port=port)
    assert_result(results, "vpn.gitlab-ssh", "fail", "VPN_CONNECT_REFUSED")
    assert_result(results, "gitlab.ssh.config", "pass")  # local layers still say what they know
    assert results["gitlab.ssh.hostkey"].blocked_by == "vpn.gitlab-ssh"


def test_ssh_client_missing(home: Path, tmp_path: Path) -> None:
    ctx = make_context(
        {"gitlab": {"host": "127.0.0.1", "ssh_port": 2222}}, env={**os.environ, "PATH": str(tmp_path)}
    )
    results = run_component(ctx, "gitlab", only=["gitlab.ssh"], skip=["vpn.*"])
    assert_result(results, "gitlab.ssh.config", "fail", "TOOL_MISSING")


def test_key_is_encrypted_reads_the_header(sshd: GitlabSshServer) -> None:
    assert ssh.key_is_encrypted(sshd.key_passphrase)
    assert not ssh.key_is_encrypted(sshd.key_ok)


def test_pem_key_with_encryption_header(tmp_path: Path) -> None:
    pem = tmp_path / "id_rsa"
    pem.write_text(
        "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nAAAA\n"
    )
    assert ssh.key_is_encrypted(pem)


def test_identity_files_expand_like_ssh(home: Path, tmp_path: Path) -> None:
    """`~` and `%d` are ssh's home (the password database's), which need not be $HOME."""
    output = (
        "user git\nhostname gitlab.example\nport 2222\nidentityfile ~/.ssh/id_%r\nidentityfile %d/k_%u_%h\n"
    )
    ssh_home = tmp_path / "pwhome"
    config = ssh.parse(
        output, "git@gitlab.example", home=ssh_home, config_file=ssh_home / ".ssh" / "config", local_user="me"
    )
    assert config.port == 2222 and config.user == "git"
    assert config.identity_files == (ssh_home / ".ssh" / "id_git", ssh_home / "k_me_gitlab.example")


def test_the_user_config_file_is_the_one_ssh_says_it_read() -> None:
    read = (
        "OpenSSH_9.2p1, OpenSSL 3.0\n"
        "debug1: Reading configuration data /srv/pw/.ssh/config\n"
        "debug1: Reading configuration data /srv/pw/.ssh/more.conf\n"
        "debug1: Reading configuration data /etc/ssh/ssh_config\n"
    )
    assert ssh.user_config_read(read) == Path("/srv/pw/.ssh/config")
    # No user file: the first file read is the system one, which names no home.
    assert ssh.user_config_read("debug1: Reading configuration data /etc/ssh/ssh_config\n") is None
    assert ssh.home_from_probe("user git\ncontrolpath /srv/pw\n") == Path("/srv/pw")
    assert ssh.home_from_probe("controlpath %d\n") is None  # an ssh that does not expand %d


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
    from aisg_check import registry

    ctx = make_context({"gitlab": {"host": "127.0.0.1", "ssh_port": 2222}})
    rec = Recorder(registry.check("gitlab.ssh"), docs_base_url="")
    config = SshConfig(
        "git@127.0.0.1", "127.0.0.1", 2222, "git", (home / "id",), (), "", home / ".ssh" / "config", home
    )
    result = CommandResult(("ssh",), 255, "", output)
    with contextlib.suppress(Stop):
        layers.hostkey_layer(ctx, rec, config, result)
        layers.auth_layer(ctx, rec, config, layers.KeyState((home / "id",), 0, False), result)
    by_id = {r.id: r for r in rec.results}
    assert_result(by_id, f"gitlab.ssh.{step}", "fail", code)
    if step == "auth":
        assert_result(by_id, "gitlab.ssh.hostkey", "pass")


def test_ssh_config_with_a_bad_line_is_invalid(sshd: GitlabSshServer, home: Path) -> None:
    key = key_in_home(sshd, home, sshd.key_ok)
    config = sshd.client_home(home, identity=key, port=sshd.port)
    config.write_text(config.read_text() + "\nNoSuchOption yes\n")
    results = run_ssh(sshd, config)
    result = assert_result(
        results, "gitlab.ssh.config", "fail", "GITLAB_SSH_CONFIG_INVALID", hint_has=["ssh -G"]
    )
    assert "bad configuration option" in result.summary.lower()
    assert "debug1" not in result.summary  # ssh's own word, not the -v chatter
    assert results["gitlab.ssh.auth"].blocked_by == "gitlab.ssh.config"


# -- a config file ssh cannot use: ssh skips it without a word; the check names it -------------------


def test_ssh_config_that_is_a_directory_is_named(sshd: GitlabSshServer, home: Path) -> None:
    folder = home / ".ssh" / "config"
    folder.mkdir(parents=True)
    results = run_ssh(sshd, folder)
    result = assert_result(
        results,
        "gitlab.ssh.config",
        "fail",
        "GITLAB_SSH_CONFIG_UNREADABLE",
        summary_has=["~/.ssh/config is a directory"],
        hint_has=["mv ~/.ssh/config", "Add this block to ~/.ssh/config"],
    )
    assert result.details["config_file"] == "~/.ssh/config"
    assert results["gitlab.ssh.auth"].blocked_by == "gitlab.ssh.config"


@pytest.mark.parametrize("how", ["symlink loop", "no read permission"])
def test_ssh_config_that_cannot_be_read_is_named(sshd: GitlabSshServer, home: Path, how: str) -> None:
    key = key_in_home(sshd, home, sshd.key_ok)
    config = sshd.client_home(home, identity=key, port=sshd.port)
    if how == "symlink loop":
        config.unlink()
        config.symlink_to(config)
    else:
        if os.geteuid() == 0:
            pytest.skip("root reads a file whatever its mode")
        config.chmod(0)
    results = run_ssh(sshd, config)
    assert_result(
        results,
        "gitlab.ssh.config",
        "fail",
        "GITLAB_SSH_CONFIG_UNREADABLE",
        summary_has=["~/.ssh/config cannot be read"],
        hint_has=["chmod 600 ~/.ssh/config"],
    )


# -- ssh's home is the password database's, not $HOME (sudo -E, containers) -----------------------------


@pytest.fixture()
def pw_home(tmp_path: Path) -> Path:
    """ssh's home for the tests below: a directory that is not $HOME (the `home` fixture)."""
    problem = gitlab_ssh.passwd_home_problem()
    if problem:
        pytest.skip(problem)
    (tmp_path / "pwhome" / ".ssh").mkdir(parents=True, mode=0o700)
    return tmp_path / "pwhome"


def run_as_pw_home(sshd: GitlabSshServer, pw_home: Path) -> dict[str, CheckResult]:
    """The check with no ssh_config setting, as a user runs it; ssh's children see `pw_home`."""
    settings = {"timeout": 5, "gitlab": {"host": "127.0.0.1", "ssh_port": sshd.port, "ssh_user": sshd.login}}
    run = gitlab_ssh.passwd_home_runner(pw_home, pw_home.parent)
    return run_component(make_context(settings, env=dict(os.environ), run=run), "gitlab", only=["gitlab.ssh"])


def test_ssh_reads_the_config_of_the_password_database_home(
    sshd: GitlabSshServer, home: Path, pw_home: Path
) -> None:
    sshd.copy_key(sshd.key_ok, pw_home / ".ssh")
    (pw_home / ".ssh" / "known_hosts").write_text(sshd.known_hosts_line())
    config = pw_home / ".ssh" / "config"
    config.write_text(
        f"Host 127.0.0.1\n    Port {sshd.port}\n    IdentityFile ~/.ssh/id_ok\n"
        "    UserKnownHostsFile ~/.ssh/known_hosts\n    GlobalKnownHostsFile /dev/null\n"
    )
    results = run_as_pw_home(sshd, pw_home)
    step = assert_result(results, "gitlab.ssh.config", "pass", summary_has=[f"(from {config})"])
    assert step.details["config_file"] == str(config)
    # `~` in the config is ssh's home: the key found is the one ssh offers, named in full.
    assert_result(results, "gitlab.ssh.key", "pass", summary_has=[str(pw_home / ".ssh" / "id_ok")])
    assert_result(results, "gitlab.ssh.auth", "pass")
    assert not (home / ".ssh").exists()


def test_a_missing_config_is_named_where_ssh_looks(sshd: GitlabSshServer, home: Path, pw_home: Path) -> None:
    (home / ".ssh").mkdir()
    (home / ".ssh" / "config").write_text(f"Host 127.0.0.1\n    Port {sshd.port}\n")  # ssh never reads this
    results = run_as_pw_home(sshd, pw_home)
    config = pw_home / ".ssh" / "config"
    assert_result(
        results,
        "gitlab.ssh.config",
        "fail",
        "GITLAB_SSH_PORT_NOT_CONFIGURED",
        summary_has=[f"{config} does not exist"],
        hint_has=[f"Add this block to {config}, then run again"],
    )


@pytest.mark.parametrize("kind", ["directory", "symlink loop"])
def test_an_unusable_config_is_named_where_ssh_looks(
    sshd: GitlabSshServer, home: Path, pw_home: Path, kind: str
) -> None:
    config = pw_home / ".ssh" / "config"
    if kind == "directory":
        config.mkdir()
    else:
        config.symlink_to(config)
    results = run_as_pw_home(sshd, pw_home)
    result = assert_result(
        results, "gitlab.ssh.config", "fail", "GITLAB_SSH_CONFIG_UNREADABLE", summary_has=[str(config)]
    )
    assert str(config) in (result.hint or "") and "~/.ssh/config" not in (result.hint or "")


# -- in a pod -----------------------------------------------------------------------------------------


def test_not_applicable_in_a_pod(sshd: GitlabSshServer, home: Path, tmp_path: Path) -> None:
    """A pod (KUBERNETES_SERVICE_HOST set, a service account token mounted) has no user's ssh
    setup: the layers say so instead of failing on the missing key, and ssh is never run."""
    account = tmp_path / "serviceaccount"
    account.mkdir()
    (account / "token").write_text("pod-token")
    ran: list[tuple[str, ...]] = []

    def run(argv: Any, **kwargs: Any) -> CommandResult:
        ran.append(tuple(argv))
        raise AssertionError(f"ran {argv} in a pod")

    settings = {"gitlab": {"host": "127.0.0.1", "ssh_port": sshd.port, "ssh_user": sshd.login}}
    env = {**os.environ, "KUBERNETES_SERVICE_HOST": "127.0.0.1"}
    ctx = make_context(settings, env=env, run=run, service_account_dir=account)
    assert ctx.in_cluster
    results = run_component(ctx, "gitlab", only=["gitlab.ssh"], skip=["vpn.*"])
    for step in ("config", "key", "hostkey", "auth"):
        assert_result(results, f"gitlab.ssh.{step}", "skip", "NOT_APPLICABLE", summary_has=["in a pod"])
    assert not ran
    # The same machine without the token mounted is a laptop again: the check runs.
    (account / "token").unlink()
    laptop = make_context(settings, env=env, run=run, service_account_dir=account)
    results = run_component(laptop, "gitlab", only=["gitlab.ssh"], skip=["vpn.*"])
    assert ran and ran[0][0] == "ssh"  # `ssh -G`: the config layer ran
    assert results["gitlab.ssh.config"].code != "NOT_APPLICABLE"
