"""OFD reader (GB/T 33190, China's fixed-layout format): text and line geometry.

The only module that imports lxml. An OFD file is a ZIP package: ``OFD.xml`` names the
document (``DocBody/DocRoot``, e.g. ``Doc_0/Document.xml``), whose ``CommonData`` gives the
default page box, the resource files (fonts) and the template pages, and whose ``Pages``
list each page's ``Content.xml``. Text is drawn by ``TextObject`` elements (font, size,
weight, a ``Boundary`` box and an optional ``CTM``) holding ``TextCode`` elements: a baseline
point ``X``/``Y`` relative to the object's box and the advances between glyphs ``DeltaX``
(``g N V`` stands for N times V).

Every glyph is placed on the page (templates included), glyphs are grouped into visual
lines by baseline (within 3 pt, as pdfplumber does) and ordered left to right, and each
line becomes a :class:`~pipeline.documents.Line` in points from the page's top-left corner,
like a PDF's: the layout cleaner and structure then treat the file as a PDF.

Parsing is defensive: part sizes and counts are capped, XML entities are never expanded
and nothing is fetched from the network; a damaged package is a :class:`CorruptFileError`
naming the file and the part.
"""

from __future__ import annotations

import functools
import itertools
import math
import posixpath
import statistics
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.documents import Line, Page
from pipeline.errors import CorruptFileError, EmptyFileError, ImageOnlyError

#: Points per millimetre (OFD's unit).
PT_PER_MM = 72 / 25.4
#: Glyphs whose baselines lie within this many points are one visual line (pdfplumber's y tolerance).
Y_TOLERANCE = 3.0
#: A gap wider than this many points between two text runs on a line is a space (pdfplumber's x tolerance).
X_TOLERANCE = 3.0
#: The same character drawn again within this many points is a fake-bold copy.
DEDUPE_TOLERANCE = 1.0
#: A glyph's ascent and descent as shares of its size (for a line's top and bottom).
ASCENT, DESCENT = 0.88, 0.12
#: A4 portrait in millimetres, when neither the page nor the document gives a page box.
DEFAULT_BOX = (0.0, 0.0, 210.0, 297.0)

#: Safety limits: package entries, one part's uncompressed size, nesting of page blocks and
#: composite objects, glyphs in the whole file.
MAX_ENTRIES = 20_000
MAX_PART = 64 * 1024 * 1024
MAX_DEPTH = 16
MAX_GLYPHS = 5_000_000

_HINT = "re-export or re-download it (OFD or PDF)"

Affine = tuple[float, float, float, float, float, float]
_IDENTITY: Affine = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
#: Numbers the TextCodes, so that a line knows which glyphs one code drew.
_RUNS = itertools.count()


@dataclass(frozen=True)
class _Font:
    name: str
    bold: bool


@dataclass(slots=True)
class _Glyph:
    char: str
    x: float  # left edge, points from the page box's left
    y: float  # baseline, points from the page box's top
    width: float  # estimated advance, points
    size: float  # points
    bold: bool
    run: int  # which TextCode drew it: spaces are only inserted between runs


def reader_version() -> str:
    """``ofd (stdlib+lxml X.Y.Z)``: recorded with every bulletin it reads."""
    from importlib.metadata import version

    return f"ofd (stdlib+lxml {version('lxml')})"


def read_ofd(path: Path) -> tuple[tuple[Page, ...], tuple[str, ...]]:
    """Read an OFD file's text with positions.

    Args:
        path: the OFD file.

    Returns:
        The pages (lines with geometry in points) and warnings about the file.

    Raises:
        CorruptFileError: a damaged package (not a ZIP, a missing or malformed part).
        ImageOnlyError: pages with images and no text (a scan: it needs OCR).
        EmptyFileError: no pages, or pages with no text.
    """
    try:
        with zipfile.ZipFile(path) as zf:
            package = _Package(zf, path)
            return _read(package, path)
    except zipfile.BadZipFile:
        raise CorruptFileError("expected a complete OFD (ZIP) package, found a damaged one", path, _HINT) from None
    except (OSError, EOFError) as exc:
        raise CorruptFileError(f"expected a readable OFD package, found a damaged one ({exc})", path, _HINT) from None


