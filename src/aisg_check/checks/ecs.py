"""`ecs`: the S3 credentials from the DataOps team reach AI Singapore's ECS object storage.

The layers follow what `aws --profile p --endpoint-url https://necs.nus.edu.sg s3 ls` does:

1. profile   which profile and which keys (environment or ~/.aws files), read as botocore does
2. endpoint  whether the user's own aws/boto3 setup points S3 at ECS (else they talk to Amazon)
3. list      ListBuckets with those keys (denied is only a warning: ECS hides some buckets)
4. bucket    each named bucket: HeadBucket and a one-key listing
5. write     opt-in: put, read back and delete one small object

Only botocore is used (boto3 is a thin layer over it and costs import time for nothing here),
and only inside `run`: `aisg-check --help` and `vpn` never import it. The credential chain is
built explicitly from static keys (environment, credentials file, config file), so the check
can never fall through to the instance-metadata or container providers (169.254.169.254), and
every setting is read from `ctx.env` and `ctx.home`, never from `os.environ`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aisg_check.check import Check, Recorder, Step, declared
from aisg_check.context import Context
from aisg_check.diagnoses import (
    ENDPOINT_NO_ANSWER,
    NETWORK_DIAGNOSES,
    NOT_CONFIGURED,
    PROXY_UNREACHABLE,
    VPN_CONNECT_REFUSED,
    VPN_CONNECT_TIMEOUT,
    VPN_DNS_FAILED,
)
from aisg_check.model import CONTACT_DATAOPS, Diagnosis
from aisg_check.net.failures import classify_tls_error, find_ssl_error
from aisg_check.net.probe import proxy_for
from aisg_check.platform import aws

# -- diagnoses ---------------------------------------------------------------------------------

ECS_CREDENTIALS_FILE_INVALID = Diagnosis(
    "ECS_CREDENTIALS_FILE_INVALID",
    "AWS credentials or config file is malformed",
    "~/.aws/credentials or ~/.aws/config cannot be parsed (a line that is neither `[section]` nor "
    "`key = value`, a duplicate section or key), or a profile has an access key without its secret. "
    "aws and boto3 refuse to run with such a file.",
    "Open the file at the line named in the result and fix it: each profile is a `[name]` line "
    "followed by `aws_access_key_id = ...` and `aws_secret_access_key = ...` lines.",
    CONTACT_DATAOPS,
)
ECS_PROFILE_NOT_FOUND = Diagnosis(
    "ECS_PROFILE_NOT_FOUND",
    "AWS profile not found",
    "The profile chosen by --profile, ecs.profile or AWS_PROFILE is in neither ~/.aws/credentials "
    "nor ~/.aws/config.",
    "Use one of the profiles listed in the result (`--profile NAME` or `export AWS_PROFILE=NAME`), or "
    "add the profile with the keys the DataOps team gave you to ~/.aws/credentials.",
    CONTACT_DATAOPS,
)
ECS_NO_CREDENTIALS = Diagnosis(
    "ECS_NO_CREDENTIALS",
    "No ECS credentials",
    "No access key and secret key were found: not in the environment (AWS_ACCESS_KEY_ID, "
    "AWS_SECRET_ACCESS_KEY) and not in the chosen profile of ~/.aws/credentials or ~/.aws/config.",
    "Put the keys the DataOps team gave you in ~/.aws/credentials as `[profile-1]`, "
    "`aws_access_key_id = ...`, `aws_secret_access_key = ...`, then run `aisg-check ecs --profile "
    "profile-1`. No keys yet? Ask the DataOps team.",
    CONTACT_DATAOPS,
)
ECS_ENV_KEYS_OVERRIDE_PROFILE = Diagnosis(
    "ECS_ENV_KEYS_OVERRIDE_PROFILE",
    "Environment keys differ from the profile's",
    "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY are set in the environment (the MLflow setup exports "
    "them) and differ from the profile's keys. The environment wins over a profile chosen by "
    "AWS_PROFILE (and in every boto3/MLflow script), but not over `aws --profile`: a classic cause of "
    "'works in one shell, not in another'.",
    "Make them agree: `unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY` to use the profile, or export the "
    "same keys the profile holds.",
)
ECS_ENDPOINT_INVALID = Diagnosis(
    "ECS_ENDPOINT_INVALID",
    "ECS endpoint URL is not a URL",
    "ecs.endpoint_url must be an http(s) URL such as https://necs.nus.edu.sg.",
    "Fix ecs.endpoint_url in your aisg-check config (`aisg-check config` shows where it comes from).",
)
ECS_ENDPOINT_NOT_SET = Diagnosis(
    "ECS_ENDPOINT_NOT_SET",
    "AWS tools not pointed at ECS",
    "Your own AWS configuration sets no S3 endpoint for this profile, so `aws s3 ...` and boto3 "
    "(without --endpoint-url) talk to Amazon S3 instead of ECS and fail with InvalidAccessKeyId.",
    "Add `endpoint_url = https://necs.nus.edu.sg` under the profile's section in ~/.aws/config, or "
    "`export AWS_ENDPOINT_URL_S3=https://necs.nus.edu.sg`, or pass `--endpoint-url "
    "https://necs.nus.edu.sg` to every aws command.",
)
ECS_ENDPOINT_MISMATCH = Diagnosis(
    "ECS_ENDPOINT_MISMATCH",
    "AWS tools pointed elsewhere",
    "Your own AWS configuration (AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL or the profile's endpoint_url) "
    "sends S3 requests to another URL than the ECS endpoint this check uses.",
    "Correct the endpoint_url named in the result, or set ecs.endpoint_url if the check should use it.",
)
ECS_INVALID_ACCESS_KEY = Diagnosis(
    "ECS_INVALID_ACCESS_KEY",
    "Access key unknown to ECS",
    "ECS does not know the access key id (InvalidAccessKeyId): a typo, keys for another system "
    "(Amazon, MinIO), or keys that were revoked.",
    "Copy aws_access_key_id again exactly as the DataOps team gave it; if it is right, ask them "
    "whether it is still active.",
    CONTACT_DATAOPS,
)
ECS_SIGNATURE_MISMATCH = Diagnosis(
    "ECS_SIGNATURE_MISMATCH",
    "Secret key does not match",
    "ECS knows the access key id, but the request signature is wrong (SignatureDoesNotMatch): the "
    "secret access key is wrong, truncated or has stray characters.",
    "Copy aws_secret_access_key again (no quotes, no trailing spaces); if it still fails, ask the "
    "DataOps team for a new key pair.",
    CONTACT_DATAOPS,
)
ECS_CLOCK_SKEW = Diagnosis(
    "ECS_CLOCK_SKEW",
    "Clock is off",
    "ECS rejected the request because this machine's clock differs from the server's by more than "
    "15 minutes (RequestTimeTooSkewed); S3 signatures are only valid close to the current time.",
    "Turn on automatic time synchronisation (Linux: `sudo timedatectl set-ntp true`; macOS/Windows: "
    "Date & Time settings → set automatically) and run again.",
)
ECS_ACCESS_DENIED = Diagnosis(
    "ECS_ACCESS_DENIED",
    "Listing buckets denied",
    "The keys are valid, but they may not list buckets (AccessDenied on ListBuckets). On ECS this is "
    "common: some buckets are hidden from listing but still readable.",
    "Name the bucket you were given: `aisg-check ecs --bucket NAME` (or `ecs.buckets` in the config); "
    "the DataOps team can tell you the name.",
    CONTACT_DATAOPS,
)
ECS_BUCKET_NOT_FOUND = Diagnosis(
    "ECS_BUCKET_NOT_FOUND",
    "Bucket does not exist",
    "ECS answers that the named bucket does not exist (404 / NoSuchBucket).",
    "Check the spelling of the bucket name (bucket names are lower case); ask the DataOps team for the "
    "right name.",
    CONTACT_DATAOPS,
)
ECS_BUCKET_DENIED = Diagnosis(
    "ECS_BUCKET_DENIED",
    "Bucket not readable with these keys",
    "ECS refuses to list the named bucket with these keys (403 / AccessDenied): the keys were not "
    "granted access to it, or the name is wrong (without access, a missing bucket looks the same).",
    "Check the bucket name and the profile; if both are right, ask the DataOps team to grant the keys "
    "read access to the bucket.",
    CONTACT_DATAOPS,
)
ECS_WRITE_DENIED = Diagnosis(
    "ECS_WRITE_DENIED",
    "Writing to the bucket denied",
    "The keys may read the bucket but not write to it (AccessDenied on PutObject).",
    "If you need to write (MLflow artifacts, datasets), ask the DataOps team for write access to the bucket.",
    CONTACT_DATAOPS,
)
ECS_WRITE_READBACK_FAILED = Diagnosis(
    "ECS_WRITE_READBACK_FAILED",
    "Written object could not be read back",
    "The test object was written, but reading it back failed or returned other bytes: the keys may "
    "write but not read, or something between here and ECS alters the data.",
    "Ask the DataOps team whether the keys have s3:GetObject on the bucket; the result says what the "
    "read returned.",
    CONTACT_DATAOPS,
)
ECS_WRITE_CLEANUP_FAILED = Diagnosis(
    "ECS_WRITE_CLEANUP_FAILED",
    "Test object left behind",
    "The write test could not delete its test object again (no s3:DeleteObject, or the connection failed).",
    "Delete it with the `aws s3 rm` command in the hint, or ask the DataOps team to.",
    CONTACT_DATAOPS,
)
ECS_WRITE_NO_TIME = Diagnosis(
    "ECS_WRITE_NO_TIME",
    "Write round trip not attempted: out of time",
    "The earlier layers used up so much of the check's time limit that a put, read-back and delete "
    "might not all finish; the write test was left out rather than risk leaving its object behind.",
    "Run the write test on its own with a larger timeout: `aisg-check ecs --write-test --timeout 20` "
    "(fewer --bucket names also help).",
)
ECS_S3_ERROR = Diagnosis(
    "ECS_S3_ERROR",
    "ECS answered with an error",
    "ECS (or whatever answers at the endpoint URL) returned an S3 error this check has no specific "
    "diagnosis for; the result names the error code.",
    "Run again with --verbose and send the output (it contains no secrets) to the DataOps team.",
    CONTACT_DATAOPS,
)

DIAGNOSES = (
    ECS_CREDENTIALS_FILE_INVALID,
    ECS_PROFILE_NOT_FOUND,
    ECS_NO_CREDENTIALS,
    ECS_ENV_KEYS_OVERRIDE_PROFILE,
    ECS_ENDPOINT_INVALID,
    ECS_ENDPOINT_NOT_SET,
    ECS_ENDPOINT_MISMATCH,
    ECS_INVALID_ACCESS_KEY,
    ECS_SIGNATURE_MISMATCH,
    ECS_CLOCK_SKEW,
    ECS_ACCESS_DENIED,
    ECS_BUCKET_NOT_FOUND,
    ECS_BUCKET_DENIED,
    ECS_WRITE_DENIED,
    ECS_WRITE_READBACK_FAILED,
    ECS_WRITE_CLEANUP_FAILED,
    ECS_WRITE_NO_TIME,
    ECS_S3_ERROR,
)

WRITE_TEST_PREFIX = "aisg-check-write-test/"
# botocore's own defaults are 60 s timeouts and a mode-dependent retry count (legacy: 5, standard: 3);
# one retry is enough for a transient 5xx and keeps a dead endpoint from costing minutes.
MAX_ATTEMPTS = 2
WRITE_CALLS = 3  # put, get, delete: the write test starts only with this many timeouts left
BY_DEFAULT = "default (no --profile, ecs.profile or AWS_PROFILE)"

# -- what the profile layer learns -------------------------------------------------------------


@dataclass(frozen=True)
class Profile:
    name: str
    chosen_by: str
    keys: aws.Keys
    files: aws.AwsFiles
    scoped: Mapping[str, Any] = field(default_factory=dict)  # the profile's section of ~/.aws/config


def _chosen_profile(ctx: Context) -> tuple[str, str, bool]:
    """(name, chosen by, explicit). An explicit profile (--profile, ecs.profile) behaves like
    `aws --profile`: botocore then ignores keys in the environment. AWS_PROFILE does not."""
    name = ctx.settings.ecs.profile
    if not name:
        return "default", BY_DEFAULT, False
    if ctx.env.get("AWS_PROFILE") == name:
        return name, "AWS_PROFILE", False
    return name, "--profile / ecs.profile", True


# -- layer 1: profile and keys -----------------------------------------------------------------


def _profile_layer(ctx: Context, rec: Recorder) -> Profile | None:
    from botocore.configloader import load_config, raw_config_parse

    files = aws.aws_files(ctx)
    env_keys = aws.env_keys(ctx)
    try:
        creds = aws.read_ini(ctx, files.credentials, raw_config_parse) or {}
        config = (aws.read_ini(ctx, files.config, load_config) or {}).get("profiles", {})
    except aws.InvalidFile as bad:
        where = f"{bad.path} line {bad.line}" if bad.line else bad.path
        rec.fail(
            "ecs.profile",
            ECS_CREDENTIALS_FILE_INVALID,
            f"{where}: {bad.what}; aws and boto3 cannot read this file",
            hint=f"Open {bad.path}, fix {'line ' + str(bad.line) if bad.line else 'it'}: every profile is "
            "`[name]` followed by `aws_access_key_id = ...` and `aws_secret_access_key = ...`.",
            details={"file": bad.path, "line": bad.line},
        )
        return None
    name, chosen_by, explicit = _chosen_profile(ctx)
    known = sorted(set(creds) | set(config))
    details: dict[str, Any] = {
        "profile": name,
        "chosen_by": chosen_by,
        "credentials_file": aws.shown(ctx, files.credentials),
        "config_file": aws.shown(ctx, files.config),
        "profiles": known,
    }
    if isinstance(env_keys, str):
        rec.fail(
            "ecs.profile",
            ECS_NO_CREDENTIALS,
            env_keys,
            hint="Export both variables, or `unset AWS_ACCESS_KEY_ID` to use the profile.",
            details=details,
        )
        return None
    in_files = name in creds or name in config
    if not in_files and (chosen_by != BY_DEFAULT or env_keys is None):
        _missing_profile(ctx, rec, name, chosen_by, known, files, details)
        return None
    profile_keys = _profile_keys(ctx, rec, name, creds, config, files, details)
    if isinstance(profile_keys, bool):
        return None
    # botocore's order: environment first unless the profile was given explicitly.
    used = profile_keys if explicit else (env_keys or profile_keys)
    if used is None:
        rec.fail(
            "ecs.profile",
            ECS_NO_CREDENTIALS,
            f"Profile [{name}] has no aws_access_key_id/aws_secret_access_key"
            + (
                " (keys in the environment do not count with --profile)"
                if explicit
                else " and none are in the environment"
            )
            + _unsupported_forms(config.get(name, {})),
            hint=f"Add the keys from the DataOps team under [{name}] in {aws.shown(ctx, files.credentials)}: "
            "`aws_access_key_id = ...` and `aws_secret_access_key = ...`.",
            details=details,
        )
        return None
    profile = Profile(name, chosen_by, used, files, config.get(name, {}))
    details |= {"keys_from": used.source, "access_key_id": aws.mask_key_id(used.access_key_id)}
    _record_profile(rec, profile, env_keys, profile_keys, explicit, details)
    return profile


def _missing_profile(
    ctx: Context,
    rec: Recorder,
    name: str,
    chosen_by: str,
    known: list[str],
    files: aws.AwsFiles,
    details: Mapping[str, Any],
) -> None:
    listed = ", ".join(known) if known else "none"
    if chosen_by == BY_DEFAULT:
        hint = (
            f"Choose one of your profiles: `aisg-check ecs --profile {known[0]}` (or `export AWS_PROFILE="
            f"{known[0]}`)."
            if known
            else f"Create {aws.shown(ctx, files.credentials)} with `[default]`, `aws_access_key_id = ...` "
            "and "
            "`aws_secret_access_key = ...` (keys from the DataOps team)."
        )
        rec.fail(
            "ecs.profile",
            ECS_NO_CREDENTIALS,
            f"No [default] profile and no keys in the environment; profiles that exist: {listed}",
            hint=hint,
            details=details,
        )
        return
    hint = (
        f"Use one of: {listed} (`--profile NAME` or `export AWS_PROFILE=NAME`), or add [{name}] with its "
        f"keys to {aws.shown(ctx, files.credentials)}."
        if known
        else f"Add [{name}] with `aws_access_key_id = ...` and `aws_secret_access_key = ...` to "
        f"{aws.shown(ctx, files.credentials)} (keys from the DataOps team)."
    )
    rec.fail(
        "ecs.profile",
        ECS_PROFILE_NOT_FOUND,
        f"Profile '{name}' (from {chosen_by}) is not in {aws.shown(ctx, files.credentials)} or "
        f"{aws.shown(ctx, files.config)}; profiles that exist: {listed}",
        hint=hint,
        details=details,
    )


def _profile_keys(
    ctx: Context,
    rec: Recorder,
    name: str,
    creds: Mapping[str, Any],
    config: Mapping[str, Any],
    files: aws.AwsFiles,
    details: Mapping[str, Any],
) -> aws.Keys | bool | None:
    """The profile's keys, credentials file first (botocore's order); False after a failure."""
    for path, section, label in (
        (files.credentials, creds.get(name), f"[{name}]"),
        (files.config, config.get(name), f"[{name}]" if name == "default" else f"[profile {name}]"),
    ):
        if not isinstance(section, Mapping):
            continue
        found = aws.keys_in(section, f"{aws.shown(ctx, path)} {label}")
        if isinstance(found, str):
            line = aws.section_line(path, label.strip("[]"))
            rec.fail(
                "ecs.profile",
                ECS_CREDENTIALS_FILE_INVALID,
                f"{found}" + (f" (section at line {line})" if line else ""),
                hint=f"Add the missing key under {label} in {aws.shown(ctx, path)}; "
                "both come from the DataOps team.",
                details={**details, "file": aws.shown(ctx, path), "line": line},
            )
            return False
        if found is not None:
            return found
    return None


def _unsupported_forms(section: Mapping[str, Any]) -> str:
    forms = aws.credential_forms(section)
    if not forms:
        return ""
    return f" (it uses {', '.join(forms)}, which aisg-check does not follow: ECS takes static keys)"


def _record_profile(
    rec: Recorder,
    profile: Profile,
    env_keys: aws.Keys | None,
    profile_keys: aws.Keys | None,
    explicit: bool,
    details: dict[str, Any],
) -> None:
    summary = f"Profile '{profile.name}' ({profile.chosen_by}); keys from {profile.keys.source}"
    if env_keys is not None and profile_keys is not None and not env_keys.same_as(profile_keys):
        if explicit:
            text = (
                f"Using profile '{profile.name}' as `aws --profile` does, but AWS_ACCESS_KEY_ID in the "
                "environment holds other keys: boto3 and MLflow scripts in this shell will use those"
            )
        else:
            text = (
                f"AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY in the environment override the keys of profile "
                f"'{profile.name}' ({profile_keys.source}); aws, boto3 and MLflow here use the environment's"
            )
        rec.warn(
            "ecs.profile",
            ECS_ENV_KEYS_OVERRIDE_PROFILE,
            text,
            hint="`unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN` to use the profile, or "
            f"export the keys of [{profile.name}] instead (check your shell profile and .env files).",
            details={**details, "profile_keys_from": profile_keys.source},
        )
        return
    rec.ok("ecs.profile", summary, details=details)


# -- layer 2: endpoint -------------------------------------------------------------------------


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


def _endpoint_layer(ctx: Context, rec: Recorder, session: Any, profile: Profile, endpoint: str) -> None:
    configured, source = _configured_endpoint(ctx, session, profile)
    details = {"endpoint_url": endpoint, "aws_endpoint_url": configured, "aws_endpoint_from": source or None}
    section = "default" if profile.name == "default" else f"profile {profile.name}"
    if configured is None:
        rec.warn(
            "ecs.endpoint",
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
            "ecs.endpoint",
            ECS_ENDPOINT_MISMATCH,
            f"Your aws/boto3 setup sends S3 requests to {configured} (from {source}), "
            f"not to ECS at {endpoint}",
            hint=f"Set it to {endpoint} ({source}), or run with `--set ecs.endpoint_url={configured}` "
            "if that is the endpoint to check.",
            details=details,
        )
    else:
        rec.ok(
            "ecs.endpoint",
            f"aws and boto3 use {endpoint} for profile '{profile.name}' (from {source})",
            details=details,
        )


# -- the client ----------------------------------------------------------------------------------


def _session(ctx: Context, files: aws.AwsFiles) -> Any:
    """A botocore session that reads ctx.env and our aws files, never os.environ."""
    import botocore.session
    from botocore import configprovider as cp

    session = botocore.session.Session()
    factory = cp.ConfigChainFactory(session=session, environ=dict(ctx.env))

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
    mapping["s3"] = cp.SectionConfigProvider("s3", session, chains(cp.DEFAULT_S3_CONFIG_VARS))
    mapping["proxies_config"] = cp.SectionConfigProvider(
        "proxies_config", session, chains(cp.DEFAULT_PROXIES_CONFIG_VARS)
    )
    session.register_component("config_store", cp.ConfigValueStore(mapping=mapping))
    session.register_component("data_loader", _s3_loader(session))
    session.set_config_variable("credentials_file", str(files.credentials))
    session.set_config_variable("config_file", str(files.config))
    # The metadata service is never asked (explicit keys below), and must not be even by accident.
    session.set_config_variable("metadata_service_num_attempts", 0)
    return session


def _s3_loader(session: Any) -> Any:
    """botocore's model loader, minus its habit of listing (and stat-ing) the ~400 service
    directories just to confirm that "s3" exists: a fifth of the client's creation time."""
    from botocore.loaders import create_loader

    loader = create_loader(session.get_config_variable("data_path"))
    loader.list_available_services = lambda type_name: ["s3"]
    return loader


