"""The runai check against a Kubernetes API stand-in and an OIDC issuer on 127.0.0.1, driven
through the real `kubernetes` client. Kubeconfig parsing itself is tested in
tests/test_kubeconfig.py; here each layer's results, hardening against malformed input, and
the transport-failure table."""

from __future__ import annotations

import base64
import json
import os
import shutil
import stat
import subprocess
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from aisg_check.model import CheckResult, Status
from tests.helpers import assert_result, make_context, run_component
from tests.servers.faults import CATEGORIES, Fault, assert_shared_code, faults
from tests.servers.kube_api import KubeAPIServer, KubeState
from tests.servers.oidc import OIDCIssuer
from tests.servers.tls import closed_port

USER = "alice"
EMAIL = "alice@aisingapore.org"
PROJECT = "proj"
NAMESPACE = "runai-proj"
REFRESH = "rt-alice-0123456789abcdef"
CLIENT_SECRET = "cs-should-never-print-42"

# The onboarding guide's sample, verbatim: real host names, so only local layers may use it.
GUIDE_SAMPLE = """\
apiVersion: v1
clusters:
- cluster:
    insecure-skip-tls-verify: true
    server: https://runai-cluster.aisingapore.net:6443
  name: runai-cluster-fqdn
contexts:
- context:
    cluster: runai-cluster-fqdn
    user: runai-authenticated-user
  name: runai-cluster-fqdn
current-context: runai-cluster-fqdn
kind: Config
preferences: {}
users:
- name: runai-authenticated-user
  user:
    auth-provider:
      config:
        airgapped: "true"
        auth-flow: remote-browser
        realm: aisingapore
        client-id: runai-cli
        idp-issuer-url: https://app.run.ai/auth/realms/aisingapore
        redirect-uri: https://aisingapore.run.ai/oauth-code
      name: oidc
"""


# -- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def issuer(ca: Any) -> Iterator[OIDCIssuer]:
    server = OIDCIssuer(ca)
    yield server
    server.close()


@pytest.fixture(scope="module")
def kube(ca: Any, issuer: OIDCIssuer) -> Iterator[KubeAPIServer]:
    server = KubeAPIServer(ca, KubeState(oidc_issuer=issuer.issuer))
    yield server
    server.close()


@pytest.fixture(autouse=True)
def _fresh_state(request: pytest.FixtureRequest) -> None:
    """Module-scoped servers (fast), per-test state (independent)."""
    if "kube" in request.fixturenames:
        kube: KubeAPIServer = request.getfixturevalue("kube")
        kube.state.tokens.clear()
        kube.state.requests.clear()
        kube.state.self_subject_review = True
        kube.state.grants.clear()
        kube.state.overrides.clear()
        for verb, group, resource in (
            ("create", "", "pods"),
            ("list", "", "pods"),
            ("create", "batch", "jobs"),
        ):
            kube.grant(EMAIL, NAMESPACE, verb, resource, group)
    if "issuer" in request.fixturenames:
        issuer: OIDCIssuer = request.getfixturevalue("issuer")
        issuer.refresh_tokens.clear()
        issuer.refresh_tokens[REFRESH] = USER
        issuer.token_requests.clear()
        issuer.issued.clear()


def guide_sample(kube: KubeAPIServer, issuer_url: str, **tokens: str) -> str:
    """The guide's sample with its host names moved to loopback and, like `runai login`,
    the tokens added to the oidc config."""
    text = GUIDE_SAMPLE.replace("https://runai-cluster.aisingapore.net:6443", kube.url())
    text = text.replace("https://app.run.ai/auth/realms/aisingapore", issuer_url)
    text = text.replace("https://aisingapore.run.ai/oauth-code", "https://localhost/oauth-code")
    for key, value in tokens.items():
        text = text.replace(
            "        client-id: runai-cli\n",
            f"        client-id: runai-cli\n        {key.replace('_', '-')}: {value}\n",
        )
    return text


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def run(
    ctx_settings: Mapping[str, Any],
    *,
    env: Mapping[str, str] | None = None,
    probe: bool = True,
    **kwargs: Any,
) -> dict[str, CheckResult]:
    """The runai check, after its `vpn.cluster` probe unless `probe=False` (then the cluster
    step meets a failure itself); the CLI check has tests of its own."""
    ctx = make_context(ctx_settings, env=env, **kwargs)
    return run_component(ctx, "runai", skip=["runai.cli", *([] if probe else ["vpn.*"])])


def settings(kubeconfig: Path, ca_file: Path, **runai: Any) -> dict[str, Any]:
    return {"ca_bundle": str(ca_file), "runai": {"kubeconfig": str(kubeconfig), "project": PROJECT, **runai}}


def statuses(results: Mapping[str, CheckResult]) -> dict[str, str]:
    return {k: f"{v.status.value}:{v.code or ''}" for k, v in results.items() if k.startswith("runai")}


# -- pass --------------------------------------------------------------------------------------


def test_guide_shape_logged_in_passes_every_layer(
    tmp_path: Path, ca_file: Path, kube: KubeAPIServer, issuer: OIDCIssuer
) -> None:
    id_token = issuer.mint(USER, expires_in=3600)
    path = write(
        tmp_path / "kubeconfig", guide_sample(kube, issuer.issuer, id_token=id_token, refresh_token=REFRESH)
    )
    results = run(settings(path, ca_file))
    assert statuses(results) == {
        "runai.kubeconfig": "pass:",
        "runai.login": "pass:",
        "runai.cluster": "pass:",
        "runai.identity": "pass:",
        "runai.permission": "pass:",
    }
    assert results["runai.kubeconfig"].details["insecure_skip_tls_verify"] is True
    assert "insecure-skip-tls-verify" in results["runai.kubeconfig"].summary
    assert results["runai.login"].details["username"] == USER
    assert 3500 < results["runai.login"].details["expires_in_s"] <= 3600
    assert results["runai.identity"].details["username"] == EMAIL
    assert results["runai.permission"].details["allowed"] == ["create pods", "list pods", "create jobs.batch"]
    assert issuer.token_requests == []  # a valid id-token is not refreshed
    # The credential reached the cluster as a bearer token; /version went without one.
    assert [(m, auth) for m, p, auth in kube.state.requests if p.startswith("/version")] == [
        ("HEAD", None),  # the vpn.cluster probe
        ("GET", None),
    ]
    assert f"Bearer {id_token}" in kube.auth_headers()


