"""The PDFium engine: the same passages and metadata as pdfplumber, and the same refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers.samples import SAMPLE_PASSAGES, sample_spec
from pipeline.errors import CorruptFileError, EmptyFileError, EncryptedFileError, ImageOnlyError
from pipeline.ingest import read_bulletin
from pipeline.readers.registry import extract

#: What must come out the same from both engines.
FIELDS = ("title", "year", "issue_no", "issuer", "date", "toc", "sections", "closing", "passages", "text", "warnings")


def assert_same_bulletin(path: Path) -> None:
    plumber = read_bulletin(path)
    pdfium = read_bulletin(path, engine="pdfium")
    for name in FIELDS:
        assert getattr(pdfium, name) == getattr(plumber, name), name


def _lines(path: Path, engine: str, password: str | None = None):
    return [
        (page.number, line) for page in extract(path, password=password, engine=engine).pages for line in page.lines
    ]


#: The embedded test font's name on a canvas (see helpers.fonts): PDFium reads such text
#: itself, the same on every machine.
FONT = "BulletinBox"


def _canvas(path: Path, font_file: Path | None = None, font: str = FONT):
    """A canvas with ``font`` registered: the embedded test font, or ``STSong-Light`` (not
    embedded) or a standard font when no font file is given."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    if font == FONT:
        assert font_file is not None
        pdfmetrics.registerFont(TTFont(FONT, str(font_file)))
    elif font == "STSong-Light":
        pdfmetrics.registerFont(UnicodeCIDFont(font))
    return canvas.Canvas(str(path))


def test_pdfium_sample_pdf_equals_pdfplumber(sample_pdf_embedded):
    assert_same_bulletin(sample_pdf_embedded)
    assert tuple(p.text for p in read_bulletin(sample_pdf_embedded, engine="pdfium").passages) == SAMPLE_PASSAGES


def test_pdfium_seed_pdf_equals_pdfplumber(seed_pdf):
    assert_same_bulletin(seed_pdf)
    assert len(read_bulletin(seed_pdf, engine="pdfium").passages) == 22


@pytest.mark.parametrize(
    "name, overrides",
    [
        ("emdash", dict(footer="emdash", spaced_digits=True)),
        ("di", dict(footer="di", spaced_digits=True)),
        ("nofooter", dict(footer="none")),
        ("notoc", dict(toc=())),
        ("noheader", dict(header="", font_size=12)),
    ],
)
def test_pdfium_variants_equal_pdfplumber(make_pdf, box_font, name, overrides):
    path = make_pdf(f"{name}.pdf", sample_spec(**overrides), font_file=box_font)
    assert_same_bulletin(path)
    assert tuple(p.text for p in read_bulletin(path, engine="pdfium").passages) == SAMPLE_PASSAGES


def test_pdfium_lines_carry_pdfplumber_geometry(sample_pdf_embedded):
    raw = extract(sample_pdf_embedded, engine="pdfium")
    assert raw.layout and raw.kind == "pdf"
    plumber, pdfium = _lines(sample_pdf_embedded, "pdfplumber"), _lines(sample_pdf_embedded, "pdfium")
    assert [(n, ln.text, ln.size, ln.bold) for n, ln in pdfium] == [(n, ln.text, ln.size, ln.bold) for n, ln in plumber]
    for (_, a), (_, b) in zip(plumber, pdfium):
        for edge in ("x0", "x1", "top", "bottom"):
            assert abs(getattr(a, edge) - getattr(b, edge)) < 1.5, (a, b)
    assert [(p.width, p.height) for p in raw.pages] == [(p.width, p.height) for p in extract(sample_pdf_embedded).pages]


def test_pdfium_page_furniture_sorted_into_place(sample_pdf_embedded):
    # PDFium emits the running header and the page number first (stream order); the lines
    # come out top to bottom, as pdfplumber's do.
    page2 = extract(sample_pdf_embedded, engine="pdfium").pages[1]
    tops = [ln.top for ln in page2.lines]
    assert tops == sorted(tops)
    assert page2.lines[0].text == "绵阳市交通运输执法领域突出问题专项整治行动工作简报"
    assert page2.lines[-1].text == "- 2 -"


