"""Dates as bulletins write them: ``2021年6月12日``, ``6月9日至10日``, ``二〇二一年六月十二日``."""

from __future__ import annotations

import datetime as dt
import re

_CN_DIGITS = {
    "〇": 0,
    "○": 0,
    "零": 0,
    "一": 1,
    "二": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
    "十": 10,
    "元": 1,
}
#: 廿 and 卅 are twenty and thirty in dates (廿八日).
_CN_TENS = {"十": 10, "廿": 20, "卅": 30}
_CN = "〇○零一二三四五六七八九十廿卅元"

#: A full date, Arabic or Chinese numerals.
FULL_DATE = re.compile(rf"([0-9]{{4}}|[{_CN}]{{4}})年([0-9]{{1,2}}|[{_CN}]{{1,3}})月([0-9]{{1,2}}|[{_CN}]{{1,3}})日")
#: A date inside a passage: optional year, month and day, Arabic or Chinese numerals; a
#: range keeps its start.
EVENT_DATE = re.compile(
    rf"(?:([0-9]{{4}}|[{_CN}]{{4}})年)?([0-9]{{1,2}}|[{_CN}]{{1,3}})月([0-9]{{1,2}}|[{_CN}]{{1,4}})日"
)


def cn_number(text: str) -> int:
    """Convert ``2021``, ``二〇二一``, ``十二`` or ``二十三`` to an int.

    Args:
        text: Arabic digits or Chinese numerals (years digit by digit, days with 十).

    Returns:
        The number.
    """
    if text.isdigit():
        return int(text)
    for mark, ten in _CN_TENS.items():
        if mark in text:
            tens, _, units = text.partition(mark)
            # 十二 = 12, 二十三 = 23, 廿八 = 28, 卅一 = 31
            head = (_CN_DIGITS[tens] if tens else 1) * ten
            return head + (_CN_DIGITS[units] if units else 0)
    value = 0
    for ch in text:
        value = value * 10 + _CN_DIGITS[ch]
    return value


def parse_full_date(text: str) -> dt.date | None:
    """The first complete date in ``text``, or ``None`` (invalid dates are skipped)."""
    for m in FULL_DATE.finditer(text):
        try:
            return dt.date(cn_number(m.group(1)), cn_number(m.group(2)), cn_number(m.group(3)))
        except (ValueError, KeyError):
            continue
    return None


def event_date(text: str, year: int | None, issued: dt.date | None = None) -> dt.date | None:
    """The first date in ``text``, resolved against the bulletin's year.

    ``6月9日至10日`` gives the 9th; a month after the issue date belongs to the year
    before (a January bulletin reporting on late December).

    Args:
        text: the passage's first sentence, usually.
        year: the bulletin's year.
        issued: the bulletin's date, to resolve the year boundary.

    Returns:
        The date, or ``None`` when there is none or no year to resolve it.
    """
    for m in EVENT_DATE.finditer(text):
        try:
            y = cn_number(m.group(1)) if m.group(1) else year
            if y is None:
                return None
            day = dt.date(y, cn_number(m.group(2)), cn_number(m.group(3)))
        except (ValueError, KeyError):
            continue
        if not m.group(1) and issued is not None and day > issued + dt.timedelta(days=31):
            day = day.replace(year=y - 1)
        return day
    return None
