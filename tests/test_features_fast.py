"""The fast paths of feature extraction give exactly what the plain ones give.

Prediction reads many passages at once (concept and cue patterns tried only where they can
match, word and n-gram look-ups in arrays, idf weighting without a matrix product), and a fit
reads each passage once across its folds (:class:`TextMemo`). Each fast path is checked here
against a plain reference on the whole corpus or on random text.
"""

from __future__ import annotations

import random
import re

import numpy as np
import pytest
import scipy.sparse as sp

from pipeline import config
from pipeline.classify import features as F
from pipeline.classify.classifier import BulletinClassifier, complete_labels, load_tiebreaks
from pipeline.classify.labeled import load_corpus, read_labeled
from pipeline.classify.metrics import label_matrix
from pipeline.classify.reading import (
    _AIMS,
    _BUT,
    _CLAUSE,
    _COUNTED,
    _EXAMINED,
    _MASK,
    _NAME,
    _NEGATED,
    _NOTHING,
    IMPOSTOR_PATTERNS,
    IMPOSTORS_ONLY,
    SIX_NAMES,
    examined_names,
    prepare,
    reports_impostors,
)
from pipeline.classify.segment import _JUNK, load_stopwords, segment, tokenize
from pipeline.taxonomy import CATEGORIES, cue_terms

#: Patterns of every kind the index must read right or leave to a plain search.
TRICKY = [
    r"a.b",
    r"^ab",
    r"a$",
    r"(?<=x)y",
    r"[^a]b",
    r"\sb",
    r"a\nb",
    r"(?i)AB",
    r"a*",
    r"",
    r"x{2,}y",
    r"(ab|cd)e",
    r"[a-c]{0,2}d",
    r"(?s)a.b",
    r"\d\d",
    r"好.{0,3}处",
    r"\bab",
    r"(?<!x)ab",
    r"a(?=b)",
    r"(?:ab)+c",
    r"(ab)\1",
    r"[ab]{3}",
    r"x??y",
    r"ab|^c|d$",
    r"处$",
    r"(?i:a)b",
    r"a{0}b",
]


@pytest.fixture(scope="module")
def passages() -> list[str]:
    files = sorted(config.LABELED_DIR.glob("*.jsonl")) + sorted(config.HELDOUT_DIR.glob("*.jsonl"))
    return [r.text for p in files for r in read_labeled(p)]


@pytest.fixture(scope="module")
def sentences(passages) -> list[str]:
    edge = ["", " ", "a", "执法", "吃拿\n卡要", "请吃\n饭", "\n", "好处费\n好处费", "\x00执法\x00吃拿卡要"]
    return [s for t in passages for s in F.split_sentences(prepare(t))] + passages + edge


def random_texts(n: int, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    alphabet = "abcdxy \n好处费吃拿"
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12))) for _ in range(n)]


def test_features_concept_and_cue_terms_of_many_texts_are_one_by_one_terms(sentences):
    assert F.concept_terms_many(sentences) == [F.concept_terms(s) for s in sentences]
    assert F.cue_terms_many(sentences) == [cue_terms(s) for s in sentences]


@pytest.mark.parametrize("seed", [1, 2])
def test_features_patterns_found_are_what_search_finds(seed):
    patterns = tuple(re.compile(p) for p in TRICKY) + tuple(r.pattern for r in load_tiebreaks())
    texts = random_texts(3000, seed) + ["执法车接孩子", "协管员单独上路", "交了钱就放行"]
    expected = [sum(1 << k for k, p in enumerate(patterns) if p.search(t)) for t in texts]
    assert F.patterns_found(patterns, texts) == expected


def test_features_match_starts_are_read_or_left_to_search():
    assert F._match_starts(re.compile("罚款(指标|任务)|创收")) == (frozenset(), frozenset({"罚款", "创收"}))
    assert F._match_starts(re.compile("(扣|押).{0,6}多日")) == (frozenset({"扣", "押"}), frozenset())
    for unknown in ("a*", ".b", "(?i)ab", "[^a]b", r"\db", ""):
        assert F._match_starts(re.compile(unknown)) is None


