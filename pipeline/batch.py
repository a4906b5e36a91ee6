"""Batch classification of an archive into the results store.

Workers (joblib, ``loky`` processes by default, or a Dask cluster through joblib's ``dask``
backend) read files: extract, clean and structure, returning picklable
:class:`~pipeline.documents.Bulletin` objects. The parent classifies each bulletin as it
arrives and writes it in its own transaction, so memory stays flat in the archive size and
whatever was stored survives a crash or Ctrl-C; the next run resumes.

Incrementality (see ``docs/batch.md``): a file whose content hash is stored and current
for the model version is skipped; a stored file whose current version differs is
re-classified from its stored passages without being read again; ``force`` redoes all.

scikit-learn is imported only when something has to be classified: an unchanged rerun
reads the model version from the model's sidecar and never loads the model.
"""

from __future__ import annotations

import logging
import os
import sys
import time
import warnings
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from pipeline import config
from pipeline.classify.model_files import read_meta, resolve_model_dir
from pipeline.documents import Bulletin
from pipeline.errors import BulletinsError, InputError, ModelError, UsageError
from pipeline.ingest import expand_paths, read_or_error
from pipeline.readers.hashing import file_sha256
from pipeline.store.database import open_store

log = logging.getLogger(__name__)

BACKENDS = ("loky", "dask")


# --- worker side ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ReadFailure:
    """A file a worker could not read: picklable, with the error's class and message."""

    path: Path
    error: str
    message: str


def read_one(path: Path, password: str | None = None, engine: str = "pdfplumber") -> Bulletin | ReadFailure:
    """Read one file in a worker; never raises for a bad file.

    Args:
        path: the file.
        password: for encrypted PDFs.
        engine: PDF engine.

    Returns:
        The structured bulletin, or what went wrong.
    """
    got = read_or_error(path, password=password, engine=engine)
    if isinstance(got, BulletinsError):
        return ReadFailure(Path(path), type(got).__name__, str(got))
    return got


# --- progress ------------------------------------------------------------------------------


class Progress:
    """A one-line progress bar: files done/total, rate and ETA. Silent when disabled.

    Args:
        total: number of files.
        stream: where to draw (a terminal).
        enabled: draw at all.
        width: bar width in characters.
    """

    def __init__(self, total: int, stream: TextIO | None = None, enabled: bool = True, width: int = 24) -> None:
        self.total, self.done, self.width = total, 0, width
        self.stream = stream or sys.stderr
        self.enabled = enabled and total > 0
        self.start = time.monotonic()
        self._last = 0.0
        self._timed = 0  # files that took work (skips are instant and would inflate the rate)
        self._drawn = False

    def advance(self, n: int = 1, worked: bool = True) -> None:
        self.done += n
        if worked:
            self._timed += n
        now = time.monotonic()
        if self.enabled and (now - self._last >= 0.1 or self.done >= self.total):
            self._last = now
            self.stream.write("\r" + self.line(now))
            self.stream.flush()
            self._drawn = True

    def line(self, now: float | None = None) -> str:
        """The bar's text."""
        elapsed = max((now or time.monotonic()) - self.start, 1e-9)
        frac = self.done / self.total if self.total else 1.0
        filled = int(frac * self.width)
        rate = self._timed / elapsed
        left = self.total - self.done
        eta = _clock(left / rate) if rate > 0 and left else ("0:00" if not left else "?")
        return (
            f"[{'#' * filled}{'.' * (self.width - filled)}] {self.done}/{self.total} files "
            f"{rate:.1f} files/s ETA {eta} "
        )

    def close(self) -> None:
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


# --- summary -------------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchSummary:
    """What a batch did.

    Attributes:
        total: files found.
        read: files read, classified and stored.
        reclassified: stored files classified again with a new model (not re-read).
        unchanged: files skipped (stored and current for the model).
        duplicates: files skipped as another copy of a bulletin: the same content under
            another path, or the same title, year and issue number (another rendition).
        failed: ``(file, one-line reason)`` per file that could not be read.
        warnings: ``(file, note)`` per extraction-quality note of a file read in this run
            (e.g. characters without a Unicode mapping); the file is stored.
        passages: passages classified in this run.
        model_version: the model used.
        seconds: wall time.
    """

    total: int
    read: int
    reclassified: int
    unchanged: int
    duplicates: int
    failed: tuple[tuple[str, str], ...]
    warnings: tuple[tuple[str, str], ...]
    passages: int
    model_version: str
    seconds: float

    @property
    def processed(self) -> int:
        """Files that are in the store, current, after this run."""
        return self.total - len(self.failed)

    def lines(self) -> list[str]:
        """The summary as lines for stderr: counts, one line per failure, then per warning."""
        head = (
            f"{self.total} file(s): {self.read} read, {self.reclassified} re-classified, "
            f"{self.unchanged} unchanged, {self.duplicates} duplicate, {len(self.failed)} failed; "
            f"{self.passages} passage(s) classified with {self.model_version} in {self.seconds:.1f} s"
        )
        return (
            [head]
            + [f"failed: {reason}" for _, reason in self.failed]
            + [f"warning: {file}: {note}" for file, note in self.warnings]
        )


