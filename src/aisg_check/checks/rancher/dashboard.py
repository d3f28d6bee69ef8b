"""The one layer a command-line tool can check: the dashboard answers as Rancher does."""

from __future__ import annotations

from aisg_check.check import Recorder, Step
from aisg_check.checks.rancher.diagnoses import ENDPOINT_HTTP_ERROR, NOT_CONFIGURED, RANCHER_NOT_RANCHER
from aisg_check.context import Context
from aisg_check.model import CONTACT_MLOPS
from aisg_check.net.failures import transport_failure

DASHBOARD = Step("rancher.dashboard", "Rancher dashboard")


def run(ctx: Context, rec: Recorder) -> None:
    url = ctx.settings.rancher.url.rstrip("/")
    if not url:
        rec.skip(DASHBOARD, NOT_CONFIGURED, "No Rancher URL configured (rancher.url)")
        return
    rec.require("vpn.rancher")
    import httpx

    try:
        with ctx.http(timeout=rec.step_timeout(ctx.timeout)) as client:
            response = client.get(f"{url}/ping")
    except httpx.HTTPError as exc:
        # The probe passed a moment ago, so this is TLS, a hang, a proxy or a broken answer.
        failure = transport_failure(ctx, exc, url)
        raise rec.fail(DASHBOARD, failure.diagnosis, failure.summary, details={"url": url}) from None
    details = {"url": url, "http_status": response.status_code}
    if response.status_code >= 500:
        raise rec.fail(
            DASHBOARD,
            ENDPOINT_HTTP_ERROR,
            f"Rancher at {url} answers HTTP {response.status_code}",
            details=details,
        )
    if response.status_code != 200 or response.text.strip() != "pong":
        raise rec.fail(
            DASHBOARD,
            RANCHER_NOT_RANCHER,
            f"{url} answers HTTP {response.status_code}, but not as Rancher",
            details=details,
        )
    rec.ok(
        DASHBOARD,
        f"Rancher answers at {url}; sign in there with your AI Singapore account in a browser",
        details={
            **details,
            "next": f"If your project's cluster is not listed after sign-in, ask {CONTACT_MLOPS}.",
        },
    )
