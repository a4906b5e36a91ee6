"""The pdfplumber reader's fake-bold filter keeps exactly the characters pdfplumber's
``dedupe_chars`` keeps, in the same order (it only avoids its quadratic sort)."""

from __future__ import annotations

import random

import pdfplumber
import pytest
from pdfplumber.utils import dedupe_chars

from pipeline.readers.plumber import _dedupe_chars


def _same(chars: list[dict]) -> bool:
    return [id(c) for c in _dedupe_chars(chars)] == [id(c) for c in dedupe_chars(chars)]


def test_extract_dedupe_matches_pdfplumber_on_pages(sample_pdf, seed_pdf):
    for path in (sample_pdf, seed_pdf):
        with pdfplumber.open(path) as pdf:
            for page in pdf.pages:
                assert _same(page.chars), (path.name, page.page_number)
                page.close()


def test_extract_dedupe_matches_pdfplumber_on_fake_bold(tmp_path):
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    path = tmp_path / "bold.pdf"
    c = canvas.Canvas(str(path))
    c.setFont("STSong-Light", 14)
    for dx in (0, 0.3, 0.6, 1.5):  # chained copies: 0 / 0.3 / 0.6 cluster, 1.5 chains on
        c.drawString(72 + dx, 700, "交通运输执法工作简报")
    c.drawString(72, 650, "11月11日")
    c.showPage()
    c.save()
    with pdfplumber.open(path) as pdf:
        chars = pdf.pages[0].chars
        assert _same(chars)
        assert len(_dedupe_chars(chars)) < len(chars)


@pytest.mark.parametrize("seed", range(5))
def test_extract_dedupe_matches_pdfplumber_on_random_chars(seed):
    rng = random.Random(seed)
    chars = []
    for _ in range(400):
        chars.append(
            {
                "upright": rng.random() < 0.95,
                "text": rng.choice("交通11。 "),
                "fontname": rng.choice("AB"),
                "size": rng.choice((12.0, 14.0)),
                "doctop": round(rng.uniform(0, 40), 1),
                "x0": round(rng.uniform(0, 60), 1),
            }
        )
    assert _same(chars)
