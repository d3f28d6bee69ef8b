"""The `ecs` check against moto's real S3/IAM server on 127.0.0.1 (IAM enforcement on), plus a
canned S3 look-alike for what moto cannot produce (clock skew, TLS with a test CA), and the
loopback fault endpoints for the shared transport codes."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import ssl
import subprocess
import sys
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from aisg_check.check import Recorder
from aisg_check.checks import ecs
from aisg_check.checks.ecs import client, diagnoses, s3
from aisg_check.config import ConfigError
from aisg_check.model import CheckResult, Status
from aisg_check.platform import aws
from tests.helpers import assert_result, make_context, run_cli, run_component
from tests.servers.faults import CATEGORIES, Fault, assert_shared_code, faults
from tests.servers.s3 import (
    LIST_BUCKETS_XML,
    AccessKey,
    FakeS3,
    MotoServer,
    bucket_policy,
    s3_error_xml,
)

pytestmark = pytest.mark.server

READ_ONLY = ("s3:GetObject", "s3:ListBucket")
CANARY = "CanarySecretKey/DoNotPrint+0123456789abcdef"


# -- fixtures and helpers ---------------------------------------------------------------------------


class Platform:
    """moto with two buckets and three users, IAM enforcement on."""

    def __init__(self, server: MotoServer) -> None:
        self.server = server
        self.url = server.url
        server.reset()
        server.create_bucket("project-1", {"data/a.csv": b"a,b\n1,2\n"})
        server.create_bucket("hidden", {"model.pt": b"weights"})
        self.admin = server.create_admin()
        self.alice = server.create_user("alice", bucket_policy(["project-1"], ["s3:*"]))
        # ECS's hidden bucket: no ListAllMyBuckets, but the bucket's objects are readable.
        self.reader = server.create_user("reader", bucket_policy(["hidden"], READ_ONLY))
        server.enforce_auth()

    def user(
        self, name: str, actions: tuple[str, ...], buckets: tuple[str, ...] = ("project-1",)
    ) -> AccessKey:
        """A user created later, while enforcement is on: through the IAM API with admin keys."""
        import json

        iam = self.server.client("iam", self.admin)
        iam.create_user(UserName=name)
        iam.put_user_policy(
            UserName=name, PolicyName="p", PolicyDocument=json.dumps(bucket_policy(buckets, actions))
        )
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return AccessKey(name, key["AccessKeyId"], key["SecretAccessKey"])


@pytest.fixture()
def platform(moto_server: MotoServer) -> Iterator[Platform]:
    try:
        yield Platform(moto_server)
    finally:
        # The server is shared with the MLflow tests: hand it back empty and with IAM enforcement off.
        moto_server.reset()


def write_aws(home: Path, credentials: str = "", config: str | None = None) -> None:
    folder = home / ".aws"
    folder.mkdir(exist_ok=True)
    (folder / "credentials").write_text(credentials)
    if config is not None:
        (folder / "config").write_text(config)


def profile_text(name: str, key: AccessKey | tuple[str, str]) -> str:
    key_id, secret = (key.key_id, key.secret) if isinstance(key, AccessKey) else key
    return f"[{name}]\naws_access_key_id = {key_id}\naws_secret_access_key = {secret}\n\n"


def run_ecs(
    endpoint: str,
    env: Mapping[str, str] | None = None,
    *,
    verbose: bool = False,
    settings: Mapping[str, Any] | None = None,
    **ecs_settings: Any,
) -> dict[str, CheckResult]:
    """`aisg-check ecs --skip 'vpn.*'` in process: the endpoint's probe is not what is tested here."""
    ctx = make_context(
        {**(settings or {}), "ecs": {"endpoint_url": endpoint, **ecs_settings}}, env=env, verbose=verbose
    )
    return run_component(ctx, "ecs", skip=["vpn.*"])


def statuses(results: Mapping[str, CheckResult]) -> dict[str, str]:
    return {k: r.status.value for k, r in results.items()}


def endpoint_config(url: str, profile: str = "default") -> str:
    section = "default" if profile == "default" else f"profile {profile}"
    return f"[{section}]\nendpoint_url = {url}\n"


# -- passes -----------------------------------------------------------------------------------------


def test_pass_with_several_profiles(platform: Platform, home: Path) -> None:
    write_aws(
        home,
        profile_text("profile-1", platform.admin) + profile_text("profile-2", platform.alice),
        endpoint_config(platform.url, "profile-1") + endpoint_config(platform.url, "profile-2"),
    )
    first = run_ecs(platform.url, verbose=True, profile="profile-1", buckets=["project-1"])
    assert statuses(first) == {
        "ecs.profile": "pass",
        "ecs.endpoint": "pass",
        "ecs.list": "pass",
        "ecs.bucket.project-1": "pass",
        "ecs.write": "skip",
    }
    assert first["ecs.list"].details["count"] == 2
    assert first["ecs.list"].details["buckets"] == ["hidden", "project-1"]
    assert first["ecs.profile"].details["keys_from"] == "~/.aws/credentials [profile-1]"
    assert_result(first, "ecs.write", "skip", "NOT_CONFIGURED", hint_has=["--write-test"])

    second = run_ecs(platform.url, profile="profile-2", buckets=["project-1"])
    assert assert_result(second, "ecs.profile", "pass").details["profile"] == "profile-2"
    assert_result(second, "ecs.bucket.project-1", "pass")
    # alice may not list all buckets; the named bucket still passes.
    assert_result(second, "ecs.list", "warn", "ECS_ACCESS_DENIED")
    assert "buckets" not in first["ecs.profile"].details


def test_list_names_only_with_verbose(platform: Platform, home: Path) -> None:
    write_aws(home, profile_text("default", platform.admin), endpoint_config(platform.url))
    results = run_ecs(platform.url)
    listed = assert_result(results, "ecs.list", "pass", summary_has=["Listed 2 buckets"])
    assert listed.details["count"] == 2
    assert "buckets" not in listed.details
    assert_result(results, "ecs.bucket", "skip", "NOT_CONFIGURED", hint_has=["--bucket NAME"])


