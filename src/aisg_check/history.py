"""The run history: one compact line per run in the user's state directory, for "what changed
since last time" (the table's `was pass on 2026-11-30`) and `aisg-check history`.

A line holds the time, the version and each result's id, status and code: never a summary, a
hint or a detail, which may name the user's hosts and files; ids and the whole line pass the
run's scrubber too. The file is `history.jsonl` in platformdirs' user_state_dir for
"aisg-check" (`$XDG_STATE_HOME/aisg-check`, else `~/.local/state/aisg-check` on Linux), found
from the run's environment and home so that tests point it anywhere.

Robust by construction: a run appends its one line with O_APPEND, under an exclusive `flock` on
a lock file beside it where there is one, so concurrent runs never interleave; the file is rewritten
(a temporary in the same directory, renamed over it) only to trim it back to the last `KEEP`
runs or to drop lines that are not ours; an unreadable or damaged file costs one line on stderr
and never the run. Off by the `history` setting or `--no-history`.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import stat
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone, tzinfo
from pathlib import Path
from typing import Any

from aisg_check.model import RunReport, Status

APP = "aisg-check"
FILE_NAME = "history.jsonl"
FORMAT = 1
KEEP = 200  # runs kept when the file is trimmed
SLACK = 50  # lines allowed beyond KEEP before trimming, so that not every run rewrites the file
MAX_BYTES = 4 * 1024 * 1024  # only the file's tail is read: a file this large is trimmed anyway

_STATUSES = frozenset(s.value for s in Status)


def state_dir(env: Mapping[str, str], home: Path, platform: str = sys.platform) -> Path:
    """platformdirs' user_state_dir for aisg-check, from this environment and home."""
    if platform == "win32":
        import platformdirs

        return Path(platformdirs.user_state_dir(APP, appauthor=False))
    xdg = env.get("XDG_STATE_HOME", "").strip()
    if xdg and os.path.isabs(xdg):
        return Path(xdg) / APP
    if platform == "darwin":
        return home / "Library" / "Application Support" / APP
    return home / ".local" / "state" / APP


def history_path(env: Mapping[str, str], home: Path) -> Path:
    return state_dir(env, home) / FILE_NAME


@dataclass(frozen=True)
class Run:
    """One recorded run: when, which version, and each result's status and code."""

    at: str  # ISO 8601 UTC, as the report's started_at
    version: str
    interrupted: bool
    results: Mapping[str, tuple[str, str | None]]  # id → (status, code)

    def counts(self) -> dict[str, int]:
        counts = {status.value: 0 for status in Status}
        for status, _ in self.results.values():
            counts[status] += 1
        return counts

    def problems(self) -> list[str]:
        """The codes of the run's failures and errors, once each, in report order."""
        codes = [c for s, c in self.results.values() if s in ("fail", "error") and c]
        return list(dict.fromkeys(codes))

    def when(self) -> datetime:
        return _parse_time(self.at)

    def to_dict(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "version": self.version,
            "interrupted": self.interrupted,
            "summary": self.counts(),
            "results": {i: {"status": s, "code": c} for i, (s, c) in self.results.items()},
        }


def entry(report: RunReport, scrub: Callable[[str], str]) -> Run:
    return Run(
        at=report.started_at,
        version=report.tool_version,
        interrupted=report.interrupted,
        results={scrub(r.id): (r.status.value, r.code) for r in report.results},
    )


def encode(run: Run, scrub: Callable[[str], str]) -> str | None:
    """The run's line; None should scrubbing have broken it (a secret in its JSON escaping)."""
    results = {i: [s] if c is None else [s, c] for i, (s, c) in run.results.items()}
    data = {
        "v": FORMAT,
        "at": run.at,
        "version": run.version,
        "interrupted": run.interrupted,
        "results": results,
    }
    line = scrub(json.dumps(data, separators=(",", ":"), ensure_ascii=True))
    return line if _decode(line) is not None else None


