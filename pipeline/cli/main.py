"""Command-line interface: thin wrappers, one library call per command.

Data goes to stdout, logs and progress to stderr. Only this module turns errors into exit
codes: 0 success, 1 nothing could be done (every input failed, an empty input, or a refused
action), 2 usage errors found while reading the command line (an unknown option, a date
that is not one, an unknown category).

Options shared by several commands are defined once here (:func:`add_model_options`,
:func:`add_db_option`, :func:`add_quiet_option` …) and used by :mod:`store_commands` too.
Progress bars (tqdm) go to stderr, only when it is a terminal and ``--quiet`` is not given.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pipeline import __version__, config
from pipeline.errors import BulletinsError, LabeledDataError

log = logging.getLogger("bulletins")


def _err(message: str) -> None:
    from tqdm import tqdm

    tqdm.write(f"bulletins: {message}", file=sys.stderr)  # above a progress bar, if one is drawn


# --- shared options --------------------------------------------------------------------------

_DATE = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$")


def date_arg(text: str) -> str:
    """An argparse type: ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` (a usage error, exit 2, otherwise)."""
    m = _DATE.match(text.strip())
    try:
        if not m:
            raise ValueError
        dt.date(int(m.group(1)), int(m.group(2) or 1), int(m.group(3) or 1))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY, YYYY-MM or YYYY-MM-DD, found {text!r}") from None
    return text.strip()


def category_arg(text: str) -> str:
    """An argparse type: one of the six categories."""
    from pipeline.taxonomy import CATEGORIES

    if text.strip() not in CATEGORIES:
        raise argparse.ArgumentTypeError(f"expected a category among {'、'.join(CATEGORIES)}, found {text!r}")
    return text.strip()


def add_models_dir_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--models-dir", type=Path, default=config.MODELS_DIR, help=f"where model versions live ({config.MODELS_DIR})"
    )


def add_model_options(p: argparse.ArgumentParser) -> None:
    """``--model`` and ``--models-dir``: every command that loads a model."""
    p.add_argument("--model", metavar="NAME_OR_DIR", help="model version name or folder (default: the default)")
    add_models_dir_option(p)


def add_db_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", type=Path, default=config.DB_PATH, help=f"results store (default: {config.DB_PATH})")


def add_model_version_option(p: argparse.ArgumentParser, help: str) -> None:
    p.add_argument("--model-version", metavar="V", help=help + "; a name alone (round1) finds round1@<hash>")


def add_quiet_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def add_text_column_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--text-column", default="text", metavar="NAME", help="the column holding the passages (text)")


def add_from_name_option(p: argparse.ArgumentParser, writing: bool = False) -> None:
    from pipeline.formats import LS_FROM_NAME

    if writing:
        p.add_argument(
            "--from-name",
            default=LS_FROM_NAME,
            metavar="NAME",
            help=f"Label Studio choices control the categories go to (default {LS_FROM_NAME})",
        )
    else:
        p.add_argument(
            "--from-name",
            metavar="NAME",
            help="Label Studio exports: the choices control holding the categories (when a project has several)",
        )


def resolve_model_version(db: Path, version: str | None) -> str | None:
    """A model version as stored: a name alone (``round1``) becomes ``round1@<hash>`` when the
    store holds predictions of exactly one version of that name.

    Raises:
        UsageError: the name matches several stored versions.
    """
    from pipeline.errors import UsageError
    from pipeline.store.database import prediction_versions

    if version is None or "@" in version:
        return version
    try:
        stored = prediction_versions(db)
    except BulletinsError:
        return version  # no store: the query says so
    if version in stored:
        return version
    matches = [v for v in stored if v.split("@", 1)[0] == version]
    if len(matches) > 1:
        raise UsageError(
            f"model version name {version} matches {len(matches)} stored versions ({', '.join(matches)})",
            hint="give the full version",
        )
    return matches[0] if matches else version


def progress_enabled(quiet: bool = False) -> bool:
    """Whether to draw a progress bar: not quiet, and stderr is a terminal."""
    try:
        return not quiet and sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def progress_bar(total: int | None, desc: str, quiet: bool = False, unit: str = "it") -> Any:
    """A tqdm bar on stderr (never stdout), disabled when quiet or stderr is not a terminal."""
    from tqdm import tqdm

    return tqdm(
        total=total, desc=desc, unit=unit, file=sys.stderr, disable=not progress_enabled(quiet), dynamic_ncols=True
    )


def step_progress(total: int, desc: str, quiet: bool = False) -> tuple[Callable[[str], None] | None, Any]:
    """A ``progress(line)`` callback drawing named steps as a bar, and the bar (to close);
    ``None`` when no bar is drawn (the library then logs its steps at INFO level: ``-v``)."""
    bar = progress_bar(total, desc, quiet, unit="step")
    if bar.disable:
        return None, bar

    def step(line: str) -> None:
        bar.set_postfix_str(line[:60], refresh=False)
        bar.update(1 if bar.n < total else 0)

    return step, bar


# --- extract -----------------------------------------------------------------------------


def cmd_extract(args: argparse.Namespace) -> int:
    from pipeline.formats import write_records
    from pipeline.ingest import PASSAGE_FIELDS, expand_paths, iter_bulletins, passage_records, shown
    from pipeline.readers.registry import limits_from_args

    ok = failed = 0
    limits = limits_from_args(args)
    files = expand_paths(args.files)
    if not files:
        _err("error: no bulletin files (.pdf, .docx, .txt …) found in " + ", ".join(shown(p) for p in args.files))
        return 1
    bar = progress_bar(len(files), "extract", args.quiet or len(files) < 2, unit="file")
    for path, result in iter_bulletins(files, password=args.password, engine=args.engine, limits=limits):
        bar.update(1)
        if isinstance(result, BulletinsError):
            _err(f"error: {result}")
            failed += 1
            continue
        for warning in result.warnings:
            _err(f"warning: {shown(path)}: {warning}")
        if not result.passages:
            _err(f"warning: {shown(path)}: no article passages found (front matter and contents only?)")
        write_records(passage_records(result), args.format, sys.stdout, PASSAGE_FIELDS, header=ok == 0)
        ok += 1
    bar.close()
    return 1 if failed and not ok else 0


# --- model commands ----------------------------------------------------------------------


def cmd_predict(args: argparse.Namespace) -> int:
    from pipeline.classify.model import load_model
    from pipeline.classify.predict_io import predict_frame, read_passages, write_passages

    model = load_model(args.model, args.models_dir)
    if (args.input is None or str(args.input) == "-") and sys.stdin.isatty():
        _err("reading passages from the terminal, one a line; end with Ctrl-D (Ctrl-Z then Enter on Windows)")
    table = read_passages(args.input, args.text_column)
    bar = progress_bar(len(table), "predict", args.quiet, unit="passage")
    try:
        out = predict_frame(table, model, args.text_column, replace=args.replace_columns, progress=bar.update)
    finally:
        bar.close()
    write_passages(out, args.output, args.format, args.text_column, args.from_name)
    log.info("classified %d passages with %s", len(table), model.version)
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    import json

    from pipeline.classify.labeled import read_labeled
    from pipeline.classify.metrics import metrics
    from pipeline.classify.model import load_model, predict
    from pipeline.formats import write_records

    model = load_model(args.model, args.models_dir)
    rows = read_labeled(args.labeled, text_column=args.text_column, from_name=args.from_name)
    result = metrics([r.labels for r in rows], list(predict(model, [r.text for r in rows])["labels"]))
    result["model_version"] = model.version
    if args.format == "json":
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return 0
    records = [{"category": c, **v} for c, v in result["per_category"].items()]
    write_records(records, "table", sys.stdout, ["category", "precision", "recall", "f1", "support"])
    print(
        f"\nmicro F1 {result['micro_f1']:.3f}  macro F1 {result['macro_f1']:.3f}  "
        f"exact match {result['exact_match']:.3f}  passages {result['n']}  model {model.version}"
    )
    if result["confused"]:
        print(
            "most confused (true -> predicted instead): "
            + "; ".join(f"{c['true']}->{c['predicted']} {c['count']}" for c in result["confused"])
        )
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from pipeline.classify.train import train, train_steps
    from pipeline.formats import write_records

    progress, bar = step_progress(train_steps(args.nested, args.learning_curve), "train", args.quiet)
    try:
        result = train(
            args.labeled,
            name=args.name,
            models_dir=args.models_dir,
            text_column=args.text_column,
            learning_curve=args.learning_curve,
            nested=args.nested,
            seed=args.seed,
            progress=progress,
            from_name=args.from_name,
            network=args.network,
        )
    finally:
        bar.close()
    m = result.model.meta["metrics"]
    print(f"trained {result.model.version} in {result.model.path}")
    print(f"5-fold CV macro F1 {m['cv']['macro_f1']:.3f}; held-out macro F1 {m['holdout']['macro_f1']:.3f}")
    if result.comparison and result.default is not None:
        print(f"\nheld-out F1, current default ({result.default.version}) vs new:")
        write_records(result.comparison, "table", sys.stdout, ["category", "default_f1", "new_f1", "support"])
        print(f"\npromote it with: bulletins promote {result.model.path.name}")
    return 0


def cmd_review(args: argparse.Namespace) -> int:
    from pipeline.classify.predict_io import write_passages
    from pipeline.reports.review_queue import review_queue

    version = resolve_model_version(args.db, args.model_version)
    queue = review_queue(args.db, n=args.n, models_dir=args.models_dir, model_version=version)
    if queue.empty:
        _err("no classified passage in the store: run `bulletins classify` first")
        return 1
    write_passages(queue, args.output, args.format, from_name=args.from_name)
    _err(
        f"wrote {len(queue)} passage(s) to review to {args.output}: correct `labels` (类别), mark `reviewed` (已复核), "
        f"then `bulletins train {args.output}`"
    )
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from pipeline.classify.versions import list_models
    from pipeline.formats import write_records

    rows = list_models(args.models_dir)
    for r in rows:
        r["default"] = "*" if r["default"] else ""
    write_records(
        rows,
        args.format,
        sys.stdout,
        ["default", "name", "version", "created", "samples", "cv_macro_f1", "holdout_macro_f1", "seed_macro_f1"],
    )
    return 0


def cmd_promote(args: argparse.Namespace) -> int:
    from pipeline.classify.versions import promote

    r = promote(args.name, args.models_dir, force=args.force)
    figures = (
        f" (held-out macro F1 {r['candidate_f1']:.3f} vs {r['default_f1']:.3f})"
        if r["candidate_f1"] is not None
        else ""
    )
    print(f"default model: {r['promoted']} (was {r['previous']}){figures}")
    print("stored passages are re-classified with it on the next `bulletins classify`", file=sys.stderr)
    return 0


# --- parser ------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bulletins",
        description="Read transport law-enforcement work bulletins (工作简报) and turn them into issue lists.",
    )
    parser.add_argument("--version", action="version", version=f"bulletins {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log details to stderr")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("extract", help="extract structured passages from bulletin files")
    p.add_argument("files", nargs="+", type=Path, metavar="FILE", help="PDF, .docx or text files, or folders")
    p.add_argument("--format", choices=("jsonl", "csv", "table"), default="jsonl")
    p.add_argument("--password", help="password for encrypted PDFs")
    add_quiet_option(p)
    p.add_argument(
        "--engine",
        choices=("pdfplumber", "pdfium"),
        default="pdfplumber",
        help="PDF text engine (pdfium: much faster, same passages on single-column bulletins)",
    )
    from pipeline.readers.registry import add_limit_arguments

    add_limit_arguments(p)
    p.set_defaults(func=cmd_extract)

    from pipeline.formats import TOOL_FORMATS, WRITE_FORMATS

    OUTPUT_FORMATS = (*WRITE_FORMATS, *TOOL_FORMATS)

    p = sub.add_parser(
        "predict",
        help="classify loose passages (JSONL, JSON, CSV, XLSX or one a line)",
        description="Classify passages; every input column is kept and labels, scores, evidence and "
        "model_version are added (an input that has one of them already is refused without "
        "--replace-columns). CSV may be UTF-8, UTF-16, GBK or GB18030.",
    )
    p.add_argument("input", type=Path, nargs="?", help="input file; omitted or - reads stdin, one passage a line")
    p.add_argument("--output", "-o", type=Path, help="output file (default: JSON Lines to stdout)")
    p.add_argument(
        "--format",
        choices=OUTPUT_FORMATS,
        help="output format (default: from --output's suffix): label-studio and doccano write tasks to import",
    )
    add_text_column_option(p)
    p.add_argument(
        "--replace-columns", action="store_true", help="replace input columns named labels, scores, evidence …"
    )
    add_from_name_option(p, writing=True)
    add_model_options(p)
    add_quiet_option(p)
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("evaluate", help="score a model on labeled passages")
    p.add_argument("labeled", type=Path, help="labeled file (any format train reads)")
    p.add_argument("--format", choices=("table", "json"), default="table")
    add_text_column_option(p)
    add_from_name_option(p)
    add_model_options(p)
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("train", help="train a new model version from corpus + your labeled files")
    p.add_argument(
        "labeled",
        type=Path,
        nargs="*",
        help="your labeled files: review files, JSONL/JSON/CSV/XLSX, Label Studio or doccano exports",
    )
    p.add_argument("--name", help="version name (default: date and time)")
    add_models_dir_option(p)
    add_text_column_option(p)
    add_from_name_option(p)
    p.add_argument("--seed", type=int, default=config.SEED)
    p.add_argument("--learning-curve", action="store_true", help="also measure a learning curve (slower)")
    p.add_argument("--nested", action="store_true", help="also measure a nested cross-validation (slower)")
    p.add_argument(
        "--network",
        action="store_true",
        help="average the regressions with a small neural network: better on other writers' text, "
        "about 15%% slower to predict, several times slower to train",
    )
    add_quiet_option(p)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("review", help="export stored passages to label, most informative first")
    add_db_option(p)
    p.add_argument("-n", type=int, default=200, help="how many passages (default 200)")
    p.add_argument(
        "--output", "-o", type=Path, required=True, help="FILE.xlsx (a workbook for labelers), .csv, .jsonl, .json"
    )
    p.add_argument(
        "--format", choices=OUTPUT_FORMATS, help="default: from the suffix; label-studio or doccano for those tools"
    )
    add_from_name_option(p, writing=True)
    add_models_dir_option(p)
    add_model_version_option(p, "review this version's predictions (default: the current ones)")
    p.set_defaults(func=cmd_review)

    p = sub.add_parser("models", help="list model versions and their figures")
    add_models_dir_option(p)
    p.add_argument("--format", choices=("table", "csv", "jsonl"), default="table")
    p.set_defaults(func=cmd_models)

    p = sub.add_parser("promote", help="make a model version the default (promote the previous one to roll back)")
    p.add_argument("name")
    add_models_dir_option(p)
    p.add_argument("--force", action="store_true", help="promote even if its held-out F1 is lower")
    p.set_defaults(func=cmd_promote)

    from pipeline.cli import store_commands, web_commands

    store_commands.register(sub)
    web_commands.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI.

    Args:
        argv: arguments (default ``sys.argv[1:]``).

    Returns:
        The exit code.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        return args.func(args)
    except LabeledDataError as exc:
        _err(f"error: {exc}")
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    except BulletinsError as exc:
        _err(f"error: {exc}")
        return 1
    except KeyboardInterrupt:
        _err("interrupted; results stored so far are kept")
        return 130
    except BrokenPipeError:
        # `bulletins ... | head` closed the pipe: not an error of ours.
        sys.stderr.close()
        return 0
