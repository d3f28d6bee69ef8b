"""The in-cluster configuration a pod gets, read as the kubernetes client's in-cluster loader
(client-go's `rest.InClusterConfig`) reads it: the API server at KUBERNETES_SERVICE_HOST and
KUBERNETES_SERVICE_PORT, the service account's `token`, `ca.crt` (the only CA trusted) and
`namespace` under the mounted service-account directory. No kubeconfig, no `runai login`.

It is handed to the check as a kubeconfig `Selection` of its own (a cluster with the CA file, a
user with the token file), so the one credential and TLS path serves both; the token file is
read again on every run, as kubelet rotates it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aisg_check.context import Context
from aisg_check.platform import kubeconfig
from aisg_check.platform.kubeconfig import FileProblem, Selection

CONTEXT = "in-cluster"
USER = "service-account"


class InClusterInvalid(Exception):
    """The pod's in-cluster configuration is incomplete: `message` names what and where."""

    def __init__(self, message: str, path: Path | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path


@dataclass(frozen=True)
class InCluster:
    server: str  # https://host:port, as client-go joins them (an IPv6 host in brackets)
    directory: Path
    namespace: str | None  # the service account's own namespace (the `namespace` file)

    @property
    def token_path(self) -> Path:
        return self.directory / "token"

    @property
    def ca_path(self) -> Path:
        return self.directory / "ca.crt"

    def selection(self) -> Selection:
        """The configuration as a kubeconfig context: what the rest of the check consumes."""
        return Selection(
            context=CONTEXT,
            cluster_name=CONTEXT,
            cluster={"server": self.server, "certificate-authority": str(self.ca_path)},
            user_name=USER,
            user={"tokenFile": str(self.token_path)},
            namespace=self.namespace,
            cluster_file=self.ca_path,
            user_file=self.token_path,
        )


def _server(ctx: Context) -> str:
    host = ctx.env.get("KUBERNETES_SERVICE_HOST", "").strip()
    port = ctx.env.get("KUBERNETES_SERVICE_PORT", "").strip()
    if not host or not port:
        missing = " and ".join(
            name
            for name, value in (("KUBERNETES_SERVICE_HOST", host), ("KUBERNETES_SERVICE_PORT", port))
            if not value
        )
        raise InClusterInvalid(
            f"{missing} {'is' if ' and ' not in missing else 'are'} not set: the pod's environment does "
            "not say where the Kubernetes API is"
        )
    if not port.isdigit():
        raise InClusterInvalid(f"KUBERNETES_SERVICE_PORT is not a port number ({port[:20]!r})")
    return f"https://[{host}]:{port}" if ":" in host else f"https://{host}:{port}"


def _readable(path: Path, what: str) -> str:
    try:
        text = kubeconfig.read_text(path).strip()
    except FileNotFoundError:
        raise InClusterInvalid(f"{path} does not exist: {what} is not mounted", path) from None
    except FileProblem as exc:
        raise InClusterInvalid(f"{path} {exc.reason}", path) from None
    if not text:
        raise InClusterInvalid(f"{path} is empty: {what} is not mounted", path)
    return text


def load(ctx: Context) -> InCluster:
    """The in-cluster configuration, or `InClusterInvalid` naming the missing part. The token
    and the CA must exist (client-go refuses to start without them); the namespace file is
    optional there, and here only the permission layer needs it."""
    server = _server(ctx)
    directory = ctx.service_account_dir
    _readable(directory / "token", "the service account token")
    _readable(directory / "ca.crt", "the cluster's CA certificate")
    try:
        namespace = _readable(directory / "namespace", "the namespace")
    except InClusterInvalid:
        namespace = None
    return InCluster(server, directory, namespace)
