"""The Run:ai component's diagnosis codes, and the shared ones it reports besides the network's
(which `__init__` adds as a whole: any transport failure may meet a request)."""

from __future__ import annotations

from aisg_check.checks.tools import TOOL_BROKEN
from aisg_check.diagnoses import NOT_CONFIGURED
from aisg_check.model import CONTACT_MLOPS, Diagnosis

__all__ = ["NOT_CONFIGURED", "TOOL_BROKEN"]

KUBECONFIG_MISSING = Diagnosis(
    "KUBECONFIG_MISSING",
    "No kubeconfig",
    "No kubeconfig file was found where kubectl and the runai CLI look: --kubeconfig, runai.kubeconfig, "
    "the files in $KUBECONFIG, else ~/.kube/config.",
    "Save the kubeconfig the MLOps team gave you as ~/.kube/config (or anywhere, and "
    "`export KUBECONFIG=/path/to/kubeconfig`), then run `runai login`.",
    CONTACT_MLOPS,
)
KUBECONFIG_INVALID = Diagnosis(
    "KUBECONFIG_INVALID",
    "Kubeconfig is broken",
    "The kubeconfig is not valid YAML, or an entry kubectl needs is missing or malformed (the summary "
    "names the file and the key).",
    "Fix the file and key named in the summary, or replace the file with a fresh copy of the kubeconfig "
    "from the MLOps team and run `runai login` again.",
    CONTACT_MLOPS,
)
KUBE_CONTEXT_MISSING = Diagnosis(
    "KUBE_CONTEXT_MISSING",
    "Kubeconfig context not found",
    "The context to use (--context, runai.context, or the kubeconfig's current-context) is not set or "
    "names no context in the kubeconfig files.",
    "List the contexts with `kubectl config get-contexts` and pick one: `kubectl config use-context "
    "<name>` or `aisg-check runai --context <name>`.",
)
RUNAI_NOT_LOGGED_IN = Diagnosis(
    "RUNAI_NOT_LOGGED_IN",
    "Not logged in to Run:ai",
    "The kubeconfig's user has no usable credential: `runai login` has not filled in its id-token and "
    "refresh-token, or its credential plugin (exec) failed.",
    "`export KUBECONFIG=/path/to/kubeconfig; runai login`, sign in with your AI Singapore account in the "
    "browser, paste the code, and run again.",
    CONTACT_MLOPS,
)
RUNAI_WRONG_REALM = Diagnosis(
    "RUNAI_WRONG_REALM",
    "Token from another realm",
    "The id-token was issued by a different issuer than the kubeconfig's idp-issuer-url: a login against "
    "another Run:ai tenant or realm, or a kubeconfig mixed from two sources.",
    "Use the kubeconfig from the MLOps team as it is and log in again: `export KUBECONFIG=/path/to/"
    "kubeconfig; runai login`.",
    CONTACT_MLOPS,
)
RUNAI_TOKEN_EXPIRED = Diagnosis(
    "RUNAI_TOKEN_EXPIRED",
    "Run:ai login expired",
    "The id-token has expired and the identity provider refused to renew it (invalid_grant): the SSO "
    "session behind the refresh-token is over.",
    "Log in again: `export KUBECONFIG=/path/to/kubeconfig; runai login`.",
)
RUNAI_TOKEN_EXPIRES_SOON = Diagnosis(
    "RUNAI_TOKEN_EXPIRES_SOON",
    "Run:ai login expires soon",
    "The credential that keeps you logged in expires within the hour; after that kubectl and runai stop "
    "working until you log in again.",
    "Log in again now to avoid an interruption: `export KUBECONFIG=/path/to/kubeconfig; runai login`.",
)
RUNAI_ISSUER_UNREACHABLE = Diagnosis(
    "RUNAI_ISSUER_UNREACHABLE",
    "Run:ai login server unreachable",
    "The id-token needs renewing, but the identity provider (the kubeconfig's idp-issuer-url) did not "
    "answer as an OpenID Connect issuer does.",
    "Check that you can open the idp-issuer-url from this machine (proxy settings, internet access); if "
    "it answers in a browser, tell the MLOps team.",
    CONTACT_MLOPS,
)
KUBE_API_UNREACHABLE = Diagnosis(
    "KUBE_API_UNREACHABLE",
    "Cluster API unreachable",
    "The Run:ai cluster's Kubernetes API (the kubeconfig's server) did not answer /version.",
    "Connect to the NUS VPN; check the server URL in the kubeconfig (`kubectl config view --minify`); if "
    "both are right, tell the MLOps team.",
    CONTACT_MLOPS,
)
KUBE_UNAUTHORIZED = Diagnosis(
    "KUBE_UNAUTHORIZED",
    "Cluster rejects your credential",
    "The cluster answered 401 Unauthorized: it does not accept the token or certificate from the "
    "kubeconfig (expired, revoked, or for another cluster).",
    "Log in again: `export KUBECONFIG=/path/to/kubeconfig; runai login`; if it persists, ask the MLOps "
    "team whether your account is enabled on the cluster.",
    CONTACT_MLOPS,
)
KUBE_ANONYMOUS = Diagnosis(
    "KUBE_ANONYMOUS",
    "No credential reached the cluster",
    "The cluster sees you as system:anonymous: the request carried no credential (the kubeconfig's user "
    "has none, or a proxy stripped the Authorization header).",
    "`export KUBECONFIG=/path/to/kubeconfig; runai login`; if you are behind a proxy, bypass it for the "
    "cluster (NO_PROXY).",
    CONTACT_MLOPS,
)
KUBE_FORBIDDEN = Diagnosis(
    "KUBE_FORBIDDEN",
    "No permission in the project namespace",
    "The cluster knows you, but RBAC does not let you do what a Run:ai user needs (create pods and jobs, "
    "list pods) in the project's namespace: you are not a member of that Run:ai project.",
    "Ask the MLOps team to add you to the Run:ai project (name the project and the namespace); check "
    "--project / --namespace if you meant another one.",
    CONTACT_MLOPS,
)
RUNAI_CLI_MISSING = Diagnosis(
    "RUNAI_CLI_MISSING",
    "Run:ai CLI not installed",
    "The `runai` command is not on PATH; `runai login` and job submission need it.",
    "Download it from the Run:ai dashboard: Help (?) → Researcher Command Line Interface → your system → "
    "DOWNLOAD; then make it executable and put it on PATH.",
)
