"""Chart geometry for the dashboard: the templates draw it as inline SVG.

No chart library and nothing fetched: bars and columns are rectangles computed here from the
counts frames, each linked to the passages it counts. A category keeps the colour it has in
``bulletins chart`` (matplotlib's default cycle, ``C0``…``C5``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from pipeline.reports.exports import NO_DATE, UNKNOWN
from pipeline.taxonomy import CATEGORIES

#: matplotlib's first six default colours, as ``bulletins chart`` uses them per category.
COLORS = dict(zip(CATEGORIES, ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")))

#: Links to the passages behind a number: ``href(category, region, month)``; ``None`` is
#: "any", ``""`` is "empty" (no date, unrecognised unit).
Href = Callable[[str | None, str | None, str | None], str]


@dataclass(frozen=True)
class Bar:
    """One rectangle, its label and link."""

    x: float
    y: float
    w: float
    h: float
    color: str
    href: str
    title: str
    value: int


@dataclass
class Chart:
    """An SVG chart: its size, rectangles and text labels ``(x, y, text, anchor)``."""

    width: int
    height: int
    bars: list[Bar] = field(default_factory=list)
    labels: list[tuple[float, float, str, str]] = field(default_factory=list)
    title: str = ""

    @property
    def empty(self) -> bool:
        return not self.bars


def _nice_max(value: int) -> int:
    return max(1, int(value))


def category_bars(totals: pd.DataFrame, href: Href, width: int = 640) -> Chart:
    """Horizontal bars, one per category (guide order), from ``counts --by category``."""
    per = dict.fromkeys(CATEGORIES, 0)
    for cat, n in zip(totals.get("category", []), totals.get("count", [])):
        per[str(cat)] = int(n)
    row, left, right = 30, 84, 56
    chart = Chart(width, row * len(CATEGORIES) + 10, title="各类问题数")
    top = _nice_max(max(per.values(), default=0))
    span = width - left - right
    for k, cat in enumerate(CATEGORIES):
        y = 5 + k * row
        w = span * per[cat] / top if per[cat] else 0
        chart.labels.append((left - 8, y + row / 2 + 5, cat, "end"))
        chart.labels.append((left + w + 6, y + row / 2 + 5, str(per[cat]), "start"))
        if per[cat]:
            chart.bars.append(
                Bar(
                    left,
                    y + 4,
                    round(w, 1),
                    row - 8,
                    COLORS[cat],
                    href(cat, None, None),
                    f"{cat}：{per[cat]}",
                    per[cat],
                )
            )
    return chart


def month_columns(by_month: pd.DataFrame, href: Href, width: int = 640, height: int = 240) -> Chart:
    """Stacked columns per month (categories stacked in guide order), from
    ``counts --by month category``; passages without a date form a last column."""
    months = sorted({str(m) for m in by_month.get("month", [])}, key=lambda m: (m == "", m))
    table = {(str(m), str(c)): int(n) for m, c, n in zip(by_month["month"], by_month["category"], by_month["count"])}
    if not months:
        return Chart(width, 40, title="按月份")
    left, bottom, top_pad = 36, 34, 24
    totals = [sum(table.get((m, c), 0) for c in CATEGORIES) for m in months]
    peak = _nice_max(max(totals))
    slot = (width - left - 8) / len(months)
    col = max(4.0, min(48.0, slot * 0.7))
    plot_h = height - bottom - top_pad
    chart = Chart(width, height, title="按月份")
    every = max(1, int(len(months) * 56 / (width - left)))  # labels that fit
    for k, month in enumerate(months):
        x = left + k * slot + (slot - col) / 2
        base = float(height - bottom)
        for cat in CATEGORIES:
            n = table.get((month, cat), 0)
            if not n:
                continue
            h = plot_h * n / peak
            base -= h
            shown = month or NO_DATE
            chart.bars.append(
                Bar(
                    round(x, 1),
                    round(base, 1),
                    round(col, 1),
                    round(h, 1),
                    COLORS[cat],
                    href(cat, None, month),
                    f"{shown} {cat}：{n}",
                    n,
                )
            )
        if k % every == 0:
            chart.labels.append((x + col / 2, height - bottom + 16, month or "无日期", "middle"))
        chart.labels.append((x + col / 2, base - 4, str(totals[k]), "middle"))
    chart.labels.append((left - 6, top_pad + 4, str(peak), "end"))
    chart.labels.append((left - 6, height - bottom, "0", "end"))
    return chart


def region_bars(by_region: pd.DataFrame, href: Href, width: int = 640, limit: int = 25) -> Chart:
    """Stacked horizontal bars per region, most passages first (at most ``limit`` regions),
    from ``counts --by region category``."""
    table = {
        (str(r), str(c)): int(n) for r, c, n in zip(by_region["region"], by_region["category"], by_region["count"])
    }
    regions = sorted({r for r, _ in table}, key=lambda r: (-sum(table.get((r, c), 0) for c in CATEGORIES), r))[:limit]
    row, left, right = 26, 96, 48
    chart = Chart(width, max(40, row * len(regions) + 10), title="按地区")
    if not regions:
        return chart
    totals = {r: sum(table.get((r, c), 0) for c in CATEGORIES) for r in regions}
    peak = _nice_max(max(totals.values()))
    span = width - left - right
    for k, region in enumerate(regions):
        y = 5 + k * row
        x = float(left)
        shown = region or UNKNOWN
        chart.labels.append((left - 8, y + row / 2 + 5, shown, "end"))
        for cat in CATEGORIES:
            n = table.get((region, cat), 0)
            if not n:
                continue
            w = span * n / peak
            chart.bars.append(
                Bar(
                    round(x, 1),
                    y + 3,
                    round(w, 1),
                    row - 6,
                    COLORS[cat],
                    href(cat, region, None),
                    f"{shown} {cat}：{n}",
                    n,
                )
            )
            x += w
        chart.labels.append((x + 6, y + row / 2 + 5, str(totals[region]), "start"))
    return chart
