"""Stage 2, clean: page furniture out, lines into blocks, text normalised.

Small ``str -> str`` cleaners are composed in :data:`CLEANERS` (textacy style) and applied
to every block. Layout decisions (which lines form a paragraph, what is a running header or
a page number, whether a paragraph runs on past a page break) use line geometry when the
reader has it (PDF) and the text alone otherwise (plain text, Word).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable

from pipeline.charsets import BULLETS, CJK, UNMAPPED
from pipeline.documents import Block, CleanDocument, Line, Page, RawDocument

# --- character classes -------------------------------------------------------------------
_CJK = CJK
# Chinese punctuation and brackets: a space next to one of these is never meaningful.
_CJK_PUNCT = (
    "\u3000-\u303f\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65"
    "\u2014\u2018\u2019\u201c\u201d\u2026\u00b7\u2605\u2606\u25cf\u25c6\u25a0\u25b2"
)
#: Characters that end a sentence or a paragraph.
CLOSERS = "。！？；…!?;”’」』）)"

# --- str -> str cleaners -----------------------------------------------------------------


def strip_markup(text: str) -> str:
    """Drop Markdown emphasis left by converters (``**2021年第12次**``)."""
    return text.replace("**", "").replace("__", "")


def drop_unmapped(text: str) -> str:
    """Drop ``(cid:NNN)`` residue, private-use glyphs and U+FFFD (reported by extract)."""
    return UNMAPPED.sub("", text)


_FOLD = {
    **{0xFF10 + i: 0x30 + i for i in range(10)},
    **{0xFF21 + i: 0x41 + i for i in range(26)},
    **{0xFF41 + i: 0x61 + i for i in range(26)},
    0xFF05: 0x25,  # ％
    0xFF0E: 0x2E,  # ． (full-width full stop, used as a decimal point)
    0x00A0: 0x20,
    0x3000: 0x20,
    0x2002: 0x20,
    0x2003: 0x20,
    0x2009: 0x20,
    0x200B: None,
    0xFEFF: None,
}


def fold_width(text: str) -> str:
    """Fold full-width digits, Latin letters, ％ and ． to ASCII; odd spaces to a space.

    Chinese punctuation (，。：；！？（）) is kept as it is.
    """
    return text.translate(_FOLD)


_HALF_PUNCT = {",": "，", ";": "；", ":": "：", "?": "？", "!": "！"}
_HALF_RE = re.compile(
    rf"(?<=[{_CJK}{_CJK_PUNCT}])\s*([,;:?!])\s*(?=[{_CJK}{_CJK_PUNCT}\d])|(?<=[{_CJK}])\s*([,;:?!])\s*(?=[A-Za-z])"
)


def cjk_punctuation(text: str) -> str:
    """Half-width , ; : ? ! inside Chinese text become their full-width forms."""
    return _HALF_RE.sub(lambda m: _HALF_PUNCT[m.group(1) or m.group(2)], text)


_SPACE_RE = re.compile(
    rf"(?<=[{_CJK}{_CJK_PUNCT}])[ \t]+(?=[{_CJK}{_CJK_PUNCT}0-9A-Za-z%(（《“])"
    rf"|(?<=[0-9A-Za-z%.)）》”])[ \t]+(?=[{_CJK}{_CJK_PUNCT}])"
)


def remove_cjk_spaces(text: str) -> str:
    """Remove spaces next to Chinese characters: ``6 月 8 日`` -> ``6月8日``.

    Spaces between two Latin words or numbers stay (``COVID 19``).
    """
    return _SPACE_RE.sub("", text)


def collapse_spaces(text: str) -> str:
    """Collapse runs of white space to one space and trim the ends."""
    return re.sub(r"\s+", " ", text).strip()


#: The cleaners, applied in this order to every block.
CLEANERS: tuple[Callable[[str], str], ...] = (
    strip_markup,
    drop_unmapped,
    fold_width,
    cjk_punctuation,
    remove_cjk_spaces,
    collapse_spaces,
)


def normalize(text: str, cleaners: Iterable[Callable[[str], str]] = CLEANERS) -> str:
    """Apply ``cleaners`` in order.

    Args:
        text: raw text.
        cleaners: the composition to apply.

    Returns:
        The normalised text.
    """
    for fn in cleaners:
        text = fn(text)
    return text


def join_lines(parts: Iterable[str]) -> str:
    """Join wrapped lines: no space inside Chinese text, one space between Latin words."""
    out = ""
    for part in parts:
        part = part.strip()
        if not part:
            continue
        if out and re.match(r"[A-Za-z0-9]", part[0]) and re.search(r"[A-Za-z0-9,.;:]$", out):
            out += " "
        out += part
    return out


def ends_closed(text: str) -> bool:
    """Whether ``text`` ends with sentence-closing punctuation."""
    text = text.rstrip()
    return bool(text) and text[-1] in CLOSERS


# --- page furniture ----------------------------------------------------------------------
_PAGE_NO = re.compile(r"^[\s\-—–－_·.]*(第\s*)?\d{1,4}(\s*页)?(\s*/\s*(共\s*)?\d{1,4}\s*页?)?[\s\-—–－_·.]*$")


def _shape(text: str) -> str:
    """A line's text with numbers masked, so '- 3 -' and '- 4 -' repeat."""
    return re.sub(r"\d+", "#", re.sub(r"\s+", "", text))


