"""Layers 3-5 on the cluster's API: `runai.cluster` (/version without a credential: network
and TLS apart from authentication), `runai.identity` (SelfSubjectReview) and `runai.permission`
(SelfSubjectAccessReviews in the project's namespace). Every request goes through `call`, the
one place an answer that is not the expected one becomes a diagnosis."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from aisg_check.check import Recorder, Step, Stop
from aisg_check.checks.runai import client
from aisg_check.checks.runai.diagnoses import (
    KUBE_ANONYMOUS,
    KUBE_API_UNREACHABLE,
    KUBE_FORBIDDEN,
    KUBE_UNAUTHORIZED,
    NOT_CONFIGURED,
)
from aisg_check.checks.runai.steps import STEP_CLUSTER, STEP_IDENTITY, STEP_PERMISSION
from aisg_check.context import Context
from aisg_check.diagnoses import ENDPOINT_HTTP_ERROR, ENDPOINT_UNEXPECTED_ANSWER, TLS_UNTRUSTED_CERT
from aisg_check.model import CONTACT_MLOPS
from aisg_check.net.failures import transport_failure
from aisg_check.platform import kubeconfig
from aisg_check.platform.kubeauth import Credential

# What a Run:ai user does in the project namespace: submit workloads (pods, jobs) and see them.
REQUIRED: tuple[tuple[str, str, str], ...] = (
    ("create", "", "pods"),
    ("list", "", "pods"),
    ("create", "batch", "jobs"),
)
ANONYMOUS = "system:anonymous"


@dataclass(frozen=True)
class Session:
    """The cluster as this check talks to it: one pool, a client without and one with the credential."""

    ctx: Context
    rec: Recorder
    sel: kubeconfig.Selection
    cred: Credential
    anonymous: client.Api
    api: client.Api
    # How to get a credential the cluster accepts (asked only when it refuses one); in a pod
    # it is the pod's service account, whose fixes are the operator's.
    relogin: Callable[[], str]
    in_cluster: bool = False

    def timeout(self) -> tuple[float, float]:
        t = self.rec.step_timeout(self.ctx.timeout)
        return (t, t)


@contextmanager
def connect(
    ctx: Context,
    rec: Recorder,
    sel: kubeconfig.Selection,
    cred: Credential,
    *,
    relogin: Callable[[], str],
    in_cluster: bool = False,
) -> Iterator[Session]:
    connections = client.pool(ctx, sel, client.tls_context(ctx, rec, sel, cred))
    try:
        yield Session(
            ctx,
            rec,
            sel,
            cred,
            client.Api(sel, None, connections),
            client.Api(sel, cred, connections),
            relogin,
            in_cluster,
        )
    finally:
        connections.clear()


def call(
    s: Session,
    step: Step,
    what: str,
    request: Callable[[], Any],
    *,
    expected: tuple[int, ...] = (),
    details: Mapping[str, Any] | None = None,
) -> tuple[Any, int | None]:
    """`(answer, None)`, or `(None, status)` for an HTTP status the caller expects; anything
    else is recorded as the step's failure and ends the check."""
    import urllib3
    from kubernetes.client.exceptions import ApiException

    facts = {"server": s.sel.server, **(details or {})}
    try:
        return request(), None
    except ApiException as exc:
        if exc.status and exc.status in expected:
            return None, exc.status
        if not exc.status:  # the client's wrapper around a TLS error
            raise _transport(s, step, exc, facts) from None
        raise _http_error(s, step, what, exc.status, facts) from None
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise _transport(s, step, exc, facts) from None
    except (ValueError, TypeError, AttributeError, KeyError) as exc:  # an answer not shaped as documented
        raise s.rec.fail(
            step,
            ENDPOINT_UNEXPECTED_ANSWER,
            f"{what} answered, but not as a Kubernetes API does ({type(exc).__name__})",
            hint="Check the server URL in the kubeconfig (`kubectl config view --minify`).",
            details=facts,
        ) from None


