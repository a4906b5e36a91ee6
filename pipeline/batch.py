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

import contextlib
import logging
import os
import sys
import time
import warnings
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from pipeline import config
from pipeline.classify.model_files import read_meta, resolve_model_dir
from pipeline.documents import Bulletin
from pipeline.errors import BulletinsError, ClusterError, InputError, ModelError, UsageError, printable
from pipeline.ingest import close_reader, die_with_parent, expand_paths, read_limited
from pipeline.readers.hashing import file_sha256
from pipeline.readers.registry import DEFAULT_LIMITS, Limits, check_size
from pipeline.readers.sniff import check_regular
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


def read_one(
    path: Path,
    password: str | None = None,
    engine: str = "pdfplumber",
    limits: Limits = DEFAULT_LIMITS,
    parent: int | None = None,
    isolate: bool = True,
) -> Bulletin | ReadFailure:
    """Read one file in a worker; never raises for a bad file.

    Args:
        path: the file.
        password: for encrypted PDFs.
        engine: PDF engine.
        limits: per-file limits; with a time limit the file is read in this worker's reader
            process, killed when the time is up (:func:`pipeline.ingest.read_limited`).
        parent: the pid of the batch's process, for a local worker: the worker then ends
            when that process ends (even by ``kill -9``).
        isolate: read in a reader process even in a main thread (workers); ``False`` in
            the batch's own process.

    Returns:
        The structured bulletin, or what went wrong.
    """
    if parent is not None:
        die_with_parent(parent)
    got = read_limited(path, password=password, engine=engine, limits=limits, isolate=isolate)
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
            + [f"warning: {printable(file)}: {printable(note)}" for file, note in self.warnings]
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
#: 10 ms); each bulletin's predictions are still written in their own transaction. A model
#: call never takes more than GROUP_PASSAGES passages: a huge bulletin is classified (and
#: its predictions written) in chunks, so memory stays bounded by one file.
GROUP_FILES = 8
GROUP_PASSAGES = 256


@dataclass
class _Item:
    """A bulletin waiting for its predictions: ``read`` (new to the store: read in this run,
    or staged by a run that died; stored whole once classified) or ``stored`` (its passages
    are in the store, fetched a chunk at a time: re-classified, or a large new bulletin
    stored first)."""

    kind: str
    size: int
    bulletin: Bulletin | None = None
    bulletin_id: int | None = None
    sha256: str | None = None
    new: bool = False  # counted as read, not re-classified
    after: int = -1  # stored: the last passage index classified so far
    seen: int = 0  # stored: passages classified so far


