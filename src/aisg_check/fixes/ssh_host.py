"""GITLAB_SSH_PORT_NOT_CONFIGURED: GitLab's SSH port in the ssh config file ssh really reads (the
one the check names: ~/.ssh/config of ssh's own home, or gitlab.ssh_config).

ssh takes the first value it reads for each option, so where the port goes matters:

- a `Host` block that names the GitLab host already, with no earlier block setting a port: the
  `Port` line goes into it (or replaces its own);
- otherwise a new block, the guide's, goes just before the first `Host`/`Match` line: after the
  lines at the top that apply to every host (which would otherwise become part of it), before
  any block that could set another port;
- a `Port` line at the top, outside any block, sets the port for every host: moving it would
  change other hosts too, so that case is left to the user.

Everything else in the file stays as it was, comments and line endings included. An `Include`d
file can still set a port first; the check, run again afterwards, catches that and the file is
put back.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from aisg_check import edits
from aisg_check.context import Context
from aisg_check.fixes.plan import FileEdit, Plan, Refused
from aisg_check.model import CheckResult

_LINE = re.compile(r"^(?P<indent>\s*)(?P<key>[A-Za-z]+)(?:\s*=\s*|\s+)(?P<value>.*?)\s*$")


@dataclass(frozen=True)
class _Block:
    start: int  # index of its Host/Match line; -1 for the lines before the first one
    kind: str  # "global", "host" or "match"
    patterns: tuple[str, ...]
    port_line: int | None  # index of its first Port line
    first_body_line: int | None  # index of its first option line (for the indentation)


def offered(ctx: Context, result: CheckResult) -> bool:
    return bool(ctx.settings.gitlab.host and result.details.get("config_file"))


def _blocks(lines: list[str]) -> list[_Block]:
    blocks: list[_Block] = []
    start, kind = -1, "global"
    patterns: tuple[str, ...] = ()
    port: int | None = None
    body: int | None = None
    for index, raw in enumerate(lines):
        match = _LINE.match(raw.rstrip("\r\n"))
        if match is None or raw.lstrip().startswith("#"):
            continue
        key = match.group("key").lower()
        if key in ("host", "match"):
            blocks.append(_Block(start, kind, patterns, port, body))
            start, kind, port, body = index, key, None, None
            patterns = (
                tuple(p.strip('"').lower() for p in match.group("value").split()) if key == "host" else ()
            )
            continue
        body = index if body is None else body
        if key == "port" and port is None:
            port = index
    blocks.append(_Block(start, kind, patterns, port, body))
    return blocks


def _names_host(block: _Block, host: str) -> bool:
    return block.kind == "host" and host.lower() in block.patterns


def _new_block(host: str, port: int, identity: str | None, newline: str) -> list[str]:
    lines = [f"Host {host}{newline}", f"    Port {port}{newline}"]
    if identity:
        lines.append(f"    IdentityFile {identity}{newline}")
    return [*lines, newline]


def edited(text: str, host: str, port: int, identity: str | None, shown: str) -> str:
    """`text` with `port` set for `host` (see the module's docstring); Refused when it cannot be."""
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += newline
    blocks = _blocks(lines)
    top = blocks[0]
    if top.port_line is not None:
        raise Refused(
            f"line {top.port_line + 1} of {shown} sets `Port` for every host, before any Host block, and ssh "
            "keeps the first value it reads: move that line into the Host block it is meant for, then "
            "add the GitLab block the check shows"
        )
    rest = blocks[1:]
    own = next((b for b in rest if _names_host(b, host)), None)
    earlier = rest[: rest.index(own)] if own is not None else []
    if own is not None and not any(b.port_line is not None for b in earlier):
        if own.port_line is not None:
            indent = _LINE.match(lines[own.port_line]).group("indent")  # type: ignore[union-attr]
            lines[own.port_line] = f"{indent}Port {port}{newline}"
        else:
            sample = lines[own.first_body_line] if own.first_body_line is not None else "    x"
            indent = _LINE.match(sample).group("indent") or "    "  # type: ignore[union-attr]
            lines.insert(own.start + 1, f"{indent}Port {port}{newline}")
        return "".join(lines)
    block = _new_block(host, port, identity, newline)
    if rest:
        lines[rest[0].start : rest[0].start] = block
    else:
        if lines and lines[-1].strip():
            lines.append(newline)
        lines.extend(block[:-1])
    return "".join(lines)


def _identity(ctx: Context, result: CheckResult) -> str | None:
    """The first identity file that exists, as the check shows it (for a new block only)."""
    for shown in result.details.get("identity_files") or ():
        if isinstance(shown, str) and ctx.path(shown).is_file():
            return shown
    return None


def plan(ctx: Context, result: CheckResult, results: Mapping[str, CheckResult]) -> Plan:
    gitlab = ctx.settings.gitlab
    shown = str(result.details["config_file"])
    path = ctx.path(shown)
    try:
        data = edits.current(path)
    except edits.EditError as exc:
        raise Refused(str(exc)) from None
    try:
        before = data.decode("utf-8") if data is not None else None
    except UnicodeDecodeError:
        raise Refused(f"{shown} is not UTF-8 text; edit it by hand") from None
    after = edited(before or "", gitlab.host, gitlab.ssh_port, _identity(ctx, result), shown)
    return Plan(
        f"Set GitLab's SSH port {gitlab.ssh_port} for {gitlab.host} in {shown}",
        (FileEdit(Path(path), shown, before, after, ctx.home),),
    )