def test_keys_from_environment_without_files(platform: Platform, home: Path) -> None:
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": platform.admin.key_id,
        "AWS_SECRET_ACCESS_KEY": platform.admin.secret,
        "AWS_ENDPOINT_URL_S3": platform.url,
    }
    results = run_ecs(platform.url, env=env)
    assert_result(results, "ecs.list", "pass")
    assert results["ecs.profile"].details["keys_from"] == "environment (AWS_ACCESS_KEY_ID)"
    endpoint = assert_result(results, "ecs.endpoint", "pass")
    assert endpoint.details["aws_endpoint_from"] == "AWS_ENDPOINT_URL_S3"


def test_aws_files_from_environment_variables(platform: Platform, home: Path, tmp_path: Path) -> None:
    creds, config = tmp_path / "creds.ini", tmp_path / "config.ini"
    creds.write_text(profile_text("elsewhere", platform.admin))
    config.write_text(endpoint_config(platform.url, "elsewhere"))
    env = {
        **os.environ,
        "AWS_SHARED_CREDENTIALS_FILE": str(creds),
        "AWS_CONFIG_FILE": str(config),
        "AWS_PROFILE": "elsewhere",
    }
    results = run_ecs(platform.url, env=env, profile="elsewhere")
    assert_result(results, "ecs.list", "pass")
    profile = assert_result(results, "ecs.profile", "pass", summary_has=[f"{creds} [elsewhere]"])
    assert profile.details["chosen_by"] == "AWS_PROFILE"
    assert profile.details["credentials_file"] == str(creds)  # a path, not a secret
    assert_result(results, "ecs.endpoint", "pass")


# -- profile layer ----------------------------------------------------------------------------------


def test_profile_not_found_lists_existing_names(platform: Platform, home: Path) -> None:
    write_aws(home, profile_text("profile-1", platform.admin) + profile_text("profile-2", platform.alice))
    results = run_ecs(platform.url, profile="typo")
    profile = assert_result(
        results, "ecs.profile", "fail", "ECS_PROFILE_NOT_FOUND", summary_has=["profile-1, profile-2"]
    )
    assert platform.admin.secret not in repr(profile)
    assert assert_result(results, "ecs.list", "skip", "BLOCKED").blocked_by == "ecs.profile"


def test_no_credentials(platform: Platform, home: Path) -> None:
    results = run_ecs(platform.url)
    assert_result(
        results, "ecs.profile", "fail", "ECS_NO_CREDENTIALS", summary_has=["profiles that exist: none"]
    )
    assert "dataops@aisingapore.org" in (diagnoses.ECS_NO_CREDENTIALS.contact or "")
    assert {r.status for k, r in results.items() if k != "ecs.profile"} == {Status.SKIP}


def test_no_default_profile_suggests_existing_one(platform: Platform, home: Path) -> None:
    write_aws(home, profile_text("profile-1", platform.admin))
    results = run_ecs(platform.url)
    assert_result(results, "ecs.profile", "fail", "ECS_NO_CREDENTIALS", hint_has=["--profile profile-1"])


def test_profile_without_keys(platform: Platform, home: Path) -> None:
    write_aws(home, "", "[profile p]\nregion = us-east-1\nrole_arn = arn:aws:iam::1:role/x\n")
    results = run_ecs(platform.url, profile="p")
    assert_result(results, "ecs.profile", "fail", "ECS_NO_CREDENTIALS", summary_has=["role_arn"])


def test_malformed_credentials_file_names_file_and_line(platform: Platform, home: Path) -> None:
    write_aws(home, f"[default]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key {CANARY}\n")
    results = run_ecs(platform.url)
    profile = assert_result(
        results,
        "ecs.profile",
        "fail",
        "ECS_CREDENTIALS_FILE_INVALID",
        summary_has=["~/.aws/credentials line 3"],
        hint_has=["fix line 3"],
    )
    assert profile.details["line"] == 3
    assert CANARY not in repr(results)


def test_missing_section_header(platform: Platform, home: Path) -> None:
    write_aws(home, "aws_access_key_id = x\n[default]\n")
    results = run_ecs(platform.url)
    profile = assert_result(results, "ecs.profile", "fail", "ECS_CREDENTIALS_FILE_INVALID")
    assert profile.details["line"] == 1


def test_key_without_secret(platform: Platform, home: Path) -> None:
    write_aws(home, "[default]\nregion = x\n\n[p]\naws_access_key_id = AKIAONLY\n")
    results = run_ecs(platform.url, profile="p")
    profile = assert_result(
        results,
        "ecs.profile",
        "fail",
        "ECS_CREDENTIALS_FILE_INVALID",
        summary_has=["no aws_secret_access_key"],
    )
    assert profile.details["line"] == 4


