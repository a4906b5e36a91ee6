"""Extract -> clean -> structure for one file or many, and passages as flat records."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from pipeline.documents import Bulletin
from pipeline.errors import BulletinsError, InputError, UsageError
from pipeline.readers.registry import DEFAULT_ENGINE, SUFFIXES, extract
from pipeline.text.clean import clean
from pipeline.text.structure import structure

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


def read_bulletin(path: Path, password: str | None = None, engine: str = DEFAULT_ENGINE) -> Bulletin:
    """Read one bulletin file into its structure.

    Args:
        path: a PDF, Word or text file.
        password: for an encrypted PDF.
        engine: PDF engine (``pdfplumber`` or ``pdfium``).

    Returns:
        The structured bulletin.

    Raises:
        InputError: the file cannot be read (the message names it and says what to do).
    """
    return structure(clean(extract(Path(path), password=password, engine=engine)))


def read_or_error(path: Path, password: str | None = None, engine: str = DEFAULT_ENGINE) -> Bulletin | BulletinsError:
    """Read one file, returning what went wrong instead of raising for a bad file.

    A reader bug (any other exception) becomes an :class:`InputError` naming the file, so
    that it never loses the rest of a batch.
    """
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


def expand_paths(paths: Iterable[Path]) -> list[Path]:
    """Files as given, and folders walked recursively for bulletin suffixes, sorted.

    Args:
        paths: files and folders.

    Returns:
        The files to read (a missing path is kept, so that reading it reports it).
    """
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = [
                Path(root) / name
                for root, _, names in os.walk(p)
                for name in names
                if name.lower().endswith(SUFFIXES) and not name.startswith((".", "~$"))
            ]
            out.extend(sorted(found))
        else:
            out.append(p)
    return out


def iter_bulletins(
    paths: Iterable[Path], password: str | None = None, engine: str = DEFAULT_ENGINE
) -> Iterator[tuple[Path, Bulletin | BulletinsError]]:
    """Read many files, never stopping at a bad one.

    Args:
        paths: files and folders.
        password: for encrypted PDFs.
        engine: PDF engine.

    Yields:
        ``(path, bulletin)`` or ``(path, error)`` per file.
    """
    for path in expand_paths(paths):
        yield path, read_or_error(path, password=password, engine=engine)


def passage_records(bulletin: Bulletin) -> list[dict]:
    """One flat record per passage, with the bulletin's metadata.

    Args:
        bulletin: a structured bulletin.

    Returns:
        Dicts with the keys of :data:`PASSAGE_FIELDS`.
    """
    return [
        {
            "bulletin": bulletin.path.name,
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
