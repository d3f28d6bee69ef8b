"""`vpn`: can this machine reach the internal endpoints the other checks need?

One probe per endpoint that the other sections name, all at once; each component waits for
the probe of its own endpoint, so when the VPN is down every component is skipped at once
instead of timing out one by one.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass

from aisg_check.check import Check, Recorder, Step, declared
from aisg_check.context import Context
from aisg_check.diagnoses import NETWORK_DIAGNOSES, NOT_APPLICABLE, NOT_CONFIGURED, VPN_DNS_FAILED
from aisg_check.model import CONTACT_MLOPS, Diagnosis, Status
from aisg_check.net.probe import Outcome, Target, probe

VPN_NOT_CONNECTED = Diagnosis(
    "VPN_NOT_CONNECTED",
    "Off the NUS VPN",
    "None of the internal host names resolve: this machine is not connected to the NUS VPN.",
    "Connect to the NUS VPN and run `aisg-check all` again.",
    CONTACT_MLOPS,
)
VPN_UNREACHABLE = Diagnosis(
    "VPN_UNREACHABLE",
    "No internal endpoint answers",
    "The internal names resolve (public DNS may know them) but none of the endpoints answers: the "
    "VPN is not connected, or a firewall or proxy blocks all of them.",
    "Connect to the NUS VPN and run `aisg-check all` again; if you are connected, look at the layer "
    "each vpn.* row names (TCP, TLS, proxy) and tell the MLOps team.",
    CONTACT_MLOPS,
)
VPN_PARTIAL = Diagnosis(
    "VPN_PARTIAL",
    "Some internal endpoints unreachable",
    "Some internal endpoints answer and others do not: the VPN is up, but a service is down, a "
    "proxy or firewall is in the way, or a setting points at the wrong place.",
    "Look at the failing vpn.* rows above for the endpoint and the layer that failed.",
    CONTACT_MLOPS,
)


@dataclass(frozen=True)
class Endpoint:
    key: str  # check id suffix: vpn.<key>
    title: str
    target: Callable[[Context], Target | None]
    setting: str  # what to set when it is empty
    laptop_only: bool = False  # probed for a laptop-only check (not applicable in a pod)


def _cluster_target(ctx: Context) -> Target | None:
    """The API server of the context kubectl would use, verified as the kubeconfig says
    (its CA, or no verification where it sets insecure-skip-tls-verify, as the guide's
    sample does); without a usable kubeconfig, the profile's cluster URL. In a pod: the API
    server the service account talks to, verified with its ca.crt."""
    from aisg_check.platform import kubeconfig  # here: a run without the cluster probe need not import it

    if ctx.in_cluster:
        from aisg_check.platform.kubeauth import serviceaccount

        try:
            found = serviceaccount.load(ctx)
            return Target("cluster", found.server + "/version", ca_data=kubeconfig.ca_pem(found.selection()))
        except (serviceaccount.InClusterInvalid, kubeconfig.KubeconfigError):
            return None  # the runai check says what is missing
    try:
        selection = kubeconfig.select(ctx, kubeconfig.load(ctx))
        ca_data = kubeconfig.ca_pem(selection)
    except (kubeconfig.KubeconfigError, kubeconfig.ContextMissing):
        selection = None  # the runai check reports a broken kubeconfig; probe the profile's URL
    if selection is not None:
        server_name = selection.cluster.get("tls-server-name")
        return Target(
            "cluster",
            selection.server + "/version",
            verify=not selection.insecure,
            ca_data=ca_data,
            server_name=str(server_name) if server_name else None,
        )
    url = ctx.settings.runai.cluster_url
    return Target("cluster", url.rstrip("/") + "/version", verify=False) if url else None


def _url(getter: Callable[[Context], str | None], name: str) -> Callable[[Context], Target | None]:
    def target(ctx: Context) -> Target | None:
        value = getter(ctx)
        if not value or not value.startswith(("http://", "https://")):
            return None
        return Target(name, value)

    return target


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("gitlab", "GitLab web", _url(lambda c: c.settings.gitlab.url, "gitlab"), "gitlab.url"),
    Endpoint(
        "gitlab-ssh",
        "GitLab SSH port",
        lambda c: (
            Target("gitlab-ssh", f"ssh://{c.settings.gitlab.host}:{c.settings.gitlab.ssh_port}")
            if c.settings.gitlab.host
            else None
        ),
        "gitlab.host",
        laptop_only=True,  # git over SSH is a laptop's; a pod uses the token over HTTPS
    ),
    Endpoint(
        "rancher", "Rancher dashboard", _url(lambda c: c.settings.rancher.url, "rancher"), "rancher.url"
    ),
    Endpoint("runai", "Run:ai dashboard", _url(lambda c: c.settings.runai.url, "runai"), "runai.url"),
    Endpoint("cluster", "Run:ai cluster API", _cluster_target, "runai.cluster_url"),
    Endpoint(
        "harbor",
        "Harbor registry",
        lambda c: (
            Target("harbor", f"https://{c.settings.harbor.registry}/v2/")
            if c.settings.harbor.registry
            else None
        ),
        "harbor.registry",
    ),
    Endpoint(
        "ecs", "ECS object storage", _url(lambda c: c.settings.ecs.endpoint_url, "ecs"), "ecs.endpoint_url"
    ),
    Endpoint(
        "mlflow",
        "MLflow tracking server",
        _url(lambda c: c.settings.mlflow.tracking_uri, "mlflow"),
        "mlflow.tracking_uri",
    ),
)


def _run_probe(endpoint: Endpoint) -> Callable[[Context, Recorder], None]:
    check_id = f"vpn.{endpoint.key}"

    def run(ctx: Context, rec: Recorder) -> None:
        target = endpoint.target(ctx)
        if target is None:
            rec.skip(
                check_id,
                NOT_CONFIGURED,
                f"No {endpoint.title} configured; nothing to probe",
                hint=f"Set {endpoint.setting} if you use it (`aisg-check config` shows the settings).",
            )
            return
        record(rec, check_id, target, probe(ctx, target, rec.step_timeout(ctx.timeout)))

    return run


def record(rec: Recorder, step: str, target: Target, outcome: Outcome, title: str = "") -> None:
    details = dict(outcome.details)
    details.setdefault("url", target.url)
    if outcome.ok and not outcome.warn:
        note = "" if target.verify else " (TLS not verified, as the kubeconfig says)"
        rec.ok(step, outcome.summary + note, details=details, title=title)
    elif outcome.ok:
        assert outcome.diagnosis is not None
        rec.warn(step, outcome.diagnosis, outcome.summary, hint=outcome.hint, details=details, title=title)
    else:
        assert outcome.diagnosis is not None
        rec.fail(step, outcome.diagnosis, outcome.summary, hint=outcome.hint, details=details, title=title)


def _run_extra(ctx: Context, rec: Recorder) -> None:
    """Probe every extra endpoint at once; results keep the order of the setting."""
    targets = [
        Target(f"extra.{i}", url if "://" in url else f"tcp://{url}")
        for i, url in enumerate(ctx.settings.vpn.extra, start=1)
    ]
    budget = rec.step_timeout(ctx.timeout)
    outcomes = rec.parallel(lambda target: probe(ctx, target, budget), targets, name="probe")
    for target, outcome in zip(targets, outcomes, strict=True):
        if outcome is not None:  # None: the deadline came first, and the runner says so
            record(rec, f"vpn.{target.name}", target, outcome, title=f"Extra endpoint {target.url}")


def _run_status(ctx: Context, rec: Recorder) -> None:
    results = [r for check in PROBES for r in rec.prior(check.id)]
    results += list(rec.prior("vpn.extra"))
    probed = [r for r in results if r.code not in (NOT_CONFIGURED.code, NOT_APPLICABLE.code)]
    if not probed:
        rec.skip("vpn.status", NOT_CONFIGURED, "No internal endpoint configured to probe")
        return
    failing = [r for r in probed if r.status in (Status.FAIL, Status.ERROR)]
    details = {"probed": len(probed), "failing": [r.id for r in failing]}
    if not failing:
        rec.ok("vpn.status", f"On the VPN: all {len(probed)} internal endpoints answer", details=details)
    elif len(failing) == len(probed) and all(r.code == VPN_DNS_FAILED.code for r in failing):
        rec.fail(
            "vpn.status",
            VPN_NOT_CONNECTED,
            f"Off the NUS VPN: none of the {len(probed)} internal host names resolve",
            details=details,
        )
    elif len(failing) == len(probed):
        rec.fail(
            "vpn.status",
            VPN_UNREACHABLE,
            f"None of the {len(probed)} internal endpoints answers: most likely off the NUS VPN",
            details=details,
        )
    else:
        rec.warn(
            "vpn.status",
            VPN_PARTIAL,
            f"{len(failing)} of {len(probed)} internal endpoints do not answer: "
            + ", ".join(r.id for r in failing),
            details=details,
        )


# Every diagnosis this module defines or imports, and any a probe's outcome carries.
DECLARED = declared(sys.modules[__name__], NETWORK_DIAGNOSES)

PROBES: tuple[Check, ...] = tuple(
    Check(
        id=f"vpn.{e.key}",
        component="vpn",
        title=e.title,
        steps=(Step(f"vpn.{e.key}", e.title),),
        run=_run_probe(e),
        diagnoses=DECLARED,
        budget=1.0,
        laptop_only=e.laptop_only,
    )
    for e in ENDPOINTS
)

EXTRA = Check(
    id="vpn.extra",
    component="vpn",
    title="Extra endpoints (vpn.extra)",
    steps=(Step("vpn.extra", "Extra endpoints", group=True),),
    run=_run_extra,
    diagnoses=DECLARED,
    budget=1.0,
)

STATUS = Check(
    id="vpn.status",
    component="vpn",
    title="NUS VPN",
    steps=(Step("vpn.status", "NUS VPN"),),
    run=_run_status,
    needs=(*(p.id for p in PROBES), EXTRA.id),
    diagnoses=DECLARED,
    budget=0.0,
)

CHECKS: tuple[Check, ...] = (*PROBES, EXTRA, STATUS)
