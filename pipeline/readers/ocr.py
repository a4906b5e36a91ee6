"""OCR of scanned pages (images with no text layer), with the optional extra ``.[ocr]``.

Both PDF engines hand the pages that hold images and no text to :func:`ocr_scanned`. When
the extra is installed, each is drawn by PDFium (:func:`pipeline.readers.pdfium.render_pages`)
and read by RapidOCR (``rapidocr-onnxruntime``: PaddleOCR's PP-OCRv4 Chinese detection and
recognition models, shipped inside its wheel and run by onnxruntime on the CPU, so nothing
is downloaded at run time). The lines come back as a text-layer reader's do, with geometry
in points from the page's top-left corner and an OCR confidence, and go through the same
cleaning and structure: running headers, footers and page breaks are handled alike.
Without the extra the pages stay empty, and a PDF with no text at all is refused with a
hint saying how to install it.

How a page is read (choices measured with ``benchmarks/bench_ocr.py``):

* Drawn at the scan's own resolution, kept within 150-200 dpi (more costs time and gains
  nothing: the recogniser reads lines 40 pixels high), and cleaned of speckles with a
  3 x 3 median filter: isolated dots of a noisy scan otherwise come out as stray stops.
* Text lines are found on the image shrunk to 1000 pixels on its long side (about 85 dpi
  for A4: the detector needs no more), and read from the full image.
* The recogniser sees each line 40 pixels high (its model is trained at 48) and at 0.8 of
  its natural width: its time grows with the width, and it is most of a page's time.
  Narrower still (0.5) lost repeated digits ('33.33' read '33.3') and small punctuation.
* Red ink (a 红头 masthead, a seal) turns white in the red channel, where black ink stays
  black: on pages with red ink, lines are also looked for there (a seal hides lines from
  the detector), and a line with red ink on it is read there too when it read unsurely.
  Red text turned more than 5° from the page's lines is a seal's ring text, and dropped.
* Lines skewed by a crooked scan are turned back by their median angle before their
  boxes are measured, so indents and margins stay where the layout cleaner expects them.
* Boxes on one visual row are joined left to right. A line's ``size`` is measured from its
  ink height, scaled to ems by the width of the long lines, and is the same for lines of
  one type size (:func:`_same_sizes`), since the cleaner starts a paragraph where the size
  changes. Its ``confidence`` is the recogniser's mean character probability.

rapidocr-onnxruntime (and its OpenCV) is imported only in this module, on first use.
"""

from __future__ import annotations

import math
import statistics
import unicodedata
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from pipeline.documents import Line, Page

#: The distribution that carries the engine and its models (for messages and the reader string).
PACKAGE = "rapidocr-onnxruntime"
#: Resolutions (dpi) pages are drawn at for OCR: a scan's own, within these.
DPI = (150, 200)
#: Long side (pixels) of the image the text detector sees.
DET_SIDE = 1000
#: Height (pixels) the recogniser reads a line at (the model is trained at 48), and how
#: much narrower than natural.
REC_HEIGHT = 40
SQUEEZE = 0.8
#: Lines read with a lower confidence (0-1) are dropped as noise.
MIN_CONFIDENCE = 0.5
#: Below this confidence a line with red ink on it is read again without the red.
RED_RETRY = 0.95
#: Red text turned this far (radians) from the page's lines is a seal's ring text, dropped.
SEAL_ANGLE = math.radians(5)
#: Sizes (points) within this share of a commoner size are that size.
SIZE_TOLERANCE = 0.1
#: Lines this long (ems) or longer measure the type size by their width.
_PITCH_EMS = 12
#: Lines shorter than this (ems) measure their size less surely.
_SHORT_EMS = 6


@dataclass(frozen=True)
class Scanned:
    """Pages after OCR.

    Attributes:
        pages: every page, those read by OCR in place of the empty scanned ones.
        engine: the OCR engine and version when it read any page, else ``None``.
        note: for the reader string, e.g. ``; rapidocr-onnxruntime 1.4.4 on pages 1-3 (OCR)``.
    """

    pages: list[Page]
    engine: str | None = None
    note: str = ""


