"""Golden tests for the text normalisation and the block assembly."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.documents import Line, Page, RawDocument
from pipeline.text.clean import (
    cjk_punctuation,
    clean,
    collapse_spaces,
    drop_unmapped,
    fold_width,
    join_lines,
    normalize,
    remove_cjk_spaces,
    strip_markup,
)


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("6 月 8 日，召开会议", "6月8日，召开会议"),
        ("6 月 9 日至 11 日", "6月9日至11日"),
        ("来自 111 个基层大队的 22 名业务骨干", "来自111个基层大队的22名业务骨干"),
        ("集中处理 12345 和 12328 投诉案件", "集中处理12345和12328投诉案件"),
        ("推动专项 整治行动走深走实", "推动专项整治行动走深走实"),
        ("同比下降 75.42%，群众满意度", "同比下降75.42%，群众满意度"),
        ("党委召开**2021年第12次**党委会", "党委召开2021年第12次党委会"),
        ("２０２１年第８期", "2021年第8期"),
        ("ＡＢＣ执法　大队", "ABC执法大队"),
        ("省执法总队成立七个督导组,分片区赴各基层", "省执法总队成立七个督导组，分片区赴各基层"),
        ("真开门,听真话;请来代表", "真开门，听真话；请来代表"),
        ("（cid:123）无", "（cid:123）无"),
        ("执法(cid:123)人员", "执法人员"),
        ("COVID 19 疫情", "COVID 19疫情"),
        ("Word file 格式", "Word file格式"),
        ("  多个   空格  ", "多个空格"),
        ("two  spaces", "two spaces"),
        ("“我为群众办实事” 实践活动", "“我为群众办实事”实践活动"),
    ],
)
def test_clean_normalize_golden(raw, expected):
    assert normalize(raw) == expected


def test_clean_cleaners_are_small_str_functions():
    assert strip_markup("**重点**") == "重点"
    assert drop_unmapped("a\ue001b\ufffdc") == "abc"
    assert fold_width("１２％") == "12%"
    assert fold_width("，。：") == "，。："  # Chinese punctuation kept
    assert cjk_punctuation("执法,规范") == "执法，规范"
    assert cjk_punctuation("1,000") == "1,000"
    assert remove_cjk_spaces("6 月") == "6月"
    assert collapse_spaces(" a  b ") == "a b"


def test_clean_join_lines_no_space_in_chinese():
    assert join_lines(["执法领", "域突出问题"]) == "执法领域突出问题"
    assert join_lines(["road law", "enforcement"]) == "road law enforcement"


def _text_doc(*pages: list[str]) -> RawDocument:
    return RawDocument(
        path=Path("x.txt"),
        kind="text",
        sha256="0",
        pages=tuple(Page(i + 1, tuple(Line(t) for t in lines)) for i, lines in enumerate(pages)),
    )


def test_clean_text_page_numbers_removed():
    doc = _text_doc(["简报标题", "", "第一段内容。", "- 1 -"], ["第二段内容。", "— 2 —"], ["第三段。", "第3页"])
    assert [b.text for b in clean(doc).blocks] == ["简报标题", "第一段内容。", "第二段内容。", "第三段。"]


def test_clean_text_running_header_removed_by_repetition():
    pages = [["某某工作简报", f"第{i}段内容。"] for i in range(1, 5)]
    assert [b.text for b in clean(_text_doc(*pages)).blocks] == [f"第{i}段内容。" for i in range(1, 5)]


def test_clean_text_hard_wrapped_lines_joined():
    doc = _text_doc(
        ["这是一个被硬换行的段落，它的每一行", "都差不多一样长，直到最后一行结束", "为止。", "", "下一段。"]
    )
    blocks = clean(doc).blocks
    assert [b.text for b in blocks] == [
        "这是一个被硬换行的段落，它的每一行都差不多一样长，直到最后一行结束为止。",
        "下一段。",
    ]
    assert not blocks[0].open_end


def test_clean_text_open_end_marks_unfinished_paragraph():
    blocks = clean(_text_doc(["确保各项", "", "要求落实到位。"])).blocks
    assert [b.open_end for b in blocks] == [True, False]


def test_clean_pdf_furniture_removed(sample_pdf):
    from pipeline.readers.registry import extract

    texts = [b.text for b in clean(extract(sample_pdf)).blocks]
    assert not any(t.startswith("-") or t.endswith("-") for t in texts)
    # The running header (the title, on pages after the first) appears once: the masthead.
    assert sum("工作简报" in t for t in texts) == 1


def test_clean_pdf_paragraph_runs_across_page_break(sample_pdf):
    from pipeline.readers.registry import extract

    blocks = clean(extract(sample_pdf)).blocks
    broken = [b for b in blocks if b.page_break_after and b.open_end]
    assert len(broken) == 1
    assert broken[0].text.startswith("6月15日，绵阳市")
