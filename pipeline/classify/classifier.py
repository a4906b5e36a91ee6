"""The classifier, as one object: what ``bulletins predict`` does is :meth:`predict`.

:class:`BulletinClassifier` follows scikit-learn's ``fit``/``predict`` conventions and
holds everything a prediction needs:

1. features (:class:`pipeline.classify.features.TextFeatures`) of the passage and, for long
   passages (:data:`WINDOW_SENTENCES`), of its sentence windows;
2. one logistic regression per category (one-vs-rest, balanced classes), and one more, the
   *gate*, for "reports any problem at all"; optionally (``hidden``) averaged with a small
   neural network (one hidden layer, :data:`NETWORK_UNITS` units) on the same features, whose
   hidden units can combine words (a topic word *and* a sign of a problem) where a linear model
   can only add them, and which also learns from passages glued to passages reporting no
   problem (labels: the first's), so that one sentence of a problem inside routine text still
   counts (:func:`glued_passages`). A long passage keeps the best probability over its windows, so
   one sentence reporting a problem in a long paragraph is not diluted by the rest;
3. per-category thresholds and a gate threshold, chosen on out-of-fold probabilities: a
   passage the gate finds no problem in gets no category unless one scores at least
   :data:`GATE_OVERRIDE` (the gate halves the categories given to passages that report none:
   topic words without a problem);
4. the labeling guide's tie-breaks as label-completion rules
   (``corpus/dictionaries/tiebreaks.tsv``: 公车私用 tags 作风不优 + 执法不廉 …), which fire when
   the model found one of a rule's categories; and the six category names listed as topics
   examined (座谈, 问卷, 排查 …) tag every name listed; a passage about people posing as
   enforcers gets no category (:func:`pipeline.classify.reading.reports_impostors`).

The fitted state is plain data (:meth:`state` / :meth:`from_state`): vocabularies, idf
weights, coefficients and thresholds; loading it runs no code from the model folder.
"""

from __future__ import annotations

import csv
import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from pipeline import config
from pipeline.classify.features import BLOCKS, TextFeatures, TextMemo, patterns_found
from pipeline.classify.metrics import label_matrix
from pipeline.classify.reading import IMPOSTOR_PATTERNS, IMPOSTORS_ONLY, examined_names
from pipeline.taxonomy import CATEGORIES

#: Candidate thresholds searched per category.
THRESHOLD_GRID = np.round(np.arange(0.10, 0.91, 0.025), 3)
#: F1 within this much of the best counts as a tie when choosing a threshold.
THRESHOLD_TOLERANCE = 0.005
#: Passages are scored in sentence windows only from this many sentences: windows of short
#: passages take the best of several noisy scores. Chosen on out-of-fold macro-F1 (corpus, 5
#: folds) and the development set ``corpus/dev`` (a ``fit`` with each value):
#: windows from 2 / 4 / 6 / 10 sentences or never gave OOF 0.855 / 0.860 / 0.860 / 0.864 / 0.864
#: and dev 0.834 / 0.843 / 0.845 / 0.858 / 0.858. On ``corpus/dev/long.jsonl`` (paragraphs of
#: 5-7 sentences, one of them naming a problem; its writer's labels, before 4 were
#: adjudicated), windows from 4 / 5 / 6 / 8 / 10 gave 0.927 / 0.927 / 0.929 / 0.920 / 0.920:
#: less than the others lose. From 10 keeps the windows for the longest paragraphs (one
#: sentence of a problem among many of measures).
WINDOW_SENTENCES = 10
#: A category scored at least this is given even where the gate finds no problem: the gate is
#: one model of "any problem" and closed, just below its threshold, on passages as plain as
#: 执法人员态度粗暴，辱骂货车司机 (作风不优 0.95, gate 0.48). On out-of-fold and dev-set macro-F1
#: the override ties with none (0.864 and 0.858 with 0.9 or none; 0.85 and 0.8 differ by at
#: most 0.006 and flag more no-problem passages), so the highest tried that fixes such vetoes.
GATE_OVERRIDE = 0.9
#: Hidden units of the network averaged with the regressions when it is on (``hidden``; off by
#: default, ``bulletins train --network``). Measured on the development sets by
#: ``benchmarks/bench_choices.py`` (the corpus without its held-out split; mean macro-F1 over dev,
#: long, registers and registers2): the regressions alone 0.890, with this network 0.900 (out-of-fold
#: 0.862 -> 0.871; every set up but long, 0.921 -> 0.914), 16 units 0.887; trained on the passages
#: alone, without glued ones, it loses long paragraphs (0.881) and the mean (0.885). Off by default
#: because it costs about 15% of prediction speed (paired runs, ``bench_classifier.py --against``),
#: which takes the default under the 5,000 passages/s per core it must keep.
NETWORK_UNITS = 32
#: Glued passages per training passage, for the network (see :func:`glued_passages`).
GLUED = 0.5