class _Package:
    """The parts of an OFD package: lookup by location, size limits, safe XML parsing."""

    def __init__(self, zf: zipfile.ZipFile, path: Path) -> None:
        from lxml import etree

        infos = zf.infolist()
        if len(infos) > MAX_ENTRIES:
            raise CorruptFileError(f"expected an OFD package, found one with {len(infos)} parts", path, _HINT)
        self.zf = zf
        self.path = path
        self.entries = {_normal(i.filename): i for i in infos if not i.is_dir()}
        self.folded = {name.casefold(): name for name in self.entries}
        self.parser = etree.XMLParser(
            resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_comments=True
        )
        self.etree = etree

    def find(self, base: str, location: str | None) -> str | None:
        """The entry a location refers to: relative to ``base``'s folder, or from the root
        (producers write both), matched without case as a last resort."""
        location = (location or "").strip().replace("\\", "/")
        if not location:
            return None
        candidates = [location] if location.startswith("/") else [posixpath.join(posixpath.dirname(base), location)]
        candidates.append(location)
        for candidate in candidates:
            name = _normal(posixpath.normpath(candidate))
            if name.startswith("../"):
                continue
            if name in self.entries:
                return name
            if name.casefold() in self.folded:
                return self.folded[name.casefold()]
        return None

    def xml(self, name: str) -> Any:
        """Parse one part; a damaged or oversized part is a CorruptFileError naming it."""
        info = self.entries[name]
        if info.file_size > MAX_PART:
            raise CorruptFileError(
                f"expected OFD parts of at most {MAX_PART} bytes, found {name} of {info.file_size}", self.path, _HINT
            )
        try:
            with self.zf.open(info) as fh:
                data = fh.read(MAX_PART + 1)
        except (zipfile.BadZipFile, zlib.error, RuntimeError, NotImplementedError, EOFError, OSError) as exc:
            raise CorruptFileError(
                f"expected a readable {name}, found a damaged one ({type(exc).__name__})", self.path, _HINT
            ) from None
        if len(data) > MAX_PART:
            raise CorruptFileError(
                f"expected OFD parts of at most {MAX_PART} bytes, found a larger {name}", self.path, _HINT
            )
        try:
            return self.etree.fromstring(data, self.parser)
        except self.etree.XMLSyntaxError as exc:
            if b"encoding" not in data[:100]:
                # Undeclared GBK text from Chinese producers: retry decoded as GB18030.
                try:
                    return self.etree.fromstring(data.decode("gb18030").encode("utf-8"), self.parser)
                except (UnicodeDecodeError, self.etree.XMLSyntaxError):
                    pass
            raise CorruptFileError(
                f"expected well-formed XML in {name}, found a damaged part ({_one_line(exc)})", self.path, _HINT
            ) from None


