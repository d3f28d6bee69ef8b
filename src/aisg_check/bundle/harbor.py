"""A Harbor robot account file (`harbor.robot_file`) reduced to the robot's name and dates: the
secret (Harbor 2.2+) or token (older Harbor) is removed, and so is any field not known to be
free of one."""

from __future__ import annotations

import json
from typing import Any

from aisg_check.bundle.docker import parse_json
from aisg_check.bundle.report import REDACTED, Redacted, Unparseable
from aisg_check.secrets import Scrubber, clip

_PLAIN = ("name", "id", "expires_at", "creation_time", "level", "duration", "description", "disable")


def redact(text: str, scrubber: Scrubber) -> Redacted:
    data = parse_json(text)
    if not isinstance(data, dict):
        raise Unparseable("not a robot account file: expected a JSON object at the top")
    removed: list[str] = []
    out: dict[str, Any] = {}
    name = data.get("name") if isinstance(data.get("name"), str) else None
    for key, value in data.items():
        shown = clip(str(key), 80)
        if key in _PLAIN and (value is None or isinstance(value, (str, int, float, bool))):
            out[shown] = value
            continue
        if key in ("secret", "token") and isinstance(value, str):
            scrubber.add_login(name, value)
        out[shown] = REDACTED
        removed.append(
            shown if key in ("secret", "token") else f"{shown}: not a field known to be free of secrets"
        )
    return Redacted(json.dumps(out, indent=2, ensure_ascii=False) + "\n", tuple(removed))
