"""The fast PDF engine: text and line geometry through PDFium (pypdfium2).

``extract(..., engine="pdfium")`` reads PDFs here instead of through pdfplumber. PDFium
parses pages in C, about 10-40 times faster than pdfminer, so large archives finish in a
fraction of the time. Its lines carry the same geometry as pdfplumber's (x0, x1, top,
bottom in points from the top-left corner, the median type size and a bold flag), so the
layout cleaner treats both engines' output alike and the passages come out equal.

How a page becomes lines:

* PDFium's text page lists the glyphs in content-stream order and inserts generated line
  breaks (``\\r\\n``) and spaces. A run of glyphs between two line breaks is one line.
* Geometry comes from the glyphs' loose boxes (origin to advance width, as pdfminer
  measures them), read only for the first, middle and last glyph of a line; the whole
  line is measured only when those disagree on size or font.
* Lines are sorted top to bottom and pieces of one visual row (a page number drawn next to
  a footer, text drawn out of order) are joined left to right, as pdfplumber clusters
  characters: running headers and footers come out in stream order otherwise.
* The page's text comes in one call. White space inside a line collapses to one space
  (pdfplumber drops blank glyphs and puts one space between words).
* Glyphs whose font has no Unicode mapping become U+FFFD, so the extraction-quality
  warning fires as it does for pdfplumber's ``(cid:N)``: PDFium gives their raw codes,
  which are control characters for most such fonts, and a page with any is read glyph by
  glyph with PDFium's own flag. Otherwise the flag is checked on the measured glyphs of
  each line, and on all of a line's glyphs when one of them has it.
* Fake-bold copies (the same glyph drawn twice a fraction of a point apart) are dropped,
  as pdfplumber's ``dedupe_chars`` does.

pypdfium2 (a pdfplumber dependency) is imported only in this module. Every page and text
page is closed as soon as it is read, so memory stays flat on long files.
"""

from __future__ import annotations

import ctypes
import re
import statistics
from collections.abc import Collection, Iterator, Sequence
from pathlib import Path
from typing import Any

from pipeline.documents import Line, Page, PdfText
from pipeline.errors import CorruptFileError, EncryptedFileError
from pipeline.readers.checks import check_text_layer, password_error

#: Vertical tolerance (points) for pieces of one visual row, as pdfplumber's y_tolerance.
_Y_TOLERANCE = 3.0
#: Horizontal gap (points) between two pieces of a row that becomes a space (x_tolerance).
_X_TOLERANCE = 3.0
#: Two identical glyphs closer than this (points) are one fake-bold glyph (dedupe_chars).
_DEDUPE_TOLERANCE = 1.0
_CR, _LF = 13, 10
#: A line: what lies between PDFium's (generated) line breaks.
_RUN = re.compile(r"[^\r\n]+")
#: Control characters other than PDFium's CR LF line breaks: raw codes of a font without a
#: Unicode map, or markers; the page is then read glyph by glyph.
_STRAY = re.compile(r"[\x00-\x09\x0b\x0c\x0e-\x1f\ufffe]|\r(?!\n)|(?<!\r)\n")
#: A character written twice in a row: a possible fake-bold copy.
_REPEAT = re.compile(r"(\S)\1")


