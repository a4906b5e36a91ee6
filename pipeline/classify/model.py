"""Stage 5, classify: the multi-label model, its sidecar, loading and prediction.

The model is a stock scikit-learn :class:`~sklearn.pipeline.Pipeline`: TF-IDF over jieba
words (unigrams and bigrams) and over character 1–3-grams (a segmentation-free signal that
also survives segmentation errors), then one-vs-rest linear SVMs with sigmoid-calibrated
probabilities. Per-category decision thresholds, chosen by cross-validation, live in the
JSON sidecar next to the pickled pipeline, with everything needed to trust the file:
library versions, categories, training-data hash, sample counts, metrics and the SHA-256
of the pickle, verified before it is ever unpickled.
"""

from __future__ import annotations

import logging
import platform
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer
from sklearn.model_selection import KFold
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.svm import LinearSVC

from pipeline import config
from pipeline.classify.metrics import label_matrix, metrics
from pipeline.classify.model_files import META_FILE, MODEL_FILE, read_meta, resolve_model_dir, write_meta  # noqa: F401 (re-exported)
from pipeline.classify.segment import dictionary_hash, jieba_version, tokenize
from pipeline.errors import ModelError
from pipeline.readers.hashing import file_sha256
from pipeline.taxonomy import CATEGORIES, PREDICTION_COLUMNS, cue_terms

if TYPE_CHECKING:
    from pipeline.classify.labeled import Labeled

log = logging.getLogger(__name__)

#: Candidate thresholds searched per category.
THRESHOLD_GRID = np.round(np.arange(0.10, 0.91, 0.025), 3)
EVIDENCE_TERMS = 5


def build_pipeline(seed: int = config.SEED) -> Pipeline:
    """The untrained classifier.

    Args:
        seed: random state for the SVMs (the fit is deterministic given data and seed).

    Returns:
        A scikit-learn Pipeline (features -> one-vs-rest calibrated linear SVMs).
    """
    # Counts and TF-IDF weighting are separate steps so that prediction can add up the
    # counts of sentences into windows without segmenting the text twice (see score()).
    words = Pipeline(
        [
            (
                "counts",
                CountVectorizer(
                    tokenizer=tokenize,
                    token_pattern=None,
                    lowercase=False,
                    ngram_range=(1, 2),
                    min_df=2,
                    dtype=np.float32,
                ),
            ),
            ("tfidf", TfidfTransformer(sublinear_tf=True)),
        ]
    )
    chars = Pipeline(
        [
            (
                "counts",
                CountVectorizer(analyzer="char", ngram_range=(1, 3), min_df=2, max_features=60000, dtype=np.float32),
            ),
            ("tfidf", TfidfTransformer(sublinear_tf=True)),
        ]
    )
    # The guide's cue words, and one tag per category any of whose cues occurs: knowledge
    # that generalises beyond the phrasing of the training passages.
    cues = Pipeline(
        [
            ("counts", CountVectorizer(analyzer=cue_terms, binary=True, dtype=np.float32)),
            ("tfidf", TfidfTransformer(use_idf=False, norm=None)),
        ]
    )
    features = FeatureUnion([("words", words), ("chars", chars), ("cues", cues)])
    svm = LinearSVC(C=1.0, class_weight="balanced", random_state=seed)
    clf = OneVsRestClassifier(CalibratedClassifierCV(svm, method="sigmoid", cv=3))
    return Pipeline([("features", features), ("clf", clf)])


#: F1 within this much of the best counts as a tie when choosing a threshold.
THRESHOLD_TOLERANCE = 0.005


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


