"""Readers: format by content, encodings, Word, and every kind of bad input."""

from __future__ import annotations

import codecs

import pytest

from pipeline.errors import (
    CorruptFileError,
    EmptyFileError,
    EncryptedFileError,
    ImageOnlyError,
    UnknownFormatError,
)
from pipeline.ingest import read_bulletin
from pipeline.readers.registry import extract
from pipeline.readers.sniff import sniff

TEXT = "某市交通运输工作简报\n\n2021年第1期\n\n一、工作动态\n\n6 月 8 日，某市交通运输局开展执法检查。\n"


def test_extract_pdf_misnamed_as_text_is_read_as_pdf(sample_pdf, tmp_path):
    misnamed = tmp_path / "bulletin.txt"
    misnamed.write_bytes(sample_pdf.read_bytes())
    raw = extract(misnamed)
    assert raw.kind == "pdf" and raw.layout


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030", "utf-16"])
def test_extract_text_encoding_detected(tmp_path, encoding):
    path = tmp_path / "bulletin.pdf"  # the suffix lies on purpose
    path.write_bytes(TEXT.encode(encoding))
    raw = extract(path)
    assert raw.kind == "text"
    lines = [ln.text for page in raw.pages for ln in page.lines]
    assert lines[0] == "某市交通运输工作简报"
    assert "6 月 8 日，某市交通运输局开展执法检查。" in lines


def test_extract_docx_paragraphs_and_headings(tmp_path):
    import docx

    document = docx.Document()
    document.add_paragraph("某省交通运输执法工作简报")
    document.add_paragraph("2021年第5期")
    document.add_heading("一、督查检查", level=1)
    document.add_paragraph("6月3日，某市交通运输综合行政执法支队开展暗访，发现执法文书填写不规范。")
    path = tmp_path / "bulletin.docx"
    document.save(path)
    bulletin = read_bulletin(path)
    assert bulletin.title == "某省交通运输执法工作简报"
    assert bulletin.issue_no == 5
    assert [p.text for p in bulletin.passages] == [
        "6月3日，某市交通运输综合行政执法支队开展暗访，发现执法文书填写不规范。"
    ]
    assert bulletin.passages[0].section == "一、督查检查"
    assert bulletin.passages[0].date == "2021-06-03"


def test_extract_empty_file_refused(tmp_path):
    path = tmp_path / "empty.pdf"
    path.write_bytes(b"")
    with pytest.raises(EmptyFileError, match="empty.pdf: the file is empty"):
        extract(path)


def test_extract_garbage_pdf_refused(tmp_path):
    path = tmp_path / "broken.pdf"
    path.write_bytes(b"%PDF-1.4\n" + bytes(range(256)) * 20)
    with pytest.raises(CorruptFileError, match="broken.pdf: expected a readable PDF"):
        extract(path)


def test_extract_truncated_pdf_refused(sample_pdf, tmp_path):
    data = sample_pdf.read_bytes()
    path = tmp_path / "truncated.pdf"
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises((CorruptFileError, EmptyFileError), match="truncated.pdf"):
        extract(path)


def test_extract_binary_refused(tmp_path):
    path = tmp_path / "image.txt"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(100))
    with pytest.raises(UnknownFormatError, match="image.txt: expected a PDF, .docx or text file, found binary"):
        sniff(path) and extract(path)


def test_extract_legacy_doc_refused_with_advice_without_libreoffice(tmp_path, monkeypatch):
    # .doc/.wps are read through LibreOffice (tests/test_readers_doc.py); without it, refused.
    monkeypatch.setenv("PATH", str(tmp_path / "no-programs"))
    path = tmp_path / "old.doc"
    path.write_bytes(bytes.fromhex("D0CF11E0A1B11AE1") + bytes(500))
    with pytest.raises(UnknownFormatError, match="install LibreOffice .*save it as .docx or PDF"):
        extract(path)


def test_extract_zip_that_is_not_word_refused(tmp_path):
    import zipfile

    path = tmp_path / "archive.docx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("readme.txt", "hello")
    with pytest.raises(UnknownFormatError, match="another kind of ZIP"):
        extract(path)


def test_extract_encrypted_pdf_needs_password(make_pdf):
    path = make_pdf("locked.pdf", password="s3cret")
    with pytest.raises(EncryptedFileError, match="locked.pdf: the PDF is encrypted; pass its password with --password"):
        extract(path)
    with pytest.raises(EncryptedFileError, match="does not open"):
        extract(path, password="wrong")
    # pdfminer cannot map reportlab's predefined CID font once encrypted: that shows up
    # as the extraction-quality warning rather than as silent garbage.
    assert "no Unicode mapping" in extract(path, password="s3cret").warnings[0]


def test_extract_encrypted_pdf_opens_with_password(latin_locked_pdf):
    path = latin_locked_pdf
    raw = extract(path, password="s3cret")
    assert [ln.text for ln in raw.pages[0].lines] == ["Transport bulletin No. 8"]
    assert raw.warnings == ()


def test_extract_image_only_pdf_says_ocr(scan_pdf):
    path = scan_pdf
    with pytest.raises(ImageOnlyError, match="scan.pdf: .*no text layer; run OCR first"):
        extract(path)


def test_extract_blank_pdf_is_empty(tmp_path):
    from reportlab.pdfgen import canvas

    path = tmp_path / "blank.pdf"
    c = canvas.Canvas(str(path))
    c.showPage()
    c.save()
    with pytest.raises(EmptyFileError, match="blank.pdf: the PDF's pages hold no text"):
        extract(path)


def test_extract_fake_bold_duplicates_removed(tmp_path):
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    path = tmp_path / "bold.pdf"
    c = canvas.Canvas(str(path))
    c.setFont("STSong-Light", 14)
    for dx in (0, 0.3):  # fake bold: the same glyphs drawn twice, a hair apart
        c.drawString(72 + dx, 700, "交通运输执法工作简报")
    c.showPage()
    c.save()
    lines = [ln.text for ln in extract(path).pages[0].lines]
    assert lines == ["交通运输执法工作简报"]


def test_extract_unmapped_characters_warned(tmp_path):
    path = tmp_path / "cid.txt"
    path.write_text("某市工作简报\n\n执法(cid:1234)人员开展(cid:88)检查。\n", encoding="utf-8")
    raw = extract(path)
    assert raw.warnings and "2 character(s) had no Unicode mapping" in raw.warnings[0]
    assert read_bulletin(path).passages[0].text == "执法人员开展检查。"


def test_extract_bom_is_not_text(tmp_path):
    path = tmp_path / "bom.txt"
    path.write_bytes(codecs.BOM_UTF8 + "简报\n\n正文。".encode())
    assert [ln.text for ln in extract(path).pages[0].lines][0] == "简报"