def read_pdf_pdfium(path: Path, password: str | None = None) -> PdfText:
    """Read a PDF's text layer with PDFium.

    Args:
        path: the PDF.
        password: for an encrypted PDF.

    Returns:
        The pages with their lines and line geometry, as :func:`pipeline.readers.registry.extract`
        gets them from pdfplumber. Pages set in a font that is neither embedded nor one of
        the standard 14 are read by pdfplumber instead: PDFium substitutes a system font
        for those, and where the machine has no CJK font it drops glyphs ('交通运输2011年'
        came out '2011'), so its text would depend on the machine. Scanned pages (images
        and no text) are read by OCR when the extra is installed (:mod:`pipeline.readers.ocr`).

    Raises:
        EncryptedFileError: the PDF is encrypted and no or a wrong password was given.
        CorruptFileError: the PDF is damaged or truncated.
        ImageOnlyError: the pages are scanned images with no text layer (and OCR is not
            installed, or found no text in them).
        EmptyFileError: the PDF has no pages, or no text on them.
    """
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    path = Path(path)
    try:
        doc = pdfium.PdfDocument(path, password=password or None)
    except pdfium.PdfiumError as exc:
        code = getattr(exc, "err_code", None)
        if code == pdfium_c.FPDF_ERR_SECURITY:
            raise EncryptedFileError(
                "the PDF uses an encryption scheme that cannot be opened", path, "export an unencrypted copy"
            ) from None
        if code == pdfium_c.FPDF_ERR_PASSWORD:
            raise password_error(path, password) from None
        reason = _load_reason(exc)
        raise CorruptFileError(
            f"expected a readable PDF, found a damaged or truncated one ({reason})", path, "re-export or re-download it"
        ) from None
    pages: list[Page] = []
    images: set[int] = set()  # pages with images and no text: scans, OCR'd when the extra is installed
    reader = _PageReader(pdfium_c)
    fallback: list[int] = []
    try:
        for index in range(len(doc)):
            try:
                page = doc[index]
                try:
                    if reader.substituted_fonts(page):
                        fallback.append(index + 1)
                        read = Page(number=index + 1, lines=())
                    else:
                        read = reader.read(page, index + 1)
                        if not read.lines and _count_images(page, pdfium_c):
                            images.add(index + 1)
                finally:
                    page.close()
            except pdfium.PdfiumError:
                raise _damaged_page(path, index + 1) from None
            pages.append(read)
    finally:
        doc.close()
    version = f"pypdfium2 {_version('pypdfium2')}"
    if fallback:
        from pipeline.readers.plumber import read_pages, reader_version

        by_plumber, more_images = read_pages(path, password, fallback)
        images |= more_images
        swap = {p.number: p for p in by_plumber}
        pages = [swap.get(p.number, p) for p in pages]
        version += f"; {reader_version()} on {_page_list(fallback)} (fonts not embedded)"
    from pipeline.readers.ocr import ocr_scanned

    scanned = ocr_scanned(pages, images, path, password)
    pages_read = check_text_layer(scanned.pages, len(images), path, scanned.engine)
    return PdfText(pages_read, version + scanned.note, scanned.warnings)


def _damaged_page(path: Path, number: int) -> CorruptFileError:
    return CorruptFileError(
        f"expected a readable PDF, found a damaged page {number}", path, "re-export or re-download it"
    )


def render_pages(
    path: Path, password: str | None, numbers: Collection[int], dpi: tuple[float, float]
) -> Iterator[tuple[int, Any, float]]:
    """Images of the pages numbered ``numbers`` (1-based) as PDFium draws them, for OCR.

    Args:
        path: the PDF.
        password: for an encrypted PDF.
        numbers: the pages.
        dpi: the lowest and highest resolution to draw at; within them, the resolution of
            the page's sharpest image (a scan's own), else the highest.

    Yields:
        (page number, BGR image as a ``numpy`` array of shape (height, width, 3), its dpi):
        pixel (x, y) is at (x, y) * 72 / dpi points from the top-left corner of the page as
        shown (rotation applied).
    """
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    low, high = dpi
    doc = pdfium.PdfDocument(Path(path), password=password or None)
    try:
        for number in sorted(numbers):
            try:
                page = doc[number - 1]
                try:
                    images = page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,))
                    native = max((d for img in images if (d := img.get_metadata().horizontal_dpi) > 0), default=high)
                    resolution = min(high, max(low, round(native)))
                    bitmap = page.render(scale=resolution / 72)
                    try:
                        # BGRA or BGRx when the page has transparency: the fourth channel goes;
                        # the copy outlives the bitmap's buffer.
                        image = bitmap.to_numpy()[:, :, :3].copy()
                    finally:
                        bitmap.close()
                finally:
                    page.close()
            except pdfium.PdfiumError:
                raise _damaged_page(path, number) from None
            yield number, image, float(resolution)
    finally:
        doc.close()


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


def _page_list(numbers: list[int]) -> str:
    """``page 3`` or ``pages 1-4, 7``."""
    runs: list[list[int]] = []
    for n in numbers:
        if runs and n == runs[-1][-1] + 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    text = ", ".join(f"{r[0]}-{r[-1]}" if len(r) > 1 else str(r[0]) for r in runs)
    return f"page{'s' if len(numbers) > 1 else ''} {text}"


def _load_reason(exc: Exception) -> str:
    """A short reason from a PDFium load error (``format``, ``file`` …) for the message."""
    text = str(exc)
    if "(PDFium:" in text:
        return text.split("(PDFium:", 1)[1].rstrip(").").strip()
    return type(exc).__name__


def _count_images(page, pdfium_c) -> int:
    return sum(1 for _ in page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,)))