# --- model version without scikit-learn ----------------------------------------------------


def peek_version(model: str | Path | None = None, models_dir: Path = config.MODELS_DIR) -> str:
    """A model's version from its sidecar, without loading it (or scikit-learn).

    Resolves names with :func:`pipeline.classify.model_files.resolve_model_dir`, as loading does. The version is
    verified when the model is loaded, which happens only if something needs classifying.

    Args:
        model: a folder, a name under ``models_dir``, or ``None`` for the default.
        models_dir: where named models live.

    Returns:
        The version, e.g. ``default@0123456789``.

    Raises:
        ModelError: no readable sidecar.
    """
    folder = resolve_model_dir(model, models_dir)
    try:
        return read_meta(folder)["version"]
    except KeyError:
        raise ModelError("metadata.json names no version", folder, "retrain with `bulletins train`") from None


class _LazyModel:
    """Loads the model (and scikit-learn) on first use only."""

    def __init__(self, model: Any, models_dir: Path, predict: Callable | None) -> None:
        self._spec, self._models_dir, self._predict = model, models_dir, predict
        self._loaded = model if hasattr(model, "version") else None
        self.version = self._loaded.version if self._loaded is not None else peek_version(model, models_dir)

    def predict(self, texts: list[str]):
        if self._predict is None:
            from pipeline.classify import model as model_mod  # scikit-learn: only when classifying

            self._predict = model_mod.predict
        if self._loaded is None:
            from pipeline.classify import model as model_mod

            self._loaded = model_mod.load_model(self._spec, self._models_dir)
            if self._loaded.version != self.version:
                raise ModelError(
                    f"the sidecar names version {self.version} but the model loaded is {self._loaded.version}",
                    self._loaded.path,
                    "retrain with `bulletins train`",
                )
        frame = self._predict(self._loaded, texts)
        if len(frame) != len(texts):
            raise ModelError(f"the model returned {len(frame)} predictions for {len(texts)} passages")
        return frame


# --- the batch -----------------------------------------------------------------------------


#: Bulletins classified together: one model call per group saves its fixed cost (about
#: 10 ms), and each bulletin is still written in its own transaction.
GROUP_FILES = 8
GROUP_PASSAGES = 256


class _Writer:
    """Groups bulletins for one model call, then writes each in its own transaction.

    At most :data:`GROUP_FILES` bulletins wait in memory; an interruption loses only those
    (they are read again on the next run), never anything already written.
    """

    def __init__(self, st, clf: _LazyModel, engine: str, progress: Progress, counts: dict) -> None:
        self.st, self.clf, self.engine, self.progress, self.counts = st, clf, engine, progress, counts
        self.items: list[tuple[str, Any, list]] = []  # ("read", Bulletin, texts) or ("stored", id, [(pid, text)])
        self.passages = 0

    def add_read(self, bulletin: Bulletin) -> None:
        self._add(("read", bulletin, [p.text for p in bulletin.passages]))

    def add_stored(self, bulletin_id: int, ids_texts: list[tuple[int, str]]) -> None:
        self._add(("stored", bulletin_id, ids_texts))

    def _add(self, item) -> None:
        self.items.append(item)
        self.passages += len(item[2])
        if len(self.items) >= GROUP_FILES or self.passages >= GROUP_PASSAGES:
            self.flush()

    def flush(self) -> None:
        if not self.items:
            return
        texts = [t if kind == "read" else t[1] for kind, _, ts in self.items for t in ts]
        frame = self.clf.predict(texts) if texts else None
        version, offset = self.clf.version, 0
        for kind, obj, ts in self.items:
            part = frame.iloc[offset : offset + len(ts)] if ts and frame is not None else None
            offset += len(ts)
            if kind == "read":
                self.st.write_bulletin(obj, part, version, self.engine)
                self.counts["read"] += 1
            elif part is None:
                self.st.set_current(obj, version)
                self.counts["reclassified"] += 1
            else:
                self.st.write_predictions(obj, [pid for pid, _ in ts], part, version)
                self.counts["reclassified"] += 1
            self.counts["passages"] += len(ts)
        self.progress.advance(len(self.items))  # one redraw per group, with its final count
        self.items, self.passages = [], 0


