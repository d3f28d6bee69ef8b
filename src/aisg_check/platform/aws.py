"""The AWS CLI's files and credentials as botocore reads them, shared by the `ecs` and `mlflow`
checks: which files (AWS_SHARED_CREDENTIALS_FILE, AWS_CONFIG_FILE), static keys in a profile or
the environment (with a session's expiry where one is written down), and the one list of
credential forms aisg-check does not follow itself.

botocore is imported inside the functions that need it: `aisg-check --help` must not load it.
"""

from __future__ import annotations

import configparser
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aisg_check.secrets import Secret

if TYPE_CHECKING:
    from aisg_check.context import Context

# Real aws files are a few hundred bytes; anything past this is not one, and is not read whole.
MAX_FILE_BYTES = 256 * 1024
_TOO_LARGE = f"is larger than {MAX_FILE_BYTES // 1024} KiB, far more than any aws file"
SECRET_KEYS = ("aws_secret_access_key", "aws_session_token", "aws_security_token")
# Where temporary (session) keys carry their expiry: botocore's environment variable, and the
# profile keys that tools writing session keys into the credentials file use (saml2aws and the
# like: x_security_token_expires; others: aws_expiration). Static keys have none.
EXPIRY_ENV = "AWS_CREDENTIAL_EXPIRATION"
EXPIRY_KEYS = ("aws_expiration", "x_security_token_expires")
# Credential forms botocore follows (roles, SSO, external processes) that a preflight does not
# resolve by itself: a profile holding one is named, with the form, instead of judged.
CREDENTIAL_FORMS = (
    "role_arn",
    "credential_process",
    "web_identity_token_file",
    "sso_session",
    "sso_start_url",
    "sso_account_id",
)


def credential_forms(section: Mapping[str, Any]) -> list[str]:
    """The credential forms other than static keys that a profile section uses."""
    return [form for form in CREDENTIAL_FORMS if form in section]


@dataclass(frozen=True)
class AwsFiles:
    credentials: Path
    config: Path


@dataclass(frozen=True)
class Keys:
    access_key_id: str
    secret: Secret
    token: Secret | None
    source: str  # "environment (AWS_ACCESS_KEY_ID)", "~/.aws/credentials [p]"
    # When session keys stop working, where written down (aware, UTC); None: unknown or never.
    expires_at: datetime | None = None
    expiry_from: str | None = None  # the variable or profile key it was read from

    def same_as(self, other: Keys) -> bool:
        return self.access_key_id == other.access_key_id and self.secret == other.secret


class InvalidFile(Exception):
    """An aws file that is there but cannot be used: `path` as the user knows it, the `line` of
    a parse error (never its text: it may hold a secret), and `access` when the file itself
    cannot be read (a directory, no permission, too large) rather than parsed."""

    def __init__(self, path: str, line: int | None, what: str, *, access: bool = False) -> None:
        super().__init__(f"{path}:{line}: {what}")
        self.path, self.line, self.what, self.access = path, line, what, access


def shown(ctx: Context, path: Path) -> str:
    """A path as the user knows it: `~/.aws/credentials` rather than the absolute home path."""
    try:
        return "~/" + path.relative_to(ctx.home).as_posix()
    except ValueError:
        return str(path)


def aws_files(ctx: Context) -> AwsFiles:
    # The variables botocore honours; `~` expands against the context's home, not the process's.
    creds = ctx.env.get("AWS_SHARED_CREDENTIALS_FILE") or "~/.aws/credentials"
    config = ctx.env.get("AWS_CONFIG_FILE") or "~/.aws/config"
    return AwsFiles(ctx.path(creds), ctx.path(config))


def mask_key_id(key_id: str) -> str:
    # Key ids are not secret, but a full one in a pasted ticket helps nobody; aws shows the tail too.
    return f"…{key_id[-4:]}" if len(key_id) > 8 else "…"


def parse_error_line(error: BaseException) -> tuple[int | None, str]:
    """Line and kind of a configparser error, never the line's text: it may hold a secret."""
    if isinstance(error, configparser.MissingSectionHeaderError):
        return error.lineno, "a line before any [section] header"
    if isinstance(error, configparser.ParsingError):
        lines = [int(e[0]) for e in getattr(error, "errors", []) if e]
        return (lines[0] if lines else None), "a line that is neither [section] nor key = value"
    if isinstance(error, configparser.DuplicateSectionError):
        return error.lineno, f"section [{error.section}] appears twice"
    if isinstance(error, configparser.DuplicateOptionError):
        return error.lineno, f"key '{error.option}' appears twice in [{error.section}]"
    if isinstance(error, UnicodeDecodeError):
        return None, "the file is not UTF-8 text"
    return None, type(error).__name__