#: Fonts every PDF viewer has built in (PDF 32000-1, 9.6.2.2), and the names PDFium maps to
#: them: these need not be embedded, and PDFium draws them the same on every machine.
_STANDARD_FONTS = frozenset(
    [
        "Courier",
        "Courier-Bold",
        "Courier-BoldOblique",
        "Courier-Oblique",
        "Helvetica",
        "Helvetica-Bold",
        "Helvetica-BoldOblique",
        "Helvetica-Oblique",
        "Times-Roman",
        "Times-Bold",
        "Times-Italic",
        "Times-BoldItalic",
        "Symbol",
        "ZapfDingbats",
        "Arial",
        "Arial-Bold",
        "Arial-Italic",
        "Arial-BoldItalic",
        "ArialMT",
        "Arial,Bold",
        "TimesNewRoman",
        "TimesNewRoman,Bold",
        "TimesNewRoman,Italic",
        "TimesNewRoman,BoldItalic",
        "TimesNewRomanPSMT",
        "CourierNew",
        "CourierNew,Bold",
        "CourierNewPSMT",
    ]
)


class _PageReader:
    """Reads pages with reusable ctypes buffers (one per document)."""

    def __init__(self, pdfium_c) -> None:
        self.c = pdfium_c
        self.rect = pdfium_c.FS_RECTF()
        self.matrix = pdfium_c.FS_MATRIX()
        self.name = ctypes.create_string_buffer(256)
        self.flags = ctypes.c_int()
        # Font handle -> whether PDFium substitutes it; fonts are shared across pages.
        self.substitutes: dict[int, bool] = {}

    def substituted_fonts(self, page) -> bool:
        """Whether any text on the page is set in a font PDFium must substitute (neither
        embedded nor standard)."""
        c = self.c
        for obj in page.get_objects(filter=(c.FPDF_PAGEOBJ_TEXT,)):
            font = c.FPDFTextObj_GetFont(obj.raw)
            if not font:
                continue
            key = ctypes.cast(font, ctypes.c_void_p).value or 0
            hit = self.substitutes.get(key)
            if hit is None:
                hit = not c.FPDFFont_GetIsEmbedded(font) and self._base_name(font) not in _STANDARD_FONTS
                self.substitutes[key] = hit
            if hit:
                return True
        return False

    def _base_name(self, font) -> str:
        n = self.c.FPDFFont_GetBaseFontName(font, self.name, len(self.name))
        if n > len(self.name):
            self.name = ctypes.create_string_buffer(n)
            self.c.FPDFFont_GetBaseFontName(font, self.name, n)
        name = self.name.value.decode("latin-1", "replace")
        return name.split("+", 1)[1] if len(name) > 7 and name[6] == "+" else name  # subset prefix ABCDEF+

    def read(self, page, number: int) -> Page:
        # PDFium keeps boxes as 32-bit floats: 595.2756 comes back as 595.27557373…
        left, bottom, right, top = page.get_mediabox()
        width, height = round(abs(right - left), 4), round(abs(top - bottom), 4)
        if page.get_rotation() in (90, 270):
            width, height = height, width
        textpage = page.get_textpage()
        try:
            tp = textpage.raw
            pieces = []
            for indices, text in self._runs(tp):
                pieces += self._measure(tp, indices, text, height)
        finally:
            textpage.close()
        return Page(number=number, lines=_rows(pieces), width=float(width), height=float(height))

    def _runs(self, tp) -> list[tuple[Sequence[int], str]]:
        """Glyph runs between PDFium's line breaks: (char indices, text) pairs.

        The page's text comes in one call when it has one UTF-16 unit per glyph (always,
        short of characters outside the BMP or glyphs PDFium leaves out of its text);
        otherwise glyph by glyph.
        """
        c = self.c
        n = c.FPDFText_CountChars(tp)
        if n <= 0:
            return []
        buf = (ctypes.c_ushort * (n + 1))()
        written = c.FPDFText_GetText(tp, 0, n, buf)
        text = ctypes.string_at(buf, 2 * max(written - 1, 0)).decode("utf-16-le", "replace")
        if len(text) != n or _STRAY.search(text):
            return self._runs_by_glyph(tp, n)
        return [(range(m.start(), m.end()), m.group()) for m in _RUN.finditer(text)]

    def _runs_by_glyph(self, tp, n: int) -> list[tuple[Sequence[int], str]]:
        """The slow path, glyph by glyph: for fonts without a Unicode map (PDFium then
        gives raw character codes, control characters among them) and text that does not
        line up with the glyphs."""
        get_unicode, unmapped = self.c.FPDFText_GetUnicode, self.c.FPDFText_HasUnicodeMapError
        runs: list[tuple[Sequence[int], str]] = []
        indices: list[int] = []
        chars: list[str] = []
        codes = [get_unicode(tp, i) for i in range(n)]
        for i, code in enumerate(codes):
            if unmapped(tp, i) == 1:
                ch = "\ufffd"
            elif code in (_CR, _LF):
                if indices:
                    runs.append((indices, "".join(chars)))
                    indices, chars = [], []
                continue
            elif 0xDC00 <= code <= 0xDFFF and i and 0xD800 <= codes[i - 1] <= 0xDBFF:
                continue  # the second half of a surrogate pair, joined below
            elif code < 32 or code == 0xFFFE:
                continue  # control characters (PDFium marks a soft hyphen with U+0002)
            else:
                if 0xD800 <= code <= 0xDBFF and i + 1 < n and 0xDC00 <= codes[i + 1] <= 0xDFFF:
                    code = 0x10000 + ((code - 0xD800) << 10) + (codes[i + 1] - 0xDC00)
                ch = chr(code) if code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF else "\ufffd"
            indices.append(i)
            chars.append(ch)
        if indices:
            runs.append((indices, "".join(chars)))
        return runs

    def _glyph(self, tp, i: int) -> tuple[float, float, float, float, str]:
        """(x0, x1, y0, size, font name) of glyph ``i``: loose box, size under the matrix."""
        c, r, m = self.c, self.rect, self.matrix
        c.FPDFText_GetLooseCharBox(tp, i, r)
        c.FPDFText_GetMatrix(tp, i, m)
        size = c.FPDFText_GetFontSize(tp, i) * (m.c * m.c + m.d * m.d) ** 0.5
        n = c.FPDFText_GetFontInfo(tp, i, self.name, len(self.name), self.flags)
        if n > len(self.name):
            self.name = ctypes.create_string_buffer(n)
            c.FPDFText_GetFontInfo(tp, i, self.name, n, self.flags)
        return r.left, r.right, r.bottom, size, self.name.value.decode("utf-8", "replace")

    def _close(self, tp, i: int, j: int) -> bool:
        """Whether glyphs ``i`` and ``j`` sit at (almost) the same place."""
        a, b = self._glyph(tp, i), self._glyph(tp, j)
        return abs(a[0] - b[0]) <= _DEDUPE_TOLERANCE and abs(a[2] - b[2]) <= _DEDUPE_TOLERANCE

    def _measure(self, tp, indices: Sequence[int], text: str, height: float) -> list[_Piece]:
        """Text and geometry of one run: one piece, or one per baseline when PDFium ran
        glyphs of several rows together (two columns side by side); none when the run is
        white space."""
        stripped = text.strip()
        if not stripped:
            return []
        if _REPEAT.search(stripped) or _echo(stripped):
            indices, text = self._dedupe(tp, indices, text)
        first = len(text) - len(text.lstrip())
        last = len(text.rstrip()) - 1
        middle = (first + last) // 2
        while text[middle].isspace():
            middle += 1
        sample = sorted({first, middle, last})
        unmapped = self.c.FPDFText_HasUnicodeMapError
        if any(unmapped(tp, indices[k]) == 1 for k in sample):
            # The font has no Unicode map: every glyph of the run is checked, and those
            # without one become U+FFFD, which the cleaner drops and extract reports.
            text = "".join("\ufffd" if unmapped(tp, i) == 1 else ch for i, ch in zip(indices, text))
        glyphs = [(k, self._glyph(tp, indices[k])) for k in sample]
        if len({(g[3], g[4]) for _, g in glyphs}) == 1 and _spread(glyphs) <= _Y_TOLERANCE:
            return [_piece(text, glyphs, height)]
        # Mixed sizes, fonts or baselines: every glyph is measured (pdfplumber's median
        # size and majority boldness are over all glyphs), and the run is cut where the
        # text moves to another row.
        glyphs = [(k, self._glyph(tp, indices[k])) for k, ch in enumerate(text) if not ch.isspace()]
        pieces, start = [], 0
        for n in range(1, len(glyphs) + 1):
            if n == len(glyphs) or abs(_top(glyphs[n][1]) - _top(glyphs[n - 1][1])) > _Y_TOLERANCE:
                row = glyphs[start:n]
                pieces.append(_piece(text[row[0][0] : row[-1][0] + 1], row, height))
                start = n
        return pieces

    def _dedupe(self, tp, indices: Sequence[int], text: str) -> tuple[list[int], str]:
        """Drop fake-bold copies: a glyph drawn again a fraction of a point from itself.

        PDFium already drops a text object drawn twice; what may be left are glyphs doubled
        one by one (``交交通通``) or a whole line repeated. Only repeated characters are
        measured, so ordinary text costs nothing here.
        """
        body = text.strip()
        if _echo(body):
            start = len(text) - len(text.lstrip())
            half = len(body) // 2
            if self._close(tp, indices[start], indices[start + half]):
                return list(indices[: start + half]), text[: start + half]
        keep_i, keep_ch = [indices[0]], [text[0]]
        for i, ch in zip(indices[1:], text[1:]):
            if ch == keep_ch[-1] and not ch.isspace() and self._close(tp, keep_i[-1], i):
                continue
            keep_i.append(i)
            keep_ch.append(ch)
        return keep_i, "".join(keep_ch)


