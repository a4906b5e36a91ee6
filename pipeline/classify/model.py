"""Stage 5, classify: a model version on disk, loading it safely, and prediction.

A model folder holds the classifier (:class:`pipeline.classify.classifier.BulletinClassifier`)
as plain data, never as a pickle:

- ``model.json``: parameters and vocabularies;
- ``model.npz``: idf weights, coefficients and thresholds (read with ``allow_pickle=False``);
- ``metadata.json``: the sidecar (version, categories, library versions, training data hash,
  metrics) with the SHA-256 of both files, checked before either is read;
- ``MODEL_CARD.md``: the figures for people.

Loading rebuilds the classifier from arrays, so no code from a model folder ever runs, a
folder passed between offices is safe to load, and any scikit-learn that builds the same
vectorizers will do: no exact version pin.
"""

from __future__ import annotations

import json
import logging
import platform
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import scipy.sparse as sp

from pipeline import config
from pipeline.classify.classifier import BulletinClassifier, load_tiebreaks
from pipeline.classify.features import SHOWN_CONCEPT, load_concepts
from pipeline.classify.metrics import metrics
from pipeline.classify.model_files import ARRAYS_FILE, META_FILE, STATE_FILE, read_meta, resolve_model_dir, write_meta
from pipeline.classify.segment import dictionary_hash, segmenter_version
from pipeline.errors import ModelError
from pipeline.readers.hashing import file_sha256
from pipeline.taxonomy import CATEGORIES, PREDICTION_COLUMNS

if TYPE_CHECKING:
    from pipeline.classify.labeled import Labeled

log = logging.getLogger(__name__)

EVIDENCE_TERMS = 5
#: The model format this code writes and reads.
FORMAT = "bulletins-linear-1"


@dataclass(frozen=True)
class Model:
    """A loaded model: the classifier, its sidecar metadata and where it came from."""

    classifier: BulletinClassifier
    meta: dict
    path: Path

    @property
    def version(self) -> str:
        return self.meta["version"]

    @property
    def thresholds(self) -> np.ndarray:
        return np.array([self.meta["thresholds"][c] for c in CATEGORIES])


def library_versions() -> dict[str, str]:
    """Versions of what built the model (recorded; loading needs none of them exactly)."""
    import scipy
    import sklearn

    return {
        "python": platform.python_version(),
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "segmenter": segmenter_version(),
        "pandas": pd.__version__,
    }


def save_model(classifier: BulletinClassifier, folder: Path, meta: dict) -> Model:
    """Write a new model folder; an existing folder is never overwritten.

    Args:
        classifier: the fitted classifier.
        folder: the new folder (must not exist).
        meta: extra metadata (training data, metrics); versions and hashes are added.

    Returns:
        The saved model.

    Raises:
        ModelError: the folder exists already.
    """
    folder = Path(folder)
    if folder.exists():
        raise ModelError(
            "a model folder of that name exists already", folder, "choose another --name; models are never overwritten"
        )
    folder.mkdir(parents=True)
    state, arrays = classifier.state()
    (folder / STATE_FILE).write_text(json.dumps(state, ensure_ascii=False, sort_keys=True), encoding="utf-8")
    _write_npz(folder / ARRAYS_FILE, arrays)
    files = {name: file_sha256(folder / name) for name in (STATE_FILE, ARRAYS_FILE)}
    digest = file_sha256_of_hashes(files)
    full = {
        "name": folder.name,
        "version": f"{folder.name}@{digest[:10]}",
        "format": FORMAT,
        "categories": list(CATEGORIES),
        "thresholds": {c: float(t) for c, t in zip(CATEGORIES, classifier.thresholds_)},
        "gate_threshold": float(classifier.gate_threshold_),
        "window_sentences": int(classifier.window_sentences) if classifier.windows else None,
        "gate_override": classifier.gate_override,
        "impostors": bool(classifier.rules and classifier.impostors),
        "files": files,
        "model_bytes": sum((folder / name).stat().st_size for name in files),
        "dictionary_sha256": dictionary_hash(),
        "lexicon_sha256": lexicon_hash(),
        "libraries": library_versions(),
        **meta,
    }
    write_meta(folder, full)
    return Model(BulletinClassifier.from_state(*_read_state(folder)), full, folder)