@dataclass(frozen=True)
class TieBreak:
    name: str
    pattern: re.Pattern
    labels: tuple[str, ...]


@lru_cache(maxsize=4)
def load_tiebreaks(path: Path = config.TIEBREAKS) -> tuple[TieBreak, ...]:
    """The guide's tie-breaks as rules: a pattern and the categories it completes."""
    with open(path, encoding="utf-8", newline="") as fh:
        return tuple(
            TieBreak(row["rule"], re.compile(row["pattern"]), tuple(row["labels"].split("、")))
            for row in csv.DictReader(fh, delimiter="\t")
        )


def best_thresholds(y: np.ndarray, proba: np.ndarray) -> list[float]:
    """Per-category thresholds that maximise F1 on out-of-fold probabilities.

    The F1 curve is flat near its top, and where exactly the top falls is noise of the
    folds: among thresholds within :data:`THRESHOLD_TOLERANCE` of the best F1, the one
    closest to 0.5 is taken, so that no category gets an extreme cut by chance.
    """
    out = []
    for k in range(y.shape[1]):
        f1s = []
        for t in THRESHOLD_GRID:
            pred = proba[:, k] >= t
            tp = int(np.sum(pred & (y[:, k] == 1)))
            denom = int(pred.sum()) + int(y[:, k].sum())
            f1s.append(2 * tp / denom if denom else 0.0)
        top = max(f1s)
        near = [float(t) for t, f in zip(THRESHOLD_GRID, f1s) if f >= top - THRESHOLD_TOLERANCE]
        out.append(min(near, key=lambda t: (abs(t - 0.5), t)))
    return out


def complete_labels(text: str, labels: set[str], found: int | None = None) -> set[str]:
    """Labels after the guide's tie-breaks and the examined-names rule.

    Args:
        text: the passage.
        labels: the categories the model found.
        found: which rules' patterns the text matches, if known (bit ``k`` for rule ``k``,
            as :func:`pipeline.classify.features.patterns_found` gives them).
    """
    out = set(labels)
    if found is None:
        for rule in load_tiebreaks():
            if out.intersection(rule.labels) and rule.pattern.search(text):
                out.update(rule.labels)
    elif found:
        for k, rule in enumerate(load_tiebreaks()):
            if found >> k & 1 and out.intersection(rule.labels):
                out.update(rule.labels)
    out.update(examined_names(text))
    return out


