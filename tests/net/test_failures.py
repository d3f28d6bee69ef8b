"""One failure, one code: every library's exception for each way a connection fails goes
through the one classifier, `aisg_check.net.failures.classify`, and comes out with the same
code. The exceptions are real, raised by each library against the loopback fault endpoints
(tests/servers/faults.py); every check that talks HTTP has its own row of the same table in
its component's tests."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from aisg_check.net.failures import Failure, causes, classify
from tests.servers.faults import CATEGORIES, Fault, HangUpServer, faults


@pytest.fixture(scope="module")
def endpoints() -> Iterator[dict[str, Fault]]:
    with faults() as found:
        yield found


def _proxy(fault: Fault) -> str | None:
    return fault.env.get("HTTPS_PROXY")


def _httpx(fault: Fault) -> BaseException:
    import httpx

    with httpx.Client(timeout=0.5, proxy=_proxy(fault), trust_env=False) as client:
        try:
            client.get(fault.url("/"))
        except httpx.HTTPError as exc:
            return exc
    raise AssertionError("no failure")


def _requests(fault: Fault) -> BaseException:
    import requests

    proxies = {"https": _proxy(fault), "http": _proxy(fault)} if _proxy(fault) else None
    session = requests.Session()
    session.trust_env = False
    try:
        session.get(fault.url("/"), timeout=0.5, proxies=proxies)
    except requests.RequestException as exc:
        return exc
    raise AssertionError("no failure")


def _urllib3(fault: Fault) -> BaseException:
    import urllib3

    pool: Any = urllib3.ProxyManager(_proxy(fault)) if _proxy(fault) else urllib3.PoolManager()
    try:
        pool.request("GET", fault.url("/"), timeout=0.5, retries=False)
    except urllib3.exceptions.HTTPError as exc:
        return exc
    raise AssertionError("no failure")


def _botocore(fault: Fault) -> BaseException:
    import botocore.session
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError

    session = botocore.session.Session()
    client = session.create_client(
        "s3",
        region_name="us-east-1",
        endpoint_url=fault.url(),
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="not-a-real-secret",
        config=Config(
            connect_timeout=0.5,
            read_timeout=0.5,
            retries={"max_attempts": 1, "mode": "standard"},
            proxies={"https": _proxy(fault), "http": _proxy(fault)} if _proxy(fault) else {},
        ),
    )
    try:
        client.list_buckets()
    except BotoCoreError as exc:
        return exc
    raise AssertionError("no failure")


def _stdlib(fault: Fault) -> BaseException:
    """Plain sockets and ssl, as the probe and the Docker daemon check use them."""
    target = _proxy(fault) or fault.url()
    host, _, port = target.split("://", 1)[1].rstrip("/").partition(":")
    try:
        sock = socket.create_connection((host, int(port or 443)), timeout=0.5)
        if fault.scheme == "https" and not _proxy(fault):
            sock = ssl.create_default_context().wrap_socket(sock, server_hostname=host)
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        if not sock.recv(1):
            raise ConnectionResetError("closed")
    except OSError as exc:
        return exc
    raise AssertionError("no failure")


LIBRARIES: dict[str, Callable[[Fault], BaseException]] = {
    "httpx": _httpx,
    "requests": _requests,
    "urllib3": _urllib3,
    "botocore": _botocore,
    "stdlib": _stdlib,
}


@pytest.mark.parametrize("category", CATEGORIES)
@pytest.mark.parametrize("library", LIBRARIES)
def test_each_librarys_failure_gets_the_shared_code(
    library: str, category: str, endpoints: dict[str, Fault]
) -> None:
    fault = endpoints[category]
    exc = LIBRARIES[library](fault)
    host = fault.host.split(":")[0]
    failure = classify(exc, host, proxy=_proxy(fault))
    assert isinstance(failure, Failure)
    assert failure.diagnosis.code == fault.expected, (library, category, type(exc), str(exc)[:200])
    assert host in failure.summary


def test_causes_walks_every_wrapping_once() -> None:
    inner = ConnectionRefusedError(111, "Connection refused")
    middle = OSError("wrapped")
    middle.__cause__ = inner
    outer = RuntimeError(middle)
    outer.__context__ = middle
    assert [type(e) for e in causes(outer)] == [RuntimeError, OSError, ConnectionRefusedError]


def test_the_fallback_is_the_callers_and_its_words_are_scrubbed() -> None:
    from aisg_check.diagnoses import ENDPOINT_CONNECTION_FAILED

    failure = classify(
        ValueError("token=hunter2-canary"), "h", scrub=lambda t: t.replace("hunter2-canary", "***")
    )
    assert failure.diagnosis is ENDPOINT_CONNECTION_FAILED and "hunter2" not in failure.summary


def test_a_tls_handshake_that_times_out_is_a_silent_server_not_a_refused_connection(
    endpoints: dict[str, Fault],
) -> None:
    """httpx counts the handshake as connecting; the server did accept the TCP connection."""
    import httpx

    silent = endpoints["timeout"]
    with httpx.Client(timeout=0.5, trust_env=False) as client, pytest.raises(httpx.ConnectTimeout) as caught:
        client.get(f"https://{silent.host}/")
    assert classify(caught.value, "h").diagnosis.code == "ENDPOINT_NO_ANSWER"


@pytest.mark.parametrize("library", LIBRARIES)
def test_a_server_that_hangs_up_without_an_answer_gets_one_code_from_every_library(library: str) -> None:
    """httpx says "Server disconnected without sending a response" (a protocol error by class),
    http.client and urllib3 "Remote end closed connection": both are a connection closed before
    any answer, ENDPOINT_NO_ANSWER, never ENDPOINT_UNEXPECTED_ANSWER (nothing was answered)."""
    server = HangUpServer()
    try:
        fault = Fault("reset", f"127.0.0.1:{server.port}", "http", {})
        exc = LIBRARIES[library](fault)
    finally:
        server.close()
    code = classify(exc, "127.0.0.1").diagnosis.code
    assert code == "ENDPOINT_NO_ANSWER", (library, type(exc), str(exc)[:200])
