"""`aisg-check bundle` (issue 15 item 5): one tar.gz with the reports, versions, the effective
settings and redacted copies of the files the checks read.

The canary test puts a distinct canary in every secret-bearing field of every input (kubeconfig
users of two KUBECONFIG files, the AWS config and credentials files named by their variables,
Docker's config under DOCKER_CONFIG, Harbor's auth and robot files, MLflow's credentials, the
ssh config, the aisg-check config), once as written and once base64-encoded, and asserts that
none appears anywhere in the archive: no member's name or text holds it plain, base64-encoded,
base64 of user:secret or URL-quoted.
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import os
import platform
import tarfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

import pytest
import yaml

from aisg_check.bundle import archive, aws, collect, docker, kubeconfig, sshconfig
from aisg_check.bundle.report import ABSENT, COPIED, NOT_COPIED, REDACTED, REDUCED, Unparseable
from aisg_check.context import CommandResult
from aisg_check.secrets import Scrubber
from tests.helpers import LOOPBACK_PROFILE, make_context, merge, run_cli, write_config


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


# Every secret-bearing field of every input, by name. Logins: the user name each secret goes with.
CANARIES = {name: f"CANARY-{name.replace('_', '-')}-7q{n:02d}x" for n, name in enumerate((
    "kube_token", "kube_query", "kube_proxy", "kube_ca", "kube_client_secret", "kube_id_token",
    "kube_refresh_token", "kube_cert", "kube_key", "kube_password", "kube_exec_arg", "kube_exec_flag",
    "kube_exec_env", "kube2_token", "aws_key_id", "aws_secret", "aws_session", "aws_cfg_secret",
    "aws_cfg_session", "aws_process", "aws_nested", "docker_auth", "docker_password",
    "docker_identitytoken", "docker_registrytoken", "docker_header", "docker_proxy", "harbor_auth",
    "robot_secret", "mlflow_password", "ssh_comment", "ssh_setenv", "ssh_sshpass", "ssh_flag",
    "ssh_match", "ssh_unknown", "config_token",
))}  # fmt: skip
LOGINS = {
    "kube_password": "kubeuser",
    "docker_auth": "alice",
    "docker_password": "bob",
    "harbor_auth": "robot$team+ci",
    "mlflow_password": "mlflow-user",
    "kube_proxy": "proxyuser",
    "docker_proxy": "proxyuser",
}


def _pem(secret: str) -> str:
    return f"-----BEGIN PRIVATE KEY-----\n{secret}\n{secret[::-1]}\n-----END PRIVATE KEY-----\n"


def _kubeconfigs(home: Path, v: Callable[[str], str]) -> str:
    main = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "c",
        "clusters": [
            {
                "name": "k",
                "cluster": {
                    "server": f"https://127.0.0.1:9/?token={v('kube_query')}",
                    "proxy-url": f"http://proxyuser:{v('kube_proxy')}@127.0.0.1:3128",
                    "certificate-authority-data": b64(v("kube_ca")),
                },
            }
        ],
        "contexts": [
            {"name": "c", "context": {"cluster": "k", "user": "u-token", "namespace": "runai-team"}}
        ],
        "users": [
            {"name": "u-token", "user": {"token": v("kube_token")}},
            {
                "name": "u-oidc",
                "user": {
                    "auth-provider": {
                        "name": "oidc",
                        "config": {
                            "client-id": "runai-cli",
                            "idp-issuer-url": "http://127.0.0.1:9/auth/realms/x",
                            "client-secret": v("kube_client_secret"),
                            "id-token": v("kube_id_token"),
                            "refresh-token": v("kube_refresh_token"),
                        },
                    }
                },
            },
            {
                "name": "u-cert",
                "user": {
                    "client-certificate-data": b64(v("kube_cert")),
                    "client-key-data": b64(_pem(v("kube_key"))),
                },
            },
            {"name": "u-basic", "user": {"username": "kubeuser", "password": v("kube_password")}},
            {
                "name": "u-exec",
                "user": {
                    "exec": {
                        "apiVersion": "client.authentication.k8s.io/v1",
                        "command": "runai",
                        "args": [
                            "token",
                            "--secret",
                            v("kube_exec_arg"),
                            f"--password={v('kube_exec_flag')}",
                        ],
                        "env": [{"name": "RUNAI_TOKEN", "value": v("kube_exec_env")}],
                    }
                },
            },
        ],
    }
    (home / ".kube").mkdir()
    (home / ".kube" / "config").write_text("# kube comment\n" + yaml.safe_dump(main, sort_keys=False))
    second = {"users": [{"name": "u2", "user": {"token": v("kube2_token")}}]}
    (home / "kube2.yaml").write_text(yaml.safe_dump(second))
    return f"{home / '.kube' / 'config'}{os.pathsep}{home / 'kube2.yaml'}"


def _aws(home: Path, v: Callable[[str], str]) -> dict[str, str]:
    folder = home / "aws-files"
    folder.mkdir()
    (folder / "config").write_text(
        "# aws comment\n[default]\nregion = ap-southeast-1\n"
        f"aws_secret_access_key = {v('aws_cfg_secret')}\naws_session_token = {v('aws_cfg_session')}\n"
        f"[profile p]\ncredential_process = /usr/bin/get-creds --secret {v('aws_process')}\n"
        f"s3 =\n    endpoint_url = https://necs.example\n    aws_secret_access_key = {v('aws_nested')}\n"
    )
    (folder / "credentials").write_text(
        f"[default]\naws_access_key_id = {v('aws_key_id')}\naws_secret_access_key = {v('aws_secret')}\n"
        f"aws_session_token = {v('aws_session')}\n[other]\nregion = x\n"
    )
    return {
        "AWS_CONFIG_FILE": str(folder / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(folder / "credentials"),
    }


def _docker(home: Path, v: Callable[[str], str]) -> dict[str, str]:
    folder = home / "docker-dir"
    folder.mkdir()
    config = {
        "auths": {
            "registry.example:5000": {"auth": b64(f"alice:{v('docker_auth')}")},
            "127.0.0.1:9": {"username": "bob", "password": v("docker_password")},
            "idp.example": {"identitytoken": v("docker_identitytoken")},
            "token.example": {"registrytoken": v("docker_registrytoken")},
        },
        "credHelpers": {"gcr.example": "gcloud"},
        "HttpHeaders": {"Authorization": f"Bearer {v('docker_header')}", "User-Agent": "me"},
        "proxies": {"default": {"httpProxy": f"http://proxyuser:{v('docker_proxy')}@127.0.0.1:3128"}},
    }
    (folder / "config.json").write_text(json.dumps(config))
    return {"DOCKER_CONFIG": str(folder)}


def _populate(home: Path, v: Callable[[str], str]) -> dict[str, str]:
    """Every input, with `v(name)` in each secret-bearing field; the environment naming them."""
    env = {"KUBECONFIG": _kubeconfigs(home, v), **_aws(home, v), **_docker(home, v)}
    (home / "harbor-auth.json").write_text(
        json.dumps({"auths": {"127.0.0.1:9": {"auth": b64(f"robot$team+ci:{v('harbor_auth')}")}}})
    )
    (home / "robot.json").write_text(json.dumps({"name": "robot$team+ci", "secret": v("robot_secret")}))
    (home / ".mlflow").mkdir()
    (home / ".mlflow" / "credentials").write_text(
        "[mlflow]\nmlflow_tracking_username = mlflow-user\n"
        f"mlflow_tracking_password = {v('mlflow_password')}\n"
    )
    (home / ".ssh").mkdir(mode=0o700)
    (home / ".ssh" / "config").write_text(
        f"# my password is {v('ssh_comment')}\nHost 127.0.0.1\n    Port 9\n    User git\n"
        f"    SetEnv API_TOKEN={v('ssh_setenv')} LANG=C\n"
        f"    ProxyCommand sshpass -p {v('ssh_sshpass')} ssh -W %h:%p"
        f" --token {v('ssh_flag')} jump.example.com\n"
        f'Match exec "check-vpn --password {v("ssh_match")}"\n    IdentityFile ~/.ssh/id_ed25519\n'
        f"Host other\n    SecretThing {v('ssh_unknown')}\n"
    )
    profile = merge(
        LOOPBACK_PROFILE,
        {
            "gitlab": {"token": v("config_token"), "ssh_config": str(home / ".ssh" / "config")},
            "harbor": {"auth_file": str(home / "harbor-auth.json"), "robot_file": str(home / "robot.json")},
        },
    )
    write_config(home / ".config" / "aisg-check" / "config.yaml", profile)
    return env


def _forms(secret: str, user: str | None) -> set[str]:
    forms = {secret, b64(secret), b64(secret).rstrip("="), quote(secret, safe="")}
    forms.add(base64.urlsafe_b64encode(secret.encode()).decode().rstrip("="))
    if user:
        forms |= {b64(f"{user}:{secret}"), b64(f"{user}:{secret}").rstrip("=")}
    return forms


def _unpack(path: Path) -> dict[str, bytes]:
    members: dict[str, bytes] = {}
    with tarfile.open(path, "r:gz") as tar:
        for info in tar.getmembers():
            name = PurePosixPath(info.name)
            assert not name.is_absolute() and ".." not in name.parts, info.name
            assert info.isfile() or info.isdir(), f"{info.name}: not a file or directory"
            assert not info.uname and not info.gname, "the archive carries the sender's login"
            if info.isfile():
                handle = tar.extractfile(info)
                assert handle is not None
                members[info.name] = handle.read()
    tops = {PurePosixPath(n).parts[0] for n in members}
    assert len(tops) == 1 and next(iter(tops)).startswith("aisg-check-bundle-"), tops
    return {str(PurePosixPath(*PurePosixPath(n).parts[1:])): data for n, data in members.items()}


@pytest.mark.parametrize("encoding", ["plain", "base64"])
def test_no_canary_anywhere_in_the_bundle(home: Path, tmp_path: Path, encoding: str) -> None:
    def value(name: str) -> str:
        return CANARIES[name] if encoding == "plain" else b64(CANARIES[name])

    env = {**os.environ, **_populate(home, value)}
    out = tmp_path / "support.tar.gz"
    result = run_cli(["bundle", "--output", str(out)], env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "Support bundle written" in result.stdout
    raw = out.read_bytes()
    stream = gzip.decompress(raw)  # the whole tar: every header, name and member
    members = _unpack(out)
    for name, secret in CANARIES.items():
        forms = _forms(secret, LOGINS.get(name)) | _forms(value(name), LOGINS.get(name))
        for form in forms:
            assert form.encode() not in stream, f"{name} ({form}) is in the bundle"
            for member, data in members.items():
                assert form not in member, f"{name} in the name {member}"
                assert form.encode() not in data, f"{name} ({form}) in {member}"
            assert form not in result.stdout + result.stderr, f"{name} on the terminal"
    _assert_contents(members)


def _assert_contents(members: dict[str, bytes]) -> None:
    """What the MLOps team needs is there: reports, versions, settings, and the copies' shape."""
    expected = {
        "README.md", "report.json", "report.md", "versions.json", "settings.json", "redactions.json",
        "redactions.md", "files/ssh_config", "files/kubeconfig-1", "files/kubeconfig-2",
        "files/aws_config", "files/aws_credentials", "files/docker_config.json",
        "files/harbor_auth.json", "files/harbor_robot.json", "files/mlflow_credentials",
    }  # fmt: skip
    assert set(members) == expected
    assert json.loads(members["report.json"])["results"]
    versions = json.loads(members["versions.json"])
    assert versions["python"]["version"] == platform.python_version()
    assert versions["tools"]["git"]["path"] and "git version" in versions["tools"]["git"]["output"]
    settings = json.loads(members["settings.json"])["settings"]
    assert settings["gitlab.token"]["value"] == "***"
    assert settings["gitlab.token"]["source"].startswith("file ")
    kube = yaml.safe_load(members["files/kubeconfig-1"])
    assert [u["name"] for u in kube["users"]] == ["u-token", "u-oidc", "u-cert", "u-basic", "u-exec"]
    assert kube["users"][0]["user"]["token"] == REDACTED
    assert kube["users"][3]["user"]["username"] == "kubeuser"
    assert kube["clusters"][0]["cluster"]["server"].startswith("https://127.0.0.1:9/?")
    assert kube["users"][1]["user"]["auth-provider"]["config"]["client-id"] == "runai-cli"
    docker_copy = json.loads(members["files/docker_config.json"])
    assert docker_copy["auths"]["registry.example:5000"]["username"] == "alice"
    assert docker_copy["auths"]["127.0.0.1:9"]["username"] == "bob"
    assert docker_copy["credHelpers"] == {"gcr.example": "gcloud"}
    assert json.loads(members["files/harbor_robot.json"])["name"] == "robot$team+ci"
    assert b"[default]" in members["files/aws_credentials"] and b"[other]" in members["files/aws_credentials"]
    assert b"region = ap-southeast-1" in members["files/aws_config"]
    assert b"[mlflow]" in members["files/mlflow_credentials"]
    ssh_copy = members["files/ssh_config"].decode()
    assert "Port 9" in ssh_copy and "-W %h:%p" in ssh_copy and "jump.example.com" in ssh_copy
    report = {f["path"]: f for f in json.loads(members["redactions.json"])["files"]}
    assert report["~/.ssh/config"]["status"] == COPIED
    assert "users[u-token].user.token" in report["~/.kube/config"]["removed"]
    assert report["~/aws-files/credentials"]["status"] == REDUCED
    assert report["~/aws-files/credentials"]["found_by"] == "AWS_SHARED_CREDENTIALS_FILE"
    assert report["~/docker-dir/config.json"]["found_by"] == "DOCKER_CONFIG"
    assert "auths[127.0.0.1:9].password" in report["~/docker-dir/config.json"]["removed"]
    # The report survives the scrubber whole (it masks what follows `Authorization:`).
    assert b"HttpHeaders[Authorization] (its value)" in members["redactions.md"]


