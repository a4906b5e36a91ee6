"""Scanned bulletins for the OCR tests and benchmark: image-only PDFs made from generated ones.

A bulletin spec (:mod:`helpers.synth`) is typeset with a real CJK font embedded, each page
is rendered to an image with PDFium, degraded the way office scans are (resolution, a
small skew, speckle noise, a red seal over the masthead, the title printed in red: 红头),
and the images are wrapped back into a PDF with no text layer (Pillow, JPEG pages).

The font is WenQuanYi Micro Hei from the PyPI package ``paperang-p2-fonts-cjk`` (a TrueType
collection that reportlab embeds; the font is Apache-2.0 or GPL-3 with the font exception):
the box font of :mod:`helpers.fonts` has no glyph shapes to read, and reportlab's
``STSong-Light`` is not embedded, so PDFium would draw it with whatever CJK font the
machine has, or none. With the font embedded, the scans are the same on every machine.

Everything here is deterministic: the same spec and :class:`Degradation` give the same
pixels. Imports (reportlab via synth, pypdfium2, Pillow, numpy) happen on use.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

#: The pip package that carries the font (a test dependency).
FONT_PACKAGE = "paperang-p2-fonts-cjk"
#: Scan red: a seal's vermilion and the red masthead's ink.
RED = (214, 38, 38)


@dataclass(frozen=True)
class Degradation:
    """How a page is scanned.

    Attributes:
        dpi: scan resolution (pixels per inch).
        skew: rotation in degrees; odd pages turn this way, even pages the other way.
        noise: share of pixels hit by a speckle (dark dots on the page, light holes in the
            ink), plus grain of the same strength; 0 for none.
        seal: a red round seal (ring text and a star) stamped over the masthead.
        red_title: the masthead title and a rule under the masthead printed in red.
        quality: JPEG quality of the page images in the PDF.
        seed: the random seed of the noise.
    """

    dpi: int = 300
    skew: float = 0.0
    noise: float = 0.0
    seal: bool = False
    red_title: bool = False
    quality: int = 85
    seed: int = 20210612


#: The benchmark's conditions (and the tests' subset), by name.
CONDITIONS: dict[str, Degradation] = {
    "300 dpi clean": Degradation(dpi=300),
    "200 dpi": Degradation(dpi=200),
    "150 dpi + noise": Degradation(dpi=150, noise=0.004),
    "200 dpi + skew 1°": Degradation(dpi=200, skew=1.0),
    "200 dpi + seal + red title": Degradation(dpi=200, seal=True, red_title=True),
}


def scan_font() -> Path:
    """The TrueType CJK font file the scans are typeset in.

    Raises:
        ModuleNotFoundError: the font package is not installed (``pip install -e ".[test]"``).
    """
    from importlib.resources import files

    return Path(str(files("paperang_p2_fonts_cjk") / "fonts" / "wqy-microhei.ttc"))


def text_pdf(spec, out: Path) -> Path:
    """``spec`` typeset as a PDF with a text layer, in :func:`scan_font` (embedded)."""
    from helpers.synth import render

    return render(spec, Path(out), font_file=scan_font())


def scan(spec, out: Path, degradation: Degradation = Degradation(), source: Path | None = None) -> Path:
    """Write ``spec`` as an image-only PDF: typeset, rendered, degraded, wrapped.

    Args:
        spec: a :class:`helpers.synth.BulletinSpec`.
        out: the PDF to write.
        degradation: how the pages are scanned.
        source: the text PDF of ``spec`` if already made (:func:`text_pdf`); made next to
            ``out`` otherwise.

    Returns:
        ``out``.
    """
    out = Path(out)
    if source is None:
        source = text_pdf(spec, out.with_name(out.stem + "-text.pdf"))
    images = [degrade(img, number, degradation, marks) for number, img, marks in _pages(source, spec, degradation)]
    return save_pdf(images, out, degradation.dpi, degradation.quality)


def blank_scan(out: Path, dpi: int = 150) -> Path:
    """A one-page image-only PDF of an empty white A4 sheet (with a little scanner grain)."""
    import numpy as np
    from PIL import Image

    w, h = round(8.27 * dpi), round(11.69 * dpi)
    grain = np.random.default_rng(1).normal(250, 2, (h, w)).clip(0, 255).astype("uint8")
    return save_pdf([Image.fromarray(grain).convert("RGB")], Path(out), dpi)


def save_pdf(images: list, out: Path, dpi: int, quality: int = 85) -> Path:
    """Images as the pages of a PDF with no text layer (Pillow: one JPEG per page)."""
    images[0].save(out, "PDF", resolution=float(dpi), save_all=True, append_images=images[1:], quality=quality)
    return out


# --- the pages -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Marks:
    """Where (pixels) the masthead's parts lie on a page, for the red title and the seal."""

    title: tuple[int, int, int, int] | None = None  # x0, top, x1, bottom
    masthead: tuple[int, int, int, int] | None = None  # the issue, issuer and date lines
    seal_text: str = ""


