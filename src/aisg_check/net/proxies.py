"""HTTP(S)_PROXY / ALL_PROXY / NO_PROXY, one set of rules for every client the checks use
(raw probes, httpx, botocore, the kubernetes client), read from the context's environment.

NO_PROXY follows curl: `*` disables proxies, `example.com` covers the domain and its
subdomains, `.example.com` the subdomains only, `host:port` matches the host (ports are not
distinguished), and an IP or CIDR range (`10.0.0.0/8`) matches addresses in it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx


def _lower(env: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v.strip() for k, v in env.items() if k.lower().endswith("_proxy") and v.strip()}


def _entry_host(entry: str) -> str:
    entry = entry.split("://", 1)[-1].split("/", 1)[0]  # http://host:3128/ → host:3128
    if entry.startswith("["):  # [::1]:8080
        return entry[1:].split("]", 1)[0]
    if entry.count(":") == 1:  # host:port
        return entry.split(":", 1)[0]
    return entry


def no_proxy_matches(host: str, no_proxy: str) -> bool:
    """Whether NO_PROXY exempts `host`."""
    host = host.lower().strip("[]")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    for raw in (e.strip().lower() for e in no_proxy.split(",")):
        if not raw:
            continue
        if raw == "*":
            return True
        if "/" in raw and "://" not in raw:  # a CIDR range
            if address is not None:
                try:
                    if address in ipaddress.ip_network(raw, strict=False):
                        return True
                except ValueError:
                    pass
            continue
        entry = _entry_host(raw)
        if entry.startswith("."):
            if host.endswith(entry):
                return True
        elif host == entry or host.endswith("." + entry):
            return True
    return False


def proxy_for(env: Mapping[str, str], scheme: str, host: str) -> str | None:
    """The proxy URL this host is reached through, or None for a direct connection."""
    lower = _lower(env)
    proxy = lower.get(f"{scheme}_proxy") or lower.get("all_proxy")
    if not proxy or no_proxy_matches(host, lower.get("no_proxy", "")):
        return None
    return proxy if "://" in proxy else f"http://{proxy}"


def routing_transport(env: Mapping[str, str], **transport_options: Any) -> httpx.BaseTransport:
    """An httpx transport that picks, per request, a direct connection or the proxy that
    `proxy_for` names (httpx's own mount patterns cannot express CIDR ranges)."""
    import httpx

    class _Router(httpx.BaseTransport):
        def __init__(self) -> None:
            self._direct = httpx.HTTPTransport(**transport_options)
            self._proxied: dict[str, httpx.HTTPTransport] = {}

        def handle_request(self, request: httpx.Request) -> httpx.Response:
            proxy = proxy_for(env, request.url.scheme, request.url.host)
            if proxy is None:
                return self._direct.handle_request(request)
            if proxy not in self._proxied:
                self._proxied[proxy] = httpx.HTTPTransport(proxy=proxy, **transport_options)
            return self._proxied[proxy].handle_request(request)

        def close(self) -> None:
            self._direct.close()
            for transport in self._proxied.values():
                transport.close()

    return _Router()
