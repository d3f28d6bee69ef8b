"""In a pod (fleet mode, a workspace on the cluster): the runai check uses the pod's service account,
mounted in a temporary tree (token, namespace, ca.crt) as kubelet mounts it, against the Kubernetes
API stand-in at KUBERNETES_SERVICE_HOST/PORT, and checks that account's rights in its own
namespace. No kubeconfig, no `runai login`, no runai CLI."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from datetime import timezone
from pathlib import Path
from typing import Any

import jwt
import pytest

from aisg_check.checks.runai import REQUIRED
from aisg_check.model import CheckResult, Status
from tests.helpers import assert_result, make_context, run_component
from tests.servers.kube_api import KubeAPIServer, KubeState, service_account_token

ISSUER = "https://kubernetes.default.svc.cluster.local"
NAMESPACE = "runai-proj"
ACCOUNT = "aisg-check"
USER = f"system:serviceaccount:{NAMESPACE}:{ACCOUNT}"


@pytest.fixture(scope="module")
def kube(ca: Any) -> Iterator[KubeAPIServer]:
    server = KubeAPIServer(ca, KubeState(service_account_issuer=ISSUER))
    yield server
    server.close()


@pytest.fixture(autouse=True)
def _grants(kube: KubeAPIServer) -> None:
    kube.state.grants.clear()
    kube.state.requests.clear()
    kube.state.tokens.clear()
    for verb, group, resource in REQUIRED:
        kube.grant(USER, NAMESPACE, verb, resource, group)


def mount(folder: Path, ca: Any, *, token: str | None = None, namespace: str | None = NAMESPACE) -> Path:
    """The service-account volume as kubelet projects it."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "token").write_text(
        token if token is not None else service_account_token(ISSUER, NAMESPACE, ACCOUNT)
    )
    ca.cert_pem.write_to_path(str(folder / "ca.crt"))
    if namespace is not None:
        (folder / "namespace").write_text(namespace)
    return folder


def pod_env(kube: KubeAPIServer, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "KUBERNETES_SERVICE_HOST": "127.0.0.1",
        "KUBERNETES_SERVICE_PORT": str(kube.port),
        **extra,
    }


def run_in_pod(
    sa_dir: Path, env: Mapping[str, str], settings: Mapping[str, Any] | None = None
) -> dict[str, CheckResult]:
    ctx = make_context(settings or {}, env=env, service_account_dir=sa_dir)
    assert ctx.in_cluster or (settings or {}).get("fleet", {}).get("mode") == "cluster"
    return run_component(ctx, "runai")


def test_the_pods_service_account_passes_every_layer(
    tmp_path: Path, home: Path, ca: Any, kube: KubeAPIServer
) -> None:
    # A kubeconfig on the image must not be used in a pod (its server is dead).
    (home / ".kube").mkdir()
    (home / ".kube" / "config").write_text("apiVersion: v1\nclusters: []\ncurrent-context: x\n")
    token = service_account_token(ISSUER, NAMESPACE, ACCOUNT, expires_in=3600)
    sa_dir = mount(tmp_path / "sa", ca, token=token)
    results = run_in_pod(sa_dir, pod_env(kube), {"runai": {"project": "elsewhere"}})
    statuses = {k: r.status for k, r in results.items() if k.startswith("runai")}
    assert statuses == {
        "runai.kubeconfig": Status.PASS,
        "runai.login": Status.PASS,
        "runai.cluster": Status.PASS,
        "runai.identity": Status.PASS,
        "runai.permission": Status.PASS,
        "runai.cli": Status.SKIP,
    }
    assert results["runai.cli"].code == "NOT_APPLICABLE"  # the CLI check is laptop-only
    # The cluster probe follows the service account too: the API at KUBERNETES_SERVICE_HOST,
    # verified with the mounted ca.crt, not the laptop's kubeconfig.
    probe = assert_result(results, "vpn.cluster", "pass", summary_has=[f"127.0.0.1:{kube.port}"])
    assert probe.details["tls_verified"] is True
    config = assert_result(
        results, "runai.kubeconfig", "pass", summary_has=[NAMESPACE, f"127.0.0.1:{kube.port}"]
    )
    assert config.title == "In-cluster configuration" and config.details["mode"] == "in-cluster"
    login = assert_result(results, "runai.login", "pass", summary_has=[USER, "kubelet renews it"])
    assert login.title == "Service account token"
    assert_result(results, "runai.identity", "pass", summary_has=[USER])
    # Its own namespace, not the laptop's runai-<project>.
    permission = assert_result(results, "runai.permission", "pass", summary_has=[NAMESPACE])
    assert permission.details["allowed"] == ["create pods", "list pods", "create jobs.batch"]
    assert f"Bearer {token}" in kube.auth_headers()
    # The token's lifetime, recorded on the login result.
    [credential] = login.credentials
    assert credential.kind == "kube_service_account_token" and credential.owner == USER
    assert credential.source == str(sa_dir / "token")
    claims = jwt.decode(token, options={"verify_signature": False})
    assert credential.expires_at is not None
    assert int(credential.expires_at.astimezone(timezone.utc).timestamp()) == claims["exp"]
    # The token itself is in no result.
    assert token not in repr(results) and token.split(".")[1] not in repr(results)