@contextmanager
def _ca_bundle(ctx: Context) -> Iterator[str | bool]:
    """botocore takes one CA file; combine certifi's roots with ours (ca_bundle, REQUESTS_CA_BUNDLE,
    AWS_CA_BUNDLE) in a temporary file so a private CA adds to the public roots, as ctx.ssl_context does."""
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
    parts += [Path(f).read_text(errors="replace") for f in files]
    import tempfile

    fd, name = tempfile.mkstemp(prefix="aisg-check-ca-", suffix=".pem")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write("\n".join(parts))
        yield name
    finally:
        os.unlink(name)


def _client(
    ctx: Context, rec: Recorder, session: Any, profile: Profile, endpoint: str, verify: str | bool
) -> Any:
    from botocore.config import Config

    from aisg_check import __version__

    split = urlsplit(endpoint)
    proxy = proxy_for(ctx, split.scheme, split.hostname or "")
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
        config = Config(**options)
    except TypeError:  # botocore < 1.36 has no checksum options and needs none
        for key in ("request_checksum_calculation", "response_checksum_validation"):
            options.pop(key)
        config = Config(**options)
    return session.create_client(
        "s3",
        region_name=profile.scoped.get("region") or "us-east-1",  # ECS ignores it; SigV4 needs one
        endpoint_url=endpoint,
        verify=verify,
        aws_access_key_id=profile.keys.access_key_id,
        aws_secret_access_key=profile.keys.secret.reveal(),
        aws_session_token=profile.keys.token.reveal() if profile.keys.token else None,
        config=config,
    )


