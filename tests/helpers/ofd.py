"""Render bulletins as OFD files (GB/T 33190), laid out like the PDFs of :mod:`helpers.synth`.

OFD is China's national fixed-layout format, the one government offices increasingly
publish in. A file is a ZIP package::

    OFD.xml                          entry: DocBody → DocInfo, DocRoot
    Doc_0/Document.xml               CommonData (page area, resources, templates) and Pages
    Doc_0/PublicRes.xml              fonts
    Doc_0/DocumentRes.xml            document resources (colour spaces)
    Doc_0/Tpls/Tpl_N/Content.xml     template pages (the red masthead, the running header)
    Doc_0/Pages/Page_N/Content.xml   Layer → TextObject → TextCode

Coordinates are millimetres from the page's top-left corner. Each TextObject has a
``Boundary`` (its box on the page) and the ``X``/``Y`` of its TextCodes (the baseline of the
first glyph) are relative to that box's origin, through the object's ``CTM`` when it has one;
``DeltaX`` lists the advances between glyphs, ``g N V`` standing for N times V.

The layout follows :func:`helpers.synth.render`: A4, the same margins and type sizes, a
masthead, centred issue lines, a table of contents on its own page, centred section
headings, indented justified paragraphs that wrap and break across pages, a running header
and a page-number footer. What real producers do differently from a PDF is reproduced on
purpose, each switchable: Latin and digits set in a second font as separate TextObjects
(``split_runs``), headings drawn at half size through a CTM that scales by two
(``ctm_headings``), the masthead and the running header in template pages (``templates``),
the page size given on each page rather than once for the document (``page_area``), and
text objects written in a shuffled order (``shuffle``).

Only the standard library is used: the reader must not be tested against the library that
wrote the file.
"""

from __future__ import annotations

import random
import re
import sys
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from helpers.synth import FOOTERS, BulletinSpec

NS = "http://www.ofdspec.org/2016"
#: Millimetres per point: OFD's unit is the millimetre, the layout below is in points as in synth.
MM = 25.4 / 72
PAGE_W, PAGE_H = 210.0, 297.0
#: synth's margins, in millimetres, and the 6 pt padding of reportlab's frame inside them.
LEFT, RIGHT, TOP, BOTTOM = 28.0, 26.0, 30.0, 28.0
PADDING = 6.0
#: Glyph ascent as a share of the type size (the baseline sits this far below a line's top).
ASCENT = 0.88

#: Fonts in PublicRes.xml by role: (ID, FontName, FamilyName, the Bold attribute).
FONTS = {
    "song": (2, "宋体", "SimSun", False),
    "hei": (3, "黑体", "SimHei", False),
    "title": (4, "方正小标宋简体", "FZXiaoBiaoSong-B05S", False),
    "latin": (5, "Times New Roman", "Times New Roman", False),
    "latin-bold": (6, "TimesNewRomanPS-BoldMT", "Times New Roman", True),
}
# Characters a line may not start with (they hang past the margin) or end with.
_NO_START = "，。、；：？！）》」』”’…%,.;:?!)]"
_NO_END = "（《「『“‘([★"
_WORD = re.compile(r"[A-Za-z0-9.%]+|.", re.S)


@dataclass
class _Line:
    """One typeset line: text, where its baseline starts (points) and each glyph's advance."""

    page: int
    text: str
    x: float
    baseline: float
    size: float
    font: str
    bold: bool = False
    advances: list[float] = field(default_factory=list)
    role: str = "body"  # body, heading, masthead, header, footer
    colour: str = "0 0 0"


def advance(char: str) -> float:
    """A glyph's advance as a share of the type size: full width for CJK and for the
    characters Chinese fonts set full width (★, “”, —), half otherwise."""
    return 1.0 if unicodedata.east_asian_width(char) in "WFA" else 0.5


