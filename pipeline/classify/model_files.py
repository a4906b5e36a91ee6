"""Model folders and their JSON sidecars, readable without importing scikit-learn.

``classify`` needs a model's version to decide whether anything must be classified at all;
``models`` and ``review`` need figures and thresholds. None of them should pay for
scikit-learn's import (see ``shared/pitfalls.md``), so folder resolution and sidecar reading
live here, apart from :mod:`pipeline.classify.model`.
"""

from __future__ import annotations

import json
from pathlib import Path

from pipeline import config
from pipeline.errors import ModelError

#: The classifier as plain data: parameters and vocabularies, and arrays (no pickle).
STATE_FILE = "model.json"
ARRAYS_FILE = "model.npz"
META_FILE = "metadata.json"


def resolve_model_dir(name_or_dir: str | Path | None = None, models_dir: Path = config.MODELS_DIR) -> Path:
    """The folder of a model given by name, by path, or the current default.

    Args:
        name_or_dir: a folder path, a name under ``models_dir``, or ``None`` for the default
            (the version named in ``models_dir/DEFAULT``, else ``default``).
        models_dir: where named models live.

    Returns:
        The model folder (not checked).
    """
    if name_or_dir is None:
        pointer = Path(models_dir) / config.DEFAULT_POINTER
        name = pointer.read_text(encoding="utf-8").strip() if pointer.exists() else config.DEFAULT_MODEL
        return Path(models_dir) / name
    candidate = Path(name_or_dir)
    if candidate.is_dir() or candidate.is_absolute() or len(candidate.parts) > 1:
        return candidate
    return Path(models_dir) / str(name_or_dir)


def read_meta(folder: Path) -> dict:
    """A model folder's sidecar metadata.

    Args:
        folder: the model folder.

    Returns:
        The parsed ``metadata.json``.

    Raises:
        ModelError: no sidecar, or one that is not valid JSON.
    """
    path = Path(folder) / META_FILE
    if not path.exists():
        raise ModelError(
            f"expected a model folder with {META_FILE}, found none",
            folder,
            "list models with `bulletins models`, or train one with `bulletins train`",
        )
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ModelError(
            f"{META_FILE} is not valid JSON ({exc.msg})", folder, "retrain with `bulletins train`"
        ) from None


def write_meta(folder: Path, meta: dict) -> None:
    """Write a model folder's sidecar (the model file's hash inside it is not touched)."""
    (Path(folder) / META_FILE).write_text(json.dumps(meta, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def all_meta(models_dir: Path = config.MODELS_DIR) -> list[tuple[Path, dict]]:
    """Every model folder under ``models_dir`` with its sidecar, by folder name; folders whose
    sidecar cannot be read are left out."""
    out = []
    for path in sorted(Path(models_dir).glob(f"*/{META_FILE}")):
        try:
            out.append((path.parent, json.loads(path.read_text(encoding="utf-8"))))
        except (OSError, json.JSONDecodeError):
            continue
    return out