def _read(package: _Package, path: Path) -> tuple[tuple[Page, ...], tuple[str, ...]]:
    entry = next((n for n in package.entries if "/" not in n and n.casefold() == "ofd.xml"), None)
    if entry is None:
        raise CorruptFileError("expected an OFD package with OFD.xml at its root, found none", path, _HINT)
    root = package.xml(entry)
    bodies = _children(root, "DocBody")
    warnings: list[str] = []
    if len(bodies) > 1:
        warnings.append(f"the OFD holds {len(bodies)} documents; only the first was read")
    doc_root = _text(_child(bodies[0], "DocRoot")) if bodies else None
    document = package.find(entry, doc_root)
    if document is None:
        found = f"no {doc_root}" if doc_root else "no DocRoot in OFD.xml"
        raise CorruptFileError(f"expected the OFD's Document.xml, found {found}", path, _HINT)
    doc = package.xml(document)
    common = _child(doc, "CommonData")
    default_box = _box(_text(_child(_child(common, "PageArea"), "PhysicalBox"))) or DEFAULT_BOX
    fonts: dict[str, _Font] = {}
    units: dict[str, Any] = {}
    templates: dict[str, str] = {}
    for element in _children(common, None):
        name = _local(element)
        if name in ("PublicRes", "DocumentRes"):
            res = package.find(document, _text(element))
            if res is None:
                warnings.append(f"resource file {_text(element)} is missing; fonts assumed regular")
                continue
            _resources(package.xml(res), fonts, units)
        elif name == "TemplatePage":
            tpl = package.find(document, element.get("BaseLoc"))
            if tpl is not None:
                templates[(element.get("ID") or "").strip()] = tpl
            else:
                warnings.append(f"template page {element.get('BaseLoc')} is missing")
    pages: list[Page] = []
    images = 0
    budget = [MAX_GLYPHS]
    template_glyphs: dict[str, tuple[list[_Glyph], int]] = {}
    for number, ref in enumerate(_children(_child(doc, "Pages"), "Page"), start=1):
        location = package.find(document, ref.get("BaseLoc"))
        if location is None:
            raise CorruptFileError(f"expected page {number} at {ref.get('BaseLoc')}, found no such part", path, _HINT)
        page = package.xml(location)
        page_fonts, page_units = fonts, units
        page_res = [r for r in (package.find(location, _text(e)) for e in _children(page, "PageRes")) if r]
        if page_res:
            page_fonts, page_units = dict(fonts), dict(units)
            for part in page_res:
                _resources(package.xml(part), page_fonts, page_units)
        box = _box(_text(_child(_child(page, "Area"), "PhysicalBox"))) or default_box
        glyphs: list[_Glyph] = []
        for tref in _children(page, "Template"):
            tid = (tref.get("TemplateID") or "").strip()
            if tid not in templates:
                warnings.append(f"page {number}: template {tid} is not declared")
                continue
            if tid not in template_glyphs:
                tpl_root = package.xml(templates[tid])
                tpl_glyphs: list[_Glyph] = []
                tpl_images = _collect(tpl_root, page_fonts, page_units, tpl_glyphs, budget, path)
                template_glyphs[tid] = (tpl_glyphs, tpl_images)
            glyphs.extend(template_glyphs[tid][0])
            images += template_glyphs[tid][1]
        images += _collect(page, page_fonts, page_units, glyphs, budget, path)
        pages.append(_page(number, glyphs, box))
    if not pages:
        raise EmptyFileError("the OFD has no pages", path, "re-export the bulletin")
    if not any(line.text.strip() for p in pages for line in p.lines):
        if images:
            raise ImageOnlyError(
                f"the OFD's {len(pages)} page(s) are images with no text",
                path,
                "run OCR first (or export a PDF with a text layer) and pass the result",
            )
        raise EmptyFileError("the OFD's pages hold no text", path, "check that this is the right file")
    return tuple(pages), tuple(warnings)


def _resources(root: Any, fonts: dict[str, _Font], units: dict[str, Any]) -> None:
    """Fonts (ID → name, bold) and composite graphic units from a resource file."""
    for font in _children(_child(root, "Fonts"), "Font"):
        fid = (font.get("ID") or "").strip()
        name = font.get("FontName") or font.get("FamilyName") or ""
        bold = (font.get("Bold") or "").strip().lower() in ("true", "1") or _bold_name(name)
        fonts.setdefault(fid, _Font(name, bold))
    for unit in _children(_child(root, "CompositeGraphicUnits"), "CompositeGraphicUnit"):
        units.setdefault((unit.get("ID") or "").strip(), unit)


def _bold_name(name: str) -> bool:
    low = name.lower()
    return "bold" in low or "heavy" in low or "black" in low or "粗" in name


def _collect(
    page: Any, fonts: dict[str, _Font], units: dict[str, Any], out: list[_Glyph], budget: list[int], path: Path
) -> int:
    """Append the glyphs of a page or template's layers to ``out``; return how many images it draws."""
    images = 0

    def walk(elements: Any, transform: Affine, depth: int) -> None:
        nonlocal images
        for element in elements:
            name = _local(element)
            if name == "TextObject":
                if (element.get("Visible") or "true").strip().lower() != "false":
                    _text_object(element, transform, fonts, out, budget, path)
            elif name == "ImageObject":
                images += 1
            elif depth >= MAX_DEPTH:
                continue
            elif name == "PageBlock":
                walk(element, transform, depth + 1)
            elif name == "CompositeObject":
                unit = units.get((element.get("ResourceID") or "").strip())
                content = _child(unit, "Content")
                if content is not None:
                    walk(content, _compose(transform, _placement(element)), depth + 1)

    for layer in _children(_child(page, "Content"), "Layer"):
        walk(layer, _IDENTITY, 0)
    return images


