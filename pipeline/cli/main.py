"""Command-line interface: thin wrappers, one library call per command.

Data goes to stdout, logs and progress to stderr. Only this module turns errors into exit
codes: 0 success, 1 nothing could be done (every input failed, or a refused action), 2
usage errors.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from pipeline import __version__, config
from pipeline.errors import BulletinsError, LabeledDataError

log = logging.getLogger("bulletins")


def _err(message: str) -> None:
    print(f"bulletins: {message}", file=sys.stderr)


# --- extract -----------------------------------------------------------------------------


def cmd_extract(args: argparse.Namespace) -> int:
    from pipeline.formats import write_records
    from pipeline.ingest import PASSAGE_FIELDS, iter_bulletins, passage_records

    ok = failed = 0
    for path, result in iter_bulletins(args.files, password=args.password, engine=args.engine):
        if isinstance(result, BulletinsError):
            _err(f"error: {result}")
            failed += 1
            continue
        for warning in result.warnings:
            _err(f"warning: {path}: {warning}")
        if not result.passages:
            _err(f"warning: {path}: no article passages found (front matter and contents only?)")
        write_records(passage_records(result), args.format, sys.stdout, PASSAGE_FIELDS, header=ok == 0)
        ok += 1
    return 1 if failed and not ok else 0


# --- model commands ----------------------------------------------------------------------


def cmd_predict(args: argparse.Namespace) -> int:
    from pipeline.classify.model import load_model
    from pipeline.classify.predict_io import predict_frame, read_passages, write_passages

    model = load_model(args.model, args.models_dir)
    table = read_passages(args.input, args.text_column)
    write_passages(predict_frame(table, model, args.text_column), args.output)
    log.info("classified %d passages with %s", len(table), model.version)
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    import json

    from pipeline.classify.labeled import read_labeled
    from pipeline.classify.metrics import metrics
    from pipeline.classify.model import load_model, predict
    from pipeline.formats import write_records

    model = load_model(args.model, args.models_dir)
    rows = read_labeled(args.labeled, text_column=args.text_column)
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
    from pipeline.classify.train import train
    from pipeline.formats import write_records

    result = train(
        args.labeled,
        name=args.name,
        models_dir=args.models_dir,
        text_column=args.text_column,
        learning_curve=args.learning_curve,
        nested=args.nested,
        seed=args.seed,
        progress=lambda line: print(f"bulletins train: {line}", file=sys.stderr, flush=True),
    )
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

    queue = review_queue(args.db, n=args.n, models_dir=args.models_dir, model_version=args.model_version)
    if queue.empty:
        _err("no classified passage in the store: run `bulletins classify` first")
        return 1
    write_passages(queue, args.output)
    _err(
        f"wrote {len(queue)} passage(s) to review to {args.output}: correct `labels`, mark `reviewed`, "
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
    p.add_argument(
        "--engine",
        choices=("pdfplumber", "pdfium"),
        default="pdfplumber",
        help="PDF text engine (pdfium: much faster, same passages on single-column bulletins)",
    )
    p.set_defaults(func=cmd_extract)

    def model_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--model", metavar="NAME_OR_DIR", help="model version name or folder (default: the default)")
        p.add_argument("--models-dir", type=Path, default=config.MODELS_DIR, help="where model versions live")

    p = sub.add_parser("predict", help="classify loose passages (JSONL, CSV, XLSX or one a line)")
    p.add_argument("input", type=Path, nargs="?", help="input file; omitted or - reads stdin, one passage a line")
    p.add_argument("--output", "-o", type=Path, help="output .jsonl/.csv/.xlsx (default: JSONL to stdout)")
    p.add_argument("--text-column", default="text")
    model_options(p)
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("evaluate", help="score a model on labeled passages")
    p.add_argument("labeled", type=Path, help="labeled JSONL/CSV/XLSX (text, labels)")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.add_argument("--text-column", default="text")
    model_options(p)
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("train", help="train a new model version from corpus + your labeled files")
    p.add_argument("labeled", type=Path, nargs="*", help="your labeled files (merged with corpus/labeled)")
    p.add_argument("--name", help="version name (default: date and time)")
    p.add_argument("--models-dir", type=Path, default=config.MODELS_DIR)
    p.add_argument("--text-column", default="text")
    p.add_argument("--seed", type=int, default=config.SEED)
    p.add_argument("--learning-curve", action="store_true", help="also measure a learning curve (slower)")
    p.add_argument("--nested", action="store_true", help="also measure a nested cross-validation (slower)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("review", help="export stored passages to label, most informative first")
    p.add_argument("--db", type=Path, default=config.DB_PATH, help=f"results store (default: {config.DB_PATH})")
    p.add_argument("-n", type=int, default=200, help="how many passages (default 200)")
    p.add_argument("--output", "-o", type=Path, required=True, help="FILE.xlsx, FILE.csv or FILE.jsonl")
    p.add_argument("--models-dir", type=Path, default=config.MODELS_DIR)
    p.add_argument("--model-version", help="review this version's predictions (default: the current ones)")
    p.set_defaults(func=cmd_review)

    p = sub.add_parser("models", help="list model versions and their figures")
    p.add_argument("--models-dir", type=Path, default=config.MODELS_DIR)
    p.add_argument("--format", choices=("table", "csv", "jsonl"), default="table")
    p.set_defaults(func=cmd_models)

    p = sub.add_parser("promote", help="make a model version the default (promote the previous one to roll back)")
    p.add_argument("name")
    p.add_argument("--models-dir", type=Path, default=config.MODELS_DIR)
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