def test_old_cluster_without_self_subject_review_falls_back(
    tmp_path: Path, ca_file: Path, kube: KubeAPIServer, issuer: OIDCIssuer
) -> None:
    kube.state.self_subject_review = False
    path = write(
        tmp_path / "kc", guide_sample(kube, issuer.issuer, id_token=issuer.mint(USER), refresh_token=REFRESH)
    )
    results = run(settings(path, ca_file))
    assert results["runai.identity"].status is Status.PASS
    assert results["runai.identity"].details["self_subject_review"] == "unavailable"
    assert results["runai.permission"].status is Status.PASS


# -- layer 1: kubeconfig ---------------------------------------------------------------------


def test_guide_sample_verbatim_before_login(tmp_path: Path) -> None:
    """The exact sample: kubeconfig accepted (insecure noted, not faulted), not logged in; the
    check stops before any network layer, so the real host names are never looked up."""
    path = write(tmp_path / "config", GUIDE_SAMPLE)
    results = run({"runai": {"kubeconfig": str(path)}}, probe=False)
    kc = assert_result(results, "runai.kubeconfig", "pass")
    assert kc.details["server"] == "https://runai-cluster.aisingapore.net:6443"
    login = assert_result(results, "runai.login", "fail", "RUNAI_NOT_LOGGED_IN")
    assert login.hint == f"`export KUBECONFIG={path}; runai login`"
    assert assert_result(results, "runai.cluster", "skip").blocked_by == "runai.login"


def test_kubeconfig_missing(tmp_path: Path, home: Path) -> None:
    results = run({}, env={**os.environ, "HOME": str(home)}, home=home)
    assert results["runai.kubeconfig"].code == "KUBECONFIG_MISSING"
    assert str(home / ".kube" / "config") in results["runai.kubeconfig"].summary
    assert "runai login" in (results["runai.kubeconfig"].hint or "")


def test_kubeconfig_invalid_yaml_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path / "kc", "apiVersion: v1\nclusters:\n- cluster: {server: x\n")
    results = run({"runai": {"kubeconfig": str(path)}})
    assert results["runai.kubeconfig"].code == "KUBECONFIG_INVALID"
    assert str(path) in results["runai.kubeconfig"].summary
    assert "line" in results["runai.kubeconfig"].summary


def test_kubeconfig_context_naming_an_undefined_cluster_is_invalid(tmp_path: Path) -> None:
    doc = yaml.safe_load(GUIDE_SAMPLE)
    doc["contexts"][0]["context"]["cluster"] = "nowhere"
    path = write(tmp_path / "kc", yaml.safe_dump(doc))
    results = run({"runai": {"kubeconfig": str(path)}})
    assert results["runai.kubeconfig"].code == "KUBECONFIG_INVALID"
    assert "cluster 'nowhere'" in results["runai.kubeconfig"].summary


def test_context_missing_lists_the_available_ones(tmp_path: Path) -> None:
    path = write(tmp_path / "kc", GUIDE_SAMPLE)
    results = run({"runai": {"kubeconfig": str(path), "context": "typo"}})
    assert results["runai.kubeconfig"].code == "KUBE_CONTEXT_MISSING"
    assert "'typo'" in results["runai.kubeconfig"].summary
    assert "runai-cluster-fqdn" in (results["runai.kubeconfig"].hint or "")


def test_no_current_context_is_context_missing(tmp_path: Path) -> None:
    path = write(tmp_path / "kc", GUIDE_SAMPLE.replace("current-context: runai-cluster-fqdn\n", ""))
    results = run({"runai": {"kubeconfig": str(path)}})
    assert results["runai.kubeconfig"].code == "KUBE_CONTEXT_MISSING"


def test_several_kubeconfig_files_merge_as_kubectl_does(
    tmp_path: Path, ca_file: Path, kube: KubeAPIServer, issuer: OIDCIssuer
) -> None:
    """First file's current-context wins; a name defined twice keeps its first definition."""
    good = guide_sample(kube, issuer.issuer, id_token=issuer.mint(USER), refresh_token=REFRESH)
    first = write(tmp_path / "a" / "runai.yaml", good)
    other = yaml.safe_load(good)
    other["current-context"] = "other"
    other["contexts"].append({"name": "other", "context": {"cluster": "runai-cluster-fqdn", "user": "other"}})
    other["users"][0]["user"]["auth-provider"]["config"]["id-token"] = "not-the-one"
    other["users"].append({"name": "other", "user": {"token": "other-token"}})
    second = write(tmp_path / "b" / "config", yaml.safe_dump(other))
    env = {**os.environ, "KUBECONFIG": os.pathsep.join([str(first), str(tmp_path / "absent"), str(second)])}
    results = run({"ca_bundle": str(ca_file), "runai": {"project": PROJECT}}, env=env)
    details = results["runai.kubeconfig"].details
    assert details["context"] == "runai-cluster-fqdn"
    assert details["files"] == [str(first), str(second)]
    assert details["missing_files"] == [str(tmp_path / "absent")]
    assert details["source"] == "KUBECONFIG"
    assert statuses(results)["runai.permission"] == "pass:"
    if shutil.which("kubectl"):  # the same answer as kubectl itself (local only: no server contacted)
        out = subprocess.run(
            ["kubectl", "config", "current-context"],
            env=env,
            capture_output=True,
            text=True,
            timeout=20,
            stdin=subprocess.DEVNULL,
        )
        assert out.stdout.strip() == "runai-cluster-fqdn"


# -- layer 2: login --------------------------------------------------------------------------


def test_expired_token_is_refreshed_in_memory_and_the_file_is_untouched(
    tmp_path: Path, ca_file: Path, kube: KubeAPIServer, issuer: OIDCIssuer
) -> None:
    text = guide_sample(
        kube, issuer.issuer, id_token=issuer.mint(USER, expires_in=-60), refresh_token=REFRESH
    )
    text = "# from the MLOps team -- keep this comment\n" + text
    path = write(tmp_path / "kubeconfig", text)
    before, mtime = path.read_bytes(), path.stat().st_mtime_ns
    results = run(settings(path, ca_file))
    assert statuses(results)["runai.permission"] == "pass:"
    assert results["runai.login"].details["refreshed"] is True
    assert "renewed" in results["runai.login"].summary
    # The standard refresh_token grant of a public client: client_id, no client_secret.
    assert issuer.token_requests == [
        {"grant_type": "refresh_token", "refresh_token": REFRESH, "client_id": "runai-cli"}
    ]
    assert f"Bearer {issuer.issued[-1]}" in kube.auth_headers()
    assert path.read_bytes() == before
    assert path.stat().st_mtime_ns == mtime


