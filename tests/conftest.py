"""Shared fixtures: the seed bulletin, generated bulletin PDFs and other test files."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from helpers.samples import sample_spec
from pipeline import config

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


@pytest.fixture(scope="session")
def seed_text() -> Path:
    return config.SEED_TEXT


@pytest.fixture(scope="session")
def seed_pdf() -> Path:
    return config.SEED_PDF


@pytest.fixture
def make_pdf(tmp_path):
    """Render a bulletin spec (default :func:`sample_spec`) to a PDF in tmp_path."""
    from helpers.synth import render

    def _make(name: str = "sample.pdf", spec=None, **kwargs) -> Path:
        return render(spec or sample_spec(), tmp_path / name, **kwargs)

    return _make


@pytest.fixture(scope="session")
def sample_pdf(tmp_path_factory) -> Path:
    """The sample bulletin set in reportlab's CID font, which is not embedded."""
    from helpers.synth import render

    return render(sample_spec(), tmp_path_factory.mktemp("pdf") / "mianyang-2021-03.pdf")


@pytest.fixture(scope="session")
def box_font(tmp_path_factory) -> Path:
    """A TrueType CJK font made by the tests (see helpers.fonts): embedded PDFs on any machine."""
    from helpers.fonts import box_font as build

    return build(tmp_path_factory.mktemp("font"))


@pytest.fixture(scope="session")
def sample_pdf_embedded(tmp_path_factory, box_font) -> Path:
    """The sample bulletin with its font embedded, as most real PDFs are."""
    from helpers.synth import render

    return render(sample_spec(), tmp_path_factory.mktemp("pdf") / "mianyang-2021-03-embedded.pdf", font_file=box_font)


# --- labeled data and models -------------------------------------------------------------


@pytest.fixture(scope="session")
def small_corpus(tmp_path_factory) -> Path:
    """A 360-passage slice of the team corpus (every register), for fast training tests."""
    import json
    import random

    from pipeline.classify.labeled import load_corpus

    rows = load_corpus()
    random.Random(7).shuffle(rows)
    folder = tmp_path_factory.mktemp("corpus")
    with open(folder / "slice.jsonl", "w", encoding="utf-8") as fh:
        for r in rows[:360]:
            fh.write(
                json.dumps(
                    {"id": r.id, "text": r.text, "labels": list(r.labels), "style": r.style, "source": r.source},
                    ensure_ascii=False,
                )
                + "\n"
            )
    return folder


@pytest.fixture(scope="session")
def trained_models(tmp_path_factory, small_corpus) -> Path:
    """A models folder holding one version, ``base``, trained on :func:`small_corpus`."""
    from pipeline.classify.train import train

    models = tmp_path_factory.mktemp("models")
    train(name="base", models_dir=models, corpus_dir=small_corpus, compare=False)
    return models


@pytest.fixture(scope="session")
def default_model():
    """The shipped default model."""
    from pipeline.classify.model import load_model

    return load_model()


# --- small special PDFs ------------------------------------------------------------------


@pytest.fixture
def scan_pdf(tmp_path) -> Path:
    """A one-page PDF holding only an image (a scan with no text layer)."""
    import io

    from PIL import Image
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    Image.new("RGB", (60, 40), "white").save(buf, format="PNG")
    buf.seek(0)
    path = tmp_path / "scan.pdf"
    c = canvas.Canvas(str(path))
    c.drawImage(ImageReader(buf), 50, 50, 300, 200)
    c.showPage()
    c.save()
    return path


@pytest.fixture
def latin_locked_pdf(tmp_path) -> Path:
    """An encrypted PDF (user password ``s3cret``) with one Latin line in a standard font."""
    from reportlab.pdfgen import canvas

    path = tmp_path / "locked-latin.pdf"
    c = canvas.Canvas(str(path), encrypt="s3cret")
    c.setFont("Helvetica", 12)
    c.drawString(72, 700, "Transport bulletin No. 8")
    c.showPage()
    c.save()
    return path


@pytest.fixture
def without_extra(monkeypatch):
    """The OCR extra made uninstalled: importing its engine fails."""
    from pipeline.readers import ocr

    monkeypatch.setitem(sys.modules, "rapidocr_onnxruntime", None)
    ocr.engine.cache_clear()
    yield
    ocr.engine.cache_clear()
