"""The credentials a run knows before any check starts, registered with its Scrubber.

Checks add what they read later (a docker config's password, a token from a credential helper)
with `ctx.scrubber.add` or, for a user name and its credential, `ctx.scrubber.add_login`.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

from aisg_check.secrets import Scrubber, Secret

# Environment variables whose values are secrets wherever they appear.
_SECRET_ENV = re.compile(r"(PASSWORD|PASSWD|SECRET|TOKEN|CREDENTIAL|AUTH|_KEY$|_KEY_ID$)", re.IGNORECASE)
# ... unless the variable names a file, a directory or a socket (AWS_SHARED_CREDENTIALS_FILE,
# SSH_AUTH_SOCK): paths are not secrets, and masking one hides the file a message is about.
_PATH_ENV = re.compile(r"(_FILE|_PATH|_DIR|_SOCK|_FILENAME)$", re.IGNORECASE)
# A password variable's partner: MLFLOW_TRACKING_PASSWORD → MLFLOW_TRACKING_USERNAME.
_PASSWORD_SUFFIX = re.compile(r"_(PASSWORD|PASSWD|TOKEN)$", re.IGNORECASE)

# Variables meant to name a file that CI often fills with the file's content instead (GitLab hands
# a variable that is not of type File to the job as its value). Such a value is the credential
# itself: it is shown by these names, never echoed, and it and the secrets in it are masked.
DOCKER_CONFIG_ENV = ("HARBOR_DOCKER_CONFIG_JSON", "AISG_CHECK_HARBOR_AUTH_FILE", "DOCKER_AUTH_CONFIG")
KUBECONFIG_ENV = ("KUBECONFIG", "AISG_CHECK_RUNAI_KUBECONFIG")
INLINE_DOCKER_CONFIG = "HARBOR_DOCKER_CONFIG_JSON (inline JSON)"
INLINE_KUBECONFIG = "KUBECONFIG (inline YAML)"
INLINE_RUNAI_KUBECONFIG = "runai.kubeconfig (inline YAML)"
# A setting that may hold such content, and how it is shown then (`aisg-check config`, the bundle).
_INLINE_SETTINGS = {"harbor.auth_file": INLINE_DOCKER_CONFIG, "runai.kubeconfig": INLINE_RUNAI_KUBECONFIG}
# Larger than any real Docker config or kubeconfig (bounds.MAX_FILE_BYTES): not parsed for secrets.
_MAX_INLINE = 4 * 1024 * 1024


def is_secret_env(name: str, value: str) -> bool:
    if not _SECRET_ENV.search(name) or _PATH_ENV.search(name):
        return False
    # GOOGLE_APPLICATION_CREDENTIALS and the like name a file without saying so.
    return not (value.startswith(("/", "~", "./")) and os.path.exists(os.path.expanduser(value)))


def scrubber_for(secrets: Iterable[Secret], urls: Iterable[str], env: Mapping[str, str]) -> Scrubber:
    """Seeded with every credential the run can know up front: the config's secrets, the
    userinfo of configured URLs, secret-looking environment variables (with their user name
    where one goes with them, for Basic auth) and the userinfo of URLs in the environment
    (a proxy's password)."""
    scrubber = Scrubber(s.reveal() for s in secrets)
    for url in urls:
        add_url_login(scrubber, url)
    for name, value in env.items():
        if not value:
            continue
        if "@" in value and "://" in value:
            add_url_login(scrubber, value)
        if is_secret_env(name, value):
            stem = _PASSWORD_SUFFIX.sub("", name)
            user = env.get(f"{stem}_USERNAME") or env.get(f"{stem}_USER") if stem != name else None
            scrubber.add_login(user, value)
    add_inline_configs(scrubber, env)
    return scrubber


def is_inline_json(value: str) -> bool:
    """A Docker config JSON itself rather than the path of one: `{` first, and no file by that name."""
    return value.lstrip().startswith("{") and not os.path.exists(value)


def is_inline_yaml(value: str) -> bool:
    """A kubeconfig itself rather than a list of paths: no path holds a line break, and none
    starts with `apiVersion:`."""
    return "\n" in value or value.lstrip().startswith("apiVersion:")


def inline_label(path: str, value: Any) -> str | None:
    """How a setting holding a file's content rather than its path is shown (None: it does not)."""
    label = _INLINE_SETTINGS.get(path)
    if label is None or not isinstance(value, str):
        return None
    inline = is_inline_json(value) if path == "harbor.auth_file" else is_inline_yaml(value)
    return label if inline else None


def add_inline_configs(scrubber: Scrubber, env: Mapping[str, str]) -> None:
    """A Docker config JSON or a kubeconfig given as a variable's value: the whole value, and
    each credential in it (with its user name, for the base64 of `user:secret`)."""
    for name in (*DOCKER_CONFIG_ENV, *KUBECONFIG_ENV):
        value = env.get(name, "")
        json_text = name in DOCKER_CONFIG_ENV
        if not value or not (is_inline_json(value) if json_text else is_inline_yaml(value)):
            continue
        if not _utf8(value):  # bytes that are not UTF-8 cannot be encoded, nor printed; the check says so
            continue
        scrubber.add(value)
        data = _parsed(value, json_text=json_text)
        if json_text:
            from aisg_check.platform.dockerconfig import add_secrets

            add_secrets(scrubber, data)
        else:
            add_kubeconfig_secrets(scrubber, data)


def _utf8(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _parsed(text: str, *, json_text: bool) -> Any:
    """The document, or None when it is too large or not parseable (the check says what is wrong)."""
    if len(text) > _MAX_INLINE:
        return None
    try:
        if json_text:
            return json.loads(text)
        import yaml

        from aisg_check.bounds import YAML_LOADER

        return yaml.load(text, Loader=YAML_LOADER)
    except Exception:  # not JSON or YAML (yaml.YAMLError, ValueError, RecursionError): the check says so
        return None


def add_kubeconfig_secrets(scrubber: Scrubber, doc: Any) -> None:
    """Every credential of every user entry (token, id-token, refresh-token, client-key-data,
    password, an exec plugin's secrets), as reading the file would register them."""
    from aisg_check.platform.kubeconfig import add_user_secrets

    users = doc.get("users") if isinstance(doc, Mapping) else None
    for entry in users if isinstance(users, list) else ():
        body = entry.get("user") if isinstance(entry, Mapping) else None
        if isinstance(body, Mapping):
            add_user_secrets(scrubber, body)


def add_url_login(scrubber: Scrubber, url: str) -> None:
    """`scheme://user:password@host`: the password, raw and decoded, with its user name."""
    try:
        split = urlsplit(url.strip())
        user, password = split.username, split.password
    except ValueError:
        return
    if password:
        for form_user, form_password in {(user, password), (unquote(user or ""), unquote(password))}:
            scrubber.add_login(form_user or None, form_password)


def configured_urls(values: Mapping[str, Any]) -> list[str]:
    """Every string setting that may hold a URL (a single one or a list), by its value."""
    out: list[str] = []
    for value in values.values():
        raw = getattr(value, "value", value)
        items = raw if isinstance(raw, tuple) else (raw,)
        out.extend(item for item in items if isinstance(item, str) and "@" in item)
    return out
