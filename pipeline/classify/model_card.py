"""The model card: a Markdown page of a model version's figures, written next to it."""

from __future__ import annotations

from pipeline.classify.model import Model
from pipeline.taxonomy import CATEGORIES, DESCRIPTIONS

CARD_FILE = "MODEL_CARD.md"


def _table(rows: list[list[str]], header: list[str]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _f(x) -> str:
    return "–" if x is None else f"{x:.3f}"


def render_model_card(model: Model) -> str:
    """The card's Markdown.

    Args:
        model: a saved model whose metadata holds its metrics.

    Returns:
        Markdown text.
    """
    meta = model.meta
    m = meta.get("metrics", {})
    tr = meta.get("training", {})
    cols = [
        ("cv", "model, 5-fold CV"),
        ("cv_nested", "model, nested CV"),
        ("baseline_cv", "cue words, same passages"),
        ("holdout", "model, held-out split"),
        ("seed", "model, seed bulletin"),
        ("baseline_seed", "cue words, seed bulletin"),
        ("labeler_agreement", "labeler agreement"),
    ]
    for key in sorted(k for k in m if k.startswith("heldout_")):
        stem = key[len("heldout_") :]
        cols[-1:-1] = [(key, f"model, {stem} (held out)"), (f"baseline_{key}", f"cue words, {stem}")]
    for key in sorted(k for k in m if k.startswith("dev_")):
        stem = key[len("dev_") :]
        cols[-1:-1] = [(key, f"model, {stem} (dev: tuned on)"), (f"baseline_{key}", f"cue words, {stem}")]
    cols = [(k, label) for k, label in cols if k in m]
    per_rows = [[c] + [_f(m[k]["per_category"][c]["f1"]) for k, _ in cols] for c in CATEGORIES]
    per_rows.append(["**macro F1**"] + [f"**{_f(m[k]['macro_f1'])}**" for k, _ in cols])
    per_rows.append(["micro F1"] + [_f(m[k]["micro_f1"]) for k, _ in cols])
    per_rows.append(["exact match"] + [_f(m[k]["exact_match"]) for k, _ in cols])
    flagged = [_f(m[k]["none_flagged"]) if "none_flagged" in m[k] else "" for k, _ in cols]
    per_rows.append(["no-problem passages flagged"] + flagged)
    per_rows.append(["passages"] + [str(m[k]["n"]) for k, _ in cols])
    out = [
        f"# Model card: `{meta['version']}`",
        "",
        "Multi-label classifier of transport law-enforcement bulletin passages into the six problem "
        "categories of the 2021 campaign (labeling guide: `shared/labeling-guide.md`).",
        "",
        "## What it is",
        "",
        "- Features: TF-IDF over jieba words (1–2-grams, campaign user dictionary; segmented by rjieba) and "
        "character 1–3-grams, the guide's cue words, concept lexicons (`corpus/dictionaries/concepts.tsv`: "
        "the many ways to say one problem)"
        + (
            ", and thesaurus classes (HIT Tongyici Cilin, `corpus/dictionaries/cilin.tsv`: each word's synonym "
            "and word groups)"
            if "thesaurus" in model.classifier.blocks
            else ""
        )
        + ". Each text is read first: the six category names recited as aims "
        "are neutralised and negated findings (未发现……) dropped.",
        "- One logistic regression per category (one-vs-rest, balanced classes)"
        + (
            f", averaged with a neural network of one hidden layer ({model.classifier.hidden} units) on the same "
            "features, trained also on passages glued to passages reporting no problem"
            if model.classifier.network_ is not None
            else ""
        )
        + "; saved as plain data (`model.json`, `model.npz`): loading runs no code from the model folder. "
        "Evidence terms are the regressions' (the linear half).",
        f"- A passage is scored whole; one of {meta.get('window_sentences') or 'no number of'} sentences or more "
        "also sentence by sentence and by adjacent sentence pairs, each category keeping its best score. A gate "
        f"(one more output: does the passage report any problem?) withholds every category below "
        f"{meta.get('gate_threshold', 0.0):.2f}"
        + (f" unless it scores {meta['gate_override']:.2f} or more" if meta.get("gate_override") else "")
        + ". A "
        "category is predicted when its score reaches its threshold; "
        + ("a passage about people posing as enforcers (冒充执法人员) gets none; " if meta.get("impostors") else "")
        + "then the guide's "
        "tie-breaks complete the labels (`corpus/dictionaries/tiebreaks.tsv`), and the six names listed as "
        "topics examined tag every name listed; none → `无`.",
        "- Thresholds chosen per category by 5-fold cross-validation: "
        + ", ".join(f"{c} {meta['thresholds'][c]:.3f}" for c in CATEGORIES)
        + ".",
        f"- Trained {meta.get('created', '')} on {tr.get('samples')} passages "
        f"(data SHA-256 `{tr.get('data_sha256', '')[:16]}…`), {tr.get('holdout_samples')} held out "
        f"({tr.get('holdout_rule')}); scikit-learn {meta['libraries']['scikit-learn']}, "
        f"{meta['libraries'].get('segmenter', '')}; model files {meta['model_bytes'] / 1e6:.1f} MB.",
        "",
        "Training passages per category: "
        + ", ".join(f"{c} {tr.get('per_category', {}).get(c)}" for c in CATEGORIES)
        + f"; none {tr.get('none')}; two or more {tr.get('multi')}.",
        "",
        "## F1 per category",
        "",
        _table(per_rows, ["category"] + [label for _, label in cols]),
        "",
        "- *5-fold CV*: the out-of-fold predictions the thresholds were chosen on (slightly optimistic); "
        "*nested CV*, when present, chooses thresholds inside each training fold.",
        "- *Held-out split*: the fixed 15% of the team corpus no model version is trained on; versions are "
        "compared there.",
        "- *Seed bulletin*: the 22 article passages of the real bulletin `corpus/bulletins/sichuan-2021-08.txt`, "
        "labeled by the guide and never trained on: another writer's long paragraphs. The fall from CV to this "
        "column is the honest estimate of how the model does on other writers' bulletins (22 passages: one "
        "passage moves a category's F1 by up to 0.2).",
        "- *fresh (held out)*, when present: passages by a writer who never saw the corpus, in registers of "
        "their choosing, labeled by the guide (`corpus/heldout/fresh.jsonl`); never trained on.",
        "- *Cue words*: the guide's cue list as a classifier (a category whenever one of its cues occurs). It "
        "is weak on the corpus, which holds cue words used as praise or slogans and problems described "
        "without any cue, and strong on the seed, whose paragraphs name problems in the guide's own words.",
        "- *Labeler agreement*: a second, independent labeling of 300 random corpus passages against the "
        "first (F1 of one labeler against the other): the ceiling the model is measured against.",
    ]
    names = {"cv": "5-fold CV", "holdout": "held-out split", "seed": "seed bulletin"}
    names.update({k: k[len("heldout_") :] for k in m if k.startswith("heldout_")})
    names.update({k: f"{k[len('dev_') :]} (dev)" for k in m if k.startswith("dev_")})
    gaps = [
        f"{m[k]['macro_f1'] - m['baseline_' + k]['macro_f1']:+.3f} ({label})"
        for k, label in names.items()
        if k in m and f"baseline_{k}" in m
    ]
    if gaps:
        out += ["", "Model minus cue words, macro F1 on the same passages: " + ", ".join(gaps) + "."]
    if "learning_curve" in m:
        out += [
            "",
            "## Learning curve (5-fold CV, nested)",
            "",
            _table(
                [[str(p["train_size"]), _f(p["macro_f1"]), _f(p["micro_f1"])] for p in m["learning_curve"]],
                ["training passages", "macro F1", "micro F1"],
            ),
        ]
    if m.get("cv", {}).get("confused"):
        out += [
            "",
            "## Most confused pairs (CV: true category missed while another was predicted)",
            "",
            _table(
                [[c["true"], c["predicted"], str(c["count"])] for c in m["cv"]["confused"]],
                ["true", "predicted instead", "passages"],
            ),
        ]
    out += ["", "## Categories", ""] + [f"- **{c}**: {DESCRIPTIONS[c]}" for c in CATEGORIES]
    out += [
        "",
        "## Limits",
        "",
        "- Trained on passages written by the project team in its own words; other writers' phrasing "
        "is the main risk (see the seed column).",
        "- Long paragraphs that relay instructions and also name a concrete problem are the hardest "
        "cases; the guide tags the named problem.",
        "- The model reads text only: tables and scanned pages must be extracted (or OCRed) first.",
        "",
    ]
    return "\n".join(out)


def write_model_card(model: Model) -> None:
    """Write ``MODEL_CARD.md`` into the model's folder."""
    (model.path / CARD_FILE).write_text(render_model_card(model), encoding="utf-8")
