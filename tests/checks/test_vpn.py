"""The VPN probes against real listeners on 127.0.0.1, one per failure mode."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aisg_check import registry
from aisg_check.model import Status
from aisg_check.net.probe import Target, probe
from aisg_check.runner import run_checks
from tests.helpers import make_context
from tests.servers.tls import HTTPServer, SilentServer, closed_port, ssl_server_context


@pytest.fixture(scope="module")
def good(ca: Any) -> Iterator[HTTPServer]:
    server = HTTPServer(ssl_server_context(ca, "localhost", "127.0.0.1"))
    yield server
    server.close()


@pytest.fixture(scope="module")
def wrong_name(ca: Any) -> Iterator[HTTPServer]:
    server = HTTPServer(ssl_server_context(ca, "somewhere-else.test"))
    yield server
    server.close()


@pytest.fixture(scope="module")
def unknown_ca() -> Iterator[HTTPServer]:
    import trustme

    server = HTTPServer(ssl_server_context(trustme.CA(), "localhost"))
    yield server
    server.close()


@pytest.fixture(scope="module")
def silent() -> Iterator[SilentServer]:
    server = SilentServer()
    yield server
    server.close()


def _probe(url: str, ca_file: Path | None = None, timeout: float = 2.0) -> Any:
    ctx = make_context({"ca_bundle": str(ca_file) if ca_file else None, "timeout": timeout})
    return probe(ctx, Target("t", url), timeout)


def test_tls_endpoint_with_trusted_cert_passes(good: HTTPServer, ca_file: Path) -> None:
    outcome = _probe(good.url("localhost"), ca_file)
    assert outcome.ok and not outcome.warn, outcome
    assert outcome.details["http_status"] == 200
    assert outcome.details["tls_verified"] is True
    assert "dns_ms" in outcome.details and "tls_ms" in outcome.details


def test_untrusted_ca(unknown_ca: HTTPServer, ca_file: Path) -> None:
    outcome = _probe(unknown_ca.url("localhost"), ca_file)
    assert not outcome.ok and outcome.diagnosis.code == "TLS_UNTRUSTED_CERT"
    assert "ca_bundle" in outcome.hint and "REQUESTS_CA_BUNDLE" in outcome.hint


def test_our_ca_is_not_trusted_without_the_bundle(good: HTTPServer) -> None:
    outcome = _probe(good.url("localhost"))
    assert outcome.diagnosis.code == "TLS_UNTRUSTED_CERT"


def test_hostname_mismatch(wrong_name: HTTPServer, ca_file: Path) -> None:
    outcome = _probe(wrong_name.url("localhost"), ca_file)
    assert not outcome.ok and outcome.diagnosis.code == "TLS_HOSTNAME_MISMATCH"


def test_refused() -> None:
    outcome = _probe(f"https://127.0.0.1:{closed_port()}/")
    assert not outcome.ok and outcome.diagnosis.code == "VPN_CONNECT_REFUSED"


def test_accepts_but_never_answers_within_the_timeout(silent: SilentServer) -> None:
    t0 = time.monotonic()
    outcome = _probe(f"https://127.0.0.1:{silent.port}/", timeout=0.5)
    assert time.monotonic() - t0 < 1.0
    assert not outcome.ok and outcome.diagnosis.code == "ENDPOINT_NO_ANSWER"


def test_ssh_banner_and_wrong_protocol(good: HTTPServer) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)

    def serve() -> None:
        conn, _ = listener.accept()
        conn.sendall(b"SSH-2.0-OpenSSH_9.2p1 Debian\r\n")
        conn.close()

    threading.Thread(target=serve, daemon=True).start()
    ok = _probe(f"ssh://127.0.0.1:{listener.getsockname()[1]}")
    assert ok.ok and ok.details["ssh_banner"].startswith("SSH-2.0")
    plain = HTTPServer()
    try:
        wrong = _probe(f"ssh://127.0.0.1:{plain.port}")
        assert wrong.diagnosis.code in ("ENDPOINT_NO_ANSWER", "ENDPOINT_UNEXPECTED_ANSWER")
    finally:
        plain.close()
        listener.close()


def test_http_5xx_is_a_warning() -> None:
    def broken(handler: Any) -> None:
        handler.send_response(502)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    server = HTTPServer(routes={"/": broken})
    try:
        outcome = _probe(server.url("127.0.0.1"))
        assert outcome.ok and outcome.warn and outcome.diagnosis.code == "ENDPOINT_HTTP_ERROR"
    finally:
        server.close()


def test_name_that_does_not_resolve_fails_without_any_query() -> None:
    # The test guard makes every non-loopback name fail to resolve, as off the VPN.
    outcome = _probe("https://gitlab.invalid/")
    assert not outcome.ok and outcome.diagnosis.code == "VPN_DNS_FAILED"
    assert "NUS VPN" in outcome.hint


def test_unreachable_proxy(good: HTTPServer, ca_file: Path) -> None:
    ctx = make_context({"ca_bundle": str(ca_file)}, env={"HTTPS_PROXY": f"http://127.0.0.1:{closed_port()}"})
    outcome = probe(ctx, Target("t", good.url("localhost")), 2.0)
    assert outcome.diagnosis.code == "PROXY_UNREACHABLE"
    assert "NO_PROXY" in (outcome.hint or outcome.diagnosis.fix)


def test_proxy_that_refuses_internal_hosts(good: HTTPServer, ca_file: Path) -> None:
    def deny(handler: Any) -> None:
        handler.send_response(403)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    proxy = HTTPServer(routes={})
    proxy.httpd.RequestHandlerClass.do_CONNECT = deny  # type: ignore[attr-defined]
    try:
        env = {"HTTPS_PROXY": f"http://127.0.0.1:{proxy.port}"}
        ctx = make_context({"ca_bundle": str(ca_file)}, env=env)
        outcome = probe(ctx, Target("t", good.url("localhost")), 2.0)
        assert outcome.diagnosis.code == "PROXY_INTERCEPTS_INTERNAL"
        assert "NO_PROXY" in outcome.hint
        # The same host listed in NO_PROXY bypasses the proxy and passes.
        ctx = make_context({"ca_bundle": str(ca_file)}, env={**env, "NO_PROXY": "localhost"})
        assert probe(ctx, Target("t", good.url("localhost")), 2.0).ok
    finally:
        proxy.close()


def test_vpn_component_points_at_the_configured_endpoints(good: HTTPServer, ca_file: Path) -> None:
    url = good.url("localhost")
    ctx = make_context(
        {
            "ca_bundle": str(ca_file),
            "gitlab": {"url": url, "host": "127.0.0.1", "ssh_port": closed_port()},
            "rancher": {"url": url},
            "runai": {"url": url, "cluster_url": url},
            "harbor": {"registry": f"localhost:{good.port}"},
            "ecs": {"endpoint_url": url},
            "mlflow": {"tracking_uri": url},
            "vpn": {"extra": [url, f"127.0.0.1:{good.port}"]},
        }
    )
    report = run_checks(ctx, registry.select(["vpn"]))
    by_id = {r.id: r for r in report.results}
    for name in ("gitlab", "rancher", "runai", "harbor", "ecs", "mlflow", "extra.1", "extra.2"):
        assert by_id[f"vpn.{name}"].status is Status.PASS, by_id[f"vpn.{name}"]
    # The cluster probe follows the kubeconfig rule: no kubeconfig → profile URL, unverified.
    assert by_id["vpn.cluster"].status is Status.PASS and "not verified" in by_id["vpn.cluster"].summary
    assert by_id["vpn.gitlab-ssh"].code == "VPN_CONNECT_REFUSED"
    assert by_id["vpn.status"].status is Status.WARN and by_id["vpn.status"].code == "VPN_PARTIAL"
    assert "vpn.gitlab-ssh" in by_id["vpn.status"].summary


def test_all_names_failing_to_resolve_means_off_the_vpn() -> None:
    ctx = make_context(
        {
            "gitlab": {"url": "https://gitlab.invalid", "host": "gitlab.invalid"},
            "rancher": {"url": "https://rancher.invalid"},
            "runai": {"url": "https://runai.invalid", "cluster_url": "https://cluster.invalid:6443"},
            "harbor": {"registry": "registry.invalid"},
            "ecs": {"endpoint_url": "https://ecs.invalid"},
        }
    )
    report = run_checks(ctx, registry.select(["vpn"]))
    status = {r.id: r for r in report.results}["vpn.status"]
    assert status.status is Status.FAIL and status.code == "VPN_NOT_CONNECTED"
    assert "Off the NUS VPN" in status.summary


def test_cluster_probe_uses_the_kubeconfig_server_and_its_ca(good: HTTPServer, ca: Any, home: Path) -> None:
    import base64

    kube = home / ".kube" / "config"
    kube.parent.mkdir()
    ca_b64 = base64.b64encode(ca.cert_pem.bytes()).decode()
    kube.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        f"clusters:\n- name: k\n  cluster:\n    server: {good.url('localhost').rstrip('/')}\n"
        f"    certificate-authority-data: {ca_b64}\n"
        "contexts:\n- name: c\n  context: {cluster: k, user: u}\nusers:\n- name: u\n  user: {}\n"
    )
    ctx = make_context({"runai": {"cluster_url": "https://127.0.0.1:9"}}, home=home)
    report = run_checks(ctx, registry.select(None, only=["vpn.cluster"]))
    result = report.results[0]
    assert result.status is Status.PASS, result
    assert result.details["url"].startswith(good.url("localhost").rstrip("/"))
    assert result.details["tls_verified"] is True


def test_every_endpoint_failing_without_dns_errors_is_a_failure_not_partial() -> None:
    port = closed_port()
    url = f"https://127.0.0.1:{port}"
    ctx = make_context(
        {
            "gitlab": {"url": url, "host": "127.0.0.1", "ssh_port": port},
            "rancher": {"url": url},
            "runai": {"url": url, "cluster_url": url},
            "harbor": {"registry": f"127.0.0.1:{port}"},
            "ecs": {"endpoint_url": url},
        }
    )
    status = {r.id: r for r in run_checks(ctx, registry.select(["vpn"])).results}["vpn.status"]
    assert status.status is Status.FAIL and status.code == "VPN_UNREACHABLE"


def test_a_kubeconfig_ca_that_is_not_pem_is_diagnosed_not_a_crash(home: Path) -> None:
    import base64

    silent = SilentServer()
    kube = home / ".kube" / "config"
    kube.parent.mkdir()
    bogus = base64.b64encode(b"not a certificate").decode()
    kube.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        f"clusters:\n- name: k\n  cluster:\n    server: https://127.0.0.1:{silent.port}\n"
        f"    certificate-authority-data: {bogus}\n"
        "contexts:\n- name: c\n  context: {cluster: k, user: u}\nusers:\n- name: u\n  user: {}\n"
    )
    try:
        (result,) = run_checks(make_context(home=home), registry.select(None, only=["vpn.cluster"])).results
    finally:
        silent.close()
    assert result.status is Status.FAIL and result.code == "TLS_HANDSHAKE_FAILED", result
    assert "not valid PEM" in result.summary


def test_no_route_is_told_apart(monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    def unreachable(self: socket.socket, address: Any) -> None:
        raise OSError(errno.ENETUNREACH, "Network is unreachable")

    monkeypatch.setattr(socket.socket, "connect", unreachable)
    outcome = _probe("https://127.0.0.1:443/")
    assert outcome.diagnosis.code == "VPN_NO_ROUTE"


def test_expired_certificate_and_broken_handshake(ca: Any, ca_file: Path) -> None:
    import datetime

    expired = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(
        "localhost", not_after=datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=1)
    ).configure_cert(expired)
    server = HTTPServer(expired)
    try:
        outcome = _probe(server.url("localhost"), ca_file)
        assert outcome.diagnosis.code == "TLS_CERT_EXPIRED", outcome
    finally:
        server.close()
    plain = HTTPServer()  # speaks HTTP where TLS is expected: the handshake breaks
    try:
        outcome = _probe(f"https://127.0.0.1:{plain.port}/")
        assert outcome.diagnosis.code == "TLS_HANDSHAKE_FAILED", outcome
    finally:
        plain.close()
