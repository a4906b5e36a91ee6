"""The classifier's design choices, on the development sets: how each was decided.

Every choice of the classifier (a feature block, the gate's tie rule, the override, a file of
training passages) was made on ``corpus/dev`` (never trained on) by a rule set before
measuring, never on the held-out sets: the mean macro-F1 over the development sets must not
fall, and for training data the share of ``registers``' no-problem passages flagged must not
rise either. This fits the shipped configuration and each alternative on the corpus without
its held-out split (as ``bulletins train`` does) and prints, per development set, macro-F1 and
the share of no-problem passages flagged, out-of-fold macro-F1, the fitted gate threshold, and
the mean over the development sets every variant can be scored on (a set a variant trains on
is left out of all means). Held-out sets are not read.

    python benchmarks/bench_choices.py                   # every variant (a few minutes)
    python benchmarks/bench_choices.py --only "no thesaurus"
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline import config
from pipeline.classify.classifier import BulletinClassifier
from pipeline.classify.features import BLOCKS
from pipeline.classify.labeled import is_holdout, load_corpus, read_labeled
from pipeline.classify.metrics import metrics

#: Variant -> (classifier options, corpus files left out of training, development sets added to it).
VARIANTS: dict[str, tuple[dict[str, Any], tuple[str, ...], tuple[str, ...]]] = {
    "shipped": ({}, (), ()),
    "with the network (--network)": ({"hidden": 32}, (), ()),
    "network, nothing glued": ({"hidden": 32, "glued": 0.0}, (), ()),
    "network of 16 units": ({"hidden": 16}, (), ()),
    "no thesaurus": ({"blocks": tuple(b for b in BLOCKS if b != "thesaurus")}, (), ()),
    "gate ties nearest 0.5": ({"cautious_gate": False}, (), ()),
    "no gate override": ({"gate_override": None}, (), ()),
    "no impostor rule": ({"impostors": False}, (), ()),
    "C 4 (more regularised)": ({"C": 4.0}, (), ()),
    "C 16 (less regularised)": ({"C": 16.0}, (), ()),
    "without writers6": ({}, ("writers6",), ()),
    "with pairs as training": ({}, (), ("pairs",)),
    "with hardneg as training": ({}, (), ("hardneg",)),
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="+", choices=list(VARIANTS), help="these variants only")
    args = ap.parse_args()

    dev = {p.stem: read_labeled(p) for p in sorted(config.DEV_DIR.glob("*.jsonl"))}
    corpus = [r for r in load_corpus() if not is_holdout(r)]
    names = args.only or list(VARIANTS)
    trained_on = {d for n in names for d in VARIANTS[n][2]}
    common = [d for d in dev if d not in trained_on]
    print(f"development sets: {', '.join(f'{d} ({len(rows)})' for d, rows in dev.items())}")
    print(f"means over: {', '.join(common)} (the sets no variant here trains on)\n")
    head = f"{'variant':<31}{'OOF':>7}{'gate':>6}" + "".join(f"{d:>16}" for d in dev) + f"{'mean':>8}{'s CPU':>8}"
    print(head)
    for name in names:
        options, leave_out, add = VARIANTS[name]
        kept = [r for r in corpus if r.id.split("-")[0] not in leave_out]
        rows = kept + [r for d in add for r in dev[d]]
        texts, labels = [r.text for r in rows], [list(r.labels) for r in rows]
        start = time.process_time()
        clf = BulletinClassifier(**options).fit(texts, labels)
        spent = time.process_time() - start
        n = len(kept)  # out-of-fold F1 on the corpus's rows only
        oof = metrics(labels[:n], clf.labels_from(texts[:n], clf.oof_[:n]))["macro_f1"]
        cells, means = [], []
        for d, drows in dev.items():
            if d in add:
                cells.append(f"{'(trained)':>16}")
                continue
            m = metrics([r.labels for r in drows], clf.predict([r.text for r in drows]))
            cells.append(f"{m['macro_f1']:>9.3f}/{m['none_flagged']:>5.1%}")
            if d in common:
                means.append(m["macro_f1"])
        mean = sum(means) / len(means)
        print(f"{name:<31}{oof:>7.3f}{clf.gate_threshold_:>6.2f}" + "".join(cells) + f"{mean:>8.3f}{spent:>8.1f}")
    print("\ncells: macro-F1 / share of no-problem passages flagged")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
