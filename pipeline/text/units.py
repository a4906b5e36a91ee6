"""Reporting units: the organisation a passage opens with, as written.

A unit is an organisation name ending at its suffix (局, 支队, 大队, 中队, 总队, 所, 站, 中心,
厅, 委员会 …), never a clause fragment: news leads (本报讯, 记者从…获悉), dates, prepositions
(在支队党委的领导下) and words that only look like a suffix (部门, 行政处罚, 政治站位) are
not part of it. When the opening names no organisation but a place acts as the subject
(四川下发通知), the place is the unit; otherwise there is none.
"""

from __future__ import annotations

import re

from pipeline.charsets import BULLETS
from pipeline.text import places

_BULLET = re.compile(rf"^[{BULLETS}]+\s*")
_CJK = "\u3400-\u9fff"
# Suffixes, each with what may not follow it when it ends a name (部门, 行政处罚, 站位, 所有).
_STRONG_SUFFIX = (
    r"交通运输部(?!门)|总队|支队|大队|中队|分局|局(?![面势长限])|厅(?![长])|委员会|委(?![员托])"
    r"|办公室|领导小组|管理处|执法处|(?:整治|专项|治超|法治|依法治[省市县区疆藏])办|司(?![机法])|室(?![内外])"
    r"|(?:督导|检查|调研|工作|暗访|考核|评估)组|(?:研究|学|设计)院"
)
_WEAK_SUFFIX = r"中心(?![工任城区])|站(?![位点在])|所(?![有在属以得谓])|处(?![罚理置分于在长])|公司|集团|科(?![技学])"
_SUFFIX = rf"(?:{_STRONG_SUFFIX}|{_WEAK_SUFFIX})(?:[（(]局[）)])?"
_UNIT = re.compile(rf"[{_CJK}（）()]{{0,32}}?{_SUFFIX}")
# An extension names a sub-unit ("…局" + "执法直属大队"), not its Party committee ("党委").
# Ad hoc groups (调研组, 督导组) name a unit only on their own: "雅安市交通运输局……调研组" reports
# as the bureau.
_UNIT_EXTENSION = re.compile(rf"(?!党|团委|纪委|下属|所属)[{_CJK}]{{0,14}}?(?!\S{{0,2}}组){_SUFFIX}")
_STRONG_END = re.compile(rf"(?:{_STRONG_SUFFIX})(?:[（(]局[）)])?$")
# A weak suffix makes a unit only when the name says what kind of body it is.
_ORG_WORD = re.compile(
    r"交通|运输|港航|海事|公路|路政|运管|治超|执法|航道|客运|货运|检测|物流|场站|船检|地方海事|航务|质监|邮政|高速"
)
# Words that join two bodies rather than extend one name ("局会同市公安局"); 和, 与 and 及 also
# join words inside one name ("安全与质量监督管理司"), and only count before a place or level.
_JOINERS = re.compile(r"会同|联合|到|赴|对|在|向|为|把|将|组织|召开|开展|邀请|下属|所属")
_SOFT_JOINERS = re.compile(r"和|与|及|、")
# Verbs inside a candidate: it is a clause, not a name ("全市交通运输执法系统共办理行政处").
_VERBS = re.compile(
    r"开展|召开|组织|办理|推进|印发|下发|部署|深入|持续|加强|推动|坚持|聚焦|围绕|落实|完成|查处|查扣|"
    r"获悉|了解|发现|表示|介绍|通报|举办|成立|要求|领导下|带领|指导下|的"
)
# Date and time phrases that open a passage before its subject.
_TIME_LEAD = re.compile(
    r"^(?:(?:[0-9]{4}年)?(?:[0-9]{1,2}月)?(?:[0-9]{1,2}日)?(?:(?:至|到|-|—|－|～|~)(?:[0-9]{1,2}月)?[0-9]{1,2}日)?"
    r"(?:[上中下]旬|上午|下午|晚|期间|以来|前后)?|近期|近日|日前|连日来|目前|当前|此前|今年以来|年初以来|"
    r"专项(?:整治)?行动开展以来|整治行动开展以来)"
)
# The same with Chinese numerals (六月九日, 二〇二一年六月十二日).
_CN_TIME_LEAD = re.compile(
    r"^(?:[〇○零一二三四五六七八九]{4}年)?[一二三四五六七八九十]{1,2}月[一二三四五六七八九十廿卅]{1,3}日"
    r"(?:(?:至|到|-|—|－|～|~)(?:[一二三四五六七八九十]{1,2}月)?[一二三四五六七八九十廿卅]{1,3}日)?"
)
# News and report leads before the subject: 本报讯, （记者 某某）, 记者昨日从…获悉.
_NEWS_LEAD = re.compile(
    r"^(?:[【\[（(]?(?:本报讯|本刊讯|本网讯|讯)[】\]）)]?\s*|[（(](?:记者|通讯员)[^）)]*[）)]\s*|通讯员\S{0,6}\s+|据悉|据了解|"
    r"记者(?:昨日|今日|近日|日前|昨天|今天)?(?:从|在)?|据)"
)
_NAME_START = re.compile(r"^(?:某|省|市|县|区|州|盟|旗|厅|部|司|局|自治区|兵团|全省|全市|中国|国家|驻)")
# A clause that opens with a preposition or a framing phrase has no unit as its subject.
_NOT_SUBJECT = re.compile(r"^(?:在|由|经|对|向|为|按照|根据|围绕|针对|通过|按|随着|为了|结合|依托)")


