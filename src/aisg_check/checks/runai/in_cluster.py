"""The first two layers in a pod (fleet mode, or a workspace on the cluster): the in-cluster
configuration instead of a kubeconfig, the service account's token instead of `runai login`. The
rows keep their ids (`runai.kubeconfig`, `runai.login`: alerts and history follow one check
wherever it runs) under titles that say what they are here; the cluster, identity and permission
layers are the laptop's, asked with the service account in its own namespace."""

from __future__ import annotations

from aisg_check.check import Recorder
from aisg_check.checks.runai import expiries
from aisg_check.checks.runai.diagnoses import KUBE_IN_CLUSTER_INVALID
from aisg_check.checks.runai.steps import IN_CLUSTER_TITLES, STEP_KUBECONFIG, STEP_LOGIN
from aisg_check.context import Context
from aisg_check.lifetimes import judge
from aisg_check.model import CONTACT_MLOPS
from aisg_check.platform import kubeauth, kubeconfig
from aisg_check.platform.kubeauth import serviceaccount

MOUNT_HINT = (
    "Run the pod with its ServiceAccount and the token mounted (serviceAccountName, "
    "automountServiceAccountToken: true; the fleet manifests in deploy/base do); outside a pod, set "
    f"fleet.mode: laptop. Ask {CONTACT_MLOPS} if the manifests are not yours to change."
)


def relogin() -> str:
    return (
        "The pod's service-account token was not accepted: check the pod's ServiceAccount "
        "(serviceAccountName) and that its token is mounted (automountServiceAccountToken: true)"
    )


def resolve(ctx: Context, rec: Recorder) -> kubeconfig.Selection:
    title = IN_CLUSTER_TITLES[STEP_KUBECONFIG]
    try:
        found = serviceaccount.load(ctx)
    except serviceaccount.InClusterInvalid as exc:
        raise rec.fail(
            STEP_KUBECONFIG,
            KUBE_IN_CLUSTER_INVALID,
            f"Running in a pod, but {exc.message}",
            hint=MOUNT_HINT,
            details={"service_account_dir": str(ctx.service_account_dir), "file": str(exc.path or "")},
            title=title,
        ) from None
    where = f"namespace {found.namespace}" if found.namespace else "no namespace file"
    rec.ok(
        STEP_KUBECONFIG,
        f"In a pod: the service account ({where}) → {found.server}, trusting {found.ca_path} only",
        details={
            "mode": "in-cluster",
            "server": found.server,
            "service_account_dir": str(found.directory),
            "namespace": found.namespace,
        },
        title=title,
    )
    return found.selection()


def obtain(ctx: Context, rec: Recorder, sel: kubeconfig.Selection) -> kubeauth.Credential:
    title = IN_CLUSTER_TITLES[STEP_LOGIN]
    try:
        cred = kubeauth.static_token(ctx, sel)
    except kubeauth.AuthError as exc:
        raise rec.fail(
            STEP_LOGIN, KUBE_IN_CLUSTER_INVALID, exc.message, hint=MOUNT_HINT, title=title
        ) from None
    credentials = expiries.service_account(sel, cred)
    lifetime = judge(ctx, credentials[0].expires_at)
    # A bound token expires within the hour and kubelet renews it: a fact, not a warning.
    renewal = "; kubelet renews it" if lifetime.seconds_left is not None else ""
    rec.ok(
        STEP_LOGIN,
        f"Service account {cred.username or '(not named in its token)'}: token {lifetime.phrase()}{renewal}",
        details={"auth": "service-account", "username": cred.username, "token_file": str(sel.user_file)},
        title=title,
        credentials=credentials,
    )
    return cred
