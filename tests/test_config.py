from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from aisg_check import config
from aisg_check.config import ConfigError, load
from aisg_check.secrets import Secret


def _env(home: Path, **extra: str) -> dict[str, str]:
    return {"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"), **extra}


def test_embedded_profile_has_the_guide_endpoints(home: Path) -> None:
    loaded = load(env=_env(home))
    s = loaded.settings
    assert s.gitlab.host == "gitlab.aisingapore.net" and s.gitlab.ssh_port == 2222
    assert s.gitlab.url == "https://gitlab.aisingapore.net"
    assert s.rancher.url == "https://rancher.aisingapore.net"
    assert s.runai.url == "https://aisingapore.run.ai"
    assert s.runai.cluster_url == "https://runai-cluster.aisingapore.net:6443"
    assert s.harbor.registry == "registry.aisingapore.net"
    assert s.ecs.endpoint_url == "https://necs.nus.edu.sg"
    assert loaded.values["timeout"].source == "profile aisg"
    assert loaded.config_file is None


def test_every_key_of_the_contract_exists() -> None:
    # DESIGN.md §5: these keys are a public contract; renaming one breaks users' files.
    contract = {
        "timeout",
        "ca_bundle",
        "gitlab.host",
        "gitlab.ssh_port",
        "gitlab.ssh_user",
        "gitlab.url",
        "gitlab.repo",
        "rancher.url",
        "runai.url",
        "runai.kubeconfig",
        "runai.context",
        "runai.project",
        "runai.namespace",
        "harbor.registry",
        "harbor.projects",
        "harbor.robot_file",
        "ecs.endpoint_url",
        "ecs.profile",
        "ecs.buckets",
        "mlflow.tracking_uri",
        "mlflow.experiment",
        "vpn.extra",
    }
    assert contract <= set(config.KEYS_BY_PATH)


def test_precedence_profile_file_env_flag(home: Path) -> None:
    cfg = home / ".config" / "aisg-check" / "config.yaml"
    cfg.parent.mkdir(parents=True)
    cfg.write_text(
        "timeout: 7\nharbor:\n  registry: file.example\n  projects: [a, b]\ngitlab:\n  ssh_port: 2200\n"
    )
    env = _env(home, AISG_CHECK_HARBOR_REGISTRY="env.example", AISG_CHECK_TIMEOUT="9")
    loaded = load(env=env, overrides=[("timeout", 3.5, "--timeout")])
    s = loaded.settings
    assert s.timeout == 3.5 and loaded.values["timeout"].source == "flag --timeout"
    assert s.harbor.registry == "env.example"
    assert loaded.values["harbor.registry"].source == "env AISG_CHECK_HARBOR_REGISTRY"
    assert s.harbor.projects == ("a", "b")
    assert loaded.values["harbor.projects"].source == f"file {cfg}:4"
    assert s.gitlab.ssh_port == 2200
    assert loaded.config_file == cfg


def test_tool_environment_variables_feed_settings_and_ours_win(home: Path) -> None:
    loaded = load(
        env=_env(
            home,
            MLFLOW_TRACKING_URI="http://127.0.0.1:5000",
            AWS_PROFILE="p1",
            GITLAB_TOKEN="glpat-canary",
            AISG_CHECK_ECS_PROFILE="p2",
        )
    )
    assert loaded.settings.mlflow.tracking_uri == "http://127.0.0.1:5000"
    assert loaded.settings.ecs.profile == "p2"
    assert isinstance(loaded.settings.gitlab.token, Secret)
    assert loaded.settings.gitlab.token.reveal() == "glpat-canary"
    assert [s.reveal() for s in loaded.secrets()] == ["glpat-canary"]


def test_config_file_from_env_variable_and_flag(home: Path, tmp_path: Path) -> None:
    a = tmp_path / "a.yaml"
    a.write_text("timeout: 11\n")
    b = tmp_path / "b.yaml"
    b.write_text("timeout: 12\n")
    assert load(env=_env(home, AISG_CHECK_CONFIG=str(a))).settings.timeout == 11
    assert load(env=_env(home, AISG_CHECK_CONFIG=str(a)), config_file=b).settings.timeout == 12


