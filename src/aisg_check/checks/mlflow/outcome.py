"""What the run's layers share across threads: the test run once created, how far it got, and
a layer's result worked out in a worker thread and recorded afterwards by the check's own
thread, in layer order (the run's params and its artifact go to the server at the same time,
but a failed run must still block the artifact layer rather than sit beside its pass)."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aisg_check.check import Recorder, StepRef
from aisg_check.model import Diagnosis


@dataclass(frozen=True)
class TestRun:
    """The run the check logs to: created, or the one kept by an earlier check and reused
    (`reuse.py`); deleted afterwards unless --keep-run."""

    __test__ = False  # not a pytest class, whatever its name

    run_id: str
    artifact_uri: str
    experiment_id: str
    experiment: str
    url: str  # the run's page in the MLflow UI
    attempt: int = 0  # which check logs to it: 0 for a new run, one more for each reuse
    reused: bool = False  # kept by an earlier check that could not delete it
    reusable: bool = False  # tagged so that the next check finds it again, should it stay
    # The experiment's note of the run this user keeps (`reuse.marker`), as the check found it:
    # None when there is none; another run's id when that run is gone.
    marker: str | None = None

    @property
    def uploaded(self) -> str:
        """How the artifact layer's summary says it went: a kept run's artifact is overwritten."""
        return "uploaded again, over the earlier attempt's," if self.reused else "uploaded"


@dataclass(frozen=True)
class Progress:
    """Set by the layers, read by the cleanup (also after a crash half-way): whether an upload
    was attempted (never delete from a store nothing went to) and whether the run is complete."""

    uploading: threading.Event = field(default_factory=threading.Event)
    complete: threading.Event = field(default_factory=threading.Event)


@dataclass(frozen=True)
class Outcome:
    diagnosis: Diagnosis | None  # None: the layer passed
    summary: str
    hint: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.diagnosis is None

    def record(self, rec: Recorder, step: StepRef) -> None:
        """Record it; a failure ends the check here (`Stop`), as `raise rec.fail` does."""
        if self.diagnosis is None:
            rec.ok(step, self.summary, details=self.details)
            return
        raise rec.fail(step, self.diagnosis, self.summary, hint=self.hint, details=self.details)
