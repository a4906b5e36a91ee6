"""Training: validate labeled data, fit, measure, and write a new model version.

Every model trained here leaves out the same fixed 15% of the team corpus (chosen by a hash
of the text, so the split never moves): the held-out split where versions are compared
(``train`` prints new vs current default, ``promote`` refuses a worse one). Users' own labels
are corrections on their own bulletins: all of them are trained on, and each weighs
:data:`USER_WEIGHT` times a corpus passage, so that a correction is learned rather than
outvoted by the corpus.

The default path runs one cross-validation (its out-of-fold scores choose the thresholds
and give the reported CV figure); ``nested=True`` also measures a nested cross-validation
(thresholds chosen inside each training fold) and ``learning_curve=True`` a learning curve.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pipeline import config
from pipeline.classify.classifier import NETWORK_UNITS, THRESHOLD_GRID, THRESHOLD_TOLERANCE, BulletinClassifier
from pipeline.classify.labeled import (
    HOLDOUT_PERCENT,
    Labeled,
    data_hash,
    id_conflicts,
    is_holdout,
    labeler_agreement,
    load_corpus,
    merge,
    read_labeled,
)
from pipeline.classify.metrics import baseline_metrics, label_matrix, metrics
from pipeline.classify.model import Model, evaluate_model, load_model, save_model
from pipeline.classify.model_files import check_model_name, write_meta
from pipeline.errors import BulletinsError, InputError, LabeledDataError, ModelError
from pipeline.taxonomy import CATEGORIES

log = logging.getLogger(__name__)

#: How much a user's labeled passage weighs against a corpus passage.
USER_WEIGHT = 5.0
#: Whether thresholds are chosen with users' passages weighing USER_WEIGHT (see
#: :func:`weighted_thresholds`; measured by ``benchmarks/bench_retrain.py``).
USER_THRESHOLDS = False
LEARNING_SIZES = (200, 400, 800)


def train_steps(nested: bool = False, learning_curve: bool = False) -> int:
    """How many times :func:`train` calls ``progress`` (at most): for a progress bar."""
    folds = BulletinClassifier().folds
    return 1 + folds + 1 + (1 if nested else 0) + 1 + (len(LEARNING_SIZES) + 1 if learning_curve else 0)


@dataclass(frozen=True)
class TrainResult:
    """What :func:`train` produced."""

    model: Model
    default: Model | None
    comparison: list[dict]


def read_user_files(paths: Sequence[Path], text_column: str = "text", from_name: str | None = None) -> list[Labeled]:
    """Read users' labeled files, reporting every bad row of every file together.

    Args:
        paths: the files (any format :func:`pipeline.classify.labeled.read_labeled` reads).
        text_column: the text column of tables and the text key of Label Studio tasks.
        from_name: the Label Studio choices control holding the categories.

    Raises:
        InputError: a file does not exist, has no label field, or is a review file with no
            row marked reviewed.
        LabeledDataError: one entry per bad row, prefixed with its file; also the same id
            with two texts, or the same text with two label sets, across files.
    """
    missing = [p for p in paths if not Path(p).exists()]
    if missing:
        raise InputError("no such file", missing[0], "check the path; nothing was trained")
    rows: list[Labeled] = []
    problems: list[str] = []
    for path in paths:
        try:
            rows.extend(read_labeled(Path(path), text_column=text_column, from_name=from_name))
        except LabeledDataError as exc:
            problems += [f"{path}: {p}" for p in exc.problems]
    seen: dict[str, tuple[str, tuple[str, ...]]] = {}
    ids: dict[str, Labeled] = {}
    for r in rows:
        if r.text in seen and seen[r.text][1] != r.labels:
            problems.append(f"{r.source}: id {r.id}: same text as id {seen[r.text][0]} with different labels")
        seen.setdefault(r.text, (r.id, r.labels))
        if r.id in ids and ids[r.id].text != r.text:
            problems.append(f"{r.source}: id {r.id} is also {ids[r.id].source}'s id, with a different text")
        ids.setdefault(r.id, r)
    if problems:
        raise LabeledDataError(problems, Path(paths[0]) if len(paths) == 1 else None)
    return rows


def cross_validate(
    texts: Sequence[str],
    labels: Sequence[Sequence[str]],
    seed: int = config.SEED,
    folds: int = 5,
    inner: int = 3,
    size: int | None = None,
    weight: Sequence[float] | None = None,
    hidden: int = 0,
) -> dict:
    """Nested cross-validation: thresholds chosen inside each training fold, never on the
    fold being scored.

    Args:
        texts: passages.
        labels: their label sets.
        seed: random state.
        folds: outer folds.
        inner: inner folds for the thresholds.
        size: train on a random subset of this many passages of each training fold (for
            learning curves).
        weight: per-passage weights.
        hidden: the classifier's network (:attr:`BulletinClassifier.hidden`).

    Returns:
        :func:`pipeline.classify.metrics.metrics` over all out-of-fold predictions.
    """
    from sklearn.model_selection import KFold

    texts, labels = list(texts), [list(x) for x in labels]
    w = None if weight is None else np.asarray(weight, dtype=float)
    pred: list[list[str]] = [[] for _ in texts]
    rng = np.random.default_rng(seed)
    for train_idx, test_idx in KFold(n_splits=folds, shuffle=True, random_state=seed).split(texts):
        if size is not None and size < len(train_idx):
            train_idx = np.sort(rng.choice(train_idx, size=size, replace=False))
        clf = BulletinClassifier(seed=seed, folds=inner, hidden=hidden).fit(
            [texts[i] for i in train_idx], [labels[i] for i in train_idx], None if w is None else w[train_idx]
        )
        for i, p in zip(test_idx, clf.predict([texts[i] for i in test_idx])):
            pred[i] = p
    return metrics(labels, pred)


def weighted_thresholds(y: np.ndarray, oof: np.ndarray, weight: Sequence[float]) -> np.ndarray:
    """Per-category thresholds that maximise F1 on out-of-fold scores, each passage counting
    its weight (so that users' passages, which weigh more, pull the thresholds toward their
    own bulletins). Among thresholds within :data:`THRESHOLD_TOLERANCE` of the best weighted
    F1, the one closest to 0.5 is taken, as in :func:`best_thresholds`.

    Args:
        y: the label matrix (passages x categories).
        oof: out-of-fold scores, the categories' columns first (a gate column may follow).
        weight: per-passage weights.
    """
    w = np.asarray(weight, dtype=float)
    out = []
    for k in range(y.shape[1]):
        truth = y[:, k] == 1
        f1s = []
        for t in THRESHOLD_GRID:
            pred = oof[:, k] >= t
            denom = w[pred].sum() + w[truth].sum()
            f1s.append(2 * w[pred & truth].sum() / denom if denom else 0.0)
        top = max(f1s)
        near = [float(t) for t, f in zip(THRESHOLD_GRID, f1s) if f >= top - THRESHOLD_TOLERANCE]
        out.append(min(near, key=lambda t: (abs(t - 0.5), t)))
    return np.array(out)


def oof_metrics(clf: BulletinClassifier, texts: Sequence[str], labels: Sequence[Sequence[str]]) -> dict:
    """Metrics of the fit's own out-of-fold scores at its thresholds, rules included (the
    thresholds were chosen on these scores: slightly optimistic; see ``nested``)."""
    return metrics(labels, clf.labels_from(list(texts), clf.oof_))


def train(
    labeled: Sequence[Path] = (),
    name: str | None = None,
    models_dir: Path = config.MODELS_DIR,
    corpus_dir: Path = config.LABELED_DIR,
    heldout_dir: Path = config.HELDOUT_DIR,
    dev_dir: Path = config.DEV_DIR,
    seed: int = config.SEED,
    text_column: str = "text",
    learning_curve: bool = False,
    compare: bool = True,
    nested: bool = False,
    progress: Callable[[str], None] | None = None,
    from_name: str | None = None,
    user_thresholds: bool = USER_THRESHOLDS,
    user_weight: float = USER_WEIGHT,
    network: bool = False,
) -> TrainResult:
    """Validate, fit, measure and save a new model version.

    Args:
        labeled: the user's labeled files (JSONL, CSV, XLSX, Label Studio, doccano);
            merged with the corpus, the user's label winning for the same id or text.
        name: the new version's folder name (default: the date and time).
        models_dir: where model versions live.
        corpus_dir: the team's labeled corpus.
        heldout_dir: labeled sets never trained on, each reported (``seed.jsonl``: the seed
            bulletin's passages; ``fresh.jsonl``: an independent writer's passages).
        dev_dir: development sets, never trained on but used to choose components; each
            reported as ``dev_<name>``.
        seed: random state; the same inputs and seed give the same model file.
        text_column: text column of CSV/XLSX files.
        learning_curve: also measure the learning curve (slower), for the model card.
        compare: evaluate the current default on the held-out split, side by side.
        nested: also measure a nested cross-validation (about 4 times the training time).
        progress: called with a short line at each step (:func:`train_steps` of them; the CLI
            draws them as a progress bar on stderr).
        from_name: the Label Studio choices control holding the categories.
        user_thresholds: choose the thresholds with the user's passages weighing
            ``user_weight`` (:func:`weighted_thresholds`).
        user_weight: how much each of the user's passages weighs.
        network: average the regressions with a small neural network (more accurate on other
            writers' text, about 15% slower to predict and several times slower to train; see
            :data:`pipeline.classify.classifier.NETWORK_UNITS`).

    Returns:
        The new model, the default it was compared with, and the comparison rows.

    Raises:
        UsageError: ``name`` is not one folder name (e.g. ``../../escape``, ``/abs``, ``a/b``).
        LabeledDataError: bad rows in any input, or a user id that is the corpus's id of
            another text (nothing is trained or written).
        ModelError: the target folder exists.
    """
    if name is not None:
        check_model_name(name)  # one folder in models_dir: never ../x, /abs or a/b
    user = read_user_files(list(labeled), text_column, from_name) if labeled else []
    corpus = load_corpus(corpus_dir)
    conflicts = id_conflicts(corpus, user)
    if conflicts:
        raise LabeledDataError(conflicts, Path(labeled[0]) if len(labeled) == 1 else None)
    rows = merge(corpus, user)
    folder = Path(models_dir) / (name or dt.datetime.now().strftime("%Y%m%d-%H%M%S"))
    if folder.exists():
        raise ModelError(
            "a model folder of that name exists already", folder, "choose another --name; models are never overwritten"
        )
    mine = {id(r) for r in user}
    train_rows = [r for r in rows if id(r) in mine or not is_holdout(r)]
    hold_rows = [r for r in rows if id(r) not in mine and is_holdout(r)]
    texts = [r.text for r in train_rows]
    labels = [list(r.labels) for r in train_rows]
    y = label_matrix(labels)
    say = progress or (lambda line: log.info("%s", line))
    say(
        f"training on {len(train_rows)} passages ({len(mine)} of them yours, each weighing {user_weight:g}; "
        f"{len(hold_rows)} held out)"
    )
    weight = [user_weight if id(r) in mine else 1.0 for r in train_rows] if mine else None
    hidden = NETWORK_UNITS if network else 0
    classifier = BulletinClassifier(seed=seed, hidden=hidden, progress=lambda s: say(f"cross-validation: {s}"))
    classifier.fit(texts, labels, weight)
    if user_thresholds and weight is not None:
        classifier.thresholds_ = weighted_thresholds(y, classifier.oof_, weight)
    cv = oof_metrics(classifier, texts, labels)
    held = {p.stem: read_labeled(p) for p in sorted(Path(heldout_dir).glob("*.jsonl"))}
    model_meta: dict[str, Any] = {
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "seed": seed,
        "training": {
            "data_sha256": data_hash(train_rows),
            "samples": len(train_rows),
            "holdout_samples": len(hold_rows),
            "holdout_rule": f"sha256(text)[:8] mod 100 < {HOLDOUT_PERCENT}",
            "user_files": [str(p) for p in labeled],
            "user_samples": len(user),
            "user_weight": user_weight,
            "user_thresholds": bool(user_thresholds and mine),
            "per_category": {c: int(y[:, k].sum()) for k, c in enumerate(CATEGORIES)},
            "none": int((y.sum(axis=1) == 0).sum()),
            "multi": int((y.sum(axis=1) >= 2).sum()),
        },
        "metrics": {"cv": cv, "baseline_cv": baseline_metrics(texts, [r.labels for r in train_rows])},
    }
    if nested:
        say("nested cross-validation")
        model_meta["metrics"]["cv_nested"] = cross_validate(texts, labels, seed=seed, weight=weight, hidden=hidden)
    model = save_model(classifier, folder, model_meta)
    say("measuring held-out sets")
    model.meta["metrics"]["holdout"] = evaluate_model(model, hold_rows)
    model.meta["metrics"]["baseline_holdout"] = baseline_metrics(
        [r.text for r in hold_rows], [r.labels for r in hold_rows]
    )
    for stem, rows_ in held.items():
        # "seed" keeps its historical key; other held-out sets are "heldout_<name>".
        name_ = "seed" if stem == "seed" else f"heldout_{stem}"
        model.meta["metrics"][name_] = evaluate_model(model, rows_)
        model.meta["metrics"][f"baseline_{name_}"] = baseline_metrics(
            [r.text for r in rows_], [r.labels for r in rows_]
        )
    for path in sorted(Path(dev_dir).glob("*.jsonl")):
        dev_rows = read_labeled(path)
        model.meta["metrics"][f"dev_{path.stem}"] = evaluate_model(model, dev_rows)
        model.meta["metrics"][f"baseline_dev_{path.stem}"] = baseline_metrics(
            [r.text for r in dev_rows], [r.labels for r in dev_rows]
        )
    agree = labeler_agreement(corpus_dir=corpus_dir)
    if agree is not None:
        model.meta["metrics"]["labeler_agreement"] = agree
    if learning_curve:
        curve = []
        for size in [s for s in LEARNING_SIZES if s < len(texts) * 0.8] + [None]:
            say(f"learning curve: {size or 'all'} passages")
            m = cross_validate(texts, labels, seed=seed, size=size, hidden=hidden)
            curve.append(
                {"train_size": size or int(len(texts) * 0.8), "macro_f1": m["macro_f1"], "micro_f1": m["micro_f1"]}
            )
        model.meta["metrics"]["learning_curve"] = curve
    _write_meta(model)

    default, comparison = None, []
    if compare:
        try:
            default = load_model(None, models_dir)
        except BulletinsError as exc:
            log.warning("no default model to compare with (%s)", exc)
        if default is not None and default.path.resolve() != folder.resolve():
            old = evaluate_model(default, hold_rows)
            new = model.meta["metrics"]["holdout"]
            for c in CATEGORIES:
                comparison.append(
                    {
                        "category": c,
                        "default_f1": old["per_category"][c]["f1"],
                        "new_f1": new["per_category"][c]["f1"],
                        "support": new["per_category"][c]["support"],
                    }
                )
            comparison.append(
                {
                    "category": "macro",
                    "default_f1": old["macro_f1"],
                    "new_f1": new["macro_f1"],
                    "support": len(hold_rows),
                }
            )
            model.meta["comparison"] = {
                "against": default.version,
                "default_macro_f1": old["macro_f1"],
                "new_macro_f1": new["macro_f1"],
                "holdout_samples": len(hold_rows),
            }
            _write_meta(model)
    from pipeline.classify.model_card import write_model_card

    write_model_card(model)
    return TrainResult(model, default, comparison)


def _write_meta(model: Model) -> None:
    write_meta(model.path, model.meta)
