"""What ``bulletins serve`` was started with, and the checks made before anything listens.

No Starlette here: the CLI checks options (a non-local host without a token, folders that do
not exist) before the ``web`` extra is imported.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pipeline import config
from pipeline.errors import UsageError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
#: Largest upload request (all files of one form together), in MiB.
DEFAULT_MAX_UPLOAD_MB = 50.0
#: Host names a browser may use for a server bound to a loopback address.
LOCAL_NAMES = ("127.0.0.1", "localhost", "::1")


def is_local_host(host: str) -> bool:
    """Whether ``host`` is a loopback address or ``localhost`` (reachable from this machine only)."""
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class WebSettings:
    """The web application's configuration.

    Attributes:
        db: the results store (created when missing).
        models_dir: where model versions live.
        host: the address the server binds (only used to decide which Host headers to accept).
        port: the port it listens on.
        token: when set, every request needs it (a header, or a cookie after the login form).
        allow_folders: server folders whose bulletins may be classified by path from the
            browser (resolved; nothing outside them is opened).
        work_dir: where uploads and exports go (default: ``<db folder>/<db stem>-web``).
        max_upload_bytes: largest upload request.
        max_files: most files in one upload.
        jobs: parallel readers for classification (default: all cores).
        review_size: passages in the review queue (as ``bulletins review -n``).
        page_size: passages per page of a list.
        corpus_dir: the team's labeled corpus that training merges corrections into.
        allowed_hosts: Host header names accepted (default: the loopback names for a local
            ``host``, any for another host, which needs a token).
        model: the model classification uses (a name, a folder or a loaded model; default:
            the current default). Tests pass a stand-in.
        predict: ``predict(model, texts)`` for a stand-in model (see :func:`pipeline.batch.classify`).
        train: the training function (default :func:`pipeline.classify.train.train`); tests
            pass a fast stand-in with the same signature.
    """

    db: Path = config.DB_PATH
    models_dir: Path = config.MODELS_DIR
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    token: str | None = None
    allow_folders: tuple[Path, ...] = ()
    work_dir: Path | None = None
    max_upload_bytes: int = int(DEFAULT_MAX_UPLOAD_MB * 1024 * 1024)
    max_files: int = 200
    jobs: int | None = None
    review_size: int = 200
    page_size: int = 50
    corpus_dir: Path = config.LABELED_DIR
    allowed_hosts: tuple[str, ...] | None = None
    model: Any = None
    predict: Callable | None = None
    train: Callable | None = None

    @property
    def work(self) -> Path:
        """The folder for uploads and exports."""
        if self.work_dir is not None:
            return Path(self.work_dir)
        db = Path(self.db).resolve()
        return db.parent / f"{db.stem}-web"

    @property
    def uploads(self) -> Path:
        return self.work / "uploads"

    @property
    def exports(self) -> Path:
        return self.work / "exports"

    def host_names(self) -> set[str] | None:
        """Host header names to accept (``None``: any)."""
        if self.allowed_hosts is not None:
            return {h.lower() for h in self.allowed_hosts}
        if is_local_host(self.host):
            return {*LOCAL_NAMES, "[::1]", self.host.lower()}
        return None


def check(settings: WebSettings) -> WebSettings:
    """Refuse settings that would expose the store or open arbitrary paths.

    Args:
        settings: as given on the command line.

    Returns:
        The settings, with the allowed folders resolved (symlinks followed).

    Raises:
        UsageError: a non-local host without a token, an empty token, an allowed folder
            that is not a folder, a port out of range, a limit below 1.
    """
    if settings.token is not None and not settings.token.strip():
        raise UsageError("--token is empty", hint="give a secret of a few words, e.g. --token 'four random words'")
    if not is_local_host(settings.host) and not settings.token:
        raise UsageError(
            f"refusing to serve on {settings.host} without --token: anyone on the network could read and change "
            "the store",
            hint="add --token SECRET, or bind 127.0.0.1",
        )
    folders = []
    for folder in settings.allow_folders:
        resolved = Path(folder).expanduser().resolve()
        if not resolved.is_dir():
            raise UsageError("--allow-folder expects an existing folder", folder, "check the path")
        folders.append(resolved)
    if settings.max_upload_bytes < 1 or settings.max_files < 1:
        raise UsageError("the upload limits must be positive", hint="e.g. --max-upload-mb 50")
    if not 0 < settings.port < 65536:
        raise UsageError(f"expected --port between 1 and 65535, found {settings.port}")
    if settings.jobs is not None and settings.jobs < 1:
        raise UsageError(f"expected --jobs 1 or more, found {settings.jobs}")
    return replace(settings, allow_folders=tuple(folders))
