"""Extract -> clean -> structure for one file or many, and passages as flat records."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Iterator

from pipeline.clean import clean
from pipeline.errors import BulletinsError, InputError
from pipeline.extract import SUFFIXES, extract
from pipeline.records import Bulletin
from pipeline.structure import structure

#: Columns of a passage record, in output order.
PASSAGE_FIELDS = ("bulletin", "title", "year", "issue_no", "bulletin_date", "section", "subsection", "unit",
                  "region", "date", "page", "index", "start", "end", "text")


def read_bulletin(path: Path, password: str | None = None, engine: str = "pdfplumber") -> Bulletin:
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
            found = [Path(root) / name for root, _, names in os.walk(p) for name in names
                     if name.lower().endswith(SUFFIXES) and not name.startswith((".", "~$"))]
            out.extend(sorted(found))
        else:
            out.append(p)
    return out


def iter_bulletins(paths: Iterable[Path], password: str | None = None,
                   engine: str = "pdfplumber") -> Iterator[tuple[Path, Bulletin | BulletinsError]]:
    """Read many files, never stopping at a bad one.

    Args:
        paths: files and folders.
        password: for encrypted PDFs.
        engine: PDF engine.

    Yields:
        ``(path, bulletin)`` or ``(path, error)`` per file.
    """
    for path in expand_paths(paths):
        try:
            yield path, read_bulletin(path, password=password, engine=engine)
        except BulletinsError as exc:
            yield path, exc
        except Exception as exc:  # a reader bug must not lose the rest of a batch
            yield path, InputError(f"could not be processed ({type(exc).__name__}: {exc})", path,
                                   "report this file to the maintainers")


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
