"""Folder paths and fixed settings: the only module that knows where things live.

Every path can be overridden by an environment variable so that an installed copy or a
test run can point the tool elsewhere without touching code.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

#: Project root (the checkout: ``pip install -e .`` keeps the package inside it).
ROOT = Path(os.environ.get("BULLETINS_ROOT", Path(__file__).resolve().parent.parent))

CORPUS_DIR = ROOT / "corpus"
#: Sample bulletins shipped with the project.
BULLETINS_DIR = CORPUS_DIR / "bulletins"
#: The seed bulletin (plain-text rendition) and its PDF rendition.
SEED_TEXT = BULLETINS_DIR / "sichuan-2021-08.txt"
SEED_PDF = BULLETINS_DIR / "sichuan-2021-08.pdf"
#: Team-labeled passages (JSONL, one file per register).
LABELED_DIR = CORPUS_DIR / "labeled"
#: The seed's own passages, labeled; held out of training to measure generalisation.
HELDOUT_DIR = CORPUS_DIR / "heldout"
#: Development sets: never trained on, but design choices (windows, gate) are made on them,
#: so they are reported apart from the held-out sets.
DEV_DIR = CORPUS_DIR / "dev"
#: The second, independent labeling of corpus passages and the relabel log.
AGREEMENT_DIR = CORPUS_DIR / "agreement"
DICT_DIR = CORPUS_DIR / "dictionaries"
USER_DICT = DICT_DIR / "userdict.txt"
STOPWORDS = DICT_DIR / "stopwords.txt"
REGIONS = DICT_DIR / "regions.tsv"
#: Short forms of region names that no suffix rule derives (伊犁州, 第八师).
REGION_ALIASES = DICT_DIR / "region_aliases.tsv"
#: Concept lexicons per category (many ways to say one problem) and the guide's tie-break rules.
CONCEPTS = DICT_DIR / "concepts.tsv"
TIEBREAKS = DICT_DIR / "tiebreaks.tsv"
#: HIT Tongyici Cilin (Extended): each word's thesaurus codes (``tools/build_cilin.py``).
CILIN = DICT_DIR / "cilin.tsv"

#: Trained models, one folder per version; ``default`` is whatever DEFAULT_POINTER names.
MODELS_DIR = Path(os.environ.get("BULLETINS_MODELS", ROOT / "models"))
DEFAULT_MODEL = "default"
#: A text file in MODELS_DIR naming the promoted version (absent: the ``default`` folder).
DEFAULT_POINTER = "DEFAULT"

#: The results store, in the working folder unless told otherwise.
DB_PATH = Path(os.environ.get("BULLETINS_DB", "bulletins.db"))

#: jieba's prefix-dictionary cache: kept out of the shared temp folder's default name so
#: that two versions of the user dictionary never share a cache file.
CACHE_DIR = Path(os.environ.get("BULLETINS_CACHE", Path(tempfile.gettempdir()) / "bulletins-cache"))

#: Random seed for everything that shuffles (cross-validation, review sampling).
SEED = 20210612
