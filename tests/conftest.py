"""Shared fixtures: the seed bulletin, generated bulletin PDFs and other test files."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline import config

DATA = Path(__file__).parent / "data"

#: A long paragraph that must break across a page in the generated PDF.
LONG = (
    "6 月 15 日，绵阳市交通运输综合行政执法支队对辖区 3 个治超站开展明察暗访，发现个别执法人员存在"
    "只罚款不卸载、执法文书填写不规范等问题，支队当即责令整改，并对相关责任人进行约谈。"
) * 13


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


@pytest.fixture(scope="session")
def seed_text() -> Path:
    return config.SEED_TEXT


@pytest.fixture(scope="session")
def seed_pdf() -> Path:
    return config.SEED_PDF


def sample_spec(**overrides):
    """A small bulletin with everything real ones break: TOC, furniture, spaced digits,
    a paragraph across a page break."""
    from pipeline.synth import BulletinSpec

    fields = dict(
        title="绵阳市交通运输执法领域突出问题专项整治行动工作简报",
        issue="2021年第3期",
        issuer=("绵阳市交通运输执法领域突出问题", "专项整治行动领导小组办公室"),
        date="2021年6月20日",
        toc=("一、暗访督查", "★支队开展治超站明察暗访", "二、培训练兵", "★江油市开展执法人员业务考试"),
        sections=(
            ("一、暗访督查", ("6 月 12 日，梓潼县交通运输局召开专项整治推进会，通报前期排查发现的 5 个问题。", LONG)),
            ("二、培训练兵", ("6 月 18 日至 19 日，江油市交通运输综合行政执法大队组织全体执法人员参加行政执法业务考试，"
                           "考试内容涵盖行政处罚法和执法文书制作。",)),
        ),
        closing=("报：市委、市政府。", "抄送：省交通运输厅。"),
        spaced_digits=False,
    )
    fields.update(overrides)
    return BulletinSpec(**fields)


#: The passages of :func:`sample_spec`, as the pipeline must return them.
SAMPLE_PASSAGES = (
    "6月12日，梓潼县交通运输局召开专项整治推进会，通报前期排查发现的5个问题。",
    LONG.replace(" ", ""),
    "6月18日至19日，江油市交通运输综合行政执法大队组织全体执法人员参加行政执法业务考试，考试内容涵盖行政处罚法和执法文书制作。",
)


@pytest.fixture
def make_pdf(tmp_path):
    """Render a bulletin spec (default :func:`sample_spec`) to a PDF in tmp_path."""
    from pipeline.synth import render

    def _make(name: str = "sample.pdf", spec=None, **kwargs) -> Path:
        return render(spec or sample_spec(), tmp_path / name, **kwargs)

    return _make


@pytest.fixture(scope="session")
def sample_pdf(tmp_path_factory) -> Path:
    from pipeline.synth import render

    return render(sample_spec(), tmp_path_factory.mktemp("pdf") / "mianyang-2021-03.pdf")


# --- labeled data and models -------------------------------------------------------------


@pytest.fixture(scope="session")
def small_corpus(tmp_path_factory) -> Path:
    """A 360-passage slice of the team corpus (every register), for fast training tests."""
    import json
    import random

    from pipeline.labeled import load_corpus

    rows = load_corpus()
    random.Random(7).shuffle(rows)
    folder = tmp_path_factory.mktemp("corpus")
    with open(folder / "slice.jsonl", "w", encoding="utf-8") as fh:
        for r in rows[:360]:
            fh.write(json.dumps({"id": r.id, "text": r.text, "labels": list(r.labels), "style": r.style,
                                 "source": r.source}, ensure_ascii=False) + "\n")
    return folder


@pytest.fixture(scope="session")
def trained_models(tmp_path_factory, small_corpus) -> Path:
    """A models folder holding one version, ``base``, trained on :func:`small_corpus`."""
    from pipeline.train import train

    models = tmp_path_factory.mktemp("models")
    train(name="base", models_dir=models, corpus_dir=small_corpus, compare=False)
    return models


@pytest.fixture(scope="session")
def default_model():
    """The shipped default model."""
    from pipeline.model import load_model

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
