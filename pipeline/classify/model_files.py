"""Model folders and their JSON sidecars, readable without importing scikit-learn.

``classify`` needs a model's version to decide whether anything must be classified at all;
``models`` and ``review`` need figures and thresholds. None of them should pay for
scikit-learn's import (see ``shared/pitfalls.md``), so folder resolution and sidecar reading
live here, apart from :mod:`pipeline.classify.model`.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from pipeline import config
from pipeline.errors import ModelError, UsageError

#: The classifier as plain data: parameters and vocabularies, and arrays (no pickle).
STATE_FILE = "model.json"
ARRAYS_FILE = "model.npz"
META_FILE = "metadata.json"


#: A model version's name: one folder under the models folder, of letters (Chinese too),
#: digits, ``-``, ``_`` and ``.``; never ``.`` or ``..``.
_NAME = re.compile(r"[\w.\-]{1,100}")


def is_model_name(name: str) -> bool:
    """Whether ``name`` is a valid model version name (see :func:`check_model_name`)."""
    return bool(_NAME.fullmatch(name)) and name not in (".", "..")


def check_model_name(name: str) -> str:
    """``name`` if it is one path component of letters (Chinese allowed), digits, ``-``,
    ``_`` and ``.`` (not ``.`` or ``..``, at most 100 characters).

    Raises:
        UsageError: anything else: ``../../escape``, ``/abs/path``, ``a/b``, an empty name.
    """
    if not is_model_name(str(name)):
        raise UsageError(
            f"expected a model name of letters, digits, '-', '_' and '.' naming one folder in the models folder, "
            f"found {str(name)!r}",
            hint="for example 2021-07-round1 or 七月复核",
        )
    return str(name)


def inside_models_dir(folder: Path, models_dir: Path) -> bool:
    """Whether ``folder``, links resolved, is a folder directly inside ``models_dir``."""
    real = os.path.realpath(folder)
    return os.path.dirname(real) == os.path.realpath(models_dir)


def resolve_model_dir(name_or_dir: str | Path | None = None, models_dir: Path = config.MODELS_DIR) -> Path:
    """The folder of a model given by name, by path, or the current default.

    Args:
        name_or_dir: a folder path, a name under ``models_dir``, or ``None`` for the default
            (the version named in ``models_dir/DEFAULT``, else ``default``).
        models_dir: where named models live.

    Returns:
        The model folder (not checked).

    Raises:
        ModelError: the default pointer names no valid model name.
    """
    if name_or_dir is None:
        pointer = Path(models_dir) / config.DEFAULT_POINTER
        name = pointer.read_text(encoding="utf-8").strip() if pointer.exists() else config.DEFAULT_MODEL
        if not is_model_name(name):
            raise ModelError(
                f"expected {config.DEFAULT_POINTER} to name a model folder, found {name!r}",
                pointer,
                "make a version the default with `bulletins promote NAME`",
            )
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
