"""Stage 1, extract: read a bulletin file into a :class:`RawDocument`.

The format is chosen by the file's content (:mod:`pipeline.readers.sniff`), never by its
suffix. PDFs go through a named engine from :data:`ENGINES`; Word files through
:mod:`pipeline.readers.docx`; OFD files through :mod:`pipeline.readers.ofd` (with layout,
like PDFs); legacy Word/WPS files (.doc/.wps) through :mod:`pipeline.readers.doc`
(LibreOffice, then the Word reader); plain text through :mod:`pipeline.readers.text`. The CLI and
the batch both take engine names from here, so an unknown engine is a usage error before
any file is read, not a failure of every file.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pipeline.documents import PdfText, RawDocument
from pipeline.errors import UsageError
from pipeline.readers.checks import quality_warnings
from pipeline.readers.hashing import file_sha256
from pipeline.readers.sniff import sniff

#: Suffixes a folder walk picks up; content still decides the reader.
SUFFIXES = (".pdf", ".txt", ".text", ".docx", ".ofd", ".doc", ".wps")

PdfReader = Callable[[Path, "str | None"], PdfText]


def _plumber(path: Path, password: str | None) -> PdfText:
    from pipeline.readers.plumber import read_pdf_plumber

    return read_pdf_plumber(path, password)


def _pdfium(path: Path, password: str | None) -> PdfText:
    from pipeline.readers.pdfium import read_pdf_pdfium

    return read_pdf_pdfium(path, password)


#: PDF text engines by name: ``pdfplumber`` (layout-aware, the default) and ``pdfium``
#: (pypdfium2: 10-40 times faster on large archives). Readers are imported on first use.
ENGINES: dict[str, PdfReader] = {"pdfplumber": _plumber, "pdfium": _pdfium}
DEFAULT_ENGINE = "pdfplumber"


def check_engine(engine: str) -> str:
    """The engine name, or a usage error naming the known ones."""
    if engine not in ENGINES:
        raise UsageError(
            f"expected a PDF engine among {', '.join(ENGINES)}, found {engine!r}",
            hint="pass --engine " + " or --engine ".join(ENGINES),
        )
    return engine


def extract(path: Path, password: str | None = None, engine: str = DEFAULT_ENGINE) -> RawDocument:
    """Read one bulletin file.

    Args:
        path: a PDF, Word (.docx, .doc), WPS (.wps), OFD or plain-text file.
        password: for encrypted PDFs.
        engine: PDF text engine, a key of :data:`ENGINES`.

    Returns:
        The pages and lines as found, with the file's SHA-256.

    Raises:
        InputError: one line naming the file and what to do.
        UsageError: the engine is unknown.
    """
    path = Path(path)
    read_pdf = ENGINES[check_engine(engine)]
    kind = sniff(path)
    sha = file_sha256(path)
    if kind == "text":
        from pipeline.readers.text import read_text

        return read_text(path, path.read_bytes(), sha)
    if kind == "docx":
        from pipeline.readers.docx import docx_version, read_docx

        return RawDocument(
            path=path, kind="docx", pages=read_docx(path), sha256=sha, paragraphs=True, reader=docx_version()
        )
    if kind == "doc":
        from pipeline.readers.doc import read_doc

        pages, reader = read_doc(path)
        return RawDocument(path=path, kind="doc", pages=pages, sha256=sha, paragraphs=True, reader=reader)
    if kind == "ofd":
        from pipeline.readers.ofd import read_ofd, reader_version

        pages, notes = read_ofd(path)
        return RawDocument(
            path=path,
            kind="ofd",
            pages=pages,
            sha256=sha,
            layout=True,
            warnings=quality_warnings(pages) + notes,
            reader=reader_version(),
        )
    pdf = read_pdf(path, password)
    return RawDocument(
        path=path,
        kind="pdf",
        pages=pdf.pages,
        sha256=sha,
        layout=True,
        warnings=quality_warnings(pdf.pages),
        reader=pdf.reader,
    )
