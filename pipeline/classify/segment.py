"""Stage 4, segment: Chinese word segmentation (the only module importing a segmenter).

Words come from ``rjieba``, jieba's algorithm and dictionary in Rust: on every corpus,
held-out and outside passage it gives jieba 0.42.1's tokens exactly (with the campaign user
dictionary, HMM off; ``tests/test_segment.py`` checks the whole corpus against jieba) and is
about 15 times faster. A private :class:`rjieba.Jieba` carries the campaign user dictionary,
so no process-wide dictionary is changed, and nothing is cached on disk.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

from pipeline import config

_LOCK = threading.Lock()
# Tokens that carry no signal: punctuation, white space, lone Latin letters.
_JUNK = re.compile(r"^[\W_]+$|^[A-Za-z]$")


def segmenter_version() -> str:
    """The segmenter and its version (recorded with every model)."""
    from importlib.metadata import version

    return f"rjieba {version('rjieba')}"


def dictionary_hash(user_dict: Path = config.USER_DICT, stopwords: Path = config.STOPWORDS) -> str:
    """SHA-256 of the user dictionary and stopword list: a model's tokens depend on both."""
    h = hashlib.sha256()
    for path in (user_dict, stopwords):
        h.update(Path(path).read_bytes())
    return h.hexdigest()


@lru_cache(maxsize=4)
def _tokenizer(user_dict: Path = config.USER_DICT):
    """A private segmenter with the user dictionary loaded (built once per process).

    Each line of the dictionary is ``word [freq] [tag]``, as jieba's ``load_userdict`` reads
    it; a word without a frequency gets the one that keeps it whole.
    """
    import rjieba

    tok = rjieba.Jieba()
    with _LOCK:
        for line in Path(user_dict).read_text(encoding="utf-8").splitlines():
            parts = line.split()
            if not parts:
                continue
            freq = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
            tag = parts[-1] if len(parts) > 1 and not parts[-1].isdigit() else None
            tok.add_word(parts[0], freq, tag)
    return tok


@lru_cache(maxsize=4)
def load_stopwords(path: Path = config.STOPWORDS) -> frozenset[str]:
    """The stopword list, one word a line."""
    return frozenset(w.strip() for w in Path(path).read_text(encoding="utf-8").splitlines() if w.strip())


def segment(text: str, hmm: bool = True) -> list[str]:
    """Segment Chinese text into words, campaign vocabulary kept whole.

    Args:
        text: a passage.
        hmm: let jieba's HMM join unknown words (names) instead of leaving single characters.

    Returns:
        jieba's words, punctuation included.
    """
    return _tokenizer().cut(text, hmm)


class _Keep(dict):
    """Whether a token is a content word (not white space, a stopword, punctuation or a lone
    Latin letter), worked out once per distinct token; at most :attr:`LIMIT` kept."""

    LIMIT = 200_000

    def __init__(self, stop: frozenset[str]) -> None:
        super().__init__()
        self.stop = stop

    def __missing__(self, word: str) -> bool:
        keep = bool(word.strip()) and word not in self.stop and not _JUNK.match(word)
        if len(self) >= self.LIMIT:
            self.clear()
        self[word] = keep
        return keep


@lru_cache(maxsize=4)
def content_words(stopwords: Path = config.STOPWORDS) -> Mapping[str, bool]:
    """Whether :func:`tokenize` keeps a token, as a mapping (each token worked out once)."""
    return _Keep(load_stopwords(stopwords))


def tokenize(text: str) -> list[str]:
    """Words for the classifier: :func:`segment` without stopwords and punctuation.

    Args:
        text: a passage.

    Returns:
        Content words in order.
    """
    keep = content_words()
    # No HMM: it costs 12% of prediction time and 0.001 macro F1 (5-fold CV, two seeds);
    # the character n-grams already see unknown words whole.
    return [w for w in segment(text, hmm=False) if keep[w]]