def _pages(source: Path, spec, degradation: Degradation):
    """(page number, RGB image, masthead marks) for each page of the text PDF."""
    import pypdfium2 as pdfium

    from pipeline.readers.registry import extract

    scale = degradation.dpi / 72
    raw = extract(source)
    doc = pdfium.PdfDocument(source)
    try:
        for index in range(len(doc)):
            page = doc[index]
            try:
                image = page.render(scale=scale).to_pil().convert("RGB")
            finally:
                page.close()
            yield index + 1, image, _marks(raw.pages[index], spec, scale)
    finally:
        doc.close()


def _marks(page, spec, scale: float) -> _Marks:
    """The title's and the rest of the masthead's boxes (pixels) on the first page."""
    if page.number != 1:
        return _Marks()

    def box(lines) -> tuple[int, int, int, int]:
        return (
            round(min(ln.x0 for ln in lines) * scale),
            round(min(ln.top for ln in lines) * scale),
            round(max(ln.x1 for ln in lines) * scale),
            round(max(ln.bottom for ln in lines) * scale),
        )

    biggest = max((ln.size or 0 for ln in page.lines), default=0)
    title = [ln for ln in page.lines if ln.size == biggest]  # the masthead is set largest
    rest_texts = {spec.issue, *spec.issuer, spec.date}
    rest = [ln for ln in page.lines if ln.text.replace(" ", "") in rest_texts]
    issuer = "".join(spec.issuer)
    return _Marks(
        title=box(title) if title else None,
        masthead=box(rest) if rest else None,
        seal_text=issuer[: issuer.find("专项整治")] if "专项整治" in issuer else issuer[:12],
    )


def degrade(image, number: int, d: Degradation, marks: _Marks = _Marks()):
    """One rendered page as scanned under ``d``: red masthead, seal, skew, noise."""
    import numpy as np
    from PIL import Image

    if d.red_title and marks.title:
        image = _redden(image, marks.title, d.dpi)
        if marks.masthead:
            _red_rule(image, marks.masthead, d.dpi)
    if d.seal and marks.masthead:
        image = _stamp(image, marks, d)
    if d.skew:
        angle = d.skew if number % 2 else -d.skew
        image = image.rotate(angle, resample=Image.Resampling.BICUBIC, fillcolor=(255, 255, 255))
    if d.noise:
        rng = np.random.default_rng(d.seed + number)
        px = np.asarray(image).astype(np.int16)
        h, w = px.shape[:2]
        grain = rng.normal(0, 2500 * d.noise, (h, w, 1))  # sigma 10 grey levels at the benchmark's 0.004
        px = px + grain.astype(np.int16)
        ink = px.mean(axis=2) < 128
        for dark, count in ((True, int(h * w * d.noise)), (False, int(h * w * d.noise / 2))):
            ys = rng.integers(0, h - 1, count)
            xs = rng.integers(0, w - 1, count)
            big = rng.random(count) < 0.3  # some speckles are 2 x 2 pixels
            if dark:
                value = rng.integers(0, 110, count)[:, None]
            else:
                keep = ink[ys, xs]
                ys, xs, big = ys[keep], xs[keep], big[keep]
                value = rng.integers(200, 256, len(ys))[:, None]
            px[ys, xs] = value
            px[ys[big] + 1, xs[big]] = value[big]
            px[ys[big], xs[big] + 1] = value[big]
        image = Image.fromarray(px.clip(0, 255).astype(np.uint8))
    return image