def _decode(line: str) -> Run | bool | None:
    """A Run; True for a valid line of a later format (kept, not shown); None for anything else."""
    try:
        data = json.loads(line)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("v"), int) or isinstance(data["v"], bool):
        return None
    if data["v"] > FORMAT:
        return True
    at, version, results = data.get("at"), data.get("version"), data.get("results")
    if data["v"] != FORMAT or not isinstance(at, str) or not isinstance(version, str):
        return None
    if not isinstance(results, dict):
        return None
    parsed: dict[str, tuple[str, str | None]] = {}
    for key, value in results.items():
        if not (isinstance(value, list) and 1 <= len(value) <= 2 and value[0] in _STATUSES):
            return None
        code = value[1] if len(value) == 2 else None
        if code is not None and not isinstance(code, str):
            return None
        parsed[key] = (value[0], code)
    try:
        _parse_time(at)
    except ValueError:
        return None
    return Run(at, version, bool(data.get("interrupted")), parsed)


def _parse_time(text: str) -> datetime:
    when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


# ---------------------------------------------------------------------------------------------
# reading


@dataclass(frozen=True)
class Loaded:
    runs: tuple[Run, ...] = ()
    kept: tuple[str, ...] = ()  # every valid line (ours and later formats), oldest first
    bad_lines: int = 0
    problem: str | None = None  # why the file could not be read at all
    cut: bool = False  # larger than MAX_BYTES: only its tail was read


# How long a run waits for another run's hold on the history before it gives up recording.
LOCK_WAIT_S = 2.0