def _furniture_layout(pages: tuple[Page, ...], body_size: float) -> set[tuple[int, int]]:
    """(page, line index) pairs that are running headers, footers or page numbers.

    Only lines in the top or bottom tenth of the page qualify; among them, those that
    repeat across pages (numbers masked), look like a page number, or are set in a
    clearly smaller type than the body.
    """
    zone: list[tuple[int, int, Line]] = []
    for p in pages:
        h = p.height or 842.0
        for i, ln in enumerate(p.lines):
            if ln.top is not None and ln.bottom is not None and (ln.top < 0.1 * h or ln.bottom > 0.9 * h):
                zone.append((p.number, i, ln))
    repeats = Counter(_shape(ln.text) for _, _, ln in zone)
    drop = set()
    for pno, i, ln in zone:
        small = ln.size is not None and ln.size < 0.85 * body_size
        if repeats[_shape(ln.text)] >= 2 or _PAGE_NO.match(ln.text) or small:
            drop.add((pno, i))
    return drop


def _furniture_text(pages: tuple[Page, ...]) -> set[tuple[int, int]]:
    """Furniture in text without geometry: page-number lines, and short lines that open or
    close several pages (or recur three times or more) with the same shape."""
    drop = set()
    edge_shapes: Counter[str] = Counter()
    all_shapes: Counter[str] = Counter()
    for p in pages:
        nonblank = [(i, ln) for i, ln in enumerate(p.lines) if ln.text.strip()]
        for _, ln in nonblank:
            all_shapes[_shape(ln.text)] += 1
        for _, ln in nonblank[:1] + nonblank[-1:]:
            edge_shapes[_shape(ln.text)] += 1
    for p in pages:
        nonblank = [(i, ln) for i, ln in enumerate(p.lines) if ln.text.strip()]
        edges = {i for i, _ in nonblank[:1] + nonblank[-1:]}
        for i, ln in nonblank:
            s = _shape(ln.text)
            if (
                _PAGE_NO.match(ln.text)
                or len(s) <= 40
                and not ends_closed(ln.text)
                and ((i in edges and edge_shapes[s] >= 2 and len(pages) > 2) or all_shapes[s] >= 3)
            ):
                drop.add((p.number, i))
    return drop


# --- blocks ------------------------------------------------------------------------------


def _body_size(pages: tuple[Page, ...]) -> float:
    sizes: Counter[float] = Counter()
    for p in pages:
        for ln in p.lines:
            if ln.size:
                sizes[round(ln.size)] += len(ln.text)
    return float(sizes.most_common(1)[0][0]) if sizes else 12.0


