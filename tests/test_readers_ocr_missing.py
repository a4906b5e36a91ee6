"""A PDF with text pages and scanned (image-only) pages, read without the OCR extra: the text
pages are read, and the scanned ones are named in one warning, in the file's
warnings (which the batch lists and stores), with how to install the extra.

The extra is made missing by hiding its package from the engine loader, so these tests run
whether or not it is installed.
"""

from __future__ import annotations

import logging

import pytest

from helpers.samples import sample_spec
from pipeline.errors import ImageOnlyError
from pipeline.ingest import read_bulletin
from pipeline.readers.checks import OCR_INSTALL
from pipeline.readers.registry import ENGINES, extract

NOTE = (
    "pages 2, 4 of the PDF are images with no text layer, not read: install the OCR extra to read scanned pages "
    f"({OCR_INSTALL})"
)


def _scan_pdf(path):
    """A one-page image-only PDF: a grey block where a scan would have its text."""
    from PIL import Image, ImageDraw

    from helpers.scans import save_pdf

    image = Image.new("RGB", (827, 1169), "white")
    ImageDraw.Draw(image).rectangle((110, 150, 700, 190), fill=(60, 60, 60))
    return save_pdf([image], path, 100)


@pytest.fixture(scope="module")
def mixed_pdf(tmp_path_factory, box_font):
    """The two-page sample bulletin (embedded font) with a scanned page after each of its
    pages: pages 1 and 3 have text, 2 and 4 are images only."""
    import pypdfium2 as pdfium

    from helpers.synth import render

    folder = tmp_path_factory.mktemp("mixed")
    text = pdfium.PdfDocument(render(sample_spec(toc=()), folder / "text.pdf", font_file=box_font))
    scan = pdfium.PdfDocument(_scan_pdf(folder / "scan.pdf"))
    assert len(text) == 2
    out = pdfium.PdfDocument.new()
    for k in range(2):
        out.import_pages(text, [k])
        out.import_pages(scan, [0])
    path = folder / "mixed.pdf"
    out.save(path)
    for doc in (out, scan, text):
        doc.close()
    return path


def _warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


@pytest.mark.parametrize("engine", list(ENGINES))
def test_mixed_pdf_without_extra_warns_once_naming_file_pages_and_install(mixed_pdf, without_extra, caplog, engine):
    with caplog.at_level(logging.WARNING):
        raw = extract(mixed_pdf, engine=engine)
    assert _warnings(caplog) == []  # the file's warnings carry it; the CLI prints them once
    # the text pages are read, the scanned ones left empty; the file's warnings say so
    assert [bool(p.lines) for p in raw.pages] == [True, False, True, False]
    assert raw.warnings == (NOTE,)
    assert "OCR" not in raw.reader


def test_mixed_pdf_warning_reaches_the_bulletin(mixed_pdf, without_extra, caplog):
    """What the batch stores and lists after its summary: the bulletin's warnings."""
    with caplog.at_level(logging.WARNING):
        bulletin = read_bulletin(mixed_pdf)
    assert bulletin.warnings == (NOTE,)
    assert bulletin.passages and _warnings(caplog) == []


def test_mixed_pdf_warning_listed_by_the_batch(mixed_pdf, without_extra, tmp_path):
    from helpers.storekit import CueModel, cue_predict
    from pipeline.batch import classify
    from pipeline.readers.registry import Limits

    # no time limit: the file is read in this process, where the extra is hidden
    s = classify(
        [mixed_pdf],
        db=tmp_path / "r.db",
        jobs=1,
        model=CueModel(),
        quiet=True,
        predict=cue_predict,
        limits=Limits(seconds=None),
    )
    assert s.read == 1 and s.warnings == ((str(mixed_pdf), NOTE),)
    assert f"warning: {mixed_pdf}: {NOTE}" in s.lines()


def test_one_scanned_page_is_named_in_the_singular(tmp_path, box_font, without_extra, caplog):
    import pypdfium2 as pdfium

    from helpers.synth import render

    text = pdfium.PdfDocument(render(sample_spec(toc=()), tmp_path / "text.pdf", font_file=box_font))
    scan = pdfium.PdfDocument(_scan_pdf(tmp_path / "scan.pdf"))
    text.import_pages(scan, [0])
    path = tmp_path / "one.pdf"
    text.save(path)
    text.close()
    scan.close()
    with caplog.at_level(logging.WARNING):
        raw = extract(path)
    (note,) = raw.warnings
    assert note.startswith("page 3 of the PDF is an image with no text layer, not read: install the OCR extra")


def test_image_only_pdf_without_extra_is_refused_without_the_warning(tmp_path, without_extra, caplog):
    """All pages scanned: the refusal says how to install the extra; no warning besides."""
    path = _scan_pdf(tmp_path / "scan.pdf")
    with caplog.at_level(logging.WARNING), pytest.raises(ImageOnlyError, match="install the OCR extra"):
        extract(path)
    assert _warnings(caplog) == []


def test_text_pdf_without_extra_has_no_warning(tmp_path, box_font, without_extra, caplog):
    from helpers.synth import render

    path = render(sample_spec(toc=()), tmp_path / "text.pdf", font_file=box_font)
    with caplog.at_level(logging.WARNING):
        raw = extract(path)
    assert raw.warnings == () and _warnings(caplog) == []