# -- error classification ------------------------------------------------------------------------


@dataclass(frozen=True)
class S3Failure:
    code: str  # S3 error code ("AccessDenied", "404") or "" for a transport failure
    status: int | None
    message: str
    transport: tuple[Diagnosis, str] | None = None
    error: Mapping[str, Any] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    todo: list[Any] = [exc]
    while todo:
        item = todo.pop(0)
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        kwargs = getattr(item, "kwargs", None)
        todo += [kwargs.get("error")] if isinstance(kwargs, dict) else []
        todo += [*item.args, item.__cause__, item.__context__, getattr(item, "reason", None)]


def _transport(ctx: Context, exc: BaseException, endpoint: str) -> tuple[Diagnosis, str]:
    from botocore import exceptions as bx

    host = urlsplit(endpoint).hostname or endpoint
    # botocore keeps the wrapped error in its kwargs too; the ssl error is found under either.
    kwargs = getattr(exc, "kwargs", None)
    tls = find_ssl_error(exc) or find_ssl_error(kwargs.get("error") if isinstance(kwargs, dict) else None)
    if tls is not None:
        return classify_tls_error(host, tls)
    message = ctx.scrubber.scrub(str(exc))
    if isinstance(exc, bx.ProxyConnectionError):
        return PROXY_UNREACHABLE, f"The proxy for {host} could not be reached: {message}"
    if isinstance(exc, bx.ConnectTimeoutError):
        return VPN_CONNECT_TIMEOUT, f"{host} did not accept a connection in time: {message}"
    if isinstance(exc, (bx.ReadTimeoutError, bx.ConnectionClosedError)):
        return ENDPOINT_NO_ANSWER, f"{host} accepted the connection but did not answer: {message}"
    for cause in _causes(exc):
        if isinstance(cause, ConnectionRefusedError) or "Connection refused" in str(cause):
            return VPN_CONNECT_REFUSED, f"{host} refused the connection ({endpoint})"
        if "Name or service not known" in str(cause) or "nodename nor servname" in str(cause):
            return VPN_DNS_FAILED, f"{host} does not resolve"
    return VPN_CONNECT_TIMEOUT, f"Could not reach {endpoint}: {message}"


