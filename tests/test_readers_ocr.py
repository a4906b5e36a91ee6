"""OCR of scanned pages (the optional extra ``.[ocr]``): image-only PDFs read like text ones.

The scans are made by helpers.scans from the sample bulletin typeset in a real CJK font (a
test dependency, so the pixels are the same on machines with or without CJK fonts). Tests
that need the OCR engine skip, saying how to install it, where the extra is missing; the
refusal without it is tested everywhere.
"""

from __future__ import annotations

import re
import statistics

import pytest

from helpers.samples import SAMPLE_PASSAGES, sample_spec
from pipeline.errors import ImageOnlyError
from pipeline.ingest import read_bulletin
from pipeline.readers.registry import ENGINES, extract

INSTALL = 'pip install -e ".[ocr]"'
#: The sample without its contents page: two pages (masthead and body, body and closing)
#: with a running header, page-number footers and a paragraph across the page break.
SPEC = dict(toc=())


@pytest.fixture(scope="module")
def ocr_extra():
    pytest.importorskip("rapidocr_onnxruntime", reason=f"the OCR extra is not installed: {INSTALL}")
    pytest.importorskip(
        "paperang_p2_fonts_cjk", reason='the scans\' CJK font is not installed: pip install -e ".[test]"'
    )


@pytest.fixture(scope="module")
def scans_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("scans")


@pytest.fixture(scope="module")
def text_pdf(ocr_extra, scans_dir):
    from helpers.scans import text_pdf

    return text_pdf(sample_spec(**SPEC), scans_dir / "mianyang-text.pdf")


@pytest.fixture(scope="module")
def scan_300(text_pdf, scans_dir):
    """The sample scanned clean at 300 dpi: an image-only PDF of two pages."""
    from helpers.scans import Degradation, scan

    return scan(sample_spec(**SPEC), scans_dir / "mianyang-300dpi.pdf", Degradation(dpi=300), source=text_pdf)


@pytest.fixture(scope="module")
def read_300(scan_300):
    """The 300 dpi scan read by each PDF engine (OCR is the slow part: read once)."""
    return {engine: extract(scan_300, engine=engine) for engine in ENGINES}


def test_scan_has_no_text_layer(scan_300, without_extra):
    with pytest.raises(ImageOnlyError):
        extract(scan_300)


@pytest.mark.parametrize("engine", list(ENGINES))
def test_ocr_scan_gives_the_sample_passages(read_300, text_pdf, engine):
    from pipeline.text.clean import clean
    from pipeline.text.structure import structure

    got = structure(clean(read_300[engine]))
    want = read_bulletin(text_pdf)
    assert tuple(p.text for p in got.passages) == SAMPLE_PASSAGES
    for name in ("title", "year", "issue_no", "issuer", "date", "sections", "closing"):
        assert getattr(got, name) == getattr(want, name), name
    assert [p.page for p in got.passages] == [p.page for p in want.passages]
    # Every passage carries the OCR confidence of the lines it was read from; text layers none.
    assert all(p.ocr_confidence is not None and 0.5 <= p.ocr_confidence <= 1 for p in got.passages)
    assert all(p.ocr_confidence is None for p in want.passages)


@pytest.mark.parametrize("engine, first", [("pdfplumber", "pdfplumber"), ("pdfium", "pypdfium2")])
def test_ocr_reader_names_the_engine_and_pages(read_300, engine, first):
    reader = read_300[engine].reader
    assert re.fullmatch(rf"{first} [\w.]+; rapidocr-onnxruntime [\w.]+ on pages 1-2 \(OCR\)", reader), reader