def ocr_scanned(pages: list[Page], images: Collection[int], path: Path, password: str | None) -> Scanned:
    """Read the scanned pages (no text, some image) by OCR, when the extra is installed.

    Args:
        pages: the pages as a PDF engine read them.
        images: numbers of the pages that hold images and no text.
        path: the PDF.
        password: for an encrypted PDF.

    Returns:
        The pages, OCR'd ones swapped in; unchanged when there are none or the extra is not
        installed.
    """
    numbers = sorted(p.number for p in pages if p.number in images and not any(ln.text.strip() for ln in p.lines))
    if not numbers:
        return Scanned(pages)
    reader = engine()
    if reader is None:
        return Scanned(pages)
    from pipeline.readers.pdfium import _page_list, render_pages

    drawn = render_pages(path, password, numbers, DPI)
    read = {
        page.number: page for page in _same_sizes([reader.read(image, number, dpi) for number, image, dpi in drawn])
    }
    name = f"{PACKAGE} {reader.version}"
    return Scanned([read.get(p.number, p) for p in pages], name, f"; {name} on {_page_list(numbers)} (OCR)")


@lru_cache(maxsize=1)
def engine() -> _Engine | None:
    """The OCR engine, loaded once per process; ``None`` without the extra."""
    try:
        from rapidocr_onnxruntime import RapidOCR
    except ImportError as exc:
        if exc.name == "rapidocr_onnxruntime":
            return None
        raise  # installed but broken (OpenCV without its system libraries): say so
    from importlib.metadata import version

    # One thread: the batch runs one process per core, and results do not depend on the
    # machine's core count.
    return _Engine(RapidOCR(intra_op_num_threads=1, inter_op_num_threads=1), version(PACKAGE))


@dataclass
class _Box:
    """A text line found on a page: corner points (pixels), text and confidence."""

    points: Any  # numpy array (4, 2): top-left, top-right, bottom-right, bottom-left
    text: str = ""
    confidence: float = 0.0
    #: height (pixels) of the ink in the box: the detector's boxes are padded, and unevenly
    ink: float = 0.0


