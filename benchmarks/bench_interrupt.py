"""Kill the batch at random moments and check that a rerun always ends in the same store.

A 40-file archive of generated text bulletins (``tests/helpers/storekit.py``'s paragraphs,
varied cities, dates and lengths) is classified once without interruption: the reference
store. Then, 20 times: a fresh ``classify`` is started and killed with SIGKILL at a random
moment of its work (once it has committed a random number of files, 0 to 39, plus a random
delay of up to two files' time; for 0, somewhere before the first commit), the processes it
started (loky workers, their reader processes, resource trackers) are looked for, and the
same command is run again to completion. Each
final store is compared with the reference: bulletins (content hash, name, title, issue,
text, current model version), passages (every field) and predictions (every model
version, category, score, decision and evidence); ids and times are left out.

By default each run is a Python process calling :func:`pipeline.batch.classify` with the
cue-word stand-in model (``CueModel``), ``jobs=2`` (the CLI cannot take a stand-in model);
``--real-model`` runs ``bulletins classify`` with the shipped default model instead.

Linux only (processes are found through ``/proc``). Prints one row per kill and a verdict:

    python benchmarks/bench_interrupt.py [--files 40] [--kills 20] [--jobs 2] [--seed 13] [--real-model]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from helpers.storekit import BULLETINS, bulletin_text  # noqa: E402

OUT = ROOT / "benchmarks" / "out" / "interrupt"
MARK = "BULLETINS_BENCH_MARK"

_RUN = """
import sys
sys.path.insert(0, {tests!r})
from pathlib import Path
from helpers.storekit import CueModel, cue_predict
from pipeline.batch import classify
s = classify([Path({archive!r})], db=Path({db!r}), jobs={jobs}, model=CueModel(), predict=cue_predict, quiet=True)
print(s.read, s.reclassified, s.unchanged, s.duplicates, len(s.failed))
"""


def make_archive(folder: Path, files: int, seed: int) -> list[Path]:
    """``files`` text bulletins of 150-600 paragraphs (about 20-90 KB: 0.1-0.3 s to read each;
    those over 256 passages are stored first and classified in chunks)."""
    rng = random.Random(seed)
    paragraphs = [p for b in BULLETINS for p in b[3]]
    cities = ["南充市", "绵阳市", "广元市", "遂宁市", "内江市", "乐山市", "宜宾市", "达州市"]
    shutil.rmtree(folder, ignore_errors=True)
    paths = []
    for k in range(files):
        city = cities[k % len(cities)]
        body = []
        for i in range(rng.randint(150, 600)):
            month, day = rng.randint(1, 12), rng.randint(1, 28)
            body.append(paragraphs[(k + i) % len(paragraphs)].replace("6月", f"{month}月").replace("8日", f"{day}日"))
        path = folder / city / f"{city}-2021-{k + 1:02d}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(bulletin_text(city, k + 1, (2021, 1 + k % 12, 1 + k % 28), body), encoding="utf-8")
        paths.append(path)
    return paths


def command(archive: Path, db: Path, jobs: int, real_model: bool) -> list[str]:
    if real_model:
        return [sys.executable, "-m", "pipeline", "classify", str(archive), "--db", str(db), "--jobs", str(jobs), "-q"]
    script = _RUN.format(tests=str(ROOT / "tests"), archive=str(archive), db=str(db), jobs=jobs)
    return [sys.executable, "-c", script]


def marked(mark: str) -> list[int]:
    """Live processes whose environment carries ``MARK=mark`` (zombies have none)."""
    needle = f"{MARK}={mark}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if needle in (entry / "environ").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def snapshot(db: Path) -> tuple[list, list, list, int]:
    conn = sqlite3.connect(db)
    try:
        bulletins = conn.execute(
            "SELECT sha256, path, name, title, year, issue_no, date, text, model_version FROM bulletins ORDER BY sha256"
        ).fetchall()
        passages = conn.execute(
            "SELECT b.sha256, p.idx, p.section, p.subsection, p.unit, p.region, p.date, p.page, p.char_start, "
            "p.char_end, p.text FROM passages p JOIN bulletins b ON b.id = p.bulletin_id ORDER BY b.sha256, p.idx"
        ).fetchall()
        predictions = conn.execute(
            "SELECT b.sha256, p.idx, r.model_version, r.category, r.score, r.predicted, r.evidence FROM predictions r "
            "JOIN passages p ON p.id = r.passage_id JOIN bulletins b ON b.id = p.bulletin_id "
            "ORDER BY b.sha256, p.idx, r.model_version, r.category"
        ).fetchall()
        staged = conn.execute("SELECT COUNT(*) FROM meta WHERE key LIKE 'staged:%'").fetchone()[0]
    finally:
        conn.close()
    return bulletins, passages, predictions, staged


def committed(db: Path) -> int:
    """Files a running batch has committed so far (stored or staged)."""
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
    except sqlite3.Error:
        return 0
    try:
        return conn.execute(
            "SELECT (SELECT COUNT(*) FROM bulletins) + (SELECT COUNT(*) FROM meta WHERE key LIKE 'staged:%')"
        ).fetchone()[0]
    except sqlite3.Error:
        return 0
    finally:
        conn.close()


def state(db: Path) -> str:
    """What a killed run left: whole bulletins, bulletins stored without current predictions, staged reads."""
    if not db.exists():
        return "no store"
    conn = sqlite3.connect(db)
    try:
        whole, partial = conn.execute(
            "SELECT COUNT(model_version), COUNT(*) - COUNT(model_version) FROM bulletins"
        ).fetchone()
        staged = conn.execute("SELECT COUNT(*) FROM meta WHERE key LIKE 'staged:%'").fetchone()[0]
    except sqlite3.Error:
        return "store being created"
    finally:
        conn.close()
    return f"{whole} whole, {partial} partial, {staged} staged"


def reference_run(cmd: list[str], db: Path) -> tuple[float, float]:
    """Run ``cmd`` to completion; its wall time and when its first file was committed."""
    started = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    first = None
    while proc.poll() is None:
        if first is None and db.exists() and not state(db).startswith(("no store", "store", "0 whole, 0 partial, 0")):
            first = time.monotonic() - started
        time.sleep(0.02)
    if proc.returncode != 0:
        raise SystemExit(f"the reference run failed (exit {proc.returncode})")
    full = time.monotonic() - started
    return full, first if first is not None else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=40)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--real-model", action="store_true", help="`bulletins classify` with the default model")
    args = parser.parse_args(argv)
    if not sys.platform.startswith("linux"):
        print("bench_interrupt: Linux only (/proc)", file=sys.stderr)
        return 1
    rng = random.Random(args.seed)
    archive = OUT / "archive"
    make_archive(archive, args.files, args.seed)
    reference = OUT / "reference.db"
    for f in OUT.glob("*.db*"):
        f.unlink()
    full, first = reference_run(command(archive, reference, args.jobs, args.real_model), reference)
    ref = snapshot(reference)
    print(
        f"archive: {args.files} files, {len(ref[1])} passages; uninterrupted run {full:.1f} s, first commit at "
        f"{first:.1f} s ({'default model, CLI' if args.real_model else 'CueModel, batch API'}, jobs={args.jobs}); "
        f"each run is killed once a random number of files (0-{args.files - 1}) is committed, plus a random delay"
    )
    print(
        f"{'kill':>4}  {'at (s)':>6}  {'left by the killed run':<32}  {'rerun: read/re-cl./unch.':<24}  "
        f"{'identical':<9}  orphans"
    )
    identical = orphans_total = 0
    for k in range(1, args.kills + 1):
        db = OUT / f"run-{k:02d}.db"
        mark = uuid.uuid4().hex
        env = {**os.environ, MARK: mark}
        # A random moment of the work (start-up is not interesting): once the run has
        # committed a random number of files, plus a random fraction of a file's time.
        target, extra = rng.randint(0, args.files - 1), rng.uniform(0, 2 * (full - first) / args.files)
        started = time.monotonic()
        proc = subprocess.Popen(
            command(archive, db, args.jobs, args.real_model), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        while proc.poll() is None and committed(db) < max(target, 1 if target else 0):
            time.sleep(0.005)
        if target == 0:  # before the first commit: somewhere in the reading of the first round
            time.sleep(rng.uniform(0, first / 2))
        time.sleep(extra)
        at = time.monotonic() - started
        finished_first = proc.poll() is not None
        if not finished_first:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stderr.close()
        deadline = time.monotonic() + 5  # workers notice their parent's death within moments
        while marked(mark) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = marked(mark)
        for pid in left:  # do not let them disturb the next runs
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        after_kill = state(db)
        rerun = subprocess.run(command(archive, db, args.jobs, args.real_model), capture_output=True, text=True)
        found = re.search(r"(\d+) read, (\d+) re-classified, (\d+) unchanged", rerun.stderr)
        counts = rerun.stdout.split() if not args.real_model else list(found.groups()) if found else []
        summary = "/".join(counts[:3]) if counts else ("ok" if rerun.returncode == 0 else f"exit {rerun.returncode}")
        same = rerun.returncode == 0 and snapshot(db) == ref
        identical += same
        orphans_total += len(left)
        note = " (had finished)" if finished_first else ""
        print(f"{k:>4}  {at:>6.2f}  {after_kill + note:<32}  {summary:<24}  {'yes' if same else 'NO':<9}  {len(left)}")
    print(
        f"final stores identical to the uninterrupted run: {identical}/{args.kills}; "
        f"orphaned worker processes: {orphans_total} (target 0)"
    )
    return 0 if identical == args.kills and orphans_total == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
