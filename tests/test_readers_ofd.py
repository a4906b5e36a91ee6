"""OFD (GB/T 33190): text and positions like a PDF's, generated files, and damaged ones."""

from __future__ import annotations

import time
import zipfile

import pytest

from helpers.ofd import NS, one_page, render_ofd, write_package
from helpers.samples import SAMPLE_PASSAGES, sample_spec
from helpers.synth import spec_from_bulletin
from pipeline.errors import CorruptFileError, EmptyFileError, ImageOnlyError, UnknownFormatError
from pipeline.ingest import expand_paths, read_bulletin
from pipeline.readers.ofd import PT_PER_MM, read_ofd
from pipeline.readers.registry import SUFFIXES, extract
from pipeline.readers.sniff import sniff

#: Options that switch off every producer habit the generator imitates, and the defaults.
PLAIN = dict(split_runs=False, ctm_headings=False, templates=False, page_area="page")
RENDITIONS = {"default": {}, "shuffled": {"shuffle": True}, "plain": PLAIN}


@pytest.fixture(scope="module")
def seed_bulletin(seed_text):
    return read_bulletin(seed_text)


@pytest.fixture(scope="module", params=sorted(RENDITIONS))
def seed_ofd(request, seed_bulletin, tmp_path_factory):
    out = tmp_path_factory.mktemp("ofd") / f"sichuan-2021-08-{request.param}.ofd"
    return render_ofd(spec_from_bulletin(seed_bulletin, spaced_digits=False), out, **RENDITIONS[request.param])


@pytest.fixture(scope="module")
def sample_ofd(tmp_path_factory):
    return render_ofd(sample_spec(), tmp_path_factory.mktemp("ofd") / "mianyang-2021-03.ofd")


def _text_object(text: str, boundary: str = "20 30 170 8", size: str = "5", extra: str = "", code: str = "") -> str:
    return (
        f'<ofd:TextObject ID="10" Boundary="{boundary}" Font="2" Size="{size}" {extra}>'
        f'<ofd:TextCode X="0" Y="4" {code}>{text}</ofd:TextCode></ofd:TextObject>'
    )


def _write(tmp_path, parts: dict, name: str = "hand.ofd"):
    return write_package(tmp_path / name, parts)


def _lines(path):
    pages, _ = read_ofd(path)
    return [ln for page in pages for ln in page.lines]


# --- the seed and the sample bulletin --------------------------------------------------------


def test_ofd_seed_passages_equal_text_rendition(seed_ofd, seed_bulletin):
    got = read_bulletin(seed_ofd)
    assert len(got.passages) == 22
    assert [p.text for p in got.passages] == [p.text for p in seed_bulletin.passages]
    assert [(p.section, p.unit, p.region, p.date) for p in got.passages] == [
        (p.section, p.unit, p.region, p.date) for p in seed_bulletin.passages
    ]
    assert (got.title, got.year, got.issue_no, got.date, got.issuer) == (
        seed_bulletin.title,
        seed_bulletin.year,
        seed_bulletin.issue_no,
        seed_bulletin.date,
        seed_bulletin.issuer,
    )
    assert got.toc == seed_bulletin.toc and got.closing == seed_bulletin.closing
    assert got.reader.startswith("ofd (stdlib+lxml ") and got.warnings == ()


def test_ofd_seed_is_read_with_layout(seed_ofd):
    raw = extract(seed_ofd)
    assert raw.kind == "ofd" and raw.layout and len(raw.pages) > 5
    page = raw.pages[1]
    assert page.width == pytest.approx(595.28, abs=0.01) and page.height == pytest.approx(841.89, abs=0.01)
    # Page furniture comes through as lines at the page's edges, for the cleaner to drop.
    assert page.lines[0].text == "四川交通运输执法领域突出问题专项整治行动工作简报" and page.lines[0].size == 9
    assert page.lines[-1].text == "- 2 -" and page.lines[-1].bottom > 0.9 * page.height


def test_ofd_sample_passages(sample_ofd):
    got = read_bulletin(sample_ofd)
    assert [p.text for p in got.passages] == list(SAMPLE_PASSAGES)
    assert (got.title, got.issue_no, got.date) == (
        "绵阳市交通运输执法领域突出问题专项整治行动工作简报",
        3,
        "2021-06-20",
    )
    assert got.sections == ("一、暗访督查", "二、培训练兵")