def _box(ln: Line) -> tuple[float, float, float, float]:
    """(x0, x1, top, bottom) of a line from a layout reader, which always sets them."""
    if ln.x0 is None or ln.x1 is None or ln.top is None or ln.bottom is None:
        raise ValueError(f"a layout line without geometry: {ln.text[:20]!r}")
    return ln.x0, ln.x1, ln.top, ln.bottom


def _layout_blocks(raw: RawDocument) -> list[Block]:
    body = _body_size(raw.pages)
    drop = _furniture_layout(raw.pages, body)
    kept = [
        (p, [ln for i, ln in enumerate(p.lines) if (p.number, i) not in drop and ln.text.strip()]) for p in raw.pages
    ]
    body_lines = [ln for _, lines in kept for ln in lines if ln.size and abs(ln.size - body) < 0.5]
    if not body_lines:
        body_lines = [ln for _, lines in kept for ln in lines]
    left = Counter(round(_box(ln)[0]) for ln in body_lines).most_common(1)[0][0]
    # The text block's right edge is where most full lines end; justification and hanging
    # punctuation push a few lines past it, so the maximum would be wrong.
    right = Counter(round(_box(ln)[1]) for ln in body_lines).most_common(1)[0][0]

    def indented(ln: Line) -> bool:
        return _box(ln)[0] - left >= 1.2 * (ln.size or body)

    def full(ln: Line) -> bool:
        return right - _box(ln)[1] < 1.2 * (ln.size or body)

    def centred(ln: Line) -> bool:
        gap_l, gap_r = _box(ln)[0] - left, right - _box(ln)[1]
        return gap_l > 2 * body and abs(gap_l - gap_r) < 1.5 * body

    blocks: list[dict] = []
    for page, lines in kept:
        prev: Line | None = None
        for ln in lines:
            size = ln.size or body
            is_head = centred(ln) or size > body * 1.1 or ln.bold
            # Indentation, not a list marker, starts a paragraph: "二、" may begin a wrapped
            # line inside one. Bullets (★) always start an entry.
            start = (
                prev is None
                or not full(prev)
                or indented(ln)
                or _BULLET_START.match(ln.text) is not None
                or _CLOSING_LABEL.match(ln.text) is not None
                or is_head != blocks[-1]["head"]
                or abs(size - (prev.size or body)) > 0.5
                or (_box(ln)[2] - _box(prev)[3]) > 1.2 * size
            )
            # Centred multi-line headings (a long masthead) continue while lines are wide.
            if prev is not None and is_head and blocks[-1]["head"] and blocks[-1]["page"] == page.number:
                start = (
                    not (right - _box(prev)[1] < 3 * body or _box(prev)[0] - left < 3 * body)
                    or abs(size - (prev.size or body)) > 0.5
                )
            if start:
                blocks.append(
                    {"lines": [], "conf": [], "page": page.number, "head": is_head, "indent": indented(ln), "last": ln}
                )
            blocks[-1]["lines"].append(ln.text)
            if ln.confidence is not None:
                blocks[-1]["conf"].append(ln.confidence)
            blocks[-1]["last"] = ln
            prev = ln
        if blocks and blocks[-1]["page"] == page.number:
            blocks[-1]["break"] = True
    out: list[Block] = []
    for k, b in enumerate(blocks):
        text = normalize(join_lines(b["lines"]))
        if not text:
            continue
        nxt = blocks[k + 1] if k + 1 < len(blocks) else None
        # A paragraph runs on when its last line is full and the next block is neither a
        # new (indented) paragraph nor a heading; across a page break this is the only
        # evidence, since the text itself may end anywhere.
        open_end = not b["head"] and full(b["last"]) and nxt is not None and not nxt["indent"] and not nxt["head"]
        out.append(
            Block(
                text=text,
                page=b["page"],
                open_end=open_end,
                heading=True if b["head"] else None,
                indented=b["indent"],
                page_break_after=b.get("break", False),
                confidence=round(sum(b["conf"]) / len(b["conf"]), 4) if b["conf"] else None,
            )
        )
    return out


