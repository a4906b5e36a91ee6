"""CLI commands of the batch and the results store: classify, counts, issues, chart.

Each handler calls one library function, prints data to stdout and messages to stderr.
Library modules are imported inside the handlers: ``counts``, ``issues`` and ``chart``
never import scikit-learn, and ``classify`` imports it only when something needs
classifying.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

_BY_FIELDS = ("category", "unit", "region", "month", "bulletin")  # pipeline.reports.queries.BY_FIELDS


def _say(message: str) -> None:
    print(f"bulletins: {message}", file=sys.stderr)


def _filters(p: argparse.ArgumentParser) -> None:
    from pipeline.cli.main import add_db_option, add_model_version_option, category_arg, date_arg

    add_db_option(p)
    p.add_argument(
        "--since", metavar="DATE", type=date_arg, help="from this date (YYYY, YYYY-MM or YYYY-MM-DD; inclusive)"
    )
    p.add_argument(
        "--until", metavar="DATE", type=date_arg, help="up to this date (inclusive: 2021-06 means to 30 June)"
    )
    p.add_argument("--category", metavar="C", type=category_arg, help="only this category, e.g. 作风不优")
    p.add_argument("--region", metavar="R", help="only this region, e.g. 南充市")
    add_model_version_option(p, "use this model version's predictions (default: each bulletin's latest)")


def _filter_args(args: argparse.Namespace) -> dict:
    from pipeline.cli.main import resolve_model_version

    return {
        "since": args.since,
        "until": args.until,
        "category": args.category,
        "region": args.region,
        "model_version": resolve_model_version(args.db, args.model_version),
    }


# --- handlers ------------------------------------------------------------------------------


def cmd_classify(args: argparse.Namespace) -> int:
    from pipeline.batch import classify
    from pipeline.readers.registry import limits_from_args

    summary = classify(
        args.paths,
        db=args.db,
        jobs=args.jobs,
        model=args.model,
        force=args.force,
        engine=args.engine,
        backend=args.backend or ("dask" if args.scheduler else "loky"),
        scheduler=args.scheduler,
        quiet=args.quiet,
        password=args.password,
        models_dir=args.models_dir,
        limits=limits_from_args(args),
    )
    for line in summary.lines():
        _say(line)
    return 1 if summary.processed == 0 else 0


def cmd_counts(args: argparse.Namespace) -> int:
    from pipeline.reports.exports import write_counts
    from pipeline.reports.queries import counts

    table = counts(args.db, by=args.by, **_filter_args(args))
    if table.empty:
        _say("no classified passage matches")
    write_counts(table, args.format, sys.stdout)
    return 0


def cmd_issues(args: argparse.Namespace) -> int:
    from pipeline.reports.exports import issue_format, write_issues
    from pipeline.reports.queries import issues

    fmt = issue_format(args.format, args.output)  # refuse a bad combination before querying
    table = issues(args.db, **_filter_args(args))
    n = write_issues(table, fmt, args.output, sys.stdout, bom=args.output is not None)
    if args.output is not None:
        _say(f"wrote {n} issue(s) to {args.output}")
    return 0


def cmd_chart(args: argparse.Namespace) -> int:
    from pipeline.reports.chart import chart

    out = chart(args.output, db=args.db, by=args.by, **_filter_args(args))
    _say(f"wrote {out}")
    return 0


# --- parser --------------------------------------------------------------------------------


def register(sub) -> None:
    """Add this module's sub-commands to the CLI parser."""
    p = sub.add_parser(
        "classify",
        help="extract, classify and store an archive of bulletins",
        description="Read bulletin files and folders (recursively: pdf, txt, docx), classify every "
        "passage and keep the results in the store. Files already stored for the current "
        "model are skipped; a new model re-classifies stored passages without re-reading.",
    )
    from pipeline.cli.main import add_db_option, add_model_options, add_quiet_option

    p.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="bulletin files or folders")
    add_db_option(p)
    p.add_argument("--jobs", type=int, metavar="N", help="parallel workers (default: all cores)")
    add_model_options(p)
    p.add_argument("--force", action="store_true", help="re-read and re-classify every file")
    p.add_argument(
        "--engine",
        choices=("pdfplumber", "pdfium"),
        default="pdfplumber",
        help="PDF text engine (pdfium: much faster, same passages on single-column bulletins)",
    )
    p.add_argument("--backend", choices=("loky", "dask"), help="local processes (loky, default) or a Dask cluster")
    p.add_argument("--scheduler", metavar="ADDRESS", help="Dask scheduler address, e.g. tcp://10.0.0.5:8786")
    p.add_argument("--password", help="password for encrypted PDFs")
    add_quiet_option(p)
    from pipeline.readers.registry import add_limit_arguments

    add_limit_arguments(p)
    p.set_defaults(func=cmd_classify)

    p = sub.add_parser(
        "counts",
        help="passages per category from the store",
        description="Count classified passages per category (a passage with two categories counts "
        "once in each), grouped by the --by fields, with the number of distinct passages.",
    )
    p.add_argument(
        "--by",
        nargs="+",
        choices=_BY_FIELDS,
        default=["category"],
        metavar="FIELD",
        help=f"group by these fields, in order ({', '.join(_BY_FIELDS)}; default: category)",
    )
    _filters(p)
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")
    p.set_defaults(func=cmd_counts)

    p = sub.add_parser(
        "issues",
        help="the issue list (问题清单) from the store",
        description="Each category's passages with unit, region, date, bulletin, page, evidence and "
        "score. Without --format the output's suffix decides (default: Markdown).",
    )
    _filters(p)
    p.add_argument("--format", choices=("xlsx", "csv", "md", "json"))
    p.add_argument("--output", type=Path, metavar="FILE", help="write here instead of stdout (required for xlsx)")
    p.set_defaults(func=cmd_issues)

    p = sub.add_parser(
        "chart",
        help="chart category counts as a PNG",
        description="A line chart by month or stacked bars by region; needs a font with Chinese "
        "glyphs (e.g. Debian package fonts-noto-cjk or fonts-wqy-zenhei).",
    )
    p.add_argument("--by", choices=("month", "region"), default="month")
    p.add_argument("--output", type=Path, required=True, metavar="FILE.png", help="the PNG to write")
    _filters(p)
    p.set_defaults(func=cmd_chart)