def _write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """An ``.npz`` whose bytes depend on the arrays only (numpy's own writer stamps the time),
    so that the same data and seed give the same model files."""
    import zipfile

    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(arrays):
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            with zf.open(info, "w", force_zip64=True) as fh:
                np.lib.format.write_array(fh, np.ascontiguousarray(arrays[name]), allow_pickle=False)


def file_sha256_of_hashes(files: dict[str, str]) -> str:
    """One digest of a model's files (the version's suffix)."""
    import hashlib

    return hashlib.sha256("".join(f"{k}:{v};" for k, v in sorted(files.items())).encode()).hexdigest()


def lexicon_hash() -> str:
    """SHA-256 of the concept lexicon, tie-break rules and thesaurus, which prediction reads from the corpus."""
    import hashlib

    h = hashlib.sha256()
    for path in (config.CONCEPTS, config.TIEBREAKS, config.CILIN):
        h.update(Path(path).read_bytes())
    return h.hexdigest()


def _read_state(folder: Path) -> tuple[dict, dict[str, np.ndarray]]:
    state = json.loads((folder / STATE_FILE).read_text(encoding="utf-8"))
    with np.load(folder / ARRAYS_FILE, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    return state, arrays


def load_model(name_or_dir: str | Path | None = None, models_dir: Path = config.MODELS_DIR) -> Model:
    """Load a model after verifying its files against the sidecar.

    Args:
        name_or_dir: see :func:`resolve_model_dir`.
        models_dir: where named models live.

    Returns:
        The model.

    Raises:
        ModelError: missing folder or files, a hash mismatch, another format or categories.
    """
    folder = resolve_model_dir(name_or_dir, models_dir)
    meta = read_meta(folder)
    if meta.get("format") != FORMAT:
        raise ModelError(
            f"expected a model in format {FORMAT}, found {meta.get('format') or 'an older pickled model'}",
            folder,
            "retrain with `bulletins train` (old pickled models are never loaded)",
        )
    files = meta.get("files") or {}
    for name in (STATE_FILE, ARRAYS_FILE):  # fixed names: a sidecar cannot point elsewhere
        path = folder / name
        if not path.is_file():
            raise ModelError(f"expected {name}, found none", folder, "retrain with `bulletins train`")
        if file_sha256(path) != files.get(name):
            raise ModelError(
                f"{name} does not match the SHA-256 in {META_FILE}; it was changed or replaced and will not be read",
                folder,
                "retrain with `bulletins train` or restore the file",
            )
    if meta.get("categories") != list(CATEGORIES):
        raise ModelError("the model's categories differ from this version's", folder, "retrain with `bulletins train`")
    if meta.get("dictionary_sha256") != dictionary_hash():
        log.warning("%s: the user dictionary or stopwords changed since training; retrain for exact results", folder)
    if meta.get("lexicon_sha256") != lexicon_hash():
        log.warning("%s: the concept lexicon, tie-break rules or thesaurus changed since training; retrain", folder)
    try:
        classifier = BulletinClassifier.from_state(*_read_state(folder))
    except (KeyError, ValueError, TypeError) as exc:
        raise ModelError(f"the model files are incomplete ({exc})", folder, "retrain with `bulletins train`") from None
    return Model(classifier, meta, folder)


# --- prediction and explanations -----------------------------------------------------------


def _evidence(
    model: Model, X: sp.csr_matrix, rows: np.ndarray, ks: np.ndarray, texts: Sequence[str]
) -> list[list[str]]:
    """Per (window row, category) pair, the terms of its passage (``texts``, one per pair)
    that pushed the category up in that window, most weight first: words and character
    n-grams as written, and the passage's own wording of a concept. The contributions of all
    pairs are worked out together, in a few array operations; each pair's are then sorted
    apart (many small sorts are faster than one of them all)."""
    kinds, shown = model.classifier.features_.shown
    starts = X.indptr[rows]
    lengths = X.indptr[rows + 1] - starts
    pair = np.repeat(np.arange(len(rows)), lengths)
    pos = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths) + np.arange(int(lengths.sum()))
    cols = X.indices[pos]
    contrib = X.data[pos] * model.classifier.coef_[ks[pair], cols]
    up = (contrib > 0) & (kinds[cols] > 0)
    pair, cols, contrib = pair[up], cols[up], contrib[up]
    bounds = np.searchsorted(pair, np.arange(len(rows) + 1))  # pairs' candidates, in column order
    concepts = _concepts_by_name()
    is_concept = kinds == SHOWN_CONCEPT
    out = []
    for p, text in enumerate(texts):
        terms: list[str] = []
        lo, hi = bounds[p], bounds[p + 1]
        ranked = cols[lo:hi][np.argsort(-contrib[lo:hi], kind="stable")]  # most weight first
        for col, concept in zip(ranked.tolist(), is_concept[ranked].tolist()):
            term = shown[col]
            if concept:
                m = concepts[term].pattern.search(text) if term in concepts else None
                term = m.group(0) if m else ""
            # Character n-grams overlap: keep a term only if it adds text not already shown.
            if not term or term not in text:
                continue
            for t in terms:
                if term in t:
                    break
            else:
                terms = [t for t in terms if t not in term] + [term]
                if len(terms) >= EVIDENCE_TERMS:
                    break
        out.append(terms)
    return out