def fit(
    texts: Sequence[str],
    labels: Sequence[Sequence[str]],
    seed: int = config.SEED,
    folds: int = 5,
    copies: Sequence[int] | None = None,
) -> tuple[Pipeline, list[float]]:
    """Fit the classifier and choose its thresholds by cross-validation.

    Args:
        texts: passages.
        labels: their label sets.
        seed: random state (folds and SVMs).
        folds: folds for the out-of-fold probabilities the thresholds are chosen on.
        copies: how many times each passage counts in the final fit (weighting by
            repetition, which every step of the pipeline honours); thresholds are chosen on
            the passages once each, so no copy is ever scored by a model trained on it.

    Returns:
        The fitted pipeline and one threshold per category.
    """
    y = label_matrix(labels)
    texts = list(texts)
    proba = oof_scores(texts, y, seed=seed, folds=folds)
    thresholds = best_thresholds(y, proba)
    if copies is not None and any(c != 1 for c in copies):
        index = np.repeat(np.arange(len(texts)), np.asarray(copies, dtype=int))
        texts, y = [texts[i] for i in index], y[index]
    return build_pipeline(seed).fit(texts, y), thresholds


def oof_scores(texts: Sequence[str], y: np.ndarray, seed: int = config.SEED, folds: int = 5) -> np.ndarray:
    """Out-of-fold :func:`score` of every passage (each scored by a model that never saw it).

    Args:
        texts: passages.
        y: their label matrix.
        seed: random state of the folds and the SVMs.
        folds: number of folds.

    Returns:
        An (n, categories) array of scores.
    """
    texts = list(texts)
    proba = np.zeros(y.shape, dtype=float)
    for train, test in kfold(len(texts), folds, seed):
        pipe = build_pipeline(seed).fit([texts[i] for i in train], y[train])
        proba[test] = score(pipe, [texts[i] for i in test])[0]
    return proba


def kfold(n: int, folds: int = 5, seed: int = config.SEED) -> list[tuple[np.ndarray, np.ndarray]]:
    """Shuffled K-fold (train, test) index pairs: the folds every evaluation here uses."""
    return list(KFold(n_splits=folds, shuffle=True, random_state=seed).split(np.arange(n)))


_SENTENCE_END = re.compile(r"(?<=[。！？；!?;])")


def split_sentences(text: str) -> list[str]:
    """Sentences of a passage (closing punctuation kept)."""
    return [s for s in _SENTENCE_END.split(text) if s.strip()] or [text]


def score(pipeline: Pipeline, texts: Sequence[str]) -> tuple[np.ndarray, list[np.ndarray], sp.csr_matrix]:
    """Category scores of passages: the best of the whole passage and its sentence windows.

    Training passages are one to five sentences; bulletin paragraphs run to fifteen, where
    one clause carries the signal and the rest dilutes it. Each passage is scored as a
    whole, sentence by sentence and by pairs of adjacent sentences, and keeps the highest
    calibrated probability per category. Sentences are counted once and windows are sums
    of their counts, so the text is segmented only once.

    Args:
        pipeline: a fitted pipeline from :func:`build_pipeline`.
        texts: passages.

    Returns:
        ``(scores, best_rows, X)``: an (n, categories) score array; per passage, the row
        of ``X`` that gave each category its score; and the TF-IDF matrix of all rows.
    """
    # Bulletins repeat boilerplate sentences ("确保专项整治行动取得实效。"): each distinct
    # sentence is segmented and counted once per call.
    index: dict[str, int] = {}
    rows: list[list[int]] = []  # per window: indices into the distinct sentences
    owner: list[int] = []
    for i, text in enumerate(texts):
        idx = [index.setdefault(part, len(index)) for part in split_sentences(text)]
        windows = [idx]
        if len(idx) > 1:
            windows += [[j] for j in idx] + [[a, b] for a, b in zip(idx, idx[1:])]
        rows += windows
        owner += [i] * len(windows)
    sentences = list(index)
    agg = sp.csr_matrix(
        (
            np.ones(sum(map(len, rows)), dtype=np.float32),
            (np.repeat(np.arange(len(rows)), [len(r) for r in rows]), np.concatenate(rows)),
        ),
        shape=(len(rows), len(sentences)),
    )
    union = pipeline.named_steps["features"]
    blocks = []
    for _, branch in union.transformer_list:
        counts = branch.named_steps["counts"].transform(sentences)
        blocks.append(branch.named_steps["tfidf"].transform(agg @ counts))
    X = sp.hstack(blocks, format="csr")
    proba = pipeline.named_steps["clf"].predict_proba(X)
    out = np.zeros((len(texts), proba.shape[1]))
    best_rows: list[np.ndarray] = []
    start = 0
    for i in range(len(texts)):
        stop = start
        while stop < len(owner) and owner[stop] == i:
            stop += 1
        block = proba[start:stop]
        arg = block.argmax(axis=0)
        out[i] = block[arg, np.arange(block.shape[1])]
        best_rows.append(start + arg)
        start = stop
    return out, best_rows, X