def glued_passages(
    texts: Sequence[str], y: np.ndarray, share: float, seed: int
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Passages glued to one to three passages reporting no problem, in a random order:
    ``share`` times as many as ``texts``, each labeled as the passage it was built around (the
    others add nothing by definition). Returns the glued texts, their labels and, per glued
    text, the index of that passage (for its weight). Seeded: the same passages give the same
    glued ones."""
    rng = np.random.default_rng(seed)
    plain = np.flatnonzero(y.max(axis=1) == 0) if len(y) else np.zeros(0, dtype=int)
    out: list[str] = []
    source: list[int] = []
    if not len(plain):
        return out, y[:0], np.zeros(0, dtype=int)
    for _ in range(int(share * len(texts))):
        first = int(rng.integers(len(texts)))
        parts = [first, *rng.choice(plain, size=int(rng.integers(1, 4))).tolist()]
        rng.shuffle(parts)
        out.append("".join(t if t.endswith(("。", "！", "？", "；")) else t + "。" for t in (texts[j] for j in parts)))
        source.append(first)
    idx = np.array(source, dtype=int)
    return out, y[idx], idx


@dataclass
class BulletinClassifier:
    """Multi-label classifier of passages into the six categories.

    Args:
        C: inverse regularisation of the logistic regressions.
        windows: score sentence windows as well as the whole passage (the best counts).
        window_sentences: only in passages of at least this many sentences.
        gate_override: a category scored at least this passes a closed gate (None: never).
        rules: apply the tie-break rules after the thresholds.
        gate: give no category where the gate finds no problem.
        cautious_gate: of gate thresholds tying on out-of-fold F1, take the highest (else the
            one nearest 0.5); see :meth:`_best_gate`.
        impostors: give no category to passages about people posing as enforcers (with
            ``rules``; see :func:`pipeline.classify.reading.reports_impostors`).
        hidden: hidden units of the network averaged with the regressions (0: none; see
            :data:`NETWORK_UNITS`).
        glued: glued passages per training passage for the network (:func:`glued_passages`).
        folds: cross-validation folds for the thresholds.
        seed: random state of the folds.
        blocks: feature blocks (see :mod:`pipeline.classify.features`), for ablations.
    """

    C: float = 8.0
    windows: bool = True
    window_sentences: int = WINDOW_SENTENCES
    gate_override: float | None = GATE_OVERRIDE
    rules: bool = True
    gate: bool = True
    cautious_gate: bool = True
    impostors: bool = True
    hidden: int = 0
    glued: float = GLUED
    folds: int = 5
    seed: int = config.SEED
    blocks: tuple[str, ...] = BLOCKS
    progress: Callable[[str], None] | None = field(default=None, repr=False, compare=False)
    #: The fitted network's weights (w1, b1, w2, b2), or None: regressions only.
    network_: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    # --- fitting ---------------------------------------------------------------------------

    def _fit_weights(self, X: sp.csr_matrix, y: np.ndarray, weight: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """Weights of the categories' regressions and, last, the gate's (any category).

        liblinear's dual solver (coordinate descent): the same objective and optimum as its
        primal one (coefficients within about 0.002), many times faster on passages' many
        more features than passages. It visits the passages in a random order: seeded, so
        that the same passages and seed give the same weights.
        """
        from sklearn.linear_model import LogisticRegression  # fitting only: prediction needs none

        y = np.column_stack([y, y.max(axis=1)])
        coef = np.zeros((y.shape[1], X.shape[1]))
        intercept = np.zeros(y.shape[1])
        for k in range(y.shape[1]):
            lr = LogisticRegression(
                C=self.C, class_weight="balanced", max_iter=3000, solver="liblinear", dual=True, random_state=self.seed
            )
            lr.fit(X, y[:, k], sample_weight=weight)
            coef[k], intercept[k] = lr.coef_.ravel(), lr.intercept_[0]
        return coef, intercept

    def oof_scores(
        self,
        texts: Sequence[str],
        labels: Sequence[Sequence[str]],
        weight: Sequence[float] | None = None,
        memo: TextMemo | None = None,
    ) -> np.ndarray:
        """Out-of-fold scores of every passage (each scored by a model that never saw it).

        What the folds read of each passage is worked out once (``memo``, a new one when
        none is given; see :class:`pipeline.classify.features.TextMemo`); :meth:`fit` passes
        its own, so that the final fit reads nothing again.
        """
        from sklearn.model_selection import KFold

        texts = list(texts)
        y = label_matrix(labels)
        w = None if weight is None else np.asarray(weight, dtype=float)
        memo = TextMemo() if memo is None else memo
        out = np.zeros((y.shape[0], y.shape[1] + 1))
        splits = list(KFold(n_splits=self.folds, shuffle=True, random_state=self.seed).split(texts))
        for n, (train, test) in enumerate(splits, start=1):
            if self.progress:
                self.progress(f"fold {n}/{len(splits)}")
            part = type(self)(**self._params())
            part._fit_core([texts[i] for i in train], y[train], None if w is None else w[train], memo)
            out[test] = part.score_windows([texts[i] for i in test], memo)[0]
        return out

    def _params(self) -> dict:
        return {
            "C": self.C,
            "windows": self.windows,
            "window_sentences": self.window_sentences,
            "gate_override": self.gate_override,
            "rules": self.rules,
            "gate": self.gate,
            "cautious_gate": self.cautious_gate,
            "impostors": self.impostors,
            "hidden": self.hidden,
            "glued": self.glued,
            "folds": self.folds,
            "seed": self.seed,
            "blocks": self.blocks,
        }

    def _fit_core(
        self, texts: list[str], y: np.ndarray, weight: np.ndarray | None, memo: TextMemo | None = None
    ) -> None:
        """Fit the features, the regressions and the network (``memo``: see :meth:`oof_scores`)."""
        self.features_ = TextFeatures(self.blocks).fit(texts, memo)
        X = self.features_.transform(texts, memo)
        self.coef_, self.intercept_ = self._fit_weights(X, y, weight)
        self.network_ = self._fit_network(texts, X, y, weight, memo) if self.hidden else None

    def _fit_network(
        self, texts: list[str], X: sp.csr_matrix, y: np.ndarray, weight: np.ndarray | None, memo: TextMemo | None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Weights of the network (one ReLU layer; sigmoid outputs: the categories, then the
        gate), on the passages and :func:`glued_passages` of them. Adam from a seeded start,
        passages in a seeded order: the same passages and seed give the same weights."""
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPClassifier  # fitting only: prediction needs none

        glued, yg, source = glued_passages(texts, y, self.glued, self.seed)
        if glued:
            X = sp.vstack([X, self.features_.transform(glued, memo)], format="csr")
            y = np.vstack([y, yg])
            if weight is not None:
                weight = np.concatenate([weight, weight[source]])
        net = MLPClassifier(
            hidden_layer_sizes=(self.hidden,),
            alpha=1e-4,
            batch_size=min(256, X.shape[0]),
            max_iter=20,
            random_state=self.seed,
        )
        with warnings.catch_warnings():  # 20 passes by design: more fit the team's phrasing
            warnings.simplefilter("ignore", ConvergenceWarning)
            net.fit(X, np.column_stack([y, y.max(axis=1)]), sample_weight=weight)
        w1, w2 = net.coefs_
        b1, b2 = net.intercepts_
        return w1.astype(np.float32), b1.astype(np.float32), w2.astype(np.float32), b2.astype(np.float32)

    def fit(
        self, texts: Sequence[str], labels: Sequence[Sequence[str]], sample_weight: Sequence[float] | None = None
    ) -> BulletinClassifier:
        """Fit the features and weights, and choose thresholds by cross-validation.

        Args:
            texts: passages.
            labels: their label sets.
            sample_weight: how much each passage counts (users' own labels count more);
                thresholds are chosen on out-of-fold scores, weighted alike.
        """
        texts = list(texts)
        y = label_matrix(labels)
        memo = TextMemo()  # one fit's readings, for its folds and its final fit
        oof = self.oof_scores(texts, labels, sample_weight, memo)
        self.thresholds_ = np.array(best_thresholds(y, oof[:, :-1]))
        self.gate_threshold_ = self._best_gate(texts, labels, oof) if self.gate else 0.0
        self.oof_ = oof
        if self.progress:
            self.progress("final fit")
        self._fit_core(texts, y, None if sample_weight is None else np.asarray(sample_weight, dtype=float), memo)
        return self

    def _best_gate(self, texts: list[str], labels: Sequence[Sequence[str]], oof: np.ndarray) -> float:
        """The gate threshold with the best out-of-fold macro-F1; 0 turns the gate off.

        Among thresholds within :data:`THRESHOLD_TOLERANCE` of the best, the highest (with
        ``cautious_gate``; else the one nearest 0.5, as models before it did): the
        one that tags fewest passages reporting no problem, which out-of-fold F1 (scored on
        the team's own phrasing) cannot tell apart but other writers' text can. Chosen on the
        development sets (``corpus/dev``, never trained on) against the threshold nearest
        0.5 (0.55 against 0.50 for the corpus): no-problem passages flagged 8.5% -> 7.9%
        (``registers``) and 6.5% -> 5.6% (``hardneg``), macro-F1 +0.002 and +0.003, ``dev``
        and ``long`` within 0.001."""
        from pipeline.classify.metrics import metrics

        f1s = {}
        for t in (0.0, *np.round(np.arange(0.2, 0.71, 0.05), 2)):
            self.gate_threshold_ = float(t)
            f1s[float(t)] = metrics(labels, self.labels_from(texts, oof))["macro_f1"]
        top = max(f1s.values())
        ties = [t for t, f in f1s.items() if f >= top - THRESHOLD_TOLERANCE]
        return max(ties) if self.cautious_gate else min(ties, key=lambda t: (abs(t - 0.5), t))

    # --- prediction ------------------------------------------------------------------------

    def _proba(self, X: sp.csr_matrix) -> np.ndarray:
        """Probabilities of the categories and the gate: the regressions', or their mean with
        the network's."""
        z = X @ self.coef_.T + self.intercept_
        p = 1.0 / (1.0 + np.exp(-np.asarray(z)))
        if self.network_ is None:
            return p
        w1, b1, w2, b2 = self.network_
        h = np.maximum(np.asarray(X @ w1) + b1, 0.0)
        return 0.5 * p + 0.5 / (1.0 + np.exp(-(h @ w2 + b2)))

    def scores(self, texts: Sequence[str], gate: bool = False) -> np.ndarray:
        """(n, categories) probabilities, each the best over the passage's windows; with
        ``gate``, the gate's probability as a last column."""
        out = self.score_windows(texts)[0]
        return out if gate else out[:, :-1]

    def score_windows(
        self, texts: Sequence[str], memo: TextMemo | None = None
    ) -> tuple[np.ndarray, np.ndarray, sp.csr_matrix, np.ndarray]:
        """Scores, and for explanations: per passage and category the window row that gave
        the score, the window features and each row's passage (``memo``: see
        :class:`pipeline.classify.features.TextMemo`)."""
        texts = list(texts)
        if self.windows:
            X, owner = self.features_.windows(texts, memo=memo, min_sentences=self.window_sentences)
        else:
            X, owner = self.features_.transform(texts, memo), np.arange(len(texts))
        width = len(CATEGORIES) + 1  # the categories, then the gate
        proba = self._proba(X) if X.shape[0] else np.zeros((0, width))
        out = np.zeros((len(texts), width))
        best = np.zeros((len(texts), width), dtype=int)
        starts = np.searchsorted(owner, np.arange(len(texts)))
        stops = np.append(starts[1:], len(owner))
        has = stops > starts  # passages with at least one row (all of them, in practice)
        if has.any():
            # Per passage and column, the best row, the first of equals (as argmax): the
            # maximum of each passage's block of rows, then the first row reaching it.
            first = starts[has]
            top = np.maximum.reduceat(proba, first, axis=0)
            rows = np.arange(len(owner))
            at = np.where(proba == np.repeat(top, stops[has] - first, axis=0), rows[:, None], len(owner))
            out[has] = top
            best[has] = np.minimum.reduceat(at, first, axis=0)
        return out, best, X, owner

    def labels_from(self, texts: Sequence[str], scores: np.ndarray) -> list[list[str]]:
        """Label sets from scores (the categories', then the gate's): the gate, the
        thresholds, then the rules (impostors, tie-breaks, examined names)."""
        texts = list(texts)
        found = patterns_found(tuple(r.pattern for r in load_tiebreaks()), texts) if self.rules else []
        # As pipeline.classify.reading.reports_impostors reads each text, for all at once.
        posing = patterns_found(IMPOSTOR_PATTERNS, texts) if self.rules and self.impostors else []
        override = self.gate_override if self.gate_override is not None else np.inf
        out = []
        for i, (text, row) in enumerate(zip(texts, scores)):
            gate_open = row[-1] >= self.gate_threshold_
            labels = {
                c for c, s, t in zip(CATEGORIES, row, self.thresholds_) if s >= t and (gate_open or s >= override)
            }
            if self.rules:
                if labels and self.impostors and posing[i] == IMPOSTORS_ONLY:
                    labels = set()
                labels = complete_labels(text, labels, found[i])
            out.append([c for c in CATEGORIES if c in labels])
        return out

    def predict(self, texts: Sequence[str]) -> list[list[str]]:
        """The label set of each passage (categories in the guide's order)."""
        texts = list(texts)
        return self.labels_from(texts, self.scores(texts, gate=True))

    # --- plain-data state ------------------------------------------------------------------

    def state(self) -> tuple[dict, dict[str, np.ndarray]]:
        """Everything prediction needs, as JSON-ready metadata and arrays."""
        meta, arrays = self.features_.state()
        meta = {"params": self._params(), "features": meta, "categories": list(CATEGORIES)}
        arrays = {
            **arrays,
            "coef": self.coef_,
            "intercept": self.intercept_,
            "thresholds": self.thresholds_,
            "gate_threshold": np.array([self.gate_threshold_]),
        }
        if self.network_ is not None:
            arrays.update(zip(("net_w1", "net_b1", "net_w2", "net_b2"), self.network_))
        return meta, arrays

    @classmethod
    def from_state(cls, meta: dict, arrays: dict[str, np.ndarray]) -> BulletinClassifier:
        params = dict(meta["params"])
        params.setdefault("window_sentences", 2)  # models saved before it: windows from two sentences
        params.setdefault("gate_override", None)  # ... and a closed gate vetoed every category
        params.setdefault("cautious_gate", False)  # ... and gate ties went to the threshold nearest 0.5
        params.setdefault("impostors", False)  # ... and passages about impostors were scored as any other
        params.setdefault("hidden", 0)  # ... and the regressions scored alone
        params.setdefault("glued", 0.0)
        params["blocks"] = tuple(params["blocks"])
        self = cls(**params)
        self.features_ = TextFeatures.from_state(meta["features"], arrays)
        self.coef_ = np.asarray(arrays["coef"], dtype=np.float64)
        self.intercept_ = np.asarray(arrays["intercept"], dtype=np.float64)
        self.thresholds_ = np.asarray(arrays["thresholds"], dtype=np.float64)
        self.gate_threshold_ = float(arrays["gate_threshold"][0])
        if "net_w1" in arrays:
            w1, b1, w2, b2 = (np.asarray(arrays[k], dtype=np.float32) for k in ("net_w1", "net_b1", "net_w2", "net_b2"))
            self.network_ = (w1, b1, w2, b2)
        return self
