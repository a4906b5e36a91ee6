"""Stage 1, extract: read a bulletin file into a :class:`RawDocument`.

The format is chosen by the file's content (magic bytes), never by its suffix, so a
misnamed file is either read correctly or refused with a clear message. PDFs go through
pdfplumber (this is the only module that imports it); Word files through
:mod:`pipeline.wordfile`; plain text is decoded as UTF-8 (with or without BOM), UTF-16 with
BOM, or GB18030 (a superset of GBK and GB2312, common in government archives).
"""

from __future__ import annotations

import codecs
import hashlib
import logging
import re
import statistics
import zipfile
from collections import defaultdict
from operator import itemgetter
from pathlib import Path

from pipeline.errors import (
    CorruptFileError,
    EmptyFileError,
    EncryptedFileError,
    ImageOnlyError,
    InputError,
    UnknownFormatError,
)
from pipeline.records import Line, Page, RawDocument

log = logging.getLogger(__name__)

#: Suffixes a folder walk picks up; content still decides the reader.
SUFFIXES = (".pdf", ".txt", ".text", ".docx")

_OLE_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")
# Characters that mean the PDF's font had no usable Unicode mapping.
_UNMAPPED = re.compile(r"\(cid:\d+\)|[\ue000-\uf8ff\ufffd]")


def sniff(path: Path) -> str:
    """Tell a file's format from its first bytes.

    Args:
        path: the file.

    Returns:
        ``pdf``, ``docx`` or ``text``.

    Raises:
        InputError: the file is missing, empty or of an unsupported format.
    """
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
    except FileNotFoundError:
        raise InputError("no such file", path, "check the path") from None
    except OSError as exc:
        raise InputError(f"cannot be read ({exc.strerror})", path, "check its permissions") from None
    if not head.strip():
        raise EmptyFileError("the file is empty", path, "re-export or re-download the bulletin")
    if b"%PDF-" in head[:1024]:
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(path) as zf:
                names = set(zf.namelist())
        except zipfile.BadZipFile:
            raise CorruptFileError(
                "expected a complete ZIP/Word file, found a damaged one", path, "re-export it as .docx or PDF"
            ) from None
        if "word/document.xml" in names:
            return "docx"
        raise UnknownFormatError(
            "expected a PDF, Word (.docx) or text file, found another kind of ZIP archive",
            path,
            "unpack it and pass the bulletins inside",
        )
    if head.startswith(_OLE_MAGIC):
        raise UnknownFormatError(
            "expected a PDF, .docx or text file, found a legacy Office/WPS file (.doc/.wps)",
            path,
            "save it as .docx or PDF and run again",
        )
    if head.startswith(b"{\\rtf"):
        raise UnknownFormatError(
            "expected a PDF, .docx or text file, found RTF", path, "save it as .docx or PDF and run again"
        )
    return "text"


