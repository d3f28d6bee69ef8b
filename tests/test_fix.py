"""`aisg-check fix`: real files in a temporary HOME, the real ssh client (and a real sshd where the
fix is proven all the way to authentication), git against nginx + git-http-backend, botocore's
own reading of ~/.aws/config. Each fix: shown, asked, backed up, written atomically, idempotent,
proven by the check run again, and undone when the check still reports the code."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pexpect
import pytest

from aisg_check import fixes
from aisg_check.fixes import ssh_host
from aisg_check.fixes.plan import Refused, redact
from aisg_check.model import CheckResult, RunReport, Status
from aisg_check.reporters import RenderOptions
from aisg_check.reporters.table import render
from tests.conftest import require
from tests.helpers import LOOPBACK_PROFILE, merge, run_cli, write_config
from tests.servers import gitlab_http, gitlab_ssh
from tests.servers.gitlab_http import TOKENS, GitlabHttpServer
from tests.servers.gitlab_ssh import GitlabSshServer
from tests.servers.tls import closed_port

PORT_CODE = "GITLAB_SSH_PORT_NOT_CONFIGURED"


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GitlabSshServer]:
    missing = gitlab_ssh.available()
    require(missing is None, missing or "")
    server = GitlabSshServer(tmp_path_factory.mktemp("sshd-fix"))
    yield server
    server.stop()


def user_config(home: Path, extra: dict[str, Any]) -> Path:
    return write_config(home / ".config" / "aisg-check" / "config.yaml", merge(LOOPBACK_PROFILE, extra))


def ssh_setup(home: Path, port: int, config_text: str, user: str = "git") -> Path:
    """An ssh config under HOME, named by gitlab.ssh_config (ssh finds ~ through the password
    database, never $HOME: without it the test would read, and fix, the real ~/.ssh/config)."""
    ssh_dir = home / ".ssh"
    ssh_dir.mkdir(mode=0o700, exist_ok=True)
    config = ssh_dir / "config"
    config.write_text(config_text)
    user_config(
        home, {"gitlab": {"host": "127.0.0.1", "ssh_port": port, "ssh_user": user, "ssh_config": str(config)}}
    )
    return config


HISTORY = ".local/state/aisg-check/"  # the tool's own run history (history.py), not a user's file


def snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    return {
        name: (p.read_bytes(), stat.S_IMODE(p.stat().st_mode))
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.is_symlink() and not (name := str(p.relative_to(root))).startswith(HISTORY)
    }


def cli(*args: str, **env: str) -> Any:
    return run_cli(list(args), env={**os.environ, **env})


# -- the ssh config edit, proven by `ssh -G` itself ----------------------------------------------


def effective_port(config: Path) -> int:
    out = subprocess.run(
        ["ssh", "-F", str(config), "-G", "git@127.0.0.1"], capture_output=True, text=True, timeout=20
    )
    assert out.returncode == 0, out.stderr
    return int(next(line.split()[1] for line in out.stdout.splitlines() if line.startswith("port ")))


@pytest.mark.parametrize(
    ("before", "expected"),
    [
        ("", "Host 127.0.0.1\n    Port 2222\n"),
        ("Host 127.0.0.1\n  User git\n", "Host 127.0.0.1\n  Port 2222\n  User git\n"),
        ("Host 127.0.0.1\n    Port 22\n    User git\n", "Host 127.0.0.1\n    Port 2222\n    User git\n"),
        (
            "# mine\nServerAliveInterval 30\n\nHost other\n    Port 7\n",
            "# mine\nServerAliveInterval 30\n\nHost 127.0.0.1\n    Port 2222\n\nHost other\n    Port 7\n",
        ),
        (  # an earlier wildcard block sets the port: the block goes before it
            "Host *\n    Port 22\nHost 127.0.0.1\n    User git\n",
            "Host 127.0.0.1\n    Port 2222\n\nHost *\n    Port 22\nHost 127.0.0.1\n    User git\n",
        ),
        ("Host a\r\n    User x\r\n", "Host 127.0.0.1\r\n    Port 2222\r\n\r\nHost a\r\n    User x\r\n"),
        ("Compression yes", "Compression yes\n\nHost 127.0.0.1\n    Port 2222\n"),
    ],
)
def test_the_port_lands_where_ssh_reads_it_first(tmp_path: Path, before: str, expected: str) -> None:
    after = ssh_host.edited(before, "127.0.0.1", 2222, None, "~/.ssh/config")
    assert after == expected
    config = tmp_path / "config"
    config.write_bytes(after.encode())
    assert effective_port(config) == 2222
    assert ssh_host.edited(after, "127.0.0.1", 2222, None, "x") == after  # idempotent


def test_a_port_for_every_host_is_left_to_the_user() -> None:
    with pytest.raises(Refused, match=r"line 2 of ~/\.ssh/config sets `Port` for every host"):
        ssh_host.edited("User me\nPort 22\nHost x\n", "127.0.0.1", 2222, None, "~/.ssh/config")


# -- the whole command ---------------------------------------------------------------------------


def named_in(output: str, home: Path) -> set[str]:
    """The files the fix says it changed, made or backed up (as shown: ~/… or absolute)."""
    names = set()
    for word in output.replace("(", " ").replace(")", " ").replace(";", " ").split():
        if word.startswith("~/"):
            names.add(word[2:])
        elif word.startswith(str(home) + "/"):
            names.add(word[len(str(home)) + 1 :])
    return names


def test_port_and_key_fixed_and_proven_against_a_real_sshd(sshd: GitlabSshServer, home: Path) -> None:
    key = sshd.copy_key(sshd.key_ok, home / ".ssh", mode=0o644)
    config = sshd.client_home(home, identity=key, port=None)
    user_config(
        home,
        {
            "gitlab": {
                "host": "127.0.0.1",
                "ssh_port": sshd.port,
                "ssh_user": sshd.login,
                "ssh_config": str(config),
            }
        },
    )
    before = snapshot(home)
    result = cli("fix", "--yes", "--only", "gitlab.ssh")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 fixed." in result.stdout
    assert f"    Port {sshd.port}\n" in config.read_text()
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    after = snapshot(home)
    changed = {p for p in after if before.get(p) != after[p]}
    assert changed == {".ssh/config", ".ssh/id_ok", *[p for p in after if p.endswith(".bak")]}
    assert changed <= named_in(result.stdout, home), result.stdout
    backup = next(p for p in after if p.startswith(".ssh/config.aisg-check-"))
    assert after[backup] == (before[".ssh/config"][0], 0o600)  # the old content, private
    # Proven all the way: GitLab (sshd) greets the user.
    check = cli("gitlab", "--only", "gitlab.ssh", "--format", "json")
    statuses = {r["id"]: r["status"] for r in check.json()["results"]}
    assert statuses["gitlab.ssh.auth"] == "pass", check.stdout
    # Idempotent: nothing left to do, nothing written.
    again = cli("fix", "--yes", "--only", "gitlab.ssh")
    assert again.returncode == 0 and "Nothing to fix automatically." in again.stdout
    assert snapshot(home) == after


def test_a_fix_the_check_does_not_confirm_is_undone(home: Path, tmp_path: Path) -> None:
    included = tmp_path / "included"
    included.write_text("Port 22\n")  # read first, before any Host block: it wins
    text = f"Include {included}\nHost 127.0.0.1\n    User git\n"
    config = ssh_setup(home, closed_port(), text)
    before = snapshot(home)
    result = cli("fix", PORT_CODE, "--yes")
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"The check still says {PORT_CODE}" in result.stdout and "restored ~/.ssh/config" in result.stdout
    assert config.read_text() == text
    assert snapshot(home) == before  # and no backup left behind


def test_dry_run_shows_the_diff_and_writes_nothing(home: Path) -> None:
    ssh_setup(home, 2222, "Host 127.0.0.1\n    User git\n")
    before = snapshot(home)
    result = cli("fix", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "+    Port 2222" in result.stdout and "Dry run: nothing changed." in result.stdout
    assert snapshot(home) == before


def test_without_a_terminal_it_asks_for_yes_or_dry_run(home: Path) -> None:
    ssh_setup(home, 2222, "")
    before = snapshot(home)
    result = cli("fix")
    assert result.returncode == 2
    assert "pass --yes or --dry-run" in result.stderr
    assert snapshot(home) == before


def spawn(*args: str) -> pexpect.spawn:
    return pexpect.spawn(
        sys.executable,
        ["-m", "aisg_check", *args],
        env={**os.environ, "TERM": "dumb"},
        encoding="utf-8",
        timeout=60,
        dimensions=(50, 200),
    )


@pytest.mark.parametrize(("answer", "code"), [("n", 1), ("y", 0), ("^C", 130)])
def test_it_asks_before_changing_anything(home: Path, answer: str, code: int) -> None:
    config = ssh_setup(home, 2222, "Host 127.0.0.1\n    User git\n")
    before = snapshot(home)
    child = spawn("fix", PORT_CODE)
    child.expect("Apply this fix")
    if answer == "^C":
        child.sendintr()
    else:
        child.sendline(answer)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == code, child.before
    if answer == "y":
        assert "Port 2222" in config.read_text()
    else:
        assert snapshot(home) == before


# -- git's trust in the CA bundle, for GitLab only -----------------------------------------------


@pytest.fixture(scope="module")
def gitlab_web(tmp_path_factory: pytest.TempPathFactory, ca: Any) -> Iterator[GitlabHttpServer]:
    missing = gitlab_http.available()
    require(missing is None, missing or "")
    server = GitlabHttpServer(tmp_path_factory.mktemp("gitlab-http-fix"), ca)
    yield server
    server.stop()


def test_git_trusts_the_bundle_for_gitlab_only(
    gitlab_web: GitlabHttpServer, ca_file: Path, home: Path
) -> None:
    gitconfig = home / ".gitconfig"
    gitconfig.write_text("[user]\n\tname = Alice\n")
    user_config(
        home, {"ca_bundle": str(ca_file), "gitlab": {"url": gitlab_web.url, "repo": gitlab_web.repo_url}}
    )
    token = TOKENS["valid"].value
    report = cli("gitlab", "--only", "gitlab.https", "--format", "json", GITLAB_TOKEN=token)
    git = next(r for r in report.json()["results"] if r["id"] == "gitlab.https.git")
    assert (git["code"], git["fix"]) == ("TLS_UNTRUSTED_CERT", "aisg-check fix TLS_UNTRUSTED_CERT")
    result = cli("fix", "TLS_UNTRUSTED_CERT", "--yes", GITLAB_TOKEN=token)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"git config --global http.{gitlab_web.url}.sslCAInfo {ca_file}" in result.stdout
    assert "Fixed: gitlab.https.git passes" in result.stdout
    assert token not in result.stdout + result.stderr
    text = gitconfig.read_text()
    assert "name = Alice" in text and f'[http "{gitlab_web.url}"]' in text and str(ca_file) in text
    assert "[http]" not in text  # never git's trust for every host
    assert len(list(home.glob(".gitconfig.aisg-check-*.bak"))) == 1
    again = cli("fix", "TLS_UNTRUSTED_CERT", "--yes", GITLAB_TOKEN=token)
    assert (
        again.returncode == 0 and "Nothing to fix: no check reports TLS_UNTRUSTED_CERT now." in again.stdout
    )


def git_result() -> CheckResult:
    return CheckResult(
        "gitlab.https.git", "gitlab", "git", Status.FAIL, "untrusted", code="TLS_UNTRUSTED_CERT"
    )


def test_git_fix_offered_only_with_a_bundle_and_only_for_git(ca_file: Path) -> None:
    from tests.helpers import make_context

    with_bundle = make_context({"ca_bundle": str(ca_file), "gitlab": {"url": "https://127.0.0.1:9"}})
    without = make_context({"gitlab": {"url": "https://127.0.0.1:9"}})
    assert fixes.find(with_bundle, git_result()) is not None
    assert fixes.find(without, git_result()) is None
    elsewhere = CheckResult("vpn.gitlab", "vpn", "x", Status.FAIL, "untrusted", code="TLS_UNTRUSTED_CERT")
    assert fixes.find(with_bundle, elsewhere) is None
    in_pod = make_context({"ca_bundle": str(ca_file), "fleet": {"mode": "cluster"}})
    assert fixes.find(in_pod, git_result()) is None


# -- the ECS endpoint in ~/.aws/config -----------------------------------------------------------

CANARY = "CANARYsecretKEY0123456789abcdef"


def test_ecs_endpoint_set_for_the_profile_without_showing_a_key(home: Path) -> None:
    aws = home / ".aws"
    aws.mkdir()
    (aws / "credentials").write_text(
        f"[team]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = {CANARY}\n"
    )
    (aws / "config").write_text(
        f"[default]\nregion = x\n\n[profile team]\naws_secret_access_key = {CANARY}\n"
    )
    endpoint = f"http://127.0.0.1:{closed_port()}"
    user_config(home, {"ecs": {"endpoint_url": endpoint, "profile": "team"}})
    result = cli("fix", "ECS_ENDPOINT_NOT_SET", "--yes")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"+endpoint_url = {endpoint}" in result.stdout
    assert CANARY not in result.stdout + result.stderr
    assert "aws_secret_access_key = ***" in result.stdout  # the diff's context line, masked
    assert (aws / "config").read_text() == (
        "[default]\nregion = x\n\n[profile team]\n"
        f"endpoint_url = {endpoint}\naws_secret_access_key = {CANARY}\n"
    )
    assert "Fixed: ecs.endpoint passes" in result.stdout


def test_redact_masks_credential_lines_only() -> None:
    assert redact(" aws_session_token = abc") == " aws_session_token = ***"
    assert redact("+password: hunter2") == "+password: ***"
    assert redact("    IdentityFile ~/.ssh/id") == "    IdentityFile ~/.ssh/id"


# -- every output format says so -----------------------------------------------------------------


def test_the_table_marks_results_with_an_automatic_fix() -> None:
    fixed = CheckResult(
        "gitlab.ssh.config",
        "gitlab",
        "c",
        Status.FAIL,
        "port 22",
        code=PORT_CODE,
        hint="Add",
        fix=f"aisg-check fix {PORT_CODE}",
    )
    plain = CheckResult(
        "gitlab.ssh.key", "gitlab", "k", Status.FAIL, "no key", code="GITLAB_SSH_KEY_MISSING", hint="Make one"
    )
    report = RunReport("aisg-check", "0", "2026-01-01T00:00:00Z", 0.1, (fixed, plain))
    text = render(report, RenderOptions(width=200))
    assert text.count("automatic fix:") == 1 and f"⚙ automatic fix: aisg-check fix {PORT_CODE}" in text
    assert f"* automatic fix: aisg-check fix {PORT_CODE}" in render(
        report, RenderOptions(width=200, unicode=False)
    )


def test_a_run_names_the_fix_in_json_and_table(home: Path) -> None:
    ssh_setup(home, 2222, "Host 127.0.0.1\n    User git\n")
    data = cli("gitlab", "--only", "gitlab.ssh", "--format", "json").json()
    fixes_by_id = {r["id"]: r["fix"] for r in data["results"]}
    assert fixes_by_id["gitlab.ssh.config"] == f"aisg-check fix {PORT_CODE}"
    assert {v for k, v in fixes_by_id.items() if k != "gitlab.ssh.config"} == {None}
    table = cli("gitlab", "--only", "gitlab.ssh")
    assert f"automatic fix: aisg-check fix {PORT_CODE}" in table.stdout


# -- usage -----------------------------------------------------------------------------------------


def test_codes_without_a_fix_and_unknown_codes_are_usage_errors(home: Path) -> None:
    no_fix = cli("fix", "GITLAB_SSH_HOSTKEY_CHANGED", "--yes")
    assert no_fix.returncode == 2 and "has no automatic fix. What to do: Ask the MLOps team" in no_fix.stderr
    unknown = cli("fix", "NO_SUCH_CODE", "--yes")
    assert unknown.returncode == 2 and "unknown code 'NO_SUCH_CODE'" in unknown.stderr
    listed = cli("fix", "--list")
    assert listed.returncode == 0 and set(listed.stdout.split()) >= fixes.CODES


def test_nothing_to_fix_is_success(home: Path) -> None:
    ssh_setup(home, 2222, "Host 127.0.0.1\n    Port 2222\n")
    result = cli("fix", PORT_CODE, "--yes")
    assert result.returncode == 0 and f"Nothing to fix: no check reports {PORT_CODE} now." in result.stdout


# -- the atomic write with a backup (edits.py) ---------------------------------------------------


def test_a_new_file_is_private_in_a_private_directory(tmp_path: Path) -> None:
    from aisg_check import edits

    written = edits.replace(tmp_path / "new" / "config", "x\n")
    assert written.created and written.backup is None
    assert stat.S_IMODE((tmp_path / "new").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "new" / "config").stat().st_mode) == 0o600


def test_an_existing_file_keeps_its_mode_and_gets_a_private_backup(tmp_path: Path) -> None:
    from aisg_check import edits

    path = tmp_path / "config"
    path.write_text("old\n")
    path.chmod(0o644)
    written = edits.replace(path, "new\n")
    assert path.read_text() == "new\n" and stat.S_IMODE(path.stat().st_mode) == 0o644
    assert written.backup is not None and written.backup.read_text() == "old\n"
    assert stat.S_IMODE(written.backup.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config", written.backup.name]  # no temporary left
    unchanged = edits.replace(path, "new\n")
    assert not unchanged.changed and len(list(tmp_path.iterdir())) == 2
    edits.restore(written)
    assert path.read_text() == "old\n"


def test_a_symlink_is_followed_and_kept(tmp_path: Path) -> None:
    from aisg_check import edits

    real = tmp_path / "dotfiles" / "ssh_config"
    real.parent.mkdir()
    real.write_text("old\n")
    link = tmp_path / "config"
    link.symlink_to(real)
    edits.replace(link, "new\n")
    assert link.is_symlink() and real.read_text() == "new\n"
    assert len(list(real.parent.glob("ssh_config.aisg-check-*.bak"))) == 1
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    with pytest.raises(edits.EditError, match="symbolic link to a missing file"):
        edits.replace(tmp_path / "dangling", "x")


def test_a_refused_new_content_writes_nothing(tmp_path: Path) -> None:
    from aisg_check import edits

    path = tmp_path / "config"
    path.write_text("old\n")

    def refuse(temp: Path) -> None:
        assert temp.read_text() == "bad\n"
        raise edits.EditError("no")

    with pytest.raises(edits.EditError):
        edits.replace(path, "bad\n", validate=refuse)
    assert path.read_text() == "old\n" and [p.name for p in tmp_path.iterdir()] == ["config"]


def test_a_file_edited_while_the_question_waits_is_not_overwritten(home: Path) -> None:
    config = ssh_setup(home, 2222, "Host 127.0.0.1\n    User git\n")
    child = spawn("fix", PORT_CODE)
    child.expect("Apply this fix")
    config.write_text("Host 127.0.0.1\n    User someone-else\n")  # the user, in another window
    child.sendline("y")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 1
    assert "changed since it was read; nothing written" in (child.before or "")
    assert config.read_text() == "Host 127.0.0.1\n    User someone-else\n"
    assert not list(config.parent.glob("*.bak"))


# -- Ctrl-C after a change is made: the change is recorded, undone or reported truthfully -------


class Listener:
    """A port that first hangs up on every connection (the first run fails fast), then, once
    `silent` is set, accepts and never says a word: ssh waits there for GitLab's banner, so the
    check run again after the fix is still running when Ctrl-C comes."""

    def __init__(self) -> None:
        import socket
        import threading

        self.silent = threading.Event()
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(16)
        self.port = self.socket.getsockname()[1]
        self.held: list[Any] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.socket.accept()
            except OSError:  # closed: the test is over
                return
            if self.silent.is_set():
                self.held.append(conn)
            else:
                conn.close()

    def close(self) -> None:
        self.socket.close()
        for conn in self.held:
            conn.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.close()


def test_ctrl_c_while_the_check_runs_again_names_the_change_it_keeps(home: Path, listener: Listener) -> None:
    key = home / ".ssh" / "id"
    config = ssh_setup(home, listener.port, f"Host 127.0.0.1\n    User git\n    IdentityFile {key}\n")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True, timeout=30)
    gitlab = {"host": "127.0.0.1", "ssh_port": listener.port, "ssh_user": "git", "ssh_config": str(config)}
    user_config(home, {"timeout": 30, "gitlab": gitlab})
    child = spawn("fix", PORT_CODE)
    child.expect("Apply this fix")
    listener.silent.set()
    child.sendline("y")
    child.expect("Checking again: gitlab.ssh")
    child.expect(pexpect.TIMEOUT, timeout=1.5)  # ssh is now waiting for a banner that never comes
    child.sendintr()
    child.expect(pexpect.EOF, timeout=20)
    child.close()
    output = child.before or ""
    assert child.exitstatus == 130, output
    assert f"    Port {listener.port}\n" in config.read_text()  # applied, and kept
    backup = next(config.parent.glob("config.aisg-check-*.bak"))
    kept = output.split("files changed and kept: ", 1)[1]
    assert kept.startswith(f"~/.ssh/config, ~/.ssh/{backup.name} (not yet checked again: ~/.ssh/config;"), (
        output
    )


class _Interrupting:
    """A change whose making is cut short by Ctrl-C (as between two `chmod`s of a plan)."""

    def preview(self) -> list[str]:
        return ["$ (interrupted)"]

    def apply(self, now: Any) -> Any:
        raise KeyboardInterrupt


def test_ctrl_c_between_two_changes_undoes_the_first(tmp_path: Path) -> None:
    from datetime import datetime

    from aisg_check.fixes.plan import Applied, ModeChange, Plan

    key = tmp_path / "id"
    key.write_text("key\n")
    key.chmod(0o644)
    plan = Plan("two keys", (ModeChange(key, "~/.ssh/id", 0o644, 0o600), _Interrupting()))
    record: list[Applied] = []
    with pytest.raises(KeyboardInterrupt):
        plan.apply(datetime.now(), record)
    assert stat.S_IMODE(key.stat().st_mode) == 0o644  # put back as it was
    assert record == []  # and no longer reported as changed
    done = Plan("one key", (ModeChange(key, "~/.ssh/id", 0o644, 0o600),)).apply(datetime.now(), record)
    assert record == done and record[0].paths == (key,)  # recorded as soon as it is made


class _Answers:
    """The session's terminal, answering yes."""

    def problem(self, result: CheckResult) -> None:
        pass

    def plan(self, plan: Any, scrub: Any) -> None:
        pass

    def ask(self, question: str) -> bool:
        return True

    def say(self, text: str, style: str = "") -> None:
        pass