def test_refresh_refused_is_token_expired(
    tmp_path: Path, ca_file: Path, kube: KubeAPIServer, issuer: OIDCIssuer
) -> None:
    text = guide_sample(
        kube, issuer.issuer, id_token=issuer.mint(USER, expires_in=-60), refresh_token="rt-ended"
    )
    results = run(settings(write(tmp_path / "kc", text), ca_file))
    assert results["runai.login"].code == "RUNAI_TOKEN_EXPIRED"
    assert "invalid_grant" in results["runai.login"].summary
    assert "runai login" in (results["runai.login"].hint or "")
    assert results["runai.cluster"].blocked_by == "runai.login"


def test_expired_without_refresh_token(
    tmp_path: Path, ca_file: Path, kube: KubeAPIServer, issuer: OIDCIssuer
) -> None:
    text = guide_sample(kube, issuer.issuer, id_token=issuer.mint(USER, expires_in=-60))
    results = run(settings(write(tmp_path / "kc", text), ca_file))
    assert results["runai.login"].code == "RUNAI_TOKEN_EXPIRED"
    assert issuer.token_requests == []


def test_token_from_another_realm(
    tmp_path: Path, ca_file: Path, kube: KubeAPIServer, issuer: OIDCIssuer
) -> None:
    from tests.servers.oidc import mint

    foreign = mint("https://app.run.ai/auth/realms/other-tenant", USER)
    text = guide_sample(kube, issuer.issuer, id_token=foreign, refresh_token=REFRESH)
    results = run(settings(write(tmp_path / "kc", text), ca_file))
    assert results["runai.login"].code == "RUNAI_WRONG_REALM"
    assert "other-tenant" in results["runai.login"].summary


def test_login_ending_soon_warns_and_goes_on(
    tmp_path: Path, ca_file: Path, kube: KubeAPIServer, issuer: OIDCIssuer
) -> None:
    # Keycloak's refresh-token is a JWT carrying the SSO session's end.
    refresh = issuer.mint(USER, expires_in=600, typ="Refresh")
    issuer.refresh_tokens[refresh] = USER
    text = guide_sample(
        kube, issuer.issuer, id_token=issuer.mint(USER, expires_in=300), refresh_token=refresh
    )
    results = run(settings(write(tmp_path / "kc", text), ca_file))
    assert results["runai.login"].status is Status.WARN
    assert results["runai.login"].code == "RUNAI_TOKEN_EXPIRES_SOON"
    assert 500 < results["runai.login"].details["session_expires_in_s"] <= 600
    assert results["runai.permission"].status is Status.PASS


def test_issuer_unreachable(tmp_path: Path, ca_file: Path, kube: KubeAPIServer, issuer: OIDCIssuer) -> None:
    dead = f"https://localhost:{closed_port()}/auth/realms/aisingapore"
    from tests.servers.oidc import mint

    text = guide_sample(kube, dead, id_token=mint(dead, USER, expires_in=-60), refresh_token=REFRESH)
    results = run(settings(write(tmp_path / "kc", text), ca_file))
    # A refused connection gets the shared code; the hint names the server it was.
    assert_result(
        results,
        "runai.login",
        "fail",
        "VPN_CONNECT_REFUSED",
        summary_has=["renewing the id-token"],
        hint_has=["idp-issuer-url", dead],
    )


def test_issuer_that_is_not_an_oidc_issuer_keeps_the_components_code(
    tmp_path: Path, ca_file: Path, kube: KubeAPIServer
) -> None:
    """The Kubernetes API answers 403 for the discovery document: it answered, but not as an
    OpenID Connect issuer does; that is no transport failure."""
    from tests.servers.oidc import mint

    wrong = f"{kube.url()}/auth/realms/aisingapore"
    text = guide_sample(kube, wrong, id_token=mint(wrong, USER, expires_in=-60), refresh_token=REFRESH)
    results = run(settings(write(tmp_path / "kc", text), ca_file))
    assert_result(
        results,
        "runai.login",
        "fail",
        "RUNAI_ISSUER_UNREACHABLE",
        summary_has=["openid-configuration answered HTTP 403"],
    )


def test_id_token_that_is_not_a_jwt(
    tmp_path: Path, ca_file: Path, kube: KubeAPIServer, issuer: OIDCIssuer
) -> None:
    text = guide_sample(kube, issuer.issuer, id_token="garbled")
    results = run(settings(write(tmp_path / "kc", text), ca_file))
    assert results["runai.login"].code == "RUNAI_NOT_LOGGED_IN"
    assert "not a JWT" in results["runai.login"].summary


# -- exec plugins ------------------------------------------------------------------------------


def plugin(tmp_path: Path, body: str, name: str = "kubelogin") -> Path:
    path = tmp_path / "bin" / name
    write(path, "#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


def exec_kubeconfig(kube: KubeAPIServer, command: str, ca: Any) -> str:
    doc = yaml.safe_load(GUIDE_SAMPLE.replace("https://runai-cluster.aisingapore.net:6443", kube.url()))
    cluster = doc["clusters"][0]["cluster"]
    del cluster["insecure-skip-tls-verify"]
    cluster["certificate-authority-data"] = base64.b64encode(ca.cert_pem.bytes()).decode()
    doc["users"][0]["user"] = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1",
            "command": command,
            "args": ["get-token"],
            "interactiveMode": "Never",
        }
    }
    return yaml.safe_dump(doc)


def test_exec_plugin_token(tmp_path: Path, ca: Any, kube: KubeAPIServer) -> None:
    kube.state.tokens["exec-token-abc123"] = (EMAIL, ())
    cred = json.dumps(
        {
            "apiVersion": "client.authentication.k8s.io/v1",
            "kind": "ExecCredential",
            "status": {"token": "exec-token-abc123"},
        }
    )
    # The plugin must not be interactive: it gets no stdin and KUBERNETES_EXEC_INFO says so.
    script = plugin(
        tmp_path,
        f"""read -r line && echo "stdin was open" >&2 && exit 3
case "$KUBERNETES_EXEC_INFO" in *'"interactive": false'*) ;; *) echo "bad exec info" >&2; exit 4;; esac
echo '{cred}'
""",
    )
    path = write(tmp_path / "kc", exec_kubeconfig(kube, str(script), ca))
    results = run({"runai": {"kubeconfig": str(path), "project": PROJECT}})
    assert statuses(results)["runai.login"] == "pass:", results["runai.login"].summary
    assert results["runai.permission"].status is Status.PASS
    assert "Bearer exec-token-abc123" in kube.auth_headers()


