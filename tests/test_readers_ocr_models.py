"""The OCR engine's models and how it reads a line (the optional extra ``.[ocr]``): the fused
models compute what the wheel's compute, lines are decoded as RapidOCR decodes them, and an
unsure line is read again at the slower, surer setting. Skipped without the extra."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.readers import ocr

INSTALL = 'pip install -e ".[ocr]"'


@pytest.fixture(scope="module")
def models() -> dict[str, Path]:
    pytest.importorskip("rapidocr_onnxruntime", reason=f"the OCR extra is not installed: {INSTALL}")
    from rapidocr_onnxruntime.main import DEFAULT_CFG_PATH
    from rapidocr_onnxruntime.utils import read_yaml, update_model_path

    config = update_model_path(read_yaml(DEFAULT_CFG_PATH))
    return {kind: Path(config[kind]["model_path"]) for kind in ("Det", "Rec")}


@pytest.mark.parametrize(
    "kind, shape, folds",
    [
        # the detector sees a page, the recogniser a line 32 pixels high
        ("Det", (1, 3, 224, 160), {"affine into conv": 38, "hard swish": 24, "scale into padded conv": 13}),
        ("Rec", (1, 3, 32, 288), {"affine into conv": 40, "hard swish": 28, "scale into padded conv": 13}),
    ],
)
def test_fused_model_computes_what_the_wheels_model_computes(models, kind, shape, folds):
    import numpy as np

    fused, counts = ocr.fused_model(models[kind])
    assert dict(counts) == folds
    x = np.random.default_rng(8).uniform(-1, 1, shape).astype(np.float32)
    original, rewritten = (ocr.session(m) for m in (models[kind].read_bytes(), fused))
    want = original.run(None, {original.get_inputs()[0].name: x})[0]
    got = rewritten.run(None, {rewritten.get_inputs()[0].name: x})[0]
    assert got.shape == want.shape
    assert np.abs(got - want).max() < 1e-4
    if kind == "Rec":  # the same character at every step
        assert (got.argmax(axis=-1) == want.argmax(axis=-1)).all()


def test_fused_model_leaves_other_graphs_alone(tmp_path, models):
    """A model without the patterns (here: the fused one, rewritten again) comes back as it
    was, node for node."""
    fused, _ = ocr.fused_model(models["Rec"])
    path = tmp_path / "fused.onnx"
    path.write_bytes(fused)
    again, counts = ocr.fused_model(path)
    assert counts["affine into conv"] == counts["hard swish"] == 0
    graph = ocr._model_class().FromString(fused).graph
    assert [n.op_type for n in ocr._model_class().FromString(again).graph.node] == [n.op_type for n in graph.node]


def test_ctc_greedy_decodes_as_rapidocr(models):
    """Repeats merge unless a blank parts them; blanks drop; the confidence is the mean
    probability of the characters kept, as RapidOCR's decoder gives it."""
    import numpy as np

    engine = ocr.engine()
    assert engine is not None
    chars = engine.characters
    steps = [0, 5, 5, 0, 5, 7, 7, 0, 0, 9, 3]
    preds = np.full((len(steps), len(chars)), 0.001, dtype=np.float32)
    probs = [0.9, 0.8, 0.6, 0.99, 0.7, 0.95, 0.5, 0.9, 0.9, 0.65, 0.85]
    preds[np.arange(len(steps)), steps] = probs
    text, mean, least = ocr.ctc_greedy(preds, chars)
    assert text == chars[5] + chars[5] + chars[7] + chars[9] + chars[3]
    want_text, want_mean = engine.rapid.text_rec.postprocess_op(preds[np.newaxis])[0]
    assert (text, mean) == (want_text, pytest.approx(want_mean))
    assert least == pytest.approx(0.65)
    assert ocr.ctc_greedy(np.eye(3, len(chars), dtype=np.float32)[[0, 0, 0]], chars) == ("", 0.0, 0.0)


@pytest.mark.parametrize("least, reads", [(0.95, 1), (0.5, 2)])
def test_unsure_line_read_again_at_the_surer_setting(models, monkeypatch, least, reads):
    """A line whose least sure character is below ``SURE`` is read again, and the second
    reading kept; the ink height is measured once, on the taller crop."""
    import numpy as np

    engine = ocr.engine()
    assert engine is not None
    calls = []

    def read(crop, height, squeeze):
        calls.append((height, squeeze))
        return ("第一遍", 0.9, least) if len(calls) == 1 else ("第二遍", 0.97, 0.9)

    monkeypatch.setattr(engine, "_read", read)
    image = np.full((100, 400, 3), 255, dtype=np.uint8)
    image[40:60, 20:380] = 0
    box = ocr._Box(np.array([[10, 35], [390, 35], [390, 65], [10, 65]], dtype=np.float32))
    engine._recognise(image, [box])
    assert calls == [(ocr.REC_HEIGHT, ocr.SQUEEZE), (ocr.SURE_HEIGHT, ocr.SURE_SQUEEZE)][:reads]
    assert ocr.SURE > 0.5
    assert box.text == ("第一遍" if reads == 1 else "第二遍")
    assert box.ink == 20


def test_red_mask_finds_red_ink_only():
    """Red where the red channel is over 140 and over 60 above green and blue (bytes, BGR):
    a seal's vermilion and dark red ink, not black, white, grey or pink."""
    import numpy as np

    pixels = {
        (38, 38, 214): True,  # the scans' seal red
        (20, 20, 150): True,  # dark red
        (0, 0, 0): False,
        (255, 255, 255): False,
        (128, 128, 128): False,
        (200, 150, 255): False,  # pink: red only 55 above blue
        (90, 10, 140): False,  # red not over 140
        (10, 200, 30): False,  # green over red: no wrap-round
    }
    image = np.array([list(pixels)], dtype=np.uint8)
    assert ocr._red_mask(image).tolist() == [list(pixels.values())]
