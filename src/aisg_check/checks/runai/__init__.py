"""`runai`: the kubeconfig from the MLOps team, after `runai login`, gets you into the Run:ai
cluster as yourself, with rights in your project's namespace.

Layers: kubeconfig → login (tokens) → cluster (/version) → identity (SelfSubjectReview) →
permission (SelfSubjectAccessReview); the Run:ai CLI is a separate check (`runai.cli`) so a
missing binary never hides a cluster answer, and vice versa. Which CLI the user has decides what
counts: with the first CLI the kubeconfig is the login; with the improved CLI (clusters 2.18+)
the login is the control plane's (`runai.cli` checks it) and a kubeconfig is needed only for
kubectl. In a pod (`ctx.in_cluster`) the first two layers are the pod's service account, and its
rights are checked in its own namespace; `runai.cli` is laptop-only.

The `kubernetes` client has traps for exactly this kind of kubeconfig, so it is used only as
an HTTP client with an explicit credential: its oidc path needs a client secret that Run:ai
kubeconfigs lack, silently sends no token for an id-token it cannot parse, refreshes with no
timeout and rewrites the kubeconfig; its exec path swallows plugin failures and goes on
anonymous; with several KUBECONFIG files it takes the last current-context where kubectl takes
the first. So `platform.kubeconfig` resolves the file, context and user with kubectl's
semantics, `platform.kubeauth` obtains the credential (refreshing in memory only), and the
client gets a bearer token or client certificate and a TLS context we build ourselves.
"""

from __future__ import annotations

from aisg_check.check import Check, Recorder, declared
from aisg_check.checks.runai import client, cluster, diagnoses, in_cluster, kubeconfig_layer, login
from aisg_check.checks.runai.cli import run_cli
from aisg_check.checks.runai.cluster import REQUIRED
from aisg_check.checks.runai.steps import CLUSTER_STEPS, STEP_CLI
from aisg_check.context import Context
from aisg_check.diagnoses import NETWORK_DIAGNOSES

# REQUIRED: what the permission layer asks for (the fleet deployment's Role grants exactly it).
__all__ = ["CHECKS", "DECLARED", "REQUIRED", "run", "run_cli", "run_in_cluster"]


def run(ctx: Context, rec: Recorder) -> None:
    if ctx.in_cluster:
        run_in_cluster(ctx, rec)
        return
    config, sel = kubeconfig_layer.resolve(ctx, rec)
    load_client = client.prefetch()  # overlaps the login layer and the VPN probe
    cred = login.obtain(ctx, rec, config, sel)
    rec.require("vpn.cluster")
    load_client()
    with cluster.connect(
        ctx, rec, sel, cred, relogin=lambda: "Log in again: " + login.relogin(ctx, rec, config)
    ) as session:
        cluster.version(session)
        who = cluster.identity(session)
        cluster.permission(session, who)


def run_in_cluster(ctx: Context, rec: Recorder) -> None:
    """In a pod: the API the pod's environment names, as the pod's service account. The probe of
    the laptop's cluster URL says nothing about that path, so it is not waited for."""
    sel = in_cluster.resolve(ctx, rec)
    load_client = client.prefetch()
    cred = in_cluster.obtain(ctx, rec, sel)
    load_client()
    with cluster.connect(ctx, rec, sel, cred, relogin=in_cluster.relogin, in_cluster=True) as session:
        cluster.version(session)
        who = cluster.identity(session)
        cluster.permission(session, who)


# The component's codes and the shared ones it reports; any transport failure may meet a request.
DECLARED = declared(diagnoses, NETWORK_DIAGNOSES)

CHECKS: tuple[Check, ...] = (
    Check(
        id="runai",
        component="runai",
        title="Run:ai",
        steps=CLUSTER_STEPS,
        run=run,
        needs=("vpn.cluster",),
        diagnoses=DECLARED,
        # Token refresh (discovery + grant), /version, SelfSubjectReview and three access
        # reviews, each under its own timeout.
        budget=6.0,
        import_allowance_s=3.0,
    ),
    Check(
        id="runai.cli",
        component="runai",
        title="Run:ai CLI",
        steps=(STEP_CLI,),
        run=run_cli,
        diagnoses=DECLARED,
        # `runai version` (and `--wide`), then the improved CLI's two questions side by side.
        budget=4.0,
        laptop_only=True,
    ),
)
