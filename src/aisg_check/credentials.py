"""The credentials a run knows before any check starts, registered with its Scrubber.

Checks add what they read later (a docker config's password, a token from a credential helper)
with `ctx.scrubber.add` or, for a user name and its credential, `ctx.scrubber.add_login`.
"""

from __future__ import annotations

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
    return scrubber


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