def _call(ctx: Context, endpoint: str, fn: Callable[[], Any]) -> Any:
    """Run one S3 call; return its response or an S3Failure (never raises botocore errors)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return fn()
    except ClientError as exc:
        response = exc.response or {}
        error = response.get("Error", {}) or {}
        meta = response.get("ResponseMetadata", {}) or {}
        return S3Failure(
            str(error.get("Code", "")),
            meta.get("HTTPStatusCode"),
            ctx.scrubber.scrub(str(error.get("Message", "") or exc)),
            None,
            error,
            meta.get("HTTPHeaders", {}),
        )
    except BotoCoreError as exc:
        return S3Failure("", None, ctx.scrubber.scrub(str(exc)), _transport(ctx, exc, endpoint))


def _common_failure(rec: Recorder, step: str, failure: S3Failure, endpoint: str, what: str) -> bool:
    """Record the failures any S3 call can meet (transport, keys, clock); False if not one of them."""
    details: dict[str, Any] = {
        "endpoint_url": endpoint,
        "http_status": failure.status,
        "s3_code": failure.code,
    }
    if failure.transport is not None:
        diagnosis, summary = failure.transport
        rec.fail(step, diagnosis, summary, details=details)
    elif failure.code == "InvalidAccessKeyId":
        rec.fail(
            step,
            ECS_INVALID_ACCESS_KEY,
            f"ECS at {endpoint} does not know this access key id ({what})",
            details=details,
        )
    elif failure.code == "SignatureDoesNotMatch":
        rec.fail(
            step,
            ECS_SIGNATURE_MISMATCH,
            f"ECS at {endpoint} knows the access key id, but the secret key does not match ({what})",
            details=details,
        )
    elif failure.code == "RequestTimeTooSkewed":
        offset = _skew_seconds(failure)
        shown = (
            f"{offset:+.0f} s ({abs(offset) / 60:.0f} min {'ahead of' if offset > 0 else 'behind'})"
            if offset is not None
            else "more than 15 minutes off from"
        )
        rec.fail(
            step,
            ECS_CLOCK_SKEW,
            f"This machine's clock is {shown} ECS's clock; requests are rejected",
            details={**details, "clock_offset_s": None if offset is None else round(offset)},
        )
    else:
        return False
    return True


def _parse_time(text: str) -> datetime | None:
    for fmt in ("%Y%m%dT%H%M%SZ", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S.%fZ", "%a, %d %b %Y %H:%M:%S GMT"):
        try:
            return datetime.strptime(text.strip(), fmt).replace(tzinfo=timezone.utc)
        except ValueError:
            continue
    return None


def _skew_seconds(failure: S3Failure) -> float | None:
    """Request time minus server time: positive when this machine's clock runs ahead."""
    request = _parse_time(str(failure.error.get("RequestTime", "")))
    server = _parse_time(str(failure.error.get("ServerTime", "") or failure.headers.get("date", "")))
    if request is None:
        request = datetime.now(timezone.utc)
    if server is None:
        return None
    return (request - server).total_seconds()


