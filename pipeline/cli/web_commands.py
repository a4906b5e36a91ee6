"""CLI commands of the web view: ``bulletins serve`` (needs the ``web`` extra) and
``bulletins corrections`` (the corrections made in it, as a review file for ``bulletins train``;
no extra needed).

Options are checked before anything is imported from the extra or bound: a non-local
``--host`` without ``--token`` is a usage error (exit 2), and so is an ``--allow-folder``
that is not a folder.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from pipeline.errors import UsageError

#: The token may come from the environment instead of the command line (not shown by ``ps``).
TOKEN_ENV = "BULLETINS_WEB_TOKEN"


def _say(message: str) -> None:
    print(f"bulletins: {message}", file=sys.stderr)


def cmd_serve(args: argparse.Namespace) -> int:
    from pipeline.web.settings import WebSettings, check

    try:
        settings = check(
            WebSettings(
                db=args.db,
                models_dir=args.models_dir,
                host=args.host,
                port=args.port,
                token=args.token if args.token is not None else os.environ.get(TOKEN_ENV) or None,
                allow_folders=tuple(args.allow_folder or ()),
                work_dir=args.work_dir,
                max_upload_bytes=int(args.max_upload_mb * 1024 * 1024),
                jobs=args.jobs,
            )
        )
    except UsageError as exc:
        _say(f"error: {exc}")
        return 2
    try:
        import uvicorn

        from pipeline.web.app import create_app
    except ImportError as exc:
        raise UsageError(
            f"the web view needs its extra ({exc.name} is not installed)", hint="pip install 'bulletins[web]'"
        ) from None
    app = create_app(settings)
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    _say(
        f"serving {Path(settings.db).resolve()} at http://{host}:{settings.port}/"
        + (" (token required)" if settings.token else "")
        + "; Ctrl-C stops (stored results are kept)"
    )
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning", access_log=False)
    return 0


def cmd_corrections(args: argparse.Namespace) -> int:
    from pipeline.web.corrections import write_corrections

    n = write_corrections(args.output, args.db, args.models_dir)
    if not n:
        _say("no corrections in the store: correct labels in `bulletins serve` first")
        return 1
    _say(f"wrote {n} corrected passage(s) to {args.output}; train with them: bulletins train {args.output}")
    return 0


def register(sub) -> None:
    """Add ``serve`` and ``corrections`` to the CLI parser."""
    from pipeline.cli.main import add_db_option, add_models_dir_option
    from pipeline.web.settings import DEFAULT_HOST, DEFAULT_MAX_UPLOAD_MB, DEFAULT_PORT

    p = sub.add_parser(
        "serve",
        help="the web view for offices: counts, passages, corrections, issue lists (needs the web extra)",
        description="Serve a local web application over the results store (pip install 'bulletins[web]'). "
        "It binds 127.0.0.1 by default; another address needs --token.",
    )
    add_db_option(p)
    p.add_argument(
        "--host", default=DEFAULT_HOST, help=f"address to bind (default {DEFAULT_HOST}; others need --token)"
    )
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    p.add_argument(
        "--token",
        metavar="SECRET",
        help=f"every request must carry it (login form or header); default ${TOKEN_ENV}",
    )
    p.add_argument(
        "--allow-folder",
        action="append",
        type=Path,
        metavar="DIR",
        help="a server folder whose bulletins may be added by path from the browser (repeatable)",
    )
    p.add_argument(
        "--max-upload-mb",
        type=float,
        default=DEFAULT_MAX_UPLOAD_MB,
        metavar="MB",
        help=f"largest upload, all files together (default {DEFAULT_MAX_UPLOAD_MB:.0f})",
    )
    p.add_argument(
        "--work-dir", type=Path, metavar="DIR", help="uploads and exports (default: <db>-web beside the store)"
    )
    add_models_dir_option(p)
    p.add_argument("--jobs", type=int, metavar="N", help="parallel readers when classifying (default: all cores)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser(
        "corrections",
        help="export the labels corrected in the web view as a review file for `bulletins train`",
        description="Write the latest correction of every corrected passage with the columns of "
        "`bulletins review` and `reviewed` filled, so that `bulletins train FILE` learns them.",
    )
    add_db_option(p)
    p.add_argument("--output", "-o", type=Path, required=True, help="FILE.xlsx, FILE.csv or FILE.jsonl")
    add_models_dir_option(p)
    p.set_defaults(func=cmd_corrections)