def test_exec_plugin_failure_is_reported_scrubbed(
    tmp_path: Path, ca: Any, kube: KubeAPIServer, issuer: OIDCIssuer
) -> None:
    stale = issuer.mint(USER, expires_in=-60)
    script = plugin(tmp_path, f'echo "error: token {stale} expired; run runai login" >&2\nexit 1\n')
    path = write(tmp_path / "kc", exec_kubeconfig(kube, str(script), ca))
    results = run({"runai": {"kubeconfig": str(path), "project": PROJECT}})
    login = results["runai.login"]
    assert login.code == "RUNAI_NOT_LOGGED_IN"
    assert "exited with 1" in login.summary and "expired; run runai login" in login.summary
    assert stale not in login.summary and stale.split(".")[1] not in login.summary
    # No anonymous attempt after a failed plugin (only the vpn probe's HEAD reached the server).
    assert [m for m, _p, _a in kube.state.requests] == ["HEAD"]


def test_exec_plugin_arguments_stay_out_of_the_hint(tmp_path: Path, ca: Any, kube: KubeAPIServer) -> None:
    """A plugin's arguments may carry a secret in a form the scrubber cannot know (`--flag VALUE`)."""
    canary = "exec-arg-canary-7f3a9c"
    script = plugin(tmp_path, 'echo "error: login required" >&2\nexit 1\n')
    doc = yaml.safe_load(exec_kubeconfig(kube, str(script), ca))
    doc["users"][0]["user"]["exec"]["args"] = ["get-token", "--oidc-client-secret", canary]
    path = write(tmp_path / "kc", yaml.safe_dump(doc))
    results = run({"runai": {"kubeconfig": str(path), "project": PROJECT}})
    login = results["runai.login"]
    assert login.code == "RUNAI_NOT_LOGGED_IN"
    assert "`kubelogin`" in (login.hint or "") and "runai-authenticated-user" in (login.hint or "")
    assert canary not in repr(results)


def test_exec_plugin_not_installed(tmp_path: Path, ca: Any, kube: KubeAPIServer) -> None:
    path = write(tmp_path / "kc", exec_kubeconfig(kube, "runai-kubelogin-absent", ca))
    results = run({"runai": {"kubeconfig": str(path), "project": PROJECT}})
    assert results["runai.login"].code == "RUNAI_NOT_LOGGED_IN"
    assert "not installed" in results["runai.login"].summary


# -- layers 3-5: cluster, identity, permission ----------------------------------------------


def test_cluster_unreachable(tmp_path: Path, ca_file: Path, issuer: OIDCIssuer) -> None:
    text = GUIDE_SAMPLE.replace(
        "https://runai-cluster.aisingapore.net:6443", f"https://127.0.0.1:{closed_port()}"
    )
    text = text.replace("https://app.run.ai/auth/realms/aisingapore", issuer.issuer)
    text = text.replace(
        "client-id: runai-cli\n",
        f"client-id: runai-cli\n        id-token: {issuer.mint(USER, expires_in=7200)}\n",
    )
    path = write(tmp_path / "kc", text)
    results = run(settings(path, ca_file), probe=False)
    assert_result(results, "runai.login", "pass")
    # The shared code every component gives a refused connection (KUBE_API_UNREACHABLE is only
    # the fallback for a failure no shared code describes).
    assert_result(results, "runai.cluster", "fail", "VPN_CONNECT_REFUSED", summary_has=["127.0.0.1"])
    # With the probe, the same failure blocks the check at vpn.cluster instead.
    results = run(settings(path, ca_file))
    assert results["vpn.cluster"].code == "VPN_CONNECT_REFUSED"
    assert results["runai.cluster"].blocked_by == "vpn.cluster"


def test_cluster_certificate_not_trusted(
    tmp_path: Path, ca_file: Path, kube: KubeAPIServer, issuer: OIDCIssuer
) -> None:
    import trustme

    doc = yaml.safe_load(guide_sample(kube, issuer.issuer, id_token=issuer.mint(USER)))
    cluster = doc["clusters"][0]["cluster"]
    del cluster["insecure-skip-tls-verify"]
    cluster["certificate-authority-data"] = base64.b64encode(trustme.CA().cert_pem.bytes()).decode()
    path = write(tmp_path / "kc", yaml.safe_dump(doc))
    results = run(settings(path, ca_file), probe=False)
    assert_result(
        results,
        "runai.cluster",
        "fail",
        "TLS_UNTRUSTED_CERT",
        summary_has=["localhost"],
        hint_has=["certificate authority does not match"],
    )


def test_unknown_token_is_unauthorized(tmp_path: Path, ca_file: Path, kube: KubeAPIServer) -> None:
    doc = yaml.safe_load(GUIDE_SAMPLE.replace("https://runai-cluster.aisingapore.net:6443", kube.url()))
    doc["users"][0]["user"] = {"token": "revoked-token-xyz"}
    results = run(settings(write(tmp_path / "kc", yaml.safe_dump(doc)), ca_file))
    assert results["runai.cluster"].status is Status.PASS  # /version needs no credential
    assert results["runai.identity"].code == "KUBE_UNAUTHORIZED"
    assert results["runai.permission"].blocked_by == "runai.identity"


def test_cluster_seeing_anonymous_says_no_credential_arrived(
    tmp_path: Path, ca_file: Path, kube: KubeAPIServer
) -> None:
    # Stands in for a front proxy that drops the Authorization header: the cluster answers
    # for system:anonymous although a token was sent.
    kube.state.tokens["stripped-token"] = ("system:anonymous", ("system:unauthenticated",))
    doc = yaml.safe_load(GUIDE_SAMPLE.replace("https://runai-cluster.aisingapore.net:6443", kube.url()))
    doc["users"][0]["user"] = {"token": "stripped-token"}
    results = run(settings(write(tmp_path / "kc", yaml.safe_dump(doc)), ca_file))
    assert results["runai.identity"].code == "KUBE_ANONYMOUS"
    assert "no credential reached" in results["runai.identity"].summary


