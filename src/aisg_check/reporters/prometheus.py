"""Prometheus metrics: what `--format prometheus` prints, what `--output FILE.prom` leaves for the
node exporter's textfile collector, and what a fleet run pushes to the Pushgateway (push.py).

Built with `prometheus_client` (the exposition format is the library's, not ours). One series
per step and metric, with low-cardinality labels only: `component`, `check` (the step's result
id), `project` (`fleet.project`, empty when unset) and, where the metric is about one, `status`,
`code` or `credential` (a Credential's kind). Never a user name, a robot name or a run id: an
owner goes to the JSON only. The names are a contract with the alert rules
(deploy/base/prometheusrule.yaml) and dashboards; docs/output.md lists them.

No timestamps on the samples: the Pushgateway and the textfile collector both refuse them, and
`aisg_check_last_run_timestamp_seconds` says when the run was.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector, CollectorRegistry

from aisg_check.model import CheckResult, RunReport, Status
from aisg_check.reporters import RenderOptions

PREFIX = "aisg_check"
STEP_LABELS = ("component", "check", "project")
# The metrics' names and help, in the order they are written (docs/output.md repeats them).
HELP = {
    "success": "1 when the step passed (warnings included), 0 when it failed or errored; "
    "not set for a skipped step",
    "status": "1, labelled with the step's status: pass, warn, fail, skip or error",
    "duration_seconds": "wall time of the step in seconds",
    "diagnosis": "1, labelled with the diagnosis code the step reported",
    "credential_expiry_timestamp_seconds": "when the credential expires, in seconds since the epoch "
    "(the earliest, where a component saw several of one kind)",
    "last_run_timestamp_seconds": "when the run ended, in seconds since the epoch",
    "run_duration_seconds": "wall time of the whole run in seconds",
    "build_info": "1, labelled with the version of aisg-check that ran",
}


def _ended_at(report: RunReport) -> float:
    started = datetime.fromisoformat(report.started_at.replace("Z", "+00:00"))
    if started.tzinfo is None:
        started = started.replace(tzinfo=timezone.utc)
    return started.timestamp() + report.duration_s


def _succeeded(result: CheckResult) -> float | None:
    if result.status is Status.SKIP:
        # Blocked or not applicable: the step that blocked it carries the failure, so an alert on
        # success == 0 fires once per cause, not once per step behind it.
        return None
    return 1.0 if result.status in (Status.PASS, Status.WARN) else 0.0


class ReportCollector(Collector):
    """The metrics of one finished run, for one registry (a snapshot: collected once)."""

    def __init__(self, report: RunReport, project: str) -> None:
        self.report = report
        self.project = project

    def describe(self) -> Iterator[Metric]:
        for name in HELP:
            yield GaugeMetricFamily(f"{PREFIX}_{name}", HELP[name])

    def _family(self, name: str, labels: tuple[str, ...]) -> GaugeMetricFamily:
        return GaugeMetricFamily(f"{PREFIX}_{name}", HELP[name], labels=list(labels))

    def collect(self) -> Iterator[Metric]:
        project = self.project
        success = self._family("success", STEP_LABELS)
        status = self._family("status", (*STEP_LABELS, "status"))
        duration = self._family("duration_seconds", STEP_LABELS)
        diagnosis = self._family("diagnosis", (*STEP_LABELS, "code"))
        expiry: dict[tuple[str, str], float] = {}
        seen: set[str] = set()
        for result in self.report.results:
            if result.id in seen:  # one series per label set, or the Pushgateway refuses the push
                continue
            seen.add(result.id)
            labels = [result.component, result.id, project]
            ok = _succeeded(result)
            if ok is not None:
                success.add_metric(labels, ok)
            status.add_metric([*labels, result.status.value], 1.0)
            duration.add_metric(labels, result.duration_s)
            if result.code and result.status is not Status.PASS:
                diagnosis.add_metric([*labels, result.code], 1.0)
            for credential in result.credentials:
                if credential.expires_at is None:
                    continue  # no expiry: nothing to alert on
                at = credential.expires_at
                stamp = (at if at.tzinfo else at.replace(tzinfo=timezone.utc)).timestamp()
                key = (result.component, credential.kind)
                expiry[key] = min(stamp, expiry.get(key, stamp))
        credentials = self._family(
            "credential_expiry_timestamp_seconds", ("component", "credential", "project")
        )
        for (component, kind), stamp in sorted(expiry.items()):
            credentials.add_metric([component, kind, project], stamp)
        last_run = self._family("last_run_timestamp_seconds", ("project",))
        last_run.add_metric([project], _ended_at(self.report))
        run_duration = self._family("run_duration_seconds", ("project",))
        run_duration.add_metric([project], self.report.duration_s)
        build = self._family("build_info", ("version", "project"))
        build.add_metric([self.report.tool_version, project], 1.0)
        yield from (success, status, duration, diagnosis, credentials, last_run, run_duration, build)


def registry_for(report: RunReport, project: str) -> CollectorRegistry:
    """A registry of this run's metrics only (not the library's process and platform metrics)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ReportCollector(report, project))
    return registry


def render(report: RunReport, options: RenderOptions) -> str:
    return generate_latest(registry_for(report, options.project)).decode("utf-8")