# -- files that cannot be parsed or read ------------------------------------------------------------

SECRET = "CANARY-unparsed-secret-42x"


@pytest.mark.parametrize(
    ("relative", "text", "reason"),
    [
        (".kube/config", f"users:\n- name: u\n  user: {{token: {SECRET}\n", "not valid YAML (line"),
        (".kube/config", f"- {SECRET}\n", "expected a mapping at the top"),
        (".kube/config", f"users: {SECRET}\n", "'users' is not a list"),
        (".aws/credentials", f"aws_secret_access_key = {SECRET}\n[default]\n", "line 1: a line before any"),
        (".aws/config", f"[default]\n{SECRET}\n", "line 2: a line that is neither"),
        (".docker/config.json", f'{{"auths": {{"r": {{"auth": "{SECRET}"}}}}', "not valid JSON (line 1)"),
        (".docker/config.json", f'["{SECRET}"]', "expected a JSON object"),
        (".mlflow/credentials", f"mlflow_tracking_password = {SECRET}\n", "cannot be parsed (line 1)"),
        (".ssh/config", f'Host x\n  "{SECRET}"\n', "line 2 is not `Keyword value`"),
    ],
)
def test_a_file_that_cannot_be_parsed_is_not_copied(
    home: Path, relative: str, text: str, reason: str
) -> None:
    path = home / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    ctx = make_context({"gitlab": {"ssh_config": str(home / ".ssh" / "config")}}, home=home)
    entries, copies = collect.files(ctx, ctx.scrubber)
    entry = next(e for e in entries if e.path == f"~/{relative}")
    assert entry.status == NOT_COPIED and entry.member is None
    assert reason in (entry.reason or ""), entry.reason
    assert SECRET not in json.dumps([e.to_dict() for e in entries])
    assert not any(SECRET in copy for copy in copies.values())


