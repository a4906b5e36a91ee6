"""OCR of scanned pages (images with no text layer), with the optional extra ``.[ocr]``.

Both PDF engines hand the pages that hold images and no text to :func:`ocr_scanned`. When
the extra is installed, each is drawn by PDFium (:func:`pipeline.readers.pdfium.render_pages`)
and read by RapidOCR (``rapidocr-onnxruntime``: PaddleOCR's PP-OCRv4 Chinese detection and
recognition models, shipped inside its wheel and run by onnxruntime on the CPU, so nothing
is downloaded at run time). The lines come back as a text-layer reader's do, with geometry
in points from the page's top-left corner and an OCR confidence, and go through the same
cleaning and structure: running headers, footers and page breaks are handled alike.
Without the extra the pages stay empty: a PDF with no text at all is refused with a hint
saying how to install it, and one with text on other pages is read with a warning naming
the pages left unread and how to install it (logged, and in the file's warnings, which the
batch lists and stores).

How a page is read (choices measured with ``benchmarks/bench_ocr.py``):

* Drawn at the scan's own resolution, kept within 150-200 dpi (more costs time and gains
  nothing: the recogniser reads lines 32 to 40 pixels high; drawing every page at 150 lost
  a passage at 200 dpi and under the seal), and cleaned of speckles with a 3 x 3 median
  filter: isolated dots of a noisy scan otherwise come out as stray stops.
* Text lines are found on the image shrunk to 1000 pixels on its long side and grown back
  to 736 on its short side, as RapidOCR sizes it (about 90 dpi for A4), and read from the
  full image. The line boxes are what the layout cleaner measures indents and margins by:
  a smaller detector image (640 on the short side), or the image cut to the part with ink
  (32 pixels of margin), moved box edges by a few pixels and lost the contents page of
  a bulletin (its lines came out as passages: CER 12.5%) and a masthead.
* The recogniser sees each line 32 pixels high (its model is trained at 48) and at 0.9 of
  its natural width, and a line whose least sure character has a probability under 0.7 is
  read again 40 pixels high at 0.8 of its width, the second reading kept (5% of the lines
  of clean scans, 8% to 26% of noisy ones). Its time grows with height times width, and it
  is most of a page's time: this takes about a quarter less than reading every line at 40
  and 0.8, as before, and read the generated scans as well or better. 32 pixels at 0.8 or
  0.85 lost digits and stops of numbers ('99.99%', '100.00%'); 0.5 at 40 lost repeated
  digits ('33.33' read '33.3') and small punctuation; thresholds of 0.75 and 0.8 re-read
  more lines and read no better.
* The models are the wheel's with their scale-and-shift and hard-swish chains folded into
  the convolutions (:func:`fused_model`; outputs equal to 1e-5): the recogniser takes
  about 20% less time per line, the detector about 19% less per page. Sessions run one
  thread with every graph optimisation and the memory arena on (about 5% faster than
  RapidOCR's arena off; a reading process holds about 200 MB more). Measured and not kept:
  recognising lines in batches of 2 to 16 of similar width (7% to 90% slower: padding, and
  activations that leave the cache),
  onnxruntime's "extended" optimisation level (50% slower), denormals as zero (no change).
* Red ink (a 红头 masthead, a seal) turns white in the red channel, where black ink stays
  black: on pages with red ink, lines are also looked for there (a seal hides lines from
  the detector), and a line with red ink on it is read there too when it read unsurely.
  Pages without red ink skip these passes. Red text turned more than 5° from the page's
  lines is a seal's ring text, and dropped.
* Lines skewed by a crooked scan are turned back by their median angle before their
  boxes are measured, so indents and margins stay where the layout cleaner expects them.
* Boxes on one visual row are joined left to right. A line's ``size`` is measured from its
  ink height, scaled to ems by the width of the long lines, and is the same for lines of
  one type size (:func:`_same_sizes`), since the cleaner starts a paragraph where the size
  changes. Its ``confidence`` is the recogniser's mean character probability.

Where a page's time goes (a 300 dpi A4 page drawn at 200 dpi, 27 lines; CPU ms on one core,
before -> after the choices above): recognition 1180 -> 700, detection 290 -> 180, drawing
70 -> 70, line crops 40 -> 40, ink heights 40 -> 5, the rest about 15. Before -> after with
``python benchmarks/bench_ocr.py --repeat 3`` (two bulletins of 3 and 9 pages; pages over the
CPU seconds of the best of three reads, on one core; after: two runs):

=========================== =============== ============== ===================
condition                   CER             passages exact pages/s
=========================== =============== ============== ===================
300 dpi clean               0.00% -> 0.00%   100% -> 100%  0.58 -> 1.06, 1.09
200 dpi                     0.02% -> 0.00%    96% -> 100%  0.65 -> 1.15, 1.19
150 dpi + noise             0.02% -> 0.02%    96% -> 96%   0.70 -> 1.10, 1.11
200 dpi + skew 1°           0.00% -> 0.00%   100% -> 100%  0.67 -> 1.20, 1.10
200 dpi + seal + red title  0.02% -> 0.00%    96% -> 100%  0.65 -> 1.16, 1.10
=========================== =============== ============== ===================

CPU time on a shared two-core machine varies by about 10% from run to run: repeat a
measurement that looks off.

rapidocr-onnxruntime (and its OpenCV), onnxruntime and protobuf are imported only in this module,
on first use.
"""