def classify(
    paths: Iterable[Path | str],
    db: Path = config.DB_PATH,
    jobs: int | None = None,
    model: Any = None,
    force: bool = False,
    engine: str = "pdfplumber",
    backend: str = "loky",
    scheduler: str | None = None,
    quiet: bool = False,
    password: str | None = None,
    *,
    models_dir: Path = config.MODELS_DIR,
    predict: Callable | None = None,
    stream: TextIO | None = None,
) -> BatchSummary:
    """Extract, classify and store every bulletin under ``paths``.

    Args:
        paths: files and folders (walked recursively for .pdf, .txt, .docx).
        db: the results store (created if missing).
        jobs: parallel workers (default: all cores; with Dask: all the cluster's threads).
        model: a model name or folder (default: the current default), or a loaded model.
        force: re-read and re-classify everything, stored or not.
        engine: PDF engine, ``pdfplumber`` or ``pdfium``.
        backend: ``loky`` (local processes) or ``dask`` (needs ``scheduler``).
        scheduler: a Dask scheduler address, e.g. ``tcp://10.0.0.5:8786``.
        quiet: no progress bar.
        password: for encrypted PDFs.
        models_dir: where named models live.
        predict: ``predict(model, texts) -> DataFrame`` (default
            :func:`pipeline.classify.model.predict`); for tests and other classifiers.
        stream: where the progress bar goes (default stderr; drawn only on a terminal).

    Returns:
        What happened; failures are listed with a one-line reason and stored.

    Raises:
        UsageError: no files found, or options that do not fit together.
        ModelError: the model cannot be found or loaded.
        StoreError: the store cannot be opened.
    """
    started = time.monotonic()
    if backend not in BACKENDS:
        raise UsageError(f"expected backend loky or dask, found {backend!r}")
    if backend == "dask" and not scheduler:
        raise UsageError("--backend dask needs --scheduler ADDRESS (e.g. tcp://host:8786)")
    if scheduler and backend != "dask":
        raise UsageError("--scheduler only applies with --backend dask")
    if jobs is not None and jobs < 1:
        raise UsageError(f"expected --jobs 1 or more, found {jobs}")
    files = expand_paths(map(Path, paths))
    if not files:
        raise UsageError("no bulletin files (.pdf, .txt, .docx) found in " + ", ".join(map(str, paths)))
    clf = _LazyModel(model, models_dir, predict)
    version = clf.version
    stream = stream or sys.stderr
    progress = Progress(len(files), stream, enabled=not quiet and _isatty(stream))
    counts = {"read": 0, "reclassified": 0, "unchanged": 0, "duplicates": 0, "passages": 0}
    failed: list[tuple[str, str]] = []
    notes: list[tuple[str, str]] = []  # reported with the summary: a line now would break the bar

    with open_store(db) as st:
        out = _Writer(st, clf, engine, progress, counts)
        try:
            to_read: list[tuple[Path, str]] = []
            seen: dict[str, Path] = {}
            for path in files:
                try:
                    sha = file_sha256(path)
                except OSError as exc:
                    err = InputError(
                        "no such file" if isinstance(exc, FileNotFoundError) else f"cannot be read ({exc.strerror})",
                        path,
                        "check the path",
                    )
                    st.record_error(path, type(err).__name__, str(err), engine)
                    failed.append((str(path), str(err)))
                    progress.advance(worked=False)
                    continue
                if sha in seen:
                    log.info("%s: same content as %s; skipped", path, seen[sha])
                    counts["duplicates"] += 1
                    progress.advance(worked=False)
                    continue
                seen[sha] = path
                stored = None if force else st.find(sha)
                if stored is None:
                    to_read.append((path, sha))
                elif stored.model_version == version:
                    counts["unchanged"] += 1
                    progress.advance(worked=False)
                elif st.has_predictions(stored.id, version):
                    st.set_current(stored.id, version)  # this model classified it before
                    counts["reclassified"] += 1
                    progress.advance(worked=False)
                else:
                    out.add_stored(stored.id, st.passages(stored.id))
            out.flush()
            hashes = dict(to_read)
            issues_seen: dict[tuple, str] = {}
            results = _read_all(list(hashes), jobs, backend, scheduler, password, engine)
            try:
                for result in results:
                    if isinstance(result, ReadFailure):
                        st.record_error(result.path, result.error, result.message, engine, hashes.get(result.path))
                        failed.append((str(result.path), result.message))
                        progress.advance()
                    else:
                        # The same issue in two renditions (a PDF and its .docx or text export)
                        # is one bulletin: count it once, keep the first file read.
                        issue = (result.title, result.year, result.issue_no)
                        twin = st.find_issue(*issue, result.path) or issues_seen.get(issue)
                        if twin is not None and None not in issue:
                            notes.append(
                                (str(result.path), f"same bulletin (title, year and issue number) as {twin}; skipped")
                            )
                            counts["duplicates"] += 1
                            progress.advance(worked=False)
                            continue
                        issues_seen[issue] = str(result.path)
                        notes += [(str(result.path), w) for w in result.warnings]
                        out.add_read(result)
                out.flush()
            finally:
                results.close()  # on an exception: stop the workers now
        finally:
            progress.close()
    return BatchSummary(
        total=len(files),
        failed=tuple(sorted(failed)),
        warnings=tuple(sorted(notes)),
        model_version=version,
        seconds=round(time.monotonic() - started, 3),
        **counts,
    )


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


