"""Prediction speed, model size and load time of a model version (prints figures).

Usage: python benchmarks/bench_predict.py [--model NAME_OR_DIR] [--repeat 3]

Targets (issue 3): >= 2,000 passages/s on one core after loading; model file <= 20 MB;
loading <= 1 s. Run with one BLAS thread so the figure is per core.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def _load_seconds(model: str | None) -> float:
    """Load time in a fresh process, imports excluded (they are paid once per process)."""
    code = (
        "import time, sys; import pipeline.classify.model as m, pipeline.classify.segment as s; s._tokenizer();"
        f"t=time.perf_counter(); m.load_model({model!r}); print(time.perf_counter()-t)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return float(out.strip().splitlines()[-1])


def main() -> None:
    from pipeline.classify.labeled import load_corpus
    from pipeline.classify.model import load_model, predict, resolve_model_dir
    from pipeline.classify.segment import segment

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    folder = resolve_model_dir(args.model)
    size = (folder / "model.joblib").stat().st_size
    load = min(_load_seconds(args.model) for _ in range(args.repeat))
    model = load_model(args.model)
    # Distinct passages only: a repeated passage would be cheaper than a new one.
    texts = list(dict.fromkeys(r.text for r in load_corpus()))
    segment("预热")  # jieba's dictionary is built once per process, not per batch
    predict(model, texts[:50])
    best = best_cpu = float("inf")
    for _ in range(args.repeat):
        t, c = time.perf_counter(), time.process_time()
        predict(model, texts)
        best = min(best, time.perf_counter() - t)
        # CPU time of this (single-threaded) process: what one core does, whatever else the
        # shared machine is running.
        best_cpu = min(best_cpu, time.process_time() - c)
    chars = sum(map(len, texts))
    print(f"model            {model.version}")
    print(f"model file       {size / 1e6:.1f} MB (target <= 20 MB)")
    print(f"load             {load:.2f} s (target <= 1 s; fresh process, imports excluded)")
    print(
        f"predict          {len(texts) / best_cpu:,.0f} passages/s per core (CPU time), "
        f"{len(texts) / best:,.0f}/s wall clock; {chars / best_cpu / 1e3:,.0f} k chars/s; on the {len(texts)} "
        f"distinct corpus passages, {chars / len(texts):.0f} characters on average (target >= 2,000/s)"
    )


if __name__ == "__main__":
    main()
