"""Extract -> clean -> structure for one file or many, and passages as flat records.

Hostile inputs fail alone, with one line: only regular files are opened (a FIFO, socket,
device or symbolic-link loop is skipped from ``os.stat``), the per-file limits of
:class:`pipeline.readers.registry.Limits` are checked before and while reading, and
:func:`read_limited` stops a read that takes longer than the time limit:

* in a separate *reader process* (``isolate=True``, what batch workers use, or outside the
  main thread): the process reads files one after another and is killed (``SIGKILL``) when
  one takes too long, or replaced when it dies (a crash in a C library); the next file gets
  a new one;
* in the calling process otherwise (``--jobs 1`` and ``extract`` on the command line, where
  tests and tools expect reading to happen in-process): ``SIGALRM`` interrupts the read
  (Python code: pdfminer, cleaning, structure; a single C call runs to its end first).
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import sys
import threading
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from pipeline import errors as errors_mod
from pipeline.documents import Bulletin
from pipeline.errors import BulletinsError, InputError, TimeLimitError, UsageError, printable
from pipeline.readers.registry import (
    DEFAULT_ENGINE,
    SUFFIXES,
    Limits,
    current_limits,
    extract,
    reset_limits,
    set_limits,
)
from pipeline.text.clean import clean
from pipeline.text.structure import structure

log = logging.getLogger(__name__)

#: Columns of a passage record, in output order.
PASSAGE_FIELDS = (
    "bulletin",
    "title",
    "year",
    "issue_no",
    "bulletin_date",
    "section",
    "subsection",
    "unit",
    "region",
    "date",
    "page",
    "index",
    "start",
    "end",
    "text",
)


def read_bulletin(
    path: Path, password: str | None = None, engine: str = DEFAULT_ENGINE, limits: Limits | None = None
) -> Bulletin:
    """Read one bulletin file into its structure.

    Args:
        path: a PDF, Word or text file.
        password: for an encrypted PDF.
        engine: PDF engine (``pdfplumber`` or ``pdfium``).
        limits: bytes, pages and XML limits (default: the current ones; no time limit here).

    Returns:
        The structured bulletin.

    Raises:
        InputError: the file cannot be read (the message names it and says what to do).
    """
    return structure(clean(extract(Path(path), password=password, engine=engine, limits=limits)))


def read_or_error(
    path: Path, password: str | None = None, engine: str = DEFAULT_ENGINE, limits: Limits | None = None
) -> Bulletin | BulletinsError:
    """Read one file, returning what went wrong instead of raising for a bad file.

    A reader bug (any other exception) becomes an :class:`InputError` naming the file, so
    that it never loses the rest of a batch. ``limits`` (bytes, pages, XML; default: the
    current ones) are put in effect for :func:`pipeline.readers.registry.extract`; the time
    limit is :func:`read_limited`'s.
    """
    token = set_limits(limits) if limits is not None else None
    try:
        return read_bulletin(path, password=password, engine=engine)
    except UsageError:
        raise  # wrong options fail the whole run, not each file
    except BulletinsError as exc:
        return exc
    except Exception as exc:
        return InputError(
            f"could not be processed ({type(exc).__name__}: {exc})", path, "report this file to the maintainers"
        )
    finally:
        if token is not None:
            reset_limits(token)


def read_limited(
    path: Path,
    password: str | None = None,
    engine: str = DEFAULT_ENGINE,
    limits: Limits | None = None,
    isolate: bool = False,
) -> Bulletin | BulletinsError:
    """:func:`read_or_error` within the time limit ``limits.seconds``.

    Args:
        path: the file.
        password: for encrypted PDFs.
        engine: PDF engine.
        limits: all per-file limits (default: the current ones).
        isolate: read in this thread's reader process (killed at the time limit) even in
            the main thread; batch workers do.

    Returns:
        The bulletin, or what went wrong (:class:`TimeLimitError` when the time ran out).
    """
    limits = limits or current_limits()
    seconds = limits.seconds
    if not seconds:
        return read_or_error(path, password, engine, limits)
    if not isolate and _can_alarm():
        return _read_with_alarm(path, password, engine, limits, seconds)
    reader = _thread_reader()
    if reader is not None:
        try:
            return reader.read(path, password, engine, limits, seconds)
        except _NoReader as exc:
            log.warning("%s: the per-file time limit is not enforced in this process", exc)
            _LOCAL.reader = _UNAVAILABLE
    # No reader process can run here (a daemonic Dask worker; a child that cannot start).
    return read_or_error(path, password, engine, limits)


def _time_error(path: Path, seconds: float) -> TimeLimitError:
    return TimeLimitError(
        f"reading took longer than the time limit of {seconds:g} s and was stopped",
        path,
        "check the file (a huge or damaged document?); raise the limit with --time-limit if it is a real bulletin",
    )


# --- the time limit in this process: SIGALRM -------------------------------------------------


class _TimeUp(BaseException):
    """Raised by the alarm: a BaseException, so that readers' ``except Exception`` cannot
    swallow it."""


def _can_alarm() -> bool:
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


def _read_with_alarm(
    path: Path, password: str | None, engine: str, limits: Limits, seconds: float
) -> Bulletin | BulletinsError:
    state = {"on": True}

    def on_alarm(signum: int, frame: Any) -> None:
        if state["on"]:
            raise _TimeUp

    previous = signal.signal(signal.SIGALRM, on_alarm)
    try:
        try:
            # Fires again every second, in case a reader caught the first one on its way out.
            signal.setitimer(signal.ITIMER_REAL, seconds, 1.0)
            return read_or_error(path, password, engine, limits)
        except _TimeUp:
            state["on"] = False
            return _time_error(path, seconds)
    finally:
        state["on"] = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# --- the time limit in a reader process --------------------------------------------------------


def die_with_parent(parent: int | None = None) -> None:
    """End this process when its parent ends (also by ``kill -9``): ``PR_SET_PDEATHSIG``
    on Linux, a thread watching ``os.getppid()`` elsewhere. Idempotent.

    Args:
        parent: the parent's pid as the parent knows it (default: the current parent);
            if the parent is already gone, this process exits now.
    """
    global _GUARDED
    parent = parent or os.getppid()
    if parent == _GUARDED:
        return
    _GUARDED = parent
    watched = False
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            watched = libc.prctl(1, int(signal.SIGKILL), 0, 0, 0) == 0  # PR_SET_PDEATHSIG = 1
        except (OSError, AttributeError):
            watched = False
    if not watched:
        threading.Thread(target=_watch_parent, args=(parent,), name="bulletins-parent-watch", daemon=True).start()
    if os.getppid() != parent:  # the parent died before the watch was set
        os._exit(1)


_GUARDED: int | None = None


def _watch_parent(parent: int) -> None:
    import time

    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)


#: Seconds a new reader process may take to start (a fork: milliseconds; a spawn imports
#: the package first).
START_SECONDS = 120.0


class _NoReader(Exception):
    """No reader process can run here (e.g. the main module cannot be imported by a child)."""


class ReaderProcess:
    """A child process that reads files one at a time for its parent; killed when a file
    takes longer than the time limit, replaced when it dies.

    Forked when this process runs one thread (cheap: modules and caches are shared);
    otherwise started by a fork server (or spawned), since forking a threaded process can
    deadlock the child.
    """

    def __init__(self) -> None:
        self._proc: Any = None
        self._conn: Any = None

    def read(
        self, path: Path, password: str | None, engine: str, limits: Limits, seconds: float
    ) -> Bulletin | BulletinsError:
        """Read ``path`` in the child; :class:`TimeLimitError` if it takes over ``seconds``.

        Raises:
            _NoReader: no child process could be started here.
        """
        if self._proc is None or not self._proc.is_alive():
            self._start()
        try:
            self._conn.send((Path(path), password, engine, limits))
        except OSError:  # the child died since: try once more with a new one
            self.close()
            self._start()
            self._conn.send((Path(path), password, engine, limits))
        if not self._conn.poll(seconds):
            self.close()
            return _time_error(path, seconds)
        try:
            kind, payload = self._conn.recv()
        except (EOFError, OSError):
            code = self.close()
            return InputError(
                f"the reader process ended while reading it ({_exit_text(code)})",
                path,
                "check the file (it may be damaged); report it to the maintainers if it opens elsewhere",
            )
        if kind == "ok":
            return payload
        name, message, where, hint = payload
        cls = getattr(errors_mod, name, None)
        if kind == "usage":
            raise UsageError(message, where, hint)
        if not (isinstance(cls, type) and issubclass(cls, InputError)):
            cls = InputError
        return cls(message, where, hint)

    def _start(self) -> None:
        ctx = _context()
        parent_end, child_end = ctx.Pipe()
        proc = ctx.Process(target=_reader_main, args=(child_end, parent_end), name="bulletins-reader", daemon=True)
        with warnings.catch_warnings():
            # Python 3.12+ warns about fork() with threads; the fork context is chosen only
            # when this process runs one Python thread (native library threads hold no lock
            # the reader takes).
            warnings.simplefilter("ignore", DeprecationWarning)
            proc.start()
        child_end.close()
        self._proc, self._conn = proc, parent_end
        try:
            ready = parent_end.poll(START_SECONDS) and parent_end.recv()[0] == "ready"
        except (EOFError, OSError):
            ready = False
        if not ready:
            code = self.close()
            raise _NoReader(f"the reader process did not start ({_exit_text(code)})")

    def close(self) -> int | None:
        """Stop the child (killed if busy); returns its exit code."""
        proc, conn = self._proc, self._conn
        self._proc = self._conn = None
        if conn is not None:
            conn.close()
        if proc is None:
            return None
        if proc.is_alive():
            proc.kill()
        proc.join(10)
        code = proc.exitcode
        with contextlib.suppress(ValueError):
            proc.close()
        return code


def _context() -> Any:
    import multiprocessing as mp

    methods = mp.get_all_start_methods()
    if "fork" in methods and sys.platform.startswith("linux") and threading.active_count() == 1:
        return mp.get_context("fork")
    if "forkserver" in methods:
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(["pipeline.ingest"])
        return ctx
    return mp.get_context("spawn")


def _exit_text(code: int | None) -> str:
    if code is None:
        return "exit status unknown"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


def _reader_main(conn: Any, other_end: Any) -> None:
    """The reader process: read what the parent sends, until it closes the pipe or dies."""
    other_end.close()  # the parent's end, inherited by a fork: keeping it would hide the parent's exit
    # The process that started this one: the reading process (fork, spawn) or the fork
    # server, which ends with it. Either way the closed pipe also ends this loop.
    die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's: it stops this process
    try:
        conn.send(("ready", None))
    except (OSError, ValueError):
        return
    while True:
        try:
            path, password, engine, limits = conn.recv()
        except (EOFError, OSError):
            return
        try:
            got = read_or_error(path, password, engine, limits)
            reply: tuple = ("ok", got) if isinstance(got, Bulletin) else ("error", _error_fields(got))
        except UsageError as exc:
            reply = ("usage", _error_fields(exc))
        try:
            conn.send(reply)
        except (OSError, ValueError):
            return


def _error_fields(exc: BulletinsError) -> tuple[str, str, str | None, str]:
    return type(exc).__name__, exc.message, None if exc.path is None else str(exc.path), exc.hint


_LOCAL = threading.local()


def _thread_reader() -> ReaderProcess | None:
    """This thread's reader process (created on first use), or ``None`` when this process
    may not start one (a daemonic process, such as a Dask worker by default)."""
    import multiprocessing as mp

    reader = getattr(_LOCAL, "reader", None)
    if reader is None:
        if mp.current_process().daemon:
            log.warning("cannot start a reader process in a daemonic process: the per-file time limit is not enforced")
            _LOCAL.reader = _UNAVAILABLE
            return None
        reader = _LOCAL.reader = ReaderProcess()
    return None if reader is _UNAVAILABLE else reader


#: This thread cannot run a reader process (asked once, not per file).
_UNAVAILABLE: Any = object()


def close_reader() -> None:
    """Stop this thread's reader process, if it started one."""
    reader = getattr(_LOCAL, "reader", None)
    _LOCAL.reader = None
    if isinstance(reader, ReaderProcess):
        reader.close()