#: Files per round of parallel reading, per worker. Results wait in memory until the main
#: process takes them; rounds bound that to WINDOW_PER_WORKER * workers bulletins however
#: large the archive (and however slow the model is next to many workers).
WINDOW_PER_WORKER = 16


def _read_all(
    paths: list[Path], jobs: int | None, backend: str, scheduler: str | None, password: str | None, engine: str
) -> Generator[Bulletin | ReadFailure, None, None]:
    """Read files in parallel, yielding results as they complete (in any order)."""
    if not paths:
        return
    if backend == "dask":
        yield from _read_dask(paths, jobs, scheduler, password, engine)
        return
    n = min(jobs or _cores(), len(paths))
    if n == 1:
        # In-process: no worker start-up for a single file or --jobs 1.
        for p in paths:
            yield read_one(p, password, engine)
        return
    from joblib import Parallel

    with Parallel(
        n_jobs=n, backend="loky", return_as="generator_unordered", batch_size=1, pre_dispatch="2*n_jobs"
    ) as parallel:  # one pool of workers for every round
        yield from _rounds(parallel, paths, n, password, engine)


def _rounds(parallel, paths: list[Path], workers: int, password: str | None, engine: str):
    """Run ``paths`` through ``parallel`` in rounds of WINDOW_PER_WORKER files per worker,
    largest files first in each round so that no worker is left with a big one at the end."""
    from joblib import delayed

    size = max(1, WINDOW_PER_WORKER) * workers
    for start in range(0, len(paths), size):
        window = sorted(paths[start : start + size], key=_size, reverse=True)
        results = parallel(delayed(read_one)(p, password, engine) for p in window)
        try:
            yield from results
        finally:
            with warnings.catch_warnings():
                # Closing early (an error or Ctrl-C in the main process) cancels the rest;
                # joblib's note about finished but unused tasks is no news here.
                warnings.filterwarnings(
                    "ignore", message=r".*tasks have been successfully executed", category=UserWarning
                )
                results.close()


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _read_dask(paths: list[Path], jobs: int | None, scheduler: str | None, password: str | None, engine: str):
    try:
        from dask.distributed import Client
    except ImportError:
        raise UsageError("the dask backend needs dask[distributed]", hint="pip install 'bulletins[dask]'") from None
    from joblib import Parallel, parallel_config

    try:
        client = Client(scheduler, set_as_default=False, timeout=30)
    except (OSError, TimeoutError) as exc:
        raise UsageError(
            f"cannot reach the Dask scheduler at {scheduler} ({exc})",
            hint="check the address and that `dask scheduler` is running",
        ) from None
    try:
        workers = jobs or max(1, sum(client.nthreads().values()))
        with (
            parallel_config(backend="dask", client=client, wait_for_workers_timeout=60),
            Parallel(
                n_jobs=jobs or -1, return_as="generator_unordered", batch_size=1, pre_dispatch="2*n_jobs"
            ) as parallel,
        ):
            yield from _rounds(parallel, paths, workers, password, engine)
    finally:
        client.close()


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