from __future__ import annotations

import logging
import math
import statistics
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from pipeline.documents import Line, Page
from pipeline.readers.checks import unread_scans_warning

log = logging.getLogger(__name__)

#: The distribution that carries the engine and its models (for messages and the reader string).
PACKAGE = "rapidocr-onnxruntime"
#: Resolutions (dpi) pages are drawn at for OCR: a scan's own, within these.
DPI = (150, 200)
#: Long side (pixels) of the image the text detector sees.
DET_SIDE = 1000
#: Height (pixels) the recogniser reads a line at (the model is trained at 48), and how
#: much narrower than natural.
REC_HEIGHT = 32
SQUEEZE = 0.9
#: A line whose least sure character is below this probability is read again at
#: SURE_HEIGHT pixels and SURE_SQUEEZE of its width.
SURE = 0.7
SURE_HEIGHT = 40
SURE_SQUEEZE = 0.8
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
        warnings: for the file's warnings: scanned pages of a PDF that also has text, left
            unread because the extra is not installed.
    """

    pages: list[Page]
    engine: str | None = None
    note: str = ""
    warnings: tuple[str, ...] = ()


def ocr_scanned(pages: list[Page], images: Collection[int], path: Path, password: str | None) -> Scanned:
    """Read the scanned pages (no text, some image) by OCR, when the extra is installed.

    Args:
        pages: the pages as a PDF engine read them.
        images: numbers of the pages that hold images and no text.
        path: the PDF.
        password: for an encrypted PDF.

    Returns:
        The pages, OCR'd ones swapped in; unchanged when there are none or the extra is not
        installed. Without the extra, a PDF whose other pages have text gets a warning
        (logged, and in :attr:`Scanned.warnings`) naming the pages left unread and how to
        install the extra; one with no text at all is refused later
        (:func:`pipeline.readers.checks.check_text_layer`).
    """
    from pipeline.readers.pdfium import _page_list

    numbers = sorted(p.number for p in pages if p.number in images and not any(ln.text.strip() for ln in p.lines))
    if not numbers:
        return Scanned(pages)
    reader = engine()
    if reader is None:
        if not any(ln.text.strip() for p in pages for ln in p.lines):
            return Scanned(pages)
        # Not logged: the file's warnings carry it, and the CLI and the batch print those once.
        return Scanned(pages, warnings=(unread_scans_warning(_page_list(numbers)),))
    from pipeline.readers.pdfium import render_pages

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

    from rapidocr_onnxruntime.main import DEFAULT_CFG_PATH
    from rapidocr_onnxruntime.utils import read_yaml, update_model_path

    rapid = RapidOCR(intra_op_num_threads=1, inter_op_num_threads=1)
    # The wheel's models with their scale-and-shift and hard-swish chains folded into the
    # convolutions (:func:`fused_model`), in sessions of our own: RapidOCR's detector and
    # recogniser run them from here on.
    models = update_model_path(read_yaml(DEFAULT_CFG_PATH))
    rapid.text_det.infer.session = session(fused_model(Path(models["Det"]["model_path"]))[0])
    rapid.text_rec.session.session = session(fused_model(Path(models["Rec"]["model_path"]))[0])
    return _Engine(rapid, version(PACKAGE))


def session(model: bytes):
    """An onnxruntime session of ``model`` (ONNX bytes) on the CPU, as the engine runs its
    models: one thread (the batch runs one process per core, and results do not depend on
    the machine's core count), every graph optimisation, and the memory arena (RapidOCR
    turns it off: with it, a line is read about 5% faster)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.enable_cpu_mem_arena = True
    options.log_severity_level = 3
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


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
        #: the recogniser's alphabet, the CTC blank first
        self.characters: list[str] = rapid.text_rec.postprocess_op.character

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
        """Text lines on ``image``, found on a copy the size RapidOCR gives the detector after
        a shrink to :data:`DET_SIDE`: the short side at least 736 pixels, both sides
        multiples of 32 (the detector's stride)."""
        import cv2
        import numpy as np

        h, w = image.shape[:2]
        f = min(1.0, DET_SIDE / max(h, w))
        sh, sw = round(h * f), round(w * f)
        grow = max(1.0, 736 / min(sh, sw))
        dh, dw = (max(32, round(int(n * grow) / 32) * 32) for n in (sh, sw))
        small = cv2.resize(image, (dw, dh), interpolation=cv2.INTER_AREA)
        det = self.rapid.text_det
        pred = det.infer((small.astype(np.float32) / 127.5 - 1).transpose(2, 0, 1)[np.newaxis])[0]
        found, _ = det.postprocess_op(pred, (dh, dw))
        found = det.filter_tag_det_res(found, (dh, dw))
        factor = np.array([dw / w, dh / h], dtype=np.float32)
        return [_Box(np.asarray(p, dtype=np.float32) / factor) for p in found]

    def _recognise(self, image, boxes: Sequence[_Box], ink=None) -> None:
        """Read each box's line from ``image``, in place (text, confidence, ink height, the
        latter on ``ink`` when given and the line has ink there)."""
        if not boxes:
            return
        crops = self.rapid.get_crop_img_list(image, [b.points.copy() for b in boxes])
        # The ink is measured on a taller crop: a box may be tighter than its glyphs.
        tall = [_taller(b.points, 0.2) for b in boxes]
        ours = self.rapid.get_crop_img_list(image, tall)
        others = self.rapid.get_crop_img_list(ink, tall) if ink is not None else ours
        for box, crop, mine, other in zip(boxes, crops, ours, others):
            ch, cw = crop.shape[:2]
            if ch < 2 or cw < 2:
                continue
            text, confidence, least = self._read(crop, REC_HEIGHT, SQUEEZE)
            if least < SURE:
                text, confidence, least = self._read(crop, SURE_HEIGHT, SURE_SQUEEZE)
            box.text, box.confidence = text, confidence
            box.ink = _ink_height(other) or _ink_height(mine) or float(ch)

    def _read(self, crop, height: int, squeeze: float) -> tuple[str, float, float]:
        """A line's text, its mean character probability and its least one, read at
        ``height`` pixels and ``squeeze`` of its natural width."""
        import cv2
        import numpy as np

        ch, cw = crop.shape[:2]
        width = max(height // 2, math.ceil(height * cw / ch * squeeze))
        x = cv2.resize(crop, (width, height)).astype(np.float32).transpose(2, 0, 1) / 127.5 - 1
        return ctc_greedy(self.rapid.text_rec.session(x[np.newaxis])[0][0], self.characters)


def ctc_greedy(preds, characters: Sequence[str]) -> tuple[str, float, float]:
    """The recogniser's output (steps x symbols, probabilities) as RapidOCR decodes it: the
    likeliest symbol at each step, repeats merged, blanks (symbol 0) dropped; with the mean
    probability of the characters kept (0 for none) and the least one."""
    import numpy as np

    best = preds.argmax(axis=1)
    keep = best != 0
    keep[1:] &= best[1:] != best[:-1]
    probs = preds[np.arange(len(best)), best][keep]
    if not len(probs):
        return "", 0.0, 0.0
    return "".join(characters[i] for i in best[keep]), float(probs.mean()), float(probs.min())


def _darkest(image):
    """Each pixel's darkest channel (red ink is dark in green and blue)."""
    import numpy as np

    return np.minimum(np.minimum(image[:, :, 0], image[:, :, 1]), image[:, :, 2])


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

    counts = (_darkest(crop) < 128).sum(axis=1)
    rows = np.flatnonzero(counts >= max(2, 0.01 * crop.shape[1]))
    if not len(rows):
        return 0.0
    bands = np.split(rows, np.flatnonzero(np.diff(rows) > max(2, 0.12 * crop.shape[0])) + 1)
    band = max(bands, key=lambda b: int(counts[b].sum()))
    return float(band[-1] - band[0] + 1)


def _red_mask(image):
    """Where ``image`` (BGR) has red ink."""
    import numpy as np

    r = image[:, :, 2]
    most = np.maximum(image[:, :, 0], image[:, :, 1])
    # bytes: r - most wraps round where r < most, and r > most is false there
    return (r > 140) & (r > most) & (r - most > 60)


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


# --- the models, fused ------------------------------------------------------------------


@lru_cache(maxsize=1)
def _model_class():
    """The protobuf class of an ONNX model, declaring only the fields the rewrite reads or
    writes (numbers as in onnx.proto); every other field is kept as it was, unparsed."""
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    F = descriptor_pb2.FieldDescriptorProto
    schema = descriptor_pb2.FileDescriptorProto(name="bulletins_onnx.proto", package="bulletins_onnx", syntax="proto2")

    def message(name: str, *fields: tuple[str, int, int, str]) -> None:
        m = schema.message_type.add(name=name)
        for field, number, kind, of in fields:
            label = F.LABEL_REPEATED if of.startswith("*") else F.LABEL_OPTIONAL
            f = m.field.add(name=field, number=number, type=kind, label=label)
            if of.strip("*"):
                f.type_name = ".bulletins_onnx." + of.strip("*")

    message(
        "Tensor",
        ("dims", 1, F.TYPE_INT64, "*"),
        ("data_type", 2, F.TYPE_INT32, ""),
        ("float_data", 4, F.TYPE_FLOAT, "*"),
        ("name", 8, F.TYPE_STRING, ""),
        ("raw_data", 9, F.TYPE_BYTES, ""),
    )
    message(
        "Attribute",
        ("name", 1, F.TYPE_STRING, ""),
        ("f", 2, F.TYPE_FLOAT, ""),
        ("i", 3, F.TYPE_INT64, ""),
        ("s", 4, F.TYPE_BYTES, ""),
        ("t", 5, F.TYPE_MESSAGE, "Tensor"),
        ("ints", 8, F.TYPE_INT64, "*"),
        ("type", 20, F.TYPE_INT32, ""),
    )
    message(
        "Node",
        ("input", 1, F.TYPE_STRING, "*"),
        ("output", 2, F.TYPE_STRING, "*"),
        ("name", 3, F.TYPE_STRING, ""),
        ("op_type", 4, F.TYPE_STRING, ""),
        ("attribute", 5, F.TYPE_MESSAGE, "*Attribute"),
        ("domain", 7, F.TYPE_STRING, ""),
    )
    message("ValueInfo", ("name", 1, F.TYPE_STRING, ""))
    message(
        "Graph",
        ("node", 1, F.TYPE_MESSAGE, "*Node"),
        ("initializer", 5, F.TYPE_MESSAGE, "*Tensor"),
        ("output", 12, F.TYPE_MESSAGE, "*ValueInfo"),
    )
    message("Model", ("graph", 7, F.TYPE_MESSAGE, "Graph"))
    pool = descriptor_pool.DescriptorPool()
    pool.Add(schema)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("bulletins_onnx.Model"))


