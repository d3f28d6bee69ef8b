"""The redaction report: for each file the bundle was asked to copy, where it was found, whether
it was copied, and what was removed from it. It names fields and lines, never their values."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

# What a removed value is replaced with in a copy: the field stays, so the MLOps team can see
# that a token or a key is there without seeing it.
REDACTED = "<redacted>"

COPIED, REDUCED, ABSENT, NOT_COPIED = "copied", "reduced", "absent", "not copied"


@dataclass(frozen=True)
class Redacted:
    """A redactor's result: the copy's text, and one line per thing removed from it."""

    text: str
    removed: tuple[str, ...]
    status: str = COPIED  # REDUCED when only names are kept (the credentials files)


class Unparseable(Exception):
    """A file the redactor cannot parse, so cannot vouch for: it is not copied. The reason names
    a line or a field, never the text in it (which may be the secret)."""


@dataclass(frozen=True)
class FileEntry:
    kind: str  # "kubeconfig", "ssh config", ...
    path: str  # as the user knows it: ~/.kube/config
    found_by: str  # how the path was chosen: "KUBECONFIG", "ssh -G", "default", a setting
    status: str  # COPIED, REDUCED, ABSENT or NOT_COPIED
    member: str | None = None  # where the copy is in the bundle
    removed: tuple[str, ...] = ()
    reason: str | None = None  # why it was not copied

    def to_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "path": self.path,
            "found_by": self.found_by,
            "status": self.status,
            "member": self.member,
            "removed": list(self.removed),
            "reason": self.reason,
        }


def to_json(entries: Sequence[FileEntry]) -> str:
    return json.dumps({"files": [e.to_dict() for e in entries]}, indent=2) + "\n"


def to_markdown(entries: Sequence[FileEntry]) -> str:
    lines = [
        "# What was removed",
        "",
        "Each file the checks read, where it was found and what its copy in `files/` leaves out.",
        f"A removed value is replaced by `{REDACTED}`; comments are never copied. Every member of the",
        "bundle has also been passed through the run's scrubber, which masks as `***` every",
        "credential the run knew (in plain text, URL-quoted and base64).",
        "",
    ]
    for entry in entries:
        lines.append(f"## {entry.kind}: `{entry.path}`")
        lines.append("")
        lines.append(f"- found by: {entry.found_by}")
        where = f" as `{entry.member}`" if entry.member else ""
        status = "copied, reduced to names" if entry.status == REDUCED else entry.status
        lines.append(f"- {status}{where}" + (f": {entry.reason}" if entry.reason else ""))
        if entry.removed:
            lines.append("- removed:")
            lines.extend(f"  - {item}" for item in entry.removed)
        elif entry.member:
            lines.append("- removed: nothing")
        lines.append("")
    return "\n".join(lines)


def summary_line(entry: FileEntry) -> str:
    """One line for the terminal: `~/.kube/config: copied, 3 values removed`."""
    if entry.status in (ABSENT, NOT_COPIED):
        tail = f" ({entry.reason})" if entry.reason and entry.status == NOT_COPIED else ""
        return f"{entry.path}: {entry.status}{tail}"
    count = len(entry.removed)
    removed = f", {count} item{'s' if count != 1 else ''} removed" if count else ""
    return f"{entry.path}: {entry.status}{removed}"