def _unusable(path: Path, kind: str) -> None:
    """Put something at `path` that aws cannot read as a file."""
    if kind == "directory":
        path.mkdir(parents=True)
        (path / "credentials").write_text("[default]\n")  # a file inside does not make it one
    elif kind == "unreadable":
        path.write_text("[default]\naws_access_key_id = AKIAEXAMPLE\n")
        path.chmod(0)
    elif kind == "fifo":
        os.mkfifo(path)  # opening it would block for ever: it must not be opened at all
    elif kind == "loop":
        path.symlink_to(path)
    elif kind == "huge":
        path.write_bytes(b"# padding\n" * (aws.MAX_FILE_BYTES // 10 + 1))


UNUSABLE = {
    "directory": "is a directory",
    "unreadable": "cannot be read (Permission denied)",
    "fifo": "is not a regular file",
    "loop": "cannot be read (Too many levels of symbolic links)",
    "huge": "is larger than 256 KiB",
}


@pytest.mark.parametrize("kind", UNUSABLE)
def test_an_unusable_credentials_file_is_named_not_taken_for_absent(
    platform: Platform, home: Path, kind: str
) -> None:
    """botocore silently skips such a file, so its profiles seem not to exist ("profiles that
    exist: none"); the check names the file and what is wrong with it instead."""
    if kind == "unreadable" and os.geteuid() == 0:
        pytest.skip("root reads a file whatever its mode (the symlink loop covers an unreadable file)")
    (home / ".aws").mkdir()
    _unusable(home / ".aws" / "credentials", kind)
    results = run_ecs(platform.url, profile="p")
    profile = assert_result(
        results,
        "ecs.profile",
        "fail",
        "ECS_CREDENTIALS_FILE_INVALID",
        summary_has=[f"~/.aws/credentials {UNUSABLE[kind]}"],
        hint_has=["Put a readable aws file at ~/.aws/credentials"],
    )
    assert profile.details["file"] == "~/.aws/credentials"
    assert "profiles that exist" not in profile.summary
    assert_result(results, "ecs.list", "skip", "BLOCKED")


def test_a_config_file_named_by_its_variable_that_is_a_directory(
    platform: Platform, home: Path, tmp_path: Path
) -> None:
    write_aws(home, profile_text("default", platform.admin))
    folder = tmp_path / "aws-config"
    folder.mkdir()
    results = run_ecs(platform.url, env={**os.environ, "AWS_CONFIG_FILE": str(folder)})
    profile = assert_result(
        results,
        "ecs.profile",
        "fail",
        "ECS_CREDENTIALS_FILE_INVALID",
        summary_has=[f"{folder} is a directory"],
        hint_has=["point AWS_CONFIG_FILE at the right file"],
    )
    assert profile.details == {**profile.details, "file": str(folder), "variable": "AWS_CONFIG_FILE"}


def test_the_path_a_variable_names_is_not_a_secret(home: Path, tmp_path: Path) -> None:
    """The check registers the secrets it reads, never the path of the file they are in."""
    folder = tmp_path / "shared-credentials"
    folder.mkdir()
    env = {**os.environ, "AWS_SHARED_CREDENTIALS_FILE": str(folder), "AWS_SECRET_ACCESS_KEY": CANARY}
    ctx = make_context({"ecs": {"endpoint_url": "http://127.0.0.1:9"}}, env=env)
    results = run_component(ctx, "ecs", skip=["vpn.*"])
    assert_result(results, "ecs.profile", "fail", "ECS_CREDENTIALS_FILE_INVALID", summary_has=[str(folder)])
    assert ctx.scrubber.scrub(f"see {folder}") == f"see {folder}"
    assert ctx.scrubber.scrub(CANARY) == "***"


def test_the_path_a_variable_names_is_shown_by_the_cli(home: Path, tmp_path: Path) -> None:
    folder = tmp_path / "shared-credentials"
    folder.mkdir()
    env = cli_env(home, "http://127.0.0.1:9", AWS_SHARED_CREDENTIALS_FILE=str(folder))
    result = run_cli(["ecs", "--skip", "vpn.*", "--format", "json"], env=env)
    profile = {r["id"]: r for r in result.json()["results"]}["ecs.profile"]
    assert profile["code"] == "ECS_CREDENTIALS_FILE_INVALID"
    assert f"{folder} is a directory" in profile["summary"], profile["summary"]


def test_env_keys_override_profile_from_aws_profile(platform: Platform, home: Path) -> None:
    write_aws(home, profile_text("p", platform.admin), endpoint_config(platform.url, "p"))
    env = {
        **os.environ,
        "AWS_PROFILE": "p",
        "AWS_ACCESS_KEY_ID": "AKIASTALEKEY0000",
        "AWS_SECRET_ACCESS_KEY": CANARY,
    }
    results = run_ecs(platform.url, env=env, profile="p")
    assert_result(
        results, "ecs.profile", "warn", "ECS_ENV_KEYS_OVERRIDE_PROFILE", hint_has=["unset AWS_ACCESS_KEY_ID"]
    )
    # As botocore does, the environment's (stale) keys are the ones used.
    assert_result(results, "ecs.list", "fail", "ECS_INVALID_ACCESS_KEY")
    assert CANARY not in repr(results)


def test_explicit_profile_beats_env_keys_but_warns(platform: Platform, home: Path) -> None:
    write_aws(home, profile_text("p", platform.admin), endpoint_config(platform.url, "p"))
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "AKIASTALEKEY0000", "AWS_SECRET_ACCESS_KEY": CANARY}
    results = run_ecs(platform.url, env=env, profile="p")
    assert_result(
        results, "ecs.profile", "warn", "ECS_ENV_KEYS_OVERRIDE_PROFILE", summary_has=["aws --profile"]
    )
    assert_result(results, "ecs.list", "pass")


def test_same_env_and_profile_keys_do_not_warn(platform: Platform, home: Path) -> None:
    write_aws(home, profile_text("p", platform.admin), endpoint_config(platform.url, "p"))
    env = {
        **os.environ,
        "AWS_PROFILE": "p",
        "AWS_ACCESS_KEY_ID": platform.admin.key_id,
        "AWS_SECRET_ACCESS_KEY": platform.admin.secret,
    }
    results = run_ecs(platform.url, env=env, profile="p")
    assert_result(results, "ecs.profile", "pass")


# -- endpoint layer ---------------------------------------------------------------------------------


def test_endpoint_not_set_warns_with_exact_line(platform: Platform, home: Path) -> None:
    write_aws(home, profile_text("profile-1", platform.admin))
    results = run_ecs(platform.url, profile="profile-1")
    assert_result(
        results,
        "ecs.endpoint",
        "warn",
        "ECS_ENDPOINT_NOT_SET",
        hint_has=[
            f"`endpoint_url = {platform.url}` under [profile profile-1] in ~/.aws/config",
            f"--endpoint-url {platform.url}",
        ],
    )
    assert_result(results, "ecs.list", "pass")  # a warning does not block


def test_endpoint_from_services_section(platform: Platform, home: Path) -> None:
    config = f"[default]\nservices = ecs\n\n[services ecs]\ns3 =\n  endpoint_url = {platform.url}/\n"
    write_aws(home, profile_text("default", platform.admin), config)
    results = run_ecs(platform.url)
    assert_result(results, "ecs.endpoint", "pass")


def test_endpoint_mismatch(platform: Platform, home: Path) -> None:
    write_aws(home, profile_text("default", platform.admin), endpoint_config("https://s3.example.invalid"))
    results = run_ecs(platform.url)
    assert_result(
        results, "ecs.endpoint", "warn", "ECS_ENDPOINT_MISMATCH", summary_has=["https://s3.example.invalid"]
    )


def test_ignore_configured_endpoint_urls(platform: Platform, home: Path) -> None:
    write_aws(home, profile_text("default", platform.admin), endpoint_config(platform.url))
    env = {**os.environ, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"}
    results = run_ecs(platform.url, env=env)
    assert_result(results, "ecs.endpoint", "warn", "ECS_ENDPOINT_NOT_SET")


def run_ecs_unchecked(endpoint: str) -> dict[str, CheckResult]:
    """With an endpoint the settings loader would refuse: the check must still cope on its own."""
    ctx = make_context({"ecs": {"endpoint_url": "http://127.0.0.1:9"}})
    settings = dataclasses.replace(
        ctx.settings, ecs=dataclasses.replace(ctx.settings.ecs, endpoint_url=endpoint)
    )
    return run_component(dataclasses.replace(ctx, settings=settings), "ecs", skip=["vpn.*"])


def test_invalid_endpoint_url(home: Path) -> None:
    write_aws(home, profile_text("default", ("AKIAEXAMPLE", "secret-secret")))
    with pytest.raises(ConfigError, match=r"ecs\.endpoint_url"):
        run_ecs("necs.nus.edu.sg")  # the settings refuse it first
    results = run_ecs_unchecked("necs.nus.edu.sg")  # no scheme: never contacted, never resolved
    assert_result(results, "ecs.endpoint", "fail", "ECS_ENDPOINT_INVALID", summary_has=["'necs.nus.edu.sg'"])
    assert assert_result(results, "ecs.list", "skip", "BLOCKED").blocked_by == "ecs.endpoint"


def test_no_endpoint_configured_skips(home: Path) -> None:
    results = run_ecs_unchecked("")
    assert set(results) == {"ecs.profile", "ecs.endpoint", "ecs.list", "ecs.bucket", "ecs.write"}
    assert {r.code for r in results.values()} == {"NOT_CONFIGURED"}
    assert {r.status for r in results.values()} == {Status.SKIP}


# -- list layer -------------------------------------------------------------------------------------


def test_invalid_access_key(platform: Platform, home: Path) -> None:
    write_aws(home, profile_text("default", ("AKIANOTKNOWN00000000", CANARY)), endpoint_config(platform.url))
    results = run_ecs(platform.url)
    assert_result(results, "ecs.list", "fail", "ECS_INVALID_ACCESS_KEY", summary_has=["does not know"])
    assert results["ecs.write"].blocked_by == "ecs.list"


def test_bucket_answers_count_only_after_the_listing_passed(platform: Platform, home: Path) -> None:
    # The bucket reads go out beside ListBuckets; when the keys fail there, the buckets are
    # blocked by the listing, not failed on answers of their own.
    write_aws(home, profile_text("default", ("AKIANOTKNOWN00000000", CANARY)), endpoint_config(platform.url))
    results = run_ecs(platform.url, buckets=["project-1", "another"])
    assert_result(results, "ecs.list", "fail", "ECS_INVALID_ACCESS_KEY")
    assert not [r.id for r in results.values() if r.id.startswith("ecs.bucket.")]
    assert assert_result(results, "ecs.bucket", "skip", "BLOCKED").blocked_by == "ecs.list"


def test_wrong_secret(platform: Platform, home: Path) -> None:
    write_aws(home, profile_text("default", (platform.admin.key_id, CANARY)), endpoint_config(platform.url))
    results = run_ecs(platform.url)
    assert_result(results, "ecs.list", "fail", "ECS_SIGNATURE_MISMATCH")
    assert CANARY not in repr(results)


def test_clock_skew_shows_offset(home: Path) -> None:
    body = s3_error_xml(
        "RequestTimeTooSkewed",
        "The difference between the request time and the current time is too large.",
        RequestTime="20240101T003000Z",
        ServerTime="2024-01-01T00:00:00Z",
        MaxAllowedSkewMilliseconds="900000",
    )
    with FakeS3(403, body) as fake:
        write_aws(home, profile_text("default", ("AKIAEXAMPLE", "secret-secret")), endpoint_config(fake.url))
        results = run_ecs(fake.url)
    skew = assert_result(
        results, "ecs.list", "fail", "ECS_CLOCK_SKEW", summary_has=["+1800 s (30 min ahead of)"]
    )
    assert skew.details["clock_offset_s"] == 1800


def test_clock_skew_without_request_time_reads_the_contexts_clock(home: Path) -> None:
    """Without the server's copy of the request time, "now" is the context's wall clock."""
    body = s3_error_xml("RequestTimeTooSkewed", "Too skewed.", ServerTime="2024-01-01T00:00:00Z")
    with FakeS3(403, body) as fake:
        write_aws(home, profile_text("default", ("AKIAEXAMPLE", "secret-secret")), endpoint_config(fake.url))
        ctx = make_context(
            {"ecs": {"endpoint_url": fake.url}},
            now=lambda: datetime(2023, 12, 31, 23, 40, tzinfo=timezone.utc),
        )
        results = run_component(ctx, "ecs", skip=["vpn.*"])
    skew = assert_result(results, "ecs.list", "fail", "ECS_CLOCK_SKEW", summary_has=["(20 min behind)"])
    assert skew.details["clock_offset_s"] == -1200


def test_hidden_bucket_listing_denied_is_a_warning(platform: Platform, home: Path) -> None:
    write_aws(home, profile_text("default", platform.reader), endpoint_config(platform.url))
    results = run_ecs(platform.url, buckets=["hidden"])
    assert_result(
        results, "ecs.list", "warn", "ECS_ACCESS_DENIED", summary_has=["checking the named buckets"]
    )
    assert_result(results, "ecs.bucket.hidden", "pass")
    bare = run_ecs(platform.url)
    assert_result(bare, "ecs.list", "warn", "ECS_ACCESS_DENIED", hint_has=["--bucket NAME"])


def test_unexpected_s3_error(home: Path) -> None:
    with FakeS3(503, s3_error_xml("SlowDown", "Please reduce your request rate.")) as fake:
        write_aws(home, profile_text("default", ("AKIAEXAMPLE", "secret-secret")), endpoint_config(fake.url))
        results = run_ecs(fake.url)
    assert_result(results, "ecs.list", "fail", "ECS_S3_ERROR", summary_has=["SlowDown (HTTP 503)"])
    assert fake.requests == client.MAX_ATTEMPTS  # the retry count is ours, not botocore's default


# -- named buckets ----------------------------------------------------------------------------------


def test_bucket_not_found(platform: Platform, home: Path) -> None:
    write_aws(home, profile_text("default", platform.admin), endpoint_config(platform.url))
    results = run_ecs(platform.url, buckets=["project-1", "nope"], write_test=True)
    assert_result(results, "ecs.bucket.project-1", "pass")
    assert_result(results, "ecs.bucket.nope", "fail", "ECS_BUCKET_NOT_FOUND", hint_has=["spelling of 'nope'"])
    assert results["ecs.write"].blocked_by == "ecs.bucket.nope"


def test_every_named_bucket_is_checked_after_one_fails(platform: Platform, home: Path) -> None:
    write_aws(home, profile_text("default", platform.admin), endpoint_config(platform.url))
    results = run_ecs(platform.url, buckets=["nope", "project-1"])
    assert_result(results, "ecs.bucket.nope", "fail", "ECS_BUCKET_NOT_FOUND")
    assert_result(results, "ecs.bucket.project-1", "pass")
    assert results["ecs.write"].blocked_by == "ecs.bucket.nope"


def test_bucket_denied(platform: Platform, home: Path) -> None:
    write_aws(home, profile_text("default", platform.reader), endpoint_config(platform.url))
    results = run_ecs(platform.url, buckets=["project-1"])
    assert_result(results, "ecs.bucket.project-1", "fail", "ECS_BUCKET_DENIED", hint_has=["DataOps"])


def test_a_bucket_name_botocore_refuses_is_not_a_network_failure(platform: Platform, home: Path) -> None:
    write_aws(home, profile_text("default", platform.admin), endpoint_config(platform.url))
    results = run_ecs(platform.url, buckets=["Not A Bucket!"])
    assert_result(
        results,
        "ecs.bucket.Not A Bucket!",
        "fail",
        "ECS_S3_ERROR",
        summary_has=["ParamValidationError", "Invalid bucket name"],
    )


# -- write round trip -------------------------------------------------------------------------------


def test_write_round_trip_leaves_nothing(platform: Platform, home: Path) -> None:
    write_aws(home, profile_text("default", platform.alice), endpoint_config(platform.url))
    results = run_ecs(platform.url, buckets=["project-1"], write_test=True)
    write = assert_result(results, "ecs.write", "pass", summary_has=["bucket 'project-1'"])
    assert write.details["key"].startswith(s3.WRITE_TEST_PREFIX)
    assert platform.server.keys("project-1", platform.admin) == ["data/a.csv"]


def test_write_denied(platform: Platform, home: Path) -> None:
    write_aws(home, profile_text("default", platform.reader), endpoint_config(platform.url))
    results = run_ecs(platform.url, buckets=["hidden"], write_test=True)
    assert_result(results, "ecs.write", "fail", "ECS_WRITE_DENIED")
    assert platform.server.keys("hidden", platform.admin) == ["model.pt"]


def test_write_read_back_fails_but_cleans_up(platform: Platform, home: Path) -> None:
    writer = platform.user("writer", ("s3:ListBucket", "s3:PutObject", "s3:DeleteObject"))
    write_aws(home, profile_text("default", writer), endpoint_config(platform.url))
    results = run_ecs(platform.url, buckets=["project-1"], write_test=True)
    write = assert_result(
        results, "ecs.write", "fail", "ECS_WRITE_READBACK_FAILED", summary_has=["deleted again"]
    )
    assert write.details["cleaned_up"] is True
    assert platform.server.keys("project-1", platform.admin) == ["data/a.csv"]


def test_write_cleanup_failure_is_reported(platform: Platform, home: Path) -> None:
    keeper = platform.user("keeper", ("s3:ListBucket", "s3:PutObject", "s3:GetObject"))
    write_aws(home, profile_text("default", keeper), endpoint_config(platform.url))
    results = run_ecs(platform.url, buckets=["project-1"], write_test=True)
    write = assert_result(results, "ecs.write", "warn", "ECS_WRITE_CLEANUP_FAILED")
    assert f"s3 rm s3://project-1/{write.details['key']}" in (write.hint or "")
    assert write.details["key"] in platform.server.keys("project-1", platform.admin)


def test_write_skipped_when_too_little_time_is_left(platform: Platform, home: Path) -> None:
    """A put abandoned at the hard deadline would never reach its delete: it must not start.
    A recorder of its own: no setting gives the runner's deadline so little room."""
    write_aws(home, profile_text("default", platform.alice), endpoint_config(platform.url))
    ctx = make_context(
        {"timeout": 5, "ecs": {"endpoint_url": platform.url, "buckets": ["project-1"], "write_test": True}}
    )
    start = ctx.clock()
    # 12 s left: plenty for the listing, less than the 3 × 5 s a put, read-back and delete may take.
    rec = Recorder(ecs.CHECKS[0], docs_base_url="x", clock=ctx.clock, deadline_at=lambda: start + 12.0)
    ecs.run(ctx, rec)
    results = {r.id: r for r in rec.results}
    assert_result(results, "ecs.bucket.project-1", "pass")
    assert_result(results, "ecs.write", "warn", "ECS_WRITE_NO_TIME", hint_has=["--timeout 20"])
    assert platform.server.keys("project-1", platform.admin) == ["data/a.csv"]  # nothing was put


def test_budget_covers_a_slow_endpoint() -> None:
    """One timeout per call of a slow but answering endpoint: list, two per bucket (three), write."""
    assert ecs.CHECKS[0].budget >= 1 + 2 * 3 + s3.WRITE_CALLS


def test_write_without_named_bucket_uses_first_listed(platform: Platform, home: Path) -> None:
    write_aws(home, profile_text("default", platform.admin), endpoint_config(platform.url))
    results = run_ecs(platform.url, write_test=True)
    assert assert_result(results, "ecs.write", "pass").details["bucket"] == "hidden"


def test_write_without_any_bucket_is_skipped(platform: Platform, home: Path) -> None:
    write_aws(home, profile_text("default", platform.reader), endpoint_config(platform.url))
    results = run_ecs(platform.url, write_test=True)  # listing denied, none named
    assert_result(results, "ecs.write", "skip", "NOT_CONFIGURED", hint_has=["--bucket NAME --write-test"])


# -- transport --------------------------------------------------------------------------------------


@pytest.fixture()
def tls_fake(ca: Any) -> Iterator[FakeS3]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    with FakeS3(200, LIST_BUCKETS_XML, ssl_context=context) as fake:
        yield fake


def test_untrusted_tls_certificate(tls_fake: FakeS3, home: Path) -> None:
    write_aws(home, profile_text("default", ("AKIAEXAMPLE", "secret-secret")), endpoint_config(tls_fake.url))
    results = run_ecs(tls_fake.url)
    assert_result(results, "ecs.list", "fail", "TLS_UNTRUSTED_CERT", summary_has=["127.0.0.1"])


def test_tls_with_ca_bundle(
    tls_fake: FakeS3, ca_file: Path, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    # A private temp dir: other processes on the machine may have bundles of their own in /tmp.
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    write_aws(home, profile_text("default", ("AKIAEXAMPLE", "secret-secret")), endpoint_config(tls_fake.url))
    results = run_ecs(tls_fake.url, settings={"ca_bundle": str(ca_file)})
    assert assert_result(results, "ecs.list", "pass").details["count"] == 1
    assert not list(tmp_path.glob("aisg-check-ca-*"))  # the temporary bundle was removed


def test_connection_refused(home: Path) -> None:
    from tests.servers.process import free_port

    url = f"http://127.0.0.1:{free_port()}"
    write_aws(home, profile_text("default", ("AKIAEXAMPLE", "secret-secret")), endpoint_config(url))
    results = run_ecs(url)
    assert_result(results, "ecs.list", "fail", "VPN_CONNECT_REFUSED", summary_has=["127.0.0.1 refused"])


@pytest.fixture(scope="module")
def fault_endpoints() -> Iterator[dict[str, Fault]]:
    with faults() as found:
        yield found


@pytest.mark.parametrize("category", CATEGORIES)
def test_transport_failures_get_the_shared_codes(
    category: str, fault_endpoints: dict[str, Fault], home: Path
) -> None:
    """Past its probe (skipped here), each way the connection fails gets the code every
    component gives it, through the one classifier."""
    fault = fault_endpoints[category]
    env = {
        "HOME": str(home),
        "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": CANARY,
        **fault.env,
    }
    ctx = make_context({"timeout": 1, "ecs": {"endpoint_url": fault.url()}}, env=env)
    results = run_component(ctx, "ecs", skip=["vpn.*"])
    assert_shared_code(fault, results["ecs.list"])
    assert CANARY not in repr(results)


# -- the real CLI -----------------------------------------------------------------------------------


def cli_env(home: Path, url: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "HOME": str(home),
        "AISG_CHECK_ECS_ENDPOINT_URL": url,
        "AISG_CHECK_TIMEOUT": "3",
        **extra,
    }


def test_cli_end_to_end_json(platform: Platform, home: Path) -> None:
    write_aws(home, profile_text("p", platform.reader), endpoint_config(platform.url, "p"))
    result = run_cli(
        ["ecs", "--profile", "p", "--bucket", "hidden", "--format", "json"], env=cli_env(home, platform.url)
    )
    assert result.returncode == 0, result.stderr
    report = result.json()
    by_id = {r["id"]: r for r in report["results"]}
    # moto answers the probe's unsigned HEAD / with a 500: reachable, with a warning.
    assert by_id["vpn.ecs"]["status"] in ("pass", "warn")
    assert by_id["ecs.profile"]["status"] == "pass"
    assert by_id["ecs.list"]["code"] == "ECS_ACCESS_DENIED"
    assert by_id["ecs.bucket.hidden"]["status"] == "pass"
    assert by_id["ecs.list"]["docs_url"].endswith("#ecs_access_denied")


@pytest.mark.parametrize(
    "args",
    [
        ["--format", "table"],
        ["--format", "table", "--verbose"],
        ["--format", "json", "--verbose"],
        ["--format", "junit", "--verbose"],
        ["--format", "markdown", "--verbose"],
    ],
)
def test_secret_canary_in_every_format(platform: Platform, home: Path, args: list[str]) -> None:
    # The file's secret is wrong (SignatureDoesNotMatch), the environment's secret belongs to a
    # stale key; both are the canary, and both must stay out of every output.
    write_aws(home, profile_text("p", (platform.admin.key_id, CANARY)), endpoint_config(platform.url, "p"))
    env = cli_env(
        home,
        platform.url,
        AWS_PROFILE="p",
        AWS_ACCESS_KEY_ID=platform.admin.key_id,
        AWS_SECRET_ACCESS_KEY=CANARY + "-env",
    )
    result = run_cli(["ecs", "--bucket", "project-1", "--write-test", *args], env=env)
    assert result.returncode == 1
    assert "ECS_SIGNATURE_MISMATCH" in result.stdout
    for text in (result.stdout, result.stderr):
        assert CANARY not in text
        assert "CanarySecretKey" not in text


def test_secret_canary_on_malformed_line(home: Path, tmp_path: Path) -> None:
    write_aws(home, f"[default]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key {CANARY}\n")
    env = cli_env(home, "http://127.0.0.1:9")
    for fmt in ("table", "json", "junit", "markdown"):
        result = run_cli(["ecs", "--verbose", "--format", fmt], env=env)
        assert "ECS_CREDENTIALS_FILE_INVALID" in result.stdout
        assert "CanarySecretKey" not in result.stdout + result.stderr


def test_help_and_vpn_do_not_import_botocore() -> None:
    code = (
        "import sys, aisg_check.cli, aisg_check.registry, aisg_check.checks.ecs, aisg_check.platform.aws; "
        "assert not [m for m in sys.modules if m.startswith(('boto3', 'botocore'))], 'imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# -- credential lifetimes: session keys with a written-down expiry ----------------------------------


def session_keys(platform: Platform) -> tuple[AccessKey, str, datetime]:
    """Real temporary keys from moto's STS (AssumeRole for 12 hours), which its S3 accepts."""
    import json

    iam = platform.server.client("iam", platform.admin)
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}],
    }
    with contextlib.suppress(iam.exceptions.EntityAlreadyExistsException):
        iam.create_role(RoleName="ecs-session", AssumeRolePolicyDocument=json.dumps(trust))
        iam.put_role_policy(
            RoleName="ecs-session",
            PolicyName="p",
            PolicyDocument=json.dumps(bucket_policy(["project-1"], ["s3:*"])),
        )
    role = iam.get_role(RoleName="ecs-session")["Role"]["Arn"]
    answer = platform.server.client("sts", platform.admin).assume_role(
        RoleArn=role, RoleSessionName="preflight", DurationSeconds=12 * 3600
    )["Credentials"]
    key = AccessKey("ecs-session", answer["AccessKeyId"], answer["SecretAccessKey"])
    return key, answer["SessionToken"], answer["Expiration"].astimezone(timezone.utc)


def session_profile(name: str, key: AccessKey, token: str, **extra: str) -> str:
    lines = "".join(f"{k} = {v}\n" for k, v in extra.items())
    return profile_text(name, key).rstrip("\n") + f"\naws_session_token = {token}\n{lines}\n"


@pytest.mark.parametrize("field", aws.EXPIRY_KEYS)
def test_session_keys_expiring_within_the_window_warn_and_still_work(
    platform: Platform, home: Path, field: str
) -> None:
    key, token, expires = session_keys(platform)
    stamp = expires.isoformat().replace("+00:00", "Z")
    write_aws(home, session_profile("default", key, token, **{field: stamp}), endpoint_config(platform.url))
    results = run_ecs(platform.url, buckets=["project-1"])
    profile = assert_result(
        results,
        "ecs.profile",
        "warn",
        "ECS_SESSION_EXPIRES_SOON",
        summary_has=["expires in 12 hours", field],
        hint_has=["new session keys", "aws_session_token", field, "~/.aws/credentials [default]"],
    )
    (credential,) = profile.credentials
    assert (credential.kind, credential.source) == ("ecs_session_keys", "~/.aws/credentials [default]")
    assert credential.expires_at == expires
    assert_result(results, "ecs.bucket.project-1", "pass")  # a warning, not a stop
    assert token not in repr(results) and key.secret not in repr(results)


def test_expiry_warning_days_is_the_window(platform: Platform, home: Path) -> None:
    key, token, _ = session_keys(platform)
    later = (datetime.now(timezone.utc) + timedelta(days=5)).isoformat()
    write_aws(
        home, session_profile("default", key, token, aws_expiration=later), endpoint_config(platform.url)
    )
    assert_result(run_ecs(platform.url), "ecs.profile", "warn", "ECS_SESSION_EXPIRES_SOON")
    narrow = assert_result(run_ecs(platform.url, settings={"expiry_warning_days": 3}), "ecs.profile", "pass")
    assert narrow.credentials[0].expires_at is not None
    assert narrow.details["expiry_from"] == "aws_expiration"


def test_expired_session_keys_fail_before_any_request(platform: Platform, home: Path) -> None:
    key, token, _ = session_keys(platform)
    past = "2020-01-31T12:00:00Z"
    write_aws(
        home,
        session_profile("default", key, token, x_security_token_expires=past),
        endpoint_config(platform.url),
    )
    results = run_ecs(platform.url)
    profile = assert_result(
        results, "ecs.profile", "fail", "ECS_SESSION_EXPIRED", summary_has=["expired", past]
    )
    assert profile.credentials[0].expires_at == datetime(2020, 1, 31, 12, tzinfo=timezone.utc)
    assert results["ecs.list"].blocked_by == "ecs.profile"


def test_session_expiry_from_the_environment(platform: Platform, home: Path) -> None:
    key, token, _ = session_keys(platform)
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": key.key_id,
        "AWS_SECRET_ACCESS_KEY": key.secret,
        "AWS_SESSION_TOKEN": token,
        "AWS_CREDENTIAL_EXPIRATION": "2020-01-31T12:00:00+08:00",  # botocore's variable
        "AWS_ENDPOINT_URL_S3": platform.url,
    }
    results = run_ecs(platform.url, env=env)
    profile = assert_result(
        results, "ecs.profile", "fail", "ECS_SESSION_EXPIRED", hint_has=["AWS_CREDENTIAL_EXPIRATION"]
    )
    assert profile.credentials[0].expires_at == datetime(2020, 1, 31, 4, tzinfo=timezone.utc)


