"""The classifier's reading, lexicons and tie-break rules (no trained model needed)."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.classify.classifier import complete_labels, load_tiebreaks
from pipeline.classify.features import concept_terms, load_concepts
from pipeline.classify.reading import examined_names, prepare, reports_impostors
from pipeline.taxonomy import CATEGORIES

SIX = "宗旨不牢、作风不优、本领不强、担当不力、执法不廉、职责不明"


def test_classifier_six_names_as_aims_are_neutralised():
    text = f"专项整治行动的目标是，围绕{SIX}六个方面，推动执法队伍面貌整体提升。"
    assert not any(c in prepare(text) for c in CATEGORIES)
    assert examined_names(text) == []


def test_classifier_six_names_as_topics_examined_are_all_tagged():
    text = f"支队召开座谈会，围绕{SIX}等问题听取企业意见，梳理问题12个。"
    assert examined_names(text) == list(CATEGORIES)


@pytest.mark.parametrize(
    "text, kept",
    [
        ("本次暗访未发现吃拿卡要现象。", "未发现问题"),
        ("检查中未发现吃拿卡要问题，但发现2名执法人员着装不规范。", "但发现2名执法人员着装不规范。"),
        ("执法人员未开具票据即放行车辆。", "执法人员未开具票据即放行车辆。"),  # 未 of a problem stays
    ],
)
def test_classifier_negated_findings_dropped(text, kept):
    assert prepare(text) == kept


@pytest.mark.parametrize(
    "text, category",
    [
        ("司机说交了八百块好处费才让走。", "执法不廉"),
        ("他当着司机的面把驾驶证摔在地上。", "作风不优"),
        ("大队给每个中队定了罚款任务，月底冲量。", "宗旨不牢"),
        ("两个部门都来查，谁也不管后续。", "职责不明"),
    ],
)
def test_classifier_concepts_find_paraphrases(text, category):
    assert f"K:{category}" in concept_terms(text)


def test_classifier_lexicons_name_known_categories():
    assert {c.category for c in load_concepts()} == set(CATEGORIES)
    assert all(set(r.labels) <= set(CATEGORIES) and len(r.labels) >= 2 for r in load_tiebreaks())


@pytest.mark.parametrize(
    "text, found, completed",
    [
        ("执法人员公车私用，开着执法车接孩子。", {"作风不优"}, {"作风不优", "执法不廉"}),
        ("协管员单独上路拦车罚款。", {"职责不明"}, {"职责不明", "本领不强"}),
        ("治超站只罚款不卸载。", {"本领不强"}, {"宗旨不牢", "本领不强"}),
        ("治超站只罚款不卸载。", set(), set()),  # rules complete a finding, never invent one
        ("不论是不是初次违法，一律开罚单。", {"宗旨不牢"}, {"宗旨不牢", "本领不强"}),
        ("坚决纠正“只罚款、不教育”的做法。", {"宗旨不牢"}, {"宗旨不牢", "本领不强"}),
        ("作出罚款决定前未告知当事人享有陈述、申辩的权利。", {"本领不强"}, {"本领不强", "作风不优"}),
        ("对原告的听证申请未予理会。", {"作风不优"}, {"本领不强", "作风不优"}),
    ],
)
def test_classifier_tiebreaks_complete_labels(text, found, completed):
    assert complete_labels(text, found) == completed


def test_classifier_windows_only_for_long_passages():
    from pipeline.classify.classifier import WINDOW_SENTENCES, BulletinClassifier
    from pipeline.classify.features import TextFeatures

    short = "执法人员态度生硬。司机投诉无人处理。当事人申请复议。"
    long_ = "。".join(f"第{i}句话说明执法情况" for i in range(WINDOW_SENTENCES)) + "。"
    features = TextFeatures().fit([short, long_, "查处非法营运车辆。", "罚款未开票据。"])
    _, owner = features.windows([short, long_], min_sentences=WINDOW_SENTENCES)
    # The short passage: one row (the whole); the long one: the whole, each sentence, each pair.
    assert list(owner).count(0) == 1
    assert list(owner).count(1) == 1 + WINDOW_SENTENCES + (WINDOW_SENTENCES - 1)
    _, owner = features.windows([short], min_sentences=2)
    assert len(owner) == 1 + 3 + 2
    assert BulletinClassifier().window_sentences == WINDOW_SENTENCES


def test_classifier_models_saved_before_window_sentences_keep_windows_from_two():
    from pipeline.classify.classifier import BulletinClassifier
    from pipeline.classify.features import TextFeatures

    clf = BulletinClassifier(window_sentences=2)
    clf.features_ = TextFeatures().fit(["执法人员态度生硬。", "罚款未开票据。"])
    clf.coef_, clf.intercept_ = np.zeros((7, len(clf.features_.names))), np.zeros(7)
    clf.thresholds_, clf.gate_threshold_ = np.full(6, 0.5), 0.5
    meta, arrays = clf.state()
    del meta["params"]["window_sentences"]
    assert BulletinClassifier.from_state(meta, arrays).window_sentences == 2


def test_classifier_confident_category_passes_a_closed_gate():
    from pipeline.classify.classifier import BulletinClassifier
    from pipeline.classify.features import TextFeatures

    clf = BulletinClassifier(rules=False)
    clf.features_ = TextFeatures().fit(["执法人员态度生硬。", "罚款未开票据。"])
    clf.coef_, clf.intercept_ = np.zeros((7, len(clf.features_.names))), np.zeros(7)
    clf.thresholds_, clf.gate_threshold_ = np.full(6, 0.5), 0.5
    texts = ["甲", "乙", "丙"]
    scores = np.array(
        [
            [0.1, 0.95, 0.6, 0.1, 0.1, 0.1, 0.48],  # gate closed: only the sure category passes
            [0.1, 0.6, 0.6, 0.1, 0.1, 0.1, 0.48],  # gate closed, nothing sure: nothing
            [0.1, 0.6, 0.6, 0.1, 0.1, 0.1, 0.52],  # gate open: the thresholds decide
        ]
    )
    assert clf.labels_from(texts, scores) == [["作风不优"], [], ["作风不优", "本领不强"]]
    clf.gate_override = None
    assert clf.labels_from(texts, scores)[0] == []


def test_classifier_gate_takes_the_highest_threshold_of_equal_oof_f1():
    from pipeline.classify.classifier import BulletinClassifier

    clf = BulletinClassifier(rules=False)
    clf.thresholds_ = np.full(6, 0.5)
    texts = ["甲", "乙", "丙", "丁"]
    labels = [["作风不优"], ["作风不优"], [], []]
    # 作风不优 is sure everywhere; the gate separates problems (0.9) from none (0.3): every
    # gate threshold from 0.35 to 0.85 gives the same F1, and the highest of them is taken.
    oof = np.array([[0.1, 0.8, 0.1, 0.1, 0.1, 0.1, g] for g in (0.9, 0.9, 0.3, 0.3)])
    assert clf._best_gate(texts, labels, oof) == 0.7  # the grid's highest (0.2-0.7)
    clf.cautious_gate = False
    assert clf._best_gate(texts, labels, oof) == 0.5  # ... or the one nearest 0.5


def test_classifier_counted_names_are_topics_examined():
    text = "共排查问题56个，其中宗旨不牢方面8个、作风不优方面13个；本领不强类问题15项，已整改41个。"
    assert examined_names(text) == ["宗旨不牢", "作风不优", "本领不强"]
    assert examined_names("宗旨不牢方面8个、作风不优方面13个。") == []  # two counted: no tally


def test_classifier_names_in_an_instruction_are_aims():
    text = f"各单位要对照{SIX}六个方面，举一反三、深入查摆。"
    assert examined_names(text) == []


def test_classifier_names_in_the_campaign_plan_are_aims():
    text = f"整治分动员部署、查摆整改、总结提升三个阶段推进，重点围绕{SIX}六个方面展开。"
    assert examined_names(text) == []
    assert examined_names(f"座谈会重点围绕{SIX}六个方面征求意见。") == list(CATEGORIES)


@pytest.mark.parametrize(
    "text, impostors",
    [
        ("有不法分子冒充交通执法人员拦截货车，以罚款为名索要现金，已被警方抓获。", True),
        ("被告人身穿仿制的执法制服，驾驶私家车拦车收钱，以招摇撞骗罪被判刑。", True),
        ("收钱者系假冒“执法人员”的社会人员，并非我单位工作人员。", True),
        ("一名身穿仿制服装的协管员独自拦停货车，当场收取300元“罚款”。", False),  # own staff
        ("执法人员假扮乘客叫车，随后以非法营运为由扣车重罚。", False),  # enforcers in disguise
        ("执法人员收取司机300元后放行，未出具票据。", False),
        ("维修厂用旧配件冒充新配件，被执法人员依法查处。", False),  # not posing as enforcers
    ],
)
def test_classifier_impostors_read(text, impostors):
    assert reports_impostors(text) is impostors


def test_classifier_impostors_get_no_category():
    from pipeline.classify.classifier import BulletinClassifier

    clf = BulletinClassifier()
    clf.thresholds_, clf.gate_threshold_ = np.full(6, 0.5), 0.5
    texts = ["有人冒充交通执法人员拦车，索要“罚款”后放行，司机被骗。", "执法人员拦车索要“罚款”后放行。"]
    scores = np.array([[0.1, 0.1, 0.1, 0.1, 0.97, 0.1, 0.9]] * 2)
    assert clf.labels_from(texts, scores) == [[], ["执法不廉"]]
    clf.impostors = False
    assert clf.labels_from(texts, scores) == [["执法不廉"], ["执法不廉"]]


def test_classifier_models_saved_before_impostors_score_them_as_any_passage():
    from pipeline.classify.classifier import BulletinClassifier
    from pipeline.classify.features import TextFeatures

    clf = BulletinClassifier()
    clf.features_ = TextFeatures().fit(["执法人员态度生硬。", "罚款未开票据。"])
    clf.coef_, clf.intercept_ = np.zeros((7, len(clf.features_.names))), np.zeros(7)
    clf.thresholds_, clf.gate_threshold_ = np.full(6, 0.5), 0.5
    meta, arrays = clf.state()
    assert BulletinClassifier.from_state(meta, arrays).impostors is True
    del meta["params"]["impostors"]
    assert BulletinClassifier.from_state(meta, arrays).impostors is False


def test_classifier_glued_passages_keep_the_label_of_their_passage():
    from pipeline.classify.classifier import glued_passages
    from pipeline.classify.metrics import label_matrix

    texts = ["执法人员态度粗暴。", "今天天气晴", "大队召开例会。", "站里组织了体检。"]
    y = label_matrix([["作风不优"], [], [], []])
    glued, labels, source = glued_passages(texts, y, 2.0, seed=3)
    assert len(glued) == 8 and labels.shape == (8, 6)
    for text, row, k in zip(glued, labels, source):
        assert (row == y[k]).all()
        assert texts[k].rstrip("。") in text
        others = text.replace(texts[k].rstrip("。") + "。", "", 1)
        assert "粗暴" not in others  # the rest: passages reporting no problem
    assert glued_passages(texts, y, 2.0, seed=3)[0] == glued  # seeded
    assert glued_passages(texts, label_matrix([["作风不优"]] * 4), 1.0, seed=3)[0] == []  # none to glue


def test_classifier_models_saved_before_the_network_score_with_the_regressions_alone(small_corpus):
    from pipeline.classify.classifier import BulletinClassifier
    from pipeline.classify.labeled import read_labeled

    rows = read_labeled(small_corpus / "slice.jsonl")[:150]
    clf = BulletinClassifier(folds=2, hidden=4).fit([r.text for r in rows], [r.labels for r in rows])
    assert clf.network_ is not None
    meta, arrays = clf.state()
    rebuilt = BulletinClassifier.from_state(meta, arrays)
    texts = [r.text for r in rows[:5]]
    assert np.array_equal(rebuilt.scores(texts, gate=True), clf.scores(texts, gate=True))
    del meta["params"]["hidden"], meta["params"]["glued"]
    old = BulletinClassifier.from_state(meta, {k: v for k, v in arrays.items() if not k.startswith("net_")})
    assert old.hidden == 0 and old.network_ is None
    old.windows = False  # whole passages: the regressions' probabilities as they are
    z = old.features_.transform(texts) @ old.coef_.T + old.intercept_
    assert np.allclose(old.scores(texts, gate=True), 1 / (1 + np.exp(-np.asarray(z))))
