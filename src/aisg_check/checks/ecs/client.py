"""The S3 client the remote layers share, and what an S3 call's failure means.

Only botocore (boto3 is a thin layer over it and costs import time for nothing here), imported
inside the functions: `aisg-check --help` and `vpn` never load it. The session reads `ctx.env`
and the aws files `ecs.profile` chose, never `os.environ`; the keys are handed to the client
explicitly, so it can never fall through to the instance-metadata or container providers.
A transport failure gets its code from `net.failures`, as in every component.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aisg_check.check import Recorder, Step, Stop
from aisg_check.checks.ecs.diagnoses import (
    ECS_CLOCK_SKEW,
    ECS_INVALID_ACCESS_KEY,
    ECS_S3_ERROR,
    ECS_SESSION_EXPIRED,
    ECS_SIGNATURE_MISMATCH,
)
from aisg_check.checks.ecs.profile import Profile
from aisg_check.context import Context
from aisg_check.net.failures import Failure, transport_failure
from aisg_check.net.proxies import proxy_for
from aisg_check.platform import aws

# botocore's own defaults are 60 s timeouts and a mode-dependent retry count (legacy: 5, standard: 3);
# one retry is enough for a transient 5xx and keeps a dead endpoint from costing minutes.
MAX_ATTEMPTS = 2


def session(ctx: Context, files: aws.AwsFiles) -> Any:
    """A botocore session that reads ctx.env and our aws files, never os.environ."""
    import botocore.session
    from botocore import configprovider as cp

    made = botocore.session.Session()
    factory = cp.ConfigChainFactory(session=made, environ=dict(ctx.env))

    def chains(variables: Mapping[str, Any]) -> dict[str, Any]:
        return {
            name: factory.create_config_chain(
                instance_name=name,
                env_var_names=spec[1],
                config_property_names=spec[0],
                default=spec[2],
                conversion_func=spec[3],
            )
            for name, spec in variables.items()
        }

    mapping = chains(cp.BOTOCORE_DEFAUT_SESSION_VARIABLES)
    mapping["s3"] = cp.SectionConfigProvider("s3", made, chains(cp.DEFAULT_S3_CONFIG_VARS))
    mapping["proxies_config"] = cp.SectionConfigProvider(
        "proxies_config", made, chains(cp.DEFAULT_PROXIES_CONFIG_VARS)
    )
    made.register_component("config_store", cp.ConfigValueStore(mapping=mapping))
    made.register_component("data_loader", _s3_loader(made))
    made.set_config_variable("credentials_file", str(files.credentials))
    made.set_config_variable("config_file", str(files.config))
    # The metadata service is never asked (explicit keys below), and must not be even by accident.
    made.set_config_variable("metadata_service_num_attempts", 0)
    return made


def _s3_loader(made: Any) -> Any:
    """botocore's model loader, minus its habit of listing (and stat-ing) the ~400 service
    directories just to confirm that "s3" exists: a fifth of the client's creation time."""
    from botocore.loaders import create_loader

    loader = create_loader(made.get_config_variable("data_path"))
    loader.list_available_services = lambda type_name: ["s3"]
    return loader


@contextmanager
def ca_bundle(ctx: Context, endpoint: str) -> Iterator[str | bool]:
    """botocore takes one CA file; combine certifi's roots with ours (ca_bundle, REQUESTS_CA_BUNDLE,
    AWS_CA_BUNDLE) in a temporary file so a private CA adds to the public roots, as ctx.ssl_context does.
    No file for a plain http:// endpoint: nothing there is verified."""
    if not endpoint.lower().startswith("https://"):
        yield True
        return
    files = list(ctx.ca_files())
    aws_ca = ctx.env.get("AWS_CA_BUNDLE")
    if aws_ca and os.path.isfile(aws_ca):
        files.append(aws_ca)
    if not files:
        yield True
        return
    parts = []
    try:
        import certifi

        parts.append(Path(certifi.where()).read_text())
    except (ImportError, OSError):
        pass
    for path in files:
        try:
            parts.append(Path(path).read_text(errors="replace"))
        except OSError:
            continue  # an unreadable extra bundle adds nothing; the public roots still apply
    import tempfile

    fd, name = tempfile.mkstemp(prefix="aisg-check-ca-", suffix=".pem")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write("\n".join(parts))
        yield name
    finally:
        os.unlink(name)


def _config(ctx: Context, rec: Recorder, endpoint: str) -> Any:
    from botocore.config import Config

    from aisg_check import __version__

    split = urlsplit(endpoint)
    proxy = proxy_for(ctx.env, split.scheme, split.hostname or "")
    timeout = rec.step_timeout(ctx.timeout)
    options: dict[str, Any] = {
        "connect_timeout": timeout,
        "read_timeout": timeout,
        "retries": {"mode": "standard", "total_max_attempts": MAX_ATTEMPTS},
        "s3": {"addressing_style": "path"},
        "signature_version": "s3v4",
        # An explicit (possibly empty) mapping: botocore would otherwise read os.environ's proxies.
        "proxies": {split.scheme: proxy} if proxy else {},
        "user_agent_extra": f"aisg-check/{__version__}",
        # botocore >= 1.36 adds CRC checksums to every upload by default, which S3-compatible
        # stores such as ECS reject; only send them when an operation requires one.
        "request_checksum_calculation": "when_required",
        "response_checksum_validation": "when_required",
    }
    try:
        return Config(**options)
    except TypeError:  # botocore < 1.36 has no checksum options and needs none
        for key in ("request_checksum_calculation", "response_checksum_validation"):
            options.pop(key)
        return Config(**options)