def _other_failure(rec: Recorder, step: str, failure: S3Failure, endpoint: str, what: str) -> None:
    rec.fail(
        step,
        ECS_S3_ERROR,
        f"{what} at {endpoint} failed: {failure.code or 'error'} (HTTP {failure.status}): {failure.message}",
        details={"endpoint_url": endpoint, "http_status": failure.status, "s3_code": failure.code},
    )


# -- layer 3: list buckets -----------------------------------------------------------------------


def _list_layer(ctx: Context, rec: Recorder, client: Any, endpoint: str) -> list[str] | None:
    """Bucket names (empty when listing is denied); None when the layer failed."""
    answer = _call(ctx, endpoint, client.list_buckets)
    if isinstance(answer, S3Failure):
        if _common_failure(rec, "ecs.list", answer, endpoint, "ListBuckets"):
            return None
        if answer.code == "AccessDenied":
            named = ctx.settings.ecs.buckets
            rec.warn(
                "ecs.list",
                ECS_ACCESS_DENIED,
                f"These keys may not list buckets on {endpoint} (AccessDenied); hidden buckets may still be "
                "readable" + ("; checking the named buckets below" if named else ""),
                hint="The named buckets below tell whether yours is readable."
                if named
                else "Name the bucket you were given: `aisg-check ecs --bucket NAME` "
                "(or `ecs.buckets: [NAME]` in the config); ask the DataOps team for the name.",
                details={"endpoint_url": endpoint},
            )
            return []
        _other_failure(rec, "ecs.list", answer, endpoint, "ListBuckets")
        return None
    names = sorted(str(b.get("Name")) for b in answer.get("Buckets", []))
    details: dict[str, Any] = {"endpoint_url": endpoint, "count": len(names)}
    if ctx.verbose:
        details["buckets"] = names
    rec.ok(
        "ecs.list",
        f"Listed {len(names)} bucket{'s' if len(names) != 1 else ''} on {endpoint}",
        details=details,
    )
    return names


