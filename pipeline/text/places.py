"""Place names: map a reporting unit to its region (prefecture-level city or 省级/部级).

The gazetteer ``corpus/dictionaries/regions.tsv`` lists China's provinces, prefecture-level
divisions and counties (national administrative division codes).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pipeline import config

PROVINCIAL = "省级"
MINISTRY = "部级"

# Suffixes a place name may be written without ("内江" for 内江市, "甘孜州" for 甘孜藏族自治州).
_SUFFIXES = (
    "维吾尔自治区",
    "壮族自治区",
    "回族自治区",
    "自治区",
    "特别行政区",
    "自治州",
    "自治县",
    "地区",
    "省",
    "市",
    "州",
    "盟",
    "县",
    "区",
    "旗",
)


_ETHNIC = re.compile(
    r"(?:(?:藏|羌|彝|苗|侗|布依|土家|傣|景颇|傈僳|白|哈尼|壮|回|蒙古|哈萨克|柯尔克孜|朝鲜|黎|瑶|维吾尔)族)+$"
)


@dataclass(frozen=True)
class Place:
    name: str
    level: str  # province | prefecture | county
    prefecture: str
    province: str


def _short(name: str) -> str:
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            stem = name[: -len(suffix)]
            # 甘孜藏族自治州 -> 甘孜: drop an ethnic qualifier too.
            stem = _ETHNIC.sub("", stem) or stem
            return stem
    return name


@dataclass(frozen=True)
class Gazetteer:
    """Name lookup over the regions table."""

    names: dict[str, tuple[Place, ...]]
    pattern: re.Pattern

    def find(self, text: str, province: str = "") -> Place | None:
        """The first place named in ``text``; prefecture over county, the bulletin's
        province first when a short name is ambiguous.

        Args:
            text: a unit name or sentence.
            province: the bulletin's province, to break ties.

        Returns:
            The place, or ``None``.
        """
        for m in self.pattern.finditer(text):
            options = sorted(
                self.names[m.group(0)],
                key=lambda p: (p.province != province, p.level != "prefecture", p.level != "province"),
            )
            return options[0]
        return None


@lru_cache(maxsize=4)
def load_gazetteer(path: Path = config.REGIONS) -> Gazetteer:
    """Read the regions table (cached).

    Args:
        path: the TSV (adcode, name, level, prefecture, province).

    Returns:
        A :class:`Gazetteer`.
    """
    names: dict[str, list[Place]] = {}
    with open(path, encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            place = Place(row["name"], row["level"], row["prefecture"], row["province"])
            keys = {row["name"]}
            short = _short(row["name"])
            # Short county names (two characters) collide with ordinary words; keep them
            # only for provinces and prefectures, and also in "X州" form for 自治州.
            if place.level != "county" or len(short) >= 3:
                keys.add(short)
            if row["name"].endswith("自治州"):
                keys.add(short + "州")
            for key in keys:
                names.setdefault(key, []).append(place)
    # Longest names first so that 南充市 wins over 南充 and 大竹县 over 大竹.
    alternatives = sorted(names, key=len, reverse=True)
    pattern = re.compile("|".join(map(re.escape, alternatives)))
    return Gazetteer({k: tuple(v) for k, v in names.items()}, pattern)


def province_of(text: str, gazetteer: Gazetteer | None = None) -> str:
    """The first province named in ``text`` (e.g. a bulletin title), or ``""``."""
    g = gazetteer or load_gazetteer()
    for m in g.pattern.finditer(text):
        for place in g.names[m.group(0)]:
            if place.level == "province":
                return place.name
    return ""


def region_of(unit: str, province: str = "", gazetteer: Gazetteer | None = None) -> str:
    """The region a reporting unit belongs to.

    Args:
        unit: the unit as written, e.g. ``内江市交通运输局执法直属大队`` or ``省执法总队``.
        province: the bulletin's province, for ambiguous short names.
        gazetteer: defaults to the shipped table.

    Returns:
        The prefecture-level name (``内江市``), ``省级`` for provincial bodies, ``部级``
        for the Ministry, or ``""`` when the unit names no place.
    """
    if not unit:
        return ""
    if unit.startswith("交通运输部") or unit == "部":
        return MINISTRY
    g = gazetteer or load_gazetteer()
    place = g.find(unit, province)
    if place is None:
        return PROVINCIAL if unit.startswith(("省", "厅", "自治区", "全省")) else ""
    if place.level == "province":
        # A municipality's own bodies are its region; other provinces' bodies are 省级.
        return place.name if place.name in ("北京市", "天津市", "上海市", "重庆市") else PROVINCIAL
    return place.prefecture