def wrap(text: str, size: float, width: float, indent: float = 0.0) -> list[str]:
    """Greedy CJK line breaking: Latin words and numbers are never split, closing
    punctuation hangs past the margin rather than start a line."""
    lines: list[str] = []
    current, used, limit = "", 0.0, width - indent
    for word in _WORD.findall(text):
        w = sum(advance(c) for c in word) * size
        if current and used + w > limit + 1e-6 and not (len(word) == 1 and word in _NO_START):
            carry = ""
            while current and current[-1] in _NO_END:
                carry, current = current[-1] + carry, current[:-1]
            lines.append(current.rstrip())
            current, used, limit = carry, sum(advance(c) for c in carry) * size, width
            if word.isspace() and not current:
                continue
        current += word
        used += w
    if current.strip():
        lines.append(current.rstrip())
    return lines


class _Flow:
    """Lines flowed down A4 pages with synth's margins, in points."""

    def __init__(self) -> None:
        self.lines: list[_Line] = []
        self.page = 1
        self.top = TOP / MM + PADDING
        self.y = self.top
        self.width = (PAGE_W - LEFT - RIGHT) / MM - 2 * PADDING
        self.left = LEFT / MM + PADDING
        self.bottom = (PAGE_H - BOTTOM) / MM - PADDING

    def new_page(self) -> None:
        self.page += 1
        self.y = self.top

    def space(self, points: float) -> None:
        if self.y > self.top + 1e-6:
            self.y += points

    def paragraph(
        self,
        text: str,
        size: float,
        leading: float,
        *,
        indent: float = 0.0,
        align: str = "justify",
        font: str = "song",
        bold: bool = False,
        role: str = "body",
        colour: str = "0 0 0",
    ) -> None:
        rows = wrap(text, size, self.width, indent)
        # No orphans (reportlab's default): a paragraph whose first line alone would fit
        # starts on the next page.
        if len(rows) > 1 and self.y + 2 * leading > self.bottom + 1e-6:
            self.new_page()
        for k, row in enumerate(rows):
            if self.y + leading > self.bottom + 1e-6:
                self.new_page()
            first = k == 0
            last = k == len(rows) - 1
            advances = [advance(c) * size for c in row]
            natural = sum(advances)
            room = self.width - (indent if first else 0.0)
            x = self.left + (indent if first else 0.0)
            if align == "centre":
                x = self.left + (self.width - natural) / 2
            elif align == "justify" and not last and len(row) > 1 and natural < room:
                extra = (room - natural) / (len(row) - 1)
                advances = [a + extra for a in advances[:-1]] + advances[-1:]
            self.lines.append(
                _Line(
                    page=self.page,
                    text=row,
                    x=x,
                    baseline=self.y + size,
                    size=size,
                    font=font,
                    bold=bold,
                    advances=advances,
                    role=role,
                    colour=colour,
                )
            )
            self.y += leading


def layout(spec: BulletinSpec) -> tuple[list[_Line], int]:
    """Every line of ``spec`` on its page, and the number of pages, as synth lays them out."""
    size = spec.font_size
    flow = _Flow()

    def spaced(text: str) -> str:
        if spec.spaced_digits:
            return re.sub(r"(?<=[\u4e00-\u9fff])(?=[0-9])|(?<=[0-9])(?=[\u4e00-\u9fff])", " ", text)
        return text

    masthead = size + 8
    flow.paragraph(
        spec.title, masthead, masthead * 1.5, align="centre", font="title", role="masthead", colour="255 0 0"
    )
    flow.space(size * 0.6)
    for line in (spec.issue, *spec.issuer, spec.date):
        flow.paragraph(line, size, size * 1.6, align="centre")
    flow.space(size)
    if spec.toc:
        for line in spec.toc:
            flow.paragraph(line, size, size * 1.6, align="left")
        flow.new_page()
    head = size + 2
    for heading, paragraphs in spec.sections:
        if heading:
            flow.space(head * 0.6)
            flow.paragraph(heading, head, head * 1.6, align="centre", font="hei", bold=True, role="heading")
            flow.space(head * 0.6)
        for text in paragraphs:
            flow.paragraph(spaced(text), size, size * 1.6, indent=2 * size)
    if spec.closing:
        flow.space(size)
        for line in spec.closing:
            flow.paragraph(line, size, size * 1.6, align="left")
    pages = flow.page
    header = spec.title if spec.header is None else spec.header
    footer = FOOTERS[spec.footer]
    centre = PAGE_W / MM / 2
    for n in range(1, pages + 1):
        if n > 1 and header:
            flow.lines.append(_furniture(n, header, centre, 12 / MM, "header"))
        if footer:
            flow.lines.append(_furniture(n, footer.format(n=n), centre, (PAGE_H - 10) / MM, "footer"))
    return flow.lines, pages