# -- layer 4: named buckets ----------------------------------------------------------------------


def _bucket_layer(ctx: Context, rec: Recorder, client: Any, endpoint: str) -> list[str]:
    """Check every named bucket; returns the readable ones."""
    readable = []
    for bucket in ctx.settings.ecs.buckets:
        if _one_bucket(ctx, rec, client, endpoint, bucket):
            readable.append(bucket)
    return readable


def _one_bucket(ctx: Context, rec: Recorder, client: Any, endpoint: str, bucket: str) -> bool:
    step = f"ecs.bucket.{bucket}"
    title = f"Bucket {bucket}"
    head = _call(ctx, endpoint, lambda: client.head_bucket(Bucket=bucket))
    if isinstance(head, S3Failure):
        if head.transport is not None or head.code in ("InvalidAccessKeyId", "SignatureDoesNotMatch"):
            _common_failure(rec, step, head, endpoint, f"HeadBucket {bucket}")
            return False
        if head.status == 404:
            rec.fail(
                step,
                ECS_BUCKET_NOT_FOUND,
                f"Bucket '{bucket}' does not exist on {endpoint}",
                title=title,
                hint=f"Check the spelling of '{bucket}' (bucket names are lower case); ask the DataOps team "
                "for the right name.",
                details={"bucket": bucket, "http_status": 404},
            )
            return False
    # The listing decides: HEAD needs s3:ListBucket on AWS, but some S3 servers check another
    # permission for it, so a 403 on HEAD alone does not prove the bucket unreadable.
    listing = _call(ctx, endpoint, lambda: client.list_objects_v2(Bucket=bucket, MaxKeys=1))
    head_status = head.status if isinstance(head, S3Failure) else 200
    details: dict[str, Any] = {"bucket": bucket, "head_status": head_status}
    if isinstance(listing, S3Failure):
        details |= {"http_status": listing.status, "s3_code": listing.code}
        if _common_failure(rec, step, listing, endpoint, f"ListObjectsV2 {bucket}"):
            return False
        if listing.code == "NoSuchBucket" or listing.status == 404:
            rec.fail(
                step,
                ECS_BUCKET_NOT_FOUND,
                f"Bucket '{bucket}' does not exist on {endpoint}",
                title=title,
                details=details,
            )
        elif listing.code == "AccessDenied" or listing.status == 403:
            rec.fail(
                step,
                ECS_BUCKET_DENIED,
                f"Bucket '{bucket}' on {endpoint} cannot be listed with these keys (AccessDenied)",
                title=title,
                hint=f"Check the name '{bucket}' and the profile; if both are right, ask the DataOps team "
                "(dataops@aisingapore.org) to grant these keys read access to it.",
                details=details,
            )
        else:
            _other_failure(rec, step, listing, endpoint, f"Listing bucket {bucket}")
        return False
    empty = not listing.get("KeyCount") and not listing.get("Contents")
    rec.ok(step, f"Bucket '{bucket}' is readable{' (empty)' if empty else ''}", title=title, details=details)
    return True


