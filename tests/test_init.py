"""`aisg-check init`: the prompts driven in a pseudo-terminal (pexpect), in a temporary HOME with
the files a new user's machine has (~/.aws, a kubeconfig, Docker's config.json). It asks only
what cannot be found, offers what it finds, validates, writes atomically with a backup, shows
the file, and writes nothing when interrupted."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pexpect
import pytest
import yaml

from aisg_check import config as config_module
from aisg_check.commands import init
from aisg_check.found import find
from tests.helpers import run_cli, write_config

PASSWORD = "CANARYmlflowPASSWORD42"
AWS_SECRET = "CANARYawsSECRETkey0123456789"


def machine(home: Path, registry: str = "registry.aisingapore.net") -> None:
    """What a new user's laptop holds after the onboarding guide's first steps."""
    (home / ".aws").mkdir()
    (home / ".aws" / "credentials").write_text(
        f"[default]\naws_access_key_id = AKIA1\naws_secret_access_key = {AWS_SECRET}\n"
        f"[vision]\naws_access_key_id = AKIA2\naws_secret_access_key = {AWS_SECRET}\n"
    )
    (home / ".aws" / "config").write_text("[default]\nregion = x\n[sso-session corp]\nsso_region = y\n")
    (home / ".kube").mkdir()
    (home / ".kube" / "config").write_text(
        "apiVersion: v1\ncurrent-context: c\ncontexts:\n"
        "- name: c\n  context: {cluster: k, user: u, namespace: runai-vision}\n"
    )
    (home / ".docker").mkdir()
    (home / ".docker" / "config.json").write_text(
        f'{{"auths": {{"{registry}": {{"auth": "eDp5"}}, "https://index.docker.io/v1/": {{}}}}}}'
    )


def target(home: Path) -> Path:
    return home / ".config" / "aisg-check" / "config.yaml"


def spawn(*args: str, **env: str) -> pexpect.spawn:
    return pexpect.spawn(
        sys.executable,
        ["-m", "aisg_check", "init", *args],
        env={**os.environ, "TERM": "dumb", **env},
        encoding="utf-8",
        timeout=60,
        dimensions=(50, 200),
    )


def finish(child: pexpect.spawn) -> tuple[int, str]:
    child.expect(pexpect.EOF)
    output = child.before or ""
    child.close()
    return child.exitstatus, output


def loaded(path: Path) -> Any:
    return config_module.load(env={}, config_file=path).settings


def test_interactive_setup_offers_what_it_finds(home: Path) -> None:
    machine(home)
    child = spawn(MLFLOW_TRACKING_URI=f"https://alice:{PASSWORD}@mlflow.example.org/")
    seen = []
    child.logfile_read = _Collect(seen)
    child.expect("Found on this machine")
    child.expect(r"Project name \(vision\)")  # from the kubeconfig's namespace runai-vision
    child.sendline("")
    child.expect(r"MLflow tracking URI \(https://mlflow.example.org\)")  # without the user's password
    child.sendline("ftp://mlflow")
    child.expect("expected an http:// or https:// URL")
    child.expect("MLflow tracking URI")
    child.sendline("https://bob:pw@mlflow.example.org")
    child.expect("no user or password in the URL")
    child.expect("MLflow tracking URI")
    child.sendline("")
    child.expect(r"MLflow experiment \(vision\)")
    child.sendline("first-try")
    child.expect(r"Harbor projects \(comma-separated\) \(vision\)")
    child.sendline("vision, shared")
    child.expect(r"AWS profile for ECS \(found: default, vision\)")  # two profiles: a doubt, so asked
    child.sendline("vision")
    child.expect(r"ECS buckets")
    child.sendline("-")  # leave unset
    child.expect(r"Run:ai project \(vision\)")
    child.sendline("")
    child.expect(r"Write ~/.config/aisg-check/config.yaml\?")
    child.sendline("y")
    code, _ = finish(child)
    output = "".join(seen)
    assert code == 0, output
    assert "Harbor registry" not in output  # docker is logged in to the profile's registry: found
    assert "sso-session" not in output and "corp" not in output
    settings = loaded(target(home))
    assert settings.mlflow.tracking_uri == "https://mlflow.example.org"
    assert (settings.mlflow.experiment, settings.harbor.projects) == ("first-try", ("vision", "shared"))
    assert (settings.ecs.profile, settings.ecs.buckets, settings.runai.project) == ("vision", (), "vision")
    text = target(home).read_text()
    assert "registry" not in text and "buckets" not in text  # nothing written that was not meant
    for secret in (PASSWORD, AWS_SECRET):
        assert secret not in output and secret not in text
    assert "bob:pw" not in text  # (the terminal echoes what was typed: the refusal is the point)
    assert (target(home).stat().st_mode & 0o777) == 0o600


class _Collect:
    def __init__(self, into: list[str]) -> None:
        self.into = into

    def write(self, text: str) -> None:
        self.into.append(text)

    def flush(self) -> None:
        pass


@pytest.mark.parametrize("existing", [False, True])
def test_ctrl_c_writes_nothing(home: Path, existing: bool) -> None:
    machine(home)
    if existing:
        write_config(target(home), {"timeout": 3, "runai": {"project": "old"}})
    before = sorted(p.name for p in target(home).parent.glob("*")) if existing else []
    content = target(home).read_bytes() if existing else None
    child = spawn()
    child.expect(r"Project name \((old|vision)\)")
    child.sendline("")
    child.expect("MLflow tracking URI")
    child.sendintr()
    code, output = finish(child)
    assert code == 130, output
    assert "nothing was written" in output
    if existing:
        assert target(home).read_bytes() == content
        assert sorted(p.name for p in target(home).parent.glob("*")) == before  # no backup either
    else:
        assert not target(home).exists()


def test_end_of_input_or_no_at_the_end_writes_nothing(home: Path) -> None:
    child = spawn()
    child.expect("Project name")
    child.sendeof()
    code, output = finish(child)
    assert code == 1 and "nothing was written" in output
    child = spawn("--project", "p", "--tracking-uri", "https://m.example.org")
    for _ in range(10):  # Enter to every question left, then no
        if child.expect([r"Write .*\?", r": $"]) == 0:
            break
        child.sendline("")
    child.sendline("n")
    code, output = finish(child)
    assert code == 1 and "Nothing was written." in output
    assert not target(home).exists()


def test_no_input_takes_flags_and_defaults_and_keeps_the_rest_of_the_file(home: Path) -> None:
    machine(home)
    write_config(target(home), {"timeout": 3, "gitlab": {"repo": "https://gitlab.example.org/a/b.git"}})
    old = target(home).read_text()
    result = run_cli(
        ["init", "--no-input", "--project", "nlp", "--bucket", "nlp-data", "--bucket", "nlp-models"],
        env={**os.environ, "MLFLOW_TRACKING_URI": "https://mlflow.example.org"},
    )
    assert result.returncode == 0, result.stderr
    settings = loaded(target(home))
    assert settings.timeout == 3 and settings.gitlab.repo == "https://gitlab.example.org/a/b.git"
    assert settings.ecs.buckets == ("nlp-data", "nlp-models")
    assert settings.harbor.projects == ("nlp",) and settings.mlflow.experiment == "nlp"
    assert settings.runai.project == "vision"  # found in the kubeconfig: better than the project name
    assert settings.ecs.profile is None  # two profiles and no AWS_PROFILE: not guessed
    backups = list(target(home).parent.glob("config.yaml.aisg-check-*.bak"))
    assert len(backups) == 1 and backups[0].read_text() == old
    assert "Wrote ~/.config/aisg-check/config.yaml (the old one is kept as" in result.stdout
    assert "buckets:\n  - nlp-data" in result.stdout  # the file, shown
    shown = run_cli(["config", "--format", "json"])
    assert shown.json()["settings"]["ecs.buckets"]["source"].startswith(f"file {target(home)}")
    again = run_cli(
        ["init", "--no-input", "--project", "nlp", "--bucket", "nlp-data", "--bucket", "nlp-models"],
        env={**os.environ, "MLFLOW_TRACKING_URI": "https://mlflow.example.org"},
    )
    assert "already says this: unchanged" in again.stdout
    assert len(list(target(home).parent.glob("*.bak"))) == 1


def test_no_input_writes_where_the_tool_reads(home: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "team.yaml"
    result = run_cli(
        ["init", "--no-input", "--runai-project", "cv", "--aws-profile", "ecs"],
        env={**os.environ, "AISG_CHECK_CONFIG": str(elsewhere)},
    )
    assert result.returncode == 0, result.stderr
    assert loaded(elsewhere).runai.project == "cv" and not target(home).exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tracking-uri", f"https://alice:{PASSWORD}@m.example.org"], "no user or password in the URL"),
        (["--tracking-uri", "mlflow.example.org"], "expected an http:// or https:// URL"),
        (["--bucket", "two words"], "no spaces"),
        (["--registry", "https://registry/x"], "expected a registry host"),
    ],
)
def test_bad_flags_write_nothing(home: Path, args: list[str], message: str) -> None:
    result = run_cli(["init", "--no-input", *args])
    assert result.returncode == 2 and message in result.stderr
    assert PASSWORD not in result.stdout + result.stderr
    assert not target(home).exists()


def test_without_a_terminal_it_needs_no_input(home: Path) -> None:
    result = run_cli(["init"])
    assert result.returncode == 2 and "--no-input" in result.stderr


def test_a_broken_config_is_named_and_left_alone(home: Path) -> None:
    target(home).parent.mkdir(parents=True)
    target(home).write_text("timeout: [\n")
    result = run_cli(["init", "--no-input", "--project", "x"])
    assert result.returncode == 2 and f"{target(home)}:" in result.stderr
    assert target(home).read_text() == "timeout: [\n"


def test_the_registry_is_asked_only_when_docker_names_another(home: Path) -> None:
    machine(home, registry="harbor.example.org:8443")
    found = find(dict(os.environ), home)
    assert found.registries == ("harbor.example.org:8443",)  # Docker Hub left out
    assert init.needs_asking("harbor.registry", {}, found, "registry.aisingapore.net")
    assert not init.needs_asking("harbor.registry", {}, found, "harbor.example.org:8443")
    assert not init.needs_asking(
        "harbor.registry", {"harbor.registry": "r"}, found, "registry.aisingapore.net"
    )


def test_the_document_drops_empty_answers_and_loads() -> None:
    text = init.document({"timeout": 3}, {"project": "p", "ecs.buckets": [], "runai.project": "p"}, "p")
    assert yaml.safe_load(text) == {"timeout": 3, "runai": {"project": "p"}}
    assert text.startswith("# aisg-check settings for project p")


# -- a credential already in the file: kept there, never shown ------------------------------------

TOKEN = "glpat-CANARYinit123"


def test_a_token_in_the_old_file_is_kept_but_never_shown(home: Path) -> None:
    write_config(target(home), {"gitlab": {"token": TOKEN}, "mlflow": {"experiment": "Vision Baseline"}})
    result = run_cli(["init", "--no-input", "--project", "team"])
    assert result.returncode == 0, result.stderr
    assert TOKEN not in result.stdout + result.stderr
    assert "token: '***'" in result.stdout  # the file, shown masked
    assert "set GITLAB_TOKEN instead and delete the line" in result.stdout
    text = target(home).read_text()
    assert f"token: {TOKEN}" in text  # it was there: init does not silently drop a setting
    assert "No credentials here" not in text and "move gitlab.token (to GITLAB_TOKEN)" in text
    assert loaded(target(home)).gitlab.token.reveal() == TOKEN
    again = run_cli(["init", "--no-input", "--project", "team"])
    assert "already says this: unchanged" in again.stdout and TOKEN not in again.stdout + again.stderr


def test_a_token_is_masked_in_the_file_shown_before_asking(home: Path) -> None:
    write_config(target(home), {"gitlab": {"token": TOKEN}, "mlflow": {"experiment": "Vision Baseline"}})
    child = spawn("--project", "team", "--tracking-uri", "https://m.example.org")
    seen: list[str] = []
    child.logfile_read = _Collect(seen)
    child.expect(r"MLflow experiment \(Vision Baseline\)")  # the file's own value, spaces and all
    child.sendline("")
    for _ in range(10):  # Enter to every question left, then yes
        if child.expect([r"Write .*\?", r": $"]) == 0:
            break
        child.sendline("")
    child.sendline("y")
    code, _ = finish(child)
    output = "".join(seen)
    assert code == 0, output
    assert TOKEN not in output and "token: '***'" in output
    assert loaded(target(home)).mlflow.experiment == "Vision Baseline"
    assert loaded(target(home)).gitlab.token.reveal() == TOKEN


def test_without_a_credential_the_file_says_there_is_none(home: Path) -> None:
    result = run_cli(["init", "--no-input", "--project", "team"])
    assert result.returncode == 0, result.stderr
    text = target(home).read_text()
    assert "No credentials here" in text and "token" not in text
    assert "GITLAB_TOKEN" not in result.stdout


# -- the file's values are the user's: kept as they are --------------------------------------------


def test_existing_values_are_kept_even_where_a_new_answer_would_be_refused(home: Path) -> None:
    write_config(
        target(home),
        {
            "mlflow": {"experiment": "Vision Baseline"},
            "harbor": {"projects": ["Team A"]},
            "runai": {"project": "cv"},
        },
    )
    result = run_cli(["init", "--no-input", "--project", "team"])
    assert result.returncode == 0, result.stderr
    settings = loaded(target(home))
    assert settings.mlflow.experiment == "Vision Baseline"  # not replaced by the project name
    assert settings.harbor.projects == ("Team A",) and settings.runai.project == "cv"
    assert settings.ecs.buckets == ("team",)  # what was not there takes the derived default


def test_an_experiment_may_have_spaces(home: Path) -> None:
    result = run_cli(["init", "--no-input", "--project", "team", "--experiment", "Vision Baseline v2"])
    assert result.returncode == 0, result.stderr
    assert loaded(target(home)).mlflow.experiment == "Vision Baseline v2"
    assert init.check_text("  x y ") == "x y"
    for bad in ("", "   ", "a\nb"):
        with pytest.raises(init.Invalid):
            init.check_text(bad)


# -- what the machine says: a malformed file says nothing, and never stops init ----------------------


@pytest.mark.parametrize(
    "kubeconfig",
    [
        "current-context: c\ncontexts:\n- name: c\n  context: oops\n",
        "current-context: c\ncontexts:\n- name: c\n  context: [namespace]\n",
        "current-context: c\ncontexts:\n- name: c\n  context: {namespace: {runai: vision}}\n",
        "current-context: c\ncontexts:\n- name: c\n  context: {namespace: 7}\n",
        "current-context: c\ncontexts: 5\n",
        "current-context: c\ncontexts: {c: {namespace: runai-x}}\n",
        "current-context: c\ncontexts: runai-x\n",
        "current-context: [c]\ncontexts:\n- name: [c]\n  context: {namespace: runai-x}\n",
        "- just\n- a list\n",
        "current-context: c\ncreated: 2024-13-40\n",  # a date no calendar has: PyYAML raises ValueError
        "a: [\n",
        "a: &x [*x]\n",
        "\xff\xfe not text",
    ],
)
def test_a_malformed_kubeconfig_says_nothing(home: Path, kubeconfig: str) -> None:
    from aisg_check.found import kube_namespace

    (home / ".kube").mkdir()
    (home / ".kube" / "config").write_bytes(kubeconfig.encode("latin-1"))
    assert kube_namespace({}, home) is None
    assert find({}, home).namespace is None
    result = run_cli(["init", "--no-input", "--project", "team"])
    assert result.returncode == 0, result.stderr
    assert loaded(target(home)).runai.project == "team"


@pytest.mark.parametrize(
    "docker_config",
    [
        "[]",
        "null",
        '{"auths": []}',
        '{"auths": "registry.example.org"}',
        '{"credHelpers": 5, "auths": {"": {}, "harbor.example.org": 1}}',
        "[" * 100_000 + "]" * 100_000,
        "{not json",
        "\xff",
    ],
)
def test_a_malformed_docker_config_says_nothing_it_cannot_read(home: Path, docker_config: str) -> None:
    from aisg_check.found import docker_registries

    (home / ".docker").mkdir()
    (home / ".docker" / "config.json").write_bytes(docker_config.encode("latin-1"))
    assert set(docker_registries({}, home)) <= {"harbor.example.org"}  # a name only when it is one
    assert "" not in find({}, home).registries


def test_unreadable_aws_files_and_odd_paths_say_nothing(home: Path) -> None:
    from aisg_check.found import aws_profiles

    (home / ".aws" / "config").mkdir(parents=True)  # a directory where the file should be
    (home / ".aws" / "credentials").write_bytes(b"[de\xffault]\n")
    assert aws_profiles({}, home) == ()
    odd = {
        "AWS_CONFIG_FILE": "a\0b",
        "AWS_SHARED_CREDENTIALS_FILE": "c\0d",
        "KUBECONFIG": "e\0f",
        "DOCKER_CONFIG": "g\0h",
    }
    found = find(odd, home)
    assert (found.aws_profiles, found.namespace, found.registries) == ((), None, ())


def test_the_new_files_content_never_shows_a_kept_token_in_its_repr() -> None:
    token = "glpat-Repr-Canary-0123456789"
    content = init.Content.of({"gitlab.token": token, "gitlab.url": "https://127.0.0.1:9"}, {})
    assert token in content.text  # kept in the file, as it was
    assert token not in content.shown and token not in repr(content)
