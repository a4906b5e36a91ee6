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
from pipeline.text.units import find_unit, opening

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
        (i for i in range(after, len(texts)) if FULL_DATE.search(texts[i]) and len(FULL_DATE.sub("", texts[i])) <= 48),
        None,
    )
    wrapped = _wrapped_date(texts, after)
    consumed = None
    if wrapped is not None and (date_i is None or wrapped[0] < date_i):
        # The issuer line ran on into the date and wrapped inside it: "…办公室2021" / "年5月3日".
        date_i, consumed = wrapped[0], wrapped[0] + 1
        rest = texts[consumed][wrapped[2] :]
        texts = texts[:date_i] + [wrapped[1], rest] + texts[consumed + 1 :]
        if rest.strip():
            consumed = None  # the second line goes on after the date: it is not masthead
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
        issuer = "".join(texts[issue_i + 1 : date_i]) + FULL_DATE.sub("", texts[date_i]).strip()
        if not issuer:
            # Issue line carrying the issuer: "四川省交通运输厅办公室 2021年第8期".
            issuer = _ISSUE.sub("", texts[issue_i]).strip()
    found = [i for i in (title_i, issue_i, date_i, consumed) if i is not None]
    end = max(found) + 1 if found else 0
    return _Front(title, year, issue_no, issuer, date, end)


def _wrapped_date(texts: list[str], start: int) -> tuple[int, str, int] | None:
    """A full date broken across two front-matter lines: (index of the first line, that line
    with the date completed, characters of the second line the date took)."""
    for i in range(start, min(len(texts) - 1, start + 6)):
        joined = texts[i] + texts[i + 1]
        m = FULL_DATE.search(joined)
        if m and m.start() < len(texts[i]) < m.end() and len(joined) - (m.end() - m.start()) <= 40:
            return i, joined[: m.end()], m.end() - len(texts[i])
    return None


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
    body_keys = set(keys[i:])
    return [part for entry in entries for part in _split_entry(entry, body_keys)], i


def _split_entry(entry: str, body_keys: set[str]) -> list[str]:
    """A bulleted contents line that swallowed the next section's title (a full-width line
    wrapped into it: "★……大比武活动四川多种方式开展“我为群众办实事”"), split in two."""
    if not _BULLET.match(entry):
        return [entry]
    for pos in range(2, len(entry) - 5):
        tail = entry[pos:]
        if not _BULLET.match(tail) and len(key(tail)) >= 6 and key(tail) in body_keys:
            return [entry[:pos], tail]
    return [entry]


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


def _joined_confidence(a: Block, b: Block) -> float | None:
    """OCR confidence of two joined blocks: their mean weighted by length."""
    parts = [(x.confidence, len(x.text)) for x in (a, b) if x.confidence is not None]
    if not parts:
        return None
    return round(sum(c * n for c, n in parts) / sum(n for _, n in parts), 4)


def _merge(blocks: list[Block], toc_heads: set[str], layout: bool) -> list[tuple[Block, bool]]:
    """Join paragraphs broken across blocks (page breaks); tag each block heading or not."""
    out: list[tuple[Block, bool]] = []
    for b in blocks:
        head = _is_heading(b, toc_heads, layout)
        if out and not head and not out[-1][1] and out[-1][0].open_end and not _LIST_START.match(b.text):
            prev = out[-1][0]
            joined = replace(
                prev, text=join_lines([prev.text, b.text]), open_end=b.open_end, confidence=_joined_confidence(prev, b)
            )
            out[-1] = (joined, False)
        else:
            out.append((b, head))
    return out


# A paragraph that opens a news item starts an article of its own.
_NEWS_START = re.compile(r"^[【\[（(]?(?:本报讯|本刊讯|本网讯|记者|据悉|据了解)")


def _names(heading: str, unit: str, province: str, g: places.Gazetteer) -> bool:
    """Whether an article heading names ``unit`` (or the place the unit belongs to)."""
    if not heading or not unit:
        return False
    named = find_unit(heading, g)
    if not named:
        return False
    if named in unit or unit in named:
        return True
    region = places.region_of(unit, province, g)
    return bool(region) and places.region_of(named, province, g) == region


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
    section = subsection = article = ""
    # Bulleted contents lines are article headlines; the body paragraph they name starts that article.
    headlines = {key(t)[:12]: _BULLET.sub("", t) for t in toc if _BULLET.match(t) and len(key(t)) >= 6}
    sections: list[str] = []
    passages: list[Passage] = []
    for b, head in merged:
        if not head:
            # "★内江市……": a bullet opens the article's first paragraph, it is not its text.
            b = replace(b, text=_BULLET.sub("", b.text).lstrip())
        texts.append(b.text)
        start, offset = offset, offset + len(b.text) + 1
        if head:
            article = b.text
            # With a table of contents its headings are the sections and any other heading is a
            # sub-heading; without one, "（一）" headings are sub-headings.
            level2 = (key(b.text) not in toc_heads) if toc_heads else bool(_LEVEL2.match(b.text))
            if level2:
                subsection = b.text
            else:
                section, subsection = b.text, ""
                sections.append(section)
            continue
        if key(b.text)[:12] in headlines:
            article = headlines[key(b.text)[:12]]  # the paragraph a contents headline names
        unit = find_unit(b.text, g)
        region = places.region_of(unit, province, g)
        prev = passages[-1] if passages else None
        if (
            not unit
            and prev is not None
            and (prev.section, prev.subsection) == (section, subsection)
            and not _NEWS_START.match(b.text)
            and _names(article, prev.unit, province, g)
        ):
            # A paragraph naming no unit continues the article before it ("一是……", "会议强调……"),
            # when the article's heading names that unit.
            unit, region = prev.unit, prev.region
        day = event_date(opening(b.text), front.year, front.date)
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
                ocr_confidence=b.confidence,
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