# -- layer 5: write round trip -------------------------------------------------------------------


def _write_layer(ctx: Context, rec: Recorder, client: Any, endpoint: str, bucket: str) -> None:
    import uuid

    key = f"{WRITE_TEST_PREFIX}{uuid.uuid4().hex}.txt"
    body = f"aisg-check write test {datetime.now(timezone.utc).isoformat()}\n".encode()
    details: dict[str, Any] = {"bucket": bucket, "key": key, "bytes": len(body)}
    put = _call(ctx, endpoint, lambda: client.put_object(Bucket=bucket, Key=key, Body=body))
    if isinstance(put, S3Failure):
        # A put that timed out may still have landed; try to remove it, quietly.
        _call(ctx, endpoint, lambda: client.delete_object(Bucket=bucket, Key=key))
        if _common_failure(rec, "ecs.write", put, endpoint, f"PutObject {bucket}"):
            return
        if put.code == "AccessDenied" or put.status == 403:
            rec.fail(
                "ecs.write",
                ECS_WRITE_DENIED,
                f"These keys may not write to bucket '{bucket}' (AccessDenied)",
                details=details,
            )
        else:
            _other_failure(rec, "ecs.write", put, endpoint, f"Writing to bucket {bucket}")
        return
    try:
        readback = _call(ctx, endpoint, lambda: client.get_object(Bucket=bucket, Key=key)["Body"].read())
    finally:
        # Nothing is left behind, whatever the read-back did.
        deleted = _call(ctx, endpoint, lambda: client.delete_object(Bucket=bucket, Key=key))
    cleanup_failed = isinstance(deleted, S3Failure)
    if isinstance(readback, S3Failure) or readback != body:
        got = (
            f"{readback.code or 'error'} (HTTP {readback.status})"
            if isinstance(readback, S3Failure)
            else f"{len(readback)} bytes that differ from the {len(body)} written"
        )
        rec.fail(
            "ecs.write",
            ECS_WRITE_READBACK_FAILED,
            f"Wrote s3://{bucket}/{key}, but reading it back gave {got}; the object was "
            + ("NOT deleted" if cleanup_failed else "deleted again"),
            details={**details, "cleaned_up": not cleanup_failed},
        )
        return
    if cleanup_failed:
        assert isinstance(deleted, S3Failure)
        rec.warn(
            "ecs.write",
            ECS_WRITE_CLEANUP_FAILED,
            f"Wrote and read back s3://{bucket}/{key}, but could not delete it ({deleted.code or 'error'})",
            hint=f"`aws --endpoint-url {endpoint} s3 rm s3://{bucket}/{key}`",
            details=details,
        )
        return
    rec.ok("ecs.write", f"Wrote, read back and deleted one object in bucket '{bucket}'", details=details)