@contextlib.contextmanager
def _locked(path: Path, *, exclusive: bool) -> Iterator[None]:
    """`flock` on a lock file beside the history, which a trim never replaces (a lock on the
    history itself would be lost with the file renamed over it). Where there is no flock
    (Windows), O_APPEND still writes each line whole. Reading goes on without the lock when
    the lock file cannot be made (a read-only directory): a reader changes nothing."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    lock = path.with_name(f".{path.name}.lock")
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
    except OSError:
        if exclusive:
            raise
        yield
        return
    try:
        _lock_within(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH, LOCK_WAIT_S)
        yield
    finally:
        os.close(fd)  # releases the lock


def _lock_within(fd: int, kind: int, seconds: float) -> None:
    """`flock`, but bounded: a run must not hang on a history another process holds (a stuck
    run, a network file system); after `seconds` it is an OSError, told in one line."""
    import fcntl
    import time

    give_up = time.monotonic() + seconds
    while True:
        try:
            fcntl.flock(fd, kind | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= give_up:
                raise OSError(
                    f"the run history is locked by another aisg-check for over {seconds:g}s"
                ) from None
            time.sleep(0.02)


def _read_tail(fd: int) -> tuple[bytes, bool]:
    size = os.fstat(fd).st_size
    start = max(0, size - MAX_BYTES)
    os.lseek(fd, start, os.SEEK_SET)
    chunks, left = [], size - start
    while left > 0:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    data = b"".join(chunks)
    if start:  # the first line is cut: drop it, it belongs to the runs being trimmed anyway
        data = data.partition(b"\n")[2]
    return data, start > 0


def _parse(data: bytes) -> Loaded:
    pieces = data.split(b"\n")
    tail = pieces.pop()  # after the last newline: empty, or a line whose write never finished
    runs, kept, bad = [], [], 1 if tail.strip() else 0
    for raw in pieces:
        if not raw.strip():
            continue
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            bad += 1
            continue
        decoded = _decode(line)
        if decoded is None:
            bad += 1
            continue
        kept.append(line)
        if isinstance(decoded, Run):
            runs.append(decoded)
    return Loaded(tuple(runs), tuple(kept), bad)


def _open_regular(path: Path, flags: int) -> int:
    """An fd on the regular file at `path`; OSError for anything else (O_NONBLOCK: a FIFO
    swapped in must not hang the run)."""
    fd = os.open(path, flags | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0), 0o600)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise OSError(errno.EISDIR if stat.S_ISDIR(mode) else errno.EINVAL, "not a regular file")
    except OSError:
        os.close(fd)
        raise
    return fd


def load(path: Path) -> Loaded:
    """The recorded runs, oldest first; a missing file is an empty history."""
    try:
        with _locked(path, exclusive=False):  # a run appending now finishes its line first
            fd = _open_regular(path, os.O_RDONLY)
            try:
                data, cut = _read_tail(fd)
            finally:
                os.close(fd)
    except (FileNotFoundError, NotADirectoryError):  # no history yet (writing it will say why not)
        return Loaded()
    except OSError as exc:
        return Loaded(problem=exc.strerror or str(exc))
    return replace(_parse(data), cut=cut)


# ---------------------------------------------------------------------------------------------
# writing


def _append(path: Path, line: str) -> None:
    data = (line + "\n").encode("utf-8")
    with _locked(path, exclusive=True):
        fd = _open_regular(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        try:
            while data:
                data = data[os.write(fd, data) :]
        finally:
            os.close(fd)


def _rewrite(path: Path, line: str, keep: int) -> None:
    """The valid lines and `line`, the last `keep` of them, renamed over the file: under the
    lock, so that no run appends to the file being replaced."""
    with _locked(path, exclusive=True):
        try:
            fd = _open_regular(path, os.O_RDONLY)
        except FileNotFoundError:
            data = b""
        else:
            try:
                data = _read_tail(fd)[0]
            finally:
                os.close(fd)
        lines = [*_parse(data).kept, line][-keep:]
        _replace(path, "".join(f"{text}\n" for text in lines).encode("utf-8"))


def _replace(path: Path, data: bytes) -> None:
    from aisg_check.writes import replace_file

    replace_file(path, data, mode=0o600)


def record(
    path: Path, run: Run, scrub: Callable[[str], str], *, keep: int = KEEP
) -> tuple[tuple[Run, ...], str | None]:
    """Append `run` to the history at `path`: the runs recorded before it, oldest first, and
    at most one line for stderr when the file was damaged or could not be read or written."""
    before = load(path)
    if before.problem:
        return (), f"aisg-check: history: {path} cannot be read ({before.problem}); this run is not recorded"
    line = encode(run, scrub)
    if line is None:
        return before.runs, "aisg-check: history: this run could not be recorded safely; it is not"
    note = None
    if before.bad_lines:
        note = f"aisg-check: history: ignored {before.bad_lines} damaged line(s) in {path}; they are removed"
    try:
        os.makedirs(path.parent, mode=0o700, exist_ok=True)
        if before.bad_lines or before.cut or len(before.kept) + 1 > keep + min(SLACK, keep):
            _rewrite(path, line, keep)
        else:
            _append(path, line)
    except OSError as exc:
        note = f"aisg-check: history: cannot record this run in {path}: {exc.strerror or exc}"
    return before.runs, note


# ---------------------------------------------------------------------------------------------
# what changed since the last run of each check


def changes(report: RunReport, runs: Sequence[Run], *, tz: tzinfo | None = None) -> dict[str, str]:
    """For each result whose status (or, with the same status, code) differs from the last run
    that ran that check: `was pass on 2026-11-30` (`was pass today at 09:14` the same day).

    Skips are neither marked nor compared with: a skipped step did not run, then or now."""
    wanted = {r.id for r in report.results if r.status is not Status.SKIP}
    last: dict[str, tuple[str, str | None, Run]] = {}
    for run in reversed(runs):
        for result_id in wanted - last.keys():
            found = run.results.get(result_id)
            if found is not None and found[0] != Status.SKIP.value:
                last[result_id] = (found[0], found[1], run)
        if len(last) == len(wanted):
            break
    today = _parse_time(report.started_at).astimezone(tz).date()
    marks = {}
    for result in report.results:
        if result.id not in last:
            continue
        status, code, run = last[result.id]
        if status != result.status.value:
            what = status
        elif code != result.code and code:
            what = code
        else:
            continue
        when = run.when().astimezone(tz)
        marks[result.id] = (
            f"was {what} today at {when:%H:%M}" if when.date() == today else f"was {what} on {when:%Y-%m-%d}"
        )
    return marks