def test_ofd_sample_paragraph_broken_across_pages(sample_ofd):
    raw = extract(sample_ofd)
    long = SAMPLE_PASSAGES[1]
    body = {p.number: [ln.text.replace(" ", "") for ln in p.lines if ln.size == 14] for p in raw.pages}
    # The long paragraph runs from page 2 onto page 3, mid-sentence, and is one passage.
    assert body[2][-1] in long and not body[2][-1].endswith("。")
    assert body[3][0] in long and not body[3][0].startswith("6月")
    assert [p.page for p in read_bulletin(sample_ofd).passages] == [2, 2, 3]


def test_ofd_masthead_from_template_and_headings_bold(sample_ofd):
    raw = extract(sample_ofd)
    first = raw.pages[0].lines
    assert first[0].text + first[1].text == "绵阳市交通运输执法领域突出问题专项整治行动工作简报"
    assert first[0].size == pytest.approx(22, abs=0.01)
    heading = next(ln for ln in raw.pages[1].lines if ln.text == "一、暗访督查")
    # Drawn at half size through a CTM that scales by two, with Weight 700.
    assert heading.size == pytest.approx(16, abs=0.01) and heading.bold
    assert not any(ln.bold for ln in first)


def test_ofd_speed(seed_ofd):
    pages, _ = read_ofd(seed_ofd)
    start = time.perf_counter()
    read_ofd(seed_ofd)
    # About 250-300 pages/s on one core; pdfplumber reads about 40.
    assert len(pages) / (time.perf_counter() - start) > 25


# --- geometry ----------------------------------------------------------------------------


def test_ofd_millimetres_to_points_boundary_offset(tmp_path):
    path = _write(tmp_path, one_page(_text_object("交通运输执法", boundary="20 30 170 8", code='DeltaX="g 5 5"')))
    (line,) = _lines(path)
    mm = PT_PER_MM
    assert line.text == "交通运输执法"
    assert line.x0 == pytest.approx(20 * mm, abs=0.01)
    assert line.x1 == pytest.approx((20 + 6 * 5) * mm, abs=0.01)
    assert line.size == pytest.approx(5 * mm, abs=0.01)
    baseline = 30 + 4
    assert line.top == pytest.approx((baseline - 0.88 * 5) * mm, abs=0.01)
    assert line.bottom == pytest.approx((baseline + 0.12 * 5) * mm, abs=0.01)


@pytest.mark.parametrize(
    ("delta_x", "x1_mm"),
    [
        ("g 5 6", 20 + 5 * 6 + 5),  # 5 advances of 6 mm, then the last glyph's 5 mm
        ("5 g 3 7 5", 20 + 5 + 3 * 7 + 5 + 5),
        ("g 2 5 6 g 2 5", 20 + 2 * 5 + 6 + 2 * 5 + 5),
        ("g 999999999 6", 20 + 5 * 6 + 5),  # a huge repeat count is cut to the glyphs there are
        ("", 20 + 6 * 5),  # no DeltaX: the font's advance
    ],
)
def test_ofd_delta_x_with_repeats(tmp_path, delta_x, x1_mm):
    path = _write(tmp_path, one_page(_text_object("交通运输执法", code=f'DeltaX="{delta_x}"')))
    (line,) = _lines(path)
    assert line.text == "交通运输执法"
    assert line.x1 == pytest.approx(x1_mm * PT_PER_MM, abs=0.01)


def test_ofd_ctm_scales_size_and_position(tmp_path):
    path = _write(tmp_path, one_page(_text_object("专项整治", size="2.5", extra='CTM="2 0 0 2 3 0"')))
    (line,) = _lines(path)
    assert line.size == pytest.approx(5 * PT_PER_MM, abs=0.01)
    assert line.x0 == pytest.approx((20 + 3) * PT_PER_MM, abs=0.01)
    assert line.top == pytest.approx((30 + 2 * 4 - 0.88 * 5) * PT_PER_MM, abs=0.01)


def test_ofd_runs_grouped_by_baseline_left_to_right(tmp_path):
    objects = (
        # Written right to left; the second run sits 0.5 mm (1.4 pt) lower: the same line.
        _text_object("执法检查", boundary="40 30.5 40 8")
        + _text_object("交通运输", boundary="20 30 20 8")
        # 2 mm (5.7 pt) lower than the first: a line of its own.
        + _text_object("下一行", boundary="20 32 20 8")
        # A gap of 35 mm after the line's end: a space.
        + _text_object("2021", boundary="95 30 10 8")
    )
    lines = _lines(_write(tmp_path, one_page(objects)))
    assert [ln.text for ln in lines] == ["交通运输执法检查 2021", "下一行"]


def test_ofd_text_code_without_x_continues(tmp_path):
    obj = (
        '<ofd:TextObject ID="10" Boundary="20 30 170 8" Font="2" Size="5">'
        '<ofd:TextCode X="0" Y="4">交通</ofd:TextCode><ofd:TextCode>运输</ofd:TextCode></ofd:TextObject>'
    )
    (line,) = _lines(_write(tmp_path, one_page(obj)))
    assert line.text == "交通运输" and line.x1 == pytest.approx((20 + 20) * PT_PER_MM, abs=0.01)