def test_features_key_table_finds_what_searchsorted_finds():
    rng = np.random.default_rng(0)
    for n in (0, 1, 2, 5, 100, 5000):
        keys = np.unique(rng.integers(0, 10**12, n))
        queries = np.concatenate([keys, rng.integers(0, 10**12, 1000), keys[::-1]])
        pos = np.searchsorted(keys, queries).clip(0, max(len(keys) - 1, 0))
        expected = np.where(keys[pos] == queries, pos, -1) if len(keys) else np.full(len(queries), -1)
        assert np.array_equal(F._KeyTable(keys).find(queries), expected)


def test_features_char_grams_fit_as_unique_counting(sentences):
    texts = sentences[::7]
    grams = F._CharGrams(max_features=3000).fit(texts)
    # The reference: distinct (key, passage) pairs by np.unique, occurrences likewise.
    keys, rows = F._char_keys(texts)
    pairs = np.unique(np.stack([keys, rows]), axis=1)
    uniq, df = np.unique(pairs[0], return_counts=True)
    common = df >= 2
    uniq, df = uniq[common], df[common]
    all_keys, tf = np.unique(keys, return_counts=True)
    tf = tf[np.searchsorted(all_keys, uniq)]
    order = np.sort(np.lexsort((uniq, -tf))[:3000])
    assert np.array_equal(grams.keys_, uniq[order]) and np.array_equal(grams.df_, df[order])


def _terms_matrix(terms: list[list[str]], vocab: dict[str, int]) -> sp.csr_matrix:
    rows = [i for i, ts in enumerate(terms) for t in ts if t in vocab]
    cols = [vocab[t] for ts in terms for t in ts if t in vocab]
    return sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(len(terms), len(vocab)))


def _same(a: sp.csr_matrix, b: sp.csr_matrix) -> bool:
    a, b = a.tocsr(copy=True), b.tocsr(copy=True)
    a.sum_duplicates()
    b.sum_duplicates()
    return all(np.array_equal(x, y) for x, y in ((a.indptr, b.indptr), (a.indices, b.indices), (a.data, b.data)))


def test_features_word_counts_by_token_numbers_are_term_counts(sentences):
    words = F._Terms("words", min_df=2).fit(sentences[::3])
    expected = _terms_matrix([F._word_terms(s) for s in sentences], words.vocabulary_)
    assert _same(words.counts(sentences), expected)
    assert _same(words.counts(sentences, canonical=False), expected)
    assert _same(words.counts(sentences, memo=F.TextMemo()), expected)


def test_features_thesaurus_counts_by_word_columns_are_term_counts(sentences):
    thesaurus = F._Terms("thesaurus", min_df=2).fit(sentences[::3])
    expected = _terms_matrix([F.thesaurus_terms_of(F.segment(s, hmm=False)) for s in sentences], thesaurus.vocabulary_)
    assert thesaurus.vocabulary_ and expected.nnz
    assert _same(thesaurus.counts(sentences), expected)
    assert _same(thesaurus.counts(sentences, canonical=False), expected)
    assert _same(thesaurus.counts(sentences, memo=F.TextMemo()), expected)


def _tfidf_reference(counts: sp.csr_matrix, idf: np.ndarray) -> sp.csr_matrix:
    """The plain weighting: rows scaled by a product with a diagonal matrix."""
    x = counts.tocsr(copy=True)
    x.sum_duplicates()
    x.data = (1.0 + np.log(x.data)) * idf[x.indices]
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sp.csr_matrix(sp.diags(1.0 / norms) @ x, dtype=np.float32)


def _identical(a: sp.csr_matrix, b: sp.csr_matrix) -> bool:
    """Same entries in the same order (the order the scores are summed in)."""
    return a.shape == b.shape and all(
        np.array_equal(x, y) for x, y in ((a.indptr, b.indptr), (a.indices, b.indices), (a.data, b.data))
    )


