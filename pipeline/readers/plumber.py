"""The default PDF engine: text and line geometry through pdfplumber (pdfminer).

The only module that imports pdfplumber. Lines carry geometry (x0, x1, top, bottom in
points from the top-left corner), the median type size and a bold flag, which the layout
cleaner uses to find paragraphs, headings and page furniture.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Collection
from operator import itemgetter
from pathlib import Path

from pipeline.documents import Line, Page, PdfText
from pipeline.errors import CorruptFileError, InputError
from pipeline.readers.checks import check_text_layer, password_error


def read_pdf_plumber(path: Path, password: str | None) -> PdfText:
    """Read a PDF's text layer with pdfplumber; scanned pages by OCR (:mod:`pipeline.readers.ocr`).

    Raises:
        EncryptedFileError, CorruptFileError, ImageOnlyError, EmptyFileError: one line each.
    """
    from pipeline.readers.ocr import ocr_scanned

    pages, images = read_pages(path, password)
    scanned = ocr_scanned(pages, images, path, password)
    pages_read = check_text_layer(scanned.pages, len(images), path, scanned.engine)
    return PdfText(pages_read, reader_version() + scanned.note, scanned.warnings)


def reader_version() -> str:
    """``pdfplumber X.Y.Z``: recorded with every bulletin it reads."""
    from importlib.metadata import version

    return f"pdfplumber {version('pdfplumber')}"


def read_pages(path: Path, password: str | None, only: Collection[int] | None = None) -> tuple[list[Page], set[int]]:
    """Pages (all, or the 1-based numbers in ``only``) and the numbers of those that hold
    images and no text (scans).

    Other engines read the pages they cannot read reliably through this one.
    """
    import pdfplumber
    from pdfminer.pdfdocument import PDFPasswordIncorrect

    pages: list[Page] = []
    images: set[int] = set()
    try:
        with pdfplumber.open(path, password=password or "", pages=sorted(only) if only else None) as pdf:
            for page in pdf.pages:
                pages.append(_read_page(page))
                if not pages[-1].lines and page.objects.get("image"):
                    images.add(page.page_number)
                # Release pdfminer's parsed objects: memory stays flat on long files.
                page.close()
    except InputError:
        raise
    except Exception as exc:  # pdfminer raises many unrelated types for damaged files
        cause = exc.__cause__ or exc.__context__ or exc
        if (
            isinstance(exc, PDFPasswordIncorrect)
            or isinstance(cause, PDFPasswordIncorrect)
            or "password" in repr(exc).lower()
        ):
            raise password_error(path, password) from None
        raise CorruptFileError(
            f"expected a readable PDF, found a damaged or truncated one ({type(cause).__name__})",
            path,
            "re-export or re-download it",
        ) from None
    return pages, images


def _read_page(page) -> Page:
    """Lines with geometry from one pdfplumber page; duplicate fake-bold glyphs dropped."""
    from pdfplumber.utils import chars_to_textmap

    # Fake bold draws every glyph twice a fraction of a point apart; the copies are dropped
    # before lines are built, so "交交通通" never appears. Same text map as
    # ``page.dedupe_chars().extract_text_lines()``, without its quadratic final sort.
    textmap = chars_to_textmap(
        _dedupe_chars(page.chars), layout_bbox=page.bbox, layout_width=page.width, layout_height=page.height
    )
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
    distinct = sorted({values[i] for i in indices})
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
