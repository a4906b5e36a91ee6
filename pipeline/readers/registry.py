"""Stage 1, extract: read a bulletin file into a :class:`RawDocument`.

The format is chosen by the file's content (:mod:`pipeline.readers.sniff`), never by its
suffix. PDFs go through a named engine from :data:`ENGINES`; Word files through
:mod:`pipeline.readers.docx`; OFD files through :mod:`pipeline.readers.ofd` (with layout,
like PDFs); legacy Word/WPS files (.doc/.wps) through :mod:`pipeline.readers.doc`
(LibreOffice, then the Word reader); plain text through :mod:`pipeline.readers.text`. The CLI and
the batch both take engine names from here, so an unknown engine is a usage error before
any file is read, not a failure of every file.

Per-file limits (:class:`Limits`: bytes, pages, XML expansion of a .docx, and wall time,
which :mod:`pipeline.ingest` enforces) are checked before a reader gets the file where the
file tells (its size; a .docx's ZIP directory; a PDF's uncompressed page tree) and on what
the reader returns otherwise, so that a hostile file fails alone with one line.
"""

from __future__ import annotations

import argparse
import contextvars
import mmap
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from pipeline.documents import Page, PdfText, RawDocument
from pipeline.errors import LimitError, UsageError
from pipeline.readers.checks import quality_warnings
from pipeline.readers.docx import MAX_XML_BYTES, MAX_XML_RATIO
from pipeline.readers.hashing import file_sha256
from pipeline.readers.sniff import check_regular, sniff

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


# --- per-file limits ----------------------------------------------------------------------


@dataclass(frozen=True)
class Limits:
    """What one file may cost; ``None`` (or 0 on the command line) lifts a limit.

    Attributes:
        max_bytes: the file's size.
        max_pages: pages (PDF, OFD; form-feed pages of a text file).
        max_xml_bytes: the uncompressed size of any XML part of a .docx (``word/document.xml``
            above all), checked from the ZIP's directory before anything is inflated.
        max_xml_ratio: how many times its compressed size a .docx part (over 1 MB) may
            inflate to.
        seconds: wall time to read one file (extract, clean, structure); enforced by
            :func:`pipeline.ingest.read_limited`.
    """

    max_bytes: int | None = 200 * 1024 * 1024
    max_pages: int | None = 2000
    max_xml_bytes: int | None = MAX_XML_BYTES
    max_xml_ratio: float | None = MAX_XML_RATIO
    seconds: float | None = 300.0


DEFAULT_LIMITS = Limits()
NO_LIMITS = Limits(None, None, None, None, None)

#: The limits :func:`extract` applies when it is not given any: set around a read by
#: :func:`pipeline.ingest.read_or_error`, so that they reach the reader through any wrapper.
_CURRENT: contextvars.ContextVar[Limits] = contextvars.ContextVar("bulletins_limits", default=DEFAULT_LIMITS)


def current_limits() -> Limits:
    """The limits in effect in this context (:data:`DEFAULT_LIMITS` unless set)."""
    return _CURRENT.get()


def set_limits(limits: Limits) -> contextvars.Token:
    """Put ``limits`` in effect in this context; pass the token to :func:`reset_limits`."""
    return _CURRENT.set(limits)


def reset_limits(token: contextvars.Token) -> None:
    _CURRENT.reset(token)


_HINT = "check that this is a real bulletin; raise the limit ({flag}) if it is"


def check_size(size: int, limits: Limits, path: Path | str) -> None:
    """Refuse a file larger than ``limits.max_bytes``.

    Raises:
        LimitError: one line naming the file, its size and the flag that raises the limit.
    """
    if limits.max_bytes is not None and size > limits.max_bytes:
        raise LimitError(
            f"expected at most {_size_text(limits.max_bytes)}, found {_size_text(size)}",
            path,
            _HINT.format(flag="--max-bytes"),
        )


def check_pages(n: int, limits: Limits, path: Path | str) -> None:
    """Refuse a document of more than ``limits.max_pages`` pages.

    Raises:
        LimitError: one line naming the file and its page count.
    """
    if limits.max_pages is not None and n > limits.max_pages:
        raise LimitError(
            f"expected at most {limits.max_pages} pages, found {n}", path, _HINT.format(flag="--max-pages")
        )


_PAGES_NODE = re.compile(rb"/Type\s*/Pages\b")
_COUNT = re.compile(rb"/Count\s+(\d{1,12})")


def pdf_page_count(path: Path) -> int | None:
    """A PDF's page count from its uncompressed page tree (the largest ``/Count`` of a
    ``/Type /Pages`` object), without a PDF library; ``None`` when the tree is inside
    compressed object streams (then the pages are counted after reading)."""
    try:
        with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
            best = None
            for match in _PAGES_NODE.finditer(data):
                start = data.rfind(b"obj", max(0, match.start() - 65536), match.start())
                end = data.find(b"endobj", match.end(), match.end() + (1 << 20))
                if start < 0 or end < 0:
                    continue
                for count in _COUNT.finditer(data, start, end):
                    best = max(best or 0, int(count.group(1)))
            return best
    except (OSError, ValueError):  # an empty file cannot be mapped
        return None


def _size_text(n: int) -> str:
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= size:
            return f"{n / size:.1f} {unit} ({n} bytes)"
    return f"{n} bytes"


def parse_size(text: str) -> int | None:
    """``200M``, ``1.5G``, ``800K`` or a number of bytes; ``0`` means no limit (``None``).

    Raises:
        argparse.ArgumentTypeError: not a size (argparse turns it into a usage message).
    """
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*", text.lower())
    if not match:
        raise argparse.ArgumentTypeError(f"expected a size such as 200M, 1G or 500000, found {text!r}")
    value = float(match.group(1)) * 1024 ** " kmgt".index(match.group(2) or " ")
    return int(value) or None