def test_static_keys_carry_no_expiry(platform: Platform, home: Path) -> None:
    write_aws(
        home,
        profile_text("default", platform.admin).rstrip("\n") + "\naws_expiration = not a time\n",
        endpoint_config(platform.url),
    )
    results = run_ecs(platform.url)
    assert assert_result(results, "ecs.profile", "pass").credentials == ()
    assert_result(results, "ecs.list", "pass")


def test_expired_token_answer_names_the_session(home: Path) -> None:
    body = s3_error_xml("ExpiredToken", "The provided token has expired.")
    with FakeS3(400, body) as fake:
        write_aws(
            home,
            session_profile("default", AccessKey("x", "ASIAEXAMPLE", "secret-secret"), "session-token"),
            endpoint_config(fake.url),
        )
        results = run_ecs(fake.url)
    assert_result(results, "ecs.list", "fail", "ECS_SESSION_EXPIRED", summary_has=["expired"])


# -- fleet mode: the keys file from a mounted Secret, as deploy/base/cronjob.yaml sets it up ---------

SECRET_MOUNT = "aisg-check/ecs"  # /var/run/secrets/aisg-check/ecs in the CronJob


def secret_volume(root: Path, files: Mapping[str, str]) -> Path:
    """A Secret volume as the kubelet lays it out: each key a symlink into `..data`, itself a
    symlink to a timestamped directory (so updates swap atomically), files mode 0644."""
    stamp = root / "..2026_01_05_08_00_00.000000001"
    stamp.mkdir(parents=True)
    for name, text in files.items():
        (stamp / name).write_text(text)
        (stamp / name).chmod(0o644)
    (root / "..data").symlink_to(stamp.name)
    for name in files:
        (root / name).symlink_to(f"..data/{name}")
    return root


