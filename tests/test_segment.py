"""Segmentation keeps campaign vocabulary whole, privately, without warnings."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pipeline.classify.segment import segment, tokenize


@pytest.mark.parametrize(
    "text, words",
    [
        (
            "执法人员以罚代管、吃拿卡要，对货车司机冷横硬推",
            ["执法人员", "以罚代管", "、", "吃拿卡要", "，", "对", "货车司机", "冷横硬推"],
        ),
        ("12328投诉一事一办，落实首接负责制", ["12328", "投诉", "一事一办", "，", "落实", "首接负责制"]),
        ("治超站只罚款不卸载", ["治超站", "只罚款不卸载"]),
        ("网约车司机投诉执法大队", ["网约车", "司机", "投诉", "执法大队"]),
    ],
)
def test_segment_campaign_words_stay_whole(text, words):
    assert segment(text) == words


def test_segment_tokenize_drops_stopwords_and_punctuation():
    assert tokenize("执法人员以罚代管、吃拿卡要，对货车司机冷横硬推") == [
        "执法人员",
        "以罚代管",
        "吃拿卡要",
        "货车司机",
        "冷横硬推",
    ]


def test_segment_user_dictionary_is_private():
    segment("冷横硬推")
    code = "import jieba, logging; jieba.setLogLevel(logging.ERROR); print('|'.join(jieba.lcut('冷横硬推')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out != "冷横硬推"  # the global dictionary never learned our words


def test_segment_imports_without_warnings():
    code = "import pipeline.classify.segment as s; s.segment('执法')"
    proc = subprocess.run([sys.executable, "-W", "error", "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