class _Engine:
    """RapidOCR's detector and recogniser, driven page by page as described above."""

    def __init__(self, rapid, version: str) -> None:
        self.rapid = rapid
        self.version = version

    def read(self, image, number: int, dpi: float) -> Page:
        """One page image (BGR, ``dpi`` pixels per inch) as a page of lines in points."""
        import cv2

        h, w = image.shape[:2]
        image = cv2.medianBlur(image, 3)
        red = _without_red(image)
        boxes = self._detect(image)
        if red is None:
            self._recognise(image, boxes)
        else:
            # Lines a seal hides from the detector, found where red ink is white.
            more = [b for b in self._detect(red) if not any(_overlap(b.points, o.points) > 0.3 for o in boxes)]
            self._recognise(red, more)
            # Black lines' ink is measured without the seal's over them; red lines' with it.
            self._recognise(image, boxes, ink=red)
            for b in boxes:
                if b.confidence < RED_RETRY and _red_share(image, b.points) > 0.01:
                    again = _Box(b.points)
                    self._recognise(red, [again])
                    if again.confidence > b.confidence:
                        b.text, b.confidence, b.ink = again.text, again.confidence, again.ink
            boxes += more
        boxes = [b for b in boxes if b.confidence >= MIN_CONFIDENCE and b.text.strip()]
        skew = _skew(boxes)
        if red is not None:
            # A seal's ring text: red, and turned along the ring, unlike the page's lines.
            boxes = [
                b for b in boxes if abs(_angle(b.points) - skew) < SEAL_ANGLE or _red_share(image, b.points) < 0.05
            ]
        scale = 72 / dpi
        _deskew(boxes, skew, w / 2, h / 2)
        return Page(
            number=number, lines=tuple(_rows(boxes, scale)), width=round(w * scale, 2), height=round(h * scale, 2)
        )

    def _detect(self, image) -> list[_Box]:
        """Text lines on ``image`` (found on a copy shrunk to :data:`DET_SIDE`)."""
        import cv2
        import numpy as np

        h, w = image.shape[:2]
        f = min(1.0, DET_SIDE / max(h, w))
        small = cv2.resize(image, (round(w * f), round(h * f)), interpolation=cv2.INTER_AREA) if f < 1 else image
        found, _ = self.rapid.text_det(small)
        if found is None or len(found) == 0:
            return []
        return [_Box(np.asarray(p, dtype=np.float32) / f) for p in found]

    def _recognise(self, image, boxes: Sequence[_Box], ink=None) -> None:
        """Read each box's line from ``image``, in place (text, confidence, ink height, the
        latter on ``ink`` when given and the line has ink there)."""
        import cv2
        import numpy as np

        if not boxes:
            return
        rec = self.rapid.text_rec
        crops = self.rapid.get_crop_img_list(image, [b.points.copy() for b in boxes])
        # The ink is measured on a taller crop: a box may be tighter than its glyphs.
        tall = [_taller(b.points, 0.2) for b in boxes]
        ours = self.rapid.get_crop_img_list(image, tall)
        others = self.rapid.get_crop_img_list(ink, tall) if ink is not None else ours
        for box, crop, mine, other in zip(boxes, crops, ours, others):
            ch, cw = crop.shape[:2]
            if ch < 2 or cw < 2:
                continue
            width = max(REC_HEIGHT // 2, math.ceil(REC_HEIGHT * cw / ch * SQUEEZE))
            x = cv2.resize(crop, (width, REC_HEIGHT)).astype(np.float32).transpose(2, 0, 1) / 127.5 - 1
            preds = rec.session(x[np.newaxis])[0]
            text, confidence = rec.postprocess_op(preds)[0][:2]
            box.text, box.confidence = str(text), float(confidence)
            box.ink = _ink_height(other) or _ink_height(mine) or float(ch)


def _taller(points, share: float):
    """A box's corners moved apart across the line by ``share`` of its height each way."""
    down = (points[3] - points[0] + points[2] - points[1]) / 2 * share
    return (points + [-down, -down, down, down]).astype(points.dtype)


def _ink_height(crop) -> float:
    """Rows (pixels) from the first to the last with ink in a line's crop (dark in any
    channel, so red ink counts; a row needs 1% of the width, so specks do not); 0 for none.
    Only the band of rows with the most ink counts, where a blank gap parts it from a
    neighbouring line's ink that the crop caught."""
    import numpy as np

    counts = (crop.min(axis=2) < 128).sum(axis=1)
    rows = np.flatnonzero(counts >= max(2, 0.01 * crop.shape[1]))
    if not len(rows):
        return 0.0
    bands = np.split(rows, np.flatnonzero(np.diff(rows) > max(2, 0.12 * crop.shape[0])) + 1)
    band = max(bands, key=lambda b: int(counts[b].sum()))
    return float(band[-1] - band[0] + 1)


def _red_mask(image):
    """Where ``image`` (BGR) has red ink."""
    import numpy as np

    b, g, r = (image[:, :, k].astype(np.int16) for k in range(3))
    return (r > 140) & (r - np.maximum(g, b) > 60)


def _without_red(image):
    """The page with red ink (a seal, a red masthead) turned white when it has any: its red
    channel, where black ink stays black. ``None`` for a page without red ink."""
    import cv2

    if _red_mask(image).mean() < 0.0005:
        return None
    return cv2.cvtColor(image[:, :, 2], cv2.COLOR_GRAY2BGR)


def _red_share(image, points) -> float:
    """The share of a box's bounding rectangle that is red ink."""
    import numpy as np

    x0, y0 = np.floor(points.min(axis=0)).astype(int).clip(0)
    x1, y1 = np.ceil(points.max(axis=0)).astype(int)
    part = image[y0:y1, x0:x1]
    return float(_red_mask(part).mean()) if part.size else 0.0


def _overlap(a, b) -> float:
    """Intersection over the smaller of two boxes' bounding rectangles."""
    ax0, ay0 = a.min(axis=0)
    ax1, ay1 = a.max(axis=0)
    bx0, by0 = b.min(axis=0)
    bx1, by1 = b.max(axis=0)
    iw, ih = min(ax1, bx1) - max(ax0, bx0), min(ay1, by1) - max(ay0, by0)
    if iw <= 0 or ih <= 0:
        return 0.0
    smaller = min((ax1 - ax0) * (ay1 - ay0), (bx1 - bx0) * (by1 - by0))
    return float(iw * ih / smaller) if smaller > 0 else 0.0


def _angle(points) -> float:
    """The slope (radians) of a box's top edge."""
    (x0, y0), (x1, y1) = points[0], points[1]
    return math.atan2(float(y1 - y0), float(x1 - x0))


def _skew(boxes: list[_Box]) -> float:
    """The page's skew (radians): the median slope of long lines' top edges (0 for none)."""
    import numpy as np

    angles = [
        _angle(b.points)
        for b in boxes
        if b.points[1][0] - b.points[0][0] > 4 * float(np.linalg.norm(b.points[3] - b.points[0])) > 0
    ]
    return statistics.median(angles) if angles else 0.0


def _deskew(boxes: list[_Box], angle: float, cx: float, cy: float) -> None:
    """Turn the boxes back by the page's skew, about the page's centre."""
    import numpy as np

    if abs(angle) < math.radians(0.05):
        return
    cos, sin = math.cos(-angle), math.sin(-angle)
    for b in boxes:
        x, y = b.points[:, 0] - cx, b.points[:, 1] - cy
        b.points = np.stack([cx + x * cos - y * sin, cy + x * sin + y * cos], axis=1)


def _rows(boxes: list[_Box], scale: float) -> list[Line]:
    """Boxes as lines in points: sorted top to bottom, pieces of one visual row (half of the
    lower box's height in common) joined left to right, heights snapped to type sizes."""
    rects = sorted(
        (
            (
                float(b.points[:, 1].min()),
                float(b.points[:, 1].max()),
                float(b.points[:, 0].min()),
                float(b.points[:, 0].max()),
                b,
            )
            for b in boxes
        ),
        key=lambda r: (r[0], r[2]),
    )
    rows: list[list[tuple[float, float, float, float, _Box]]] = []
    for r in rects:
        if rows:
            top, bottom = min(x[0] for x in rows[-1]), max(x[1] for x in rows[-1])
            if min(bottom, r[1]) - max(top, r[0]) > 0.5 * min(r[1] - r[0], bottom - top):
                rows[-1].append(r)
                continue
        rows.append([r])
    lines = []
    for row in rows:
        row.sort(key=lambda x: x[2])
        text = row[0][4].text.strip()
        for prev, cur in zip(row, row[1:]):
            # a wide gap is a space (a tab stop, a signature block); the cleaner removes
            # spaces between Chinese characters anyway
            gap = cur[2] - prev[3]
            text += (" " if gap > 0.5 * (cur[1] - cur[0]) else "") + cur[4].text.strip()
        chars = sum(len(x[4].text) for x in row) or 1
        confidence = sum(x[4].confidence * len(x[4].text) for x in row) / chars
        lines.append(
            Line(
                text=text,
                x0=round(min(x[2] for x in row) * scale, 2),
                x1=round(max(x[3] for x in row) * scale, 2),
                top=round(min(x[0] for x in row) * scale, 2),
                bottom=round(max(x[1] for x in row) * scale, 2),
                size=round(max(x[4].ink for x in row) * scale, 2),
                confidence=round(confidence, 3),
            )
        )
    return lines


def _ems(text: str) -> float:
    """How many ems ``text`` sets in: full-width (and ambiguous: ★, ①) characters 1, others
    (digits, Latin) 0.5; closing punctuation at the end 0.5, as its ink fills half an em."""
    text = "".join(text.split())
    ems = sum(1.0 if unicodedata.east_asian_width(ch) in "WFA" else 0.5 for ch in text)
    return ems - 0.5 if text and text[-1] in _CLOSING else ems


_CLOSING = "，。、；：！？）》」』”’"
_OPENING = "（《「『“‘"


def _em_box(line: Line, size: float) -> Line:
    """The line with its type size, and its ends where a text layer has them: at the edge of
    the em box, not of the ink, where a line ends in closing punctuation (the ink of '。'
    fills the left half of its em) or opens with an opening one ('“')."""
    text = line.text.strip()
    x0, x1 = line.x0, line.x1
    if x1 is not None and text[-1:] in _CLOSING:
        x1 = round(x1 + size / 2, 2)
    if x0 is not None and text[:1] in _OPENING:
        x0 = round(x0 - size / 2, 2)
    return replace(line, size=size, x0=x0, x1=x1)


def _tolerance(line: Line) -> float:
    """How far (a share) a line's measured size may be from a commoner size and be it: a
    pixel is a larger share of a short line's ink (a two-character paragraph end)."""
    return SIZE_TOLERANCE if _ems(line.text) >= _SHORT_EMS else 2 * SIZE_TOLERANCE


def _same_sizes(pages: list[Page]) -> list[Page]:
    """The pages with each line's ``size`` set to its type size, equal for lines of one size,
    and its ends aligned with other lines' where a text layer would have them equal.

    A line of :data:`_PITCH_EMS` ems or more measures its size as its width over its ems
    (type set solid, as bulletins are); the commonest size (by characters) takes every
    such line within :data:`SIZE_TOLERANCE` of it, the commonest of the rest likewise,
    and so on: the cleaner starts a paragraph where the size changes. A shorter line takes
    the nearest of those sizes that its pitch or its ink height (times the median ratio of
    the two on the long lines) is within that share of; a short one (under
    :data:`_SHORT_EMS` ems, ink height only, twice the share) the commonest of them. The
    rest are grouped by ink height likewise. The lines'
    left and right ends (em boxes, :func:`_em_box`) are grouped likewise, within a quarter
    of an em: the cleaner finds the margins as the commonest ends, and tells indents and
    full lines from them.
    """
    lines = [ln for p in pages for ln in p.lines]
    if not lines:
        return pages
    ratios = [
        (ln.x1 - ln.x0) / _ems(ln.text) / ln.size
        for ln in lines
        if ln.size and ln.x0 is not None and ln.x1 is not None and _ems(ln.text) >= _PITCH_EMS
    ]
    ratio = statistics.median(ratios) if ratios else 1.0
    # Long lines first: their pitch is sure. Others take a long lines' size that their pitch
    # or ink height is near, else are grouped by ink height among themselves.
    long = [ln for ln in lines if _ems(ln.text) >= _PITCH_EMS]
    pitch = {id(ln): (ln.x1 - ln.x0) / _ems(ln.text) for ln in long}  # type: ignore[operator]
    size = _grouped(long, pitch, lambda ln, mode: SIZE_TOLERANCE * mode, step=0.5)
    known: dict[float, int] = {}  # size: characters set in it
    for ln in long:
        known[size[id(ln)]] = known.get(size[id(ln)], 0) + len(ln.text)
    rest = []
    for ln in lines:
        if id(ln) in size:
            continue
        guesses = _guesses(ln, ratio)
        near = [(abs(g - k) / k, k) for g in guesses for k in known if abs(g - k) <= _tolerance(ln) * k]
        if not near:
            rest.append(ln)
        elif _ems(ln.text) < _SHORT_EMS:
            # a short line's ink says little: the commonest size near it (the body's, mostly)
            size[id(ln)] = max(near, key=lambda n: (known[n[1]], -n[0]))[1]
        else:
            size[id(ln)] = min(near)[1]
    ink = {id(ln): _guesses(ln, ratio)[-1] for ln in rest}
    size.update(_grouped(rest, ink, lambda ln, mode: max(_tolerance(ln) * mode, 0.5), step=0.5))
    boxed = {id(ln): _em_box(ln, size[id(ln)]) for ln in lines}
    within = {id(ln): size[id(ln)] / 4 for ln in lines}
    x0 = _grouped(lines, {k: b.x0 or 0.0 for k, b in boxed.items()}, lambda ln, _: within[id(ln)], step=0.01)
    x1 = _grouped(lines, {k: b.x1 or 0.0 for k, b in boxed.items()}, lambda ln, _: within[id(ln)], step=0.01)
    return [
        Page(
            number=p.number,
            lines=tuple(replace(boxed[id(ln)], x0=x0[id(ln)], x1=x1[id(ln)]) for ln in p.lines),
            width=p.width,
            height=p.height,
        )
        for p in pages
    ]


def _guesses(line: Line, ratio: float) -> list[float]:
    """A short line's type size guessed from its pitch (width over ems; with
    :data:`_SHORT_EMS` ems or more) and, last, from its ink height times ``ratio``."""
    ems = _ems(line.text)
    by_ink = (line.size or 0.0) * ratio
    if line.x0 is None or line.x1 is None or ems < _SHORT_EMS:
        return [by_ink]
    return [(line.x1 - line.x0) / ems, by_ink]


def _grouped(lines: list[Line], value: dict[int, float], within, step: float) -> dict[int, float]:
    """Each line's value replaced by its group's median (rounded to ``step``): the commonest
    value (by characters, to the nearest point) takes the lines whose value is within
    ``within(line, commonest)`` of it, the commonest of the rest likewise, and so on."""
    out: dict[int, float] = {}
    left = list(lines)
    while left:
        weight: dict[float, int] = {}
        for ln in left:
            key = float(round(value[id(ln)] * 2) / 2)
            weight[key] = weight.get(key, 0) + len(ln.text)
        mode = max(weight, key=lambda k: (weight[k], -k))
        group = [ln for ln in left if abs(value[id(ln)] - mode) <= max(within(ln, mode), 0.25)]
        middle = round(statistics.median(value[id(ln)] for ln in group) / step) * step
        for ln in group:
            out[id(ln)] = round(middle, 2)
        left = [ln for ln in left if id(ln) not in out]
    return out