def test_rights_missing_in_its_own_namespace_name_the_fleet_role(
    tmp_path: Path, ca: Any, kube: KubeAPIServer
) -> None:
    kube.state.grants.discard((USER, NAMESPACE, "create", "batch", "jobs"))
    results = run_in_pod(mount(tmp_path / "sa", ca), pod_env(kube))
    assert_result(
        results,
        "runai.permission",
        "fail",
        "KUBE_FORBIDDEN",
        summary_has=[f"{USER} may not create jobs.batch in namespace {NAMESPACE}"],
        hint_has=["deploy/base/role.yaml", "create pods, list pods, create jobs.batch", NAMESPACE],
    )


def test_a_token_the_api_does_not_accept(tmp_path: Path, ca: Any, kube: KubeAPIServer) -> None:
    expired = service_account_token(ISSUER, NAMESPACE, ACCOUNT, expires_in=-120)
    results = run_in_pod(mount(tmp_path / "sa", ca, token=expired), pod_env(kube))
    assert_result(results, "runai.login", "pass", summary_has=["expired"])
    assert_result(
        results,
        "runai.identity",
        "fail",
        "KUBE_UNAUTHORIZED",
        hint_has=["ServiceAccount", "automountServiceAccountToken"],
    )


def test_a_ca_that_is_not_the_clusters(tmp_path: Path, ca: Any, kube: KubeAPIServer) -> None:
    import trustme

    sa_dir = mount(tmp_path / "sa", ca)
    trustme.CA().cert_pem.write_to_path(str(sa_dir / "ca.crt"))
    results = run_in_pod(sa_dir, pod_env(kube))
    assert_result(results, "runai.cluster", "fail", "TLS_UNTRUSTED_CERT", hint_has=[str(sa_dir / "ca.crt")])


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda d, env: env.pop("KUBERNETES_SERVICE_PORT"), "KUBERNETES_SERVICE_PORT is not set"),
        (lambda d, env: env.update(KUBERNETES_SERVICE_PORT="https"), "not a port number"),
        (lambda d, env: (d / "token").unlink(), "token does not exist"),
        (lambda d, env: (d / "ca.crt").write_text(""), "ca.crt is empty"),
    ],
    ids=["no-port", "port-not-a-number", "no-token", "empty-ca"],
)
def test_an_incomplete_in_cluster_configuration_names_what_is_missing(
    tmp_path: Path, ca: Any, kube: KubeAPIServer, change: Any, words: str
) -> None:
    sa_dir = mount(tmp_path / "sa", ca)
    env = pod_env(kube)
    change(sa_dir, env)
    # fleet.mode: cluster says it is a pod even where the token is missing.
    results = run_in_pod(sa_dir, env, {"fleet": {"mode": "cluster"}})
    result = assert_result(
        results, "runai.kubeconfig", "fail", "KUBE_IN_CLUSTER_INVALID", hint_has=["fleet.mode: laptop"]
    )
    assert words in result.summary.replace(str(sa_dir) + "/", ""), result.summary
    assert results["runai.login"].blocked_by == "runai.kubeconfig"


def test_no_namespace_file_falls_back_on_the_project(tmp_path: Path, ca: Any, kube: KubeAPIServer) -> None:
    results = run_in_pod(
        mount(tmp_path / "sa", ca, namespace=None), pod_env(kube), {"runai": {"project": "proj"}}
    )
    assert_result(results, "runai.kubeconfig", "pass", summary_has=["no namespace file"])
    assert_result(results, "runai.permission", "pass", summary_has=[NAMESPACE])


def test_a_legacy_token_without_expiry_is_recorded_as_not_expiring(
    tmp_path: Path, ca: Any, kube: KubeAPIServer
) -> None:
    kube.state.tokens["legacy-secret-token-0123456789"] = (USER, ("system:serviceaccounts",))
    results = run_in_pod(mount(tmp_path / "sa", ca, token="legacy-secret-token-0123456789"), pod_env(kube))
    login = assert_result(results, "runai.login", "pass", summary_has=["does not expire"])
    assert [c.expires_at for c in login.credentials] == [None]
    assert_result(results, "runai.permission", "pass")


def test_the_service_account_token_never_reaches_an_output(
    tmp_path: Path, ca: Any, kube: KubeAPIServer
) -> None:
    from aisg_check import registry
    from aisg_check.reporters import FORMATS, RenderOptions, renderer
    from aisg_check.runner import run_checks

    token = service_account_token(ISSUER, NAMESPACE, ACCOUNT)
    kube.state.grants.clear()  # a failing run: the most text
    ctx = make_context({}, env=pod_env(kube), service_account_dir=mount(tmp_path / "sa", ca, token=token))
    report = run_checks(ctx, registry.select(["runai"]))
    assert [r.code for r in report.results if r.id == "runai.permission"] == ["KUBE_FORBIDDEN"]
    for fmt in FORMATS:
        text = renderer(fmt)(report, RenderOptions(verbose=True))
        assert token not in text and token.split(".")[1] not in text, fmt