def test_list_and_bool_values_from_text(home: Path) -> None:
    loaded = load(env=_env(home, AISG_CHECK_ECS_BUCKETS="x, y ,,z", AISG_CHECK_ECS_WRITE_TEST="yes"))
    assert loaded.settings.ecs.buckets == ("x", "y", "z")
    assert loaded.settings.ecs.write_test is True


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("timeout: [1\n", r"config\.yaml:2: invalid YAML: .*flow sequence at line 1"),
        ("gitlab:\n  host: a\n port: 3\n", r"config\.yaml:3: invalid YAML"),
        (
            "harbor:\n  projets: [a]\n",
            r"config\.yaml:2: unknown key 'harbor\.projets'; did you mean 'harbor\.projects'\?",
        ),
        ("timout: 3\n", r"config\.yaml:1: unknown key 'timout'; did you mean 'timeout'\?"),
        (
            "gitlab:\n  ssh_port: twenty\n",
            r"config\.yaml:2: 'gitlab\.ssh_port' must be a whole number, got 'twenty'",
        ),
        ("harbor:\n  projects: a\n", r"config\.yaml:2: 'harbor\.projects' must be a list of strings"),
        ("", r"config\.yaml: the file is empty"),
        ("# only a comment\n", r"config\.yaml: the file is empty"),
        ("- a\n- b\n", r"config\.yaml:1: expected a mapping"),
        ("harbor: 3\n", r"config\.yaml:1: 'harbor' must be a mapping"),
        ("timeout: 0\n", r"'timeout' must be a number of seconds greater than 0"),
        ("timeout: -1\n", r"'timeout' must be a number of seconds greater than 0"),
        ("timeout: 1\ntimeout: 2\n", r"config\.yaml:2: 'timeout' is set twice"),
        ("timeout: .inf\n", r"greater than 0 and at most 600"),
        (
            "rancher:\n  url: rancher.aisingapore.net\n",
            r"config\.yaml:2: 'rancher\.url' must be an http:// or https:// URL",
        ),
        (
            "mlflow:\n  tracking_uri: https://u:pw@:5000\n",
            r"'mlflow\.tracking_uri' must be an http:// or https:// URL, got 'https://:5000'",
        ),
        ("gitlab:\n  token: [1]\n", r"'gitlab\.token' must be a string or null, got <hidden>"),
    ],
)
def test_bad_config_files_name_file_line_and_key(home: Path, tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load(env=_env(home), config_file=path)


def test_missing_unreadable_and_binary_files(home: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load(env=_env(home), config_file=tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="is a directory"):
        load(env=_env(home), config_file=tmp_path)
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"\xff\xfe\x00timeout")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load(env=_env(home), config_file=binary)


@pytest.mark.skipif(
    os.name == "nt" or os.geteuid() == 0, reason="root (and Windows) can read a mode-000 file"
)
def test_permission_denied(home: Path, tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("timeout: 3\n")
    path.chmod(0)
    with pytest.raises(ConfigError, match="permission denied"):
        load(env=_env(home), config_file=path)


def test_default_user_file_may_be_absent_but_named_one_must_exist(home: Path, tmp_path: Path) -> None:
    assert load(env=_env(home)).config_file is None
    with pytest.raises(ConfigError, match="not found"):
        load(env=_env(home, AISG_CHECK_CONFIG=str(tmp_path / "missing.yaml")))


def test_bad_environment_and_flags(home: Path) -> None:
    with pytest.raises(
        ConfigError, match="environment variable AISG_CHECK_TIMEOUT: 'timeout' must be a number"
    ):
        load(env=_env(home, AISG_CHECK_TIMEOUT="soon"))
    with pytest.raises(
        ConfigError, match=r"AISG_CHECK_HARBOR_REGISTY: no setting.*did you mean AISG_CHECK_HARBOR_REGISTRY"
    ):
        load(env=_env(home, AISG_CHECK_HARBOR_REGISTY="x"))
    with pytest.raises(
        ConfigError, match="flag --timeout: 'timeout' must be a number of seconds greater than 0"
    ):
        load(env=_env(home), overrides=[("timeout", 0.0, "--timeout")])
    with pytest.raises(ConfigError, match=r"flag --set harbor\.projets: unknown key 'harbor\.projets'"):
        load(env=_env(home), overrides=[("harbor.projets", "a", "--set harbor.projets")])


def test_user_config_path_follows_xdg(home: Path) -> None:
    assert (
        config.user_config_path({"XDG_CONFIG_HOME": str(home / "x")})
        == home / "x" / "aisg-check" / "config.yaml"
    )


YAML_LOADERS = [
    pytest.param(getattr(__import__("yaml"), "CSafeLoader", None), id="libyaml"),
    pytest.param(__import__("yaml").SafeLoader, id="pure-python"),
]


@pytest.mark.parametrize("loader", YAML_LOADERS)
@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "gitlab:\n  token: !!binary 'glpat-CanaryYamlToken1'\n",
            r"config\.yaml:2: 'gitlab\.token': invalid value",
        ),
        ("timeout: 5\nharbor:\n\tregistry: x\n", r"config\.yaml:3: invalid YAML: .*\(a tab: YAML indents"),
        ("timeout: 5\x00\n", r"config\.yaml(:1)?: invalid YAML"),
    ],
    ids=["bad-binary-token", "tab", "nul"],
)
def test_yaml_errors_alike_with_either_parser_and_never_quote_a_secret(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, loader: Any, text: str, message: str
) -> None:
    # libyaml is used when PyYAML has it; a machine without it gets the pure-Python parser,
    # whose messages quote the offending line: a token there must not reach the error.
    if loader is None:
        pytest.skip("PyYAML was built without libyaml")
    monkeypatch.setattr(config, "YAML_LOADER", loader)
    path = tmp_path / "config.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as raised:
        load(env=_env(home), config_file=path)
    assert "CanaryYamlToken1" not in str(raised.value)
    assert "\n" not in str(raised.value)  # one line, as every config error
