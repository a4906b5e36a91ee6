"""Does retraining on an office's own labels pay off? A simulated labeling loop.

One or more registers of the corpus (``corpus/labeled/*.jsonl`` files) play an office's
bulletins: they are held out of training entirely. A model is trained on the rest of the
corpus (its passages outside the fixed held-out split); the register's passages are ranked as
``bulletins review`` ranks them (:func:`pipeline.reports.review_queue.informativeness` and
``queue_order``: closest to a threshold first); rounds of 50, 100 and 200 of them, with their
corpus labels, stand for the office's reviewed rows, and a model is retrained on the rest of
the corpus plus those rows. For each round and each way of making user labels count it prints
macro-F1 on the rest of that register (the passages not reviewed in that round) before and
after, and macro-F1 on the corpus's held-out split (``is_holdout``, other registers) before and
after.

Ways of making user labels count (every one on each fitted weight, ``--weights``):

- ``w=W``: users' rows weigh W in every fit (features' out-of-fold fits for the thresholds and
  the final fit): ``pipeline.classify.train.USER_WEIGHT``;
- ``w=W +wthr``: the same fit, thresholds chosen again on its out-of-fold scores with users'
  rows weighing W (:func:`pipeline.classify.train.weighted_thresholds`);
- ``w=W +srcthr``: per-source thresholds: thresholds chosen on the users' rows' out-of-fold
  scores alone (a category with fewer than 3 positives among them keeps the global one),
  applied to the office's passages only; the held-out split keeps the global thresholds;
- ``w=W +memory``: a correction layer: a passage whose character n-grams are at least
  ``--memory-similarity`` (cosine) close to a reviewed passage takes that passage's labels.

The last two need a hook at prediction time (thresholds by source; a memory of reviewed
passages); they are measured here from the fitted classifier's public state.

Time: the retraining fit on corpus + 200 user rows (``BulletinClassifier.fit``: five
out-of-fold fits for the thresholds, then the final fit), against a bare TF-IDF + linear SVM
fit of the same rows (one-vs-rest ``LinearSVC``; words from the project's segmenter,
character 1-3-grams, and both side by side: the like-for-like comparison), in this process.
Each is timed as CPU time (``time.process_time``, what the work costs, whatever else runs on the
machine) and as wall time; the ratios are printed for both.

    python benchmarks/bench_retrain.py                                     # complaint.jsonl
    python benchmarks/bench_retrain.py --register talk --weights 1 5 20 --ceiling
    python benchmarks/bench_retrain.py --register voices2 official2 paraphrase2
    python benchmarks/bench_retrain.py --cache /tmp/fits                   # keep and reuse fits

``--ceiling`` bounds what any use of the register's labels can give: each round's rest is
scored, a fifth at a time, by a model trained on the corpus, the round's reviewed rows and the
other four fifths of the rest (5 more fits a round). A round cannot be expected to lift the
rest by more than that. ``--order random`` reviews a seeded random sample instead of the
queue's order, for contrast.

``--cache DIR`` keeps each fit's state (and its times), so that a second run only re-measures
the figures; the bare fits are always timed afresh.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline import config  # noqa: E402
from pipeline.classify.classifier import THRESHOLD_GRID, THRESHOLD_TOLERANCE, BulletinClassifier  # noqa: E402
from pipeline.classify.labeled import Labeled, data_hash, is_holdout, read_labeled  # noqa: E402
from pipeline.classify.metrics import label_matrix, metrics  # noqa: E402
from pipeline.classify.train import weighted_thresholds  # noqa: E402
from pipeline.reports.review_queue import informativeness, queue_order  # noqa: E402
from pipeline.taxonomy import CATEGORIES  # noqa: E402

VARIANTS = ("", "+wthr", "+srcthr", "+memory")


#: A fit's cost: CPU seconds, wall seconds.
Seconds = tuple[float, float]


def fit(
    rows: list[Labeled], weight: float, n_user: int, seed: int, cache: Path | None
) -> tuple[BulletinClassifier, np.ndarray, Seconds]:
    """The classifier fitted on ``rows`` (the last ``n_user`` weighing ``weight``), its
    out-of-fold scores and the fit's CPU and wall seconds (cached by data, weights, seed and
    solver)."""
    key = hashlib.sha256(f"{data_hash(rows)}|{weight}|{n_user}|{seed}|dual".encode()).hexdigest()[:16]
    if cache is not None and (cache / f"{key}.json").exists():
        meta = json.loads((cache / f"{key}.json").read_text(encoding="utf-8"))
        with np.load(cache / f"{key}.npz", allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
        oof = arrays.pop("__oof__")
        seconds = (meta.get("cpu_seconds", float("nan")), meta["seconds"])
        return BulletinClassifier.from_state(meta["state"], arrays), oof, seconds
    w = [1.0] * (len(rows) - n_user) + [weight] * n_user
    cpu, wall = time.process_time(), time.perf_counter()
    clf = BulletinClassifier(seed=seed).fit(
        [r.text for r in rows], [list(r.labels) for r in rows], None if weight == 1 or not n_user else w
    )
    seconds = (time.process_time() - cpu, time.perf_counter() - wall)
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
        state, arrays = clf.state()
        saved: dict[str, Any] = {"__oof__": clf.oof_, **arrays}
        np.savez(cache / f"{key}.npz", **saved)
        (cache / f"{key}.json").write_text(
            json.dumps({"state": state, "cpu_seconds": seconds[0], "seconds": seconds[1]}), encoding="utf-8"
        )
    return clf, clf.oof_, seconds


def macro(labels: list[tuple[str, ...]], pred: list[list[str]]) -> float:
    return metrics(labels, pred)["macro_f1"]


def with_thresholds(clf: BulletinClassifier, thresholds: np.ndarray) -> BulletinClassifier:
    out = BulletinClassifier.from_state(*clf.state())
    out.thresholds_ = np.asarray(thresholds, dtype=float)
    return out


def source_thresholds(y: np.ndarray, oof: np.ndarray, fallback: np.ndarray, min_positives: int = 3) -> np.ndarray:
    """Thresholds that maximise F1 on the users' rows alone (the global one where they hold
    fewer than ``min_positives`` passages of a category)."""
    out = np.array(fallback, dtype=float)
    for k in range(y.shape[1]):
        truth = y[:, k] == 1
        if truth.sum() < min_positives:
            continue
        f1s = []
        for t in THRESHOLD_GRID:
            pred = oof[:, k] >= t
            denom = pred.sum() + truth.sum()
            f1s.append(2 * (pred & truth).sum() / denom if denom else 0.0)
        top = max(f1s)
        near = [float(t) for t, f in zip(THRESHOLD_GRID, f1s) if f >= top - THRESHOLD_TOLERANCE]
        out[k] = min(near, key=lambda t: (abs(t - float(fallback[k])), t))
    return out


def memory(reviewed: list[Labeled], rest: list[Labeled], pred: list[list[str]], similarity: float) -> list[list[str]]:
    """The correction layer: a passage close enough to a reviewed one takes its labels."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vec = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True)
    known = vec.fit_transform([r.text for r in reviewed])
    sims = (vec.transform([r.text for r in rest]) @ known.T).toarray()
    out = []
    for i, row in enumerate(sims):
        j = int(row.argmax()) if row.size else -1
        out.append(list(reviewed[j].labels) if j >= 0 and row[j] >= similarity else pred[i])
    return out