_Glyph = tuple  # (x0, x1, y0, size, font name), from _PageReader._glyph


def _top(g: _Glyph) -> float:
    return g[2] + g[3]


def _spread(glyphs: list[tuple[int, _Glyph]]) -> float:
    """How far apart (points) the glyphs' baselines are."""
    bottoms = [g[2] for _, g in glyphs]
    return max(bottoms) - min(bottoms)


def _piece(text: str, glyphs: list[tuple[int, _Glyph]], height: float) -> _Piece:
    """A piece of a row from its text and measured glyphs: loose boxes (x), the baseline
    less the descent and that plus the type size (y, as pdfminer measures), the median
    size, and bold when most glyphs' font names say so."""
    boxes = [g for _, g in glyphs]
    return _Piece(
        text=" ".join(text.split()),
        x0=min(g[0] for g in boxes),
        x1=max(g[1] for g in boxes),
        top=height - max(_top(g) for g in boxes),
        bottom=height - min(g[2] for g in boxes),
        size=statistics.median(g[3] for g in boxes),
        bold=sum("bold" in g[4].lower() for g in boxes) > len(boxes) / 2,
    )


def _echo(text: str) -> bool:
    """Whether ``text`` is one string written twice (``简报简报``)."""
    half = len(text) // 2
    return len(text) % 2 == 0 and half > 0 and text[:half] == text[half:]


