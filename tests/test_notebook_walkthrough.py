"""The walkthrough notebook runs top to bottom, so it cannot rot."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline import config

NOTEBOOK = config.ROOT / "notebooks" / "walkthrough.ipynb"


@pytest.mark.slow
def test_notebook_walkthrough_executes(tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    from ipykernel.kernelspec import install
    from nbclient import NotebookClient

    # A kernel spec for this very interpreter, found first: the run never depends on which
    # "python3" kernel (if any) the machine has registered.
    install(kernel_name="bulletins-test", prefix=str(tmp_path / "env"))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "env" / "share" / "jupyter"))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        nb, kernel_name="bulletins-test", timeout=120, resources={"metadata": {"path": str(tmp_path)}}
    ).execute()

    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(o.output_type != "error" for c in code for o in c.outputs)
    text = "\n".join(o.get("text", "") for c in code for o in c.outputs if o.output_type == "stream")
    assert "四川交通运输执法领域突出问题专项整治行动工作简报 2021年第8期 2021-06-12" in text
    assert "second run: 1 unchanged file(s), nothing re-read" in text
    tables = [o for c in code for o in c.outputs if o.output_type == "execute_result" and "text/html" in o.data]
    assert len(tables) == 3  # counts, counts by region, the issue list
    images = [o for c in code for o in c.outputs if "image/png" in o.get("data", {})]
    assert len(images) == 1 or "no font with Chinese glyphs" in text


def test_notebook_walkthrough_is_stored_without_outputs():
    nbformat = pytest.importorskip("nbformat")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in nb.cells if c.cell_type == "code")
    assert Path(NOTEBOOK).stat().st_size < 20_000
