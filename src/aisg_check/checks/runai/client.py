"""The `kubernetes` client as a plain HTTP client: imported in the background, given our TLS
context, our credential and one connection pool, and never its own kubeconfig loader.

Only its REST layer (`kubernetes.client.rest`: urllib3 with the client's TLS-error wrapping,
and `ApiException`): from kubernetes 37 the typed layer (`ApiClient`, `VersionApi`, the `V1…`
models) is built on pydantic, about 0.17 s of CPU to import. Inside `all` every other check
waited for that under the GIL, for three fixed requests whose JSON the check reads itself."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from aisg_check.check import Recorder
from aisg_check.checks.runai.diagnoses import KUBECONFIG_INVALID
from aisg_check.checks.runai.steps import STEP_CLUSTER
from aisg_check.context import Context
from aisg_check.net import trust
from aisg_check.net.proxies import proxy_for
from aisg_check.platform import kubeauth, kubeconfig
from aisg_check.platform.kubeauth import Credential
from aisg_check.prefetch import prefetched

_IMPORT_LOCK = threading.Lock()


def load() -> None:
    """Import the client's REST layer without running `kubernetes/__init__`.

    The package's __init__ also imports its config loaders (google-auth, oauthlib, requests),
    watch, stream, dynamic and leader election: about half of the import time, none of it
    used here. A bare package module with the real __path__ lets the submodules import
    normally; anything importing `kubernetes.config` later in this process still works.
    """
    import importlib.util
    import sys
    import types

    with _IMPORT_LOCK:
        if "kubernetes" not in sys.modules:
            spec = importlib.util.find_spec("kubernetes")
            if spec is not None and spec.submodule_search_locations is not None:
                package = types.ModuleType("kubernetes")
                package.__path__ = list(spec.submodule_search_locations)
                package.__spec__ = spec
                package.__file__ = spec.origin
                sys.modules["kubernetes"] = package
        import kubernetes.client.configuration
        import kubernetes.client.exceptions
        import kubernetes.client.rest  # noqa: F401


def prefetch() -> Callable[[], None]:
    """Import the client while the login layer and the VPN probe wait on the network; the
    callable returned waits for it (a failure repeats on the check's own thread)."""
    return prefetched(load)


def host(url: str) -> str:
    return urlsplit(url).hostname or url


def tls_context(ctx: Context, rec: Recorder, sel: kubeconfig.Selection, cred: Credential) -> ssl.SSLContext:
    """kubectl's trust: the kubeconfig's CA alone when it has one, none when insecure, else the
    system store (plus ca_bundle); and the client certificate, if that is the credential."""
    try:
        ca = kubeconfig.ca_pem(sel)
    except kubeconfig.KubeconfigError as exc:
        raise rec.fail(STEP_CLUSTER, KUBECONFIG_INVALID, f"Kubeconfig {exc.path}: {exc.message}") from None
    if sel.insecure:
        import warnings

        import urllib3

        # The kubeconfig asks for it (the guide's sample does) and the kubeconfig layer says so;
        # urllib3's warning on every request would only clutter stderr.
        warnings.filterwarnings("ignore", category=urllib3.exceptions.InsecureRequestWarning)
        context = trust.unverified_context()
    elif ca:
        try:
            context = ssl.create_default_context(cadata=ca)
        except ssl.SSLError as exc:
            raise rec.fail(
                STEP_CLUSTER,
                KUBECONFIG_INVALID,
                f"{sel.cluster_file}: clusters['{sel.cluster_name}']: the "
                f"certificate authority is not valid PEM ({exc.reason or exc})",
            ) from None
    elif cred.cert_pem:
        # A context of our own: the shared one must not carry this user's certificate.
        context = trust.system_context()
        for path in ctx.ca_files():
            context.load_verify_locations(cafile=path)
    else:
        context = ctx.ssl_context()
    if cred.cert_pem and cred.key_pem:
        try:
            kubeauth.use_client_certificate(context, cred, sel)
        except kubeauth.InvalidEntry as exc:
            raise rec.fail(
                STEP_CLUSTER, KUBECONFIG_INVALID, f"Kubeconfig {exc.path}: {exc.message}"
            ) from None
    return context


def pool(ctx: Context, sel: kubeconfig.Selection, context: ssl.SSLContext) -> Any:
    """One urllib3 pool for every request of the check (one TLS handshake): our TLS context,
    no retries (a retry would triple every timeout), the environment's proxy as kubectl
    honours it."""
    import urllib3

    pool_args: dict[str, Any] = {"ssl_context": context, "retries": False, "maxsize": 4}
    if sel.cluster.get("tls-server-name"):
        pool_args["server_hostname"] = str(sel.cluster["tls-server-name"])
    proxy = proxy_for(ctx.env, urlsplit(sel.server).scheme or "https", host(sel.server))
    return urllib3.ProxyManager(proxy, **pool_args) if proxy else urllib3.PoolManager(**pool_args)


class Api:
    """Requests to the cluster's API as kubectl sends them: JSON, exactly the credential given
    (or none), over our pool. A status other than 2xx raises the client's `ApiException`, as
    its typed layer does; an answer that is not a JSON object raises ValueError."""

    def __init__(self, sel: kubeconfig.Selection, cred: Credential | None, connections: Any) -> None:
        from kubernetes.client.configuration import Configuration
        from kubernetes.client.rest import RESTClientObject

        from aisg_check import __version__

        self._rest: Any = RESTClientObject(Configuration(host=sel.server))  # untyped
        self._rest.pool_manager = connections  # ours, with our TLS context and proxy
        self._base = sel.server.rstrip("/")
        self._headers = {"Accept": "application/json", "User-Agent": f"aisg-check/{__version__}"}
        if cred is not None and cred.token:
            self._headers["Authorization"] = f"Bearer {cred.token.reveal()}"

    def get(self, path: str, timeout: tuple[float, float]) -> dict[str, Any]:
        return self._request("GET", path, None, timeout)

    def create(self, path: str, body: dict[str, Any], timeout: tuple[float, float]) -> dict[str, Any]:
        return self._request("POST", path, body, timeout)

    def _request(
        self, method: str, path: str, body: dict[str, Any] | None, timeout: tuple[float, float]
    ) -> dict[str, Any]:
        import json

        from kubernetes.client.exceptions import ApiException

        headers = dict(self._headers)
        if body is not None:
            headers["Content-Type"] = "application/json"
        response = self._rest.request(
            method, self._base + path, headers=headers, body=body, _request_timeout=timeout
        )
        data = response.read()
        if not 200 <= response.status < 300:
            raise ApiException(http_resp=response)
        answer = json.loads(data)
        if not isinstance(answer, dict):
            raise ValueError("the answer is not a JSON object")
        return answer
