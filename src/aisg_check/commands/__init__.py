"""The commands around the checks (`list`, `config`, and the first-day helpers), one module
each. A module defines `register(app)`, which adds its command to the Typer tree; cli.py names
the modules in COMMAND_MODULES. Keep their imports light at module level: `--help` loads them."""

from __future__ import annotations

from collections.abc import Sequence

import typer

EXIT_USAGE = 2


def fail_usage(message: str) -> typer.Exit:
    """One line on stderr and exit 2: a usage, configuration or output error."""
    from aisg_check.output import say

    say(f"aisg-check: error: {message}")
    return typer.Exit(EXIT_USAGE)


def emit(lines: Sequence[str]) -> None:
    """Standard output that is closed, full or whose reader has gone: one line, exit 2."""
    from aisg_check.output import write_stdout

    problem = write_stdout("".join(f"{line}\n" for line in lines))
    if problem:
        raise fail_usage(problem)