_FLOAT = 1  # TensorProto.FLOAT
_ATTR_FLOAT = 1  # AttributeProto.FLOAT


def fused_model(path: Path) -> tuple[bytes, Counter]:
    """The ONNX model at ``path`` with what the wheel's PP-OCRv4 models spell out in small
    steps folded into their convolutions, computing the same function (to float rounding:
    outputs within 1e-5) in fewer passes over memory.

    PaddleOCR's exporter wrote each of the models' learnable scale-and-shift blocks as a
    ``Mul`` and an ``Add`` by scalars and each hard swish as ``Add``, ``Clip``, ``Mul`` and
    ``Div``; onnxruntime fuses none of them, and the element-wise passes (and the layout
    changes they force between convolutions) took about a third of the time. Here:

    1. ``Conv -> Mul(a) -> Add(b)`` becomes one ``Conv`` (weights times a, bias a*B + b);
    2. ``x * Clip(x + 3, 0, 6) / 6`` becomes ``x * HardSigmoid(x)``, which onnxruntime
       fuses into the convolution before it;
    3. ``Mul(a) -> Add(b) -> Conv`` becomes one ``Conv`` where the convolution has no
       padding (bias B + b * sum(W)); where it pads with zeros, which must come after the
       shift, the scale goes into the weights and the shift (b/a) stays before.

    A pattern not found exactly (another model, a constant that is not a scalar) is left as
    it is. The model is read with a schema of just the fields used here (protobuf, which
    onnxruntime depends on); the rest is kept as it was.

    Returns:
        The rewritten model (bytes for :func:`session`) and how many of each fold it made.
    """
    import numpy as np

    model = _model_class().FromString(Path(path).read_bytes())
    graph = model.graph
    tensors = {t.name: t for t in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant" and len(node.attribute) == 1 and node.attribute[0].HasField("t"):
            tensors[node.output[0]] = node.attribute[0].t

    def value(name: str):
        t = tensors.get(name)
        if t is None or t.data_type != _FLOAT:
            return None
        data = np.frombuffer(t.raw_data, "<f4") if t.raw_data else np.array(t.float_data, "<f4")
        return data.reshape(tuple(t.dims)) if data.size == int(np.prod(t.dims)) else None

    def scalar(name: str) -> float | None:
        v = value(name)
        return float(v.reshape(-1)[0]) if v is not None and v.size == 1 else None

    def const_operand(node) -> tuple[str, float] | None:
        """(the other input, the scalar) of a binary node with one scalar constant input."""
        for k in (0, 1):
            s = scalar(node.input[1 - k])
            if s is not None and scalar(node.input[k]) is None:
                return node.input[k], s
        return None

    new_names: Counter = Counter()

    def put(base: str, array) -> str:
        new_names[base] += 1
        name = f"{base}::fused{new_names[base]}"
        t = graph.initializer.add(name=name, data_type=_FLOAT, dims=array.shape)
        t.raw_data = np.ascontiguousarray(array, dtype="<f4").tobytes()
        tensors[name] = t
        return name

    def conv_params(conv):
        weight = value(conv.input[1])
        bias = value(conv.input[2]) if len(conv.input) > 2 else np.zeros(weight.shape[0], np.float32)
        return weight, bias

    def set_conv(conv, weight, bias) -> None:
        conv.input[1] = put(conv.input[1], weight)
        if len(conv.input) > 2:
            conv.input[2] = put(conv.input[2], bias)
        else:
            conv.input.append(put(conv.input[1] + ".bias", bias))

    def pads(conv) -> bool:
        """Whether a convolution pads its input."""
        attrs = {a.name: a for a in conv.attribute}
        explicit = "pads" in attrs and any(attrs["pads"].ints)
        return explicit or ("auto_pad" in attrs and attrs["auto_pad"].s not in (b"", b"NOTSET", b"VALID"))

    def index() -> tuple[dict[str, Any], defaultdict[str, list]]:
        """Each value's producing node, and its reading nodes (``None`` for a graph output)."""
        producer = {o: n for n in graph.node for o in n.output}
        users: defaultdict[str, list] = defaultdict(list)
        for n in graph.node:
            for i in n.input:
                users[i].append(n)
        for o in graph.output:
            users[o.name].append(None)
        return producer, users

    def only_user(users, name: str, op: str):
        u = users.get(name, [])
        return u[0] if len(u) == 1 and u[0] is not None and u[0].op_type == op else None

    counts: Counter = Counter()

    # 1. Conv -> Mul(a) [-> Add(b)]: a*conv(x)+b is a conv with weights a*W and bias a*B+b.
    _, users = index()
    for conv in list(graph.node):
        if conv.op_type != "Conv" or value(conv.input[1]) is None:
            continue
        mul = only_user(users, conv.output[0], "Mul")
        scale = const_operand(mul) if mul is not None else None
        if scale is None:
            continue
        last, shift = mul, 0.0
        add = only_user(users, mul.output[0], "Add")
        if add is not None and (term := const_operand(add)) is not None:
            last, shift = add, term[1]
        weight, bias = conv_params(conv)
        set_conv(conv, weight * scale[1], bias * scale[1] + shift)
        conv.output[0] = last.output[0]
        mul.op_type = last.op_type = _DROPPED
        counts["affine into conv"] += 1
    _drop(graph)

    # 2. x * Clip(x + 3, 0, 6) / 6 (hard swish, spelt out) -> x * HardSigmoid(x)
    producer, users = index()
    before: dict[str, Any] = {}  # a node's output: the node to insert before it
    for div in graph.node:
        if div.op_type != "Div" or scalar(div.input[1]) != 6:
            continue
        mul = producer.get(div.input[0])
        if mul is None or mul.op_type != "Mul" or len(users[mul.output[0]]) != 1:
            continue
        for k in (0, 1):
            x, clip = mul.input[k], producer.get(mul.input[1 - k])
            if clip is None or clip.op_type != "Clip" or len(clip.input) != 3 or len(users[clip.output[0]]) != 1:
                continue
            add = producer.get(clip.input[0])
            if (
                add is not None
                and add.op_type == "Add"
                and len(users[add.output[0]]) == 1
                and const_operand(add) == (x, 3.0)
                and scalar(clip.input[1]) == 0
                and scalar(clip.input[2]) == 6
            ):
                break
        else:
            continue
        gate = f"{div.output[0]}::hardsigmoid"
        hs = type(div)(op_type="HardSigmoid", input=[x], output=[gate], name=gate)
        hs.attribute.add(name="alpha", f=1 / 6, type=_ATTR_FLOAT)
        hs.attribute.add(name="beta", f=0.5, type=_ATTR_FLOAT)
        before[div.output[0]] = hs
        div.op_type, div.name = "Mul", f"{div.output[0]}::hardswish"
        div.input[:] = [x, gate]
        add.op_type = clip.op_type = mul.op_type = _DROPPED
        counts["hard swish"] += 1
    _drop(graph, before)

    # 3. Mul(a) -> Add(b) -> Conv(s): into unpadded convs wholly (W*a, B + b*sum(W)); into
    #    padded ones (whose zero padding is added after b) the scale only, b/a staying before.
    _, users = index()
    for mul in list(graph.node):
        if mul.op_type != "Mul" or (scale := const_operand(mul)) is None or scale[1] == 0:
            continue
        add = only_user(users, mul.output[0], "Add")
        plus = const_operand(add) if add is not None else None
        if plus is None or plus[0] != mul.output[0]:
            continue
        convs = users[add.output[0]]
        if not convs or not all(
            c is not None and c.op_type == "Conv" and c.input[0] == add.output[0] and value(c.input[1]) is not None
            for c in convs
        ):
            continue
        x, a, b = scale[0], scale[1], plus[1]
        padded = any(pads(c) for c in convs)
        for c in convs:
            weight, bias = conv_params(c)
            if padded:
                c.input[1] = put(c.input[1], weight * a)
            else:
                set_conv(c, weight * a, bias + b * weight.sum(axis=(1, 2, 3)))
                c.input[0] = x
        if padded:
            add.input[:] = [x, put(add.output[0] + ".shift", np.array([b / a], np.float32))]
            mul.op_type = _DROPPED
            counts["scale into padded conv"] += 1
        else:
            mul.op_type = add.op_type = _DROPPED
            counts["affine into conv"] += 1
    _drop(graph)
    # the weights before folding, which no node reads any more
    used = {i for n in graph.node for i in n.input} | {o.name for o in graph.output}
    for node in graph.node:
        if node.op_type == "Constant" and node.output[0] not in used:
            node.op_type = _DROPPED
    _drop(graph)
    kept = [type(t).FromString(t.SerializeToString()) for t in graph.initializer if t.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    return model.SerializeToString(), counts


_DROPPED = "::dropped"


def _drop(graph, before: dict[str, Any] | None = None) -> None:
    """The graph's nodes without those marked dropped, with ``before[output]`` inserted
    before the node that writes ``output``."""
    nodes = []
    for node in graph.node:
        if node.op_type == _DROPPED:
            continue
        if before and node.output[0] in before:
            nodes.append(before[node.output[0]])
        nodes.append(node)
    copies = [type(n).FromString(n.SerializeToString()) for n in nodes]
    del graph.node[:]
    graph.node.extend(copies)
