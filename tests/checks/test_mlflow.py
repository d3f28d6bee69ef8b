"""The mlflow check against a real `mlflow server --app-name basic-auth` (sqlite, proxied
artifacts) and the shared moto S3 server for experiments whose artifacts go straight to S3."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aisg_check.check import Recorder
from aisg_check.checks import mlflow as check
from aisg_check.checks.mlflow import client_env, settings
from aisg_check.checks.mlflow.artifact import ARTIFACT_NAME, CREDENTIAL_ERRORS
from aisg_check.checks.mlflow.reuse import PARAM_PREFIX, PREFLIGHT_TAG
from aisg_check.model import CheckResult, Status
from aisg_check.runner import scrub_report
from tests.conftest import require
from tests.helpers import LOOPBACK_PROFILE, assert_result, make_context, run_cli, run_component, write_config
from tests.servers.faults import CATEGORIES, Fault, assert_shared_code, faults

WRITER, WRITER_PASSWORD = "writer", "writer-Canary-Pass-9183"
READER, READER_PASSWORD = "reader", "reader-Canary-Pass-4471"
EDITOR, EDITOR_PASSWORD = "editor", "editor-Canary-Pass-7730"
OUTSIDER, OUTSIDER_PASSWORD = "outsider", "outsider-Canary-Pass-5120"
# A password with a '%': ~/.mlflow/credentials must hold it as '%%' (configparser's escape).
PERCENT, PERCENT_PASSWORD = "percent", "pc%Canary-Pass-6610"
AWS_KEY, AWS_SECRET = "AKIAAISGCHECKTEST01", "aws-Canary-Secret-5521"
PROXIED, DIRECT, NO_BUCKET = "preflight", "direct-s3", "no-bucket"
BUCKET = "aisg-mlflow-direct"

S, SERVER, AUTH, EXPERIMENT = "mlflow.settings", "mlflow.server", "mlflow.auth", "mlflow.experiment"
LOG, ARTIFACT, CLEANUP = "mlflow.log", "mlflow.artifact", "mlflow.cleanup"
STEP_IDS = [s.id for s in check.STEPS]


# The server, once started: test_mlflow_*.py import the fixture, and pytest would otherwise
# start one server for each module that does (10-40 s each).
_STARTED: list[Any] = []


@pytest.fixture(scope="session")
def mlflow_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One basic-auth MLflow server per run, with AISG's default of no permissions: a writer
    (MANAGE: may delete runs too), an editor (EDIT: logs runs but may not delete them), a reader
    (READ) and an outsider (no permission on any experiment)."""
    if not _STARTED:
        _STARTED.append(_start_platform(tmp_path_factory))
    server = _STARTED[0]
    try:
        yield server
    finally:
        server.stop()  # a no-op for the second module that asks


def _start_platform(tmp_path_factory: pytest.TempPathFactory) -> Any:
    import importlib.metadata
    import importlib.util

    try:
        installed = importlib.metadata.version("mlflow")
    except importlib.metadata.PackageNotFoundError:
        installed = None
    # Not imported here: the server stack is heavy and only the server process needs it.
    require(
        installed is not None and importlib.util.find_spec("flask_wtf") is not None,
        "mlflow[auth] is not installed (pip install 'mlflow[auth]==3.17.2')",
    )
    from tests.servers.mlflow_server import MlflowServer

    try:
        server = MlflowServer(tmp_path_factory.mktemp("mlflow"))
    except RuntimeError as exc:
        require(False, f"mlflow server did not start: {exc}")
    try:
        for user, password in (
            (WRITER, WRITER_PASSWORD),
            (READER, READER_PASSWORD),
            (EDITOR, EDITOR_PASSWORD),
            (PERCENT, PERCENT_PASSWORD),
            (OUTSIDER, OUTSIDER_PASSWORD),
        ):
            server.create_user(user, password)
        server.ids = {
            PROXIED: server.experiment(PROXIED),
            DIRECT: server.experiment(DIRECT, artifact_location=f"s3://{BUCKET}/mlflow"),
            NO_BUCKET: server.experiment(NO_BUCKET, artifact_location="s3://no-such-bucket/mlflow"),
        }
        for experiment_id in server.ids.values():
            server.grant(WRITER, experiment_id, "MANAGE")
            server.grant(PERCENT, experiment_id, "MANAGE")
            server.grant(EDITOR, experiment_id, "EDIT")
            server.grant(READER, experiment_id, "READ")
    except BaseException:
        server.stop()
        raise
    return server


@pytest.fixture()
def bucket(moto_server: Any) -> str:
    """A fresh moto (the ECS tests share it and may leave it enforcing IAM) with our bucket."""
    moto_server.reset()
    _s3(moto_server.url).create_bucket(Bucket=BUCKET)
    return BUCKET


def _s3(url: str) -> Any:
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=url,
        aws_access_key_id=AWS_KEY,
        aws_secret_access_key=AWS_SECRET,
        region_name="us-east-1",
    )


def _objects(moto_url: str) -> list[str]:
    return [o["Key"] for o in _s3(moto_url).list_objects_v2(Bucket=BUCKET).get("Contents", [])]


def _env(user: str | None = WRITER, password: str | None = WRITER_PASSWORD, **extra: str) -> dict[str, str]:
    from tests.servers.mlflow_server import QUIET_ENV

    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "AWS_"))}
    env.update(QUIET_ENV)
    if user is not None:
        env["MLFLOW_TRACKING_USERNAME"] = user
    if password is not None:
        env["MLFLOW_TRACKING_PASSWORD"] = password
    env.update(extra)
    return env


def _s3_env(moto_url: str, **extra: str) -> dict[str, str]:
    return {
        "MLFLOW_S3_ENDPOINT_URL": moto_url,
        "AWS_ACCESS_KEY_ID": AWS_KEY,
        "AWS_SECRET_ACCESS_KEY": AWS_SECRET,
        "AWS_DEFAULT_REGION": "us-east-1",
        **extra,
    }


def _run(
    uri: str | None,
    experiment: str | None = PROXIED,
    env: dict[str, str] | None = None,
    *,
    skip: tuple[str, ...] = ("vpn.*",),
    timeout: float = 5,
    ca_bundle: str | None = None,
    **mlflow: Any,
) -> dict[str, CheckResult]:
    """The check as `aisg-check mlflow` runs it (its VPN probe skipped unless `skip=()`)."""
    ctx = make_context(
        {
            "timeout": timeout,
            "ca_bundle": ca_bundle,
            "mlflow": {"tracking_uri": uri, "experiment": experiment, **mlflow},
        },
        env=env if env is not None else _env(),
    )
    return run_component(ctx, "mlflow", skip=skip)


