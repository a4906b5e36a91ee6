"""Units, regions and event dates on passages written by people who never saw the code.

Two gold sets, each by a writer who never saw the code (conventions: unit as written to its
organisational suffix; region the prefecture-level division, 省级/部级, another province's
name, "" for anonymous units and none):

- ``benchmarks/data/units_gold.jsonl``: 200 openings over 11 layouts, 31 issuing provinces;
  the rules were developed against it (a development set);
- ``benchmarks/data/units_heldout.jsonl``: 150 openings by a second writer, read once for
  the final figures (``--gold benchmarks/data/units_heldout.jsonl``).

Prints, overall and per layout:

- region right on passages that name a unit (target ≥ 98%),
- unit exact on them (target ≥ 95%), and units returned where the gold has none
  (fragments: target 0),
- event date right, and units per second.

    python benchmarks/bench_units.py [--gold FILE] [--show-errors]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.text.dates import event_date
from pipeline.text.places import load_gazetteer, region_of
from pipeline.text.units import find_unit

GOLD = Path(__file__).resolve().parent / "data" / "units_gold.jsonl"
LAYOUTS = {
    1: "province + city",
    2: "city + county",
    3: "districts",
    4: "autonomous prefectures",
    5: "兵团",
    6: "anonymous",
    7: "own provincial bodies",
    8: "Ministry",
    9: "another province",
    10: "leads and fragments",
    11: "date forms",
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gold", type=Path, default=GOLD)
    ap.add_argument("--show-errors", action="store_true")
    args = ap.parse_args()
    rows = [json.loads(line) for line in args.gold.read_text(encoding="utf-8").splitlines() if line.strip()]
    g = load_gazetteer()
    stats: dict[object, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    errors = []
    start = time.perf_counter()
    for r in rows:
        issued = dt.date.fromisoformat(r["bulletin_date"])
        unit = find_unit(r["text"], g)
        region = region_of(unit, r["bulletin_province"], g)
        first = r["text"].split("。")[0]
        day = event_date(first, issued.year, issued)
        got_date = day.isoformat() if day else None
        for key in ("all", r["layout"]):
            s = stats[key]
            s["n"] += 1
            if r["unit"]:
                s["named"] += 1
                s["unit_ok"] += unit == r["unit"]
                s["region_ok"] += region == r["region"]
            else:
                s["none"] += 1
                s["fragment"] += bool(unit) and not r["region"] and region == "" and unit != r["unit"]
                s["none_ok"] += unit == ""
            s["date_ok"] += got_date == r["date"]
        if (unit, region, got_date) != (r["unit"], r["region"], r["date"]):
            errors.append(
                (r["id"], r["layout"], r["text"][:40], (unit, region, got_date), (r["unit"], r["region"], r["date"]))
            )
    seconds = time.perf_counter() - start

    def pct(a: int, b: int) -> str:
        return f"{100 * a / b:5.1f}%" if b else "    -"

    print(f"{'layout':<26}{'n':>4}{'region':>9}{'unit':>9}{'no unit ok':>12}{'date':>9}")
    for key in ["all", *sorted(k for k in stats if k != "all")]:
        s = stats[key]
        name = "all" if key == "all" else f"{key} {LAYOUTS.get(key, '')}"
        print(
            f"{name:<26}{s['n']:>4}{pct(s['region_ok'], s['named']):>9}{pct(s['unit_ok'], s['named']):>9}"
            f"{pct(s['none_ok'], s['none']):>12}{pct(s['date_ok'], s['n']):>9}"
        )
    s = stats["all"]
    print(f"\npassages naming a unit: {s['named']}; region right {s['region_ok']}, unit exact {s['unit_ok']}")
    print(f"passages naming none: {s['none']}; a unit returned anyway on {s['none'] - s['none_ok']}")
    print(f"{len(rows) / seconds:,.0f} passages/s (unit, region and date)")
    if args.show_errors:
        for e in errors:
            print(*e, sep="  ")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