_BULLET_START = re.compile(rf"^\s*[{BULLETS}]")
#: Closing matter ("报：…", "抄送：…") always starts a line of its own, even after a full line.
_CLOSING_LABEL = re.compile(r"^\s*(?:印送|抄送|抄报|报送|主送|分送|印发|报|送|发)[：:]")
_INDENT = re.compile(r"^(\u3000|\s{2,}|\t)")
# Without geometry, a line opening with a bullet, an enumerator ("1.", "二、", "（三）") or a
# short label and colon ("报：", "抄送：") starts a new block.
_LINE_START = re.compile(
    rf"^\s*(?:[{BULLETS}]"
    r"|[0-9]{1,2}[.、．]|[一二三四五六七八九十]{1,3}、|[（(][一二三四五六七八九十0-9]{1,3}[）)]"
    r"|[\u4e00-\u9fff]{1,4}[：:])"
)


# An issue-number or date line stands alone in a masthead ("2021年第6期", "2021年5月3日").
_MASTHEAD_LINE = re.compile(
    r"^\s*(?:(?:[0-9]{4}年)?第[0-9]+期|[0-9]{4}年[0-9]{1,2}月[0-9]{1,2}日|[〇○零一二三四五六七八九]{4}年[一二三四五六七八九十]{1,2}月"
    r"[一二三四五六七八九十]{1,3}日)\s*$"
)


def _text_blocks(raw: RawDocument) -> list[Block]:
    drop = _furniture_text(raw.pages)
    out: list[Block] = []
    for page in raw.pages:
        chunk: list[Line] = []

        def flush() -> None:
            if not chunk:
                return
            width = max(len(ln.text.strip()) for ln in chunk)
            parts: list[str] = []
            for j, ln in enumerate(chunk):
                t = ln.text.strip()
                parts.append(t)
                nxt = chunk[j + 1] if j + 1 < len(chunk) else None
                # A new paragraph starts after closing punctuation, before an indented
                # line, or after a line clearly shorter than the wrap width.
                if (
                    nxt is None
                    or ends_closed(t)
                    or _INDENT.match(nxt.text)
                    or _LINE_START.match(nxt.text)
                    or _MASTHEAD_LINE.match(nxt.text)
                    or _MASTHEAD_LINE.match(t)
                    or len(t) < 0.8 * width
                    or raw.paragraphs
                ):
                    text = normalize(join_lines(parts))
                    if text:
                        out.append(
                            Block(
                                text=text,
                                page=page.number,
                                open_end=not ends_closed(text),
                                heading=True if (raw.paragraphs and ln.bold) else None,
                                indented=bool(_INDENT.match(chunk[j - len(parts) + 1].text)) or None,
                            )
                        )
                    parts = []
            chunk.clear()

        for i, ln in enumerate(page.lines):
            if (page.number, i) in drop:
                continue
            if not ln.text.strip():
                flush()
            else:
                chunk.append(ln)
        flush()
        if out and out[-1].page == page.number:
            last = out[-1]
            out[-1] = Block(
                text=last.text,
                page=last.page,
                open_end=last.open_end,
                heading=last.heading,
                indented=last.indented,
                page_break_after=True,
            )
    return out


def clean(raw: RawDocument) -> CleanDocument:
    """Remove page furniture, assemble blocks and normalise their text.

    Args:
        raw: what :func:`pipeline.readers.registry.extract` read.

    Returns:
        The document as a sequence of blocks, each a paragraph or heading on one page,
        flagged where it may run on into the next.
    """
    blocks = _layout_blocks(raw) if raw.layout else _text_blocks(raw)
    return CleanDocument(
        path=raw.path,
        kind=raw.kind,
        sha256=raw.sha256,
        blocks=tuple(blocks),
        warnings=raw.warnings,
        layout=raw.layout,
        reader=raw.reader,
    )