def test_features_windows_weighted_as_the_plain_product(sentences, passages):
    fitted = F.TextFeatures().fit(passages[::4])
    texts = passages[1::9] + ["好。好。好。", "执法人员吃拿卡要。执法人员吃拿卡要。群众不满。", ""]
    X, owner = fitted.windows(texts)
    # The reference: every window a sum of its sentences' counts, weighed the plain way.
    index: dict[str, int] = {}
    rows, expected_owner = [], []
    for i, text in enumerate(texts):
        idx = [index.setdefault(s, len(index)) for s in F.split_sentences(prepare(text))]
        windows = [idx]
        if len(idx) > 1:
            windows += [[j] for j in idx]
        if len(idx) > 2:
            windows += [[a, b] for a, b in zip(idx, idx[1:])]
        rows += windows
        expected_owner += [i] * len(windows)
    agg = sp.csr_matrix(
        (
            np.ones(sum(map(len, rows)), dtype=np.float32),
            (np.repeat(np.arange(len(rows)), [len(r) for r in rows]), np.concatenate(rows)),
        ),
        shape=(len(rows), len(index)),
    )
    blocks = []
    for b in fitted.blocks:
        counts = agg @ fitted.counters_[b].counts(list(index))
        blocks.append(
            _tfidf_reference(counts, fitted.idf_[b])
            if b in fitted.idf_
            else sp.csr_matrix(counts > 0, dtype=np.float32)
        )
    assert _identical(X, sp.hstack(blocks, format="csr").astype(np.float32))
    assert np.array_equal(owner, expected_owner)
    whole = fitted.transform(texts)
    reference = [
        _tfidf_reference(fitted.counters_[b].counts([prepare(t) for t in texts]), fitted.idf_[b])
        if b in fitted.idf_
        else sp.csr_matrix(fitted.counters_[b].counts([prepare(t) for t in texts]) > 0, dtype=np.float32)
        for b in fitted.blocks
    ]
    assert _identical(whole, sp.hstack(reference, format="csr").astype(np.float32))


def test_features_idf_from_fitting_counts_is_idf_from_a_count_matrix(passages):
    texts = [prepare(t) for t in passages[::5]]
    fitted = F.TextFeatures().fit(passages[::5])
    for b in ("words", "chars"):
        df = np.bincount(fitted.counters_[b].counts(texts).indices, minlength=len(fitted.idf_[b]))
        assert np.array_equal(fitted.idf_[b], np.log((1 + len(texts)) / (1 + df)) + 1.0)


def test_features_memo_gives_the_same_features(passages):
    """A fit that reads each passage once (a memo shared by two fits, as by the folds of one)
    gives the features of fits that read them every time."""
    memo = F.TextMemo()
    for part in (passages[::6], passages[1::6]):
        plain, memoised = F.TextFeatures().fit(part), F.TextFeatures().fit(part, memo)
        state, arrays = plain.state()
        state_m, arrays_m = memoised.state()
        assert state == state_m and all(np.array_equal(arrays[k], arrays_m[k]) for k in arrays)
        assert _identical(plain.transform(part), memoised.transform(part, memo))
        others = passages[2::11]
        (X, owner), (X_m, owner_m) = plain.windows(others), memoised.windows(others, memo=memo)
        assert _identical(X, X_m) and np.array_equal(owner, owner_m)


# --- reading and segmentation ----------------------------------------------------------------


def _prepare_reference(text: str) -> str:
    text = SIX_NAMES.sub(lambda m: _MASK if len(set(re.findall(_NAME, m.group(0)))) >= 3 else m.group(0), text)
    clauses = [c for c in _CLAUSE.split(text) if c]
    kept = [c for c in clauses if not (_NEGATED.search(c) and not _BUT.search(c))]
    return "".join(kept) if kept else _NOTHING


def _examined_reference(text: str) -> list[str]:
    counted = set(_COUNTED.findall(text))
    names: set[str] = counted if len(counted) >= 3 else set()
    for sentence in re.split(r"(?<=[。！？；])", text):
        for m in SIX_NAMES.finditer(sentence):
            listed = set(re.findall(_NAME, m.group(0)))
            if len(listed) >= 3 and _EXAMINED.search(sentence) and not _AIMS.search(sentence):
                names |= listed
    return [c for c in CATEGORIES if c in names]