class _Writer:
    """Commits each bulletin as soon as it is read (staged, one transaction), classifies
    bulletins in groups, and stores each with its predictions in one transaction.

    A bulletin of more than GROUP_PASSAGES passages is stored first (its passages, no
    current model: not yet counted by queries), then classified in chunks of GROUP_PASSAGES
    read back from the store (one transaction each; the last makes them current), so that
    neither the model call nor what waits in memory grows with it. An interruption loses
    nothing read: staged and stored-but-unclassified bulletins are classified by the next
    run without reading the file again.
    """

    def __init__(self, st, clf: _LazyModel, engine: str, progress: Progress, counts: dict, notes: list) -> None:
        self.st, self.clf, self.engine, self.progress, self.counts = st, clf, engine, progress, counts
        self.notes = notes
        self.run = os.urandom(8).hex()
        self.items: list[_Item] = []
        self.passages = 0

    def add_read(self, bulletin: Bulletin, staged: bool = False) -> None:
        """Queue a bulletin new to the store; committed (staged) now unless it was already,
        or it is large (then the next :meth:`flush_if_full` stores it). Call
        :meth:`flush_if_full` after dropping your own reference to ``bulletin``."""
        if not staged and len(bulletin.passages) <= GROUP_PASSAGES:
            self.st.stage(bulletin, self.engine, self.run)
        self._add(_Item("read", len(bulletin.passages), bulletin=bulletin, sha256=bulletin.sha256, new=True))

    def add_stored(self, bulletin_id: int, size: int, new: bool = False) -> None:
        """Queue a stored bulletin of ``size`` passages for (re-)classification."""
        self._add(_Item("stored", size, bulletin_id=bulletin_id, new=new))

    def _add(self, item: _Item) -> None:
        self.items.append(item)
        self.passages += item.size

    def flush_if_full(self) -> None:
        if len(self.items) >= GROUP_FILES or self.passages >= GROUP_PASSAGES:
            self.flush()

    def flush(self) -> None:
        """Classify and store the queued bulletins, at most GROUP_PASSAGES passages per model call."""
        items, self.items, self.passages = self.items, [], 0
        if not items:
            return
        queued = len(items)
        chunk: list[tuple[_Item, int]] = []  # (item, passages of it in this model call)
        size = 0
        while items:
            item = items.pop(0)  # nothing here keeps a bulletin once it is stored
            if item.size > GROUP_PASSAGES:
                if chunk:
                    self._classify(chunk)
                    chunk, size = [], 0
                if item.kind == "read" and not self._store_first(item):
                    continue
                for lo in range(0, item.size, GROUP_PASSAGES):
                    self._classify([(item, min(GROUP_PASSAGES, item.size - lo))])
                continue
            if chunk and size + item.size > GROUP_PASSAGES:
                self._classify(chunk)
                chunk, size = [], 0
            chunk.append((item, item.size))
            size += item.size
        if chunk:
            self._classify(chunk)
        self.progress.advance(queued)  # one redraw per group, with its final count

    def _store_first(self, item: _Item) -> bool:
        """Store a large new bulletin's passages (no current model yet); ``False`` if it is
        another rendition of a stored issue."""
        bulletin, item.bulletin = item.bulletin, None
        assert bulletin is not None
        bid = self.st.write_bulletin(bulletin, None, None, self.engine, unique_issue=True)
        if bid is None:
            self._duplicate(bulletin)
            return False
        self.notes += [(str(bulletin.path), w) for w in bulletin.warnings]
        item.kind, item.bulletin_id = "stored", bid
        return True

    def _classify(self, chunk: list[tuple[_Item, int]]) -> None:
        work: list[tuple[_Item, list[int] | None, list[str]]] = []  # (item, passage ids of stored ones, texts)
        for item, n in chunk:
            if item.kind == "read":
                assert item.bulletin is not None
                work.append((item, None, [p.text for p in item.bulletin.passages]))
            else:
                assert item.bulletin_id is not None
                rows = self.st.passage_slice(item.bulletin_id, item.after, n) if n else []
                if rows:
                    item.after = rows[-1][1]
                work.append((item, [r[0] for r in rows], [r[2] for r in rows]))
        texts = [t for _, _, ts in work for t in ts]
        frame = self.clf.predict(texts) if texts else None
        version, offset = self.clf.version, 0
        for item, ids, ts in work:
            part = frame.iloc[offset : offset + len(ts)] if frame is not None and ts else None
            offset += len(ts)
            if item.kind == "read":  # whole: the bulletin, its passages and predictions at once
                bulletin, item.bulletin = item.bulletin, None
                assert bulletin is not None
                if self.st.write_bulletin(bulletin, part, version, self.engine, unique_issue=True) is None:
                    self._duplicate(bulletin)
                    continue
                self.notes += [(str(bulletin.path), w) for w in bulletin.warnings]
                self._done(item)
                continue
            assert item.bulletin_id is not None and ids is not None
            if part is None:
                self.st.set_current(item.bulletin_id, version)
                self._done(item)
                continue
            item.seen += len(ids)
            last = item.seen >= item.size
            self.st.write_predictions(item.bulletin_id, ids, part, version, current=last, sha256=item.sha256)
            if last:
                self._done(item)

    def _duplicate(self, bulletin: Bulletin) -> None:
        # The same issue in two renditions (a PDF and its .docx or text export) is one
        # bulletin: counted once, the first file stored is kept.
        twin = self.st.find_issue(bulletin.title, bulletin.year, bulletin.issue_no, bulletin.path) or "another file"
        self.notes.append((str(bulletin.path), f"same bulletin (title, year and issue number) as {twin}; skipped"))
        self.counts["duplicates"] += 1

    def _done(self, item: _Item) -> None:
        self.counts["read" if item.new else "reclassified"] += 1
        self.counts["passages"] += item.size

    def abandon(self) -> None:
        """On the way out of an error or Ctrl-C: classify and store what was read, if the
        model can, and forget this run's staged reads that could not be stored (they are
        read again next time). A failure here is logged, never raised over the original."""
        try:
            self.flush()
        except Exception as exc:  # the original error is what the user needs to see
            log.warning("could not classify the bulletins read before the interruption (%s)", exc)
        with contextlib.suppress(Exception):
            self.st.drop_staged(self.run)


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
    limits: Limits = DEFAULT_LIMITS,
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
        limits: per-file limits (bytes, pages, .docx XML, seconds); see ``docs/batch.md``.
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
        ClusterError: the Dask cluster went away (what was stored is kept; rerun to resume).
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
        out = _Writer(st, clf, engine, progress, counts, notes)
        try:
            to_read: list[tuple[Path, str]] = []
            seen: dict[str, Path] = {}
            for path in files:
                try:
                    # os.stat only: a FIFO or device is never opened, a huge file never hashed.
                    check_size(check_regular(path).st_size, limits, path)
                    sha = file_sha256(path)
                except (BulletinsError, OSError) as exc:
                    err = exc if isinstance(exc, BulletinsError) else _os_error(exc, path)
                    st.record_error(path, type(err).__name__, str(err), engine)
                    failed.append((str(path), str(err)))
                    progress.advance(worked=False)
                    continue
                if sha in seen:
                    log.info("%s: same content as %s; skipped", printable(str(path)), printable(str(seen[sha])))
                    counts["duplicates"] += 1
                    progress.advance(worked=False)
                    continue
                seen[sha] = path
                stored = None if force else st.find(sha)
                staged = None if force or stored is not None else st.staged(sha, path)
                if staged is not None:
                    out.add_read(staged, staged=True)  # read by a run that died before classifying it
                    del staged
                    out.flush_if_full()
                elif stored is None:
                    to_read.append((path, sha))
                elif stored.model_version == version:
                    counts["unchanged"] += 1
                    progress.advance(worked=False)
                elif st.has_predictions(stored.id, version):
                    st.set_current(stored.id, version)  # this model classified it before
                    counts["reclassified"] += 1
                    progress.advance(worked=False)
                else:
                    # Stored by an earlier model (or a large bulletin whose classification was
                    # interrupted): classify the stored passages, without reading the file.
                    out.add_stored(stored.id, st.passage_count(stored.id), new=stored.model_version is None)
                    out.flush_if_full()
            out.flush()
            hashes = dict(to_read)
            results = _read_all(list(hashes), jobs, backend, scheduler, password, engine, limits)
            try:
                for result in _guard_cluster(results, backend, scheduler):
                    if isinstance(result, ReadFailure):
                        st.record_error(result.path, result.error, result.message, engine, hashes.get(result.path))
                        failed.append((str(result.path), result.message))
                        progress.advance()
                        continue
                    out.add_read(result)
                    del result  # the writer holds the only reference: freed once stored
                    out.flush_if_full()
                out.flush()
            finally:
                results.close()  # on an exception: stop the workers now
        except BaseException:
            out.abandon()
            raise
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


