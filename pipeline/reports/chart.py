"""Charts of category counts (matplotlib, Agg; the only module that imports matplotlib).

Category names and regions are Chinese, so a chart needs a font with Chinese glyphs. One
is looked up among the fonts matplotlib knows and the system's font files; when there is
none, no chart is written (boxes instead of names would be unreadable) and
:class:`pipeline.errors.ChartFontError` names the Debian packages to install.

No pyplot: figures are built with :class:`matplotlib.figure.Figure` and an Agg canvas, so
the caller's matplotlib backend and global state (a notebook's, say) are left alone.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline import config
from pipeline.errors import ChartFontError, UsageError
from pipeline.reports.exports import NO_DATE, UNKNOWN
from pipeline.reports.queries import counts
from pipeline.taxonomy import CATEGORIES

BY = ("month", "region")

#: CJK font families in order of preference (Linux packages first).
CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Sans CJK JP",
    "Noto Sans CJK TC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Noto Serif CJK SC",
    "Source Han Serif SC",
    "AR PL UMing CN",
    "AR PL UKai CN",
    "Droid Sans Fallback",
    "SimHei",
    "Microsoft YaHei",
    "SimSun",
    "PingFang SC",
    "Hiragino Sans GB",
    "Heiti SC",
    "STHeiti",
)
#: Hints in font file names worth a glyph check when no known family is registered.
_FILE_HINTS = (
    "cjk",
    "wqy",
    "zenhei",
    "microhei",
    "sourcehan",
    "droidsansfallback",
    "uming",
    "ukai",
    "simhei",
    "simsun",
    "msyh",
    "pingfang",
    "hiragino",
    "heiti",
    "notosanssc",
    "notoserifsc",
)
#: The packages that provide one (Debian/Ubuntu).
FONT_PACKAGES = "fonts-noto-cjk or fonts-wqy-zenhei"
_PROBE = "执法简报"


def _has_glyphs(path: str) -> bool:
    from matplotlib.ft2font import FT2Font

    try:
        font = FT2Font(path)
    except (OSError, RuntimeError, ValueError):
        return False
    return all(font.get_char_index(ord(ch)) for ch in _PROBE)


def find_cjk_font() -> tuple[str, Path] | None:
    """A font that can draw Chinese, as ``(family, file)``; ``None`` when there is none.

    Known families registered with matplotlib come first; then system font files that
    matplotlib's cache does not list yet (a font installed after the cache was built) are
    checked for Chinese glyphs and registered.
    """
    from matplotlib import font_manager as fm

    known: dict[str, str] = {}
    for entry in fm.fontManager.ttflist:
        known.setdefault(entry.name, entry.fname)
    for family in CJK_FAMILIES:
        if family in known and _has_glyphs(known[family]):
            return family, Path(known[family])
    cached = {entry.fname for entry in fm.fontManager.ttflist}
    candidates = [
        p
        for p in fm.findSystemFonts()
        if p not in cached and any(h in Path(p).name.lower().replace("-", "").replace("_", "") for h in _FILE_HINTS)
    ]
    for path in sorted(candidates):
        if _has_glyphs(path):
            fm.fontManager.addfont(path)
            return fm.FontProperties(fname=path).get_name(), Path(path)
    return None


def require_cjk_font() -> tuple[str, Path]:
    """:func:`find_cjk_font`, or :class:`ChartFontError` naming the packages to install."""
    found = find_cjk_font()
    if found is None:
        raise ChartFontError(
            "no font with Chinese glyphs found, so category and region names cannot be drawn; no chart was written",
            hint=f"install one (Debian/Ubuntu: sudo apt-get install {FONT_PACKAGES}) and run again",
        )
    return found


def _weight(family: str) -> int | str:
    """The registered weight of a family, so that lookups match it exactly (WenQuanYi Zen
    Hei is registered as 500, not "normal")."""
    from matplotlib import font_manager as fm

    weights = [e.weight for e in fm.fontManager.ttflist if e.name == family]
    return weights[0] if weights else "normal"


@contextmanager
def _quiet_font_lookup():
    """Silence matplotlib's "findfont: … now using 500" notes while drawing."""
    logger = logging.getLogger("matplotlib.font_manager")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def render(table: pd.DataFrame, by: str, output: Path, font: tuple[str, Path] | None = None, title: str = "") -> Path:
    """Draw a counts frame (``by`` and ``category`` columns) to a PNG.

    By month: one line per category over the months present. By region: stacked bars per
    region, most passages first.

    Args:
        table: from :func:`pipeline.reports.queries.counts` with ``by=[by, "category"]``.
        by: ``month`` or ``region``.
        output: the .png to write.
        font: ``(family, file)`` from :func:`find_cjk_font` (default: look one up).
        title: the chart title.

    Returns:
        ``output``.
    """
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if by not in BY:
        raise UsageError(f"expected --by month or region, found {by!r}")
    family, _ = font or require_cjk_font()
    wide = table.pivot_table(index=by, columns="category", values="count", aggfunc="sum", fill_value=0)
    wide = wide.reindex(columns=[c for c in CATEGORIES if c in wide.columns])
    label = {"month": "月份", "region": "地区"}[by]
    if by == "region":
        wide.index = [r or UNKNOWN for r in wide.index]
        wide = wide.loc[wide.sum(axis=1).sort_values(ascending=False, kind="stable").index]
    else:
        wide.index = [m or NO_DATE for m in wide.index]
    weight = _weight(family)
    rc: Any = {  # matplotlib types rcParams keys as literals
        "font.family": "sans-serif",
        "font.sans-serif": [family, "DejaVu Sans"],
        "axes.unicode_minus": False,
        "font.weight": weight,
        "axes.titleweight": weight,
        "axes.labelweight": weight,
    }
    with matplotlib.rc_context(rc), _quiet_font_lookup():
        n = max(len(wide.index), 1)
        fig = Figure(figsize=(max(6.0, min(0.6 * n + 3, 18.0)), 4.8), dpi=100)
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        x = list(range(len(wide.index)))
        # A category keeps its colour in every chart.
        colour = {cat: f"C{k}" for k, cat in enumerate(CATEGORIES)}
        if by == "month" and len(wide.index) > 1:
            for cat in wide.columns:
                ax.plot(x, wide[cat].tolist(), marker="o", label=cat, color=colour[cat])
        else:
            bottom = [0] * len(x)
            for cat in wide.columns:
                values = wide[cat].tolist()
                ax.bar(x, values, bottom=bottom, label=cat, width=0.6, color=colour[cat])
                bottom = [b + v for b, v in zip(bottom, values)]
            pad = max(0.0, (4 - len(x)) / 2)  # one or two bars do not fill the whole width
            ax.set_xlim(-0.5 - pad, len(x) - 0.5 + pad)
        ax.set_xticks(x, [str(i) for i in wide.index], rotation=45 if n > 6 else 0, ha="right" if n > 6 else "center")
        ax.set_xlabel(label)
        ax.set_ylabel("问题段落数")
        ax.set_title(title or f"各类问题数量（按{label}）")
        ax.yaxis.get_major_locator().set_params(integer=True)  # type: ignore[call-arg]  # MaxNLocator
        if len(wide.columns):
            ax.legend(title="类别", fontsize="small", ncols=2 if len(wide.columns) > 3 else 1)
        else:
            ax.text(0.5, 0.5, "无匹配的问题段落", ha="center", va="center", transform=ax.transAxes)
        fig.tight_layout()
        output = Path(output)
        output.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(output, format="png", metadata={"Software": None})
    return output


def chart(
    output: Path,
    db: Path = config.DB_PATH,
    by: str = "month",
    since: str | None = None,
    until: str | None = None,
    category: str | Sequence[str] | None = None,
    region: str | None = None,
    model_version: str | None = None,
) -> Path:
    """Chart category counts from the results store (same filters as counts).

    Args:
        output: the .png to write.
        db: the results store.
        by: ``month`` (lines) or ``region`` (stacked bars).
        since, until, category, region, model_version: as for :func:`pipeline.reports.queries.counts`.

    Returns:
        ``output``.

    Raises:
        ChartFontError: no Chinese font on this machine (nothing is written).
    """
    if by not in BY:
        raise UsageError(f"expected --by month or region, found {by!r}")
    font = require_cjk_font()  # before the query: fail fast, write nothing
    table = counts(
        db, by=[by, "category"], since=since, until=until, category=category, region=region, model_version=model_version
    )
    return render(table, by, output, font)
