"""Layer 2, `ecs.endpoint`: the check always talks to `ecs.endpoint_url`; this layer tells
whether the user's own aws and boto3 would too, without `--endpoint-url` (else they talk to
Amazon and fail with InvalidAccessKeyId)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from aisg_check.check import Recorder, Step
from aisg_check.checks.ecs.diagnoses import (
    ECS_ENDPOINT_INVALID,
    ECS_ENDPOINT_MISMATCH,
    ECS_ENDPOINT_NOT_SET,
    NOT_APPLICABLE,
)
from aisg_check.checks.ecs.profile import Profile
from aisg_check.context import Context
from aisg_check.platform import aws

ENDPOINT = Step("ecs.endpoint", "S3 endpoint URL")


def endpoint_url(ctx: Context, rec: Recorder) -> str:
    """The endpoint the check talks to; a failure of this layer when it is not an http(s) URL
    (the settings refuse one, but the check must cope on its own)."""
    endpoint = ctx.settings.ecs.endpoint_url.strip()
    split = urlsplit(endpoint)
    if split.scheme not in ("http", "https") or not split.hostname:
        raise rec.fail(
            ENDPOINT,
            ECS_ENDPOINT_INVALID,
            f"ecs.endpoint_url {endpoint!r} is not an http(s) URL",
            hint="Set ecs.endpoint_url to https://necs.nus.edu.sg (`aisg-check config` shows its source).",
            details={"endpoint_url": endpoint},
        )
    return endpoint.rstrip("/")


def _norm(url: str) -> str:
    split = urlsplit(url.strip())
    return f"{split.scheme.lower()}://{split.netloc.lower()}{split.path.rstrip('/')}"


def _configured_endpoint(ctx: Context, session: Any, profile: Profile) -> tuple[str | None, str]:
    """What the user's own aws/boto3 would use for S3 without --endpoint-url, and from where,
    resolved the way botocore does (service env var, global env var, services section, profile)."""
    from botocore.configprovider import ConfiguredEndpointProvider

    ignore = ctx.env.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS") or profile.scoped.get(
        "ignore_configured_endpoint_urls"
    )
    if str(ignore).lower() == "true":
        return None, "ignore_configured_endpoint_urls is true"
    provider = ConfiguredEndpointProvider(
        full_config=session.full_config,
        scoped_config=dict(profile.scoped),
        client_name="s3",
        environ=dict(ctx.env),
    )
    url = provider.provide()
    if not url:
        return None, ""
    if ctx.env.get("AWS_ENDPOINT_URL_S3") == url:
        source = "AWS_ENDPOINT_URL_S3"
    elif ctx.env.get("AWS_ENDPOINT_URL") == url:
        source = "AWS_ENDPOINT_URL"
    else:
        source = f"{aws.shown(ctx, profile.files.config)} profile '{profile.name}'"
    return str(url), source


def endpoint_layer(ctx: Context, rec: Recorder, session: Any, profile: Profile, endpoint: str) -> None:
    """Only ever a warning: the check itself goes on to the endpoint it was given."""
    if ctx.in_cluster:
        # Nobody runs aws or boto3 by hand in a fleet pod: only the check's own endpoint matters.
        rec.skip(
            ENDPOINT,
            NOT_APPLICABLE,
            f"Not applicable in a pod: no one's own aws/boto3 setup here; the check uses {endpoint}",
            details={"endpoint_url": endpoint},
        )
        return
    configured, source = _configured_endpoint(ctx, session, profile)
    details = {"endpoint_url": endpoint, "aws_endpoint_url": configured, "aws_endpoint_from": source or None}
    section = "default" if profile.name == "default" else f"profile {profile.name}"
    if configured is None:
        rec.warn(
            ENDPOINT,
            ECS_ENDPOINT_NOT_SET,
            f"Checking {endpoint}, but your aws/boto3 setup for profile '{profile.name}' sets no S3 endpoint"
            + (f" ({source})" if source else "")
            + ": without --endpoint-url they talk to Amazon",
            hint=f"Add `endpoint_url = {endpoint}` under [{section}] in "
            f"{aws.shown(ctx, profile.files.config)}, "
            f"or `export AWS_ENDPOINT_URL_S3={endpoint}`, "
            f"or pass `--endpoint-url {endpoint}` to every aws command.",
            details=details,
        )
    elif _norm(configured) != _norm(endpoint):
        rec.warn(
            ENDPOINT,
            ECS_ENDPOINT_MISMATCH,
            f"Your aws/boto3 setup sends S3 requests to {configured} (from {source}), "
            f"not to ECS at {endpoint}",
            hint=f"Set it to {endpoint} ({source}), or run with `--set ecs.endpoint_url={configured}` "
            "if that is the endpoint to check.",
            details=details,
        )
    else:
        rec.ok(
            ENDPOINT,
            f"aws and boto3 use {endpoint} for profile '{profile.name}' (from {source})",
            details=details,
        )