def test_ofd_fake_bold_copy_dropped(tmp_path):
    objects = _text_object("交通运输", boundary="20 30 40 8") + _text_object("交通运输", boundary="20.2 30 40 8")
    assert [ln.text for ln in _lines(_write(tmp_path, one_page(objects)))] == ["交通运输"]


def test_ofd_bold_from_weight_or_font_name(tmp_path):
    objects = (
        _text_object("粗体标题", boundary="20 30 40 8", extra='Weight="700"')
        + _text_object("黑体标题", boundary="20 50 40 8").replace('Font="2"', 'Font="3"')
        + _text_object("正文内容", boundary="20 70 40 8", extra='Weight="400"')
    )
    lines = _lines(_write(tmp_path, one_page(objects)))
    assert [(ln.text, ln.bold) for ln in lines] == [("粗体标题", True), ("黑体标题", True), ("正文内容", False)]


def test_ofd_page_size_from_page_or_document(tmp_path):
    obj = _text_object("横版页面")
    landscape = _write(tmp_path, one_page(obj, document_area=None, page_area="0 0 297 210"), "landscape.ofd")
    (page,), _ = read_ofd(landscape)
    assert (page.width, page.height) == pytest.approx((297 * PT_PER_MM, 210 * PT_PER_MM), abs=0.01)
    letter = _write(tmp_path, one_page(obj, document_area="0 0 215.9 279.4"), "letter.ofd")
    (page,), _ = read_ofd(letter)
    assert (page.width, page.height) == pytest.approx((612, 792), abs=0.01)
    neither = _write(tmp_path, one_page(obj, document_area=None), "neither.ofd")
    (page,), _ = read_ofd(neither)
    assert (page.width, page.height) == pytest.approx((595.28, 841.89), abs=0.01)


def test_ofd_template_text_merged_and_missing_template_warned(tmp_path):
    parts = one_page(_text_object("正文第一行", boundary="20 60 40 8"))
    parts["Doc_0/Document.xml"] = parts["Doc_0/Document.xml"].replace(
        "</ofd:CommonData>", '<ofd:TemplatePage ID="7" BaseLoc="Tpls/Tpl_0/Content.xml"/></ofd:CommonData>'
    )
    parts["Doc_0/Tpls/Tpl_0/Content.xml"] = (
        f'<ofd:Page xmlns:ofd="{NS}"><ofd:Content><ofd:Layer ID="8">'
        f"{_text_object('红头模板', boundary='20 20 40 8')}</ofd:Layer></ofd:Content></ofd:Page>"
    )
    page = parts["Doc_0/Pages/Page_0/Content.xml"]
    parts["Doc_0/Pages/Page_0/Content.xml"] = page.replace(
        f'xmlns:ofd="{NS}">', f'xmlns:ofd="{NS}"><ofd:Template TemplateID="7"/><ofd:Template TemplateID="9"/>'
    )
    pages, warnings = read_ofd(_write(tmp_path, parts))
    assert [ln.text for ln in pages[0].lines] == ["红头模板", "正文第一行"]
    assert warnings == ("page 1: template 9 is not declared",)


def test_ofd_gbk_xml_and_page_blocks(tmp_path):
    parts = one_page("")
    parts["Doc_0/Pages/Page_0/Content.xml"] = (
        f'<?xml version="1.0" encoding="GB2312"?><ofd:Page xmlns:ofd="{NS}"><ofd:Content><ofd:Layer ID="4">'
        f"<ofd:PageBlock ID='5'>{_text_object('国标编码')}</ofd:PageBlock></ofd:Layer></ofd:Content></ofd:Page>"
    ).encode("gb2312")
    assert [ln.text for ln in _lines(_write(tmp_path, parts))] == ["国标编码"]


# --- format detection ---------------------------------------------------------------------


def test_ofd_sniffed_by_content_and_walked_by_suffix(sample_ofd, tmp_path):
    misnamed = tmp_path / "bulletin.pdf"
    misnamed.write_bytes(sample_ofd.read_bytes())
    assert sniff(misnamed) == "ofd" and extract(misnamed).kind == "ofd"
    assert ".ofd" in SUFFIXES
    folder = tmp_path / "archive"
    folder.mkdir()
    (folder / "a.OFD").write_bytes(sample_ofd.read_bytes())
    assert expand_paths([folder]) == [folder / "a.OFD"]


