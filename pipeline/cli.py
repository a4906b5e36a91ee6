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
    from pipeline.ingest import PASSAGE_FIELDS, iter_bulletins, passage_records
    from pipeline.output import write_records

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
    p.add_argument("--engine", choices=("pdfplumber", "pdfium"), default="pdfplumber",
                   help="PDF text engine (pdfium: faster, no layout geometry)")
    p.set_defaults(func=cmd_extract)
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
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
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
