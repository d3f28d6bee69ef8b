"""The effective settings and where each came from, as `aisg-check config` (JSON and YAML) and the
support bundle show them: a secret setting is `***`, a file's content given instead of its path
is named only, and a value with credentials in it (a URL's userinfo, `user:pw@host`) has them
removed."""

from __future__ import annotations

from typing import Any

from aisg_check.config import KEYS, LoadedConfig
from aisg_check.credentials import inline_label
from aisg_check.secrets import MASK, strip_credentials


def settings(loaded: LoadedConfig) -> dict[str, Any]:
    """`{"config_file": …, "settings": {path: {"value": …, "source": …}}}`."""
    rows = {}
    for spec in KEYS:
        value = loaded.values.get(spec.path)
        if value is None:
            continue
        # A file's content given instead of its path (a CI variable that is not a File): named only.
        inline = inline_label(spec.path, value.value)
        shown = inline or (MASK if spec.secret and value.value is not None else _plain(value.value))
        rows[spec.path] = {"value": shown, "source": value.source}
    return {
        "config_file": str(loaded.config_file) if loaded.config_file else None,
        "settings": rows,
    }


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [strip_credentials(v) if isinstance(v, str) else v for v in value]
    if isinstance(value, str):
        return strip_credentials(value)
    return value
