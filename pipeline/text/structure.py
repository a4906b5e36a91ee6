"""Stage 3, structure: metadata, table of contents, sections and passages.

Takes the cleaner's blocks and decides what each one is: masthead, table of contents,
section heading, article paragraph (a passage) or closing matter (印送/抄送). Paragraphs
broken by a page break are joined here, because only here is it known which short,
unpunctuated blocks are headings (the table of contents names them).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace

from pipeline.charsets import BULLETS
from pipeline.documents import Block, Bulletin, CleanDocument, Passage
from pipeline.text import places
from pipeline.text.clean import ends_closed, join_lines
from pipeline.text.dates import FULL_DATE, event_date, parse_full_date

_BULLET = re.compile(rf"^[{BULLETS}]+")
_TOC_LABEL = re.compile(r"^(本期)?(目录|要目|导读|提要|内容提要)$")
_MASTHEAD = re.compile(r"简报|快报|专报|通报|动态|简讯|专刊|信息|情况反映|周报|月报")
_ISSUE = re.compile(r"(?:([0-9]{4})年)?第([0-9]+)期")
_CLOSING = re.compile(
    r"^(印送|抄送|抄报|报送|主送|分送|印发|报|送|发|签发|审核|审稿|校对|编辑|责任编辑|联系人|联系电话)[：:]\s*"
)
_PRINT_RUN = re.compile(r"^[（(]共印[0-9一二三四五六七八九十百]+份[）)]$")
_LEVEL1 = re.compile(r"^[一二三四五六七八九十]+、")
_LEVEL2 = re.compile(r"^[（(][一二三四五六七八九十]+[）)]")
_LIST_START = re.compile(
    r"^(?:[一二三四五六七八九十]+、|[（(][一二三四五六七八九十0-9]+[）)]|[0-9]+[.、．]|其[一二三四五六七八九十]|"
    r"[一二三四五六七八九十]是|[一二三四五六七八九十]加强|首先|其次|再次|最后|此外|另外|同时)"
)
_NON_KEY = re.compile(r"[^0-9A-Za-z\u3400-\u9fff]")
# Dates and time phrases that open a passage before its subject.
_LEAD = re.compile(
    r"^(?:(?:[0-9]{4}年)?(?:[0-9]{1,2}月)?(?:[0-9]{1,2}日)?(?:(?:至|到|-|—|－|～|~)(?:[0-9]{1,2}月)?[0-9]{1,2}日)?"
    r"(?:[上中下]旬|上午|下午|晚|期间|以来|前后)?|近期|近日|日前|连日来|目前|当前|此前|今年以来|年初以来|"
    r"专项(?:整治)?行动开展以来|整治行动开展以来)"
)
_CJK = "\u3400-\u9fff"
_STRONG_SUFFIX = "交通运输部|总队|支队|大队|中队|分局|局|厅|委员会|办公室|领导小组"
_WEAK_SUFFIX = "中心|站|所|处|公司|集团"
_UNIT = re.compile(rf"[{_CJK}]{{0,16}}?(?:{_STRONG_SUFFIX}|{_WEAK_SUFFIX})(?:[（(]局[）)])?")
_UNIT_EXTENSION = re.compile(rf"[{_CJK}]{{1,12}}?(?:{_STRONG_SUFFIX}|{_WEAK_SUFFIX})")
# A weak suffix makes a unit only when the name says what kind of body it is.
_ORG_WORD = re.compile(r"交通|运输|港航|海事|公路|路政|运管|治超|执法|航道|客运|货运|检测|物流|场站|船检|地方海事|航务")
# Words that join two bodies rather than extend one name ("局会同市公安局").
_JOINERS = re.compile(r"会同|联合|和|与|及|、|到|赴|对|在|向|为|把|将|组织|召开|开展|邀请")


_ENUMERATOR = re.compile(
    r"^(?:[0-9]{1,2}[.、．]|[一二三四五六七八九十]{1,3}、|[（(][一二三四五六七八九十0-9]{1,3}[）)])"
)


def key(text: str) -> str:
    """Text reduced to letters, digits and Chinese characters, without a leading bullet or
    enumerator, for matching the table of contents against the body (a contents line
    ``1.广州市开展暗访`` matches the heading ``广州市开展暗访``)."""
    return _NON_KEY.sub("", _ENUMERATOR.sub("", _BULLET.sub("", text).strip()))


@dataclass(frozen=True)
class _Front:
    title: str
    year: int | None
    issue_no: int | None
    issuer: str
    date: dt.date | None
    end: int


def _front_matter(blocks: list[Block]) -> _Front:
    """Masthead, issue number, issuer and date from the first blocks."""
    texts = [b.text for b in blocks[:10]]
    title_i = next((i for i, t in enumerate(texts) if _MASTHEAD.search(t) and len(t) <= 60), None)
    start = title_i if title_i is not None else 0
    issue_i = next((i for i in range(start, len(texts)) if _ISSUE.search(texts[i]) and len(texts[i]) <= 40), None)
    after = issue_i if issue_i is not None else start
    date_i = next(
        (i for i in range(after, len(texts)) if FULL_DATE.search(texts[i]) and len(FULL_DATE.sub("", texts[i])) <= 30),
        None,
    )
    title = texts[title_i] if title_i is not None else (texts[0] if texts and not ends_closed(texts[0]) else "")
    if (
        title_i is not None
        and 0 < title_i <= 2
        and all(
            len(t) <= 30 and not ends_closed(t) and not _ISSUE.search(t) and not FULL_DATE.search(t)
            for t in texts[:title_i]
        )
    ):
        # A masthead set on two or three lines ("……专项整治" / "工作简报") is one title.
        title = "".join(texts[: title_i + 1])
    year = issue_no = None
    if issue_i is not None:
        m = _ISSUE.search(texts[issue_i])
        assert m is not None  # issue_i is the index of a line _ISSUE matched
        year = int(m.group(1)) if m.group(1) else None
        issue_no = int(m.group(2))
    date = parse_full_date(texts[date_i]) if date_i is not None else None
    if year is None and date is not None:
        year = date.year
    issuer = ""
    if issue_i is not None and date_i is not None:
        issuer = "".join(texts[issue_i + 1 : date_i])
        if not issuer:
            issuer = FULL_DATE.sub("", texts[date_i]).strip()
        if not issuer:
            # Issue line carrying the issuer: "四川省交通运输厅办公室 2021年第8期".
            issuer = _ISSUE.sub("", texts[issue_i]).strip()
    found = [i for i in (title_i, issue_i, date_i) if i is not None]
    end = max(found) + 1 if found else 0
    return _Front(title, year, issue_no, issuer, date, end)


def _toc(blocks: list[Block], start: int) -> tuple[list[str], int]:
    """The table of contents starting at ``start``: its entries and where the body begins.

    An entry is a bulleted line (★ …) or a line whose text comes back later in the body as
    a heading or as the start of a paragraph. The first line that is neither starts the
    body (its own text never comes back: it *is* the body's first heading).
    """
    keys = [key(b.text) for b in blocks]
    i = start
    entries: list[str] = []
    if i < len(blocks) and _TOC_LABEL.match(keys[i]):
        i += 1
    while i < len(blocks):
        k = keys[i]
        bullet = bool(_BULLET.match(blocks[i].text))
        repeats = bool(k) and any(later == k or later.startswith(k) for later in keys[i + 1 :])
        if not (bullet or repeats) or _CLOSING.match(blocks[i].text):
            break
        entries.append(blocks[i].text)
        i += 1
    if len(entries) < 2:
        return [], start
    return entries, i


def _closing(blocks: list[Block]) -> tuple[list[Block], list[tuple[str, str]]]:
    """Split closing matter (印送, 抄送 …) off the end of the body."""
    for j, b in enumerate(blocks):
        if _CLOSING.match(b.text):
            entries: list[tuple[str, str]] = []
            for c in blocks[j:]:
                m = _CLOSING.match(c.text)
                if m:
                    entries.append((m.group(1), c.text[m.end() :].strip()))
                elif _PRINT_RUN.match(c.text):
                    entries.append(("印数", c.text.strip("（）()")))
                elif entries:
                    entries[-1] = (entries[-1][0], entries[-1][1] + c.text)
            return blocks[:j], entries
    return blocks, []


def _is_heading(b: Block, toc_heads: set[str], layout: bool) -> bool:
    k = key(b.text)
    if k in toc_heads:
        return True
    if ends_closed(b.text) or len(k) > 40 or not k:
        return False
    if b.heading is not None:
        return b.heading
    if layout and b.open_end:
        return False
    if toc_heads:
        # The table of contents names the sections; besides those only numbered
        # sub-headings ("（一）加强组织领导") are headings.
        return bool(_LEVEL1.match(b.text) or _LEVEL2.match(b.text))
    return True


def _merge(blocks: list[Block], toc_heads: set[str], layout: bool) -> list[tuple[Block, bool]]:
    """Join paragraphs broken across blocks (page breaks); tag each block heading or not."""
    out: list[tuple[Block, bool]] = []
    for b in blocks:
        head = _is_heading(b, toc_heads, layout)
        if out and not head and not out[-1][1] and out[-1][0].open_end and not _LIST_START.match(b.text):
            prev = out[-1][0]
            out[-1] = (replace(prev, text=join_lines([prev.text, b.text]), open_end=b.open_end), False)
        else:
            out.append((b, head))
    return out


def _first_sentence(text: str) -> str:
    return re.split(r"(?<=[。！？])", text, maxsplit=1)[0]


def find_unit(text: str, gazetteer: places.Gazetteer | None = None) -> str:
    """The reporting unit named at the start of a passage, as written.

    Looks at the clauses of the first sentence in order, skipping an opening date or time
    phrase, for an organisation name (``…支队``, ``…局``, ``省执法总队（局）``) or, failing
    that, a clause that opens with a place name (``四川下发…``).

    Args:
        text: the passage.
        gazetteer: place names; default the shipped table.

    Returns:
        The unit, or ``""``.
    """
    g = gazetteer or places.load_gazetteer()
    for clause in re.split(r"[，,；;：:]", _first_sentence(text))[:4]:
        clause = _LEAD.sub("", clause, count=1).lstrip("，, ")
        m = _UNIT.match(clause)
        if m and (re.search(rf"(?:{_STRONG_SUFFIX})(?:[（(]局[）)])?$", m.group(0)) or _ORG_WORD.search(m.group(0))):
            unit = m.group(0)
            ext = _UNIT_EXTENSION.match(clause, m.end())
            if ext and not _JOINERS.search(ext.group(0)):
                unit += ext.group(0)
            return unit
        place = g.pattern.match(clause)
        if place:
            return place.group(0)
    return ""


def structure(doc: CleanDocument, gazetteer: places.Gazetteer | None = None) -> Bulletin:
    """Turn a cleaned document into a structured bulletin.

    Args:
        doc: the cleaner's output.
        gazetteer: place names for regions; default the shipped table.

    Returns:
        Metadata, table of contents, sections, closing matter and passages, with offsets
        into :attr:`Bulletin.text`.
    """
    g = gazetteer or places.load_gazetteer()
    blocks = list(doc.blocks)
    front = _front_matter(blocks)
    toc, body_start = _toc(blocks, front.end)
    toc_heads = {key(t) for t in toc if not _BULLET.match(t)}
    body, closing = _closing(blocks[body_start:])
    merged = _merge(body, toc_heads, doc.layout)
    province = places.province_of(front.title + front.issuer, g)

    texts = [b.text for b in blocks[:body_start]]
    offset = sum(len(t) + 1 for t in texts)
    section = subsection = ""
    sections: list[str] = []
    passages: list[Passage] = []
    for b, head in merged:
        texts.append(b.text)
        start, offset = offset, offset + len(b.text) + 1
        if head:
            # With a table of contents its headings are the sections and any other heading is a
            # sub-heading; without one, "（一）" headings are sub-headings.
            level2 = (key(b.text) not in toc_heads) if toc_heads else bool(_LEVEL2.match(b.text))
            if level2:
                subsection = b.text
            else:
                section, subsection = b.text, ""
                sections.append(section)
            continue
        unit = find_unit(b.text, g)
        region = places.region_of(unit, province, g)
        if not unit and passages and passages[-1].section == section:
            # A paragraph naming no unit continues the article before it ("一是……", "会议强调……").
            unit, region = passages[-1].unit, passages[-1].region
        day = event_date(_first_sentence(b.text), front.year, front.date)
        passages.append(
            Passage(
                index=len(passages),
                text=b.text,
                section=section,
                subsection=subsection,
                unit=unit,
                region=region,
                date=day.isoformat() if day else None,
                page=b.page,
                start=start,
                end=start + len(b.text),
            )
        )
    texts += [f"{label}：{value}" for label, value in closing]
    return Bulletin(
        path=doc.path,
        sha256=doc.sha256,
        title=front.title,
        year=front.year,
        issue_no=front.issue_no,
        issuer=front.issuer,
        date=front.date.isoformat() if front.date else None,
        toc=tuple(toc),
        sections=tuple(sections),
        closing=tuple(closing),
        passages=tuple(passages),
        text="\n".join(texts),
        warnings=doc.warnings,
        reader=doc.reader,
    )
