"""Reachability, layer by layer: DNS → TCP connect → TLS handshake (verified) → an answer.

Shared by the `vpn` probes, the `rancher` check and every check that talks to a server,
so that one failure is always diagnosed with the same code and the same concrete hint.
Plain sockets on purpose: the probe must not pay for importing an HTTP library, and it
has to see each layer separately (httpx folds them into one exception).
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from aisg_check.context import Context
from aisg_check.diagnoses import (
    ENDPOINT_HTTP_ERROR,
    ENDPOINT_NO_ANSWER,
    ENDPOINT_UNEXPECTED_ANSWER,
    PROXY_INTERCEPTS_INTERNAL,
    PROXY_UNREACHABLE,
    TLS_HANDSHAKE_FAILED,
    TLS_UNTRUSTED_CERT,
    VPN_CONNECT_TIMEOUT,
    VPN_DNS_FAILED,
)
from aisg_check.model import Diagnosis
from aisg_check.net import proxies
from aisg_check.net.failures import classify, classify_tls_error


@dataclass(frozen=True)
class Target:
    """Something to probe: `https://host[:port]/path`, `http://…`, or `ssh://host:port`."""

    name: str
    url: str
    verify: bool = True
    ca_data: str | None = None  # the only CA to trust (a kubeconfig's certificate-authority)
    server_name: str | None = None  # name to verify instead of the host (kubeconfig tls-server-name)

    @property
    def parts(self) -> tuple[str, str, int, str]:
        split = urlsplit(self.url if "://" in self.url else f"tcp://{self.url}")
        scheme = split.scheme.lower()
        default = {"https": 443, "http": 80, "ssh": 22}.get(scheme, 0)
        try:
            port = split.port or default
        except ValueError:
            port = 0
        return scheme, split.hostname or "", port, split.path or "/"


@dataclass(frozen=True)
class Outcome:
    ok: bool
    summary: str
    diagnosis: Diagnosis | None = None
    hint: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)
    warn: bool = False  # reachable, but with something to say (e.g. an HTTP 5xx)


class Budget:
    """What is left of a total time across several steps (never less than 50 ms per step)."""

    def __init__(self, total: float) -> None:
        self.end = time.monotonic() + total

    def left(self) -> float:
        return max(0.05, self.end - time.monotonic())


def resolve(host: str, port: int, timeout: float) -> list[tuple[Any, ...]]:
    """getaddrinfo with a timeout (it has none of its own); raises socket.gaierror or TimeoutError."""
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["v"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except BaseException as exc:
            box["e"] = exc

    thread = threading.Thread(target=work, daemon=True, name=f"dns-{host}")
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise TimeoutError(f"resolving {host} took longer than {timeout:g}s")
    if "e" in box:
        raise box["e"]
    return box["v"]  # type: ignore[no-any-return]


def proxy_for(ctx: Context, scheme: str, host: str) -> str | None:
    """The proxy URL the environment routes this host through, as curl/requests/httpx would."""
    return proxies.proxy_for(ctx.env, scheme, host)


def _dns_outcome(host: str, exc: BaseException, what: str) -> Outcome:
    return Outcome(
        False,
        f"{host} does not resolve ({what})",
        VPN_DNS_FAILED,
        f"Connect to the NUS VPN and run again; `nslookup {host}` must give an address.",
        {"host": host, "layer": "dns", "error": str(exc)},
    )


def connect(host: str, port: int, budget: Budget, details: dict[str, Any]) -> socket.socket | Outcome:
    """Resolve and connect, trying each address; returns the socket or a diagnosed Outcome."""
    t0 = time.monotonic()
    try:
        infos = resolve(host, port, budget.left())
    except TimeoutError as exc:
        return _dns_outcome(host, exc, "timed out")
    except (socket.gaierror, UnicodeError, OSError) as exc:
        return _dns_outcome(host, exc, "lookup failed")
    details["dns_ms"] = round((time.monotonic() - t0) * 1000, 1)
    details["addresses"] = sorted({info[4][0] for info in infos})
    last: Outcome | None = None
    for family, socktype, proto, _canon, addr in infos:
        sock = socket.socket(family, socktype, proto)
        sock.settimeout(budget.left())
        t1 = time.monotonic()
        try:
            sock.connect(addr)
        except OSError as exc:
            sock.close()
            failure = classify(exc, f"{host}:{port}", connecting=True)
            last = Outcome(False, failure.summary, failure.diagnosis, None, {**details, "layer": "tcp"})
            if failure.diagnosis is VPN_CONNECT_TIMEOUT:
                break  # the budget is spent; trying the next address would only overrun it
            continue
        details["connect_ms"] = round((time.monotonic() - t1) * 1000, 1)
        details["address"] = addr[0]
        return sock
    assert last is not None
    return last


def _tls(
    ctx: Context, target: Target, sock: socket.socket, host: str, budget: Budget, details: dict[str, Any]
) -> ssl.SSLSocket | Outcome:
    context = ctx.ssl_context(verify=target.verify)
    if target.ca_data and target.verify:
        try:
            context = ssl.create_default_context(cadata=target.ca_data)
        except ssl.SSLError as exc:
            sock.close()
            return Outcome(
                False,
                f"The CA certificate configured for {host} is not valid PEM ({exc.reason or exc})",
                TLS_HANDSHAKE_FAILED,
                "Fix the certificate-authority(-data) entry the kubeconfig gives for this cluster, or ask "
                "the MLOps team for a fresh kubeconfig.",
                {**details, "layer": "tls"},
            )
    sock.settimeout(budget.left())
    t0 = time.monotonic()
    try:
        tls = context.wrap_socket(sock, server_hostname=target.server_name or host)
    except ssl.SSLError as exc:
        sock.close()
        diagnosis, summary = classify_tls_error(host, exc)
        hint = None
        if diagnosis is TLS_UNTRUSTED_CERT:
            hint = (
                f"{diagnosis.fix} Check the certificate with `openssl s_client -connect {host}:"
                f"{target.parts[2]} -showcerts`."
            )
        return Outcome(False, summary, diagnosis, hint, {**details, "layer": "tls"})
    except TimeoutError:
        sock.close()
        return Outcome(
            False,
            f"{host}:{target.parts[2]} accepted the connection but did not complete a TLS handshake "
            f"within the timeout",
            ENDPOINT_NO_ANSWER,
            None,
            {**details, "layer": "tls"},
        )
    except OSError as exc:
        sock.close()
        return Outcome(
            False,
            f"{host}:{target.parts[2]} closed the connection during the TLS handshake: {exc}",
            TLS_HANDSHAKE_FAILED,
            None,
            {**details, "layer": "tls"},
        )
    details["tls_ms"] = round((time.monotonic() - t0) * 1000, 1)
    details["tls_version"] = tls.version()
    details["tls_verified"] = target.verify
    return tls


def _read_line(sock: socket.socket, limit: int = 4096) -> bytes:
    data = b""
    while b"\n" not in data and len(data) < limit:
        chunk = sock.recv(1024)
        if not chunk:
            break
        data += chunk
    return data.split(b"\n", 1)[0]


def _http_answer(
    sock: socket.socket, host: str, port: int, path: str, budget: Budget, details: dict[str, Any]
) -> Outcome:
    request = f"HEAD {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: aisg-check\r\nConnection: close\r\n\r\n"
    sock.settimeout(budget.left())
    t0 = time.monotonic()
    try:
        sock.sendall(request.encode("ascii", "replace"))
        line = _read_line(sock)
    except TimeoutError:
        return Outcome(
            False,
            f"{host}:{port} accepted the request but sent no HTTP answer within the timeout",
            ENDPOINT_NO_ANSWER,
            None,
            {**details, "layer": "http"},
        )
    except OSError as exc:
        return Outcome(False, f"{host}:{port}: {exc}", ENDPOINT_NO_ANSWER, None, {**details, "layer": "http"})
    finally:
        sock.close()
    details["http_ms"] = round((time.monotonic() - t0) * 1000, 1)
    parts = line.decode("latin-1").split()
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        return Outcome(
            False,
            f"{host}:{port} answered, but not with HTTP ({line[:40]!r})",
            ENDPOINT_UNEXPECTED_ANSWER,
            None,
            {**details, "layer": "http"},
        )
    status = int(parts[1])
    details["http_status"] = status
    if status >= 500:
        return Outcome(
            True,
            f"{host} answers, but with HTTP {status}",
            ENDPOINT_HTTP_ERROR,
            None,
            {**details, "layer": "http"},
            warn=True,
        )
    return Outcome(True, f"{host}:{port} answers HTTP {status}", details=details)


def _ssh_banner(
    sock: socket.socket, host: str, port: int, budget: Budget, details: dict[str, Any]
) -> Outcome:
    sock.settimeout(budget.left())
    try:
        line = _read_line(sock)
    except TimeoutError:
        return Outcome(
            False,
            f"{host}:{port} accepted the connection but sent no SSH greeting within the timeout",
            ENDPOINT_NO_ANSWER,
            None,
            {**details, "layer": "ssh"},
        )
    except OSError as exc:
        return Outcome(False, f"{host}:{port}: {exc}", ENDPOINT_NO_ANSWER, None, {**details, "layer": "ssh"})
    finally:
        sock.close()
    banner = line.decode("latin-1").strip()
    if not banner.startswith("SSH-"):
        return Outcome(
            False,
            f"{host}:{port} answered, but not with SSH ({banner[:40]!r})",
            ENDPOINT_UNEXPECTED_ANSWER,
            None,
            {**details, "layer": "ssh"},
        )
    details["ssh_banner"] = banner[:80]
    return Outcome(True, f"{host}:{port} answers SSH", details=details)


def _via_proxy(ctx: Context, target: Target, proxy: str, budget: Budget, details: dict[str, Any]) -> Outcome:
    """The host is reached through a proxy: the proxy must answer and must reach the host."""
    from urllib.parse import urlsplit as split

    _scheme, host, port, _path = target.parts
    p = split(proxy if "://" in proxy else f"http://{proxy}")
    details["proxy"] = f"{p.hostname}:{p.port or 8080}"
    sock = connect(p.hostname or "", p.port or 8080, budget, {})
    if isinstance(sock, Outcome):
        return Outcome(
            False,
            f"The proxy {details['proxy']} (from HTTPS_PROXY/ALL_PROXY) is unreachable: {sock.summary}",
            PROXY_UNREACHABLE,
            None,
            {**details, "layer": "proxy"},
        )
    sock.close()
    import httpx

    try:
        with ctx.http(verify=target.verify, timeout=budget.left(), proxy=proxy) as client:
            response = client.head(target.url)
    except httpx.HTTPError as exc:
        failure = classify(exc, host, proxy=details["proxy"], scrub=ctx.scrubber.scrub_external)
        if failure.is_tls or failure.diagnosis is PROXY_UNREACHABLE:
            return Outcome(
                False, failure.summary, failure.diagnosis, None, {**details, "layer": failure.layer}
            )
        # The proxy answered a moment ago: whatever fails now is the proxy not getting us there.
        return Outcome(
            False,
            f"The proxy {details['proxy']} does not get through to {host}: {failure.summary}",
            PROXY_INTERCEPTS_INTERNAL,
            f"Bypass the proxy for internal hosts: `export NO_PROXY=$NO_PROXY,{host}` and run again.",
            {**details, "layer": "proxy"},
        )
    details["http_status"] = response.status_code
    if response.status_code >= 500:
        return Outcome(
            True,
            f"{host} answers through the proxy, but with HTTP {response.status_code}",
            ENDPOINT_HTTP_ERROR,
            None,
            details,
            warn=True,
        )
    return Outcome(
        True, f"{host}:{port} answers HTTP {response.status_code} (through the proxy)", details=details
    )


def probe(ctx: Context, target: Target, total_timeout: float) -> Outcome:
    """Walk the layers for one target within `total_timeout` seconds in all."""
    scheme, host, port, path = target.parts
    budget = Budget(total_timeout)
    details: dict[str, Any] = {"host": host, "port": port}
    if not host or not port:
        return Outcome(
            False,
            f"'{target.url}' is not a valid URL or host:port",
            ENDPOINT_UNEXPECTED_ANSWER,
            "Fix the URL in your settings (`aisg-check config`).",
            details,
        )
    if scheme in ("http", "https"):
        proxy = proxy_for(ctx, scheme, host)
        if proxy:
            return _via_proxy(ctx, target, proxy, budget, details)
    sock = connect(host, port, budget, details)
    if isinstance(sock, Outcome):
        return sock
    if scheme == "ssh":
        return _ssh_banner(sock, host, port, budget, details)
    if scheme == "https":
        tls = _tls(ctx, target, sock, host, budget, details)
        if isinstance(tls, Outcome):
            return tls
        return _http_answer(tls, host, port, path, budget, details)
    if scheme == "http":
        return _http_answer(sock, host, port, path, budget, details)
    sock.close()
    return Outcome(True, f"{host}:{port} accepts connections", details=details)
