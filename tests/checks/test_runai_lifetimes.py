"""Credential lifetimes on the Run:ai login result: the id-token's and the refresh-token's `exp`
(Keycloak's refresh-token is a JWT), a kubeconfig token's, as shared `Credential`s; the refresh-token
expiring within expiry_warning_days is a warning with its own code and the exact renewal step, while
an id-token expiring within the hour stays normal (it is refreshed)."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml

from aisg_check.model import CheckResult, Status
from tests.helpers import assert_result, make_context, run_cli, run_component
from tests.servers.kube_api import KubeAPIServer, KubeState
from tests.servers.oidc import OIDCIssuer

USER = "alice"
EMAIL = "alice@aisingapore.org"
PROJECT = "proj"
DAY = 86400


@pytest.fixture(scope="module")
def issuer(ca: Any) -> Iterator[OIDCIssuer]:
    server = OIDCIssuer(ca)
    yield server
    server.close()


@pytest.fixture(scope="module")
def kube(ca: Any, issuer: OIDCIssuer) -> Iterator[KubeAPIServer]:
    server = KubeAPIServer(ca, KubeState(oidc_issuer=issuer.issuer))
    for verb, group, resource in (("create", "", "pods"), ("list", "", "pods"), ("create", "batch", "jobs")):
        server.grant(EMAIL, f"runai-{PROJECT}", verb, resource, group)
    yield server
    server.close()


def kubeconfig(path: Path, kube: KubeAPIServer, user: Mapping[str, Any]) -> Path:
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [
                    {"name": "c", "cluster": {"server": kube.url(), "insecure-skip-tls-verify": True}}
                ],
                "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "c",
                "users": [{"name": "u", "user": dict(user)}],
            }
        )
    )
    return path


def oidc_user(issuer: OIDCIssuer, *, id_s: float, refresh: str | None) -> dict[str, Any]:
    config = {
        "client-id": "runai-cli",
        "idp-issuer-url": issuer.issuer,
        "id-token": issuer.mint(USER, expires_in=id_s),
    }
    if refresh:
        config["refresh-token"] = refresh
        issuer.refresh_tokens[refresh] = USER
    return {"auth-provider": {"name": "oidc", "config": config}}


def run(path: Path, **settings: Any) -> dict[str, CheckResult]:
    ctx = make_context({**settings, "runai": {"kubeconfig": str(path), "project": PROJECT}})
    return run_component(ctx, "runai", skip=["vpn.*", "runai.cli"])


def near(value: datetime | None, seconds_from_now: float) -> bool:
    assert value is not None
    expected = datetime.now(timezone.utc) + timedelta(seconds=seconds_from_now)
    return abs((value - expected).total_seconds()) < 30


def test_id_and_refresh_token_lifetimes_are_recorded(
    tmp_path: Path, kube: KubeAPIServer, issuer: OIDCIssuer
) -> None:
    refresh = issuer.mint(USER, expires_in=30 * DAY, typ="Offline")
    path = kubeconfig(tmp_path / "kc", kube, oidc_user(issuer, id_s=1800, refresh=refresh))
    results = run(path)
    # An id-token expiring within the hour is normal: it is refreshed.
    login = assert_result(results, "runai.login", "pass")
    by_kind = {c.kind: c for c in login.credentials}
    assert set(by_kind) == {"runai_id_token", "runai_refresh_token"}
    assert near(by_kind["runai_id_token"].expires_at, 1800)
    assert near(by_kind["runai_refresh_token"].expires_at, 30 * DAY)
    assert by_kind["runai_refresh_token"].owner == USER
    assert by_kind["runai_refresh_token"].source == f"{path} (user u)"
    assert results["runai.permission"].status is Status.PASS


def test_refresh_token_expiring_within_the_warning_window(
    tmp_path: Path, kube: KubeAPIServer, issuer: OIDCIssuer
) -> None:
    refresh = issuer.mint(USER, expires_in=5 * DAY, typ="Offline")
    path = kubeconfig(tmp_path / "kc", kube, oidc_user(issuer, id_s=3600, refresh=refresh))
    results = run(path)
    login = assert_result(
        results,
        "runai.login",
        "warn",
        "RUNAI_REFRESH_TOKEN_EXPIRES_SOON",
        summary_has=["refresh-token", "expires in 5 days"],
        hint_has=[f"`export KUBECONFIG={path}; runai login`"],
    )
    assert {c.kind for c in login.credentials} == {"runai_id_token", "runai_refresh_token"}
    assert results["runai.permission"].status is Status.PASS  # a warning: the check goes on
    # The window is a setting: three days and it is no warning.
    assert run(path, expiry_warning_days=3)["runai.login"].status is Status.PASS


def test_the_hour_rule_for_the_login_comes_first(
    tmp_path: Path, kube: KubeAPIServer, issuer: OIDCIssuer
) -> None:
    refresh = issuer.mint(USER, expires_in=600, typ="Refresh")
    path = kubeconfig(tmp_path / "kc", kube, oidc_user(issuer, id_s=300, refresh=refresh))
    assert_result(run(path), "runai.login", "warn", "RUNAI_TOKEN_EXPIRES_SOON")


def test_an_opaque_refresh_token_has_no_lifetime_to_record(
    tmp_path: Path, kube: KubeAPIServer, issuer: OIDCIssuer
) -> None:
    path = kubeconfig(tmp_path / "kc", kube, oidc_user(issuer, id_s=3600, refresh="rt-opaque-0123456789"))
    login = assert_result(run(path), "runai.login", "pass")
    assert [c.kind for c in login.credentials] == ["runai_id_token"]


def test_a_refreshed_id_token_records_the_new_expiry(
    tmp_path: Path, ca_file: Path, kube: KubeAPIServer, issuer: OIDCIssuer
) -> None:
    path = kubeconfig(tmp_path / "kc", kube, oidc_user(issuer, id_s=-60, refresh="rt-refresh-me-0123456"))
    issuer.lifetime_s = 900
    try:
        login = assert_result(run(path, ca_bundle=str(ca_file)), "runai.login", "pass")
    finally:
        issuer.lifetime_s = 300
    assert login.details["refreshed"] is True
    assert near(login.credentials[0].expires_at, 900)


def test_a_kubeconfig_token_with_an_expiry_is_recorded(
    tmp_path: Path, kube: KubeAPIServer, issuer: OIDCIssuer
) -> None:
    token = issuer.mint(USER, expires_in=2 * DAY)
    path = kubeconfig(tmp_path / "kc", kube, {"token": token})
    login = assert_result(run(path), "runai.login", "pass")
    [credential] = login.credentials
    assert credential.kind == "kube_token" and near(credential.expires_at, 2 * DAY)


def test_the_json_report_carries_the_lifetimes_and_no_token(
    tmp_path: Path, home: Path, ca_file: Path, kube: KubeAPIServer, issuer: OIDCIssuer
) -> None:
    refresh = issuer.mint(USER, expires_in=5 * DAY, typ="Offline")
    user = oidc_user(issuer, id_s=3600, refresh=refresh)
    path = kubeconfig(tmp_path / "kc", kube, user)
    env = {
        **os.environ,
        "HOME": str(home),
        "AISG_CHECK_RUNAI_URL": "http://127.0.0.1:9",
        "AISG_CHECK_RUNAI_CLUSTER_URL": "https://127.0.0.1:9",
    }
    args = [
        "runai",
        "--kubeconfig",
        str(path),
        "--project",
        PROJECT,
        "--skip",
        "vpn.*",
        "--skip",
        "runai.cli",
    ]
    out = run_cli([*args, "--format", "json"], env=env, timeout=60)
    report = out.json()
    login = next(r for r in report["results"] if r["id"] == "runai.login")
    assert login["code"] == "RUNAI_REFRESH_TOKEN_EXPIRES_SOON"
    kinds = {c["kind"]: c for c in login["credentials"]}
    assert kinds["runai_refresh_token"]["expires_at"].endswith("Z")
    table = run_cli(args, env=env, timeout=60)
    for text in (out.stdout, out.stderr, table.stdout, table.stderr):
        for secret in (refresh, user["auth-provider"]["config"]["id-token"]):
            assert secret not in text and secret.split(".")[1] not in text