def test_ofd_xml_not_at_root_is_another_zip(tmp_path):
    path = tmp_path / "nested.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("inner/OFD.xml", "<OFD/>")
    with pytest.raises(UnknownFormatError, match="another kind of ZIP"):
        extract(path)


# --- damaged and hostile files ------------------------------------------------------------


def _one_line_error(exc_info, path) -> str:
    message = str(exc_info.value)
    assert "\n" not in message and message.startswith(f"{path}: ")
    return message


def test_ofd_truncated_package_is_corrupt(sample_ofd, tmp_path):
    path = tmp_path / "truncated.ofd"
    path.write_bytes(sample_ofd.read_bytes()[:3000])
    with pytest.raises(CorruptFileError) as exc_info:
        extract(path)
    assert "expected a complete OFD file, found a damaged one" in _one_line_error(exc_info, path)


def test_ofd_missing_document_is_corrupt(tmp_path):
    parts = one_page(_text_object("正文"))
    del parts["Doc_0/Document.xml"]
    path = _write(tmp_path, parts)
    with pytest.raises(CorruptFileError) as exc_info:
        extract(path)
    assert "expected the OFD's Document.xml, found no Doc_0/Document.xml" in _one_line_error(exc_info, path)


def test_ofd_malformed_xml_is_corrupt_naming_the_part(tmp_path):
    parts = one_page(_text_object("正文"))
    parts["Doc_0/Pages/Page_0/Content.xml"] = parts["Doc_0/Pages/Page_0/Content.xml"][:-20]
    path = _write(tmp_path, parts)
    with pytest.raises(CorruptFileError) as exc_info:
        extract(path)
    assert "expected well-formed XML in Doc_0/Pages/Page_0/Content.xml" in _one_line_error(exc_info, path)


def test_ofd_missing_page_is_corrupt(tmp_path):
    parts = one_page(_text_object("正文"))
    del parts["Doc_0/Pages/Page_0/Content.xml"]
    path = _write(tmp_path, parts)
    with pytest.raises(CorruptFileError, match="expected page 1 at Pages/Page_0/Content.xml"):
        extract(path)


def _with_dtd(tmp_path, name: str, dtd: str, text: str):
    parts = one_page("")
    parts["Doc_0/Pages/Page_0/Content.xml"] = (
        f'<?xml version="1.0"?><!DOCTYPE ofd:Page [{dtd}]><ofd:Page xmlns:ofd="{NS}"><ofd:Content>'
        f'<ofd:Layer ID="4">{_text_object(text)}</ofd:Layer></ofd:Content></ofd:Page>'
    )
    return _write(tmp_path, parts, name)


def test_ofd_external_entities_are_not_fetched(tmp_path):
    path = _with_dtd(tmp_path, "external.ofd", '<!ENTITY x SYSTEM "file:///etc/passwd">', "正文&x;结束")
    assert [ln.text for ln in _lines(path)] == ["正文结束"]


def test_ofd_entity_expansion_bomb_is_not_expanded(tmp_path):
    laughs = '<!ENTITY a "哈哈哈哈哈哈哈哈哈哈">' + "".join(
        f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(8)
    )
    path = _with_dtd(tmp_path, "laughs.ofd", laughs, "正文&i;结束")
    start = time.perf_counter()
    try:
        # Entities are never expanded; libxml2 2.11+ also refuses the declarations outright.
        assert [ln.text for ln in _lines(path)] == ["正文结束"]
    except CorruptFileError as exc:
        assert "laughs.ofd: expected well-formed XML in Doc_0/Pages/Page_0/Content.xml" in str(exc)
    assert time.perf_counter() - start < 5


def test_ofd_oversized_part_refused_before_inflating(tmp_path, monkeypatch):
    from pipeline.readers import ofd

    monkeypatch.setattr(ofd, "MAX_PART", 4000)
    parts = one_page(_text_object("正文" * 2000))
    path = _write(tmp_path, parts, "bomb.ofd")
    with pytest.raises(CorruptFileError, match="bomb.ofd: expected OFD parts of at most 4000 bytes, found Doc_0/Pages"):
        extract(path)


def test_ofd_image_only_and_empty(tmp_path):
    image = '<ofd:ImageObject ID="10" Boundary="0 0 210 297" ResourceID="11"/>'
    scan = _write(tmp_path, one_page(image), "scan.ofd")
    with pytest.raises(ImageOnlyError, match="scan.ofd: the OFD's 1 page.* images with no text; run OCR first"):
        extract(scan)
    blank = _write(tmp_path, one_page(""), "blank.ofd")
    with pytest.raises(EmptyFileError, match="blank.ofd: the OFD's pages hold no text"):
        extract(blank)