def _furniture(page: int, text: str, centre: float, baseline: float, role: str) -> _Line:
    advances = [advance(c) * 9 for c in text]
    return _Line(page, text, centre - sum(advances) / 2, baseline, 9, "song", advances=advances, role=role)


def _num(value: float) -> str:
    """A coordinate in millimetres, three decimals at most."""
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def delta_x(advances: list[float], scale: float = 1.0) -> str:
    """DeltaX for glyph advances (points): millimetres, runs of three or more equal values
    written in the ``g N V`` form."""
    values = [_num(a * MM / scale) for a in advances]
    out: list[str] = []
    i = 0
    while i < len(values):
        j = i
        while j < len(values) and values[j] == values[i]:
            j += 1
        out.append(f"g {j - i} {values[i]}" if j - i >= 3 else " ".join(values[i:j]))
        i = j
    return " ".join(out)


def _runs(line: _Line, split: bool) -> list[tuple[str, float, list[float], str]]:
    """(text, x in points, advances, font key) pieces of a line: Latin and digits set apart
    in a second font when ``split``."""
    if not split:
        return [(line.text, line.x, line.advances, line.font)]
    out: list[tuple[str, float, list[float], str]] = []
    x = line.x
    for piece in re.findall(r"[A-Za-z0-9.%]+|[^A-Za-z0-9.%]+", line.text):
        n = len(piece)
        k = sum(len(t) for t, *_ in out)
        latin = piece[0].isascii() and piece[0].isalnum()
        font = ("latin-bold" if line.bold else "latin") if latin else line.font
        out.append((piece, x, line.advances[k : k + n], font))
        x += sum(line.advances[k : k + n])
    return out


class _Ids:
    def __init__(self) -> None:
        self.last = 10

    def __call__(self) -> int:
        self.last += 1
        return self.last


def _text_objects(lines: list[_Line], ids: _Ids, *, split: bool, ctm_headings: bool) -> list[str]:
    out = []
    for line in lines:
        for text, x, advances, font in _runs(line, split):
            if not text.strip():
                continue
            size_mm = line.size * MM
            scale = 2.0 if ctm_headings and line.role == "heading" else 1.0
            width = sum(advances[:-1]) * MM + advance(text[-1]) * size_mm
            top = (line.baseline - ASCENT * line.size) * MM
            attrs = {
                "ID": str(ids()),
                "Boundary": " ".join(_num(v) for v in (x * MM, top, width, size_mm * 1.2)),
                "Font": str(FONTS[font][0]),
                "Size": _num(size_mm / scale),
            }
            if line.bold:
                attrs["Weight"] = "700"
            if scale != 1.0:
                attrs["CTM"] = f"{_num(scale)} 0 0 {_num(scale)} 0 0"
            code = {"X": "0", "Y": _num(ASCENT * size_mm / scale)}
            if len(text) > 1:
                code["DeltaX"] = delta_x(advances[:-1], scale)
            out.append(
                "<ofd:TextObject "
                + " ".join(f"{k}={quoteattr(v)}" for k, v in attrs.items())
                + f'><ofd:FillColor Value="{line.colour}"/><ofd:TextCode '
                + " ".join(f"{k}={quoteattr(v)}" for k, v in code.items())
                + f">{escape(text)}</ofd:TextCode></ofd:TextObject>"
            )
    return out


def _page_xml(objects: list[str], layer_id: int, templates: list[int], area: bool) -> str:
    parts = [f'<?xml version="1.0" encoding="UTF-8"?>\n<ofd:Page xmlns:ofd="{NS}">']
    parts += [f'<ofd:Template TemplateID="{t}" ZOrder="Background"/>' for t in templates]
    if area:
        parts.append(f"<ofd:Area><ofd:PhysicalBox>0 0 {_num(PAGE_W)} {_num(PAGE_H)}</ofd:PhysicalBox></ofd:Area>")
    parts.append(f'<ofd:Content><ofd:Layer ID="{layer_id}" Type="Body">')
    parts += objects
    parts.append("</ofd:Layer></ofd:Content></ofd:Page>")
    return "\n".join(parts)