def _os_error(exc: OSError, path: Path) -> InputError:
    return InputError(
        "no such file" if isinstance(exc, FileNotFoundError) else f"cannot be read ({exc.strerror})",
        path,
        "check the path",
    )


def _guard_cluster(
    results: Generator[Bulletin | ReadFailure, None, None], backend: str, scheduler: str | None
) -> Iterator[Bulletin | ReadFailure]:
    """``results``, with the loss of a Dask cluster turned into one :class:`ClusterError`."""
    box: list[Bulletin | ReadFailure] = []  # yielded from a list: this frame keeps no reference to a bulletin
    while True:
        try:
            box.append(next(results))
        except StopIteration:
            return
        except Exception as exc:
            if backend != "dask" or isinstance(exc, BulletinsError):
                raise
            reason = " ".join(f"{type(exc).__name__}: {exc}".split())[:200]
            raise ClusterError(
                f"lost the Dask cluster at {scheduler} ({reason}); every bulletin read so far is stored",
                hint="check the scheduler and workers, then run the same command again: it resumes where this run "
                "stopped",
            ) from None
        yield box.pop()


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
    paths: list[Path],
    jobs: int | None,
    backend: str,
    scheduler: str | None,
    password: str | None,
    engine: str,
    limits: Limits = DEFAULT_LIMITS,
) -> Generator[Bulletin | ReadFailure, None, None]:
    """Read files in parallel, yielding results as they complete (in any order)."""
    if not paths:
        return
    if backend == "dask":
        yield from _read_dask(paths, jobs, scheduler, password, engine, limits)
        return
    n = min(jobs or _cores(), len(paths))
    if n == 1:
        # In-process: no worker start-up for a single file or --jobs 1. The time limit is
        # SIGALRM's in the main thread, a reader process's in any other (the web view).
        try:
            for p in paths:
                yield read_one(p, password, engine, limits, isolate=False)
        finally:
            close_reader()
        return
    from joblib import Parallel

    options: dict[str, Any] = {"initializer": die_with_parent, "initargs": (os.getpid(),)}
    try:
        parallel = Parallel(
            n_jobs=n, backend="loky", return_as="generator_unordered", batch_size=1, pre_dispatch="2*n_jobs", **options
        )
    except TypeError:  # a joblib without backend options: read_one still ties workers to this process
        parallel = Parallel(
            n_jobs=n, backend="loky", return_as="generator_unordered", batch_size=1, pre_dispatch="2*n_jobs"
        )
    with parallel:  # one pool of workers for every round
        yield from _rounds(parallel, paths, n, password, engine, limits, os.getpid())


