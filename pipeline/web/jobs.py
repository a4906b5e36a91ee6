"""Background jobs of the web view: classification and training, one at a time, in order.

A job runs in a worker thread of the server process, so a page returns at once and shows
the job's progress. Jobs are not persisted: what they produce is (the batch commits each
file in its own transaction; training writes its model folder only when it is complete), so
stopping the server loses at most the work of the running job, never anything stored.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import logging
import queue
import re
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pipeline.errors import BulletinsError

log = logging.getLogger(__name__)

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
#: States in Chinese, for the pages.
STATE_NAMES = {QUEUED: "排队中", RUNNING: "进行中", DONE: "已完成", FAILED: "失败"}


def _now() -> str:
    return dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S")


@dataclass
class Job:
    """One background job and what it reports.

    Attributes:
        id: its number (1, 2, …).
        kind: ``classify``, ``train`` or ``reclassify``.
        title: what it does, for people.
        state: queued, running, done or failed.
        done, total: progress (files for classification).
        failures: ``(file as the person knows it, reason)`` per file that failed.
        lines: the summary, line by line.
        error: why the job failed as a whole.
        result: what the page shows at the end (e.g. the model comparison).
    """

    id: int
    kind: str
    title: str
    state: str = QUEUED
    done: int = 0
    total: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    error: str = ""
    result: dict = field(default_factory=dict)
    created: str = field(default_factory=_now)
    started: str = ""
    finished: str = ""

    @property
    def state_name(self) -> str:
        return STATE_NAMES[self.state]

    @property
    def active(self) -> bool:
        return self.state in (QUEUED, RUNNING)

    @property
    def percent(self) -> int:
        if self.state == DONE:
            return 100
        return int(100 * self.done / self.total) if self.total else 0

    def public(self) -> dict[str, Any]:
        """What the progress poll returns (plain JSON)."""
        return {
            "id": self.id,
            "state": self.state,
            "state_name": self.state_name,
            "done": self.done,
            "total": self.total,
            "percent": self.percent,
            "failures": len(self.failures),
            "active": self.active,
            "lines": list(self.lines[-20:]),
        }


class ProgressStream(io.StringIO):
    """A stand-in terminal for :class:`pipeline.batch.Progress`: reads ``done/total files``
    from the bar the batch draws, so the web shows the same progress the CLI does."""

    _BAR = re.compile(r"(\d+)/(\d+) files")

    def __init__(self, job: Job) -> None:
        super().__init__()
        self.job = job

    def isatty(self) -> bool:
        return True

    def write(self, s: str) -> int:
        found = self._BAR.findall(s)
        if found:
            done, total = found[-1]
            self.job.done, self.job.total = int(done), int(total)
        return len(s)


class JobRunner:
    """Runs submitted jobs one after another in a daemon thread; keeps the latest ``keep``."""

    def __init__(self, keep: int = 50) -> None:
        self._jobs: dict[int, Job] = {}
        self._ids = itertools.count(1)
        self._queue: queue.Queue[tuple[Job, Callable[[Job], None]] | None] = queue.Queue()
        self._lock = threading.Lock()
        self._keep = keep
        self._thread: threading.Thread | None = None

    def submit(self, kind: str, title: str, work: Callable[[Job], None], total: int = 0) -> Job:
        """Queue ``work(job)``; it may update the job's progress, lines and result."""
        with self._lock:
            job = Job(next(self._ids), kind, title, total=total)
            self._jobs[job.id] = job
            for old in sorted(self._jobs)[: max(0, len(self._jobs) - self._keep)]:
                if not self._jobs[old].active:
                    del self._jobs[old]
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="bulletins-jobs", daemon=True)
                self._thread.start()
        self._queue.put((job, work))
        return job

    def get(self, job_id: int) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def recent(self, kind: str | None = None, n: int = 10) -> list[Job]:
        """The newest jobs first."""
        with self._lock:
            jobs = [j for j in self._jobs.values() if kind is None or j.kind == kind]
        return sorted(jobs, key=lambda j: j.id, reverse=True)[:n]

    def busy(self) -> bool:
        with self._lock:
            return any(j.active for j in self._jobs.values())

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until every submitted job has finished (for tests and shutdown)."""
        done = threading.Event()

        def waiter() -> None:
            self._queue.join()
            done.set()

        threading.Thread(target=waiter, daemon=True).start()
        return done.wait(timeout)

    def stop(self) -> None:
        """Let the worker end after the running job (queued ones are dropped)."""
        self._queue.put(None)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                job, work = item
                job.state, job.started = RUNNING, _now()
                try:
                    work(job)
                    job.state = DONE
                except BulletinsError as exc:
                    job.state, job.error = FAILED, str(exc)
                except Exception as exc:  # a bug must not kill the worker: show it on the job
                    log.error("job %d failed:\n%s", job.id, traceback.format_exc())
                    job.state, job.error = FAILED, f"{type(exc).__name__}: {exc}"
                finally:
                    job.finished = _now()
            finally:
                self._queue.task_done()
