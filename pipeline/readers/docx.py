"""Word (.docx) reader: the only module that imports python-docx."""

from __future__ import annotations

from pathlib import Path

from pipeline.documents import Line, Page
from pipeline.errors import CorruptFileError, EmptyFileError


def read_docx(path: Path) -> tuple[Page, ...]:
    """Read a .docx file's body paragraphs (tables included, row by row) as one page.

    Args:
        path: the Word file.

    Returns:
        A single page whose lines are the document's paragraphs; headings (by style or
        all-bold runs) are marked bold.

    Raises:
        CorruptFileError: python-docx cannot parse the file.
        EmptyFileError: no paragraph holds text.
    """
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(str(path))
    except Exception as exc:  # python-docx surfaces zip, XML and key errors alike
        raise CorruptFileError(
            f"expected a readable Word file, found a damaged one ({type(exc).__name__})",
            path,
            "open and re-save it in Word/WPS, or export a PDF",
        ) from None
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
            style = (para.style.name or "").lower() if para.style is not None else ""
            runs = [r for r in para.runs if r.text.strip()]
            bold = style.startswith(("heading", "title")) or (bool(runs) and all(r.bold for r in runs))
            lines.append(Line(text=para.text, bold=bold))
    if not any(line.text.strip() for line in lines):
        raise EmptyFileError("the Word file holds no text", path, "check that this is the right file")
    return (Page(number=1, lines=tuple(lines)),)


def docx_version() -> str:
    """``python-docx X.Y.Z``: recorded with every bulletin it reads."""
    from importlib.metadata import version

    return f"python-docx {version('python-docx')}"
