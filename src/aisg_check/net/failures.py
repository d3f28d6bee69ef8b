"""The one classifier of transport failures: whatever library raised it (httpx, urllib3 and
requests, botocore, the ssl and socket modules), the same failure gets the same diagnosis code
in every component.

Exceptions are recognised by the names of their classes and by the OS errors inside them, not
by importing the libraries: classifying must not load botocore into a run that never used it.
Libraries wrap the real cause a few levels deep (`__cause__`, `__context__`, `args`, urllib3's
`reason`, botocore's `kwargs["error"]`), so `causes` walks all of them once.
"""

from __future__ import annotations

import errno
import socket
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from aisg_check.diagnoses import (
    ENDPOINT_CONNECTION_FAILED,
    ENDPOINT_NO_ANSWER,
    ENDPOINT_UNEXPECTED_ANSWER,
    PROXY_INTERCEPTS_INTERNAL,
    PROXY_UNREACHABLE,
    TLS_CERT_EXPIRED,
    TLS_HANDSHAKE_FAILED,
    TLS_HOSTNAME_MISMATCH,
    TLS_UNTRUSTED_CERT,
    VPN_CONNECT_REFUSED,
    VPN_CONNECT_TIMEOUT,
    VPN_DNS_FAILED,
    VPN_NO_ROUTE,
)
from aisg_check.model import Diagnosis

if TYPE_CHECKING:
    from aisg_check.context import Context

# OpenSSL verify codes (x509_vfy.h) that mean "I do not trust who signed this".
_UNTRUSTED_CODES = {2, 18, 19, 20, 21, 27}
_EXPIRED_CODE = 10
_HOSTNAME_CODE = 62

# Resolver messages of glibc, macOS, Windows and musl, for errors that lost their gaierror type
# on the way up (urllib3 and botocore re-raise with the message only).
_DNS_WORDS = (
    "name or service not known",
    "nodename nor servname",
    "getaddrinfo failed",
    "temporary failure in name resolution",
    "no address associated with hostname",
    "failed to resolve",
    "name does not resolve",
)
_NO_ROUTE = {errno.ENETUNREACH, errno.EHOSTUNREACH}
# Class names, anywhere in an exception's MRO, by what they mean.
_PROXY_NAMES = {"ProxyError", "ProxyConnectionError", "ProxySchemeUnknown"}
_CONNECT_TIMEOUT_NAMES = {"ConnectTimeout", "ConnectTimeoutError"}
_READ_TIMEOUT_NAMES = {"ReadTimeout", "ReadTimeoutError", "WriteTimeout", "PoolTimeout"}
_CLOSED_NAMES = {"ReadError", "WriteError", "ConnectionClosedError", "RemoteDisconnected"}
_PROTOCOL_NAMES = {"RemoteProtocolError", "LocalProtocolError", "ProtocolError", "BadStatusLine"}
# httpcore's words for a connection closed before a single byte of answer: a protocol error by
# class, but what http.client calls RemoteDisconnected. A server that resets the connection
# before the request is written (the write error is swallowed, the read sees the close) ends
# here too, so the same reset would otherwise get another code by timing alone.
_CLOSED_BEFORE_ANSWER = "Server disconnected without sending a response"
# urllib3 keeps NewConnectionError (and so NameResolutionError) a subclass of
# ConnectTimeoutError for old callers: a refused connection is not a timeout.
_NOT_A_TIMEOUT = {"NewConnectionError", "NameResolutionError"}


@dataclass(frozen=True)
class Failure:
    """A diagnosed transport failure: the code, one line naming the host, the layer it broke."""

    diagnosis: Diagnosis
    summary: str
    layer: str  # dns | tcp | proxy | tls | answer

    @property
    def is_tls(self) -> bool:
        return self.layer == "tls"


def causes(exc: BaseException | None) -> Iterator[BaseException]:
    """The exception and everything wrapped inside it, outermost first, each once."""
    seen: set[int] = set()
    todo: list[Any] = [exc]
    while todo:
        item = todo.pop(0)
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        kwargs = getattr(item, "kwargs", None)
        if isinstance(kwargs, dict):
            todo.append(kwargs.get("error"))
        todo += [item.__cause__, item.__context__, *item.args, getattr(item, "reason", None)]


def find_ssl_error(exc: BaseException | None) -> ssl.SSLError | None:
    """The ssl error inside a library's exception, if any."""
    for item in causes(exc):
        if isinstance(item, ssl.SSLError):
            return item
    return None