def test_the_session_records_a_change_before_the_check_runs_again(home: Path) -> None:
    from aisg_check.commands.fix import _interrupted
    from aisg_check.fixes.session import Session
    from tests.helpers import make_context

    config = ssh_setup(home, 2222, "Host 127.0.0.1\n    User git\n")
    settings = {"gitlab": {"host": "127.0.0.1", "ssh_port": 2222, "ssh_config": str(config)}}
    calls: list[list[str]] = []

    def select(ids: Any) -> Any:
        from aisg_check import registry

        calls.append(list(ids))
        if len(calls) > 1:  # the check run again: Ctrl-C there
            raise KeyboardInterrupt
        return registry.select(None, only=ids)

    session = Session(lambda: make_context(settings), select, _Answers(), yes=True)
    ctx, results = session.run(["gitlab.ssh"])
    with pytest.raises(KeyboardInterrupt):
        session.fix_all(ctx, results, PORT_CODE)
    assert "Port 2222" in config.read_text() and len(calls) == 2
    backup = next(config.parent.glob("config.aisg-check-*.bak"))
    assert session.changed == [config, backup] and session.unchecked == [config]
    assert _interrupted(session).startswith(
        f"aisg-check: interrupted; files changed and kept: ~/.ssh/config, ~/.ssh/{backup.name} "
        "(not yet checked again: ~/.ssh/config;"
    )