def test_pdfium_pieces_of_a_row_joined(tmp_path, box_font):
    c = _canvas(tmp_path / "row.pdf", box_font)
    c.setFont(FONT, 10)
    c.drawString(400, 50, "第3页")  # drawn before the rest of its row
    c.drawString(72, 700, "正文第一行内容")
    c.drawString(72, 50, "内部资料 注意保存")
    c.drawString(72, 780, "页眉")
    c.showPage()
    c.save()
    path = tmp_path / "row.pdf"
    texts = [ln.text for _, ln in _lines(path, "pdfium")]
    assert texts == [ln.text for _, ln in _lines(path, "pdfplumber")]
    assert texts == ["页眉", "正文第一行内容", "内部资料 注意保存 第3页"]


def test_pdfium_runs_across_baselines_split(tmp_path, box_font):
    # PDFium runs text drawn one after the other into one line even when it sits on
    # another baseline (two columns, a table row); pdfplumber's rows are by position.
    c = _canvas(tmp_path / "columns.pdf", box_font)
    c.setFont(FONT, 14)
    c.drawString(72, 700, "第一列文字")
    c.drawString(300, 692, "第二列文字低八点")
    c.drawString(72, 600, "正文")
    c.setFont(FONT, 8)
    c.drawString(100, 605, "1")  # a footnote mark stays in its line
    c.setFont(FONT, 14)
    c.drawString(110, 600, "继续正文")
    c.drawString(72, 500, "表格一")
    c.drawString(300, 505, "表格二高五点")
    c.showPage()
    c.save()
    path = tmp_path / "columns.pdf"
    pdfium = [(ln.text, ln.x0, ln.x1, ln.size) for _, ln in _lines(path, "pdfium")]
    assert pdfium == [(ln.text, ln.x0, ln.x1, ln.size) for _, ln in _lines(path, "pdfplumber")]
    texts = [text for text, *_ in pdfium]
    assert texts == ["第一列文字", "第二列文字低八点", "正文1 继续正文", "表格二高五点", "表格一"]


def test_pdfium_size_and_bold_under_text_matrix(tmp_path, box_font):
    # Word-style PDFs set 1-point type and scale it with the text matrix; the size is what
    # is printed, as pdfplumber measures it.
    c = _canvas(tmp_path / "scaled.pdf", box_font)
    t = c.beginText()
    t.setFont(FONT, 1)
    t.setTextTransform(14, 0, 0, 14, 72, 700)
    t.textOut("交通运输 ABC 12")
    c.drawText(t)
    c.saveState()
    c.translate(72, 600)
    c.scale(2, 2)
    c.setFont("Helvetica-Bold", 10)
    c.drawString(0, 0, "Bold scaled 20")
    c.restoreState()
    c.showPage()
    c.save()
    path = tmp_path / "scaled.pdf"
    pdfium = [(ln.text, ln.size, ln.bold) for _, ln in _lines(path, "pdfium")]
    assert pdfium == [(ln.text, ln.size, ln.bold) for _, ln in _lines(path, "pdfplumber")]
    assert pdfium == [("交通运输 ABC 12", 14.0, False), ("Bold scaled 20", 20.0, True)]


def test_pdfium_fake_bold_duplicates_removed(tmp_path, box_font):
    c = _canvas(tmp_path / "bold.pdf", box_font)
    c.setFont(FONT, 14)
    for dx in (0, 0.3):  # a whole line drawn twice
        c.drawString(72 + dx, 700, "交通运输执法工作简报")
    x = 72.0
    for ch in "交通运输2011年":  # glyph by glyph, each twice
        for dx in (0, 0.3):
            c.drawString(x + dx, 650, ch)
        x += c.stringWidth(ch, FONT, 14)
    c.showPage()
    c.save()
    texts = [ln.text for _, ln in _lines(tmp_path / "bold.pdf", "pdfium")]
    assert texts == ["交通运输执法工作简报", "交通运输2011年"]


class _StubReader:
    """Glyph positions for the fallback de-duplication, without a PDF."""

    def __init__(self, xs):
        self.xs = xs

    def _glyph(self, tp, i):
        return self.xs[i], self.xs[i] + 14, 700.0, 14.0, "STSong-Light"


