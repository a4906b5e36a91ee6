"""Extraction speed and peak memory: bare pdfplumber against our reader, and PDFium (prints figures).

Usage: python benchmarks/bench_extract.py [--pages 5 10 50] [--repeat 5] [--font-file PATH] [--fresh]

Bulletin PDFs of about the given page counts are typeset with helpers.synth from the seed
bulletin (its sections repeated) and cached in benchmarks/out/ (git-ignored), in two ways:

* ``ttf``: WenQuanYi Zen Hei embedded as TrueType, the common case in real archives
  (``apt-get install fonts-wqy-zenhei``; without it this part is skipped and says so);
* ``cid``: reportlab's built-in STSong-Light, not embedded: PDFium then looks for a system
  substitute, its slower path, reported separately.

Times: one fresh process per file runs a warm-up read in every mode (imports, PDFium's
start, font look-ups), then ``--repeat`` rounds with the modes interleaved, keeping each
mode's best, so that a busy machine slows them alike. Memory: one fresh process per file
and mode reads the file once; "peak MiB" is its peak resident set (VmHWM) and "+MiB" what
the read added to the interpreter with every module imported. Modes:

* ``bare``: pdfplumber ``page.extract_text()`` on every page, each page closed after;
* ``plumber``: ``read_bulletin(path)`` (extract + clean + structure), pdfplumber engine;
* ``pdfium``: ``read_bulletin(path, engine="pdfium")``.

Targets: issue 2, cleaning and structure add at most 15% to bare pdfplumber's time
(``plumber`` <= 1.15 x ``bare``); issue 4, ``pdfium`` >= 10x ``plumber``'s pages/s on
bulletins with embedded TrueType fonts.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from pipeline import config

#: The test suite's PDF typesetter (helpers.synth) renders the bulletins measured here.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

OUT = config.ROOT / "benchmarks" / "out"
MODES = ("bare", "plumber", "pdfium")
FONT_NAME = "WenQuanYi Zen Hei"


# --- generated bulletins ---------------------------------------------------------------


def find_font(given: str | None) -> Path | None:
    """The WenQuanYi Zen Hei file (reportlab embeds its TrueType outlines; Noto CJK's CFF
    outlines it cannot), from ``--font-file`` or fontconfig."""
    if given:
        return Path(given) if Path(given).is_file() else None
    try:
        out = subprocess.run(["fc-list", FONT_NAME, "file"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    files = sorted(line.split(":")[0].strip() for line in out.splitlines() if line.strip())
    return Path(files[0]) if files else None


def _paragraphs():
    """The seed bulletin's spec and its (heading, paragraph) pairs, in order."""
    from helpers.synth import spec_from_bulletin
    from pipeline.ingest import read_bulletin

    spec = spec_from_bulletin(read_bulletin(config.SEED_TEXT))
    return spec, [(head, para) for head, paras in spec.sections for para in paras]


def _spec_with(spec, pairs, count: int):
    """The spec with the first ``count`` paragraphs of the seed repeated end to end."""
    chosen = [pairs[i % len(pairs)] for i in range(count)]
    sections: list[tuple[str, list[str]]] = []
    for head, para in chosen:
        if not sections or sections[-1][0] != head:
            sections.append((head, []))
        sections[-1][1].append(para)
    return dataclasses.replace(spec, sections=tuple((h, tuple(ps)) for h, ps in sections))


def _page_count(path: Path) -> int:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(path)
    try:
        return len(doc)
    finally:
        doc.close()


def make_bulletin(pages: int, kind: str, font: Path | None, fresh: bool) -> Path:
    """A generated bulletin of about ``pages`` pages (cached)."""
    from helpers.synth import render

    path = OUT / f"bulletin-{kind}-{pages}p.pdf"
    if path.exists() and not fresh:
        return path
    OUT.mkdir(parents=True, exist_ok=True)
    spec, pairs = _paragraphs()
    # Paragraph count for the page count: bisect on rendered length (rendering is quick).
    low, high = 1, len(pairs)
    while _page_count(render(_spec_with(spec, pairs, high), path, font_file=font)) < pages:
        low, high = high, high * 2
    while low < high:
        mid = (low + high) // 2
        if _page_count(render(_spec_with(spec, pairs, mid), path, font_file=font)) >= pages:
            high = mid
        else:
            low = mid + 1
    render(_spec_with(spec, pairs, high), path, font_file=font)
    return path


# --- one measurement, in its own process ------------------------------------------------


