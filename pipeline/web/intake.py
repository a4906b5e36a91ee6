"""Adding bulletins from the browser: uploads and server folders, classified in the background.

Uploads are checked by content (:func:`pipeline.readers.sniff.sniff`, as ``extract`` does)
and stored under names the server chooses (the content's SHA-256 and the format's suffix),
never under the browser's file name. A folder typed in the browser is opened only when it
lies inside a folder given with ``--allow-folder`` after symlinks are resolved, and so is
every file found in it. Classification is :func:`pipeline.batch.classify`, the batch job of
``bulletins classify``: incremental, one transaction per file.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from pipeline.errors import InputError
from pipeline.web.jobs import Job, ProgressStream
from pipeline.web.settings import WebSettings

#: The suffix a stored upload gets, by the format sniffed from its content.
SUFFIX = {"pdf": ".pdf", "docx": ".docx", "text": ".txt", "doc": ".doc", "ofd": ".ofd"}
CHUNK = 1 << 20


@dataclass(frozen=True)
class Saved:
    """An upload: its name as the person knows it, and where it was stored (or why not)."""

    name: str
    path: Path | None
    reason: str = ""


def display_name(filename: str | None) -> str:
    """The browser's file name, for showing only: the last path part, at most 120 characters."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    name = "".join(ch for ch in name if ch.isprintable())
    return (name or "（无名文件）")[:120]


def _reason(exc: InputError) -> str:
    """An input error without the server's path in it."""
    return exc.message + (f"；{exc.hint}" if exc.hint else "")


def save_upload(stream: BinaryIO, filename: str | None, folder: Path, limit: int) -> Saved:
    """Store one uploaded file under a server-chosen name, after checking its content.

    Args:
        stream: the uploaded bytes.
        filename: the browser's name for it (shown, never used as a path).
        folder: where uploads are kept.
        limit: the largest file accepted, in bytes.

    Returns:
        Where it was stored, or why it was refused (empty, too large, not a bulletin format).
    """
    from pipeline.readers.sniff import sniff

    name = display_name(filename)
    folder.mkdir(parents=True, exist_ok=True)
    incoming = folder / f".incoming-{secrets.token_hex(8)}"
    digest, size = hashlib.sha256(), 0
    try:
        with open(incoming, "wb") as out:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    return Saved(name, None, f"文件超过上传上限 {limit / 1048576:.0f} MB")
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            return Saved(name, None, "文件为空")
        try:
            kind = sniff(incoming)
        except InputError as exc:
            return Saved(name, None, _reason(exc))
        final = folder / f"{digest.hexdigest()[:32]}{SUFFIX.get(kind, '.' + kind)}"
        if final.exists():  # the same content uploaded before: the batch will find it stored
            return Saved(name, final)
        os.replace(incoming, final)
        return Saved(name, final)
    finally:
        incoming.unlink(missing_ok=True)


def within(path: Path, roots: Sequence[Path]) -> bool:
    """Whether a resolved path is one of ``roots`` or inside one."""
    return any(path == root or path.is_relative_to(root) for root in roots)


def resolve_folder(raw: str, roots: Sequence[Path]) -> Path:
    """A path typed in the browser, if it is allowed.

    Args:
        raw: absolute, or relative to the first allowed folder.
        roots: the resolved ``--allow-folder`` folders.

    Returns:
        The resolved path (symlinks followed), an existing file or folder inside a root.

    Raises:
        InputError: no allowed folders, an empty, missing or outside path.
    """
    text = raw.strip()
    if not roots:
        raise InputError("服务器启动时没有用 --allow-folder 指定可读取的文件夹，不能按路径添加")
    if not text or "\x00" in text:
        raise InputError("请填写服务器上的文件夹路径")
    candidate = Path(text).expanduser()
    if not candidate.is_absolute():
        candidate = roots[0] / candidate
    try:
        resolved = candidate.resolve(strict=True)
    except (OSError, RuntimeError):
        raise InputError("服务器上没有这个文件夹或文件") from None
    if not within(resolved, roots):
        raise InputError("这个路径不在服务器允许的文件夹之内（--allow-folder），未读取")
    return resolved


def files_in(target: Path, roots: Sequence[Path]) -> tuple[list[Path], list[tuple[str, str]]]:
    """Bulletin files under ``target`` (as ``bulletins classify`` finds them), keeping only
    those whose resolved path stays inside ``roots`` (a symlink out is refused)."""
    from pipeline.ingest import expand_paths

    keep: list[Path] = []
    refused: list[tuple[str, str]] = []
    for path in expand_paths([target]):
        try:
            real = path.resolve(strict=True)
        except (OSError, RuntimeError):
            refused.append((str(path), "无法读取（链接失效？）"))
            continue
        if within(real, roots):
            keep.append(real)
        else:
            refused.append((str(path), "链接指向允许的文件夹之外，未读取"))
    return sorted(set(keep)), refused


def _shown(text: str, names: dict[str, str]) -> str:
    for path, name in names.items():
        text = text.replace(path, name)
    return text


def run_classify(
    job: Job,
    settings: WebSettings,
    files: Iterable[Path],
    names: dict[str, str] | None = None,
    refused: Sequence[tuple[str, str]] = (),
) -> None:
    """The classification job: :func:`pipeline.batch.classify` over ``files``, its progress,
    summary and failures put on ``job``.

    Args:
        job: the job to report on.
        settings: the server's settings (store, model, workers).
        files: what to classify.
        names: stored path -> the name the person knows (uploads).
        refused: files refused before classification, with their reason.
    """
    from pipeline.batch import classify

    names = names or {}
    files = list(files)
    job.failures.extend(refused)
    job.total = len(files)
    summary = classify(
        files,
        db=settings.db,
        jobs=settings.jobs,
        model=settings.model,
        predict=settings.predict,
        models_dir=settings.models_dir,
        quiet=False,
        stream=ProgressStream(job),
    )
    job.done = job.total
    job.failures.extend((names.get(path, path), _shown(reason, names)) for path, reason in summary.failed)
    job.result = {
        "read": summary.read,
        "reclassified": summary.reclassified,
        "unchanged": summary.unchanged,
        "duplicates": summary.duplicates,
        "failed": len(summary.failed) + len(refused),
        "passages": summary.passages,
        "model_version": summary.model_version,
        "seconds": summary.seconds,
        "warnings": [(names.get(f, f), _shown(w, names)) for f, w in summary.warnings],
    }