def ceiling(base_rows: list[Labeled], reviewed: list[Labeled], rest: list[Labeled], weight: float, seed: int) -> float:
    """Macro-F1 on ``rest`` when each fifth of it is scored by a model trained on the corpus,
    the reviewed rows and the other four fifths (users' rows weighing ``weight``)."""
    from sklearn.model_selection import KFold

    pred: list[list[str]] = [[] for _ in rest]
    for train, test in KFold(n_splits=5, shuffle=True, random_state=seed).split(rest):
        user = reviewed + [rest[i] for i in train]
        rows = base_rows + user
        w = [1.0] * len(base_rows) + [weight] * len(user)
        clf = BulletinClassifier(seed=seed).fit([r.text for r in rows], [list(r.labels) for r in rows], w)
        for i, labels in zip(test, clf.predict([rest[i].text for i in test])):
            pred[i] = labels
    return macro([r.labels for r in rest], pred)


def bare_fit_seconds(rows: list[Labeled], analyzer: str) -> Seconds:
    """A bare TF-IDF + one-vs-rest linear SVM fit (no windows, no thresholds, no CV): its CPU
    and wall seconds."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.svm import LinearSVC

    from pipeline.classify.segment import tokenize

    texts = [r.text for r in rows]
    y = label_matrix([r.labels for r in rows])
    cpu, wall = time.process_time(), time.perf_counter()
    words = TfidfVectorizer(tokenizer=tokenize, token_pattern=None, lowercase=False, sublinear_tf=True)
    chars = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True)
    if analyzer == "words":
        X = words.fit_transform(texts)
    elif analyzer == "chars":
        X = chars.fit_transform(texts)
    else:  # the classifier's two main blocks side by side: the like-for-like comparison
        X = sp.hstack([words.fit_transform(texts), chars.fit_transform(texts)], format="csr")
    OneVsRestClassifier(LinearSVC()).fit(X, y)
    return time.process_time() - cpu, time.perf_counter() - wall


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--register",
        nargs="+",
        default=["complaint"],
        metavar="NAME",
        help="corpus/labeled/NAME.jsonl held out, one or more (default complaint)",
    )
    parser.add_argument("--rounds", type=int, nargs="+", default=[50, 100, 200], help="review rounds (passages)")
    parser.add_argument("--weights", type=float, nargs="+", default=[1.0, 5.0], help="users' weights to fit")
    parser.add_argument("--memory-similarity", type=float, default=0.6, help="cosine for the correction layer")
    parser.add_argument("--seed", type=int, default=config.SEED)
    parser.add_argument("--cache", type=Path, help="keep fitted states here and reuse them")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--order",
        choices=("queue", "random"),
        default="queue",
        help="which passages a round reviews: the review queue's (default) or a seeded random sample",
    )
    parser.add_argument(
        "--ceiling",
        action="store_true",
        help="also score each round's rest by models that saw all of the register but a fifth of the rest "
        "(5 folds over the rest, 5 fits a round): the most any use of the register's labels can lift it",
    )
    args = parser.parse_args(argv)

    files = sorted(config.LABELED_DIR.glob("*.jsonl"))
    targets = [config.LABELED_DIR / f"{n}.jsonl" for n in args.register]
    missing = [t for t in targets if t not in files]
    if missing:
        raise SystemExit(f"no register {missing[0]}; choose among {', '.join(p.stem for p in files)}")
    held_name = " + ".join(t.name for t in targets)
    register = [r for t in targets for r in read_labeled(t)]
    others = [r for p in files if p not in targets for r in read_labeled(p)]
    base_rows = [r for r in others if not is_holdout(r)]
    heldout = [r for r in others if is_holdout(r)]
    too_big = [k for k in args.rounds if k >= len(register)]
    if too_big:
        raise SystemExit(f"{held_name} has {len(register)} passages: rounds {too_big} leave nothing to measure")
    print(
        f"register {held_name}: {len(register)} passages held out of training; corpus: {len(base_rows)} "
        f"training passages, {len(heldout)} in the held-out split",
        flush=True,
    )

    base, _, base_seconds = fit(base_rows, 1.0, 0, args.seed, args.cache)
    print(f"baseline fit: {base_seconds[0]:.1f} s CPU, {base_seconds[1]:.1f} s wall", flush=True)
    cuts = dict(zip(CATEGORIES, base.thresholds_))
    scores = [dict(zip(CATEGORIES, s)) for s in base.scores([r.text for r in register])]
    margins, competing = informativeness(scores, [cuts] * len(register))
    order = queue_order(margins, competing, [r.id for r in register])
    if args.order == "random":
        order = [int(i) for i in np.random.default_rng(args.seed).permutation(len(register))]
    held_truth = [r.labels for r in heldout]
    base_held = macro(held_truth, base.predict([r.text for r in heldout]))
    base_register = base.predict([r.text for r in register])

    results = []
    fit_seconds: dict[float, Seconds] = {}
    for k in args.rounds:
        reviewed = [register[i] for i in order[:k]]
        rest = [register[i] for i in order[k:]]
        rest_truth = [r.labels for r in rest]
        before = macro(rest_truth, [base_register[i] for i in order[k:]])
        rows = base_rows + reviewed
        y = label_matrix([r.labels for r in rows])
        for weight in args.weights:
            clf, oof, seconds = fit(rows, weight, len(reviewed), args.seed, args.cache)
            if k == max(args.rounds):
                fit_seconds[weight] = seconds
            print(
                f"  round {k}: fit with users' weight {weight:g}: {seconds[0]:.1f} s CPU, {seconds[1]:.1f} s wall",
                flush=True,
            )
            plain_rest = clf.predict([r.text for r in rest])
            plain_held = macro(held_truth, clf.predict([r.text for r in heldout]))
            w = np.array([1.0] * len(base_rows) + [weight] * len(reviewed))
            wthr = with_thresholds(clf, weighted_thresholds(y, oof, w.tolist()))
            user = slice(len(base_rows), len(rows))
            src = with_thresholds(clf, source_thresholds(y[user], oof[user], clf.thresholds_))
            variants = {
                "": (plain_rest, plain_held),
                "+wthr": (
                    wthr.predict([r.text for r in rest]),
                    macro(held_truth, wthr.predict([r.text for r in heldout])),
                ),
                "+srcthr": (src.predict([r.text for r in rest]), plain_held),
                "+memory": (memory(reviewed, rest, plain_rest, args.memory_similarity), plain_held),
            }
            for variant, (pred, held_after) in variants.items():
                after = macro(rest_truth, pred)
                name = f"w={weight:g} {variant}".strip()
                results.append(
                    {
                        "round": k,
                        "method": name,
                        "rest": len(rest),
                        "register_before": round(before, 4),
                        "register_after": round(after, 4),
                        "lift": round(after - before, 4),
                        "heldout_before": round(base_held, 4),
                        "heldout_after": round(held_after, 4),
                        "heldout_change": round(held_after - base_held, 4),
                    }
                )
                print(
                    f"  round {k:>3} {name:<16} rest {len(rest):>3}: register macro-F1 {before:.3f} -> {after:.3f} "
                    f"({after - before:+.3f}); held-out {base_held:.3f} -> {held_after:.3f} "
                    f"({held_after - base_held:+.3f})",
                    flush=True,
                )

    ceilings: dict[int, dict[str, float]] = {}
    if args.ceiling:
        weight = max(args.weights)
        for k in args.rounds:
            reviewed = [register[i] for i in order[:k]]
            rest = [register[i] for i in order[k:]]
            after = ceiling(base_rows, reviewed, rest, weight, args.seed)
            before = macro([r.labels for r in rest], [base_register[i] for i in order[k:]])
            ceilings[k] = {"before": round(before, 4), "ceiling": round(after, 4), "lift": round(after - before, 4)}
            print(
                f"  round {k:>3} ceiling (w={weight:g}, all but a fifth of the rest labeled too): register "
                f"macro-F1 {before:.3f} -> {after:.3f} ({after - before:+.3f})",
                flush=True,
            )

    biggest = max(args.rounds)
    rows = base_rows + [register[i] for i in order[:biggest]]
    bare = {a: bare_fit_seconds(rows, a) for a in ("words", "chars", "words+chars")}
    print(f"\nlift in macro-F1 on the rest of {held_name} / change on the held-out split, per round:")
    print(f"{'method':<18}" + "".join(f"{f'round {k}':>20}" for k in args.rounds))
    for name in dict.fromkeys(r["method"] for r in results):
        cells = []
        for k in args.rounds:
            r = next(x for x in results if x["round"] == k and x["method"] == name)
            cells.append(f"{r['lift']:+.3f} / {r['heldout_change']:+.3f}")
        print(f"{name:<18}" + "".join(f"{c:>20}" for c in cells))
    print(f"\ntraining time on corpus + {biggest} user rows ({len(rows)} passages), CPU (wall):")
    slowest = (max(s[0] for s in fit_seconds.values()), max(s[1] for s in fit_seconds.values()))
    print(
        "  BulletinClassifier.fit (5 out-of-fold fits for the thresholds + final fit): "
        f"{slowest[0]:.1f} s ({slowest[1]:.1f} s)"
    )
    for a, s in bare.items():
        print(
            f"  bare TF-IDF ({a}) + linear SVM: {s[0]:.2f} s ({s[1]:.2f} s) -> ratio "
            f"{slowest[0] / s[0]:.1f}x ({slowest[1] / s[1]:.1f}x)"
        )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "register": held_name,
                    "order": args.order,
                    "results": results,
                    "ceiling": ceilings,
                    "fit_seconds": {w: s[1] for w, s in fit_seconds.items()},
                    "bare_seconds": {a: s[1] for a, s in bare.items()},
                    "fit_cpu_seconds": {w: s[0] for w, s in fit_seconds.items()},
                    "bare_cpu_seconds": {a: s[0] for a, s in bare.items()},
                },
                ensure_ascii=False,
                indent=2,
            ),
            encoding="utf-8",
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