def _transport(s: Session, step: Step, exc: BaseException, details: dict[str, Any]) -> Stop:
    failure = transport_failure(s.ctx, exc, s.sel.server, fallback=KUBE_API_UNREACHABLE)
    hint = None
    own_ca = s.sel.cluster.get("certificate-authority-data") or s.sel.cluster.get("certificate-authority")
    if failure.diagnosis is TLS_UNTRUSTED_CERT and s.in_cluster:
        hint = (
            f"The pod's {s.sel.cluster_file} does not sign the API server's certificate: the service "
            "account's CA and the API at KUBERNETES_SERVICE_HOST are not of one cluster (a proxy in the "
            f"way, or a mount from elsewhere); ask {CONTACT_MLOPS}."
        )
    elif failure.diagnosis is TLS_UNTRUSTED_CERT and own_ca:
        hint = (
            "The kubeconfig's certificate authority does not match the cluster's certificate; get a fresh "
            f"kubeconfig from {CONTACT_MLOPS}, or set ca_bundle if a proxy re-signs TLS."
        )
    return s.rec.fail(step, failure.diagnosis, failure.summary, hint=hint, details=details)


def _http_error(s: Session, step: Step, what: str, status: int, details: dict[str, Any]) -> Stop:
    if status == 401:
        return s.rec.fail(
            step,
            KUBE_UNAUTHORIZED,
            f"{s.sel.server} rejects the {s.cred.kind} credential of user '{s.sel.user_name}' "
            "(401 Unauthorized)",
            hint=f"{s.relogin()}; if it persists, ask {CONTACT_MLOPS} whether "
            f"{'the service account' if s.in_cluster else 'your account'} is enabled on the cluster.",
            details={**details, "auth": s.cred.kind, "token_user": s.cred.username},
        )
    if status >= 500:
        return s.rec.fail(step, ENDPOINT_HTTP_ERROR, f"{what} answered HTTP {status}", details=details)
    return s.rec.fail(
        step,
        ENDPOINT_UNEXPECTED_ANSWER,
        f"{what} answered HTTP {status}: not what a Kubernetes API answers",
        hint="Check the server URL in the kubeconfig (`kubectl config view --minify`).",
        details={**details, "http_status": status},
    )


def version(s: Session) -> None:
    """/version with no credential: isolates network and TLS from authentication."""
    server = s.sel.server
    details: dict[str, Any] = {"server": server, "tls_verified": not s.sel.insecure}
    info, status = call(
        s,
        STEP_CLUSTER,
        f"{server}/version",
        lambda: _version_info(s.anonymous.get("/version", s.timeout())),
        expected=(401, 403),
        details=details,
    )
    if status:
        # Anonymous access to /version is off on this cluster: it still answered as Kubernetes.
        s.rec.ok(
            STEP_CLUSTER,
            f"Kubernetes API at {server} answers (version hidden from anonymous users)",
            details={**details, "http_status": status},
        )
        return
    note = " (TLS not verified, as the kubeconfig says)" if s.sel.insecure else ""
    s.rec.ok(
        STEP_CLUSTER,
        f"Kubernetes {info['gitVersion']} answers at {server}{note}",
        details={**details, "version": info["gitVersion"], "platform": info.get("platform")},
    )


def _version_info(answer: dict[str, Any]) -> dict[str, Any]:
    """version.Info: `gitVersion` is the one field every API server fills."""
    if not isinstance(answer.get("gitVersion"), str):
        raise ValueError("no gitVersion in version.Info")
    return answer


def _user_info(answer: dict[str, Any]) -> tuple[str | None, list[str]]:
    """SelfSubjectReview's status.userInfo: the user name and groups (both may be absent)."""
    info = (answer.get("status") or {}).get("userInfo") or {}
    username, groups = info.get("username"), info.get("groups") or []
    if not isinstance(username, (str, type(None))) or not isinstance(groups, list):
        raise TypeError("status.userInfo is not a UserInfo")
    return username, [str(group) for group in groups]