def _redden(image, box: tuple[int, int, int, int], dpi: int):
    """Print the ink inside ``box`` (padded) in red, as a 红头 masthead is."""
    import numpy as np
    from PIL import Image

    pad = round(dpi / 25)
    x0, top, x1, bottom = box
    x0, top = max(x0 - pad, 0), max(top - pad, 0)
    x1, bottom = min(x1 + pad, image.width), min(bottom + pad, image.height)
    px = np.asarray(image).astype(np.float32)
    part = px[top:bottom, x0:x1]
    ink = 1 - part.mean(axis=2, keepdims=True) / 255
    px[top:bottom, x0:x1] = 255 * (1 - ink) + np.array(RED, dtype=np.float32) * ink
    return Image.fromarray(px.round().astype(np.uint8))


def _red_rule(image, masthead: tuple[int, int, int, int], dpi: int) -> None:
    """The red rule under a 红头 masthead, across the type area (drawn in place)."""
    from PIL import ImageDraw

    y = masthead[3] + round(dpi * 0.12)
    margin = round(dpi * 28 / 25.4)
    ImageDraw.Draw(image).line([(margin, y), (image.width - margin, y)], fill=RED, width=max(2, round(dpi / 100)))


def _stamp(image, marks: _Marks, d: Degradation):
    """A round red seal (ring, text along the top arc, a star), multiplied over the
    masthead's right half, slightly see-through as stamp ink is."""
    import numpy as np
    from PIL import Image, ImageChops, ImageDraw, ImageFont

    assert marks.masthead is not None
    mm = d.dpi / 25.4
    r = round(21 * mm)  # a 42 mm official seal
    size = 2 * r + 8
    seal = Image.new("L", (size, size), 0)  # ink coverage
    draw = ImageDraw.Draw(seal)
    c = size / 2
    ring = max(2, round(1.2 * mm))
    draw.ellipse([c - r, c - r, c + r, c + r], outline=230, width=ring)
    # the star
    outer, inner = 7 * mm, 2.8 * mm
    points = [
        (
            c + (outer if k % 2 == 0 else inner) * math.sin(k * math.pi / 5),
            c - (outer if k % 2 == 0 else inner) * math.cos(k * math.pi / 5),
        )
        for k in range(10)
    ]
    draw.polygon(points, fill=230)
    # ring text along the top arc, each character upright to the centre
    text = marks.seal_text or "交通运输局"
    font = ImageFont.truetype(str(scan_font()), round(5.2 * mm))
    span = min(250.0, 22.0 * len(text))
    radius = r - ring - 4.2 * mm
    for k, ch in enumerate(text):
        angle = -span / 2 + span * (k + 0.5) / len(text)
        glyph = Image.new("L", (round(7 * mm), round(7 * mm)), 0)
        ImageDraw.Draw(glyph).text((glyph.width / 2, glyph.height / 2), ch, font=font, fill=230, anchor="mm")
        glyph = glyph.rotate(-angle, resample=Image.Resampling.BICUBIC)
        gx = c + radius * math.sin(math.radians(angle)) - glyph.width / 2
        gy = c - radius * math.cos(math.radians(angle)) - glyph.height / 2
        seal.paste(
            ImageChops.lighter(
                seal.crop((round(gx), round(gy), round(gx) + glyph.width, round(gy) + glyph.height)), glyph
            ),
            (round(gx), round(gy)),
        )
    # uneven ink: some of the stamp is lighter
    rng = np.random.default_rng(d.seed)
    cover = np.asarray(seal).astype(np.float32) / 255 * rng.uniform(0.55, 1.0, (size, size))
    x0, top, x1, bottom = marks.masthead
    cx = round(x0 + 0.72 * (x1 - x0))
    cy = round((top + bottom) / 2)
    left, upper = cx - size // 2, cy - size // 2
    px = np.asarray(image).astype(np.float32)
    region = px[upper : upper + size, left : left + size]
    cov = cover[: region.shape[0], : region.shape[1], None]
    red = np.array(RED, dtype=np.float32) / 255
    # multiply: paper under the ink takes the ink's colour, black stays black
    px[upper : upper + size, left : left + size] = region * (1 - cov + cov * red)
    return Image.fromarray(px.round().astype(np.uint8))
