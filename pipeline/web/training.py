"""Model versions from the browser: train with the store's corrections, promote, roll back,
re-classify the store.

Training exports the corrections as a review file (what ``bulletins train FILE`` reads) and
calls :func:`pipeline.classify.train.train` on it. It trains into a hidden staging folder
beside the model versions (holding a link to the current default, so that ``train`` compares
with it as usual) and moves the finished folder into place in one rename: a server stopped
mid-training leaves no half-written version among the models, only a staging folder that the
next training removes. Promotion is :func:`pipeline.classify.versions.promote`.
"""

from __future__ import annotations

import datetime as dt
import inspect
import os
import re
import secrets
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from pipeline import config
from pipeline.classify.model_files import resolve_model_dir
from pipeline.errors import ModelError, UsageError
from pipeline.web.jobs import Job
from pipeline.web.settings import WebSettings

STAGING_PREFIX = ".staging-"
#: Staging folders older than this are left-overs of a stopped server.
STALE_SECONDS = 6 * 3600
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def default_version_name() -> str:
    return "web-" + dt.datetime.now().strftime("%Y%m%d-%H%M%S")


def check_name(name: str, models_dir: Path) -> str:
    """A new version's folder name: letters, digits, ``.``, ``_``, ``-``; not taken.

    Raises:
        UsageError: a bad or existing name.
    """
    if not _NAME.match(name):
        raise UsageError(f"版本名只能用字母、数字、点、下划线和连字符（不超过 64 个字符），收到 {name!r}")
    if (Path(models_dir) / name).exists():
        raise UsageError(f"已有名为 {name} 的模型版本，请换一个名字")
    return name


def _clean_stale(models_dir: Path) -> None:
    now = time.time()
    for folder in Path(models_dir).glob(STAGING_PREFIX + "*"):
        try:
            if now - folder.stat().st_mtime > STALE_SECONDS:
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            continue


def _train(*args, **kwargs):
    from pipeline.classify.train import train  # scikit-learn: only when training

    return _call(train, *args, **kwargs)


def _call(fn: Callable, *args, **kwargs):
    """``fn(*args, **kwargs)`` without the keywords ``fn`` does not take (``progress`` is
    optional for a training function)."""
    params = inspect.signature(fn).parameters
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        kwargs = {k: v for k, v in kwargs.items() if k in params}
    return fn(*args, **kwargs)


def run_train(job: Job, settings: WebSettings, name: str) -> None:
    """The training job: export corrections, train in staging, move the version into place.

    Puts on ``job.result``: ``name``, ``version``, ``corrections`` (passages exported),
    ``export`` (the review file), ``default`` (the version compared with), ``comparison``
    (per-category held-out F1 rows, as ``bulletins train`` prints them), ``cv`` and
    ``holdout`` macro F1.
    """
    from pipeline.web.corrections import write_corrections

    models_dir = Path(settings.models_dir)
    check_name(name, models_dir)
    _clean_stale(models_dir)
    job.lines.append("导出校正记录")
    settings.exports.mkdir(parents=True, exist_ok=True)
    export = settings.exports / f"corrections-for-{name}.csv"
    n = write_corrections(export, settings.db, models_dir)
    labeled = [export] if n else []
    job.lines.append(f"{n} 段校正；开始训练（与语料合并，留出集比较）")
    staging = models_dir / f"{STAGING_PREFIX}{name}-{secrets.token_hex(4)}"
    staging.mkdir(parents=True)
    try:
        default = resolve_model_dir(None, models_dir)
        if (default / "metadata.json").exists():
            (staging / config.DEFAULT_POINTER).write_text(default.name + "\n", encoding="utf-8")
            os.symlink(default.resolve(), staging / default.name, target_is_directory=True)
        result = _call(
            settings.train or _train,
            labeled,
            name=name,
            models_dir=staging,
            corpus_dir=settings.corpus_dir,
            progress=job.lines.append,
        )
        final = models_dir / name
        if final.exists():
            raise ModelError(
                "a model folder of that name appeared while training", final, "train again with another name"
            )
        os.rename(staging / name, final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    metrics = result.model.meta.get("metrics", {})
    job.lines.append(f"已训练 {result.model.version}")
    job.result = {
        "name": name,
        "version": result.model.version,
        "corrections": n,
        "export": export.name,
        "default": result.default.version if result.default is not None else None,
        "comparison": list(result.comparison),
        "cv": metrics.get("cv", {}).get("macro_f1"),
        "holdout": metrics.get("holdout", {}).get("macro_f1"),
    }


def promote_version(settings: WebSettings, name: str, force: bool = False) -> dict:
    """:func:`pipeline.classify.versions.promote` for a listed version.

    Raises:
        UsageError: not a version under the models folder.
        ModelError: worse than the default without ``force``, or unverifiable.
    """
    from pipeline.classify.versions import list_models, promote

    names = {m["name"] for m in list_models(settings.models_dir)}
    if name not in names:
        raise UsageError(f"没有名为 {name!r} 的模型版本")
    return promote(name, settings.models_dir, force=force)


def run_reclassify(job: Job, settings: WebSettings) -> None:
    """Re-classify every stored bulletin with the current default (the batch re-uses stored
    passages and reads no file again); bulletins whose file is gone keep their results."""
    from pipeline.store.database import stored_paths
    from pipeline.web.intake import run_classify

    paths = [Path(p) for p in stored_paths(settings.db)]
    present = [p for p in paths if p.is_file()]
    gone = [(str(p), "文件已不在原处：库中结果保留，未重新分类") for p in paths if not p.is_file()]
    if not present:
        job.failures.extend(gone)
        raise UsageError("库中简报的文件都已不在原处，无法重新分类")
    run_classify(job, settings, present, refused=gone)