@lru_cache(maxsize=1)
def _concepts_by_name() -> dict:
    return {c.name: c for c in load_concepts()}


def _rule_evidence(text: str, category: str) -> list[str]:
    """The wording that made a tie-break rule add ``category``."""
    for rule in load_tiebreaks():
        if category in rule.labels:
            m = rule.pattern.search(text)
            if m:
                return [m.group(0)]
    return []


def predict(model: Model, texts: Sequence[str]) -> pd.DataFrame:
    """Classify passages.

    Args:
        model: a loaded model.
        texts: passages.

    Returns:
        One row per passage: ``labels`` (list, canonical order, empty for none),
        ``scores`` (category -> probability), ``evidence`` (predicted category -> terms of
        the passage) and ``model_version``.
    """
    texts = list(texts)
    if not texts:
        return pd.DataFrame(columns=list(PREDICTION_COLUMNS))
    clf = model.classifier
    proba, best, X, _ = clf.score_windows(texts)
    labels = clf.labels_from(texts, proba)
    proba = proba[:, :-1]  # the gate's column is not a category
    # Evidence for each predicted category the model scored over its threshold (a category
    # only a tie-break rule gave shows the rule's wording).
    pairs = [
        (i, k)
        for i, ls in enumerate(labels)
        for k in (CATEGORIES.index(c) for c in ls)
        if proba[i][k] >= clf.thresholds_[k]
    ]
    found = {}
    if pairs:
        at, ks = np.array(pairs).T
        found = dict(zip(pairs, _evidence(model, X, best[at, ks], ks, [texts[i] for i in at])))
    rounded = np.round(proba, 4).tolist()
    evidence = [
        {c: found.get((i, CATEGORIES.index(c))) or _rule_evidence(text, c) for c in ls}
        for i, (text, ls) in enumerate(zip(texts, labels))
    ]
    return pd.DataFrame(
        {
            "labels": labels,
            "scores": [dict(zip(CATEGORIES, r)) for r in rounded],
            "evidence": evidence,
            "model_version": model.version,
        }
    )


def evaluate_model(model: Model, rows: Sequence[Labeled]) -> dict:
    """:func:`pipeline.classify.metrics.metrics` of a model's predictions on labeled passages."""
    if not rows:
        return metrics(np.zeros((0, len(CATEGORIES)), dtype=np.int8), np.zeros((0, len(CATEGORIES)), dtype=np.int8))
    return metrics([r.labels for r in rows], model.classifier.predict([r.text for r in rows]))