# -- without a code: only the checks that have a fix run, and nothing is sent to write -----------


@pytest.fixture
def recorder() -> Iterator[Any]:
    """An HTTP server that answers every request as S3's ListBuckets would, and notes each."""
    import threading
    from http.server import ThreadingHTTPServer

    from tests.servers.s3 import LIST_BUCKETS_XML
    from tests.servers.tls import StandInHandler

    seen: list[tuple[str, str]] = []

    class Handler(StandInHandler):
        def _answer(self) -> None:
            seen.append((self.command, self.path))
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            self.send_response(200)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(LIST_BUCKETS_XML)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(LIST_BUCKETS_XML)

        do_GET = do_PUT = do_HEAD = do_DELETE = do_POST = do_PATCH = _answer

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.seen = seen  # type: ignore[attr-defined]
    server.url = f"http://127.0.0.1:{server.server_address[1]}"  # type: ignore[attr-defined]
    yield server
    server.shutdown()
    server.server_close()


def test_fix_without_a_code_runs_only_checks_that_have_a_fix_and_writes_nowhere(
    home: Path, recorder: Any
) -> None:
    (home / ".aws").mkdir()
    (home / ".aws" / "credentials").write_text(
        "[default]\naws_access_key_id = AKIA1\naws_secret_access_key = s\n"
    )
    user_config(
        home,
        {
            "mlflow": {"tracking_uri": recorder.url, "experiment": "e", "create_experiment": True},
            "ecs": {"endpoint_url": recorder.url, "buckets": ["data"], "write_test": True},
        },
    )
    before = snapshot(home)
    result = cli("fix", "--dry-run")
    assert result.returncode == 0, result.stdout + result.stderr
    ran = result.stdout.split("check(s): ", 1)[1].split(" …", 1)[0].split(", ")
    assert {c for c in ran if not c.startswith("vpn.")} == {"gitlab.ssh", "gitlab.https", "ecs"}, ran
    assert ("GET", "/") in recorder.seen  # ECS was checked (ListBuckets) …
    assert not [r for r in recorder.seen if r[0] not in ("GET", "HEAD")]  # … and nothing written
    assert not [r for r in recorder.seen if "mlflow" in r[1]]  # MLflow not contacted at all
    assert "Only the checks with an automatic fix ran" in result.stdout
    assert snapshot(home) == before
    only = cli("fix", "--dry-run", "--only", "mlflow")
    assert only.returncode == 0 and "no check selected has an automatic fix" in only.stdout
    assert not [r for r in recorder.seen if "mlflow" in r[1]]