def _statuses(results: dict[str, CheckResult]) -> list[str]:
    """For assertion messages: the results that did not pass, with their codes and summaries."""
    return [
        f"{k}: {v.status.value} {v.code} {v.summary}"
        for k, v in results.items()
        if v.status is not Status.PASS
    ]


def _all_pass(results: dict[str, CheckResult]) -> None:
    assert all(results[step].status is Status.PASS for step in STEP_IDS), _statuses(results)


def _preflight_runs(server: Any, experiment: str, *, deleted: bool = False) -> list[dict[str, Any]]:
    runs = server.runs(server.ids[experiment], deleted=deleted)
    return [r for r in runs if any(t["key"] == PREFLIGHT_TAG for t in r.get("data", {}).get("tags", []))]


def _active_ids(server: Any, experiment: str) -> set[str]:
    return {r["info"]["run_id"] for r in _preflight_runs(server, experiment)}


def _stored_artifact(server: Any, experiment: str, run_id: str) -> Path:
    """Where the server's proxied store keeps the check's artifact."""
    return server.workdir / "artifacts" / server.ids[experiment] / run_id / "artifacts" / ARTIFACT_NAME


# -- pass ---------------------------------------------------------------------------------------


def test_pass_proxied_logs_and_deletes_the_run(mlflow_platform: Any) -> None:
    before = {r["info"]["run_id"] for r in _preflight_runs(mlflow_platform, PROXIED, deleted=True)}
    results = _run(mlflow_platform.url, skip=())
    assert_result(results, "vpn.mlflow", "pass")
    _all_pass(results)
    run_id = results[LOG].details["run_id"]
    assert results[EXPERIMENT].details["experiment_id"] == mlflow_platform.ids[PROXIED]
    assert results[ARTIFACT].details["store"] == "proxied"
    # Gone from the experiment, in the trash, and its artifact removed from the store.
    assert run_id not in _active_ids(mlflow_platform, PROXIED)
    deleted = {r["info"]["run_id"] for r in _preflight_runs(mlflow_platform, PROXIED, deleted=True)}
    assert run_id in deleted - before
    assert not _stored_artifact(mlflow_platform, PROXIED, run_id).exists()


def test_keep_run_leaves_a_finished_run_with_everything(mlflow_platform: Any) -> None:
    results = _run(mlflow_platform.url, keep_run=True)
    _all_pass(results)
    run_id = results[LOG].details["run_id"]
    kept = {r["info"]["run_id"]: r for r in _preflight_runs(mlflow_platform, PROXIED)}
    assert run_id in kept
    assert kept[run_id]["info"]["status"] == "FINISHED"
    assert [p["key"] for p in kept[run_id]["data"]["params"]] == [f"{PARAM_PREFIX}0"]
    assert {t["key"]: t["value"] for t in kept[run_id]["data"]["tags"]}[PREFLIGHT_TAG] == "kept"
    assert f"/#/experiments/{mlflow_platform.ids[PROXIED]}/runs/{run_id}" in results[CLEANUP].summary
    listed = mlflow_platform.call("GET", "/api/2.0/mlflow/artifacts/list", params={"run_id": run_id})
    assert [f["path"] for f in listed["files"]] == [ARTIFACT_NAME]
    assert _stored_artifact(mlflow_platform, PROXIED, run_id).is_file()


