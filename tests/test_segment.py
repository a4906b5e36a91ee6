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
    import rjieba

    segment("冷横硬推")
    assert rjieba.cut("冷横硬推", False) != ["冷横硬推"]  # the global dictionary never learned our words


def test_segment_identical_to_jieba_on_the_whole_corpus():
    # rjieba replaced jieba for speed on the promise of identical words: checked on every
    # labeled passage the project has (corpus, held-out and outside sets).
    jieba = pytest.importorskip("jieba", reason="jieba is the reference: pip install -e '.[test]'")
    import logging

    from pipeline import config
    from pipeline.classify.labeled import load_corpus, read_labeled

    jieba.setLogLevel(logging.WARNING)
    ref = jieba.Tokenizer()
    with open(config.USER_DICT, "rb") as fh:
        ref.load_userdict(fh)
    texts = [r.text for r in load_corpus()]
    for path in sorted(config.HELDOUT_DIR.glob("*.jsonl")):
        texts += [r.text for r in read_labeled(path)]
    assert len(texts) > 3000
    differ = [t for t in texts if ref.lcut(t, HMM=False) != segment(t, hmm=False)]
    assert differ == []


def test_segment_imports_without_warnings():
    code = "import pipeline.classify.segment as s; s.segment('执法')"
    proc = subprocess.run([sys.executable, "-W", "error", "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