@dataclass(frozen=True)
class S3Failure:
    code: str  # S3 error code ("AccessDenied", "404"), botocore's class name, or "" for transport
    status: int | None
    message: str
    transport: Failure | None = None
    error: Mapping[str, Any] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class S3:
    """A client for the endpoint; `call` turns every botocore error into an S3Failure."""

    ctx: Context
    client: Any
    endpoint: str

    def call(self, fn: Callable[[], Any]) -> Any:
        """Run one S3 call; its response, or an S3Failure (never raises botocore's errors)."""
        from botocore import exceptions as bx

        try:
            return fn()
        except bx.ClientError as exc:
            response = exc.response or {}
            error = response.get("Error", {}) or {}
            meta = response.get("ResponseMetadata", {}) or {}
            return S3Failure(
                str(error.get("Code", "")),
                meta.get("HTTPStatusCode"),
                self.ctx.scrubber.scrub_external(str(error.get("Message", "") or exc)),
                None,
                error,
                meta.get("HTTPHeaders", {}),
            )
        except (bx.ConnectionError, bx.HTTPClientError) as exc:
            failure = transport_failure(self.ctx, exc, self.endpoint)
            return S3Failure("", None, failure.summary, failure)
        except bx.BotoCoreError as exc:  # refused before any request (an invalid bucket name)
            return S3Failure(type(exc).__name__, None, self.ctx.scrubber.scrub_external(str(exc)))


def connect(
    ctx: Context, rec: Recorder, made: Any, profile: Profile, endpoint: str, verify: str | bool
) -> S3:
    client = made.create_client(
        "s3",
        region_name=profile.scoped.get("region") or "us-east-1",  # ECS ignores it; SigV4 needs one
        endpoint_url=endpoint,
        verify=verify,
        aws_access_key_id=profile.keys.access_key_id,
        aws_secret_access_key=profile.keys.secret.reveal(),
        aws_session_token=profile.keys.token.reveal() if profile.keys.token else None,
        config=_config(ctx, rec, endpoint),
    )
    return S3(ctx, client, endpoint)


# -- what a failure means ------------------------------------------------------------------------


def common_failure(s3: S3, rec: Recorder, step: Step | str, failure: S3Failure, what: str) -> Stop | None:
    """Record the failures any S3 call can meet (transport, keys, clock): the `Stop` to raise,
    or None when the failure is not one of them."""
    details: dict[str, Any] = {
        "endpoint_url": s3.endpoint,
        "http_status": failure.status,
        "s3_code": failure.code,
    }
    if failure.transport is not None:
        return rec.fail(step, failure.transport.diagnosis, failure.transport.summary, details=details)
    if failure.code == "InvalidAccessKeyId":
        return rec.fail(
            step,
            ECS_INVALID_ACCESS_KEY,
            f"ECS at {s3.endpoint} does not know this access key id ({what})",
            details=details,
        )
    if failure.code == "SignatureDoesNotMatch":
        return rec.fail(
            step,
            ECS_SIGNATURE_MISMATCH,
            f"ECS at {s3.endpoint} knows the access key id, but the secret key does not match ({what})",
            details=details,
        )
    if failure.code == "ExpiredToken":
        # Session keys past their expiry that nothing wrote down for the profile layer to see.
        return rec.fail(
            step,
            ECS_SESSION_EXPIRED,
            f"ECS at {s3.endpoint} says the session token of these keys has expired ({what})",
            details=details,
        )
    if failure.code == "RequestTimeTooSkewed":
        offset = _skew_seconds(s3.ctx, failure)
        shown = (
            f"{offset:+.0f} s ({abs(offset) / 60:.0f} min {'ahead of' if offset > 0 else 'behind'})"
            if offset is not None
            else "more than 15 minutes off from"
        )
        return rec.fail(
            step,
            ECS_CLOCK_SKEW,
            f"This machine's clock is {shown} ECS's clock; requests are rejected",
            details={**details, "clock_offset_s": None if offset is None else round(offset)},
        )
    return None


def other_failure(s3: S3, rec: Recorder, step: Step | str, failure: S3Failure, what: str, **kw: Any) -> Stop:
    status = f" (HTTP {failure.status})" if failure.status else ""
    return rec.fail(
        step,
        ECS_S3_ERROR,
        f"{what} at {s3.endpoint} failed: {failure.code or 'error'}{status}: {failure.message}",
        details={"endpoint_url": s3.endpoint, "http_status": failure.status, "s3_code": failure.code},
        **kw,
    )


def _parse_time(text: str) -> datetime | None:
    for fmt in ("%Y%m%dT%H%M%SZ", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S.%fZ", "%a, %d %b %Y %H:%M:%S GMT"):
        try:
            return datetime.strptime(text.strip(), fmt).replace(tzinfo=timezone.utc)
        except ValueError:
            continue
    return None


def _skew_seconds(ctx: Context, failure: S3Failure) -> float | None:
    """Request time minus server time: positive when this machine's clock runs ahead."""
    request = _parse_time(str(failure.error.get("RequestTime", ""))) or ctx.now()
    server = _parse_time(str(failure.error.get("ServerTime", "") or failure.headers.get("date", "")))
    if server is None:
        return None
    return (request - server).total_seconds()