def test_ocr_lines_carry_confidence_and_geometry_in_points(read_300, text_pdf):
    raw = read_300["pdfplumber"]
    text = extract(text_pdf)
    assert raw.layout and raw.kind == "pdf"
    for page, twin in zip(raw.pages, text.pages):
        assert page.width == pytest.approx(twin.width, abs=1) and page.height == pytest.approx(twin.height, abs=1)
        for ln in page.lines:
            assert ln.confidence is not None and 0.5 <= ln.confidence <= 1
            assert 0 <= ln.x0 < ln.x1 <= page.width and 0 <= ln.top < ln.bottom <= page.height
    # type sizes as the text layer's, to within a point: body 14, headings 16, masthead 22;
    # all body lines one size (the cleaner starts a paragraph where the size changes)
    sizes = {ln.text: ln.size for page in raw.pages for ln in page.lines}
    body = statistics.mode(ln.size for page in raw.pages for ln in page.lines)
    assert body == pytest.approx(14, abs=1)
    assert sizes["二、培训练兵"] == pytest.approx(16, abs=1) and sizes["行动工作简报"] == pytest.approx(22, abs=1)
    assert (
        len({sizes[ln.text] for ln in raw.pages[1].lines if ln.top > 50 and ln.bottom < 800} - {sizes["二、培训练兵"]})
        == 1
    )
    # the body's left edge where the text layer has it
    assert statistics.mode(round(ln.x0) for ln in raw.pages[1].lines) == pytest.approx(
        statistics.mode(round(ln.x0) for ln in text.pages[1].lines), abs=2
    )
    first = next(ln for ln in raw.pages[0].lines if ln.text.startswith("6月12日"))
    twin = next(ln for ln in text.pages[0].lines if ln.text.replace(" ", "").startswith("6月12日"))
    assert (first.x0, first.top) == pytest.approx((twin.x0, twin.top), abs=3)


def test_ocr_reads_a_red_masthead_under_a_seal(ocr_extra, scans_dir):
    """A 200 dpi one-page scan with the title in red and a red seal over the issue line,
    issuer and date: the masthead reads as from the text layer."""
    from helpers.scans import Degradation, scan, text_pdf

    spec = sample_spec(toc=(), sections=(("一、暗访督查", (SAMPLE_PASSAGES[0], SAMPLE_PASSAGES[2])),), closing=())
    source = text_pdf(spec, scans_dir / "seal-text.pdf")
    path = scan(spec, scans_dir / "seal.pdf", Degradation(dpi=200, seal=True, red_title=True), source=source)
    got = read_bulletin(path)
    assert (got.title, got.year, got.issue_no, got.issuer, got.date) == (
        spec.title,
        2021,
        3,
        "".join(spec.issuer),
        "2021-06-20",
    )
    assert [p.text for p in got.passages] == [SAMPLE_PASSAGES[0], SAMPLE_PASSAGES[2]]
    assert got.text == read_bulletin(source).text


def test_ocr_pages_only_where_there_is_no_text_layer(ocr_extra, scans_dir, box_font):
    """A text page and a scanned page: only the scan is OCR'd."""
    import io

    from PIL import Image, ImageDraw, ImageFont
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    from helpers.scans import scan_font

    image = Image.new("RGB", (1240, 300), "white")
    ImageDraw.Draw(image).text(
        (120, 100), "抄送：省交通运输厅。", font=ImageFont.truetype(str(scan_font()), 58), fill="black"
    )
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    buf.seek(0)
    path = scans_dir / "mixed.pdf"
    pdfmetrics.registerFont(TTFont("BulletinBox", str(box_font)))
    c = canvas.Canvas(str(path))
    c.setFont("BulletinBox", 14)
    c.drawString(80, 760, "报：市委、市政府。")
    c.showPage()
    c.drawImage(ImageReader(buf), 0, 842 - 144, 595, 144)
    c.showPage()
    c.save()
    for engine in ENGINES:
        raw = extract(path, engine=engine)
        assert [[ln.text for ln in p.lines] for p in raw.pages] == [["报：市委、市政府。"], ["抄送：省交通运输厅。"]]
        assert raw.pages[0].lines[0].confidence is None
        assert re.search(r"; rapidocr-onnxruntime [\w.]+ on page 2 \(OCR\)$", raw.reader), raw.reader


@pytest.mark.parametrize("engine", list(ENGINES))
def test_ocr_blank_scan_refused_by_name(ocr_extra, scans_dir, engine):
    from helpers.scans import blank_scan

    path = blank_scan(scans_dir / "blank.pdf")
    with pytest.raises(ImageOnlyError) as err:
        extract(path, engine=engine)
    message = str(err.value)
    assert "\n" not in message
    assert re.match(
        r".*blank\.pdf: the PDF's 1 page\(s\) are images with no text layer; run OCR first with another tool if "
        r"they hold text \(rapidocr-onnxruntime [\w.]+ found none\), or check that this is the right file$",
        message,
    ), message


@pytest.mark.parametrize("engine", list(ENGINES))
def test_image_only_pdf_without_extra_says_how_to_install(scan_pdf, without_extra, engine):
    with pytest.raises(ImageOnlyError) as err:
        extract(scan_pdf, engine=engine)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"{scan_pdf}: the PDF's 1 page(s) are images with no text layer; run OCR first: ")
    assert 'pip install "bulletins[ocr]"' in message and INSTALL in message