def test_pdfium_non_embedded_font_pages_read_by_pdfplumber(sample_pdf):
    # PDFium substitutes a system font for a font that is neither embedded nor standard:
    # its text would depend on the machine, so those pages go to pdfplumber.
    assert_same_bulletin(sample_pdf)
    bulletin = read_bulletin(sample_pdf, engine="pdfium")
    assert tuple(p.text for p in bulletin.passages) == SAMPLE_PASSAGES
    assert bulletin.reader.startswith("pypdfium2 ")
    assert bulletin.reader.endswith(
        "; pdfplumber " + read_bulletin(sample_pdf).reader.split()[1] + " on pages 1-3 (fonts not embedded)"
    )


def test_pdfium_non_embedded_fake_bold_kept_whole(tmp_path):
    # Without a CJK system font PDFium lost glyphs drawn twice ('交通运输2011年' -> '2011').
    c = _canvas(tmp_path / "bold-cid.pdf", font="STSong-Light")
    c.setFont("STSong-Light", 14)
    x = 72.0
    for ch in "交通运输2011年":
        for dx in (0, 0.3):
            c.drawString(x + dx, 650, ch)
        x += c.stringWidth(ch, "STSong-Light", 14)
    c.showPage()
    c.save()
    assert [ln.text for _, ln in _lines(tmp_path / "bold-cid.pdf", "pdfium")] == ["交通运输2011年"]


def test_pdfium_standard_fonts_stay_with_pdfium(latin_locked_pdf):
    raw = extract(latin_locked_pdf, password="s3cret", engine="pdfium")
    assert raw.reader.startswith("pypdfium2 ") and "pdfplumber" not in raw.reader


def test_pdfium_fallback_dedupe_drops_only_close_copies():
    from pipeline.readers.pdfium import _PageReader

    reader = _StubReader([72, 72.3, 86, 86.3, 100, 107])
    dedupe = _PageReader._dedupe.__get__(reader)
    reader._close = _PageReader._close.__get__(reader)
    assert dedupe(None, range(6), "交交通通11") == ([0, 2, 4, 5], "交通11")
    reader.xs = [72, 86, 72.4, 86.4]
    assert dedupe(None, range(4), "简报简报") == ([0, 1], "简报")


def test_pdfium_unmapped_glyphs_warned(tmp_path):
    # A Type 3 font with made-up glyph names and no ToUnicode map: nothing to map to.
    path = _type3_pdf(tmp_path / "type3.pdf", [b"\x01\x02\x03\x01\x02\x03", b"\x03\x02\x01"])
    pdfium, plumber = extract(path, engine="pdfium"), extract(path)
    assert pdfium.warnings == plumber.warnings
    assert "9 character(s) had no Unicode mapping" in pdfium.warnings[0]
    assert [(ln.x0, ln.x1, ln.top, ln.bottom) for ln in pdfium.pages[0].lines] == [
        (ln.x0, ln.x1, ln.top, ln.bottom) for ln in plumber.pages[0].lines
    ]


def test_pdfium_unmapped_letters_warned(tmp_path):
    # Codes that look like letters: pdfminer passes them through as "ABC"; PDFium knows
    # the font cannot map them, and the file is flagged.
    path = _type3_pdf(tmp_path / "type3-letters.pdf", [b"ABCABC", b"CBA"])
    raw = extract(path, engine="pdfium")
    assert "9 character(s) had no Unicode mapping" in raw.warnings[0]


def test_pdfium_non_ascii_file_name(sample_pdf_embedded, tmp_path):
    path = tmp_path / "绵阳 简报 第3期.pdf"
    path.write_bytes(sample_pdf_embedded.read_bytes())
    assert tuple(p.text for p in read_bulletin(path, engine="pdfium").passages) == SAMPLE_PASSAGES


def test_pdfium_pages_released(sample_pdf_embedded, monkeypatch):
    import pypdfium2 as pdfium

    closed = {"page": 0, "textpage": 0, "doc": 0}
    for cls, key in ((pdfium.PdfPage, "page"), (pdfium.PdfTextPage, "textpage"), (pdfium.PdfDocument, "doc")):
        original = cls.close

        def close(self, *args, _original=original, _key=key, **kwargs):
            closed[_key] += 1
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(cls, "close", close)
    pages = extract(sample_pdf_embedded, engine="pdfium").pages
    assert closed["page"] == closed["textpage"] == len(pages) == 3
    assert closed["doc"] >= 1


