"""The only place that knows output formats. Each module turns a `RunReport` into text."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from aisg_check.model import RunReport


@dataclass(frozen=True)
class RenderOptions:
    verbose: bool = False
    quiet: bool = False
    color: bool = False
    width: int = 100
    unicode: bool = True
    system: str = ""  # "Linux 6.1 (x86_64), Python 3.11.7": filled by the CLI, fixed in tests
    project: str = ""  # fleet.project: the metrics' project label
    expiry_warning_days: int = 14  # the table marks a credential expiring within this as a warning


Render = Callable[[RunReport, RenderOptions], str]

FORMATS = ("table", "json", "junit", "markdown", "prometheus")


def renderer(name: str) -> Render:
    """Import only the reporter asked for (Rich is not needed for JSON in CI)."""
    if name == "table":
        from aisg_check.reporters.table import render
    elif name == "json":
        from aisg_check.reporters.json import render
    elif name == "junit":
        from aisg_check.reporters.junit import render
    elif name == "markdown":
        from aisg_check.reporters.markdown import render
    elif name == "prometheus":  # prometheus_client: imported only for this format
        from aisg_check.reporters.prometheus import render
    else:
        raise ValueError(f"unknown format {name!r}; choose from {', '.join(FORMATS)}")
    return render
