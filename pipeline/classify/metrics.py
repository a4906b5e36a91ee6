"""Metrics for multi-label predictions, the cue-word baseline and labeler agreement."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from pipeline.taxonomy import CATEGORIES, cue_baseline


def _f1(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def label_matrix(labels: Sequence[Sequence[str]]) -> np.ndarray:
    """Label sets as a 0/1 matrix with one column per category (canonical order)."""
    return np.array([[int(c in set(ls)) for c in CATEGORIES] for ls in labels], dtype=np.int8).reshape(
        -1, len(CATEGORIES)
    )


def metrics(true: Sequence[Sequence[str]] | np.ndarray, pred: Sequence[Sequence[str]] | np.ndarray) -> dict:
    """Per-category precision/recall/F1, micro and macro F1, exact match and confusions.

    Args:
        true: gold label sets (or a 0/1 matrix).
        pred: predicted label sets (or a 0/1 matrix).

    Returns:
        ``{"per_category": {c: {precision, recall, f1, support}}, "micro_f1", "macro_f1",
        "exact_match", "none_flagged", "n", "confused": [{"true", "predicted", "count"}]}``;
        ``none_flagged`` is the share of passages with no category that got one (a false alarm
        in a count); rounded to 4 places.
    """
    Y = true if isinstance(true, np.ndarray) else label_matrix(true)
    P = pred if isinstance(pred, np.ndarray) else label_matrix(pred)
    Y, P = Y.astype(bool), P.astype(bool)
    per = {}
    TP = FP = FN = 0
    for k, c in enumerate(CATEGORIES):
        tp = int(np.sum(Y[:, k] & P[:, k]))
        fp = int(np.sum(~Y[:, k] & P[:, k]))
        fn = int(np.sum(Y[:, k] & ~P[:, k]))
        TP, FP, FN = TP + tp, FP + fp, FN + fn
        p, r, f = _f1(tp, fp, fn)
        per[c] = {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4), "support": int(Y[:, k].sum())}
    none = ~Y.any(axis=1)  # passages with no category
    confused: Counter[tuple[str, str]] = Counter()
    for y, p in zip(Y, P):
        missed = [CATEGORIES[k] for k in np.flatnonzero(y & ~p)]
        extra = [CATEGORIES[k] for k in np.flatnonzero(~y & p)]
        for a in missed:
            for b in extra:
                confused[(a, b)] += 1
    return {
        "n": int(len(Y)),
        "per_category": per,
        "micro_f1": round(_f1(TP, FP, FN)[2], 4),
        "macro_f1": round(float(np.mean([per[c]["f1"] for c in CATEGORIES])), 4),
        "exact_match": round(float(np.mean((Y == P).all(axis=1))) if len(Y) else 0.0, 4),
        "none_flagged": round(float(P[none].any(axis=1).mean()) if none.any() else 0.0, 4),
        "confused": [{"true": a, "predicted": b, "count": n} for (a, b), n in confused.most_common(5)],
    }


def baseline_metrics(texts: Sequence[str], labels: Sequence[Sequence[str]]) -> dict:
    """:func:`metrics` of the guide's cue-word baseline."""
    return metrics(labels, [cue_baseline(t) for t in texts])