def test_forbidden_names_verb_resource_and_namespace(
    tmp_path: Path, ca_file: Path, kube: KubeAPIServer, issuer: OIDCIssuer
) -> None:
    kube.state.grants.discard((EMAIL, NAMESPACE, "create", "batch", "jobs"))
    text = guide_sample(kube, issuer.issuer, id_token=issuer.mint(USER), refresh_token=REFRESH)
    results = run(settings(write(tmp_path / "kc", text), ca_file))
    perm = results["runai.permission"]
    assert perm.code == "KUBE_FORBIDDEN"
    assert perm.summary == f"{EMAIL} may not create jobs.batch in namespace {NAMESPACE}"
    assert "mlops@aisingapore.org" in (perm.hint or "")
    assert perm.details["allowed"] == ["create pods", "list pods"]


def test_other_project_is_forbidden(
    tmp_path: Path, ca_file: Path, kube: KubeAPIServer, issuer: OIDCIssuer
) -> None:
    text = guide_sample(kube, issuer.issuer, id_token=issuer.mint(USER), refresh_token=REFRESH)
    results = run(settings(write(tmp_path / "kc", text), ca_file, project="other"))
    assert results["runai.permission"].code == "KUBE_FORBIDDEN"
    assert "runai-other" in results["runai.permission"].summary


def test_no_project_skips_the_permission_layer(
    tmp_path: Path, ca_file: Path, kube: KubeAPIServer, issuer: OIDCIssuer
) -> None:
    text = guide_sample(kube, issuer.issuer, id_token=issuer.mint(USER), refresh_token=REFRESH)
    results = run(settings(write(tmp_path / "kc", text), ca_file, project=None))
    assert results["runai.identity"].status is Status.PASS
    assert results["runai.permission"].status is Status.SKIP
    assert results["runai.permission"].code == "NOT_CONFIGURED"
    assert "--project" in (results["runai.permission"].hint or "")


def test_explicit_namespace_wins_over_project(
    tmp_path: Path, ca_file: Path, kube: KubeAPIServer, issuer: OIDCIssuer
) -> None:
    for verb, group, resource in (("create", "", "pods"), ("list", "", "pods"), ("create", "batch", "jobs")):
        kube.grant(EMAIL, "team-ns", verb, resource, group)
    text = guide_sample(kube, issuer.issuer, id_token=issuer.mint(USER), refresh_token=REFRESH)
    results = run(settings(write(tmp_path / "kc", text), ca_file, project="other", namespace="team-ns"))
    assert results["runai.permission"].status is Status.PASS
    assert results["runai.permission"].details["namespace"] == "team-ns"


# -- the CLI layer ---------------------------------------------------------------------------


def stand_in_runai(tmp_path: Path, body: str) -> Path:
    return plugin(tmp_path, body, name="runai").parent


def run_cli_check(
    bin_dir: Path | None, settings: Mapping[str, Any] | None = None, **kwargs: Any
) -> CheckResult:
    path = str(bin_dir) if bin_dir else str(Path("/nonexistent"))
    env = {**os.environ, "PATH": path}
    ctx = make_context(
        {"timeout": 0.5, **(settings or {})},
        env=env,
        which=lambda name: shutil.which(name, path=path),
        **kwargs,
    )
    results = run_component(ctx, "runai", only=["runai.cli"])
    assert set(results) == {"runai.cli"}
    return results["runai.cli"]


def test_runai_cli_found_with_its_version(tmp_path: Path) -> None:
    bin_dir = stand_in_runai(
        tmp_path,
        'test "$1" = version || exit 2\nprintf "Version: 2.18.42\\n'
        'BuildDate: 2024-09-01T00:00:00Z\\nGoVersion: go1.22.5\\n"\n',
    )
    result = run_cli_check(bin_dir)
    assert result.status is Status.PASS
    assert result.details["version"] == "2.18.42"
    assert "2.18.42" in result.summary


def test_runai_cli_missing_is_a_warning_with_download_steps(tmp_path: Path) -> None:
    result = run_cli_check(None, platform="darwin")
    assert result.status is Status.WARN
    assert result.code == "RUNAI_CLI_MISSING"
    assert "Researcher Command Line Interface" in (result.hint or "") and "Mac" in (result.hint or "")
    assert run_cli_check(None, platform="win32").hint.count("runai.exe") == 1  # type: ignore[union-attr]


def test_runai_cli_that_hangs_is_cut_off(tmp_path: Path) -> None:
    bin_dir = stand_in_runai(tmp_path, "exec /bin/sleep 30\n")
    started = time.monotonic()
    result = run_cli_check(bin_dir)
    assert time.monotonic() - started < 10
    assert result.code == "TOOL_BROKEN" and "timed out" in result.summary


def test_runai_whoami_for_an_exec_kubeconfig(tmp_path: Path, ca: Any, kube: KubeAPIServer) -> None:
    """The first CLI with an exec-plugin login: its `runai whoami` says whether that worked (the
    improved CLI has no whoami: tests/checks/test_runai_cli.py)."""
    path = write(tmp_path / "kc", exec_kubeconfig(kube, "runai", ca))
    bin_dir = stand_in_runai(
        tmp_path,
        'case "$1" in version) echo "Version: 2.21.3";; '
        'whoami) echo "not logged in: run runai login" >&2; exit 1;; esac\n',
    )
    result = run_cli_check(bin_dir, settings={"runai": {"kubeconfig": str(path)}})
    assert result.code == "RUNAI_NOT_LOGGED_IN" and result.status is Status.WARN
    assert "not logged in: run runai login" in result.summary


# -- end to end: the real CLI in a subprocess -------------------------------------------------


def cli_env(home: Path, ca_file: Path, bin_dir: Path | None = None) -> dict[str, str]:
    # Everything the profile names that this command could touch points at loopback.
    return {
        **os.environ,
        "HOME": str(home),
        "AISG_CHECK_CA_BUNDLE": str(ca_file),
        "AISG_CHECK_TIMEOUT": "3",
        "AISG_CHECK_RUNAI_URL": "http://127.0.0.1:9",
        "AISG_CHECK_RUNAI_CLUSTER_URL": "https://127.0.0.1:9",
        "PATH": os.pathsep.join(
            p for p in (str(bin_dir) if bin_dir else "", os.environ.get("PATH", "")) if p
        ),
    }