@dataclass(frozen=True)
class Model:
    """A loaded model: the pipeline, its sidecar metadata and where it came from."""

    pipeline: Pipeline
    meta: dict
    path: Path

    @property
    def version(self) -> str:
        return self.meta["version"]

    @property
    def thresholds(self) -> np.ndarray:
        return np.array([self.meta["thresholds"][c] for c in CATEGORIES])


def library_versions() -> dict[str, str]:
    """Versions of everything a pickled model depends on."""
    import joblib
    import scipy
    import sklearn

    return {
        "python": platform.python_version(),
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "joblib": joblib.__version__,
        "jieba": jieba_version(),
        "pandas": pd.__version__,
    }


def save_model(pipeline: Pipeline, thresholds: Sequence[float], folder: Path, meta: dict) -> Model:
    """Write a new model folder; an existing folder is never overwritten.

    Args:
        pipeline: the fitted pipeline.
        thresholds: one per category.
        folder: the new folder (must not exist).
        meta: extra metadata (training data, metrics); versions and hashes are added.

    Returns:
        The saved model.

    Raises:
        ModelError: the folder exists already.
    """
    import joblib

    folder = Path(folder)
    if folder.exists():
        raise ModelError(
            "a model folder of that name exists already", folder, "choose another --name; models are never overwritten"
        )
    folder.mkdir(parents=True)
    for _, branch in pipeline.named_steps["features"].transformer_list:
        # scikit-learn caches id(stop_words) on the vectorizer: a memory address, different
        # in every process, that would make the same model pickle to different bytes. It is
        # only a cache (re-validated when missing), so it is not saved.
        branch.named_steps["counts"].__dict__.pop("_stop_words_id", None)
    joblib.dump(pipeline, folder / MODEL_FILE, compress=3)
    sha = file_sha256(folder / MODEL_FILE)
    full = {
        "name": folder.name,
        "version": f"{folder.name}@{sha[:10]}",
        "categories": list(CATEGORIES),
        "thresholds": {c: float(t) for c, t in zip(CATEGORIES, thresholds)},
        "model_file": MODEL_FILE,
        "model_sha256": sha,
        "model_bytes": (folder / MODEL_FILE).stat().st_size,
        "dictionary_sha256": dictionary_hash(),
        "libraries": library_versions(),
        **meta,
    }
    write_meta(folder, full)
    return Model(pipeline, full, folder)


def load_model(name_or_dir: str | Path | None = None, models_dir: Path = config.MODELS_DIR) -> Model:
    """Load a model after verifying its file against the sidecar.

    A pickle is code: the file's SHA-256 must match the metadata before it is unpickled,
    and the scikit-learn version must be the one it was trained with.

    Args:
        name_or_dir: see :func:`resolve_model_dir`.
        models_dir: where named models live.

    Returns:
        The model.

    Raises:
        ModelError: missing folder or files, hash mismatch, or another scikit-learn.
    """
    import joblib
    import sklearn

    folder = resolve_model_dir(name_or_dir, models_dir)
    meta = read_meta(folder)
    model_path = folder / meta.get("model_file", MODEL_FILE)
    if not model_path.exists():
        raise ModelError(f"expected {model_path.name}, found none", folder, "retrain with `bulletins train`")
    if file_sha256(model_path) != meta.get("model_sha256"):
        raise ModelError(
            f"{model_path.name} does not match the SHA-256 in {META_FILE}; it was changed or replaced "
            "and will not be unpickled",
            folder,
            "retrain with `bulletins train` or restore the file",
        )
    trained = meta.get("libraries", {}).get("scikit-learn")
    if trained != sklearn.__version__:
        raise ModelError(
            f"trained with scikit-learn {trained}, this is {sklearn.__version__}",
            folder,
            f"retrain with `bulletins train`, or install scikit-learn=={trained}",
        )
    if meta.get("categories") != list(CATEGORIES):
        raise ModelError("the model's categories differ from this version's", folder, "retrain with `bulletins train`")
    if meta.get("dictionary_sha256") != dictionary_hash():
        log.warning("%s: the user dictionary or stopwords changed since training; retrain for exact results", folder)
    return Model(joblib.load(model_path), meta, folder)


