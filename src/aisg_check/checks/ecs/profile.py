"""Layer 1, `ecs.profile`: which profile and which keys, read from the environment and the aws
files the way botocore reads them, without ever asking a credential provider that talks to the
network (instance metadata, containers, STS, SSO). Session keys whose expiry is written down
become a `Credential` judged against `expiry_warning_days`; static keys carry no expiry."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aisg_check.check import Recorder, Step, Stop
from aisg_check.checks.ecs.diagnoses import (
    ECS_CREDENTIALS_FILE_INVALID,
    ECS_ENV_KEYS_OVERRIDE_PROFILE,
    ECS_NO_CREDENTIALS,
    ECS_PROFILE_NOT_FOUND,
    ECS_SESSION_EXPIRED,
    ECS_SESSION_EXPIRES_SOON,
)
from aisg_check.context import Context
from aisg_check.lifetimes import Verdict, judge
from aisg_check.model import Credential
from aisg_check.platform import aws

PROFILE = Step("ecs.profile", "AWS profile and keys")
BY_DEFAULT = "default (no --profile, ecs.profile or AWS_PROFILE)"
_KEYS_LINES = "`aws_access_key_id = ...` and `aws_secret_access_key = ...`"


@dataclass(frozen=True)
class Profile:
    name: str
    chosen_by: str
    keys: aws.Keys
    files: aws.AwsFiles
    scoped: Mapping[str, Any] = field(default_factory=dict)  # the profile's section of ~/.aws/config


@dataclass(frozen=True)
class _Choice:
    name: str
    chosen_by: str
    # An explicit profile (--profile, ecs.profile) behaves like `aws --profile`: botocore then
    # ignores keys in the environment. AWS_PROFILE does not.
    explicit: bool


def _chosen_profile(ctx: Context) -> _Choice:
    name = ctx.settings.ecs.profile
    if not name:
        return _Choice("default", BY_DEFAULT, False)
    if ctx.env.get("AWS_PROFILE") == name:
        return _Choice(name, "AWS_PROFILE", False)
    return _Choice(name, "--profile / ecs.profile", True)


def profile_layer(ctx: Context, rec: Recorder) -> Profile:
    files = aws.aws_files(ctx)
    env_keys = aws.env_keys(ctx)
    creds, config = _read_files(ctx, rec, files)
    choice = _chosen_profile(ctx)
    known = sorted(set(creds) | set(config))
    details: dict[str, Any] = {
        "profile": choice.name,
        "chosen_by": choice.chosen_by,
        "credentials_file": aws.shown(ctx, files.credentials),
        "config_file": aws.shown(ctx, files.config),
        "profiles": known,
    }
    if isinstance(env_keys, str):
        raise rec.fail(
            PROFILE,
            ECS_NO_CREDENTIALS,
            env_keys,
            hint="Export both variables, or `unset AWS_ACCESS_KEY_ID` to use the profile.",
            details=details,
        )
    in_files = choice.name in creds or choice.name in config
    if not in_files and (choice.chosen_by != BY_DEFAULT or env_keys is None):
        raise _missing_profile(ctx, rec, choice, known, files, details)
    profile_keys = _profile_keys(ctx, rec, choice.name, creds, config, files, details)
    # botocore's order: environment first unless the profile was given explicitly.
    used = profile_keys if choice.explicit else (env_keys or profile_keys)
    if used is None:
        raise _no_keys(ctx, rec, choice, config.get(choice.name, {}), files, details)
    profile = Profile(choice.name, choice.chosen_by, used, files, config.get(choice.name, {}))
    details |= {"keys_from": used.source, "access_key_id": aws.mask_key_id(used.access_key_id)}
    session = _session(ctx, rec, profile, details)
    _record_profile(rec, profile, env_keys, profile_keys, choice.explicit, details, session)
    return profile


def unmounted(ctx: Context) -> str | None:
    """In a pod with no keys at all (none in the environment, neither aws file there): the
    project's Secret with the ECS keys is not mounted, so there is nothing to check; the fleet
    manifests make that Secret optional. On a laptop: None (the profile layer says what is missing)."""
    if not ctx.in_cluster or ctx.env.get("AWS_ACCESS_KEY_ID"):
        return None
    files = aws.aws_files(ctx)
    try:
        if aws.present(ctx, files.credentials) or aws.present(ctx, files.config):
            return None
    except aws.InvalidFile:
        return None  # there but unusable: the profile layer names it
    return (
        f"No ECS keys in this pod: {aws.shown(ctx, files.credentials)} does not exist "
        "(AWS_SHARED_CREDENTIALS_FILE) and AWS_ACCESS_KEY_ID is unset"
    )


@dataclass(frozen=True)
class _Session:
    credentials: tuple[Credential, ...] = ()
    soon: str | None = None  # "expires in 3 days" when within expiry_warning_days
    hint: str | None = None  # the exact renewal step


def _renewal(ctx: Context, keys: aws.Keys) -> str:
    if keys.expiry_from == aws.EXPIRY_ENV:
        where = (
            "export the new AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN and "
            f"{aws.EXPIRY_ENV} together"
        )
    else:
        where = (
            f"replace aws_access_key_id, aws_secret_access_key, aws_session_token and {keys.expiry_from} "
            f"under {keys.source} together"
        )
    pod = " (in a pod: update the Secret that file is mounted from, aisg-check-ecs)" if ctx.in_cluster else ""
    return (
        f"Get new session keys the way you got these (run again the tool that wrote them), then {where}"
        f"{pod}; or ask the DataOps team for static keys, which do not expire."
    )


def _session(ctx: Context, rec: Recorder, profile: Profile, details: dict[str, Any]) -> _Session:
    """Session keys with a written-down expiry: their credential, judged; expired stops here."""
    keys = profile.keys
    if keys.expires_at is None:
        return _Session()
    credential = Credential("ecs_session_keys", "ECS session keys", keys.expires_at, keys.source)
    details |= {"expires_at": credential.to_dict()["expires_at"], "expiry_from": keys.expiry_from}
    lifetime = judge(ctx, keys.expires_at)
    if lifetime.verdict is Verdict.EXPIRED:
        raise rec.fail(
            PROFILE,
            ECS_SESSION_EXPIRED,
            f"The session keys from {keys.source} {lifetime.phrase()} ({keys.expiry_from} "
            f"{details['expires_at']}); ECS refuses them",
            hint=_renewal(ctx, keys),
            details=details,
            credentials=[credential],
        )
    if lifetime.verdict is Verdict.SOON:
        return _Session((credential,), lifetime.phrase(), _renewal(ctx, keys))
    return _Session((credential,))


def _read_files(
    ctx: Context, rec: Recorder, files: aws.AwsFiles
) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    """The credentials file's sections and the config file's profiles, as botocore parses them."""
    from botocore.configloader import load_config, raw_config_parse

    try:
        creds = aws.read_ini(ctx, files.credentials, raw_config_parse) or {}
        config = (aws.read_ini(ctx, files.config, load_config) or {}).get("profiles", {})
    except aws.InvalidFile as bad:
        raise _invalid_file(ctx, rec, bad, files) from None
    return creds, config


def _invalid_file(ctx: Context, rec: Recorder, bad: aws.InvalidFile, files: aws.AwsFiles) -> Stop:
    details = {"file": bad.path, "line": bad.line}
    if bad.access:
        # botocore skips such a file without a word: every profile in it would just "not exist".
        variable = _variable_naming(ctx, bad.path, files)
        return rec.fail(
            PROFILE,
            ECS_CREDENTIALS_FILE_INVALID,
            f"{bad.path} {bad.what}; aws and boto3 silently ignore it, so none of its profiles can be used",
            hint=f"Put a readable aws file at {bad.path} (`ls -ld {bad.path}`)"
            + (f", or point {variable} at the right file (or unset it)." if variable else "."),
            details={**details, "variable": variable},
        )
    where = f"{bad.path} line {bad.line}" if bad.line else bad.path
    return rec.fail(
        PROFILE,
        ECS_CREDENTIALS_FILE_INVALID,
        f"{where}: {bad.what}; aws and boto3 cannot read this file",
        hint=f"Open {bad.path}, fix {'line ' + str(bad.line) if bad.line else 'it'}: every profile is "
        f"`[name]` followed by {_KEYS_LINES}.",
        details=details,
    )


def _variable_naming(ctx: Context, shown_path: str, files: aws.AwsFiles) -> str | None:
    """The environment variable that chose this file, if one did."""
    for name, path in (("AWS_SHARED_CREDENTIALS_FILE", files.credentials), ("AWS_CONFIG_FILE", files.config)):
        if ctx.env.get(name) and aws.shown(ctx, path) == shown_path:
            return name
    return None


def _missing_profile(
    ctx: Context,
    rec: Recorder,
    choice: _Choice,
    known: list[str],
    files: aws.AwsFiles,
    details: Mapping[str, Any],
) -> Stop:
    listed = ", ".join(known) if known else "none"
    credentials = aws.shown(ctx, files.credentials)
    if choice.chosen_by == BY_DEFAULT:
        hint = (
            f"Choose one of your profiles: `aisg-check ecs --profile {known[0]}` (or `export AWS_PROFILE="
            f"{known[0]}`)."
            if known
            else f"Create {credentials} with `[default]`, {_KEYS_LINES} (keys from the DataOps team)."
        )
        return rec.fail(
            PROFILE,
            ECS_NO_CREDENTIALS,
            f"No [default] profile and no keys in the environment; profiles that exist: {listed}",
            hint=hint,
            details=details,
        )
    hint = (
        f"Use one of: {listed} (`--profile NAME` or `export AWS_PROFILE=NAME`), or add [{choice.name}] "
        f"with its keys to {credentials}."
        if known
        else f"Add [{choice.name}] with {_KEYS_LINES} to {credentials} (keys from the DataOps team)."
    )
    return rec.fail(
        PROFILE,
        ECS_PROFILE_NOT_FOUND,
        f"Profile '{choice.name}' (from {choice.chosen_by}) is not in {credentials} or "
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
) -> aws.Keys | None:
    """The profile's keys, credentials file first (botocore's order)."""
    for path, section, label in (
        (files.credentials, creds.get(name), f"[{name}]"),
        (files.config, config.get(name), f"[{name}]" if name == "default" else f"[profile {name}]"),
    ):
        if not isinstance(section, Mapping):
            continue
        found = aws.keys_in(section, f"{aws.shown(ctx, path)} {label}")
        if isinstance(found, str):
            line = aws.section_line(path, label.strip("[]"))
            raise rec.fail(
                PROFILE,
                ECS_CREDENTIALS_FILE_INVALID,
                f"{found}" + (f" (section at line {line})" if line else ""),
                hint=f"Add the missing key under {label} in {aws.shown(ctx, path)}; "
                "both come from the DataOps team.",
                details={**details, "file": aws.shown(ctx, path), "line": line},
            )
        if found is not None:
            return found
    return None


def _no_keys(
    ctx: Context,
    rec: Recorder,
    choice: _Choice,
    section: Mapping[str, Any],
    files: aws.AwsFiles,
    details: Mapping[str, Any],
) -> Stop:
    where = (
        " (keys in the environment do not count with --profile)"
        if choice.explicit
        else " and none are in the environment"
    )
    forms = aws.credential_forms(section)
    unsupported = (
        f" (it uses {', '.join(forms)}, which aisg-check does not follow: ECS takes static keys)"
        if forms
        else ""
    )
    return rec.fail(
        PROFILE,
        ECS_NO_CREDENTIALS,
        f"Profile [{choice.name}] has no aws_access_key_id/aws_secret_access_key{where}{unsupported}",
        hint=f"Add the keys from the DataOps team under [{choice.name}] in "
        f"{aws.shown(ctx, files.credentials)}: {_KEYS_LINES}.",
        details=details,
    )


def _record_profile(
    rec: Recorder,
    profile: Profile,
    env_keys: aws.Keys | None,
    profile_keys: aws.Keys | None,
    explicit: bool,
    details: dict[str, Any],
    session: _Session,
) -> None:
    if env_keys is None or profile_keys is None or env_keys.same_as(profile_keys):
        if session.soon:
            rec.warn(
                PROFILE,
                ECS_SESSION_EXPIRES_SOON,
                f"Profile '{profile.name}' ({profile.chosen_by}): the session keys from "
                f"{profile.keys.source} {session.soon} ({profile.keys.expiry_from} {details['expires_at']})",
                hint=session.hint,
                details=details,
                credentials=session.credentials,
            )
            return
        rec.ok(
            PROFILE,
            f"Profile '{profile.name}' ({profile.chosen_by}); keys from {profile.keys.source}",
            details=details,
            credentials=session.credentials,
        )
        return
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
        PROFILE,
        ECS_ENV_KEYS_OVERRIDE_PROFILE,
        text,
        hint="`unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN` to use the profile, or "
        f"export the keys of [{profile.name}] instead (check your shell profile and .env files).",
        details={**details, "profile_keys_from": profile_keys.source},
        credentials=session.credentials,
    )