def _positive(kind: type) -> Callable[[str], float | int | None]:
    def parse(text: str) -> float | int | None:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, found {text!r}") from None
        if value < 0:
            raise argparse.ArgumentTypeError(f"expected 0 (no limit) or more, found {text!r}")
        return value or None

    return parse


def add_limit_arguments(parser: argparse.ArgumentParser) -> None:
    """The per-file limit options of ``extract`` and ``classify`` (0 lifts a limit)."""
    d = DEFAULT_LIMITS
    group = parser.add_argument_group("per-file limits (0: none)")
    group.add_argument(
        "--max-bytes", type=parse_size, default=d.max_bytes, metavar="SIZE", help="file size (default 200M)"
    )
    group.add_argument(
        "--max-pages", type=_positive(int), default=d.max_pages, metavar="N", help=f"pages (default {d.max_pages})"
    )
    group.add_argument(
        "--max-xml",
        type=parse_size,
        default=d.max_xml_bytes,
        metavar="SIZE",
        help="uncompressed XML part of a .docx (default 100M)",
    )
    group.add_argument(
        "--max-xml-ratio",
        type=_positive(float),
        default=d.max_xml_ratio,
        metavar="R",
        help=f"how many times its compressed size a .docx part may inflate to (default {d.max_xml_ratio:g})",
    )
    group.add_argument(
        "--time-limit",
        type=_positive(float),
        default=d.seconds,
        metavar="SECONDS",
        help=f"wall time to read one file (default {d.seconds:g})",
    )


def limits_from_args(args: argparse.Namespace) -> Limits:
    """The :class:`Limits` of parsed :func:`add_limit_arguments` options."""
    return Limits(
        max_bytes=args.max_bytes,
        max_pages=args.max_pages,
        max_xml_bytes=args.max_xml,
        max_xml_ratio=args.max_xml_ratio,
        seconds=args.time_limit,
    )


def with_limits(limits: Limits | None, **changes) -> Limits:
    """``limits`` (default: the current ones) with some fields changed."""
    return replace(limits or current_limits(), **changes)


# --- readers -------------------------------------------------------------------------------


def check_engine(engine: str) -> str:
    """The engine name, or a usage error naming the known ones."""
    if engine not in ENGINES:
        raise UsageError(
            f"expected a PDF engine among {', '.join(ENGINES)}, found {engine!r}",
            hint="pass --engine " + " or --engine ".join(ENGINES),
        )
    return engine


def extract(
    path: Path, password: str | None = None, engine: str = DEFAULT_ENGINE, limits: Limits | None = None
) -> RawDocument:
    """Read one bulletin file.

    Args:
        path: a PDF, Word (.docx, .doc), WPS (.wps), OFD or plain-text file (a regular
            file: anything else is refused from ``os.stat``, never opened).
        password: for encrypted PDFs.
        engine: PDF text engine, a key of :data:`ENGINES`.
        limits: bytes, pages and XML limits (default: :func:`current_limits`); the time
            limit is :func:`pipeline.ingest.read_limited`'s.

    Returns:
        The pages and lines as found, with the file's SHA-256.

    Raises:
        InputError: one line naming the file and what to do (``NotRegularFileError``,
            ``LimitError`` among them).
        UsageError: the engine is unknown.
    """
    path = Path(path)
    limits = limits or current_limits()
    read_pdf = ENGINES[check_engine(engine)]
    check_size(check_regular(path).st_size, limits, path)
    kind = sniff(path)
    sha = file_sha256(path)
    if kind == "text":
        from pipeline.readers.text import read_text

        with open(path, "rb") as fh:  # a regular file (sniffed); capped in case it grew since
            data = fh.read(limits.max_bytes + 1) if limits.max_bytes is not None else fh.read()
        check_size(len(data), limits, path)
        if limits.max_pages is not None:
            check_pages(data.count(b"\f") + 1, limits, path)  # pages are counted before they are built
        return read_text(path, data, sha)
    if kind == "docx":
        from pipeline.readers.docx import docx_version, read_docx

        return RawDocument(
            path=path,
            kind="docx",
            pages=read_docx(path, limits.max_xml_bytes, limits.max_xml_ratio),
            sha256=sha,
            paragraphs=True,
            reader=docx_version(),
        )
    if kind == "doc":
        from pipeline.readers.doc import read_doc

        pages, reader = read_doc(path)
        return RawDocument(path=path, kind="doc", pages=pages, sha256=sha, paragraphs=True, reader=reader)
    if kind == "ofd":
        from pipeline.readers.ofd import read_ofd, reader_version

        pages, notes = read_ofd(path)
        _check_read_pages(pages, limits, path)
        return RawDocument(
            path=path,
            kind="ofd",
            pages=pages,
            sha256=sha,
            layout=True,
            warnings=quality_warnings(pages) + notes,
            reader=reader_version(),
        )
    if limits.max_pages is not None:
        check_pages(pdf_page_count(path) or 0, limits, path)  # before the engine reads a page
    pdf = read_pdf(path, password)
    _check_read_pages(pdf.pages, limits, path)
    return RawDocument(
        path=path,
        kind="pdf",
        pages=pdf.pages,
        sha256=sha,
        layout=True,
        warnings=quality_warnings(pdf.pages) + pdf.warnings,
        reader=pdf.reader,
    )


def _check_read_pages(pages: tuple[Page, ...] | list[Page], limits: Limits, path: Path) -> None:
    """Pages counted after reading (a compressed PDF page tree, OFD), before cleaning."""
    check_pages(len(pages), limits, path)
