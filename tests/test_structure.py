"""Structure: the seed bulletin (text and PDF) and generated bulletins, compared exactly."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from helpers.samples import REGION_PASSAGES, SAMPLE_PASSAGES, regions_spec, sample_spec
from pipeline import config
from pipeline.ingest import read_bulletin
from pipeline.text.dates import cn_number, event_date, parse_full_date
from pipeline.text.places import region_of
from pipeline.text.units import find_unit

SEED_SECTIONS = (
    "四川传达落实部工作要求，推动专项整治行动走深走实",
    "四川全面开展端午期间专项整治行动督查暗访工作",
    "四川持续深入推进突出问题大调研、大排查",
    "四川多措并举推进执法队伍大教育、大提升",
    "四川多种方式开展“我为群众办实事”",
)


@pytest.fixture(scope="module")
def golden(data_dir):
    with open(data_dir / "seed_passages.jsonl", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


@pytest.fixture(scope="module", params=["text", "pdf"])
def seed(request, seed_text, seed_pdf):
    return read_bulletin(seed_text if request.param == "text" else seed_pdf)


def test_structure_seed_metadata(seed):
    assert seed.title == "四川交通运输执法领域突出问题专项整治行动工作简报"
    assert (seed.year, seed.issue_no, seed.date) == (2021, 8, "2021-06-12")
    assert seed.issuer == "四川交通运输执法领域突出问题专项整治行动领导小组办公室"
    assert seed.closing == (("印送", "厅领导，省交通执法总队，各市（州）交通运输局。"), ("抄送", "交通运输部法制司。"))


def test_structure_seed_sections_and_toc(seed):
    assert seed.sections == SEED_SECTIONS
    assert len(seed.toc) == 26 and sum(t.startswith("★") for t in seed.toc) == 21
    # The table of contents is not emitted as passages.
    assert not any(p.text.startswith("★") for p in seed.passages)


def test_structure_seed_passages_golden(seed, golden):
    got = [
        {"index": p.index, "section": p.section, "unit": p.unit, "region": p.region, "date": p.date, "text": p.text}
        for p in seed.passages
    ]
    assert got == golden


def test_structure_seed_page_breaks_rejoined(seed):
    texts = [p.text for p in seed.passages]
    for joined in (
        "确保各项要求不折不扣",
        "专项整治行动落实情况",
        "摸排执法领域突出问题",
        "坚决纠正交通运输",
        "明确时限",
        "接种新冠疫苗",
    ):
        assert sum(joined in t for t in texts) == 1, joined


def test_structure_seed_offsets_point_into_text(seed):
    for p in seed.passages:
        assert seed.text[p.start : p.end] == p.text


def test_structure_seed_pdf_pages(seed_pdf):
    pages = [p.page for p in read_bulletin(seed_pdf).passages]
    assert pages == sorted(pages) and pages[0] > 1  # the contents fill page 1


def test_structure_generated_pdf_exact(sample_pdf):
    b = read_bulletin(sample_pdf)
    assert b.title == "绵阳市交通运输执法领域突出问题专项整治行动工作简报"
    assert (b.year, b.issue_no, b.date) == (2021, 3, "2021-06-20")
    assert b.toc == ("一、暗访督查", "★支队开展治超站明察暗访", "二、培训练兵", "★江油市开展执法人员业务考试")
    assert b.sections == ("一、暗访督查", "二、培训练兵")
    assert tuple(p.text for p in b.passages) == SAMPLE_PASSAGES
    assert [(p.unit, p.region, p.date, p.page) for p in b.passages] == [
        ("梓潼县交通运输局", "绵阳市", "2021-06-12", 2),
        ("绵阳市交通运输综合行政执法支队", "绵阳市", "2021-06-15", 2),
        ("江油市交通运输综合行政执法大队", "绵阳市", "2021-06-18", 3),
    ]
    assert b.closing == (("报", "市委、市政府。"), ("抄送", "省交通运输厅。"))


@pytest.mark.parametrize("footer", ["dash", "emdash", "di"])
def test_structure_generated_pdf_footers_and_spaced_digits(make_pdf, footer):
    path = make_pdf(f"{footer}.pdf", sample_spec(footer=footer, spaced_digits=True))
    assert tuple(p.text for p in read_bulletin(path).passages) == SAMPLE_PASSAGES


def test_structure_without_toc(make_pdf):
    b = read_bulletin(make_pdf("notoc.pdf", sample_spec(toc=())))
    assert b.toc == () and b.sections == ("一、暗访督查", "二、培训练兵")
    assert tuple(p.text for p in b.passages) == SAMPLE_PASSAGES


@pytest.mark.parametrize(
    "text, unit",
    [
        ("6月8日，交通运输部召开视频调度会。", "交通运输部"),
        ("内江市交通运输局执法直属大队，多路并进摸排执法领域突出问题。", "内江市交通运输局执法直属大队"),
        ("6 月 9 日，厅高速公路交通执法第七支队邀请企业代表座谈。".replace(" ", ""), "厅高速公路交通执法第七支队"),
        ("6月9日，省执法总队（局）党委召开党委会。", "省执法总队（局）"),
        ("近期，省执法总队深入开展活动。", "省执法总队"),
        ("6月11日，真开门，听真话，泸州市交通运输综合行政执法支队请来代表。", "泸州市交通运输综合行政执法支队"),
        ("乐山市港航中心开展实践活动。", "乐山市港航中心"),
        ("南充市交通运输局会同市公安局开展联合检查。", "南充市交通运输局"),
        ("6月8日，四川下发通知。", "四川"),
        ("要求各地提高政治站位，狠抓落实。", ""),
    ],
)
def test_structure_find_unit(text, unit):
    assert find_unit(text) == unit


@pytest.mark.parametrize(
    "unit, region",
    [
        ("内江市交通运输局执法直属大队", "内江市"),
        ("省执法总队", "省级"),
        ("厅高速公路交通执法第七支队", "省级"),
        ("交通运输部", "部级"),
        ("荥经县交通运输局", "雅安市"),
        ("甘孜州交通运输局", "甘孜藏族自治州"),
        ("浦东新区执法大队", "上海市"),
        ("", ""),
    ],
)
def test_structure_region_of(unit, region):
    assert region_of(unit, "四川省") == region


def test_structure_dates():
    assert event_date("6月9日至10日，自贡市开展调研", 2021) == dt.date(2021, 6, 9)
    assert event_date("12月28日，某支队开展检查", 2022, dt.date(2022, 1, 10)) == dt.date(2021, 12, 28)
    assert event_date("近期，某支队开展检查", 2021) is None
    assert parse_full_date("二〇二一年六月十二日") == dt.date(2021, 6, 12)
    assert cn_number("二十三") == 23 and cn_number("十") == 10


def test_structure_text_bulletin_two_line_masthead_numbered_toc(data_dir):
    b = read_bulletin(data_dir / "guangdong-2021-15.txt")
    assert (b.title, b.year, b.issue_no, b.date) == ("交通运输执法领域突出问题专项整治工作简报", 2021, 15, "2021-07-05")
    assert b.issuer == "广东省交通运输厅专项整治办公室"
    assert b.toc == ("1.广州市开展执法队伍作风纪律暗访", "2.深圳市集中整治网约车执法中的突出问题")
    assert b.sections == ("广州市开展执法队伍作风纪律暗访", "深圳市集中整治网约车执法中的突出问题")
    assert b.closing == (("报", "交通运输部法制司"), ("送", "省委依法治省办"))
    assert [(p.unit, p.region, p.date) for p in b.passages] == [
        ("广州市交通运输局", "广州市", "2021-07-01"),
        ("广州市交通运输局", "广州市", None),  # continues the article before it
        ("深圳市交通运输局", "深圳市", "2021-06-28"),
    ]
    assert b.passages[1].text == "暗访组还随机抽查了30宗案卷，发现部分案卷证据不足、文书填写不规范。"


@pytest.fixture(scope="module")
def region_renditions(tmp_path_factory, box_font):
    from helpers.synth import render, render_text

    folder = tmp_path_factory.mktemp("regions")
    spec = regions_spec()
    return {
        "text": render_text(spec, folder / "xinjiang-2021-06.txt"),
        "pdf": render(spec, folder / "xinjiang-2021-06.pdf"),
        "pdf-embedded": render(spec, folder / "xinjiang-2021-06-embedded.pdf", font_file=box_font),
    }


@pytest.mark.parametrize("rendition", ["text", "pdf", "pdf-embedded"])
@pytest.mark.parametrize("engine", ["pdfplumber", "pdfium"])
def test_structure_units_regions_dates_golden(region_renditions, rendition, engine):
    b = read_bulletin(region_renditions[rendition], engine=engine)
    # The masthead wraps the issuer line into the date: "…办公室2021" / "年5月3日".
    assert (b.title, b.year, b.issue_no, b.date) == (
        "新疆维吾尔自治区交通运输执法领域突出问题专项整治行动工作简报",
        2021,
        6,
        "2021-05-03",
    )
    assert b.issuer == "新疆维吾尔自治区交通运输执法领域突出问题专项整治行动领导小组办公室"
    assert b.sections == ("一、督查检查", "二、各地动态")
    assert b.closing == (("报", "交通运输部法制司。"), ("送", "自治区党委依法治疆办。"))
    expected = [(text.lstrip("★"), *keys) for text, keys in REGION_PASSAGES]
    # Cleaning removes the space after 本报讯 as it does any space inside Chinese text.
    assert [(p.text, p.unit, p.region, p.date) for p in b.passages] == [
        (t.replace("本报讯 ", "本报讯"), u, r, d) for t, u, r, d in expected
    ]


@pytest.mark.parametrize("size", [12, 16])
@pytest.mark.parametrize("engine", ["pdfplumber", "pdfium"])
def test_structure_seed_renditions_keep_22_passages(seed_text, tmp_path, size, engine):
    # At 12 pt a full-width contents line swallows the next section title; at 16 pt the
    # closing lines fall after a page break. Both still give the seed's 22 passages.
    import dataclasses
    import json

    from helpers.synth import render, spec_from_bulletin

    seed = read_bulletin(seed_text)
    spec = dataclasses.replace(spec_from_bulletin(seed), font_size=size)
    b = read_bulletin(render(spec, tmp_path / f"seed-{size}.pdf"), engine=engine)
    lines = (config.ROOT / "tests/data/seed_passages.jsonl").read_text(encoding="utf-8").splitlines()
    gold = [json.loads(line)["text"] for line in lines]
    assert [p.text for p in b.passages] == gold
    assert (b.sections, b.closing, b.date) == (seed.sections, seed.closing, seed.date)