def test_pass_direct_s3_and_artifact_removed(mlflow_platform: Any, moto_server: Any, bucket: str) -> None:
    results = _run(mlflow_platform.url, DIRECT, _env(**_s3_env(moto_server.url)))
    _all_pass(results)
    run_id = results[LOG].details["run_id"]
    assert results[ARTIFACT].details["artifact_uri"].startswith(f"s3://{BUCKET}/")
    assert results[ARTIFACT].details["store"] == "s3 (direct)"
    assert not [k for k in _objects(moto_server.url) if run_id in k]
    # The client's settings and the context's credentials were in os.environ only meanwhile.
    for name in ("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "MLFLOW_TRACKING_PASSWORD", "AWS_SECRET_ACCESS_KEY"):
        assert name not in os.environ


def test_create_experiment_on_request(mlflow_platform: Any) -> None:
    name = f"created-{uuid.uuid4().hex[:8]}"
    results = _run(mlflow_platform.url, name, create_experiment=True)
    assert_result(results, EXPERIMENT, "pass")
    assert results[EXPERIMENT].details["created"] is True
    found = mlflow_platform.call(
        "GET", "/api/2.0/mlflow/experiments/get-by-name", params={"experiment_name": name}
    )
    assert found["experiment"]["experiment_id"] == results[EXPERIMENT].details["experiment_id"]


def test_a_proxied_store_never_loads_the_mlflow_client(mlflow_platform: Any, tmp_path: Path) -> None:
    """The whole client (over a second of CPU) for three REST calls it would make anyway."""
    env = {**_cli_env(tmp_path, _env()), "PYTHONPROFILEIMPORTTIME": "1"}
    result = run_cli(["mlflow", "--tracking-uri", mlflow_platform.url, "--experiment", PROXIED], env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    imported = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines() if "|" in line}
    assert "aisg_check.checks.mlflow.artifact" in imported, "the import profile was not captured"
    assert not [name for name in imported if name == "mlflow" or name.startswith("mlflow.")]


# -- settings -------------------------------------------------------------------------------------


def test_uri_not_set_blocks_everything() -> None:
    results = _run(None)
    assert_result(results, S, "fail", "MLFLOW_URI_NOT_SET", hint_has=["MLFLOW_TRACKING_URI"])
    assert assert_result(results, SERVER, "skip").blocked_by == S


def test_uri_not_http_is_rejected_with_the_settings() -> None:
    # The settings refuse it before any check runs (the check would say MLFLOW_URI_NOT_SET).
    from aisg_check.config import ConfigError

    with pytest.raises(ConfigError, match=r"mlflow\.tracking_uri"):
        _run("file:///tmp/mlruns")


def test_credentials_in_uri_warn_and_are_never_shown(mlflow_platform: Any) -> None:
    uri = mlflow_platform.url.replace("http://", f"http://{WRITER}:{WRITER_PASSWORD}@")
    ctx = make_context(
        {"timeout": 5, "mlflow": {"tracking_uri": uri, "experiment": PROXIED}}, env=_env(None, None)
    )
    from aisg_check import registry
    from aisg_check.runner import run_checks

    report = run_checks(ctx, registry.select(["mlflow"], skip=["vpn.*"]))
    results = {r.id: r for r in report.results}
    assert_result(results, S, "warn", "MLFLOW_URI_HAS_CREDENTIALS")
    # The URI's credentials are used (the guide's users do get signed in), and never printed.
    assert_result(results, AUTH, "pass")
    assert_result(results, CLEANUP, "pass")
    text = json.dumps([r.to_dict() for r in scrub_report(report, ctx.scrubber.scrub_value).results])
    assert WRITER_PASSWORD not in text


# -- ~/.mlflow/credentials --------------------------------------------------------------------------


def _credentials_file(home: Path, text: str | bytes) -> Path:
    (home / ".mlflow").mkdir(exist_ok=True)
    path = home / ".mlflow" / "credentials"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def test_credentials_file_is_used(mlflow_platform: Any, home: Path) -> None:
    _credentials_file(
        home, f"[mlflow]\nmlflow_tracking_username = {READER}\nmlflow_tracking_password = wrong-password\n"
    )
    results = _run(mlflow_platform.url, env=_env(None, None))
    assert_result(results, AUTH, "fail", "MLFLOW_AUTH_FAILED", summary_has=["~/.mlflow/credentials"])


def test_a_percent_escaped_as_the_client_reads_it_signs_in(mlflow_platform: Any, home: Path) -> None:
    """configparser reads '%%' as '%': the password the client sends is the real one."""
    escaped = PERCENT_PASSWORD.replace("%", "%%")
    _credentials_file(
        home, f"[mlflow]\nmlflow_tracking_username = {PERCENT}\nmlflow_tracking_password = {escaped}\n"
    )
    results = _run(mlflow_platform.url, env=_env(None, None))
    assert_result(results, S, "pass", summary_has=[f"as {PERCENT}"])
    assert_result(results, AUTH, "pass")
    _all_pass(results)


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("[mlflow]\nmlflow_tracking_username = u\nmlflow_tracking_password = 5%{pw}\n", "line 3 has a '%'"),
        (
            "[mlflow]\nmlflow_tracking_username = u\nmlflow_tracking_password = ab%(x)s{pw}\n",
            "line 3 has a '%'",
        ),
        ("mlflow_tracking_password = {pw}\n", "line 1 has a line before any [section]"),
        ("[mlflow]\nmlflow_tracking_password = {pw}\n{pw}\n", "line 3 has a line that is neither"),
        (
            "[mlflow]\nmlflow_tracking_password = {pw}\nmlflow_tracking_password = {pw}\n",
            "has key 'mlflow_tracking_password' twice",
        ),
        (b"[mlflow]\nmlflow_tracking_password = \xff{pw}\n", "is not UTF-8 text"),
    ],
    ids=["percent", "interpolation", "no-section", "garbage-line", "duplicate-key", "not-utf8"],
)
def test_a_malformed_credentials_file_is_a_coded_failure_naming_it(
    home: Path, text: str | bytes, said: str
) -> None:
    """Never a crash (configparser's message quotes the raw value) and never "without
    credentials": the client itself chokes on such a file on every request."""
    canary = "file-Canary-Pass-3141"
    content = text.replace(b"{pw}", canary.encode()) if isinstance(text, bytes) else text.format(pw=canary)
    _credentials_file(home, content)
    results = _run("http://127.0.0.1:9", env=_env(None, None))
    result = assert_result(
        results, S, "fail", "MLFLOW_CREDENTIALS_FILE_INVALID", summary_has=["~/.mlflow/credentials", said]
    )
    assert "%%" in (result.hint or "")
    assert canary not in json.dumps([r.to_dict() for r in results.values()])
    assert results[SERVER].blocked_by == S


@pytest.mark.parametrize("kind", ["directory", "unreadable"])
def test_a_credentials_path_that_cannot_be_read_is_named(home: Path, kind: str) -> None:
    path = home / ".mlflow" / "credentials"
    if kind == "directory":
        path.mkdir(parents=True)
    else:
        if os.geteuid() == 0:
            pytest.skip("root reads any file")
        _credentials_file(home, "[mlflow]\n")
        path.chmod(0)
    results = _run("http://127.0.0.1:9", env=_env(None, None))
    said = "is a directory" if kind == "directory" else "cannot be read"
    assert_result(results, S, "fail", "MLFLOW_CREDENTIALS_FILE_INVALID", summary_has=[said])


@pytest.mark.parametrize("fmt", ["table", "json", "junit", "markdown"])
def test_a_percent_password_never_reaches_any_output(home: Path, tmp_path: Path, fmt: str) -> None:
    canary = "cli-Canary%(x)s-Pass-2718"
    _credentials_file(home, f"[mlflow]\nmlflow_tracking_username = u\nmlflow_tracking_password = {canary}\n")
    env = _cli_env(tmp_path, _env(None, None))
    result = run_cli(
        ["mlflow", "--tracking-uri", "http://127.0.0.1:9", "--format", fmt, "--verbose"], env=env
    )
    assert result.returncode == 1, result.stderr
    assert "MLFLOW_CREDENTIALS_FILE_INVALID" in result.stdout
    assert "CHECK_CRASHED" not in result.stdout
    for fragment in (canary, "cli-Canary"):
        assert fragment not in result.stdout and fragment not in result.stderr


# -- server ---------------------------------------------------------------------------------------


def test_unreachable_is_fast() -> None:
    from tests.servers.tls import closed_port

    started = time.monotonic()
    results = _run(f"http://127.0.0.1:{closed_port()}")
    assert_result(results, SERVER, "fail", "VPN_CONNECT_REFUSED")
    assert results[AUTH].blocked_by == SERVER
    assert time.monotonic() - started < 5


def test_hanging_server_ends_within_the_timeout() -> None:
    from tests.servers.tls import SilentServer

    server = SilentServer()
    try:
        started = time.monotonic()
        results = _run(f"http://127.0.0.1:{server.port}", timeout=1)
        elapsed = time.monotonic() - started
    finally:
        server.close()
    assert_result(results, SERVER, "fail", "ENDPOINT_NO_ANSWER")
    assert elapsed < 3