def _rounds(
    parallel,
    paths: list[Path],
    workers: int,
    password: str | None,
    engine: str,
    limits: Limits = DEFAULT_LIMITS,
    parent: int | None = None,
):
    """Run ``paths`` through ``parallel`` in rounds of WINDOW_PER_WORKER files per worker,
    largest files first in each round so that no worker is left with a big one at the end."""
    from joblib import delayed

    size = max(1, WINDOW_PER_WORKER) * workers
    for start in range(0, len(paths), size):
        window = sorted(paths[start : start + size], key=_size, reverse=True)
        results = parallel(delayed(read_one)(p, password, engine, limits, parent) for p in window)
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


#: Seconds to reach the Dask scheduler, and to reconnect before the cluster counts as lost.
DASK_TIMEOUT = 30


def _read_dask(
    paths: list[Path],
    jobs: int | None,
    scheduler: str | None,
    password: str | None,
    engine: str,
    limits: Limits = DEFAULT_LIMITS,
):
    try:
        from dask.distributed import Client
    except ImportError:
        raise UsageError("the dask backend needs dask[distributed]", hint="pip install 'bulletins[dask]'") from None
    from joblib import Parallel, parallel_config

    try:
        client = Client(scheduler, set_as_default=False, timeout=DASK_TIMEOUT)
    except (OSError, TimeoutError) as exc:
        raise UsageError(
            f"cannot reach the Dask scheduler at {scheduler} ({exc})",
            hint="check the address and that `dask scheduler` is running",
        ) from None
    # A lost cluster is reported once, as a ClusterError (see _guard_cluster); the client's
    # own reconnection tracebacks would bury that line.
    with _quiet_loggers("distributed"):
        try:
            workers = jobs or max(1, sum(client.nthreads().values()))
            with (
                parallel_config(backend="dask", client=client, wait_for_workers_timeout=60),
                Parallel(
                    n_jobs=jobs or -1, return_as="generator_unordered", batch_size=1, pre_dispatch="2*n_jobs"
                ) as parallel,
            ):
                yield from _rounds(parallel, paths, workers, password, engine, limits)
        finally:
            client.close()


@contextlib.contextmanager
def _quiet_loggers(prefix: str) -> Iterator[None]:
    """Only CRITICAL records from ``prefix`` and its child loggers while in the block."""
    names = [prefix] + [n for n in logging.root.manager.loggerDict if n.startswith(prefix + ".")]
    loggers = [logging.getLogger(n) for n in names]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
