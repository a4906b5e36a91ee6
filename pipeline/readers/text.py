"""Plain-text reader: UTF-8 (with or without BOM), UTF-16 (with or without BOM), or GB18030.

GB18030 is a superset of GBK and GB2312, common in government archives. A form feed
starts a new page. UTF-16 without a BOM (some Windows tools write it) is told by its NUL
bytes: the ASCII characters of UTF-16 text (digits, line ends, spaces) have a NUL high byte,
all at odd offsets (little-endian) or all at even ones (big-endian), and the whole decodes to
printable text; binary data has NULs at both.
"""

from __future__ import annotations

import codecs
import unicodedata
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
        ``utf-16-le``, ``utf-16-be`` (no BOM), ``gb18030``).

    Raises:
        UnknownFormatError: the bytes are binary, or neither UTF-8/16 nor GB18030.
    """
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :].decode("utf-8", errors="replace"), "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", errors="replace"), "utf-16"
    utf16 = utf16_without_bom(data)
    if utf16 is not None:
        return data.decode(utf16, errors="replace"), utf16
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


#: Bytes of a file looked at to tell UTF-16 without a BOM.
UTF16_SAMPLE = 8192


def utf16_without_bom(data: bytes) -> str | None:
    """``utf-16-le`` or ``utf-16-be`` when ``data`` is UTF-16 text without a BOM, else ``None``.

    In the first :data:`UTF16_SAMPLE` bytes, NULs must sit at odd offsets (little-endian) or
    even ones (big-endian), at least 1 in 50 code units and 3 times as often as at the other
    parity (common characters such as 一 U+4E00 and 开 U+5F00 put some NULs there), and the
    sample must decode strictly to text with at most 1 in 100 characters that are controls,
    unassigned or private-use.
    """
    sample = data[: min(len(data), UTF16_SAMPLE) // 2 * 2]
    units = len(sample) // 2
    if units < 2:
        return None
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    for encoding, nuls, other in (("utf-16-le", odd, even), ("utf-16-be", even, odd)):
        if nuls < max(2, units / 50) or other * 3 > nuls:
            continue
        try:
            text = sample.decode(encoding)
        except UnicodeDecodeError:  # lone surrogates: not UTF-16 (a final half pair is cut off by the sample)
            try:
                text = sample[:-2].decode(encoding)
            except UnicodeDecodeError:
                continue
        odd_chars = sum(
            1 for ch in text if ch not in "\t\n\r\f" and unicodedata.category(ch) in ("Cc", "Cn", "Co", "Cs")
        )
        if odd_chars * 100 <= len(text):
            return encoding
    return None


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