class _Piece:
    __slots__ = ("text", "x0", "x1", "top", "bottom", "size", "bold")

    def __init__(self, text: str, x0: float, x1: float, top: float, bottom: float, size: float, bold: bool) -> None:
        self.text, self.x0, self.x1, self.top, self.bottom, self.size, self.bold = (
            text,
            x0,
            x1,
            top,
            bottom,
            size,
            bold,
        )


def _rows(pieces: list[_Piece]) -> tuple[Line, ...]:
    """Pieces sorted into visual rows top to bottom; pieces of one row joined left to right
    (pdfplumber clusters characters by their top within 3 points)."""
    pieces.sort(key=lambda p: (p.top, p.x0))
    rows: list[list[_Piece]] = []
    last_top = None
    for p in pieces:
        if last_top is not None and p.top - last_top <= _Y_TOLERANCE:
            rows[-1].append(p)
        else:
            rows.append([p])
        last_top = p.top
    lines = []
    for row in rows:
        if len(row) == 1:
            p = row[0]
            text, x0, x1, top, bottom, size, bold = p.text, p.x0, p.x1, p.top, p.bottom, p.size, p.bold
        else:
            row.sort(key=lambda p: p.x0)
            text = row[0].text
            for prev, p in zip(row, row[1:]):
                text += (" " if p.x0 - prev.x1 > _X_TOLERANCE else "") + p.text
            x0, x1 = row[0].x0, max(p.x1 for p in row)
            top, bottom = min(p.top for p in row), max(p.bottom for p in row)
            # Size and boldness of the row weighted by each piece's length, as a median
            # and a majority over its glyphs.
            sizes = sorted((p.size, len(p.text)) for p in row)
            total = sum(n for _, n in sizes)
            size = statistics.median([s for s, n in sizes for _ in range(n)])
            bold = sum(len(p.text) for p in row if p.bold) > total / 2
        lines.append(
            Line(
                text=text,
                x0=round(x0, 2),
                x1=round(x1, 2),
                top=round(top, 2),
                bottom=round(bottom, 2),
                size=round(size, 2),
                bold=bold,
            )
        )
    return tuple(lines)