def test_what_is_not_a_regular_file_is_not_read(home: Path) -> None:
    (home / ".kube").mkdir()
    os.mkfifo(home / ".kube" / "config")  # opening it to read would wait for a writer forever
    (home / ".aws" / "config").mkdir(parents=True)
    ctx = make_context({"gitlab": {"ssh_config": str(home / "none")}}, home=home)
    entries = {e.path: e for e in collect.files(ctx, ctx.scrubber)[0]}
    assert entries["~/.kube/config"].reason == "is not a regular file"
    assert entries["~/.aws/config"].reason == "is a directory, not a file"
    assert entries["~/none"].status == ABSENT


# -- the redactors, one rule at a time ------------------------------------------------------------


def test_ssh_commands_keep_hosts_flags_and_tokens_and_lose_what_may_be_a_secret() -> None:
    scrubber = Scrubber()
    text = (
        "Host gl\n  ProxyCommand cloudflared access ssh --hostname %h --token=Tk9pe-42x jump.example.com:22\n"
        "  LocalCommand MY_SECRET=Zq81-pw do-thing /tmp/x -pHunter2pw HiddenWord123\n"
        "  SendEnv LANG LC_*  # a trailing note\n"
    )
    copy = sshconfig.redact(text, scrubber)
    lines = copy.text.splitlines()
    assert lines[1] == (
        "  ProxyCommand cloudflared access ssh --hostname %h --token=<redacted> jump.example.com:22"
    )
    assert lines[2] == "  LocalCommand MY_SECRET=<redacted> do-thing /tmp/x <redacted> <redacted>"
    assert lines[3] == "  SendEnv LANG LC_*"
    assert "1 comment (comments are never copied)" in copy.removed
    # Values after a credential-named flag or variable are masked across the bundle too.
    assert scrubber.scrub("Tk9pe-42x and Zq81-pw") == "*** and ***"