def identity(s: Session) -> str | None:
    """Who the cluster sees this credential as (SelfSubjectReview, GA in Kubernetes 1.28)."""
    body = {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
    review, status = call(
        s,
        STEP_IDENTITY,
        f"SelfSubjectReview at {s.sel.server}",
        lambda: _user_info(
            s.api.create("/apis/authentication.k8s.io/v1/selfsubjectreviews", body, s.timeout())
        ),
        expected=(404, 405),
    )
    if status:
        # Older clusters still authenticate the access reviews below, which then stand in.
        s.rec.ok(
            STEP_IDENTITY,
            f"Credential sent; {s.sel.server} is older than Kubernetes 1.28 and cannot say "
            "who it sees you as (the permission layer checks it instead)",
            details={"self_subject_review": "unavailable", "token_user": s.cred.username},
        )
        return s.cred.username
    username, groups = review
    details = {"username": username, "groups": groups, "auth": s.cred.kind, "token_user": s.cred.username}
    if not username or username == ANONYMOUS:
        raise s.rec.fail(
            STEP_IDENTITY,
            KUBE_ANONYMOUS,
            f"{s.sel.server} sees you as {ANONYMOUS}: no credential reached the cluster",
            hint=f"{s.relogin()}; behind a proxy, add the cluster to NO_PROXY.",
            details=details,
        )
    s.rec.ok(STEP_IDENTITY, f"The cluster sees you as {username}", details=details)
    return str(username)


def namespace(ctx: Context, sel: kubeconfig.Selection, *, in_cluster: bool = False) -> str | None:
    """In a pod, the service account's own namespace; else --namespace, runai-<project>, or the
    context's namespace."""
    runai = ctx.settings.runai
    if in_cluster and sel.namespace:
        return sel.namespace
    if runai.namespace:
        return runai.namespace
    if runai.project:
        return f"runai-{runai.project}"
    return sel.namespace


def _allowed(s: Session, ns: str, verb: str, group: str, resource: str) -> bool:
    body = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "spec": {"resourceAttributes": {"namespace": ns, "verb": verb, "group": group, "resource": resource}},
    }
    allowed, status = call(
        s,
        STEP_PERMISSION,
        f"SelfSubjectAccessReview at {s.sel.server}",
        lambda: _access_allowed(
            s.api.create("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", body, s.timeout())
        ),
        expected=(403,),  # not even allowed to ask: no rights at all
    )
    return not status and allowed is True


def _access_allowed(answer: dict[str, Any]) -> bool:
    """SubjectAccessReviewStatus.allowed: required by the API, a boolean."""
    allowed = (answer.get("status") or {}).get("allowed")
    if not isinstance(allowed, bool):
        raise TypeError("status.allowed is not a boolean")
    return allowed


def permission(s: Session, who: str | None) -> None:
    ns = namespace(s.ctx, s.sel, in_cluster=s.in_cluster)
    if not ns:
        s.rec.skip(
            STEP_PERMISSION,
            NOT_CONFIGURED,
            "No Run:ai project given, so no namespace to check rights in",
            hint="Name your project: `aisg-check runai --project <name>` (namespace runai-<name>), or set "
            "runai.project in the config.",
        )
        return
    allowed: list[str] = []
    denied: list[str] = []
    for verb, group, resource in REQUIRED:
        what = f"{verb} {resource}{'.' + group if group else ''}"
        (allowed if _allowed(s, ns, verb, group, resource) else denied).append(what)
    details = {"namespace": ns, "allowed": allowed, "denied": denied, "username": who}
    if denied:
        raise s.rec.fail(
            STEP_PERMISSION,
            KUBE_FORBIDDEN,
            f"{who or 'You'} may not {', '.join(denied)} in namespace {ns}",
            hint=_forbidden_hint(s, who, ns),
            details=details,
        )
    s.rec.ok(STEP_PERMISSION, f"{who or 'You'} may {', '.join(allowed)} in namespace {ns}", details=details)


def _forbidden_hint(s: Session, who: str | None, ns: str) -> str:
    if s.in_cluster:
        rules = ", ".join(
            f"{verb} {resource}{'.' + group if group else ''}" for verb, group, resource in REQUIRED
        )
        return (
            f"Bind the pod's service account {who or ''} to a Role granting {rules} in namespace {ns}: the "
            "fleet deployment's Role and RoleBinding (deploy/base/role.yaml, rolebinding.yaml) do, applied "
            f"with `kubectl apply -k deploy/overlays/<project>`; ask {CONTACT_MLOPS} if you cannot."
        )
    project = s.ctx.settings.runai.project or ns.removeprefix("runai-")
    return (
        f"Ask {CONTACT_MLOPS} to add {who or 'you'} to the Run:ai project '{project}' (namespace {ns}); "
        "check --project/--namespace if you meant another one."
    )