def _text_object(
    element: Any, outer: Affine, fonts: dict[str, _Font], out: list[_Glyph], budget: list[int], path: Path
) -> None:
    """Place every glyph of a TextObject on the page, in points."""
    a, b, c, d, e, f = _compose(outer, _placement(element))
    size_mm = _float(element.get("Size"), 3.5)
    scale = math.sqrt(abs(a * d - b * c)) or 1.0
    size = size_mm * scale * PT_PER_MM
    font = fonts.get((element.get("Font") or "").strip())
    weight = _float(element.get("Weight"), 400.0)
    bold = weight >= 700 or (font is not None and font.bold)
    x = y = 0.0
    for code in _children(element, "TextCode"):
        # Entities are never expanded: text is the element's own text and its children's tails.
        text = "".join([code.text or "", *((child.tail or "") for child in code)])
        if not text.isprintable():
            # Control characters are dropped; any white space (tab, U+3000) is a plain space glyph.
            text = "".join(
                " " if ch.isspace() else ch for ch in text if ch.isspace() or unicodedata.category(ch) != "Cc"
            )
        if not text:
            continue
        budget[0] -= len(text)
        if budget[0] < 0:
            raise CorruptFileError(f"expected at most {MAX_GLYPHS} glyphs in an OFD, found more", path, _HINT)
        # A TextCode without X or Y continues where the previous one stopped.
        x = _float(code.get("X"), x)
        y = _float(code.get("Y"), y)
        dx = _deltas(code.get("DeltaX"), len(text) - 1)
        dy = _deltas(code.get("DeltaY"), len(text) - 1)
        run = next(_RUNS)
        for i, ch in enumerate(text):
            advance = size_mm * _em(ch)
            out.append(
                _Glyph(
                    ch,
                    (a * x + c * y + e) * PT_PER_MM,
                    (b * x + d * y + f) * PT_PER_MM,
                    advance * scale * PT_PER_MM,
                    size,
                    bold,
                    run,
                )
            )
            x += dx[i] if i < len(dx) else advance
            if i < len(dy):
                y += dy[i]


def _page(number: int, glyphs: list[_Glyph], box: tuple[float, float, float, float]) -> Page:
    """Glyphs → visual lines (baselines within Y_TOLERANCE), left to right, top to bottom."""
    bx, by, bw, bh = (v * PT_PER_MM for v in box)
    margin = 2 * PT_PER_MM
    visible = [g for g in glyphs if bx - margin <= g.x <= bx + bw + margin and by - margin <= g.y <= by + bh + margin]
    visible.sort(key=lambda g: g.y)
    rows: list[list[_Glyph]] = []
    last = -math.inf
    for g in visible:
        if not rows or g.y > last + Y_TOLERANCE:
            rows.append([])
        rows[-1].append(g)
        last = g.y
    lines = [line for line in (_line(row, bx, by) for row in rows) if line is not None]
    return Page(number=number, lines=tuple(lines), width=round(bw, 2), height=round(bh, 2))


