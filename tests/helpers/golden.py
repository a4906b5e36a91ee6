"""Golden outputs: compared exactly, rewritten only on request."""

from __future__ import annotations

import os
from pathlib import Path

GOLDEN = Path(__file__).resolve().parent.parent / "data" / "golden"


def golden(name: str, text: str) -> str:
    """The stored golden output (rewritten when BULLETINS_UPDATE_GOLDEN=1)."""
    path = GOLDEN / name
    if os.environ.get("BULLETINS_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return path.read_text(encoding="utf-8")