def test_untrusted_certificate(ca: Any) -> None:
    import trustme

    from tests.servers.tls import HTTPServer, ssl_server_context

    other_ca = trustme.CA()  # the server's CA is not the one the context trusts
    server = HTTPServer(ssl_server_context(other_ca, "127.0.0.1"))
    try:
        results = _run(server.url("127.0.0.1"))
    finally:
        server.close()
    assert_result(
        results,
        SERVER,
        "fail",
        "TLS_UNTRUSTED_CERT",
        hint_has=["REQUESTS_CA_BUNDLE", "MLFLOW_TRACKING_SERVER_CERT_PATH", "ca_bundle"],
    )


@pytest.fixture(scope="module")
def fault_endpoints() -> Iterator[dict[str, Fault]]:
    with faults() as found:
        yield found


@pytest.mark.parametrize("category", CATEGORIES)
def test_transport_failures_get_the_shared_codes(category: str, fault_endpoints: dict[str, Fault]) -> None:
    """Past its probe (skipped here), each way the connection fails gets the shared code;
    MLFLOW_UNREACHABLE is left for what none of them describes."""
    fault = fault_endpoints[category]
    ctx = make_context(
        {"timeout": 1, "mlflow": {"tracking_uri": fault.url()}}, env={"HOME": "/nonexistent", **fault.env}
    )
    results = run_component(ctx, "mlflow", skip=["vpn.*"])
    assert_shared_code(fault, results[SERVER])
    assert results[AUTH].blocked_by == SERVER


# -- authentication -------------------------------------------------------------------------------


def test_auth_missing(mlflow_platform: Any) -> None:
    results = _run(mlflow_platform.url, env=_env(None, None))
    assert_result(results, AUTH, "fail", "MLFLOW_AUTH_MISSING", hint_has=["MLFLOW_TRACKING_PASSWORD"])


def test_auth_failed(mlflow_platform: Any) -> None:
    results = _run(mlflow_platform.url, env=_env(WRITER, "not-the-password"))
    assert_result(results, AUTH, "fail", "MLFLOW_AUTH_FAILED", hint_has=["mlops@aisingapore.org"])
    assert results[EXPERIMENT].blocked_by == AUTH


# -- experiment and permissions --------------------------------------------------------------------


def test_experiment_not_found_is_not_created(mlflow_platform: Any) -> None:
    results = _run(mlflow_platform.url, "preflite")
    assert_result(
        results,
        EXPERIMENT,
        "fail",
        "MLFLOW_EXPERIMENT_NOT_FOUND",
        summary_has=["'preflight'"],
        hint_has=["--create-experiment"],
    )
    from tests.servers.mlflow_server import MlflowError

    with pytest.raises(MlflowError):
        mlflow_platform.call(
            "GET", "/api/2.0/mlflow/experiments/get-by-name", params={"experiment_name": "preflite"}
        )


def test_read_only_user_is_forbidden_to_log(mlflow_platform: Any) -> None:
    def count() -> int:
        return len(_preflight_runs(mlflow_platform, PROXIED)) + len(
            _preflight_runs(mlflow_platform, PROXIED, deleted=True)
        )

    before = count()
    results = _run(mlflow_platform.url, env=_env(READER, READER_PASSWORD))
    assert_result(results, EXPERIMENT, "pass")
    assert_result(
        results,
        LOG,
        "fail",
        "MLFLOW_FORBIDDEN",
        summary_has=["EDIT", PROXIED],
        hint_has=["mlops@aisingapore.org"],
    )
    assert count() == before


def test_editor_logs_but_cannot_delete_the_run(mlflow_platform: Any) -> None:
    results = _run(mlflow_platform.url, env=_env(EDITOR, EDITOR_PASSWORD))
    assert_result(results, ARTIFACT, "pass")
    cleanup = assert_result(
        results, CLEANUP, "warn", "MLFLOW_PREFLIGHT_RUN_KEPT", summary_has=["MANAGE", "this one run"]
    )
    assert cleanup.details["url"] in cleanup.summary
    kept = {r["info"]["run_id"]: r for r in _preflight_runs(mlflow_platform, PROXIED)}
    assert kept[cleanup.details["run_id"]]["info"]["status"] == "FINISHED"


def test_a_user_with_no_permission_is_told_what_to_ask_for(mlflow_platform: Any) -> None:
    results = _run(mlflow_platform.url, env=_env(OUTSIDER, OUTSIDER_PASSWORD))
    assert_result(results, AUTH, "pass")
    experiment = assert_result(
        results,
        EXPERIMENT,
        "fail",
        "MLFLOW_NO_PERMISSION",
        summary_has=[f"User '{OUTSIDER}'", f"'{PROXIED}'", "EDIT"],
        hint_has=[
            "mlops@aisingapore.org",
            f"Please grant MLflow user '{OUTSIDER}' EDIT on experiment '{PROXIED}' on the tracking "
            f"server {mlflow_platform.url}.",
        ],
    )
    assert experiment.details["needs"] == "EDIT"
    assert results[LOG].blocked_by == EXPERIMENT


# -- logging and artifacts ------------------------------------------------------------------------


def test_log_failure_is_reported_without_retries_and_cleaned_up(mlflow_platform: Any) -> None:
    from tests.servers.mlflow_server import FaultProxy

    proxy = FaultProxy(mlflow_platform.url)
    proxy.faults["/api/2.0/mlflow/runs/log-batch"] = (503, '{"error_code": "TEMPORARILY_UNAVAILABLE"}')
    try:
        started = time.monotonic()
        results = _run(proxy.url)
        elapsed = time.monotonic() - started
    finally:
        proxy.stop()
    assert_result(results, LOG, "fail", "MLFLOW_LOG_FAILED", summary_has=["HTTP 503"])
    assert proxy.seen.count("/api/2.0/mlflow/runs/log-batch") == 1, "retried"
    assert elapsed < 10
    assert results[ARTIFACT].blocked_by == LOG
    assert_result(results, CLEANUP, "pass")
    run_id = results[LOG].details["run_id"]
    assert run_id not in _active_ids(mlflow_platform, PROXIED)
    assert not _stored_artifact(mlflow_platform, PROXIED, run_id).exists()