def classify_tls_error(host: str, exc: ssl.SSLError) -> tuple[Diagnosis, str]:
    """Map an ssl error to a diagnosis and a one-line summary naming the host."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        message = exc.verify_message or str(exc)
        if exc.verify_code == _HOSTNAME_CODE or "hostname mismatch" in message.lower():
            return TLS_HOSTNAME_MISMATCH, f"The certificate of {host} is not valid for that name ({message})"
        if exc.verify_code == _EXPIRED_CODE:
            return TLS_CERT_EXPIRED, f"The certificate of {host} has expired ({message})"
        if exc.verify_code in _UNTRUSTED_CODES or "self-signed" in message or "issuer" in message:
            return TLS_UNTRUSTED_CERT, f"The certificate of {host} is not trusted here ({message})"
        return TLS_UNTRUSTED_CERT, f"The certificate of {host} failed verification ({message})"
    return TLS_HANDSHAKE_FAILED, f"TLS handshake with {host} failed: {exc.reason or exc}"


def _names(exc: BaseException) -> set[str]:
    return {cls.__name__ for cls in type(exc).__mro__}


def _is_dns(item: BaseException) -> bool:
    if isinstance(item, socket.gaierror) or "NameResolutionError" in _names(item):
        return True
    text = str(item).lower()
    return any(word in text for word in _DNS_WORDS)


def _is_refused(item: BaseException) -> bool:
    return isinstance(item, ConnectionRefusedError) or (
        isinstance(item, OSError) and item.errno == errno.ECONNREFUSED
    )


def _is_no_route(item: BaseException) -> bool:
    return isinstance(item, OSError) and item.errno in _NO_ROUTE


def _is_reset(item: BaseException) -> bool:
    return (
        isinstance(item, (ConnectionResetError, ConnectionAbortedError, BrokenPipeError))
        or bool(_names(item) & _CLOSED_NAMES)
        or ("RemoteProtocolError" in _names(item) and str(item).startswith(_CLOSED_BEFORE_ANSWER))
    )


def _kind(chain: list[BaseException]) -> str:
    """What the failure is, looking at the most telling evidence first: the OS error at the
    bottom says more than the wrapper at the top."""
    names = set().union(*(_names(item) for item in chain))
    if names & _PROXY_NAMES:
        return "proxy"
    for test, kind in ((_is_dns, "dns"), (_is_refused, "refused"), (_is_no_route, "no_route")):
        if any(test(item) for item in chain):
            return kind
    for item in chain:
        item_names = _names(item)
        if item_names & _CONNECT_TIMEOUT_NAMES and not item_names & _NOT_A_TIMEOUT:
            # httpx counts the TLS handshake as part of connecting: a server that accepted the
            # connection and then said nothing did answer TCP, it just never spoke.
            if any("handshake operation timed out" in str(i) for i in chain):
                return "read_timeout"
            return "connect_timeout"
        if item_names & _READ_TIMEOUT_NAMES:
            return "read_timeout"
    if any(_is_reset(item) for item in chain):
        return "reset"
    if names & _PROTOCOL_NAMES:
        return "protocol"
    if any(isinstance(item, TimeoutError) or "TimeoutException" in _names(item) for item in chain):
        return "read_timeout"
    return "other"


def classify(
    exc: BaseException,
    host: str,
    *,
    proxy: str | None = None,
    scrub: Callable[[str], str] = lambda text: text,
    fallback: Diagnosis = ENDPOINT_CONNECTION_FAILED,
    connecting: bool = False,
) -> Failure:
    """Diagnose a transport exception raised while talking to `host`.

    `connecting`: the exception came from a plain socket's connect(), where a bare timeout is
    the TCP handshake's (a library says which phase timed out in the exception's type).

    `proxy` is the proxy the request went through (a refused proxy surfaces as a plain connect
    error in httpx); `scrub` cleans the library's own words before they reach a summary;
    `fallback` is the caller's code for a failure none of the shared codes describe.
    """
    chain = list(causes(exc))
    tls = next((item for item in chain if isinstance(item, ssl.SSLError)), None)
    if tls is not None:
        diagnosis, summary = classify_tls_error(host, tls)
        return Failure(diagnosis, summary + (" (through the proxy)" if proxy else ""), "tls")
    kind = _kind(chain)
    if connecting and kind == "read_timeout":
        kind = "connect_timeout"
    via = f" (through the proxy {proxy})" if proxy else ""
    if proxy and kind in ("refused", "no_route", "connect_timeout", "dns"):
        # The failed connection was the one to the proxy itself.
        return Failure(PROXY_UNREACHABLE, f"The proxy {proxy} for {host} cannot be reached", "proxy")
    if kind == "proxy":
        reached = not any(_is_refused(i) or _is_dns(i) for i in chain)
        diagnosis = PROXY_INTERCEPTS_INTERNAL if reached else PROXY_UNREACHABLE
        return Failure(diagnosis, f"The proxy does not reach {host}: {scrub(_message(exc))}", "proxy")
    table: dict[str, tuple[Diagnosis, str, str]] = {
        "dns": (VPN_DNS_FAILED, f"{host} does not resolve", "dns"),
        "refused": (VPN_CONNECT_REFUSED, f"{host} refused the connection{via}", "tcp"),
        "no_route": (VPN_NO_ROUTE, f"No route to {host}{via}", "tcp"),
        "connect_timeout": (VPN_CONNECT_TIMEOUT, f"{host} did not accept a connection in time{via}", "tcp"),
        "read_timeout": (
            ENDPOINT_NO_ANSWER,
            f"{host} accepted the connection but did not answer in time",
            "answer",
        ),
        "reset": (ENDPOINT_NO_ANSWER, f"{host} closed the connection without an answer{via}", "answer"),
        "protocol": (
            ENDPOINT_UNEXPECTED_ANSWER,
            f"{host} answered, but not in the protocol expected: {scrub(_message(exc))}",
            "answer",
        ),
    }
    if kind in table:
        diagnosis, summary, layer = table[kind]
        return Failure(diagnosis, summary, layer)
    return Failure(fallback, f"Could not talk to {host}{via}: {scrub(_message(exc))}", "answer")


def _message(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    # A library's message can be a whole response or a repr of nested objects: one short line.
    text = " ".join(text.split())
    return f"{type(exc).__name__}: {text[:300]}"


def transport_failure(
    ctx: Context, exc: BaseException, url: str, *, fallback: Diagnosis = ENDPOINT_CONNECTION_FAILED
) -> Failure:
    """`classify` for a request a check made through the context: the proxy the environment
    routes `url` through, and the run's scrubber for the library's words."""
    from aisg_check.net.proxies import proxy_for

    split = urlsplit(url if "://" in url else f"https://{url}")
    host = split.hostname or url
    proxy = proxy_for(ctx.env, split.scheme or "https", host)
    return classify(exc, host, proxy=proxy, scrub=ctx.scrubber.scrub_external, fallback=fallback)