def test_kubeconfig_fields_it_does_not_know_are_replaced_and_extensions_dropped() -> None:
    text = yaml.safe_dump(
        {
            "users": [
                {"name": "u", "user": {"username": "me", "new-credential": "SeCrEt-77", "tokenFile": "/t"}}
            ],
            "extensions": [{"name": "x", "extension": {"secret": "SeCrEt-78"}}],
            "clusters": [{"name": "k", "cluster": {"server": "https://h:6443", "extensions": ["SeCrEt-79"]}}],
        }
    )
    copy = kubeconfig.redact(text, Scrubber())
    assert "SeCrEt" not in copy.text
    data = yaml.safe_load(copy.text)
    assert data["users"][0]["user"] == {"username": "me", "new-credential": REDACTED, "tokenFile": "/t"}
    assert "extensions" not in data
    assert any(r.startswith("users[u].user.new-credential") for r in copy.removed)


def test_docker_config_keeps_only_registry_and_user_names() -> None:
    text = json.dumps({"auths": {"r.example": {"auth": b64("carol:pw-123456")}}, "credsStore": "osxkeychain",
                       "plugins": {"x": {"token": "SeCrEt-80"}}})  # fmt: skip
    scrubber = Scrubber()
    data = json.loads(docker.redact(text, scrubber).text)
    assert data == {
        "auths": {"r.example": {"username": "carol", "auth": REDACTED}},
        "credsStore": "osxkeychain",
    }
    assert scrubber.scrub(b64("carol:pw-123456")) == "***"