def section_line(path: Path, section: str) -> int | None:
    try:
        text = _read_capped(path).decode(errors="replace")
    except (OSError, InvalidFile):
        return None
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip() == f"[{section}]":
            return number
    return None


def _read_capped(path: Path, shown_as: str = "") -> bytes:
    """The file's bytes, at most MAX_FILE_BYTES: a larger one is refused, not read into memory."""
    with path.open("rb") as handle:
        data = handle.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise InvalidFile(shown_as or str(path), None, _TOO_LARGE, access=True)
    return data


def _unreadable(where: str, exc: OSError) -> InvalidFile:
    return InvalidFile(where, None, f"cannot be read ({exc.strerror or type(exc).__name__})", access=True)


def present(ctx: Context, path: Path) -> bool:
    """Whether an aws file is there to be read: False when absent (as botocore treats it);
    `InvalidFile` when something is at the path that aws cannot read, which botocore would
    silently take for "no file" (and the user for "no profiles")."""
    where = shown(ctx, path)
    try:
        info = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        return False
    except OSError as exc:  # a symlink loop, a permission denied on the way to it
        raise _unreadable(where, exc) from None
    if stat.S_ISDIR(info.st_mode):
        raise InvalidFile(where, None, "is a directory, not a file", access=True)
    if not stat.S_ISREG(info.st_mode):
        # A FIFO or a device: reading it could block forever, and aws ignores it anyway.
        raise InvalidFile(where, None, "is not a regular file", access=True)
    if info.st_size > MAX_FILE_BYTES:
        raise InvalidFile(where, None, _TOO_LARGE, access=True)
    try:
        _read_capped(path, where)  # also proves it readable: stat does not
    except OSError as exc:
        raise _unreadable(where, exc) from None
    return True


def read_ini(ctx: Context, path: Path, loader: Callable[[str], Any]) -> Any:
    """Parse an aws file with botocore's own loader; register every secret in it at once.

    None when the file is absent; `InvalidFile` naming the file when it is there but cannot be
    read (a directory, no permission, too large) or parsed.
    """
    from botocore.exceptions import ConfigParseError

    if not present(ctx, path):
        return None
    try:
        data = loader(str(path))
    except ConfigParseError as exc:
        line, what = parse_error_line(exc.kwargs.get("error") or exc)
        raise InvalidFile(shown(ctx, path), line, what) from None
    sections = data.get("profiles", data) if isinstance(data, dict) else {}
    for values in sections.values():
        if isinstance(values, dict):
            for name in SECRET_KEYS:
                if isinstance(values.get(name), str):
                    ctx.scrubber.add(values[name])
    return data


def keys_in(section: Mapping[str, Any], source: str) -> Keys | str | None:
    """Static keys of a section; a string says what is wrong with a half-filled one."""
    key_id = section.get("aws_access_key_id")
    secret = section.get("aws_secret_access_key")
    if not key_id and not secret:
        return None
    if not key_id or not secret:
        missing = "aws_secret_access_key" if key_id else "aws_access_key_id"
        return f"{source} has {'aws_access_key_id' if key_id else 'aws_secret_access_key'} but no {missing}"
    token = section.get("aws_session_token") or section.get("aws_security_token")
    expiry_key = next((k for k in EXPIRY_KEYS if section.get(k)), None)
    return Keys(
        str(key_id),
        Secret(str(secret)),
        Secret(str(token)) if token else None,
        source,
        parse_expiry(section.get(expiry_key)) if expiry_key else None,
        expiry_key,
    )


def env_keys(ctx: Context) -> Keys | str | None:
    for name in ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        ctx.scrubber.add(ctx.env.get(name))
    key_id, secret = ctx.env.get("AWS_ACCESS_KEY_ID"), ctx.env.get("AWS_SECRET_ACCESS_KEY")
    if not key_id:
        return None  # botocore's EnvProvider ignores a lone secret the same way
    if not secret:
        return "AWS_ACCESS_KEY_ID is set in the environment but AWS_SECRET_ACCESS_KEY is not"
    token = ctx.env.get("AWS_SESSION_TOKEN") or ctx.env.get("AWS_SECURITY_TOKEN")
    expiry = ctx.env.get(EXPIRY_ENV)
    return Keys(
        key_id,
        Secret(secret),
        Secret(token) if token else None,
        "environment (AWS_ACCESS_KEY_ID)",
        parse_expiry(expiry) if expiry else None,
        EXPIRY_ENV if expiry else None,
    )


def parse_expiry(value: Any) -> datetime | None:
    """An ISO 8601 time (`2025-01-31T12:00:00Z`, with an offset, or naive meaning UTC); None
    when it is not one: an unreadable expiry is no reason to refuse keys that may work."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"  # fromisoformat takes "Z" only from Python 3.11
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed.replace(tzinfo=timezone.utc) if parsed.tzinfo is None else parsed.astimezone(timezone.utc)