def _line(row: list[_Glyph], bx: float, by: float) -> Line | None:
    row.sort(key=lambda g: g.x)
    kept: list[_Glyph] = []
    last_x: dict[str, float] = {}
    for g in row:
        # Fake bold draws a glyph twice a hair apart: keep the first copy.
        if g.x - last_x.get(g.char, -math.inf) <= DEDUPE_TOLERANCE:
            continue
        last_x[g.char] = g.x
        kept.append(g)
    ink = [g for g in kept if g.char.strip()]
    if not ink:
        return None
    text = ""
    prev: _Glyph | None = None
    for g in kept:
        if prev is not None and g.char != " " and prev.char != " ":
            gap = g.x - (prev.x + prev.width)
            # Inside one TextCode the producer wrote the spaces it meant; a jump wider than
            # a character is a gap nonetheless. Between runs, pdfplumber's tolerance.
            if gap > (max(g.size, prev.size) if g.run == prev.run else X_TOLERANCE):
                text += " "
        text += g.char
        prev = g
    sizes = [g.size for g in ink]
    return Line(
        text=text.strip(),
        x0=round(ink[0].x - bx, 2),
        x1=round(max(g.x + g.width for g in ink) - bx, 2),
        top=round(min(g.y - ASCENT * g.size for g in ink) - by, 2),
        bottom=round(max(g.y + DESCENT * g.size for g in ink) - by, 2),
        size=round(statistics.median(sizes), 2),
        bold=sum(g.bold for g in ink) > len(ink) / 2,
    )


# --- small parsers ------------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def _em(char: str) -> float:
    """A glyph's estimated advance in ems: Chinese fonts set CJK and ambiguous-width
    characters (★, “”, —) full width, the rest half."""
    return 1.0 if unicodedata.east_asian_width(char) in "WFA" else 0.5


def _local(element: Any) -> str:
    tag = element.tag
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _children(element: Any, name: str | None) -> list[Any]:
    if element is None:
        return []
    return [c for c in element if isinstance(c.tag, str) and (name is None or _local(c) == name)]


def _child(element: Any, name: str) -> Any:
    found = _children(element, name)
    return found[0] if found else None


def _text(element: Any) -> str | None:
    if element is None or element.text is None:
        return None
    return element.text.strip() or None


def _normal(name: str) -> str:
    name = name.replace("\\", "/")
    while name.startswith(("/", "./")):
        name = name[1:] if name.startswith("/") else name[2:]
    return name


def _float(value: str | None, default: float) -> float:
    try:
        number = float(value) if value is not None else default
    except ValueError:
        return default
    return number if math.isfinite(number) else default


def _numbers(value: str | None, count: int) -> tuple[float, ...] | None:
    try:
        numbers = [float(v) for v in (value or "").replace(",", " ").split()]
    except ValueError:
        return None
    if len(numbers) < count or not all(math.isfinite(n) for n in numbers[:count]):
        return None
    return tuple(numbers[:count])


def _box(value: str | None) -> tuple[float, float, float, float] | None:
    numbers = _numbers(value, 4)
    if numbers is None or numbers[2] <= 0 or numbers[3] <= 0:
        return None
    return numbers[0], numbers[1], numbers[2], numbers[3]


def _deltas(value: str | None, limit: int) -> list[float]:
    """DeltaX/DeltaY values, ``g N V`` expanded to N times V; at most ``limit`` kept, so a
    huge repeat count costs nothing."""
    tokens = (value or "").split()
    out: list[float] = []
    i = 0
    while i < len(tokens) and len(out) < limit:
        if tokens[i] == "g" and i + 2 < len(tokens):
            count, step = int(_float(tokens[i + 1], 0.0)), _float(tokens[i + 2], 0.0)
            out.extend([step] * max(0, min(count, limit - len(out))))
            i += 3
            continue
        number = _float(tokens[i], math.nan)
        if not math.isnan(number):
            out.append(number)
        i += 1
    return out


def _placement(element: Any) -> Affine:
    """Object space → parent space: the object's CTM, then a move to its Boundary's origin."""
    box = _numbers(element.get("Boundary"), 4) or (0.0, 0.0, 0.0, 0.0)
    a, b, c, d, e, f = _numbers(element.get("CTM"), 6) or _IDENTITY
    return a, b, c, d, e + box[0], f + box[1]


def _compose(outer: Affine, inner: Affine) -> Affine:
    """The transform applying ``inner`` first, then ``outer`` (x' = a x + c y + e, y' = b x + d y + f)."""
    A, B, C, D, E, F = outer
    a, b, c, d, e, f = inner
    return (A * a + C * b, B * a + D * b, A * c + C * d, B * c + D * d, A * e + C * f + E, B * e + D * f + F)


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())[:160]
