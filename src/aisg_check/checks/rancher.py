"""`rancher`: the Rancher dashboard answers. Sign-in is SSO in a browser, so that is all a
command-line tool can tell; the hint says where to go next."""

from __future__ import annotations

import sys

from aisg_check.check import Check, Recorder, Step, declared
from aisg_check.context import Context
from aisg_check.diagnoses import ENDPOINT_HTTP_ERROR, NETWORK_DIAGNOSES, NOT_CONFIGURED
from aisg_check.model import CONTACT_MLOPS, Diagnosis
from aisg_check.net.failures import transport_failure

RANCHER_NOT_RANCHER = Diagnosis(
    "RANCHER_NOT_RANCHER",
    "Not a Rancher server",
    "The URL answers, but not as Rancher does (its /ping does not answer 'pong'): a wrong URL, or a "
    "login portal in front of it.",
    "Check rancher.url (`aisg-check config`); open it in a browser and sign in with your AI Singapore "
    "account.",
    CONTACT_MLOPS,
)


def run(ctx: Context, rec: Recorder) -> None:
    url = ctx.settings.rancher.url.rstrip("/")
    if not url:
        rec.skip("rancher.dashboard", NOT_CONFIGURED, "No Rancher URL configured (rancher.url)")
        return
    rec.require("vpn.rancher")
    import httpx

    try:
        with ctx.http(timeout=rec.step_timeout(ctx.timeout)) as client:
            response = client.get(f"{url}/ping")
    except httpx.HTTPError as exc:
        # The probe passed a moment ago, so this is TLS, a hang, a proxy or a broken answer.
        failure = transport_failure(ctx, exc, url)
        raise rec.fail(
            "rancher.dashboard", failure.diagnosis, failure.summary, details={"url": url}
        ) from None
    details = {"url": url, "http_status": response.status_code}
    if response.status_code >= 500:
        rec.fail(
            "rancher.dashboard",
            ENDPOINT_HTTP_ERROR,
            f"Rancher at {url} answers HTTP {response.status_code}",
            details=details,
        )
    elif response.status_code == 200 and response.text.strip() == "pong":
        rec.ok(
            "rancher.dashboard",
            f"Rancher answers at {url}; sign in there with your AI Singapore account in a browser",
            details={
                **details,
                "next": f"If your project's cluster is not listed after sign-in, ask {CONTACT_MLOPS}.",
            },
        )
    else:
        rec.fail(
            "rancher.dashboard",
            RANCHER_NOT_RANCHER,
            f"{url} answers HTTP {response.status_code}, but not as Rancher",
            details=details,
        )


# Every diagnosis this module defines or imports, and any transport failure: what it may report.
DECLARED = declared(sys.modules[__name__], NETWORK_DIAGNOSES)

CHECKS = (
    Check(
        id="rancher",
        component="rancher",
        title="Rancher",
        steps=(Step("rancher.dashboard", "Rancher dashboard"),),
        run=run,
        needs=("vpn.rancher",),
        diagnoses=DECLARED,
    ),
)
