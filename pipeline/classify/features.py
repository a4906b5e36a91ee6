"""Features of a passage: words, characters, the guide's cues and concept lexicons.

Four TF-IDF blocks, side by side:

- **words**: jieba words (uni- and bigrams, :func:`pipeline.classify.segment.tokenize`);
- **chars**: character 1–3-grams, which survive segmentation errors and unknown names;
- **cues**: the guide's cue words and one tag per category any of whose cues occurs;
- **concepts**: the many ways to say one problem (bribery told as 好处费, 请吃个饭, 领车费;
  rudeness as 摔证件, 少废话 …), from ``corpus/dictionaries/concepts.tsv``, one feature per
  concept and one per category: knowledge that carries past the training passages' words.

Every text is read by :func:`pipeline.classify.reading.prepare` first. Passages are scored
whole and in sentence windows (see :meth:`TextFeatures.windows`): each distinct sentence is
counted once, and windows are sums of their sentences' counts.

The fitted state is plain data (vocabularies and idf weights): :meth:`TextFeatures.state`
and :meth:`TextFeatures.from_state` save and rebuild it without pickling anything.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer

from pipeline import config
from pipeline.classify.reading import prepare
from pipeline.classify.segment import tokenize
from pipeline.taxonomy import cue_terms

BLOCKS = ("words", "chars", "cues", "concepts")
_SENTENCE_END = re.compile(r"(?<=[。！？；!?;])")


@dataclass(frozen=True)
class Concept:
    category: str
    name: str
    pattern: re.Pattern


@lru_cache(maxsize=4)
def load_concepts(path: Path = config.CONCEPTS) -> tuple[Concept, ...]:
    """The concept lexicon: category, concept name and a regular expression per row."""
    with open(path, encoding="utf-8", newline="") as fh:
        return tuple(
            Concept(row["category"], row["concept"], re.compile(row["pattern"]))
            for row in csv.DictReader(fh, delimiter="\t")
        )


def concept_terms(text: str) -> list[str]:
    """Concept features of a text: ``C:<concept>`` per concept found and ``K:<category>`` per
    category with any concept found (a scikit-learn analyzer)."""
    found = [c for c in load_concepts() if c.pattern.search(text)]
    return [f"C:{c.name}" for c in found] + [f"K:{cat}" for cat in sorted({c.category for c in found})]


def split_sentences(text: str) -> list[str]:
    """Sentences of a passage (closing punctuation kept)."""
    return [s for s in _SENTENCE_END.split(text) if s.strip()] or [text]


def _vectorizer(block: str, vocabulary: dict[str, int] | None = None) -> CountVectorizer:
    if block == "words":
        return CountVectorizer(
            tokenizer=tokenize,
            token_pattern=None,
            lowercase=False,
            ngram_range=(1, 2),
            min_df=2,
            dtype=np.float32,
            vocabulary=vocabulary,
        )
    if block == "chars":
        return CountVectorizer(
            analyzer="char", ngram_range=(1, 3), min_df=2, max_features=60000, dtype=np.float32, vocabulary=vocabulary
        )
    analyzer = cue_terms if block == "cues" else concept_terms
    return CountVectorizer(analyzer=analyzer, binary=True, dtype=np.float32, vocabulary=vocabulary)


@dataclass
class TextFeatures:
    """The four feature blocks: fit on training passages, then transform windows."""

    blocks: tuple[str, ...] = BLOCKS

    def fit(self, texts: Sequence[str]) -> TextFeatures:
        prepared = [prepare(t) for t in texts]
        self.vectorizers_ = {b: _vectorizer(b).fit(prepared) for b in self.blocks}
        self.idf_: dict[str, np.ndarray] = {}
        for b in self.blocks:
            counts = self.vectorizers_[b].transform(prepared)
            if b in ("words", "chars"):
                self.idf_[b] = TfidfTransformer(sublinear_tf=True).fit(counts).idf_.astype(np.float64)
        return self

    @property
    def names(self) -> np.ndarray:
        """Feature names in column order (block-prefixed terms)."""
        out: list[str] = []
        for b in self.blocks:
            out += [f"{b}:{t}" for t in self.vectorizers_[b].get_feature_names_out()]
        return np.array(out, dtype=object)

    def _weigh(self, block: str, counts: sp.csr_matrix) -> sp.csr_matrix:
        if block in ("words", "chars"):
            t = TfidfTransformer(sublinear_tf=True)
            t.idf_ = self.idf_[block]
            return t.transform(counts)
        return (counts > 0).astype(np.float32).tocsr()  # cues and concepts: present or not

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        """Features of whole passages."""
        prepared = [prepare(t) for t in texts]
        return sp.hstack(
            [self._weigh(b, self.vectorizers_[b].transform(prepared)) for b in self.blocks], format="csr"
        ).astype(np.float32)

    def windows(self, texts: Sequence[str], pairs: bool = True) -> tuple[sp.csr_matrix, np.ndarray]:
        """Features of every passage and of its sentence windows (each sentence, and each
        pair of adjacent sentences when ``pairs``).

        Returns:
            The feature rows and, per row, the index of the passage it belongs to.
        """
        index: dict[str, int] = {}
        rows: list[list[int]] = []
        owner: list[int] = []
        for i, text in enumerate(texts):
            idx = [index.setdefault(part, len(index)) for part in split_sentences(prepare(text))]
            windows = [idx]
            if len(idx) > 1:
                windows += [[j] for j in idx]
                if pairs and len(idx) > 2:
                    windows += [[a, b] for a, b in zip(idx, idx[1:])]
            rows += windows
            owner += [i] * len(windows)
        sentences = list(index)
        if not sentences:
            return sp.csr_matrix((0, len(self.names)), dtype=np.float32), np.zeros(0, dtype=int)
        agg = sp.csr_matrix(
            (
                np.ones(sum(map(len, rows)), dtype=np.float32),
                (np.repeat(np.arange(len(rows)), [len(r) for r in rows]), np.concatenate(rows)),
            ),
            shape=(len(rows), len(sentences)),
        )
        blocks = [self._weigh(b, agg @ self.vectorizers_[b].transform(sentences)) for b in self.blocks]
        return sp.hstack(blocks, format="csr").astype(np.float32), np.array(owner)

    def state(self) -> tuple[dict, dict[str, np.ndarray]]:
        """Plain data: vocabularies (JSON) and idf weights (arrays)."""
        vocab = {b: {t: int(i) for t, i in self.vectorizers_[b].vocabulary_.items()} for b in self.blocks}
        return {"blocks": list(self.blocks), "vocabulary": vocab}, {f"idf_{b}": v for b, v in self.idf_.items()}

    @classmethod
    def from_state(cls, meta: dict, arrays: dict[str, np.ndarray]) -> TextFeatures:
        """Rebuild fitted features from :meth:`state`'s output."""
        self = cls(tuple(meta["blocks"]))
        self.vectorizers_ = {b: _vectorizer(b, meta["vocabulary"][b]) for b in self.blocks}
        for v in self.vectorizers_.values():
            v._validate_vocabulary()  # a fixed vocabulary needs no fit
        self.idf_ = {b: np.asarray(arrays[f"idf_{b}"], dtype=np.float64) for b in self.blocks if f"idf_{b}" in arrays}
        return self
