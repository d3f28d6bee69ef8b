"""`aisg-check config`: the effective settings and where each value came from."""

from __future__ import annotations

import os
from enum import Enum
from typing import Annotated, Any

import typer

from aisg_check.commands import emit, fail_usage


class ConfigFormat(str, Enum):
    table = "table"
    json = "json"
    yaml = "yaml"


def show_config(
    fmt: Annotated[ConfigFormat, typer.Option("--format", "-f", help="Output format.")] = ConfigFormat.table,
    config: Annotated[str | None, typer.Option("--config", "-c", metavar="FILE", help="Config file.")] = None,
    sets: Annotated[list[str], typer.Option("--set", metavar="KEY=VALUE", help="Override a key.")] = [],  # noqa: B006
    timeout: Annotated[float | None, typer.Option("--timeout", metavar="SECONDS")] = None,
    ca_bundle: Annotated[str | None, typer.Option("--ca-bundle", metavar="FILE")] = None,
) -> None:
    """Print the effective settings and where each value came from (secrets redacted)."""
    import json

    from aisg_check import effective
    from aisg_check.config import KEYS, display_value, user_config_path
    from aisg_check.credentials import inline_label
    from aisg_check.invocation import UsageError, load, make_scrubber, overrides

    env = dict(os.environ)
    try:
        loaded = load(env, config, overrides(timeout, ca_bundle, sets, ()))
    except UsageError as exc:
        raise fail_usage(str(exc)) from None
    scrubber = make_scrubber(loaded, env)
    if fmt is ConfigFormat.json:
        lines = [json.dumps(effective.settings(loaded), indent=2)]
    elif fmt is ConfigFormat.yaml:
        import yaml

        nested: dict[str, Any] = {}
        for path, row in effective.settings(loaded)["settings"].items():
            section, _, name = path.rpartition(".")
            (nested.setdefault(section, {}) if section else nested)[name] = row["value"]
        lines = [yaml.safe_dump(nested, sort_keys=False).rstrip()]
    else:
        # A setting holding a file's content, not its path (a CI variable that is not a File), by name only.
        rows = [
            (k.path, inline_label(k.path, entry.value) or entry.value, entry.source)
            for k in KEYS
            if (entry := loaded.values.get(k.path)) is not None
        ]
        file_line = (
            str(loaded.config_file) if loaded.config_file else f"none (would be {user_config_path(env)})"
        )
        width = max(len(r[0]) for r in rows)
        lines = [f"config file: {file_line}"]
        lines += [f"{path:<{width}}  {display_value(value):<45}  {source}" for path, value, source in rows]
    emit([scrubber.scrub(line) for line in lines])  # every line, in case a value carries a secret


def register(app: typer.Typer) -> None:
    app.command("config")(show_config)
