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

The fitted state is plain data (vocabularies, character n-gram keys and idf weights):
:meth:`TextFeatures.state` and :meth:`TextFeatures.from_state` save and rebuild it without
pickling anything. Nothing here imports scikit-learn: counting is numpy (character n-grams of
all sentences in a few array passes) and dictionary lookups, so prediction stays fast and a
model loads without scikit-learn's import cost.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import scipy.sparse as sp

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
    category with any concept found."""
    found = [c for c in load_concepts() if c.pattern.search(text)]
    return [f"C:{c.name}" for c in found] + [f"K:{cat}" for cat in sorted({c.category for c in found})]


def split_sentences(text: str) -> list[str]:
    """Sentences of a passage (closing punctuation kept)."""
    return [s for s in _SENTENCE_END.split(text) if s.strip()] or [text]


#: Code points shift by one (0 marks "no character"), so n-grams of every length get distinct
#: integer keys: uni < K <= bi < K**2 <= tri < K**3 < 2**63.
_K = 0x110001


def _char_keys(sentences: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Character 1-3-gram keys of many sentences at once, and the sentence of each key.

    Sentences are lowercased and their runs of white space folded to one space; the n-grams
    of all of them come from one array, so the cost is a few numpy passes, not a Python loop
    per character.
    """
    if not sentences:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    folded = [_SPACES.sub(" ", s.lower()) for s in sentences]
    # One array of code points + 1, a 0 between sentences: no n-gram spans two of them.
    joined = "\0".join(folded) + "\0"
    cp = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).astype(np.int64) + 1
    cp[cp == 1] = 0  # the separators
    row = np.cumsum(cp == 0) - (cp == 0)  # sentence index of each position
    keys, rows = [cp[cp > 0]], [row[cp > 0]]
    a, b = cp[:-1], cp[1:]
    ok = (a > 0) & (b > 0)
    keys.append((a * _K + b)[ok])
    rows.append(row[:-1][ok])
    a, b, c = cp[:-2], cp[1:-1], cp[2:]
    ok = (a > 0) & (b > 0) & (c > 0)
    keys.append(((a * _K + b) * _K + c)[ok])
    rows.append(row[:-2][ok])
    return np.concatenate(keys), np.concatenate(rows)


def _key_text(key: int) -> str:
    chars = []
    while key:
        key, cp = divmod(int(key), _K)
        chars.append(chr(cp - 1))
    return "".join(reversed(chars))


_SPACES = re.compile(r"\s\s+")


@dataclass
class _CharGrams:
    """Character 1-3-grams seen in at least ``min_df`` passages, the ``max_features`` most
    frequent kept."""

    min_df: int = 2
    max_features: int = 60000

    def fit(self, texts: Sequence[str]) -> _CharGrams:
        keys, rows = _char_keys(texts)
        pairs = np.unique(np.stack([keys, rows]), axis=1)  # one (key, passage) per passage
        uniq, df = np.unique(pairs[0], return_counts=True)
        uniq = uniq[df >= self.min_df]
        all_keys, tf = np.unique(keys, return_counts=True)
        tf = tf[np.searchsorted(all_keys, uniq)]
        # Most frequent first, ties by key: the same vocabulary on every run.
        order = np.lexsort((uniq, -tf))[: self.max_features]
        self.keys_ = np.sort(uniq[order])
        return self

    def counts(self, texts: Sequence[str]) -> sp.csr_matrix:
        keys, rows = _char_keys(texts)
        pos = np.searchsorted(self.keys_, keys).clip(0, max(len(self.keys_) - 1, 0))
        hit = self.keys_[pos] == keys if len(self.keys_) else np.zeros(len(keys), dtype=bool)
        return sp.csr_matrix(
            (np.ones(int(hit.sum()), dtype=np.float32), (rows[hit], pos[hit])),
            shape=(len(texts), len(self.keys_)),
        )

    def names(self) -> list[str]:
        return [_key_text(k) for k in self.keys_]


def _word_terms(text: str) -> list[str]:
    """Word unigrams and bigrams (bigrams joined by a space)."""
    words = tokenize(text)
    return words + [f"{a} {b}" for a, b in zip(words, words[1:])]


_ANALYZERS: dict[str, Callable[[str], list[str]]] = {
    "words": _word_terms,
    "cues": cue_terms,
    "concepts": concept_terms,
}


