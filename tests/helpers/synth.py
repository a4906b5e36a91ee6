"""Render bulletins as PDFs, the way real ones are laid out, for tests and benchmarks.

Real bulletin PDFs are what this tool reads, but they cannot be shipped in bulk, so tests
and benchmarks make their own: an A4 page with a red-header-style front matter, a table of
contents, centred section headings, indented body paragraphs that wrap and break across
pages, a running header and a page-number footer. reportlab's built-in CID font
``STSong-Light`` needs no font file and extracts to correct Unicode; a TrueType font can be
embedded instead (``font_file``), which is the common case in real archives.

reportlab is a test/benchmark dependency (``pip install -e .[test]``), imported here only.
"""

from __future__ import annotations

import hashlib
import re
import sys
from dataclasses import dataclass
from pathlib import Path

#: Page-number footers seen in real bulletins, formatted with the page number.
FOOTERS = {"dash": "- {n} -", "emdash": "— {n} —", "di": "第{n}页", "none": ""}


@dataclass(frozen=True)
class BulletinSpec:
    """What to render.

    Attributes:
        title: the masthead, e.g. ``XX交通运输执法领域突出问题专项整治行动工作简报``.
        issue: the issue line, e.g. ``2021年第8期``.
        issuer: issuer lines (often split over two lines).
        date: the issue date line, e.g. ``2021年6月12日``.
        toc: table-of-contents lines (empty: none).
        sections: ``(heading, [paragraph, ...])`` pairs; a heading of ``""`` renders none.
        closing: closing-matter lines (印送, 抄送 …).
        header: running header on pages after the first (``None``: the title).
        footer: a key of :data:`FOOTERS`.
        font_size: body type size in points.
        spaced_digits: set numbers apart from Chinese text (``6 月 8 日``), as PDFs
            whose digits come from a second font extract.
    """

    title: str
    issue: str
    issuer: tuple[str, ...]
    date: str
    sections: tuple[tuple[str, tuple[str, ...]], ...]
    toc: tuple[str, ...] = ()
    closing: tuple[str, ...] = ()
    header: str | None = None
    footer: str = "dash"
    font_size: float = 14
    spaced_digits: bool = False