def fleet_env(tmp_path: Path, url: str, keys_file: Path, **config: Any) -> dict[str, str]:
    """The CronJob's environment: HOME an empty emptyDir, the config from the ConfigMap (as the
    example overlay writes it), AWS_SHARED_CREDENTIALS_FILE into the Secret's mount."""
    import yaml

    home = tmp_path / "home-aisg"
    home.mkdir()
    settings = {
        "fleet": {"mode": "cluster", "project": "example"},
        "expiry_warning_days": 14,
        "timeout": 3,
        "ecs": {"endpoint_url": url, "profile": "default", "buckets": ["project-1"]},
        **config,
    }
    config_file = tmp_path / "etc-aisg-check" / "config.yaml"
    config_file.parent.mkdir()
    config_file.write_text(yaml.safe_dump(settings))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "AISG_CHECK_"))}
    return {
        **env,
        "HOME": str(home),
        "AISG_CHECK_CONFIG": str(config_file),
        "AWS_SHARED_CREDENTIALS_FILE": str(keys_file),
    }


def test_fleet_keys_file_from_a_mounted_secret(platform: Platform, tmp_path: Path) -> None:
    mount = secret_volume(tmp_path / SECRET_MOUNT, {"credentials": profile_text("default", platform.admin)})
    env = fleet_env(tmp_path, platform.url, mount / "credentials")
    result = run_cli(["ecs", "--format", "json"], env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    by_id = {r["id"]: r for r in result.json()["results"]}
    assert by_id["ecs.profile"]["status"] == "pass"
    assert by_id["ecs.profile"]["details"]["keys_from"] == f"{mount / 'credentials'} [default]"
    assert by_id["ecs.profile"]["credentials"] == []  # static keys: no expiry to watch
    # Nobody's own aws/boto3 in a pod: that layer does not apply (on a laptop it would warn).
    assert (by_id["ecs.endpoint"]["status"], by_id["ecs.endpoint"]["code"]) == ("skip", "NOT_APPLICABLE")
    assert by_id["ecs.list"]["status"] == "pass"
    assert by_id["ecs.bucket.project-1"]["status"] == "pass"
    assert platform.admin.secret not in result.stdout + result.stderr


def test_fleet_session_keys_file_records_its_expiry(platform: Platform, tmp_path: Path) -> None:
    key, token, expires = session_keys(platform)
    stamp = expires.isoformat().replace("+00:00", "Z")
    text = session_profile("default", key, token, aws_expiration=stamp)
    mount = secret_volume(tmp_path / SECRET_MOUNT, {"credentials": text})
    result = run_cli(
        ["ecs", "--format", "json"], env=fleet_env(tmp_path, platform.url, mount / "credentials")
    )
    assert result.returncode == 0, result.stdout + result.stderr
    profile = {r["id"]: r for r in result.json()["results"]}["ecs.profile"]
    assert profile["code"] == "ECS_SESSION_EXPIRES_SOON"
    assert "aisg-check-ecs" in profile["hint"]  # in a pod the renewal goes into the Secret
    assert profile["credentials"] == [
        {
            "kind": "ecs_session_keys",
            "name": "ECS session keys",
            "owner": None,
            "expires_at": expires.isoformat(timespec="seconds").replace("+00:00", "Z"),
            "source": f"{mount / 'credentials'} [default]",
        }
    ]
    assert token not in result.stdout + result.stderr


def test_fleet_without_the_secret_is_not_configured(tmp_path: Path) -> None:
    env = fleet_env(tmp_path, "http://127.0.0.1:9", tmp_path / SECRET_MOUNT / "credentials")
    result = run_cli(["ecs", "--format", "json", "--skip", "vpn.ecs"], env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    ecs_results = [r for r in result.json()["results"] if r["component"] == "ecs"]
    assert {(r["status"], r["code"]) for r in ecs_results} == {("skip", "NOT_CONFIGURED")}
    assert "AWS_SHARED_CREDENTIALS_FILE" in ecs_results[0]["summary"]


def test_on_a_laptop_a_missing_keys_file_still_fails(platform: Platform, home: Path, tmp_path: Path) -> None:
    env = {**os.environ, "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "nowhere")}
    assert_result(run_ecs(platform.url, env=env), "ecs.profile", "fail", "ECS_NO_CREDENTIALS")