def _feature_names(model: Model) -> np.ndarray:
    names = model.pipeline.named_steps["features"].get_feature_names_out()
    return np.array([n.split("__", 1)[1].replace(" ", "") for n in names], dtype=object)


def _weights(model: Model) -> np.ndarray:
    """Per-category weight vectors: the mean of the calibrated SVMs' coefficients."""
    ovr = model.pipeline.named_steps["clf"]
    rows = []
    for est in ovr.estimators_:
        coefs = [cc.estimator.coef_.ravel() for cc in est.calibrated_classifiers_]
        rows.append(np.mean(coefs, axis=0))
    return np.vstack(rows)


_CACHE: dict[int, tuple[np.ndarray, np.ndarray]] = {}


def _explainer(model: Model) -> tuple[np.ndarray, np.ndarray]:
    key = id(model.pipeline)
    if key not in _CACHE:
        _CACHE[key] = (_feature_names(model), _weights(model))
    return _CACHE[key]


def _evidence(X: sp.csr_matrix, row: int, weights: np.ndarray, names: np.ndarray) -> list[str]:
    """The terms in one row of ``X`` that pushed one category up, most weight first."""
    # Slicing the CSR arrays directly: X[row] builds a new sparse matrix per call.
    lo, hi = X.indptr[row], X.indptr[row + 1]
    indices, data = X.indices[lo:hi], X.data[lo:hi]
    contrib = data * weights[indices]
    order = np.argsort(-contrib)
    terms: list[str] = []
    for j in order:
        if contrib[j] <= 0 or len(terms) >= EVIDENCE_TERMS:
            break
        term = names[indices[j]]
        if term.startswith("CUE:"):  # a category tag, not a term of the passage
            continue
        # Character n-grams overlap: keep a term only if it adds text not already shown.
        if any(term in t for t in terms):
            continue
        terms = [t for t in terms if t not in term] + [term]
    return terms


def predict(model: Model, texts: Sequence[str]) -> pd.DataFrame:
    """Classify passages.

    Args:
        model: a loaded model.
        texts: passages.

    Returns:
        One row per passage: ``labels`` (list, canonical order, empty for none),
        ``scores`` (category -> calibrated probability), ``evidence`` (predicted
        category -> terms) and ``model_version``.
    """
    texts = list(texts)
    if not texts:
        return pd.DataFrame(columns=list(PREDICTION_COLUMNS))
    proba, best_rows, X = score(model.pipeline, texts)
    chosen = proba >= model.thresholds
    names, weights = _explainer(model)
    rounded = np.round(proba, 4).tolist()
    labels, scores, evidence = [], [], []
    for i in range(len(texts)):
        ks = np.flatnonzero(chosen[i]).tolist()
        labels.append([CATEGORIES[k] for k in ks])
        scores.append(dict(zip(CATEGORIES, rounded[i])))
        # Evidence comes from the window that gave the category its score.
        evidence.append({CATEGORIES[k]: _evidence(X, int(best_rows[i][k]), weights[k], names) for k in ks})
    return pd.DataFrame({"labels": labels, "scores": scores, "evidence": evidence, "model_version": model.version})


def evaluate_model(model: Model, rows: Sequence[Labeled]) -> dict:
    """:func:`pipeline.classify.metrics.metrics` of a model's predictions on labeled passages."""
    if not rows:
        return metrics(np.zeros((0, len(CATEGORIES)), dtype=np.int8), np.zeros((0, len(CATEGORIES)), dtype=np.int8))
    frame = predict(model, [r.text for r in rows])
    return metrics([r.labels for r in rows], list(frame["labels"]))
