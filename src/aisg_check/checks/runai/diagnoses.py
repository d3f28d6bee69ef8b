"""The Run:ai component's diagnosis codes, and the shared ones it reports besides the network's
(which `__init__` adds as a whole: any transport failure may meet a request)."""

from __future__ import annotations

from aisg_check.checks.tools import TOOL_BROKEN
from aisg_check.diagnoses import BLOCKED, NOT_CONFIGURED
from aisg_check.model import CONTACT_MLOPS, Diagnosis

__all__ = ["BLOCKED", "NOT_CONFIGURED", "TOOL_BROKEN"]

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
RUNAI_REFRESH_TOKEN_EXPIRES_SOON = Diagnosis(
    "RUNAI_REFRESH_TOKEN_EXPIRES_SOON",
    "Run:ai refresh-token expires soon",
    "The refresh-token `runai login` wrote into the kubeconfig expires within expiry_warning_days; the "
    "id-token is renewed with it (an id-token expiring within the hour is normal), so once it expires "
    "kubectl and runai stop working until you log in again.",
    "Log in again before it expires: `export KUBECONFIG=/path/to/kubeconfig; runai login`.",
)
KUBE_IN_CLUSTER_INVALID = Diagnosis(
    "KUBE_IN_CLUSTER_INVALID",
    "In-cluster configuration incomplete",
    "aisg-check runs in a pod (fleet mode, or fleet.mode: cluster), but the pod's in-cluster "
    "configuration is incomplete: KUBERNETES_SERVICE_HOST/PORT are not set, or the service account's "
    "token or ca.crt is not mounted.",
    "Run the pod with a ServiceAccount and automountServiceAccountToken: true (the fleet manifests in "
    "deploy/ do); outside a pod, set fleet.mode: laptop.",
    CONTACT_MLOPS,
)

# -- Run:ai's improved CLI (control-plane login, clusters 2.18+) -----------------------------------

RUNAI_CLI_UNRECOGNISED = Diagnosis(
    "RUNAI_CLI_UNRECOGNISED",
    "Run:ai CLI answer not recognised",
    "The Run:ai CLI answered in a form aisg-check does not know (a newer or changed CLI), so the layer "
    "could not be judged; the summary names the CLI version and the command.",
    "Run the command in the summary yourself; if the CLI works for you, report the version to the "
    "MLOps team so aisg-check can learn its output.",
    CONTACT_MLOPS,
)
RUNAI_CLI_NEEDS_WSL = Diagnosis(
    "RUNAI_CLI_NEEDS_WSL",
    "Run:ai's improved CLI needs WSL on Windows",
    "Run:ai's improved command-line interface (clusters 2.18+) runs on Linux and macOS only; on "
    "Windows it runs inside WSL (Windows Subsystem for Linux).",
    "Install WSL (`wsl --install` in an administrator PowerShell, then restart), open the Linux shell, "
    "install the Linux CLI there from the dashboard (Help (?) → Researcher Command Line Interface → "
    "Linux) and run `runai login` and aisg-check inside WSL.",
)
RUNAI_CLI_NOT_LOGGED_IN = Diagnosis(
    "RUNAI_CLI_NOT_LOGGED_IN",
    "Not logged in to Run:ai's control plane",
    "The improved Run:ai CLI says it is not logged in: `runai login` has not been run for this "
    "configuration (or `runai logout` was).",
    "`runai login` (a browser opens; without one: `runai login remote-browser`), sign in with your AI "
    "Singapore account, and run again.",
)
RUNAI_CLI_SESSION_EXPIRED = Diagnosis(
    "RUNAI_CLI_SESSION_EXPIRED",
    "Run:ai CLI session expired",
    "The improved Run:ai CLI was logged in, but its session has expired or was revoked: the control "
    "plane no longer accepts it.",
    "Log in again: `runai login` (without a browser: `runai login remote-browser`).",
)
RUNAI_CONTROL_PLANE_UNREACHABLE = Diagnosis(
    "RUNAI_CONTROL_PLANE_UNREACHABLE",
    "Run:ai control plane unreachable",
    "The improved Run:ai CLI could not reach its control plane (the Run:ai tenant URL it is configured "
    "with): a network, proxy or TLS failure, or a wrong control-plane URL.",
    "Open the control-plane URL in the summary in a browser; check your proxy settings and the URL "
    "(`runai config set --cp-url <url>`); if it answers in a browser, tell the MLOps team.",
    CONTACT_MLOPS,
)
RUNAI_CLI_NO_CLUSTER = Diagnosis(
    "RUNAI_CLI_NO_CLUSTER",
    "No default Run:ai cluster",
    "The improved Run:ai CLI has no default cluster, so it cannot submit workloads (with one cluster it "
    "is set at the first login; with several you choose one).",
    "`runai cluster list`, then `runai cluster set --name <cluster>`.",
)
RUNAI_CLI_NO_PROJECT = Diagnosis(
    "RUNAI_CLI_NO_PROJECT",
    "No default Run:ai project",
    "The improved Run:ai CLI has no default project: every command then needs `-p <project>`.",
    "`runai project list`, then `runai project set <project>`.",
)
RUNAI_CLI_PROJECT_NOT_VISIBLE = Diagnosis(
    "RUNAI_CLI_PROJECT_NOT_VISIBLE",
    "Run:ai project not visible to you",
    "The project you use (runai.project, or the CLI's default project) is not among the projects the "
    "control plane shows you: you are not a member of it on this cluster, or its name is mistyped.",
    "Check the name with `runai project list`; if it is right, ask the MLOps team to add you to the "
    "project (name the project and the cluster).",
    CONTACT_MLOPS,
)