def render_ofd(
    spec: BulletinSpec,
    out: Path,
    *,
    split_runs: bool = True,
    ctm_headings: bool = True,
    templates: bool = True,
    page_area: str = "document",
    shuffle: bool = False,
) -> Path:
    """Write ``spec`` as an OFD file.

    Args:
        spec: the bulletin's content (:func:`helpers.samples.sample_spec`,
            :func:`helpers.synth.spec_from_bulletin`).
        out: the file to write.
        split_runs: Latin letters and digits in a second font, as separate text objects.
        ctm_headings: section headings drawn at half size through a CTM scaling by two.
        templates: the masthead (page 1) and the running header (later pages) in template pages.
        page_area: ``document`` (one PhysicalBox in CommonData) or ``page`` (one per page,
            and none for the document).
        shuffle: write each page's text objects in a random (seeded) order.

    Returns:
        ``out``.
    """
    lines, pages = layout(spec)
    ids = _Ids()
    in_template = {"masthead", "header"} if templates else set()
    masthead_tpl, header_tpl = ids(), ids()
    files: dict[str, str] = {}
    rng = random.Random(20210612)
    page_ids = []
    for n in range(1, pages + 1):
        objects = _text_objects(
            [ln for ln in lines if ln.page == n and ln.role not in in_template],
            ids,
            split=split_runs,
            ctm_headings=ctm_headings,
        )
        if shuffle:
            rng.shuffle(objects)
        used = [] if not templates else [masthead_tpl] if n == 1 else [header_tpl]
        layer = ids()
        files[f"Doc_0/Pages/Page_{n - 1}/Content.xml"] = _page_xml(objects, layer, used, page_area == "page")
        page_ids.append(ids())
    template_xml = ""
    if templates:
        for tpl, n, role, k in ((masthead_tpl, 1, "masthead", 0), (header_tpl, 2, "header", 1)):
            objects = _text_objects(
                [ln for ln in lines if ln.page == n and ln.role == role], ids, split=split_runs, ctm_headings=False
            )
            files[f"Doc_0/Tpls/Tpl_{k}/Content.xml"] = _page_xml(objects, ids(), [], False)
            template_xml += f'<ofd:TemplatePage ID="{tpl}" BaseLoc="Tpls/Tpl_{k}/Content.xml"/>'
    area = (
        ""
        if page_area == "page"
        else f"<ofd:PageArea><ofd:PhysicalBox>0 0 {_num(PAGE_W)} {_num(PAGE_H)}</ofd:PhysicalBox></ofd:PageArea>"
    )
    pages_xml = "".join(
        f'<ofd:Page ID="{pid}" BaseLoc="Pages/Page_{k}/Content.xml"/>' for k, pid in enumerate(page_ids)
    )
    files["Doc_0/Document.xml"] = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<ofd:Document xmlns:ofd="{NS}"><ofd:CommonData>'
        f"<ofd:MaxUnitID>{ids.last}</ofd:MaxUnitID>{area}"
        "<ofd:PublicRes>PublicRes.xml</ofd:PublicRes><ofd:DocumentRes>DocumentRes.xml</ofd:DocumentRes>"
        f"{template_xml}</ofd:CommonData><ofd:Pages>{pages_xml}</ofd:Pages></ofd:Document>"
    )
    fonts = "".join(
        f"<ofd:Font ID={quoteattr(str(i))} FontName={quoteattr(name)} FamilyName={quoteattr(family)}"
        + (' Bold="true"' if bold else "")
        + "/>"
        for i, name, family, bold in FONTS.values()
    )
    files["Doc_0/PublicRes.xml"] = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<ofd:Res xmlns:ofd="{NS}" BaseLoc="Res">'
        f"<ofd:Fonts>{fonts}</ofd:Fonts></ofd:Res>"
    )
    files["Doc_0/DocumentRes.xml"] = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<ofd:Res xmlns:ofd="{NS}" BaseLoc="Res">'
        '<ofd:ColorSpaces><ofd:ColorSpace ID="1" Type="RGB" BitsPerComponent="8"/></ofd:ColorSpaces></ofd:Res>'
    )
    files["OFD.xml"] = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<ofd:OFD xmlns:ofd="{NS}" Version="1.0" DocType="OFD">'
        "<ofd:DocBody><ofd:DocInfo><ofd:DocID>6c1f3a9e2b7d4e0f8a5c9d2e1b3f4a6c</ofd:DocID>"
        f"<ofd:Title>{escape(spec.title)}</ofd:Title><ofd:Author>bulletins tests</ofd:Author>"
        "<ofd:CreationDate>2021-06-12</ofd:CreationDate><ofd:Creator>helpers.ofd</ofd:Creator></ofd:DocInfo>"
        "<ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>"
    )
    out = Path(out)
    write_package(out, files)
    return out


