"""Model versions: list them, promote one to default, roll back."""

from __future__ import annotations

import contextlib
from pathlib import Path

from pipeline import config
from pipeline.classify.model_files import all_meta, resolve_model_dir
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

    Args:
        name: the version's folder name under ``models_dir``.
        models_dir: where versions live.
        force: promote even if its held-out macro F1 is lower.

    Returns:
        ``{"promoted", "previous", "candidate_f1", "default_f1"}``.

    Raises:
        ModelError: unknown or unverifiable version, or worse than the default without force.
    """
    from pipeline.classify.model import load_model

    candidate = load_model(name, models_dir)
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
    (Path(models_dir) / config.DEFAULT_POINTER).write_text(candidate.path.name + "\n", encoding="utf-8")
    return {
        "promoted": candidate.path.name,
        "previous": previous.path.name if previous else None,
        "candidate_f1": cand_f1,
        "default_f1": prev_f1,
    }
