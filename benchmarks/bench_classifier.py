"""The classifier on other people's writing: figures, ablations, speed and size.

Measures on every held-out set in ``corpus/heldout`` (never trained on): ``outside`` (320
passages by four writers who never saw the corpus or the model, nine registers, labeled
blind by two labelers), ``fresh`` (150 passages by an independent writer) and ``seed`` (the
real bulletin's 22 passages); then the development sets in ``corpus/dev`` (``dev:<name>``: never
trained on, but components were chosen on them, so they are no evidence of generalisation).
Prints per set: macro-F1, per-category F1, the share of passages reporting no problem that get
a category, and the cue-word baseline per category.

    python benchmarks/bench_classifier.py                 # the shipped default model
    python benchmarks/bench_classifier.py --ablate        # also retrain without each component
    python benchmarks/bench_classifier.py --speed-only
    python benchmarks/bench_classifier.py --speed-only --against /path/to/other/model

Speed is CPU time of ``predict`` on the corpus's distinct passages in one process (one core),
after a warm-up, the median of ``--repeat`` runs (5); ``--against`` times another model in
turns with it, for a paired comparison (see :func:`speed`); size is the model files' bytes; load time
is ``load_model`` in a fresh process.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline import config
from pipeline.classify.features import BLOCKS
from pipeline.classify.labeled import load_corpus, read_labeled
from pipeline.classify.metrics import baseline_metrics, metrics
from pipeline.taxonomy import CATEGORIES


def _without(block: str) -> tuple[str, ...]:
    return tuple(b for b in BLOCKS if b != block)


#: Components and the classifier options that switch each off.
ABLATIONS: dict[str, dict[str, Any]] = {
    "no tie-break rules": {"rules": False},
    "no impostor rule": {"impostors": False},
    "with the network": {"hidden": 32},
    "no sentence windows": {"windows": False},
    "no problem gate": {"gate": False},
    "no gate override": {"gate_override": None},
    "gate ties nearest 0.5": {"cautious_gate": False},
    "no concept lexicons": {"blocks": _without("concepts")},
    "no cue words": {"blocks": _without("cues")},
    "no thesaurus": {"blocks": _without("thesaurus")},
    "no word features": {"blocks": _without("words")},
    "no character n-grams": {"blocks": _without("chars")},
}


def heldout_sets() -> dict[str, list]:
    """The held-out sets, then the development sets (named ``dev:<name>``: choices were made
    on them, so they are no evidence of generalisation)."""
    sets = {p.stem: read_labeled(p) for p in sorted(config.HELDOUT_DIR.glob("*.jsonl"))}
    sets.update({f"dev:{p.stem}": read_labeled(p) for p in sorted(config.DEV_DIR.glob("*.jsonl"))})
    return sets


def figures(predict, sets: dict[str, list]) -> dict[str, dict]:
    out = {}
    for name, rows in sets.items():
        pred = predict([r.text for r in rows])
        m = metrics([r.labels for r in rows], pred)
        m["baseline"] = baseline_metrics([r.text for r in rows], [r.labels for r in rows])
        out[name] = m
    return out


def print_figures(title: str, figs: dict[str, dict], baseline: bool = True) -> None:
    print(f"\n{title}")
    head = f"{'set':<12}{'macro':>7}" + "".join(f"{c:>8}" for c in CATEGORIES) + f"{'no-problem flagged':>20}"
    print(head)
    for name, m in figs.items():
        per = "".join(f"{m['per_category'][c]['f1']:>10.3f}" for c in CATEGORIES)
        print(f"{name:<12}{m['macro_f1']:>7.3f}{per}{m['none_flagged']:>18.1%}")
        if baseline:
            b = m["baseline"]
            per = "".join(f"{b['per_category'][c]['f1']:>10.3f}" for c in CATEGORIES)
            print(f"{'  cues':<12}{b['macro_f1']:>7.3f}{per}")


def speed(model, repeat: int = 5, against=None) -> None:
    """Prediction speed: CPU time of ``predict`` on the corpus's distinct passages, ``repeat``
    times after a warm-up; the median run is reported (CPU time still varies with what else the
    machine runs: caches, memory bandwidth). With ``against`` (another model), the two models
    are timed in turns in the same process, run after run, and the median ratio of their paired
    runs is printed too: between separate runs of this benchmark the machine alone moves the
    figure by up to 40%, within one process and in turns by a few per cent."""
    from pipeline.classify.model import predict

    texts = sorted({r.text for r in load_corpus()})
    models = [model] if against is None else [model, against]
    for m in models:
        predict(m, texts[:50])
    rates: list[list[float]] = [[] for _ in models]
    for _ in range(max(1, repeat)):
        for m, out in zip(models, rates):
            start = time.process_time()
            predict(m, texts)
            out.append(len(texts) / (time.process_time() - start))
    for m, runs in zip(models, rates):
        size = m.meta["model_bytes"]
        code = (
            "import time; t = time.perf_counter(); from pipeline.classify.model import load_model; "
            f"load_model({str(m.path)!r}); print(time.perf_counter() - t)"
        )
        load = float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT).stdout)
        print(
            f"\nspeed of {m.version}: {statistics.median(runs):,.0f} passages/s per core (CPU time, median of "
            f"{len(runs)} runs, {min(runs):,.0f} to {max(runs):,.0f}; {len(texts)} passages, "
            f"{sum(map(len, texts)) / len(texts):.0f} characters on average)"
        )
        print(f"model files: {size / 1e6:.1f} MB; load in a fresh process (imports included): {load:.2f} s")
    if against is not None:
        ratio = statistics.median(a / b for a, b in zip(*rates))
        print(f"\n{model.version} runs at {ratio:.2f}x the speed of {against.version} (median of paired runs)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", help="model name or folder (default: the default model)")
    ap.add_argument("--ablate", action="store_true", help="retrain without each component (minutes each)")
    ap.add_argument("--speed-only", action="store_true")
    ap.add_argument("--repeat", type=int, default=5, help="timed prediction runs (the median is reported)")
    ap.add_argument("--against", help="another model (name or folder) to time in turns with this one")
    args = ap.parse_args()

    from pipeline.classify.model import load_model

    model = load_model(args.model)
    if not args.speed_only:
        sets = heldout_sets()
        figs = figures(model.classifier.predict, sets)
        print_figures(f"model {model.version} (cue-word baseline below each row)", figs)
        cv = model.meta.get("metrics", {}).get("cv", {}).get("macro_f1")
        if cv is not None and "outside" in figs:
            print(
                f"\nover-fitting: CV macro-F1 {cv:.3f} minus outside {figs['outside']['macro_f1']:.3f} "
                f"= {cv - figs['outside']['macro_f1']:+.3f} (target at most +0.05)"
            )
        if args.ablate:
            from pipeline.classify.classifier import BulletinClassifier

            rows = load_corpus()
            texts, labels = [r.text for r in rows], [r.labels for r in rows]
            full = figures(BulletinClassifier().fit(texts, labels).predict, sets)
            rows_ = {
                name: figures(BulletinClassifier(**options).fit(texts, labels).predict, sets)
                for name, options in ABLATIONS.items()
            }
            for key, what in (("macro_f1", "macro-F1"), ("none_flagged", "no-problem passages flagged")):
                print(f"\nablation, {what} per set: full model retrained on the whole corpus, then without each")
                print(f"{'':<24}" + "".join(f"{n:>14}" for n in sets))
                print(f"{'full':<24}" + "".join(f"{full[n][key]:>14.3f}" for n in sets))
                for name, figs_ in rows_.items():
                    print(f"{name:<24}" + "".join(f"{figs_[n][key] - full[n][key]:>+14.3f}" for n in sets))
            print(json.dumps({"note": "differences are against the 'full' row"}))
    speed(model, args.repeat, load_model(args.against) if args.against else None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
