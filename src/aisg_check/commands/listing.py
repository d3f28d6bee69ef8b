"""`aisg-check list`: every check id with its title, its steps and what it depends on."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer

from aisg_check.commands import emit


class ListFormat(str, Enum):
    table = "table"
    json = "json"


def list_checks(
    fmt: Annotated[ListFormat, typer.Option("--format", "-f", help="Output format.")] = ListFormat.table,
) -> None:
    """List every check id with its title, its steps and what it depends on."""
    import json

    from aisg_check.registry import all_checks

    checks = all_checks()
    if fmt is ListFormat.json:
        data = [
            {
                "id": c.id,
                "component": c.component,
                "title": c.title,
                "steps": [{"id": s.id, "title": s.title} for s in c.steps],
                "depends_on": list(c.needs),
                "only_when_asked": c.explicit_only,
            }
            for c in checks
        ]
        emit([json.dumps(data, indent=2)])
        return
    lines = []
    for c in checks:
        needs = f"  (depends on: {', '.join(c.needs)})" if c.needs else ""
        lines.append(f"{c.id:<22} {c.title}{needs}")
        lines.extend(f"  {s.id:<28} {s.title}" for s in c.steps if s.id != c.id)
    emit(lines)


def register(app: typer.Typer) -> None:
    app.command("list")(list_checks)