def test_aws_credentials_are_reduced_to_profile_and_key_names() -> None:
    text = "[default]\naws_access_key_id = AKIA1\naws_secret_access_key = s3cr3t-value\nexpired/ZZ+tok = 1\n"
    copy = aws.redact_credentials(text, Scrubber())
    assert copy.status == REDUCED
    assert copy.text == (
        "[default]\n# keys, values removed: aws_access_key_id, aws_secret_access_key, "
        "(a key with an unusual name)\n"
    )


def test_unparseable_reasons_never_quote_the_file() -> None:
    with pytest.raises(Unparseable) as caught:
        kubeconfig.redact("users: [{name: u, user: {token: 'SeCrEt-81}]", Scrubber())
    assert "SeCrEt" not in str(caught.value)


def test_member_names_must_be_plain_and_relative() -> None:
    for name in ("../x", "/etc/passwd", "a/../b", ".hidden", "a//b", "x y"):
        with pytest.raises(ValueError):
            archive.check_name(name)
    assert archive.check_name("files/kubeconfig-1") == "files/kubeconfig-1"
    data = archive.pack("top", {"files/a": "x"}, 0)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        assert tar.getnames() == ["top", "top/files", "top/files/a"]


# -- which ssh config ---------------------------------------------------------------------------------


def _ssh_runner(stderr: str, home_stdout: str) -> Callable[..., CommandResult]:
    def run(argv: Any, **_: Any) -> CommandResult:
        if "ControlPath=%d" in argv:
            return CommandResult(tuple(argv), 0, home_stdout, "")
        return CommandResult(tuple(argv), 0, "hostname x\n", stderr)

    return run


def test_the_ssh_config_is_the_one_ssh_reads(home: Path) -> None:
    read = (
        "debug1: Reading configuration data /srv/alice/.ssh/config\ndebug1: /srv/alice/.ssh/config line 1\n"
    )
    ctx = make_context(home=home, run=_ssh_runner(read, ""))
    assert collect.ssh_config_path(ctx) == (Path("/srv/alice/.ssh/config"), "ssh -G (the file ssh reads)")
    # No user file read: ssh's home, from the ControlPath it expands.
    system_only = "debug1: Reading configuration data /etc/ssh/ssh_config\n"
    ctx = make_context(home=home, run=_ssh_runner(system_only, "controlpath /srv/bob\n"))
    assert collect.ssh_config_path(ctx)[0] == Path("/srv/bob/.ssh/config")
    ctx = make_context({"gitlab": {"ssh_config": "~/cfg"}}, home=home, run=_ssh_runner(read, ""))
    assert collect.ssh_config_path(ctx) == (home / "cfg", "setting gitlab.ssh_config (ssh -F)")