def _write_bucket(ctx: Context, readable: list[str], listed: list[str]) -> str | None:
    if ctx.settings.ecs.buckets:
        return readable[0] if readable else None
    return listed[0] if listed else None


# -- the check -----------------------------------------------------------------------------------


def _endpoint_url(ctx: Context, rec: Recorder) -> str | None:
    endpoint = ctx.settings.ecs.endpoint_url.strip()
    split = urlsplit(endpoint)
    if split.scheme not in ("http", "https") or not split.hostname:
        rec.fail(
            "ecs.endpoint",
            ECS_ENDPOINT_INVALID,
            f"ecs.endpoint_url {endpoint!r} is not an http(s) URL",
            hint="Set ecs.endpoint_url to https://necs.nus.edu.sg (`aisg-check config` shows its source).",
            details={"endpoint_url": endpoint},
        )
        return None
    return endpoint.rstrip("/")


def run(ctx: Context, rec: Recorder) -> None:
    if not ctx.settings.ecs.endpoint_url.strip():
        for step in rec.check.steps:
            rec.skip(step.id, NOT_CONFIGURED, "No ECS endpoint configured (ecs.endpoint_url)")
        return
    profile = _profile_layer(ctx, rec)
    if profile is None:
        return
    endpoint = _endpoint_url(ctx, rec)
    if endpoint is None:
        return
    session = _session(ctx, profile.files)
    _endpoint_layer(ctx, rec, session, profile, endpoint)
    rec.require("vpn.ecs")
    with _ca_bundle(ctx) as verify:
        client = _client(ctx, rec, session, profile, endpoint, verify)
        _remote_layers(ctx, rec, client, endpoint)


def _remote_layers(ctx: Context, rec: Recorder, client: Any, endpoint: str) -> None:
    listed = _list_layer(ctx, rec, client, endpoint)
    if listed is None:
        return
    settings = ctx.settings.ecs
    if settings.buckets:
        readable = _bucket_layer(ctx, rec, client, endpoint)
        if len(readable) < len(settings.buckets):
            return
    else:
        rec.skip(
            "ecs.bucket",
            NOT_CONFIGURED,
            "No bucket named to check",
            hint="Name the buckets you use: `aisg-check ecs --bucket NAME` (repeatable) or `ecs.buckets`.",
        )
        readable = []
    if not settings.write_test:
        rec.skip(
            "ecs.write",
            NOT_CONFIGURED,
            "Write test not requested",
            hint="Pass --write-test to put, read back and delete one small object.",
        )
        return
    bucket = _write_bucket(ctx, readable, listed)
    if bucket is None:
        rec.skip(
            "ecs.write",
            NOT_CONFIGURED,
            "No bucket to write to: none named and none listed",
            hint="Name the bucket: `aisg-check ecs --bucket NAME --write-test`.",
        )
        return
    left = rec.remaining()
    if left < WRITE_CALLS * ctx.timeout:
        # A put abandoned at the hard deadline would never reach its delete: do not start one.
        rec.warn(
            "ecs.write",
            ECS_WRITE_NO_TIME,
            f"Write round trip not attempted: {left:.1f}s left of the check's time, less than the "
            f"{WRITE_CALLS * ctx.timeout:g}s a put, read-back and delete may take",
            details={"bucket": bucket, "seconds_left": round(left, 1)},
        )
        return
    _write_layer(ctx, rec, client, endpoint, bucket)


# Every diagnosis this module defines or imports: what its checks may report.
DECLARED = declared(sys.modules[__name__], NETWORK_DIAGNOSES)

CHECKS = (
    Check(
        id="ecs",
        component="ecs",
        title="ECS object storage",
        steps=(
            Step("ecs.profile", "AWS profile and keys"),
            Step("ecs.endpoint", "S3 endpoint URL"),
            Step("ecs.list", "List buckets"),
            Step("ecs.bucket", "Named buckets", group=True),
            Step("ecs.write", "Write round trip"),
        ),
        run=run,
        needs=("vpn.ecs",),
        diagnoses=DECLARED,
        # list (1 call) + buckets (2 each) + write (3), each up to one timeout when the server
        # answers slowly: room for three buckets and the write test. A dead server is cut short by
        # the VPN probe first; retries on failures may still reach the deadline, which is reported.
        budget=10.0,
        import_allowance_s=3.0,
    ),
)