def test_cli_json_end_to_end_with_a_refresh(
    tmp_path: Path, home: Path, ca_file: Path, kube: KubeAPIServer, issuer: OIDCIssuer
) -> None:
    from tests.helpers import run_cli

    text = guide_sample(kube, issuer.issuer, id_token=issuer.mint(USER, expires_in=-5), refresh_token=REFRESH)
    path = write(tmp_path / "kubeconfig", "# keep me\n" + text)
    before = path.read_bytes()
    bin_dir = stand_in_runai(tmp_path, 'echo "Version: 2.18.42"\n')
    out = run_cli(
        ["runai", "--kubeconfig", str(path), "--project", PROJECT, "--format", "json"],
        env=cli_env(home, ca_file, bin_dir),
        timeout=60,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    report = out.json()
    assert report["schema_version"] == 1
    by_id = {r["id"]: r for r in report["results"]}
    assert [
        by_id[i]["status"]
        for i in (
            "vpn.cluster",
            "runai.kubeconfig",
            "runai.login",
            "runai.cluster",
            "runai.identity",
            "runai.permission",
            "runai.cli",
        )
    ] == ["pass"] * 7
    assert by_id["runai.login"]["details"]["refreshed"] is True
    assert by_id["runai.identity"]["details"]["username"] == EMAIL
    assert path.read_bytes() == before


def test_secret_canaries_never_reach_any_output(
    tmp_path: Path, home: Path, ca_file: Path, kube: KubeAPIServer, issuer: OIDCIssuer
) -> None:
    from tests.helpers import run_cli

    id_token = issuer.mint(USER, expires_in=-5)
    text = guide_sample(
        kube, issuer.issuer, id_token=id_token, refresh_token=REFRESH, client_secret=CLIENT_SECRET
    )
    path = write(tmp_path / "kubeconfig", text)
    env = cli_env(home, ca_file)
    args = ["runai", "--kubeconfig", str(path), "--project", PROJECT]
    outputs = []
    # Without --format the file's format follows its extension: table -v + markdown, table + junit.
    for extra, report in ((["-v"], "r.md"), ([], "r.xml")):
        out = run_cli([*args, *extra, "--output", str(tmp_path / report)], env=env, timeout=60)
        outputs += [out.stdout, out.stderr, (tmp_path / report).read_text()]
    assert issuer.issued, "the run must have refreshed the token"
    assert "runai.identity" in outputs[0] and "## " in outputs[2] and "<testcase" in outputs[5]
    issuer.refresh_tokens.clear()  # now the same kubeconfig fails with invalid_grant
    for extra in (["--format", "json"], ["-v"]):
        out = run_cli([*args, *extra], env=env, timeout=60)
        assert "RUNAI_TOKEN_EXPIRED" in out.stdout
        outputs += [out.stdout, out.stderr]
    canaries = [
        id_token,
        id_token.split(".")[1],
        REFRESH,
        CLIENT_SECRET,
        *issuer.issued,
        *(t.split(".")[1] for t in issuer.issued),
    ]
    for text_out in outputs:
        for canary in canaries:
            assert canary not in text_out


# -- transport failures: the shared codes ---------------------------------------------------------


def token_kubeconfig(server: str, user: Mapping[str, Any] | None = None, ca_pem: bytes | None = None) -> str:
    cluster: dict[str, Any] = {"server": server}
    if ca_pem is not None:
        cluster["certificate-authority-data"] = base64.b64encode(ca_pem).decode()
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "c", "cluster": cluster}],
            "contexts": [{"name": "ctx", "context": {"cluster": "c", "user": "me"}}],
            "current-context": "ctx",
            "users": [{"name": "me", "user": dict(user or {"token": "fault-token-0123"})}],
        }
    )


# -- answers that are not what a Kubernetes API answers ------------------------------------------

SSR_PATH = "/apis/authentication.k8s.io/v1/selfsubjectreviews"
SSAR_PATH = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"


@pytest.mark.parametrize(
    ("path", "answer", "step", "code"),
    [
        # A web portal (or a proxy's login page) at the API's URL.
        (
            "/version",
            (200, "text/html", b"<html>Sign in</html>"),
            "runai.cluster",
            "ENDPOINT_UNEXPECTED_ANSWER",
        ),
        ("/version", (200, "application/json", b'["v1.30"]'), "runai.cluster", "ENDPOINT_UNEXPECTED_ANSWER"),
        (
            "/version",
            (200, "application/json", b'{"major": "1"}'),
            "runai.cluster",
            "ENDPOINT_UNEXPECTED_ANSWER",
        ),
        ("/version", (502, "text/plain", b"Bad Gateway"), "runai.cluster", "ENDPOINT_HTTP_ERROR"),
        ("/version", (302, "text/html", b""), "runai.cluster", "ENDPOINT_UNEXPECTED_ANSWER"),
        (SSR_PATH, (500, "application/json", b"{}"), "runai.identity", "ENDPOINT_HTTP_ERROR"),
        (
            SSR_PATH,
            (201, "application/json", b'{"status": {"userInfo": {"groups": "x"}}}'),
            "runai.identity",
            "ENDPOINT_UNEXPECTED_ANSWER",
        ),
        (
            SSAR_PATH,
            (201, "application/json", b'{"kind": "SelfSubjectAccessReview", "status": {}}'),
            "runai.permission",
            "ENDPOINT_UNEXPECTED_ANSWER",
        ),
        (SSAR_PATH, (201, "application/json", b"\xff\xfe"), "runai.permission", "ENDPOINT_UNEXPECTED_ANSWER"),
    ],
)
def test_an_answer_not_shaped_as_kubernetes_is_named(
    path: str,
    answer: tuple[int, str, bytes],
    step: str,
    code: str,
    tmp_path: Path,
    ca_file: Path,
    kube: KubeAPIServer,
) -> None:
    token = "static-token-0123456789"
    kube.state.tokens[token] = (EMAIL, ("system:authenticated",))
    kube.state.overrides[path] = answer
    kc = write(tmp_path / "kc", token_kubeconfig(kube.url(), {"token": token}))
    results = run(settings(kc, ca_file), probe=False)
    assert_result(results, step, "fail", code)
    assert token not in json.dumps([r.to_dict() for r in results.values()])


@pytest.fixture(scope="module")
def fault_endpoints() -> Iterator[dict[str, Fault]]:
    with faults() as found:
        yield found


@pytest.mark.parametrize("category", CATEGORIES)
def test_cluster_transport_failures_get_the_shared_codes(
    category: str, fault_endpoints: dict[str, Fault], tmp_path: Path
) -> None:
    """Past its probe (skipped here), each way the connection to the cluster fails gets the
    code every component gives it, through urllib3 and the kubernetes client."""
    fault = fault_endpoints[category]
    path = write(tmp_path / "kc", token_kubeconfig(fault.url()))
    results = run(
        {"timeout": 1, "runai": {"kubeconfig": str(path), "project": PROJECT}},
        env={**os.environ, **fault.env},
        probe=False,
    )
    assert_result(results, "runai.login", "pass")
    assert_shared_code(fault, results["runai.cluster"])
    assert results["runai.identity"].blocked_by == "runai.cluster"


