"""JSON: a versioned envelope (pipx's idea). A change of shape bumps SCHEMA_VERSION and
src/aisg_check/schema/report-v<N>.json documents it."""

from __future__ import annotations

import json
from typing import Any

from aisg_check.model import RunReport
from aisg_check.next_steps import plan
from aisg_check.reporters import RenderOptions

SCHEMA_VERSION = 1


def to_dict(report: RunReport) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": report.tool_name, "version": report.tool_version},
        "started_at": report.started_at,
        "duration_s": round(report.duration_s, 3),
        "interrupted": report.interrupted,
        "summary": report.summary.to_dict(),
        # The root causes in the order to fix them (next_steps.plan); added within version 1.
        "next_steps": [step.to_dict() for step in plan(report)],
        "results": [r.to_dict() for r in report.results],
    }


def render(report: RunReport, options: RenderOptions) -> str:
    return json.dumps(to_dict(report), indent=2, ensure_ascii=False, default=str) + "\n"
