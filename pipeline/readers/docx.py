"""Word (.docx) reader: the only module that imports python-docx.

Hostile files are refused before python-docx inflates anything: the ZIP's directory gives
every part's uncompressed size, which caps what reading can expand to (a part that inflates
past its declared size fails its CRC check). Reading is linear in the paragraphs: styles are
looked up once per style id, not once per paragraph.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

from pipeline.documents import Line, Page
from pipeline.errors import CorruptFileError, EmptyFileError, LimitError

#: Default caps on a .docx's XML (``pipeline.readers.registry.Limits`` passes the user's):
#: the uncompressed size of any XML part (``word/document.xml`` above all), and how many
#: times its compressed size a large part may inflate to (real documents: 5-30 times; a
#: ZIP bomb: hundreds to a thousand).
MAX_XML_BYTES = 100 * 1024 * 1024
MAX_XML_RATIO = 200.0
#: Parts smaller than this are not held to the ratio (tiny parts compress wildly).
RATIO_FLOOR = 1024 * 1024

_HINT = "check that this is a real bulletin; raise the limit (--max-xml, --max-xml-ratio) if it is"


def check_package(
    path: Path, max_xml_bytes: int | None = MAX_XML_BYTES, max_ratio: float | None = MAX_XML_RATIO
) -> None:
    """Refuse a .docx whose XML would inflate beyond the limits, from the ZIP's directory only.

    Args:
        path: the Word file.
        max_xml_bytes: the largest uncompressed XML part, and (with the other parts) the
            largest total; ``None``: no cap.
        max_ratio: the largest uncompressed/compressed ratio of a part over
            :data:`RATIO_FLOOR` bytes; ``None``: no cap.

    Raises:
        LimitError: a part or the whole would inflate past a limit.
        CorruptFileError: the ZIP directory cannot be read.
    """
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise CorruptFileError(
            f"expected a readable Word file, found a damaged one ({type(exc).__name__})",
            path,
            "open and re-save it in Word/WPS, or export a PDF",
        ) from None
    total = 0
    for info in infos:
        total += info.file_size
        is_xml = info.filename.lower().endswith((".xml", ".rels"))
        if max_xml_bytes is not None and is_xml and info.file_size > max_xml_bytes:
            raise LimitError(
                f"expected XML parts of at most {max_xml_bytes} bytes, found {info.filename} "
                f"inflating to {info.file_size}",
                path,
                _HINT,
            )
        if max_ratio is not None and info.file_size > RATIO_FLOOR:
            ratio = info.file_size / max(info.compress_size, 1)
            if ratio > max_ratio:
                raise LimitError(
                    f"expected parts compressed at most {max_ratio:g} to 1, found {info.filename} "
                    f"inflating {ratio:.0f} times (a ZIP bomb?)",
                    path,
                    _HINT,
                )
    if max_xml_bytes is not None and total > 4 * max_xml_bytes:
        raise LimitError(
            f"expected a Word file inflating to at most {4 * max_xml_bytes} bytes, found {total}", path, _HINT
        )


def read_docx(
    path: Path, max_xml_bytes: int | None = MAX_XML_BYTES, max_ratio: float | None = MAX_XML_RATIO
) -> tuple[Page, ...]:
    """Read a .docx file's body paragraphs (tables included, row by row) as one page.

    Args:
        path: the Word file.
        max_xml_bytes: see :func:`check_package`.
        max_ratio: see :func:`check_package`.

    Returns:
        A single page whose lines are the document's paragraphs; headings (by style or
        all-bold runs) are marked bold.

    Raises:
        CorruptFileError: python-docx cannot parse the file.
        EmptyFileError: no paragraph holds text.
        LimitError: the XML would inflate beyond the limits.
    """
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    check_package(path, max_xml_bytes, max_ratio)
    try:
        document = docx.Document(str(path))
    except Exception as exc:  # python-docx surfaces zip, XML and key errors alike
        raise CorruptFileError(
            f"expected a readable Word file, found a damaged one ({type(exc).__name__})",
            path,
            "open and re-save it in Word/WPS, or export a PDF",
        ) from None
    styles: dict[str | None, str] = {}  # style id -> lower-case name: python-docx scans every style per lookup
    lines: list[Line] = []
    for item in document.iter_inner_content():
        paragraphs = (
            [item]
            if isinstance(item, Paragraph)
            else [p for row in item.rows for cell in row.cells for p in cell.paragraphs]
            if isinstance(item, Table)
            else []
        )
        for para in paragraphs:
            style_id = para._p.style
            if style_id not in styles:
                style = para.style
                styles[style_id] = (style.name or "").lower() if style is not None else ""
            text, runs = _paragraph(para._p)
            bold = styles[style_id].startswith(("heading", "title")) or (
                bool(runs) and all(_run_bold(r, para) for r in runs)
            )
            lines.append(Line(text=text, bold=bold))
    if not any(line.text.strip() for line in lines):
        raise EmptyFileError("the Word file holds no text", path, "check that this is the right file")
    return (Page(number=1, lines=tuple(lines)),)


def _run_bold(r: Any, para: Any) -> bool:
    from docx.text.run import Run

    return bool(Run(r, para).bold)


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_R, _HYPERLINK, _T = _W + "r", _W + "hyperlink", _W + "t"
#: Run content python-docx turns into text (``CT_R.text``), besides ``w:t``.
_RUN_CONTENT = frozenset(_W + name for name in ("br", "cr", "noBreakHyphen", "ptab", "tab"))


def _paragraph(p: Any) -> tuple[str, list[Any]]:
    """A paragraph's text, as python-docx reads it (its runs and its hyperlinks' runs, in
    order), and its own runs that hold more than white space (those decide boldness).

    Children are walked directly (python-docx's XPath per run costs about 60 µs), and a
    ``w:t`` keeps the text after an unexpanded entity reference, which python-docx drops.
    """
    parts: list[str] = []
    runs = []
    for e in p.iterchildren(_R, _HYPERLINK):
        if e.tag == _R:
            text = _run_text(e)
            parts.append(text)
            if text.strip():
                runs.append(e)
        else:
            parts.extend(_run_text(r) for r in e.iterchildren(_R))
    return "".join(parts), runs


def _run_text(r: Any) -> str:
    out = []
    for e in r.iterchildren():
        if e.tag == _T:
            # Entities are never expanded (python-docx parses with resolve_entities=False):
            # the reference itself is left out, the text after it kept.
            out.append((e.text or "") + "".join(child.tail or "" for child in e))
        elif e.tag in _RUN_CONTENT:
            out.append(str(e))
    return "".join(out)


def docx_version() -> str:
    """``python-docx X.Y.Z``: recorded with every bulletin it reads."""
    from importlib.metadata import version

    return f"python-docx {version('python-docx')}"