# Every category, over https as an issuer must be: a listener that never answers hangs in the TLS
# handshake, which net/failures.py counts as no answer (the TCP connection was accepted), as it
# counts an issuer that hangs after the handshake (below).
ISSUER_CATEGORIES = CATEGORIES


@pytest.mark.parametrize("category", ISSUER_CATEGORIES)
def test_issuer_transport_failures_get_the_shared_codes(
    category: str, fault_endpoints: dict[str, Fault], tmp_path: Path, ca_file: Path, kube: KubeAPIServer
) -> None:
    from tests.servers.oidc import mint

    fault = fault_endpoints[category]
    issuer = f"https://{fault.host}/auth/realms/aisingapore"
    text = guide_sample(kube, issuer, id_token=mint(issuer, USER, expires_in=-60), refresh_token=REFRESH)
    results = run(
        {"timeout": 1, **settings(write(tmp_path / "kc", text), ca_file)},
        env={**os.environ, **fault.env},
        probe=False,
    )
    assert_shared_code(fault, results["runai.login"])
    assert "renewing the id-token" in results["runai.login"].summary
    assert results["runai.cluster"].blocked_by == "runai.login"


def test_issuer_that_hangs_is_no_answer(
    tmp_path: Path, ca_file: Path, kube: KubeAPIServer, issuer: OIDCIssuer
) -> None:
    issuer.hang_s = 3.0
    try:
        text = guide_sample(
            kube, issuer.issuer, id_token=issuer.mint(USER, expires_in=-60), refresh_token=REFRESH
        )
        started = time.monotonic()
        results = run({"timeout": 1, **settings(write(tmp_path / "kc", text), ca_file)}, probe=False)
    finally:
        issuer.hang_s = 0.0
    assert time.monotonic() - started < 3.0
    assert_result(results, "runai.login", "fail", "ENDPOINT_NO_ANSWER", hint_has=["idp-issuer-url"])


# -- malformed input: a coded failure naming the file, never a crash ---------------------------------


def test_kubeconfig_that_is_not_utf8_is_invalid_in_the_check_and_the_probe(tmp_path: Path) -> None:
    path = tmp_path / "kc"
    path.write_bytes(GUIDE_SAMPLE.encode().replace(b"runai-authenticated-user", b"runai-\xe9-user"))
    results = run({"runai": {"kubeconfig": str(path), "cluster_url": f"https://127.0.0.1:{closed_port()}"}})
    # The probe reads the same kubeconfig: no crash there, it falls back on the profile's URL.
    probe = results["vpn.cluster"]
    assert probe.status is not Status.ERROR and probe.code != "CHECK_CRASHED", probe.summary
    assert_result(
        results,
        "runai.kubeconfig",
        "fail",
        "KUBECONFIG_INVALID",
        summary_has=[str(path), "not UTF-8", "0xe9"],
    )


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"x" * (4 * 1024 * 1024 + 1), "larger than 4 MiB"),
        (
            b"a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
            b"c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
            b"e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
            b"g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]\nh: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]\n"
            b"i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]\n",
            "aliases (*name) expand",
        ),
        (None, "Is a directory"),
    ],
    ids=["huge", "alias-bomb", "directory"],
)
def test_bounded_kubeconfig_input(tmp_path: Path, content: bytes | None, words: str) -> None:
    path = tmp_path / "kc"
    if content is None:
        path.mkdir()
    else:
        path.write_bytes(content)
    started = time.monotonic()
    results = run({"runai": {"kubeconfig": str(path)}}, probe=False)
    assert time.monotonic() - started < 5
    assert_result(results, "runai.kubeconfig", "fail", "KUBECONFIG_INVALID", summary_has=[str(path), words])


def _user_kubeconfig(kube: KubeAPIServer, user: Mapping[str, Any]) -> str:
    doc = yaml.safe_load(GUIDE_SAMPLE.replace("https://runai-cluster.aisingapore.net:6443", kube.url()))
    doc["users"][0]["user"] = dict(user)
    return yaml.safe_dump(doc)


def test_token_file_that_is_not_utf8_is_invalid_naming_it(
    tmp_path: Path, ca_file: Path, kube: KubeAPIServer
) -> None:
    token_file = tmp_path / "token"
    token_file.write_bytes(b"\xff\xfetoken")
    path = write(tmp_path / "kc", _user_kubeconfig(kube, {"tokenFile": "token"}))  # relative to kc
    results = run(settings(path, ca_file))
    assert_result(
        results,
        "runai.login",
        "fail",
        "KUBECONFIG_INVALID",
        summary_has=[str(path), "tokenFile", str(token_file), "not UTF-8"],
    )


def test_token_file_is_read_relative_to_the_kubeconfig(
    tmp_path: Path, ca_file: Path, kube: KubeAPIServer
) -> None:
    kube.state.tokens["file-token-0123456789"] = (EMAIL, ())
    write(tmp_path / "token", "file-token-0123456789\n")
    path = write(tmp_path / "kc", _user_kubeconfig(kube, {"tokenFile": "token"}))
    results = run(settings(path, ca_file))
    assert_result(results, "runai.permission", "pass")
    assert "Bearer file-token-0123456789" in kube.auth_headers()


@pytest.mark.parametrize("token", [["tok", "en"], 12345678, {"value": "x"}, True])
def test_token_of_the_wrong_type_is_invalid_not_sent(
    tmp_path: Path, ca_file: Path, kube: KubeAPIServer, token: Any
) -> None:
    path = write(tmp_path / "kc", _user_kubeconfig(kube, {"token": token}))
    results = run(settings(path, ca_file))
    login = assert_result(
        results, "runai.login", "fail", "KUBECONFIG_INVALID", summary_has=["user.token must be a string"]
    )
    assert str(token) not in login.summary  # the value may be the credential: never echoed
    assert [a for _m, _p, a in kube.state.requests if a] == []


