"""Features of a passage: words, characters, the guide's cues, concept lexicons and a thesaurus.

Five blocks, side by side:

- **words**: jieba words (uni- and bigrams, :func:`pipeline.classify.segment.tokenize`);
- **chars**: character 1–3-grams, which survive segmentation errors and unknown names;
- **cues**: the guide's cue words and one tag per category any of whose cues occurs;
- **concepts**: the many ways to say one problem (bribery told as 好处费, 请吃个饭, 领车费;
  rudeness as 摔证件, 少废话 …), from ``corpus/dictionaries/concepts.tsv``, one feature per
  concept and one per category: knowledge that carries past the training passages' words;
- **thesaurus**: each content word's classes in HIT Tongyici Cilin (Extended),
  ``corpus/dictionaries/cilin.tsv``: its synonym group (``S:Hn09B01=``, 贿赂 with 行贿, 贿选 …)
  and its word group (``G:Hn09B``), so a word no training passage used counts as its
  synonyms do (:func:`thesaurus_terms_of`).

Every text is read by :func:`pipeline.classify.reading.prepare` first. Passages are scored
whole and in sentence windows (see :meth:`TextFeatures.windows`): each distinct sentence is
counted once, and windows are sums of their sentences' counts.

The fitted state is plain data (vocabularies, character n-gram keys and idf weights):
:meth:`TextFeatures.state` and :meth:`TextFeatures.from_state` save and rebuild it without
pickling anything. Nothing here imports scikit-learn: counting is numpy (character n-grams of
all sentences in a few array passes) and dictionary lookups, so prediction stays fast and a
model loads without scikit-learn's import cost.

Speed without changing a number (``tests/test_features_fast.py`` checks each against the plain
way): texts are read in batches (all sentences of a prediction at once); concept, cue and
tie-break patterns are tried only where one of their first two characters stands
(:class:`_PatternIndex`); words and n-grams are looked up by number in hash tables
(:class:`_WordIndex`, :class:`_KeyTable`); and a fit reads each passage once across its
cross-validation folds (:class:`TextMemo`).
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import chain, repeat
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from pipeline import config
from pipeline.classify.reading import prepare
from pipeline.classify.segment import content_words, segment
from pipeline.taxonomy import CATEGORIES, CUES

BLOCKS = ("words", "chars", "cues", "concepts", "thesaurus")
#: Blocks weighed by TF-IDF; the others are present-or-not tags.
_IDF_BLOCKS = frozenset({"words", "chars", "thesaurus"})
#: Kinds of :attr:`TextFeatures.shown`: a term as written, a concept.
SHOWN_TERM, SHOWN_CONCEPT = 1, 2
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


def concept_terms_many(texts: Sequence[str]) -> list[list[str]]:
    """:func:`concept_terms` of many texts: the same terms in the same order, faster (see
    :class:`_PatternIndex`); texts with the same concepts share one list (not to be changed)."""
    index = _concept_index()
    return [index.terms(found) for found in index.found(texts)]


def cue_terms_many(texts: Sequence[str]) -> list[list[str]]:
    """:func:`pipeline.taxonomy.cue_terms` of many texts: the same terms in the same order,
    faster (see :class:`_PatternIndex`); texts with the same cues share one list (not to be
    changed)."""
    index = _cue_index()
    return [index.terms(found) for found in index.found(texts)]


#: How many leading characters of a concept's matches :func:`_match_starts` works out.
_START = 2


def _match_starts(pattern: re.Pattern) -> tuple[frozenset[str], frozenset[str]] | None:
    """What every match of ``pattern`` begins with: a set of single characters and a set of
    two-character strings such that each match begins with one of them (a match of one
    character is one of the single characters); None when that cannot be said (the pattern
    can match the empty string or begin with any character, or uses flags or syntax this
    does not read), so the pattern is searched in every text.

    Read from the parsed pattern (the ``re`` module's own parser); anything unknown counts as
    "any character from here on", which keeps the sets a superset of the truth.
    """
    if pattern.flags & (re.IGNORECASE | re.VERBOSE | re.LOCALE):
        return None
    try:
        sre, parser = _sre_modules()
        starts = _seq_starts(list(parser.parse(pattern.pattern)), _START, sre)
    except Exception:  # an unexpected parse tree: search everywhere
        return None
    if any(not s for s, _ in starts):
        return None
    return frozenset(s for s, _ in starts if len(s) == 1), frozenset(s for s, _ in starts if len(s) > 1)


#: (beginning, whether more may follow it that is still known): what a pattern item can
#: start with when nothing is known.
_ANYTHING = frozenset({("", False)})


def _seq_starts(items: list, room: int, sre) -> set[tuple[str, bool]]:
    """The beginnings (at most ``room`` characters) of what a sequence of parsed items
    matches, each with whether it may go on (the sequence not ended, nothing unknown met)."""
    states = {("", True)}
    for op, av in items:
        grown: set[tuple[str, bool]] = set()
        for s, open_ in states:
            if not open_ or len(s) >= room:
                grown.add((s, open_))
                continue
            for t, more in _item_starts(op, av, room - len(s), sre):
                grown.add((s + t, more))
        states = grown
    return states


def _item_starts(op, av, room: int, sre) -> set[tuple[str, bool]] | frozenset[tuple[str, bool]]:
    if op == sre.LITERAL:
        return {(chr(av), True)}
    if op == sre.IN:
        chars: set[tuple[str, bool]] = set()
        for kind, arg in av:
            if kind == sre.LITERAL:
                chars.add((chr(arg), True))
            elif kind == sre.RANGE and arg[1] - arg[0] < 64:
                chars.update((chr(c), True) for c in range(arg[0], arg[1] + 1))
            else:  # negated sets, categories (\d, \w), wide ranges
                return _ANYTHING
        return chars
    if op in (sre.AT, sre.ASSERT, sre.ASSERT_NOT):  # zero-width: nothing consumed
        return {("", True)}
    if op == sre.BRANCH:
        return set().union(*(_seq_starts(list(alt), room, sre) for alt in av[1]))
    if op == sre.SUBPATTERN:
        if av[1] or av[2]:  # flags of its own
            return _ANYTHING
        return _seq_starts(list(av[3]), room, sre)
    if op in (sre.MAX_REPEAT, sre.MIN_REPEAT):
        lo, hi, item = av
        if any(not s for s, _ in _seq_starts(list(item), room, sre)):
            return _ANYTHING  # an item that can match nothing: not worth reading further
        # Each repetition adds at least one character: only the first ``room`` matter.
        out: set[tuple[str, bool]] = set()
        for n in range(min(lo, room), min(hi, room) + 1):
            out |= _seq_starts(list(item) * n, room, sre)
        return out
    return _ANYTHING  # any character, back-references, atomic groups ...


class _PatternIndex:
    """Which of many patterns match which of many texts, found for all texts at once: the
    one- and two-character beginnings of every pattern's matches (:func:`_match_starts`) as
    integer keys, each with a bit mask of the patterns whose matches can begin so. A pattern
    is then tried only where one of its beginnings stands in a text (a few places), and
    :meth:`found` gives exactly the patterns each text matches (as ``search`` would).

    Args:
        patterns: the patterns, in order (bit ``k`` of a mask is ``patterns[k]``).
        terms: the terms of a set of matched patterns (a list of their numbers, in order).
    """

    def __init__(self, patterns: Sequence[re.Pattern], terms: Callable[[list[int]], list[str]]) -> None:
        self.searches = [p.search for p in patterns]
        self._make_terms = terms
        self.words = max(1, -(-len(patterns) // 64))  # 64-bit words per mask
        self.always = 0  # patterns searched in every text
        masks: dict[int, int] = {}
        for k, pattern in enumerate(patterns):
            starts = _match_starts(pattern)
            if starts is None:
                self.always |= 1 << k
                continue
            for s in starts[0] | starts[1]:
                key = _pair_key(s)
                masks[key] = masks.get(key, 0) | 1 << k
        self.keys = np.array(sorted(masks), dtype=np.int64)
        self.bits = np.array(
            [[(masks[key] >> (64 * w)) & (2**64 - 1) for w in range(self.words)] for key in self.keys.tolist()],
            dtype=np.uint64,
        ).reshape(len(self.keys), self.words)
        # Whether a character (code point) is the first of any beginning; the last entry,
        # False, stands for every character beyond.
        leads = [ord(_key_text(int(key))[0]) for key in self.keys]
        self.leads = np.zeros(max(leads, default=0) + 2, dtype=bool)
        self.leads[leads] = True
        self.table = _KeyTable(self.keys)
        self.matches = [p.match for p in patterns]
        self._terms: dict[int, list[str]] = {}

    def places(self, texts: Sequence[str]) -> tuple[list[int], list[int], list[int]]:
        """Where in the texts a beginning stands: the text, the position in it and the bit
        mask of the patterns whose matches can begin there (three lists)."""
        if not len(self.keys) or not texts:
            return [], [], []
        cp = np.frombuffer("".join(texts).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        # Only where a beginning's first character stands (few places) is looked up.
        at = np.flatnonzero(self.leads[np.minimum(cp, len(self.leads) - 1)])
        lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
        ends = np.cumsum(lengths)
        row = np.searchsorted(ends, at, side="right")  # the text of each place
        first = cp[at].astype(np.int64) + 1
        pair = at + 1 < ends[row]  # the next character is of the same text
        second = cp[np.minimum(at + 1, len(cp) - 1)].astype(np.int64) + 1
        keys = np.concatenate([first, (first * _K + second)[pair]])
        rows = np.concatenate([row, row[pair]])
        at = np.concatenate([at, at[pair]]) - (ends - lengths)[rows]
        pos = self.table.find(keys)
        hit = pos >= 0
        masks = self.bits[pos[hit]]
        out = masks[:, 0].tolist()
        for w in range(1, self.words):
            out = [m | (int(x) << (64 * w)) for m, x in zip(out, masks[:, w].tolist())]
        return rows[hit].tolist(), at[hit].tolist(), out

    def found(self, texts: Sequence[str]) -> list[int]:
        """Per text, the bit mask of the patterns found in it: each pattern tried only where
        one of its beginnings stands (``match`` there, which tries the place as ``search``
        does), or searched in every text when its beginnings are not known."""
        texts = list(texts)
        found = [0] * len(texts)
        matches = self.matches
        for row, at, mask in zip(*self.places(texts)):
            mask &= ~found[row]
            while mask:
                low = mask & -mask
                if matches[low.bit_length() - 1](texts[row], at):
                    found[row] |= low
                mask ^= low
        if self.always:
            everywhere = [(1 << k, self.searches[k]) for k in range(len(self.searches)) if self.always >> k & 1]
            for i, text in enumerate(texts):
                for bit, search in everywhere:
                    if search(text):
                        found[i] |= bit
        return found

    def terms(self, found: int) -> list[str]:
        """The terms of the patterns of a bit mask (one list per mask: not to be changed)."""
        terms = self._terms.get(found)
        if terms is None:
            terms = self._make_terms([k for k in range(len(self.searches)) if found >> k & 1])
            if len(self._terms) < 4096:  # the combinations met (few): kept, up to a bound
                self._terms[found] = terms
        return terms


def _sre_modules():
    """The ``re`` module's parser and its constants."""
    try:
        from re import _constants as sre
        from re import _parser as parser
    except ImportError:  # Python 3.10
        import sre_constants as sre
        import sre_parse as parser
    return sre, parser


def _pair_key(s: str) -> int:
    """The integer key of one or two characters, as :func:`_char_keys` numbers n-grams."""
    key = 0
    for ch in s:
        key = key * _K + ord(ch) + 1
    return key


def patterns_found(patterns: tuple[re.Pattern, ...], texts: Sequence[str]) -> list[int]:
    """Per text, the bit mask of the patterns found in it (bit ``k``: ``patterns[k]``
    searches successfully), each pattern searched only where it can match (see
    :class:`_PatternIndex`)."""
    return _pattern_index(patterns).found(texts)


@lru_cache(maxsize=8)
def _pattern_index(patterns: tuple[re.Pattern, ...]) -> _PatternIndex:
    return _PatternIndex(patterns, lambda found: [])


@lru_cache(maxsize=4)
def _concept_index(path: Path = config.CONCEPTS) -> _PatternIndex:
    concepts = load_concepts(path)

    def terms(found: list[int]) -> list[str]:
        hits = [concepts[k] for k in found]
        return [f"C:{c.name}" for c in hits] + [f"K:{cat}" for cat in sorted({c.category for c in hits})]

    return _PatternIndex([c.pattern for c in concepts], terms)


@lru_cache(maxsize=1)
def _cue_index() -> _PatternIndex:
    cues = [(category, cue) for category in CATEGORIES for cue in CUES[category]]

    def terms(found: list[int]) -> list[str]:
        out: list[str] = []
        for category in CATEGORIES:
            hits = [cues[k][1] for k in found if cues[k][0] == category]
            if hits:
                out += hits + [f"CUE:{category}"]
        return out

    return _PatternIndex([re.compile(re.escape(cue)) for _, cue in cues], terms)


def split_sentences(text: str) -> list[str]:
    """Sentences of a passage (closing punctuation kept)."""
    return [s for s in _SENTENCE_END.split(text) if s.strip()] or [text]


#: Code points shift by one (0 marks "no character"), so n-grams of every length get distinct
#: integer keys: uni < K <= bi < K**2 <= tri < K**3 < 2**63.
_K = 0x110001


def _char_keys(sentences: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Character 1-3-gram keys of many sentences at once, and the sentence of each key (in
    order: the sentences' keys follow one another, each position's 1-, 2- and 3-gram).

    Sentences are lowercased and their runs of white space folded to one space; the n-grams
    of all of them come from one array, so the cost is a few numpy passes, not a Python loop
    per character. No n-gram spans two sentences.
    """
    if not sentences:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    folded = [_SPACES.sub(" ", s.lower()) for s in sentences]
    lengths = np.fromiter(map(len, folded), dtype=np.int64, count=len(folded))
    cp = np.frombuffer("".join(folded).encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.int64) + 1
    row = np.repeat(np.arange(len(folded)), lengths)  # sentence index of each position
    grams = np.zeros((len(cp), 3), dtype=np.int64)
    inside = np.zeros((len(cp), 3), dtype=bool)  # the n-gram ends in the same sentence
    grams[:, 0], inside[:, 0] = cp, True
    grams[:-1, 1], inside[:-1, 1] = cp[:-1] * _K + cp[1:], row[:-1] == row[1:]
    grams[:-2, 2], inside[:-2, 2] = grams[:-2, 1] * _K + cp[2:], row[:-2] == row[2:]
    return grams[inside], np.broadcast_to(row[:, None], grams.shape)[inside]


def _summable(rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int]) -> sp.csr_matrix:
    """Ones at (rows, cols), ``rows`` in order, as a CSR matrix with a row's columns repeated
    and in any order: not canonical, but what a product with another matrix needs, built with
    no sorting."""
    indptr = np.zeros(shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=shape[0]), out=indptr[1:])
    index = np.int32 if max(shape[1], len(cols)) < 2**31 else np.int64
    return sp.csr_matrix((np.ones(len(cols), dtype=np.float32), cols.astype(index), indptr.astype(index)), shape=shape)


class _KeyTable:
    """Positions of non-negative integer keys in an array of distinct keys, by hashing (open
    addressing, linear probing, at most a quarter full): what ``np.searchsorted`` and a check
    give, in fewer passes over a million keys."""

    _MIX = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing: the product's high bits

    def __init__(self, keys: np.ndarray) -> None:
        self.keys = keys
        self.bits = max(4, int(len(keys)).bit_length() + 2)
        self.mask = (1 << self.bits) - 1
        self.slots = np.full(1 << self.bits, -1, dtype=np.int64)  # position in keys, -1 empty
        # The keys with -1 at the end: an empty slot (-1) finds it, which no key equals.
        self.probe = np.append(np.asarray(keys, dtype=np.int64), -1)
        waiting = np.arange(len(keys))
        slot = self._hash(self.probe[:-1])
        while waiting.size:
            at = slot[waiting]
            free = self.slots[at] == -1
            # Of the keys reaching one free slot, the first takes it; the rest try the next.
            taken, first = np.unique(at[free], return_index=True)
            self.slots[taken] = waiting[free][first]
            placed = np.zeros(len(keys), dtype=bool)
            placed[waiting[free][first]] = True
            waiting = waiting[~placed[waiting]]
            slot[waiting] = (slot[waiting] + 1) & self.mask

    def _hash(self, keys: np.ndarray) -> np.ndarray:
        return ((keys.astype(np.uint64) * self._MIX) >> np.uint64(64 - self.bits)).astype(np.intp)

    def find(self, keys: np.ndarray) -> np.ndarray:
        """The position of each key among the keys, -1 for a key not among them."""
        slot = self._hash(keys)
        pos = self.slots[slot]
        out = np.where(self.probe[pos] == keys, pos, -1)
        # Keys whose slot holds another key probe on, until their own or an empty slot.
        todo = np.flatnonzero((out < 0) & (pos >= 0))
        slot = slot[todo]
        while todo.size:
            slot = (slot + 1) & self.mask
            pos = self.slots[slot]
            found = self.probe[pos] == keys[todo]
            out[todo[found]] = pos[found]
            go_on = ~found & (pos >= 0)
            todo, slot = todo[go_on], slot[go_on]
        return out


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

    def fit(self, texts: Sequence[str], memo: TextMemo | None = None) -> _CharGrams:
        keys, rows = _char_keys(texts)
        # Sorted by key; a stable sort keeps each key's passages in order (rows come sorted).
        order = np.argsort(keys, kind="stable")
        keys, rows = keys[order], rows[order]
        first = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])  # each key's first place
        uniq = keys[first]
        tf = np.diff(np.r_[first, len(keys)])  # occurrences of each key
        # Passages of each key: its places where the passage changes (or the key begins).
        changes = np.r_[True, (rows[1:] != rows[:-1]) | (keys[1:] != keys[:-1])]
        df = np.add.reduceat(changes.astype(np.int64), first) if len(keys) else tf
        common = df >= self.min_df
        uniq, tf, df = uniq[common], tf[common], df[common]
        # Most frequent first, ties by key: the same vocabulary on every run.
        order = np.sort(np.lexsort((uniq, -tf))[: self.max_features])
        self.keys_, self.df_ = uniq[order], df[order]
        return self

    def counts(self, texts: Sequence[str], canonical: bool = True, memo: TextMemo | None = None) -> sp.csr_matrix:
        """Counts of the n-grams of each text (rows); ``canonical=False``: left as
        :func:`_summable` builds them, for a product."""
        keys, rows = _char_keys(texts)
        table = getattr(self, "_table", None)
        if table is None or table.keys is not self.keys_:
            table = self._table = _KeyTable(self.keys_)
        pos = table.find(keys)
        hit = pos >= 0
        if not canonical:
            return _summable(rows[hit], pos[hit], (len(texts), len(self.keys_)))
        return sp.csr_matrix(
            (np.ones(int(hit.sum()), dtype=np.float32), (rows[hit], pos[hit])),
            shape=(len(texts), len(self.keys_)),
        )

    def names(self) -> list[str]:
        return [_key_text(k) for k in self.keys_]


def _word_terms(text: str) -> list[str]:
    """Word unigrams and bigrams (bigrams joined by a space)."""
    return _word_terms_of(segment(text, hmm=False))


def _word_terms_of(segmented: list[str]) -> list[str]:
    """:func:`_word_terms` of a text from its words as :func:`segment` gives them (HMM off):
    the content words (:func:`tokenize`'s) and their bigrams."""
    keep = content_words()
    words = [w for w in segmented if keep[w]]
    return words + [f"{a} {b}" for a, b in zip(words, words[1:])]


def _word_terms_many(texts: Sequence[str]) -> list[list[str]]:
    return [_word_terms(t) for t in texts]


@lru_cache(maxsize=4)
def load_thesaurus(path: Path = config.CILIN) -> dict[str, str]:
    """Word -> its Cilin codes (space-separated), as ``corpus/dictionaries/cilin.tsv`` lists them."""
    with open(path, encoding="utf-8", newline="") as fh:
        next(fh)  # header
        return dict(line.rstrip("\n").split("\t", 1) for line in fh)


@lru_cache(maxsize=1 << 16)
def _word_thesaurus_terms(word: str) -> tuple[str, ...]:
    """A word's thesaurus terms: ``S:`` + the synonym group of each sense whose group holds
    synonyms (code ending ``=``) and ``G:`` + each sense's word group (the code's first five
    characters); groups of related words (``#``) and words alone (``@``) give the word group
    only. Worked out on first use: most of the 77,000 words never occur."""
    terms: list[str] = []
    for code in load_thesaurus().get(word, "").split():
        if code.endswith("="):
            terms.append(f"S:{code}")
        terms.append(f"G:{code[:5]}")
    return tuple(dict.fromkeys(terms))


def thesaurus_terms_of(segmented: list[str]) -> list[str]:
    """The thesaurus terms of a text from its words as :func:`segment` gives them (HMM off):
    of each content word found in the thesaurus."""
    keep = content_words()
    return [t for w in segmented if keep[w] for t in _word_thesaurus_terms(w)]


def _thesaurus_terms_many(texts: Sequence[str]) -> list[list[str]]:
    return [thesaurus_terms_of(segment(t, hmm=False)) for t in texts]


#: Per block, the terms of many texts at once.
_ANALYZERS: dict[str, Callable[[Sequence[str]], list[list[str]]]] = {
    "words": _word_terms_many,
    "cues": cue_terms_many,
    "concepts": concept_terms_many,
    "thesaurus": _thesaurus_terms_many,
}


@dataclass
class _Terms:
    """Terms from an analyzer: words seen in at least ``min_df`` passages; cue and concept
    tags all kept."""

    block: str
    min_df: int = 1

    def fit(self, texts: Sequence[str], memo: TextMemo | None = None) -> _Terms:
        terms = memo.terms(self.block, texts) if memo else _ANALYZERS[self.block](texts)
        df = Counter(chain.from_iterable(map(set, terms)))
        self.vocabulary_ = {t: i for i, t in enumerate(sorted(t for t, n in df.items() if n >= self.min_df))}
        self.df_ = np.array([df[t] for t in self.vocabulary_], dtype=np.int64)
        return self

    def counts(self, texts: Sequence[str], canonical: bool = True, memo: TextMemo | None = None) -> sp.csr_matrix:
        """Counts of the terms of each text (rows); ``canonical=False`` may leave them as
        :func:`_summable` builds them, for a product."""
        vocab = self.vocabulary_
        if self.block == "words":
            index = getattr(self, "_index", None)
            if index is None or index.vocabulary is not vocab:
                index = self._index = _WordIndex(vocab)
            if index.exact:
                return index.counts(texts, canonical, memo)
        elif self.block == "thesaurus":
            thesaurus = getattr(self, "_thesaurus", None)
            if thesaurus is None or thesaurus.vocabulary is not vocab:
                thesaurus = self._thesaurus = _ThesaurusIndex(vocab)
            return thesaurus.counts(texts, canonical, memo)
        terms = memo.terms(self.block, texts) if memo else _ANALYZERS[self.block](texts)
        lengths = np.fromiter(map(len, terms), dtype=np.int64, count=len(terms))
        cols = np.fromiter(
            map(vocab.get, chain.from_iterable(terms), repeat(-1)), dtype=np.int64, count=int(lengths.sum())
        )
        rows = np.repeat(np.arange(len(texts)), lengths)
        hit = cols >= 0
        return sp.csr_matrix(
            (np.ones(int(hit.sum()), dtype=np.float32), (rows[hit], cols[hit])), shape=(len(texts), len(vocab))
        )

    def names(self) -> list[str]:
        return sorted(self.vocabulary_, key=self.vocabulary_.__getitem__)


class _WordIndex:
    """The word block's counts from token numbers instead of term strings: each token of the
    vocabulary gets a number, and a bigram is looked up as a pair of numbers, so no bigram
    string is built and most tokens cost one dictionary look-up. Gives :class:`_Terms`'
    counts exactly when no term holds a space other than a bigram's one (``exact``), which
    :func:`_word_terms` guarantees for every vocabulary it fits."""

    def __init__(self, vocabulary: dict[str, int]) -> None:
        self.vocabulary = vocabulary
        keep = content_words()
        numbers: dict[str, int] = {}
        unigrams: dict[int, int] = {}
        bigrams: dict[tuple[int, int], int] = {}
        self.exact = True
        for term, col in vocabulary.items():
            parts = term.split(" ")
            if len(parts) > 2 or not all(parts):
                self.exact = False
                return
            ids = [numbers.setdefault(t, len(numbers)) for t in parts]
            if len(ids) == 1:
                unigrams[ids[0]] = col
            else:
                bigrams[(ids[0], ids[1])] = col
        n = self.tokens = len(numbers)
        self.unknown, self.dropped = n, n + 1  # a content word out of the vocabulary; a dropped token
        self.unigram_col = np.full(n + 2, -1, dtype=np.int64)
        self.unigram_col[list(unigrams)] = list(unigrams.values())
        self.bigrams = _KeyTable(np.array([a * n + b for a, b in bigrams], dtype=np.int64))
        self.bigram_cols = np.array(list(bigrams.values()), dtype=np.int64)
        # A token of the vocabulary that tokenize() would drop is dropped here too.
        self.numbers = _TokenNumbers({t: i if keep[t] else self.dropped for t, i in numbers.items()}, self, keep)

    def counts(self, texts: Sequence[str], canonical: bool = True, memo: TextMemo | None = None) -> sp.csr_matrix:
        words = memo.words(texts) if memo else [segment(t, hmm=False) for t in texts]
        lengths = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
        ids = np.fromiter(
            map(self.numbers.__getitem__, chain.from_iterable(words)), dtype=np.int64, count=int(lengths.sum())
        )
        rows = np.repeat(np.arange(len(texts)), lengths)
        kept = ids != self.dropped
        ids, rows = ids[kept], rows[kept]
        # Per content word, its unigram's column and the column of the bigram it begins
        # (with the next content word of the same text, both in the vocabulary), -1 for none.
        cols = np.full((len(ids), 2), -1, dtype=np.int64)
        cols[:, 0] = self.unigram_col[ids]
        pair = np.flatnonzero((rows[:-1] == rows[1:]) & (ids[:-1] < self.unknown) & (ids[1:] < self.unknown))
        pos = self.bigrams.find(ids[pair] * self.tokens + ids[pair + 1])
        found = pos >= 0
        cols[pair[found], 1] = self.bigram_cols[pos[found]]
        hit = cols >= 0
        rows, cols = np.broadcast_to(rows[:, None], cols.shape)[hit], cols[hit]
        shape = (len(texts), len(self.vocabulary))
        if not canonical:
            return _summable(rows, cols, shape)
        return sp.csr_matrix((np.ones(len(cols), dtype=np.float32), (rows, cols)), shape=shape)


class _ThesaurusIndex:
    """The thesaurus block's counts from word numbers instead of term strings: each distinct
    word gets a number on first sight (:class:`_WordColumns`) and the vocabulary columns of its
    thesaurus terms are kept in flat arrays, so a batch's counts are a few array operations:
    the same counts as :func:`thesaurus_terms_of` and the vocabulary give."""

    def __init__(self, vocabulary: dict[str, int]) -> None:
        self.vocabulary = vocabulary
        self.numbers = _WordColumns(self)
        self.columns: list[tuple[int, ...]] = [()]  # per word number; 0: a word with none
        self._built = 0

    def columns_of(self, word: str) -> tuple[int, ...]:
        vocab = self.vocabulary
        return tuple(vocab[t] for t in _word_thesaurus_terms(word) if t in vocab)

    def _arrays(self) -> tuple[np.ndarray, np.ndarray]:
        if self._built != len(self.columns):
            lengths = np.fromiter(map(len, self.columns), dtype=np.int64, count=len(self.columns))
            self._ptr = np.concatenate([[0], np.cumsum(lengths)])
            self._flat = np.fromiter(chain.from_iterable(self.columns), dtype=np.int64, count=int(lengths.sum()))
            self._built = len(self.columns)
        return self._ptr, self._flat

    def counts(self, texts: Sequence[str], canonical: bool = True, memo: TextMemo | None = None) -> sp.csr_matrix:
        words = memo.words(texts) if memo else [segment(t, hmm=False) for t in texts]
        lengths = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
        ids = np.fromiter(
            map(self.numbers.__getitem__, chain.from_iterable(words)), dtype=np.int64, count=int(lengths.sum())
        )
        ptr, flat = self._arrays()
        per_word = ptr[ids + 1] - ptr[ids]
        rows = np.repeat(np.repeat(np.arange(len(texts)), lengths), per_word)
        # Output position j of a word whose columns start at flat[ptr[id]] and whose first
        # output position is P reads flat[ptr[id] - P + j].
        firsts = np.cumsum(per_word) - per_word
        cols = flat[np.repeat(ptr[ids] - firsts, per_word) + np.arange(int(per_word.sum()))]
        shape = (len(texts), len(self.vocabulary))
        if not canonical:
            return _summable(rows, cols, shape)
        return sp.csr_matrix((np.ones(len(cols), dtype=np.float32), (rows, cols)), shape=shape)


class _WordColumns(dict):
    """Word -> its number in a :class:`_ThesaurusIndex` (0 for a stopword or a word with no
    thesaurus term in the vocabulary), worked out on first sight and remembered; past a bound
    the index starts afresh, so a long-running process does not grow without limit."""

    LIMIT = 200_000

    def __init__(self, index: _ThesaurusIndex) -> None:
        super().__init__()
        self.index, self.keep = index, content_words()

    def __missing__(self, word: str) -> int:
        index = self.index
        if len(self) >= self.LIMIT:
            self.clear()
            del index.columns[1:]
        cols = index.columns_of(word) if self.keep[word] else ()
        number = 0
        if cols:
            number = len(index.columns)
            index.columns.append(cols)
        self[word] = number
        return number


class _TokenNumbers(dict):
    """Token -> its number in a :class:`_WordIndex`; a token out of the vocabulary is
    numbered ``unknown`` or ``dropped`` (remembered, up to a bound)."""

    LIMIT = 200_000

    def __init__(self, numbers: dict[str, int], index: _WordIndex, keep: Mapping[str, bool]) -> None:
        super().__init__(numbers)
        self.known = len(numbers)
        self.unknown, self.dropped, self.keep = index.unknown, index.dropped, keep

    def __missing__(self, token: str) -> int:
        number = self.unknown if self.keep[token] else self.dropped
        if len(self) < self.known + self.LIMIT:
            self[token] = number
        return number


class TextMemo:
    """What fitting reads of each text, worked out once per distinct text: the prepared
    passage (:func:`pipeline.classify.reading.prepare`) and, of a prepared passage or a
    sentence, its segmented words and its cue, concept and thesaurus terms.

    One fit of a classifier reads the same passages again and again (the cross-validation
    folds' fits, their scoring, then the final fit), while the vocabularies, idf weights and
    coefficients change from fold to fold; none of these readings does. A memo belongs to
    one fit (or one prediction call) and goes with it (it is never kept in a fitted model or
    shared between fits):
    pass it to :meth:`TextFeatures.fit`, :meth:`TextFeatures.transform` and
    :meth:`TextFeatures.windows`, which give the same features with or without it.
    """

    def __init__(self) -> None:
        self._prepared: dict[str, str] = {}
        self._words: dict[str, list[str]] = {}
        self._terms: dict[str, dict[str, list[str]]] = {}

    def prepare(self, texts: Sequence[str]) -> list[str]:
        return self._many(self._prepared, texts, lambda todo: [prepare(t) for t in todo])

    def words(self, texts: Sequence[str]) -> list[list[str]]:
        """Each text's words as :func:`segment` gives them (HMM off); shared lists, not to be changed."""
        return self._many(self._words, texts, lambda todo: [segment(t, hmm=False) for t in todo])

    def terms(self, block: str, texts: Sequence[str]) -> list[list[str]]:
        """A term block's analyzer on each text; shared lists, not to be changed."""
        if block == "words":
            return self._many(self._terms.setdefault(block, {}), texts, self._word_terms)
        if block == "thesaurus":
            return self._many(self._terms.setdefault(block, {}), texts, self._thesaurus_terms)
        return self._many(self._terms.setdefault(block, {}), texts, _ANALYZERS[block])

    def _word_terms(self, texts: list[str]) -> list[list[str]]:
        return [_word_terms_of(w) for w in self.words(texts)]

    def _thesaurus_terms(self, texts: list[str]) -> list[list[str]]:
        return [thesaurus_terms_of(w) for w in self.words(texts)]

    @staticmethod
    def _many(known: dict, texts: Sequence[str], work: Callable[[list[str]], list]) -> list:
        todo = [t for t in dict.fromkeys(texts) if t not in known]
        if todo:
            known.update(zip(todo, work(todo)))
        return [known[t] for t in texts]


def _counter(block: str) -> _CharGrams | _Terms:
    return _CharGrams() if block == "chars" else _Terms(block, min_df=2 if block in ("words", "thesaurus") else 1)


def _idf_of(df: np.ndarray, n: int) -> np.ndarray:
    """Smoothed inverse document frequency: ln((1 + n) / (1 + df)) + 1, from the number of
    passages (of ``n``) each term occurs in."""
    return np.log((1 + n) / (1 + df)) + 1.0


def _tfidf(counts: sp.csr_matrix, idf: np.ndarray) -> sp.csr_matrix:
    """Sublinear term frequency (1 + ln tf) times idf, rows scaled to unit length."""
    x = counts.tocsr()
    if not x.has_canonical_format:
        x = x.copy()
        x.sum_duplicates()
    data = (1.0 + np.log(x.data)) * idf[x.indices]
    lengths = np.diff(x.indptr)
    filled = np.flatnonzero(lengths)
    squares = np.zeros(x.shape[0])
    if filled.size:  # each row's sum of squares, in index order
        squares[filled] = np.add.reduceat(data * data, x.indptr[filled])
    norms = np.sqrt(squares)
    norms[norms == 0] = 1.0
    scaled = (np.repeat(1.0 / norms, lengths) * data).astype(np.float32)
    # Each row's entries from last to first: the order a product with the diagonal matrix of
    # 1 / norms leaves them in, which the sums of the scores follow (kept for equal scores).
    back = np.repeat(x.indptr[:-1] + x.indptr[1:] - 1, lengths) - np.arange(len(data), dtype=x.indptr.dtype)
    return sp.csr_matrix((scaled[back], x.indices[back], x.indptr), shape=x.shape)


@dataclass
class TextFeatures:
    """The feature blocks: fit on training passages, then transform windows."""

    blocks: tuple[str, ...] = BLOCKS
    _names: np.ndarray | None = field(default=None, init=False, repr=False, compare=False)
    _shown: tuple[np.ndarray, list[str]] | None = field(default=None, init=False, repr=False, compare=False)

    def fit(self, texts: Sequence[str], memo: TextMemo | None = None) -> TextFeatures:
        """Fit the vocabularies and idf weights on passages (``memo``: see :class:`TextMemo`;
        without one, a memo of this call, so that the word and thesaurus blocks segment each
        text once)."""
        memo = TextMemo() if memo is None else memo
        prepared = memo.prepare(texts)
        self._names = self._shown = None
        self.counters_ = {b: _counter(b).fit(prepared, memo) for b in self.blocks}
        # Idf from the passages each kept term occurs in, which fitting counted already.
        self.idf_: dict[str, np.ndarray] = {
            b: _idf_of(self.counters_[b].df_, len(prepared)) for b in self.blocks if b in _IDF_BLOCKS
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

    @property
    def shown(self) -> tuple[np.ndarray, list[str]]:
        """Per column, what an explanation shows of it: its kind (:data:`SHOWN_TERM`, a word or
        character n-gram as written, a bigram without its space; :data:`SHOWN_CONCEPT`, a
        concept, whose pattern finds the passage's own wording; 0, nothing: category tags and
        thesaurus classes are no wording of the passage) and its term; computed once."""
        if self._shown is None:
            kinds = np.zeros(len(self.names), dtype=np.int8)
            terms: list[str] = []
            for i, name in enumerate(self.names):
                block, _, term = name.partition(":")
                if block == "concepts" and term.startswith("C:"):
                    kinds[i] = SHOWN_CONCEPT
                    terms.append(term[2:])
                elif block in ("cues", "concepts", "thesaurus"):
                    terms.append("")
                else:
                    kinds[i] = SHOWN_TERM
                    terms.append(term.replace(" ", ""))
            self._shown = (kinds, terms)
        return self._shown

    def _weigh(self, block: str, counts: sp.csr_matrix) -> sp.csr_matrix:
        if block in self.idf_:
            return _tfidf(counts, self.idf_[block])
        return sp.csr_matrix((counts > 0).astype(np.float32))  # cues and concepts: present or not

    def transform(self, texts: Sequence[str], memo: TextMemo | None = None) -> sp.csr_matrix:
        """Features of whole passages (``memo``: see :class:`TextMemo`; without one, a memo of
        this call, so that the word and thesaurus blocks segment each text once)."""
        memo = TextMemo() if memo is None else memo
        prepared = memo.prepare(texts)
        return sp.hstack(
            [self._weigh(b, self.counters_[b].counts(prepared, memo=memo)) for b in self.blocks], format="csr"
        ).astype(np.float32)

    def windows(
        self, texts: Sequence[str], pairs: bool = True, memo: TextMemo | None = None, min_sentences: int = 2
    ) -> tuple[sp.csr_matrix, np.ndarray]:
        """Features of every passage and of its sentence windows (each sentence, and each
        pair of adjacent sentences when ``pairs``; ``memo``: see :class:`TextMemo`).
        Passages of fewer than ``min_sentences`` sentences get the whole-passage row only.

        Returns:
            The feature rows and, per row, the index of the passage it belongs to.
        """
        memo = TextMemo() if memo is None else memo  # one call's: each sentence segmented once
        index: dict[str, int] = {}
        members: list[int] = []  # the sentences of every window, window after window
        sizes: list[int] = []  # sentences per window
        windows: list[int] = []  # windows per passage
        for text in memo.prepare(texts):
            idx = [index.setdefault(part, len(index)) for part in split_sentences(text)]
            n = len(idx)
            members += idx
            sizes.append(n)
            windowed = n > 1 and n >= min_sentences
            if windowed:
                members += idx
                sizes += [1] * n
                if pairs and n > 2:
                    members += chain.from_iterable(zip(idx, idx[1:]))
                    sizes += [2] * (n - 1)
            windows.append(1 + n + (n - 1 if pairs and n > 2 else 0) if windowed else 1)
        sentences = list(index)
        if not sentences:
            return sp.csr_matrix((0, len(self.names)), dtype=np.float32), np.zeros(0, dtype=int)
        indptr = np.zeros(len(sizes) + 1, dtype=np.int64)
        np.cumsum(sizes, out=indptr[1:])
        agg = sp.csr_matrix(
            (np.ones(len(members), dtype=np.float32), np.array(members), indptr), shape=(len(sizes), len(sentences))
        )
        agg.sum_duplicates()  # as a window holding one sentence twice counts it: canonical
        owner = np.repeat(np.arange(len(texts)), windows)
        # Counts to be weighed by idf are sorted there: the products need not have them sorted.
        blocks = [
            self._weigh(b, agg @ self.counters_[b].counts(sentences, canonical=b not in self.idf_, memo=memo))
            for b in self.blocks
        ]
        return sp.hstack(blocks, format="csr").astype(np.float32, copy=False), owner

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
        self._names = self._shown = None
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