@dataclass
class _Terms:
    """Terms from an analyzer: words seen in at least ``min_df`` passages; cue and concept
    tags all kept."""

    block: str
    min_df: int = 1

    def fit(self, texts: Sequence[str]) -> _Terms:
        df: dict[str, int] = {}
        for text in texts:
            for term in set(_ANALYZERS[self.block](text)):
                df[term] = df.get(term, 0) + 1
        self.vocabulary_ = {t: i for i, t in enumerate(sorted(t for t, n in df.items() if n >= self.min_df))}
        return self

    def counts(self, texts: Sequence[str]) -> sp.csr_matrix:
        vocab, analyze = self.vocabulary_, _ANALYZERS[self.block]
        rows: list[int] = []
        cols: list[int] = []
        for i, text in enumerate(texts):
            for term in analyze(text):
                j = vocab.get(term)
                if j is not None:
                    rows.append(i)
                    cols.append(j)
        return sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(len(texts), len(vocab)))

    def names(self) -> list[str]:
        return sorted(self.vocabulary_, key=self.vocabulary_.__getitem__)


def _counter(block: str) -> _CharGrams | _Terms:
    return _CharGrams() if block == "chars" else _Terms(block, min_df=2 if block == "words" else 1)


def _idf(counts: sp.csr_matrix) -> np.ndarray:
    """Smoothed inverse document frequency: ln((1 + n) / (1 + df)) + 1."""
    df = np.bincount(counts.indices, minlength=counts.shape[1])
    return np.log((1 + counts.shape[0]) / (1 + df)) + 1.0


def _tfidf(counts: sp.csr_matrix, idf: np.ndarray) -> sp.csr_matrix:
    """Sublinear term frequency (1 + ln tf) times idf, rows scaled to unit length."""
    x = counts.tocsr(copy=True)
    x.sum_duplicates()
    x.data = (1.0 + np.log(x.data)) * idf[x.indices]
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sp.csr_matrix(sp.diags(1.0 / norms) @ x, dtype=np.float32)


@dataclass
class TextFeatures:
    """The four feature blocks: fit on training passages, then transform windows."""

    blocks: tuple[str, ...] = BLOCKS
    _names: np.ndarray | None = field(default=None, init=False, repr=False, compare=False)

    def fit(self, texts: Sequence[str]) -> TextFeatures:
        prepared = [prepare(t) for t in texts]
        self._names = None
        self.counters_ = {b: _counter(b).fit(prepared) for b in self.blocks}
        self.idf_: dict[str, np.ndarray] = {
            b: _idf(self.counters_[b].counts(prepared)) for b in self.blocks if b in ("words", "chars")
        }
        return self

    @property
    def names(self) -> np.ndarray:
        """Feature names in column order (block-prefixed terms); computed once."""
        if self._names is None:
            out: list[str] = []
            for b in self.blocks:
                out += [f"{b}:{t}" for t in self.counters_[b].names()]
            self._names = np.array(out, dtype=object)
        return self._names

    def _weigh(self, block: str, counts: sp.csr_matrix) -> sp.csr_matrix:
        if block in self.idf_:
            return _tfidf(counts, self.idf_[block])
        return sp.csr_matrix((counts > 0).astype(np.float32))  # cues and concepts: present or not

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        """Features of whole passages."""
        prepared = [prepare(t) for t in texts]
        return sp.hstack(
            [self._weigh(b, self.counters_[b].counts(prepared)) for b in self.blocks], format="csr"
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
        blocks = [self._weigh(b, agg @ self.counters_[b].counts(sentences)) for b in self.blocks]
        return sp.hstack(blocks, format="csr").astype(np.float32), np.array(owner)

    def state(self) -> tuple[dict, dict[str, np.ndarray]]:
        """Plain data: term vocabularies (JSON); character n-gram keys and idf weights (arrays)."""
        vocab = {b: c.vocabulary_ for b, c in self.counters_.items() if isinstance(c, _Terms)}
        arrays = {f"idf_{b}": v for b, v in self.idf_.items()}
        if "chars" in self.counters_:
            arrays["char_keys"] = self.counters_["chars"].keys_  # type: ignore[union-attr]
        return {"blocks": list(self.blocks), "vocabulary": vocab}, arrays

    @classmethod
    def from_state(cls, meta: dict, arrays: dict[str, np.ndarray]) -> TextFeatures:
        """Rebuild fitted features from :meth:`state`'s output."""
        self = cls(tuple(meta["blocks"]))
        self._names = None
        self.counters_ = {}
        for b in self.blocks:
            if b == "chars":
                chars = _CharGrams()
                chars.keys_ = np.asarray(arrays["char_keys"], dtype=np.int64)
                self.counters_[b] = chars
            else:
                terms = _Terms(b)
                terms.vocabulary_ = {t: int(i) for t, i in meta["vocabulary"][b].items()}
                self.counters_[b] = terms
        self.idf_ = {b: np.asarray(arrays[f"idf_{b}"], dtype=np.float64) for b in self.blocks if f"idf_{b}" in arrays}
        return self