def test_artifact_refused_by_the_proxied_store_is_cleaned_up(mlflow_platform: Any) -> None:
    from tests.servers.mlflow_server import FaultProxy

    proxy = FaultProxy(mlflow_platform.url)
    folder = f"/api/2.0/mlflow-artifacts/artifacts/{mlflow_platform.ids[PROXIED]}/"
    try:
        results = _run(proxy.url)
        run_id = results[LOG].details["run_id"]
        assert f"{folder}{run_id}/artifacts/{ARTIFACT_NAME}" in proxy.seen  # where the client puts it
        proxy.faults[f"PUT {folder}*"] = (500, '{"error_code": "INTERNAL_ERROR", "message": "disk full"}')
        results = _run(proxy.url)
    finally:
        proxy.stop()
    assert_result(results, LOG, "pass")
    assert_result(
        results, ARTIFACT, "fail", "MLFLOW_ARTIFACT_UPLOAD_FAILED", summary_has=["HTTP 500", "disk full"]
    )
    assert_result(results, CLEANUP, "pass")
    assert results[LOG].details["run_id"] not in _active_ids(mlflow_platform, PROXIED)


def test_artifact_endpoint_not_set_uploads_nothing(
    mlflow_platform: Any, moto_server: Any, bucket: str
) -> None:
    env = _s3_env(moto_server.url)
    del env["MLFLOW_S3_ENDPOINT_URL"]
    before = _objects(moto_server.url)
    results = _run(mlflow_platform.url, DIRECT, _env(**env))
    assert_result(
        results, ARTIFACT, "fail", "MLFLOW_ARTIFACT_ENDPOINT_NOT_SET", hint_has=["MLFLOW_S3_ENDPOINT_URL"]
    )
    assert_result(results, CLEANUP, "pass")
    assert _objects(moto_server.url) == before
    assert results[LOG].details["run_id"] not in _active_ids(mlflow_platform, DIRECT)


def test_artifact_without_aws_keys(mlflow_platform: Any, moto_server: Any, bucket: str) -> None:
    results = _run(mlflow_platform.url, DIRECT, _env(MLFLOW_S3_ENDPOINT_URL=moto_server.url))
    assert_result(results, ARTIFACT, "fail", "MLFLOW_ARTIFACT_CREDENTIALS", hint_has=["AWS_ACCESS_KEY_ID"])


def test_artifact_with_wrong_aws_keys(mlflow_platform: Any, moto_server: Any, bucket: str) -> None:
    moto_server.enforce_auth()
    try:
        results = _run(mlflow_platform.url, DIRECT, _env(**_s3_env(moto_server.url)))
    finally:
        moto_server.reset()
    artifact = assert_result(results, ARTIFACT, "fail", "MLFLOW_ARTIFACT_CREDENTIALS")
    assert AWS_SECRET not in artifact.summary
    assert results[CLEANUP].status in (Status.PASS, Status.WARN)


def test_artifact_upload_failed_for_a_missing_bucket(
    mlflow_platform: Any, moto_server: Any, bucket: str
) -> None:
    results = _run(mlflow_platform.url, NO_BUCKET, _env(**_s3_env(moto_server.url)))
    assert_result(results, ARTIFACT, "fail", "MLFLOW_ARTIFACT_UPLOAD_FAILED", summary_has=["NoSuchBucket"])


