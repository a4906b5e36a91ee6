"""A TrueType font made by the tests, so that embedded-font PDFs need no system font.

Real archives mostly embed their fonts; tests need such PDFs too, and a machine without a
CJK font installed must produce the same ones. fontTools (a matplotlib dependency) builds a
font whose every glyph is a plain box: what a PDF reader extracts comes from the font's
character map, never from the glyph shapes.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

#: Characters the font covers: ASCII, CJK punctuation, full-width forms, the basic CJK block.
RANGES = (
    (0x20, 0x7E),
    (0x2010, 0x2027),
    (0x2605, 0x2606),
    (0x25A0, 0x25CF),
    (0x3000, 0x303F),
    (0x4E00, 0x9FFF),
    (0xFF01, 0xFF5E),
)


@lru_cache(maxsize=2)
def box_font(folder: Path) -> Path:
    """Write ``BulletinBox.ttf`` into ``folder`` (once per folder) and return its path."""
    from fontTools.fontBuilder import FontBuilder
    from fontTools.pens.ttGlyphPen import TTGlyphPen

    path = Path(folder) / "BulletinBox.ttf"
    if path.exists():
        return path
    codes = [c for lo, hi in RANGES for c in range(lo, hi + 1)]
    names = [".notdef"] + [f"u{c:04X}" for c in codes]

    def box(width: int):
        pen = TTGlyphPen(None)
        pen.moveTo((50, -80))
        pen.lineTo((50, 800))
        pen.lineTo((width - 50, 800))
        pen.lineTo((width - 50, -80))
        pen.closePath()
        return pen.glyph()

    wide, narrow = box(1000), box(500)
    fb = FontBuilder(1000, isTTF=True)
    fb.setupGlyphOrder(names)
    fb.setupCharacterMap({c: f"u{c:04X}" for c in codes})
    widths = {n: (500 if n != ".notdef" and int(n[1:], 16) < 0x2000 else 1000) for n in names}
    fb.setupGlyf({n: narrow if widths[n] == 500 else wide for n in names})
    fb.setupHorizontalMetrics({n: (widths[n], 50) for n in names})
    fb.setupHorizontalHeader(ascent=880, descent=-120)
    fb.setupNameTable({"familyName": "BulletinBox", "styleName": "Regular"})
    fb.setupOS2(sTypoAscender=880, sTypoDescender=-120, usWinAscent=880, usWinDescent=120)
    fb.setupPost()
    fb.save(str(path))
    return path