def test_reading_quick_tests_change_nothing(passages):
    six = "、".join(CATEGORIES)
    texts = passages + [
        "",
        "未发现问题",
        f"围绕{six}等问题开展座谈。",
        f"聚焦{six}六个方面。",
        "宗旨不牢、作风不优问题，检查未发现。",
    ]
    assert [prepare(t) for t in texts] == [_prepare_reference(t) for t in texts]
    assert [examined_names(t) for t in texts] == [_examined_reference(t) for t in texts]


def test_segment_tokenize_keeps_what_the_plain_filter_keeps(passages):
    stop = load_stopwords()
    for text in passages[::3]:
        words = segment(text, hmm=False)
        assert tokenize(text) == [w for w in words if w.strip() and w not in stop and not _JUNK.match(w)]


# --- the classifier --------------------------------------------------------------------------


def test_classifier_best_window_is_the_first_best_row(default_model):
    clf = default_model.classifier
    texts = [r.text for r in load_corpus()][::25] + ["", "好。好。"]
    out, best, X, owner = clf.score_windows(texts)
    proba = clf._proba(X)
    for i in range(len(texts)):
        rows = np.flatnonzero(owner == i)
        arg = rows[proba[rows].argmax(axis=0)]
        assert np.array_equal(best[i], arg) and np.array_equal(out[i], proba[arg, np.arange(proba.shape[1])])


def test_classifier_rules_found_at_once_complete_as_one_by_one(passages):
    rules = tuple(r.pattern for r in load_tiebreaks())
    found = F.patterns_found(rules, passages)
    rng = random.Random(3)
    for text, mask in zip(passages, found):
        labels = set(rng.sample(CATEGORIES, rng.randint(0, 3)))
        assert complete_labels(text, labels, mask) == complete_labels(text, labels)


def test_classifier_impostors_found_at_once_as_read_one_by_one(passages):
    texts = passages + ["有人冒充交通执法人员拦车收钱。", "协管员假冒执法人员拦车。", "身穿仿制的执法制服。"]
    found = F.patterns_found(IMPOSTOR_PATTERNS, texts)
    assert [m == IMPOSTORS_ONLY for m in found] == [reports_impostors(t) for t in texts]
    assert any(m == IMPOSTORS_ONLY for m in found)


def test_classifier_fit_with_memo_is_the_fit_without(passages):
    rows = load_corpus()[::20]
    texts, y = [r.text for r in rows], label_matrix([r.labels for r in rows])
    plain, memoised = BulletinClassifier(), BulletinClassifier()
    plain._fit_core(texts, y, None)
    memoised._fit_core(texts, y, None, F.TextMemo())
    assert np.array_equal(plain.coef_, memoised.coef_) and np.array_equal(plain.intercept_, memoised.intercept_)
    assert not hasattr(memoised, "_memo")


def test_features_thesaurus_gives_synonyms_one_term():
    from pipeline.classify.features import thesaurus_terms_of

    bribe, offer = (thesaurus_terms_of(segment(w, hmm=False)) for w in ("贿赂", "行贿"))
    assert "S:Hn09B01=" in bribe and "S:Hn09B01=" in offer and "G:Hn09B" in bribe
    assert thesaurus_terms_of(segment("的", hmm=False)) == []  # stopwords give nothing


def test_features_thesaurus_table_holds_cilin_codes():
    from pipeline.classify.features import load_thesaurus

    table = load_thesaurus()
    assert len(table) > 77_000
    codes = [c for v in list(table.values())[::97] for c in v.split()]
    assert codes and all(len(c) == 8 and c[-1] in "=#@" for c in codes)


def test_features_one_memo_per_call_segments_each_text_once(monkeypatch):
    from pipeline.classify import features as F

    calls = []
    real = F.segment
    monkeypatch.setattr(F, "segment", lambda t, hmm=True: calls.append(t) or real(t, hmm=hmm))
    feats = F.TextFeatures().fit(["执法人员收受贿赂。", "执法人员推诿扯皮。", "执法人员收受贿赂。"])
    calls.clear()
    feats.windows(["执法人员收受贿赂。执法人员推诿扯皮。"], min_sentences=2)
    assert calls and sorted(calls) == sorted(set(calls))
