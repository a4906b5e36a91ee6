"""Frozen dataclasses passed between the stages before classification."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Line:
    """One visual line (PDF) or one line/paragraph (text, Word) as the reader found it.

    Geometry is in PDF points from the page's top-left corner; readers without layout
    (plain text, Word) leave it at ``None``.
    """

    text: str
    x0: float | None = None
    x1: float | None = None
    top: float | None = None
    bottom: float | None = None
    size: float | None = None
    bold: bool = False
    #: OCR confidence (0-1) of a line read from a page image; ``None`` for a text layer.
    confidence: float | None = None


@dataclass(frozen=True)
class Page:
    """A page of lines; plain text has one page per form feed."""

    number: int
    lines: tuple[Line, ...]
    width: float | None = None
    height: float | None = None


@dataclass(frozen=True)
class RawDocument:
    """What a reader extracted from one file, before any cleaning.

    Attributes:
        path: the file read.
        kind: ``pdf``, ``text`` or ``docx`` (detected from content, not the suffix).
        pages: the pages in reading order.
        sha256: hash of the file's bytes, for incremental batches.
        layout: whether lines carry geometry (PDF) or are already paragraphs (Word).
        warnings: extraction-quality notes for this file.
        reader: the library and version that read it (``pdfplumber 0.11.10``), and which
            pages another engine read, so that a stored result can be traced and redone.
    """

    path: Path
    kind: str
    pages: tuple[Page, ...]
    sha256: str
    layout: bool = False
    paragraphs: bool = False
    warnings: tuple[str, ...] = ()
    reader: str = ""


@dataclass(frozen=True)
class PdfText:
    """What a PDF engine read: the pages, the engine (with version) that read them, and notes
    for the file's warnings (e.g. scanned pages left unread without the OCR extra)."""

    pages: tuple[Page, ...]
    reader: str
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Block:
    """A run of lines the cleaner believes is one paragraph or heading on one page.

    Attributes:
        text: normalised text.
        page: page number where the block starts.
        open_end: the block stops mid-sentence (no closing punctuation, or a full last
            line at a page break) and may continue in the next block.
        heading: ``True``/``False`` when layout decides it (centred, larger or bold
            type); ``None`` when only the text can tell.
        indented: the block's first line is indented (a paragraph start), ``None`` when
            unknown.
        page_break_after: a page break follows this block.
    """

    text: str
    page: int
    open_end: bool
    heading: bool | None = None
    indented: bool | None = None
    page_break_after: bool = False
    #: Mean OCR confidence of the block's lines, ``None`` when they came from a text layer.
    confidence: float | None = None


@dataclass(frozen=True)
class CleanDocument:
    """Blocks with page furniture removed and text normalised."""

    path: Path
    kind: str
    sha256: str
    blocks: tuple[Block, ...]
    warnings: tuple[str, ...] = ()
    layout: bool = False
    reader: str = ""


@dataclass(frozen=True)
class Passage:
    """One article paragraph with its place in the bulletin.

    ``start``/``end`` are character offsets into :attr:`Bulletin.text`.
    """

    index: int
    text: str
    section: str
    subsection: str
    unit: str
    region: str
    date: str | None
    page: int
    start: int
    end: int
    #: Mean OCR confidence (0-1) of the lines the passage was read from; ``None`` for text.
    ocr_confidence: float | None = None


@dataclass(frozen=True)
class Bulletin:
    """A structured bulletin: metadata, table of contents and passages."""

    path: Path
    sha256: str
    title: str
    year: int | None
    issue_no: int | None
    issuer: str
    date: str | None
    toc: tuple[str, ...]
    sections: tuple[str, ...]
    closing: tuple[tuple[str, str], ...]
    passages: tuple[Passage, ...]
    text: str
    warnings: tuple[str, ...] = field(default=())
    #: The library and version that read the file (see :attr:`RawDocument.reader`).
    reader: str = ""
