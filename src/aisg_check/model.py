"""The shared vocabulary: statuses, diagnoses, results and the report of a run.

Checks produce `CheckResult`s; reporters turn a `RunReport` into text. Nothing here knows
about formats, the network or the terminal.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any


class Status(str, enum.Enum):
    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"
    ERROR = "error"

    @property
    def is_problem(self) -> bool:
        return self in (Status.FAIL, Status.ERROR)


CONTACT_MLOPS = "the MLOps team (mlops@aisingapore.org)"
CONTACT_DATAOPS = "the DataOps team (dataops@aisingapore.org)"


@dataclass(frozen=True)
class Diagnosis:
    """A stable diagnosis code with what it means; the docs catalogue is generated from these.

    `fix` is the generic remedy; a check usually gives a more concrete hint (the exact
    command, file or name) when it reports the code.
    """

    code: str
    title: str
    cause: str
    fix: str
    contact: str | None = None


@dataclass(frozen=True)
class Credential:
    """A credential a check saw that has an expiry, in one shared form: what it is, whose, when
    it expires and where it was read. Never the credential itself."""

    kind: str  # stable, snake_case: "gitlab_token", "runai_refresh_token", "harbor_robot"
    name: str  # for people: "GitLab token ci-bot", "Run:ai refresh token"
    expires_at: datetime | None  # aware, UTC; None: does not expire
    source: str  # where it was read: "GITLAB_TOKEN", "~/.kube/config (user runai)", a file path
    owner: str | None = None  # whose: a user or robot name (JSON only, never a metric label)

    def to_dict(self) -> dict[str, Any]:
        expires = self.expires_at.astimezone(timezone.utc) if self.expires_at else None
        return {
            "kind": self.kind,
            "name": self.name,
            "owner": self.owner,
            "expires_at": expires.isoformat(timespec="seconds").replace("+00:00", "Z") if expires else None,
            "source": self.source,
        }


@dataclass(frozen=True)
class CheckResult:
    id: str
    component: str
    title: str
    status: Status
    summary: str
    code: str | None = None
    hint: str | None = None
    docs_url: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)
    duration_s: float = 0.0
    blocked_by: str | None = None
    # Credentials with an expiry this step saw (tokens, robot accounts), for the table's
    # "Credentials" section, the JSON and the metrics.
    credentials: tuple[Credential, ...] = ()
    # The command that fixes this result's code automatically, when a safe local fix exists.
    fix: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "component": self.component,
            "title": self.title,
            "status": self.status.value,
            "summary": self.summary,
            "code": self.code,
            "hint": self.hint,
            "docs_url": self.docs_url,
            "details": dict(self.details),
            "duration_s": round(self.duration_s, 3),
            "blocked_by": self.blocked_by,
            "credentials": [c.to_dict() for c in self.credentials],
            "fix": self.fix,
        }


@dataclass(frozen=True)
class Summary:
    passed: int = 0
    warned: int = 0
    failed: int = 0
    skipped: int = 0
    errored: int = 0

    def to_dict(self) -> dict[str, int]:
        return {
            "pass": self.passed,
            "warn": self.warned,
            "fail": self.failed,
            "skip": self.skipped,
            "error": self.errored,
        }


@dataclass(frozen=True)
class RunReport:
    tool_name: str
    tool_version: str
    started_at: str  # ISO 8601, UTC
    duration_s: float
    results: tuple[CheckResult, ...]
    interrupted: bool = False

    @property
    def summary(self) -> Summary:
        counts = {status: 0 for status in Status}
        for result in self.results:
            counts[result.status] += 1
        return Summary(
            passed=counts[Status.PASS],
            warned=counts[Status.WARN],
            failed=counts[Status.FAIL],
            skipped=counts[Status.SKIP],
            errored=counts[Status.ERROR],
        )

    def exit_code(self, *, strict: bool = False) -> int:
        if self.interrupted:
            return 130
        summary = self.summary
        if summary.failed or summary.errored:
            return 1
        if strict and summary.warned:
            return 1
        return 0

    def components(self) -> list[str]:
        seen: dict[str, None] = {}
        for result in self.results:
            seen.setdefault(result.component, None)
        return list(seen)
