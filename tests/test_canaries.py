"""Secrets never leave: known canaries in every input the core reads (config file, env,
URLs with credentials) must be absent from every output format, stderr and error paths."""

from __future__ import annotations

import os
from pathlib import Path

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