def test_pdfium_encrypted_pdf_needs_password(make_pdf, box_font):
    path = make_pdf("locked.pdf", password="s3cret", font_file=box_font)
    with pytest.raises(EncryptedFileError, match="locked.pdf: the PDF is encrypted; pass its password with --password"):
        extract(path, engine="pdfium")
    with pytest.raises(EncryptedFileError, match="locked.pdf: the password given does not open"):
        extract(path, password="wrong", engine="pdfium")
    bulletin = read_bulletin(path, password="s3cret", engine="pdfium")
    assert tuple(p.text for p in bulletin.passages) == SAMPLE_PASSAGES and bulletin.warnings == ()


def test_pdfium_encrypted_pdf_opens_with_password(latin_locked_pdf):
    path = latin_locked_pdf
    ((_, pdfium),) = _lines(path, "pdfium", password="s3cret")
    ((_, plumber),) = _lines(path, "pdfplumber", password="s3cret")
    assert (pdfium.text, pdfium.x0, pdfium.x1, pdfium.size) == (plumber.text, plumber.x0, plumber.x1, plumber.size)
    assert pdfium.text == "Transport bulletin No. 8" and abs(pdfium.top - plumber.top) < 0.5


def test_pdfium_garbage_pdf_refused(tmp_path):
    path = tmp_path / "broken.pdf"
    path.write_bytes(b"%PDF-1.4\n" + bytes(range(256)) * 20)
    with pytest.raises(
        CorruptFileError,
        match=r"broken.pdf: expected a readable PDF, found a damaged or truncated "
        r"one \(.+\); re-export or re-download it$",
    ):
        extract(path, engine="pdfium")


@pytest.mark.parametrize("fraction", [0.33, 0.9])
def test_pdfium_truncated_pdf_refused(sample_pdf_embedded, tmp_path, fraction):
    data = sample_pdf_embedded.read_bytes()
    path = tmp_path / "truncated.pdf"
    path.write_bytes(data[: int(len(data) * fraction)])
    with pytest.raises((CorruptFileError, EmptyFileError), match="truncated.pdf: "):
        extract(path, engine="pdfium")


def test_pdfium_image_only_pdf_says_ocr(scan_pdf):
    path = scan_pdf
    with pytest.raises(ImageOnlyError, match=r"scan.pdf: the PDF's 1 page\(s\) are images with no text layer; run OCR"):
        extract(path, engine="pdfium")


def test_pdfium_blank_pdf_is_empty(tmp_path):
    path = tmp_path / "blank.pdf"
    c = _canvas(path, font="Helvetica")
    c.showPage()
    c.save()
    with pytest.raises(EmptyFileError, match="blank.pdf: the PDF's pages hold no text; check that this is the right"):
        extract(path, engine="pdfium")


def test_pdfium_text_files_unaffected(seed_text):
    assert read_bulletin(seed_text, engine="pdfium") == read_bulletin(seed_text)


def _type3_pdf(path: Path, lines: list[bytes]) -> Path:
    """A one-page PDF whose text uses a Type 3 font (a filled square per glyph) with
    made-up glyph names and no ToUnicode map."""
    glyph = b"1000 0 0 0 800 800 d1 0 0 800 800 re f"
    names = b"/Differences [1 /g1 /g2 /g3 65 /g1 /g2 /g3]"
    content = b"".join(b"BT /F1 14 Tf 72 %d Td (%s) Tj ET\n" % (700 - 30 * k, text) for k, text in enumerate(lines))
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"endstream",
        b"<< /Type /Font /Subtype /Type3 /FontBBox [0 0 1000 1000] /FontMatrix [0.001 0 0 0.001 0 0] "
        b"/CharProcs << /g1 6 0 R /g2 6 0 R /g3 6 0 R >> /Encoding << /Type /Encoding " + names + b" >> "
        b"/FirstChar 1 /LastChar 67 /Widths [" + b" ".join([b"1000"] * 67) + b"] >>",
        b"<< /Length %d >>\nstream\n" % len(glyph) + glyph + b"\nendstream",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for n, body in enumerate(objs, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    path.write_bytes(out)
    return path
