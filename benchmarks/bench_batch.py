"""Batch throughput, rerun cost and memory on an archive of generated bulletins (prints figures).

Usage: python benchmarks/bench_batch.py [--files 200] [--archive DIR] [--model NAME_OR_DIR]

The archive (200 bulletins by default, 2–12 pages each, content drawn from the labeled
corpus and the seed bulletin, varied cities, dates, footers and type sizes) is generated
once with helpers.synth into benchmarks/out/ and reused. Every measured run is a fresh
process that calls pipeline.batch.classify with the trained default model:

* files/s and pages/s on a fresh store with 1 and 2 workers (target: 2 workers >= 1.7x one);
* an unchanged rerun against the first run (target: <= 5%);
* peak memory with 2 workers at 50 and 200 files (target: flat in the archive size): the
  parent's peak RSS and the largest worker's peak RSS (``ru_maxrss``; no new dependency, and
  tracemalloc would slow the parent sevenfold).

Figures are not timed tests; they go in the issue's closing note.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: The test suite's PDF typesetter (helpers.synth) renders the bulletins measured here.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

OUT = Path(__file__).resolve().parent / "out"
GENERATOR = 2  # bump when the generated content changes, so the cache is rebuilt


# --- the archive ---------------------------------------------------------------------------


def _pool() -> list[str]:
    from pipeline import config
    from pipeline.ingest import read_bulletin

    texts = [p.text for p in read_bulletin(config.SEED_TEXT).passages]
    for path in sorted(config.LABELED_DIR.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                texts.append(json.loads(line)["text"])
    return [t for t in texts if 40 <= len(t) <= 600]


def _cities() -> list[str]:
    from pipeline import config

    rows = [ln.split("\t") for ln in config.REGIONS.read_text(encoding="utf-8").splitlines()[1:]]
    return sorted(r[1] for r in rows if len(r) > 2 and r[2] == "prefecture" and r[1].endswith("市"))


HEADINGS = ("一、工作动态", "二、督查暗访", "三、问题整改", "四、培训练兵", "五、为民服务")


def generate(folder: Path, n: int, seed: int = 20210612) -> dict:
    """Write ``n`` bulletins (cached: reused when the manifest matches)."""
    from helpers.synth import FOOTERS, BulletinSpec, render

    manifest_path = folder / "manifest.json"
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        if (
            manifest.get("generator") == GENERATOR
            and manifest.get("files") == n
            and all((folder / f).exists() for f in manifest["pages"])
        ):
            return manifest
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    pool, cities = _pool(), _cities()
    footers = [f for f in FOOTERS if f != "none"]
    pages: dict[str, int] = {}
    issued: dict[str, int] = {}
    started = time.perf_counter()
    for i in range(n):
        city = rng.choice(cities)
        # Each city's issues are numbered in turn: two files with the same title and issue
        # number would be one bulletin in two renditions, and stored once.
        issued[city] = issued.get(city, 0) + 1
        month, day = rng.randint(1, 12), rng.randint(1, 28)
        target_pages = rng.randint(2, 12)
        paragraphs = rng.sample(pool, 4 * target_pages)
        heads = HEADINGS[: rng.randint(2, len(HEADINGS))]
        chunk = -(-len(paragraphs) // len(heads))
        sections = tuple((h, tuple(paragraphs[k * chunk : (k + 1) * chunk])) for k, h in enumerate(heads))
        spec = BulletinSpec(
            title=f"{city}交通运输执法领域突出问题专项整治行动工作简报",
            issue=f"2021年第{issued[city]}期",
            issuer=(f"{city}交通运输执法领域突出问题", "专项整治行动领导小组办公室"),
            date=f"2021年{month}月{day}日",
            toc=heads,
            sections=sections,
            closing=("报：市委、市政府。", "抄送：省交通运输厅。"),
            footer=rng.choice(footers),
            font_size=rng.choice((14, 15, 16)),
            spaced_digits=rng.random() < 0.3,
        )
        name = f"{i:03d}-{city}.pdf"
        render(spec, folder / name)
        pages[name] = _page_count(folder / name)
    manifest = {"generator": GENERATOR, "files": n, "pages": pages, "seconds": round(time.perf_counter() - started, 1)}
    manifest_path.write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    return manifest


def _page_count(path: Path) -> int:
    import pypdfium2  # a pdfplumber dependency: counts pages without parsing them

    pdf = pypdfium2.PdfDocument(str(path))
    try:
        return len(pdf)
    finally:
        pdf.close()


# --- one measured run (in a fresh process) -------------------------------------------------


def child(args: argparse.Namespace) -> None:
    """Run one batch and print its figures as JSON (called in a subprocess)."""
    files = [Path(p) for p in json.loads(Path(args.child_files).read_text(encoding="utf-8"))]
    from pipeline.batch import classify

    started = time.perf_counter()
    summary = classify(files, db=Path(args.db), jobs=args.jobs, model=args.model, quiet=True)
    seconds = time.perf_counter() - started
    # Stop the reusable loky workers so that their peak RSS is counted as children's.
    from joblib.externals.loky import get_reusable_executor

    get_reusable_executor().shutdown(wait=True)
    print(
        json.dumps(
            {
                "seconds": seconds,
                "read": summary.read,
                "unchanged": summary.unchanged,
                "failed": len(summary.failed),
                "passages": summary.passages,
                "parent_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                "worker_rss": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024,
            }
        )
    )


def measure(files: list[Path], db: Path, jobs: int, model: str | None) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, encoding="utf-8") as fh:
        json.dump([str(f) for f in files], fh)
    cmd = [sys.executable, __file__, "--child-files", fh.name, "--db", str(db), "--jobs", str(jobs)]
    if model:
        cmd += ["--model", model]
    started = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    result = json.loads(out.strip().splitlines()[-1])
    result["process_seconds"] = time.perf_counter() - started
    os.unlink(fh.name)
    return result


def _mib(n: float | None) -> str:
    return "n/a" if n is None else f"{n / 2**20:.0f} MiB"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--archive", type=Path, default=None, help="where the generated PDFs are cached")
    parser.add_argument("--model", default=None)
    parser.add_argument("--child-files", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--jobs", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_files:
        child(args)
        return 0

    folder = args.archive or OUT / f"archive-{args.files}"
    manifest = generate(folder, args.files)
    files = [folder / name for name in sorted(manifest["pages"])]
    pages = sum(manifest["pages"].values())
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(
        f"archive: {len(files)} generated bulletins, {pages} pages ({min(manifest['pages'].values())}-"
        f"{max(manifest['pages'].values())} per file) in {folder}; {cores} cores; Python {sys.version.split()[0]}"
    )

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        one = measure(files, tmp / "one.db", 1, args.model)
        two = measure(files, tmp / "two.db", 2, args.model)
        rerun = measure(files, tmp / "two.db", 2, args.model)
        mem = {n: measure(files[:n], tmp / f"mem{n}.db", 2, args.model) for n in (50, len(files))}

    assert one["failed"] == two["failed"] == 0 and rerun["unchanged"] == len(files), (one, two, rerun)
    print(f"passages classified: {one['passages']}")
    print("\nthroughput (fresh store, whole batch incl. model load and worker start-up):")
    for label, r in (("1 worker ", one), ("2 workers", two)):
        print(
            f"  {label}: {r['seconds']:6.1f} s  {len(files) / r['seconds']:5.2f} files/s  "
            f"{pages / r['seconds']:6.1f} pages/s   (process {r['process_seconds']:.1f} s)"
        )
    speedup = one["seconds"] / two["seconds"]
    print(f"  speed-up 2 vs 1: {speedup:.2f}x  (target >= 1.7x: {'met' if speedup >= 1.7 else 'NOT met'})")
    ratio = rerun["seconds"] / two["seconds"]
    pratio = rerun["process_seconds"] / two["process_seconds"]
    print(
        f"\nunchanged rerun: {rerun['seconds']:.2f} s in classify ({rerun['process_seconds']:.2f} s whole process)"
        f" = {100 * ratio:.1f}% of the first run ({100 * pratio:.1f}% process to process)"
        f"  (target <= 5%: {'met' if pratio <= 0.05 else 'NOT met'})"
    )
    print("\npeak memory, 2 workers:")
    for n, r in mem.items():
        print(
            f"  {n:4d} files: parent RSS {_mib(r['parent_rss'])}, largest worker RSS {_mib(r['worker_rss'])}"
            f"  ({r['seconds']:.1f} s)"
        )
    small, large = mem[50], mem[len(files)]
    growth = (large["parent_rss"] - small["parent_rss"]) / 2**20
    wgrowth = (large["worker_rss"] - small["worker_rss"]) / 2**20
    print(
        f"  growth from 50 to {len(files)} files: parent {growth:+.0f} MiB, worker {wgrowth:+.0f} MiB "
        f"(target flat, within 10%: {'met' if abs(growth) <= 0.1 * small['parent_rss'] / 2**20 else 'NOT met'})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
