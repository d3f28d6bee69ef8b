"""MLflow's credentials file (`~/.mlflow/credentials`) reduced to its sections and the names of
the keys in each: never a user name's password or a token."""

from __future__ import annotations

import configparser
import re

from aisg_check.bundle.report import REDUCED, Redacted, Unparseable
from aisg_check.secrets import Scrubber, clip

_KEY_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")
# Values masked across the whole bundle too; others are only left out (masking a `true` everywhere
# would garble the reports).
_SECRET_NAME = re.compile(r"passw|token|secret|key|auth", re.I)


def redact(text: str, scrubber: Scrubber) -> Redacted:
    # Raw: the MLflow client interpolates `%`, but a copy needs no values.
    parser = configparser.RawConfigParser(default_section="\0aisg-check: no default section")
    try:
        parser.read_string(text)
    except configparser.Error as exc:
        line = getattr(exc, "lineno", None)
        raise Unparseable(f"cannot be parsed (line {line})" if line else "cannot be parsed") from None
    removed: list[str] = []
    lines: list[str] = []
    for section in parser.sections():
        values = dict(parser.items(section))
        user = values.get("mlflow_tracking_username")
        for key, value in values.items():
            if _SECRET_NAME.search(key) and value:
                scrubber.add_login(user, value)
        keys = [k if _KEY_NAME.fullmatch(k) else "(a key with an unusual name)" for k in values]
        lines.append(f"[{section}]")
        if keys:
            lines.append(f"# keys, values removed: {', '.join(keys)}")
            removed.append(f"[{clip(section, 80)}]: the values of {', '.join(keys)}")
        lines.append("")
    return Redacted("\n".join(lines), tuple(removed), REDUCED)
