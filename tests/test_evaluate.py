"""Metrics and the cue-word baseline, compared exactly."""

from __future__ import annotations

from pipeline.classify.metrics import metrics
from pipeline.taxonomy import cue_baseline, cue_terms


def test_evaluate_metrics_golden():
    true = [["作风不优"], ["作风不优", "执法不廉"], [], ["担当不力"]]
    pred = [["作风不优"], ["作风不优"], ["作风不优"], ["作风不优"]]
    m = metrics(true, pred)
    assert m["per_category"]["作风不优"] == {"precision": 0.5, "recall": 1.0, "f1": 0.6667, "support": 2}
    assert m["per_category"]["执法不廉"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert m["micro_f1"] == 0.5 and m["exact_match"] == 0.25 and m["n"] == 4
    # Only passage 4 misses a category while predicting another.
    assert m["confused"] == [{"true": "担当不力", "predicted": "作风不优", "count": 1}]


def test_evaluate_cue_baseline():
    assert cue_baseline("个别执法人员吃拿卡要、粗暴执法。") == ["作风不优", "执法不廉"]
    assert cue_baseline("开展党史学习教育。") == []
    assert cue_terms("落实首接负责制，一事一办") == ["一事一办", "首接负责制", "CUE:担当不力"]