# -- one CA setting for the client too (issue 16) ------------------------------------------------------


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture()
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """`tempfile`'s directory for the test, to see what a run leaves there."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def test_ca_bundle_is_trusted_behind_a_private_ca(
    mlflow_platform: Any, ca: Any, ca_file: Path, tmp_path: Path, private_tmp: Path
) -> None:
    """REQUESTS_CA_BUNDLE names another CA (as on many corporate machines): ca_bundle must
    still be trusted, by every request the check makes."""
    import trustme

    from tests.servers.mlflow_server import FaultProxy
    from tests.servers.tls import ssl_server_context, write_ca

    proxy = FaultProxy(mlflow_platform.url, context=ssl_server_context(ca, "localhost", "127.0.0.1"))
    other = write_ca(trustme.CA(), tmp_path / "other-ca.pem")
    try:
        results = _run(proxy.url, env=_env(REQUESTS_CA_BUNDLE=str(other)), ca_bundle=str(ca_file))
    finally:
        proxy.stop()
    _all_pass(results)
    assert _leftovers(private_tmp) == []


@pytest.mark.parametrize("outcome", ["pass", "upload-fails", "crash"])
def test_the_client_trusts_ca_bundle_for_s3_and_leaves_no_file(
    mlflow_platform: Any,
    moto_server: Any,
    bucket: str,
    ca: Any,
    ca_file: Path,
    tmp_path: Path,
    private_tmp: Path,
    monkeypatch: pytest.MonkeyPatch,
    outcome: str,
) -> None:
    """The client's own requests (boto3 for ECS) trust what the check trusts: certifi alone
    would refuse the private CA with CERTIFICATE_VERIFY_FAILED. The combined CA file it needs
    is gone afterwards, after a failure or a crash too."""
    import trustme

    from aisg_check.checks.mlflow import artifact
    from tests.servers.mlflow_server import FaultProxy
    from tests.servers.tls import ssl_server_context, write_ca

    front = FaultProxy(moto_server.url, context=ssl_server_context(ca, "localhost", "127.0.0.1"))
    if outcome == "crash":  # a bug in the check while it handles the failed upload
        monkeypatch.setattr(artifact, "_failed", lambda *args: 1 // 0)
    if outcome != "pass":
        front.faults[f"PUT /{BUCKET}/mlflow/*"] = (500, "<Error><Code>InternalError</Code></Error>")
    other = write_ca(trustme.CA(), tmp_path / "other-ca.pem")
    env = _env(**_s3_env(front.url), REQUESTS_CA_BUNDLE=str(other))
    try:
        results = _run(mlflow_platform.url, DIRECT, env, ca_bundle=str(ca_file))
    finally:
        front.stop()
    if outcome == "pass":
        _all_pass(results)
        assert any(p.startswith(f"/{BUCKET}/mlflow/") for p in front.seen)
    elif outcome == "upload-fails":
        assert_result(results, ARTIFACT, "fail", "MLFLOW_ARTIFACT_UPLOAD_FAILED")
        assert "CERTIFICATE_VERIFY_FAILED" not in results[ARTIFACT].summary
    else:
        assert any(r.code == "CHECK_CRASHED" for r in results.values()), _statuses(results)
    assert_result(results, CLEANUP, "pass")
    assert _leftovers(private_tmp) == []


def test_client_environment_trusts_the_contexts_cas_and_keeps_stdout_quiet(ca: Any, ca_file: Path) -> None:
    ctx = make_context(
        {"ca_bundle": str(ca_file), "mlflow": {"tracking_uri": "https://localhost:9"}}, env=_env()
    )
    target = settings.resolve(ctx, Recorder(check.CHECKS[0], docs_base_url="https://docs.invalid/"))
    pem = client_env.trusted_pem(ctx)
    assert ca.cert_pem.bytes().decode().strip() in pem
    assert pem.count("BEGIN CERTIFICATE") > 1, "the system store (or certifi) is missing"
    wanted = client_env.overrides(ctx, target, 5, bundle="/b.pem")
    assert wanted["MLFLOW_TRACKING_SERVER_CERT_PATH"] == wanted["REQUESTS_CA_BUNDLE"] == "/b.pem"
    assert wanted["AWS_CA_BUNDLE"] == "/b.pem"
    assert wanted["MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT"] == "true"
    # The client refuses a server certificate path with insecure TLS: never both.
    insecure = make_context(
        {"ca_bundle": str(ca_file), "mlflow": {"tracking_uri": "https://localhost:9"}},
        env=_env(MLFLOW_TRACKING_INSECURE_TLS="true"),
    )
    assert (
        client_env.overrides(insecure, target, 5, bundle="/b.pem")["MLFLOW_TRACKING_SERVER_CERT_PATH"] is None
    )


# -- the CLI, end to end, and the secret canary -----------------------------------------------------


def _cli_env(tmp_path: Path, env: dict[str, str]) -> dict[str, str]:
    config = write_config(tmp_path / "config.yaml", {**LOOPBACK_PROFILE, "timeout": 5})
    return {**env, "AISG_CHECK_CONFIG": str(config)}


def test_cli_json_end_to_end(mlflow_platform: Any, tmp_path: Path) -> None:
    result = run_cli(
        ["mlflow", "--tracking-uri", mlflow_platform.url, "--experiment", PROXIED, "--format", "json"],
        env=_cli_env(tmp_path, _env()),
    )
    assert result.returncode == 0, result.stderr
    report = result.json()
    by_id = {r["id"]: r for r in report["results"]}
    assert by_id["vpn.mlflow"]["status"] == "pass"
    assert all(by_id[step]["status"] == "pass" for step in STEP_IDS)
    assert report["summary"]["fail"] == 0


@pytest.mark.parametrize(
    ("user", "password", "experiment", "extra"),
    [
        (EDITOR, EDITOR_PASSWORD, PROXIED, []),
        (WRITER, WRITER_PASSWORD, PROXIED, ["--keep-run"]),
        (EDITOR, EDITOR_PASSWORD, DIRECT, ["--keep-run"]),
        (READER, READER_PASSWORD, PROXIED, []),
    ],
    ids=["editor-run-kept", "keep-run", "s3-through-the-client", "failing"],
)
def test_json_stdout_is_one_document_and_nothing_else(
    mlflow_platform: Any,
    moto_server: Any,
    bucket: str,
    tmp_path: Path,
    user: str,
    password: str,
    experiment: str,
    extra: list[str],
) -> None:
    """MLflow prints "🏃 View run … at: …" on stdout whenever a run ends through its client (a
    kept run, a run an EDIT user may not delete): `aisg-check mlflow --format json | jq` broke."""
    env = _cli_env(tmp_path, _env(user, password, **_s3_env(moto_server.url)))
    args = ["mlflow", "--tracking-uri", mlflow_platform.url, "--experiment", experiment, "--format", "json"]
    result = run_cli([*args, *extra], env=env)
    assert result.returncode in (0, 1), result.stderr
    report = json.loads(result.stdout)  # the whole of stdout: one document, nothing before or after
    assert {r["id"] for r in report["results"]} >= set(STEP_IDS)
    assert "View run" not in result.stdout and "View experiment" not in result.stdout
    assert (report["summary"]["fail"] > 0) == (user == READER)


@pytest.mark.parametrize("fmt", ["table", "json", "junit", "markdown"])
def test_secrets_never_in_any_output(
    mlflow_platform: Any, moto_server: Any, bucket: str, tmp_path: Path, fmt: str
) -> None:
    # The password sits in the URI (a warning) and in the environment, the AWS secret in the
    # environment; the run fails at the artifact (a missing bucket), so that the secrets are
    # near as many messages as possible.
    env = _cli_env(tmp_path, _env(WRITER, WRITER_PASSWORD, **_s3_env(moto_server.url)))
    uri = mlflow_platform.url.replace("http://", f"http://{WRITER}:{WRITER_PASSWORD}@")
    result = run_cli(
        ["mlflow", "--tracking-uri", uri, "--experiment", NO_BUCKET, "--format", fmt, "--verbose"], env=env
    )
    assert result.returncode == 1, result.stderr
    assert "MLFLOW_ARTIFACT_UPLOAD_FAILED" in result.stdout, result.stdout
    assert "MLFLOW_URI_HAS_CREDENTIALS" in result.stdout, result.stdout
    for secret in (WRITER_PASSWORD, AWS_SECRET):
        assert secret not in result.stdout and secret not in result.stderr


def test_the_target_never_prints_its_credentials() -> None:
    ctx = make_context(
        {"mlflow": {"tracking_uri": "http://127.0.0.1:9"}},
        env=_env(WRITER, WRITER_PASSWORD, MLFLOW_TRACKING_TOKEN="token-Canary-0042"),
    )
    target = settings.resolve(ctx, Recorder(check.CHECKS[0], docs_base_url="https://docs.invalid/"))
    shown = f"{target!r} {target}"
    assert WRITER_PASSWORD not in shown and "token-Canary-0042" not in shown
    assert target.auth_header()["Authorization"].startswith("Basic ")


def test_import_does_not_load_mlflow() -> None:
    code = "import sys, aisg_check.registry, aisg_check.checks.mlflow; sys.exit('mlflow' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0


# -- answers that are not MLflow's ----------------------------------------------------------------

GET_BY_NAME = "/api/2.0/mlflow/experiments/get-by-name"
CREATE = "/api/2.0/mlflow/experiments/create"
SEARCH = "/api/2.0/mlflow/experiments/search"


def _answer(status: int, body: bytes, ctype: str, **headers: str) -> Any:
    def handler(h: Any) -> None:
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        for name, value in headers.items():
            h.send_header(name, value)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        if h.command != "HEAD":
            h.wfile.write(body)

    return handler


_HTML = b"<!doctype html><html><body><form>Sign in</form></body></html>"
_NOT_FOUND = json.dumps({"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "nope"}).encode()


def _html(status: int) -> Any:
    return _answer(status, _HTML, "text/html; charset=utf-8")


def _run_against(routes: dict[str, Any], **mlflow: Any) -> dict[str, CheckResult]:
    from tests.servers.tls import HTTPServer

    server = HTTPServer(routes=routes)
    try:
        return _run(server.url("127.0.0.1").rstrip("/"), timeout=2, **{"experiment": None, **mlflow})
    finally:
        server.close()


@pytest.mark.parametrize(
    ("answer", "said"),
    [
        (_html(200), "an HTML page (HTTP 200)"),
        (_html(404), "an HTML page (HTTP 404)"),
        (
            _answer(302, b"", "text/plain", Location="http://127.0.0.1:9/login?next=%2F&token=x"),
            "a redirect (HTTP 302 to http://127.0.0.1:9/login)",
        ),
        (_answer(404, b'{"detail": "Not Found"}', "application/json"), "HTTP 404 without MLflow's JSON"),
    ],
    ids=["html-200", "html-404", "redirect-302", "json-404-not-mlflow"],
)
def test_not_an_mlflow_server_is_an_unexpected_answer(answer: Any, said: str) -> None:
    results = _run_against({GET_BY_NAME: answer})
    auth = assert_result(
        results,
        AUTH,
        "fail",
        "ENDPOINT_UNEXPECTED_ANSWER",
        hint_has=["mlflow.tracking_uri", "not an MLflow tracking server"],
    )
    assert said in auth.summary and "token" not in auth.summary
    assert results[EXPERIMENT].blocked_by == AUTH
    assert not any(r.code == "CHECK_CRASHED" for r in results.values())


def test_the_lookup_sent_beside_health_counts_only_after_it() -> None:
    # /health and the lookup go out together; a server whose /health fails is judged on that,
    # whatever the lookup said (here a perfectly good answer).
    found = json.dumps({"experiment": {"experiment_id": "1", "name": "x"}}).encode()
    results = _run_against(
        {
            "/health": _answer(503, b"down", "text/plain"),
            GET_BY_NAME: _answer(200, found, "application/json"),
        },
        experiment="x",
    )
    assert_result(results, SERVER, "fail", "ENDPOINT_HTTP_ERROR")
    assert results[AUTH].blocked_by == SERVER


def test_create_experiment_answered_with_html_is_not_a_crash() -> None:
    results = _run_against(
        {GET_BY_NAME: _answer(404, _NOT_FOUND, "application/json"), CREATE: _html(200)},
        experiment="new-one",
        create_experiment=True,
    )
    assert_result(results, AUTH, "pass")
    assert_result(results, EXPERIMENT, "fail", "ENDPOINT_UNEXPECTED_ANSWER", hint_has=["mlflow.tracking_uri"])


def test_experiment_search_answered_with_html_still_reports_not_found() -> None:
    results = _run_against(
        {GET_BY_NAME: _answer(404, _NOT_FOUND, "application/json"), SEARCH: _html(200)}, experiment="x"
    )
    assert (
        "did you mean"
        not in assert_result(results, EXPERIMENT, "fail", "MLFLOW_EXPERIMENT_NOT_FOUND").summary
    )


# -- static AWS keys only, never the credential chain -------------------------------------------------


def test_credential_process_profile_is_not_run(
    mlflow_platform: Any, moto_server: Any, bucket: str, home: Path
) -> None:
    marker = home / "credential-process-ran"
    helper = home / "helper.py"
    helper.write_text(f"open({str(marker)!r}, 'w').close()\nraise SystemExit(1)\n")
    (home / ".aws").mkdir()
    (home / ".aws" / "config").write_text(
        f"[profile helper]\ncredential_process = {sys.executable} {helper}\nregion = us-east-1\n"
    )
    env = _env(MLFLOW_S3_ENDPOINT_URL=moto_server.url, AWS_PROFILE="helper", AWS_DEFAULT_REGION="us-east-1")
    before = _objects(moto_server.url)
    results = _run(mlflow_platform.url, DIRECT, env)
    assert_result(
        results,
        ARTIFACT,
        "fail",
        "MLFLOW_ARTIFACT_CREDENTIALS",
        summary_has=["credential_process", "not supported"],
    )
    assert not marker.exists(), "the credential_process helper was run"
    assert _objects(moto_server.url) == before
    assert_result(results, CLEANUP, "pass")


def test_role_arn_profile_is_not_followed(
    mlflow_platform: Any, moto_server: Any, bucket: str, home: Path
) -> None:
    from tests.servers.tls import closed_port

    (home / ".aws").mkdir()
    (home / ".aws" / "credentials").write_text(
        f"[base]\naws_access_key_id = {AWS_KEY}\naws_secret_access_key = {AWS_SECRET}\n"
    )
    (home / ".aws" / "config").write_text(
        "[profile assumed]\nrole_arn = arn:aws:iam::123456789012:role/preflight\nsource_profile = base\n"
    )
    # Should anything try STS anyway, it gets a closed loopback port, never amazonaws.com.
    dead = f"http://127.0.0.1:{closed_port()}"
    env = _env(
        MLFLOW_S3_ENDPOINT_URL=moto_server.url,
        AWS_PROFILE="assumed",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_ENDPOINT_URL=dead,
        AWS_ENDPOINT_URL_STS=dead,
    )
    results = _run(mlflow_platform.url, DIRECT, env)
    assert_result(
        results, ARTIFACT, "fail", "MLFLOW_ARTIFACT_CREDENTIALS", summary_has=["role_arn", "not supported"]
    )
    assert AWS_SECRET not in json.dumps([r.to_dict() for r in results.values()])


def test_static_keys_from_a_profile_in_the_contexts_home(
    mlflow_platform: Any, moto_server: Any, bucket: str, home: Path
) -> None:
    (home / "keys.ini").write_text(
        f"[ecs]\naws_access_key_id = {AWS_KEY}\naws_secret_access_key = {AWS_SECRET}\n"
    )
    env = _env(
        MLFLOW_S3_ENDPOINT_URL=moto_server.url,
        AWS_PROFILE="ecs",
        AWS_SHARED_CREDENTIALS_FILE="~/keys.ini",
        AWS_DEFAULT_REGION="us-east-1",
    )
    ctx = make_context(
        {"timeout": 5, "mlflow": {"tracking_uri": mlflow_platform.url, "experiment": DIRECT}}, env=env
    )
    results = run_component(ctx, "mlflow", skip=["vpn.*"])
    _all_pass(results)
    assert AWS_SECRET not in ctx.scrubber.scrub(f"x {AWS_SECRET} y")
    run_id = results[LOG].details["run_id"]
    assert not [k for k in _objects(moto_server.url) if run_id in k]


def test_a_second_check_in_the_process_uses_its_own_aws_files(
    mlflow_platform: Any, moto_server: Any, bucket: str, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # boto3's default session keeps the first ~/.aws files it parsed, and MLflow caches its S3
    # client by endpoint for 5-minute windows. A second check in one process (the test suite,
    # a fleet loop) that starts in a new window once got ProfileNotFound for a profile its own
    # file holds. Each check must build its client from its own environment.
    import mlflow.store.artifact.s3_artifact_repo as s3_repo

    def check(profile: str, file: str) -> dict[str, CheckResult]:
        (home / file).write_text(
            f"[{profile}]\naws_access_key_id = {AWS_KEY}\naws_secret_access_key = {AWS_SECRET}\n"
        )
        env = _env(
            MLFLOW_S3_ENDPOINT_URL=moto_server.url,
            AWS_PROFILE=profile,
            AWS_SHARED_CREDENTIALS_FILE=f"~/{file}",
            AWS_DEFAULT_REGION="us-east-1",
        )
        return _run(mlflow_platform.url, DIRECT, env)

    _all_pass(check("first", "first.ini"))
    # The next check starts in another of MLflow's cache windows.
    later = s3_repo._get_utcnow_timestamp() + 2 * s3_repo._MAX_CACHE_SECONDS
    monkeypatch.setattr(s3_repo, "_get_utcnow_timestamp", lambda: later)
    _all_pass(check("second", "second.ini"))


# -- os.environ and the lock ----------------------------------------------------------------------------


def test_the_check_sets_nothing_process_wide(monkeypatch: pytest.MonkeyPatch) -> None:
    # The CLI switches MLflow's telemetry off before any check thread starts; the check itself
    # must not write os.environ outside a client call (other checks run in threads meanwhile).
    monkeypatch.delenv("MLFLOW_DISABLE_TELEMETRY", raising=False)
    _run_against({GET_BY_NAME: _html(200)})
    assert "MLFLOW_DISABLE_TELEMETRY" not in os.environ


def test_a_held_client_lock_fails_in_time_instead_of_hanging(
    mlflow_platform: Any, moto_server: Any, bucket: str
) -> None:
    # As if an MLflow check abandoned at its deadline were still inside a client call.
    assert client_env.ENV_LOCK.acquire(timeout=5)
    try:
        started = time.monotonic()
        results = _run(mlflow_platform.url, DIRECT, _env(**_s3_env(moto_server.url)), timeout=2)
        elapsed = time.monotonic() - started
    finally:
        client_env.ENV_LOCK.release()
    assert_result(results, LOG, "pass")
    assert_result(
        results, ARTIFACT, "fail", "MLFLOW_ARTIFACT_UPLOAD_FAILED", summary_has=["ClientBusy", "still holds"]
    )
    assert elapsed < 12


def test_client_timeout_follows_the_time_left_at_each_call(mlflow_platform: Any) -> None:
    ctx = make_context({"timeout": 5, "mlflow": {"tracking_uri": mlflow_platform.url}}, env=_env())
    left = [100.0]
    rec = Recorder(
        check.CHECKS[0], docs_base_url="https://docs.invalid/", deadline_at=lambda: time.monotonic() + left[0]
    )
    target = settings.resolve(ctx, rec)
    seen = []
    with client_env.Client(ctx, rec, target) as client:
        for remaining in (100.0, 2.5):
            left[0] = remaining
            seen.append(client.call(lambda: os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"]))
    assert seen == ["5", "3"]
    assert "MLFLOW_HTTP_REQUEST_TIMEOUT" not in os.environ


# -- the deadline ----------------------------------------------------------------------------------------


def _run_with_deadline(uri: str, left: Any, experiment: str = PROXIED) -> dict[str, CheckResult]:
    """The check run directly with a recorder whose deadline is `left()` seconds away."""
    from aisg_check.check import Stop

    ctx = make_context({"timeout": 5, "mlflow": {"tracking_uri": uri, "experiment": experiment}}, env=_env())
    rec = Recorder(
        check.CHECKS[0], docs_base_url="https://docs.invalid/", deadline_at=lambda: time.monotonic() + left()
    )
    with contextlib.suppress(Stop):  # how a layer ends the check; the runner catches it
        check.run(ctx, rec)
    return {r.id: r for r in rec.results}


def test_too_little_time_left_skips_the_run_without_creating_one(mlflow_platform: Any) -> None:
    def count() -> int:
        return len(_preflight_runs(mlflow_platform, PROXIED)) + len(
            _preflight_runs(mlflow_platform, PROXIED, deleted=True)
        )

    before = count()
    results = _run_with_deadline(mlflow_platform.url, lambda: 8.0)  # less than 2 x 5 s
    assert_result(results, EXPERIMENT, "pass")
    for step in (LOG, ARTIFACT, CLEANUP):
        assert_result(results, step, "skip", "MLFLOW_NO_TIME_LEFT")
    assert count() == before


def test_too_little_time_for_the_artifact_still_cleans_up(mlflow_platform: Any) -> None:
    from tests.servers.mlflow_server import FaultProxy

    proxy = FaultProxy(mlflow_platform.url)
    try:
        # Time runs short once the run exists: no artifact, but the run is still deleted.
        results = _run_with_deadline(
            proxy.url, lambda: 8.0 if "/api/2.0/mlflow/runs/create" in proxy.seen else 100.0
        )
    finally:
        proxy.stop()
    assert_result(results, LOG, "pass")
    assert_result(results, ARTIFACT, "skip", "MLFLOW_NO_TIME_LEFT")
    assert_result(results, CLEANUP, "pass")
    run_id = results[LOG].details["run_id"]
    assert run_id not in _active_ids(mlflow_platform, PROXIED)
    assert not _stored_artifact(mlflow_platform, PROXIED, run_id).exists()


def test_credential_errors_are_matched_as_words_not_inside_run_ids() -> None:
    # A run id is hex: "403" inside it once turned NoSuchBucket into a credentials failure.
    text = "NoSuchBucket when calling ListObjectsV2 for run 9ee0c77296a94037b9649ebc9396bf47"
    assert CREDENTIAL_ERRORS.search(text) is None
    assert CREDENTIAL_ERRORS.search("An error occurred (InvalidAccessKeyId) when calling PutObject")
    assert CREDENTIAL_ERRORS.search("An error occurred (403) when calling the HeadObject operation")
