"""Model versions: list them, promote one to default, roll back."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from pipeline import config
from pipeline.classify.model_files import all_meta, check_model_name, inside_models_dir, resolve_model_dir
from pipeline.errors import BulletinsError, ModelError


def default_name(models_dir: Path = config.MODELS_DIR) -> str:
    """The name of the current default version."""
    return resolve_model_dir(None, models_dir).name


def list_models(models_dir: Path = config.MODELS_DIR) -> list[dict]:
    """Every model version under ``models_dir`` with its key figures.

    Returns:
        Records (name, version, created, samples, cv/holdout/seed macro F1, default flag),
        oldest first.
    """
    current = default_name(models_dir)
    out = []
    for folder, meta in all_meta(models_dir):
        m = meta.get("metrics", {})
        out.append(
            {
                "name": folder.name,
                "version": meta.get("version", ""),
                "created": meta.get("created", ""),
                "samples": meta.get("training", {}).get("samples"),
                "cv_macro_f1": m.get("cv", {}).get("macro_f1"),
                "holdout_macro_f1": m.get("holdout", {}).get("macro_f1"),
                "seed_macro_f1": m.get("seed", {}).get("macro_f1"),
                "default": folder.name == current,
            }
        )
    return sorted(out, key=lambda r: (r["created"], r["name"]))


def promote(name: str, models_dir: Path = config.MODELS_DIR, force: bool = False) -> dict:
    """Make a version the default (promoting the previous one is the rollback).

    The candidate must not be worse than the current default on the held-out split: the
    comparison ``train`` stored when the candidate was trained against this default is used;
    otherwise both are evaluated now on the corpus's held-out split.

    Only a version inside ``models_dir`` can be promoted (its name is one folder there, and
    the folder, links resolved, lies there), and only once it loads and verifies: the
    pointer is then replaced atomically, so it never names a missing or broken model.

    Args:
        name: the version's folder name under ``models_dir``.
        models_dir: where versions live.
        force: promote even if its held-out macro F1 is lower.

    Returns:
        ``{"promoted", "previous", "candidate_f1", "default_f1"}``.

    Raises:
        UsageError: not a version name (a path such as ``/outside/v9`` or ``../x``).
        ModelError: unknown or unverifiable version, one outside ``models_dir``, or worse
            than the default without force.
    """
    from pipeline.classify.model import load_model

    folder = Path(models_dir) / check_model_name(name)
    if not folder.is_dir():
        raise ModelError("no such model version", folder, "list versions with `bulletins models`")
    if not inside_models_dir(folder, Path(models_dir)):
        raise ModelError(
            "expected a model version inside the models folder, found a link out of it",
            folder,
            "copy the version into the models folder",
        )
    candidate = load_model(folder, models_dir)
    previous = None
    with contextlib.suppress(BulletinsError):  # no default yet: nothing to compare with
        previous = load_model(None, models_dir)
    cand_f1 = prev_f1 = None
    if previous is not None and previous.path.name != candidate.path.name:
        stored = candidate.meta.get("comparison", {})
        if stored.get("against") == previous.version:
            cand_f1, prev_f1 = stored["new_macro_f1"], stored["default_macro_f1"]
        else:
            from pipeline.classify.labeled import is_holdout, load_corpus
            from pipeline.classify.model import evaluate_model

            rows = [r for r in load_corpus() if is_holdout(r)]
            cand_f1 = evaluate_model(candidate, rows)["macro_f1"]
            prev_f1 = evaluate_model(previous, rows)["macro_f1"]
        if cand_f1 < prev_f1 and not force:
            raise ModelError(
                f"held-out macro F1 {cand_f1:.3f} is below the default {previous.path.name}'s {prev_f1:.3f}",
                candidate.path,
                "add labels and retrain, or pass --force",
            )
    _write_pointer(Path(models_dir), candidate.path.name)
    return {
        "promoted": candidate.path.name,
        "previous": previous.path.name if previous else None,
        "candidate_f1": cand_f1,
        "default_f1": prev_f1,
    }


def _write_pointer(models_dir: Path, name: str) -> None:
    """Replace the default pointer atomically: readers see the old name or the new one."""
    fd, tmp = tempfile.mkstemp(prefix=".DEFAULT-", dir=models_dir)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(check_model_name(name) + "\n")
        os.replace(tmp, models_dir / config.DEFAULT_POINTER)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