def _first_sentence(text: str) -> str:
    return re.split(r"(?<=[。！？])", text, maxsplit=1)[0]


def _strip_lead(clause: str) -> str:
    """The clause without its opening date, time or news lead."""
    before = None
    while before != clause:
        before = clause
        clause = _TIME_LEAD.sub("", clause, count=1).lstrip("，, 　")
        clause = _CN_TIME_LEAD.sub("", clause, count=1).lstrip("，, 　")
        m = _NEWS_LEAD.match(clause)
        if m and m.end():
            rest = clause[m.end() :]
            if m.group(0).startswith("记者") and ("从" in rest[:20]):
                rest = rest[rest.index("从") + 1 :]  # 记者昨日从湖北省交通运输厅获悉
            clause = rest.lstrip("，, 　")
    return clause


def _org_name(clause: str, g: places.Gazetteer) -> str:
    """The organisation name that opens ``clause``, or ``""``."""
    m = _UNIT.match(clause)
    if not m:
        return ""
    unit = m.group(0)
    if _VERBS.search(unit) or not (_STRONG_END.search(unit) or _ORG_WORD.search(unit)):
        return ""
    # A name starts with a place, a level (省, 厅, 某), or what the body does (交通, 执法…):
    # not with a person or a thing ("一名货车司机反映在某县治超站").
    if not (g.pattern.match(unit) or _NAME_START.match(unit) or _ORG_WORD.match(unit)):
        return ""
    ext = _UNIT_EXTENSION.match(clause, m.end())
    if ext and not _JOINERS.search(ext.group(0)) and not _VERBS.search(ext.group(0)):
        text = ext.group(0)
        joined = any(
            g.pattern.match(text, j.end()) or _NAME_START.match(text[j.end() :]) for j in _SOFT_JOINERS.finditer(text)
        )
        if not joined:
            unit += text
    return unit


_QUOTES = {"“": "”", "「": "」", '"': '"'}


def opening(text: str) -> str:
    """The passage's first sentence, after a quotation it may open with (“执法为民……。”南充市…)."""
    text = _BULLET.sub("", text.lstrip())
    closer = _QUOTES.get(text[:1])
    if closer:
        close = text.find(closer, 1)
        if 0 < close < 120 and text[close + 1 :].strip():
            text = text[close + 1 :].lstrip("，, ")
    return _first_sentence(text)


def find_unit(text: str, gazetteer: places.Gazetteer | None = None) -> str:
    """The reporting unit named at the start of a passage, as written.

    Looks at the clauses of the first sentence in order, skipping an opening date, time or
    news lead, for an organisation name (``…支队``, ``…局``, ``省执法总队（局）``) or, failing
    that, a clause that opens with a place name acting as the subject (``四川下发…``).

    Args:
        text: the passage.
        gazetteer: place names; default the shipped table.

    Returns:
        The unit, or ``""``.
    """
    g = gazetteer or places.load_gazetteer()
    for clause in re.split(r"[，,；;：:]", opening(text))[:4]:
        clause = _strip_lead(clause)
        if not clause or _NOT_SUBJECT.match(clause):
            continue
        unit = _org_name(clause, g)
        if unit:
            return unit
        place = g.pattern.match(clause)
        end = place.end() if place else 0
        while place:  # 广西梧州市: consecutive place names are one
            place = g.pattern.match(clause, end)
            end = place.end() if place else end
        # A place followed by an organisation word is a name cut short (珠海市交通运输部门),
        # not a place acting as the subject.
        if end and not _ORG_WORD.match(clause, end) and not clause.startswith("某", end):
            return clause[:end]
        if len(clause) > 8:
            break  # a clause with a subject of its own ("一名货车司机致电……"): no unit opens it
    return ""
