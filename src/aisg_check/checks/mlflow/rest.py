"""The tracking server's REST API (mlflow.org/docs/latest/api_reference/rest-api.html) over the
context's HTTP client: its CAs, proxies and a timeout. The layers up to the run's params and
metrics talk to it directly, so that they run while the MLflow client is still loading; the
artifact goes through the client itself (`client_env.py`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from aisg_check.check import Recorder, StepRef, Stop
from aisg_check.checks.mlflow.diagnoses import ENDPOINT_UNEXPECTED_ANSWER, TLS_UNTRUSTED_CERT
from aisg_check.checks.mlflow.settings import Target
from aisg_check.context import Context
from aisg_check.model import Diagnosis
from aisg_check.net.failures import Failure, transport_failure
from aisg_check.secrets import strip_userinfo

if TYPE_CHECKING:
    import httpx


def insecure(ctx: Context) -> bool:
    """MLFLOW_TRACKING_INSECURE_TLS, honoured as the client honours it."""
    return ctx.env.get("MLFLOW_TRACKING_INSECURE_TLS", "").lower() in ("1", "true", "yes")


def call(
    ctx: Context, rec: Recorder, target: Target, method: str, path: str, *, fallback: Diagnosis, **kwargs: Any
) -> httpx.Response | Failure:
    """One request with the user's credentials to `path` under the tracking URI (or to a whole
    URL); the diagnosed failure when it got no answer (`fallback` for what no shared network
    code describes)."""
    import httpx

    url = path if path.startswith(("http://", "https://")) else f"{target.uri}{path}"
    try:
        with ctx.http(verify=not insecure(ctx), timeout=rec.step_timeout(ctx.timeout)) as client:
            headers = {**target.auth_header(), **kwargs.pop("headers", {})}
            return client.request(method, url, headers=headers, **kwargs)
    except httpx.HTTPError as exc:
        return transport_failure(ctx, exc, url, fallback=fallback)


def tls_hint(failure: Failure) -> str | None:
    """An untrusted certificate: the fix that serves aisg-check and the user's MLflow client alike."""
    if failure.diagnosis is not TLS_UNTRUSTED_CERT:
        return None
    return (
        f"{failure.diagnosis.fix} aisg-check and the MLflow client both read REQUESTS_CA_BUNDLE, so "
        "`export REQUESTS_CA_BUNDLE=/path/ca.pem` fixes both (MLFLOW_TRACKING_SERVER_CERT_PATH "
        "only the client)."
    )


def body(response: httpx.Response) -> dict[str, Any] | None:
    """The body as a JSON object: MLflow's REST API answers nothing else (errors included)."""
    try:
        parsed = response.json()
    except ValueError:  # an HTML page, a login form, an empty redirect
        return None
    return parsed if isinstance(parsed, dict) else None


def server_message(response: httpx.Response) -> str:
    parsed = body(response)
    text = str(parsed.get("message") or parsed) if parsed is not None else response.text
    return " ".join(text.split())[:200]


def words(ctx: Context, exc: BaseException) -> str:
    """A library's exception as one scrubbed line: its type and its first 300 characters."""
    text = " ".join(str(exc).split())
    return ctx.scrubber.scrub_external(f"{type(exc).__name__}: {text[:300]}")


def unexpected(rec: Recorder, step: StepRef, target: Target, response: httpx.Response, what: str) -> Stop:
    """Something answered at the URL, but not an MLflow tracking server's API."""
    status = response.status_code
    ctype = response.headers.get("content-type", "").split(";")[0].strip()
    details: dict[str, Any] = {"http_status": status, "content_type": ctype or None}
    if 300 <= status < 400:
        location = response.headers.get("location", "")
        shown = urlunsplit((*urlsplit(strip_userinfo(location))[:3], "", "")) if location else "?"
        details["location"] = shown
        answer = f"a redirect (HTTP {status} to {shown})"
    elif "html" in ctype or response.text.lstrip()[:1] == "<":
        answer = f"an HTML page (HTTP {status})"
    else:
        answer = f"HTTP {status} without MLflow's JSON"
    return rec.fail(
        step,
        ENDPOINT_UNEXPECTED_ANSWER,
        f"{target.uri} answered {what} with {answer}: it is not an MLflow tracking server's API",
        hint=f"{target.uri} is not an MLflow tracking server: check mlflow.tracking_uri "
        "(MLFLOW_TRACKING_URI or --tracking-uri) against the URL the MLOps team gave you: the "
        "server's base URL, not a page of its UI or a login portal.",
        details=details,
    )


def section(data: dict[str, Any] | None, *keys: str) -> dict[str, Any]:
    """`data[k1][k2]…` when each level is a JSON object, else {}: a malformed answer is not a crash."""
    found: Any = data
    for key in keys:
        found = found.get(key) if isinstance(found, dict) else None
    return found if isinstance(found, dict) else {}


def items(data: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """The JSON objects in the list `data[key]`; [] when it is not a list."""
    found = data.get(key)
    return [item for item in found if isinstance(item, dict)] if isinstance(found, list) else []