def write_package(out: Path, files: dict[str, str | bytes]) -> Path:
    """Zip ``files`` (name → XML) into an OFD package, OFD.xml first, with fixed dates."""
    order = sorted(files, key=lambda name: (name != "OFD.xml", name))
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in order:
            info = zipfile.ZipInfo(name, date_time=(2021, 6, 12, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            data = files[name]
            zf.writestr(info, data.encode("utf-8") if isinstance(data, str) else data)
    return out


def one_page(objects: str, *, document_area: str | None = "0 0 210 297", page_area: str | None = None) -> dict:
    """The parts of a one-page OFD whose page holds ``objects`` (TextObject XML), for small
    hand-written cases; edit the dict and pass it to :func:`write_package`."""
    area = f"<ofd:PageArea><ofd:PhysicalBox>{document_area}</ofd:PhysicalBox></ofd:PageArea>" if document_area else ""
    page_box = f"<ofd:Area><ofd:PhysicalBox>{page_area}</ofd:PhysicalBox></ofd:Area>" if page_area else ""
    return {
        "OFD.xml": f'<?xml version="1.0" encoding="UTF-8"?>\n<ofd:OFD xmlns:ofd="{NS}" Version="1.0" DocType="OFD">'
        "<ofd:DocBody><ofd:DocInfo><ofd:DocID>0</ofd:DocID></ofd:DocInfo>"
        "<ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>",
        "Doc_0/Document.xml": f'<?xml version="1.0" encoding="UTF-8"?>\n<ofd:Document xmlns:ofd="{NS}">'
        f"<ofd:CommonData><ofd:MaxUnitID>99</ofd:MaxUnitID>{area}<ofd:PublicRes>PublicRes.xml</ofd:PublicRes>"
        '</ofd:CommonData><ofd:Pages><ofd:Page ID="1" BaseLoc="Pages/Page_0/Content.xml"/></ofd:Pages></ofd:Document>',
        "Doc_0/PublicRes.xml": f'<?xml version="1.0" encoding="UTF-8"?>\n<ofd:Res xmlns:ofd="{NS}" BaseLoc="Res">'
        '<ofd:Fonts><ofd:Font ID="2" FontName="宋体"/><ofd:Font ID="3" FontName="SimHei-Bold"/></ofd:Fonts></ofd:Res>',
        "Doc_0/Pages/Page_0/Content.xml": f'<?xml version="1.0" encoding="UTF-8"?>\n<ofd:Page xmlns:ofd="{NS}">'
        f'{page_box}<ofd:Content><ofd:Layer ID="4">{objects}</ofd:Layer></ofd:Content></ofd:Page>',
    }


def main(argv: list[str] | None = None) -> int:
    """``PYTHONPATH=tests python -m helpers.ofd SOURCE OUT.ofd``: typeset a bulletin as an OFD file."""
    from helpers.synth import spec_from_bulletin
    from pipeline.ingest import read_bulletin

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: PYTHONPATH=tests python -m helpers.ofd SOURCE OUT.ofd", file=sys.stderr)
        return 2
    render_ofd(spec_from_bulletin(read_bulletin(Path(args[0])), spaced_digits=False), Path(args[1]))
    print(args[1])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