def render(spec: BulletinSpec, out: Path, font_file: Path | None = None, password: str | None = None) -> Path:
    """Write ``spec`` as a PDF.

    Args:
        spec: the bulletin's content.
        out: the PDF to write.
        font_file: a TrueType CJK font to embed; default reportlab's built-in STSong-Light.
        password: encrypt the PDF with this user password.

    Returns:
        ``out``.
    """
    from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer

    if font_file is not None:
        # One name per font file: reportlab keeps the first font registered under a name, so a
        # shared name would set a later bulletin in an earlier test's font.
        font = "BulletinTTF-" + hashlib.sha256(str(Path(font_file).resolve()).encode()).hexdigest()[:12]
        pdfmetrics.registerFont(TTFont(font, str(font_file)))
    else:
        font = "STSong-Light"
        pdfmetrics.registerFont(UnicodeCIDFont(font))
    size = spec.font_size
    body = ParagraphStyle(
        "body",
        fontName=font,
        fontSize=size,
        leading=size * 1.6,
        firstLineIndent=2 * size,
        alignment=TA_JUSTIFY,
        wordWrap="CJK",
        spaceAfter=0,
    )
    heading = ParagraphStyle(
        "heading",
        parent=body,
        fontSize=size + 2,
        leading=(size + 2) * 1.6,
        firstLineIndent=0,
        alignment=TA_CENTER,
        spaceBefore=size * 0.6,
        spaceAfter=size * 0.6,
    )
    masthead = ParagraphStyle("masthead", parent=heading, fontSize=size + 8, leading=(size + 8) * 1.5)
    centred = ParagraphStyle("centred", parent=body, firstLineIndent=0, alignment=TA_CENTER)
    toc = ParagraphStyle("toc", parent=body, firstLineIndent=0, leftIndent=0)
    closing = ParagraphStyle("closing", parent=body, firstLineIndent=0)

    header_text = spec.title if spec.header is None else spec.header
    footer_fmt = FOOTERS[spec.footer]

    def furniture(canvas, doc):
        canvas.saveState()
        canvas.setFont(font, 9)
        width, height = A4
        if doc.page > 1 and header_text:
            canvas.drawCentredString(width / 2, height - 12 * mm, header_text)
        if footer_fmt:
            canvas.drawCentredString(width / 2, 10 * mm, footer_fmt.format(n=doc.page))
        canvas.restoreState()

    def para(text: str, style) -> Paragraph:
        if spec.spaced_digits:
            text = re.sub(r"(?<=[\u4e00-\u9fff])(?=[0-9])|(?<=[0-9])(?=[\u4e00-\u9fff])", " ", text)
        return Paragraph(_escape(text), style)

    story = [Paragraph(_escape(spec.title), masthead), Paragraph(_escape(spec.issue), centred)]
    story += [Paragraph(_escape(line), centred) for line in spec.issuer]
    story += [Paragraph(_escape(spec.date), centred), Spacer(1, size)]
    if spec.toc:
        story += [Paragraph(_escape(line), toc) for line in spec.toc]
        story.append(PageBreak())
    for head, paragraphs in spec.sections:
        if head:
            story.append(Paragraph(_escape(head), heading))
        story += [para(p, body) for p in paragraphs]
    if spec.closing:
        story.append(Spacer(1, size))
        story += [Paragraph(_escape(line), closing) for line in spec.closing]
    out = Path(out)
    doc = SimpleDocTemplate(
        str(out),
        pagesize=A4,
        leftMargin=28 * mm,
        rightMargin=26 * mm,
        topMargin=30 * mm,
        bottomMargin=28 * mm,
        title=spec.title,
        author="bulletins synth",
        creator="bulletins",
        invariant=1,
        encrypt=password,
    )
    doc.build(story, onFirstPage=furniture, onLaterPages=furniture)
    return out


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def spec_from_bulletin(bulletin, footer: str = "dash", spaced_digits: bool = True) -> BulletinSpec:
    """A spec that re-typesets a structured bulletin (its text, TOC and closing matter).

    Args:
        bulletin: a :class:`pipeline.documents.Bulletin`.
        footer: page-number style.
        spaced_digits: reproduce the spaced-digit defect of real extractions.

    Returns:
        The spec; rendering it and reading it back must give the same passages.
    """
    issuer = bulletin.issuer
    # Real mastheads break a long issuer over two centred lines.
    split = issuer.find("专项整治行动")
    issuer_lines = (issuer[:split], issuer[split:]) if split > 0 else (issuer,)
    sections: list[tuple[str, list[str]]] = []
    for p in bulletin.passages:
        if not sections or sections[-1][0] != p.section:
            sections.append((p.section, []))
        sections[-1][1].append(p.text)
    day = bulletin.date.split("-") if bulletin.date else None
    return BulletinSpec(
        title=bulletin.title,
        issue=f"{bulletin.year}年第{bulletin.issue_no}期",
        issuer=issuer_lines,
        date=f"{int(day[0])}年{int(day[1])}月{int(day[2])}日" if day else "",
        toc=bulletin.toc,
        sections=tuple((h, tuple(ps)) for h, ps in sections),
        closing=tuple(f"{label}：{value}" for label, value in bulletin.closing),
        footer=footer,
        spaced_digits=spaced_digits,
    )


def main(argv: list[str] | None = None) -> int:
    """``python tests/helpers/synth.py SOURCE OUT.pdf``: typeset a bulletin as a PDF."""
    from pipeline.readers.registry import extract
    from pipeline.text.clean import clean
    from pipeline.text.structure import structure

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python tests/helpers/synth.py SOURCE OUT.pdf", file=sys.stderr)
        return 2
    bulletin = structure(clean(extract(Path(args[0]))))
    render(spec_from_bulletin(bulletin), Path(args[1]))
    print(args[1])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


def render_text(spec: BulletinSpec, out: Path) -> Path:
    """Write ``spec`` as a plain-text bulletin (one paragraph a line, as text exports are)."""
    lines = [spec.title, spec.issue, *spec.issuer, spec.date, "", *spec.toc, ""]
    for head, paragraphs in spec.sections:
        lines += ([head] if head else []) + list(paragraphs)
    lines += ["", *spec.closing]
    Path(out).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return Path(out)
