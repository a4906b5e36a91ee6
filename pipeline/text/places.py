"""Place names: map a reporting unit to its region (prefecture-level division, 省级 or 部级).

The gazetteer ``corpus/dictionaries/regions.tsv`` lists China's current provinces,
prefecture-level divisions and counties (its source and year: ``corpus/README.md``);
``region_aliases.tsv`` adds short forms that no suffix rule derives (伊犁州, 博州, the 兵团
divisions 第一师…).

The region of a unit is the most specific place it names: ``广西柳州市…`` is 柳州市, not
广西; a county or county-level city counts for its prefecture, a district of a
municipality for the municipality. A place followed by ``某`` (江西某县) names no
definite region.
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
MUNICIPALITIES = ("北京市", "天津市", "上海市", "重庆市")

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
#: Bodies of the bulletin's own province named without a place: 省交通运输厅, 厅…, 省执法总队.
_PROVINCIAL_BODY = re.compile(r"^(?:省|厅|自治区|全省|总队|省级)")
_MINISTRY_BODY = re.compile(r"^(?:交通运输部|部(?:$|[^门分]))")
#: Levels from the most to the least specific.
_RANK = {"county": 0, "prefecture": 1, "province": 2}


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

    def places(self, text: str) -> list[tuple[re.Match, tuple[Place, ...]]]:
        """Every place name in ``text``, left to right, longest name first at each position."""
        return [(m, self.names[m.group(0)]) for m in self.pattern.finditer(text)]

    def find(self, text: str, province: str = "") -> Place | None:
        """The most specific place named in ``text``, each name read in the context of the
        ones before it (``江北区`` after ``重庆市`` is Chongqing's), ambiguous short names
        resolved towards the bulletin's province.

        Args:
            text: a unit name or sentence.
            province: the bulletin's province, to break ties.

        Returns:
            The place, or ``None`` (also when a place is followed by ``某``: 江西某县).
        """
        best: Place | None = None
        for m, options in self.places(text):
            if text.startswith("某", m.end()):
                return None
            inside = [p for p in options if best is None or _within(p, best)]
            if best is not None and not inside:
                continue  # a place outside the one already named: not the unit's location
            chosen = min(
                inside or options,
                key=lambda p: (
                    p.province != (best.province if best else province),
                    _RANK[p.level] == 0,
                    _RANK[p.level],
                ),
            )
            if best is None or _RANK[chosen.level] < _RANK[best.level]:
                best = chosen
        return best


def _within(place: Place, outer: Place) -> bool:
    """Whether ``place`` lies in ``outer`` (or is it)."""
    if outer.level == "province":
        return place.province == outer.province
    if outer.level == "prefecture":
        return place.prefecture == outer.name
    return place == outer


@lru_cache(maxsize=4)
def load_gazetteer(path: Path = config.REGIONS, aliases: Path | None = config.REGION_ALIASES) -> Gazetteer:
    """Read the regions table and its aliases (cached).

    Args:
        path: the TSV (adcode, name, level, prefecture, province).
        aliases: a TSV (alias, name) of short forms for names in the table.

    Returns:
        A :class:`Gazetteer`.
    """
    names: dict[str, list[Place]] = {}
    by_name: dict[str, Place] = {}
    with open(path, encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            place = Place(row["name"], row["level"], row["prefecture"], row["province"])
            if place.level != "county":
                by_name[place.name] = place
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
    if aliases is not None and Path(aliases).exists():
        with open(aliases, encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh, delimiter="\t"):
                target = by_name.get(row["name"])
                if target is not None:
                    names.setdefault(row["alias"], []).append(target)
    # Longest names first so that 南充市 wins over 南充 and 大竹县 over 大竹. A 兵团 division
    # is not the start of 第一师范.
    alternatives = sorted(names, key=len, reverse=True)
    pattern = re.compile("|".join(re.escape(a) + ("(?!范)" if a.endswith("师") else "") for a in alternatives))
    return Gazetteer({k: tuple(v) for k, v in names.items()}, pattern)


def province_of(text: str, gazetteer: Gazetteer | None = None) -> str:
    """The province of the first place named in ``text`` (a bulletin's title and issuer:
    ``绵阳市……工作简报`` is a 四川省 bulletin), or ``""``."""
    g = gazetteer or load_gazetteer()
    for _, options in g.places(text):
        provinces = {p.province for p in options}
        if len(provinces) == 1:
            return provinces.pop()
    return ""


def region_of(unit: str, province: str = "", gazetteer: Gazetteer | None = None) -> str:
    """The region a reporting unit belongs to.

    Args:
        unit: the unit as written, e.g. ``内江市交通运输局执法直属大队`` or ``省执法总队``.
        province: the bulletin's province: its own bodies are 省级, another province's
            bodies are that province.

    Returns:
        The prefecture-level name (``内江市``; a municipality for its districts), ``省级``
        for the bulletin's provincial bodies, another province's name for its provincial
        bodies, ``部级`` for the Ministry, or ``""`` when the unit names no definite place.
    """
    if not unit or unit.startswith("某"):
        return ""
    if _MINISTRY_BODY.match(unit):
        return MINISTRY
    g = gazetteer or load_gazetteer()
    place = g.find(unit, province)
    if place is None:
        named = any(True for _ in g.places(unit))  # named, but indefinite: 江西某县
        return PROVINCIAL if not named and _PROVINCIAL_BODY.match(unit) else ""
    if place.level != "province":
        return place.prefecture
    if place.name in MUNICIPALITIES:
        return place.name
    return PROVINCIAL if not province or place.name == province else place.name