def _rss_mib() -> float:
    """Peak resident memory of this process so far, MiB.

    VmHWM belongs to the process image, so it starts afresh at exec; ``ru_maxrss`` would
    carry over the parent's peak through vfork+exec.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux; bytes on macOS


def _runner(mode: str, path: Path):
    import pdfplumber

    from pipeline.ingest import read_bulletin

    def bare() -> None:
        with pdfplumber.open(path) as pdf:
            for page in pdf.pages:
                page.extract_text()
                page.close()

    return {
        "bare": bare,
        "plumber": lambda: read_bulletin(path),
        "pdfium": lambda: read_bulletin(path, engine="pdfium"),
    }[mode]


def _imports() -> None:
    """Everything any mode imports, so that every process starts from the same baseline."""
    import pdfplumber  # noqa: F401
    import pypdfium2  # noqa: F401

    import pipeline.ingest  # noqa: F401
    import pipeline.readers.pdfium  # noqa: F401


def time_modes(path: Path, repeat: int) -> dict:
    """Best time of each mode over ``repeat`` rounds, the modes interleaved round by round
    so that a busy neighbour slows them alike; one warm-up round first."""
    _imports()
    runs = {mode: _runner(mode, path) for mode in MODES}
    for run in runs.values():
        run()
    best = dict.fromkeys(MODES, float("inf"))
    for _ in range(repeat):
        for mode, run in runs.items():
            start = time.perf_counter()
            run()
            best[mode] = min(best[mode], time.perf_counter() - start)
    return best


def memory(mode: str, path: Path) -> dict:
    """Peak resident memory of one read in a process of its own, and the baseline."""
    _imports()
    base = _rss_mib()
    _runner(mode, path)()
    return {"peak_mib": _rss_mib(), "base_mib": base}


def _child(*args: str) -> dict:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(config.ROOT), os.environ.get("PYTHONPATH")]))}
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, env=env, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


# --- report -----------------------------------------------------------------------------


def report(kind: str, label: str, sizes: list[int], font: Path | None, repeat: int, fresh: bool) -> list[dict]:
    print(f"\n{label}")
    print(f"{'pages':>5} {'mode':<8} {'seconds':>8} {'pages/s':>8} {'peak MiB':>9} {'+MiB':>6}  vs bare   vs plumber")
    rows = []
    for pages in sizes:
        path = make_bulletin(pages, kind, font, fresh)
        n = _page_count(path)
        seconds = _child("--time", str(path), "--repeat", str(repeat))
        mem = {mode: _child("--memory", mode, str(path)) for mode in MODES}
        for mode in MODES:
            t, m = seconds[mode], mem[mode]
            added = m["peak_mib"] - m["base_mib"]
            print(
                f"{n:>5} {mode:<8} {t:>8.3f} {n / t:>8.1f} {m['peak_mib']:>9.1f} {added:>6.1f}"
                f"  {seconds['bare'] / t:>6.2f}x  {seconds['plumber'] / t:>7.2f}x"
            )
        overhead = seconds["plumber"] / seconds["bare"] - 1
        speedup = seconds["plumber"] / seconds["pdfium"]
        rows.append({"kind": kind, "pages": n, "overhead": overhead, "speedup": speedup})
        print(
            f"{'':>5} -> clean+structure overhead over bare pdfplumber: {overhead:+.1%} (target <= +15%); "
            f"pdfium {speedup:.1f}x our pdfplumber path"
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, nargs="+", default=[5, 10, 50], help="bulletin sizes (pages)")
    parser.add_argument("--repeat", type=int, default=5, help="timed rounds (best is kept)")
    parser.add_argument("--font-file", help=f"a {FONT_NAME} .ttc/.ttf to embed (default: found by fontconfig)")
    parser.add_argument("--fresh", action="store_true", help="typeset the bulletins again")
    parser.add_argument("--time", metavar="PDF", help=argparse.SUPPRESS)
    parser.add_argument("--memory", nargs=2, metavar=("MODE", "PDF"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.time:
        print(json.dumps(time_modes(Path(args.time), args.repeat)))
        return 0
    if args.memory:
        mode, path = args.memory
        print(json.dumps(memory(mode, Path(path))))
        return 0

    import pdfplumber
    import pypdfium2

    print(
        f"Python {sys.version.split()[0]}, pdfplumber {pdfplumber.__version__}, "
        f"pypdfium2 {pypdfium2.version.PYPDFIUM_INFO}, "
        f"{os.cpu_count()} cores; best of {args.repeat} interleaved rounds after a warm-up"
    )
    rows = []
    font = find_font(args.font_file)
    if font is None:
        print(
            f"\nTTF part skipped: no {FONT_NAME} font found "
            f"(apt-get install fonts-wqy-zenhei, or pass --font-file PATH)"
        )
    else:
        rows += report(
            "ttf", f"Embedded TrueType ({font.name}): the common case", args.pages, font, args.repeat, args.fresh
        )
    rows += report(
        "cid",
        "Built-in CID font STSong-Light, not embedded (PDFium's slower path)",
        args.pages,
        None,
        args.repeat,
        args.fresh,
    )
    print("\nSummary")
    worst = max(r["overhead"] for r in rows)
    print(
        f"  clean+structure overhead: at most {worst:+.1%} over bare pdfplumber (target <= +15%): "
        f"{'met' if worst <= 0.15 else 'NOT met'}"
    )
    ttf = [r for r in rows if r["kind"] == "ttf"]
    if ttf:
        low = min(r["speedup"] for r in ttf)
        print(
            f"  pdfium on embedded TrueType: at least {low:.1f}x our pdfplumber path (target >= 10x): "
            f"{'met' if low >= 10 else 'NOT met'}"
        )
    cid = [r for r in rows if r["kind"] == "cid"]
    print(
        f"  pdfium on the non-embedded CID font: {min(r['speedup'] for r in cid):.1f}x to "
        f"{max(r['speedup'] for r in cid):.1f}x (no target; PDFium substitutes a system font)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
