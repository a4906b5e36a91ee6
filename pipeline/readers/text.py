"""Plain-text reader: UTF-8 (with or without BOM), UTF-16 with BOM, or GB18030.

GB18030 is a superset of GBK and GB2312, common in government archives. A form feed
starts a new page.
"""

from __future__ import annotations

import codecs
from pathlib import Path

from pipeline.documents import Line, Page, RawDocument
from pipeline.errors import EmptyFileError, UnknownFormatError
from pipeline.readers.checks import quality_warnings


def decode_text(data: bytes, path: Path) -> str:
    """Decode plain-text bytes, detecting the encoding from the content (see :func:`decode`)."""
    return decode(data, path)[0]


def decode(data: bytes, path: Path) -> tuple[str, str]:
    """Decode plain-text bytes, detecting the encoding from the content.

    Args:
        data: the file's bytes.
        path: for error messages.

    Returns:
        The decoded text and the encoding's name (``utf-8``, ``utf-8-sig``, ``utf-16``,
        ``gb18030``).

    Raises:
        UnknownFormatError: the bytes are binary, or neither UTF-8/16 nor GB18030.
    """
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :].decode("utf-8", errors="replace"), "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", errors="replace"), "utf-16"
    if b"\x00" in data[:8192]:
        raise UnknownFormatError(
            "expected a PDF, .docx or text file, found binary data", path, "check that this is a bulletin"
        )
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError:
        raise UnknownFormatError(
            "expected text in UTF-8 or GBK/GB18030, found neither",
            path,
            "re-save the file as UTF-8",
        ) from None


def read_text(path: Path, data: bytes, sha: str) -> RawDocument:
    text, encoding = decode(data, path)
    if not text.strip():
        raise EmptyFileError("the file holds only white space", path, "re-export the bulletin")
    pages = tuple(
        Page(number=i, lines=tuple(Line(text=t) for t in chunk.splitlines()))
        for i, chunk in enumerate(text.split("\f"), start=1)
    )
    return RawDocument(
        path=path, kind="text", pages=pages, sha256=sha, warnings=quality_warnings(pages), reader=f"text {encoding}"
    )