@pytest.mark.parametrize(
    ("exec_spec", "words"),
    [
        ({"command": ["kubelogin"]}, "exec.command"),
        ({"command": "kubelogin", "args": ["get-token", 42]}, "exec.args must be a list of strings"),
        ({"command": "kubelogin", "env": [{"value": "x"}]}, "exec.env[0]"),
        ("kubelogin get-token", "user.exec must be a mapping, not str"),
    ],
)
def test_exec_entry_of_the_wrong_type_is_invalid(
    tmp_path: Path, ca_file: Path, kube: KubeAPIServer, exec_spec: Any, words: str
) -> None:
    path = write(tmp_path / "kc", _user_kubeconfig(kube, {"exec": exec_spec}))
    results = run(settings(path, ca_file))
    assert_result(results, "runai.login", "fail", "KUBECONFIG_INVALID", summary_has=[str(path), words])


def test_username_and_password_is_named_as_such(tmp_path: Path, ca_file: Path, kube: KubeAPIServer) -> None:
    password = "basic-password-canary-31"
    path = write(tmp_path / "kc", _user_kubeconfig(kube, {"username": "alice", "password": password}))
    results = run(settings(path, ca_file))
    login = assert_result(
        results, "runai.login", "fail", "RUNAI_NOT_LOGGED_IN", summary_has=["username and password"]
    )
    assert "no credential" not in login.summary
    assert password not in repr(results)


# -- client certificates: in memory, nothing left in $TMPDIR ------------------------------------------


def _cert_kubeconfig(kube: KubeAPIServer, ca: Any, leaf: Any, key_pem: bytes | None = None) -> str:
    cert = b"".join(blob.bytes() for blob in leaf.cert_chain_pems)
    user = {
        "client-certificate-data": base64.b64encode(cert).decode(),
        "client-key-data": base64.b64encode(key_pem or leaf.private_key_pem.bytes()).decode(),
    }
    return token_kubeconfig(kube.url(), user, ca.cert_pem.bytes())


@pytest.fixture()
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """$TMPDIR for this test alone, so that anything left in it is ours."""
    import tempfile

    folder = tmp_path / "tmpdir"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.mark.parametrize("memfd", [True, False], ids=["memfd", "private-dir"])
def test_client_certificate_authenticates_and_leaves_no_file(
    tmp_path: Path,
    ca: Any,
    kube: KubeAPIServer,
    private_tmp: Path,
    monkeypatch: pytest.MonkeyPatch,
    memfd: bool,
) -> None:
    if not memfd:
        monkeypatch.delattr(os, "memfd_create", raising=False)
    elif not hasattr(os, "memfd_create"):
        pytest.skip("no memfd_create on this system")
    leaf = ca.issue_cert("alice.client.test", common_name=EMAIL, organization_name="runai-users")
    path = write(tmp_path / "kc", _cert_kubeconfig(kube, ca, leaf))
    results = run({"runai": {"kubeconfig": str(path), "project": PROJECT}})
    assert statuses(results)["runai.permission"] == "pass:", results
    identity = assert_result(results, "runai.identity", "pass")
    assert identity.details["username"] == EMAIL and "runai-users" in identity.details["groups"]
    assert identity.details["auth"] == "client-certificate"
    assert list(private_tmp.iterdir()) == []
    key_body = leaf.private_key_pem.bytes().decode().splitlines()[1]
    assert key_body not in repr(results)


def test_client_key_that_is_not_pem_is_invalid_and_leaves_no_file(
    tmp_path: Path, ca: Any, kube: KubeAPIServer, private_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delattr(os, "memfd_create", raising=False)  # the path that writes files
    leaf = ca.issue_cert("alice.client.test", common_name=EMAIL)
    path = write(tmp_path / "kc", _cert_kubeconfig(kube, ca, leaf, key_pem=b"-----BEGIN junk-----\n"))
    results = run({"runai": {"kubeconfig": str(path), "project": PROJECT}})
    assert_result(results, "runai.cluster", "fail", "KUBECONFIG_INVALID", summary_has=["not valid PEM"])
    assert list(private_tmp.iterdir()) == []


# -- every credential of the kubeconfig is a secret, also when the runai CLI prints it --------------


def test_credentials_of_every_user_are_scrubbed_from_what_runai_prints(tmp_path: Path, ca: Any) -> None:
    other_token = "other-user-token-canary-8841"
    exec_arg = "exec-arg-canary-5521"
    exec_env = "exec-env-canary-7730"
    key_data = base64.b64encode(b"-----BEGIN PRIVATE KEY-----\nkey-canary-0042\n").decode()
    doc = yaml.safe_load(token_kubeconfig("https://127.0.0.1:9"))
    doc["users"] += [
        {"name": "other", "user": {"token": other_token}},
        {
            "name": "plugin",
            "user": {
                "exec": {
                    "command": "kubelogin",
                    "args": ["get-token", "--client-secret", exec_arg],
                    "env": [{"name": "LOGIN_THING", "value": exec_env}],
                }
            },
        },
        {"name": "cert", "user": {"client-certificate-data": "eA==", "client-key-data": key_data}},
    ]
    path = write(tmp_path / "kc", yaml.safe_dump(doc))
    canaries = (other_token, exec_arg, exec_env, key_data)
    # A CLI that echoes the kubeconfig's credentials in its error.
    bin_dir = stand_in_runai(tmp_path, f'echo "config: {" ".join(canaries)}" >&2\nexit 1\n')
    env = {**os.environ, "PATH": str(bin_dir), "KUBECONFIG": str(path)}
    ctx = make_context({"timeout": 2}, env=env, which=lambda n: shutil.which(n, path=str(bin_dir)))
    result = assert_result(
        run_component(ctx, "runai", only=["runai.cli"]), "runai.cli", "warn", "TOOL_BROKEN"
    )
    assert "config: ***" in result.summary
    for canary in canaries:
        assert canary not in result.summary


def test_runai_version_runs_once_for_the_tools_check_and_the_cli_check(tmp_path: Path) -> None:
    calls = tmp_path / "calls"
    bin_dir = stand_in_runai(tmp_path, f'echo "$*" >> {calls}\necho "Version: 2.18.42"\n')
    path = str(bin_dir)
    ctx = make_context(
        {"timeout": 2}, env={**os.environ, "PATH": path}, which=lambda name: shutil.which(name, path=path)
    )
    results = run_component(ctx, ["tools", "runai"], only=["tools", "runai.cli"])
    assert_result(results, "runai.cli", "pass", summary_has=["2.18.42"])
    assert_result(results, "tools.runai", "pass")
    # A version alone is asked again with `--wide` (only the improved CLI answers more): each once.
    assert calls.read_text().splitlines() == ["version", "version --wide"]
