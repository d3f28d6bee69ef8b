"""The AWS CLI's two files: `config` with its key material removed, `credentials` reduced to the
names of its profiles (and of the keys each holds, never their values).

Parsed as botocore parses them (configparser, keys in lower case, `key =` followed by indented
`sub = value` lines for a nested section such as `s3`), except that `[DEFAULT]` is kept as
the section it is written as. A file botocore would refuse is not copied.
"""

from __future__ import annotations

import configparser
import re

from aisg_check.bundle.report import REDACTED, REDUCED, Redacted, Unparseable
from aisg_check.platform.aws import SECRET_KEYS, parse_error_line
from aisg_check.secrets import Scrubber, clip, strip_credentials

_NO_DEFAULT = "\0aisg-check: no default section"
# Key material and commands: a credential_process may carry a secret on its command line.
_REMOVED = frozenset({*SECRET_KEYS, "aws_access_key_id", "credential_process", "external_id"})
_SECRET_NAME = re.compile(r"secret|token|passw|cred|auth|key|session|cookie", re.I)
# Settings whose names look like credentials but hold names, paths or URLs.
_PLAIN = frozenset(
    {
        "sso_session",
        "credential_source",
        "web_identity_token_file",
        "role_session_name",
        "sso_registration_scopes",
        "tcp_keepalive",
    }
)
# A key name as botocore's keys look; anything else (a pasted secret on a line of its own, which
# configparser takes for a key) is not echoed.
_KEY_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")
_ODD_KEY = "(a key with an unusual name)"


def _shown(key: str) -> str | None:
    if _KEY_NAME.fullmatch(key) and ("_" in key or len(key) <= 20):
        return key
    return None


def _parse(text: str) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(default_section=_NO_DEFAULT)
    try:
        parser.read_string(text)
    except configparser.Error as exc:
        line, what = parse_error_line(exc)
        raise Unparseable(f"line {line}: {what}" if line else what) from None
    return parser


def _secret(key: str) -> bool:
    return key in _REMOVED or (key not in _PLAIN and bool(_SECRET_NAME.search(key)))


def _register(scrubber: Scrubber, key: str, value: str) -> None:
    if key in SECRET_KEYS:
        scrubber.add(value)


def redact_config(text: str, scrubber: Scrubber) -> Redacted:
    parser = _parse(text)
    removed: list[str] = []
    lines: list[str] = []
    for section in parser.sections():
        lines.append(f"[{section}]")
        for key, value in parser.items(section):
            shown = _shown(key)
            where = f"[{clip(section, 80)}] {shown or _ODD_KEY}"
            if shown is None:
                lines.append(f"# {_ODD_KEY} = {REDACTED}")
                removed.append(where)
            elif value is not None and value.startswith("\n"):
                lines.append(f"{key} =")
                lines.extend(f"    {line}" for line in _nested(value, where, removed, scrubber))
            elif _secret(key):
                _register(scrubber, key, value or "")
                lines.append(f"{key} = {REDACTED}")
                removed.append(where)
            else:
                lines.append(f"{key} = {strip_credentials(value or '')}".rstrip())
        lines.append("")
    return Redacted("\n".join(lines), tuple(removed))


def _nested(value: str, where: str, removed: list[str], scrubber: Scrubber) -> list[str]:
    out = []
    for line in value.strip().splitlines():
        key, eq, inner = line.partition("=")
        key, inner = key.strip().lower(), inner.strip()
        if not eq or _shown(key) is None:
            out.append(REDACTED)
            removed.append(f"{where}: a line that is not `key = value`")
        elif _secret(key):
            _register(scrubber, key, inner)
            out.append(f"{key} = {REDACTED}")
            removed.append(f"{where}.{key}")
        else:
            out.append(f"{key} = {strip_credentials(inner)}".rstrip())
    return out


def redact_credentials(text: str, scrubber: Scrubber) -> Redacted:
    """Profile names only: the keys each profile holds are named, none of their values."""
    parser = _parse(text)
    removed: list[str] = []
    lines: list[str] = []
    for section in parser.sections():
        keys = []
        for key, value in parser.items(section):
            if value and not value.startswith("\n"):
                _register(scrubber, key, value)
            keys.append(_shown(key) or _ODD_KEY)
        lines.append(f"[{section}]")
        if keys:
            lines.append(f"# keys, values removed: {', '.join(keys)}")
            removed.append(f"[{clip(section, 80)}]: the values of {', '.join(keys)}")
        lines.append("")
    return Redacted("\n".join(lines), tuple(removed), REDUCED)