# -- where the bundle goes ------------------------------------------------------------------------------


def _env(home: Path) -> dict[str, str]:
    # ssh takes ~ from the password database, not HOME: name a config under HOME, or the
    # developer's own ~/.ssh/config would be read into the test's bundle.
    (home / ".ssh").mkdir(exist_ok=True)
    (home / ".ssh" / "config").touch()
    profile = {
        **LOOPBACK_PROFILE,
        "gitlab": {**LOOPBACK_PROFILE["gitlab"], "ssh_config": str(home / ".ssh" / "config")},
    }
    write_config(home / ".config" / "aisg-check" / "config.yaml", profile)
    return {**os.environ, "HOME": str(home)}


def test_without_output_it_is_written_in_the_current_directory(home: Path, tmp_path: Path) -> None:
    result = run_cli(["bundle", "--only", "vpn", "--quiet"], env=_env(home), cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr
    written = list(tmp_path.glob("aisg-check-bundle-*.tar.gz"))
    assert len(written) == 1 and written[0].name in result.stdout
    assert written[0].stat().st_mode & 0o077 == 0  # only its owner may read it
    assert "report.json" in _unpack(written[0])


def _fifo(folder: Path) -> Path:
    os.mkfifo(folder / "p")
    return folder / "p"


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda d: d, "it is a directory"),
        (_fifo, "it is a FIFO"),
        (lambda d: Path("/dev/null"), "it is a device"),
        (lambda d: (d / "l").symlink_to(d / "missing") or d / "l", "symbolic link to a missing file"),
        (lambda d: d / "no-such-dir" / "b.tar.gz", "does not exist"),
        (lambda d: Path("-"), "the bundle is a binary archive"),
    ],
)
def test_the_bundle_is_written_only_to_a_regular_file_or_a_new_path(
    home: Path, tmp_path: Path, make: Callable[[Path], Path], words: str
) -> None:
    target = make(tmp_path)
    before = sorted(tmp_path.iterdir())
    result = run_cli(["bundle", "--output", str(target)], env=_env(home), timeout=60)
    assert result.returncode == 2, result.stderr
    assert words in result.stderr and "bundle" in result.stderr
    assert result.stdout == ""
    assert sorted(tmp_path.iterdir()) == before


@pytest.mark.skipif(not hasattr(os, "setpgid"), reason="RLIMIT_FSIZE is POSIX")
def test_a_bundle_that_cannot_be_written_completely_is_removed(home: Path, tmp_path: Path) -> None:
    """A file size limit stands in for a full disk: the write fails part-way (EFBIG)."""
    import resource
    import subprocess
    import sys

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (1000, 1000))

    target = tmp_path / "b.tar.gz"
    proc = subprocess.run(
        [sys.executable, "-m", "aisg_check", "bundle", "--only", "vpn", "--output", str(target)],
        env=_env(home),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=limit,  # only sets a resource limit
    )
    assert proc.returncode == 2, proc.stderr
    assert f"cannot write the bundle to {target}: File too large" in proc.stderr
    assert not target.exists()
    assert proc.stdout == ""


@pytest.mark.skipif(os.name == "nt", reason="POSIX signals")
def test_an_interrupted_bundle_writes_nothing(home: Path, tmp_path: Path) -> None:
    """Ctrl-C while the checks run (git hangs here): exit 130, and no archive, not even part of one."""
    import signal
    import subprocess
    import sys
    import time

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    started = tmp_path / "started"
    (bin_dir / "git").write_text(f"#!/bin/sh\ntouch {started}\nexec sleep 300\n")
    (bin_dir / "git").chmod(0o755)
    env = {**_env(home), "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    target = tmp_path / "b.tar.gz"
    argv = [
        sys.executable,
        "-m",
        "aisg_check",
        "bundle",
        "--only",
        "tools",
        "--timeout",
        "60",
        "-o",
        str(target),
    ]
    proc = subprocess.Popen(
        argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    stop = time.monotonic() + 60
    while not started.exists() and proc.poll() is None and time.monotonic() < stop:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "interrupted; no bundle was written" in err
    assert not target.exists() and out == ""