def decode_text(data: bytes, path: Path) -> str:
    """Decode plain-text bytes, detecting the encoding from the content.

    Args:
        data: the file's bytes.
        path: for error messages.

    Returns:
        The decoded text.

    Raises:
        UnknownFormatError: the bytes are binary, or neither UTF-8/16 nor GB18030.
    """
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8):].decode("utf-8", errors="replace")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", errors="replace")
    if b"\x00" in data[:8192]:
        raise UnknownFormatError(
            "expected a PDF, .docx or text file, found binary data", path, "check that this is a bulletin"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise UnknownFormatError(
            "expected text in UTF-8 or GBK/GB18030, found neither",
            path,
            "re-save the file as UTF-8",
        ) from None


def extract(path: Path, password: str | None = None, engine: str = "pdfplumber") -> RawDocument:
    """Read one bulletin file.

    Args:
        path: a PDF, Word (.docx) or plain-text file.
        password: for encrypted PDFs.
        engine: PDF text engine, ``pdfplumber`` (layout-aware, default) or ``pdfium``
            (pypdfium2: much faster on large archives).

    Returns:
        The pages and lines as found, with the file's SHA-256.

    Raises:
        InputError: one line naming the file and what to do.
    """
    path = Path(path)
    kind = sniff(path)
    data = path.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    if kind == "text":
        return _read_text(path, data, sha)
    if kind == "docx":
        from pipeline.wordfile import read_docx

        return RawDocument(path=path, kind="docx", pages=read_docx(path), sha256=sha, paragraphs=True)
    if engine == "pdfium":
        from pipeline.pdfium import read_pdf_pdfium

        pages = read_pdf_pdfium(path, password)
    elif engine == "pdfplumber":
        pages = _read_pdf(path, password)
    else:
        raise ValueError(f"unknown engine {engine!r}")
    return RawDocument(
        path=path, kind="pdf", pages=pages, sha256=sha, layout=True, warnings=_quality(pages)
    )


def _read_text(path: Path, data: bytes, sha: str) -> RawDocument:
    text = decode_text(data, path)
    if not text.strip():
        raise EmptyFileError("the file holds only white space", path, "re-export the bulletin")
    pages = tuple(
        Page(number=i, lines=tuple(Line(text=t) for t in chunk.splitlines()))
        for i, chunk in enumerate(text.split("\f"), start=1)
    )
    return RawDocument(path=path, kind="text", pages=pages, sha256=sha, warnings=_quality(pages))


def _quality(pages: tuple[Page, ...]) -> tuple[str, ...]:
    """Count characters that came out without a Unicode mapping."""
    bad = sum(len(_UNMAPPED.findall(line.text)) for page in pages for line in page.lines)
    if not bad:
        return ()
    return (
        f"extraction quality: {bad} character(s) had no Unicode mapping and were dropped; "
        "the PDF's fonts lack a ToUnicode map, so compare the passages with the original or OCR it",
    )


def _read_pdf(path: Path, password: str | None) -> tuple[Page, ...]:
    import pdfplumber
    from pdfminer.pdfdocument import PDFPasswordIncorrect

    pages: list[Page] = []
    images = 0
    try:
        with pdfplumber.open(path, password=password or "") as pdf:
            for page in pdf.pages:
                pages.append(_read_page(page))
                images += len(page.objects.get("image", ()))
                # Release pdfminer's parsed objects: memory stays flat on long files.
                page.close()
    except InputError:
        raise
    except Exception as exc:  # pdfminer raises many unrelated types for damaged files
        cause = exc.__cause__ or exc.__context__ or exc
        if isinstance(exc, PDFPasswordIncorrect) or isinstance(cause, PDFPasswordIncorrect) or "password" in repr(exc).lower():
            if password:
                raise EncryptedFileError("the password given does not open this encrypted PDF", path,
                                         "check the password") from None
            raise EncryptedFileError("the PDF is encrypted", path,
                                     "pass its password with --password, or export an unencrypted copy") from None
        raise CorruptFileError(f"expected a readable PDF, found a damaged or truncated one ({type(cause).__name__})",
                               path, "re-export or re-download it") from None
    return check_text_layer(pages, images, path)


def check_text_layer(pages: list[Page], images: int, path: Path) -> tuple[Page, ...]:
    """Refuse a PDF with no pages or no text (image-only: it needs OCR), whatever engine read it.

    Args:
        pages: the pages read.
        images: how many images the pages hold.
        path: for the message.

    Returns:
        The pages.

    Raises:
        EmptyFileError: no pages, or pages with neither text nor images.
        ImageOnlyError: pages with images and no text layer.
    """
    if not pages:
        raise EmptyFileError("the PDF has no pages", path, "re-export the bulletin")
    if not any(line.text.strip() for page in pages for line in page.lines):
        if images:
            raise ImageOnlyError(f"the PDF's {len(pages)} page(s) are images with no text layer", path,
                                 "run OCR first (e.g. ocrmypdf --language chi_sim) and pass the result")
        raise EmptyFileError("the PDF's pages hold no text", path, "check that this is the right file")
    return tuple(pages)


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes, read in chunks (the hash every stage records)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _read_page(page) -> Page:
    """Lines with geometry from one pdfplumber page; duplicate fake-bold glyphs dropped."""
    from pdfplumber.utils import chars_to_textmap

    # Fake bold draws every glyph twice a fraction of a point apart; the copies are dropped
    # before lines are built, so "交交通通" never appears. Same text map as
    # ``page.dedupe_chars().extract_text_lines()``, without its quadratic final sort.
    textmap = chars_to_textmap(_dedupe_chars(page.chars), layout_bbox=page.bbox, layout_width=page.width,
                               layout_height=page.height)
    lines = textmap.extract_text_lines(strip=True, return_chars=True)
    out = []
    for ln in lines:
        chars = ln["chars"]
        sizes = [c["size"] for c in chars]
        bold = sum("bold" in c.get("fontname", "").lower() for c in chars) > len(chars) / 2
        out.append(
            Line(
                text=ln["text"],
                x0=round(ln["x0"], 2),
                x1=round(ln["x1"], 2),
                top=round(ln["top"], 2),
                bottom=round(ln["bottom"], 2),
                size=round(statistics.median(sizes), 2) if sizes else None,
                bold=bold,
            )
        )
    return Page(number=page.page_number, lines=tuple(out), width=float(page.width), height=float(page.height))


def _clusters(indices: list[int], values: list[float], tolerance: float) -> list[list[int]]:
    """pdfplumber's ``cluster_objects``: distinct values chained within ``tolerance``;
    members keep their order."""
    distinct = sorted(set(values[i] for i in indices))
    ids: dict[float, int] = {}
    cluster, last = 0, distinct[0]
    for v in distinct:
        if v > last + tolerance:
            cluster += 1
        ids[v] = cluster
        last = v
    groups: dict[int, list[int]] = {}
    for i in indices:
        groups.setdefault(ids[values[i]], []).append(i)
    return [groups[k] for k in sorted(groups)]


def _dedupe_chars(chars: list[dict], tolerance: float = 1) -> list[dict]:
    """pdfplumber's ``dedupe_chars`` (same chars kept, same order) in O(n log n).

    Chars with the same text, orientation, font and size whose ``doctop`` and then ``x0``
    cluster within ``tolerance`` are one glyph; the topmost-leftmost copy is kept.
    pdfplumber restores the original order with ``sorted(key=chars.index)``, quadratic in
    the number of chars: on full pages of Chinese text (800+ chars) that more than doubled
    the time to read a bulletin.
    """
    groups: defaultdict[tuple, list[int]] = defaultdict(list)
    for i, key in enumerate(map(itemgetter("upright", "text", "fontname", "size"), chars)):
        groups[key].append(i)
    tops = list(map(itemgetter("doctop"), chars))
    lefts = list(map(itemgetter("x0"), chars))
    drop: set[int] = set()
    for members in groups.values():
        if len(members) < 2:
            continue
        # Copies need two x0 values within the tolerance; most repeated characters
        # (the same word on several lines) have none, and need no clustering.
        xs = sorted(lefts[i] for i in members)
        if all(b - a > tolerance for a, b in zip(xs, xs[1:])):
            continue
        for row in _clusters(members, tops, tolerance):
            if len(row) < 2:
                continue
            for same in _clusters(row, lefts, tolerance):
                if len(same) > 1:
                    keep = min(same, key=lambda i: (tops[i], lefts[i]))
                    drop.update(i for i in same if i != keep)
    return [c for i, c in enumerate(chars) if i not in drop] if drop else list(chars)