# --- many files --------------------------------------------------------------------------------


def expand_paths(paths: Iterable[Path]) -> list[Path]:
    """Files as given, and folders walked recursively for bulletin suffixes, sorted.

    Folders are walked without following symbolic links to folders (so a link loop is never
    entered) and without recursion (so no nesting depth can exhaust the stack); unreadable
    folders are passed over. A file whose name has a bulletin suffix is listed whatever it
    is: a FIFO, device or broken link named ``x.pdf`` is then reported, and skipped, when
    it would be read.

    Args:
        paths: files and folders.

    Returns:
        The files to read (a missing path is kept, so that reading it reports it).
    """
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(_walk(p)))
        else:
            out.append(p)
    return out


def _walk(root: Path) -> list[Path]:
    found: list[Path] = []
    stack = [str(root)]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as entries:
                listed = list(entries)
        except OSError:
            continue
        for entry in listed:
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                is_dir = False
            if is_dir:
                stack.append(entry.path)
            elif entry.name.lower().endswith(SUFFIXES) and not entry.name.startswith((".", "~$")):
                found.append(Path(entry.path))
    return found


def iter_bulletins(
    paths: Iterable[Path], password: str | None = None, engine: str = DEFAULT_ENGINE, limits: Limits | None = None
) -> Iterator[tuple[Path, Bulletin | BulletinsError]]:
    """Read many files, never stopping at a bad one (see :func:`read_limited`).

    Args:
        paths: files and folders.
        password: for encrypted PDFs.
        engine: PDF engine.
        limits: per-file limits (default: the current ones).

    Yields:
        ``(path, bulletin)`` or ``(path, error)`` per file.
    """
    try:
        for path in expand_paths(paths):
            yield path, read_limited(path, password=password, engine=engine, limits=limits)
    finally:
        close_reader()


def shown(path: Path | str) -> str:
    """A path as messages print it: control characters escaped (see :func:`pipeline.errors.printable`)."""
    return printable(str(path))


def passage_records(bulletin: Bulletin) -> list[dict]:
    """One flat record per passage, with the bulletin's metadata.

    Args:
        bulletin: a structured bulletin.

    Returns:
        Dicts with the keys of :data:`PASSAGE_FIELDS`.
    """
    return [
        {
            "bulletin": printable(bulletin.path.name),
            "title": bulletin.title,
            "year": bulletin.year,
            "issue_no": bulletin.issue_no,
            "bulletin_date": bulletin.date,
            "section": p.section,
            "subsection": p.subsection,
            "unit": p.unit,
            "region": p.region,
            "date": p.date,
            "page": p.page,
            "index": p.index,
            "start": p.start,
            "end": p.end,
            "text": p.text,
        }
        for p in bulletin.passages
    ]
